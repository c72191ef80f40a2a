//! `SubmitBatch` when the engine cannot take every command of a batch: the
//! answer must say, command by command, what was stored.
//!
//! In-process: the service runs on an embedded single-node engine, on a
//! current-thread runtime. That makes the overflow deterministic: the test
//! task polls every batch handler once before anything else can run, each
//! handler queues its commands without yielding, so exactly the first
//! `SUBMIT_QUEUE_MAX` commands (in request order) enter the engine's queue
//! and every later one is refused as busy.

use boxoffice_engine::domain::{Command, OrderId, RequestId};
use boxoffice_engine::node::{Engine, SUBMIT_QUEUE_MAX};
use boxoffice_proto::v1;
use boxoffice_proto::v1::inventory_server::Inventory;
use boxoffice_server::metrics::Metrics;
use boxoffice_server::services::{BATCH_REQUEST_COMMANDS_MAX, InventoryService};
use std::collections::BTreeSet;
use std::sync::Arc;
use tonic::{Code, Request};
use v1::command_result::Result as Wire;
use v1::not_applied::Reason;

/// Batches sent at once: enough to overflow the engine's queue by several batches.
const BATCHES: usize = SUBMIT_QUEUE_MAX / BATCH_REQUEST_COMMANDS_MAX + 15;

/// Every request id in the engine's event log.
fn stored(engine: &Engine) -> BTreeSet<RequestId> {
    let mut ids = BTreeSet::new();
    let mut next = 1;
    loop {
        let records = engine.shared().records_from(next, 10_000).expect("read the event log");
        let Some(last) = records.last() else { return ids };
        next = last.seq + 1;
        ids.extend(records.iter().map(|r| r.request_id));
    }
}

/// Await every future, but first poll each once in one pass, so the engine
/// (on this thread) cannot take anything from its queue until every batch
/// has queued what fits. Polled `unconstrained` by the caller: tokio's
/// cooperative budget would otherwise make a handler yield midway.
async fn all_queued_at_once<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.map(|f| Box::pin(futures::future::maybe_done(f))).collect();
    std::future::poll_fn(|cx| {
        for future in &mut futures {
            let _ = future.as_mut().poll(cx);
        }
        std::task::Poll::Ready(())
    })
    .await;
    let mut outputs = Vec::with_capacity(futures.len());
    for mut future in futures {
        future.as_mut().await;
        outputs.push(future.as_mut().take_output().expect("output of a finished future"));
    }
    outputs
}

#[tokio::test]
async fn a_batch_cut_short_by_a_full_queue_says_which_commands_were_stored() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::start_single(dir.path()).await.unwrap());
    let service = InventoryService::new(engine.clone(), Arc::new(Metrics::new(1, "local")));
    // Cheap commands: each is decided (not found) and recorded.
    let batches: Vec<Vec<RequestId>> = (0..BATCHES)
        .map(|b| {
            (0..BATCH_REQUEST_COMMANDS_MAX)
                .map(|i| RequestId((b * BATCH_REQUEST_COMMANDS_MAX + i) as u128 + 1))
                .collect()
        })
        .collect();
    let requests = batches.iter().map(|ids| {
        let commands = ids
            .iter()
            .map(|id| boxoffice_proto::convert::submit_request(*id, &Command::Pay { order: OrderId(999) }))
            .collect();
        service.submit_batch(Request::new(v1::SubmitBatchRequest { commands }))
    });
    let answers = tokio::task::unconstrained(all_queued_at_once(requests)).await;
    let stored = stored(&engine);
    assert_eq!(stored.len(), SUBMIT_QUEUE_MAX, "the first commands filled the queue, no more");

    // Every answer is truthful, command by command.
    let (mut applied, mut not_applied, mut refused_batches, mut partial_batches) = (0, 0, 0, 0);
    for (ids, answer) in batches.iter().zip(&answers) {
        match answer {
            Ok(reply) => {
                let reply = reply.get_ref();
                assert_eq!(reply.command_results.len(), ids.len(), "one result per command");
                let mut stored_here = 0;
                for (id, result) in ids.iter().zip(&reply.command_results) {
                    match result.result.as_ref().expect("result set") {
                        Wire::Applied(response) => {
                            assert!(stored.contains(id), "request {id} answered as applied but not stored");
                            assert!(response.seq > 0);
                            applied += 1;
                            stored_here += 1;
                        }
                        Wire::NotApplied(refusal) => {
                            assert!(!stored.contains(id), "request {id} answered as not applied but stored");
                            assert_eq!(refusal.reason, Reason::Busy as i32);
                            not_applied += 1;
                        }
                        Wire::Unknown(unknown) => panic!("nothing here is unknown: {}", unknown.message),
                    }
                }
                if stored_here < ids.len() {
                    partial_batches += 1;
                    assert!(reply.results.is_empty(), "the old field never claims a partial batch whole");
                } else {
                    assert_eq!(reply.results.len(), ids.len());
                }
            }
            Err(status) => {
                refused_batches += 1;
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                let taken: Vec<_> = ids.iter().filter(|id| stored.contains(id)).collect();
                assert!(
                    taken.is_empty(),
                    "batch answered {:?} ({}) although {} of its {} commands were stored",
                    status.code(),
                    status.message(),
                    taken.len(),
                    ids.len()
                );
            }
        }
    }
    assert_eq!(applied, SUBMIT_QUEUE_MAX);
    // The batch the queue filled up in: its first commands stored, the rest refused.
    assert_eq!(partial_batches, 1);
    assert_eq!(not_applied, BATCH_REQUEST_COMMANDS_MAX - SUBMIT_QUEUE_MAX % BATCH_REQUEST_COMMANDS_MAX);
    assert_eq!(refused_batches, BATCHES - SUBMIT_QUEUE_MAX / BATCH_REQUEST_COMMANDS_MAX - 1);
    engine.shutdown().await;
}
