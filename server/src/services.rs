//! The gRPC services of a node: the client API (`Inventory`), cluster admin
//! (`Admin`) and the Raft transport (`Raft`).
//!
//! Wire input is converted to domain commands and checked at the door
//! ([`boxoffice_proto::door`]: the domain's state-free limits, bytes per
//! command, commands and bytes per batch); anything that does not pass is
//! refused with `INVALID_ARGUMENT` before it reaches Raft, so malformed or
//! oversized requests change nothing. A follower answers writes and
//! linearizable reads with `FAILED_PRECONDITION` and the leader's id and
//! address in the [`LEADER_ID_HEADER`] / [`LEADER_ADDR_HEADER`] metadata;
//! the client retries there with the same request id.
//!
//! Status codes of a write and what they promise:
//! - an outcome (`OK`): decided and durable on a majority.
//! - `INVALID_ARGUMENT` (refused at the door), `FAILED_PRECONDITION` (not
//!   the leader) and `RESOURCE_EXHAUSTED` (busy): this call stored nothing.
//! - `DEADLINE_EXCEEDED` (the client's deadline passed first), `UNAVAILABLE`
//!   (Raft failed or the node is stopping), and anything else (`CANCELLED`,
//!   `UNKNOWN`, `INTERNAL`, a broken connection): the outcome is unknown;
//!   retry with the same request id to learn it.
//!
//! `SubmitBatch` answers each command on its own ([`v1::CommandResult`]):
//! applied, certainly not applied (with why), or unknown. A batch is
//! answered with one error status only when that status is true of every
//! command: refused at the door, or no command stored because this node is
//! not the leader or is busy (or every outcome is unknown). So a batch of
//! which some commands were stored is never answered "nothing was stored".
//!
//! Deadlines: tonic applies a client's `grpc-timeout` itself and, when it
//! fires, answers `CANCELLED` ("Timeout expired"), which says nothing about
//! the deadline. Every unary handler here reads the header and gives up
//! [`DEADLINE_MARGIN_MS`] before it, answering `DEADLINE_EXCEEDED`. A write
//! cut off this way may still take effect (it was proposed): its outcome is
//! unknown, and the message says so.

// tonic's `Status` is the error type of every gRPC handler; boxing it in
// the helpers would only be undone at the boundary.
#![allow(clippy::result_large_err)]

use crate::join::RaftGate;
use crate::metrics::Metrics;
use boxoffice_engine::codec::{self, Kind};
use boxoffice_engine::domain::{Command, RequestId};
use boxoffice_engine::node::{Consistency, Engine, ReadError, SubmitError};
use boxoffice_engine::raft::{AppliedOutcome, NodeId, NodeInfo};
use boxoffice_engine::store::Applied;
use boxoffice_proto::door::{self, Refusal};
use boxoffice_proto::v1;
use boxoffice_proto::v1::not_applied::Reason;
use openraft::ServerState;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

pub use boxoffice_proto::door::{BATCH_REQUEST_BYTES_MAX, BATCH_REQUEST_COMMANDS_MAX, COMMAND_BYTES_MAX};

/// Records buffered per event-log subscriber before the stream waits for it.
pub const SUBSCRIBE_BUFFER_RECORDS: usize = 1_024;

/// Longest delay a `Campaign` request may ask for, in milliseconds.
pub const CAMPAIGN_AFTER_MS_MAX: u64 = 10_000;

/// Metadata key carrying the leader's id on a not-leader answer.
pub const LEADER_ID_HEADER: &str = "x-boxoffice-leader-id";
/// Metadata key carrying the leader's address on a not-leader answer.
pub const LEADER_ADDR_HEADER: &str = "x-boxoffice-leader-addr";

/// The metadata key of a client's deadline (gRPC over HTTP/2).
pub const GRPC_TIMEOUT_HEADER: &str = "grpc-timeout";
/// How long before a client's deadline a handler gives up and answers
/// `DEADLINE_EXCEEDED`, in milliseconds: tonic's own timer starts when the
/// request's headers arrive, a little before the handler runs, and must not
/// fire first.
pub const DEADLINE_MARGIN_MS: u64 = 50;
/// The margin is at most this share of the whole timeout, in percent, so
/// that a very short deadline still leaves the handler most of it.
pub const DEADLINE_MARGIN_PERCENT_MAX: u32 = 25;
/// Most digits of a `grpc-timeout` value (the gRPC spec's limit).
const GRPC_TIMEOUT_DIGITS_MAX: usize = 8;

fn not_leader_message(leader: &Option<(NodeId, NodeInfo)>) -> String {
    match leader {
        Some((id, node)) => format!("not the leader; the leader is node {id} at {}", node.addr),
        None => "not the leader, and no leader is known yet; retry shortly".to_string(),
    }
}

fn not_leader(leader: Option<(NodeId, NodeInfo)>) -> Status {
    let mut status = Status::failed_precondition(not_leader_message(&leader));
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

const BUSY: &str = "busy, try again (nothing was stored)";
const WRITE_DEADLINE: &str = "the client's deadline passed before the outcome was known: outcome unknown (the \
                              command may still take effect); retry with the same request id to learn it";
const READ_DEADLINE: &str = "the client's deadline passed before the read finished";
const ADMIN_DEADLINE: &str = "the client's deadline passed before the change finished: outcome unknown (it may \
                              still take effect); see the cluster status";

fn submit_status(error: SubmitError) -> Status {
    match error {
        SubmitError::NotLeader { leader } => not_leader(leader),
        SubmitError::Busy => Status::resource_exhausted(BUSY),
        error @ (SubmitError::Invalid(_) | SubmitError::TooLarge { .. }) => {
            Status::invalid_argument(format!("{error} (nothing was stored)"))
        }
        SubmitError::Unavailable(message) => Status::unavailable(format!("outcome unknown: {message}")),
    }
}

fn error_label(error: &SubmitError) -> &'static str {
    match error {
        SubmitError::NotLeader { .. } => "error/not_leader",
        SubmitError::Busy => "error/busy",
        SubmitError::Invalid(_) | SubmitError::TooLarge { .. } => "error/invalid",
        SubmitError::Unavailable(_) => "error/unavailable",
    }
}

fn read_status(error: ReadError) -> Status {
    match error {
        ReadError::NotLeader { leader } => not_leader(leader),
        ReadError::Unavailable(message) => Status::unavailable(message),
    }
}

fn refused(refusal: Refusal) -> Status {
    Status::invalid_argument(format!("{refusal} (nothing was proposed)"))
}

fn consistency(value: i32) -> Result<Consistency, Status> {
    match v1::ReadConsistency::try_from(value) {
        Ok(v1::ReadConsistency::Linearizable) => Ok(Consistency::Linearizable),
        Ok(v1::ReadConsistency::StaleOk) => Ok(Consistency::Stale),
        Err(_) => Err(Status::invalid_argument(format!("unknown read consistency {value}"))),
    }
}

/// The client's timeout from its `grpc-timeout` metadata, if it sent a valid one.
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get(GRPC_TIMEOUT_HEADER)?.to_str().ok()?;
    if value.len() < 2 || value.len() > GRPC_TIMEOUT_DIGITS_MAX + 1 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 60 * 60),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// When a handler must give up: [`DEADLINE_MARGIN_MS`] (at most
/// [`DEADLINE_MARGIN_PERCENT_MAX`] of the timeout) before the client's
/// deadline. `None` if the client set none.
pub fn handler_deadline(metadata: &MetadataMap) -> Option<tokio::time::Instant> {
    let timeout = grpc_timeout(metadata)?;
    let margin = Duration::from_millis(DEADLINE_MARGIN_MS).min(timeout * DEADLINE_MARGIN_PERCENT_MAX / 100);
    Some(tokio::time::Instant::now() + (timeout - margin))
}

/// Run `work` until `deadline`; `None` if the deadline came first.
async fn before<T>(deadline: Option<tokio::time::Instant>, work: impl Future<Output = T>) -> Option<T> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline, work).await.ok(),
    }
}

fn response(applied: &AppliedOutcome) -> v1::SubmitResponse {
    v1::SubmitResponse {
        outcome: Some((&applied.outcome).into()),
        duplicate: applied.is_duplicate(),
        seq: applied.seq,
    }
}

/// What became of one command of a batch: its result from the engine, or
/// `None` if the client's deadline came first.
type CommandAnswer = Option<Result<AppliedOutcome, SubmitError>>;

fn not_applied(reason: Reason, message: String) -> v1::command_result::Result {
    v1::command_result::Result::NotApplied(v1::NotApplied {
        reason: reason as i32,
        message,
        leader_id: 0,
        leader_addr: String::new(),
    })
}

/// One command's answer on the wire (see `SubmitError`: only `Unavailable`
/// leaves the outcome unknown, as does a deadline that came first).
fn command_result(answer: &CommandAnswer) -> v1::CommandResult {
    use v1::command_result::Result as Wire;
    let result = match answer {
        Some(Ok(applied)) => Wire::Applied(response(applied)),
        Some(Err(SubmitError::NotLeader { leader })) => Wire::NotApplied(v1::NotApplied {
            reason: Reason::NotLeader as i32,
            message: not_leader_message(leader),
            leader_id: leader.as_ref().map_or(0, |(id, _)| *id),
            leader_addr: leader.as_ref().map(|(_, node)| node.addr.clone()).unwrap_or_default(),
        }),
        Some(Err(SubmitError::Busy)) => not_applied(Reason::Busy, BUSY.into()),
        Some(Err(error @ SubmitError::Invalid(_))) => not_applied(Reason::Invalid, error.to_string()),
        Some(Err(error @ SubmitError::TooLarge { .. })) => not_applied(Reason::TooLarge, error.to_string()),
        Some(Err(SubmitError::Unavailable(message))) => {
            Wire::Unknown(v1::OutcomeUnknown { message: format!("outcome unknown: {message}") })
        }
        None => Wire::Unknown(v1::OutcomeUnknown { message: WRITE_DEADLINE.into() }),
    };
    v1::CommandResult { result: Some(result) }
}

/// The answer to a batch: one error status if it is true of every command
/// (every one refused as not-leader, or as busy, or every outcome unknown
/// for the same reason), else one result per command. `results` (the field
/// older clients read) is filled only when every command was applied.
fn batch_reply(answers: &[CommandAnswer]) -> Result<v1::SubmitBatchResponse, Status> {
    let every = |test: fn(&CommandAnswer) -> bool| !answers.is_empty() && answers.iter().all(test);
    if every(|a| a.is_none()) {
        return Err(Status::deadline_exceeded(WRITE_DEADLINE));
    }
    let shared = every(|a| matches!(a, Some(Err(SubmitError::NotLeader { .. }))))
        || every(|a| matches!(a, Some(Err(SubmitError::Busy))))
        || every(|a| matches!(a, Some(Err(SubmitError::Unavailable(_)))));
    if shared && let Some(Some(Err(error))) = answers.first() {
        return Err(submit_status(error.clone()));
    }
    let applied: Vec<v1::SubmitResponse> =
        answers.iter().filter_map(|a| a.as_ref()?.as_ref().ok()).map(response).collect();
    Ok(v1::SubmitBatchResponse {
        results: if applied.len() == answers.len() { applied } else { Vec::new() },
        command_results: answers.iter().map(command_result).collect(),
    })
}

fn positions(applied: &Applied) -> (u64, u64) {
    (applied.last_applied.map_or(0, |l| l.index), applied.state.last_seq)
}

/// The client API.
pub struct InventoryService {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    gate: RaftGate,
}

/// Writes refused while a founding node is still adding the other members:
/// nothing is acknowledged with fewer copies than the cluster is meant to
/// keep. Like a not-leader answer (no leader named), so clients poll.
fn forming() -> Status {
    Status::failed_precondition("the cluster is being formed (members are being added); retry shortly")
}

impl InventoryService {
    /// Serve the client API of `engine`.
    pub fn new(engine: Arc<Engine>, metrics: Arc<Metrics>) -> InventoryService {
        InventoryService { engine, metrics, gate: RaftGate::new(true) }
    }

    /// Refuse writes while `gate` says the cluster is not writable yet.
    pub fn with_gate(mut self, gate: RaftGate) -> InventoryService {
        self.gate = gate;
        self
    }

    async fn read<T>(
        &self,
        deadline: Option<tokio::time::Instant>,
        consistency_value: i32,
        read: impl FnOnce(&Applied, u64) -> Result<T, Status>,
    ) -> Result<T, Status> {
        let consistency = consistency(consistency_value)?;
        // What has lapsed is judged at the cluster's time (not this host's
        // clock, which may be skewed), never before the last record.
        let now_ms = self.engine.now_ms();
        let answer = self.engine.read(consistency, |applied| read(applied, now_ms.max(applied.state.now_ms)));
        before(deadline, answer)
            .await
            .ok_or_else(|| Status::deadline_exceeded(READ_DEADLINE))?
            .map_err(read_status)?
    }

    /// Submit every command (queued in order) and collect each one's answer,
    /// until `deadline`: a command still unanswered then is `None`.
    async fn submit_all(
        &self,
        deadline: Option<tokio::time::Instant>,
        commands: Vec<(RequestId, Command)>,
    ) -> Vec<CommandAnswer> {
        let slots: Vec<OnceLock<Result<AppliedOutcome, SubmitError>>> =
            commands.iter().map(|_| OnceLock::new()).collect();
        let all = futures::future::join_all(commands.into_iter().zip(&slots).map(
            |((id, command), slot)| async move {
                let _ = slot.set(self.engine.submit(id, command).await);
            },
        ));
        before(deadline, all).await;
        slots.into_iter().map(OnceLock::into_inner).collect()
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
        let deadline = handler_deadline(request.metadata());
        let (request_id, command) = door::submit_request(request.into_inner()).map_err(refused)?;
        if !self.gate.is_writable() {
            return Err(forming());
        }
        let kind = command.kind();
        let result = before(deadline, self.engine.submit(request_id, command)).await;
        let label = match &result {
            Some(Ok(applied)) => applied.outcome.label(),
            Some(Err(error)) => error_label(error),
            None => "error/deadline",
        };
        self.metrics.observe_request(kind, label, started.elapsed());
        let result = result.ok_or_else(|| Status::deadline_exceeded(WRITE_DEADLINE))?;
        Ok(Response::new(response(&result.map_err(submit_status)?)))
    }

    async fn submit_batch(
        &self,
        request: Request<v1::SubmitBatchRequest>,
    ) -> Result<Response<v1::SubmitBatchResponse>, Status> {
        let started = Instant::now();
        let deadline = handler_deadline(request.metadata());
        // All or nothing at the door: one bad command refuses the batch before anything is proposed.
        let commands = door::batch_request(request.into_inner()).map_err(refused)?;
        if !self.gate.is_writable() {
            return Err(forming());
        }
        let answers = self.submit_all(deadline, commands).await;
        let reply = batch_reply(&answers);
        let label = match &reply {
            Ok(reply) if reply.results.len() == answers.len() => "ok",
            Ok(_) => "partial",
            Err(status) => match status.code() {
                tonic::Code::DeadlineExceeded => "error/deadline",
                tonic::Code::FailedPrecondition => "error/not_leader",
                tonic::Code::ResourceExhausted => "error/busy",
                _ => "error/unavailable",
            },
        };
        self.metrics.observe_request("batch", label, started.elapsed());
        Ok(Response::new(reply?))
    }

    async fn item_availability(
        &self,
        request: Request<v1::ItemAvailabilityRequest>,
    ) -> Result<Response<v1::ItemAvailabilityResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let item = boxoffice_engine::domain::ItemId(request.item);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
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
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let quota = boxoffice_engine::domain::QuotaId(request.quota);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
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
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let hold = boxoffice_engine::domain::HoldId(request.hold);
        let reply = self
            .read(deadline, request.consistency, |applied, _| {
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
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let order = boxoffice_engine::domain::OrderId(request.order);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
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
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let event = boxoffice_engine::domain::EventId(request.event);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
                let state = &applied.state;
                let found =
                    state.event(event).ok_or_else(|| Status::not_found(format!("no event {event}")))?;
                let items = state.items().filter(|i| i.event == event).map(Into::into).collect();
                let quotas = state
                    .quotas()
                    .filter(|q| q.event == event)
                    .map(|q| (&q.availability(now.max(state.now_ms))).into())
                    .collect();
                let checkin_lists = state.checkin_lists_of(event).map(Into::into).collect();
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::ListCatalogResponse {
                    event: Some(found.into()),
                    items,
                    quotas,
                    applied_index,
                    last_seq,
                    checkin_lists,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn find_organizer(
        &self,
        request: Request<v1::FindOrganizerRequest>,
    ) -> Result<Response<v1::FindOrganizerResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let reply = self
            .read(deadline, request.consistency, |applied, _| {
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

    async fn list_events(
        &self,
        request: Request<v1::ListEventsRequest>,
    ) -> Result<Response<v1::ListEventsResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let organizer = boxoffice_engine::domain::OrganizerId(request.organizer);
        let reply = self
            .read(deadline, request.consistency, |applied, _| {
                let state = &applied.state;
                state
                    .organizer(organizer)
                    .ok_or_else(|| Status::not_found(format!("no organizer {organizer}")))?;
                let events = state.events_of(organizer).into_iter().map(Into::into).collect();
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::ListEventsResponse { events, applied_index, last_seq })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn find_event(
        &self,
        request: Request<v1::FindEventRequest>,
    ) -> Result<Response<v1::FindEventResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let organizer = boxoffice_engine::domain::OrganizerId(request.organizer);
        let reply = self
            .read(deadline, request.consistency, |applied, _| {
                let event = applied.state.event_by_slug(organizer, &request.slug).ok_or_else(|| {
                    Status::not_found(format!(
                        "organizer {organizer} has no event with slug `{}`",
                        request.slug
                    ))
                })?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::FindEventResponse { event: Some(event.into()), applied_index, last_seq })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_waiting_room(
        &self,
        request: Request<v1::GetWaitingRoomRequest>,
    ) -> Result<Response<v1::GetWaitingRoomResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let event = boxoffice_engine::domain::EventId(request.event);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
                let state = &applied.state;
                state.event(event).ok_or_else(|| Status::not_found(format!("no event {event}")))?;
                let room = state.waiting_room(event, now).map(|room| (&room).into());
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetWaitingRoomResponse { room, now_ms: now, applied_index, last_seq })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_voucher(
        &self,
        request: Request<v1::GetVoucherRequest>,
    ) -> Result<Response<v1::GetVoucherResponse>, Status> {
        use boxoffice_engine::domain::limits::VOUCHER_CODE_BYTES_MAX;
        use v1::get_voucher_request::Which;
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let which = request.which.ok_or_else(|| Status::invalid_argument("give a voucher id or a code"))?;
        if let Which::Code(code) = &which
            && code.len() > VOUCHER_CODE_BYTES_MAX
        {
            return Err(Status::invalid_argument(format!(
                "a voucher code is at most {VOUCHER_CODE_BYTES_MAX} bytes, this one is {}",
                code.len()
            )));
        }
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
                let state = &applied.state;
                let voucher = match &which {
                    Which::Voucher(id) => state.voucher(boxoffice_engine::domain::VoucherId(*id)),
                    Which::Code(code) => state.voucher_by_code(&code.to_ascii_uppercase()),
                };
                let voucher = voucher.ok_or_else(|| Status::not_found("no voucher has that id or code"))?;
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetVoucherResponse {
                    voucher: Some((&voucher.view(now)).into()),
                    now_ms: now,
                    applied_index,
                    last_seq,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_seat_map(
        &self,
        request: Request<v1::GetSeatMapRequest>,
    ) -> Result<Response<v1::GetSeatMapResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let event = boxoffice_engine::domain::EventId(request.event);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
                let state = &applied.state;
                state.event(event).ok_or_else(|| Status::not_found(format!("no event {event}")))?;
                let zones = boxoffice_proto::convert::seat_map_to_wire(&state.seat_map(event, now));
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetSeatMapResponse { zones, now_ms: now, applied_index, last_seq })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_waiting_list_entry(
        &self,
        request: Request<v1::GetWaitingListEntryRequest>,
    ) -> Result<Response<v1::GetWaitingListEntryResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let id = boxoffice_engine::domain::EntryId(request.entry);
        let reply = self
            .read(deadline, request.consistency, |applied, now| {
                let state = &applied.state;
                let missing = || Status::not_found(format!("no waiting-list entry {id}"));
                let entry = state.entry(id).ok_or_else(missing)?;
                let position = state.waiting_list_position(id, now).ok_or_else(missing)?;
                let view = boxoffice_proto::convert::WaitingListEntryView { entry: entry.clone(), position };
                let (applied_index, last_seq) = positions(applied);
                Ok(v1::GetWaitingListEntryResponse {
                    entry: Some(v1::WaitingListEntry::from(&view)),
                    now_ms: now,
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
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        if request.node_id == 0 || request.addr.is_empty() {
            return Err(Status::invalid_argument("a learner needs a node id (from 1) and an address"));
        }
        let node = NodeInfo { addr: request.addr, zone: request.zone };
        let raft = self.engine.raft();
        before(deadline, raft.add_learner(request.node_id, node, false))
            .await
            .ok_or_else(|| Status::deadline_exceeded(ADMIN_DEADLINE))?
            .map_err(|e| raft_status(e, &self.engine))?;
        // openraft's own "blocking" add returns as soon as replication to the
        // learner fails; an operator promotes once this returns, so it must
        // mean caught up (a node with an empty data directory is not, until
        // it has checked it is not a voter that lost its disk).
        before(deadline, crate::join::caught_up(raft, request.node_id)).await.ok_or_else(|| {
            Status::deadline_exceeded(format!(
                "node {} was added as a learner but has not caught up yet; try again before promoting it",
                request.node_id
            ))
        })?;
        self.reply(format!("node {} added as a learner and caught up", request.node_id))
    }

    async fn change_membership(
        &self,
        request: Request<v1::ChangeMembershipRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let request = request.into_inner();
        let voters: BTreeSet<NodeId> = request.voters.into_iter().collect();
        if voters.is_empty() {
            return Err(Status::invalid_argument("a cluster needs at least one voter"));
        }
        before(deadline, self.engine.raft().change_membership(voters.clone(), request.retain))
            .await
            .ok_or_else(|| Status::deadline_exceeded(ADMIN_DEADLINE))?
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply(format!("voters are now {voters:?}"))
    }

    async fn remove_node(
        &self,
        request: Request<v1::RemoveNodeRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
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
        before(deadline, self.engine.raft().change_membership(voters, false))
            .await
            .ok_or_else(|| Status::deadline_exceeded(ADMIN_DEADLINE))?
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply(format!("node {id} removed"))
    }

    async fn initialize(
        &self,
        request: Request<v1::InitializeRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let deadline = handler_deadline(request.metadata());
        let members: BTreeMap<NodeId, NodeInfo> = request
            .into_inner()
            .members
            .into_iter()
            .map(|m| (m.id, NodeInfo { addr: m.addr, zone: m.zone }))
            .collect();
        if members.is_empty() || members.contains_key(&0) {
            return Err(Status::invalid_argument("initialize needs members with ids from 1"));
        }
        before(deadline, self.engine.raft().initialize(members))
            .await
            .ok_or_else(|| Status::deadline_exceeded(ADMIN_DEADLINE))?
            .map_err(|e| raft_status(e, &self.engine))?;
        self.reply("cluster initialized".into())
    }

    async fn campaign(
        &self,
        request: Request<v1::CampaignRequest>,
    ) -> Result<Response<v1::AdminResponse>, Status> {
        let after_ms = request.into_inner().after_ms;
        if after_ms > CAMPAIGN_AFTER_MS_MAX {
            return Err(Status::invalid_argument(format!("after_ms is at most {CAMPAIGN_AFTER_MS_MAX}")));
        }
        let voter = {
            let metrics = self.engine.raft().metrics().borrow().clone();
            metrics.membership_config.membership().voter_ids().any(|id| id == metrics.id)
        };
        if !voter {
            return Err(Status::failed_precondition("this node is not a voter"));
        }
        let engine = self.engine.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(after_ms)).await;
            if engine.raft().metrics().borrow().state != ServerState::Leader {
                tracing::info!("handover: standing for election, as the stopping leader asked");
                if let Err(error) = engine.raft().trigger().elect().await {
                    tracing::warn!(%error, "handover: could not stand for election");
                }
            }
        });
        self.reply(format!("standing for election in {after_ms} ms"))
    }
}

/// The Raft transport: decode, hand to openraft, encode its `Result`.
pub struct RaftService {
    engine: Arc<Engine>,
    gate: RaftGate,
}

impl RaftService {
    /// Serve the Raft transport of `engine`, while `gate` is open (a node
    /// with an empty data directory takes no part until it knows it is not
    /// a voter that lost its disk; see `crate::join`).
    pub fn new(engine: Arc<Engine>, gate: RaftGate) -> RaftService {
        RaftService { engine, gate }
    }

    fn admit(&self) -> Result<(), Status> {
        if self.gate.is_open() {
            Ok(())
        } else {
            Err(Status::unavailable(
                "this node's data directory was empty and it is still finding out whether it may take \
                 part in Raft (see --join, --rejoin)",
            ))
        }
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
        self.admit()?;
        let rpc = decode_rpc(request)?;
        encode_reply(&self.engine, &self.engine.raft().append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<v1::RaftPayload>) -> Result<Response<v1::RaftPayload>, Status> {
        self.admit()?;
        let rpc = decode_rpc(request)?;
        encode_reply(&self.engine, &self.engine.raft().vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<v1::RaftPayload>,
    ) -> Result<Response<v1::RaftPayload>, Status> {
        self.admit()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_engine::domain::{Accepted, OrderId, Outcome};
    use tonic::Code;

    fn applied(seq: u64) -> CommandAnswer {
        let outcome = Outcome::Accepted(Accepted::OrderPaid { order: OrderId(seq) });
        Some(Ok(AppliedOutcome { outcome, seq }))
    }

    fn leader() -> Option<(NodeId, NodeInfo)> {
        Some((2, NodeInfo { addr: "127.0.0.12:7000".into(), zone: "dc2".into() }))
    }

    fn kind(result: &v1::CommandResult) -> &'static str {
        match result.result.as_ref().expect("always set") {
            v1::command_result::Result::Applied(_) => "applied",
            v1::command_result::Result::NotApplied(_) => "not_applied",
            v1::command_result::Result::Unknown(_) => "unknown",
        }
    }

    #[test]
    fn only_an_unavailable_engine_or_a_passed_deadline_leaves_a_command_unknown() {
        let not_leader = Some(Err(SubmitError::NotLeader { leader: leader() }));
        let invalid = Some(Err(SubmitError::Invalid(boxoffice_engine::domain::InvalidInput::Name)));
        let too_large = Some(Err(SubmitError::TooLarge { bytes: 10, max: 5 }));
        let cases = [
            (applied(3), "applied"),
            (not_leader.clone(), "not_applied"),
            (Some(Err(SubmitError::Busy)), "not_applied"),
            (invalid, "not_applied"),
            (too_large, "not_applied"),
            (Some(Err(SubmitError::Unavailable("raft stopped".into()))), "unknown"),
            (None, "unknown"),
        ];
        for (answer, expected) in &cases {
            assert_eq!(kind(&command_result(answer)), *expected, "{answer:?}");
        }
        let Some(v1::command_result::Result::NotApplied(refused)) = command_result(&not_leader).result else {
            panic!()
        };
        assert_eq!(refused.reason, Reason::NotLeader as i32);
        assert_eq!((refused.leader_id, refused.leader_addr.as_str()), (2, "127.0.0.12:7000"));
        let Some(v1::command_result::Result::Applied(response)) = command_result(&applied(3)).result else {
            panic!()
        };
        assert_eq!((response.seq, response.duplicate), (3, false));
    }

    #[test]
    fn a_partly_stored_batch_is_answered_command_by_command_never_as_one_error() {
        let answers = vec![applied(1), applied(2), Some(Err(SubmitError::Busy)), None];
        let reply = batch_reply(&answers).expect("not one error: two commands were stored");
        let kinds: Vec<_> = reply.command_results.iter().map(kind).collect();
        assert_eq!(kinds, ["applied", "applied", "not_applied", "unknown"]);
        assert!(reply.results.is_empty(), "older clients must not mistake it for a full answer");

        let all = vec![applied(1), applied(2)];
        let reply = batch_reply(&all).unwrap();
        assert_eq!(reply.results.len(), 2, "older clients read these");
        assert_eq!(reply.command_results.len(), 2);
        assert!(batch_reply(&[]).unwrap().command_results.is_empty());
    }

    #[test]
    fn a_batch_is_one_error_only_when_that_error_is_true_of_every_command() {
        let every = |answer: CommandAnswer| batch_reply(&vec![answer; 3]).unwrap_err();
        let status = every(Some(Err(SubmitError::NotLeader { leader: leader() })));
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.metadata().get(LEADER_ADDR_HEADER).unwrap(), "127.0.0.12:7000");
        assert_eq!(every(Some(Err(SubmitError::Busy))).code(), Code::ResourceExhausted);
        assert_eq!(every(Some(Err(SubmitError::Unavailable("x".into())))).code(), Code::Unavailable);
        let status = every(None);
        assert_eq!(status.code(), Code::DeadlineExceeded);
        assert!(status.message().contains("outcome unknown"), "{}", status.message());
        // Mixed refusals: each command says its own.
        let mixed = vec![Some(Err(SubmitError::Busy)), Some(Err(SubmitError::NotLeader { leader: None }))];
        assert_eq!(batch_reply(&mixed).unwrap().command_results.len(), 2);
    }

    #[test]
    fn a_grpc_timeout_is_read_in_every_unit_and_garbage_is_ignored() {
        let timeout = |value: &str| {
            let mut metadata = MetadataMap::new();
            metadata.insert(GRPC_TIMEOUT_HEADER, value.parse().unwrap());
            grpc_timeout(&metadata)
        };
        assert_eq!(timeout("2H"), Some(Duration::from_secs(7_200)));
        assert_eq!(timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout("4S"), Some(Duration::from_secs(4)));
        assert_eq!(timeout("500m"), Some(Duration::from_millis(500)));
        assert_eq!(timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(timeout("7n"), Some(Duration::from_nanos(7)));
        for garbage in ["", "m", "123456789m", "12x", "-1m", "1.5S", "+1m"] {
            assert_eq!(timeout(garbage), None, "{garbage:?}");
        }
        assert_eq!(grpc_timeout(&MetadataMap::new()), None);
    }

    #[tokio::test]
    async fn a_handler_gives_up_a_margin_before_the_client_deadline() {
        let deadline_after = |value: &str| {
            let mut metadata = MetadataMap::new();
            metadata.insert(GRPC_TIMEOUT_HEADER, value.parse().unwrap());
            let now = tokio::time::Instant::now();
            handler_deadline(&metadata).unwrap() - now
        };
        let about = |left: Duration, ms: u64| {
            let ms = Duration::from_millis(ms);
            assert!(left >= ms && left < ms + Duration::from_millis(5), "{left:?}, expected {ms:?}");
        };
        about(deadline_after("1S"), 1_000 - DEADLINE_MARGIN_MS);
        about(deadline_after("100m"), 75); // at most a quarter of a short timeout
        assert_eq!(before(None, async { 7 }).await, Some(7));
        let soon = Some(tokio::time::Instant::now() + Duration::from_millis(10));
        assert_eq!(before(soon, std::future::pending::<()>()).await, None);
    }
}
