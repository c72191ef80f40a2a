//! The closed loop: `clients` buyers, each with its own connection, each
//! starting its next sale as soon as the last one answered, until the clock
//! runs out; then the counts are read back and checked.
//!
//! Latency is recorded per completed sale (all three steps), in microseconds,
//! in one HdrHistogram per buyer, merged at the end. A sale in flight when the
//! clock runs out is allowed to finish (bounded by [`SALE_TIMEOUT`]) and
//! counted, and the elapsed time includes it.

use super::report::Report;
use super::{Buyer, Config, Failure, Peer, QuotaCount, SALE_TIMEOUT, SETUP_TIMEOUT, Sale, Scenario};
use crate::schema::{BenchLine, SCHEMA, cores};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Significant figures the latency histograms keep.
const HISTOGRAM_SIGFIG: u8 = 3;
/// Longest latency the histograms track, in microseconds: twice a sale's
/// timeout. Longer ones (there can be none) would be clamped to it.
const HISTOGRAM_US_MAX: u64 = 2 * SALE_TIMEOUT.as_micros() as u64;

/// What one buyer saw.
struct Tally {
    latency_us: Histogram<u64>,
    completed: u64,
    /// Answers from the system, whether a sale, a put or a sold-out.
    commands: u64,
    unknown: u64,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            latency_us: Histogram::new_with_bounds(1, HISTOGRAM_US_MAX, HISTOGRAM_SIGFIG)
                .expect("valid histogram bounds"),
            completed: 0,
            commands: 0,
            unknown: 0,
            errors: BTreeMap::new(),
        }
    }

    fn fail(&mut self, failure: Failure) {
        if failure.unknown {
            self.unknown += 1;
        }
        *self.errors.entry(failure.kind).or_default() += 1;
    }

    fn merge(&mut self, other: Tally) {
        self.latency_us.add(other.latency_us).expect("histograms of the same precision");
        self.completed += other.completed;
        self.commands += other.commands;
        self.unknown += other.unknown;
        for (kind, count) in other.errors {
            *self.errors.entry(kind).or_default() += count;
        }
    }
}

async fn with_timeout<T>(what: &str, future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(SETUP_TIMEOUT, future)
        .await
        .map_err(|_| anyhow::anyhow!("{what} took longer than {} s", SETUP_TIMEOUT.as_secs()))?
}

/// Runs `config` against `peer` and checks the counts read back.
pub async fn run<P: Peer>(peer: P, config: &Config) -> anyhow::Result<Report> {
    let started_at = chrono::Utc::now();
    let sales = config.scenario != Scenario::Puts;
    if sales {
        with_timeout("preparing the quotas", peer.prepare(config.quotas, config.quota_size)).await?;
    }
    let mut buyers = Vec::new();
    for id in 0..config.clients {
        buyers.push(with_timeout("connecting a buyer", peer.buyer(id)).await?);
    }
    let began = Instant::now();
    let deadline = began + Duration::from_secs_f64(config.secs);
    let (clients, quotas, scenario) = (config.clients, config.quotas, config.scenario);
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(id, mut buyer)| {
            let id = id as u64;
            tokio::spawn(async move {
                let mut tally = Tally::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let start = Instant::now();
                    let outcome = if scenario == Scenario::Puts {
                        // Unique across buyers: the buyer's id in the low bits.
                        let key = n * clients + id;
                        tokio::time::timeout(SALE_TIMEOUT, buyer.put(key))
                            .await
                            .map(|r| r.map(|()| Sale::Sold))
                    } else {
                        // Buyers walk the quotas in step, so all are touched evenly.
                        let quota = (n * clients + id) % quotas;
                        tokio::time::timeout(SALE_TIMEOUT, buyer.sale(quota)).await
                    };
                    n += 1;
                    match outcome {
                        Ok(Ok(Sale::Sold)) => {
                            let us = start.elapsed().as_micros() as u64;
                            tally.latency_us.saturating_record(us.clamp(1, HISTOGRAM_US_MAX));
                            tally.completed += 1;
                            tally.commands += 1;
                        }
                        Ok(Ok(Sale::SoldOut)) => {
                            tally.commands += 1;
                            *tally.errors.entry("sold_out".into()).or_default() += 1;
                        }
                        Ok(Err(failure)) => tally.fail(failure),
                        Err(_elapsed) => tally.fail(Failure::unknown("timeout")),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::new();
    for task in tasks {
        tally.merge(task.await?);
    }
    let secs = began.elapsed().as_secs_f64();
    let counts =
        if sales { Some(with_timeout("reading back", peer.read_back(config.quotas)).await?) } else { None };
    let verdict = counts.as_deref().map(|counts| check(counts, tally.completed, tally.unknown));
    // A sale is three commands; a put or a sold-out answer is one.
    let commands =
        if sales { tally.completed * 3 + (tally.commands - tally.completed) } else { tally.commands };
    let ms = |q: f64| tally.latency_us.value_at_quantile(q) as f64 / 1e3;
    let line = BenchLine {
        schema: SCHEMA,
        system: config.system.name().into(),
        scenario: config.scenario.name(),
        loop_kind: "closed",
        clients: config.clients,
        rate: None,
        secs,
        units: if sales { "sales" } else { "puts" },
        completed: tally.completed,
        per_sec: tally.completed as f64 / secs,
        commands_per_sec: commands as f64 / secs,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: tally.latency_us.max() as f64 / 1e3,
        errors: tally.errors,
        quota_size: sales.then_some(config.quota_size * config.quotas),
        sold: counts.as_ref().map(|c| c.iter().map(|q| q.paid).sum()),
        invariant_ok: verdict.as_ref().is_none_or(|v| v.is_ok()),
        cores: cores(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    Ok(Report {
        line,
        verdict: match verdict {
            None => "not checked (no sales)".into(),
            Some(Ok(v)) | Some(Err(v)) => v,
        },
    })
}

/// No oversell: on every quota, neither its counter nor its paid orders
/// exceed its size. No lost sale: the paid orders are at least the
/// acknowledged sales and at most those plus the sales whose outcome is
/// unknown. `Ok` or `Err` carries the sentence to print.
pub fn check(counts: &[QuotaCount], acknowledged: u64, unknown: u64) -> Result<String, String> {
    let oversold: Vec<_> =
        counts.iter().enumerate().filter(|(_, q)| q.taken > q.size || q.paid > q.size).collect();
    let paid: u64 = counts.iter().map(|q| q.paid).sum();
    let mut problems = Vec::new();
    if let Some((i, q)) = oversold.first() {
        problems.push(format!(
            "OVERSOLD {} quota(s), e.g. quota {i}: size {}, counter {}, paid {}",
            oversold.len(),
            q.size,
            q.taken,
            q.paid
        ));
    }
    if paid < acknowledged {
        problems.push(format!(
            "LOST {} acknowledged sale(s): {paid} paid < {acknowledged} acknowledged",
            acknowledged - paid
        ));
    }
    if paid > acknowledged + unknown {
        problems.push(format!(
            "PHANTOM sales: {paid} paid > {acknowledged} acknowledged + {unknown} unknown outcomes"
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "ok: no oversell ({paid} paid, every quota within its size), no lost sale \
             ({acknowledged} acknowledged <= {paid} paid <= {acknowledged} + {unknown} unknown)"
        ))
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(size: u64, taken: u64, paid: u64) -> QuotaCount {
        QuotaCount { size, taken, paid }
    }

    #[test]
    fn check_accepts_paid_between_acknowledged_and_unknown() {
        assert!(check(&[quota(10, 10, 8)], 7, 1).is_ok());
    }

    #[test]
    fn check_finds_an_oversold_quota() {
        let verdict = check(&[quota(10, 5, 5), quota(10, 11, 10)], 15, 0).unwrap_err();
        assert!(verdict.contains("OVERSOLD 1"), "{verdict}");
    }

    #[test]
    fn check_finds_a_lost_sale() {
        let verdict = check(&[quota(10, 9, 9)], 10, 5).unwrap_err();
        assert!(verdict.contains("LOST 1"), "{verdict}");
    }

    #[test]
    fn check_finds_a_sale_nobody_was_told_of() {
        let verdict = check(&[quota(10, 9, 9)], 7, 1).unwrap_err();
        assert!(verdict.contains("PHANTOM"), "{verdict}");
    }
}
