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

/// Parse one member spec, `ID=HOST:PORT/ZONE` (the id may be written
/// `node-ID`). Used by the server's `--bootstrap` and the CLI alike.
pub fn parse_member(text: &str) -> Result<(NodeId, NodeInfo), String> {
    let usage = "members are ID=HOST:PORT/ZONE, like 1=127.0.0.11:7000/dc1";
    let text = text.trim();
    let (id, rest) = text.split_once('=').ok_or_else(|| format!("member `{text}`: no `=`; {usage}"))?;
    let id = id.trim();
    let id: NodeId =
        id.strip_prefix("node-").unwrap_or(id).parse().ok().filter(|id| *id > 0).ok_or_else(|| {
            format!("member `{text}`: `{id}` is not a node id (a positive integer); {usage}")
        })?;
    let (addr, zone) =
        rest.rsplit_once('/').ok_or_else(|| format!("member `{text}`: no `/ZONE`; {usage}"))?;
    let (host, port) = addr.trim().rsplit_once(':').unwrap_or(("", ""));
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("member `{text}`: `{addr}` is not HOST:PORT; {usage}"));
    }
    let zone = zone.trim();
    if zone.is_empty() {
        return Err(format!("member `{text}`: empty zone; {usage}"));
    }
    Ok((id, NodeInfo { addr: addr.trim().to_owned(), zone: zone.to_owned() }))
}

/// Parse a comma-separated list of member specs; every id at most once.
pub fn parse_members(text: &str) -> Result<std::collections::BTreeMap<NodeId, NodeInfo>, String> {
    let mut members = std::collections::BTreeMap::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (id, node) = parse_member(part)?;
        if members.insert(id, node).is_some() {
            return Err(format!("node {id} is listed twice"));
        }
    }
    if members.is_empty() {
        return Err("no members given".into());
    }
    Ok(members)
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
