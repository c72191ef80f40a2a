//! Corruption: a node refuses to start on a damaged log or snapshot file.
//!
//! The bit-flip nemeses (`bitflip-log`, `bitflip-snapshot`) kill a node,
//! flip one byte of a region it had synced (a log frame followed by a mark,
//! so that the entries may have been acknowledged; or its newest snapshot
//! file), and start it again as it is. A node that starts on such a file
//! would serve, vote and replicate from state it cannot trust: a log cut at
//! the bad frame forgets entries it may have acknowledged and voted on, and
//! a snapshot it cannot read back is one it may hand a peer. What the node
//! must do is refuse to start, naming the file and the offset, so an
//! operator rebuilds it from its peers (which the nemesis then does, with
//! `--rejoin`).
//!
//! The nemesis judges each flip as it happens and writes the outcome into
//! the history: a refusal as a note starting with
//! [`CORRUPTION_REFUSED_PREFIX`], anything else (the node served, exited
//! without naming the corruption, or did neither within the wait) as an
//! entry starting with [`CORRUPTION_PREFIX`]. This checker turns the latter
//! into problems, so `--recheck` sees the same verdict. That no acknowledged
//! write was lost while the node was rebuilt is for `lost_writes` and the
//! others to judge.

use super::{FinalState, Problems, Verdict, ms, stat};
use crate::history::{CORRUPTION_PREFIX, CORRUPTION_REFUSED_PREFIX, NEMESIS_PROCESS, Op, Value};

/// The fault actions of the bit-flip nemeses start with this.
pub const BITFLIP_PREFIX: &str = "bitflip-";

const NAME: &str = "corruption";
const WHAT: &str = "A node whose synced log or snapshot file has a flipped byte refuses to start, naming \
                    the corruption, and never serves from it.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], _final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let (mut flips, mut refused) = (0usize, 0usize);
    for op in history.iter().filter(|op| op.process == NEMESIS_PROCESS) {
        let Value::Nemesis { action } = &op.value else { continue };
        if action.starts_with(BITFLIP_PREFIX) {
            flips += 1;
        } else if action.starts_with(CORRUPTION_REFUSED_PREFIX) {
            refused += 1;
        } else if let Some(what) = action.strip_prefix(CORRUPTION_PREFIX) {
            problems.push(format!("at {}: {what}", ms(op.time_ns)));
        }
    }
    let stats = vec![stat("bytes flipped", flips), stat("refused to start", refused)];
    problems.verdict(NAME, WHAT, stats)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;

    #[test]
    fn a_node_that_refuses_a_flipped_byte_passes() {
        let mut sim = Sim::new();
        sim.nemesis("bitflip-log: node 2, byte 4242 of n2/log/00000000000000000001.seg");
        sim.nemesis(&format!("{CORRUPTION_REFUSED_PREFIX}node 2 exited 0.3 s after it was started"));
        sim.nemesis("heal");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("bytes flipped", 1)));
        assert!(verdict.stats.contains(&stat("refused to start", 1)));
    }

    #[test]
    fn a_node_that_starts_on_a_flipped_byte_fails_the_run() {
        let mut sim = Sim::new();
        sim.nemesis("bitflip-log: node 3, byte 100 of n3/log/00000000000000000001.seg");
        sim.nemesis(&format!(
            "{CORRUPTION_PREFIX}node 3 started on a corrupt log: flipped byte at \
             n3/log/00000000000000000001.seg:100"
        ));
        sim.nemesis("heal");
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid);
        assert!(verdict.problems[0].contains("node 3 started on a corrupt log"), "{verdict}");
    }
}
