//! The figures of a run: a table for people, one JSON line for machines.
//!
//! The JSON line follows the schema `boxoffice-bench/1`, which the peers
//! benchmark (the same scenarios against other systems) writes too, so its
//! field names and their order are fixed here and tested: a plot script
//! reads both without knowing which wrote the line.

use super::check::Verdict;
use super::stats::CallKind;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The schema name every JSON line carries.
pub const SCHEMA: &str = "boxoffice-bench/1";

/// Latency percentiles of one histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    /// How many were recorded.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Percentiles {
    /// The percentiles of a histogram in microseconds (all zero if empty).
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        if histogram.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1_000.0;
        Percentiles {
            count: histogram.len(),
            p50_ms: ms(histogram.value_at_quantile(0.5)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            p999_ms: ms(histogram.value_at_quantile(0.999)),
            max_ms: ms(histogram.max()),
        }
    }
}

/// One run's figures, in the `boxoffice-bench/1` schema. Fields are
/// serialized in this order; the ones marked `skip` are for the table only.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// `boxoffice-embedded`, `boxoffice-node1` or `boxoffice-cluster<N>`.
    pub system: String,
    /// `flash`, `spread`, `browse` or `batch`.
    pub scenario: &'static str,
    /// `closed` or `open`.
    #[serde(rename = "loop")]
    pub loop_kind: &'static str,
    /// Concurrent clients (closed loop), or the most arrivals in flight at once (open loop).
    pub clients: u64,
    /// Arrivals per second of an open loop; `None` for a closed loop.
    pub rate: Option<u64>,
    /// Length of the load phase, in seconds, until the last sale ended.
    pub secs: f64,
    /// Always `sales`.
    pub units: &'static str,
    /// Sales whose payment was acknowledged.
    pub completed: u64,
    /// Sales per second.
    pub per_sec: f64,
    /// Write commands per second (each command of a batch counts).
    pub commands_per_sec: f64,
    /// Median sale latency, from its intended start to its acknowledged payment.
    pub p50_ms: f64,
    /// 99th percentile of sale latency.
    pub p99_ms: f64,
    /// 99.9th percentile of sale latency.
    pub p999_ms: f64,
    /// Largest sale latency.
    pub max_ms: f64,
    /// Errors by kind: rejections (`sold_out`, ...), client errors
    /// (`unknown`, `not_applied`, ...), `timeout`, `backlog`, and `read_*`
    /// for reads.
    pub errors: BTreeMap<String, u64>,
    /// Size of each quota, in tickets.
    pub quota_size: Option<u64>,
    /// Tickets paid over all quotas, read back at the end; `None` if unread.
    pub sold: Option<u64>,
    /// The end-of-run check passed.
    pub invariant_ok: bool,
    /// Cores of this machine.
    pub cores: u64,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// Per call kind, latency of each call (a command, a batch request or a read).
    #[serde(skip)]
    pub calls: BTreeMap<CallKind, Percentiles>,
    /// Availability reads per second (`browse`).
    #[serde(skip)]
    pub reads_per_sec: f64,
    /// The check's details.
    #[serde(skip)]
    pub verdict: Verdict,
    /// Quotas sold from.
    #[serde(skip)]
    pub quotas: u64,
}

impl Report {
    /// The one-line JSON.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }

    /// The verdict in one line.
    pub fn verdict_line(&self) -> String {
        let v = &self.verdict;
        if v.ok {
            let sold_out = if v.sold_out_quotas == v.quotas {
                if v.abandoned == 0 { ", sold out and all paid" } else { ", sold out and all taken" }
            } else {
                ""
            };
            format!("OK: no oversell, no lost sale{sold_out}")
        } else {
            format!("FAILED: {} problem(s)", v.problem_count)
        }
    }

    /// The table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let load = match self.rate {
            Some(rate) => format!("open loop, {rate}/s, at most {} in flight", self.clients),
            None => format!("closed loop, {} clients", self.clients),
        };
        let _ = writeln!(
            out,
            "{} on {}: {load}, {:.1} s, {} core(s), started {}",
            self.scenario, self.system, self.secs, self.cores, self.started_at
        );
        let _ =
            writeln!(out, "  {:<16} {:>10}   {:>10.1} sales/s", "sales paid", self.completed, self.per_sec);
        let _ = writeln!(out, "  {:<16} {:>10}   {:>10.1} commands/s", "", "", self.commands_per_sec);
        if self.reads_per_sec > 0.0 {
            let _ = writeln!(out, "  {:<16} {:>10}   {:>10.1} reads/s", "", "", self.reads_per_sec);
        }
        let line = |name: &str, p: &Percentiles| {
            format!(
                "  {name:<16} {:>10}   p50 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3} ms\n",
                p.count, p.p50_ms, p.p99_ms, p.p999_ms, p.max_ms
            )
        };
        let sale = Percentiles {
            count: self.completed,
            p50_ms: self.p50_ms,
            p99_ms: self.p99_ms,
            p999_ms: self.p999_ms,
            max_ms: self.max_ms,
        };
        out += &line("latency of sale", &sale);
        let _ = writeln!(out, "  {:<16} (each command, batch request or read)", "latency per call");
        for (kind, p) in &self.calls {
            out += &line(&format!("  {}", kind.name()), p);
        }
        let errors = if self.errors.is_empty() {
            "none".to_owned()
        } else {
            self.errors.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(out, "  {:<16} {errors}", "errors");
        let v = &self.verdict;
        let sold = v.sold.map_or("unread".to_owned(), |s| s.to_string());
        let _ = writeln!(
            out,
            "  {:<16} {} quota(s) of {} ticket(s): paid {sold} of {}; acknowledged {}, unknown {}, \
             left half done {}; pending + held at the end {}; sold out {}",
            "check",
            v.quotas,
            self.quota_size.unwrap_or(0),
            v.size,
            v.acked,
            v.unknown,
            v.abandoned,
            v.pending_and_held,
            v.sold_out_quotas
        );
        for problem in &v.problems {
            let _ = writeln!(out, "  {:<16} {problem}", "");
        }
        if v.problem_count > v.problems.len() as u64 {
            let _ = writeln!(out, "  {:<16} ... and {} more", "", v.problem_count - v.problems.len() as u64);
        }
        let _ = writeln!(out, "  {:<16} {}", "verdict", self.verdict_line());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_line_has_the_shared_schema_fields_in_order() {
        let verdict = Verdict {
            ok: true,
            sold: Some(200),
            size: 200,
            acked: 200,
            unknown: 0,
            abandoned: 0,
            pending_and_held: 0,
            sold_out_quotas: 1,
            quotas: 1,
            problems: vec![],
            problem_count: 0,
        };
        let report = Report {
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
            calls: BTreeMap::new(),
            reads_per_sec: 0.0,
            verdict,
            quotas: 1,
        };
        let json = report.json();
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
