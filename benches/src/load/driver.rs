//! The loops that make the load, and [`run`], which sets up, drives,
//! checks and reports one run.
//!
//! - **Closed loop**: N clients, each starting its next operation when its
//!   last one is answered. It measures what N concurrent buyers get; it
//!   cannot overload the target, because a slow answer slows the load.
//! - **Open loop**: operations start on a fixed schedule, one every
//!   1/rate s, whether or not earlier ones were answered, and each latency
//!   counts from when the operation was due, not from when it got to run.
//!   That is what a flash sale does to a server (buyers do not wait for each
//!   other), and it keeps a stall visible in the percentiles instead of
//!   hiding it in fewer samples (coordinated omission). At most
//!   [`OPEN_LOOP_IN_FLIGHT_MAX`] operations run at once; an arrival due
//!   beyond that is counted as a `backlog` error, never silently dropped.
//!
//! Both stop at the end of `secs`, or sooner once every quota is sold out.
//! Sales already started then get [`DRAIN_SECS`] to finish; a command still
//! running after that is cut short (`timeout`), so a run always ends.

use super::check;
use super::config::{
    BROWSE_READ_PERCENT, DRAIN_SECS, Load, OPEN_LOOP_IN_FLIGHT_MAX, RunConfig, Scenario, Target,
};
use super::report::{Percentiles, Report, SCHEMA};
use super::sale::{Context, SaleEnd};
use super::setup;
use crate::schema::{BenchLine, cores};
use boxoffice_client::{Client, ClientOptions};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often the progress bar is redrawn, in milliseconds.
pub const PROGRESS_TICK_MS: u64 = 250;

/// One operation of a scenario.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// A sale from this quota.
    Sale(usize),
    /// A batch of sales from this quota.
    Batch(usize),
    /// A stale read of this quota.
    Read(usize),
}

/// The next operation of `scenario`, or `None` once every quota is sold out.
fn next_op(context: &Context, config: &RunConfig, rng: &mut StdRng) -> Option<Op> {
    let quota = context.pick_quota(rng)?;
    Some(match config.scenario {
        Scenario::Flash | Scenario::Spread => Op::Sale(quota),
        Scenario::Batch => Op::Batch(quota),
        Scenario::Browse if rng.random_ratio(BROWSE_READ_PERCENT, 100) => {
            Op::Read(rng.random_range(0..context.books.len()))
        }
        Scenario::Browse => Op::Sale(quota),
    })
}

/// Run one operation; true if it ended its client's buying (sold out).
async fn perform(context: &Context, batch: u64, op: Op, intended: Instant) -> bool {
    match op {
        Op::Sale(quota) => context.sale(quota, intended).await == SaleEnd::SoldOut,
        Op::Batch(quota) => context.batch_sale(quota, batch, intended).await,
        Op::Read(quota) => {
            context.browse(quota, intended).await;
            false
        }
    }
}

/// `clients` tasks, each doing one operation after the other until `deadline`.
async fn closed_loop(context: Arc<Context>, config: &RunConfig, clients: u64, deadline: Instant) {
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let (context, config) = (context.clone(), config.clone());
        let mut rng = StdRng::seed_from_u64(config.seed.wrapping_add(client));
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let Some(op) = next_op(&context, &config, &mut rng) else { break };
                let intended = Instant::now();
                // A buyer of the one hot quota who was told "sold out" goes
                // home; with many quotas, that one is marked and the next
                // pick avoids it.
                if perform(&context, config.batch, op, intended).await && !config.scenario.many_quotas() {
                    break;
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a client task panicked");
    }
}

/// Operations started on schedule at `rate_per_sec` until `deadline`.
async fn open_loop(context: Arc<Context>, config: &RunConfig, rate_per_sec: u64, deadline: Instant) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_IN_FLIGHT_MAX as usize));
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut tasks = tokio::task::JoinSet::new();
    let start = Instant::now();
    for arrival in 0u64.. {
        let intended = start + Duration::from_nanos(arrival.saturating_mul(1_000_000_000) / rate_per_sec);
        if intended >= deadline {
            break;
        }
        if intended > Instant::now() {
            tokio::time::sleep_until(intended.into()).await;
        }
        let Some(op) = next_op(&context, config, &mut rng) else { break };
        match in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                let (context, batch) = (context.clone(), config.batch);
                tasks.spawn(async move {
                    perform(&context, batch, op, intended).await;
                    drop(permit);
                });
            }
            Err(_) => context.recorder.error("backlog", 1),
        }
        while let Some(joined) = tasks.try_join_next() {
            joined.expect("an arrival task panicked");
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("an arrival task panicked");
    }
}

/// A progress bar of the load phase (elapsed, sales, rate), redrawn until `done`.
fn progress(context: Arc<Context>, secs: u64, shown: bool) -> (ProgressBar, tokio::task::JoinHandle<()>) {
    let bar = if shown { ProgressBar::new(secs) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(PROGRESS_TICK_MS)).await;
                let elapsed = started.elapsed().as_secs_f64();
                let sales = context.recorder.sales.load(Ordering::Relaxed);
                bar.set_position((elapsed as u64).min(secs));
                bar.set_message(format!("{sales} sales, {:.0} sales/s", sales as f64 / elapsed.max(1e-3)));
            }
        })
    };
    (bar, ticker)
}

/// One run: set up the inventory, make the load, check the books, report.
/// `Err` means the run could not be made (setup failed); a failed check
/// is a report with `invariant_ok: false`.
pub async fn run(config: RunConfig) -> anyhow::Result<Report> {
    config.validate()?;
    let mut temp_dir = None;
    let client = match &config.target {
        Target::Embedded(dir) => {
            let dir = match dir {
                Some(dir) => dir.clone(),
                None => temp_dir.insert(tempfile::tempdir()?).path().to_path_buf(),
            };
            Client::embedded(dir, ClientOptions::default()).await?
        }
        Target::Remote(endpoints) => Client::remote(
            endpoints,
            ClientOptions { coalesce: config.coalesce, ..ClientOptions::default() },
        )?,
    };
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let quota_count = usize::try_from(config.quota_count())?;
    let fixture = setup::create(&client, quota_count, Some(config.quota_size)).await?;

    let start = Instant::now();
    let deadline = start + Duration::from_secs(config.secs);
    let hard_deadline = deadline + Duration::from_secs(DRAIN_SECS);
    let context = Arc::new(Context::new(client.clone(), fixture, hard_deadline, config.contact));
    let (bar, ticker) = progress(context.clone(), config.secs, config.progress);
    match config.load {
        Load::Closed { clients } => closed_loop(context.clone(), &config, clients, deadline).await,
        Load::Open { rate_per_sec } => open_loop(context.clone(), &config, rate_per_sec, deadline).await,
    }
    let secs = start.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish_and_clear();

    let verdict = check::check(&context).await;
    client.shutdown().await;
    drop(temp_dir);

    let recorder = &context.recorder;
    let sale = Percentiles::of(&recorder.sale_latency());
    let completed = recorder.sales.load(Ordering::Relaxed);
    let (clients, rate) = match config.load {
        Load::Closed { clients } => (clients, None),
        Load::Open { rate_per_sec } => (OPEN_LOOP_IN_FLIGHT_MAX, Some(rate_per_sec)),
    };
    let line = BenchLine {
        schema: SCHEMA,
        system: config.target.system(),
        scenario: config.scenario.name(),
        loop_kind: if rate.is_some() { "open" } else { "closed" },
        clients,
        rate,
        secs,
        units: "sales",
        completed,
        per_sec: completed as f64 / secs,
        commands_per_sec: recorder.commands.load(Ordering::Relaxed) as f64 / secs,
        p50_ms: sale.p50_ms,
        p99_ms: sale.p99_ms,
        p999_ms: sale.p999_ms,
        max_ms: sale.max_ms,
        errors: recorder.errors(),
        quota_size: Some(config.quota_size),
        sold: verdict.sold,
        invariant_ok: verdict.ok,
        cores: cores(),
        started_at,
    };
    Ok(Report {
        line,
        calls: recorder.call_latency().iter().map(|(kind, h)| (*kind, Percentiles::of(h))).collect(),
        reads_per_sec: recorder.reads.load(Ordering::Relaxed) as f64 / secs,
        verdict,
        quotas: quota_count as u64,
    })
}
