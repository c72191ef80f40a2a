//! boxoffice-client: one API to the inventory, over two transports.
//!
//! - **Remote**: gRPC to a cluster, given a list of endpoints (not one DNS
//!   name). The client finds the leader (a follower's refusal names it),
//!   caches it, and retries with backoff on timeouts, leader changes and
//!   busy answers, always with the same request id, so a retry never buys
//!   twice.
//! - **Embedded**: an [`Engine`] running in this process on a local data
//!   directory (a single node), behind the same API.
//!
//! Every write says whether its outcome is known. [`ClientError::Unknown`]
//! means the command may or may not have taken effect (a timeout is never
//! reported as a failure); calling again with the same [`RequestId`] finds
//! out. [`ClientError::NotApplied`] means it certainly did not. A batch
//! ([`Client::submit_batch`]) says it for each command: a batch of which
//! some commands were stored is never reported as not applied.
//!
//! # What a caller needs, from this crate alone
//!
//! Commands, outcomes and views are the engine's domain types, re-exported
//! as [`domain`]; the catalog and cluster status are the wire types of
//! [`v1`]. A crate that talks to boxoffice (the HTTP shop) depends on this
//! crate only.

// tonic's `Status` is what every remote attempt returns; boxing it buys nothing.
#![allow(clippy::result_large_err)]

use boxoffice_engine::domain::{
    Command, EntryId, EventDef, EventId, Hold, HoldId, ItemAvailability, ItemId, Order, OrderId, OrganizerId,
    Outcome, QuotaAvailability, QuotaId, Record, RequestId, SeatMapZone, VoucherId, VoucherView,
    WaitingRoomView,
};
use boxoffice_engine::node::{Consistency, Engine, ReadError, SubmitError};
/// A waiting-list entry and where it stands, as [`Client::waiting_list_entry`] answers.
pub use boxoffice_proto::convert::WaitingListEntryView;
use boxoffice_proto::convert::{self, ConvertError};
use boxoffice_proto::door;
use boxoffice_proto::v1::admin_client::AdminClient;
use boxoffice_proto::v1::inventory_client::InventoryClient;
use futures::{Stream, StreamExt};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

pub use boxoffice_engine::node::Consistency as ReadConsistency;

/// Which voucher [`Client::voucher`] shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoucherLookup {
    /// By its id.
    Id(VoucherId),
    /// By the code a buyer types, in any case.
    Code(String),
}

impl std::fmt::Display for VoucherLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoucherLookup::Id(id) => write!(f, "{id}"),
            VoucherLookup::Code(code) => write!(f, "with code {code}"),
        }
    }
}

mod coalesce;
pub use coalesce::{
    COALESCE_BATCH_BYTES_MAX, COALESCE_BATCH_COMMANDS_MAX, COALESCE_BATCHES_IN_FLIGHT_MAX,
    COALESCE_LINGER_US, COALESCE_QUEUE_MAX,
};

/// The inventory's vocabulary: commands ([`domain::Command`]), outcomes
/// ([`domain::Outcome`], [`domain::Accepted`], [`domain::Rejection`]), ids,
/// limits ([`domain::limits`]) and the views the queries return.
pub use boxoffice_engine::domain;

/// The gRPC messages of `boxoffice.v1`, for the queries that return them
/// ([`Client::catalog`], [`Client::status`]).
pub use boxoffice_proto::v1;

/// Default deadline of one attempt, in milliseconds.
pub const ATTEMPT_TIMEOUT_MS_DEFAULT: u64 = 3_000;
/// Default deadline of a whole call, retries included, in milliseconds.
pub const CALL_TIMEOUT_MS_DEFAULT: u64 = 15_000;
/// Most attempts of one call.
pub const ATTEMPTS_MAX: u32 = 100;
/// First backoff between attempts, in milliseconds; it doubles up to the max.
pub const BACKOFF_MS_INITIAL: u64 = 25;
/// Pause between attempts while an election runs, in milliseconds.
pub const ELECTION_POLL_MS: u64 = 25;
/// Longest backoff between attempts, in milliseconds.
pub const BACKOFF_MS_MAX: u64 = 1_000;
/// How long connecting to one endpoint may take, in milliseconds.
pub const CONNECT_TIMEOUT_MS: u64 = 1_000;
/// HTTP/2 keepalive ping interval on every connection, in milliseconds.
pub const KEEPALIVE_INTERVAL_MS: u64 = 1_000;
/// A connection whose keepalive ping is not answered within this is dropped, in milliseconds.
pub const KEEPALIVE_TIMEOUT_MS: u64 = 2_000;
/// Largest response accepted, in bytes.
pub const RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;
/// Most rounds of one [`Client::submit_batch`] call: the first request and
/// the resends of the commands that were refused for a passing reason or
/// whose outcome was unknown.
pub const BATCH_ROUNDS_MAX: u32 = 10;
/// Metadata key with the leader's address on a not-leader answer (the
/// server's `LEADER_ADDR_HEADER`).
pub const LEADER_ADDR_HEADER: &str = "x-boxoffice-leader-addr";

pub use boxoffice_proto::door::{BATCH_REQUEST_BYTES_MAX, BATCH_REQUEST_COMMANDS_MAX, COMMAND_BYTES_MAX};

/// Why a call has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The command may or may not have taken effect; retry with the same request id to learn which.
    #[error("outcome unknown (retry with the same request id to find out): {0}")]
    Unknown(String),
    /// The command certainly did not take effect (no leader reachable, or every attempt was refused before proposing).
    #[error("not applied: {0}")]
    NotApplied(String),
    /// The request is malformed; nothing was done.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The object asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
}

/// The answer to a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The request id it was sent with.
    pub request_id: RequestId,
    /// What the domain decided (accepted or rejected with a reason).
    pub outcome: Outcome,
    /// True if this was answered from the request-id table (an earlier attempt had already applied it).
    pub duplicate: bool,
    /// Position of its record in the event log (0 for a duplicate).
    pub seq: u64,
}

/// A write's answer and when it was first sent, for histories that place
/// each operation in real time (the fault-injection harness).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// The answer, as [`Client::submit_with_id`] gives it.
    pub result: Result<Submitted, ClientError>,
    /// When the first attempt that may have reached a server started.
    /// Attempts refused before anything was sent (a refused TCP connection)
    /// do not count; `None` if no attempt was ever sent, and then the
    /// command certainly did not take effect. Embedded: when the call started.
    pub first_sent: Option<Instant>,
}

/// A fresh random request id.
pub fn new_request_id() -> RequestId {
    RequestId(rand::random())
}

/// Timeouts and routing of a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Deadline of one attempt.
    pub attempt_timeout: Duration,
    /// Deadline of a whole call, retries included.
    pub call_timeout: Duration,
    /// Addresses to dial instead of the ones nodes advertise, as
    /// (advertised, dial) pairs: for clients behind NAT or a proxy (the
    /// fault-injection harness routes every client link through one).
    pub rewrite: Vec<(String, String)>,
    /// Coalesce concurrent [`Client::submit`] calls of a remote client into
    /// `SubmitBatch` requests (see the `coalesce` module); each call still
    /// gets its own result. The batching task takes the options of the
    /// first call that uses it.
    pub coalesce: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            attempt_timeout: Duration::from_millis(ATTEMPT_TIMEOUT_MS_DEFAULT),
            call_timeout: Duration::from_millis(CALL_TIMEOUT_MS_DEFAULT),
            rewrite: Vec::new(),
            coalesce: true,
        }
    }
}

/// The client.
#[derive(Clone)]
pub struct Client {
    transport: Transport,
    options: ClientOptions,
}

#[derive(Clone)]
enum Transport {
    Remote(Arc<Remote>),
    Embedded(Arc<Engine>),
}

struct Remote {
    endpoints: Mutex<Vec<(String, Channel)>>,
    rewrite: Vec<(String, String)>,
    /// Index into `endpoints` of the node believed to lead.
    leader: Mutex<Option<usize>>,
    /// The batching of concurrent writes, started by the first write.
    coalescer: std::sync::OnceLock<coalesce::Coalescer>,
}

fn channel(addr: &str) -> Result<Channel, ClientError> {
    let uri = if addr.contains("://") { addr.to_owned() } else { format!("http://{addr}") };
    Ok(Endpoint::from_shared(uri)
        .map_err(|e| ClientError::Invalid(format!("endpoint `{addr}`: {e}")))?
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .tcp_nodelay(true)
        // Detect a silent (half-open) connection after a partition, and reconnect.
        .http2_keep_alive_interval(Duration::from_millis(KEEPALIVE_INTERVAL_MS))
        .keep_alive_timeout(Duration::from_millis(KEEPALIVE_TIMEOUT_MS))
        .keep_alive_while_idle(true)
        .connect_lazy())
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Next {
    /// Retry at once on the named leader.
    Redirect(String),
    /// Back off, then retry elsewhere; `maybe_applied` if the attempt may have taken effect.
    Retry { maybe_applied: bool, why: String },
    /// No leader is known yet (an election is running): poll again soon,
    /// without growing the backoff, so failover costs the election, not our backoff.
    Election(String),
    /// The connection was refused: the request never left this process, and
    /// the node is down (a dead leader, say). Cheap to learn; poll like an election.
    Refused(String),
    /// Give up with this error.
    Fail(ClientError),
}

impl Next {
    /// Whether the attempt that led here may have reached a server (and so,
    /// for a write, may have taken effect or at least been seen).
    fn may_have_been_sent(&self) -> bool {
        !matches!(self, Next::Refused(_))
    }
}

fn classify(status: &Status) -> Next {
    let message = status.message().to_owned();
    match status.code() {
        Code::FailedPrecondition => {
            match status.metadata().get(LEADER_ADDR_HEADER).and_then(|v| v.to_str().ok()) {
                Some(addr) => Next::Redirect(addr.to_owned()),
                None => Next::Election(message),
            }
        }
        Code::ResourceExhausted => Next::Retry { maybe_applied: false, why: message },
        Code::InvalidArgument | Code::OutOfRange => Next::Fail(ClientError::Invalid(message)),
        Code::NotFound => Next::Fail(ClientError::NotFound(message)),
        Code::Unavailable if message.contains("tcp connect") || message.contains("onnection refused") => {
            Next::Refused(message)
        }
        // DEADLINE_EXCEEDED, UNAVAILABLE, CANCELLED, UNKNOWN, INTERNAL, ...: unknown.
        _ => Next::Retry { maybe_applied: true, why: format!("{:?}: {message}", status.code()) },
    }
}

/// A request with the attempt's deadline in its `grpc-timeout` metadata, so
/// that the server gives up (and says `DEADLINE_EXCEEDED`) when we do.
fn timed<T>(message: T, budget: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(budget);
    request
}

impl Remote {
    fn pick(&self, attempt: u32) -> (usize, Channel) {
        let endpoints = self.endpoints.lock().expect("endpoints lock");
        let index = self.leader.lock().expect("leader lock").unwrap_or(attempt as usize % endpoints.len());
        (index, endpoints[index].1.clone())
    }

    fn redirect(&self, advertised: &str) -> Result<(), ClientError> {
        let addr = self
            .rewrite
            .iter()
            .find(|(from, _)| from == advertised)
            .map_or(advertised, |(_, to)| to.as_str());
        let mut endpoints = self.endpoints.lock().expect("endpoints lock");
        let index = match endpoints.iter().position(|(a, _)| a == addr) {
            Some(index) => index,
            None => {
                endpoints.push((addr.to_owned(), channel(addr)?));
                endpoints.len() - 1
            }
        };
        *self.leader.lock().expect("leader lock") = Some(index);
        Ok(())
    }
}

impl Client {
    /// A client of a remote cluster, given its nodes' gRPC addresses.
    pub fn remote(endpoints: &[String], options: ClientOptions) -> Result<Client, ClientError> {
        if endpoints.is_empty() {
            return Err(ClientError::Invalid("no endpoints given".into()));
        }
        let endpoints =
            endpoints.iter().map(|a| Ok((a.clone(), channel(a)?))).collect::<Result<Vec<_>, _>>()?;
        let remote = Remote {
            endpoints: Mutex::new(endpoints),
            rewrite: options.rewrite.clone(),
            leader: Mutex::new(None),
            coalescer: std::sync::OnceLock::new(),
        };
        Ok(Client { transport: Transport::Remote(Arc::new(remote)), options })
    }

    /// A client of an engine embedded in this process, on `data_dir`.
    pub async fn embedded(
        data_dir: impl Into<PathBuf>,
        options: ClientOptions,
    ) -> Result<Client, ClientError> {
        let engine =
            Engine::start_single(data_dir).await.map_err(|e| ClientError::NotApplied(e.to_string()))?;
        Ok(Client { transport: Transport::Embedded(Arc::new(engine)), options })
    }

    /// A client of an engine the caller already runs.
    pub fn from_engine(engine: Arc<Engine>, options: ClientOptions) -> Client {
        Client { transport: Transport::Embedded(engine), options }
    }

    /// Stop an embedded engine (no-op for a remote client).
    pub async fn shutdown(&self) {
        if let Transport::Embedded(engine) = &self.transport {
            engine.shutdown().await;
        }
    }

    /// Run `call` against the leader with retries, redirects and backoff,
    /// within the client's call timeout. `call` gets a channel and the
    /// attempt's time budget.
    async fn remote_call<T, F, Fut>(&self, remote: &Remote, write: bool, call: F) -> Result<T, ClientError>
    where
        F: FnMut(Channel, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let deadline = Instant::now() + self.options.call_timeout;
        self.remote_call_timed(remote, write, deadline, call).await.0
    }

    /// [`Client::remote_call`] until `deadline`, also returning when the
    /// first attempt that may have reached a server started (`None` if every
    /// attempt was refused before sending).
    async fn remote_call_timed<T, F, Fut>(
        &self,
        remote: &Remote,
        write: bool,
        deadline: Instant,
        mut call: F,
    ) -> (Result<T, ClientError>, Option<Instant>)
    where
        F: FnMut(Channel, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let mut backoff = Duration::from_millis(BACKOFF_MS_INITIAL);
        let mut maybe_applied = false;
        let mut first_sent = None;
        let mut last = String::from("no attempt made");
        for attempt in 0..ATTEMPTS_MAX {
            let (index, channel) = remote.pick(attempt);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let budget = self.options.attempt_timeout.min(left);
            let started = Instant::now();
            let next = match tokio::time::timeout(budget, call(channel, budget)).await {
                Ok(Ok(answer)) => {
                    *remote.leader.lock().expect("leader lock") = Some(index);
                    return (Ok(answer), first_sent.or(Some(started)));
                }
                Ok(Err(status)) => classify(&status),
                Err(_) => Next::Retry { maybe_applied: true, why: "attempt timed out".into() },
            };
            if next.may_have_been_sent() {
                first_sent.get_or_insert(started);
            }
            match next {
                Next::Fail(error) => {
                    // An invalid request is refused before proposing, but an earlier
                    // attempt may still have taken effect.
                    let error = match error {
                        ClientError::Invalid(_) | ClientError::NotFound(_) if maybe_applied && write => {
                            ClientError::Unknown(error.to_string())
                        }
                        error => error,
                    };
                    return (Err(error), first_sent);
                }
                Next::Redirect(addr) => {
                    last = format!("redirected to leader {addr}");
                    if let Err(error) = remote.redirect(&addr) {
                        return (Err(error), first_sent);
                    }
                    if attempt > 0 {
                        tokio::time::sleep(backoff.min(left)).await;
                    }
                }
                Next::Election(why) | Next::Refused(why) => {
                    last = why;
                    *remote.leader.lock().expect("leader lock") = None;
                    tokio::time::sleep(Duration::from_millis(ELECTION_POLL_MS).min(left)).await;
                }
                Next::Retry { maybe_applied: maybe, why } => {
                    maybe_applied |= maybe && write;
                    last = why;
                    *remote.leader.lock().expect("leader lock") = None;
                    tokio::time::sleep(backoff.min(left)).await;
                    backoff = (backoff * 2).min(Duration::from_millis(BACKOFF_MS_MAX));
                }
            }
        }
        let error = if maybe_applied { ClientError::Unknown(last) } else { ClientError::NotApplied(last) };
        (Err(error), first_sent)
    }

    /// Submit a command with a fresh request id.
    pub async fn submit(&self, command: Command) -> Result<Submitted, ClientError> {
        self.submit_with_id(new_request_id(), command).await
    }

    /// Submit a command with the given request id (a retry of an earlier call reuses it).
    /// On a remote client with [`ClientOptions::coalesce`], concurrent calls
    /// go out together in batches.
    pub async fn submit_with_id(
        &self,
        request_id: RequestId,
        command: Command,
    ) -> Result<Submitted, ClientError> {
        match &self.transport {
            Transport::Remote(remote) if self.options.coalesce => {
                let coalescer = remote
                    .coalescer
                    .get_or_init(|| coalesce::Coalescer::start(Arc::downgrade(remote), self.options.clone()));
                coalescer.submit(request_id, command, self.options.call_timeout).await
            }
            _ => self.submit_direct(request_id, command).await,
        }
    }

    /// One command in its own request, never coalesced.
    pub(crate) async fn submit_direct(
        &self,
        request_id: RequestId,
        command: Command,
    ) -> Result<Submitted, ClientError> {
        self.submit_with_id_timed(request_id, command).await.result
    }

    /// [`Client::submit_with_id`], also saying when the command was first
    /// sent (see [`Timed`]): what a history of operations in real time needs.
    pub async fn submit_with_id_timed(&self, request_id: RequestId, command: Command) -> Timed {
        let started = Instant::now();
        let deadline = started + self.options.call_timeout;
        match &self.transport {
            Transport::Embedded(engine) => Timed {
                result: embedded_submit(engine, deadline, request_id, command).await,
                first_sent: Some(started),
            },
            Transport::Remote(remote) => {
                let request = convert::submit_request(request_id, &command);
                let (reply, first_sent) = self
                    .remote_call_timed(remote, true, deadline, |channel, budget| {
                        let request = timed(request.clone(), budget);
                        async move { Ok(inventory(channel).submit(request).await?.into_inner()) }
                    })
                    .await;
                Timed { result: reply.and_then(|reply| submitted(request_id, reply)), first_sent }
            }
        }
    }

    /// Submit many commands in one request (at most
    /// [`BATCH_REQUEST_COMMANDS_MAX`] and [`BATCH_REQUEST_BYTES_MAX`]) and
    /// get one result per command, in order: `Ok` (decided: accepted or
    /// rejected), `NotApplied` or `Invalid` (certainly not stored), or
    /// `Unknown` (resend it with the same request id to learn its outcome).
    ///
    /// Commands refused for a reason that may pass (not the leader, busy)
    /// or whose outcome is unknown are resent, with their request ids, in
    /// further rounds (at most [`BATCH_ROUNDS_MAX`], within the call
    /// timeout); the others are never resent. `Err` is about the whole
    /// request, before any command had a result: refused at the door
    /// (`Invalid`, nothing was proposed), no leader reachable
    /// (`NotApplied`), or no answer at all (`Unknown`: every command may or
    /// may not have taken effect).
    pub async fn submit_batch(
        &self,
        commands: Vec<(RequestId, Command)>,
    ) -> Result<Vec<Result<Submitted, ClientError>>, ClientError> {
        match &self.transport {
            Transport::Embedded(_) => {
                // The server's door, here: the same requests are refused on both transports.
                door::check_batch(&commands).map_err(|refusal| ClientError::Invalid(refusal.to_string()))?;
                let calls = commands.into_iter().map(|(id, command)| self.submit_with_id(id, command));
                Ok(futures::future::join_all(calls).await)
            }
            Transport::Remote(remote) => self.remote_batch(remote, commands).await,
        }
    }

    async fn remote_batch(
        &self,
        remote: &Remote,
        commands: Vec<(RequestId, Command)>,
    ) -> Result<Vec<Result<Submitted, ClientError>>, ClientError> {
        let deadline = Instant::now() + self.options.call_timeout;
        let mut answers: Vec<Answer> = vec![Answer::Unknown("not sent".into()); commands.len()];
        let mut maybe_applied = vec![false; commands.len()];
        let mut pending: Vec<usize> = (0..commands.len()).collect();
        let mut backoff = Duration::from_millis(BACKOFF_MS_INITIAL);
        // Rounds that met an election do not count against BATCH_ROUNDS_MAX
        // (the call deadline still bounds them).
        let mut counted = 0;
        for round in 0.. {
            if counted >= BATCH_ROUNDS_MAX {
                break;
            }
            let ids: Vec<RequestId> = pending.iter().map(|&i| commands[i].0).collect();
            let request = v1::SubmitBatchRequest {
                commands: pending
                    .iter()
                    .map(|&i| convert::submit_request(commands[i].0, &commands[i].1))
                    .collect(),
            };
            let (reply, _) = self
                .remote_call_timed(remote, true, deadline, |channel, budget| {
                    let request = timed(request.clone(), budget);
                    async move { Ok(inventory(channel).submit_batch(request).await?.into_inner()) }
                })
                .await;
            match reply.and_then(|reply| batch_answers(&ids, reply)) {
                Ok(round_answers) => {
                    for (&i, answer) in pending.iter().zip(round_answers) {
                        maybe_applied[i] |= matches!(answer, Answer::Unknown(_));
                        answers[i] = answer;
                    }
                }
                // Nothing is known of any command: the whole request failed.
                Err(error) if round == 0 => return Err(error),
                Err(error) => {
                    for &i in &pending {
                        answers[i] = Answer::from_request_error(error.clone());
                    }
                    break;
                }
            }
            pending.retain(|&i| answers[i].worth_resending());
            let left = deadline.saturating_duration_since(Instant::now());
            if pending.is_empty() || left.is_zero() {
                break;
            }
            // Refused by a node that names the leader: resend there at once.
            match pending.iter().find_map(|&i| answers[i].leader_addr()) {
                Some(addr) => remote.redirect(addr)?,
                // An election is running: poll for its winner without
                // growing the backoff, so failover costs the election only.
                None if pending.iter().all(|&i| answers[i].in_election()) => {
                    tokio::time::sleep(Duration::from_millis(ELECTION_POLL_MS).min(left)).await;
                    continue;
                }
                None => {
                    tokio::time::sleep(backoff.min(left)).await;
                    backoff = (backoff * 2).min(Duration::from_millis(BACKOFF_MS_MAX));
                }
            }
            counted += 1;
        }
        Ok(answers.into_iter().zip(maybe_applied).map(|(answer, maybe)| answer.into_result(maybe)).collect())
    }

    async fn local_read<T>(
        &self,
        engine: &Engine,
        consistency: Consistency,
        read: impl FnOnce(&boxoffice_engine::store::Applied, u64) -> Option<T>,
        what: String,
    ) -> Result<T, ClientError> {
        // Lapses are judged at the cluster's time, never before the last record.
        let now_ms = engine.now_ms();
        engine
            .read(consistency, |applied| read(applied, now_ms.max(applied.state.now_ms)))
            .await
            .map_err(|e| match e {
                ReadError::NotLeader { .. } | ReadError::Unavailable(_) => {
                    ClientError::NotApplied(e.to_string())
                }
            })?
            .ok_or(ClientError::NotFound(what))
    }

    /// An item's availability.
    pub async fn item_availability(
        &self,
        item: ItemId,
        consistency: Consistency,
    ) -> Result<ItemAvailability, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                self.local_read(
                    engine,
                    consistency,
                    |a, now| a.state.item_availability(item, now),
                    format!("no item {item}"),
                )
                .await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::ItemAvailabilityRequest { item: item.0, consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).item_availability(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                required(reply.availability, "availability")
            }
        }
    }

    /// A quota's availability.
    pub async fn quota_availability(
        &self,
        quota: QuotaId,
        consistency: Consistency,
    ) -> Result<QuotaAvailability, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no quota {quota}");
                self.local_read(engine, consistency, |a, now| a.state.quota_availability(quota, now), what)
                    .await
            }
            Transport::Remote(remote) => {
                let request = v1::QuotaAvailabilityRequest {
                    quota: quota.0,
                    consistency: wire_consistency(consistency),
                };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).quota_availability(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                required(reply.availability, "availability")
            }
        }
    }

    /// A hold.
    pub async fn hold(&self, hold: HoldId, consistency: Consistency) -> Result<Hold, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                self.local_read(
                    engine,
                    consistency,
                    |a, _| a.state.hold(hold).cloned(),
                    format!("no hold {hold}"),
                )
                .await
            }
            Transport::Remote(remote) => {
                let request = v1::GetHoldRequest { hold: hold.0, consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).get_hold(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                required(reply.hold, "hold")
            }
        }
    }

    /// An order (its status as of now: a pending order past its deadline shows as expired).
    pub async fn order(&self, order: OrderId, consistency: Consistency) -> Result<Order, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no order {order}");
                self.local_read(
                    engine,
                    consistency,
                    |a, now| {
                        let mut found = a.state.order(order).cloned()?;
                        found.status = found.effective_status(now);
                        Some(found)
                    },
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::GetOrderRequest { order: order.0, consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).get_order(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                required(reply.order, "order")
            }
        }
    }

    /// An event's items, quotas (with their availability now) and check-in lists.
    pub async fn catalog(
        &self,
        event: EventId,
        consistency: Consistency,
    ) -> Result<v1::ListCatalogResponse, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no event {event}");
                self.local_read(
                    engine,
                    consistency,
                    |a, now| {
                        let state = &a.state;
                        Some(v1::ListCatalogResponse {
                            event: Some(state.event(event)?.into()),
                            items: state.items().filter(|i| i.event == event).map(Into::into).collect(),
                            quotas: state
                                .quotas()
                                .filter(|q| q.event == event)
                                .map(|q| (&q.availability(now)).into())
                                .collect(),
                            applied_index: a.last_applied.map_or(0, |l| l.index),
                            last_seq: state.last_seq,
                            checkin_lists: state.checkin_lists_of(event).map(Into::into).collect(),
                        })
                    },
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::ListCatalogRequest { event: event.0, consistency: wire_consistency(consistency) };
                self.remote_call(remote, false, |channel, budget| async move {
                    Ok(inventory(channel).list_catalog(timed(request, budget)).await?.into_inner())
                })
                .await
            }
        }
    }

    /// Find an organizer's id and name by slug.
    pub async fn find_organizer(
        &self,
        slug: &str,
        consistency: Consistency,
    ) -> Result<(u64, String), ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no organizer with slug `{slug}`");
                self.local_read(
                    engine,
                    consistency,
                    |a, _| a.state.organizer_by_slug(slug).map(|o| (o.id.0, o.name.clone())),
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request = v1::FindOrganizerRequest {
                    slug: slug.to_owned(),
                    consistency: wire_consistency(consistency),
                };
                let reply = self
                    .remote_call(remote, false, |channel, budget| {
                        let request = timed(request.clone(), budget);
                        async move { Ok(inventory(channel).find_organizer(request).await?.into_inner()) }
                    })
                    .await?;
                Ok((reply.organizer, reply.name))
            }
        }
    }

    /// An organizer's events, in id (creation) order. `NotFound` if the
    /// organizer does not exist.
    pub async fn events(
        &self,
        organizer: OrganizerId,
        consistency: Consistency,
    ) -> Result<Vec<EventDef>, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no organizer {organizer}");
                self.local_read(
                    engine,
                    consistency,
                    |a, _| {
                        a.state.organizer(organizer)?;
                        Some(a.state.events_of(organizer).into_iter().cloned().collect())
                    },
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request = v1::ListEventsRequest {
                    organizer: organizer.0,
                    consistency: wire_consistency(consistency),
                };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).list_events(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                Ok(reply.events.into_iter().map(EventDef::from).collect())
            }
        }
    }

    /// An organizer's event by its slug. `NotFound` if the organizer has no
    /// event with that slug (or does not exist).
    pub async fn event_by_slug(
        &self,
        organizer: OrganizerId,
        slug: &str,
        consistency: Consistency,
    ) -> Result<EventDef, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("organizer {organizer} has no event with slug `{slug}`");
                self.local_read(
                    engine,
                    consistency,
                    |a, _| a.state.event_by_slug(organizer, slug).cloned(),
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request = v1::FindEventRequest {
                    organizer: organizer.0,
                    slug: slug.to_owned(),
                    consistency: wire_consistency(consistency),
                };
                let reply = self
                    .remote_call(remote, false, |channel, budget| {
                        let request = timed(request.clone(), budget);
                        async move { Ok(inventory(channel).find_event(request).await?.into_inner()) }
                    })
                    .await?;
                let event = reply.event.ok_or_else(|| ClientError::Unknown("reply without event".into()))?;
                Ok(event.into())
            }
        }
    }

    /// An event's waiting room as it stands now (at the cluster's time,
    /// never before the last record): positions `1..=admitted` are
    /// admitted. `Ok(None)` if the event has no waiting room; `NotFound` if
    /// the event does not exist. Join with [`Command::JoinWaitingRoom`] and
    /// keep its request id: a retry returns the same position.
    pub async fn waiting_room(
        &self,
        event: EventId,
        consistency: Consistency,
    ) -> Result<Option<WaitingRoomView>, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no event {event}");
                self.local_read(
                    engine,
                    consistency,
                    |a, now| {
                        a.state.event(event)?;
                        Some(a.state.waiting_room(event, now))
                    },
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::GetWaitingRoomRequest { event: event.0, consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).get_waiting_room(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                Ok(reply.room.map(WaitingRoomView::from))
            }
        }
    }

    /// A voucher's status now (at the cluster's time, never before the last
    /// record): its settings, and how many of its redemptions are used and
    /// free. Look it up by id or by the code a buyer typed (any case).
    /// `NotFound` if no voucher has that id or code.
    pub async fn voucher(
        &self,
        which: &VoucherLookup,
        consistency: Consistency,
    ) -> Result<VoucherView, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no voucher {which}");
                let read = |a: &boxoffice_engine::store::Applied, now| {
                    let voucher = match which {
                        VoucherLookup::Id(id) => a.state.voucher(*id),
                        VoucherLookup::Code(code) => a.state.voucher_by_code(&code.to_ascii_uppercase()),
                    };
                    voucher.map(|voucher| voucher.view(now))
                };
                self.local_read(engine, consistency, read, what).await
            }
            Transport::Remote(remote) => {
                use v1::get_voucher_request::Which;
                let which = match which {
                    VoucherLookup::Id(id) => Which::Voucher(id.0),
                    VoucherLookup::Code(code) => Which::Code(code.clone()),
                };
                let request =
                    v1::GetVoucherRequest { which: Some(which), consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| {
                        let request = request.clone();
                        async move {
                            Ok(inventory(channel).get_voucher(timed(request, budget)).await?.into_inner())
                        }
                    })
                    .await?;
                required(reply.voucher, "voucher")
            }
        }
    }

    /// An event's seat map now (at the cluster's time, never before the
    /// last record): its zones in the order their first rows were added,
    /// their rows best first, and every seat with what it is (free, blocked,
    /// held, ordered or paid, with the hold or order). Empty for an event
    /// without seats; `NotFound` if the event does not exist.
    pub async fn seat_map(
        &self,
        event: EventId,
        consistency: Consistency,
    ) -> Result<Vec<SeatMapZone>, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no event {event}");
                let read = |a: &boxoffice_engine::store::Applied, now| {
                    a.state.event(event)?;
                    Some(a.state.seat_map(event, now))
                };
                self.local_read(engine, consistency, read, what).await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::GetSeatMapRequest { event: event.0, consistency: wire_consistency(consistency) };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel).get_seat_map(timed(request, budget)).await?.into_inner())
                    })
                    .await?;
                convert::seat_map(reply.zones)
                    .map_err(|e| ClientError::Unknown(format!("malformed reply: {e}")))
            }
        }
    }

    /// One waiting-list entry now (at the cluster's time, never before the
    /// last record): the entry as the engine keeps it and where it stands
    /// (its place in line, its offer and until when, or how it ended).
    /// `NotFound` if no entry has that id.
    pub async fn waiting_list_entry(
        &self,
        entry: EntryId,
        consistency: Consistency,
    ) -> Result<WaitingListEntryView, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let what = format!("no waiting-list entry {entry}");
                let read = |a: &boxoffice_engine::store::Applied, now| {
                    let found = a.state.entry(entry)?.clone();
                    let position = a.state.waiting_list_position(entry, now)?;
                    Some(WaitingListEntryView { entry: found, position })
                };
                self.local_read(engine, consistency, read, what).await
            }
            Transport::Remote(remote) => {
                let request = v1::GetWaitingListEntryRequest {
                    entry: entry.0,
                    consistency: wire_consistency(consistency),
                };
                let reply = self
                    .remote_call(remote, false, |channel, budget| async move {
                        Ok(inventory(channel)
                            .get_waiting_list_entry(timed(request, budget))
                            .await?
                            .into_inner())
                    })
                    .await?;
                let wire = reply
                    .entry
                    .ok_or_else(|| ClientError::Unknown("malformed reply: no entry".to_string()))?;
                WaitingListEntryView::try_from(wire)
                    .map_err(|e| ClientError::Unknown(format!("malformed reply: {e}")))
            }
        }
    }

    /// The event log from `from_seq` on, following new records as they are applied.
    pub async fn subscribe(
        &self,
        from_seq: u64,
    ) -> Result<Pin<Box<dyn Stream<Item = Result<Record, ClientError>> + Send>>, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let shared = engine.shared().clone();
                let stream = futures::stream::unfold(
                    (shared.clone(), shared.subscribe(), from_seq.max(1), Vec::new()),
                    |(shared, mut changed, mut next, mut buffer): (_, _, u64, Vec<Record>)| async move {
                        loop {
                            if let Some(record) = buffer.pop() {
                                return Some((Ok(record), (shared, changed, next, buffer)));
                            }
                            match shared.records_from(next, 1_000) {
                                Err(e) => {
                                    return Some((
                                        Err(ClientError::Unknown(e.to_string())),
                                        (shared, changed, next, buffer),
                                    ));
                                }
                                Ok(records) if records.is_empty() => {
                                    if changed.changed().await.is_err() {
                                        return None;
                                    }
                                }
                                Ok(mut records) => {
                                    next = records.last().map_or(next, |r| r.seq + 1);
                                    records.reverse();
                                    buffer = records;
                                }
                            }
                        }
                    },
                );
                Ok(Box::pin(stream))
            }
            Transport::Remote(remote) => {
                let request = v1::SubscribeRequest { from_seq };
                let stream = self
                    // No deadline on the request: it would end the stream.
                    .remote_call(remote, false, |channel, _| async move {
                        Ok(inventory(channel).subscribe_events(request).await?.into_inner())
                    })
                    .await?;
                Ok(Box::pin(stream.map(|message| match message {
                    Ok(message) => {
                        Record::try_from(&message).map_err(|e| ClientError::Invalid(e.to_string()))
                    }
                    Err(status) => Err(ClientError::Unknown(status.to_string())),
                })))
            }
        }
    }

    /// The status of the node answering (remote: the first reachable endpoint, or `endpoint` if given).
    pub async fn status(&self, include_digests: bool) -> Result<v1::ClusterStatus, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let (event_log_digest, state_digest) = if include_digests {
                    engine.shared().digests().map_err(|e| ClientError::Unknown(e.to_string()))?
                } else {
                    Default::default()
                };
                let metrics = engine.raft().metrics().borrow().clone();
                Ok(v1::ClusterStatus {
                    node_id: metrics.id,
                    zone: engine.config().node.zone.clone(),
                    addr: engine.config().node.addr.clone(),
                    role: format!("{:?}", metrics.state).to_lowercase(),
                    term: metrics.current_term,
                    leader_id: metrics.current_leader,
                    leader_addr: engine.config().node.addr.clone(),
                    last_log_index: metrics.last_log_index.unwrap_or(0),
                    commit_index: engine.commit_index(),
                    applied_index: metrics.last_applied.map_or(0, |l| l.index),
                    last_seq: engine.shared().read(|a| a.state.last_seq),
                    members: vec![v1::Member {
                        id: metrics.id,
                        addr: engine.config().node.addr.clone(),
                        zone: engine.config().node.zone.clone(),
                        voter: true,
                    }],
                    replication_lag: Default::default(),
                    event_log_digest,
                    state_digest,
                })
            }
            Transport::Remote(remote) => {
                let request = v1::StatusRequest { include_digests };
                self.remote_call(remote, false, |channel, budget| async move {
                    Ok(admin(channel).status(timed(request, budget)).await?.into_inner())
                })
                .await
            }
        }
    }

    /// The status of every endpoint this client knows, each asked directly (not via the leader).
    pub async fn status_of_each(
        &self,
        include_digests: bool,
    ) -> Vec<(String, Result<v1::ClusterStatus, ClientError>)> {
        let Transport::Remote(remote) = &self.transport else {
            return vec![("embedded".into(), self.status(include_digests).await)];
        };
        let endpoints = remote.endpoints.lock().expect("endpoints lock").clone();
        let mut out = Vec::new();
        for (addr, channel) in endpoints {
            let mut client = admin(channel);
            let call = client.status(v1::StatusRequest { include_digests });
            let result = match tokio::time::timeout(self.options.attempt_timeout, call).await {
                Ok(Ok(reply)) => Ok(reply.into_inner()),
                Ok(Err(status)) => Err(ClientError::NotApplied(status.message().to_owned())),
                Err(_) => Err(ClientError::Unknown("timed out".into())),
            };
            out.push((addr, result));
        }
        out
    }

    /// Run an admin call on the leader (remote only).
    pub async fn admin<T, F, Fut>(&self, call: F) -> Result<T, ClientError>
    where
        F: FnMut(AdminClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let Transport::Remote(remote) = &self.transport else {
            return Err(ClientError::Invalid(
                "cluster administration needs --endpoints, not an embedded engine".into(),
            ));
        };
        let mut call = call;
        let mut options = self.options.clone();
        // Membership changes wait for a learner to catch up: allow them longer.
        options.attempt_timeout = options.attempt_timeout.max(Duration::from_secs(60));
        options.call_timeout = options.call_timeout.max(Duration::from_secs(120));
        let client = Client { transport: self.transport.clone(), options };
        client.remote_call(remote, true, |channel, _| call(admin(channel))).await
    }
}

fn inventory(channel: Channel) -> InventoryClient<Channel> {
    InventoryClient::new(channel).max_decoding_message_size(RESPONSE_BYTES_MAX)
}

fn admin(channel: Channel) -> AdminClient<Channel> {
    AdminClient::new(channel).max_decoding_message_size(RESPONSE_BYTES_MAX)
}

fn wire_consistency(consistency: Consistency) -> i32 {
    match consistency {
        Consistency::Linearizable => v1::ReadConsistency::Linearizable as i32,
        Consistency::Stale => v1::ReadConsistency::StaleOk as i32,
    }
}

fn required<W, T>(wire: Option<W>, field: &str) -> Result<T, ClientError>
where
    T: TryFrom<W, Error = ConvertError>,
{
    let wire = wire.ok_or_else(|| ClientError::Unknown(format!("reply without {field}")))?;
    T::try_from(wire).map_err(|e| ClientError::Unknown(format!("malformed reply: {e}")))
}

fn submitted(request_id: RequestId, reply: v1::SubmitResponse) -> Result<Submitted, ClientError> {
    let outcome = required(reply.outcome, "outcome")?;
    Ok(Submitted { request_id, outcome, duplicate: reply.duplicate, seq: reply.seq })
}

/// One command on the embedded engine: refused at the door like the
/// server refuses it, then retried while busy or leaderless until `deadline`.
async fn embedded_submit(
    engine: &Engine,
    deadline: Instant,
    request_id: RequestId,
    command: Command,
) -> Result<Submitted, ClientError> {
    let command =
        door::check(request_id, command).map_err(|refusal| ClientError::Invalid(refusal.to_string()))?;
    let mut backoff = Duration::from_millis(BACKOFF_MS_INITIAL);
    loop {
        match engine.submit(request_id, command.clone()).await {
            Ok(applied) => {
                return Ok(Submitted {
                    request_id,
                    outcome: applied.outcome,
                    duplicate: applied.seq == 0,
                    seq: applied.seq,
                });
            }
            Err(SubmitError::Busy) | Err(SubmitError::NotLeader { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(BACKOFF_MS_MAX));
            }
            Err(e @ (SubmitError::Busy | SubmitError::NotLeader { .. })) => {
                return Err(ClientError::NotApplied(e.to_string()));
            }
            Err(SubmitError::Unavailable(e)) => return Err(ClientError::Unknown(e)),
            Err(e @ (SubmitError::Invalid(_) | SubmitError::TooLarge { .. })) => {
                return Err(ClientError::Invalid(e.to_string()));
            }
        }
    }
}

/// What one command of a batch came to, as far as one round knows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// Decided: accepted or rejected by the domain.
    Applied(Submitted),
    /// Certainly not stored by that round (`error` is `NotApplied` or
    /// `Invalid`); `retry` if resending may succeed (not the leader, busy);
    /// `election` if the node knew no leader (poll soon, do not back off).
    Refused { error: ClientError, retry: bool, leader_addr: Option<String>, election: bool },
    /// May or may not have taken effect.
    Unknown(String),
}

impl Answer {
    /// A whole round failed after earlier rounds: what it says of each command in it.
    fn from_request_error(error: ClientError) -> Answer {
        match error {
            ClientError::Unknown(why) => Answer::Unknown(why),
            ClientError::Invalid(_) => {
                Answer::Refused { error, retry: false, leader_addr: None, election: false }
            }
            ClientError::NotApplied(why) | ClientError::NotFound(why) => Answer::Refused {
                error: ClientError::NotApplied(why),
                retry: false,
                leader_addr: None,
                election: false,
            },
        }
    }

    fn worth_resending(&self) -> bool {
        matches!(self, Answer::Unknown(_) | Answer::Refused { retry: true, .. })
    }

    fn in_election(&self) -> bool {
        matches!(self, Answer::Refused { election: true, .. })
    }

    fn leader_addr(&self) -> Option<&str> {
        match self {
            Answer::Refused { leader_addr: Some(addr), .. } => Some(addr),
            _ => None,
        }
    }

    /// The final result; a refusal after an earlier round left the outcome
    /// unknown is still unknown (that earlier attempt may have taken effect).
    fn into_result(self, maybe_applied: bool) -> Result<Submitted, ClientError> {
        match self {
            Answer::Applied(submitted) => Ok(submitted),
            Answer::Refused { error, .. } if maybe_applied => Err(ClientError::Unknown(format!(
                "an earlier attempt's outcome is unknown, and a resend was refused: {error}"
            ))),
            Answer::Refused { error, .. } => Err(error),
            Answer::Unknown(why) => Err(ClientError::Unknown(why)),
        }
    }
}

/// One answer per command of a batch reply, in order. A reply from a server
/// without per-command results (only `results`) is all applied, or, if it
/// does not have one result per command, unknown as a whole.
fn batch_answers(ids: &[RequestId], reply: v1::SubmitBatchResponse) -> Result<Vec<Answer>, ClientError> {
    use v1::command_result::Result as Wire;
    use v1::not_applied::Reason;
    let count_mismatch =
        |results: usize| ClientError::Unknown(format!("{results} results for {} commands", ids.len()));
    if reply.command_results.is_empty() {
        if reply.results.len() != ids.len() {
            return Err(count_mismatch(reply.results.len()));
        }
        let answers = ids.iter().zip(reply.results).map(|(id, r)| match submitted(*id, r) {
            Ok(submitted) => Answer::Applied(submitted),
            Err(error) => Answer::Unknown(error.to_string()),
        });
        return Ok(answers.collect());
    }
    if reply.command_results.len() != ids.len() {
        return Err(count_mismatch(reply.command_results.len()));
    }
    let answer = |id: RequestId, result: v1::CommandResult| match result.result {
        Some(Wire::Applied(response)) => match submitted(id, response) {
            Ok(submitted) => Answer::Applied(submitted),
            Err(error) => Answer::Unknown(error.to_string()),
        },
        Some(Wire::NotApplied(refusal)) => {
            let reason = Reason::try_from(refusal.reason).unwrap_or(Reason::Unspecified);
            let leader_addr = Some(refusal.leader_addr).filter(|addr| !addr.is_empty());
            let message = refusal.message;
            match reason {
                Reason::NotLeader => Answer::Refused {
                    error: ClientError::NotApplied(message),
                    retry: true,
                    election: leader_addr.is_none(),
                    leader_addr,
                },
                Reason::Busy => Answer::Refused {
                    error: ClientError::NotApplied(message),
                    retry: true,
                    leader_addr: None,
                    election: false,
                },
                Reason::Invalid | Reason::TooLarge => Answer::Refused {
                    error: ClientError::Invalid(message),
                    retry: false,
                    leader_addr: None,
                    election: false,
                },
                Reason::Unspecified => Answer::Refused {
                    error: ClientError::NotApplied(message),
                    retry: false,
                    leader_addr: None,
                    election: false,
                },
            }
        }
        Some(Wire::Unknown(unknown)) => Answer::Unknown(unknown.message),
        None => Answer::Unknown("a command result without a result".into()),
    };
    Ok(ids.iter().zip(reply.command_results).map(|(id, result)| answer(*id, result)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_engine::domain::{Accepted, OrderId};
    use v1::command_result::Result as Wire;
    use v1::not_applied::Reason;

    fn with_leader(mut status: Status, addr: &str) -> Status {
        status.metadata_mut().insert(LEADER_ADDR_HEADER, addr.parse().unwrap());
        status
    }

    #[test]
    fn only_a_refused_connection_counts_as_never_sent() {
        let refused = Status::unavailable("tcp connect error: Connection refused (os error 111)");
        assert_eq!(classify(&refused), Next::Refused(refused.message().into()));
        assert!(!classify(&refused).may_have_been_sent());
        let cases = [
            (with_leader(Status::failed_precondition("not the leader"), "10.0.0.2:7000"), "redirect"),
            (Status::failed_precondition("no leader known"), "election"),
            (Status::resource_exhausted("busy"), "not applied"),
            (Status::invalid_argument("bad"), "fail"),
            (Status::not_found("no order"), "fail"),
            (Status::unavailable("outcome unknown: raft stopped"), "unknown"),
            (Status::deadline_exceeded("deadline"), "unknown"),
            (Status::cancelled("Timeout expired"), "unknown"),
            (Status::unknown("?"), "unknown"),
            (Status::internal("h2 protocol error"), "unknown"),
        ];
        for (status, expected) in cases {
            let next = classify(&status);
            assert!(next.may_have_been_sent(), "{status:?} reached a server");
            let kind = match next {
                Next::Redirect(addr) => {
                    assert_eq!(addr, "10.0.0.2:7000");
                    "redirect"
                }
                Next::Election(_) => "election",
                Next::Retry { maybe_applied: false, .. } => "not applied",
                Next::Retry { maybe_applied: true, .. } => "unknown",
                Next::Fail(_) => "fail",
                Next::Refused(_) => "refused",
            };
            assert_eq!(kind, expected, "{status:?}");
        }
    }

    fn quick(addr: String) -> Client {
        let options = ClientOptions {
            attempt_timeout: Duration::from_millis(200),
            call_timeout: Duration::from_millis(600),
            ..ClientOptions::default()
        };
        Client::remote(&[addr], options).unwrap()
    }

    #[tokio::test]
    async fn a_write_no_node_ever_received_has_no_send_time_and_is_not_applied() {
        // A port nobody listens on: every attempt is refused before sending.
        let listener = std::net::TcpListener::bind("127.0.55.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        drop(listener);
        let timed = quick(addr).submit_with_id_timed(RequestId(1), Command::Expire).await;
        assert!(matches!(timed.result, Err(ClientError::NotApplied(_))), "{:?}", timed.result);
        assert_eq!(timed.first_sent, None);
    }

    #[tokio::test]
    async fn a_write_that_may_have_reached_a_node_has_the_start_of_its_first_attempt() {
        // A node that accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.55.2:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let called = Instant::now();
        let timed = quick(addr).submit_with_id_timed(RequestId(1), Command::Expire).await;
        assert!(matches!(timed.result, Err(ClientError::Unknown(_))), "{:?}", timed.result);
        let first_sent = timed.first_sent.expect("sent");
        assert!(
            first_sent >= called && first_sent - called < Duration::from_millis(100),
            "the first attempt"
        );
        silent.abort();
    }

    #[tokio::test]
    async fn an_embedded_write_was_sent_when_the_call_started() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::embedded(dir.path(), ClientOptions::default()).await.unwrap();
        let called = Instant::now();
        let timed = client.submit_with_id_timed(RequestId(1), Command::Expire).await;
        assert!(timed.result.is_ok(), "{:?}", timed.result);
        let first_sent = timed.first_sent.expect("sent");
        assert!(first_sent >= called && first_sent - called < Duration::from_millis(100));
        client.shutdown().await;
    }

    fn response(seq: u64) -> v1::SubmitResponse {
        let outcome = Outcome::Accepted(Accepted::OrderPaid { order: OrderId(seq) });
        v1::SubmitResponse { outcome: Some((&outcome).into()), duplicate: false, seq }
    }

    fn refusal(reason: Reason, leader_addr: &str) -> v1::CommandResult {
        let refusal = v1::NotApplied {
            reason: reason as i32,
            message: format!("{reason:?}"),
            leader_id: 0,
            leader_addr: leader_addr.into(),
        };
        v1::CommandResult { result: Some(Wire::NotApplied(refusal)) }
    }

    #[test]
    fn each_command_of_a_batch_gets_its_own_result_and_only_unknown_or_passing_refusals_are_resent() {
        let ids: Vec<RequestId> = (1..=7).map(RequestId).collect();
        let reply = v1::SubmitBatchResponse {
            results: Vec::new(),
            command_results: vec![
                v1::CommandResult { result: Some(Wire::Applied(response(9))) },
                refusal(Reason::NotLeader, "127.0.0.12:7000"),
                refusal(Reason::Busy, ""),
                refusal(Reason::Invalid, ""),
                refusal(Reason::Unspecified, ""),
                v1::CommandResult {
                    result: Some(Wire::Unknown(v1::OutcomeUnknown { message: "raft".into() })),
                },
                v1::CommandResult { result: None },
            ],
        };
        let answers = batch_answers(&ids, reply).unwrap();
        let resent: Vec<bool> = answers.iter().map(Answer::worth_resending).collect();
        assert_eq!(resent, [false, true, true, false, false, true, true]);
        assert_eq!(answers[1].leader_addr(), Some("127.0.0.12:7000"));
        let results: Vec<_> = answers.into_iter().map(|a| a.into_result(false)).collect();
        assert_eq!(results[0].as_ref().unwrap().seq, 9);
        assert_eq!(results[0].as_ref().unwrap().request_id, RequestId(1));
        assert!(matches!(results[1], Err(ClientError::NotApplied(_))));
        assert!(matches!(results[2], Err(ClientError::NotApplied(_))));
        assert!(matches!(results[3], Err(ClientError::Invalid(_))));
        assert!(matches!(results[4], Err(ClientError::NotApplied(_))));
        assert!(matches!(results[5], Err(ClientError::Unknown(_))));
        assert!(matches!(results[6], Err(ClientError::Unknown(_))));
    }

    #[test]
    fn a_refused_resend_of_a_command_whose_outcome_was_unknown_stays_unknown() {
        let busy = Answer::Refused {
            error: ClientError::NotApplied("busy".into()),
            retry: true,
            leader_addr: None,
            election: false,
        };
        assert!(matches!(busy.clone().into_result(false), Err(ClientError::NotApplied(_))));
        assert!(
            matches!(busy.into_result(true), Err(ClientError::Unknown(_))),
            "NotApplied means certainly not"
        );
        let later = Answer::from_request_error(ClientError::NotApplied("no leader".into()));
        assert!(matches!(later.into_result(true), Err(ClientError::Unknown(_))));
        let later = Answer::from_request_error(ClientError::Unknown("timeout".into()));
        assert!(matches!(later.into_result(false), Err(ClientError::Unknown(_))));
    }

    #[test]
    fn a_reply_of_an_older_server_is_all_applied_or_unknown_as_a_whole() {
        let ids = [RequestId(1), RequestId(2)];
        let old =
            v1::SubmitBatchResponse { results: vec![response(1), response(2)], command_results: Vec::new() };
        let answers = batch_answers(&ids, old).unwrap();
        assert!(answers.iter().all(|a| matches!(a, Answer::Applied(_))));
        let short = v1::SubmitBatchResponse { results: vec![response(1)], command_results: Vec::new() };
        assert!(matches!(batch_answers(&ids, short), Err(ClientError::Unknown(_))));
        let short =
            v1::SubmitBatchResponse { results: Vec::new(), command_results: vec![refusal(Reason::Busy, "")] };
        assert!(matches!(batch_answers(&ids, short), Err(ClientError::Unknown(_))));
        assert_eq!(batch_answers(&[], v1::SubmitBatchResponse::default()).unwrap(), Vec::new());
    }

    #[tokio::test]
    async fn an_embedded_batch_is_refused_at_the_door_like_a_remote_one() {
        let dir = tempfile::tempdir().unwrap();
        let client = Client::embedded(dir.path(), ClientOptions::default()).await.unwrap();
        let long =
            Command::CreateOrganizer { slug: "a".into(), name: "n".repeat(60_000), secret_key: [1; 32] };
        let refused =
            client.submit_batch(vec![(RequestId(1), Command::Expire), (RequestId(2), long.clone())]).await;
        assert!(
            matches!(&refused, Err(ClientError::Invalid(m)) if m.starts_with("command 1:")),
            "{refused:?}"
        );
        assert!(matches!(client.submit_with_id(RequestId(3), long).await, Err(ClientError::Invalid(_))));
        let results = client.submit_batch(vec![(RequestId(4), Command::Expire)]).await.unwrap();
        assert!(results[0].is_ok());
        client.shutdown().await;
    }
}
