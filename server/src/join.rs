//! How a node with an empty data directory becomes a member, safely.
//!
//! # The hazard
//!
//! A node that lost its disk has lost its Raft log *and its vote*. If it
//! came back as the voter it was, it could vote twice in one term, or hand
//! its vote to a candidate that lacks a write it had acknowledged: with one
//! more such vote, a leader without a committed write is elected, and the
//! write is gone. Raft's answer is a membership change: the node is
//! removed, added back as a learner, and promoted once it has caught up.
//!
//! # What a node does at start
//!
//! A node whose data directory held Raft state starts as it was. A node
//! whose directory was empty (`Engine::was_blank`) answers no Raft RPC (the
//! [`RaftGate`] is closed) until it knows what it is:
//!
//! - **`--bootstrap MEMBERS`**: the member with the lowest id forms the
//!   cluster; the others join it, as with `--join` (so the same list may be
//!   given to every node). The forming node asks every other listed member
//!   for its status. Once all of them answer and none belongs to a cluster,
//!   it forms one *of itself alone*, then adds the others as learners and
//!   promotes them once each has caught up, so every voter has been a
//!   caught-up learner first. If some member already belongs to a cluster,
//!   this node lost its disk: it joins instead (below).
//! - **`--join ADDRS`**: it asks those members for the cluster's membership
//!   (from the leader). Not a member, or a learner: a new node; it opens the
//!   gate and waits to be added (or, with `--rejoin`, adds itself). A voter:
//!   it lost its disk. Without `--rejoin` it refuses to start, saying so;
//!   with it, it has the leader remove it, opens the gate, has the leader add
//!   it back as a learner (which returns once it has caught up), and then
//!   promote it.
//!
//! `--rejoin` on a node with data makes sure it is a voter the same way
//! (a node removed earlier, or a rejoin cut short by a crash).
//!
//! Writes are refused while a founding node is still adding the others, so
//! that nothing is acknowledged with fewer copies than the cluster was
//! configured for.

use crate::config::ServerConfig;
use boxoffice_engine::node::Engine;
use boxoffice_engine::raft::{NodeId, NodeInfo, Raft};
use boxoffice_proto::v1;
use boxoffice_proto::v1::admin_client::AdminClient;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tonic::transport::Endpoint;

/// Pause between two looks at the cluster while waiting for it, in milliseconds.
pub const JOIN_POLL_MS: u64 = 500;

/// How often a waiting node says what it waits for, in seconds.
pub const JOIN_REPORT_SECS: u64 = 5;

/// Longest one admin call to a peer may take, in milliseconds (adding a
/// learner returns only once it has caught up).
pub const JOIN_CALL_TIMEOUT_MS: u64 = 120_000;

/// Longest a status call to a peer may take, in milliseconds.
pub const STATUS_CALL_TIMEOUT_MS: u64 = 2_000;

/// Whether this node answers Raft RPCs, and whether it takes writes.
#[derive(Clone, Debug)]
pub struct RaftGate {
    open: Arc<AtomicBool>,
    writable: Arc<AtomicBool>,
}

impl RaftGate {
    /// A gate that starts open (or closed), taking writes.
    pub fn new(open: bool) -> RaftGate {
        RaftGate { open: Arc::new(AtomicBool::new(open)), writable: Arc::new(AtomicBool::new(true)) }
    }

    /// True once this node may take part in Raft.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::SeqCst)
    }

    fn open(&self) {
        if !self.open.swap(true, Ordering::SeqCst) {
            tracing::info!("taking part in Raft");
        }
    }

    /// False while a founding node is still adding the other members.
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::SeqCst)
    }

    fn set_writable(&self, writable: bool) {
        self.writable.store(writable, Ordering::SeqCst);
    }
}

/// Why a node must not start.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// A blank node is a voter, and `--rejoin` was not given.
    #[error(
        "the data directory {dir} is empty, but node {id} is a voter of the cluster (voters {voters:?}): \
         it lost its Raft log and its vote, and voting now could elect a leader that lacks \
         acknowledged writes. Start it with --rejoin: it will be removed as a voter, added back as \
         a learner, and promoted once it has caught up"
    )]
    BlankVoter {
        /// The data directory.
        dir: String,
        /// This node.
        id: NodeId,
        /// The cluster's voters.
        voters: BTreeSet<NodeId>,
    },
    /// A blank node has no way to find its cluster.
    #[error(
        "the data directory {dir} is empty: start with --bootstrap ID=HOST:PORT/ZONE,... to form a new \
         cluster (on its first node), or with --join HOST:PORT,... to join an existing one"
    )]
    NoPeers {
        /// The data directory.
        dir: String,
    },
}

/// One peer's answer to `Status`.
#[derive(Clone, Debug)]
struct View {
    voters: BTreeSet<NodeId>,
    members: BTreeSet<NodeId>,
    leader: Option<(NodeId, String)>,
}

impl View {
    fn initialized(&self) -> bool {
        !self.voters.is_empty()
    }
}

/// What a starting node knows about finding its cluster.
pub struct Joiner {
    engine: Arc<Engine>,
    gate: RaftGate,
    id: NodeId,
    me: NodeInfo,
    /// Where to reach a node by id, if not at its advertised address.
    routes: BTreeMap<NodeId, String>,
    data_dir: String,
    rejoin: bool,
}

async fn status(addr: &str) -> Option<View> {
    let call = async {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .ok()?
            .connect_timeout(Duration::from_millis(STATUS_CALL_TIMEOUT_MS))
            .connect()
            .await
            .ok()?;
        let status = AdminClient::new(channel)
            .status(v1::StatusRequest { include_digests: false })
            .await
            .ok()?
            .into_inner();
        Some(View {
            voters: status.members.iter().filter(|m| m.voter).map(|m| m.id).collect(),
            members: status.members.iter().map(|m| m.id).collect(),
            leader: status.leader_id.map(|id| (id, status.leader_addr)),
        })
    };
    tokio::time::timeout(Duration::from_millis(STATUS_CALL_TIMEOUT_MS * 2), call).await.ok().flatten()
}

/// Log what we wait for, at most every [`JOIN_REPORT_SECS`].
struct Reporter(Option<Instant>);

impl Reporter {
    fn say(&mut self, what: impl FnOnce() -> String) {
        if self.0.is_none_or(|at| at.elapsed() >= Duration::from_secs(JOIN_REPORT_SECS)) {
            tracing::info!("{}", what());
            self.0 = Some(Instant::now());
        }
    }
}

impl Joiner {
    /// For a node started with `config` on `engine`.
    pub fn new(engine: Arc<Engine>, gate: RaftGate, config: &ServerConfig) -> Joiner {
        Joiner {
            engine,
            gate,
            id: config.id,
            me: config.node_info(),
            routes: config.peer_routes.clone(),
            data_dir: config.data_dir.display().to_string(),
            rejoin: config.rejoin,
        }
    }

    fn route(&self, id: NodeId, advertised: &str) -> String {
        self.routes.get(&id).cloned().unwrap_or_else(|| advertised.to_owned())
    }

    /// Decide what this node is, and act on it; `Err` if it must not start.
    /// Runs until the node is a member as asked (it may wait for the cluster
    /// to exist, or for peers to answer, for as long as it takes).
    pub async fn run(
        self,
        bootstrap: Option<BTreeMap<NodeId, NodeInfo>>,
        join: Vec<String>,
    ) -> Result<(), JoinError> {
        let blank = self.engine.was_blank();
        if !blank {
            self.gate.open();
            if self.rejoin {
                let peers = self.peers(bootstrap.as_ref(), &join);
                self.make_voter(&peers).await;
            }
            return Ok(());
        }
        match bootstrap {
            Some(members) => {
                let others: BTreeMap<NodeId, NodeInfo> =
                    members.iter().filter(|(id, _)| **id != self.id).map(|(i, n)| (*i, n.clone())).collect();
                let peers: Vec<String> =
                    others.iter().map(|(id, node)| self.route(*id, &node.addr)).collect();
                // One node forms the cluster, the lowest id listed; every other
                // listed node joins it (so the same --bootstrap may be given to all).
                if members.keys().next() != Some(&self.id) {
                    return self.join(&peers).await;
                }
                if self.cluster_exists_among(&others).await {
                    tracing::warn!(
                        "a listed member already belongs to a cluster: joining it instead of forming one"
                    );
                    self.join(&peers).await
                } else {
                    self.found(others).await;
                    Ok(())
                }
            }
            None if join.is_empty() => Err(JoinError::NoPeers { dir: self.data_dir.clone() }),
            None => self.join(&join).await,
        }
    }

    fn peers(&self, bootstrap: Option<&BTreeMap<NodeId, NodeInfo>>, join: &[String]) -> Vec<String> {
        let mut peers = join.to_vec();
        if let Some(members) = bootstrap {
            peers.extend(
                members
                    .iter()
                    .filter(|(id, _)| **id != self.id)
                    .map(|(id, node)| self.route(*id, &node.addr)),
            );
        }
        peers
    }

    /// Wait until every other listed member answers; true if one of them
    /// already belongs to a cluster.
    async fn cluster_exists_among(&self, others: &BTreeMap<NodeId, NodeInfo>) -> bool {
        let mut reporter = Reporter(None);
        loop {
            let mut silent = Vec::new();
            for (id, node) in others {
                match status(&self.route(*id, &node.addr)).await {
                    Some(view) if view.initialized() => return true,
                    Some(_) => {}
                    None => silent.push(*id),
                }
            }
            if silent.is_empty() {
                return false;
            }
            reporter.say(|| {
                format!(
                    "bootstrap: waiting for nodes {silent:?} to answer (each must be running, with an empty \
                     data directory, before the cluster is formed)"
                )
            });
            tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
        }
    }

    /// Form a cluster of this node alone, then add `others` as learners
    /// and promote them once caught up; no writes until then.
    async fn found(&self, others: BTreeMap<NodeId, NodeInfo>) {
        self.gate.set_writable(others.is_empty());
        self.gate.open();
        let raft = self.engine.raft();
        if let Err(e) = raft.initialize(BTreeMap::from([(self.id, self.me.clone())])).await {
            tracing::warn!(error = %e, "bootstrap: initialize refused (already initialized?)");
        }
        tracing::info!(members = ?others.keys().collect::<Vec<_>>(), "bootstrap: formed a cluster of this node; adding the others");
        let mut reporter = Reporter(None);
        for (id, node) in &others {
            // Added as a learner (openraft's "blocking" add returns as soon as
            // replication to it fails, so catching up is checked here) ...
            loop {
                match raft.add_learner(*id, node.clone(), false).await {
                    Ok(_) => break,
                    Err(e) => reporter.say(|| format!("bootstrap: adding node {id} as a learner: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
            }
            // ... and promoted only once it holds the whole log so far.
            caught_up(raft, *id).await;
        }
        let voters: BTreeSet<NodeId> = others.keys().copied().chain([self.id]).collect();
        loop {
            match raft.change_membership(voters.clone(), false).await {
                Ok(_) => break,
                Err(e) => reporter.say(|| format!("bootstrap: promoting {voters:?}: {e}")),
            }
            tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
        }
        self.gate.set_writable(true);
        tracing::info!(?voters, "bootstrap: the cluster is formed");
    }

    /// The cluster's membership as its leader says, asking `peers` until
    /// one knows an initialized cluster with a leader.
    async fn leader_view(&self, peers: &[String]) -> (View, String) {
        let mut reporter = Reporter(None);
        loop {
            for peer in peers {
                let Some(view) = status(peer).await else { continue };
                let Some((leader, advertised)) = view.leader.clone().filter(|_| view.initialized()) else {
                    continue;
                };
                let leader_addr = self.route(leader, &advertised);
                if let Some(view) = status(&leader_addr).await
                    && view.initialized()
                    && view.leader.as_ref().is_some_and(|(id, _)| *id == leader)
                {
                    return (view, leader_addr);
                }
            }
            reporter.say(|| format!("join: waiting for a cluster with a leader among {peers:?}"));
            tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
        }
    }

    /// A blank node joins through `peers` (module docs).
    async fn join(&self, peers: &[String]) -> Result<(), JoinError> {
        let (view, _) = self.leader_view(peers).await;
        if view.voters.contains(&self.id) {
            if !self.rejoin {
                return Err(JoinError::BlankVoter {
                    dir: self.data_dir.clone(),
                    id: self.id,
                    voters: view.voters,
                });
            }
            tracing::warn!(voters = ?view.voters, "rejoin: this node is a voter with an empty data directory; having it removed first");
            self.remove_self(peers).await;
        }
        self.gate.open();
        if self.rejoin {
            self.make_voter(peers).await;
        } else {
            tracing::info!(
                member = view.members.contains(&self.id),
                "join: not a voter; waiting to be added"
            );
        }
        Ok(())
    }

    /// Have the leader remove this node from the voters (and the members).
    async fn remove_self(&self, peers: &[String]) {
        let mut reporter = Reporter(None);
        loop {
            let (view, leader) = self.leader_view(peers).await;
            if !view.members.contains(&self.id) {
                return;
            }
            let voters: Vec<NodeId> = view.voters.iter().copied().filter(|id| *id != self.id).collect();
            let request = v1::ChangeMembershipRequest { voters, retain: false };
            if let Err(e) = admin(&leader, |mut a| async move { a.change_membership(request).await }).await {
                reporter.say(|| format!("rejoin: removing this node: {e}"));
            }
            tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
        }
    }

    /// Have the leader add this node as a learner (returns once caught up)
    /// and promote it, until the membership says it is a voter.
    async fn make_voter(&self, peers: &[String]) {
        let mut reporter = Reporter(None);
        loop {
            let (view, leader) = self.leader_view(peers).await;
            if view.voters.contains(&self.id) {
                tracing::info!(voters = ?view.voters, "rejoin: this node is a voter");
                return;
            }
            let step = if view.members.contains(&self.id) {
                let voters: Vec<NodeId> = view.voters.iter().copied().chain([self.id]).collect();
                let request = v1::ChangeMembershipRequest { voters, retain: false };
                admin(&leader, |mut a| async move { a.change_membership(request).await }).await
            } else {
                let request = v1::AddLearnerRequest {
                    node_id: self.id,
                    addr: self.me.addr.clone(),
                    zone: self.me.zone.clone(),
                };
                admin(&leader, |mut a| async move { a.add_learner(request).await }).await
            };
            if let Err(e) = step {
                reporter.say(|| format!("rejoin: {e}"));
                tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS)).await;
            }
        }
    }
}

/// Wait until learner `id` holds every entry the leader had when this was
/// called (its matched index in the leader's replication metrics). Only
/// then may it be promoted. Unbounded: callers bound it.
pub async fn caught_up(raft: &Raft, id: NodeId) {
    let target = raft.metrics().borrow().last_log_index.unwrap_or(0);
    let mut reporter = Reporter(None);
    loop {
        let matched = raft
            .metrics()
            .borrow()
            .replication
            .as_ref()
            .and_then(|r| r.get(&id).copied().flatten())
            .map_or(0, |m| m.index);
        if matched >= target {
            return;
        }
        reporter.say(|| format!("waiting for learner {id} to catch up ({matched}/{target})"));
        tokio::time::sleep(Duration::from_millis(JOIN_POLL_MS / 5)).await;
    }
}

/// One admin call to `addr`, bounded by [`JOIN_CALL_TIMEOUT_MS`].
async fn admin<F, Fut>(addr: &str, call: F) -> Result<(), String>
where
    F: FnOnce(AdminClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<v1::AdminResponse>, tonic::Status>>,
{
    let attempt = async {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_millis(STATUS_CALL_TIMEOUT_MS))
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        call(AdminClient::new(channel)).await.map(|_| ()).map_err(|s| s.message().to_owned())
    };
    match tokio::time::timeout(Duration::from_millis(JOIN_CALL_TIMEOUT_MS), attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer from {addr} in {JOIN_CALL_TIMEOUT_MS} ms")),
    }
}
