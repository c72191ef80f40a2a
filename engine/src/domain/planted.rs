//! Process-wide switches that break the domain's promises on purpose, for
//! the fault-injection harness only (`boxoffice-server --planted-bug`).
//!
//! Why here: the harness must show that each of its checkers catches a
//! real violation in a real cluster, and two of them (no oversell, exactly
//! once) guard rules that live in the domain. Every replica of a planted
//! cluster sets the same switch, so the replicas still agree with each
//! other; they are simply wrong. Nothing sets these outside
//! `Engine::start` with a planted bug configured, and they exist only in
//! builds with the `fault-injection` feature: without it the checks below
//! are constant `false` and compile away.

#[cfg(feature = "fault-injection")]
mod switches {
    use std::sync::atomic::{AtomicBool, Ordering};

    static SKIP_CAPACITY_CHECK: AtomicBool = AtomicBool::new(false);
    static FORGET_REQUESTS: AtomicBool = AtomicBool::new(false);

    /// From now on, in this process, sell past a quota's size.
    pub fn plant_skip_capacity_check() {
        SKIP_CAPACITY_CHECK.store(true, Ordering::Relaxed);
    }

    /// From now on, in this process, apply a repeated request id again
    /// instead of returning its stored outcome.
    pub fn plant_forget_requests() {
        FORGET_REQUESTS.store(true, Ordering::Relaxed);
    }

    pub(crate) fn skip_capacity_check() -> bool {
        SKIP_CAPACITY_CHECK.load(Ordering::Relaxed)
    }

    pub(crate) fn forget_requests() -> bool {
        FORGET_REQUESTS.load(Ordering::Relaxed)
    }
}

#[cfg(feature = "fault-injection")]
pub(crate) use switches::{forget_requests, skip_capacity_check};
#[cfg(feature = "fault-injection")]
pub use switches::{plant_forget_requests, plant_skip_capacity_check};

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn skip_capacity_check() -> bool {
    false
}

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn forget_requests() -> bool {
    false
}
