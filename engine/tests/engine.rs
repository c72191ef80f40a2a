//! The in-process engine on a real data directory: commands go through
//! openraft (one node), survive a restart, batch under concurrency, and
//! retries with the same request id never take effect twice.

use boxoffice_engine::domain::*;
use boxoffice_engine::node::{Consistency, Engine};
use std::sync::Arc;
use tempfile::TempDir;

async fn ok(engine: &Engine, id: u128, command: Command) -> Accepted {
    match engine.submit(RequestId(id), command).await.expect("submitted").outcome {
        Outcome::Accepted(accepted) => accepted,
        Outcome::Rejected(rejection) => panic!("rejected: {rejection:?}"),
    }
}

/// Organizer, event, one item in one quota of `size`. Returns (event, item, quota).
async fn setup(engine: &Engine, size: u64) -> (EventId, ItemId, QuotaId) {
    let Accepted::OrganizerCreated { organizer } = ok(
        engine,
        1,
        Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [1; 32] },
    )
    .await
    else {
        panic!()
    };
    let Accepted::EventCreated { event } =
        ok(engine, 2, Command::CreateEvent { organizer, slug: "gig".into(), name: "Gig".into() }).await
    else {
        panic!()
    };
    let Accepted::ItemCreated { item } =
        ok(engine, 3, Command::CreateItem { event, name: "GA".into(), price_cents: 100 }).await
    else {
        panic!()
    };
    let quota = Command::CreateQuota {
        event,
        name: "GA".into(),
        size: Some(size),
        items: vec![item],
        close_when_sold_out: false,
    };
    let Accepted::QuotaCreated { quota } = ok(engine, 4, quota).await else { panic!() };
    (event, item, quota)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_buyers_get_exactly_the_quota_and_it_survives_a_restart() {
    let dir = TempDir::new().unwrap();
    let engine = Arc::new(Engine::start_single(dir.path()).await.unwrap());
    let (event, item, quota) = setup(&engine, 50).await;
    let buyers: Vec<_> = (0..200u128)
        .map(|buyer| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let command =
                    Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 };
                engine.submit(RequestId(1_000 + buyer), command).await.unwrap().outcome.is_accepted()
            })
        })
        .collect();
    let mut held = 0;
    for buyer in buyers {
        held += u64::from(buyer.await.unwrap());
    }
    assert_eq!(held, 50, "exactly the quota's size, no more, no fewer");
    let (digests, view) = engine
        .read(Consistency::Linearizable, |a| a.state.quota_availability(quota, 0).unwrap())
        .await
        .map(|view| (engine.shared().digests().unwrap(), view))
        .unwrap();
    assert_eq!(view.held, 50);
    engine.shutdown().await;
    drop(engine);

    let engine = Engine::start_single(dir.path()).await.unwrap();
    assert_eq!(engine.shared().digests().unwrap(), digests, "the same event log and state after a restart");
    // A retry of an acknowledged hold returns its original outcome.
    let retry = Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 };
    let first_accepted = (0..200u128)
        .find(|b| {
            engine
                .shared()
                .read(|a| a.state.request_outcome(RequestId(1_000 + b)).is_some_and(|o| o.is_accepted()))
        })
        .unwrap();
    let again = engine.submit(RequestId(1_000 + first_accepted), retry).await.unwrap();
    assert!(again.is_duplicate() && again.outcome.is_accepted());
    engine.shutdown().await;
}

#[tokio::test]
async fn a_node_refuses_to_start_on_a_nearly_full_disk_with_a_clear_error() {
    use boxoffice_engine::node::{EngineConfig, EngineError, NoNetwork};
    use boxoffice_engine::raft::NodeInfo;
    let dir = TempDir::new().unwrap();
    let node = NodeInfo { addr: "embedded".into(), zone: "local".into() };
    let mut config = EngineConfig::new(1, node, dir.path());
    config.disk_free_min_bytes = u64::MAX;
    match Engine::start(config, NoNetwork).await {
        Err(EngineError::Disk(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
            assert!(e.to_string().contains("disk nearly full"), "{e}");
        }
        Err(other) => panic!("expected a disk error, got {other}"),
        Ok(_) => panic!("a node started on a disk without its minimum free space"),
    }
    assert!(!dir.path().join("log").exists(), "nothing was created before the check");
}

#[test]
fn every_planted_bug_parses_from_its_own_name_and_unknown_names_list_the_known_ones() {
    use boxoffice_engine::node::PlantedBug;
    for bug in PlantedBug::ALL {
        assert_eq!(bug.name().parse::<PlantedBug>(), Ok(bug));
    }
    let error = "skip-fsync".parse::<PlantedBug>().unwrap_err();
    assert!(error.contains("ack-before-commit") && error.contains("diverge"), "{error}");
}
