//! The check at the end of every run: the engine's books against the
//! generator's.
//!
//! Once the load has stopped, each quota is read back with a linearizable
//! read (the leader, confirmed by a quorum) and held to three rules:
//!
//! 1. **No oversell**: paid + pending + held <= size (so paid <= size).
//! 2. **No lost sale, no phantom sale**: acked <= paid <= acked + unknown,
//!    where `acked` counts the payments the generator saw acknowledged and
//!    `unknown` those whose outcome it never learned (a timeout is not a
//!    failure: such a payment may or may not have happened).
//! 3. **Sold out means sold**: if a hold was rejected as sold out, every
//!    ticket is taken: paid == size when no sale was left half done, and
//!    paid + pending + held == size when some were (their holds and
//!    pending orders outlive the run, see
//!    [`HOLD_TTL_MS`](super::config::HOLD_TTL_MS)).
//!
//! The rules are a pure function ([`check_quota`]) so they are tested on
//! their own, without an engine.

use super::sale::Context;
use super::stats::BookCounts;
use boxoffice_client::domain::{QuotaAvailability, QuotaId};
use boxoffice_client::{Client, ClientError, ReadConsistency};
use std::time::Duration;

/// Attempts to read one quota back before the check gives up on it.
pub const READ_ATTEMPTS_MAX: u32 = 10;
/// Pause between two attempts to read a quota, in milliseconds.
pub const READ_RETRY_MS: u64 = 500;
/// Quotas read back at once.
pub const READS_IN_FLIGHT_MAX: usize = 64;
/// Problems listed in a verdict; more are counted, not listed.
pub const PROBLEMS_LISTED_MAX: usize = 20;

/// The outcome of the check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Every rule held on every quota, and every quota could be read.
    pub ok: bool,
    /// Tickets paid over all quotas, as the engine says; `None` if a quota could not be read.
    pub sold: Option<u64>,
    /// Tickets of all quotas.
    pub size: u64,
    /// Payments the generator saw acknowledged.
    pub acked: u64,
    /// Payments whose outcome the generator never learned.
    pub unknown: u64,
    /// Sales left half done.
    pub abandoned: u64,
    /// Tickets in pending orders and live holds at the end, over all quotas.
    pub pending_and_held: u64,
    /// Quotas seen sold out.
    pub sold_out_quotas: u64,
    /// Quotas checked.
    pub quotas: u64,
    /// What broke, one line each (at most [`PROBLEMS_LISTED_MAX`]).
    pub problems: Vec<String>,
    /// How many problems there were in all.
    pub problem_count: u64,
}

/// The rules on one quota: its problems, none if it is right.
pub fn check_quota(book: &BookCounts, availability: &QuotaAvailability) -> Vec<String> {
    let quota = availability.quota;
    let Some(size) = availability.size else {
        return vec![format!("quota {quota}: unlimited, but every quota of a run has a size")];
    };
    let (paid, taken) = (availability.paid, availability.paid + availability.pending + availability.held);
    let mut problems = Vec::new();
    if taken > size {
        problems.push(format!(
            "quota {quota}: OVERSOLD: paid {paid} + pending {} + held {} > size {size}",
            availability.pending, availability.held
        ));
    }
    if paid < book.paid_acked {
        problems.push(format!(
            "quota {quota}: LOST SALE: {} payments acknowledged, but only {paid} paid",
            book.paid_acked
        ));
    }
    if paid > book.paid_acked + book.pay_unknown {
        problems.push(format!(
            "quota {quota}: PHANTOM SALE: paid {paid} > {} acknowledged + {} unknown",
            book.paid_acked, book.pay_unknown
        ));
    }
    if book.sold_out && book.abandoned == 0 && paid != size {
        problems.push(format!(
            "quota {quota}: sold out with no sale left half done, but paid {paid} != size {size}"
        ));
    }
    if book.sold_out && book.abandoned > 0 && taken != size {
        problems.push(format!(
            "quota {quota}: sold out, but paid + pending + held = {taken} != size {size} ({} sales left half done)",
            book.abandoned
        ));
    }
    problems
}

/// Read one quota linearizably, retrying while the cluster settles (a
/// leader change just after the load, say).
async fn read(client: &Client, quota: QuotaId) -> Result<QuotaAvailability, ClientError> {
    let mut attempt = 1;
    loop {
        match client.quota_availability(quota, ReadConsistency::Linearizable).await {
            Ok(availability) => return Ok(availability),
            Err(error) if attempt >= READ_ATTEMPTS_MAX => return Err(error),
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(READ_RETRY_MS)).await;
            }
        }
    }
}

/// Check every quota of the run, after the load has stopped.
pub async fn check(context: &Context) -> Verdict {
    let quotas = &context.fixture.quotas;
    let mut verdict = Verdict {
        ok: true,
        sold: Some(0),
        size: 0,
        acked: 0,
        unknown: 0,
        abandoned: 0,
        pending_and_held: 0,
        sold_out_quotas: 0,
        quotas: quotas.len() as u64,
        problems: Vec::new(),
        problem_count: 0,
    };
    let mut problems = Vec::new();
    for (chunk_start, chunk) in
        quotas.chunks(READS_IN_FLIGHT_MAX).enumerate().map(|(i, c)| (i * READS_IN_FLIGHT_MAX, c))
    {
        let mut reads = tokio::task::JoinSet::new();
        for (offset, &(_, quota)) in chunk.iter().enumerate() {
            let client = context.client.clone();
            reads.spawn(async move { (chunk_start + offset, read(&client, quota).await) });
        }
        while let Some(joined) = reads.join_next().await {
            let (index, answer) = joined.expect("a read task panicked");
            let book = context.books[index].counts();
            verdict.acked += book.paid_acked;
            verdict.unknown += book.pay_unknown;
            verdict.abandoned += book.abandoned;
            verdict.sold_out_quotas += u64::from(book.sold_out);
            match answer {
                Ok(availability) => {
                    verdict.size += availability.size.unwrap_or(0);
                    verdict.sold = verdict.sold.map(|sold| sold + availability.paid);
                    verdict.pending_and_held += availability.pending + availability.held;
                    problems.extend(check_quota(&book, &availability));
                }
                Err(error) => {
                    verdict.sold = None;
                    problems.push(format!("quota {}: could not be read back: {error}", quotas[index].1));
                }
            }
        }
    }
    verdict.problem_count = problems.len() as u64;
    verdict.ok = problems.is_empty();
    problems.truncate(PROBLEMS_LISTED_MAX);
    verdict.problems = problems;
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_client::domain::AvailabilityState;

    fn quota(size: u64, paid: u64, pending: u64, held: u64) -> QuotaAvailability {
        QuotaAvailability {
            quota: QuotaId(4),
            size: Some(size),
            paid,
            pending,
            held,
            blocked: 0,
            remaining: Some(size.saturating_sub(paid + pending + held)),
            state: AvailabilityState::Ok,
            closed: false,
        }
    }

    fn book(paid_acked: u64, pay_unknown: u64, abandoned: u64, sold_out: bool) -> BookCounts {
        BookCounts { paid_acked, pay_unknown, abandoned, sold_out }
    }

    #[test]
    fn a_clean_sell_out_passes() {
        assert!(check_quota(&book(200, 0, 0, true), &quota(200, 200, 0, 0)).is_empty());
    }

    #[test]
    fn a_run_that_ends_before_selling_out_passes() {
        assert!(check_quota(&book(120, 0, 0, false), &quota(200, 120, 0, 0)).is_empty());
    }

    #[test]
    fn paid_above_size_is_an_oversell() {
        let problems = check_quota(&book(201, 0, 0, true), &quota(200, 201, 0, 0));
        assert!(problems.iter().any(|p| p.contains("OVERSOLD")), "{problems:?}");
    }

    #[test]
    fn holds_count_toward_an_oversell() {
        let problems = check_quota(&book(190, 0, 1, true), &quota(200, 190, 5, 6));
        assert!(problems.iter().any(|p| p.contains("OVERSOLD")), "{problems:?}");
    }

    #[test]
    fn fewer_paid_than_acknowledged_is_a_lost_sale() {
        let problems = check_quota(&book(150, 0, 0, false), &quota(200, 149, 0, 0));
        assert!(problems.iter().any(|p| p.contains("LOST SALE")), "{problems:?}");
    }

    #[test]
    fn unknown_payments_may_or_may_not_have_happened() {
        assert!(check_quota(&book(150, 3, 3, false), &quota(200, 150, 3, 0)).is_empty());
        assert!(check_quota(&book(150, 3, 3, false), &quota(200, 153, 0, 0)).is_empty());
        let problems = check_quota(&book(150, 3, 3, false), &quota(200, 154, 0, 0));
        assert!(problems.iter().any(|p| p.contains("PHANTOM SALE")), "{problems:?}");
    }

    #[test]
    fn sold_out_with_unsold_tickets_fails() {
        let problems = check_quota(&book(199, 0, 0, true), &quota(200, 199, 0, 0));
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn sold_out_with_sales_left_half_done_counts_their_holds() {
        assert!(check_quota(&book(197, 0, 3, true), &quota(200, 197, 1, 2)).is_empty());
        assert_eq!(check_quota(&book(197, 0, 3, true), &quota(200, 197, 1, 1)).len(), 1);
    }
}
