//! The leader's clock: what time it stamps on the commands it proposes.
//!
//! # Why not just the wall clock
//!
//! Log time (the stamps, made monotonic by the domain) decides when holds
//! and payment deadlines lapse and when request ids are forgotten. A leader
//! whose clock is an hour fast, or that jumps an hour when NTP steps it,
//! would expire every cart and forget every request id at once, so that a
//! retried checkout is decided again. The domain bounds how far one record
//! may move log time (`domain::limits::LOG_TIME_STEP_MAX_MS`); this module
//! keeps a bad clock from walking log time forward record by record.
//!
//! # How
//!
//! 1. **A majority clock.** Every Raft reply a node sends carries its wall
//!    clock (the server's transport does this); the sender turns it into
//!    an offset from its own clock, NTP style, from the round trip. The
//!    cluster's time is this node's wall clock plus the (lower) median of
//!    the offsets of itself (0) and every peer heard from within
//!    [`CLOCK_SAMPLE_FRESH_MS`]. With three nodes, one clock that is off
//!    by an hour, in either direction, is outvoted; with two fresh values
//!    the earlier one wins, because a slow clock only delays expiry, while a
//!    fast one loses carts and request ids.
//! 2. **A per-term rate guard.** Within one leadership term, stamps follow
//!    the monotonic clock from the term's first stamp: they may run at most
//!    [`CLOCK_SLEW_PPM`] faster or slower than real time, plus
//!    [`CLOCK_LEAD_MAX_MS`]. A wall clock that jumps between two samples
//!    moves nothing; a wrong majority estimate at the start of a term is
//!    corrected only slowly.
//!
//! A single node (the embedded engine) has no one to compare with: it
//! trusts its wall clock when its term starts, and the rate guard and the
//! domain's step bound protect it from jumps after that.
//!
//! Test-only (`fault-injection` feature): an offset added to this node's
//! wall clock, which the fault harness sets to skew or jump a node's clock.

use crate::raft::NodeId;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A peer's clock sample older than this is not used, in milliseconds (a few
/// heartbeats and an election timeout: a live peer answers far more often).
pub const CLOCK_SAMPLE_FRESH_MS: u64 = 3_000;

/// A sample whose round trip took longer than this is too uncertain to use,
/// in milliseconds (the offset's error is up to half the round trip).
pub const CLOCK_SAMPLE_RTT_MAX_MS: u64 = 500;

/// How much faster or slower than real time (by the monotonic clock) a
/// leader's stamps may run within one term, in parts per million: enough to
/// absorb NTP slewing, far too little to move an hour in a day.
pub const CLOCK_SLEW_PPM: u64 = 10_000;

/// How far a leader's stamps may run ahead of real time since its term's
/// first stamp, on top of the slew, in milliseconds.
pub const CLOCK_LEAD_MAX_MS: u64 = 1_000;

/// A change of this node's wall clock that differs from the monotonic
/// clock's by more than this, between two readings, is a jump (an NTP
/// step, an operator), in milliseconds. The peers' offsets, measured
/// against the old wall clock, are shifted by it at once, so the estimate
/// does not follow the jump until fresh samples arrive.
pub const CLOCK_JUMP_MIN_MS: u64 = 250;

/// Milliseconds since the Unix epoch by this machine's clock.
pub fn system_wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    offset_ms: i64,
    at: Instant,
}

#[derive(Clone, Copy, Debug)]
struct Anchor {
    term: u64,
    ms: u64,
    at: Instant,
    /// The last stamp of the term: stamps never go back within a term.
    last: u64,
}

/// This node's view of the cluster's time. Shared by the engine (stamps,
/// expiry) and the transport (samples).
#[derive(Debug, Default)]
pub struct ClusterClock {
    samples: Mutex<BTreeMap<NodeId, Sample>>,
    anchor: Mutex<Option<Anchor>>,
    /// The last wall-clock reading and when it was taken, to see jumps.
    last_reading: Mutex<Option<(u64, Instant)>>,
    #[cfg(feature = "fault-injection")]
    offset_ms: std::sync::atomic::AtomicI64,
}

fn add_signed(ms: u64, offset: i64) -> u64 {
    if offset >= 0 { ms.saturating_add(offset as u64) } else { ms.saturating_sub(offset.unsigned_abs()) }
}

impl ClusterClock {
    /// A clock with no samples yet.
    pub fn new() -> ClusterClock {
        ClusterClock::default()
    }

    /// This node's wall clock, in milliseconds since the Unix epoch (with
    /// the fault harness's offset, when built for fault tests).
    pub fn wall_ms(&self) -> u64 {
        #[cfg(feature = "fault-injection")]
        {
            let offset = self.offset_ms.load(std::sync::atomic::Ordering::Relaxed);
            add_signed(system_wall_ms(), offset)
        }
        #[cfg(not(feature = "fault-injection"))]
        system_wall_ms()
    }

    /// FAULT TESTS ONLY: skew this node's wall clock by `offset_ms` from now on.
    #[cfg(feature = "fault-injection")]
    pub fn set_offset_ms(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Read the wall clock and, if it jumped since the last reading (moved
    /// by more than [`CLOCK_JUMP_MIN_MS`] against the monotonic clock),
    /// shift every peer offset by the jump: the offsets were measured
    /// against the old reading, and the cluster's time did not jump.
    fn observe_wall(&self) -> (u64, Instant) {
        let (wall, now) = (self.wall_ms(), Instant::now());
        let mut last = self.last_reading.lock().expect("clock lock");
        if let Some((last_wall, last_at)) = *last {
            let wall_delta = wall as i64 - last_wall as i64;
            let mono_delta = now.saturating_duration_since(last_at).as_millis() as i64;
            let jump = wall_delta - mono_delta;
            if jump.unsigned_abs() > CLOCK_JUMP_MIN_MS {
                tracing::warn!(jump_ms = jump, "this node's wall clock jumped; peers' offsets shifted by it");
                for sample in self.samples.lock().expect("clock lock").values_mut() {
                    sample.offset_ms -= jump;
                }
            }
        }
        *last = Some((wall, now));
        (wall, now)
    }

    /// Record what `peer` said its clock was (`peer_wall_ms`) in a reply to a
    /// request sent at `sent_wall_ms` and answered at `received_wall_ms`,
    /// both by [`ClusterClock::wall_ms`]. Uncertain samples are dropped, and
    /// so is a sample taken across a jump of this node's clock.
    pub fn record_sample(&self, peer: NodeId, sent_wall_ms: u64, peer_wall_ms: u64, received_wall_ms: u64) {
        let (now_wall, _) = self.observe_wall();
        if now_wall.abs_diff(received_wall_ms) > CLOCK_JUMP_MIN_MS {
            return;
        }
        let Some(rtt) = received_wall_ms.checked_sub(sent_wall_ms) else { return };
        if rtt > CLOCK_SAMPLE_RTT_MAX_MS || peer_wall_ms == 0 {
            return;
        }
        let midpoint = sent_wall_ms + rtt / 2;
        let offset_ms = peer_wall_ms as i64 - midpoint as i64;
        self.samples.lock().expect("clock lock").insert(peer, Sample { offset_ms, at: Instant::now() });
    }

    /// The offset of the cluster's time from this node's wall clock: the
    /// lower median of 0 (this node) and every fresh peer offset.
    fn median_offset_ms(&self, now: Instant) -> i64 {
        let fresh = Duration::from_millis(CLOCK_SAMPLE_FRESH_MS);
        let mut offsets: Vec<i64> = vec![0];
        let mut samples = self.samples.lock().expect("clock lock");
        samples.retain(|_, sample| now.saturating_duration_since(sample.at) <= fresh);
        offsets.extend(samples.values().map(|sample| sample.offset_ms));
        drop(samples);
        offsets.sort_unstable();
        offsets[(offsets.len() - 1) / 2]
    }

    /// The cluster's time now, as this node estimates it, in milliseconds
    /// since the Unix epoch. For deciding what has lapsed, not for stamping.
    pub fn estimate_ms(&self) -> u64 {
        let (wall, now) = self.observe_wall();
        add_signed(wall, self.median_offset_ms(now))
    }

    /// The time a leader in `term` stamps on a proposal: the estimate,
    /// within the term's rate guard (see the module docs).
    pub fn stamp(&self, term: u64) -> u64 {
        let now = Instant::now();
        let estimate = self.estimate_ms();
        let mut anchor = self.anchor.lock().expect("clock lock");
        let current = match anchor.as_mut() {
            Some(current) if current.term == term => current,
            _ => anchor.insert(Anchor { term, ms: estimate, at: now, last: 0 }),
        };
        let elapsed = now.saturating_duration_since(current.at).as_millis() as u64;
        let slew = elapsed.saturating_mul(CLOCK_SLEW_PPM) / 1_000_000;
        let low = current.ms + elapsed - slew;
        let high = current.ms + elapsed + slew + CLOCK_LEAD_MAX_MS;
        let stamp = estimate.clamp(low, high).max(current.last);
        current.last = stamp;
        stamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: u64 = 3_600_000;

    #[test]
    fn one_peer_an_hour_off_is_outvoted_in_either_direction() {
        let clock = ClusterClock::new();
        let now = clock.wall_ms();
        clock.record_sample(2, now, now + HOUR_MS, now);
        clock.record_sample(3, now, now + 3, now);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms()) < 100);
        clock.record_sample(2, now, now - HOUR_MS, now);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms()) < 100);
    }

    #[test]
    fn a_node_whose_own_clock_is_an_hour_fast_follows_its_two_peers() {
        let clock = ClusterClock::new();
        let now = clock.wall_ms();
        // Both peers report a clock an hour behind ours: ours is the odd one.
        clock.record_sample(2, now, now - HOUR_MS, now);
        clock.record_sample(3, now, now - HOUR_MS + 5, now);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms() - HOUR_MS) < 100);
    }

    #[test]
    fn with_one_fresh_peer_the_earlier_clock_wins() {
        let clock = ClusterClock::new();
        let now = clock.wall_ms();
        clock.record_sample(2, now, now + HOUR_MS, now);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms()) < 100, "a fast peer is not followed");
        clock.record_sample(2, now, now - HOUR_MS, now);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms() - HOUR_MS) < 100, "a slow one is");
    }

    #[test]
    fn samples_with_a_long_round_trip_are_not_used() {
        let clock = ClusterClock::new();
        let now = clock.wall_ms();
        clock.record_sample(2, now, now - HOUR_MS, now + CLOCK_SAMPLE_RTT_MAX_MS + 1);
        assert!(clock.estimate_ms().abs_diff(clock.wall_ms()) < 100);
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_jump_of_this_nodes_clock_is_not_followed_even_before_fresh_samples() {
        let clock = ClusterClock::new();
        let now = clock.wall_ms();
        clock.record_sample(2, now, now + 2, now);
        clock.record_sample(3, now, now + 3, now);
        let before = clock.estimate_ms();
        clock.set_offset_ms(61 * 60 * 1000);
        assert!(clock.estimate_ms().abs_diff(before) < 100, "the estimate followed the jump");
        clock.set_offset_ms(-61 * 60 * 1000);
        assert!(clock.estimate_ms().abs_diff(before) < 100, "or the jump back");
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_wall_clock_jump_within_a_term_does_not_move_the_stamps() {
        let clock = ClusterClock::new();
        let first = clock.stamp(7);
        clock.set_offset_ms(61 * 60 * 1000);
        let after = clock.stamp(7);
        assert!(after - first <= CLOCK_LEAD_MAX_MS + 100, "stamp moved {} ms", after - first);
        clock.set_offset_ms(-61 * 60 * 1000);
        assert!(clock.stamp(7) >= after, "nor back");
        // A new term starts from the (now skewed) estimate: one node alone has nothing to compare with.
        assert!(clock.stamp(8) < first);
    }
}
