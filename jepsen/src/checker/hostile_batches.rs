//! Hostile batches: refused at the door, and nothing changed.
//!
//! A `SubmitBatch` with more commands than a batch may carry, or with names
//! longer than the domain allows (several MB in all), must be refused as a
//! whole with an invalid-argument error before anything reaches Raft: a
//! malformed request must not cost the cluster a log entry, let alone change
//! the inventory. Its commands carry the request ids `first + 0 ..
//! first + commands` (the op's request id is the first), so "nothing
//! changed" is checked exactly: none of those ids may be in the final log.
//!
//! An unknown answer (`info`) or a refusal before proposing (no leader)
//! decides nothing: it is counted, and only the log rule applies.

use super::{
    FinalState, Problems, Verdict, is_client_completion, parse_request_id, records_by_request, stat,
};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::RequestId;

const NAME: &str = "hostile_batches";
const WHAT: &str = "Every oversized or long-named batch was refused as invalid, and none of its request ids \
                    is in the final log.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let index = records_by_request(&final_state.records);
    let (mut batches, mut refused, mut undecided, mut answered, mut logged) = (0usize, 0, 0, 0, 0);
    for op in history.iter().filter(|op| is_client_completion(op)) {
        let Value::Batch { why, commands, bytes } = &op.value else { continue };
        batches += 1;
        let request = &op.request_id;
        let outcome = op.outcome.as_deref().unwrap_or("");
        let what = format!("batch {request} of {commands} commands, {bytes} bytes of names ({why})");
        if op.phase == Phase::Fail && outcome.starts_with("invalid request") {
            refused += 1;
        } else if op.phase == Phase::Info || (op.phase == Phase::Fail && outcome.starts_with("not applied")) {
            undecided += 1;
        } else {
            answered += 1;
            problems.push(format!(
                "{what} was not refused as invalid: {}",
                if outcome.is_empty() { "ok" } else { outcome }
            ));
        }
        let Some(first) = parse_request_id(request) else {
            problems.push(format!("{what}: its request id is not 32 hex digits"));
            continue;
        };
        let last = RequestId(first.0.saturating_add(u128::from(*commands)));
        if let Some((id, records)) = index.range(first..last).next() {
            logged += 1;
            problems.push(format!(
                "{what} changed something: its command with request id {id} is in the final log at seq {}",
                records[0].seq
            ));
        }
    }
    let stats = vec![
        stat("hostile batches", batches),
        stat("refused as invalid", refused),
        stat("not decided (unknown or refused before proposing)", undecided),
        stat("answered (not refused)", answered),
        stat("with a command in the log", logged),
    ];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;
    use boxoffice_engine::domain::{Outcome, Rejection};

    fn batch(commands: u64) -> Value {
        Value::Batch { why: "long_names".into(), commands, bytes: commands * 5_000 }
    }

    #[test]
    fn batches_refused_at_the_door_pass() {
        let mut sim = Sim::new();
        let call = sim.invoke(9, batch(600));
        sim.complete_as(&call, Phase::Fail, Some("invalid request: command 0: name too long"), batch(600));
        let lost = sim.invoke(9, Value::Batch { why: "oversized".into(), commands: 1_001, bytes: 0 });
        sim.complete_as(&lost, Phase::Info, Some("unknown: timeout"), lost.value.clone());
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("refused as invalid", 1)));
        assert!(verdict.stats.contains(&stat("not decided (unknown or refused before proposing)", 1)));
    }

    #[test]
    fn a_batch_decided_by_the_domain_is_a_violation_and_its_records_are_found() {
        let mut sim = Sim::new();
        let call = sim.invoke(9, batch(3));
        // The server let it through: the domain rejected each long name, and recorded it.
        let third = boxoffice_engine::domain::RequestId(call.request_id.0 + 2);
        let rejected = Outcome::Rejected(Rejection::Invalid(boxoffice_engine::domain::InvalidInput::Name));
        sim.plant(third, vec![], rejected);
        sim.complete_as(&call, Phase::Fail, Some("answered: 3 rejected/invalid"), batch(3));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 2, "{verdict}");
        assert!(verdict.problems[0].ends_with("was not refused as invalid: answered: 3 rejected/invalid"));
        assert!(
            verdict.problems[1].contains(&format!("request id {third} is in the final log")),
            "{verdict}"
        );
    }
}
