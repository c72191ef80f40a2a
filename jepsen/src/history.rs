//! The history of a run: every client operation as an invocation followed by
//! its completion, Jepsen-style, written as JSON lines.
//!
//! A completion is one of:
//! - `ok`: the command took effect (the domain accepted it);
//! - `fail`: it certainly did not (the domain rejected it, or the client was
//!   refused before anything was proposed);
//! - `info`: unknown (a timeout, a lost connection): it may or may not have
//!   taken effect, and checkers must allow both.
//!
//! Nemesis actions are in the same history (process `NEMESIS_PROCESS`), so
//! checkers can relate faults to what clients saw. A nemesis entry is a fault
//! (from it to the next `heal` is a fault window), a `heal`, a note (starts
//! with [`NOTE_PREFIX`]; not a fault), a failure of the harness to bring
//! the cluster back (starts with [`RECOVERY_FAILED_PREFIX`] or
//! [`HARNESS_ERROR_PREFIX`]), which the `recovery` checker turns into a
//! failed verdict, or a node that did not refuse a corrupt file (starts with
//! [`CORRUPTION_PREFIX`]), which the `corruption` checker turns into one.
//!
//! # Times
//!
//! `time_ns` is nanoseconds since the run started. An invocation's time is
//! when its first attempt that may have reached a server was sent: the
//! recorder writes the invocation when the call starts and moves its time
//! forward when the completion arrives (see [`Recorder::complete`]), so an
//! attempt refused before it was sent does not widen the operation's
//! interval (a wider interval could hide a violation). The file stays in
//! recording order: an invocation precedes its completion and its time is
//! never later than the completion's, but times across operations are not
//! sorted; checkers read `time_ns`, never the position.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};
use std::sync::Mutex;
use std::time::Instant;

/// The process id of nemesis entries.
pub const NEMESIS_PROCESS: u64 = u64::MAX;

/// The action that ends a fault window.
pub const HEAL: &str = "heal";

/// Start of a nemesis entry that is a remark, not a fault (`note: disk-full skipped`).
pub const NOTE_PREFIX: &str = "note: ";

/// Start of a nemesis entry saying a node or the membership could not be
/// brought back: the run fails on the `recovery` checker.
pub const RECOVERY_FAILED_PREFIX: &str = "recovery failed: ";

/// Start of a nemesis entry saying the harness itself failed a step after the
/// workload started (the schedule was not what was planned): the run fails on
/// the `recovery` checker.
pub const HARNESS_ERROR_PREFIX: &str = "harness error: ";

/// Start of a nemesis entry saying a node refused to start on a file the
/// nemesis corrupted, as it must (a note: the `corruption` checker counts it).
pub const CORRUPTION_REFUSED_PREFIX: &str = "note: corruption refused: ";

/// Start of a nemesis entry saying a node did not refuse a file the nemesis
/// corrupted (it started and served, or exited without naming the
/// corruption): the run fails on the `corruption` checker.
pub const CORRUPTION_PREFIX: &str = "corruption: ";

/// The nemeses that skew or jump wall clocks; their fault actions start with
/// one of these names, so checkers that reason about log time can find them.
pub const CLOCK_NEMESES: &[&str] = &["clock-skew", "clock-jump"];

/// True if a nemesis action opens a fault window (not a heal, a note, a
/// recovery report or a corruption verdict).
pub fn is_fault(action: &str) -> bool {
    action != HEAL
        && !action.starts_with(NOTE_PREFIX)
        && !action.starts_with(RECOVERY_FAILED_PREFIX)
        && !action.starts_with(HARNESS_ERROR_PREFIX)
        && !action.starts_with(CORRUPTION_PREFIX)
}

/// Fault windows: from each fault action to the next `heal`, in
/// nanoseconds since the start, with the action that opened it (a fault
/// never healed lasts to the end of the history). Fault actions inside an
/// open window belong to it.
pub fn fault_windows_ns(history: &[Op]) -> Vec<(u64, u64, String)> {
    let mut windows = Vec::new();
    let mut open: Option<(u64, String)> = None;
    let end_ns = history.iter().map(|op| op.time_ns).max().unwrap_or(0);
    for op in history.iter().filter(|op| op.process == NEMESIS_PROCESS) {
        let Value::Nemesis { action } = &op.value else { continue };
        if action == HEAL {
            if let Some((start, what)) = open.take() {
                windows.push((start, op.time_ns, what));
            }
        } else if is_fault(action) && open.is_none() {
            open = Some((op.time_ns, action.clone()));
        }
    }
    if let Some((start, what)) = open {
        windows.push((start, end_ns, what));
    }
    windows
}

/// Invocation or one of the three completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The client is about to send.
    Invoke,
    /// It took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown.
    Info,
}

/// What an operation did; the invocation carries the inputs, the completion
/// the same inputs plus what came back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum Value {
    /// Place a hold; `hold` is the new hold's id on `ok`.
    Hold {
        /// (item, quantity) pairs.
        lines: Vec<(u64, u32)>,
        /// How long the hold lives, in ms of log time (absent in older histories).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
        /// The hold's id, once known.
        hold: Option<u64>,
        /// When it lapses, in ms of log time, as the answer said (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
    },
    /// Check out a hold; `order` on `ok`.
    Checkout {
        /// The hold.
        hold: u64,
        /// How long the order may stay unpaid, in ms of log time (absent in older histories).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payment_ttl_ms: Option<u64>,
        /// The order's id, once known.
        order: Option<u64>,
        /// When an unpaid order lapses, in ms of log time, as the answer said (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payment_deadline_ms: Option<u64>,
    },
    /// Pay an order; `refund_owed` on `ok` if the payment was recorded but
    /// the capacity was gone.
    Pay {
        /// The order.
        order: u64,
        /// True if the payment was refused capacity (order stays expired).
        refund_owed: Option<bool>,
    },
    /// Cancel an order.
    Cancel {
        /// The order.
        order: u64,
    },
    /// Release a hold.
    Release {
        /// The hold.
        hold: u64,
    },
    /// Scan a ticket.
    CheckIn {
        /// The check-in list.
        list: u64,
        /// The ticket's secret.
        secret: String,
        /// The scan's nonce (hex).
        nonce: String,
    },
    /// Place a seated hold (`PlaceSeatedHold`): named seats, or the best
    /// adjacent ones of a zone; `hold` and `seats` on `ok`.
    SeatedHold {
        /// The seats asked for by id (empty for an adjacent request).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        named: Vec<u64>,
        /// How many adjacent seats of `zone` (0 for named seats).
        #[serde(default)]
        adjacent: u32,
        /// The zone.
        zone: String,
        /// A voucher code redeemed for every seat, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        voucher: Option<String>,
        /// How long the hold lives, in ms of log time.
        ttl_ms: u64,
        /// The hold's id, once known.
        hold: Option<u64>,
        /// When it lapses, in ms of log time, as the answer said (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
        /// The seats the answer gave, in ticket order (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seats: Option<Vec<u64>>,
    },
    /// Place a hold redeeming a voucher (`PlaceHoldWith`); `hold` on `ok`.
    VoucherHold {
        /// (item, quantity) pairs.
        lines: Vec<(u64, u32)>,
        /// The voucher code.
        voucher: String,
        /// How long the hold lives, in ms of log time.
        ttl_ms: u64,
        /// The hold's id, once known.
        hold: Option<u64>,
        /// When it lapses, in ms of log time, as the answer said (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
    },
    /// Join an item's waiting list; `entry` on `ok`.
    JoinWaitingList {
        /// The item.
        item: u64,
        /// Higher is served first.
        priority: u32,
        /// The entry's id, once known.
        entry: Option<u64>,
    },
    /// Leave a waiting list.
    LeaveWaitingList {
        /// The entry.
        entry: u64,
    },
    /// Claim an entry's offer: a hold of one ticket; `hold` on `ok`.
    ClaimOffer {
        /// The entry.
        entry: u64,
        /// How long the hold lives, in ms of log time.
        ttl_ms: u64,
        /// The hold's id, once known.
        hold: Option<u64>,
        /// When it lapses, in ms of log time, as the answer said (on `ok`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at_ms: Option<u64>,
    },
    /// A hostile `SubmitBatch`: `commands` commands of `bytes` bytes in all,
    /// with request ids `request_id` + 0 .. `commands` (the op's request id is
    /// the first). It must be refused as a whole (invalid argument) and change
    /// nothing.
    Batch {
        /// What makes it hostile: `oversized` (more commands than a batch may
        /// carry) or `long_names` (names longer than the domain allows).
        why: String,
        /// Commands in the batch.
        commands: u64,
        /// Bytes of the commands' names, in all.
        bytes: u64,
    },
    /// A fault injected or healed.
    Nemesis {
        /// What, e.g. `kill 2`, `partition [1] | [2, 3]`, `heal`.
        action: String,
    },
}

impl Value {
    /// The command's inputs: the value with everything the answer filled in
    /// cleared. Two invocations with the same request id and different inputs
    /// are different commands under a reused id, not a retry.
    pub fn inputs(&self) -> Value {
        let mut value = self.clone();
        match &mut value {
            Value::Hold { hold, expires_at_ms, .. } => {
                *hold = None;
                *expires_at_ms = None;
            }
            Value::Checkout { order, payment_deadline_ms, .. } => {
                *order = None;
                *payment_deadline_ms = None;
            }
            Value::Pay { refund_owed, .. } => *refund_owed = None,
            Value::SeatedHold { hold, expires_at_ms, seats, .. } => {
                *hold = None;
                *expires_at_ms = None;
                *seats = None;
            }
            Value::VoucherHold { hold, expires_at_ms, .. }
            | Value::ClaimOffer { hold, expires_at_ms, .. } => {
                *hold = None;
                *expires_at_ms = None;
            }
            Value::JoinWaitingList { entry, .. } => *entry = None,
            Value::LeaveWaitingList { .. }
            | Value::Cancel { .. }
            | Value::Release { .. }
            | Value::CheckIn { .. }
            | Value::Batch { .. }
            | Value::Nemesis { .. } => {}
        }
        value
    }

    /// A hold of `lines` with `ttl_ms`, not yet answered.
    pub fn hold(lines: Vec<(u64, u32)>, ttl_ms: u64) -> Value {
        Value::Hold { lines, ttl_ms: Some(ttl_ms), hold: None, expires_at_ms: None }
    }

    /// A checkout of `hold` with `payment_ttl_ms`, not yet answered.
    pub fn checkout(hold: u64, payment_ttl_ms: u64) -> Value {
        Value::Checkout { hold, payment_ttl_ms: Some(payment_ttl_ms), order: None, payment_deadline_ms: None }
    }
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history.
    pub index: u64,
    /// The client process (or `NEMESIS_PROCESS`).
    pub process: u64,
    /// Nanoseconds since the run started.
    pub time_ns: u64,
    /// Invocation or completion.
    pub phase: Phase,
    /// The request id (32 hex digits); a retry reuses it.
    pub request_id: String,
    /// The domain's outcome label on completion (`accepted/hold_live`,
    /// `rejected/sold_out`), or the error for `fail`/`info` without one.
    pub outcome: Option<String>,
    /// What was done.
    #[serde(flatten)]
    pub value: Value,
}

/// Write a history as JSON lines.
pub fn write(ops: &[Op], out: &mut impl Write) -> io::Result<()> {
    for op in ops {
        serde_json::to_writer(&mut *out, op)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Read a history written by [`write()`].
pub fn read(input: impl BufRead) -> io::Result<Vec<Op>> {
    input
        .lines()
        .filter(|line| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|line| serde_json::from_str(&line?).map_err(io::Error::other))
        .collect()
}

/// The history being recorded by a run: appended to by every client process
/// and the nemesis, concurrently.
pub struct Recorder {
    started: Instant,
    ops: Mutex<Vec<Op>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty history whose clock starts now.
    pub fn new() -> Recorder {
        Recorder { started: Instant::now(), ops: Mutex::new(Vec::new()) }
    }

    /// `at` in nanoseconds since the run started (0 if before).
    pub fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_nanos() as u64
    }

    fn push(
        &self,
        process: u64,
        phase: Phase,
        request_id: String,
        outcome: Option<String>,
        value: Value,
    ) -> usize {
        let mut ops = self.ops.lock().expect("history lock");
        let index = ops.len();
        let time_ns = self.ns(Instant::now());
        ops.push(Op { index: index as u64, process, time_ns, phase, request_id, outcome, value });
        index
    }

    /// Record an invocation, now; returns its position for [`Recorder::complete`].
    pub fn invoke(&self, process: u64, request_id: String, value: Value) -> usize {
        self.push(process, Phase::Invoke, request_id, None, value)
    }

    /// Record the completion of the invocation at `invoked`, now. `first_sent`
    /// is when the first attempt that may have reached a server was sent (None
    /// if none was): the invocation's time moves forward to it (never past the
    /// completion), so the operation's interval starts where it really could
    /// have taken effect.
    pub fn complete(
        &self,
        invoked: usize,
        phase: Phase,
        outcome: Option<String>,
        value: Value,
        first_sent: Option<Instant>,
    ) {
        let mut ops = self.ops.lock().expect("history lock");
        let index = ops.len();
        let time_ns = self.ns(Instant::now());
        let Some(invocation) = ops.get_mut(invoked) else { return };
        if let Some(sent) = first_sent {
            invocation.time_ns = invocation.time_ns.max(self.ns(sent)).min(time_ns);
        }
        let (process, request_id) = (invocation.process, invocation.request_id.clone());
        ops.push(Op { index: index as u64, process, time_ns, phase, request_id, outcome, value });
    }

    /// Record a nemesis action (a fault, `heal`, a note, a recovery failure).
    pub fn nemesis(&self, action: String) {
        self.push(NEMESIS_PROCESS, Phase::Info, String::new(), None, Value::Nemesis { action });
    }

    /// A copy of the history so far.
    pub fn snapshot(&self) -> Vec<Op> {
        self.ops.lock().expect("history lock").clone()
    }

    /// The last `ops` entries that match `pick`, newest first (for clients
    /// that reuse what others did).
    pub fn recent<T>(&self, ops: usize, pick: impl Fn(&Op) -> Option<T>) -> Vec<T> {
        let history = self.ops.lock().expect("history lock");
        history.iter().rev().take(ops).filter_map(pick).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_invocation_starts_when_its_first_attempt_was_sent() {
        let recorder = Recorder::new();
        let value = Value::Pay { order: 3, refund_owed: None };
        let invoked = recorder.invoke(1, "ab".into(), value.clone());
        let called_ns = recorder.snapshot()[invoked].time_ns;
        std::thread::sleep(Duration::from_millis(5));
        let sent = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        recorder.complete(invoked, Phase::Ok, Some("accepted/order_paid".into()), value, Some(sent));
        let history = recorder.snapshot();
        assert_eq!(history[0].time_ns, recorder.ns(sent));
        assert!(history[0].time_ns > called_ns + 4_000_000);
        assert!(history[0].time_ns <= history[1].time_ns);
        assert_eq!((history[1].process, history[1].request_id.as_str()), (1, "ab"));
    }

    #[test]
    fn an_invocation_never_sent_keeps_its_call_time_and_the_file_reads_back() {
        let recorder = Recorder::new();
        let value = Value::hold(vec![(4, 1)], 60_000);
        let invoked = recorder.invoke(2, "cd".into(), value.clone());
        let called_ns = recorder.snapshot()[invoked].time_ns;
        recorder.complete(invoked, Phase::Fail, Some("not applied".into()), value, None);
        recorder.nemesis(format!("{NOTE_PREFIX}nothing"));
        let history = recorder.snapshot();
        assert_eq!(history[0].time_ns, called_ns);
        let mut file = Vec::new();
        write(&history, &mut file).unwrap();
        assert_eq!(read(&file[..]).unwrap(), history);
    }

    #[test]
    fn older_histories_without_ttls_still_read() {
        let line = r#"{"index":0,"process":1,"time_ns":5,"phase":"invoke","request_id":"ff","outcome":null,"f":"hold","lines":[[3,1]],"hold":null}"#;
        let ops = read(line.as_bytes()).unwrap();
        assert_eq!(
            ops[0].value,
            Value::Hold { lines: vec![(3, 1)], ttl_ms: None, hold: None, expires_at_ms: None }
        );
    }

    #[test]
    fn inputs_forget_the_answer() {
        let answered = Value::Checkout {
            hold: 4,
            payment_ttl_ms: Some(9),
            order: Some(5),
            payment_deadline_ms: Some(7),
        };
        assert_eq!(answered.inputs(), Value::checkout(4, 9));
        assert_ne!(Value::hold(vec![(1, 1)], 5).inputs(), Value::hold(vec![(1, 2)], 5));
        assert!(is_fault("kill -9 leader 1"));
        assert!(!is_fault(HEAL) && !is_fault("note: x") && !is_fault("recovery failed: node 2"));
    }
}
