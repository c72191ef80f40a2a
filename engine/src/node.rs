//! `Engine`: one boxoffice node running in-process, the handle the server
//! and the embedded client use.
//!
//! It owns the openraft instance, its log and state machine, and two tasks:
//!
//! - the **batcher**: client commands queue up (bounded by
//!   [`SUBMIT_QUEUE_MAX`]); whatever is queued when the batcher wakes (up to
//!   `batch_commands_max`) is stamped with the leader's clock and proposed
//!   as one Raft entry, with up to `proposals_in_flight_max` entries in
//!   flight. Under a spike, batches grow by themselves: batching, not
//!   locking.
//! - the **expirer**: on the leader, every `expire_interval_ms`, if some hold
//!   or order has lapsed it proposes an `Expire` command. Correctness never
//!   waits for it (lapsed holds stop counting at once); it keeps the
//!   bookkeeping small.
//!
//! The engine never decides anything itself: the domain does, on every node.
//! It never answers a write before the entry is committed and applied.

use crate::clock::ClusterClock;
use crate::codec;
use crate::disk::{self, DISK_FREE_MIN_BYTES};
use crate::domain::limits::LOG_TIME_STEP_MAX_MS;
use crate::domain::{Command, Envelope, RequestId};
use crate::log::{FsyncObserver, LogOpenError, LogStore};
use crate::raft::{AppliedOutcome, NodeId, NodeInfo, Proposal, Raft, TypeConfig};
use crate::store::{Applied, Shared, StateMachineStore, StoreOpenError};
use openraft::error::{ClientWriteError, InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{Config, ServerState, SnapshotPolicy};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Most commands waiting for the batcher. Past this, submissions are
/// refused with [`SubmitError::Busy`] (not stored; the client may retry).
pub const SUBMIT_QUEUE_MAX: usize = 65_536;

/// Most log entries kept behind the last snapshot for followers that lag a little.
pub const SNAPSHOT_LOG_KEPT_ENTRIES_MAX: u64 = 1_000;

/// Above this size of the last snapshot, in bytes (16 MiB), a snapshot is
/// built only once the records applied since are a share of it
/// ([`SNAPSHOT_LOG_SHARE_PERCENT`]), not every `snapshot_every_entries`
/// entries alone. Below it, the entry count decides, as before.
pub const SNAPSHOT_ADAPTIVE_FLOOR_BYTES: u64 = 16 * 1024 * 1024;

/// Past [`SNAPSHOT_ADAPTIVE_FLOOR_BYTES`], the bytes of records applied since
/// the last snapshot must reach this share of its size, in percent, before
/// the next one. A snapshot costs its whole size (copy, encode, write,
/// fsync); paying it every fixed number of entries made the cost of
/// snapshots grow with the square of the history (a 10-minute peak flash
/// sale built a 320 MB snapshot every 30 s on every node, and elections
/// followed). With this rule, the bytes snapshots write stay within twice
/// the bytes of records applied, and the log kept behind them within half
/// a snapshot.
pub const SNAPSHOT_LOG_SHARE_PERCENT: u64 = 50;

/// How often the snapshot policy is checked, in milliseconds.
pub const SNAPSHOT_CHECK_MS: u64 = 100;

/// How long a requested snapshot may take before it is requested again, in
/// milliseconds (openraft ignores a request while a build runs).
pub const SNAPSHOT_REQUEST_AGAIN_MS: u64 = 30_000;

/// How long `shutdown` waits for openraft's tasks to release the store, in milliseconds.
pub const SHUTDOWN_WAIT_MS: u64 = 5_000;

/// How long a linearizable read may wait for the leader to confirm itself.
pub const READ_TIMEOUT_MS: u64 = 5_000;

/// How long a proposal waits for Raft to commit and apply it, in
/// milliseconds. Past it, its submitters hear `Unavailable` (outcome unknown:
/// the entry may still commit, and a retry under the same request id learns
/// its outcome), and its in-flight slot is freed. Without the bound, a
/// `client_write` that openraft never answers (a leader change under a
/// black-holed zone left some pending in a fault run) held its slot forever;
/// once all `proposals_in_flight_max` were held, the node never proposed
/// again while Raft itself stayed healthy, so no election replaced it.
pub const PROPOSAL_WAIT_MS: u64 = 5_000;

/// How often a leader handing over checks its followers' progress, in milliseconds.
pub const HANDOVER_POLL_MS: u64 = 2;

/// Largest encoded command (an envelope) accepted, in bytes. The domain's
/// limits keep real ones to a few kilobytes; this bounds what reaches the
/// batcher whatever the door let through.
pub const ENVELOPE_BYTES_MAX: usize = 64 * 1024;

/// Most bytes of encoded commands in one Raft entry. Well under the codec's
/// `RECORD_BYTES_MAX` (4 MiB) for a log entry, so a proposal always fits on
/// disk: no request can make an entry that the log cannot store, which
/// would stop Raft on every leader in turn.
pub const PROPOSAL_BYTES_MAX: usize = 512 * 1024;

/// Most log entries in one AppendEntries message: at most 4 MiB with
/// [`PROPOSAL_BYTES_MAX`] per entry. openraft 0.9 gives each AppendEntries
/// one heartbeat interval to be answered (the follower's fsync included),
/// so a message must be small enough to cross and reach the disk in that
/// time; 4 MiB does in well under the 40 ms default on loopback. (It used
/// to be 64 entries, up to 32 MiB, which a catching-up follower could never
/// receive inside a short heartbeat.) Under load the leader has at most
/// `proposals_in_flight_max` new entries per round anyway.
pub const APPEND_ENTRIES_MAX: u64 = 8;
const _: () = assert!(
    APPEND_ENTRIES_MAX * PROPOSAL_BYTES_MAX as u64 <= crate::codec::RAFT_MESSAGE_BYTES_MAX as u64 / 2
);

/// Tuning of one node. [`EngineConfig::new`] gives the values the server
/// uses, except the Raft timeouts: the server sets those from its own flags
/// (40 ms heartbeat, 160-200 ms election timeout by default), while these
/// defaults (150 ms, 750-1,500 ms) suit engines that tests start by hand.
#[derive(Clone)]
pub struct EngineConfig {
    /// This node's id (unique in the cluster, never reused).
    pub node_id: NodeId,
    /// How others reach this node, and its zone.
    pub node: NodeInfo,
    /// Where the log and state machine live.
    pub data_dir: PathBuf,
    /// Leader heartbeat, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A follower that hears no leader for a random time in this range starts an election.
    pub election_timeout_min_ms: u64,
    /// See `election_timeout_min_ms`.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot (and purge the log before it) every this many log
    /// entries; past [`SNAPSHOT_ADAPTIVE_FLOOR_BYTES`] of snapshot, also only
    /// once the records since are [`SNAPSHOT_LOG_SHARE_PERCENT`] of it.
    pub snapshot_every_entries: u64,
    /// Most commands in one Raft entry.
    pub batch_commands_max: usize,
    /// Most Raft entries proposed and not yet applied.
    pub proposals_in_flight_max: usize,
    /// How often the leader checks for lapsed holds and orders, in milliseconds.
    pub expire_interval_ms: u64,
    /// Called with each log fsync's duration.
    pub fsync_observer: Option<FsyncObserver>,
    /// This node's view of the cluster's time (see [`crate::clock`]); the
    /// transport feeds it peers' clocks.
    pub clock: Arc<ClusterClock>,
    /// A bug planted on purpose, for fault tests that must show a checker
    /// catches it. Only in builds with the `fault-injection` feature.
    #[cfg(feature = "fault-injection")]
    pub planted_bug: Option<PlantedBug>,
    /// Refuse to start, and stop appending to the Raft log, while the data
    /// filesystem has less than this free, in bytes (see [`crate::disk`]).
    pub disk_free_min_bytes: u64,
}

/// Bugs the fault-injection harness can plant, to prove its checkers work.
/// Each breaks one promise; `boxoffice-server --planted-bug NAME` sets one.
/// Only in builds with the `fault-injection` feature.
#[cfg(feature = "fault-injection")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// Answer a command as soon as the leader has decided it on a private
    /// copy of its state, before Raft has committed (or even replicated) it:
    /// a leader crash then loses acknowledged writes, and concurrent
    /// commands may be told outcomes the log never records.
    AckBeforeCommit,
    /// Skip the capacity check: quotas are sold past their size (on every
    /// replica alike).
    Oversell,
    /// Forget request ids: a retried command is applied again instead of
    /// returning its stored outcome.
    ForgetRequests,
    /// A seated hold of named seats skips the "seat is taken" check (and
    /// the state takes the seats anyway): a seat is sold twice.
    DoubleSeat,
    /// The waiting list is served from the back of each item's line: the
    /// last entry in line is offered the freed ticket first.
    SkipTheLine,
    /// Every node except node 1 skips the commands of every
    /// [`DIVERGE_EVERY_ENTRIES`]th log entry it applies: replicas diverge.
    Diverge,
    /// On start, cut the Raft log at the first frame that does not decode,
    /// wherever it is, as the log did before it told corruption from a torn
    /// tail: fsynced, acknowledged entries after a flipped bit are lost.
    TruncateOnCorruption,
}

/// With `PlantedBug::Diverge`, the interval (in log entries) at which a
/// node skips an entry.
pub const DIVERGE_EVERY_ENTRIES: u64 = 50;

#[cfg(feature = "fault-injection")]
impl PlantedBug {
    /// Every planted bug, in the order `--help` lists them.
    pub const ALL: [PlantedBug; 7] = [
        PlantedBug::AckBeforeCommit,
        PlantedBug::Oversell,
        PlantedBug::ForgetRequests,
        PlantedBug::DoubleSeat,
        PlantedBug::SkipTheLine,
        PlantedBug::Diverge,
        PlantedBug::TruncateOnCorruption,
    ];

    /// The bug's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PlantedBug::AckBeforeCommit => "ack-before-commit",
            PlantedBug::Oversell => "oversell",
            PlantedBug::ForgetRequests => "forget-requests",
            PlantedBug::DoubleSeat => "double-seat",
            PlantedBug::SkipTheLine => "skip-the-line",
            PlantedBug::Diverge => "diverge",
            PlantedBug::TruncateOnCorruption => "truncate-on-corruption",
        }
    }
}

#[cfg(feature = "fault-injection")]
impl std::str::FromStr for PlantedBug {
    type Err = String;

    fn from_str(name: &str) -> Result<PlantedBug, String> {
        PlantedBug::ALL.into_iter().find(|bug| bug.name() == name).ok_or_else(|| {
            let known: Vec<&str> = PlantedBug::ALL.iter().map(|bug| bug.name()).collect();
            format!("unknown bug `{name}` (known: {})", known.join(", "))
        })
    }
}

impl EngineConfig {
    /// Defaults for a node with this id, address and zone, storing under `data_dir`.
    pub fn new(node_id: NodeId, node: NodeInfo, data_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            node_id,
            node,
            data_dir: data_dir.into(),
            heartbeat_interval_ms: 150,
            election_timeout_min_ms: 750,
            election_timeout_max_ms: 1_500,
            snapshot_every_entries: 5_000,
            batch_commands_max: 512,
            proposals_in_flight_max: 8,
            expire_interval_ms: 1_000,
            fsync_observer: None,
            clock: Arc::new(ClusterClock::new()),
            #[cfg(feature = "fault-injection")]
            planted_bug: None,
            disk_free_min_bytes: DISK_FREE_MIN_BYTES,
        }
    }
}

/// Why a node could not start or be initialized.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The Raft log did not open.
    #[error(transparent)]
    Log(#[from] LogOpenError),
    /// The state machine did not open.
    #[error(transparent)]
    Store(#[from] StoreOpenError),
    /// Another process holds the data directory, or it cannot be locked.
    #[error(transparent)]
    Lock(#[from] crate::lock::LockError),
    /// The data filesystem has too little free space to start safely, or
    /// cannot be inspected.
    #[error("data directory: {0}")]
    Disk(std::io::Error),
    /// openraft refused the configuration or failed.
    #[error("raft: {0}")]
    Raft(String),
}

/// Why a submitted command has no outcome. Only [`SubmitError::Unavailable`]
/// leaves the outcome unknown (the command may or may not have taken effect,
/// and a retry with the same request id finds out); every other variant
/// says for sure that this call stored nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// This node is not the leader; the leader, if known.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader's id and address, if this node knows it.
        leader: Option<(NodeId, NodeInfo)>,
    },
    /// The submit queue is full: try again shortly. Nothing was stored.
    #[error("busy, try again")]
    Busy,
    /// The command breaks a limit of the domain that needs no state to
    /// check ([`Command::validate`]). Nothing was stored.
    #[error("invalid command: {0:?}")]
    Invalid(crate::domain::InvalidInput),
    /// The command, encoded, is larger than one command may be. Nothing was stored.
    #[error("command of {bytes} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Its encoded size, in bytes.
        bytes: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The node is shutting down or Raft failed: outcome unknown.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Confirmed by the leader with a quorum; only the leader serves it.
    Linearizable,
    /// This node's applied state, whatever its lag (the applied index says how fresh).
    Stale,
}

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// A linearizable read on a node that is not the leader.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader {
        /// The leader's id and address, if known.
        leader: Option<(NodeId, NodeInfo)>,
    },
    /// The leader could not confirm itself in time, or Raft failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

struct Submission {
    request_id: RequestId,
    command: Command,
    /// Its encoded size as an envelope, in bytes (stamp included).
    bytes: usize,
    reply: oneshot::Sender<Result<AppliedOutcome, SubmitError>>,
}

/// A running node.
pub struct Engine {
    raft: Raft,
    commit_index: Arc<AtomicU64>,
    shared: Arc<Shared>,
    submit: mpsc::Sender<Submission>,
    config: EngineConfig,
    stop: watch::Sender<bool>,
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// The data directory held no Raft state when the engine started.
    blank: bool,
    /// This leader is handing over before it stops: new writes are refused.
    stepping_down: AtomicBool,
    /// Held for the engine's life: no other process opens this data directory.
    _lock: crate::lock::DataDirLock,
}

/// Milliseconds since the Unix epoch by this machine's clock. The leader
/// stamps commands with [`ClusterClock::stamp`], not with this.
pub fn wall_clock_ms() -> u64 {
    crate::clock::system_wall_ms()
}

/// The leader to send a caller to: only one whose address is known (a
/// leader without one is as good as none: the caller waits for the election
/// to settle instead of dialing nowhere).
fn forward_to_leader(leader_id: Option<NodeId>, leader_node: Option<NodeInfo>) -> Option<(NodeId, NodeInfo)> {
    let node = leader_node.filter(|node| !node.addr.is_empty())?;
    Some((leader_id?, node))
}

impl Engine {
    /// Start a node with the given network (the server's gRPC transport).
    pub async fn start<N: RaftNetworkFactory<TypeConfig>>(
        config: EngineConfig,
        network: N,
    ) -> Result<Engine, EngineError> {
        let raft_config = Config {
            cluster_name: "boxoffice".into(),
            heartbeat_interval: config.heartbeat_interval_ms,
            election_timeout_min: config.election_timeout_min_ms,
            election_timeout_max: config.election_timeout_max_ms,
            // Our own policy, `snapshotter`, asks for snapshots.
            snapshot_policy: SnapshotPolicy::Never,
            // Keep some log behind the snapshot for slow followers, but never
            // more than one snapshot interval: past that, a snapshot is cheaper.
            max_in_snapshot_log_to_keep: config.snapshot_every_entries.min(SNAPSHOT_LOG_KEPT_ENTRIES_MAX),
            install_snapshot_timeout: 10_000,
            max_payload_entries: APPEND_ENTRIES_MAX,
            ..Config::default()
        }
        .validate()
        .map_err(|e| EngineError::Raft(e.to_string()))?;
        // Before reading anything: one process per data directory.
        let lock = crate::lock::DataDirLock::acquire(
            &config.data_dir,
            Duration::from_millis(crate::lock::DATA_DIR_LOCK_WAIT_MS),
        )?;
        disk::ensure_free(&config.data_dir, config.disk_free_min_bytes).map_err(EngineError::Disk)?;
        #[cfg_attr(not(feature = "fault-injection"), allow(unused_mut))]
        let mut recovery = crate::log::Recovery::Strict;
        #[cfg(feature = "fault-injection")]
        if config.planted_bug == Some(PlantedBug::TruncateOnCorruption) {
            recovery = crate::log::Recovery::TruncateAtFirstBadFrame;
        }
        let log = LogStore::open_with(config.data_dir.join("log"), config.fsync_observer.clone(), recovery)?;
        log.set_disk_free_min(config.disk_free_min_bytes);
        let commit_index = log.commit_index();
        let log_pristine = log.is_pristine();
        // The domain's switches go first: opening the state machine may
        // replay records that only a planted domain accepts (a seat sold twice).
        #[cfg(feature = "fault-injection")]
        match config.planted_bug {
            Some(PlantedBug::Oversell) => crate::domain::planted::plant_skip_capacity_check(),
            Some(PlantedBug::ForgetRequests) => crate::domain::planted::plant_forget_requests(),
            Some(PlantedBug::DoubleSeat) => crate::domain::planted::plant_double_seat(),
            Some(PlantedBug::SkipTheLine) => crate::domain::planted::plant_skip_the_line(),
            _ => {}
        }
        #[cfg_attr(not(feature = "fault-injection"), allow(unused_mut))]
        let mut sm = StateMachineStore::open(config.data_dir.join("sm"))?;
        #[cfg(feature = "fault-injection")]
        if config.planted_bug == Some(PlantedBug::Diverge) && config.node_id != 1 {
            sm.plant_divergence(DIVERGE_EVERY_ENTRIES);
        }
        // The log purges its files only up to a durable snapshot.
        log.set_purge_gate(sm.durable_snapshot());
        let shared = sm.shared();
        let blank = log_pristine && shared.read(|a| a.last_applied.is_none() && a.state.last_seq == 0);
        let raft = Raft::new(config.node_id, Arc::new(raft_config), network, log, sm)
            .await
            .map_err(|e| EngineError::Raft(e.to_string()))?;
        let (submit, queue) = mpsc::channel(SUBMIT_QUEUE_MAX);
        let (stop, _) = watch::channel(false);
        let engine = Engine {
            raft,
            commit_index,
            shared,
            submit,
            config,
            stop,
            tasks: Default::default(),
            blank,
            stepping_down: AtomicBool::new(false),
            _lock: lock,
        };
        let batcher = tokio::spawn(batcher(
            Batcher {
                raft: engine.raft.clone(),
                clock: engine.config.clock.clone(),
                batch_max: engine.config.batch_commands_max,
                in_flight_max: engine.config.proposals_in_flight_max,
                #[cfg(feature = "fault-injection")]
                ack_before_commit: (engine.config.planted_bug == Some(PlantedBug::AckBeforeCommit))
                    .then(|| engine.shared.clone()),
            },
            queue,
        ));
        let expirer = tokio::spawn(expirer(
            engine.raft.clone(),
            engine.shared.clone(),
            engine.config.clock.clone(),
            engine.submit.clone(),
            engine.config.expire_interval_ms,
            engine.stop.subscribe(),
        ));
        let snapshotter = tokio::spawn(snapshotter(
            engine.raft.clone(),
            engine.shared.clone(),
            engine.config.snapshot_every_entries,
            engine.stop.subscribe(),
        ));
        engine.tasks.lock().expect("tasks lock").extend([batcher, expirer, snapshotter]);
        Ok(engine)
    }

    /// Start a single-node engine on `data_dir` (the embedded transport),
    /// initializing a new cluster of one on first start.
    pub async fn start_single(data_dir: impl Into<PathBuf>) -> Result<Engine, EngineError> {
        let node = NodeInfo { addr: "embedded".into(), zone: "local".into() };
        let mut config = EngineConfig::new(1, node.clone(), data_dir);
        // Alone, nobody else can be the leader: elect at once.
        config.election_timeout_min_ms = 150;
        config.election_timeout_max_ms = 300;
        config.heartbeat_interval_ms = 50;
        let engine = Engine::start(config, NoNetwork).await?;
        if !engine.raft.is_initialized().await.map_err(|e| EngineError::Raft(e.to_string()))? {
            engine.initialize(BTreeMap::from([(1, node)])).await?;
        }
        engine
            .raft
            .wait(Some(Duration::from_secs(10)))
            .state(ServerState::Leader, "single node becomes leader")
            .await
            .map_err(|e| EngineError::Raft(e.to_string()))?;
        Ok(engine)
    }

    /// Bootstrap a new cluster with these members (once, on one node).
    pub async fn initialize(&self, members: BTreeMap<NodeId, NodeInfo>) -> Result<(), EngineError> {
        self.raft.initialize(members).await.map_err(|e| EngineError::Raft(e.to_string()))
    }

    /// Submit one command and wait until it is committed and applied. A
    /// command that breaks a state-free limit, or is too large, is refused
    /// here, for this caller alone, before anything is proposed.
    pub async fn submit(
        &self,
        request_id: RequestId,
        command: Command,
    ) -> Result<AppliedOutcome, SubmitError> {
        command.validate().map_err(SubmitError::Invalid)?;
        if self.stepping_down.load(Ordering::SeqCst) {
            // Handing over: no leader to name yet; the caller polls for the next one.
            return Err(SubmitError::NotLeader { leader: None });
        }
        let envelope = Envelope { time_ms: u64::MAX, request_id, command };
        let bytes = codec::encode_envelope(&envelope)
            .map_err(|_| SubmitError::TooLarge { bytes: usize::MAX, max: ENVELOPE_BYTES_MAX })?
            .len();
        if bytes > ENVELOPE_BYTES_MAX {
            return Err(SubmitError::TooLarge { bytes, max: ENVELOPE_BYTES_MAX });
        }
        let command = envelope.command;
        let (reply, wait) = oneshot::channel();
        self.submit.try_send(Submission { request_id, command, bytes, reply }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SubmitError::Busy,
            mpsc::error::TrySendError::Closed(_) => SubmitError::Unavailable("engine stopped".into()),
        })?;
        wait.await.map_err(|_| SubmitError::Unavailable("engine stopped".into()))?
    }

    /// Before this leader stops: refuse new writes (callers are told there
    /// is no leader yet, and retry), and wait, at most `wait`, until a voter
    /// has every entry of the log. Returns the most up-to-date voter other
    /// than this node, the one to hand leadership to; `None` if this node
    /// does not lead or leads alone.
    pub async fn prepare_handover(&self, wait: Duration) -> Option<NodeId> {
        if self.raft.metrics().borrow().state != ServerState::Leader {
            return None;
        }
        self.stepping_down.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let metrics = self.raft.metrics().borrow().clone();
            let voters: Vec<NodeId> = metrics.membership_config.membership().voter_ids().collect();
            let last = metrics.last_log_index.unwrap_or(0);
            let best = metrics.replication.as_ref().and_then(|replication| {
                replication
                    .iter()
                    .filter(|(id, _)| **id != self.config.node_id && voters.contains(id))
                    .map(|(id, matched)| (matched.map_or(0, |m| m.index), *id))
                    .max()
            });
            match best {
                None => return None,
                Some((matched, id)) if matched >= last || tokio::time::Instant::now() >= deadline => {
                    tracing::info!(
                        target_node = id,
                        matched,
                        last,
                        "handover: node {id} is the most up-to-date voter; it will stand for election"
                    );
                    return Some(id);
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(HANDOVER_POLL_MS)).await,
            }
        }
    }

    /// Submit many commands at once; they are batched together. Results in order.
    pub async fn submit_many(
        &self,
        commands: Vec<(RequestId, Command)>,
    ) -> Vec<Result<AppliedOutcome, SubmitError>> {
        futures::future::join_all(commands.into_iter().map(|(id, command)| self.submit(id, command))).await
    }

    /// Read the applied state with the given consistency.
    pub async fn read<T>(
        &self,
        consistency: Consistency,
        read: impl FnOnce(&Applied) -> T,
    ) -> Result<T, ReadError> {
        if consistency == Consistency::Linearizable {
            let confirmed =
                tokio::time::timeout(Duration::from_millis(READ_TIMEOUT_MS), self.raft.ensure_linearizable());
            match confirmed.await {
                Err(_) => {
                    return Err(ReadError::Unavailable("leader could not confirm itself in time".into()));
                }
                Ok(Ok(_)) => {}
                Ok(Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f)))) => {
                    return Err(ReadError::NotLeader {
                        leader: forward_to_leader(f.leader_id, f.leader_node),
                    });
                }
                Ok(Err(e)) => return Err(ReadError::Unavailable(e.to_string())),
            }
        }
        Ok(self.shared.read(read))
    }

    /// The openraft handle (membership changes, metrics, RPC entry points).
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The commit index as this node knows it: what openraft last reported
    /// to the log, and never less than the applied index (only committed
    /// entries are applied; openraft does not report every commit).
    pub fn commit_index(&self) -> u64 {
        let applied = self.raft.metrics().borrow().last_applied.map_or(0, |l| l.index);
        self.commit_index.load(Ordering::Relaxed).max(applied)
    }

    /// The state machine's shared part (queries, event log, digests).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// True if the data directory held no Raft state (no vote, no log, no
    /// applied entry) when this engine started: a new node, or one that
    /// lost its disk. Such a node must not vote as a member it may have
    /// been (see the server's `--join` and `--rejoin`).
    pub fn was_blank(&self) -> bool {
        self.blank
    }

    /// This node's view of the cluster's time.
    pub fn clock(&self) -> &Arc<ClusterClock> {
        &self.config.clock
    }

    /// Log time now, for reads that ask what has lapsed: the cluster's time
    /// as this node estimates it, never before the last record's time.
    pub fn now_ms(&self) -> u64 {
        self.config.clock.estimate_ms().max(self.shared.read(|a| a.state.now_ms))
    }

    /// This node's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The current leader, as this node knows it.
    pub fn leader(&self) -> Option<(NodeId, NodeInfo)> {
        let metrics = self.raft.metrics().borrow().clone();
        let leader = metrics.current_leader?;
        let node = metrics.membership_config.membership().get_node(&leader).cloned().unwrap_or_default();
        Some((leader, node))
    }

    /// Stop the tasks and Raft. Pending submissions fail with `Unavailable`.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let tasks: Vec<_> = self.tasks.lock().expect("tasks lock").drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        // openraft stops its state-machine worker after the core; wait (bounded)
        // until only this handle holds the store, so that dropping the engine
        // closes the database and the directory can be opened again.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(SHUTDOWN_WAIT_MS);
        while Arc::strong_count(&self.shared) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// What the batcher needs.
struct Batcher {
    raft: Raft,
    clock: Arc<ClusterClock>,
    batch_max: usize,
    in_flight_max: usize,
    /// The planted bug `ack-before-commit`, with the state to decide on.
    #[cfg(feature = "fault-injection")]
    ack_before_commit: Option<Arc<Shared>>,
}

async fn batcher(config: Batcher, mut queue: mpsc::Receiver<Submission>) {
    let Batcher { raft, clock, batch_max, in_flight_max, .. } = &config;
    let in_flight = Arc::new(Semaphore::new(*in_flight_max));
    // A command taken from the queue that did not fit the last batch.
    let mut carried: Option<Submission> = None;
    loop {
        let first = match carried.take() {
            Some(first) => first,
            None => match queue.recv().await {
                Some(first) => first,
                None => return,
            },
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        // While we waited for a permit, more commands queued: take them too,
        // up to the count and the bytes one entry may hold.
        let mut bytes = first.bytes;
        let mut batch = vec![first];
        while batch.len() < *batch_max {
            match queue.try_recv() {
                Ok(next) if bytes + next.bytes > PROPOSAL_BYTES_MAX => {
                    carried = Some(next);
                    break;
                }
                Ok(next) => {
                    bytes += next.bytes;
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let (leading, term) = {
            let metrics = raft.metrics();
            let metrics = metrics.borrow();
            (metrics.state == ServerState::Leader, metrics.current_term)
        };
        let time_ms = clock.stamp(term);
        let envelopes: Vec<Envelope> = batch
            .iter()
            .map(|s| Envelope { time_ms, request_id: s.request_id, command: s.command.clone() })
            .collect();
        #[cfg(feature = "fault-injection")]
        if let Some(shared) = &config.ack_before_commit
            && leading
        {
            // THE PLANTED BUG: decide on a copy and answer before Raft commits.
            let mut copy = shared.read(|a| a.state.clone());
            for (submission, envelope) in batch.drain(..).zip(&envelopes) {
                let applied = crate::domain::apply(&mut copy, envelope);
                let seq = applied.record.as_ref().map_or(0, |r| r.seq);
                let _ = submission.reply.send(Ok(AppliedOutcome { outcome: applied.outcome, seq }));
            }
        }
        if !leading {
            // Nothing is proposed: say so, with the leader, so the caller can go there.
            let leader = raft.metrics().borrow().current_leader;
            let node = leader
                .and_then(|id| raft.metrics().borrow().membership_config.membership().get_node(&id).cloned());
            let error = SubmitError::NotLeader { leader: forward_to_leader(leader, node) };
            for submission in batch {
                let _ = submission.reply.send(Err(error.clone()));
            }
            continue;
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            let wait = Duration::from_millis(PROPOSAL_WAIT_MS);
            let result = tokio::time::timeout(wait, raft.client_write(Proposal { envelopes })).await;
            drop(permit);
            let Ok(result) = result else {
                let error = SubmitError::Unavailable(format!(
                    "not committed within {PROPOSAL_WAIT_MS} ms (it may still be): retry with the same request id"
                ));
                for submission in batch {
                    let _ = submission.reply.send(Err(error.clone()));
                }
                return;
            };
            match result {
                Ok(response) => {
                    for (submission, outcome) in batch.into_iter().zip(response.data.results) {
                        let _ = submission.reply.send(Ok(outcome));
                    }
                }
                Err(error) => {
                    let error = match error {
                        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                            SubmitError::NotLeader { leader: forward_to_leader(f.leader_id, f.leader_node) }
                        }
                        other => SubmitError::Unavailable(other.to_string()),
                    };
                    for submission in batch {
                        let _ = submission.reply.send(Err(error.clone()));
                    }
                }
            }
        });
    }
}

/// The snapshot policy: ask openraft for a snapshot once `every_entries`
/// entries were applied since the last one and, when that one was large
/// (past [`SNAPSHOT_ADAPTIVE_FLOOR_BYTES`]), once the records applied since
/// are a share of its size ([`snapshot_share_percent`]). Every node runs it.
async fn snapshotter(raft: Raft, shared: Arc<Shared>, every_entries: u64, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(SNAPSHOT_CHECK_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The snapshot index at the last request, and when it was made.
    let mut requested: Option<(u64, tokio::time::Instant)> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let (applied, snapshot, id, leading) = {
            let watch = raft.metrics();
            let metrics = watch.borrow();
            (
                metrics.last_applied.map_or(0, |id| id.index),
                metrics.snapshot.map_or(0, |id| id.index),
                metrics.id,
                metrics.state == ServerState::Leader,
            )
        };
        let (since_bytes, last_bytes) = shared.snapshot_sizes();
        let share = snapshot_share_percent(id, leading);
        if !snapshot_due(applied - applied.min(snapshot), every_entries, since_bytes, last_bytes, share) {
            continue;
        }
        if let Some((at, when)) = requested
            && at == snapshot
            && when.elapsed() < Duration::from_millis(SNAPSHOT_REQUEST_AGAIN_MS)
        {
            continue;
        }
        if let Err(error) = raft.trigger().snapshot().await {
            tracing::debug!(%error, "snapshot request refused");
        }
        requested = Some((snapshot, tokio::time::Instant::now()));
    }
}

/// The share of its last (large) snapshot's size that a node waits for,
/// in percent: [`SNAPSHOT_LOG_SHARE_PERCENT`], plus half of it for each step
/// of `id % 3`, so that the nodes of a cluster (which apply the same records)
/// do not all build at once; doubled on the leader, so that followers build
/// first and the leader, whose stall would stop every write, builds least.
fn snapshot_share_percent(id: NodeId, leading: bool) -> u64 {
    let share = SNAPSHOT_LOG_SHARE_PERCENT + SNAPSHOT_LOG_SHARE_PERCENT / 2 * (id % 3);
    if leading { 2 * share } else { share }
}

/// Whether a snapshot is due (see [`snapshotter`]).
fn snapshot_due(
    entries_since: u64,
    every_entries: u64,
    since_bytes: u64,
    last_bytes: u64,
    share_percent: u64,
) -> bool {
    entries_since >= every_entries.max(1)
        && (last_bytes < SNAPSHOT_ADAPTIVE_FLOOR_BYTES
            || since_bytes.saturating_mul(100) >= last_bytes.saturating_mul(share_percent))
}

async fn expirer(
    raft: Raft,
    shared: Arc<Shared>,
    clock: Arc<ClusterClock>,
    submit: mpsc::Sender<Submission>,
    interval_ms: u64,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(interval_ms.max(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let is_leader = raft.metrics().borrow().state == ServerState::Leader;
        if !is_leader {
            continue;
        }
        // Propose an `Expire` when something has lapsed, or when log time
        // lags the cluster's clock by more than half of what one record may
        // step (after a quiet spell), so that it catches up in small steps.
        let now_ms = clock.estimate_ms();
        let due = shared.read(|a| {
            let lagging = a.state.last_seq > 0 && now_ms > a.state.now_ms + LOG_TIME_STEP_MAX_MS / 2;
            lagging || a.state.has_lapsed(now_ms)
        });
        if !due {
            continue;
        }
        let (reply, wait) = oneshot::channel();
        let request_id = RequestId(rand::random());
        let submission = Submission { request_id, command: Command::Expire, bytes: 64, reply };
        if submit.try_send(submission).is_ok()
            && let Ok(Err(e)) = wait.await
        {
            tracing::debug!(error = %e, "expire proposal failed");
        }
    }
}

/// The network of a single-node engine: there is nobody to talk to.
pub struct NoNetwork;

impl RaftNetworkFactory<TypeConfig> for NoNetwork {
    type Network = NoNetwork;

    async fn new_client(&mut self, _target: NodeId, _node: &NodeInfo) -> Self::Network {
        NoNetwork
    }
}

fn unreachable_peer<E: std::error::Error>() -> RPCError<NodeId, NodeInfo, E> {
    RPCError::Unreachable(Unreachable::new(&std::io::Error::other("single-node engine has no peers")))
}

impl RaftNetwork<TypeConfig> for NoNetwork {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        Err(unreachable_peer())
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, NodeInfo, RaftError<NodeId, InstallSnapshotError>>,
    > {
        Err(unreachable_peer())
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, NodeInfo, RaftError<NodeId>>> {
        Err(unreachable_peer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_small_snapshot_is_rebuilt_every_so_many_entries() {
        assert!(!snapshot_due(4_999, 5_000, 0, MIB, 50));
        assert!(snapshot_due(5_000, 5_000, 0, MIB, 50));
        assert!(snapshot_due(1, 0, 0, 0, 50), "an interval of 0 means every entry");
    }

    #[test]
    fn a_large_snapshot_waits_until_the_records_since_are_half_its_size() {
        let last = 320 * MIB;
        assert!(!snapshot_due(50_000, 5_000, last / 2 - 1, last, 50), "entries alone are not enough");
        assert!(snapshot_due(50_000, 5_000, last / 2, last, 50));
        assert!(!snapshot_due(4_999, 5_000, last, last, 50), "and never before the entry interval");
    }

    #[test]
    fn the_nodes_of_a_cluster_wait_for_different_shares_and_the_leader_for_the_most() {
        let followers: Vec<u64> = (1..=3).map(|id| snapshot_share_percent(id, false)).collect();
        assert_eq!(followers, [75, 100, 50]);
        assert_eq!(snapshot_share_percent(2, true), 200);
    }
}
