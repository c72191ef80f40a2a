//! Convergence: once the faults are healed, every replica holds the same
//! event log and the same state.
//!
//! Replication ships commands and every node runs the same deterministic
//! `decide`, so the nodes must end with byte-identical logs and states: the
//! same event log digest, the same state digest, the same last seq. A
//! difference means nondeterminism, a lost or duplicated entry on one node,
//! or a snapshot that did not restore what it promised. The collected log
//! must also be whole: its seqs run 1..=n without gaps, and n is the nodes'
//! last seq, so the other checkers read the log the nodes agree on.

use super::{FinalState, Problems, Verdict, stat};
use crate::history::Op;

const NAME: &str = "convergence";
const WHAT: &str = "All nodes report the same event log digest, state digest and last seq, and the collected \
                    log is exactly seq 1..=last seq.";

/// The first 16 hex digits of a digest, for sentences.
fn short(digest: &str) -> &str {
    digest.get(..16).unwrap_or(digest)
}

/// Check the invariant; see the module documentation.
pub fn check(_history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let records = &final_state.records;
    let mut stats = vec![stat("nodes", final_state.nodes.len()), stat("records collected", records.len())];
    match final_state.nodes.first() {
        None => problems.push("no node reported its final state: nothing to compare".into()),
        Some(reference) => {
            stats.push(stat("last seq", reference.last_seq));
            stats.push(stat("event log digest", short(&reference.event_log_digest)));
            stats.push(stat("state digest", short(&reference.state_digest)));
            for node in &final_state.nodes[1..] {
                let differences = [
                    ("event log digest", &node.event_log_digest, &reference.event_log_digest),
                    ("state digest", &node.state_digest, &reference.state_digest),
                ];
                for (what, theirs, ours) in differences {
                    if theirs != ours {
                        problems.push(format!(
                            "node {}: {what} {} differs from node {}'s {}",
                            node.id,
                            short(theirs),
                            reference.id,
                            short(ours)
                        ));
                    }
                }
                if node.last_seq != reference.last_seq {
                    problems.push(format!(
                        "node {}: last seq {} differs from node {}'s {}",
                        node.id, node.last_seq, reference.id, reference.last_seq
                    ));
                }
            }
            if reference.last_seq != records.len() as u64 {
                problems.push(format!(
                    "node {} reports last seq {}, but the collected log has {} records",
                    reference.id,
                    reference.last_seq,
                    records.len()
                ));
            }
        }
    }
    if let Some((position, record)) =
        records.iter().enumerate().find(|(position, record)| record.seq != *position as u64 + 1)
    {
        problems.push(format!(
            "record {} of the collected log has seq {}: seqs must run 1..={} without gaps",
            position + 1,
            record.seq,
            records.len()
        ));
    }
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    fn run() -> Sim {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(2), &[item]);
        sim.hold_ok(1, item, 1);
        sim
    }

    #[test]
    fn nodes_that_agree_converge() {
        let sim = run();
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("nodes", 3)));
    }

    #[test]
    fn divergent_digests_are_reported() {
        let sim = run();
        let mut final_state = sim.final_state(3);
        final_state.nodes[2].event_log_digest = "0123456789abcdef0123".into();
        final_state.nodes[1].state_digest = "fedcba9876543210fedc".into();
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert_eq!(
            verdict.problems,
            vec![
                format!(
                    "node 2: state digest fedcba9876543210 differs from node 1's state-{}",
                    sim.log.len()
                ),
                format!(
                    "node 3: event log digest 0123456789abcdef differs from node 1's log-{}",
                    sim.log.len()
                ),
            ]
        );
    }

    #[test]
    fn a_node_behind_is_reported() {
        let sim = run();
        let mut final_state = sim.final_state(3);
        final_state.nodes[1].last_seq -= 1;
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert!(verdict.problems[0].starts_with("node 2: last seq"), "{verdict}");
    }

    #[test]
    fn a_collected_log_with_a_gap_is_reported() {
        let sim = run();
        let mut final_state = sim.final_state(1);
        final_state.records.remove(1);
        let verdict = check(&sim.history, &final_state);
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), 2, "{verdict}");
        assert!(verdict.problems[1].starts_with("record 2 of the collected log has seq 3"));
    }

    #[test]
    fn no_nodes_is_not_convergence() {
        let verdict = check(&[], &FinalState::default());
        assert!(!verdict.valid);
    }
}
