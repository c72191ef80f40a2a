//! The load generator behind `boxoffice-load`, as a library.
//!
//! It lives here, not in the binary, for two reasons. The tests in
//! `benches/tests/` drive the very code the binary runs (a flash sale on an
//! embedded engine that sells out, an open loop), without a process or a
//! terminal in between. And each part has one job, which a reader can check
//! on its own:
//!
//! - [`config`]: what a run is (scenario, target, closed or open loop) and
//!   every limit, named, with its unit.
//! - [`setup`]: the organizer, event, items and quotas a run sells from.
//! - [`sale`]: one sale (`PlaceHold` -> `Checkout` -> `Pay`) or one batch of
//!   sales, and what each answer means for the books.
//! - [`stats`]: what is measured while the load runs: HdrHistograms of
//!   latency, counters, errors by kind, and per quota what the generator saw
//!   acknowledged.
//! - [`check`]: the verdict at the end of every run: no oversell, no lost
//!   sale, sold out means all paid.
//! - [`report`]: the figures, as a table for people and as one JSON line
//!   (`boxoffice-bench/1`, shared with the peers benchmark).
//! - [`driver`]: the closed and open loops and [`driver::run`], which ties
//!   the rest together.
//! - [`failover`]: kill -9 the leader of a three-node cluster and time the
//!   next acknowledged write.
//!
//! What it must never do: hide a failure. A command whose outcome is
//! unknown is counted as unknown, never as failed or done; an arrival of the
//! open loop that cannot start is counted (`backlog`), never dropped; and a
//! latency is measured from when the sale was meant to start, so a slow
//! server cannot make the figures look better by slowing the generator
//! down (coordinated omission).

pub mod check;
pub mod config;
pub mod driver;
pub mod failover;
pub mod report;
pub mod sale;
pub mod setup;
pub mod stats;

pub use config::{Load, RunConfig, Scenario, Target};
pub use driver::run;
pub use report::Report;
