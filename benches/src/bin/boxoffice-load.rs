//! `boxoffice-load`: load and failover measurements against real
//! `boxoffice-server` processes.
//!
//! - `throughput`: many clients placing holds on one hot, unlimited quota of
//!   a running cluster, one command per request or in batches; reports
//!   commands per second and latency percentiles (HdrHistogram).
//! - `failover`: starts its own three-node cluster on 127.0.9.11-13, keeps a
//!   steady write load, kills the leader with SIGKILL several times, and
//!   reports the time from each kill to the next acknowledged write.
//!
//! Every run is bounded in time and stops by itself.

use boxoffice_client::{Client, ClientError, ClientOptions, new_request_id};
use boxoffice_engine::domain::*;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest throughput run, in seconds.
const THROUGHPUT_SECS_MAX: u64 = 600;
/// Most concurrent clients.
const CLIENTS_MAX: usize = 1_024;
/// Most failover rounds.
const FAILOVER_RUNS_MAX: usize = 20;
/// How long a failover round waits for writes to resume before giving up, in seconds.
const FAILOVER_WAIT_SECS: u64 = 30;

/// Measure boxoffice under load.
#[derive(Parser)]
#[command(
    version,
    about,
    long_about = "Measure boxoffice under load, against real server processes.\n\n\
    Examples:\n  scripts/cluster up\n  boxoffice-load throughput --endpoints 127.0.0.11:7000,127.0.0.12:7000,127.0.0.13:7000 --batch 50\n  \
    boxoffice-load failover --server-bin target/release/boxoffice-server --runs 5"
)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Commands per second and latency of holds on one hot quota of a running cluster.
    Throughput {
        /// Comma-separated gRPC addresses of the cluster's nodes.
        #[arg(long, value_delimiter = ',', required = true)]
        endpoints: Vec<String>,
        /// Concurrent clients.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// How long to run, in seconds.
        #[arg(long, default_value_t = 10)]
        secs: u64,
        /// Commands per request (1 = one `Submit` per command; more = `SubmitBatch`).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Send each command as its own request, even when the client could
        /// coalesce concurrent ones into batches (the client's default).
        #[arg(long)]
        no_coalesce: bool,
    },
    /// Time from killing the leader (SIGKILL) to the next acknowledged write.
    Failover {
        /// The `boxoffice-server` binary to run.
        #[arg(long, default_value = "target/release/boxoffice-server")]
        server_bin: PathBuf,
        /// How many times to kill the leader.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Concurrent writing clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
    },
}

/// One organizer, event, item and unlimited quota, with a unique slug.
async fn hot_item(client: &Client) -> anyhow::Result<(EventId, ItemId)> {
    let accept = |outcome: Outcome| match outcome {
        Outcome::Accepted(a) => Ok(a),
        Outcome::Rejected(r) => Err(anyhow::anyhow!("setup rejected: {r:?}")),
    };
    let slug = format!("load-{:x}", new_request_id().0 as u32);
    let create = Command::CreateOrganizer { slug, name: "Load".into(), secret_key: [9; 32] };
    let Accepted::OrganizerCreated { organizer } = accept(client.submit(create).await?.outcome)? else {
        unreachable!()
    };
    let create = Command::CreateEvent { organizer, slug: "hot".into(), name: "Hot".into() };
    let Accepted::EventCreated { event } = accept(client.submit(create).await?.outcome)? else {
        unreachable!()
    };
    let create = Command::CreateItem { event, name: "GA".into(), price_cents: 100 };
    let Accepted::ItemCreated { item } = accept(client.submit(create).await?.outcome)? else {
        unreachable!()
    };
    let create = Command::CreateQuota {
        event,
        name: "GA".into(),
        size: None,
        items: vec![item],
        close_when_sold_out: false,
    };
    accept(client.submit(create).await?.outcome)?;
    Ok((event, item))
}

fn hold(event: EventId, item: ItemId) -> Command {
    Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 60_000 }
}

async fn throughput(
    endpoints: Vec<String>,
    clients: usize,
    secs: u64,
    batch: usize,
    coalesce: bool,
) -> anyhow::Result<()> {
    let (clients, secs, batch) =
        (clients.clamp(1, CLIENTS_MAX), secs.clamp(1, THROUGHPUT_SECS_MAX), batch.clamp(1, 1_000));
    let client = Client::remote(&endpoints, ClientOptions { coalesce, ..ClientOptions::default() })?;
    let (event, item) = hot_item(&client).await?;
    println!("{clients} clients, {batch} command(s) per request, {secs} s, on {} cores here", num_cores());
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latency = Histogram::<u64>::new(3).expect("histogram");
                let (mut commands, mut errors) = (0u64, 0u64);
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let ok = if batch == 1 {
                        client.submit(hold(event, item)).await.is_ok()
                    } else {
                        let commands = (0..batch).map(|_| (new_request_id(), hold(event, item))).collect();
                        client
                            .submit_batch(commands)
                            .await
                            .is_ok_and(|results| results.iter().all(Result::is_ok))
                    };
                    latency.record(began.elapsed().as_micros() as u64).expect("in range");
                    if ok { commands += batch as u64 } else { errors += 1 }
                }
                (latency, commands, errors)
            })
        })
        .collect();
    let mut latency = Histogram::<u64>::new(3)?;
    let (mut commands, mut errors) = (0, 0);
    for task in tasks {
        let (h, c, e) = task.await?;
        latency.add(h)?;
        commands += c;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{commands} commands acknowledged in {elapsed:.1} s: {:.0} commands/s ({errors} failed requests)",
        commands as f64 / elapsed
    );
    println!(
        "request latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        latency.max() as f64 / 1000.0
    );
    Ok(())
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

struct LocalCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    children: Vec<Option<Child>>,
}

impl LocalCluster {
    fn addr(id: usize) -> String {
        format!("127.0.9.{}:7000", 10 + id)
    }

    fn spawn(&mut self, id: usize, bootstrap: bool) -> anyhow::Result<()> {
        let mut process = Process::new(&self.bin);
        process
            .args(["--id", &id.to_string(), "--zone", &format!("dc{id}"), "--listen", &Self::addr(id)])
            .args(["--http", &format!("127.0.9.{}:9000", 10 + id), "--log-level", "error"])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("n{id}")))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if bootstrap {
            process.args([
                "--bootstrap",
                &(1..=3).map(|i| format!("{i}={}/dc{i}", Self::addr(i))).collect::<Vec<_>>().join(","),
            ]);
        }
        self.children[id - 1] = Some(process.spawn()?);
        Ok(())
    }

    fn kill(&mut self, id: usize) {
        if let Some(mut child) = self.children[id - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for id in 1..=3 {
            self.kill(id);
        }
    }
}

async fn leader(endpoints: &[String]) -> Option<usize> {
    for (i, endpoint) in endpoints.iter().enumerate() {
        let options = ClientOptions {
            attempt_timeout: Duration::from_millis(500),
            call_timeout: Duration::from_millis(500),
            ..ClientOptions::default()
        };
        let Ok(client) = Client::remote(std::slice::from_ref(endpoint), options) else { continue };
        if let Some((_, Ok(status))) = client.status_of_each(false).await.pop()
            && status.role == "leader"
        {
            return Some(i + 1);
        }
    }
    None
}

async fn failover(bin: PathBuf, runs: usize, clients: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it with `cargo build --release -p boxoffice-server`",
        bin.display()
    );
    let runs = runs.clamp(1, FAILOVER_RUNS_MAX);
    let mut cluster = LocalCluster { dir: tempfile::tempdir()?, bin, children: vec![None, None, None] };
    for id in 1..=3 {
        cluster.spawn(id, true)?;
    }
    let endpoints: Vec<String> = (1..=3).map(LocalCluster::addr).collect();
    let client = Client::remote(&endpoints, ClientOptions::default())?;
    let (event, item) = hot_item(&client).await?;
    let acks: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Instant::now() + Duration::from_secs(runs as u64 * (FAILOVER_WAIT_SECS + 10));
    for _ in 0..clients.clamp(1, CLIENTS_MAX) {
        let (client, acks) = (client.clone(), acks.clone());
        tokio::spawn(async move {
            while Instant::now() < stop {
                match client.submit(hold(event, item)).await {
                    Ok(_) => acks.lock().expect("acks").push(Instant::now()),
                    Err(ClientError::Unknown(_) | ClientError::NotApplied(_)) => {}
                    Err(e) => eprintln!("unexpected: {e}"),
                }
            }
        });
    }
    let mut samples = Vec::new();
    for run in 1..=runs {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let Some(victim) = leader(&endpoints).await else { anyhow::bail!("no leader before run {run}") };
        let killed = Instant::now();
        cluster.kill(victim);
        let give_up = killed + Duration::from_secs(FAILOVER_WAIT_SECS);
        let resumed = loop {
            if let Some(at) = acks.lock().expect("acks").iter().rev().find(|at| **at > killed) {
                break *at;
            }
            anyhow::ensure!(Instant::now() < give_up, "writes did not resume within {FAILOVER_WAIT_SECS} s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let first =
            acks.lock().expect("acks").iter().copied().filter(|at| *at > killed).min().unwrap_or(resumed);
        let took = first - killed;
        println!(
            "run {run}: killed leader node {victim}; next acknowledged write after {:.0} ms",
            took.as_secs_f64() * 1e3
        );
        samples.push(took);
        cluster.spawn(victim, false)?;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "failover over {runs} runs: median {:.0} ms, min {:.0} ms, max {:.0} ms ({} cores here)",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        num_cores()
    );
    Ok(())
}

#[tokio::main]
async fn main() {
    let result = match Args::parse().mode {
        Mode::Throughput { endpoints, clients, secs, batch, no_coalesce } => {
            throughput(endpoints, clients, secs, batch, !no_coalesce).await
        }
        Mode::Failover { server_bin, runs, clients } => failover(server_bin, runs, clients).await,
    };
    if let Err(e) = result {
        eprintln!("boxoffice-load: {e:#}");
        std::process::exit(1);
    }
}
