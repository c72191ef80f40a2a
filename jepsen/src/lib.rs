//! boxoffice-jepsen: fault injection against real `boxoffice-server`
//! processes, in the manner of Jepsen.
//!
//! A run starts a cluster of real server processes on loopback addresses,
//! with a controllable TCP proxy on every link (node to node, client to
//! node), drives client workloads while a nemesis injects faults, records
//! every operation to a history, and hands the history and the replicas'
//! final state to checkers, one invariant each.
//!
//! - [`proxy`]: per-link proxies (pass, refuse, black hole, latency).
//! - [`cluster`]: the processes under test and their links.
//! - [`nemesis`]: the faults beyond links and signals: clocks, flipped
//!   bytes, crashes during snapshots.
//! - [`history`]: invocations and completions, as JSON lines.
//! - [`checker`]: the invariants.
//! - [`workload`]: the clients (flash buyers, mixed shoppers, hostile clients)
//!   and the rounds of hot quotas that keep them contending.
//! - [`report`]: plots of latency and throughput over time, faults shaded;
//!   per quota, when it sold out and what was decided inside fault windows.
//!
//! What it must never do: call a timeout a failure. An operation whose
//! outcome is unknown is recorded as `info`, and checkers allow both.

pub mod checker;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod proxy;
pub mod report;
pub mod workload;
