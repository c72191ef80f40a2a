//! Availability: how long after each fault the cluster decided something
//! again.
//!
//! This is a measurement, not an invariant: a majority-based system may
//! refuse service during a fault (that is the price of consistency), but
//! it should recover soon after. For every nemesis action it measures the time
//! until the next completion that the cluster decided: an `ok`, or a `fail`
//! carrying a domain rejection such as `rejected/sold_out` (a rejection is a
//! committed log entry too, so it shows the cluster was serving; counting
//! only `ok` would call a sold-out event unavailable). Refusals and unknowns
//! do not count.
//!
//! The verdict is valid unless nothing at all was decided after the last
//! nemesis action: then the cluster never came back (or the run stopped
//! measuring too early). Notes and recovery reports of the nemesis are not
//! actions here.

use super::{FinalState, Problems, Verdict, is_client_completion, is_domain_label, ms, stat};
use crate::history::{HEAL, NEMESIS_PROCESS, Op, Phase, Value, is_fault};

const NAME: &str = "availability";
const WHAT: &str = "For each nemesis action, the time until the cluster next decided a client operation \
                    (ok or a recorded rejection); invalid only if nothing was decided after the last one.";

/// One nemesis action and how long the cluster took to decide something after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// What the nemesis did.
    pub action: String,
    /// When, in ns since the start of the run.
    pub at_ns: u64,
    /// Time to the next decided completion, in ns; `None` if there was none.
    pub recovery_ns: Option<u64>,
}

/// True if the cluster decided this completion.
fn decided(op: &Op) -> bool {
    is_client_completion(op)
        && match op.phase {
            Phase::Ok => true,
            Phase::Fail => op.outcome.as_deref().is_some_and(is_domain_label),
            Phase::Invoke | Phase::Info => false,
        }
}

/// Every nemesis action with its recovery time, in history order.
pub fn recoveries(history: &[Op]) -> Vec<Recovery> {
    let mut decided_ns: Vec<u64> = history.iter().filter(|op| decided(op)).map(|op| op.time_ns).collect();
    decided_ns.sort_unstable();
    history
        .iter()
        .filter_map(|op| match &op.value {
            Value::Nemesis { action }
                if op.process == NEMESIS_PROCESS && (is_fault(action) || action == HEAL) =>
            {
                Some((action, op.time_ns))
            }
            _ => None,
        })
        .map(|(action, at_ns)| {
            let next = decided_ns.partition_point(|&t| t < at_ns);
            Recovery { action: action.clone(), at_ns, recovery_ns: decided_ns.get(next).map(|t| t - at_ns) }
        })
        .collect()
}

/// Check the measurement; see the module documentation.
pub fn check(history: &[Op], _final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let recoveries = recoveries(history);
    let mut times: Vec<u64> = recoveries.iter().filter_map(|r| r.recovery_ns).collect();
    times.sort_unstable();
    let median = match times.len() {
        0 => None,
        n if n % 2 == 1 => Some(times[n / 2]),
        n => Some((times[n / 2 - 1] + times[n / 2]) / 2),
    };
    if let Some(last) = recoveries.last().filter(|r| r.recovery_ns.is_none()) {
        problems.push(format!(
            "nothing was decided after the last nemesis action `{}` at {}: the cluster did not recover",
            last.action,
            ms(last.at_ns)
        ));
    }
    let listed: Vec<String> = recoveries
        .iter()
        .map(|r| {
            let took = r.recovery_ns.map_or("never".into(), ms);
            format!("`{}` at {}: {took}", r.action, ms(r.at_ns))
        })
        .collect();
    let stats = vec![
        stat("nemesis actions", recoveries.len()),
        stat("recovered", times.len()),
        stat("median recovery", median.map_or("-".into(), ms)),
        stat("max recovery", times.last().map_or("-".into(), |&t| ms(t))),
        stat("recovery by action", listed.join("; ")),
    ];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    #[test]
    fn measures_the_time_from_each_fault_to_the_next_decided_op() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        sim.nemesis("kill 1"); // at 0 ms
        let stalled = sim.invoke(1, Sim::hold_value(item, 1)); // 1 ms
        sim.complete_as(&stalled, Phase::Info, Some("timeout"), Sim::hold_value(item, 1)); // 2 ms
        sim.hold_ok(2, item, 1); // invoked at 3 ms, ok at 4 ms
        sim.nemesis("heal"); // 5 ms
        assert_eq!(sim.hold_done(3, item, 1).as_deref(), Some("rejected/sold_out")); // 6, 7 ms
        let recoveries = recoveries(&sim.history);
        assert_eq!(
            recoveries,
            vec![
                Recovery { action: "kill 1".into(), at_ns: 0, recovery_ns: Some(4_000_000) },
                Recovery { action: "heal".into(), at_ns: 5_000_000, recovery_ns: Some(2_000_000) },
            ]
        );
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("median recovery", "3.0 ms")));
        assert!(verdict.stats.contains(&stat("max recovery", "4.0 ms")));
        assert!(
            verdict.stats.contains(&stat(
                "recovery by action",
                "`kill 1` at 0.0 ms: 4.0 ms; `heal` at 5.0 ms: 2.0 ms"
            ))
        );
    }

    #[test]
    fn nothing_decided_after_the_last_fault_is_invalid() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        sim.hold_ok(1, item, 1);
        sim.nemesis("partition [1] | [2, 3]");
        let call = sim.invoke(2, Sim::hold_value(item, 1));
        sim.complete_as(&call, Phase::Fail, Some("not the leader"), Sim::hold_value(item, 1));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert!(verdict.problems[0].contains("`partition [1] | [2, 3]`"), "{verdict}");
    }

    #[test]
    fn notes_and_recovery_reports_are_not_actions() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        sim.nemesis("kill 1");
        sim.hold_ok(2, item, 1);
        sim.nemesis("heal");
        sim.hold_done(2, item, 1);
        sim.nemesis("note: disk-full skipped");
        sim.nemesis("recovery failed: node 1 exited");
        let actions: Vec<String> = recoveries(&sim.history).into_iter().map(|r| r.action).collect();
        assert_eq!(actions, ["kill 1", "heal"]);
        assert!(check(&sim.history, &sim.final_state(3)).valid);
    }

    #[test]
    fn a_run_without_faults_is_valid() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(1), &[item]);
        sim.hold_ok(1, item, 1);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("nemesis actions", 0)));
    }
}
