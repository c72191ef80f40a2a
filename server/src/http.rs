//! The HTTP side of a node: `/metrics` (Prometheus), `/health` (the process
//! answers) and `/ready` (it knows a leader and serves requests).

use crate::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use boxoffice_engine::node::Engine;
use std::sync::Arc;

#[derive(Clone)]
struct Http {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
}

/// The router; serve it with `axum::serve`.
pub fn router(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/health", get(|| async { "ok\n" }))
        .route("/ready", get(ready))
        .with_state(Http { engine, metrics })
}

async fn render_metrics(State(http): State<Http>) -> String {
    http.metrics.render(&http.engine)
}

async fn ready(State(http): State<Http>) -> (StatusCode, String) {
    let metrics = http.engine.raft().metrics().borrow().clone();
    match (metrics.running_state.is_ok(), metrics.current_leader) {
        (true, Some(leader)) => (StatusCode::OK, format!("ready: leader is node {leader}\n")),
        (true, None) => (StatusCode::SERVICE_UNAVAILABLE, "not ready: no leader known\n".into()),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "not ready: raft stopped\n".into()),
    }
}
