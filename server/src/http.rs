//! The HTTP side of a node, `/metrics` (Prometheus), `/health` and
//! `/ready`, and the same health and readiness for gRPC health checking
//! ([`report_grpc_health`]).
//!
//! What they promise, so a supervisor or load balancer can act on them:
//!
//! - **`/health`** is 200 while the process answers and its Raft core runs.
//!   It is 503 once Raft has stopped (a fatal error: a storage failure, a
//!   full disk); the process then exits non-zero and wants a restart. The
//!   gRPC health of the whole server (service `""`) says the same.
//! - **`/ready`** is 200 when this node can serve a request now, itself or by
//!   naming the leader: Raft runs, and either this node is the leader and a
//!   quorum acknowledged it within the last election timeout
//!   (`election_timeout_max_ms`), or it is a follower or learner that knows
//!   a leader (it answers stale reads and redirects writes there). It is 503
//!   otherwise, with the reason in the body: Raft stopped, a leader cut off
//!   from its quorum (every write would hang), or no leader known (an
//!   election is running). The gRPC health of `boxoffice.v1.Inventory` says
//!   the same, re-evaluated every [`READINESS_POLL_MS`].
//!
//! Why the quorum check: openraft 0.9 keeps a leader that is cut off from
//! the majority in the leader state (it has no leader lease to step down
//! by); only its time since the last quorum acknowledgement grows. Without
//! the check such a leader answered `/ready` 200 for at least 8 s while
//! every write hung.

use crate::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use boxoffice_engine::node::Engine;
use boxoffice_engine::raft::{NodeId, NodeInfo};
use openraft::{RaftMetrics, ServerState};
use std::sync::Arc;
use std::time::Duration;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// How often [`report_grpc_health`] re-evaluates readiness, in milliseconds.
pub const READINESS_POLL_MS: u64 = 100;

/// The gRPC service whose health follows `/ready`.
pub const INVENTORY_SERVICE: &str = "boxoffice.v1.Inventory";

/// The gRPC health name of the whole server, whose health follows `/health`.
pub const SERVER_HEALTH_SERVICE: &str = "";

#[derive(Clone)]
struct Http {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
}

/// The router; serve it with `axum::serve`.
pub fn router(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(Http { engine, metrics })
}

/// Whether Raft runs: `Err` with the reason once it has stopped.
pub fn health_of(metrics: &RaftMetrics<NodeId, NodeInfo>) -> Result<(), String> {
    match &metrics.running_state {
        Err(fatal) => Err(format!("raft stopped: {fatal}")),
        Ok(()) if metrics.state == ServerState::Shutdown => Err("raft stopped: shut down".into()),
        Ok(()) => Ok(()),
    }
}

/// Whether this node can serve now (see the module docs): `Ok` with a
/// description, or `Err` with the reason. `quorum_ack_max_ms` is how long a
/// leader may go without a quorum's acknowledgement (the election timeout).
pub fn readiness_of(
    metrics: &RaftMetrics<NodeId, NodeInfo>,
    quorum_ack_max_ms: u64,
) -> Result<String, String> {
    health_of(metrics)?;
    match (metrics.state, metrics.current_leader) {
        // Alone, a leader is its own quorum: nothing to hear from.
        (ServerState::Leader, _) if metrics.membership_config.membership().voter_ids().eq([metrics.id]) => {
            Ok("leader of a one-voter cluster".into())
        }
        (ServerState::Leader, _) => match metrics.millis_since_quorum_ack {
            Some(ms) if ms <= quorum_ack_max_ms => Ok(format!("leader, quorum acknowledged {ms} ms ago")),
            Some(ms) => Err(format!(
                "leader cut off: no quorum acknowledgement for {ms} ms (more than the election timeout, \
                 {quorum_ack_max_ms} ms)"
            )),
            None => Err("leader not yet acknowledged by a quorum".into()),
        },
        (_, Some(leader)) if leader != metrics.id => Ok(format!("leader is node {leader}")),
        (state, _) => Err(format!("no leader known ({state:?})")),
    }
}

/// [`readiness_of`] for this node, with its own election timeout.
pub fn readiness(engine: &Engine) -> Result<String, String> {
    let metrics = engine.raft().metrics().borrow().clone();
    readiness_of(&metrics, engine.config().election_timeout_max_ms)
}

async fn render_metrics(State(http): State<Http>) -> String {
    http.metrics.render(&http.engine)
}

async fn health(State(http): State<Http>) -> (StatusCode, String) {
    match health_of(&http.engine.raft().metrics().borrow()) {
        Ok(()) => (StatusCode::OK, "ok\n".into()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {why}\n")),
    }
}

async fn ready(State(http): State<Http>) -> (StatusCode, String) {
    match readiness(&http.engine) {
        Ok(what) => (StatusCode::OK, format!("ready: {what}\n")),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {why}\n")),
    }
}

fn serving(ok: bool) -> ServingStatus {
    if ok { ServingStatus::Serving } else { ServingStatus::NotServing }
}

/// Keep the gRPC health of [`INVENTORY_SERVICE`] equal to `/ready` and of
/// the whole server ([`SERVER_HEALTH_SERVICE`]) equal to `/health`,
/// re-evaluated every [`READINESS_POLL_MS`]. Runs until its task is dropped;
/// spawn it next to the health service `reporter` belongs to.
pub async fn report_grpc_health(engine: Arc<Engine>, mut reporter: HealthReporter) {
    let mut tick = tokio::time::interval(Duration::from_millis(READINESS_POLL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = None;
    loop {
        tick.tick().await;
        let healthy = health_of(&engine.raft().metrics().borrow()).is_ok();
        let now = (healthy, readiness(&engine).is_ok());
        if last != Some(now) {
            reporter.set_service_status(SERVER_HEALTH_SERVICE, serving(now.0)).await;
            reporter.set_service_status(INVENTORY_SERVICE, serving(now.1)).await;
            last = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::error::Fatal;

    fn metrics(
        state: ServerState,
        leader: Option<NodeId>,
        quorum_ack_ms: Option<u64>,
    ) -> RaftMetrics<NodeId, NodeInfo> {
        let mut metrics = RaftMetrics::new_initial(1);
        metrics.state = state;
        metrics.current_leader = leader;
        metrics.millis_since_quorum_ack = quorum_ack_ms;
        metrics
    }

    #[test]
    fn a_leader_is_ready_only_while_a_quorum_acknowledged_it_within_the_election_timeout() {
        assert!(readiness_of(&metrics(ServerState::Leader, Some(1), Some(150)), 1_500).is_ok());
        assert!(readiness_of(&metrics(ServerState::Leader, Some(1), Some(1_500)), 1_500).is_ok());
        let cut_off = readiness_of(&metrics(ServerState::Leader, Some(1), Some(1_501)), 1_500).unwrap_err();
        assert!(cut_off.contains("1501 ms"), "{cut_off}");
        assert!(readiness_of(&metrics(ServerState::Leader, Some(1), None), 1_500).is_err());
    }

    #[test]
    fn a_follower_or_learner_is_ready_while_it_knows_a_leader() {
        assert!(readiness_of(&metrics(ServerState::Follower, Some(2), None), 1_500).is_ok());
        assert!(readiness_of(&metrics(ServerState::Learner, Some(3), None), 1_500).is_ok());
        assert!(readiness_of(&metrics(ServerState::Follower, None, None), 1_500).is_err());
        assert!(readiness_of(&metrics(ServerState::Candidate, None, None), 1_500).is_err());
        assert!(
            readiness_of(&metrics(ServerState::Candidate, Some(1), None), 1_500).is_err(),
            "itself, stale"
        );
    }

    #[test]
    fn a_stopped_raft_is_neither_healthy_nor_ready() {
        let mut stopped = metrics(ServerState::Leader, Some(1), Some(10));
        stopped.running_state = Err(Fatal::Stopped);
        assert!(health_of(&stopped).is_err());
        assert!(readiness_of(&stopped, 1_500).unwrap_err().starts_with("raft stopped"));
        let shut_down = metrics(ServerState::Shutdown, None, None);
        assert!(health_of(&shut_down).is_err());
        assert!(health_of(&metrics(ServerState::Follower, None, None)).is_ok(), "healthy, if not ready");
    }
}
