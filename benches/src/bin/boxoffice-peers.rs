//! `boxoffice-peers`: the boxoffice sale, measured on PostgreSQL, Redis and
//! etcd servers that are already running (`benches/peers/run` starts them).
//! Parses arguments and calls `boxoffice_benches::peers::driver::run`.

use boxoffice_benches::peers::{self, CLIENTS_MAX, Config, QUOTAS_MAX, SECS_MAX, Scenario, System, driver};
use clap::Parser;

/// Drive a peer system through the same ticket sale as boxoffice.
#[derive(Parser)]
#[command(
    version,
    about,
    long_about = "Drive PostgreSQL, Redis or etcd through the sale boxoffice is measured on \
    (reserve against a quota, order, pay), in a closed loop, then check for oversell and lost sales.\n\n\
    Examples:\n  boxoffice-peers --system postgres-single --endpoints 127.0.0.1:15432\n  \
    boxoffice-peers --system etcd-3 --scenario puts --endpoints 127.0.0.1:12379,127.0.0.1:12389,127.0.0.1:12399 --json"
)]
struct Args {
    /// The system the endpoints belong to.
    #[arg(long, value_enum)]
    system: System,
    /// Comma-separated `host:port` of the servers; the primary first.
    #[arg(long, value_delimiter = ',', required = true)]
    endpoints: Vec<String>,
    /// The workload.
    #[arg(long, value_enum, default_value = "flash")]
    scenario: Scenario,
    /// Concurrent buyers, each with its own connection.
    #[arg(long, default_value_t = 64)]
    clients: u64,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Size of each quota.
    #[arg(long, default_value_t = 100_000)]
    quota: u64,
    /// Quotas in the `spread` scenario (`flash` has one).
    #[arg(long, default_value_t = 1_000)]
    quotas: u64,
    /// Print one JSON line (schema boxoffice-bench/1) on stdout; the table goes to stderr.
    #[arg(long)]
    json: bool,
}

async fn run(config: &Config) -> anyhow::Result<peers::report::Report> {
    match config.system {
        System::PostgresSingle | System::PostgresSync3 => {
            driver::run(peers::postgres::Postgres::new(&config.endpoints[0])?, config).await
        }
        System::RedisAlways => driver::run(peers::redis::Redis::new(&config.endpoints[0])?, config).await,
        #[cfg(feature = "etcd")]
        System::Etcd3 => driver::run(peers::etcd::Etcd::new(&config.endpoints), config).await,
        #[cfg(not(feature = "etcd"))]
        System::Etcd3 => anyhow::bail!("built without the `etcd` feature (cargo build --features etcd)"),
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if args.scenario == Scenario::Puts && args.system != System::Etcd3 {
        eprintln!("boxoffice-peers: the puts scenario is etcd's only");
        std::process::exit(2);
    }
    let config = Config {
        system: args.system,
        scenario: args.scenario,
        endpoints: args.endpoints,
        clients: args.clients.clamp(1, CLIENTS_MAX),
        secs: args.secs.clamp(0.1, SECS_MAX),
        quota_size: args.quota.max(1),
        quotas: if args.scenario == Scenario::Spread { args.quotas.clamp(1, QUOTAS_MAX) } else { 1 },
    };
    match run(&config).await {
        Ok(report) if args.json => {
            eprint!("{}", report.table());
            println!("{}", report.json());
        }
        Ok(report) => print!("{}", report.table()),
        Err(e) => {
            eprintln!("boxoffice-peers: {} {}: {e:#}", config.system.name(), config.scenario.name());
            std::process::exit(1);
        }
    }
}
