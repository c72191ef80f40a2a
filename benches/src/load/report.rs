//! The figures of a run: a table for people, one JSON line for machines.
//!
//! The JSON line is the schema `boxoffice-bench/1` ([`crate::schema`]),
//! which the peers benchmark (the same sale on other systems) writes too.

use super::check::Verdict;
use super::stats::CallKind;
use crate::schema::BenchLine;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use crate::schema::SCHEMA;

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

/// One run's figures: the `boxoffice-bench/1` line ([`BenchLine`], which
/// the fields of the line are read through) and what only the table shows.
#[derive(Clone, Debug)]
pub struct Report {
    /// The JSON line's fields.
    pub line: BenchLine,
    /// Per call kind, latency of each call (a command, a batch request or a read).
    pub calls: BTreeMap<CallKind, Percentiles>,
    /// Availability reads per second (`browse`).
    pub reads_per_sec: f64,
    /// The check's details.
    pub verdict: Verdict,
    /// Quotas sold from.
    pub quotas: u64,
}

impl std::ops::Deref for Report {
    type Target = BenchLine;
    fn deref(&self) -> &BenchLine {
        &self.line
    }
}

impl Report {
    /// The one-line JSON.
    pub fn json(&self) -> String {
        self.line.json()
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
