//! Process-wide switches that break the domain's promises on purpose, for
//! the fault-injection harness only (`boxoffice-server --planted-bug`).
//!
//! Why here: the harness must show that each of its checkers catches a
//! real violation in a real cluster, and two of them (no oversell, exactly
//! once) guard rules that live in the domain. Every replica of a planted
//! cluster sets the same switch, so the replicas still agree with each
//! other; they are simply wrong. Nothing sets these outside
//! [`crate::node::Engine::start`] with a planted bug configured.

use std::sync::atomic::{AtomicBool, Ordering};

static SKIP_CAPACITY_CHECK: AtomicBool = AtomicBool::new(false);
static FORGET_REQUESTS: AtomicBool = AtomicBool::new(false);

/// From now on, in this process, sell past a quota's size.
pub fn plant_skip_capacity_check() {
    SKIP_CAPACITY_CHECK.store(true, Ordering::Relaxed);
}

/// From now on, in this process, apply a repeated request id again instead
/// of returning its stored outcome.
pub fn plant_forget_requests() {
    FORGET_REQUESTS.store(true, Ordering::Relaxed);
}

pub(crate) fn skip_capacity_check() -> bool {
    SKIP_CAPACITY_CHECK.load(Ordering::Relaxed)
}

pub(crate) fn forget_requests() -> bool {
    FORGET_REQUESTS.load(Ordering::Relaxed)
}
