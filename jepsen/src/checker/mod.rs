//! Checkers: what a fault-injection run must not have broken.
//!
//! A run leaves two things: the [history](crate::history) the clients saw
//! (every operation as an invocation and its completion, plus the nemesis'
//! faults) and the [`FinalState`] collected from the nodes once the faults were
//! healed (their digests and one node's whole event log). Each checker reads
//! both and returns a [`Verdict`]:
//!
//! | checker | invariant |
//! |---|---|
//! | [`no_oversell`] | paid + pending + held <= size after every record; acknowledged holds are counted |
//! | [`lost_writes`] | every acknowledged operation and every recorded rejection is in the log, with its outcome |
//! | [`exactly_once`] | no request id applied twice; retries agree on their outcome |
//! | [`convergence`] | every node holds the same log and state |
//! | [`linearizable`] | per quota, the answers (holds, releases, checkouts, payments, cancels, lapses) fit one sequential order in real time; quotas with seats, vouchers or a waiting list are skipped |
//! | [`no_double_seat`] | no seat has two live holders at once (own replay of the log); acknowledged seated holds have the logged seats |
//! | [`waiting_list_order`] | offers go to the first in line (priority, then log order); no newcomer's hold leaves its item's line waiting; no earlier acknowledged entry left behind a later one |
//! | [`availability`] | (measurement) how long after each fault the cluster decided something again |
//! | [`reused_ids`] | a request id keeps its first outcome; a different command under it gets `rejected/conflict` |
//! | [`hostile_batches`] | oversized and long-named batches are refused as invalid and change nothing |
//! | [`recovery`] | every node came back after each fault, the membership was restored, the harness did every step |
//! | [`corruption`] | a node whose synced log or snapshot file has a flipped byte refuses to start, naming it |
//!
//! The first seven judge the [model history](model_history): the history
//! without hostile batches and without commands sent under a request id that
//! was first used for another command. Those are not operations of the
//! inventory's model (a conflicting command must change nothing), and
//! [`reused_ids`] and [`hostile_batches`] judge them.
//!
//! The completions mean what the history promises: `ok` took effect, `fail`
//! certainly did not (a domain rejection is recorded in the log, a refusal
//! before proposing is not), `info` may or may not have. An invocation with no
//! completion at all (the run ended first) is treated like `info`.
//!
//! Checkers never panic on a strange history or log; whatever does not add up
//! is a problem in the verdict.

pub mod availability;
pub mod convergence;
pub mod corruption;
pub mod exactly_once;
pub mod hostile_batches;
pub mod linearizable;
pub mod lost_writes;
pub mod no_double_seat;
pub mod no_oversell;
pub mod recovery;
pub mod reused_ids;
#[cfg(test)]
pub(crate) mod testkit;
pub mod waiting_list_order;

use crate::history::{NEMESIS_PROCESS, Op, Phase, Value};
use boxoffice_engine::domain::{Record, RequestId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Most problems one verdict lists; the total is in its stats.
pub const PROBLEMS_MAX: usize = 20;

/// What one node reported once the run was over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFinal {
    /// The node's id.
    pub id: u64,
    /// BLAKE3 (hex) of every record frame of its event log, in order.
    pub event_log_digest: String,
    /// BLAKE3 (hex) of its encoded domain state.
    pub state_digest: String,
    /// The seq of its last record.
    pub last_seq: u64,
}

/// The cluster after the run: every node's digests and one node's event log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalState {
    /// Every node that answered.
    pub nodes: Vec<NodeFinal>,
    /// The full event log of one node, seq 1..=n.
    pub records: Vec<boxoffice_engine::domain::Record>,
}

/// One checker's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The checker's name (its module).
    pub checker: &'static str,
    /// One sentence: what it checks.
    pub what: &'static str,
    /// False if the invariant was broken.
    pub valid: bool,
    /// At most [`PROBLEMS_MAX`] sentences, each naming the request id, quota
    /// or seq concerned; the first ones found.
    pub problems: Vec<String>,
    /// What was counted or measured, as (name, value).
    pub stats: Vec<(String, String)>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.valid { "valid" } else { "INVALID" };
        writeln!(f, "{}: {status} ({})", self.checker, self.what)?;
        for (name, value) in &self.stats {
            writeln!(f, "  {name}: {value}")?;
        }
        for problem in &self.problems {
            writeln!(f, "  problem: {problem}")?;
        }
        Ok(())
    }
}

/// Run every checker, in the order of the table above.
pub fn check_all(history: &[Op], final_state: &FinalState) -> Vec<Verdict> {
    let model = model_history(history);
    vec![
        no_oversell::check(&model, final_state),
        lost_writes::check(&model, final_state),
        exactly_once::check(&model, final_state),
        convergence::check(&model, final_state),
        linearizable::check(&model, final_state),
        no_double_seat::check(&model, final_state),
        waiting_list_order::check(&model, final_state),
        availability::check(history, final_state),
        reused_ids::check(history, final_state),
        hostile_batches::check(history, final_state),
        recovery::check(history, final_state),
        corruption::check(history, final_state),
    ]
}

/// The checkers that need no final state, for a run whose final state could
/// not be read (the run fails on `recovery` then).
pub fn check_history_only(history: &[Op]) -> Vec<Verdict> {
    let none = FinalState::default();
    vec![
        availability::check(history, &none),
        reused_ids::check(history, &none),
        recovery::check(history, &none),
        corruption::check(history, &none),
    ]
}

/// The history of the inventory's model: without hostile batches, and
/// without the invocations (and their completions) that sent a command under
/// a request id first used for a different command.
pub fn model_history(history: &[Op]) -> Vec<Op> {
    let mut first: BTreeMap<&str, Value> = BTreeMap::new();
    let mut foreign: BTreeSet<(u64, &str)> = BTreeSet::new();
    let mut model = Vec::with_capacity(history.len());
    for op in history {
        if matches!(op.value, Value::Batch { .. }) {
            continue;
        }
        if is_client(op) {
            let key = (op.process, op.request_id.as_str());
            if op.phase == Phase::Invoke {
                let inputs = op.value.inputs();
                let command = first.entry(op.request_id.as_str()).or_insert_with(|| inputs.clone());
                if *command != inputs {
                    foreign.insert(key);
                    continue;
                }
                foreign.remove(&key);
            } else if foreign.remove(&key) {
                continue;
            }
        }
        model.push(op.clone());
    }
    model
}

/// Problems found so far: the first [`PROBLEMS_MAX`] kept, all counted.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    kept: Vec<String>,
    total: usize,
}

impl Problems {
    /// Note one problem.
    pub(crate) fn push(&mut self, problem: String) {
        self.total += 1;
        if self.kept.len() < PROBLEMS_MAX {
            self.kept.push(problem);
        }
    }

    /// The verdict: valid if there were none; the total goes into the stats.
    pub(crate) fn verdict(
        self,
        checker: &'static str,
        what: &'static str,
        mut stats: Vec<(String, String)>,
    ) -> Verdict {
        stats.push(("problems".into(), self.total.to_string()));
        Verdict { checker, what, valid: self.total == 0, problems: self.kept, stats }
    }
}

/// A stat entry.
pub(crate) fn stat(name: &str, value: impl ToString) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// The request id of a history entry (32 hex digits, as `RequestId` prints).
pub fn parse_request_id(text: &str) -> Option<RequestId> {
    let digits_ok = !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
    digits_ok.then(|| u128::from_str_radix(text, 16).ok()).flatten().map(RequestId)
}

/// True for client operations (not the nemesis).
pub fn is_client(op: &Op) -> bool {
    op.process != NEMESIS_PROCESS && !matches!(op.value, Value::Nemesis { .. })
}

/// True for a client completion (`ok`, `fail` or `info`).
pub fn is_client_completion(op: &Op) -> bool {
    is_client(op) && op.phase != Phase::Invoke
}

/// True if `outcome` is a domain outcome label (`accepted/…`, `rejected/…`)
/// rather than an error text.
pub fn is_domain_label(outcome: &str) -> bool {
    outcome.starts_with("accepted/") || outcome.starts_with("rejected/")
}

/// The records of the log by request id, in log order.
pub(crate) fn records_by_request(records: &[Record]) -> BTreeMap<RequestId, Vec<&Record>> {
    let mut index: BTreeMap<RequestId, Vec<&Record>> = BTreeMap::new();
    for record in records {
        index.entry(record.request_id).or_default().push(record);
    }
    index
}

/// What a client operation was, for problem sentences: `hold [(3, 2)]`.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Hold { lines, .. } => format!("hold {lines:?}"),
        Value::Checkout { hold, .. } => format!("checkout of hold-{hold}"),
        Value::Pay { order, .. } => format!("payment of order-{order}"),
        Value::Cancel { order } => format!("cancel of order-{order}"),
        Value::Release { hold } => format!("release of hold-{hold}"),
        Value::Batch { why, commands, .. } => format!("batch of {commands} commands ({why})"),
        Value::CheckIn { list, nonce, .. } => format!("check-in on list-{list} (nonce {nonce})"),
        Value::SeatedHold { named, adjacent, zone, .. } if named.is_empty() => {
            format!("seated hold of {adjacent} adjacent seats in {zone}")
        }
        Value::SeatedHold { named, .. } => format!("seated hold of seats {named:?}"),
        Value::VoucherHold { lines, voucher, .. } => format!("hold {lines:?} with voucher {voucher}"),
        Value::JoinWaitingList { item, priority, .. } => {
            format!("waiting-list join for item-{item} (priority {priority})")
        }
        Value::LeaveWaitingList { entry } => format!("leaving the waiting list (entry-{entry})"),
        Value::ClaimOffer { entry, .. } => format!("claim of entry-{entry}'s offer"),
        Value::Nemesis { action } => format!("nemesis `{action}`"),
    }
}

/// Nanoseconds since the start of the run as milliseconds, for sentences.
pub(crate) fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::testkit::Sim;
    use super::*;

    #[test]
    fn request_ids_parse_as_they_print() {
        let id = RequestId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        assert_eq!(parse_request_id(&id.to_string()), Some(id));
        assert_eq!(parse_request_id("ff"), Some(RequestId(255)));
        assert_eq!(parse_request_id(""), None);
        assert_eq!(parse_request_id("not hex"), None);
        assert_eq!(parse_request_id(&"f".repeat(33)), None);
    }

    #[test]
    fn problems_keep_the_first_ones_and_count_all() {
        let mut problems = Problems::default();
        for i in 0..PROBLEMS_MAX + 5 {
            problems.push(format!("problem {i}"));
        }
        let verdict = problems.verdict("test", "tests", vec![]);
        assert!(!verdict.valid);
        assert_eq!(verdict.problems.len(), PROBLEMS_MAX);
        assert_eq!(verdict.problems[0], "problem 0");
        assert_eq!(verdict.stats, vec![stat("problems", PROBLEMS_MAX + 5)]);
        assert!(verdict.to_string().starts_with("test: INVALID (tests)\n"));
    }

    #[test]
    fn the_model_history_leaves_out_batches_and_other_commands_under_used_ids() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        let hold = sim.invoke(1, Sim::hold_value(item, 1));
        let outcome = sim.apply(&hold);
        sim.complete(&hold, &outcome);
        let retry = sim.invoke_as(1, hold.request_id, Sim::hold_value(item, 1));
        sim.complete(&retry, &outcome);
        let reuse = sim.invoke_as(2, hold.request_id, Value::Release { hold: 1 });
        sim.complete_as(&reuse, Phase::Fail, Some("rejected/conflict"), reuse.value.clone());
        let batch = Value::Batch { why: "oversized".into(), commands: 1_001, bytes: 0 };
        let call = sim.invoke(3, batch.clone());
        sim.complete_as(&call, Phase::Fail, Some("invalid request: too many"), batch);
        let model = model_history(&sim.history);
        let kept: Vec<u64> = model.iter().map(|op| op.index).collect();
        assert_eq!(kept, vec![0, 1, 2, 3]);
        // A hostile reuse answered with the stored outcome is no business of the model checkers.
        let verdicts = check_all(&sim.history, &sim.final_state(3));
        assert!(verdicts.iter().all(|v| v.valid), "{verdicts:?}");
    }

    #[test]
    fn a_correct_run_passes_every_checker() {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(5), &[item]);
        sim.nemesis("partition [1] | [2, 3]");
        let hold = sim.hold_ok(1, item, 2);
        let order = sim.checkout_ok(2, hold);
        sim.pay_ok(2, order);
        let other = sim.hold_ok(3, item, 3);
        sim.release_ok(3, other);
        sim.nemesis("heal");
        sim.hold_ok(1, item, 1);
        assert_eq!(sim.hold_done(2, item, 3).as_deref(), Some("rejected/sold_out"));
        let verdicts = check_all(&sim.history, &sim.final_state(3));
        let names: Vec<&str> = verdicts.iter().map(|v| v.checker).collect();
        assert_eq!(
            names,
            [
                "no_oversell",
                "lost_writes",
                "exactly_once",
                "convergence",
                "linearizable",
                "no_double_seat",
                "waiting_list_order",
                "availability",
                "reused_ids",
                "hostile_batches",
                "recovery",
                "corruption"
            ]
        );
        for verdict in &verdicts {
            assert!(verdict.valid, "{verdict}");
            assert!(!verdict.what.is_empty());
        }
    }
}
