//! What a run is, and the bound on every part of it.
//!
//! Every count, size and duration a user can set has a named maximum here,
//! with its unit; the binary turns each into a clap range check, and
//! [`RunConfig::validate`] checks them again for callers of the library.

use boxoffice_client::BATCH_REQUEST_COMMANDS_MAX;
use boxoffice_client::domain::limits;
use std::path::PathBuf;

/// Longest load phase of one run, in seconds.
pub const RUN_SECS_MAX: u64 = 600;
/// After the load phase, how long sales already started may take to finish,
/// in seconds. A command still running then is cut short and counted as
/// `timeout` (its outcome is unknown), so a run always stops by itself.
pub const DRAIN_SECS: u64 = 30;
/// Most concurrent clients of a closed loop.
pub const CLIENTS_MAX: u64 = 4_096;
/// Default concurrent clients of a closed loop.
pub const CLIENTS_DEFAULT: u64 = 64;
/// Highest arrival rate of an open loop, in arrivals per second.
pub const RATE_PER_SEC_MAX: u64 = 1_000_000;
/// Most arrivals of an open loop in flight at once. An arrival due while
/// this many are running is not started: it is counted as an error of kind
/// `backlog`. The bound keeps an overloaded target from making the
/// generator itself run out of memory.
pub const OPEN_LOOP_IN_FLIGHT_MAX: u64 = 4_096;
/// Largest quota, in tickets (the domain's own limit).
pub const QUOTA_SIZE_MAX: u64 = limits::QUOTA_SIZE_MAX;
/// Default size of each quota, in tickets.
pub const QUOTA_SIZE_DEFAULT: u64 = 100_000;
/// Most quotas of a `spread` or `browse` run (each has its own item).
pub const QUOTAS_MAX: u64 = 10_000;
/// Default number of quotas of a `spread` or `browse` run.
pub const QUOTAS_DEFAULT: u64 = 1_000;
/// Most sales per request of the `batch` scenario: one `SubmitBatch` carries
/// at most this many commands.
pub const BATCH_SALES_MAX: u64 = BATCH_REQUEST_COMMANDS_MAX as u64;
/// Default sales per request of the `batch` scenario.
pub const BATCH_SALES_DEFAULT: u64 = 100;
/// Share of `browse` operations that are stale availability reads, in percent
/// (the rest are sales).
pub const BROWSE_READ_PERCENT: u32 = 90;
/// Time to live of every hold, in milliseconds: the domain's maximum, longer
/// than any run and its drain, so a hold left behind by a failed sale never
/// lapses during a run and the end-of-run check can count it as held.
pub const HOLD_TTL_MS: u64 = limits::HOLD_TTL_MS_MAX;
/// Payment deadline of every order, in milliseconds; longer than any run for
/// the same reason as [`HOLD_TTL_MS`].
pub const PAYMENT_TTL_MS: u64 = 60 * 60 * 1_000;

const _: () = assert!(HOLD_TTL_MS > (RUN_SECS_MAX + DRAIN_SECS) * 1_000, "holds must outlive a run");
const _: () = assert!(PAYMENT_TTL_MS > (RUN_SECS_MAX + DRAIN_SECS) * 1_000, "orders must outlive a run");

/// What the simulated buyers do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Every buyer buys from one hot quota: `PlaceHold` (1 ticket) ->
    /// `Checkout` -> `Pay`, until it is sold out.
    Flash,
    /// The same over many quotas; each sale picks a quota at random among
    /// those not yet sold out.
    Spread,
    /// 90% stale availability reads of a random quota, 10% sales.
    Browse,
    /// Sales in batches: `SubmitBatch` of N holds, then of their checkouts,
    /// then of their payments, on one hot quota.
    Batch,
}

impl Scenario {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Flash => "flash",
            Scenario::Spread => "spread",
            Scenario::Browse => "browse",
            Scenario::Batch => "batch",
        }
    }

    /// True if it sells from many quotas (`--quotas`), false for one hot quota.
    pub fn many_quotas(self) -> bool {
        matches!(self, Scenario::Spread | Scenario::Browse)
    }
}

/// Where the commands go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// An engine in this process, on this data directory (`None`: a fresh
    /// temporary directory, removed after the run).
    Embedded(Option<PathBuf>),
    /// A running node or cluster, by gRPC address.
    Remote(Vec<String>),
}

impl Target {
    /// The `system` of a report: `boxoffice-embedded`, `boxoffice-node1` or
    /// `boxoffice-cluster<N>`.
    pub fn system(&self) -> String {
        match self {
            Target::Embedded(_) => "boxoffice-embedded".into(),
            Target::Remote(endpoints) if endpoints.len() == 1 => "boxoffice-node1".into(),
            Target::Remote(endpoints) => format!("boxoffice-cluster{}", endpoints.len()),
        }
    }
}

/// How work arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// A fixed number of clients, each starting its next operation when the
    /// last one is answered.
    Closed {
        /// Concurrent clients.
        clients: u64,
    },
    /// Operations start on a fixed schedule, answered or not; each one's
    /// latency counts from when it was due.
    Open {
        /// Arrivals per second (an arrival is a sale, a read of `browse`, or
        /// one batch of `batch`).
        rate_per_sec: u64,
    },
}

/// One run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// What the buyers do.
    pub scenario: Scenario,
    /// Where the commands go.
    pub target: Target,
    /// Closed or open loop.
    pub load: Load,
    /// Length of the load phase, in seconds (it ends sooner once everything is sold out).
    pub secs: u64,
    /// Size of each quota, in tickets.
    pub quota_size: u64,
    /// Number of quotas of `spread` and `browse` (the others use one).
    pub quotas: u64,
    /// Sales per request of `batch`.
    pub batch: u64,
    /// Check out with the buyer's contact (`CheckoutWithContact`), as the shop does.
    pub contact: bool,
    /// Let a remote client coalesce concurrent commands into batches.
    pub coalesce: bool,
    /// Seed of the operation mix and the quota choice.
    pub seed: u64,
    /// Draw a progress bar on stderr (hidden anyway when it is not a terminal).
    pub progress: bool,
}

impl RunConfig {
    /// A closed-loop flash sale on a fresh embedded engine, with the defaults.
    pub fn new(scenario: Scenario) -> RunConfig {
        RunConfig {
            scenario,
            target: Target::Embedded(None),
            load: Load::Closed { clients: CLIENTS_DEFAULT },
            secs: 10,
            quota_size: QUOTA_SIZE_DEFAULT,
            quotas: QUOTAS_DEFAULT,
            batch: BATCH_SALES_DEFAULT,
            contact: false,
            coalesce: true,
            seed: 1,
            progress: false,
        }
    }

    /// How many quotas the run sells from.
    pub fn quota_count(&self) -> u64 {
        if self.scenario.many_quotas() { self.quotas } else { 1 }
    }

    /// Every limit of this module, checked.
    pub fn validate(&self) -> anyhow::Result<()> {
        let within = |what: &str, value: u64, max: u64| {
            anyhow::ensure!((1..=max).contains(&value), "{what} must be in 1..={max}, not {value}");
            Ok(())
        };
        within("secs", self.secs, RUN_SECS_MAX)?;
        within("quota size", self.quota_size, QUOTA_SIZE_MAX)?;
        within("quotas", self.quotas, QUOTAS_MAX)?;
        within("batch", self.batch, BATCH_SALES_MAX)?;
        match self.load {
            Load::Closed { clients } => within("clients", clients, CLIENTS_MAX)?,
            Load::Open { rate_per_sec } => within("rate", rate_per_sec, RATE_PER_SEC_MAX)?,
        }
        if let Target::Remote(endpoints) = &self.target {
            anyhow::ensure!(!endpoints.is_empty(), "no endpoints given");
        }
        Ok(())
    }
}
