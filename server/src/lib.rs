//! boxoffice-server: one node of the replicated inventory.
//!
//! [`run`] starts a node on a given configuration and serves until the
//! shutdown future resolves: the gRPC services (client API, admin, Raft
//! transport, health, reflection) on one listener and the HTTP endpoints
//! (metrics, health, readiness) on another. The binary only parses flags,
//! sets up logging and waits for SIGTERM; tests call [`run`] directly or
//! start the binary as a real process.
//!
//! What it must never do: answer a write before the engine says it is
//! committed and applied, or let malformed input reach Raft.

pub mod config;
pub mod handover;
pub mod http;
pub mod join;
pub mod logging;
pub mod metrics;
pub mod network;
pub mod services;

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use boxoffice_engine::codec::RAFT_MESSAGE_BYTES_MAX;
use boxoffice_engine::node::{Engine, EngineConfig};
use boxoffice_proto::v1;
use std::future::Future;
use std::sync::Arc;

/// Largest client request accepted, in bytes (a full `SubmitBatch`).
pub const CLIENT_MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Run a node until `shutdown` resolves, then stop gracefully: stop taking
/// requests, finish the ones in flight, and stop Raft.
pub async fn run(
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new(config.id, &config.zone));
    let mut engine_config = EngineConfig::new(config.id, config.node_info(), &config.data_dir);
    engine_config.heartbeat_interval_ms = config.heartbeat_ms;
    engine_config.election_timeout_min_ms = config.election_timeout_ms;
    engine_config.election_timeout_max_ms = config.election_timeout_max_ms;
    engine_config.snapshot_every_entries = config.snapshot_every;
    engine_config.proposals_in_flight_max = config.proposals_in_flight;
    engine_config.disk_free_min_bytes = config.disk_free_min_mib << 20;
    #[cfg(feature = "fault-injection")]
    {
        engine_config.planted_bug = config.planted_bug;
        if let Some(bug) = config.planted_bug {
            tracing::warn!(
                ?bug,
                "a bug is planted on purpose: this node breaks its promises (fault tests only)"
            );
        }
    }
    let clock = engine_config.clock.clone();
    let fsync_metrics = metrics.clone();
    engine_config.fsync_observer = Some(Arc::new(move |elapsed| fsync_metrics.observe_fsync(elapsed)));

    let engine = Arc::new(
        Engine::start(engine_config, network::GrpcNetwork { routes: config.peer_routes.clone(), clock })
            .await?,
    );
    // A node with an empty data directory takes no part in Raft until it
    // knows it is not a voter that lost its disk (see `join`).
    let gate = join::RaftGate::new(!engine.was_blank());
    let (joined_tx, joined_rx) = tokio::sync::oneshot::channel();
    let joiner = join::Joiner::new(engine.clone(), gate.clone(), &config);
    let (bootstrap, join_addrs) = (config.bootstrap.clone(), config.join.clone());
    tokio::spawn(async move {
        let _ = joined_tx.send(joiner.run(bootstrap, join_addrs).await);
    });

    let (mut health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<v1::inventory_server::InventoryServer<services::InventoryService>>().await;
    // gRPC health follows /ready (Inventory) and /health (""), not the process being up.
    tokio::spawn(http::report_grpc_health(engine.clone(), health_reporter.clone()));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(boxoffice_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let inventory = v1::inventory_server::InventoryServer::new(
        services::InventoryService::new(engine.clone(), metrics.clone()).with_gate(gate.clone()),
    )
    .max_decoding_message_size(CLIENT_MESSAGE_BYTES_MAX);
    let admin = v1::admin_server::AdminServer::new(services::AdminService::new(engine.clone()));
    let raft = v1::raft_server::RaftServer::new(services::RaftService::new(engine.clone(), gate.clone()))
        .max_decoding_message_size(RAFT_MESSAGE_BYTES_MAX as usize)
        .max_encoding_message_size(RAFT_MESSAGE_BYTES_MAX as usize);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    // Set once a signal asked the node to stop: Raft stopping is then no fault.
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        // On a signal, a leader hands over first (see `handover`).
        let (stop_tx, engine, lease_ms) = (stop_tx.clone(), engine.clone(), config.election_timeout_max_ms);
        let stopping = stopping.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopping.store(true, std::sync::atomic::Ordering::SeqCst);
            handover::hand_over(&engine, lease_ms).await;
            let _ = stop_tx.send(true);
        });
    }
    let wait_stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let http_listener = tokio::net::TcpListener::bind(config.http).await?;
    let http_app = http::router(engine.clone(), metrics.clone());
    let http_task = tokio::spawn(
        axum::serve(http_listener, http_app).with_graceful_shutdown(wait_stop(stop_rx.clone())).into_future(),
    );
    tracing::info!(id = config.id, listen = %config.listen, http = %config.http, zone = %config.zone, "node serving");
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(inventory)
        .add_service(admin)
        .add_service(raft);
    #[cfg(feature = "fault-injection")]
    let router = {
        tracing::warn!("built for fault tests: the Faults service (clock offset) is served");
        router.add_service(v1::faults_server::FaultsServer::new(services::FaultsService::new(engine.clone())))
    };
    let grpc = router.serve_with_shutdown(config.listen, wait_stop(stop_rx));
    // A fatal Raft error (say, the disk is full) stops the node with an
    // error, so that a supervisor restarts it, instead of leaving a process
    // that answers nothing.
    let mut watch = engine.raft().metrics();
    let fatal = async move {
        loop {
            if let Err(fatal) = &watch.borrow().running_state
                && !stopping.load(std::sync::atomic::Ordering::SeqCst)
            {
                return fatal.to_string();
            }
            if watch.changed().await.is_err() {
                if stopping.load(std::sync::atomic::Ordering::SeqCst) {
                    // Stopped on purpose (the handover): the signal ends serving.
                    std::future::pending::<()>().await;
                }
                return "raft stopped".to_string();
            }
        }
    };
    // A node that must not start (a voter that lost its disk, without
    // --rejoin) stops here, saying why.
    let refused = async move {
        match joined_rx.await {
            Ok(Err(refusal)) => refusal.to_string(),
            _ => std::future::pending().await,
        }
    };
    let served = tokio::select! {
        served = grpc => served.map_err(anyhow::Error::from),
        fatal = fatal => Err(anyhow::anyhow!("raft failed: {fatal}")),
        refusal = refused => Err(anyhow::anyhow!("{refusal}")),
    };
    tracing::info!("shutting down");
    // Whatever ended the serving (a signal, a fatal Raft error, a refusal to
    // join), everything stops, so the process exits and a supervisor sees it.
    let _ = stop_tx.send(true);
    engine.shutdown().await;
    let _ = http_task.await;
    served?;
    Ok(())
}
