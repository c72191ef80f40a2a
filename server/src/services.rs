//! The gRPC services of a node: the client API (`Inventory`), cluster admin
//! (`Admin`) and the Raft transport (`Raft`).
//!
//! Wire input is converted to domain commands by `boxoffice_proto::convert`;
//! anything that does not convert is refused with `INVALID_ARGUMENT` before
//! it reaches Raft, so malformed requests change nothing. A follower answers
//! writes and linearizable reads with `FAILED_PRECONDITION` and the leader's
//! id and address in the `x-boxoffice-leader-id` / `x-boxoffice-leader-addr`
//! metadata; the client retries there with the same request id.
//!
//! Status codes and what they promise:
//! - `FAILED_PRECONDITION` (not the leader) and `RESOURCE_EXHAUSTED` (busy):
//!   this call proposed nothing.
//! - `UNAVAILABLE`, `DEADLINE_EXCEEDED`: the outcome is unknown; retry with
//!   the same request id to learn it.

// tonic's `Status` is the error type of every gRPC handler; boxing it in
// the helpers would only be undone at the boundary.
#![allow(clippy::result_large_err)]

use crate::metrics::Metrics;
use boxoffice_engine::codec::{self, Kind};
use boxoffice_engine::domain::{Command, RequestId};
use boxoffice_engine::node::{Consistency, Engine, ReadError, SubmitError, wall_clock_ms};
use boxoffice_engine::raft::{AppliedOutcome, NodeId, NodeInfo};
use boxoffice_engine::store::Applied;
use boxoffice_proto::convert::ConvertError;
use boxoffice_proto::v1;
use openraft::ServerState;
use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Most commands in one `SubmitBatch` request.
pub const BATCH_REQUEST_COMMANDS_MAX: usize = 1_000;

/// Largest encoded command accepted, in bytes. The domain bounds every
/// field, but the command travels through Raft before the domain sees it.
pub const COMMAND_BYTES_MAX: usize = 64 * 1024;

/// Records buffered per event-log subscriber before the stream waits for it.
pub const SUBSCRIBE_BUFFER_RECORDS: usize = 1_024;

/// Metadata key carrying the leader's id on a not-leader answer.
pub const LEADER_ID_HEADER: &str = "x-boxoffice-leader-id";
/// Metadata key carrying the leader's address on a not-leader answer.
pub const LEADER_ADDR_HEADER: &str = "x-boxoffice-leader-addr";

fn not_leader(leader: Option<(NodeId, NodeInfo)>) -> Status {
    let mut status = Status::failed_precondition(match &leader {
        Some((id, node)) => format!("not the leader; the leader is node {id} at {}", node.addr),
        None => "not the leader, and no leader is known yet; retry shortly".to_string(),
    });
    if let Some((id, node)) = leader {
        let metadata = status.metadata_mut();
        if let Ok(value) = id.to_string().parse() {
            metadata.insert(LEADER_ID_HEADER, value);
        }
        if let Ok(value) = node.addr.parse() {
            metadata.insert(LEADER_ADDR_HEADER, value);
        }
    }
    status
}

fn submit_status(error: SubmitError) -> Status {
    match error {
        SubmitError::NotLeader { leader } => not_leader(leader),
        SubmitError::Busy => Status::resource_exhausted("busy, try again (nothing was stored)"),
        error @ (SubmitError::Invalid(_) | SubmitError::TooLarge { .. }) => {
            Status::invalid_argument(format!("{error} (nothing was stored)"))
        }
        SubmitError::Unavailable(message) => Status::unavailable(format!("outcome unknown: {message}")),
    }
}

fn read_status(error: ReadError) -> Status {
    match error {
        ReadError::NotLeader { leader } => not_leader(leader),
        ReadError::Unavailable(message) => Status::unavailable(message),
    }
}

fn invalid(error: ConvertError) -> Status {
    Status::invalid_argument(error.to_string())
}

fn consistency(value: i32) -> Result<Consistency, Status> {
    match v1::ReadConsistency::try_from(value) {
        Ok(v1::ReadConsistency::Linearizable) => Ok(Consistency::Linearizable),
        Ok(v1::ReadConsistency::StaleOk) => Ok(Consistency::Stale),
        Err(_) => Err(Status::invalid_argument(format!("unknown read consistency {value}"))),
    }
}

fn response(applied: &AppliedOutcome) -> v1::SubmitResponse {
    v1::SubmitResponse {
        outcome: Some((&applied.outcome).into()),
        duplicate: applied.is_duplicate(),
        seq: applied.seq,
    }
}

/// Convert and check one wire command.
fn command(request: v1::SubmitRequest) -> Result<(RequestId, Command), Status> {
    let (request_id, command) = <(RequestId, Command)>::try_from(request).map_err(invalid)?;
    let envelope = boxoffice_engine::domain::Envelope { time_ms: 0, request_id, command };
    let size = codec::encode_envelope(&envelope).map_err(|e| Status::invalid_argument(e.to_string()))?.len();
    if size > COMMAND_BYTES_MAX {
        return Err(Status::invalid_argument(format!("command of {size} bytes exceeds {COMMAND_BYTES_MAX}")));
    }
    Ok((request_id, envelope.command))
}

fn positions(applied: &Applied) -> (u64, u64) {
    (applied.last_applied.map_or(0, |l| l.index), applied.state.last_seq)
}

/// The client API.
pub struct InventoryService {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
}

impl InventoryService {
    /// Serve the client API of `engine`.
    pub fn new(engine: Arc<Engine>, metrics: Arc<Metrics>) -> InventoryService {
        InventoryService { engine, metrics }
    }

    async fn read<T>(
        &self,
        consistency_value: i32,
        read: impl FnOnce(&Applied, u64) -> Result<T, Status>,
    ) -> Result<T, Status> {
        let consistency = consistency(consistency_value)?;
        self.engine.read(consistency, |applied| read(applied, wall_clock_ms())).await.map_err(read_status)?
    }
}

type RecordStream = Pin<Box<dyn Stream<Item = Result<v1::RecordMessage, Status>> + Send>>;

#[tonic::async_trait]
impl v1::inventory_server::Inventory for InventoryService {
    async fn submit(
        &self,
        request: Request<v1::SubmitRequest>,
    ) -> Result<Response<v1::SubmitResponse>, Status> {
        let started = Instant::now();
        let (request_id, command) = command(request.into_inner())?;
        let kind = command.kind();
        let result = self.engine.submit(request_id, command).await;
        let label = match &result {
            Ok(applied) => applied.outcome.label(),
            Err(SubmitError::NotLeader { .. }) => "error/not_leader",
            Err(SubmitError::Busy) => "error/busy",
            Err(SubmitError::Invalid(_) | SubmitError::TooLarge { .. }) => "error/invalid",
            Err(SubmitError::Unavailable(_)) => "error/unavailable",
        };
        self.metrics.observe_request(kind, label, started.elapsed());
        Ok(Response::new(response(&result.map_err(submit_status)?)))
    }

    async fn submit_batch(
        &self,
        request: Request<v1::SubmitBatchRequest>,
    ) -> Result<Response<v1::SubmitBatchResponse>, Status> {
        let started = Instant::now();
        let commands = request.into_inner().commands;
        if commands.len() > BATCH_REQUEST_COMMANDS_MAX {
            return Err(Status::invalid_argument(format!(
                "batch of {} commands exceeds {BATCH_REQUEST_COMMANDS_MAX}",
                commands.len()
            )));
        }
        // All or nothing at the door: one bad command refuses the batch before anything is proposed.
        let commands = commands
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                command(c).map_err(|s| Status::invalid_argument(format!("command {i}: {}", s.message())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let results = self.engine.submit_many(commands).await;
        let mut responses = Vec::with_capacity(results.len());
        for result in results {
            responses.push(response(&result.map_err(submit_status)?));
        }
        self.metrics.observe_request("batch", "ok", started.elapsed());
        Ok(Response::new(v1::SubmitBatchResponse { results: responses }))
    }

    async fn item_availability(
        &self,
        request: Request<v1::ItemAvailabilityRequest>,
    ) -> Result<Response<v1::ItemAvailabilityResponse>, Status> {
        let request = request.into_inner();
        let item = boxoffice_engine::domain::ItemId(request.item);
        let reply = self
            .read(request.consistency, |applied, now| {
                let availability = applied
                    .state
                    .item_availability(item, now)
                    .ok_or_else(|| Status::not_found(format!("no item {item}")))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::ItemAvailabilityResponse {
                    availability: Some((&availability).into()),
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn quota_availability(
        &self,
        request: Request<v1::QuotaAvailabilityRequest>,
    ) -> Result<Response<v1::QuotaAvailabilityResponse>, Status> {
        let request = request.into_inner();
        let quota = boxoffice_engine::domain::QuotaId(request.quota);
        let reply = self
            .read(request.consistency, |applied, now| {
                let availability = applied
                    .state
                    .quota_availability(quota, now)
                    .ok_or_else(|| Status::not_found(format!("no quota {quota}")))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::QuotaAvailabilityResponse {
                    availability: Some((&availability).into()),
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_hold(
        &self,
        request: Request<v1::GetHoldRequest>,
    ) -> Result<Response<v1::GetHoldResponse>, Status> {
        let request = request.into_inner();
        let hold = boxoffice_engine::domain::HoldId(request.hold);
        let reply = self
            .read(request.consistency, |applied, _| {
                let found =
                    applied.state.hold(hold).ok_or_else(|| Status::not_found(format!("no hold {hold}")))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetHoldResponse { hold: Some(found.into()), applied_index, last_seq })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_order(
        &self,
        request: Request<v1::GetOrderRequest>,
    ) -> Result<Response<v1::GetOrderResponse>, Status> {
        let request = request.into_inner();
        let order = boxoffice_engine::domain::OrderId(request.order);
        let reply = self
            .read(request.consistency, |applied, now| {
                let found = applied
                    .state
                    .order(order)
                    .ok_or_else(|| Status::not_found(format!("no order {order}")))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetOrderResponse {
                    order: Some(boxoffice_proto::convert::order_at(found, now.max(applied.state.now_ms))),
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn list_catalog(
        &self,
        request: Request<v1::ListCatalogRequest>,
    ) -> Result<Response<v1::ListCatalogResponse>, Status> {
        let request = request.into_inner();
        let event = boxoffice_engine::domain::EventId(request.event);
        let reply = self
            .read(request.consistency, |applied, now| {
                let state = &applied.state;
                let found =
                    state.event(event).ok_or_else(|| Status::not_found(format!("no event {event}")))?;
                let items = state.items().filter(|i| i.event == event).map(Into::into).collect();
                let quotas = state
                    .quotas()
                    .filter(|q| q.event == event)
                    .map(|q| (&q.availability(now.max(state.now_ms))).into())
                    .collect();
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::ListCatalogResponse {
                    event: Some(found.into()),
                    items,
                    quotas,
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn find_organizer(
        &self,
        request: Request<v1::FindOrganizerRequest>,
    ) -> Result<Response<v1::FindOrganizerResponse>, Status> {
        let request = request.into_inner();
        let reply = self
            .read(request.consistency, |applied, _| {
                let organizer = applied
                    .state
                    .organizer_by_slug(&request.slug)
                    .ok_or_else(|| Status::not_found(format!("no organizer with slug `{}`", request.slug)))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::FindOrganizerResponse {
                    organizer: organizer.id.0,
                    name: organizer.name.clone(),
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    type SubscribeEventsStream = RecordStream;

    async fn subscribe_events(
        &self,
        request: Request<v1::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeEventsStream>, Status> {
        let mut next = request.into_inner().from_seq.max(1);
        let shared = self.engine.shared().clone();
        let mut changed = shared.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(SUBSCRIBE_BUFFER_RECORDS);
        tokio::spawn(async move {
            loop {
                let records = match shared.records_from(next, SUBSCRIBE_BUFFER_RECORDS) {
                    Ok(records) => records,
                    Err(e) => {
                        let _ = tx.send(Err(Status::internal(e.to_string()))).await;
                        return;
                    }
                };
                if records.is_empty() {
                    // Wait for new records (or the subscriber leaving).
                    tokio::select! {
                        changed = changed.changed() => if changed.is_err() { return },
                        _ = tx.closed() => return,
                    }
                    continue;
                }
                for record in &records {
                    next = record.seq + 1;
                    let message =
                        v1::RecordMessage::try_from(record).map_err(|e| Status::internal(e.to_string()));
                    if tx.send(message).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Cluster administration.
pub struct AdminService {
    engine: Arc<Engine>,
}

impl AdminService {
    /// Serve cluster admin of `engine`.
    pub fn new(engine: Arc<Engine>) -> AdminService {
        AdminService { engine }
    }

    fn status(&self, include_digests: bool) -> Result<v1::ClusterStatus, Status> {
        let engine = &self.engine;
        let metrics = engine.raft().metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let members = membership
            .nodes()
            .map(|(id, node)| v1::Member {
                id: *id,
                addr: node.addr.clone(),
                zone: node.zone.clone(),
                voter: voters.contains(id),
            })
            .collect();
        let leader_addr = metrics
            .current_leader
            .and_then(|l| membership.get_node(&l))
            .map(|n| n.addr.clone())
            .unwrap_or_default();
        let last_log_index = metrics.last_log_index.unwrap_or(0);
        let replication_lag: BTreeMap<u64, u64> = metrics
            .replication
            .iter()
            .flatten()
            .map(|(id, matched)| (*id, last_log_index.saturating_sub(matched.map_or(0, |m| m.index))))
            .collect();
        let (event_log_digest, state_digest) = if include_digests {
            engine.shared().digests().map_err(|e| Status::internal(e.to_string()))?
        } else {
            Default::default()
        };
        let role = match metrics.state {
            ServerState::Leader => "leader",
            ServerState::Follower => "follower",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Shutdown => "shutdown",
        };
        Ok(v1::ClusterStatus {
            node_id: metrics.id,
            zone: engine.config().node.zone.clone(),
            addr: engine.config().node.addr.clone(),
            role: role.into(),
            term: metrics.current_term,
            leader_id: metrics.current_leader,
            leader_addr,
            last_log_index,
            commit_index: engine.commit_index(),
            applied_index: metrics.last_applied.map_or(0, |l| l.index),
            last_seq: engine.shared().read(|a| a.state.last_seq),
            members,
            replication_lag,
            event_log_digest,
            state_digest,
        })
    }

    fn reply(&self, message: String) -> Result<Response<v1::AdminResponse>, Status> {
        Ok(Response::new(v1::AdminResponse { message, status: Some(self.status(false)?) }))
    }
}

/// Map an admin call's Raft error: a not-leader refusal carries the leader
/// (so the CLI can retry there); other refusals say why.
fn raft_status<E: std::fmt::Display>(
    error: openraft::error::RaftError<NodeId, E>,
    engine: &Engine,
) -> Status {
    match error {
        openraft::error::RaftError::APIError(e) => {
            let text = e.to_string();
            let is_leader = engine.raft().metrics().borrow().state == ServerState::Leader;
            if is_leader { Status::failed_precondition(text) } else { not_leader(engine.leader()) }
        }
        openraft::error::RaftError::Fatal(e) => Status::unavailable(e.to_string()),
    }
}

#[tonic::async_trait]
impl v1::admin_server::Admin for AdminService {
    async fn status(
        &self,
        request: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::ClusterStatus>, Status> {
        Ok(Response::new(self.status(request.into_inner().include_digests)?))
    }

    async fn add_learner(
        &self,
        request: Request<v1::AddLearnerRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let request = request.into_inner();
        if request.node_id == 0 || request.addr.is_empty() {
            return Err(Status::invalid_argument("a learner needs a node id (from 1) and an address"));
        }
        let node = NodeInfo { addr: request.addr, zone: request.zone };
        self.engine
            .raft()
            .add_learner(request.node_id, node, true)
            .await
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply(format!("node {} added as a learner and caught up", request.node_id))
    }

    async fn change_membership(
        &self,
        request: Request<v1::ChangeMembershipRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let request = request.into_inner();
        let voters: BTreeSet<NodeId> = request.voters.into_iter().collect();
        if voters.is_empty() {
            return Err(Status::invalid_argument("a cluster needs at least one voter"));
        }
        self.engine
            .raft()
            .change_membership(voters.clone(), request.retain)
            .await
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply(format!("voters are now {voters:?}"))
    }

    async fn remove_node(
        &self,
        request: Request<v1::RemoveNodeRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let id = request.into_inner().node_id;
        let metrics = self.engine.raft().metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        if membership.get_node(&id).is_none() {
            return Err(Status::not_found(format!("node {id} is not a member")));
        }
        let voters: BTreeSet<NodeId> = membership.voter_ids().filter(|v| *v != id).collect();
        if voters.is_empty() {
            return Err(Status::failed_precondition("cannot remove the last voter"));
        }
        self.engine
            .raft()
            .change_membership(voters, false)
            .await
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply(format!("node {id} removed"))
    }

    async fn initialize(
        &self,
        request: Request<v1::InitializeRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let members: BTreeMap<NodeId, NodeInfo> = request
            .into_inner()
            .members
            .into_iter()
            .map(|m| (m.id, NodeInfo { addr: m.addr, zone: m.zone }))
            .collect();
        if members.is_empty() || members.contains_key(&0) {
            return Err(Status::invalid_argument("initialize needs members with ids from 1"));
        }
        self.engine.raft().initialize(members).await.map_err(|e| raft_status(e, &self.engine))?;
        self.reply("cluster initialized".into())
    }
}

/// The Raft transport: decode, hand to openraft, encode its `Result`.
pub struct RaftService {
    engine: Arc<Engine>,
}

impl RaftService {
    /// Serve the Raft transport of `engine`.
    pub fn new(engine: Arc<Engine>) -> RaftService {
        RaftService { engine }
    }
}

fn decode_rpc<T: serde::de::DeserializeOwned>(request: Request<v1::RaftPayload>) -> Result<T, Status> {
    codec::decode(Kind::RaftMessage, &request.into_inner().data)
        .map_err(|e| Status::invalid_argument(format!("malformed raft message: {e}")))
}

/// Metadata key of every Raft reply: the answering node's wall clock, in
/// milliseconds since the Unix epoch, from which the sender estimates the
/// offset between their clocks (see `boxoffice_engine::clock`).
pub const WALL_CLOCK_HEADER: &str = "x-boxoffice-wall-ms";

fn encode_reply<T: serde::Serialize>(
    engine: &Engine,
    reply: &T,
) -> Result<Response<v1::RaftPayload>, Status> {
    let data = codec::encode(Kind::RaftMessage, reply).map_err(|e| Status::internal(e.to_string()))?;
    let mut response = Response::new(v1::RaftPayload { data });
    if let Ok(value) = engine.clock().wall_ms().to_string().parse() {
        response.metadata_mut().insert(WALL_CLOCK_HEADER, value);
    }
    Ok(response)
}

#[tonic::async_trait]
impl v1::raft_server::Raft for RaftService {
    async fn append_entries(
        &self,
        request: Request<v1::RaftPayload>,
    ) -> Result<Response<v1::RaftPayload>, Status> {
        let rpc = decode_rpc(request)?;
        encode_reply(&self.engine, &self.engine.raft().append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<v1::RaftPayload>) -> Result<Response<v1::RaftPayload>, Status> {
        let rpc = decode_rpc(request)?;
        encode_reply(&self.engine, &self.engine.raft().vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<v1::RaftPayload>,
    ) -> Result<Response<v1::RaftPayload>, Status> {
        let rpc = decode_rpc(request)?;
        encode_reply(&self.engine, &self.engine.raft().install_snapshot(rpc).await)
    }
}

/// Fault injection for the fault harness (builds with the `fault-injection`
/// feature only).
#[cfg(feature = "fault-injection")]
pub struct FaultsService {
    engine: Arc<Engine>,
}

#[cfg(feature = "fault-injection")]
impl FaultsService {
    /// Serve fault switches of `engine`.
    pub fn new(engine: Arc<Engine>) -> FaultsService {
        FaultsService { engine }
    }
}

#[cfg(feature = "fault-injection")]
#[tonic::async_trait]
impl v1::faults_server::Faults for FaultsService {
    async fn set_clock_offset(
        &self,
        request: Request<v1::SetClockOffsetRequest>,
    ) -> Result<Response<v1::SetClockOffsetResponse>, Status> {
        let offset_ms = request.into_inner().offset_ms;
        let clock = self.engine.clock();
        clock.set_offset_ms(offset_ms);
        tracing::warn!(offset_ms, "fault injection: wall clock skewed");
        Ok(Response::new(v1::SetClockOffsetResponse {
            wall_ms: clock.wall_ms(),
            estimate_ms: clock.estimate_ms(),
        }))
    }
}
