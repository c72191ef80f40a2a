//! A node that lost its disk never votes as the voter it was: it refuses to
//! start, or (with `--rejoin`) rejoins through a membership change. Real
//! server processes on loopback.

mod support;

use boxoffice_engine::domain::*;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_voter_without_rejoin_refuses_to_start_and_says_why() {
    let mut cluster = Cluster::start(47, 3, 5_000);
    let leader = cluster.leader().await;
    catalog(&cluster.client(), 10).await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    cluster.wipe(follower);
    cluster.spawn_joining(follower, false);
    let status = cluster.exit_status(follower, Duration::from_secs(30)).expect("it must refuse to start");
    assert!(!status.success(), "{status}");
    let log = cluster.log_text(follower);
    assert!(log.contains("lost its Raft log and its vote") && log.contains("--rejoin"), "{log}");
}

/// The hazard: a follower that lost its disk comes back while the other
/// follower lags behind an acknowledged write. If the wiped one voted as
/// the voter it was, it would elect the lagging one when the leader dies,
/// and the write would be gone. It must not: the write survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_follower_never_elects_a_leader_that_lacks_an_acknowledged_write() {
    let mut cluster = Cluster::start(48, 3, 5_000);
    let leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, quota) = catalog(&client, 10).await;
    let followers: Vec<u64> = (1..=3).filter(|id| *id != leader).collect();
    let (wiped, lagging) = (followers[0], followers[1]);

    // The write is acknowledged by the leader and `wiped` only.
    cluster.pause(lagging);
    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 3_600_000 };
    assert!(known(&client, hold).await.is_accepted());

    // `wiped` loses its disk, the leader dies, `wiped` comes back (asking to
    // rejoin) and the lagging follower wakes up and campaigns. If the wiped
    // node voted as the voter it was, the lagging one would win without the
    // write (the build before this fix did exactly that: the hold was gone).
    cluster.wipe(wiped);
    cluster.kill(leader);
    cluster.spawn_joining(wiped, true);
    cluster.resume(lagging);
    tokio::time::sleep(Duration::from_secs(5)).await;
    if let Some(status) = cluster.status_of(lagging, false).await {
        assert_ne!(
            status.role, "leader",
            "elected without the acknowledged write (with the wiped node's vote)"
        );
    }
    // The old leader comes back: the cluster recovers with the write.
    cluster.spawn(leader, None);
    cluster.converged(&[1, 2, 3]).await;
    let view = quota_on(&cluster, wiped, quota).await.expect("a view");
    assert_eq!(view.held, 1, "the acknowledged hold was lost");
    // And it finishes rejoining: removed, re-added as a learner, promoted.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = cluster.status_of(wiped, false).await;
        if status.is_some_and(|s| s.members.iter().any(|m| m.id == wiped && m.voter)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the wiped node is not a voter again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A leader whose clock is 61 minutes fast, whether it jumps mid-term or
/// becomes leader with it, stamps the cluster's time: a retried checkout
/// gets its original outcome, and log time does not jump.
#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_61_minutes_fast_keeps_log_time_and_retried_checkouts_exactly_once() {
    use boxoffice_proto::v1;
    const FAST_MS: i64 = 61 * 60 * 1000;
    let mut cluster = Cluster::start(49, 3, 5_000);
    let first_leader = cluster.leader().await;
    let client = cluster.client();
    let (event, item, _) = catalog(&client, 100).await;
    // Log time now, read from a fresh hold's expiry.
    let ttl_ms = 600_000;
    let log_now = |outcome: Outcome| match outcome {
        Outcome::Accepted(Accepted::HoldLive { expires_at_ms, .. }) => expires_at_ms - ttl_ms,
        other => panic!("{other:?}"),
    };
    let hold = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms };
    let Outcome::Accepted(Accepted::HoldLive { hold: held, .. }) = known(&client, hold.clone()).await else {
        panic!()
    };
    let checkout_id = boxoffice_client::new_request_id();
    let checkout = Command::Checkout { hold: held, payment_ttl_ms: 1_800_000 };
    let first = client.submit_with_id(checkout_id, checkout.clone()).await.unwrap().outcome;
    assert!(matches!(first, Outcome::Accepted(Accepted::OrderPlaced { .. })), "{first:?}");
    let before = log_now(known(&client, hold.clone()).await);
    let started = std::time::Instant::now();

    let skew = |id: u64, offset_ms: i64| {
        let addr = cluster.nodes.iter().find(|n| n.id == id).unwrap().grpc.clone();
        async move {
            let mut faults = v1::faults_client::FaultsClient::new(channel(&addr).await);
            faults.set_clock_offset(v1::SetClockOffsetRequest { offset_ms }).await.unwrap();
        }
    };
    // 1. The leader's clock jumps an hour ahead mid-term.
    skew(first_leader, FAST_MS).await;
    let jumped = log_now(known(&client, hold.clone()).await);
    assert!(jumped - before < 60_000, "log time jumped {} ms with the leader's clock", jumped - before);
    skew(first_leader, 0).await;

    // 2. A follower 61 minutes fast becomes leader (the others' clocks outvote it).
    let fast = (1..=3).find(|id| *id != first_leader).unwrap();
    skew(fast, FAST_MS).await;
    for _ in 0..10 {
        let leader = cluster.leader().await;
        if leader == fast {
            break;
        }
        // Kill the leader, let the other two elect one, and bring it back.
        cluster.kill(leader);
        cluster.leader().await;
        cluster.spawn(leader, None);
    }
    let leader = cluster.leader().await;
    if leader != fast {
        let log = cluster.log_text(fast);
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        panic!(
            "could not make the fast node {fast} leader (leader {leader}); its log ends:\n{}",
            tail.join("\n")
        );
    }
    let now = log_now(known(&client, hold.clone()).await);
    let elapsed = started.elapsed().as_millis() as u64;
    assert!(now - before < elapsed + 60_000, "log time moved {} ms in {elapsed} ms", now - before);
    // The buyer's retried checkout gets its first answer, not a new decision.
    let retry = client.submit_with_id(checkout_id, checkout).await.unwrap();
    assert!(retry.duplicate, "the checkout's request id was forgotten");
    assert_eq!(retry.outcome, first);
}

/// A storage error stops Raft; the node then exits non-zero (so a
/// supervisor restarts it) instead of staying up with `/health` 200. It
/// used to wait forever for its HTTP server after the fatal error.
#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_log_cannot_be_written_exits_non_zero() {
    let mut cluster = Cluster::start_with_env(46, 1, 5_000, &[("FAILPOINTS", "log-append=return")]);
    let status = cluster.exit_status(1, Duration::from_secs(30)).expect("the node must exit");
    assert!(!status.success(), "{status}");
    let log = cluster.log_text(1);
    assert!(log.contains("raft failed") && log.contains("fail point log-append"), "{log}");
}
