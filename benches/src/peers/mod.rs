//! The peers benchmark: the same ticket sale, measured on systems people
//! would otherwise build a box office on.
//!
//! boxoffice's own figures mean little alone. This module drives PostgreSQL
//! (one server, and a primary with two synchronous standbys), Redis (one node
//! with an fsync'd append-only file) and etcd (three members) through a
//! pretix-like sale of three steps — reserve against the quota, create the
//! order, pay — with the client each system's own users would use, in a
//! closed loop of `clients` buyers for `secs` seconds, then reads the counts
//! back and checks the two things a box office must never do: sell more than
//! the quota, and lose a sale it acknowledged.
//!
//! Each system is one module behind [`Peer`] and [`Buyer`]; [`driver`] owns
//! the loop, the clock and the histogram; [`report`] owns the output, one JSON
//! line per run in the `boxoffice-bench/1` schema that `boxoffice-load`
//! emits too. The servers themselves are started and stopped by
//! `benches/peers/run`; nothing here starts a process.
//!
//! What this must never do: report a figure from a run whose invariant check
//! failed without saying so, or wait without a bound.

pub mod driver;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod postgres;
pub mod redis;
pub mod report;

use std::future::Future;
use std::time::Duration;

/// Longest run, in seconds.
pub const SECS_MAX: f64 = 600.0;
/// Most concurrent buyers.
pub const CLIENTS_MAX: u64 = 1_024;
/// Most quotas in the `spread` scenario.
pub const QUOTAS_MAX: u64 = 10_000;
/// How long one sale (all its steps and retries) may take before its outcome
/// is counted as unknown.
pub const SALE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting, preparing and reading back may take, each.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A system under test. The names are the `system` field of the JSON line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum System {
    /// One PostgreSQL server, `synchronous_commit=on`, `fsync=on`.
    PostgresSingle,
    /// A PostgreSQL primary with two streaming standbys, `ANY 1 (s1, s2)`.
    PostgresSync3,
    /// One Redis node, `appendonly yes`, `appendfsync always`.
    RedisAlways,
    /// Three etcd members.
    #[value(name = "etcd-3")]
    Etcd3,
}

impl System {
    /// The name in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            System::PostgresSingle => "postgres-single",
            System::PostgresSync3 => "postgres-sync3",
            System::RedisAlways => "redis-always",
            System::Etcd3 => "etcd-3",
        }
    }
}

/// What the buyers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Every buyer on one hot quota.
    Flash,
    /// Buyers spread over many quotas (`--quotas`, 1000 by default).
    Spread,
    /// etcd only: replicated puts to unique keys, no sale logic.
    Puts,
}

impl Scenario {
    /// The name in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Flash => "flash",
            Scenario::Spread => "spread",
            Scenario::Puts => "puts",
        }
    }
}

/// What one run is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// The system under test.
    pub system: System,
    /// The workload.
    pub scenario: Scenario,
    /// Addresses (`host:port`) of the system's servers; the first is the
    /// primary where there is one.
    pub endpoints: Vec<String>,
    /// Concurrent buyers, each with its own connection.
    pub clients: u64,
    /// How long the buyers run, in seconds.
    pub secs: f64,
    /// Size of each quota.
    pub quota_size: u64,
    /// How many quotas (1 for `flash`).
    pub quotas: u64,
}

/// A step's answer that is not a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sale {
    /// All three steps done: the order is paid and acknowledged.
    Sold,
    /// The quota said no at the first step: a correct answer, not a failure.
    SoldOut,
}

/// A sale that did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A short stable name (`"conflict_retries"`, `"io"`, `"timeout"`...).
    pub kind: String,
    /// Whether the sale may still have happened: a failure while paying, or a
    /// timeout. Such a sale may or may not be in the count read back.
    pub unknown: bool,
}

impl Failure {
    /// A failure that certainly left the order unpaid.
    pub fn definite(kind: impl Into<String>) -> Self {
        Failure { kind: kind.into(), unknown: false }
    }

    /// A failure whose outcome is unknown.
    pub fn unknown(kind: impl Into<String>) -> Self {
        Failure { kind: kind.into(), unknown: true }
    }
}

/// One quota as read back after the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaCount {
    /// The quota's size.
    pub size: u64,
    /// The quota's own counter of places taken (reserved, ordered or paid).
    pub taken: u64,
    /// Orders paid against this quota, counted from the orders themselves.
    pub paid: u64,
}

/// A system under test: it prepares the quotas, hands out buyers, and reads
/// the counts back.
pub trait Peer: Send + Sync + 'static {
    /// One buyer's connection.
    type Buyer: Buyer;

    /// Creates (or recreates, empty) the schema and `quotas` quotas of `size`.
    fn prepare(&self, quotas: u64, size: u64) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// A new connection for one buyer; `id` is unique per buyer in the run.
    fn buyer(&self, id: u64) -> impl Future<Output = anyhow::Result<Self::Buyer>> + Send;

    /// Every quota's counts, in quota order.
    fn read_back(&self, quotas: u64) -> impl Future<Output = anyhow::Result<Vec<QuotaCount>>> + Send;
}

/// One buyer: a connection that runs sales (or puts) one after another.
pub trait Buyer: Send + 'static {
    /// One whole sale on quota `quota` (0-based): reserve, order, pay.
    fn sale(&mut self, quota: u64) -> impl Future<Output = Result<Sale, Failure>> + Send;

    /// One replicated write of a unique key (the `puts` scenario).
    fn put(&mut self, _key: u64) -> impl Future<Output = Result<(), Failure>> + Send {
        async { Err(Failure::definite("puts_unsupported")) }
    }
}
