//! `boxoffice-server`: parse flags, set up logging, run the node until
//! SIGTERM or Ctrl-C. Everything else lives in the library.

use boxoffice_server::config::{Args, ServerConfig};
use clap::Parser;

#[tokio::main]
async fn main() {
    // Test builds only: fail points named in FAILPOINTS (storage errors on purpose).
    #[cfg(feature = "failpoints")]
    let _fail_points = fail::FailScenario::setup();
    let config = match ServerConfig::from_args(Args::parse()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("boxoffice-server: {e}");
            std::process::exit(2);
        }
    };
    let guard = match boxoffice_server::logging::init(&config) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("boxoffice-server: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = boxoffice_server::run(config, shutdown_signal()).await {
        tracing::error!(error = %e, "node stopped with an error");
        eprintln!("boxoffice-server: {e:#}");
        drop(guard); // flush the log file before exiting
        std::process::exit(1);
    }
    drop(guard);
}

async fn shutdown_signal() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received"),
    }
}
