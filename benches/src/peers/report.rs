//! One run's result: the `boxoffice-bench/1` line ([`crate::schema`], the
//! type `boxoffice-load` prints too), and a few lines for people.

use crate::schema::BenchLine;

/// One run: its JSON line, and the check's sentence for people.
#[derive(Clone, Debug)]
pub struct Report {
    /// The JSON line's fields.
    pub line: BenchLine,
    /// The invariant check's sentence; not in the JSON line.
    pub verdict: String,
}

impl std::ops::Deref for Report {
    type Target = BenchLine;
    fn deref(&self) -> &BenchLine {
        &self.line
    }
}

impl Report {
    /// The JSON line, without its newline.
    pub fn json(&self) -> String {
        self.line.json()
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
