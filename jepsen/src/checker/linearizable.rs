//! Linearizability of holds, per quota.
//!
//! The other checkers compare the history with the log the cluster ended
//! with. This one asks whether what clients *saw* could have come from one
//! single-copy quota at all: is there a total order of the hold operations,
//! consistent with real time (an operation that completed before another was
//! invoked comes first), in which a sequential quota gives every answer the
//! clients got? A stale read by a deposed leader, or a split brain that sold
//! the same seat on both sides, shows up here even if the final log looks
//! fine.
//!
//! # The model
//!
//! One quota of `size` tickets; the state is the number reserved. A hold of
//! `q` answered `ok` must fit (`reserved + q <= size`) and then reserves;
//! one answered `rejected/sold_out` must not fit at its point, and changes
//! nothing. An `info` hold (or one never completed) may have happened at any
//! point after its invocation, as a hold that fit, or not at all. Other
//! failures changed nothing and are left out.
//!
//! # The search
//!
//! Wing & Gong's search with Lowe's memoization, as Knossos and Porcupine do
//! it: the invocations and completions of the definite (`ok`, `fail`)
//! operations form a time-ordered list; an operation invoked before the
//! first pending completion is a candidate to be linearized next;
//! linearizing lifts it out of the list, a dead end puts it back and tries
//! the next alternative. A configuration (the set of linearized operations,
//! the number reserved) is explored once: the set is kept as a 128-bit
//! Zobrist hash of a fixed pseudo-random key per operation, so a cache entry
//! is a few bytes whatever the history's length (two different sets collide
//! with probability about 2^-128 per pair).
//!
//! The counter model lets most choices be made without branching, exactly
//! (each rule only rearranges a linearization that exists into one that
//! starts as the rule says; the tests compare the search with brute force):
//!
//! - a candidate `ok` hold goes first: reserving earlier only helps later
//!   sold-out answers, and acknowledged holds all fit as long as their total
//!   does (checked up front, and kept by pruning);
//! - failing that, a candidate sold-out answer that already does not fit
//!   goes first: it changes nothing;
//! - otherwise every candidate is a sold-out answer that would still fit, so
//!   the next step must be an unknown hold: the search branches over those
//!   invoked before the first pending completion, trying only the earliest
//!   of each quantity (the others are interchangeable with it) and only if
//!   the acknowledged holds still to come fit after it.
//!
//! So unknown holds are linearized only when a sold-out answer needs them,
//! and a history without unknown operations is checked in one pass.
//!
//! # Scope
//!
//! Sizes and items come from the final log's `QuotaCreated`. A quota is
//! skipped (with the reason in the stats) when the counter model would not
//! describe it: unlimited or resized quotas, multi-line holds on it,
//! releases, cancellations, add-ons or extensions of its holds, holds or
//! orders that lapsed while holds were still being decided, holds in the log
//! that the history does not know, or a quota created over existing holds.
//! Checkouts and payments of live holds and orders only move tickets between
//! buckets, so they do not change what is reserved and are allowed. A
//! sold-out answer belongs to the quota its recorded rejection names (so an
//! item in two quotas is judged by the one that refused).
//!
//! A quota with more than [`HISTORY_OPS_MAX_PER_QUOTA`] operations, or
//! whose search explores more than [`SEARCH_STATES_MAX`] configurations, is
//! reported as inconclusive (valid): a checker must finish.

use super::{FinalState, Problems, Verdict, is_client, ms, parse_request_id, stat};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::{
    Event, HoldId, ItemId, OrderId, Outcome, QuotaId, Record, Rejection, RequestId,
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Most hold operations checked on one quota (a memory bound: the work is
/// bounded by [`SEARCH_STATES_MAX`]). A 30-minute flash run has ~130 k.
pub const HISTORY_OPS_MAX_PER_QUOTA: usize = 1_000_000;

/// Most configurations the search of one quota may explore.
pub const SEARCH_STATES_MAX: u64 = 2_000_000;

const NAME: &str = "linearizable";
const WHAT: &str = "Per quota, the hold answers clients saw (ok, sold out, unknown) fit one sequential quota in \
                    an order consistent with real time.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    check_with(history, final_state, SEARCH_STATES_MAX)
}

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

/// One hold operation on one quota, for the search.
#[derive(Clone, Debug)]
struct LinOp {
    invoke_ns: u64,
    /// `None` for unknown operations.
    return_ns: Option<u64>,
    quantity: u64,
    kind: Kind,
}

/// What the search found.
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
    /// Tickets reserved there.
    reserved: u64,
    /// The operation whose completion could not be passed.
    op: usize,
}

/// Everything the final log says about the quotas.
#[derive(Default)]
struct QuotaFacts {
    size: Option<u64>,
    /// Why the counter model does not describe this quota.
    skip: BTreeSet<&'static str>,
    /// Requests whose `HoldPlaced` covers the quota.
    placed: BTreeSet<RequestId>,
    /// Log time of the last hold decided on it (placed or refused).
    last_decision_ms: u64,
    holds: Vec<HoldId>,
}

struct HoldFacts {
    items: Vec<ItemId>,
    expires_at_ms: u64,
    /// When it was checked out (it stops lapsing then).
    checked_out_ms: Option<u64>,
}

struct OrderFacts {
    hold: HoldId,
    deadline_ms: u64,
    paid_ms: Option<u64>,
}

#[derive(Default)]
struct Catalogue {
    quotas: BTreeMap<QuotaId, QuotaFacts>,
    item_quotas: BTreeMap<ItemId, Vec<QuotaId>>,
    /// The quota a recorded sold-out rejection names.
    sold_out: BTreeMap<RequestId, QuotaId>,
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
}

const SKIP_UNLIMITED: &str = "unlimited";
const SKIP_RESIZED: &str = "resized";
const SKIP_MULTI_LINE: &str = "multi-line holds";
const SKIP_NON_HOLD: &str = "non-hold ops";
const SKIP_LAPSED: &str = "holds or orders lapsed during the run";
const SKIP_UNKNOWN_HOLDS: &str = "holds in the log missing from the history";
const SKIP_CREATED_LATE: &str = "created over existing holds";

fn catalogue(records: &[Record]) -> Catalogue {
    let mut catalogue = Catalogue::default();
    let mut holds: BTreeMap<HoldId, HoldFacts> = BTreeMap::new();
    let mut orders: BTreeMap<OrderId, OrderFacts> = BTreeMap::new();
    for record in records {
        let now = record.time_ms;
        if let Outcome::Rejected(Rejection::SoldOut { quota, .. }) = &record.outcome {
            catalogue.sold_out.insert(record.request_id, *quota);
            let facts = catalogue.quotas.entry(*quota).or_default();
            facts.last_decision_ms = facts.last_decision_ms.max(now);
        }
        for event in &record.events {
            match event {
                Event::QuotaCreated { quota, size, items, .. } => {
                    let facts = catalogue.quotas.entry(*quota).or_default();
                    facts.size = *size;
                    if size.is_none() {
                        facts.skip.insert(SKIP_UNLIMITED);
                    }
                    if holds.values().any(|hold| hold.items.iter().any(|item| items.contains(item))) {
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
                        let facts = catalogue.quotas.entry(quota).or_default();
                        facts.placed.insert(record.request_id);
                        facts.last_decision_ms = facts.last_decision_ms.max(now);
                        facts.holds.push(*hold);
                        if lines.len() > 1 {
                            facts.skip.insert(SKIP_MULTI_LINE);
                        }
                    }
                    holds.insert(
                        *hold,
                        HoldFacts { items, expires_at_ms: *expires_at_ms, checked_out_ms: None },
                    );
                }
                Event::HoldLinesAdded { hold, .. }
                | Event::HoldExtended { hold, .. }
                | Event::HoldReleased { hold } => {
                    if let Some(facts) = holds.get(hold) {
                        let items = facts.items.clone();
                        catalogue.skip(&items, SKIP_NON_HOLD);
                    }
                }
                Event::OrderPlaced { order, hold, payment_deadline_ms, .. } => {
                    if let Some(facts) = holds.get_mut(hold) {
                        facts.checked_out_ms = Some(now);
                    }
                    orders.insert(
                        *order,
                        OrderFacts { hold: *hold, deadline_ms: *payment_deadline_ms, paid_ms: None },
                    );
                }
                Event::OrderPaid { order, .. } => {
                    if let Some(facts) = orders.get_mut(order) {
                        facts.paid_ms.get_or_insert(now);
                    }
                }
                Event::OrderCanceled { order, .. } => {
                    if let Some(items) =
                        orders.get(order).and_then(|o| holds.get(&o.hold)).map(|h| h.items.clone())
                    {
                        catalogue.skip(&items, SKIP_NON_HOLD);
                    }
                }
                _ => {}
            }
        }
    }
    // A hold or an order that lapsed before the last decision on its quota
    // stopped counting: the counter model would be wrong from there on.
    for facts in catalogue.quotas.values_mut() {
        let until = facts.last_decision_ms;
        let hold_lapsed = |id: &HoldId| {
            holds.get(id).is_some_and(|hold| {
                hold.expires_at_ms <= until && hold.checked_out_ms.is_none_or(|at| at >= hold.expires_at_ms)
            })
        };
        let order_lapsed = orders.values().any(|order| {
            facts.holds.contains(&order.hold)
                && order.deadline_ms <= until
                && order.paid_ms.is_none_or(|at| at >= order.deadline_ms)
        });
        if facts.holds.iter().any(hold_lapsed) || order_lapsed {
            facts.skip.insert(SKIP_LAPSED);
        }
    }
    catalogue
}

/// The attempts of one request id, merged into one operation.
#[derive(Default)]
struct Attempts<'a> {
    lines: &'a [(u64, u32)],
    invoke_ns: Option<u64>,
    invocations: usize,
    completions: usize,
    ok_ns: Option<u64>,
    sold_out_ns: Option<u64>,
    /// Rejected for another reason (closed, invalid): certainly changed nothing.
    rejected_otherwise: bool,
    unknown: bool,
}

/// A hold of the history: its request, its lines and what it means for the model.
struct HoldOp<'a> {
    request: &'a str,
    lines: &'a [(u64, u32)],
    op: LinOp,
}

/// The hold operations of the history, one per request id (retries merged:
/// invoked at the first invocation, answered by the first definite completion).
fn hold_ops(history: &[Op]) -> (Vec<HoldOp<'_>>, usize) {
    let mut by_request: BTreeMap<&str, Attempts> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client(op)) {
        let Value::Hold { lines, .. } = &op.value else { continue };
        let entry = by_request.entry(op.request_id.as_str()).or_default();
        let first = |at: &mut Option<u64>| *at = Some(at.map_or(op.time_ns, |t: u64| t.min(op.time_ns)));
        match op.phase {
            Phase::Invoke => {
                entry.invocations += 1;
                entry.lines = lines;
                first(&mut entry.invoke_ns);
            }
            Phase::Ok => first(&mut entry.ok_ns),
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
            if entry.lines.is_empty() {
                entry.lines = lines;
            }
        }
    }
    let mut conflicting = 0;
    let mut ops = Vec::new();
    for (request, attempts) in by_request {
        let invoke_ns = attempts.invoke_ns.unwrap_or(0);
        let unknown =
            !attempts.rejected_otherwise && (attempts.unknown || attempts.invocations > attempts.completions);
        let (kind, return_ns) = match (attempts.ok_ns, attempts.sold_out_ns) {
            (Some(ok), Some(sold_out)) => {
                conflicting += 1;
                if ok <= sold_out { (Kind::Ok, Some(ok)) } else { (Kind::SoldOut, Some(sold_out)) }
            }
            (Some(ok), None) => (Kind::Ok, Some(ok)),
            (None, Some(sold_out)) => (Kind::SoldOut, Some(sold_out)),
            (None, None) if unknown => (Kind::Info, None),
            (None, None) => continue, // refused or rejected otherwise: it changed nothing
        };
        let quantity = attempts.lines.iter().map(|(_, q)| u64::from(*q)).sum();
        let return_ns = return_ns.map(|at| at.max(invoke_ns));
        ops.push(HoldOp {
            request,
            lines: attempts.lines,
            op: LinOp { invoke_ns, return_ns, quantity, kind },
        });
    }
    (ops, conflicting)
}

fn check_with(history: &[Op], final_state: &FinalState, states_max: u64) -> Verdict {
    let mut problems = Problems::default();
    let mut catalogue = catalogue(&final_state.records);
    let (holds, conflicting) = hold_ops(history);
    let known: BTreeSet<RequestId> = holds.iter().filter_map(|hold| parse_request_id(hold.request)).collect();

    // Partition the holds by quota.
    let mut partitions: BTreeMap<QuotaId, Vec<&HoldOp>> = BTreeMap::new();
    let (mut multi_line, mut unattributed) = (0usize, 0usize);
    for hold in &holds {
        let items: Vec<ItemId> = hold.lines.iter().map(|(item, _)| ItemId(*item)).collect();
        if items.len() > 1 {
            multi_line += 1;
            catalogue.skip(&items, SKIP_MULTI_LINE);
            continue;
        }
        let quotas = catalogue.quotas_of(&items);
        match hold.op.kind {
            Kind::Ok | Kind::Info => {
                for quota in quotas {
                    partitions.entry(quota).or_default().push(hold);
                }
            }
            Kind::SoldOut => {
                let named =
                    parse_request_id(hold.request).and_then(|id| catalogue.sold_out.get(&id).copied());
                match named.or_else(|| (quotas.len() == 1).then(|| quotas[0])) {
                    Some(quota) if quotas.contains(&quota) => partitions.entry(quota).or_default().push(hold),
                    _ => unattributed += 1,
                }
            }
        }
    }

    let mut stats = vec![stat("hold ops", holds.len())];
    let mut per_quota = Vec::new();
    let (mut checked, mut skipped, mut inconclusive, mut explored) = (0usize, 0usize, 0usize, 0u64);
    for (quota, ops) in &partitions {
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
        if ops.len() > HISTORY_OPS_MAX_PER_QUOTA {
            inconclusive += 1;
            per_quota.push(stat(
                &quota.to_string(),
                format!("inconclusive: {} ops, more than {HISTORY_OPS_MAX_PER_QUOTA}", ops.len()),
            ));
            continue;
        }
        checked += 1;
        let infos = ops.iter().filter(|hold| hold.op.kind == Kind::Info).count();
        let acknowledged: u64 = ops.iter().filter(|h| h.op.kind == Kind::Ok).map(|h| h.op.quantity).sum();
        if acknowledged > size {
            problems.push(format!(
                "{quota}: acknowledged holds total {acknowledged} tickets, more than its size {size}: \
                 no order can fit them all"
            ));
            per_quota.push(stat(&quota.to_string(), format!("not linearizable: {} ops", ops.len())));
            continue;
        }
        let lin_ops: Vec<LinOp> = ops.iter().map(|hold| hold.op.clone()).collect();
        let (found, states) = search(&lin_ops, size, states_max);
        explored += states;
        let summary = format!("{} ops ({infos} unknown), {states} states", ops.len());
        match found {
            Found::Yes => per_quota.push(stat(&quota.to_string(), format!("linearizable: {summary}"))),
            Found::Unknown => {
                inconclusive += 1;
                per_quota.push(stat(
                    &quota.to_string(),
                    format!("inconclusive: search budget exceeded ({summary})"),
                ));
            }
            Found::No(blocked) => {
                let definite = ops.len() - infos;
                let hold = ops[blocked.op];
                let (what, why) = match hold.op.kind {
                    Kind::Ok => ("acknowledged hold", "does not fit"),
                    Kind::SoldOut | Kind::Info => ("sold-out answer to a hold", "would have fit"),
                };
                problems.push(format!(
                    "{quota} (size {size}): not linearizable: after at most {} of the {definite} definite \
                     operations, with {} tickets reserved, the {what} of {} tickets by request {} (invoked at \
                     {}, completed at {}) {why}, and no order consistent with real time avoids that",
                    blocked.linearized,
                    blocked.reserved,
                    hold.op.quantity,
                    hold.request,
                    ms(hold.op.invoke_ns),
                    hold.op.return_ns.map_or("-".into(), ms),
                ));
                per_quota.push(stat(&quota.to_string(), format!("not linearizable: {summary}")));
            }
        }
    }
    stats.extend([
        stat("quotas checked", checked),
        stat("quotas skipped", skipped),
        stat("quotas inconclusive", inconclusive),
        stat("states explored", explored),
        stat("multi-line holds (their quotas skipped)", multi_line),
        stat("sold-out answers without a quota", unattributed),
        stat("request ids answered both ok and sold out", conflicting),
    ]);
    stats.extend(per_quota);
    problems.verdict(NAME, WHAT, stats)
}

/// A call or return of a definite operation, in time order.
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

/// The doubly linked list of the definite operations' calls and returns, in
/// time order, with sentinel `head`; at equal times calls come first (the
/// two operations overlap, either may go first).
struct Entries {
    entries: Vec<Entry>,
    next: Vec<usize>,
    prev: Vec<usize>,
    call: Vec<usize>,
    ret: Vec<usize>,
    head: usize,
}

impl Entries {
    fn new(ops: &[LinOp]) -> Entries {
        let mut entries: Vec<Entry> = Vec::new();
        for (op, lin) in ops.iter().enumerate() {
            if let Some(return_ns) = lin.return_ns.filter(|_| lin.kind != Kind::Info) {
                entries.push(Entry { op, call: true, time_ns: lin.invoke_ns });
                entries.push(Entry { op, call: false, time_ns: return_ns });
            }
        }
        entries.sort_by_key(|entry| (entry.time_ns, !entry.call, entry.op));
        let head = entries.len();
        let next = (0..=head).map(|k| (k + 1) % (head + 1)).collect();
        let prev = (0..=head).map(|k| (k + head) % (head + 1)).collect();
        let (mut call, mut ret) = (vec![usize::MAX; ops.len()], vec![usize::MAX; ops.len()]);
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
        self.unlink(self.ret[op]);
    }

    /// Put it back (the reverse of [`Entries::lift`]).
    fn unlift(&mut self, op: usize) {
        self.relink(self.ret[op]);
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
fn search(ops: &[LinOp], size: u64, states_max: u64) -> (Found, u64) {
    let keys: Vec<u128> = (0..ops.len() as u64)
        .map(|i| (u128::from(splitmix64(2 * i)) << 64) | u128::from(splitmix64(2 * i + 1)))
        .collect();
    let mut list = Entries::new(ops);
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
    use super::super::testkit::Sim;
    use super::*;
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
        let sold_twice = Value::Hold { lines: vec![(item.0, 1)], hold: Some(99) };
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
        let (ops, conflicting) = hold_ops(&sim.history);
        assert_eq!(conflicting, 0);
        assert_eq!(ops.len(), 1);
        assert_eq!(ops[0].request, call.request_id.to_string());
        assert_eq!(
            (ops[0].op.kind, ops[0].op.invoke_ns, ops[0].op.return_ns),
            (Kind::Ok, 0, Some(3_000_000))
        );
    }

    #[test]
    fn quotas_with_releases_multi_line_holds_or_resizes_are_skipped() {
        let mut sim = Sim::new();
        let (a, b, c, d) = (sim.item(), sim.item(), sim.item(), sim.item());
        let released = sim.quota(Some(2), &[a]);
        let multi = sim.quota(Some(3), &[b, d]);
        let resized = sim.quota(Some(2), &[c]);
        let hold = sim.hold_ok(1, a, 1);
        sim.release_ok(1, hold);
        let outcome = sim.run(2, Value::Hold { lines: vec![(b.0, 1), (d.0, 1)], hold: None });
        assert!(outcome.is_accepted(), "{outcome:?}");
        sim.hold_ok(2, b, 1);
        sim.hold_ok(3, c, 1);
        sim.resize(resized, Some(3));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert_eq!(quota_stat(&verdict, released), "skipped: non-hold ops");
        assert_eq!(quota_stat(&verdict, multi), "skipped: multi-line holds");
        assert_eq!(quota_stat(&verdict, resized), "skipped: resized");
        assert!(verdict.stats.contains(&stat("multi-line holds (their quotas skipped)", 1)));
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
            let (found, _) = search(&ops, size, SEARCH_STATES_MAX);
            let expected = brute_force(&ops, size);
            prop_assert_eq!(found == Found::Yes, expected, "{:?} size {}: {:?}", ops, size, found);
            prop_assert!(found != Found::Unknown);
        }
    }
}
