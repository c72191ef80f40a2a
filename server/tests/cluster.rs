//! A real three-node cluster (separate `boxoffice-server` processes on
//! loopback addresses): the race for the last tickets, kill -9 of the
//! leader, restarts, a wiped node rejoining by snapshot, a membership
//! change under load, and malformed input.

mod support;

use boxoffice_client::{Client, ClientError};
use boxoffice_engine::domain::*;
use boxoffice_engine::node::Consistency;
use boxoffice_proto::v1;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

#[derive(Default)]
struct Sale {
    /// Orders whose payment was acknowledged, with when.
    paid: Mutex<Vec<(OrderId, Instant)>>,
}

/// Buyers racing for tickets: hold 1, check out, pay, until sold out.
async fn buyers(client: Client, event: EventId, item: ItemId, sale: Arc<Sale>, count: usize) {
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (client, sale) = (client.clone(), sale.clone());
            tokio::spawn(async move {
                loop {
                    let hold = Command::PlaceHold {
                        event,
                        lines: vec![Line { item, quantity: 1 }],
                        ttl_ms: 600_000,
                    };
                    let hold = match known(&client, hold).await {
                        Outcome::Accepted(Accepted::HoldLive { hold, .. }) => hold,
                        Outcome::Rejected(Rejection::SoldOut { .. }) => return,
                        other => panic!("hold: {other:?}"),
                    };
                    let Outcome::Accepted(Accepted::OrderPlaced { order, .. }) =
                        known(&client, Command::Checkout { hold, payment_ttl_ms: 600_000 }).await
                    else {
                        panic!("checkout of a live hold must succeed")
                    };
                    match known(&client, Command::Pay { order }).await {
                        Outcome::Accepted(Accepted::OrderPaid { .. }) => {
                            sale.paid.lock().unwrap().push((order, Instant::now()));
                        }
                        other => panic!("pay: {other:?}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("buyer");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_sell_exactly_the_quota_when_clients_race_for_the_last_tickets() {
    let cluster = Cluster::start(41, 3, 5_000);
    cluster.leader().await;
    let client = cluster.client();
    let (event, item, quota) = catalog(&client, 60).await;
    let sale = Arc::new(Sale::default());
    buyers(client.clone(), event, item, sale.clone(), 24).await;
    assert_eq!(sale.paid.lock().unwrap().len(), 60, "exactly the quota's size is sold: no more, no fewer");
    let (_, _, last_seq) = cluster.converged(&[1, 2, 3]).await;
    for id in 1..=3 {
        let view = quota_on(&cluster, id, quota).await.expect("quota");
        assert_eq!((view.paid, view.pending, view.held), (60, 0, 0), "node {id}");
    }
    assert!(last_seq > 180);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_race_loses_no_acknowledged_order() {
    let mut cluster = Cluster::start(42, 3, 5_000);
    cluster.leader().await;
    let client = cluster.client();
    let size = 150;
    let (event, item, quota) = catalog(&client, size).await;
    let sale = Arc::new(Sale::default());
    let race = tokio::spawn(buyers(client.clone(), event, item, sale.clone(), 16));

    // Let the sale get going, then kill -9 the leader.
    while sale.paid.lock().unwrap().len() < 30 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let old_leader = cluster.leader().await;
    let killed_at = Instant::now();
    cluster.kill(old_leader);
    race.await.unwrap();
    let paid = sale.paid.lock().unwrap().clone();
    let failover = paid.iter().map(|(_, at)| *at).filter(|at| *at > killed_at).min().expect("writes resumed")
        - killed_at;
    println!("failover: leader {old_leader} killed; next acknowledged write after {failover:?}");
    assert_eq!(paid.len() as u64, size);

    // Every acknowledged order is on every surviving node, paid; nothing oversold.
    let survivors: Vec<u64> = (1..=3).filter(|id| *id != old_leader).collect();
    cluster.converged(&survivors).await;
    for id in &survivors {
        let node = cluster.client_of(*id);
        for (order, _) in &paid {
            let found = node.order(*order, Consistency::Stale).await.expect("acknowledged order present");
            assert_eq!(found.status, OrderStatus::Paid, "order {order} on node {id}");
        }
        let view = quota_on(&cluster, *id, quota).await.unwrap();
        assert_eq!(view.paid, size, "node {id}: sold never exceeds size");
    }

    // The killed node comes back and holds the identical event log, in
    // which no request id took effect twice (retries across the failover
    // got their original outcomes) and exactly `size` orders were paid.
    cluster.spawn(old_leader, None);
    let (_, _, last_seq) = cluster.converged(&[1, 2, 3]).await;
    use futures::StreamExt;
    let records: Vec<Record> = cluster
        .client_of(old_leader)
        .subscribe(1)
        .await
        .unwrap()
        .take(last_seq as usize)
        .map(|r| r.unwrap())
        .collect()
        .await;
    let ids: BTreeSet<RequestId> = records.iter().map(|r| r.request_id).collect();
    assert_eq!(ids.len(), records.len(), "a request id took effect twice");
    let paid_events =
        records.iter().flat_map(|r| &r.events).filter(|e| matches!(e, Event::OrderPaid { .. })).count();
    assert_eq!(paid_events as u64, size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up_and_a_wiped_node_rejoins_by_snapshot() {
    // Snapshot every 20 entries, so the log the followers miss is purged.
    let mut cluster = Cluster::start(43, 3, 20);
    let leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, _) = catalog(&client, 10_000).await;
    let followers: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let (restarted, wiped) = (followers[0], followers[1]);

    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 600_000 };
    // One node down at a time: a majority keeps writing, past several snapshots.
    cluster.kill(restarted);
    for _ in 0..60 {
        assert!(known(&client, hold.clone()).await.is_accepted());
    }
    cluster.spawn(restarted, None);
    cluster.converged(&[1, 2, 3]).await;
    cluster.wipe(wiped);
    for _ in 0..60 {
        assert!(known(&client, hold.clone()).await.is_accepted());
    }
    // It lost its log and its vote: it rejoins through a membership change.
    cluster.spawn_joining(wiped, true);
    let (events, state, last_seq) = cluster.converged(&[1, 2, 3]).await;
    assert!(last_seq >= 124);
    assert!(cluster.log_text(wiped).contains("installed snapshot"), "the wiped node caught up by snapshot");
    // And both start again from what they wrote (a purged-past-the-end log included).
    cluster.restart(wiped);
    cluster.restart(restarted);
    assert_eq!(cluster.converged(&[1, 2, 3]).await, (events.clone(), state.clone(), last_seq));
    // The wiped node has the whole event history, not just the counts.
    let records = cluster.client_of(wiped).subscribe(1).await.unwrap();
    use futures::StreamExt;
    let seqs: Vec<u64> = records.take(last_seq as usize).map(|r| r.unwrap().seq).collect().await;
    assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>());
    println!("converged: {last_seq} records, event log {events}, state {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_is_replaced_by_a_membership_change_under_load() {
    let mut cluster = Cluster::start(44, 3, 5_000);
    cluster.leader().await;
    let client = cluster.client();
    let (event, item, quota) = catalog(&client, 100_000).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let mut accepted = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let hold =
                    Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 600_000 };
                accepted += u64::from(known(&client, hold).await.is_accepted());
            }
            accepted
        })
    };
    // Node 4 joins as a learner, becomes a voter, and node 3 leaves.
    cluster.add_node(4);
    cluster.spawn_joining(4, false);
    let addr = cluster.node(4).grpc.clone();
    client
        .admin(|mut admin| {
            let request = v1::AddLearnerRequest { node_id: 4, addr: addr.clone(), zone: "dc4".into() };
            async move { admin.add_learner(request).await.map(|r| r.into_inner()) }
        })
        .await
        .expect("add learner");
    client
        .admin(|mut admin| async move {
            admin
                .change_membership(v1::ChangeMembershipRequest { voters: vec![1, 2, 4], retain: false })
                .await
                .map(|r| r.into_inner())
        })
        .await
        .expect("change membership");
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.kill(3);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let accepted = load.await.unwrap();
    cluster.converged(&[1, 2, 4]).await;
    let status = cluster.status_of(4, false).await.unwrap();
    let voters: BTreeSet<u64> = status.members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    assert_eq!(voters, BTreeSet::from([1, 2, 4]));
    let view = quota_on(&cluster, 4, quota).await.unwrap();
    assert_eq!(view.held, accepted, "every acknowledged hold is on the new node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_typed_errors_and_change_nothing() {
    let cluster = Cluster::start(45, 3, 5_000);
    let leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, quota) = catalog(&client, 10).await;
    let before = cluster.status_of(leader, true).await.unwrap();

    // Unknown ids: a typed rejection from the domain.
    let outcome = known(&client, Command::Pay { order: OrderId(999_999) }).await;
    assert_eq!(outcome, Outcome::Rejected(Rejection::NotFound(ObjectRef::Order(OrderId(999_999)))));
    // Huge quantity: refused at the door by the domain's limits, never proposed.
    let huge = Command::PlaceHold { event, lines: vec![Line { item, quantity: u32::MAX }], ttl_ms: 60_000 };
    let refused = client.submit(huge).await;
    assert!(matches!(&refused, Err(ClientError::Invalid(m)) if m.contains("tickets")), "{refused:?}");

    // Wire-level garbage never reaches Raft.
    let leader_addr = cluster.nodes.iter().find(|n| n.id == leader).unwrap().grpc.clone();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{leader_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut inventory = v1::inventory_client::InventoryClient::new(channel.clone());
    let negative = v1::SubmitRequest {
        request_id: vec![7; 16],
        command: Some(
            boxoffice_proto::convert::submit_request(
                RequestId(7),
                &Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 },
            )
            .command
            .unwrap()
            .tap_negative(),
        ),
    };
    let status = inventory.submit(negative).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let short_id = v1::SubmitRequest { request_id: vec![1, 2, 3], command: None };
    assert_eq!(inventory.submit(short_id).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    let oversized = v1::SubmitBatchRequest {
        commands: (0..1_001)
            .map(|i| boxoffice_proto::convert::submit_request(RequestId(i), &Command::Expire))
            .collect(),
    };
    assert_eq!(inventory.submit_batch(oversized).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    let mut raft = v1::raft_client::RaftClient::new(channel);
    let garbage = v1::RaftPayload { data: vec![0xde, 0xad, 0xbe, 0xef, 1, 2, 3] };
    assert_eq!(raft.append_entries(garbage.clone()).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    assert_eq!(raft.vote(garbage.clone()).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    assert_eq!(raft.install_snapshot(garbage).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    // Raw bytes that are not even HTTP/2 on the gRPC port.
    use tokio::io::AsyncWriteExt;
    let mut raw = tokio::net::TcpStream::connect(&leader_addr).await.unwrap();
    raw.write_all(&[0xff; 4096]).await.unwrap();
    drop(raw);

    // The cluster still works, and nothing but the two rejections was recorded.
    let view = client.quota_availability(quota, Consistency::Linearizable).await.unwrap();
    assert_eq!((view.held, view.paid), (0, 0));
    let after = cluster.status_of(leader, true).await.unwrap();
    assert_eq!(after.last_seq, before.last_seq + 1, "only the domain's not-found rejection was recorded");
}

/// Make a wire command's first line quantity negative.
trait TapNegative {
    fn tap_negative(self) -> Self;
}

impl TapNegative for v1::Command {
    fn tap_negative(mut self) -> Self {
        if let Some(v1::command::Kind::PlaceHold(hold)) = &mut self.kind {
            hold.lines[0].quantity = -1;
        }
        self
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_health_and_metrics_and_stops_gracefully_on_sigterm() {
    let mut cluster = Cluster::start(46, 1, 5_000);
    cluster.leader().await;
    let (grpc, http) = (cluster.nodes[0].grpc.clone(), cluster.nodes[0].http.clone());

    let (status, body) = http_get(&http, "/ready").await;
    assert!(status.contains("200"), "{status} {body}");
    let (status, metrics) = http_get(&http, "/metrics").await;
    assert!(status.contains("200"));
    for name in [
        "boxoffice_raft_term",
        "boxoffice_raft_commit_index",
        "boxoffice_raft_applied_index",
        "boxoffice_log_fsync_duration_seconds",
    ] {
        assert!(metrics.contains(name), "missing {name}");
    }
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{grpc}")).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    // gRPC health follows /ready, re-evaluated every READINESS_POLL_MS: poll it.
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let reply = health
            .check(tonic_health::pb::HealthCheckRequest { service: "boxoffice.v1.Inventory".into() })
            .await
            .unwrap()
            .into_inner();
        if reply.status == serving {
            break;
        }
        assert!(Instant::now() < deadline, "gRPC health never said SERVING: {}", reply.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut child = cluster.nodes[0].child.take().unwrap();
    let term = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "node did not stop within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}
