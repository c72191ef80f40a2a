//! Process-wide switches that break the domain's promises on purpose, for
//! the fault-injection harness only (`boxoffice-server --planted-bug`).
//!
//! Why here: the harness must show that each of its checkers catches a
//! real violation in a real cluster, and four of them (no oversell, exactly
//! once, no seat sold twice, waiting-list order) guard rules that live in
//! the domain. Every replica of a planted
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
    static DOUBLE_SEAT: AtomicBool = AtomicBool::new(false);
    static SKIP_THE_LINE: AtomicBool = AtomicBool::new(false);

    /// From now on, in this process, sell past a quota's size.
    pub fn plant_skip_capacity_check() {
        SKIP_CAPACITY_CHECK.store(true, Ordering::Relaxed);
    }

    /// From now on, in this process, apply a repeated request id again
    /// instead of returning its stored outcome.
    pub fn plant_forget_requests() {
        FORGET_REQUESTS.store(true, Ordering::Relaxed);
    }

    /// From now on, in this process, hold named seats without asking
    /// whether someone else has them (and let the state take them anyway).
    pub fn plant_double_seat() {
        DOUBLE_SEAT.store(true, Ordering::Relaxed);
    }

    /// From now on, in this process, serve each item's waiting list from
    /// the back: the last entry in line is offered first.
    pub fn plant_skip_the_line() {
        SKIP_THE_LINE.store(true, Ordering::Relaxed);
    }

    pub(crate) fn double_seat() -> bool {
        DOUBLE_SEAT.load(Ordering::Relaxed)
    }

    pub(crate) fn skip_the_line() -> bool {
        SKIP_THE_LINE.load(Ordering::Relaxed)
    }

    pub(crate) fn skip_capacity_check() -> bool {
        SKIP_CAPACITY_CHECK.load(Ordering::Relaxed)
    }

    pub(crate) fn forget_requests() -> bool {
        FORGET_REQUESTS.load(Ordering::Relaxed)
    }
}

#[cfg(feature = "fault-injection")]
pub(crate) use switches::{double_seat, forget_requests, skip_capacity_check, skip_the_line};
#[cfg(feature = "fault-injection")]
pub use switches::{
    plant_double_seat, plant_forget_requests, plant_skip_capacity_check, plant_skip_the_line,
};

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn skip_capacity_check() -> bool {
    false
}

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn forget_requests() -> bool {
    false
}

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn double_seat() -> bool {
    false
}

#[cfg(not(feature = "fault-injection"))]
pub(crate) const fn skip_the_line() -> bool {
    false
}
