//! Client-side batching against a real `boxoffice-server` process: many
//! tasks on one `Client` each submit one command; they reach the server as
//! a few `SubmitBatch` requests, and each task still gets its own answer,
//! with no oversell and a malformed command refused alone.

mod support;

use boxoffice_client::{ClientError, ClientOptions};
use boxoffice_engine::domain::*;
use std::collections::HashSet;
use support::Cluster;

/// Buyers submitting at once, and the quota they compete for.
const BUYERS: usize = 400;
const QUOTA_SIZE: u64 = 300;

/// The node's `boxoffice_requests_total` for `command`, summed over outcomes.
async fn requests(cluster: &Cluster, command: &str) -> u64 {
    let (_, body) = support::http_get(&cluster.nodes[0].http, "/metrics").await;
    body.lines()
        .filter(|l| {
            l.starts_with("boxoffice_requests_total{") && l.contains(&format!("command=\"{command}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submits_on_one_client_go_out_in_batches_and_each_gets_its_own_answer() {
    let cluster = Cluster::start(57, 1, 10_000);
    cluster.leader().await;
    let client = cluster.client();
    let (event, item, quota) = support::catalog(&client, QUOTA_SIZE).await;
    let batches_before = requests(&cluster, "batch").await;

    let mut tasks = Vec::new();
    for buyer in 0..=BUYERS {
        let client = client.clone();
        // One buyer sends a command the door refuses (a zero quantity).
        let quantity = if buyer == BUYERS / 2 { 0 } else { 1 };
        tasks.push(tokio::spawn(async move {
            let command = Command::PlaceHold { event, lines: vec![Line { item, quantity }], ttl_ms: 60_000 };
            client.submit(command).await
        }));
    }
    let (mut holds, mut sold_out, mut invalid) = (HashSet::new(), 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(submitted) => match submitted.outcome {
                Outcome::Accepted(Accepted::HoldLive { hold, .. }) => {
                    assert!(holds.insert(hold), "one hold each")
                }
                Outcome::Rejected(Rejection::SoldOut { .. }) => sold_out += 1,
                other => panic!("unexpected outcome {other:?}"),
            },
            Err(ClientError::Invalid(_)) => invalid += 1,
            Err(error) => panic!("unexpected error {error}"),
        }
    }
    assert_eq!(invalid, 1, "the malformed command is refused alone");
    assert_eq!(holds.len() as u64, QUOTA_SIZE, "every ticket is held once, by one buyer");
    assert_eq!(sold_out, BUYERS - QUOTA_SIZE as usize, "the rest are told sold out");
    let availability = support::quota_on(&cluster, 1, quota).await.unwrap();
    assert_eq!(availability.held, QUOTA_SIZE, "{availability:?}");

    let batches = requests(&cluster, "batch").await - batches_before;
    let singles = requests(&cluster, "place_hold").await;
    println!("{BUYERS} holds reached the server as {batches} batches and {singles} single requests");
    assert!(batches > 0, "concurrent submits were coalesced");
    assert!(
        batches + singles < BUYERS as u64 / 2,
        "{batches} batches + {singles} singles for {BUYERS} holds"
    );

    // With coalescing off, each submit is its own request.
    let direct = boxoffice_client::Client::remote(
        &cluster.endpoints(),
        ClientOptions { coalesce: false, ..ClientOptions::default() },
    )
    .unwrap();
    let before = requests(&cluster, "batch").await;
    let calls = (0..20).map(|_| {
        direct.submit(Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 })
    });
    for result in futures::future::join_all(calls).await {
        assert!(result.is_ok());
    }
    assert_eq!(requests(&cluster, "batch").await, before, "no batches without coalescing");
}
