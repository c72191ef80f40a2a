//! What `/health` and `/ready` promise, and how a node answers a client
//! whose deadline expires: a leader cut off from its quorum stops being
//! ready, a write cut off by its deadline is answered `DEADLINE_EXCEEDED`
//! (outcome unknown), and a node whose Raft has stopped is neither healthy
//! nor ready.

mod support;

use boxoffice_engine::domain::*;
use boxoffice_engine::node::Engine;
use boxoffice_proto::convert::submit_request;
use boxoffice_proto::v1;
use boxoffice_server::http::{INVENTORY_SERVICE, SERVER_HEALTH_SERVICE, report_grpc_health};
use boxoffice_server::metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tonic::Code;
use tonic_health::ServingStatus;

/// The server's default longest election timeout, in milliseconds (twice `--election-timeout-ms` 750).
const ELECTION_TIMEOUT_MAX_MS: u64 = 1_500;
/// How often the tests poll an endpoint, in milliseconds.
const POLL_MS: u64 = 100;
/// The client deadline of the write that cannot commit, in milliseconds.
const SHORT_DEADLINE_MS: u64 = 500;

/// Poll `/ready` of `http` until its status line is (`ready`) or is not 200; how long it took.
async fn wait_ready(http: &str, ready: bool, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, body) = http_get(http, "/ready").await;
        if status.contains(" 200 ") == ready {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "/ready of {http} still says `{status}` ({}) after {within:?}",
            body.trim()
        );
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_its_quorum_stops_being_ready_within_two_election_timeouts() {
    let mut cluster = Cluster::start(52, 3, 5_000);
    let leader = cluster.leader().await;
    wait_ready(&cluster.node(leader).http.clone(), true, Duration::from_secs(10)).await;

    let (leader, followers) = cluster.isolate_leader().await;
    let http = cluster.node(leader).http.clone();
    let took = wait_ready(&http, false, Duration::from_millis(2 * ELECTION_TIMEOUT_MAX_MS + 1_000)).await;
    println!("leader {leader} not ready {took:?} after its followers were paused");
    let (status, body) = http_get(&http, "/health").await;
    assert!(status.contains(" 200 "), "the process is healthy, just not ready: {status} {body}");

    for id in &followers {
        cluster.resume(*id);
    }
    let leader = cluster.leader().await;
    wait_ready(&cluster.node(leader).http.clone(), true, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_client_deadline_expires_is_answered_deadline_exceeded() {
    let mut cluster = Cluster::start(53, 3, 5_000);
    cluster.leader().await;
    let client = cluster.client();
    let (event, item, _) = catalog(&client, 100).await;
    let (leader, followers) = cluster.isolate_leader().await;

    // The leader cannot commit: the write waits until the client's deadline.
    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 600_000 };
    let request_id = RequestId(0xdead_beef);
    let mut request = tonic::Request::new(submit_request(request_id, &hold));
    request.set_timeout(Duration::from_millis(SHORT_DEADLINE_MS));
    let mut inventory =
        v1::inventory_client::InventoryClient::new(channel(&cluster.node(leader).grpc.clone()).await);
    let started = Instant::now();
    let status = inventory.submit(request).await.expect_err("cannot commit");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("unknown"), "the outcome is unknown: {}", status.message());
    assert!(started.elapsed() < Duration::from_millis(SHORT_DEADLINE_MS * 2), "{:?}", started.elapsed());

    // Once the quorum is back, the same request id tells what happened.
    for id in &followers {
        cluster.resume(*id);
    }
    let submitted = loop {
        match client.submit_with_id(request_id, hold.clone()).await {
            Ok(submitted) => break submitted,
            Err(e) => {
                assert!(started.elapsed() < Duration::from_secs(30), "no outcome: {e}");
                tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
            }
        }
    };
    assert!(submitted.outcome.is_accepted(), "{submitted:?}");
}

/// The gRPC health of `service`; `None` while it is not registered yet.
async fn grpc_health(addr: &str, service: &str) -> Option<i32> {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel(addr).await);
    let request = tonic_health::pb::HealthCheckRequest { service: service.into() };
    match health.check(request).await {
        Ok(reply) => Some(reply.into_inner().status),
        Err(status) if status.code() == Code::NotFound => None,
        Err(status) => panic!("health check: {status:?}"),
    }
}

/// Poll the gRPC health of `service` until it is `status`.
async fn wait_grpc_health(addr: &str, service: &str, status: ServingStatus) {
    let started = Instant::now();
    while grpc_health(addr, service).await != Some(status as i32) {
        assert!(started.elapsed() < Duration::from_secs(10), "{service:?} never became {status:?}");
        tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_raft_has_stopped_is_neither_healthy_nor_ready() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(Engine::start_single(dir.path()).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.54.1:0").await.unwrap();
    let http = listener.local_addr().unwrap().to_string();
    let router = boxoffice_server::http::router(engine.clone(), Arc::new(Metrics::new(1, "local")));
    let http_server = tokio::spawn(async move { axum::serve(listener, router).await });
    // gRPC health, kept up to date as `boxoffice-server` does.
    let (reporter, health_service) = tonic_health::server::health_reporter();
    let reporting = tokio::spawn(report_grpc_health(engine.clone(), reporter));
    let listener = tokio::net::TcpListener::bind("127.0.54.1:0").await.unwrap();
    let grpc = listener.local_addr().unwrap().to_string();
    let grpc_server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health_service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let (status, _) = http_get(&http, "/health").await;
    assert!(status.contains(" 200 "), "{status}");
    wait_ready(&http, true, Duration::from_secs(10)).await;
    wait_grpc_health(&grpc, INVENTORY_SERVICE, ServingStatus::Serving).await;
    wait_grpc_health(&grpc, SERVER_HEALTH_SERVICE, ServingStatus::Serving).await;

    engine.raft().shutdown().await.unwrap();
    let (status, body) = http_get(&http, "/health").await;
    assert!(status.contains(" 503 "), "{status} {body}");
    assert!(body.contains("raft stopped"), "{body}");
    let (status, _) = http_get(&http, "/ready").await;
    assert!(status.contains(" 503 "), "{status}");
    wait_grpc_health(&grpc, INVENTORY_SERVICE, ServingStatus::NotServing).await;
    wait_grpc_health(&grpc, SERVER_HEALTH_SERVICE, ServingStatus::NotServing).await;
    reporting.abort();
    http_server.abort();
    grpc_server.abort();
}
