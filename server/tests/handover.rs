//! A leader asked to stop (SIGTERM) hands leadership to its most
//! up-to-date follower before it exits: the follower it chose becomes the
//! next leader, the stopping node exits cleanly, and no acknowledged write
//! is lost across it.

mod support;

use boxoffice_engine::domain::*;
use std::time::{Duration, Instant};
use support::Cluster;

/// How long the stopping leader may take to exit, in milliseconds.
const EXIT_WAIT_MS: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_with_sigterm_hands_over_to_a_follower_and_exits_cleanly() {
    let mut cluster = Cluster::start(58, 3, 10_000);
    let leader = cluster.leader().await;
    a_campaign_delay_above_its_maximum_is_refused(&mut cluster, leader).await;
    let client = cluster.client();
    let (event, item, quota) = support::catalog(&client, 1_000_000).await;
    let hold = move || Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 600_000 };
    let mut acknowledged = 0u64;
    for _ in 0..20 {
        support::accepted(client.submit(hold()).await.unwrap());
        acknowledged += 1;
    }

    // Writes keep coming while the leader stops.
    let writer = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut ok = 0u64;
            let until = Instant::now() + Duration::from_secs(4);
            while Instant::now() < until {
                if let Ok(submitted) = client.submit(hold()).await {
                    support::accepted(submitted);
                    ok += 1;
                }
            }
            ok
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.terminate(leader);
    let status =
        tokio::task::block_in_place(|| cluster.exit_status(leader, Duration::from_millis(EXIT_WAIT_MS)))
            .expect("the stopping leader exits");
    assert!(status.success(), "a SIGTERM is a clean exit: {status}");
    acknowledged += writer.await.unwrap();

    let next = cluster.leader().await;
    assert_ne!(next, leader);
    let log = cluster.log_text(leader);
    assert!(
        log.contains(&format!("handover: node {next} is the most up-to-date voter")),
        "the leader chose {next}: {log}"
    );
    let availability = cluster
        .client()
        .quota_availability(quota, boxoffice_engine::node::Consistency::Linearizable)
        .await
        .unwrap();
    assert!(
        availability.held >= acknowledged,
        "no acknowledged hold is lost: {availability:?} < {acknowledged}"
    );
}

/// `Admin.Campaign` refuses a delay above `CAMPAIGN_AFTER_MS_MAX` with
/// `INVALID_ARGUMENT` (a stopping leader never needs more than one lease).
async fn a_campaign_delay_above_its_maximum_is_refused(cluster: &mut Cluster, leader: u64) {
    use boxoffice_proto::v1;
    use boxoffice_server::services::CAMPAIGN_AFTER_MS_MAX;
    let follower = if leader == 1 { 2 } else { 1 };
    let mut admin = v1::admin_client::AdminClient::new(support::channel(&cluster.node(follower).grpc).await);
    let refused = admin
        .campaign(v1::CampaignRequest { after_ms: CAMPAIGN_AFTER_MS_MAX + 1 })
        .await
        .expect_err("a delay above the maximum is refused");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains(&CAMPAIGN_AFTER_MS_MAX.to_string()), "{refused:?}");
}
