//! Exactly once: a request id takes effect at most once, and every answer
//! given for it is the same.
//!
//! Clients retry with the same request id whenever an answer is unknown
//! (timeouts, leader changes), so one command may be proposed several times,
//! possibly by different leaders. The domain's request table must turn
//! every repeat into the stored outcome: a request id that appears in two
//! records of the log (within the retention window of
//! [`REQUEST_ID_RETENTION_MS`] of log time) was applied twice, e.g. a hold
//! placed twice, or a payment taken twice. And when the history shows a
//! request id completing more than once, every `ok` and every recorded
//! rejection among those completions must carry the same outcome label.
//!
//! The stats count how the unknowns (`info`, and invocations the run never
//! completed) turned out: applied (their request id is in the log) or not.

use super::{
    FinalState, Problems, Verdict, is_client, is_client_completion, is_domain_label, parse_request_id,
    records_by_request, stat,
};
use crate::history::{Op, Phase};
use boxoffice_engine::domain::limits::REQUEST_ID_RETENTION_MS;
use std::collections::BTreeMap;

const NAME: &str = "exactly_once";
const WHAT: &str = "No request id is applied in two records of the log, and every definite completion of a \
                    retried request id reports the same outcome.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let index = records_by_request(&final_state.records);

    let (mut duplicates, mut after_retention) = (0usize, 0usize);
    for (id, records) in index.iter().filter(|(_, records)| records.len() > 1) {
        for pair in records.windows(2) {
            let gap_ms = pair[1].time_ms.saturating_sub(pair[0].time_ms);
            if gap_ms < REQUEST_ID_RETENTION_MS {
                duplicates += 1;
                problems.push(format!(
                    "request {id} was applied twice: seq {} and seq {}, {gap_ms} ms of log time apart \
                     (a repeat within {REQUEST_ID_RETENTION_MS} ms must return the stored outcome)",
                    pair[0].seq, pair[1].seq
                ));
            } else {
                after_retention += 1;
            }
        }
    }

    let mut completions: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client_completion(op)) {
        completions.entry(op.request_id.as_str()).or_default().push(op);
    }
    let mut retried = 0usize;
    for (request, ops) in completions.iter().filter(|(_, ops)| ops.len() > 1) {
        retried += 1;
        // Definite answers: ok, or a rejection the domain recorded.
        let answers: Vec<(&str, u64)> = ops
            .iter()
            .filter_map(|op| match (op.phase, op.outcome.as_deref()) {
                (Phase::Ok, outcome) => Some((outcome.unwrap_or("ok"), op.index)),
                (Phase::Fail, Some(outcome)) if is_domain_label(outcome) => Some((outcome, op.index)),
                _ => None,
            })
            .collect();
        if answers.windows(2).any(|pair| pair[0].0 != pair[1].0) {
            let listed: Vec<String> =
                answers.iter().map(|(outcome, index)| format!("{outcome} (history entry {index})")).collect();
            problems.push(format!(
                "request {request} completed {} times with different outcomes: {}",
                answers.len(),
                listed.join(", ")
            ));
        }
    }

    // How the unknowns turned out.
    let applied = |op: &Op| parse_request_id(&op.request_id).is_some_and(|id| index.contains_key(&id));
    let (mut info_applied, mut info_not) = (0usize, 0usize);
    for op in history.iter().filter(|op| is_client(op) && op.phase == Phase::Info) {
        if applied(op) { info_applied += 1 } else { info_not += 1 }
    }
    let mut open: BTreeMap<(u64, &str), usize> = BTreeMap::new();
    for op in history.iter().filter(|op| is_client(op)) {
        let entry = open.entry((op.process, op.request_id.as_str())).or_default();
        if op.phase == Phase::Invoke {
            *entry += 1;
        } else {
            *entry = entry.saturating_sub(1);
        }
    }
    let (mut unfinished_applied, mut unfinished_not) = (0usize, 0usize);
    for ((_, request), count) in open.into_iter().filter(|(_, count)| *count > 0) {
        if parse_request_id(request).is_some_and(|id| index.contains_key(&id)) {
            unfinished_applied += count;
        } else {
            unfinished_not += count;
        }
    }

    let stats = vec![
        stat("request ids in the log", index.len()),
        stat("request ids applied twice", duplicates),
        stat("re-applied after the retention window", after_retention),
        stat("request ids completed more than once", retried),
        stat("info ops applied (in the log)", info_applied),
        stat("info ops not applied (not in the log)", info_not),
        stat("unfinished invocations applied", unfinished_applied),
        stat("unfinished invocations not applied", unfinished_not),
    ];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    #[test]
    fn retries_that_agree_and_a_log_without_repeats_pass() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(2), &[item]);
        // A hold times out, is retried with the same request id, and the
        // retry gets the stored outcome (no second record).
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        let first = sim.apply(&call);
        sim.complete_as(&call, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let retry = sim.invoke_as(1, call.request_id, Sim::hold_value(item, 1));
        let second = sim.apply(&retry);
        assert_eq!(first, second);
        sim.complete(&retry, &second);
        let again = sim.invoke_as(2, call.request_id, Sim::hold_value(item, 1));
        let third = sim.apply(&again);
        sim.complete(&again, &third);
        // Another times out and never reaches the log.
        let lost = sim.invoke(3, Sim::hold_value(item, 1));
        sim.complete_as(&lost, Phase::Info, Some("timeout"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("request ids completed more than once", 1)));
        assert!(verdict.stats.contains(&stat("info ops applied (in the log)", 1)));
        assert!(verdict.stats.contains(&stat("info ops not applied (not in the log)", 1)));
    }

    #[test]
    fn a_request_id_applied_twice_is_reported() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&call);
        sim.complete(&call, &outcome);
        // A second leader applies the same request again.
        sim.plant_hold(call.request_id, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        let n = sim.log.len();
        let expected = format!("request {} was applied twice: seq {} and seq {n}", call.request_id, n - 1);
        assert!(verdict.problems[0].starts_with(&expected), "{verdict}");
    }

    #[test]
    fn a_repeat_after_the_retention_window_is_a_new_command() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&call);
        sim.complete(&call, &outcome);
        // Log time moves at most one step per record: walk it past the window.
        let step = boxoffice_engine::domain::limits::LOG_TIME_STEP_MAX_MS;
        for _ in 0..=REQUEST_ID_RETENTION_MS / step {
            sim.time_ms += step;
            sim.item(); // each record prunes the request table by its time
        }
        let late = sim.invoke_as(1, call.request_id, Sim::hold_value(item, 1));
        let outcome = sim.apply(&late);
        sim.complete(&late, &outcome);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("re-applied after the retention window", 1)));
    }

    #[test]
    fn retries_answered_differently_are_reported() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        let call = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&call);
        sim.complete(&call, &outcome);
        let retry = sim.invoke_as(2, call.request_id, Sim::hold_value(item, 1));
        sim.complete_as(&retry, Phase::Fail, Some("rejected/sold_out"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert!(
            verdict.problems[0].starts_with(&format!(
                "request {} completed 2 times with different outcomes: accepted/hold_live",
                call.request_id
            )),
            "{verdict}"
        );
    }
}
