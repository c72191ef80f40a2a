//! Linearizability of what clients saw, per quota.
//!
//! The other checkers compare the history with the log the cluster ended
//! with. This one asks whether what clients *saw* could have come from one
//! single-copy quota at all: is there a total order of the operations,
//! consistent with real time (an operation that completed before another was
//! invoked comes first), in which a sequential quota gives every answer the
//! clients got? A stale read by a deposed leader, or a split brain that sold
//! the same seat on both sides, shows up here even if the final log looks
//! fine.
//!
//! # The model
//!
//! One quota of `size` tickets; the state is the number in use (paid + live
//! pending + live held, as the domain counts) and, per reservation (a hold and
//! the order checked out from it), where it is in its life: not placed, held,
//! held but lapsed, released, pending, pending but lapsed, paid, canceled.
//! Each operation's units on the quota are the quantities of its hold's lines
//! whose items the quota covers.
//!
//! | operation | answer | takes effect (else: no order exists) |
//! |---|---|---|
//! | hold | ok | must fit (`used + units <= size`); held, `+units` |
//! | hold | sold out (naming this quota) | must not fit; nothing changes |
//! | release | ok | held: `-units`; lapsed: nothing freed; released |
//! | checkout | ok | held: pending; lapsed: must fit again, `+units`, pending |
//! | checkout | sold out (naming this quota) | the hold lapsed and does not fit |
//! | payment | ok | pending: paid; lapsed: must fit again, `+units`, paid |
//! | payment | ok, refund owed | the order lapsed (and, if it covers this quota only, does not fit) |
//! | cancel | ok | paid or pending: `-units`; lapsed: nothing freed; canceled |
//! | hold lapses | (internal) | held: `-units`, lapsed |
//! | unpaid order lapses | (internal) | pending: `-units`, lapsed |
//!
//! An `info` operation (or one never completed) may have taken effect at any
//! point after its invocation, as the table says, or not at all. Other
//! rejections and refusals changed nothing and are left out. A sold-out
//! answer belongs to the quota its recorded rejection names (so an item in
//! two quotas is judged by the one that refused).
//!
//! ## Multi-line holds over overlapping quotas
//!
//! A hold whose lines touch several quotas (the mixed workload: Saturday =
//! {Saturday, Weekend}, Sunday = {Sunday, Weekend}) is checked in each of
//! them, with its units there. Checking the projection on each quota on its
//! own is **sound**: if the whole history has a linearization, its
//! restriction to the operations touching one quota is a linearization of
//! that quota's history, because every condition the table puts on one
//! quota holds in the real system too. (A refund owed on a two-quota order
//! says only that *some* quota was full, so it constrains neither.) It is
//! not complete: a violation visible only across two quotas at once can be
//! missed.
//!
//! ## Lapses
//!
//! Holds and unpaid orders lapse by log time: a hold placed at log time `t`
//! with TTL `ttl` stops counting from the first record at or after `t + ttl`.
//! Log time is the leader's wall clock at proposal (made monotonic), and the
//! proposal of the attempt that took effect lies inside the operation's
//! interval `[invoke, complete]` of the history. The nodes and the harness
//! run on one host, so the two clocks advance at the same rate up to
//! [`CLOCK_SLACK_MS`] plus [`CLOCK_DRIFT_PPM`] of the TTL (together: the
//! slack). Hence, for a hold invoked at `i` and answered at `c`:
//!
//! - it cannot lapse before `i + ttl - slack` in history time (it was placed
//!   no earlier than `i`);
//! - every operation invoked after `c + ttl + slack` sees it lapsed (its own
//!   proposal is later than the hold's deadline).
//!
//! So a lapse is an operation of the model with exactly that interval, which
//! the search places like any other: definite (it must be placed, by
//! `c + ttl + slack`) for an acknowledged hold or checkout, optional and
//! open-ended for an unknown one. Placing it anywhere inside the interval is
//! allowed, which covers every real lapse point: the check is sound (it
//! never calls a history that a correct cluster could produce a violation)
//! as long as log time follows real time within the slack. A lapse of a
//! reservation that has moved on (checked out, released, paid) changes
//! nothing.
//!
//! ## Lapses under clock nemeses
//!
//! The clock nemeses (`clock-skew`, `clock-jump`) move nodes' wall clocks by
//! up to an hour, but never a majority of them (that is outside the failure
//! model: a majority of wrong clocks *is* the cluster's time). Log time is
//! then still close to real time, for two reasons in the engine
//! (`engine/src/clock.rs`): a leader stamps the lower median of its own and
//! its peers' clocks, which a minority cannot move, and within a term its
//! stamps may lead the monotonic clock since the term's first stamp by at
//! most [`CLOCK_LEAD_MAX_MS`] plus [`CLOCK_SLEW_PPM`] of that time, and
//! trail it by at most the slew. The median is not instant: when the
//! leader's own clock jumps, its peers' offsets were measured against the
//! old clock until their next replies, so for a heartbeat or so the
//! estimate is off by the jump, and only the rate guard holds the stamps;
//! a sample is also uncertain by half its round trip
//! ([`CLOCK_SAMPLE_RTT_MAX_MS`]). The domain keeps log time monotonic, so a
//! stamp that led keeps log time ahead until real time catches up.
//!
//! So while a clock fault is active, and for as long after it as log time
//! may still be ahead, log time is within `CLOCK_LEAD_MAX_MS +
//! CLOCK_SAMPLE_RTT_MAX_MS / 2 + CLOCK_SLEW_PPM × t` of real time, where `t`
//! bounds how long the term has run. A term began no earlier than the
//! cluster's start, which is the history's origin (the harness creates the
//! recorder before it starts any node), so `t` is at most the end of the
//! clock fault in history time. A lapse whose interval (or its hold's)
//! reaches into such a window, widened by that bound after its heal, gets
//! that bound on top of its usual slack ([`Slack`]); every other lapse keeps
//! the narrow slack. Over a 2-minute run this adds about 2.5 s; it only
//! ever widens intervals, which keeps the check sound and makes it less
//! sharp near clock faults.
//!
//! # The search
//!
//! Wing & Gong's search with Lowe's memoization, as Knossos and Porcupine do
//! it, in three steps per quota, cheapest first:
//!
//! 1. **Holds only** (no release, cancel, lapse or re-check touches the
//!    quota within the run): the state is a counter, and the exact
//!    counter search (`counter_search` below) decides most steps without
//!    branching.
//! 2. **Witness**: otherwise, the order of the final log (each operation at
//!    its record, each lapse just before the first record at or after its
//!    deadline, unknown operations in the log included and the others left
//!    out) is tried as a linearization in one pass: every step must be legal
//!    in the model and the order must fit the real-time intervals. A correct
//!    cluster produces such a log, so this proves most runs linearizable in
//!    linear time. The log only suggests an order; whether it is valid is
//!    judged on the history's answers and intervals alone.
//! 3. **General search**: otherwise, the full search over the general
//!    model: candidates (operations invoked before the first pending
//!    completion) are tried in log order; a definite candidate that is a
//!    legal no-op (a sold-out answer that does not fit, a lapse of a
//!    reservation that moved on) is linearized at once without branching
//!    (moving a no-op that is legal now to the front keeps any linearization
//!    valid); optional candidates that would change nothing are never tried.
//!    A configuration (the set of linearized operations and the statuses of
//!    the reservations) is explored once; it is kept as a 128-bit Zobrist
//!    hash, so a cache entry is a few bytes whatever the history's length.
//!
//! # Scope
//!
//! Sizes and items come from the final log's `QuotaCreated`. A quota is
//! skipped (with the reason in the stats) when the model does not describe
//! it: unlimited or resized quotas, add-ons or extensions of its holds, holds
//! in the log that the history does not know, a quota created over
//! existing holds, or a quota of an item with seats, vouchers or a waiting
//! list (the `inventory` workload: a seat can be refused while the quota
//! has room, and blocks and owed offers take room that no hold in the
//! history took; `no_double_seat` and `waiting_list_order` judge those).
//! Seated holds, voucher holds, waiting-list joins, leaves and claims are
//! not operations of the model at all. Operations on holds or orders the history never placed
//! are left out (their quota is skipped by the rule before if they were
//! placed at all).
//!
//! A quota with more than [`HISTORY_OPS_MAX_PER_QUOTA`] operations, or
//! whose search explores more than [`SEARCH_STATES_MAX`] configurations, is
//! reported as inconclusive (valid): a checker must finish.

use super::{FinalState, Problems, Verdict, is_client, ms, parse_request_id, stat};
use crate::history::{CLOCK_NEMESES, Op, Phase, Value};
use boxoffice_engine::clock::{CLOCK_LEAD_MAX_MS, CLOCK_SAMPLE_RTT_MAX_MS, CLOCK_SLEW_PPM};
use boxoffice_engine::domain::{
    Event, HoldId, ItemId, OrderId, Outcome, QuotaId, Record, Rejection, RequestId, VoucherScope,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Most operations checked on one quota (a memory bound: the work is
/// bounded by [`SEARCH_STATES_MAX`]). A 30-minute flash run has ~130 k.
pub const HISTORY_OPS_MAX_PER_QUOTA: usize = 1_000_000;

/// Most configurations the search of one quota may explore.
pub const SEARCH_STATES_MAX: u64 = 2_000_000;

/// How far the harness's clock and the nodes' log time may disagree about
/// an interval (rounding to ms, scheduling), in milliseconds.
pub const CLOCK_SLACK_MS: u64 = 100;

/// How much the two clocks may drift apart while a TTL runs, in parts per
/// million of the TTL (NTP slews the wall clock by at most 500 ppm).
pub const CLOCK_DRIFT_PPM: u64 = 1_000;

const NAME: &str = "linearizable";
const WHAT: &str = "Per quota, the answers clients saw (holds, releases, checkouts, payments, cancels, with \
                    lapses by TTL; ok, sold out, unknown) fit one sequential quota in an order consistent \
                    with real time.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    check_with(history, final_state, SEARCH_STATES_MAX)
}

/// The slack of a lapse after `ttl_ms`, in nanoseconds, away from clock faults.
fn slack_ns(ttl_ms: u64) -> u64 {
    (CLOCK_SLACK_MS + ttl_ms.saturating_mul(CLOCK_DRIFT_PPM) / 1_000_000) * 1_000_000
}

/// How far log time may be from real time because of a clock fault that
/// ended at `end_ns` (history time), in nanoseconds (module docs: "Lapses
/// under clock nemeses").
pub fn clock_fault_slack_ns(end_ns: u64) -> u64 {
    (CLOCK_LEAD_MAX_MS + CLOCK_SAMPLE_RTT_MAX_MS / 2) * 1_000_000
        + end_ns.saturating_mul(CLOCK_SLEW_PPM) / 1_000_000
}

/// The slack of lapses: the narrow one, plus [`clock_fault_slack_ns`] for a
/// lapse that reaches into a clock fault's window.
#[derive(Clone, Debug, Default)]
pub struct Slack {
    /// Each clock fault's window, widened after its heal by its extra slack,
    /// and that extra slack: (start, end, extra), in nanoseconds.
    clock_faults: Vec<(u64, u64, u64)>,
}

impl Slack {
    /// The clock faults of `history` (fault windows opened by a clock nemesis).
    pub fn of(history: &[Op]) -> Slack {
        let clock_faults = crate::history::fault_windows_ns(history)
            .into_iter()
            .filter(|(_, _, action)| CLOCK_NEMESES.iter().any(|name| action.starts_with(name)))
            .map(|(start, end, _)| {
                let extra = clock_fault_slack_ns(end);
                (start, end.saturating_add(extra), extra)
            })
            .collect();
        Slack { clock_faults }
    }

    /// For the stats: how many clock faults, and the most they widen a lapse by.
    fn describe(&self) -> String {
        let most = self.clock_faults.iter().map(|(_, _, extra)| *extra).max().unwrap_or(0);
        format!("{} (by up to {})", self.clock_faults.len(), ms(most))
    }

    /// The slack, in nanoseconds, of a lapse after `ttl_ms` of an operation
    /// invoked at `call_ns` and answered at `ret_ns` (`None`: unknown).
    fn ns(&self, ttl_ms: u64, call_ns: u64, ret_ns: Option<u64>) -> u64 {
        let narrow = slack_ns(ttl_ms);
        let reach = ret_ns.unwrap_or(u64::MAX).saturating_add(ttl_ms * 1_000_000);
        let extra = self
            .clock_faults
            .iter()
            .filter(|(start, end, extra)| {
                call_ns <= end.saturating_add(*extra) && reach.saturating_add(narrow + extra) >= *start
            })
            .map(|(_, _, extra)| *extra)
            .max()
            .unwrap_or(0);
        narrow + extra
    }
}

// ---------------------------------------------------------------------------
// What the final log says.

/// Everything the final log says about one quota.
#[derive(Default)]
struct QuotaFacts {
    size: Option<u64>,
    /// Why the model does not describe this quota.
    skip: BTreeSet<&'static str>,
    /// Requests whose `HoldPlaced` covers the quota.
    placed: BTreeSet<RequestId>,
}

#[derive(Default)]
struct Catalogue {
    quotas: BTreeMap<QuotaId, QuotaFacts>,
    item_quotas: BTreeMap<ItemId, Vec<QuotaId>>,
    /// The quota a recorded sold-out rejection names.
    sold_out: BTreeMap<RequestId, QuotaId>,
    /// The seq of each request's first record.
    seq: BTreeMap<RequestId, u64>,
    /// Every record's (time, seq), in log order.
    times: Vec<(u64, u64)>,
    /// Holds placed, by request: (hold, record time, expiry).
    holds_by_request: BTreeMap<RequestId, (HoldId, u64, u64)>,
    /// Orders placed, by request: (order, record time, payment deadline).
    orders_by_request: BTreeMap<RequestId, (OrderId, u64, u64)>,
}

impl Catalogue {
    /// The quotas covering any of `items`, in id order.
    fn quotas_of(&self, items: &[ItemId]) -> Vec<QuotaId> {
        let mut quotas: Vec<QuotaId> =
            items.iter().flat_map(|item| self.item_quotas.get(item).into_iter().flatten().copied()).collect();
        quotas.sort_unstable();
        quotas.dedup();
        quotas
    }

    fn skip(&mut self, items: &[ItemId], reason: &'static str) {
        for quota in self.quotas_of(items) {
            self.quotas.entry(quota).or_default().skip.insert(reason);
        }
    }

    /// Units of `lines` on each quota they touch.
    fn units(&self, lines: &[(u64, u32)]) -> BTreeMap<QuotaId, u64> {
        let mut units = BTreeMap::new();
        for (item, quantity) in lines {
            for quota in self.item_quotas.get(&ItemId(*item)).into_iter().flatten() {
                *units.entry(*quota).or_default() += u64::from(*quantity);
            }
        }
        units
    }

    /// Where an operation of `request` stands in the log order.
    fn rank_of(&self, request: &str) -> u64 {
        parse_request_id(request).and_then(|id| self.seq.get(&id)).map_or(NO_RANK, |seq| 2 * seq)
    }

    /// Where a lapse due at log time `deadline_ms` stands in the log order:
    /// just before the first record at or after it.
    fn lapse_rank(&self, deadline_ms: u64) -> u64 {
        let at = self.times.partition_point(|(time, _)| *time < deadline_ms);
        self.times.get(at).map_or(NO_RANK, |(_, seq)| 2 * seq - 1)
    }
}

/// The rank of an operation the log does not place.
const NO_RANK: u64 = u64::MAX;

const SKIP_UNLIMITED: &str = "unlimited";
const SKIP_RESIZED: &str = "resized";
const SKIP_RESHAPED_HOLDS: &str = "holds extended or added to";
const SKIP_UNKNOWN_HOLDS: &str = "holds in the log missing from the history";
const SKIP_CREATED_LATE: &str = "created over existing holds";
const SKIP_INVENTORY: &str = "seats, vouchers or a waiting list (not modelled)";

fn catalogue(records: &[Record]) -> Catalogue {
    let mut catalogue = Catalogue::default();
    let mut hold_items: BTreeMap<HoldId, Vec<ItemId>> = BTreeMap::new();
    // Items and quotas with seats, vouchers or a waiting list: the model
    // knows none of them (a seat can be taken while the quota has room, a
    // block or an owed offer takes room no hold in the history took).
    let mut inventory_items: Vec<ItemId> = Vec::new();
    let mut inventory_quotas: Vec<QuotaId> = Vec::new();
    for record in records {
        let now = record.time_ms;
        catalogue.times.push((now, record.seq));
        catalogue.seq.entry(record.request_id).or_insert(record.seq);
        if let Outcome::Rejected(Rejection::SoldOut { quota, .. }) = &record.outcome {
            catalogue.sold_out.entry(record.request_id).or_insert(*quota);
        }
        for event in &record.events {
            match event {
                Event::QuotaCreated { quota, size, items, .. } => {
                    let facts = catalogue.quotas.entry(*quota).or_default();
                    facts.size = *size;
                    if size.is_none() {
                        facts.skip.insert(SKIP_UNLIMITED);
                    }
                    if hold_items.values().any(|held| held.iter().any(|item| items.contains(item))) {
                        facts.skip.insert(SKIP_CREATED_LATE);
                    }
                    for item in items {
                        catalogue.item_quotas.entry(*item).or_default().push(*quota);
                    }
                }
                Event::QuotaResized { quota, .. } => {
                    catalogue.quotas.entry(*quota).or_default().skip.insert(SKIP_RESIZED);
                }
                Event::HoldPlaced { hold, lines, expires_at_ms, .. } => {
                    let items: Vec<ItemId> = lines.iter().map(|line| line.item).collect();
                    for quota in catalogue.quotas_of(&items) {
                        catalogue.quotas.entry(quota).or_default().placed.insert(record.request_id);
                    }
                    catalogue.holds_by_request.entry(record.request_id).or_insert((
                        *hold,
                        now,
                        *expires_at_ms,
                    ));
                    hold_items.insert(*hold, items);
                }
                Event::SeatRowAdded { seats, .. } => {
                    inventory_items.extend(seats.iter().map(|seat| seat.item))
                }
                Event::VoucherCreated { scope: VoucherScope::Item(item), .. }
                | Event::WaitingListJoined { item, .. } => inventory_items.push(*item),
                Event::VoucherCreated { scope: VoucherScope::Quota(quota), .. } => {
                    inventory_quotas.push(*quota)
                }
                Event::HoldPlacedWith { lines, .. } | Event::SeatedHoldPlaced { lines, .. } => {
                    inventory_items.extend(lines.iter().map(|line| line.item))
                }
                Event::HoldLinesAdded { hold, .. } | Event::HoldExtended { hold, .. } => {
                    if let Some(items) = hold_items.get(hold).cloned() {
                        catalogue.skip(&items, SKIP_RESHAPED_HOLDS);
                    }
                }
                Event::OrderPlaced { order, payment_deadline_ms, .. } => {
                    catalogue.orders_by_request.entry(record.request_id).or_insert((
                        *order,
                        now,
                        *payment_deadline_ms,
                    ));
                }
                _ => {}
            }
        }
    }
    inventory_items.sort_unstable();
    inventory_items.dedup();
    catalogue.skip(&inventory_items, SKIP_INVENTORY);
    for quota in inventory_quotas {
        catalogue.quotas.entry(quota).or_default().skip.insert(SKIP_INVENTORY);
    }
    catalogue
}

// ---------------------------------------------------------------------------
// What the history says.

/// How a request ended, all its attempts together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Took effect.
    Ok,
    /// Rejected as sold out.
    SoldOut,
    /// Unknown: took effect or did not happen.
    Info,
}

/// The attempts of one request id, merged into one operation: invoked at
/// the first invocation, answered by the first definite completion.
struct Request<'a> {
    request: &'a str,
    /// The inputs, from the first invocation.
    value: &'a Value,
    /// The first `ok` completion's value (ids, deadlines, refund owed).
    answered: Option<&'a Value>,
    call_ns: u64,
    /// `None` for unknown operations.
    ret_ns: Option<u64>,
    answer: Answer,
}

#[derive(Default)]
struct Attempts<'a> {
    value: Option<&'a Value>,
    answered: Option<&'a Value>,
    invoke_ns: Option<u64>,
    invocations: usize,
    completions: usize,
    ok_ns: Option<u64>,
    sold_out_ns: Option<u64>,
    /// Rejected for another reason (closed, invalid): certainly changed nothing.
    rejected_otherwise: bool,
    unknown: bool,
}

/// The operations of the history on holds and orders, one per request id;
/// also how many request ids were answered both ok and sold out.
fn requests(history: &[Op]) -> (Vec<Request<'_>>, usize) {
    let mut by_request: BTreeMap<&str, Attempts> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client(op)) {
        if !matches!(
            op.value,
            Value::Hold { .. }
                | Value::Checkout { .. }
                | Value::Pay { .. }
                | Value::Cancel { .. }
                | Value::Release { .. }
        ) {
            continue;
        }
        let entry = by_request.entry(op.request_id.as_str()).or_default();
        let first = |at: &mut Option<u64>| *at = Some(at.map_or(op.time_ns, |t: u64| t.min(op.time_ns)));
        match op.phase {
            Phase::Invoke => {
                entry.invocations += 1;
                entry.value.get_or_insert(&op.value);
                first(&mut entry.invoke_ns);
            }
            Phase::Ok => {
                if entry.ok_ns.is_none_or(|at| op.time_ns < at) {
                    entry.answered = Some(&op.value);
                }
                first(&mut entry.ok_ns);
            }
            Phase::Fail if op.outcome.as_deref() == Some("rejected/sold_out") => {
                first(&mut entry.sold_out_ns)
            }
            Phase::Fail => {
                entry.rejected_otherwise |= op.outcome.as_deref().is_some_and(super::is_domain_label)
            }
            Phase::Info => entry.unknown = true,
        }
        if op.phase != Phase::Invoke {
            entry.completions += 1;
            entry.value.get_or_insert(&op.value);
        }
    }
    let mut conflicting = 0;
    let mut requests = Vec::new();
    for (request, attempts) in by_request {
        let Some(value) = attempts.value else { continue };
        let call_ns = attempts.invoke_ns.unwrap_or(0);
        let unknown =
            !attempts.rejected_otherwise && (attempts.unknown || attempts.invocations > attempts.completions);
        let (answer, ret_ns) = match (attempts.ok_ns, attempts.sold_out_ns) {
            (Some(ok), Some(sold_out)) => {
                conflicting += 1;
                if ok <= sold_out { (Answer::Ok, Some(ok)) } else { (Answer::SoldOut, Some(sold_out)) }
            }
            (Some(ok), None) => (Answer::Ok, Some(ok)),
            (None, Some(sold_out)) => (Answer::SoldOut, Some(sold_out)),
            (None, None) if unknown => (Answer::Info, None),
            (None, None) => continue, // refused or rejected otherwise: it changed nothing
        };
        let answered = attempts.answered.filter(|_| answer == Answer::Ok);
        let ret_ns = ret_ns.map(|at| at.max(call_ns));
        requests.push(Request { request, value, answered, call_ns, ret_ns, answer });
    }
    (requests, conflicting)
}

// ---------------------------------------------------------------------------
// The operations of the model.

/// What an operation does in the model (see the table in the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// A hold placed (ok or unknown).
    Place,
    /// A hold refused as sold out.
    PlaceRefused,
    /// A hold released.
    Release,
    /// A hold checked out.
    Checkout,
    /// A checkout of a lapsed hold refused as sold out.
    CheckoutRefused,
    /// An order paid.
    Pay,
    /// A late payment recorded with a refund owed; `full`: the order covers
    /// this quota only, so this quota must have been full.
    RefundOwed { full: bool },
    /// An order canceled.
    Cancel,
    /// A hold lapsed by its TTL.
    HoldLapse,
    /// An unpaid order lapsed by its payment deadline.
    OrderLapse,
}

/// One operation of one quota, for the search.
#[derive(Clone, Debug)]
struct GenOp {
    call_ns: u64,
    /// `None`: optional (unknown, or a lapse of an unknown operation), may never happen.
    ret_ns: Option<u64>,
    /// The reservation it acts on (0: none, for a refused hold).
    res: usize,
    /// Its units on this quota.
    units: u64,
    step: Step,
    /// Its place in the log order ([`NO_RANK`] if none).
    rank: u64,
    /// The request it comes from (for a lapse, the hold's or the checkout's).
    request: usize,
}

/// Where a reservation is in its life.
type Status = u8;
const NOT_PLACED: Status = 0;
const HELD: Status = 1;
const HELD_LAPSED: Status = 2;
const RELEASED: Status = 3;
const PENDING: Status = 4;
const PENDING_LAPSED: Status = 5;
const PAID: Status = 6;
const CANCELED: Status = 7;
const STATUSES: u64 = 8;

/// The status and tickets in use after `step` on a reservation in `status`
/// with `units`, or `None` if the step cannot take effect there.
fn transition(step: Step, status: Status, used: u64, units: u64, size: u64) -> Option<(Status, u64)> {
    let fits = used + units <= size;
    let same = Some((status, used));
    match (step, status) {
        (Step::Place, NOT_PLACED) if fits => Some((HELD, used + units)),
        (Step::PlaceRefused, _) if !fits => same,
        (Step::Release, HELD) => Some((RELEASED, used - units)),
        (Step::Release, HELD_LAPSED) => Some((RELEASED, used)),
        (Step::Checkout, HELD) => Some((PENDING, used)),
        (Step::Checkout, HELD_LAPSED) if fits => Some((PENDING, used + units)),
        (Step::CheckoutRefused, HELD_LAPSED) if !fits => same,
        (Step::Pay, PENDING) => Some((PAID, used)),
        (Step::Pay, PENDING_LAPSED) if fits => Some((PAID, used + units)),
        (Step::RefundOwed { full }, PENDING_LAPSED) if !full || !fits => same,
        (Step::Cancel, PAID | PENDING) => Some((CANCELED, used - units)),
        (Step::Cancel, PENDING_LAPSED) => Some((CANCELED, used)),
        (Step::HoldLapse, HELD) => Some((HELD_LAPSED, used - units)),
        (Step::HoldLapse, NOT_PLACED) => None,
        (Step::HoldLapse, _) => same,
        (Step::OrderLapse, PENDING) => Some((PENDING_LAPSED, used - units)),
        (Step::OrderLapse, PENDING_LAPSED | PAID | CANCELED) => same,
        _ => None,
    }
}

/// One quota's operations, as the search sees them.
struct QuotaOps {
    ops: Vec<GenOp>,
    /// Reservations, counting the empty one at 0.
    reservations: usize,
    unknown: usize,
    lapses: usize,
}

impl QuotaOps {
    /// True if only holds touch the quota: the counter search applies.
    fn holds_only(&self) -> bool {
        self.ops.iter().all(|op| matches!(op.step, Step::Place | Step::PlaceRefused))
    }
}

/// Every quota's operations; also counts of what could not be attributed.
struct Built {
    quotas: BTreeMap<QuotaId, QuotaOps>,
    /// Sold-out answers whose quota is unknown (several quotas, no record).
    unattributed: usize,
    /// Operations on holds or orders the history never placed.
    orphans: usize,
}

/// A hold (and the order from it) of the history.
struct Reservation {
    units: BTreeMap<QuotaId, u64>,
}

fn build(requests: &[Request], catalogue: &Catalogue, end_ns: u64, slack: &Slack) -> Built {
    let mut built = Built { quotas: BTreeMap::new(), unattributed: 0, orphans: 0 };
    // Global reservation ids start at 1 (0: none).
    let mut reservations: Vec<Reservation> = vec![Reservation { units: BTreeMap::new() }];
    let mut hold_res: BTreeMap<u64, usize> = BTreeMap::new();
    let mut order_res: BTreeMap<u64, usize> = BTreeMap::new();
    // (global reservation, quota, op); local ids are assigned afterwards.
    let mut pending_ops: Vec<(usize, QuotaId, GenOp)> = Vec::new();
    let id_of = |request: &str| parse_request_id(request);
    let mut add = |res: usize, units: &BTreeMap<QuotaId, u64>, op: GenOp, only: Option<QuotaId>| {
        for (quota, units) in units {
            if *units > 0 && only.is_none_or(|q| q == *quota) {
                pending_ops.push((res, *quota, GenOp { units: *units, ..op.clone() }));
            }
        }
    };
    // The lapse of what `request` placed: `ttl` after it (history time, within
    // the slack; open-ended without a TTL), ranked at the log deadline.
    let lapse = |step: Step,
                 (index, request): (usize, &Request<'_>),
                 res: usize,
                 ttl: Option<u64>,
                 ret_ns: Option<u64>,
                 deadline: Option<u64>| {
        let (lo, hi) = match ttl {
            Some(ttl) => {
                let slack = slack.ns(ttl, request.call_ns, ret_ns);
                let lo = request.call_ns.saturating_add(ttl * 1_000_000).saturating_sub(slack);
                (lo, ret_ns.map(|c| c.saturating_add(ttl * 1_000_000 + slack)))
            }
            None => (request.call_ns, None),
        };
        (lo <= end_ns).then(|| GenOp {
            call_ns: lo,
            ret_ns: hi,
            res,
            units: 0,
            step,
            rank: deadline.map_or(NO_RANK, |d| catalogue.lapse_rank(d)),
            request: index,
        })
    };
    // Holds first (they create the reservations), then what acts on them, in that order.
    let order_of = |value: &Value| match value {
        Value::Hold { .. } => 0,
        Value::Checkout { .. } => 1,
        _ => 2,
    };
    let mut sequence: Vec<usize> = (0..requests.len()).collect();
    sequence.sort_by_key(|&i| (order_of(requests[i].value), requests[i].call_ns));
    for index in sequence {
        let request = &requests[index];
        let definite = request.answer != Answer::Info;
        let ret_ns = request.ret_ns.filter(|_| definite);
        let rank = catalogue.rank_of(request.request);
        let logged = id_of(request.request);
        let named = logged.and_then(|id| catalogue.sold_out.get(&id).copied());
        let op = |step: Step, res: usize| GenOp {
            call_ns: request.call_ns,
            ret_ns,
            res,
            units: 0,
            step,
            rank,
            request: index,
        };
        match request.value {
            Value::Hold { lines, ttl_ms, .. } => {
                let units = catalogue.units(lines);
                if request.answer == Answer::SoldOut {
                    let quotas: Vec<QuotaId> = units.keys().copied().collect();
                    match named.or_else(|| (quotas.len() == 1).then(|| quotas[0])) {
                        Some(quota) if quotas.contains(&quota) => {
                            add(0, &units, op(Step::PlaceRefused, 0), Some(quota))
                        }
                        _ => built.unattributed += 1,
                    }
                    continue;
                }
                let res = reservations.len();
                reservations.push(Reservation { units: units.clone() });
                let placed = logged.and_then(|id| catalogue.holds_by_request.get(&id));
                let hold = match request.answered {
                    Some(Value::Hold { hold: Some(hold), .. }) => Some(*hold),
                    _ => placed.map(|(hold, _, _)| hold.0),
                };
                if let Some(hold) = hold {
                    hold_res.insert(hold, res);
                }
                add(res, &units, op(Step::Place, res), None);
                let deadline = match request.answered {
                    Some(Value::Hold { expires_at_ms: Some(at), .. }) => Some(*at),
                    _ => placed.map(|(_, _, at)| *at),
                };
                let ttl = ttl_ms.or_else(|| placed.map(|(_, t, at)| at.saturating_sub(*t)));
                if let Some(lapsed) = lapse(Step::HoldLapse, (index, request), res, ttl, ret_ns, deadline) {
                    add(res, &units, lapsed, None);
                }
            }
            Value::Checkout { hold, payment_ttl_ms, .. } => {
                let Some(&res) = hold_res.get(hold) else {
                    built.orphans += 1;
                    continue;
                };
                let units = reservations[res].units.clone();
                if request.answer == Answer::SoldOut {
                    match named {
                        Some(quota) => add(res, &units, op(Step::CheckoutRefused, res), Some(quota)),
                        None if units.len() == 1 => add(res, &units, op(Step::CheckoutRefused, res), None),
                        None => built.unattributed += 1,
                    }
                    continue;
                }
                let placed = logged.and_then(|id| catalogue.orders_by_request.get(&id));
                let order = match request.answered {
                    Some(Value::Checkout { order: Some(order), .. }) => Some(*order),
                    _ => placed.map(|(order, _, _)| order.0),
                };
                if let Some(order) = order {
                    order_res.insert(order, res);
                }
                add(res, &units, op(Step::Checkout, res), None);
                let deadline = match request.answered {
                    Some(Value::Checkout { payment_deadline_ms: Some(at), .. }) => Some(*at),
                    _ => placed.map(|(_, _, at)| *at),
                };
                let ttl = payment_ttl_ms.or_else(|| placed.map(|(_, t, at)| at.saturating_sub(*t)));
                if let Some(lapsed) = lapse(Step::OrderLapse, (index, request), res, ttl, ret_ns, deadline) {
                    add(res, &units, lapsed, None);
                }
            }
            Value::Release { hold } => match hold_res.get(hold) {
                Some(&res) if request.answer != Answer::SoldOut => {
                    let units = reservations[res].units.clone();
                    add(res, &units, op(Step::Release, res), None);
                }
                _ => built.orphans += 1,
            },
            Value::Pay { order, .. } | Value::Cancel { order } => {
                let Some(&res) = order_res.get(order) else {
                    built.orphans += 1;
                    continue;
                };
                let units = reservations[res].units.clone();
                let step = match (request.value, request.answered, request.answer) {
                    (Value::Cancel { .. }, _, Answer::Ok | Answer::Info) => Step::Cancel,
                    (_, Some(Value::Pay { refund_owed: Some(true), .. }), _) => {
                        Step::RefundOwed { full: units.len() == 1 }
                    }
                    (_, _, Answer::Ok | Answer::Info) => Step::Pay,
                    (_, _, Answer::SoldOut) => continue, // a payment is never refused as sold out
                };
                add(res, &units, op(step, res), None);
            }
            _ => {}
        }
    }
    // Per quota, with reservations renumbered densely from 1.
    let mut local: BTreeMap<(QuotaId, usize), usize> = BTreeMap::new();
    for (res, quota, mut op) in pending_ops {
        let entry = built.quotas.entry(quota).or_insert(QuotaOps {
            ops: Vec::new(),
            reservations: 1,
            unknown: 0,
            lapses: 0,
        });
        if res != 0 {
            let next = entry.reservations;
            let id = *local.entry((quota, res)).or_insert(next);
            if id == next {
                entry.reservations += 1;
            }
            op.res = id;
        }
        if matches!(op.step, Step::HoldLapse | Step::OrderLapse) {
            entry.lapses += 1;
        } else if op.ret_ns.is_none() {
            entry.unknown += 1;
        }
        entry.ops.push(op);
    }
    built
}

// ---------------------------------------------------------------------------
// The check.

fn check_with(history: &[Op], final_state: &FinalState, states_max: u64) -> Verdict {
    let mut problems = Problems::default();
    let mut catalogue = catalogue(&final_state.records);
    let (requests, conflicting) = requests(history);
    let known: BTreeSet<RequestId> = requests
        .iter()
        .filter(|r| matches!(r.value, Value::Hold { .. }))
        .filter_map(|r| parse_request_id(r.request))
        .collect();
    let end_ns = history.iter().map(|op| op.time_ns).max().unwrap_or(0);
    let slack = Slack::of(history);
    let built = build(&requests, &catalogue, end_ns, &slack);

    let mut stats = vec![stat("operations", requests.len())];
    let mut per_quota = Vec::new();
    let (mut checked, mut skipped, mut inconclusive, mut explored, mut by_witness) = (0usize, 0, 0, 0u64, 0);
    for (quota, quota_ops) in &built.quotas {
        let facts = catalogue.quotas.entry(*quota).or_default();
        if facts.placed.iter().any(|request| !known.contains(request)) {
            facts.skip.insert(SKIP_UNKNOWN_HOLDS);
        }
        let (Some(size), true) = (facts.size, facts.skip.is_empty()) else {
            skipped += 1;
            let reasons: Vec<&str> = facts.skip.iter().copied().collect();
            per_quota.push(stat(&quota.to_string(), format!("skipped: {}", reasons.join(", "))));
            continue;
        };
        let ops = &quota_ops.ops;
        if ops.len() > HISTORY_OPS_MAX_PER_QUOTA {
            inconclusive += 1;
            per_quota.push(stat(
                &quota.to_string(),
                format!("inconclusive: {} ops, more than {HISTORY_OPS_MAX_PER_QUOTA}", ops.len()),
            ));
            continue;
        }
        checked += 1;
        if quota_ops.holds_only() {
            let (verdict, states) = check_counter(*quota, size, ops, &requests, states_max, &mut problems);
            explored += states;
            if verdict.starts_with("inconclusive") {
                inconclusive += 1;
            }
            per_quota.push(stat(&quota.to_string(), verdict));
            continue;
        }
        let summary = |how: &str| {
            format!("{} ops ({} unknown, {} lapses), {how}", ops.len(), quota_ops.unknown, quota_ops.lapses)
        };
        if witness(ops, quota_ops.reservations, size) {
            by_witness += 1;
            per_quota.push(stat(&quota.to_string(), format!("linearizable: {}", summary("log order"))));
            continue;
        }
        let (found, states) = general_search(ops, quota_ops.reservations, size, states_max);
        explored += states;
        let how = format!("{states} states");
        match found {
            Found::Yes => {
                per_quota.push(stat(&quota.to_string(), format!("linearizable: {}", summary(&how))))
            }
            Found::Unknown => {
                inconclusive += 1;
                per_quota.push(stat(
                    &quota.to_string(),
                    format!("inconclusive: search budget exceeded ({})", summary(&how)),
                ));
            }
            Found::No(blocked) => {
                let definite = ops.iter().filter(|op| op.ret_ns.is_some()).count();
                let op = &ops[blocked.op];
                let request = &requests[op.request];
                problems.push(format!(
                    "{quota} (size {size}): not linearizable: after at most {} of the {definite} definite \
                     operations, with {} tickets in use, the {} by request {} (invoked at {}, due by {}) cannot \
                     take effect, and no order consistent with real time avoids that",
                    blocked.linearized,
                    blocked.reserved,
                    describe_step(op),
                    request.request,
                    ms(op.call_ns),
                    op.ret_ns.map_or("-".into(), ms),
                ));
                per_quota.push(stat(&quota.to_string(), format!("not linearizable: {}", summary(&how))));
            }
        }
    }
    stats.extend([
        stat("quotas checked", checked),
        stat("quotas proved by the log order", by_witness),
        stat("quotas skipped", skipped),
        stat("quotas inconclusive", inconclusive),
        stat("states explored", explored),
        stat("clock faults widening lapses", slack.describe()),
        stat("sold-out answers without a quota", built.unattributed),
        stat("operations on holds or orders not in the history", built.orphans),
        stat("request ids answered both ok and sold out", conflicting),
    ]);
    stats.extend(per_quota);
    problems.verdict(NAME, WHAT, stats)
}

fn describe_step(op: &GenOp) -> String {
    let units = op.units;
    match op.step {
        Step::Place => format!("acknowledged hold of {units} tickets"),
        Step::PlaceRefused => format!("sold-out answer to a hold of {units} tickets"),
        Step::Release => format!("acknowledged release of a hold of {units} tickets"),
        Step::Checkout => format!("acknowledged checkout of {units} tickets"),
        Step::CheckoutRefused => format!("sold-out answer to a checkout of {units} tickets"),
        Step::Pay => format!("acknowledged payment of {units} tickets"),
        Step::RefundOwed { .. } => format!("refund-owed answer to a payment of {units} tickets"),
        Step::Cancel => format!("acknowledged cancel of {units} tickets"),
        Step::HoldLapse => format!("lapse of the hold of {units} tickets placed"),
        Step::OrderLapse => format!("lapse of the unpaid order of {units} tickets checked out"),
    }
}

/// The counter search on a quota only holds touch; its stat and states.
fn check_counter(
    quota: QuotaId,
    size: u64,
    ops: &[GenOp],
    requests: &[Request],
    states_max: u64,
    problems: &mut Problems,
) -> (String, u64) {
    let lin_ops: Vec<LinOp> = ops
        .iter()
        .map(|op| LinOp {
            invoke_ns: op.call_ns,
            return_ns: op.ret_ns,
            quantity: op.units,
            kind: match (op.step, op.ret_ns) {
                (Step::PlaceRefused, _) => Kind::SoldOut,
                (_, Some(_)) => Kind::Ok,
                (_, None) => Kind::Info,
            },
        })
        .collect();
    let infos = lin_ops.iter().filter(|op| op.kind == Kind::Info).count();
    let acknowledged: u64 = lin_ops.iter().filter(|op| op.kind == Kind::Ok).map(|op| op.quantity).sum();
    if acknowledged > size {
        problems.push(format!(
            "{quota}: acknowledged holds total {acknowledged} tickets, more than its size {size}: \
             no order can fit them all"
        ));
        return (format!("not linearizable: {} ops", ops.len()), 0);
    }
    let (found, states) = counter_search(&lin_ops, size, states_max);
    let summary = format!("{} ops ({infos} unknown), {states} states", ops.len());
    let verdict = match found {
        Found::Yes => format!("linearizable: {summary}"),
        Found::Unknown => format!("inconclusive: search budget exceeded ({summary})"),
        Found::No(blocked) => {
            let definite = ops.len() - infos;
            let op = &lin_ops[blocked.op];
            let (what, why) = match op.kind {
                Kind::Ok => ("acknowledged hold", "does not fit"),
                Kind::SoldOut | Kind::Info => ("sold-out answer to a hold", "would have fit"),
            };
            problems.push(format!(
                "{quota} (size {size}): not linearizable: after at most {} of the {definite} definite \
                 operations, with {} tickets reserved, the {what} of {} tickets by request {} (invoked at \
                 {}, completed at {}) {why}, and no order consistent with real time avoids that",
                blocked.linearized,
                blocked.reserved,
                op.quantity,
                requests[ops[blocked.op].request].request,
                ms(op.invoke_ns),
                op.return_ns.map_or("-".into(), ms),
            ));
            format!("not linearizable: {summary}")
        }
    };
    (verdict, states)
}

// ---------------------------------------------------------------------------
// The witness: the log order, checked in one pass.

/// True if the log order is a linearization: every definite operation and
/// every optional one the log places, sorted by log rank, each step legal,
/// and points in their intervals that increase (each at the latest of its
/// invocation and the previous point, which must not pass its completion).
fn witness(ops: &[GenOp], reservations: usize, size: u64) -> bool {
    let mut order: Vec<usize> =
        (0..ops.len()).filter(|&i| ops[i].ret_ns.is_some() || ops[i].rank != NO_RANK).collect();
    order.sort_by_key(|&i| (ops[i].rank, ops[i].call_ns, i));
    let mut status = vec![NOT_PLACED; reservations];
    let (mut used, mut point) = (0u64, 0u64);
    for i in order {
        let op = &ops[i];
        point = point.max(op.call_ns);
        if op.ret_ns.is_some_and(|ret| ret < point) {
            return false;
        }
        match transition(op.step, status[op.res], used, op.units, size) {
            Some((next, now_used)) => {
                if op.res != 0 {
                    status[op.res] = next;
                }
                used = now_used;
            }
            None if op.ret_ns.is_none() => {} // an optional step the log order makes moot
            None => return false,
        }
    }
    true
}

// ---------------------------------------------------------------------------
// The general search.

/// A step of the general search to undo: the operation, and the
/// reservation's status and the use before it.
#[derive(Clone, Copy)]
struct Undo {
    op: usize,
    status: Status,
    used: u64,
}

/// The choices at one configuration.
struct Frame {
    candidates: Vec<usize>,
    next: usize,
    applied: Option<Undo>,
}

/// Search for a linearization of `ops` (with `reservations` reservations,
/// 0 the empty one) on a quota of `size`; also returns how many
/// configurations were explored. See the module documentation.
fn general_search(ops: &[GenOp], reservations: usize, size: u64, states_max: u64) -> (Found, u64) {
    let keys: Vec<u128> = (0..ops.len() as u64)
        .map(|i| (u128::from(splitmix64(2 * i)) << 64) | u128::from(splitmix64(2 * i + 1)))
        .collect();
    let status_key = |res: usize, status: Status| {
        let seed = (1 << 62) | (res as u64 * STATUSES + u64::from(status));
        (u128::from(splitmix64(2 * seed)) << 64) | u128::from(splitmix64(2 * seed + 1))
    };
    let mut list = Entries::new(ops.iter().map(|op| Some((op.call_ns, op.ret_ns))));
    let head = list.head;
    let mut status = vec![NOT_PLACED; reservations];
    let mut used = 0u64;
    // The configuration: linearized operations and reservation statuses.
    let mut hash: u128 = (1..reservations).map(|res| status_key(res, NOT_PLACED)).fold(0, |a, k| a ^ k);
    let mut definite_left = ops.iter().filter(|op| op.ret_ns.is_some()).count();
    let mut linearized = 0usize;
    let mut seen: HashSet<u128> = HashSet::new();
    let mut states = 0u64;
    let mut deepest: Option<Blocked> = None;

    // The candidates at the current configuration, best first; a legal
    // definite no-op alone (it is forced).
    let candidates = |list: &Entries, status: &[Status], used: u64| -> Vec<usize> {
        let mut found = Vec::new();
        let mut k = list.next[head];
        while k != head && list.entries[k].call {
            let i = list.entries[k].op;
            let op = &ops[i];
            let after = transition(op.step, status[op.res], used, op.units, size);
            let no_op = after == Some((status[op.res], used));
            match (op.ret_ns, after) {
                (Some(_), Some(_)) if no_op => return vec![i],
                (_, Some(_)) if !no_op => found.push(i),
                _ => {} // illegal here, or an optional step that would change nothing
            }
            k = list.next[k];
        }
        found.sort_by_key(|&i| (ops[i].rank, ops[i].call_ns, i));
        found
    };

    if definite_left == 0 {
        return (Found::Yes, 0);
    }
    let mut stack = vec![Frame { candidates: candidates(&list, &status, used), next: 0, applied: None }];
    loop {
        let Some(frame) = stack.last_mut() else {
            let blocked = deepest.unwrap_or(Blocked { linearized: 0, reserved: 0, op: 0 });
            return (Found::No(blocked), states);
        };
        if let Some(undo) = frame.applied.take() {
            let op = &ops[undo.op];
            if op.res != 0 {
                hash ^= status_key(op.res, status[op.res]) ^ status_key(op.res, undo.status);
                status[op.res] = undo.status;
            }
            hash ^= keys[undo.op];
            used = undo.used;
            if op.ret_ns.is_some() {
                definite_left += 1;
                linearized -= 1;
            }
            list.unlift(undo.op);
        }
        if frame.next == frame.candidates.len() {
            // A dead end: note where, and go back to the last choice.
            if deepest.is_none_or(|d| linearized > d.linearized) {
                let mut k = list.next[head];
                while k != head && list.entries[k].call {
                    k = list.next[k];
                }
                let op = if k == head { 0 } else { list.entries[k].op };
                deepest = Some(Blocked { linearized, reserved: used, op });
            }
            stack.pop();
            continue;
        }
        let i = frame.candidates[frame.next];
        frame.next += 1;
        let op = &ops[i];
        let Some((next, now_used)) = transition(op.step, status[op.res], used, op.units, size) else {
            continue;
        };
        let mut key = hash ^ keys[i];
        if op.res != 0 {
            key ^= status_key(op.res, status[op.res]) ^ status_key(op.res, next);
        }
        if !seen.insert(key) {
            continue;
        }
        states += 1;
        if states > states_max {
            return (Found::Unknown, states);
        }
        frame.applied = Some(Undo { op: i, status: status[op.res], used });
        hash = key;
        if op.res != 0 {
            status[op.res] = next;
        }
        used = now_used;
        list.lift(i);
        if op.ret_ns.is_some() {
            definite_left -= 1;
            linearized += 1;
            if definite_left == 0 {
                return (Found::Yes, states);
            }
        }
        stack.push(Frame { candidates: candidates(&list, &status, used), next: 0, applied: None });
    }
}

// ---------------------------------------------------------------------------
// The counter search (holds only).

/// What the answer to a hold was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Took effect: reserved its tickets.
    Ok,
    /// Rejected as sold out: did not fit.
    SoldOut,
    /// Unknown: took effect (and fit) or did not happen.
    Info,
}

/// One hold operation on one quota, for the counter search.
#[derive(Clone, Debug)]
struct LinOp {
    invoke_ns: u64,
    /// `None` for unknown operations.
    return_ns: Option<u64>,
    quantity: u64,
    kind: Kind,
}

/// What a search found.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A linearization exists.
    Yes,
    /// None exists; where the search got furthest.
    No(Blocked),
    /// The budget ran out first.
    Unknown,
}

/// The deepest dead end of a failed search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Blocked {
    /// Definite operations linearized before it.
    linearized: usize,
    /// Tickets reserved (in use) there.
    reserved: u64,
    /// The operation whose completion could not be passed.
    op: usize,
}

/// A call or return of an operation, in time order.
#[derive(Clone, Copy, Debug)]
struct Entry {
    op: usize,
    call: bool,
    time_ns: u64,
}

/// A step of the search, to undo.
#[derive(Clone, Copy, Debug)]
enum Move {
    /// A definite operation was linearized (a forced step).
    Definite(usize),
    /// The unknown operation at this position of `infos` was (a choice),
    /// while the first pending completion was at `bound_ns` (entry `blocked`).
    Info { position: usize, bound_ns: u64, blocked: usize },
}

/// Where the search is at the current configuration.
#[derive(Clone, Copy, Debug)]
enum Cursor {
    /// Not looked at yet.
    Fresh,
    /// Choosing among unknown operations, from this position of `infos`;
    /// the first pending completion is at `bound_ns` (entry `blocked`).
    Infos { from: usize, bound_ns: u64, blocked: usize },
}

/// A deterministic 64-bit mix (splitmix64) for the Zobrist keys.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The doubly linked list of the operations' calls and returns, in time
/// order, with sentinel `head`; at equal times calls come first (the two
/// operations overlap, either may go first).
struct Entries {
    entries: Vec<Entry>,
    next: Vec<usize>,
    prev: Vec<usize>,
    call: Vec<usize>,
    ret: Vec<usize>,
    head: usize,
}

impl Entries {
    /// The list of the operations' spans, in order: (call, return) for an
    /// operation listed (no return entry if the return is `None`), `None` for
    /// one left out.
    fn new(spans: impl Iterator<Item = Option<(u64, Option<u64>)>>) -> Entries {
        let mut entries: Vec<Entry> = Vec::new();
        let mut count = 0;
        for (op, span) in spans.enumerate() {
            count = op + 1;
            let Some((call_ns, return_ns)) = span else { continue };
            entries.push(Entry { op, call: true, time_ns: call_ns });
            if let Some(return_ns) = return_ns {
                entries.push(Entry { op, call: false, time_ns: return_ns });
            }
        }
        entries.sort_by_key(|entry| (entry.time_ns, !entry.call, entry.op));
        let head = entries.len();
        let next = (0..=head).map(|k| (k + 1) % (head + 1)).collect();
        let prev = (0..=head).map(|k| (k + head) % (head + 1)).collect();
        let (mut call, mut ret) = (vec![usize::MAX; count], vec![usize::MAX; count]);
        for (k, entry) in entries.iter().enumerate() {
            if entry.call { call[entry.op] = k } else { ret[entry.op] = k }
        }
        Entries { entries, next, prev, call, ret, head }
    }

    fn unlink(&mut self, k: usize) {
        let (prev, next) = (self.prev[k], self.next[k]);
        self.next[prev] = next;
        self.prev[next] = prev;
    }

    fn relink(&mut self, k: usize) {
        let (prev, next) = (self.prev[k], self.next[k]);
        self.next[prev] = k;
        self.prev[next] = k;
    }

    /// Take a linearized operation out of the list.
    fn lift(&mut self, op: usize) {
        self.unlink(self.call[op]);
        if self.ret[op] != usize::MAX {
            self.unlink(self.ret[op]);
        }
    }

    /// Put it back (the reverse of [`Entries::lift`]).
    fn unlift(&mut self, op: usize) {
        if self.ret[op] != usize::MAX {
            self.relink(self.ret[op]);
        }
        self.relink(self.call[op]);
    }
}

/// Search for a linearization of `ops` against a quota of `size`; also
/// returns how many configurations were explored.
///
/// At each configuration the candidates are the operations invoked before
/// the first pending completion. The definite ones need no choice: a
/// candidate `ok` hold is linearized at once (linearizing a hold earlier only
/// adds tickets earlier, which no later answer minds: acknowledged holds all
/// fit as long as their total does, which is checked up front and kept by
/// pruning), and failing that a candidate sold-out answer that already does
/// not fit is (it changes nothing, and stays valid). In both cases any
/// linearization from here can be rearranged to start that way. Only when
/// every candidate is a sold-out answer that would still fit does the search
/// branch: over the unknown holds invoked before the first pending
/// completion (the earliest of each quantity, and only if the acknowledged
/// holds to come still fit after it). With no unknown holds the search is
/// a single pass.
fn counter_search(ops: &[LinOp], size: u64, states_max: u64) -> (Found, u64) {
    let keys: Vec<u128> = (0..ops.len() as u64)
        .map(|i| (u128::from(splitmix64(2 * i)) << 64) | u128::from(splitmix64(2 * i + 1)))
        .collect();
    let mut list =
        Entries::new(ops.iter().map(|op| (op.kind != Kind::Info).then_some((op.invoke_ns, op.return_ns))));
    let head = list.head;

    // Unknown operations, by invocation; per quantity, the positions not yet
    // linearized (only the first of each quantity is ever a candidate: the
    // others are interchangeable with it).
    let mut infos: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].kind == Kind::Info).collect();
    infos.sort_by_key(|&i| (ops[i].invoke_ns, i));
    let mut classes: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
    for (position, &i) in infos.iter().enumerate() {
        classes.entry(ops[i].quantity).or_default().insert(position);
    }

    let mut reserved = 0u64;
    let mut hash = 0u128;
    let mut acknowledged_left: u64 = ops.iter().filter(|op| op.kind == Kind::Ok).map(|op| op.quantity).sum();
    if acknowledged_left > size {
        // Whichever comes last cannot fit.
        let last = (0..ops.len()).filter(|&i| ops[i].kind == Kind::Ok).max_by_key(|&i| ops[i].invoke_ns);
        return (Found::No(Blocked { linearized: 0, reserved: 0, op: last.unwrap_or(0) }), 0);
    }
    let mut linearized = 0usize;
    let mut stack: Vec<Move> = Vec::new();
    let mut seen: HashSet<(u128, u64)> = HashSet::new();
    let mut states = 0u64;
    let mut deepest: Option<Blocked> = None;
    let mut cursor = Cursor::Fresh;

    loop {
        let step = match cursor {
            Cursor::Fresh => {
                if list.next[head] == head {
                    return (Found::Yes, states); // every definite operation is linearized
                }
                // The candidates: calls before the first pending return.
                let (mut hold, mut refused, mut k) = (None, None, list.next[head]);
                while list.entries[k].call {
                    let i = list.entries[k].op;
                    match ops[i].kind {
                        Kind::Ok => hold = hold.or(Some(i)),
                        Kind::SoldOut if reserved + ops[i].quantity > size => refused = refused.or(Some(i)),
                        Kind::SoldOut | Kind::Info => {}
                    }
                    k = list.next[k];
                }
                match hold.or(refused) {
                    Some(i) => Some(Move::Definite(i)),
                    None => {
                        // The first pending completion is a sold-out answer
                        // that still fits; only unknown holds invoked before
                        // it can come before it. Hopeless if even all of them
                        // would not fill the quota, or if doing so would leave
                        // no room for the acknowledged holds still to come.
                        let bound_ns = list.entries[k].time_ns;
                        let refused = ops[list.entries[k].op].quantity;
                        let available: u64 = classes
                            .values()
                            .flatten()
                            .filter(|&&position| ops[infos[position]].invoke_ns <= bound_ns)
                            .map(|&position| ops[infos[position]].quantity)
                            .sum();
                        let hopeless = reserved + available + refused <= size || acknowledged_left >= refused;
                        let from = if hopeless { usize::MAX } else { 0 };
                        cursor = Cursor::Infos { from, bound_ns, blocked: k };
                        continue;
                    }
                }
            }
            Cursor::Infos { from, bound_ns, blocked } => {
                let candidate = classes
                    .iter()
                    .filter_map(|(&quantity, positions)| Some((quantity, *positions.first()?)))
                    .filter(|&(quantity, position)| {
                        position >= from
                            && ops[infos[position]].invoke_ns <= bound_ns
                            && reserved + quantity + acknowledged_left <= size
                    })
                    .min_by_key(|&(_, position)| position);
                if candidate.is_none() && deepest.is_none_or(|d| linearized > d.linearized) {
                    let op = list.entries[blocked].op;
                    deepest = Some(Blocked { linearized, reserved, op });
                }
                candidate.map(|(_, position)| Move::Info { position, bound_ns, blocked })
            }
        };

        // Make the step, unless its configuration was explored already.
        if let Some(step) = step {
            let (i, added) = match step {
                Move::Definite(i) if ops[i].kind == Kind::Ok => (i, ops[i].quantity),
                Move::Definite(i) => (i, 0),
                Move::Info { position, .. } => (infos[position], ops[infos[position]].quantity),
            };
            if seen.insert((hash ^ keys[i], reserved + added)) {
                states += 1;
                if states > states_max {
                    return (Found::Unknown, states);
                }
                hash ^= keys[i];
                reserved += added;
                match step {
                    Move::Definite(i) => {
                        linearized += 1;
                        acknowledged_left -= added;
                        list.lift(i);
                    }
                    Move::Info { position, .. } => {
                        classes.get_mut(&added).expect("class").remove(&position);
                    }
                }
                stack.push(step);
                cursor = Cursor::Fresh;
                continue;
            }
            if let Move::Info { position, bound_ns, blocked } = step {
                cursor = Cursor::Infos { from: position + 1, bound_ns, blocked };
                continue;
            }
        }

        // A dead end: undo forced steps up to the last choice, and try its
        // next alternative.
        loop {
            match stack.pop() {
                None => {
                    let blocked = deepest.unwrap_or(Blocked { linearized: 0, reserved: 0, op: 0 });
                    return (Found::No(blocked), states);
                }
                Some(Move::Definite(i)) => {
                    let removed = if ops[i].kind == Kind::Ok { ops[i].quantity } else { 0 };
                    hash ^= keys[i];
                    reserved -= removed;
                    acknowledged_left += removed;
                    linearized -= 1;
                    list.unlift(i);
                }
                Some(Move::Info { position, bound_ns, blocked }) => {
                    let i = infos[position];
                    hash ^= keys[i];
                    reserved -= ops[i].quantity;
                    classes.entry(ops[i].quantity).or_default().insert(position);
                    cursor = Cursor::Infos { from: position + 1, bound_ns, blocked };
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{HOLD_TTL_MS, Sim};
    use super::*;
    use boxoffice_engine::domain::Accepted;
    use proptest::prelude::*;

    fn quota_stat(verdict: &Verdict, quota: QuotaId) -> String {
        let name = quota.to_string();
        verdict.stats.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    #[test]
    fn a_sequential_sellout_is_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(3), &[item]);
        sim.hold_ok(1, item, 2);
        sim.hold_ok(2, item, 1);
        for process in 1..=3 {
            assert_eq!(sim.hold_done(process, item, 1).as_deref(), Some("rejected/sold_out"));
        }
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable: 5 ops (0 unknown)"), "{verdict}");
    }

    #[test]
    fn a_sold_out_answer_explained_by_a_concurrent_hold_is_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(2), &[item]);
        sim.hold_ok(1, item, 1);
        let b = sim.invoke(2, Sim::hold_value(item, 1));
        let c = sim.invoke(3, Sim::hold_value(item, 1));
        let b_outcome = sim.apply(&b);
        let c_outcome = sim.apply(&c);
        assert_eq!(c_outcome.label(), "rejected/sold_out");
        // C hears "sold out" before B hears "ok": only B explains it.
        sim.complete(&c, &c_outcome);
        sim.complete(&b, &b_outcome);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable"), "{verdict}");
    }

    #[test]
    fn two_concurrent_ok_holds_beyond_the_size_are_not_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let a = sim.invoke(1, Sim::hold_value(item, 1));
        let b = sim.invoke(2, Sim::hold_value(item, 1));
        let a_outcome = sim.apply(&a);
        sim.complete(&a, &a_outcome);
        // A split brain: the other side also sold the last seat.
        let sold_twice = Sim::hold_answered(item, 1, 99);
        sim.complete_as(&b, Phase::Ok, Some("accepted/hold_live"), sold_twice);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(
            verdict.problems,
            vec![format!(
                "{quota}: acknowledged holds total 2 tickets, more than its size 1: no order can fit them all"
            )]
        );
    }

    #[test]
    fn a_sold_out_answer_while_seats_were_free_is_not_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(5), &[item]);
        sim.hold_ok(1, item, 2);
        // A stale leader answers from an old state in which the quota was full.
        let stale = sim.invoke(2, Sim::hold_value(item, 1));
        sim.complete_as(&stale, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 1));
        sim.hold_ok(3, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1);
        let problem = &verdict.problems[0];
        assert!(
            problem.starts_with(&format!("{quota} (size 5): not linearizable: after at most 1 of the 3"))
        );
        assert!(
            problem.contains(&format!(
                "with 2 tickets reserved, the sold-out answer to a hold of 1 tickets by request {}",
                stale.request_id
            )),
            "{problem}"
        );
        assert!(quota_stat(&verdict, quota).starts_with("not linearizable"));
    }

    #[test]
    fn unknown_holds_may_have_happened_or_not() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(4), &[item]);
        // Times out, but was applied: it explains the sold-out answer below.
        let applied = sim.invoke(1, Sim::hold_value(item, 2));
        sim.apply(&applied);
        sim.complete_as(&applied, Phase::Info, Some("timeout"), Sim::hold_value(item, 2));
        // Times out and never happened: must be left out, or the ok holds would not fit.
        let lost = sim.invoke(2, Sim::hold_value(item, 1));
        sim.complete_as(&lost, Phase::Info, Some("connection reset"), Sim::hold_value(item, 1));
        sim.hold_ok(3, item, 1);
        assert_eq!(sim.hold_done(3, item, 2).as_deref(), Some("rejected/sold_out"));
        sim.hold_ok(4, item, 1);
        // Still in flight when the run ended.
        sim.invoke(5, Sim::hold_value(item, 3));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable: 6 ops (3 unknown)"), "{verdict}");
    }

    #[test]
    fn unknown_holds_cannot_explain_a_sold_out_answer_they_would_not_fit_before() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(4), &[item]);
        sim.hold_ok(1, item, 1);
        let stale = sim.invoke(2, Sim::hold_value(item, 2));
        sim.complete_as(&stale, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 2));
        // Invoked only after the sold-out answer: cannot explain it.
        let late = sim.invoke(3, Sim::hold_value(item, 3));
        sim.complete_as(&late, Phase::Info, Some("timeout"), Sim::hold_value(item, 3));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
    }

    #[test]
    fn retries_are_one_operation_and_other_rejections_never_happened() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        // Unknown, then retried and answered ok: one operation, from the first invocation.
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        sim.complete_as(&call, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let retry = sim.invoke_as(1, call.request_id, Sim::hold_value(item, 1));
        let outcome = sim.apply(&retry);
        sim.complete(&retry, &outcome);
        // Unknown, then retried and rejected as closed: it changed nothing.
        let closed = sim.invoke(2, Sim::hold_value(item, 1));
        sim.complete_as(&closed, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let again = sim.invoke_as(2, closed.request_id, Sim::hold_value(item, 1));
        sim.complete_as(&again, Phase::Fail, Some("rejected/quota_closed"), Sim::hold_value(item, 1));
        let (ops, conflicting) = requests(&sim.history);
        assert_eq!(conflicting, 0);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].request, call.request_id.to_string());
        assert_eq!((ops[0].answer, ops[0].call_ns, ops[0].ret_ns), (Answer::Ok, 0, Some(3_000_000)));
    }

    #[test]
    fn quotas_with_releases_and_multi_line_holds_are_checked_and_resized_ones_skipped() {
        let mut sim = Sim::new();
        let (a, b, c, d) = (sim.item(), sim.item(), sim.item(), sim.item());
        let released = sim.quota(Some(2), &[a]);
        let multi = sim.quota(Some(3), &[b, d]);
        let resized = sim.quota(Some(2), &[c]);
        let hold = sim.hold_ok(1, a, 1);
        sim.release_ok(1, hold);
        sim.hold_lines_ok(2, vec![(b.0, 1), (d.0, 1)], HOLD_TTL_MS);
        sim.hold_ok(2, b, 1);
        sim.hold_ok(3, c, 1);
        sim.resize(resized, Some(3));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, released).starts_with("linearizable: 2 ops (0 unknown, 0 lapses)"));
        assert!(quota_stat(&verdict, multi).starts_with("linearizable: 2 ops (0 unknown), "), "{verdict}");
        assert_eq!(quota_stat(&verdict, resized), "skipped: resized");
    }

    #[test]
    fn a_sold_out_answer_is_judged_by_the_quota_that_refused() {
        let mut sim = Sim::new();
        let (a, b) = (sim.item(), sim.item());
        let event_quota = sim.quota(Some(10), &[a, b]);
        let small = sim.quota(Some(1), &[b]);
        sim.hold_ok(1, b, 1);
        // Refused by the small quota while the event quota had room.
        assert_eq!(sim.hold_done(2, b, 1).as_deref(), Some("rejected/sold_out"));
        sim.hold_ok(3, a, 2);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, event_quota).starts_with("linearizable: 2 ops"), "{verdict}");
        assert!(quota_stat(&verdict, small).starts_with("linearizable: 2 ops"), "{verdict}");
    }

    #[test]
    fn a_search_over_budget_is_inconclusive_not_invalid() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(3), &[item]);
        for process in 0..4 {
            sim.hold_done(process, item, 1);
        }
        let verdict = check_with(&sim.history, &sim.final_state(3), 2);
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("inconclusive: search budget exceeded"), "{verdict}");
        assert!(verdict.stats.contains(&stat("quotas inconclusive", 1)));
    }

    /// `rounds` rounds of `width` concurrent holds (of 1 ticket, or 1 to 4
    /// if `mixed`), each round's holds applied and completed in different
    /// orders; a quota of `size`; every `info_every`-th hold times out.
    fn busy_run(rounds: u64, width: u64, size: u64, info_every: u64, mixed: bool) -> (Sim, ItemId, QuotaId) {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(size), &[item]);
        let mut n = 0;
        for round in 0..rounds {
            let quantity = |p: u64| if mixed { ((7 * p + round) % 4 + 1) as u32 } else { 1 };
            let calls: Vec<_> =
                (0..width).map(|p| sim.invoke(p, Sim::hold_value(item, quantity(p)))).collect();
            let mut outcomes = Vec::new();
            for k in 0..width {
                let call = &calls[((k + round) % width) as usize];
                outcomes.push((call.clone(), sim.apply(call)));
            }
            outcomes.rotate_left((round % width) as usize);
            for (call, outcome) in outcomes.iter().rev() {
                n += 1;
                if n % info_every == 0 {
                    sim.complete_as(call, Phase::Info, Some("timeout"), call.value.clone());
                } else {
                    sim.complete(call, outcome);
                }
            }
        }
        (sim, item, quota)
    }

    #[test]
    fn thousands_of_concurrent_holds_are_checked_quickly() {
        let (sim, _, quota) = busy_run(1_000, 4, 2_500, 97, false);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        let summary = quota_stat(&verdict, quota);
        assert!(summary.starts_with("linearizable: 4000 ops (41 unknown)"), "{summary}");
        let states: u64 =
            summary.rsplit(", ").next().and_then(|s| s.split(' ').next()).unwrap().parse().unwrap();
        assert!(states < 20_000, "{summary}");
    }

    #[test]
    fn a_violation_at_the_end_of_a_long_history_is_found() {
        let (mut sim, item, quota) = busy_run(500, 4, 2_500, 53, false);
        let stale = sim.invoke(9, Sim::hold_value(item, 1));
        sim.complete_as(&stale, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains(&stale.request_id.to_string()), "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("not linearizable: 2001 ops"), "{verdict}");
    }

    #[test]
    fn wide_concurrency_and_many_unknown_holds_are_checked_quickly() {
        // 64 clients at once, every 7th answer lost, selling out midway.
        let (sim, _, quota) = busy_run(70, 64, 3_000, 7, false);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable: 4480 ops (640 unknown)"), "{verdict}");
    }

    #[test]
    fn a_sold_out_answer_no_unknown_holds_can_explain_is_found_quickly() {
        // A third of the answers lost, of 1 to 4 tickets: many ways to pick
        // unknown holds, none of which fills the quota.
        let (mut sim, item, quota) = busy_run(100, 8, 2_100, 3, true);
        let stale = sim.invoke(9, Sim::hold_value(item, 1));
        sim.complete_as(&stale, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains(&stale.request_id.to_string()), "{verdict}");
        assert!(
            quota_stat(&verdict, quota).starts_with("not linearizable: 801 ops (266 unknown)"),
            "{verdict}"
        );
        assert!(
            verdict.stats.iter().any(|(n, v)| n == "states explored" && v.parse::<u64>().unwrap() < 10_000)
        );
    }

    /// Every order of every subset of the unknown operations: the definition.
    fn brute_force(ops: &[LinOp], size: u64) -> bool {
        fn place(ops: &[LinOp], chosen: &[usize], done: u32, reserved: u64, size: u64) -> bool {
            if done.count_ones() as usize == chosen.len() {
                return true;
            }
            (0..chosen.len()).filter(|&k| done & (1 << k) == 0).any(|k| {
                let op = &ops[chosen[k]];
                let forced_before = (0..chosen.len()).any(|j| {
                    j != k
                        && done & (1 << j) == 0
                        && ops[chosen[j]].return_ns.is_some_and(|r| r < op.invoke_ns)
                });
                match op.kind {
                    _ if forced_before => false,
                    Kind::Ok | Kind::Info => {
                        reserved + op.quantity <= size
                            && place(ops, chosen, done | (1 << k), reserved + op.quantity, size)
                    }
                    Kind::SoldOut => {
                        reserved + op.quantity > size && place(ops, chosen, done | (1 << k), reserved, size)
                    }
                }
            })
        }
        let infos: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].kind == Kind::Info).collect();
        (0..1u32 << infos.len()).any(|mask| {
            let mut chosen: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].kind != Kind::Info).collect();
            chosen.extend((0..infos.len()).filter(|k| mask & (1 << k) != 0).map(|k| infos[k]));
            place(ops, &chosen, 0, 0, size)
        })
    }

    /// Small histories: holds with random windows, answered by a sequential
    /// quota at a point inside the window, then some answers lost (unknown)
    /// or falsified.
    fn small_history() -> impl Strategy<Value = (Vec<LinOp>, u64)> {
        let op = (0u64..12, 0u64..6, 1u64..=3, 0u8..12);
        (1u64..=5, prop::collection::vec(op, 1..=8)).prop_map(|(size, raw)| {
            let mut order: Vec<usize> = (0..raw.len()).collect();
            order.sort_by_key(|&i| (2 * raw[i].0 + raw[i].1, i)); // the point: mid-window
            let mut ops: Vec<LinOp> = raw
                .iter()
                .map(|&(invoke, length, quantity, _)| LinOp {
                    invoke_ns: invoke,
                    return_ns: Some(invoke + length),
                    quantity,
                    kind: Kind::Ok,
                })
                .collect();
            let mut reserved = 0;
            for i in order {
                let mode = raw[i].3;
                let fits = reserved + ops[i].quantity <= size;
                let happened = mode != 9; // an unknown that never happened
                if fits && happened {
                    reserved += ops[i].quantity;
                }
                ops[i].kind = match mode {
                    8 | 9 => Kind::Info,
                    10 if fits => Kind::SoldOut, // a lie
                    11 if !fits => Kind::Ok,     // a lie
                    _ if fits => Kind::Ok,
                    _ => Kind::SoldOut,
                };
                if ops[i].kind == Kind::Info {
                    ops[i].return_ns = None;
                }
            }
            (ops, size)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        #[test]
        fn the_search_agrees_with_brute_force((ops, size) in small_history()) {
            let (found, _) = counter_search(&ops, size, SEARCH_STATES_MAX);
            let expected = brute_force(&ops, size);
            prop_assert_eq!(found == Found::Yes, expected, "{:?} size {}: {:?}", ops, size, found);
            prop_assert!(found != Found::Unknown);
        }
    }

    // --- Releases, cancels, lapses, overlapping quotas, re-checks -----------

    /// A completion that lies: `phase` and `label` with the call's own value
    /// (and `answered` filled in, if given).
    fn lie(
        sim: &mut Sim,
        call: &super::super::testkit::Call,
        phase: Phase,
        label: &str,
        answered: Option<Value>,
    ) {
        let value = answered.unwrap_or_else(|| call.value.clone());
        sim.complete_as(call, phase, Some(label), value);
    }

    fn hold_id(outcome: &Outcome) -> u64 {
        match outcome {
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) => hold.0,
            other => panic!("not a hold: {other:?}"),
        }
    }

    fn order_id(outcome: &Outcome) -> u64 {
        match outcome {
            Outcome::Accepted(Accepted::OrderPlaced { order, .. }) => order.0,
            other => panic!("not an order: {other:?}"),
        }
    }

    #[test]
    fn a_released_ticket_sells_again() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let first = sim.hold_ok(1, item, 1);
        assert_eq!(sim.hold_done(2, item, 1).as_deref(), Some("rejected/sold_out"));
        sim.release_ok(1, first);
        sim.hold_ok(2, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).ends_with("log order"), "{verdict}");
    }

    #[test]
    fn a_hold_accepted_before_the_release_that_made_room_is_not_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let first = sim.hold_ok(1, item, 1);
        // Sold twice: acknowledged, and completed before the release was invoked.
        let second = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &second, Phase::Ok, "accepted/hold_live", None);
        sim.release_ok(1, first);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].starts_with(&format!("{quota} (size 1): not linearizable")), "{verdict}");
        assert!(verdict.problems[0].contains("acknowledged hold of 1 tickets"), "{verdict}");
    }

    #[test]
    fn a_sold_out_answer_after_a_release_completed_is_not_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let first = sim.hold_ok(1, item, 1);
        sim.release_ok(1, first);
        let stale = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &stale, Phase::Fail, "rejected/sold_out", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("not linearizable"), "{verdict}");
        assert!(verdict.problems[0].contains(&stale.request_id.to_string()), "{verdict}");
    }

    #[test]
    fn a_general_search_over_budget_is_inconclusive_not_invalid() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let first = sim.hold_ok(1, item, 1);
        sim.release_ok(1, first);
        let stale = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &stale, Phase::Fail, "rejected/sold_out", None);
        let verdict = check_with(&sim.history, &sim.final_state(3), 1);
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("inconclusive: search budget exceeded"), "{verdict}");
        assert!(!check(&sim.history, &sim.final_state(3)).valid, "with the full budget it is found");
    }

    #[test]
    fn a_canceled_order_sells_again_but_not_before_the_cancel() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        assert_eq!(sim.hold_done(2, item, 1).as_deref(), Some("rejected/sold_out"));
        sim.cancel_ok(1, order);
        sim.hold_ok(2, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable: 6 ops"), "{verdict}");

        // The same, with a hold acknowledged before the cancel was invoked.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        let early = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &early, Phase::Ok, "accepted/hold_live", None);
        sim.cancel_ok(1, order);
        assert!(!check(&sim.history, &sim.final_state(3)).valid);

        // And a sold-out answer after the cancel completed.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        sim.cancel_ok(1, order);
        let stale = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &stale, Phase::Fail, "rejected/sold_out", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains(&stale.request_id.to_string()), "{verdict}");
    }

    #[test]
    fn a_hold_lapses_after_its_ttl_and_not_before() {
        // Lapsed after 1 s: its ticket sells again.
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(2_000);
        sim.hold_ok(2, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(
            quota_stat(&verdict, quota).starts_with("linearizable: 3 ops (0 unknown, 1 lapses)"),
            "{verdict}"
        );

        // Sold again long before the TTL could have run out.
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        let early = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &early, Phase::Ok, "accepted/hold_live", None);
        sim.wait(2_000);
        sim.hold_done(3, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("not linearizable"), "{verdict}");
    }

    #[test]
    fn a_sold_out_answer_long_after_the_only_hold_lapsed_is_not_linearizable() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(3_000);
        let stale = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &stale, Phase::Fail, "rejected/sold_out", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("not linearizable"), "{verdict}");
        assert!(verdict.problems[0].contains("sold-out answer to a hold of 1 tickets"), "{verdict}");

        // Within the slack of the TTL, the hold may still count: no violation.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(1_000);
        let edge = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &edge, Phase::Fail, "rejected/sold_out", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
    }

    /// After the nemesis actions `before`, a hold of 2 s, and its seat sold
    /// again 1.5 s later (early by real time, as when a leader's clock jump
    /// moved log time ahead); then the actions `after`; the verdict.
    fn early_resale(before: &[&str], after: &[&str]) -> Verdict {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        for action in before {
            sim.nemesis(action);
        }
        sim.hold_lines_ok(1, vec![(item.0, 1)], 2_000);
        sim.wait(1_500);
        let early = sim.invoke(2, Sim::hold_value(item, 1));
        lie(&mut sim, &early, Phase::Ok, "accepted/hold_live", None);
        for action in after {
            sim.nemesis(action);
        }
        check(&sim.history, &sim.final_state(3))
    }

    #[test]
    fn lapses_near_a_clock_fault_get_the_clock_guards_slack_and_others_do_not() {
        let jump = "clock-jump: leader 1's clock jumps +3660000 ms, then back to -3660000 ms";
        let verdict = early_resale(&[jump], &["heal"]);
        assert!(verdict.valid, "{verdict}");
        let widened = verdict.stats.iter().find(|(name, _)| name == "clock faults widening lapses");
        assert!(widened.is_some_and(|(_, value)| value.starts_with("1 (by up to 12")), "{verdict}");
        // Within the slack after the heal, log time may still be ahead.
        assert!(early_resale(&[jump, "heal"], &[]).valid);
        // Any other fault keeps the narrow slack.
        assert!(!early_resale(&["kill -9 leader 1"], &["heal"]).valid);
        assert!(!early_resale(&[], &[]).valid);
    }

    #[test]
    fn the_clock_guards_slack_grows_with_the_age_of_the_term() {
        assert_eq!(clock_fault_slack_ns(0), (CLOCK_LEAD_MAX_MS + CLOCK_SAMPLE_RTT_MAX_MS / 2) * 1_000_000);
        // A term may have run since the history began: 1% of 100 s.
        assert_eq!(clock_fault_slack_ns(100_000_000_000) - clock_fault_slack_ns(0), 1_000_000_000);
    }

    /// Quotas Saturday = {Saturday, Weekend} and Sunday = {Sunday, Weekend} of `size`.
    fn weekend(size: u64) -> (Sim, [ItemId; 3], [QuotaId; 2]) {
        let mut sim = Sim::new();
        let (saturday, sunday, both) = (sim.item(), sim.item(), sim.item());
        let sat = sim.quota(Some(size), &[saturday, both]);
        let sun = sim.quota(Some(size), &[sunday, both]);
        (sim, [saturday, sunday, both], [sat, sun])
    }

    #[test]
    fn multi_line_holds_over_overlapping_quotas_are_checked_on_each() {
        let (mut sim, [saturday, sunday, both], [sat, sun]) = weekend(2);
        sim.hold_lines_ok(1, vec![(both.0, 1), (saturday.0, 1)], HOLD_TTL_MS); // Sat 2, Sun 1
        sim.hold_ok(2, sunday, 1); // Sun 2
        assert_eq!(sim.hold_done(3, sunday, 1).as_deref(), Some("rejected/sold_out"));
        assert_eq!(sim.hold_done(3, both, 1).as_deref(), Some("rejected/sold_out"));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, sat).starts_with("linearizable: 2 ops"), "{verdict}");
        assert!(quota_stat(&verdict, sun).starts_with("linearizable: 3 ops"), "{verdict}");

        // A weekend pass sold while Saturday was full.
        let (mut sim, [saturday, _, both], [sat, _]) = weekend(2);
        sim.hold_lines_ok(1, vec![(saturday.0, 2)], HOLD_TTL_MS);
        let oversold = sim.invoke(2, Sim::hold_value(both, 1));
        lie(&mut sim, &oversold, Phase::Ok, "accepted/hold_live", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].starts_with(&format!("{sat}: acknowledged holds total 3")), "{verdict}");

        // Saturday refused a weekend pass while it had room (the log names it).
        let (mut sim, [saturday, sunday, both], [sat, _]) = weekend(2);
        sim.hold_lines_ok(1, vec![(saturday.0, 1)], HOLD_TTL_MS);
        let other = sim.hold_ok(2, sunday, 2);
        let call = sim.invoke(3, Sim::hold_value(both, 1));
        assert_eq!(sim.apply(&call).label(), "rejected/sold_out"); // Sunday is full
        sim.release_ok(2, other);
        let lied = sim.invoke(4, Sim::hold_value(both, 1));
        let rejection = Outcome::Rejected(Rejection::SoldOut {
            item: both,
            quota: sat,
            state: boxoffice_engine::domain::AvailabilityState::Reserved,
            remaining: 0,
        });
        sim.plant(lied.request_id, vec![], rejection);
        lie(&mut sim, &lied, Phase::Fail, "rejected/sold_out", None);
        sim.complete(&call, &sim.log.last().unwrap().outcome.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems.iter().any(|p| p.starts_with(&format!("{sat} (size 2)"))), "{verdict}");
    }

    #[test]
    fn a_checkout_of_a_lapsed_hold_must_fit_again() {
        // Lapsed, sold to another, then checked out: refused as sold out.
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let first = sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(2_000);
        sim.hold_ok(2, item, 1);
        assert_eq!(sim.checkout_done(1, first, 60_000).label(), "rejected/sold_out");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(
            quota_stat(&verdict, quota).starts_with("linearizable: 4 ops (0 unknown, 1 lapses)"),
            "{verdict}"
        );

        // The same checkout acknowledged: two tickets out of one.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let first = sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(2_000);
        sim.hold_ok(2, item, 1);
        let call = sim.invoke(1, Value::checkout(first, 60_000));
        let answered = Value::Checkout {
            hold: first,
            payment_ttl_ms: Some(60_000),
            order: Some(77),
            payment_deadline_ms: None,
        };
        lie(&mut sim, &call, Phase::Ok, "accepted/order_placed", Some(answered));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("acknowledged checkout of 1 tickets"), "{verdict}");

        // Refused as sold out although nothing else held the ticket.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let first = sim.hold_lines_ok(1, vec![(item.0, 1)], 1_000);
        sim.wait(2_000);
        let call = sim.invoke(1, Value::checkout(first, 60_000));
        lie(&mut sim, &call, Phase::Fail, "rejected/sold_out", None);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("sold-out answer to a checkout"), "{verdict}");
    }

    #[test]
    fn a_late_payment_must_fit_again_or_owe_a_refund() {
        // The order lapses, its ticket is sold again, the late payment owes a refund.
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = order_id(&sim.checkout_done(1, hold, 1_000));
        sim.wait(2_000);
        sim.hold_ok(2, item, 1);
        let outcome = sim.run(1, Value::Pay { order, refund_owed: None });
        assert_eq!(outcome.label(), "accepted/payment_refund_owed");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(
            quota_stat(&verdict, quota).starts_with("linearizable: 5 ops (0 unknown, 1 lapses)"),
            "{verdict}"
        );

        // The late payment acknowledged as paid: two tickets out of one.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = order_id(&sim.checkout_done(1, hold, 1_000));
        sim.wait(2_000);
        sim.hold_ok(2, item, 1);
        let call = sim.invoke(1, Value::Pay { order, refund_owed: None });
        let answered = Value::Pay { order, refund_owed: Some(false) };
        lie(&mut sim, &call, Phase::Ok, "accepted/order_paid", Some(answered));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("acknowledged payment of 1 tickets"), "{verdict}");

        // A refund owed although the ticket was free all along.
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let hold = sim.hold_ok(1, item, 1);
        let order = order_id(&sim.checkout_done(1, hold, 1_000));
        sim.wait(2_000);
        let call = sim.invoke(1, Value::Pay { order, refund_owed: None });
        let answered = Value::Pay { order, refund_owed: Some(true) };
        lie(&mut sim, &call, Phase::Ok, "accepted/payment_refund_owed", Some(answered));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("refund-owed answer"), "{verdict}");
    }

    #[test]
    fn unknown_releases_and_cancels_may_have_happened_or_not() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(2), &[item]);
        let first = sim.hold_ok(1, item, 1);
        let second = sim.hold_ok(2, item, 1);
        // Applied, answer lost: explains the hold below.
        let release = sim.invoke(1, Value::Release { hold: first });
        sim.apply(&release);
        lie(&mut sim, &release, Phase::Info, "timeout", None);
        // Not applied, answer lost: must be left out to explain the sold-out answer.
        let order = sim.checkout_ok(2, second);
        let cancel = sim.invoke(2, Value::Cancel { order });
        lie(&mut sim, &cancel, Phase::Info, "timeout", None);
        sim.hold_ok(3, item, 1);
        assert_eq!(sim.hold_done(4, item, 1).as_deref(), Some("rejected/sold_out"));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable: 7 ops (2 unknown"), "{verdict}");
    }

    #[test]
    fn an_invocation_starting_at_a_refused_attempt_can_hide_a_violation() {
        // A hold, its release, and a sold-out answer to a hold whose first
        // attempt was refused before being sent (before the release), and
        // whose attempt that was sent started after the release completed.
        let build = |sent_late: bool| {
            let mut sim = Sim::new();
            let item = sim.item();
            sim.quota(Some(1), &[item]);
            let call = sim.invoke(9, Sim::hold_value(item, 1)); // the refused attempt's start
            let first = sim.hold_ok(1, item, 1);
            sim.release_ok(1, first);
            let sent_ns = sim.clock_ns;
            lie(&mut sim, &call, Phase::Fail, "rejected/sold_out", None);
            if sent_late {
                sim.history[0].time_ns = sent_ns; // as the recorder fixes it up
            }
            check(&sim.history, &sim.final_state(3))
        };
        let early = build(false);
        assert!(early.valid, "with the early start the violation hides: {early}");
        let late = build(true);
        assert!(!late.valid, "with the real start it is found: {late}");
    }

    #[test]
    fn concurrent_holds_and_releases_with_lost_answers_are_checked_within_the_budget() {
        // Many concurrent holds and releases with lost answers: the general
        // search finishes (or says inconclusive) within its budget.
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(3), &[item]);
        for round in 0..30u64 {
            let calls: Vec<_> = (0..4).map(|p| sim.invoke(p, Sim::hold_value(item, 1))).collect();
            let outcomes: Vec<_> = calls.iter().map(|c| sim.apply(c)).collect();
            for (k, (call, outcome)) in calls.iter().zip(&outcomes).enumerate() {
                if (round + k as u64).is_multiple_of(5) {
                    lie(&mut sim, call, Phase::Info, "timeout", None);
                } else {
                    sim.complete(call, outcome);
                }
            }
            for (call, outcome) in calls.iter().zip(&outcomes) {
                if outcome.is_accepted() {
                    let release = sim.invoke(call.process, Value::Release { hold: hold_id(outcome) });
                    let released = sim.apply(&release);
                    sim.complete(&release, &released);
                }
            }
        }
        let verdict = check_with(&sim.history, &sim.final_state(3), 10_000);
        assert!(verdict.valid, "{verdict}");
        assert!(quota_stat(&verdict, quota).starts_with("linearizable"), "{verdict}");
    }

    // --- The general search against the definition ---------------------------

    /// Every order of every subset of the optional operations.
    fn general_brute_force(ops: &[GenOp], reservations: usize, size: u64) -> bool {
        fn place(
            ops: &[GenOp],
            chosen: &[usize],
            done: u32,
            status: &mut Vec<Status>,
            used: u64,
            size: u64,
        ) -> bool {
            if done.count_ones() as usize == chosen.len() {
                return true;
            }
            (0..chosen.len()).filter(|&k| done & (1 << k) == 0).any(|k| {
                let op = &ops[chosen[k]];
                let forced_before = (0..chosen.len()).any(|j| {
                    j != k && done & (1 << j) == 0 && ops[chosen[j]].ret_ns.is_some_and(|r| r < op.call_ns)
                });
                if forced_before {
                    return false;
                }
                let Some((next, now_used)) = transition(op.step, status[op.res], used, op.units, size) else {
                    return false;
                };
                let before = status[op.res];
                if op.res != 0 {
                    status[op.res] = next;
                }
                let found = place(ops, chosen, done | (1 << k), status, now_used, size);
                status[op.res] = before;
                found
            })
        }
        let optional: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret_ns.is_none()).collect();
        (0..1u32 << optional.len()).any(|mask| {
            let mut chosen: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret_ns.is_some()).collect();
            chosen.extend((0..optional.len()).filter(|k| mask & (1 << k) != 0).map(|k| optional[k]));
            place(ops, &chosen, 0, &mut vec![NOT_PLACED; reservations], 0, size)
        })
    }

    /// Small general histories: a sequential run over two reservations
    /// (place, release, checkout, pay, cancel, lapses, refusals), each step
    /// given a window around its point, then some made optional or falsified.
    fn small_general_history() -> impl Strategy<Value = (Vec<GenOp>, u64)> {
        let step = (0u8..10, 1usize..=2, 0u64..6, 0u64..6, 0u8..14);
        (1u64..=2, prop::collection::vec(step, 1..=7)).prop_map(|(size, raw)| {
            let units = [0, 1, 2];
            let mut status = [NOT_PLACED; 3];
            let mut used = 0;
            let mut ops = Vec::new();
            for (position, &(choice, res, before, after, mode)) in raw.iter().enumerate() {
                let steps = [
                    Step::Place,
                    Step::PlaceRefused,
                    Step::Release,
                    Step::Checkout,
                    Step::CheckoutRefused,
                    Step::Pay,
                    Step::RefundOwed { full: true },
                    Step::Cancel,
                    Step::HoldLapse,
                    Step::OrderLapse,
                ];
                // The chosen step if it is legal now, else the first legal one from it.
                let legal =
                    (0..steps.len()).map(|k| steps[(usize::from(choice) + k) % steps.len()]).find(|s| {
                        let r = if *s == Step::PlaceRefused { 0 } else { res };
                        transition(*s, status[r], used, units[res], size).is_some()
                    });
                let Some(mut step) = legal else { continue };
                let r = if step == Step::PlaceRefused { 0 } else { res };
                let (next, now_used) = transition(step, status[r], used, units[res], size).unwrap();
                if mode != 9 {
                    // 9: an unknown operation that never happened
                    if r != 0 {
                        status[r] = next;
                    }
                    used = now_used;
                }
                step = match (mode, step) {
                    (10, Step::Place) => Step::PlaceRefused, // a lie
                    (11, Step::PlaceRefused) => Step::Place, // a lie
                    (12, Step::Pay) => Step::RefundOwed { full: true },
                    _ => step,
                };
                let point = 4 * position as u64 + 2;
                let optional =
                    matches!(mode, 8 | 9) && !matches!(step, Step::PlaceRefused | Step::RefundOwed { .. });
                ops.push(GenOp {
                    call_ns: point.saturating_sub(before),
                    ret_ns: (!optional).then_some(point + after),
                    res: r,
                    units: units[res],
                    step,
                    rank: if mode == 13 { NO_RANK } else { position as u64 },
                    request: 0,
                });
            }
            (ops, size)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        #[test]
        fn the_general_search_and_the_witness_agree_with_brute_force((ops, size) in small_general_history()) {
            let expected = general_brute_force(&ops, 3, size);
            let (found, _) = general_search(&ops, 3, size, SEARCH_STATES_MAX);
            prop_assert_eq!(found == Found::Yes, expected, "{:?} size {}: {:?}", ops, size, found);
            prop_assert!(found != Found::Unknown);
            if witness(&ops, 3, size) {
                prop_assert!(expected, "the witness accepted a history that is not linearizable: {:?}", ops);
            }
        }
    }
}
