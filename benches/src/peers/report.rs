//! One run's result: a JSON line in the `boxoffice-bench/1` schema, shared
//! with `boxoffice-load`, and a few lines for people.
//!
//! The schema's fields are fixed: `benches/peers/compare.py` and whoever
//! integrates the two tools read them by name. Add nothing to the JSON line
//! without changing the schema's version.

use serde::Serialize;
use std::collections::BTreeMap;

/// One run, as the JSON line has it.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Always `"boxoffice-bench/1"`.
    pub schema: &'static str,
    /// `postgres-single`, `postgres-sync3`, `redis-always` or `etcd-3`.
    pub system: &'static str,
    /// `flash`, `spread` or `puts`.
    pub scenario: &'static str,
    /// Always `"closed"`: each buyer waits for its answer.
    #[serde(rename = "loop")]
    pub r#loop: &'static str,
    /// Concurrent buyers.
    pub clients: u64,
    /// Offered rate of an open loop; `null` here.
    pub rate: Option<f64>,
    /// Measured duration, in seconds.
    pub secs: f64,
    /// `sales` or `puts`.
    pub units: &'static str,
    /// Acknowledged sales (or puts).
    pub completed: u64,
    /// `completed` per second.
    pub per_sec: f64,
    /// Answered commands per second: three per sale, one per put or sold-out answer.
    pub commands_per_sec: f64,
    /// Median sale latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile sale latency, in milliseconds.
    pub p99_ms: f64,
    /// 99.9th percentile sale latency, in milliseconds.
    pub p999_ms: f64,
    /// Slowest sale, in milliseconds.
    pub max_ms: f64,
    /// Sales that did not complete, by kind; `sold_out` counts the quota's
    /// correct refusals.
    pub errors: BTreeMap<String, u64>,
    /// Places on sale over all quotas; `null` for puts.
    pub quota_size: Option<u64>,
    /// Paid orders read back after the run; `null` for puts.
    pub sold: Option<u64>,
    /// No oversell and no lost sale (true when nothing was checked).
    pub invariant_ok: bool,
    /// Cores on this machine.
    pub cores: u64,
    /// When the run started, RFC 3339, UTC.
    pub started_at: String,
    /// The invariant check's sentence, for people; not in the JSON line.
    #[serde(skip)]
    pub verdict: String,
}

impl Report {
    /// The JSON line, without its newline.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a report always serializes")
    }

    /// A few aligned lines for people.
    pub fn table(&self) -> String {
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            self.errors.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        };
        let quota = match (self.quota_size, self.sold) {
            (Some(size), Some(sold)) => format!("{sold} sold of {size}"),
            _ => "-".into(),
        };
        format!(
            "system       {} / {} / {} clients, closed loop, {:.1} s, {} cores\n\
             throughput   {:.0} {}/s ({} completed), {:.0} commands/s\n\
             latency      p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms\n\
             errors       {errors}\n\
             quota        {quota}\n\
             invariant    {}\n",
            self.system,
            self.scenario,
            self.clients,
            self.secs,
            self.cores,
            self.per_sec,
            self.units,
            self.completed,
            self.commands_per_sec,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms,
            if self.invariant_ok { self.verdict.clone() } else { format!("FAILED: {}", self.verdict) },
        )
    }
}
