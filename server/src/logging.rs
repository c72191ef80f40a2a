//! Structured logs (tracing) to stderr and, with `--log-dir`, to files that
//! roll over by size and keep a bounded number: logs can never fill the disk
//! (the Ticketpark outage began with access logs filling one).

use crate::config::ServerConfig;
use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Install the global subscriber. Keep the guard alive: dropping it flushes
/// and stops the file writer.
pub fn init(config: &ServerConfig) -> anyhow::Result<Option<WorkerGuard>> {
    let filter = EnvFilter::try_new(&config.log_level)
        .map_err(|e| anyhow::anyhow!("invalid --log-level `{}`: {e}", config.log_level))?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let (file_layer, guard) = match &config.log_dir {
        None => (None, None),
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let rotating = FileRotate::new(
                dir.join(format!("boxoffice-server-{}.log", config.id)),
                AppendCount::new(config.log_files_kept),
                ContentLimit::Bytes(config.log_file_bytes as usize),
                Compression::None,
                None,
            );
            let (writer, guard) = tracing_appender::non_blocking(rotating);
            (Some(tracing_subscriber::fmt::layer().json().with_writer(writer)), Some(guard))
        }
    };
    tracing_subscriber::registry().with(filter).with(stderr).with(file_layer).try_init()?;
    Ok(guard)
}
