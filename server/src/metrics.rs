//! Prometheus metrics of one node.
//!
//! Raft gauges (term, leader, log, commit and applied index, replication
//! lag per follower) are read from openraft when scraped, so they are never
//! stale; request counters and latencies are recorded by the services, by
//! command and outcome, so partial failures (a rising share of errors, slow
//! p99) show up, not just full outages.

use boxoffice_engine::node::Engine;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::time::Duration;

/// Latency buckets, in seconds: 0.5 ms to 10 s.
const LATENCY_BUCKETS_S: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// fsync buckets, in seconds: 50 µs to 1 s.
const FSYNC_BUCKETS_S: &[f64] =
    &[0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

/// All metrics of a node.
pub struct Metrics {
    registry: Registry,
    term: IntGauge,
    leader: IntGauge,
    is_leader: IntGauge,
    last_log_index: IntGauge,
    commit_index: IntGauge,
    applied_index: IntGauge,
    last_seq: IntGauge,
    replication_lag: IntGaugeVec,
    requests: IntCounterVec,
    latency: HistogramVec,
    fsync: Histogram,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let gauge = IntGauge::new(name, help).expect("valid metric");
    registry.register(Box::new(gauge.clone())).expect("unique metric");
    gauge
}

impl Metrics {
    /// Create and register every metric.
    pub fn new(node_id: u64, zone: &str) -> Metrics {
        let labels = [("node".to_string(), node_id.to_string()), ("zone".to_string(), zone.to_string())];
        let registry = Registry::new_custom(Some("boxoffice".into()), Some(labels.into_iter().collect()))
            .expect("valid registry");
        let replication_lag = IntGaugeVec::new(
            Opts::new(
                "raft_replication_lag_entries",
                "Log entries a follower is behind the leader (leader only)",
            ),
            &["follower"],
        )
        .expect("valid metric");
        let requests = IntCounterVec::new(
            Opts::new("requests_total", "Client requests by command and outcome"),
            &["command", "outcome"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("request_duration_seconds", "Client request latency by command")
                .buckets(LATENCY_BUCKETS_S.to_vec()),
            &["command"],
        )
        .expect("valid metric");
        let fsync = Histogram::with_opts(
            HistogramOpts::new("log_fsync_duration_seconds", "Raft log fsync duration")
                .buckets(FSYNC_BUCKETS_S.to_vec()),
        )
        .expect("valid metric");
        for collector in [
            Box::new(replication_lag.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(requests.clone()),
            Box::new(latency.clone()),
            Box::new(fsync.clone()),
        ] {
            registry.register(collector).expect("unique metric");
        }
        Metrics {
            term: gauge(&registry, "raft_term", "Current Raft term"),
            leader: gauge(&registry, "raft_leader_id", "Id of the known leader (0 if none)"),
            is_leader: gauge(&registry, "raft_is_leader", "1 if this node is the leader"),
            last_log_index: gauge(&registry, "raft_last_log_index", "Index of the last log entry"),
            commit_index: gauge(&registry, "raft_commit_index", "Index of the last committed entry"),
            applied_index: gauge(&registry, "raft_applied_index", "Index of the last applied entry"),
            last_seq: gauge(&registry, "event_log_last_seq", "Sequence number of the last event-log record"),
            registry,
            replication_lag,
            requests,
            latency,
            fsync,
        }
    }

    /// Record one client request.
    pub fn observe_request(&self, command: &str, outcome: &str, elapsed: Duration) {
        self.requests.with_label_values(&[command, outcome]).inc();
        self.latency.with_label_values(&[command]).observe(elapsed.as_secs_f64());
    }

    /// Record one fsync of the Raft log.
    pub fn observe_fsync(&self, elapsed: Duration) {
        self.fsync.observe(elapsed.as_secs_f64());
    }

    /// Refresh the Raft gauges from the engine and render everything in the
    /// Prometheus text format.
    pub fn render(&self, engine: &Engine) -> String {
        let metrics = engine.raft().metrics().borrow().clone();
        let as_gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.term.set(as_gauge(metrics.current_term));
        self.leader.set(as_gauge(metrics.current_leader.unwrap_or(0)));
        self.is_leader.set(i64::from(metrics.current_leader == Some(metrics.id)));
        let last_log = metrics.last_log_index.unwrap_or(0);
        self.last_log_index.set(as_gauge(last_log));
        self.commit_index.set(as_gauge(engine.commit_index()));
        self.applied_index.set(as_gauge(metrics.last_applied.map_or(0, |l| l.index)));
        self.last_seq.set(as_gauge(engine.shared().read(|a| a.state.last_seq)));
        self.replication_lag.reset();
        if let Some(replication) = &metrics.replication {
            for (follower, matched) in replication {
                let lag = last_log.saturating_sub(matched.map_or(0, |m| m.index));
                self.replication_lag.with_label_values(&[&follower.to_string()]).set(as_gauge(lag));
            }
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is utf-8")
    }
}
