//! `boxoffice-load`: load and failover measurements of boxoffice.
//!
//! Thin on purpose: it parses arguments and calls the library
//! (`boxoffice_benches::load`), where the scenarios, the loops, the
//! measurements and the end-of-run check live and are tested.

use boxoffice_benches::load::config::{
    BATCH_SALES_DEFAULT, BATCH_SALES_MAX, CLIENTS_DEFAULT, CLIENTS_MAX, DRAIN_SECS, OPEN_LOOP_IN_FLIGHT_MAX,
    QUOTA_SIZE_DEFAULT, QUOTA_SIZE_MAX, QUOTAS_DEFAULT, QUOTAS_MAX, RATE_PER_SEC_MAX, RUN_SECS_MAX,
};
use boxoffice_benches::load::failover::FAILOVER_RUNS_MAX;
use boxoffice_benches::load::{Load, RunConfig, Scenario, Target, failover, run};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status of a run whose end-of-run check failed (oversell, lost sale, ...).
const EXIT_CHECK_FAILED: u8 = 2;

/// Measure boxoffice under load.
#[derive(Parser)]
#[command(
    version,
    about,
    long_about = "Measure boxoffice under load: ticket sales on an embedded engine or a running \
    node or cluster, and leader failover on a cluster of its own.\n\n\
    Examples:\n  \
    boxoffice-load run                                         # flash sale, 64 clients, 10 s, embedded\n  \
    boxoffice-load run --scenario flash --rate 5000 --secs 10  # open loop, 5000 sales/s\n  \
    boxoffice-load run --scenario spread --quotas 1000 --endpoints 127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000\n  \
    boxoffice-load run --scenario batch --batch 100 --clients 16 --json\n  \
    boxoffice-load failover --server-bin target/release/boxoffice-server --runs 5"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)]
enum Mode {
    /// Sell tickets under load; report sales/s, latency percentiles and errors; check the books.
    #[command(long_about = "Sell tickets under load and check the books afterwards.\n\n\
        A sale is PlaceHold (1 ticket) -> Checkout -> Pay. The run sets up a fresh organizer, event \
        and quota(s), makes the load for --secs (or until everything is sold out), lets sales already \
        started finish (at most 30 s more), then reads every quota back (linearizable) and checks: \
        no oversell (paid + pending + held <= size), no lost sale (paid between the payments \
        acknowledged and those plus the ones whose outcome is unknown), and sold out means all \
        paid. It prints a table (or, with --json, one JSON line of schema boxoffice-bench/1) and \
        exits with status 2 if the check failed, 1 if the run could not be made.\n\n\
        Examples:\n  \
        boxoffice-load run --scenario flash --clients 64 --secs 10\n  \
        boxoffice-load run --scenario flash --rate 2000 --secs 10 --json\n  \
        boxoffice-load run --scenario flash --quota 200 --secs 5      # sells out in well under 5 s\n  \
        boxoffice-load run --scenario browse --quotas 100 --endpoints 127.0.0.11:7000\n  \
        boxoffice-load run --scenario batch --batch 100 --clients 16 --embedded /tmp/engine")]
    Run(RunArgs),
    /// Time from killing the leader (SIGKILL) to the next acknowledged write, on a cluster of its own.
    #[command(long_about = "Start a three-node cluster on 127.0.9.11-13 (data in a temporary directory), \
        keep a steady write load of holds, kill the leader with SIGKILL --runs times (restarting it \
        after each round), and print the time from each kill to the next acknowledged write.\n\n\
        Example:\n  boxoffice-load failover --server-bin target/release/boxoffice-server --runs 5")]
    Failover {
        /// The `boxoffice-server` binary to run.
        #[arg(long, default_value = "target/release/boxoffice-server")]
        server_bin: PathBuf,
        /// How many times to kill the leader.
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=FAILOVER_RUNS_MAX))]
        runs: u64,
        /// Concurrent writing clients.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=CLIENTS_MAX))]
        clients: u64,
        /// Stop the leader with SIGTERM (a graceful stop: it hands over first)
        /// instead of SIGKILL, and time that pause.
        #[arg(long)]
        sigterm: bool,
        /// An extra flag for every server, repeatable, e.g.
        /// `--server-arg=--heartbeat-ms --server-arg=40`.
        #[arg(long = "server-arg", allow_hyphen_values = true, value_name = "ARG")]
        server_args: Vec<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// What the buyers do (flash and batch sell from one quota of --quota tickets; spread and
    /// browse from --quotas quotas of --quota tickets each).
    #[arg(long, value_enum, default_value_t = Scenario::Flash)]
    scenario: Scenario,

    /// Run against this node or cluster (comma-separated gRPC addresses), e.g.
    /// `127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000`. Without it, and without --embedded,
    /// the run uses an engine embedded in this process on a temporary directory.
    #[arg(long, value_delimiter = ',', conflicts_with = "embedded")]
    endpoints: Vec<String>,

    /// Run against an engine embedded in this process, on this data directory (created if
    /// missing; a run adds a fresh organizer, so an old directory can be reused).
    #[arg(long, value_name = "DIR")]
    embedded: Option<PathBuf>,

    /// Closed loop: this many concurrent clients, each starting its next sale when the last one
    /// is answered. The default unless --rate is given.
    #[arg(long, default_value_t = CLIENTS_DEFAULT, conflicts_with = "rate",
          value_parser = clap::value_parser!(u64).range(1..=CLIENTS_MAX))]
    clients: u64,

    /// Open loop: start this many operations per second on a fixed schedule, answered or not
    /// (an operation is a sale, a read of browse, or one batch of batch). Latency counts from
    /// when each was due. At most 4096 run at once; one due beyond that is counted as an error
    /// of kind `backlog`.
    #[arg(long, value_name = "PER_SEC", value_parser = clap::value_parser!(u64).range(1..=RATE_PER_SEC_MAX))]
    rate: Option<u64>,

    /// Length of the load, in seconds (it ends sooner once everything is sold out).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=RUN_SECS_MAX))]
    secs: u64,

    /// Size of each quota, in tickets.
    #[arg(long, value_name = "TICKETS", default_value_t = QUOTA_SIZE_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=QUOTA_SIZE_MAX))]
    quota: u64,

    /// Number of quotas of spread and browse (flash and batch use one).
    #[arg(long, default_value_t = QUOTAS_DEFAULT, value_parser = clap::value_parser!(u64).range(1..=QUOTAS_MAX))]
    quotas: u64,

    /// Sales per request of the batch scenario.
    #[arg(long, value_name = "SALES", default_value_t = BATCH_SALES_DEFAULT,
          value_parser = clap::value_parser!(u64).range(1..=BATCH_SALES_MAX))]
    batch: u64,

    /// Check out with the buyer's name and e-mail (CheckoutWithContact), as the shop does.
    #[arg(long)]
    contact: bool,

    /// Send each command as its own request, even where the client would
    /// coalesce concurrent ones into batches (its default on a cluster).
    #[arg(long)]
    no_coalesce: bool,

    /// Seed of the operation mix and the quota choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Print one JSON line (schema boxoffice-bench/1) instead of the table; the verdict goes to stderr.
    #[arg(long)]
    json: bool,

    /// Draw no progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long)]
    no_progress: bool,
}

impl RunArgs {
    fn config(self) -> RunConfig {
        let target = match (self.endpoints.is_empty(), self.embedded) {
            (false, _) => Target::Remote(self.endpoints),
            (true, dir) => Target::Embedded(dir),
        };
        let load = match self.rate {
            Some(rate_per_sec) => Load::Open { rate_per_sec },
            None => Load::Closed { clients: self.clients },
        };
        RunConfig {
            scenario: self.scenario,
            target,
            load,
            secs: self.secs,
            quota_size: self.quota,
            quotas: self.quotas,
            batch: self.batch,
            contact: self.contact,
            coalesce: !self.no_coalesce,
            seed: self.seed,
            progress: !self.no_progress,
        }
    }
}

// The limits quoted in the help text above, checked against the constants.
const _: () = assert!(OPEN_LOOP_IN_FLIGHT_MAX == 4_096 && DRAIN_SECS == 30, "update the --help text");

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Args::parse().mode {
        Mode::Run(args) => {
            let json = args.json;
            run(args.config()).await.map(|report| {
                if json {
                    println!("{}", report.json());
                    eprintln!("{}", report.verdict_line());
                } else {
                    print!("{}", report.table());
                }
                if report.invariant_ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_CHECK_FAILED) }
            })
        }
        Mode::Failover { server_bin, runs, clients, sigterm, server_args } => {
            failover::failover(server_bin, runs, clients, sigterm, server_args)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("boxoffice-load: {e:#}");
        ExitCode::FAILURE
    })
}
