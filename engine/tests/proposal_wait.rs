//! A proposal that Raft does not answer in time frees its in-flight slot
//! and tells its submitter the outcome is unknown; a retry under the same
//! request id learns the outcome once the entry is applied.
//!
//! Why: the batcher keeps at most `proposals_in_flight_max` proposals in
//! flight. Before `PROPOSAL_WAIT_MS`, each waited for `client_write` without
//! a bound, and a fault run (a leader's zone black-holed, then healed) left
//! a node whose slots were all held by writes that were never answered: it
//! never proposed again while Raft stayed healthy. Here the state machine is
//! paused with a fail point, so no proposal is answered until it resumes.
//! Its own test binary: fail points are global to a process.

use boxoffice_engine::domain::*;
use boxoffice_engine::node::{Engine, PROPOSAL_WAIT_MS, SubmitError};
use std::time::{Duration, Instant};
use tempfile::TempDir;

fn organizer(slug: &str) -> Command {
    Command::CreateOrganizer { slug: slug.into(), name: "Acme".into(), secret_key: [1; 32] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_not_applied_in_time_is_outcome_unknown_and_a_retry_learns_it() {
    let dir = TempDir::new().unwrap();
    let engine = Engine::start_single(dir.path()).await.unwrap();
    assert!(engine.submit(RequestId(1), organizer("first")).await.unwrap().outcome.is_accepted());

    let scenario = fail::FailScenario::setup();
    fail::cfg("state-machine-apply", "pause").unwrap();
    // More submissions than the batcher keeps in flight (8 by default), one
    // after another: each must get its answer at the bound, not hang.
    let started = Instant::now();
    for id in 2..=10u128 {
        let submitted = tokio::time::timeout(
            Duration::from_millis(PROPOSAL_WAIT_MS * 3),
            engine.submit(RequestId(id), organizer(&format!("org{id}"))),
        )
        .await
        .unwrap_or_else(|_| panic!("submission {id} hung: its proposal's slot was never freed"));
        assert!(matches!(submitted, Err(SubmitError::Unavailable(_))), "{id}: {submitted:?}");
        if id == 2 {
            assert!(
                started.elapsed() >= Duration::from_millis(PROPOSAL_WAIT_MS),
                "answered before the bound"
            );
        }
    }
    fail::remove("state-machine-apply");
    scenario.teardown();

    // The entries were committed all along; once applied, a retry learns the
    // first outcome, and nothing was applied twice.
    for id in 2..=10u128 {
        let retried = engine.submit(RequestId(id), organizer(&format!("org{id}"))).await.unwrap();
        assert!(retried.outcome.is_accepted(), "{id}: {retried:?}");
    }
    let again = engine.submit(RequestId(11), organizer("org2")).await.unwrap();
    assert!(!again.outcome.is_accepted(), "org2 exists once: {again:?}");
    engine.shutdown().await;
}
