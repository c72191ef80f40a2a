//! The `boxoffice-shop` command line, and starting a shop from it.
//!
//! With no arguments: an embedded engine in `./data/engine`, secrets in
//! `./data/shop-secrets` (created once, mode 0600), the demo loaded on the
//! first start, listening on 127.0.0.1:8080. `--endpoints` uses a cluster
//! instead; then the secrets must be shared by every shop (`--secret-file`
//! or the environment), so the shop refuses to invent them.

use crate::app::{AppState, Shared};
use crate::backend::{EngineRooms, Inventory};
use crate::config::{self, ShopConfig};
use crate::inventory::{Client, ClientOptions};
use crate::metrics::Metrics;
use crate::secrets::{self, Secrets};
use crate::tokens::Keys;
use crate::waiting_room::WaitingRoom;
use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;

/// The boxoffice ticket shop: pages, a JSON API and a waiting room over a
/// boxoffice inventory (embedded, or a cluster with --endpoints).
#[derive(Debug, Clone, Parser)]
#[command(name = "boxoffice-shop", version)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = config::LISTEN_DEFAULT)]
    pub listen: String,
    /// Data directory of the embedded engine (`DIR/engine`) and its secrets
    /// (`DIR/shop-secrets`). Ignored with --endpoints.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// gRPC addresses of a boxoffice cluster, comma-separated (e.g.
    /// 127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000). Without it the shop
    /// runs an embedded single-node engine.
    #[arg(long, value_delimiter = ',')]
    pub endpoints: Vec<String>,
    /// File of the shared secrets (MAC key, admin password, API token),
    /// created with random values and mode 0600 if missing. Default with an
    /// embedded engine: DIR/shop-secrets. Environment variables
    /// BOXOFFICE_SHOP_MAC_KEY, BOXOFFICE_SHOP_ADMIN_PASSWORD and
    /// BOXOFFICE_SHOP_API_TOKEN override it.
    #[arg(long)]
    pub secret_file: Option<PathBuf>,
    /// Organizer whose events `/` shows (and the demo's slug).
    #[arg(long, default_value = config::DEMO_ORGANIZER_SLUG)]
    pub organizer: String,
    /// Do not load the demo organizer and events on first start.
    #[arg(long)]
    pub no_demo: bool,
    /// How long a cart reserves its tickets, in seconds.
    #[arg(long, default_value_t = config::HOLD_TTL_MS_DEFAULT / 1000)]
    pub hold_ttl_secs: u64,
    /// How long a pending order waits for payment, in seconds.
    #[arg(long, default_value_t = config::PAYMENT_TTL_MS_DEFAULT / 1000)]
    pub payment_ttl_secs: u64,
    /// How long a waiting-room admission lasts, in seconds.
    #[arg(long, default_value_t = config::ADMISSION_TTL_MS_DEFAULT / 1000)]
    pub admission_ttl_secs: u64,
    /// Mark cookies Secure (when a TLS proxy is in front).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Largest request body, in bytes (413 past it).
    #[arg(long, default_value_t = config::BODY_BYTES_MAX)]
    pub body_bytes_max: usize,
    /// Deadline of one HTTP request, in milliseconds.
    #[arg(long, default_value_t = config::REQUEST_TIMEOUT_MS)]
    pub request_timeout_ms: u64,
    /// Most requests of one event in flight in this shop (503 "busy" past it).
    #[arg(long, default_value_t = config::IN_FLIGHT_PER_EVENT_MAX)]
    pub in_flight_per_event_max: u64,
    /// Log as JSON lines (for a log shipper) instead of text.
    #[arg(long)]
    pub log_json: bool,
    /// Log filter (tracing's env-filter syntax); RUST_LOG overrides it.
    /// The engine's Raft library logs every election at info, hence warn for it.
    #[arg(long, default_value = "info,openraft=warn,sled=warn")]
    pub log: String,
}

impl Args {
    /// The shop's configuration from the flags.
    pub fn config(&self) -> ShopConfig {
        ShopConfig {
            default_organizer: self.organizer.clone(),
            hold_ttl_ms: self.hold_ttl_secs.max(1) * 1000,
            payment_ttl_ms: self.payment_ttl_secs.max(1) * 1000,
            admission_ttl_ms: self.admission_ttl_secs.max(1) * 1000,
            cookie_secure: self.secure_cookies,
            body_bytes_max: self.body_bytes_max,
            request_timeout_ms: self.request_timeout_ms,
            in_flight_per_event_max: self.in_flight_per_event_max,
            ..ShopConfig::default()
        }
    }
}

/// The state of a shop over `client`.
pub fn state(client: Client, secrets: Secrets, config: ShopConfig) -> Shared {
    let keys = Keys::new(secrets.mac_key);
    let metrics = Metrics::new();
    let rooms = WaitingRoom::new(
        EngineRooms::new(client.clone()),
        keys.clone(),
        metrics.clone(),
        config.admission_ttl_ms,
        config.room_view_cache_ms,
        config.in_flight_per_event_max,
    );
    Arc::new(AppState {
        inventory: Inventory::new(client),
        keys,
        secrets,
        config,
        metrics,
        rooms,
        login_guard: Default::default(),
    })
}

fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&args.log));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if args.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Run the shop as the binary does.
pub async fn main(args: Args) -> anyhow::Result<()> {
    init_logging(&args);
    let embedded = args.endpoints.is_empty();
    let secret_file = match (&args.secret_file, embedded) {
        (Some(file), _) => Some(file.clone()),
        (None, true) => Some(args.data_dir.join("shop-secrets")),
        (None, false) => None,
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (secrets, created) =
        secrets::load(secret_file.as_deref(), &env).context("loading the shop's secrets")?;
    let client = if embedded {
        let dir = args.data_dir.join("engine");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Client::embedded(&dir, ClientOptions::default())
            .await
            .with_context(|| format!("starting the embedded engine in {}", dir.display()))?
    } else {
        Client::remote(&args.endpoints, ClientOptions::default()).context("connecting to the cluster")?
    };
    if !args.no_demo {
        // A cluster may still be electing: retry for a while before giving up.
        let mut attempt = 0;
        loop {
            match crate::demo::load_if_absent(&Inventory::new(client.clone()), &args.organizer).await {
                Ok(true) => {
                    eprintln!(
                        "boxoffice-shop: loaded the demo organizer `{}` and its events",
                        args.organizer
                    );
                    break;
                }
                Ok(false) => break,
                Err(error) if attempt < 20 => {
                    tracing::warn!(%error, "loading the demo data; retrying");
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(error) => return Err(anyhow::anyhow!("loading the demo data: {error}")),
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let state = state(client.clone(), secrets.clone(), args.config());
    let engine = if embedded {
        format!("embedded engine in {}", args.data_dir.join("engine").display())
    } else {
        format!("cluster {}", args.endpoints.join(","))
    };
    println!("boxoffice-shop: http://{addr}/ ({engine})");
    println!(
        "  admin:   http://{addr}/admin/   API: http://{addr}/api/v1/openapi.json   metrics: http://{addr}/metrics"
    );
    let password_from_file = env(secrets::ENV_ADMIN_PASSWORD).is_none();
    if created
        && password_from_file
        && let Some(file) = &secret_file
    {
        println!(
            "  admin password: {} (generated once, kept in {} with the API token; shown only now)",
            secrets.admin_password,
            file.display()
        );
    }
    crate::server::run(listener, state, shutdown_signal()).await?;
    client.shutdown().await;
    Ok(())
}
