//! Client-side batching of concurrent writes, the way TigerBeetle's clients
//! do it.
//!
//! A shop process is many tasks on one [`Client`](crate::Client): in a
//! flash sale, hundreds of buyers' requests each submit one command at the
//! same moment. Sent one by one, each is its own gRPC request, its own trip
//! through the server's door and its own wait in the engine's queue. Here,
//! the commands submitted while earlier batches are on the wire queue up,
//! and go out together as one `SubmitBatch`; each caller still gets its own
//! result (the server answers per command), and its own request id keeps
//! retries exactly-once.
//!
//! **Bounds.** A batch closes when it holds [`COALESCE_BATCH_COMMANDS_MAX`]
//! commands or [`COALESCE_BATCH_BYTES_MAX`] bytes, or, if another batch is
//! already on the wire, when [`COALESCE_LINGER_US`] has passed since its
//! first command. An idle client sends at once: the linger only buys size
//! when the pipe is busy anyway. The linger is spent yielding to the
//! runtime (other tasks run and may enqueue), never sleeping, because a
//! timer would round it up to a millisecond. At most
//! [`COALESCE_BATCHES_IN_FLIGHT_MAX`] batches are on the wire; while all
//! are, commands wait in a queue of [`COALESCE_QUEUE_MAX`], so under load
//! batches grow by themselves. A full queue is answered at once with
//! `NotApplied` (the command was not sent).
//!
//! **Errors keep their promise.** Each command passes the door's checks
//! before it joins a batch, so one malformed command is refused alone and
//! cannot sink the others. Two commands with the same request id never
//! share a batch. A batch-wide failure reaches each of its callers as the
//! same error (`Unknown` stays `Unknown`); a caller that waits longer than
//! its call timeout gets `Unknown` (its command may be on the wire).

use crate::{Client, ClientError, Submitted};
use boxoffice_engine::domain::{Command, RequestId};
use boxoffice_proto::door;
use prost::Message;
use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most commands in one coalesced batch.
pub const COALESCE_BATCH_COMMANDS_MAX: usize = 256;
/// Most encoded bytes of one coalesced batch (well under the server's
/// [`door::BATCH_REQUEST_BYTES_MAX`]).
pub const COALESCE_BATCH_BYTES_MAX: usize = 256 * 1024;
/// How long a batch waits for more commands after its first, in microseconds.
pub const COALESCE_LINGER_US: u64 = 200;
/// Most coalesced batches on the wire at once, per client.
pub const COALESCE_BATCHES_IN_FLIGHT_MAX: usize = 4;
/// Most commands waiting for a batch, per client.
pub const COALESCE_QUEUE_MAX: usize = 16_384;

/// One caller's command, waiting for its batch.
pub(crate) struct Pending {
    request_id: RequestId,
    command: Command,
    bytes: usize,
    reply: oneshot::Sender<Result<Submitted, ClientError>>,
}

/// The queue in front of a remote client's batches.
pub(crate) struct Coalescer {
    queue: mpsc::Sender<Pending>,
}

impl Coalescer {
    /// Start the batching task for `client` (a remote client whose writes go
    /// out directly); it ends when the returned coalescer is dropped.
    pub(crate) fn start(client: Weak<crate::Remote>, options: crate::ClientOptions) -> Coalescer {
        let (queue, receiver) = mpsc::channel(COALESCE_QUEUE_MAX);
        tokio::spawn(run(client, options, receiver));
        Coalescer { queue }
    }

    /// Submit one command through a batch; wait at most `timeout`.
    pub(crate) async fn submit(
        &self,
        request_id: RequestId,
        command: Command,
        timeout: Duration,
    ) -> Result<Submitted, ClientError> {
        let command =
            door::check(request_id, command).map_err(|refusal| ClientError::Invalid(refusal.to_string()))?;
        let bytes = boxoffice_proto::convert::submit_request(request_id, &command).encoded_len();
        let (reply, answer) = oneshot::channel();
        let pending = Pending { request_id, command, bytes, reply };
        self.queue.try_send(pending).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                ClientError::NotApplied("the client's batch queue is full; try again".into())
            }
            mpsc::error::TrySendError::Closed(_) => ClientError::NotApplied("the client is shut down".into()),
        })?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Unknown("the batch was dropped before it answered".into())),
            Err(_) => Err(ClientError::Unknown("no answer within the call timeout (batched)".into())),
        }
    }
}

async fn run(remote: Weak<crate::Remote>, options: crate::ClientOptions, mut queue: mpsc::Receiver<Pending>) {
    let slots = Arc::new(Semaphore::new(COALESCE_BATCHES_IN_FLIGHT_MAX));
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(pending) => pending,
            None => match queue.recv().await {
                Some(pending) => pending,
                None => return,
            },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let mut ids = HashSet::from([first.request_id]);
        let mut bytes = first.bytes;
        let mut batch = vec![first];
        // Linger only while another batch is on the wire (this one holds a slot).
        let busy = slots.available_permits() + 1 < COALESCE_BATCHES_IN_FLIGHT_MAX;
        let linger_until =
            if busy { Instant::now() + Duration::from_micros(COALESCE_LINGER_US) } else { Instant::now() };
        while batch.len() < COALESCE_BATCH_COMMANDS_MAX {
            match queue.try_recv() {
                Ok(next) => {
                    if bytes + next.bytes > COALESCE_BATCH_BYTES_MAX || ids.contains(&next.request_id) {
                        carried = Some(next);
                        break;
                    }
                    ids.insert(next.request_id);
                    bytes += next.bytes;
                    batch.push(next);
                }
                Err(mpsc::error::TryRecvError::Empty) if Instant::now() < linger_until => {
                    tokio::task::yield_now().await;
                }
                Err(_) => break,
            }
        }
        // The client is gone: answer nobody (their receivers are gone too).
        let Some(remote) = remote.upgrade() else { return };
        let client = Client { transport: crate::Transport::Remote(remote), options: options.clone() };
        tokio::spawn(async move {
            let _slot = slot;
            send(&client, batch).await;
        });
    }
}

/// Send one batch and hand each caller its result.
async fn send(client: &Client, batch: Vec<Pending>) {
    if batch.len() == 1 {
        let pending = batch.into_iter().next().expect("one");
        let result = client.submit_direct(pending.request_id, pending.command).await;
        let _ = pending.reply.send(result);
        return;
    }
    let (commands, replies): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|p| ((p.request_id, p.command), p.reply)).unzip();
    match client.submit_batch(commands).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}
