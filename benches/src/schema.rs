//! The `boxoffice-bench/1` JSON line: one run's figures, as both
//! `boxoffice-load` (boxoffice itself) and `boxoffice-peers` (PostgreSQL,
//! Redis, etcd on the same sale) print them with `--json`.
//!
//! One type, so the two tools cannot drift apart: `benches/peers/compare.py`
//! reads lines of both by field name, and the fields keep this order (a
//! test checks it). Add nothing without changing the schema's version.

use serde::Serialize;
use std::collections::BTreeMap;

/// The schema name every line carries.
pub const SCHEMA: &str = "boxoffice-bench/1";

/// One run, as its JSON line has it.
#[derive(Clone, Debug, Serialize)]
pub struct BenchLine {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `boxoffice-embedded`, `boxoffice-node1`, `boxoffice-cluster<N>`,
    /// `postgres-single`, `postgres-sync3`, `redis-always` or `etcd-3`.
    pub system: String,
    /// `flash`, `spread`, `browse`, `batch` or `puts`.
    pub scenario: &'static str,
    /// `closed` or `open`.
    #[serde(rename = "loop")]
    pub loop_kind: &'static str,
    /// Concurrent clients (closed loop), or the most arrivals in flight at once (open loop).
    pub clients: u64,
    /// Arrivals per second of an open loop; `None` for a closed loop.
    pub rate: Option<u64>,
    /// Length of the load phase, in seconds.
    pub secs: f64,
    /// `sales` or `puts`.
    pub units: &'static str,
    /// Sales whose payment was acknowledged (or puts).
    pub completed: u64,
    /// `completed` per second.
    pub per_sec: f64,
    /// Write commands per second (three per sale; each command of a batch counts).
    pub commands_per_sec: f64,
    /// Median latency of a sale, from its (intended) start to its acknowledged payment, in ms.
    pub p50_ms: f64,
    /// 99th percentile, in ms.
    pub p99_ms: f64,
    /// 99.9th percentile, in ms.
    pub p999_ms: f64,
    /// Largest, in ms.
    pub max_ms: f64,
    /// Errors by kind (`sold_out` counts a quota's correct refusals).
    pub errors: BTreeMap<String, u64>,
    /// Tickets on sale (per quota for `boxoffice-load`, over all quotas for the peers); `None` for puts.
    pub quota_size: Option<u64>,
    /// Tickets paid, read back at the end; `None` if unread.
    pub sold: Option<u64>,
    /// The end-of-run check passed: no oversell, no lost sale.
    pub invariant_ok: bool,
    /// Cores of this machine.
    pub cores: u64,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
}

impl BenchLine {
    /// The JSON line, without its newline.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a bench line serializes")
    }
}

/// Cores of this machine.
pub fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_line_has_the_shared_schema_fields_in_order() {
        let line = BenchLine {
            schema: SCHEMA,
            system: "boxoffice-embedded".into(),
            scenario: "flash",
            loop_kind: "closed",
            clients: 4,
            rate: None,
            secs: 1.5,
            units: "sales",
            completed: 200,
            per_sec: 133.3,
            commands_per_sec: 400.0,
            p50_ms: 1.0,
            p99_ms: 2.0,
            p999_ms: 3.0,
            max_ms: 4.0,
            errors: BTreeMap::from([("sold_out".into(), 4)]),
            quota_size: Some(200),
            sold: Some(200),
            invariant_ok: true,
            cores: 2,
            started_at: "2026-11-24T21:00:00Z".into(),
        };
        let json = line.json();
        assert!(!json.contains('\n'), "one line");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let expected = [
            "schema",
            "system",
            "scenario",
            "loop",
            "clients",
            "rate",
            "secs",
            "units",
            "completed",
            "per_sec",
            "commands_per_sec",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
            "errors",
            "quota_size",
            "sold",
            "invariant_ok",
            "cores",
            "started_at",
        ];
        assert_eq!(value.as_object().unwrap().len(), expected.len(), "{json}");
        let at: Vec<usize> = expected
            .iter()
            .map(|k| json.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "fields out of order: {json}");
        assert_eq!(value["rate"], serde_json::Value::Null);
        assert_eq!(value["errors"]["sold_out"], 4);
        assert_eq!(value["schema"], SCHEMA);
    }
}
