//! Waiting-list order kept: freed tickets go to the line, first in line
//! first, and newcomers do not take them.
//!
//! The checker replays the final event log with a replay of its own (never
//! the engine's `decide`, where a bug would live) and keeps, per item, the
//! entries that wait without an offer, in serving order: priority, highest
//! first, then log order. It checks two rules.
//!
//! 1. **Offers in order (strict).** Every `OfferMade` goes to the first
//!    entry in line for its item among those still waiting without an
//!    offer. (The engine's serve step takes each item's line in order and
//!    stops at the first entry that does not fit, so no entry is ever
//!    passed over within its item.)
//! 2. **No newcomer takes the line's ticket (an approximation, without
//!    false positives).** Judging exactly whether a unit "could have served"
//!    an entry needs the full capacity arithmetic (blocks, lapses, quotas
//!    shared by several items), which would be the engine's rule again. The
//!    checker judges a consequence instead: a record that places a
//!    newcomer's hold of an item (a plain, voucher or seated hold; not a
//!    claimed offer, and not a hold that redeems a blocking voucher, whose
//!    room is its own) must end with no entry of that item waiting without
//!    an offer. On a correct engine this always holds: the newcomer fits
//!    only after the offers owed to the line, and the serve step in the
//!    same record makes exactly those offers; an entry that was not owed
//!    one did not fit, and then neither did the newcomer. A record that
//!    made [`WAITING_LIST_OFFERS_PER_RECORD_MAX`] offers is not judged (the
//!    serve step may have stopped at its bound with offers still owed).
//!    What this does not see: a newcomer that took a unit while the entry's
//!    offer was made anyway because more capacity had come back.
//!
//! From the history, in real time: no entry whose join was acknowledged
//! before another entry of the same item and priority was even asked for
//! ends the run waiting, never offered, while the later one was offered.

use super::{FinalState, Problems, Verdict, is_client, ms, parse_request_id, stat};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::limits::WAITING_LIST_OFFERS_PER_RECORD_MAX;
use boxoffice_engine::domain::{EntryId, Event, ItemId, Line, Record, RequestId, VoucherId};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "waiting_list_order";
const WHAT: &str = "By a replay of the final log of its own: every offer goes to the first entry in line for its \
                    item (priority, then log order), and no newcomer's hold leaves an entry of its item \
                    waiting without an offer; in the history, no entry acknowledged before a later one of the \
                    same item and priority is left waiting, never offered, while the later one was offered.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let (mut stats, entries) = replay(&final_state.records, &mut problems);
    stats.extend(real_time(history, &entries, &mut problems));
    problems.verdict(NAME, WHAT, stats)
}

/// What the log says about one entry.
#[derive(Clone, Debug)]
struct Entry {
    item: ItemId,
    priority: u32,
    /// Its place in log order among all joins.
    joined: u64,
    request: RequestId,
    /// It got an offer at some point.
    offered: bool,
    /// It waits without an offer (after the last record).
    waiting: bool,
}

/// Serving order within an item: priority, highest first, then log order.
type Key = (std::cmp::Reverse<u32>, u64);

#[derive(Default)]
struct Lines {
    entries: BTreeMap<EntryId, Entry>,
    /// Per item, the entries waiting without an offer, in serving order.
    waiting: BTreeMap<ItemId, BTreeMap<Key, EntryId>>,
}

impl Lines {
    fn key(entry: &Entry) -> Key {
        (std::cmp::Reverse(entry.priority), entry.joined)
    }

    /// Take `entry` out of its line (offered or left); false if it was not in it.
    fn leave(&mut self, id: EntryId) -> bool {
        let Some(entry) = self.entries.get_mut(&id) else { return false };
        let was = entry.waiting;
        entry.waiting = false;
        let key = Lines::key(entry);
        if let Some(line) = self.waiting.get_mut(&entry.item) {
            line.remove(&key);
        }
        was
    }

    fn first(&self, item: ItemId) -> Option<(EntryId, &Entry)> {
        let (_, id) = self.waiting.get(&item)?.first_key_value()?;
        Some((*id, &self.entries[id]))
    }
}

/// The newcomer holds of a record: their hold events' lines (claims and
/// blocking vouchers' redemptions left out).
fn newcomer_lines<'a>(record: &'a Record, blocking: &BTreeSet<VoucherId>) -> Vec<&'a [Line]> {
    if record.events.iter().any(|event| matches!(event, Event::OfferClaimed { .. })) {
        return Vec::new();
    }
    record
        .events
        .iter()
        .filter_map(|event| match event {
            Event::HoldPlaced { lines, .. } => Some(&lines[..]),
            Event::HoldPlacedWith { lines, voucher, .. } | Event::SeatedHoldPlaced { lines, voucher, .. } => {
                voucher.is_none_or(|voucher| !blocking.contains(&voucher)).then_some(&lines[..])
            }
            _ => None,
        })
        .collect()
}

fn replay(records: &[Record], problems: &mut Problems) -> (Vec<(String, String)>, BTreeMap<EntryId, Entry>) {
    let mut lines = Lines::default();
    let mut blocking: BTreeSet<VoucherId> = BTreeSet::new();
    let (mut joins, mut offers, mut out_of_order, mut passed_over) = (0u64, 0usize, 0usize, 0usize);
    let (mut newcomers_judged, mut newcomers_past_line, mut newcomers_facing_line) = (0usize, 0usize, 0usize);
    let mut records_not_judged = 0usize;
    for record in records {
        let mut offers_here = 0usize;
        // Newcomers that came while their item's line waited without an offer.
        let contended = newcomer_lines(record, &blocking)
            .iter()
            .flat_map(|held| held.iter())
            .any(|line| lines.first(line.item).is_some());
        newcomers_facing_line += usize::from(contended);
        for event in &record.events {
            match event {
                Event::VoucherCreated { voucher, blocks_quota: true, .. } => {
                    blocking.insert(*voucher);
                }
                Event::WaitingListJoined { entry, item, priority, .. } => {
                    let joined = joins;
                    joins += 1;
                    let new = Entry {
                        item: *item,
                        priority: *priority,
                        joined,
                        request: record.request_id,
                        offered: false,
                        waiting: true,
                    };
                    lines.waiting.entry(*item).or_default().insert(Lines::key(&new), *entry);
                    lines.entries.insert(*entry, new);
                }
                Event::OfferMade { entry, .. } => {
                    offers += 1;
                    offers_here += 1;
                    let Some(offered) = lines.entries.get(entry).cloned() else {
                        problems.push(format!(
                            "seq {}: an offer to {entry}, which never joined a waiting list",
                            record.seq
                        ));
                        continue;
                    };
                    let first = lines.first(offered.item).map(|(id, first)| (id, first.clone()));
                    match first {
                        Some((first, _)) if first == *entry => {}
                        Some((first, ahead)) => {
                            out_of_order += 1;
                            let behind = lines.waiting[&offered.item].range(..Lines::key(&offered)).count();
                            passed_over += behind;
                            problems.push(format!(
                                "seq {} (request {}): {entry} (priority {}) was offered {} while {first} \
                                 (priority {}) waited first in line; waiting entries ahead of it: {behind}",
                                record.seq, record.request_id, offered.priority, offered.item, ahead.priority
                            ));
                        }
                        None => problems.push(format!(
                            "seq {}: {entry} was offered {} but was not waiting without an offer",
                            record.seq, offered.item
                        )),
                    }
                    lines.leave(*entry);
                    if let Some(entry) = lines.entries.get_mut(entry) {
                        entry.offered = true;
                    }
                }
                Event::WaitingListLeft { entry } => {
                    lines.leave(*entry);
                }
                _ => {}
            }
        }
        let newcomers = newcomer_lines(record, &blocking);
        if newcomers.is_empty() {
            continue;
        }
        if offers_here >= WAITING_LIST_OFFERS_PER_RECORD_MAX {
            records_not_judged += 1;
            continue;
        }
        newcomers_judged += 1;
        let items: BTreeSet<ItemId> =
            newcomers.iter().flat_map(|lines| lines.iter().map(|line| line.item)).collect();
        for item in items {
            if let Some((first, entry)) = lines.first(item) {
                newcomers_past_line += 1;
                problems.push(format!(
                    "seq {} (request {}): a newcomer's hold took {item} while {first} (priority {}) still \
                     waited for it without an offer after the record",
                    record.seq, record.request_id, entry.priority
                ));
            }
        }
    }
    let still_waiting = lines.entries.values().filter(|entry| entry.waiting).count();
    let stats = vec![
        stat("entries joined", joins),
        stat("offers judged", offers),
        stat("offers out of order", out_of_order),
        stat("entries passed over by them", passed_over),
        stat("newcomer holds judged", newcomers_judged),
        stat("newcomer holds that came while their item's line waited", newcomers_facing_line),
        stat("newcomer holds past the line", newcomers_past_line),
        stat("records at the serve bound (not judged)", records_not_judged),
        stat("entries still waiting at the end", still_waiting),
    ];
    (stats, lines.entries)
}

/// In real time: an entry acknowledged before a later one of the same item
/// and priority was asked for is not left waiting, never offered, while the
/// later one was offered.
fn real_time(
    history: &[Op],
    entries: &BTreeMap<EntryId, Entry>,
    problems: &mut Problems,
) -> Vec<(String, String)> {
    let by_request: BTreeMap<RequestId, EntryId> =
        entries.iter().map(|(id, entry)| (entry.request, *id)).collect();
    // Per request: the first invocation, the first ok, the entry.
    let mut invoked: BTreeMap<&str, u64> = BTreeMap::new();
    let mut acked: BTreeMap<&str, (u64, EntryId)> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client(op)) {
        let Value::JoinWaitingList { entry, .. } = &op.value else { continue };
        let request = op.request_id.as_str();
        match op.phase {
            Phase::Invoke => {
                let at = invoked.entry(request).or_insert(op.time_ns);
                *at = (*at).min(op.time_ns);
            }
            Phase::Ok => {
                let id = entry
                    .map(EntryId)
                    .or_else(|| parse_request_id(request).and_then(|id| by_request.get(&id).copied()));
                if let Some(id) = id {
                    let first = acked.entry(request).or_insert((op.time_ns, id));
                    first.0 = first.0.min(op.time_ns);
                }
            }
            Phase::Fail | Phase::Info => {}
        }
    }
    // Per (item, priority): the latest invocation of an entry that was offered.
    let mut latest_offered: BTreeMap<(ItemId, u32), (u64, EntryId)> = BTreeMap::new();
    let mut compared = 0usize;
    for (request, (_, id)) in &acked {
        let Some(entry) = entries.get(id) else { continue };
        let Some(call_ns) = invoked.get(request) else { continue };
        compared += 1;
        if entry.offered {
            let latest = latest_offered.entry((entry.item, entry.priority)).or_insert((*call_ns, *id));
            if *call_ns > latest.0 {
                *latest = (*call_ns, *id);
            }
        }
    }
    let mut left_behind = 0usize;
    for (ok_ns, id) in acked.values() {
        let Some(entry) = entries.get(id).filter(|entry| entry.waiting && !entry.offered) else { continue };
        if let Some((later_ns, later)) =
            latest_offered.get(&(entry.item, entry.priority)).filter(|(at, _)| at > ok_ns)
        {
            left_behind += 1;
            problems.push(format!(
                "{id} (item {}, priority {}) was acknowledged at {} and is still waiting, never offered, while \
                 {later}, asked for later (at {}), was offered",
                entry.item,
                entry.priority,
                ms(*ok_ns),
                ms(*later_ns)
            ));
        }
    }
    vec![stat("acknowledged joins compared in real time", compared), stat("entries left behind", left_behind)]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;
    use boxoffice_engine::domain::{Accepted, HoldId, Outcome};

    const OFFER_TTL_MS: u64 = 5_000;

    /// An item of `size` tickets, sold out to process 9; the hold's id.
    fn sold_out(size: u32) -> (Sim, ItemId, u64) {
        let mut sim = Sim::new();
        sim.configure_waiting_list(OFFER_TTL_MS);
        let item = sim.item();
        sim.quota(Some(u64::from(size)), &[item]);
        let hold = sim.hold_ok(9, item, size);
        (sim, item, hold)
    }

    #[test]
    fn offers_in_line_order_with_priorities_lapses_and_leaves_pass() {
        let (mut sim, item, hold) = sold_out(3);
        let first = sim.join_ok(1, item, 0);
        let second = sim.join_ok(2, item, 0);
        let urgent = sim.join_ok(3, item, 5);
        let fourth = sim.join_ok(4, item, 0);
        sim.release_ok(9, hold); // three units: urgent, first, second
        let claimed = sim.claim_done(3, urgent, 60_000);
        assert!(claimed.is_accepted(), "{claimed:?}");
        let outcome = sim.run(2, Value::LeaveWaitingList { entry: second }); // passes its unit to the fourth
        assert!(outcome.is_accepted(), "{outcome:?}");
        sim.wait(OFFER_TTL_MS + 1); // the first's and the fourth's offers lapse
        sim.hold_ok(5, item, 2); // a newcomer, with nobody waiting
        let late = sim.claim_done(1, first, 60_000);
        assert_eq!(late.label(), "rejected/waiting_list_offer_lapsed");
        let _ = fourth;
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("offers judged", 4)), "{verdict}");
        assert!(verdict.stats.contains(&stat("newcomer holds judged", 2)), "{verdict}");
        assert!(verdict.stats.contains(&stat("acknowledged joins compared in real time", 4)), "{verdict}");
    }

    #[test]
    fn a_newcomer_after_a_lapse_fits_behind_the_line_and_passes() {
        let mut sim = Sim::new();
        sim.configure_waiting_list(OFFER_TTL_MS);
        let item = sim.item();
        sim.quota(Some(2), &[item]);
        let Outcome::Accepted(Accepted::HoldLive { .. }) = sim.run(9, Value::hold(vec![(item.0, 2)], 1_000))
        else {
            panic!("hold")
        };
        sim.join_ok(1, item, 0);
        sim.wait(2_000); // the hold lapsed: two units free, one owed to the line
        sim.hold_ok(2, item, 1); // fits behind the owed offer, which is made in the same record
        assert_eq!(sim.hold_done(3, item, 1).as_deref(), Some("rejected/sold_out"));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("offers judged", 1)), "{verdict}");
    }

    #[test]
    fn a_doctored_offer_to_the_last_in_line_fails() {
        let (mut sim, item, _) = sold_out(1);
        let first = sim.join_ok(1, item, 0);
        let last = sim.join_ok(2, item, 0);
        let request = sim.unused_request();
        let expires_at_ms = sim.time_ms + 1 + OFFER_TTL_MS;
        // A cancel-like record that frees nothing, then offers to the last.
        sim.plant(
            request,
            vec![Event::OfferMade { entry: EntryId(last), expires_at_ms }],
            Outcome::Accepted(Accepted::WaitingListLeft { entry: EntryId(last) }),
        );
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains(&format!("while entry-{first}")), "{verdict}");
        assert!(verdict.stats.contains(&stat("offers out of order", 1)), "{verdict}");
        // And the history sees the first left behind.
        assert!(verdict.stats.contains(&stat("entries left behind", 1)), "{verdict}");
    }

    #[test]
    fn a_doctored_newcomer_that_takes_the_lines_ticket_fails() {
        let (mut sim, item, hold) = sold_out(1);
        let entry = sim.join_ok(1, item, 0);
        // The planted record: the hold is released, and a newcomer takes
        // the unit in the same record, with the line left waiting.
        let request = sim.unused_request();
        let expires_at_ms = sim.time_ms + 1 + 60_000;
        let newcomer = HoldId(2_000_000 + sim.state.last_seq);
        sim.plant(
            request,
            vec![
                Event::HoldReleased { hold: HoldId(hold) },
                Event::HoldPlaced {
                    hold: newcomer,
                    event: sim.event_id(),
                    lines: vec![Line { item, quantity: 1 }],
                    expires_at_ms,
                },
            ],
            Outcome::Accepted(Accepted::HoldLive { hold: newcomer, expires_at_ms }),
        );
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains(&format!("while entry-{entry}")), "{verdict}");
        assert!(verdict.stats.contains(&stat("newcomer holds past the line", 1)), "{verdict}");
    }

    #[test]
    fn a_blocking_vouchers_redemption_is_no_newcomer() {
        let mut sim = Sim::new();
        sim.configure_waiting_list(OFFER_TTL_MS);
        let item = sim.item();
        sim.quota(Some(3), &[item]);
        let code = sim.blocking_voucher(item, 1);
        sim.hold_ok(9, item, 2);
        sim.join_ok(1, item, 0);
        let value = Value::VoucherHold {
            lines: vec![(item.0, 1)],
            voucher: code,
            ttl_ms: 60_000,
            hold: None,
            expires_at_ms: None,
        };
        let outcome = sim.run(2, value);
        assert!(outcome.is_accepted(), "{outcome:?}");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("newcomer holds judged", 1)), "{verdict}");
    }
}
