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
//! out. [`ClientError::NotApplied`] means it certainly did not.

// tonic's `Status` is what every remote attempt returns; boxing it buys nothing.
#![allow(clippy::result_large_err)]

use boxoffice_engine::domain::{
    Command, EventId, Hold, HoldId, ItemAvailability, ItemId, Order, OrderId, Outcome, QuotaAvailability,
    QuotaId, Record, RequestId,
};
use boxoffice_engine::node::{Consistency, Engine, ReadError, SubmitError, wall_clock_ms};
use boxoffice_proto::convert::{self, ConvertError};
use boxoffice_proto::v1;
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

/// Default deadline of one attempt, in milliseconds.
pub const ATTEMPT_TIMEOUT_MS_DEFAULT: u64 = 3_000;
/// Default deadline of a whole call, retries included, in milliseconds.
pub const CALL_TIMEOUT_MS_DEFAULT: u64 = 15_000;
/// Most attempts of one call.
pub const ATTEMPTS_MAX: u32 = 100;
/// First backoff between attempts, in milliseconds; it doubles up to the max.
pub const BACKOFF_MS_INITIAL: u64 = 25;
/// Pause between attempts while an election runs, in milliseconds.
pub const ELECTION_POLL_MS: u64 = 50;
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
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            attempt_timeout: Duration::from_millis(ATTEMPT_TIMEOUT_MS_DEFAULT),
            call_timeout: Duration::from_millis(CALL_TIMEOUT_MS_DEFAULT),
            rewrite: Vec::new(),
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
enum Next {
    /// Retry at once on the named leader.
    Redirect(String),
    /// Back off, then retry elsewhere; `maybe_applied` if the attempt may have taken effect.
    Retry { maybe_applied: bool, why: String },
    /// No leader is known yet (an election is running): poll again soon,
    /// without growing the backoff, so failover costs the election, not our backoff.
    Election(String),
    /// Give up with this error.
    Fail(ClientError),
}

fn classify(status: &Status) -> Next {
    let message = status.message().to_owned();
    match status.code() {
        Code::FailedPrecondition => {
            match status.metadata().get("x-boxoffice-leader-addr").and_then(|v| v.to_str().ok()) {
                Some(addr) => Next::Redirect(addr.to_owned()),
                None => Next::Election(message),
            }
        }
        Code::ResourceExhausted => Next::Retry { maybe_applied: false, why: message },
        Code::InvalidArgument | Code::OutOfRange => Next::Fail(ClientError::Invalid(message)),
        Code::NotFound => Next::Fail(ClientError::NotFound(message)),
        // Connection refused: the request never left.
        // Connection refused: the request never left, and the node is down
        // (a dead leader, say). Cheap to learn; poll like an election.
        Code::Unavailable if message.contains("tcp connect") || message.contains("onnection refused") => {
            Next::Election(message)
        }
        _ => Next::Retry { maybe_applied: true, why: format!("{:?}: {message}", status.code()) },
    }
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

    /// Run `call` against the leader with retries, redirects and backoff.
    async fn remote_call<T, F, Fut>(
        &self,
        remote: &Remote,
        write: bool,
        mut call: F,
    ) -> Result<T, ClientError>
    where
        F: FnMut(Channel) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let deadline = Instant::now() + self.options.call_timeout;
        let mut backoff = Duration::from_millis(BACKOFF_MS_INITIAL);
        let mut maybe_applied = false;
        let mut last = String::from("no attempt made");
        for attempt in 0..ATTEMPTS_MAX {
            let (index, channel) = remote.pick(attempt);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let next = match tokio::time::timeout(self.options.attempt_timeout.min(left), call(channel)).await
            {
                Ok(Ok(answer)) => {
                    *remote.leader.lock().expect("leader lock") = Some(index);
                    return Ok(answer);
                }
                Ok(Err(status)) => classify(&status),
                Err(_) => Next::Retry { maybe_applied: true, why: "attempt timed out".into() },
            };
            match next {
                Next::Fail(error) => {
                    // An invalid request is refused before proposing, but an earlier
                    // attempt may still have taken effect.
                    return Err(match error {
                        ClientError::Invalid(_) | ClientError::NotFound(_) if maybe_applied && write => {
                            ClientError::Unknown(error.to_string())
                        }
                        error => error,
                    });
                }
                Next::Redirect(addr) => {
                    last = format!("redirected to leader {addr}");
                    remote.redirect(&addr)?;
                    if attempt > 0 {
                        tokio::time::sleep(backoff.min(left)).await;
                    }
                }
                Next::Election(why) => {
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
        Err(if maybe_applied { ClientError::Unknown(last) } else { ClientError::NotApplied(last) })
    }

    /// Submit a command with a fresh request id.
    pub async fn submit(&self, command: Command) -> Result<Submitted, ClientError> {
        self.submit_with_id(new_request_id(), command).await
    }

    /// Submit a command with the given request id (a retry of an earlier call reuses it).
    pub async fn submit_with_id(
        &self,
        request_id: RequestId,
        command: Command,
    ) -> Result<Submitted, ClientError> {
        match &self.transport {
            Transport::Embedded(engine) => {
                let deadline = Instant::now() + self.options.call_timeout;
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
                        Err(SubmitError::Busy) | Err(SubmitError::NotLeader { .. })
                            if Instant::now() < deadline =>
                        {
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
            Transport::Remote(remote) => {
                let request = convert::submit_request(request_id, &command);
                let reply = self
                    .remote_call(remote, true, |channel| {
                        let request = request.clone();
                        async move { Ok(inventory(channel).submit(request).await?.into_inner()) }
                    })
                    .await?;
                submitted(request_id, reply)
            }
        }
    }

    /// Submit many commands in one request; results in order. On
    /// `Unknown`, resend the same `(request id, command)` pairs.
    pub async fn submit_batch(
        &self,
        commands: Vec<(RequestId, Command)>,
    ) -> Result<Vec<Submitted>, ClientError> {
        match &self.transport {
            Transport::Embedded(_) => {
                let calls = commands.into_iter().map(|(id, command)| self.submit_with_id(id, command));
                futures::future::join_all(calls).await.into_iter().collect()
            }
            Transport::Remote(remote) => {
                let ids: Vec<RequestId> = commands.iter().map(|(id, _)| *id).collect();
                let request = v1::SubmitBatchRequest {
                    commands: commands.iter().map(|(id, c)| convert::submit_request(*id, c)).collect(),
                };
                let reply = self
                    .remote_call(remote, true, |channel| {
                        let request = request.clone();
                        async move { Ok(inventory(channel).submit_batch(request).await?.into_inner()) }
                    })
                    .await?;
                if reply.results.len() != ids.len() {
                    return Err(ClientError::Unknown(format!(
                        "{} results for {} commands",
                        reply.results.len(),
                        ids.len()
                    )));
                }
                ids.into_iter().zip(reply.results).map(|(id, r)| submitted(id, r)).collect()
            }
        }
    }

    async fn local_read<T>(
        &self,
        engine: &Engine,
        consistency: Consistency,
        read: impl FnOnce(&boxoffice_engine::store::Applied, u64) -> Option<T>,
        what: String,
    ) -> Result<T, ClientError> {
        engine
            .read(consistency, |applied| read(applied, wall_clock_ms().max(applied.state.now_ms)))
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
                    .remote_call(remote, false, |channel| async move {
                        Ok(inventory(channel).item_availability(request).await?.into_inner())
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
                    .remote_call(remote, false, |channel| async move {
                        Ok(inventory(channel).quota_availability(request).await?.into_inner())
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
                    .remote_call(remote, false, |channel| async move {
                        Ok(inventory(channel).get_hold(request).await?.into_inner())
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
                    .remote_call(remote, false, |channel| async move {
                        Ok(inventory(channel).get_order(request).await?.into_inner())
                    })
                    .await?;
                required(reply.order, "order")
            }
        }
    }

    /// An event's items and quotas.
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
                        })
                    },
                    what,
                )
                .await
            }
            Transport::Remote(remote) => {
                let request =
                    v1::ListCatalogRequest { event: event.0, consistency: wire_consistency(consistency) };
                self.remote_call(remote, false, |channel| async move {
                    Ok(inventory(channel).list_catalog(request).await?.into_inner())
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
                    .remote_call(remote, false, |channel| {
                        let request = request.clone();
                        async move { Ok(inventory(channel).find_organizer(request).await?.into_inner()) }
                    })
                    .await?;
                Ok((reply.organizer, reply.name))
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
                    .remote_call(remote, false, |channel| async move {
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
                self.remote_call(remote, false, |channel| async move {
                    Ok(admin(channel).status(request).await?.into_inner())
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
        client.remote_call(remote, true, |channel| call(admin(channel))).await
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
