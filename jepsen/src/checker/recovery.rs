//! Recovery: every node the nemesis stopped came back, and the harness did
//! what the schedule said.
//!
//! A node that cannot restart (its process exits soon after it is started,
//! or it never answers), or a membership the harness cannot restore, is a
//! failed run, not a crashed harness: the harness writes what happened into
//! the history as a nemesis entry starting with
//! [`RECOVERY_FAILED_PREFIX`] (with the tail of the node's stderr) and goes
//! on to the final check. A step of the harness itself that failed after the
//! workload started (a data directory it could not wipe, a process it could
//! not spawn) is written with [`HARNESS_ERROR_PREFIX`]: the faults were not
//! what the schedule said. This checker turns each such entry into a problem,
//! so the run ends with a summary and a failed verdict either way, and
//! `--recheck` sees the same.

use super::{FinalState, Problems, Verdict, ms, stat};
use crate::history::{HARNESS_ERROR_PREFIX, NEMESIS_PROCESS, Op, RECOVERY_FAILED_PREFIX, Value};

const NAME: &str = "recovery";
const WHAT: &str = "Every node came back after each fault (it stays up and answers), the membership was \
                    restored, and the harness carried out every step of the schedule.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], _final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let (mut actions, mut failed, mut errors) = (0usize, 0usize, 0usize);
    for op in history.iter().filter(|op| op.process == NEMESIS_PROCESS) {
        let Value::Nemesis { action } = &op.value else { continue };
        actions += 1;
        if let Some(what) = action.strip_prefix(RECOVERY_FAILED_PREFIX) {
            failed += 1;
            problems.push(format!("at {}: {what}", ms(op.time_ns)));
        } else if let Some(what) = action.strip_prefix(HARNESS_ERROR_PREFIX) {
            errors += 1;
            problems.push(format!("at {}: the harness failed a step: {what}", ms(op.time_ns)));
        }
    }
    let stats = vec![
        stat("nemesis entries", actions),
        stat("recoveries failed", failed),
        stat("harness errors", errors),
    ];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    #[test]
    fn faults_that_healed_pass() {
        let mut sim = Sim::new();
        sim.nemesis("kill -9 leader 2");
        sim.nemesis("heal");
        sim.nemesis("note: disk-full skipped");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("nemesis entries", 3)));
    }

    #[test]
    fn a_node_that_does_not_come_back_fails_the_run_with_its_stderr() {
        let mut sim = Sim::new();
        sim.nemesis("kill -9 leader 2");
        sim.nemesis("heal");
        sim.nemesis(&format!(
            "{RECOVERY_FAILED_PREFIX}node 2 exited 0.3 s after it was started (exit status: 1); stderr tail: \
             Error: log corrupt at offset 4096"
        ));
        sim.nemesis(&format!("{HARNESS_ERROR_PREFIX}wipe node 3: permission denied"));
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 2);
        assert!(verdict.problems[0].contains("node 2 exited"), "{verdict}");
        assert!(verdict.problems[0].ends_with("log corrupt at offset 4096"), "{verdict}");
        assert!(verdict.problems[1].contains("the harness failed a step: wipe node 3"), "{verdict}");
    }
}
