//! No oversell: the first invariant of the domain, checked on what the
//! cluster actually recorded.
//!
//! The final event log is replayed with [`State::evolve`], one record at a
//! time, from an empty state, exactly as a node rebuilds itself. After every
//! record, every quota with a size must have paid + live pending + live held
//! <= size. The one exception is the one the domain allows: a resize (or a
//! quota created over items already sold) may leave a quota above its size;
//! from then on its usage may only fall, never grow, until it fits again
//! (tracked with an `over` flag per quota, as `engine/tests/model.rs` does).
//!
//! A quota that breaks the rule is reported once, at the record that broke
//! it; it is then treated as over its size, so later records are reported
//! only if they sell even more.
//!
//! Replaying the log only sees what was recorded. A hold that a client was
//! told is live but whose `HoldPlaced` never made it into the log was never
//! counted against anything: that is an oversell the replay cannot see, so
//! every `ok` hold in the history must name a hold placed in the log, for
//! the same request and the same lines (a seated hold or a claimed offer:
//! for the same request).

use super::{FinalState, Problems, Verdict, is_client, parse_request_id, stat};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::{Event, HoldId, Line, QuotaId, Record, RequestId, State};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

const NAME: &str = "no_oversell";
const WHAT: &str = "After every record of the final log, every quota has paid + pending + held <= size \
                    (after a resize below usage, usage may only fall until it fits), and every \
                    acknowledged hold was placed in the log.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let mut stats = replay(&final_state.records, &mut problems);
    stats.extend(acknowledged_holds(history, &final_state.records, &mut problems));
    problems.verdict(NAME, WHAT, stats)
}

/// Paid + pending + held of a quota at `now_ms`.
fn usage(state: &State, quota: QuotaId, now_ms: u64) -> Option<(u64, Option<u64>, String)> {
    let view = state.quota(quota)?.availability(now_ms);
    let used = view.paid + view.pending + view.held;
    let breakdown = format!("paid {} + pending {} + held {} = {used}", view.paid, view.pending, view.held);
    Some((used, view.size, breakdown))
}

/// Replay the log, checking every quota after every record.
fn replay(records: &[Record], problems: &mut Problems) -> Vec<(String, String)> {
    let mut state = State::default();
    // Quotas above their size by a resize (or a check that already failed):
    // their usage may not grow until it fits again.
    let mut over: BTreeSet<QuotaId> = BTreeSet::new();
    let (mut replayed, mut violations, mut records_over_after_resize) = (0usize, 0usize, 0usize);
    for record in records {
        if record.seq != state.last_seq + 1 {
            problems.push(format!(
                "seq {} follows seq {}: the log has a gap or is out of order; replay stopped there",
                record.seq, state.last_seq
            ));
            break;
        }
        if record.time_ms < state.now_ms {
            problems.push(format!(
                "seq {}: log time goes back from {} to {} ms; replay stopped there",
                record.seq, state.now_ms, record.time_ms
            ));
            break;
        }
        // What counted just before the record, at the record's time (lapsed
        // holds and orders no longer count).
        let before: BTreeMap<QuotaId, u64> = state
            .quotas()
            .map(|quota| (quota.id, usage(&state, quota.id, record.time_ms).map_or(0, |u| u.0)))
            .collect();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| state.evolve(record))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            problems.push(format!(
                "seq {} (request {}): replaying the record broke an assertion of the state ({message}); \
                 replay stopped there",
                record.seq, record.request_id
            ));
            break;
        }
        replayed += 1;
        let reshaped: BTreeSet<QuotaId> = record
            .events
            .iter()
            .filter_map(|event| match event {
                Event::QuotaResized { quota, .. } | Event::QuotaCreated { quota, .. } => Some(*quota),
                _ => None,
            })
            .collect();
        let quota_ids: Vec<QuotaId> = state.quotas().map(|quota| quota.id).collect();
        for quota in quota_ids {
            let Some((used, Some(size), breakdown)) = usage(&state, quota, state.now_ms) else {
                over.remove(&quota);
                continue;
            };
            let used_before = before.get(&quota).copied();
            if used_before.is_some_and(|b| b <= size) {
                over.remove(&quota); // time (or a cancel) brought it back under
            }
            if reshaped.contains(&quota) && used > size {
                over.insert(quota);
            }
            if over.contains(&quota) {
                records_over_after_resize += 1;
                if let Some(b) = used_before.filter(|&b| used > b) {
                    violations += 1;
                    problems.push(format!(
                        "seq {} (request {}): {quota} was over its size {size} and grew from {b} to {breakdown}",
                        record.seq, record.request_id
                    ));
                }
                if used <= size {
                    over.remove(&quota);
                }
            } else if used > size {
                violations += 1;
                problems.push(format!(
                    "seq {} (request {}): {quota} oversold: {breakdown} > size {size}",
                    record.seq, record.request_id
                ));
                over.insert(quota); // reported; from now on only further growth is
            }
        }
    }
    vec![
        stat("records replayed", format!("{replayed} of {}", records.len())),
        stat("quotas", state.quotas().count()),
        stat("oversell violations", violations),
        stat("quota-records over size after a resize", records_over_after_resize),
    ]
}

/// Where the log placed each hold.
struct Placed<'a> {
    seq: u64,
    request_id: RequestId,
    lines: &'a [Line],
}

/// Every `ok` hold names a hold placed in the log, for the same request and lines.
fn acknowledged_holds(history: &[Op], records: &[Record], problems: &mut Problems) -> Vec<(String, String)> {
    let mut placed: BTreeMap<HoldId, Placed> = BTreeMap::new();
    let mut placed_by_request: BTreeMap<RequestId, HoldId> = BTreeMap::new();
    for record in records {
        for event in &record.events {
            if let Event::HoldPlaced { hold, lines, .. }
            | Event::HoldPlacedWith { hold, lines, .. }
            | Event::SeatedHoldPlaced { hold, lines, .. } = event
            {
                placed.insert(*hold, Placed { seq: record.seq, request_id: record.request_id, lines });
                placed_by_request.insert(record.request_id, *hold);
            }
        }
    }
    let (mut checked, mut without_id) = (0usize, 0usize);
    for op in history.iter().filter(|op| is_client(op) && op.phase == Phase::Ok) {
        // A seated hold's or a claim's lines come from its seats or its
        // entry, which the history does not name: only its placement is checked.
        let (lines, hold) = match &op.value {
            Value::Hold { lines, hold, .. } | Value::VoucherHold { lines, hold, .. } => (Some(lines), hold),
            Value::SeatedHold { hold, .. } | Value::ClaimOffer { hold, .. } => (None, hold),
            _ => continue,
        };
        checked += 1;
        let request = &op.request_id;
        let hold = match hold {
            Some(hold) => HoldId(*hold),
            None => {
                without_id += 1;
                let by_request = parse_request_id(request).and_then(|id| placed_by_request.get(&id));
                match by_request {
                    Some(hold) => *hold,
                    None => {
                        problems.push(format!(
                            "request {request}: a hold was acknowledged (ok) but the log placed no hold for \
                             it: its tickets were never counted against any quota"
                        ));
                        continue;
                    }
                }
            }
        };
        let Some(entry) = placed.get(&hold) else {
            problems.push(format!(
                "request {request}: {hold} was acknowledged (ok) but no HoldPlaced for it is in the log: \
                 its tickets were never counted against any quota"
            ));
            continue;
        };
        if parse_request_id(request) != Some(entry.request_id) {
            problems.push(format!(
                "request {request}: {hold} was acknowledged, but the log placed it (seq {}) for request {}",
                entry.seq, entry.request_id
            ));
        }
        let Some(lines) = lines else { continue };
        let mut asked: Vec<(u64, u32)> = lines.clone();
        let mut got: Vec<(u64, u32)> = entry.lines.iter().map(|line| (line.item.0, line.quantity)).collect();
        asked.sort_unstable();
        got.sort_unstable();
        if asked != got {
            problems.push(format!(
                "request {request}: {hold} was acknowledged for lines {asked:?}, but the log (seq {}) \
                 placed {got:?}",
                entry.seq
            ));
        }
    }
    vec![stat("acknowledged holds checked", checked), stat("acknowledged holds without an id", without_id)]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;
    use boxoffice_engine::domain::{Accepted, ItemId, Outcome};

    fn stat_of<'a>(verdict: &'a Verdict, name: &str) -> &'a str {
        &verdict.stats.iter().find(|(n, _)| n == name).expect("stat").1
    }

    /// A small sale through the domain: holds, a sellout, checkout, payment,
    /// release and a hold that fits again.
    fn sale() -> (Sim, ItemId, QuotaId) {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(4), &[item]);
        let first = sim.hold_ok(1, item, 2);
        let second = sim.hold_ok(2, item, 2);
        assert_eq!(sim.hold_done(3, item, 1).as_deref(), Some("rejected/sold_out"));
        let order = sim.checkout_ok(1, first);
        sim.pay_ok(1, order);
        sim.release_ok(2, second);
        sim.hold_ok(3, item, 1);
        (sim, item, quota)
    }

    #[test]
    fn a_log_decided_by_the_domain_never_oversells() {
        let (sim, _, _) = sale();
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert_eq!(stat_of(&verdict, "acknowledged holds checked"), "3");
        assert_eq!(stat_of(&verdict, "records replayed"), format!("{0} of {0}", sim.log.len()));
    }

    #[test]
    fn a_hold_placed_beyond_the_size_is_an_oversell() {
        let (mut sim, item, quota) = sale();
        let request = sim.unused_request();
        sim.plant_hold(request, item, 2); // 2 paid + 1 held + 2 > 4
        let planted_seq = sim.log.len();
        sim.hold_done(4, item, 1); // sold out: no further growth, no second report
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1, "{verdict}");
        let problem = &verdict.problems[0];
        assert!(
            problem.starts_with(&format!("seq {planted_seq} (request {request}): {quota} oversold")),
            "{problem}"
        );
        assert!(problem.contains("paid 2 + pending 0 + held 3 = 5 > size 4"), "{problem}");
    }

    #[test]
    fn a_resize_below_usage_is_allowed_while_usage_only_falls() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(5), &[item]);
        let first = sim.hold_ok(1, item, 3);
        sim.hold_ok(2, item, 2);
        sim.resize(quota, Some(2)); // 5 held, size 2: allowed
        assert_eq!(sim.hold_done(3, item, 1).as_deref(), Some("rejected/sold_out"));
        sim.release_ok(1, first); // back to 2: fits again
        let verdict = check(&sim.history, &sim.final_state(1));
        assert!(verdict.valid, "{verdict}");
        assert_ne!(stat_of(&verdict, "quota-records over size after a resize"), "0");
    }

    #[test]
    fn growth_of_a_quota_shrunk_below_its_usage_is_an_oversell() {
        let mut sim = Sim::new();
        let item = sim.item();
        let quota = sim.quota(Some(5), &[item]);
        sim.hold_ok(1, item, 3);
        sim.resize(quota, Some(2));
        let request = sim.unused_request();
        sim.plant_hold(request, item, 1);
        let verdict = check(&sim.history, &sim.final_state(1));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1, "{verdict}");
        assert!(
            verdict.problems[0]
                .contains(&format!("request {request}): {quota} was over its size 2 and grew from 3"))
        );
    }

    #[test]
    fn an_acknowledged_hold_missing_from_the_log_is_an_oversell() {
        let (mut sim, item, _) = sale();
        let call = sim.invoke(5, Sim::hold_value(item, 1));
        // The client is told the hold is live, but nothing was recorded.
        sim.complete_as(&call, Phase::Ok, Some("accepted/hold_live"), Sim::hold_answered(item, 1, 777));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1);
        assert!(verdict.problems[0].starts_with(&format!("request {}: hold-777", call.request_id)));
    }

    #[test]
    fn an_acknowledged_hold_must_match_what_the_log_placed() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&call);
        let Outcome::Accepted(Accepted::HoldLive { hold, .. }) = outcome else { panic!("{outcome:?}") };
        // Told 3 tickets, the log reserved 1.
        let lied = Sim::hold_answered(item, 3, hold.0);
        sim.complete_as(&call, Phase::Ok, Some("accepted/hold_live"), lied);
        let verdict = check(&sim.history, &sim.final_state(1));
        assert!(!verdict.valid);
        assert!(verdict.problems[0].contains("acknowledged for lines"), "{verdict}");
    }

    #[test]
    fn a_gap_in_the_log_stops_the_replay_with_a_problem() {
        let (sim, _, _) = sale();
        let mut final_state = sim.final_state(1);
        final_state.records.remove(3);
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert!(verdict.problems[0].starts_with("seq 5 follows seq 3"), "{verdict}");
    }
}
