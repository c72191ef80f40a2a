//! Prometheus metrics of the shop: requests, latency and errors by route,
//! and the waiting room per event.
//!
//! Routes are labelled by their template (`/{org}/{event}/cart`), never by
//! the path a client sent, so a scan of random URLs cannot grow the label
//! set; events are labelled by id, bounded by
//! [`TRACKED_EVENTS_MAX`](crate::config::TRACKED_EVENTS_MAX). pretix's
//! outage report names partial failures (slow pages, 25-50 % errors) that
//! went unseen for 12 minutes: error counts by route and code, and latency
//! histograms by route, are what an alert needs to see them.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The shop's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests by route, method and status.
    pub requests: IntCounterVec,
    /// Latency by route, in seconds.
    pub latency: HistogramVec,
    /// Error responses by route and code.
    pub errors: IntCounterVec,
    /// Queue length (joined minus admitted) per event, as last read.
    pub queue_length: IntGaugeVec,
    /// Visitors admitted from the queue per event (by this shop).
    pub admissions: IntCounterVec,
    /// Waiting-room decisions per event: `pass`, `queue`, `wait`, `admit`;
    /// `mode` is `enforced` or `dry_run` (what would have happened).
    pub room_decisions: IntCounterVec,
    /// Requests refused because their event had too many in flight.
    pub shed: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("shop_http_requests_total", "HTTP requests by route, method and status"),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("shop_http_request_duration_seconds", "HTTP request latency by route")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0]),
            &["route"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new("shop_http_errors_total", "Error responses by route and stable code"),
            &["route", "code"],
        )
        .expect("valid metric");
        let queue_length = IntGaugeVec::new(
            Opts::new("shop_waiting_room_queue_length", "Visitors queued and not yet admitted, per event"),
            &["event"],
        )
        .expect("valid metric");
        let admissions = IntCounterVec::new(
            Opts::new("shop_waiting_room_admissions_total", "Visitors admitted from the queue, per event"),
            &["event"],
        )
        .expect("valid metric");
        let room_decisions = IntCounterVec::new(
            Opts::new(
                "shop_waiting_room_decisions_total",
                "Waiting-room decisions per event; mode dry_run counts what would have been done",
            ),
            &["event", "decision", "mode"],
        )
        .expect("valid metric");
        let shed = IntCounterVec::new(
            Opts::new("shop_event_shed_total", "Requests refused because the event had too many in flight"),
            &["event"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(errors.clone()),
            Box::new(queue_length.clone()),
            Box::new(admissions.clone()),
            Box::new(room_decisions.clone()),
            Box::new(shed.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Metrics { registry, requests, latency, errors, queue_length, admissions, room_decisions, shed }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("encoding to a Vec");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}
