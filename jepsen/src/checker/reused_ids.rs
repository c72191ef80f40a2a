//! Reused request ids: one request id, one outcome.
//!
//! A request id is an idempotency key: whatever is sent under it, the first
//! decided outcome stands. Honest clients reuse an id only to retry the same
//! command, and must get that outcome again. Hostile (or buggy) clients reuse
//! an id for a *different* command, e.g. the id of an earlier `Pay` for a
//! `PlaceHold`: the engine must refuse that with `rejected/conflict` (or as
//! invalid input) and do nothing, because answering with the stored outcome
//! (`accepted/order_paid` for a hold) tells the client something that never
//! happened, and applying it would let one key buy twice.
//!
//! So, per request id, in history order, with the command of its first
//! invocation as *the* command:
//! - every decided completion (`ok`, or `fail` with a domain outcome) of the
//!   same command carries the outcome of the first one;
//! - every decided completion of a different command is `rejected/conflict`
//!   or invalid (`rejected/invalid`, or refused as an invalid request).
//!
//! The second rule applies once the first command was decided before the
//! different one was invoked; before that the two race, and either may
//! legitimately be the one the key stands for (counted, not judged).
//! Unknown answers (`info`) and refusals before proposing decide nothing.
//!
//! The other checkers judge the history without the different commands
//! (see [`super::model_history`]): this one alone says what they should have
//! got.

use super::{FinalState, Problems, Verdict, describe, is_client, is_domain_label, ms, stat};
use crate::history::{Op, Phase, Value};
use std::collections::BTreeMap;

const NAME: &str = "reused_ids";
const WHAT: &str = "Every completion under one request id carries the first decided outcome; a different \
                    command under a used id is answered rejected/conflict (or invalid), never anything else.";

/// The outcome label a conflicting command must get.
pub const CONFLICT_LABEL: &str = "rejected/conflict";

/// True if a completion's outcome says the command was invalid (a domain
/// rejection, or a refusal at the door with an invalid-argument error).
pub(crate) fn is_invalid(outcome: &str) -> bool {
    outcome.starts_with("rejected/invalid") || outcome.starts_with("invalid request")
}

/// What one request id has seen so far.
struct Key<'a> {
    /// The first invocation's command inputs and what it was.
    command: Value,
    what: String,
    /// The first decided outcome of that command: (label, history index, time).
    decided: Option<(&'a str, u64, u64)>,
}

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], _final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let mut keys: BTreeMap<&str, Key> = BTreeMap::new();
    // The open invocation of each (process, request id): is it the key's command, and when was it invoked.
    let mut open: BTreeMap<(u64, &str), (bool, u64)> = BTreeMap::new();
    let (mut reused, mut conflicts, mut invalid, mut undecided, mut racing, mut retries) = (0, 0, 0, 0, 0, 0);
    for op in history.iter().filter(|op| is_client(op) && !matches!(op.value, Value::Batch { .. })) {
        let request = op.request_id.as_str();
        if op.phase == Phase::Invoke {
            let inputs = op.value.inputs();
            let key = keys.entry(request).or_insert_with(|| Key {
                what: describe(&inputs),
                command: inputs.clone(),
                decided: None,
            });
            let same = key.command == inputs;
            if !same {
                reused += 1;
            }
            open.insert((op.process, request), (same, op.time_ns));
            continue;
        }
        let Some((same, invoked_ns)) = open.remove(&(op.process, request)) else { continue };
        let Some(key) = keys.get_mut(request) else { continue };
        let outcome = op.outcome.as_deref().unwrap_or("");
        let decided = match op.phase {
            Phase::Ok => true,
            Phase::Fail => is_domain_label(outcome),
            Phase::Invoke | Phase::Info => false,
        };
        if same {
            if !decided {
                continue;
            }
            match key.decided {
                None => key.decided = Some((outcome, op.index, op.time_ns)),
                Some((first, index, _)) => {
                    retries += 1;
                    if first != outcome {
                        problems.push(format!(
                            "request {request} ({}): a retry was answered {outcome} at {} (history entry {}), \
                             but the first answer was {first} (history entry {index})",
                            key.what,
                            ms(op.time_ns),
                            op.index
                        ));
                    }
                }
            }
            continue;
        }
        let what = describe(&op.value.inputs());
        if outcome == CONFLICT_LABEL {
            conflicts += 1;
        } else if is_invalid(outcome) {
            invalid += 1;
        } else if !decided {
            undecided += 1;
        } else {
            match key.decided {
                Some((first, index, at)) if at < invoked_ns => problems.push(format!(
                    "request {request} was first used for {} (answered {first}, history entry {index}) and \
                     reused for {what}, which was answered {outcome} at {} (history entry {}), not \
                     {CONFLICT_LABEL}",
                    key.what,
                    ms(op.time_ns),
                    op.index
                )),
                _ => racing += 1,
            }
        }
    }
    let stats = vec![
        stat("request ids", keys.len()),
        stat("retries of the same command decided", retries),
        stat("different commands under a used id", reused),
        stat("answered rejected/conflict", conflicts),
        stat("answered invalid", invalid),
        stat("not decided (unknown or refused)", undecided),
        stat("racing an undecided first command (not judged)", racing),
    ];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;
    use boxoffice_engine::domain::{Accepted, Outcome};

    /// A paid order and a live hold; the request ids of the payment and the hold.
    fn sale() -> (Sim, boxoffice_engine::domain::ItemId, u128, u128) {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let hold = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&hold);
        sim.complete(&hold, &outcome);
        let Outcome::Accepted(Accepted::HoldLive { hold: id, .. }) = outcome else { panic!() };
        let order = sim.checkout_ok(1, id.0);
        let pay = sim.invoke(1, Value::Pay { order, refund_owed: None });
        let outcome = sim.apply(&pay);
        sim.complete(&pay, &outcome);
        (sim, item, pay.request_id.0, hold.request_id.0)
    }

    #[test]
    fn a_different_command_under_a_used_id_answered_conflict_passes() {
        let (mut sim, item, pay, hold) = sale();
        let reuse = sim.invoke_as(7, boxoffice_engine::domain::RequestId(pay), Sim::hold_value(item, 1));
        sim.complete_as(&reuse, Phase::Fail, Some(CONFLICT_LABEL), reuse.value.clone());
        let other = sim.invoke_as(7, boxoffice_engine::domain::RequestId(hold), Sim::hold_value(item, 2));
        sim.complete_as(&other, Phase::Fail, Some("invalid request: nope"), other.value.clone());
        let lost = sim.invoke_as(7, boxoffice_engine::domain::RequestId(hold), Sim::hold_value(item, 3));
        sim.complete_as(&lost, Phase::Info, Some("unknown: timeout"), lost.value.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("different commands under a used id", 3)));
        assert!(verdict.stats.contains(&stat("answered rejected/conflict", 1)));
        assert!(verdict.stats.contains(&stat("answered invalid", 1)));
        assert!(verdict.stats.contains(&stat("not decided (unknown or refused)", 1)));
    }

    #[test]
    fn a_pay_id_reused_for_a_hold_and_answered_with_the_payment_is_a_violation() {
        let (mut sim, item, pay, _) = sale();
        let reuse = sim.invoke_as(7, boxoffice_engine::domain::RequestId(pay), Sim::hold_value(item, 1));
        // The engine answers from its request table, as if the hold were the payment.
        sim.complete_as(&reuse, Phase::Ok, Some("accepted/order_paid"), reuse.value.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1, "{verdict}");
        let problem = &verdict.problems[0];
        assert!(problem.contains("first used for payment of order-"), "{problem}");
        assert!(problem.contains("reused for hold [("), "{problem}");
        assert!(problem.contains("answered accepted/order_paid"), "{problem}");
    }

    #[test]
    fn a_hold_id_reused_for_another_hold_and_accepted_is_a_violation() {
        let (mut sim, item, _, hold) = sale();
        let reuse = sim.invoke_as(7, boxoffice_engine::domain::RequestId(hold), Sim::hold_value(item, 2));
        sim.complete_as(&reuse, Phase::Ok, Some("accepted/hold_live"), Sim::hold_answered(item, 2, 99));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("answered accepted/hold_live"), "{verdict}");
    }

    #[test]
    fn a_retry_answered_differently_or_with_conflict_is_a_violation() {
        let (mut sim, item, _, hold) = sale();
        let retry = sim.invoke_as(1, boxoffice_engine::domain::RequestId(hold), Sim::hold_value(item, 1));
        sim.complete_as(&retry, Phase::Fail, Some(CONFLICT_LABEL), retry.value.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("a retry was answered rejected/conflict"), "{verdict}");
        assert!(verdict.problems[0].contains("but the first answer was accepted/hold_live"), "{verdict}");
    }

    #[test]
    fn a_different_command_racing_an_undecided_first_one_is_not_judged() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let first = sim.invoke(1, Sim::hold_value(item, 1));
        let other = sim.invoke_as(2, first.request_id, Value::Release { hold: 3 });
        sim.complete_as(&other, Phase::Ok, Some("accepted/hold_released"), other.value.clone());
        sim.complete_as(&first, Phase::Info, Some("unknown: timeout"), first.value.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("racing an undecided first command (not judged)", 1)));
    }
}
