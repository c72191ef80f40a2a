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
//! checkers can relate faults to what clients saw.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, Write};

/// The process id of nemesis entries.
pub const NEMESIS_PROCESS: u64 = u64::MAX;

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
        /// The hold's id, once known.
        hold: Option<u64>,
    },
    /// Check out a hold; `order` on `ok`.
    Checkout {
        /// The hold.
        hold: u64,
        /// The order's id, once known.
        order: Option<u64>,
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
    /// A fault injected or healed.
    Nemesis {
        /// What, e.g. `kill 2`, `partition [1] | [2, 3]`, `heal`.
        action: String,
    },
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
