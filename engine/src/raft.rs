//! openraft glue: the type configuration, what a log entry carries, and the
//! node metadata every member advertises.
//!
//! A log entry carries a [`Proposal`]: a batch of command envelopes, stamped
//! with the leader's clock when it was proposed. Batching many client
//! commands into one entry is how the cluster stays fast on a hot quota:
//! one fsync and one replication round trip serve the whole batch. Every
//! node applies the same envelopes in the same order through the pure
//! domain, so every node computes the same records.

use crate::domain::{Envelope, Outcome};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Cursor;

/// A node's id in the cluster.
pub type NodeId = u64;

/// What a member advertises: where to reach it and which zone (data center) it is in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// gRPC address, `host:port`.
    pub addr: String,
    /// Zone (data center) label.
    pub zone: String,
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.addr, self.zone)
    }
}

/// The application data of one Raft log entry: a batch of commands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The commands, each with the leader's time and the client's request id.
    pub envelopes: Vec<Envelope>,
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proposal of {} commands", self.envelopes.len())
    }
}

/// The outcome of one command of a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedOutcome {
    /// What the client is told.
    pub outcome: Outcome,
    /// The event-log position of the command's record; 0 if the request id
    /// was a retry answered from the request-id table.
    pub seq: u64,
}

impl AppliedOutcome {
    /// True if this was a retry answered from the request-id table.
    pub fn is_duplicate(&self) -> bool {
        self.seq == 0
    }
}

/// The state machine's answer to one log entry: one outcome per envelope
/// (empty for blank and membership entries).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalResult {
    /// In envelope order.
    pub results: Vec<AppliedOutcome>,
}

openraft::declare_raft_types!(
    /// boxoffice's openraft type configuration.
    pub TypeConfig:
        D = Proposal,
        R = ProposalResult,
        NodeId = NodeId,
        Node = NodeInfo,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A Raft log entry of this configuration.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id (term, leader, index).
pub type LogId = openraft::LogId<NodeId>;
/// A vote.
pub type Vote = openraft::Vote<NodeId>;
/// A storage error.
pub type StorageError = openraft::StorageError<NodeId>;
/// Membership as stored with its log id.
pub type StoredMembership = openraft::StoredMembership<NodeId, NodeInfo>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeInfo>;
/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// Wrap any error as a storage error of the given kind (for `?` in storage code).
pub(crate) fn io_error(
    make: impl FnOnce(openraft::AnyError) -> openraft::StorageIOError<NodeId>,
    error: impl std::error::Error + 'static,
) -> StorageError {
    make(openraft::AnyError::new(&error)).into()
}
