//! Lost writes: everything the cluster told a client was decided must be in
//! the final log, as decided.
//!
//! An `ok` completion means the command took effect on a majority; if its
//! request id is missing from the final log, or the log holds a different
//! outcome for it, an acknowledged write was lost or rewritten (a leader
//! change that dropped committed entries, a snapshot that skipped records).
//! The same holds for a `fail` that carries a domain rejection
//! (`rejected/sold_out`): the rejection is a decided command and is recorded,
//! so a retry gets the same answer.
//!
//! The converse is checked too: a `fail` without a domain outcome means the
//! command was refused before anything was proposed (not the leader, busy,
//! invalid), so it must *not* be in the log, unless another attempt with the
//! same request id may have proposed it. `info` completions are unknown and
//! may be either way; [`exactly_once`](super::exactly_once) counts which.

use super::{
    FinalState, Problems, Verdict, describe, is_client, is_client_completion, ms, parse_request_id,
    records_by_request, stat,
};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::{Accepted, Outcome, RequestId};
use std::collections::BTreeMap;

const NAME: &str = "lost_writes";
const WHAT: &str = "Every ok completion and every recorded rejection is in the final log with the same outcome, \
                    and no command refused before proposing is.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let index = records_by_request(&final_state.records);
    let attempts = attempts(history);
    let (mut ok, mut rejected, mut refused, mut info) = (0usize, 0usize, 0usize, 0usize);
    for op in history.iter().filter(|op| is_client_completion(op)) {
        let request = &op.request_id;
        let Some(id) = parse_request_id(request) else {
            problems.push(format!("history entry {}: request id {request:?} is not 32 hex digits", op.index));
            continue;
        };
        let logged = index.get(&id).and_then(|records| records.first().copied());
        let what = describe(&op.value);
        let at = ms(op.time_ns);
        match op.phase {
            Phase::Ok => {
                ok += 1;
                let Some(record) = logged else {
                    problems.push(format!(
                        "request {request}: {what} was acknowledged (ok) at {at} but is not in the final log: \
                         a lost write"
                    ));
                    continue;
                };
                let label = record.outcome.label();
                if let Some(told) = op.outcome.as_deref().filter(|told| *told != label) {
                    problems.push(format!(
                        "request {request}: {what} was acknowledged as {told} at {at}, but the log (seq {}) \
                         recorded {label}",
                        record.seq
                    ));
                } else if let Some(mismatch) = ids_disagree(&op.value, &record.outcome) {
                    problems.push(format!("request {request}: {mismatch} (seq {})", record.seq));
                }
            }
            Phase::Fail => match op.outcome.as_deref() {
                Some(told) if told.starts_with("rejected/") => {
                    rejected += 1;
                    match logged {
                        None => problems.push(format!(
                            "request {request}: {what} was rejected ({told}) at {at}, but the rejection is not \
                             in the final log: a decided command was lost"
                        )),
                        Some(record) if record.outcome.label() != told => problems.push(format!(
                            "request {request}: {what} was rejected ({told}) at {at}, but the log (seq {}) \
                             recorded {}",
                            record.seq,
                            record.outcome.label()
                        )),
                        Some(_) => {}
                    }
                }
                Some(told) if told.starts_with("accepted/") => problems.push(format!(
                    "request {request}: {what} completed as fail at {at} with the accepted outcome {told}"
                )),
                error => {
                    refused += 1;
                    let only_refused = attempts.get(&id).is_some_and(Attempts::only_refused);
                    if let Some(record) = logged.filter(|_| only_refused) {
                        problems.push(format!(
                            "request {request}: {what} was refused before proposing ({}) at {at}, but the log \
                             applied it at seq {}",
                            error.unwrap_or("no outcome"),
                            record.seq
                        ));
                    }
                }
            },
            Phase::Info => info += 1,
            Phase::Invoke => unreachable!("completions only"),
        }
    }
    let stats = vec![
        stat("records in the log", final_state.records.len()),
        stat("ok checked", ok),
        stat("rejections checked", rejected),
        stat("refusals checked", refused),
        stat("info (not checked)", info),
    ];
    problems.verdict(NAME, WHAT, stats)
}

/// The attempts made with one request id.
#[derive(Default)]
struct Attempts {
    invocations: usize,
    completions: usize,
    refusals: usize,
}

impl Attempts {
    /// Every attempt completed, and every one was refused before proposing:
    /// nothing with this request id can have reached the log.
    fn only_refused(&self) -> bool {
        self.invocations <= self.completions && self.completions == self.refusals
    }
}

fn attempts(history: &[Op]) -> BTreeMap<RequestId, Attempts> {
    let mut attempts: BTreeMap<RequestId, Attempts> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client(op)) {
        let Some(id) = parse_request_id(&op.request_id) else { continue };
        let entry = attempts.entry(id).or_default();
        match op.phase {
            Phase::Invoke => entry.invocations += 1,
            Phase::Fail if !op.outcome.as_deref().is_some_and(super::is_domain_label) => {
                entry.completions += 1;
                entry.refusals += 1;
            }
            Phase::Ok | Phase::Fail | Phase::Info => entry.completions += 1,
        }
    }
    attempts
}

/// A difference between the ids a client was told and the logged outcome.
fn ids_disagree(value: &Value, outcome: &Outcome) -> Option<String> {
    match (value, outcome) {
        (
            Value::Hold { hold: Some(told), .. }
            | Value::VoucherHold { hold: Some(told), .. }
            | Value::ClaimOffer { hold: Some(told), .. },
            Outcome::Accepted(Accepted::HoldLive { hold, .. }),
        )
        | (
            Value::SeatedHold { hold: Some(told), .. },
            Outcome::Accepted(Accepted::SeatedHoldLive { hold, .. }),
        ) if hold.0 != *told => Some(format!("acknowledged hold-{told}, but the log placed {hold}")),
        (
            Value::Checkout { order: Some(told), .. },
            Outcome::Accepted(Accepted::OrderPlaced { order, .. }),
        ) if order.0 != *told => Some(format!("acknowledged order-{told}, but the log placed {order}")),
        (
            Value::JoinWaitingList { entry: Some(told), .. },
            Outcome::Accepted(Accepted::WaitingListJoined { entry, .. }),
        ) if entry.0 != *told => Some(format!("acknowledged entry-{told}, but the log joined {entry}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    fn sale() -> (Sim, boxoffice_engine::domain::ItemId) {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(3), &[item]);
        let hold = sim.hold_ok(1, item, 2);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        assert_eq!(sim.hold_done(2, item, 2).as_deref(), Some("rejected/sold_out"));
        (sim, item)
    }

    #[test]
    fn every_decided_op_in_the_log_passes() {
        let (sim, _) = sale();
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("ok checked", 3)));
        assert!(verdict.stats.contains(&stat("rejections checked", 1)));
    }

    #[test]
    fn an_ok_op_missing_from_the_log_is_a_lost_write() {
        let (sim, _) = sale();
        let pay = sim.history.iter().rfind(|op| matches!(op.value, Value::Pay { .. })).expect("pay");
        let mut final_state = sim.final_state(3);
        final_state.records.retain(|record| record.request_id.to_string() != pay.request_id);
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 1, "{verdict}");
        assert!(verdict.problems[0].starts_with(&format!("request {}: payment of order-", pay.request_id)));
        assert!(verdict.problems[0].ends_with("a lost write"));
    }

    #[test]
    fn a_recorded_rejection_missing_from_the_log_is_lost() {
        let (sim, _) = sale();
        let mut final_state = sim.final_state(3);
        final_state.records.pop();
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert!(verdict.problems[0].contains("rejected (rejected/sold_out)"), "{verdict}");
    }

    #[test]
    fn a_different_outcome_in_the_log_is_a_rewritten_write() {
        let (mut sim, item) = sale();
        let call = sim.invoke(3, Sim::hold_value(item, 1));
        let outcome = sim.apply(&call);
        assert_eq!(outcome.label(), "accepted/hold_live");
        // The client is told sold out although the hold was placed.
        sim.complete_as(&call, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert!(verdict.problems[0].ends_with("recorded accepted/hold_live"), "{verdict}");
    }

    #[test]
    fn a_refused_op_must_not_be_in_the_log() {
        let (mut sim, item) = sale();
        let call = sim.invoke(3, Sim::hold_value(item, 1));
        sim.apply(&call);
        sim.complete_as(&call, Phase::Fail, Some("not the leader"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert!(verdict.problems[0].contains("refused before proposing (not the leader)"), "{verdict}");
    }

    #[test]
    fn a_refused_retry_of_an_unknown_attempt_may_be_in_the_log() {
        let (mut sim, item) = sale();
        let call = sim.invoke(3, Sim::hold_value(item, 1));
        sim.apply(&call);
        sim.complete_as(&call, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let retry = sim.invoke_as(3, call.request_id, Sim::hold_value(item, 1));
        sim.complete_as(&retry, Phase::Fail, Some("busy"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
    }

    #[test]
    fn info_ops_may_or_may_not_be_in_the_log() {
        let (mut sim, item) = sale();
        let applied = sim.invoke(3, Sim::hold_value(item, 1));
        sim.apply(&applied);
        sim.complete_as(&applied, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let lost = sim.invoke(4, Sim::hold_value(item, 1));
        sim.complete_as(&lost, Phase::Info, Some("connection reset"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("info (not checked)", 2)));
    }
}
