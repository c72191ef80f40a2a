//! What is measured while the load runs.
//!
//! One [`Recorder`] is shared by every client task: counters are atomics,
//! and the histograms and the error table sit behind std mutexes (not tokio
//! ones: nothing awaits while holding them, and each is held for one
//! record). Latencies are HdrHistograms in microseconds, so p99.9 and the
//! maximum are exact to three significant digits however long the tail.
//!
//! [`QuotaBook`] is the generator's own ledger per quota: the payments it
//! saw acknowledged, those whose outcome it never learned, and the sales it
//! left half done. The end-of-run check compares it with the engine's.

use super::config::{DRAIN_SECS, RUN_SECS_MAX};
use boxoffice_client::ClientError;
use boxoffice_client::domain::{Outcome, Rejection};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Largest latency a histogram holds, in microseconds: a whole run and its
/// drain. Anything longer is recorded as this (it cannot happen: commands
/// are cut at the end of the drain).
pub const LATENCY_US_MAX: u64 = (RUN_SECS_MAX + DRAIN_SECS) * 1_000_000;
/// Significant decimal digits of every histogram.
pub const LATENCY_DIGITS: u8 = 3;

/// A latency histogram in microseconds, 1 µs to [`LATENCY_US_MAX`].
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, LATENCY_DIGITS).expect("valid histogram bounds")
}

/// What kind of call a command latency belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CallKind {
    /// `PlaceHold` (or a batch of them).
    Hold,
    /// `Checkout` or `CheckoutWithContact` (or a batch of them).
    Checkout,
    /// `Pay` (or a batch of them).
    Pay,
    /// A stale availability read.
    Read,
}

impl CallKind {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            CallKind::Hold => "hold",
            CallKind::Checkout => "checkout",
            CallKind::Pay => "pay",
            CallKind::Read => "read",
        }
    }
}

/// Why a call gave no decided outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The client library's error.
    Client(ClientError),
    /// The run's drain ended while the call was running: its outcome is unknown.
    Timeout,
}

impl Failure {
    /// True if the command may have taken effect.
    pub fn maybe_applied(&self) -> bool {
        matches!(self, Failure::Timeout | Failure::Client(ClientError::Unknown(_)))
    }

    /// Its kind in the error table.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Client(ClientError::Unknown(_)) => "unknown",
            Failure::Client(ClientError::NotApplied(_)) => "not_applied",
            Failure::Client(ClientError::Invalid(_)) => "invalid",
            Failure::Client(ClientError::NotFound(_)) => "not_found",
        }
    }
}

/// The kind of a rejection in the error table: its outcome label without
/// `rejected/` (`sold_out`, `hold_expired`, ...).
pub fn rejection_kind(rejection: &Rejection) -> &'static str {
    let label = Outcome::Rejected(rejection.clone()).label();
    label.strip_prefix("rejected/").unwrap_or(label)
}

/// The generator's ledger of one quota.
#[derive(Debug, Default)]
pub struct QuotaBook {
    /// Payments acknowledged (`OrderPaid`), in tickets.
    pub paid_acked: AtomicU64,
    /// Payments whose outcome is unknown (they may or may not have happened), in tickets.
    pub pay_unknown: AtomicU64,
    /// Sales that stopped after their hold may have been placed and before
    /// a payment was acknowledged or refused: a hold or a pending order may
    /// be left behind, in tickets.
    pub abandoned: AtomicU64,
    /// A hold on it was rejected as sold out.
    pub sold_out: AtomicBool,
}

/// A snapshot of a [`QuotaBook`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BookCounts {
    /// Payments acknowledged, in tickets.
    pub paid_acked: u64,
    /// Payments with an unknown outcome, in tickets.
    pub pay_unknown: u64,
    /// Sales left half done, in tickets.
    pub abandoned: u64,
    /// A hold on it was rejected as sold out.
    pub sold_out: bool,
}

impl QuotaBook {
    /// Its counts now.
    pub fn counts(&self) -> BookCounts {
        BookCounts {
            paid_acked: self.paid_acked.load(Ordering::Relaxed),
            pay_unknown: self.pay_unknown.load(Ordering::Relaxed),
            abandoned: self.abandoned.load(Ordering::Relaxed),
            sold_out: self.sold_out.load(Ordering::Relaxed),
        }
    }
}

/// Everything measured during a run.
pub struct Recorder {
    /// Sales whose payment was acknowledged.
    pub sales: AtomicU64,
    /// Write commands answered or given up on (each command of a batch counts).
    pub commands: AtomicU64,
    /// Availability reads answered or given up on.
    pub reads: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    sale_latency: Mutex<Histogram<u64>>,
    call_latency: Mutex<BTreeMap<CallKind, Histogram<u64>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            sales: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            errors: Mutex::default(),
            sale_latency: Mutex::new(histogram()),
            call_latency: Mutex::default(),
        }
    }
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Recorder {
    /// Count `count` errors of `kind`.
    pub fn error(&self, kind: &str, count: u64) {
        *self.errors.lock().expect("errors lock").entry(kind.to_owned()).or_default() += count;
    }

    /// Record `count` paid sales that each took `latency` from their intended start.
    pub fn sales_paid(&self, latency: Duration, count: u64) {
        self.sales.fetch_add(count, Ordering::Relaxed);
        self.sale_latency.lock().expect("histogram lock").saturating_record_n(micros(latency), count);
    }

    /// Record one call (a command, a batch request or a read) that took `latency`.
    pub fn call(&self, kind: CallKind, latency: Duration) {
        self.call_latency
            .lock()
            .expect("histogram lock")
            .entry(kind)
            .or_insert_with(histogram)
            .saturating_record(micros(latency));
    }

    /// The errors by kind so far.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().expect("errors lock").clone()
    }

    /// The sale latency histogram so far.
    pub fn sale_latency(&self) -> Histogram<u64> {
        self.sale_latency.lock().expect("histogram lock").clone()
    }

    /// The call latency histograms so far, by kind.
    pub fn call_latency(&self) -> BTreeMap<CallKind, Histogram<u64>> {
        self.call_latency.lock().expect("histogram lock").clone()
    }
}
