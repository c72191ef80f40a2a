//! Failover: how long writes stop when the leader dies, or is stopped.
//!
//! Starts its own three-node cluster on 127.0.9.11-13 (so it never touches
//! a cluster someone else runs), keeps a steady write load of holds on an
//! unlimited quota, kills the leader with SIGKILL several times (or, with
//! `--sigterm`, stops it gracefully, as a rolling restart does), and
//! reports how long writes paused: the longest gap between acknowledged
//! writes from the signal to the first one after the node was gone. The
//! stopped node is restarted after each round, so every round starts from
//! three healthy nodes. Extra server flags (`--server-arg`) try other
//! heartbeat and election settings.

use super::config::CLIENTS_MAX;
use super::setup;
use boxoffice_client::domain::{Command, EventId, ItemId, Line};
use boxoffice_client::{Client, ClientError, ClientOptions};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most failover rounds.
pub const FAILOVER_RUNS_MAX: u64 = 20;
/// How long a failover round waits for writes to resume before giving up, in seconds.
pub const FAILOVER_WAIT_SECS: u64 = 30;
/// How long a stopped (SIGTERM) node may take to exit before it is killed, in seconds.
const TERMINATE_WAIT_SECS: u64 = 10;
/// Time to live of the holds the writers place, in milliseconds.
const HOLD_TTL_MS: u64 = 60_000;

struct LocalCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    extra: Vec<String>,
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
            .args(&self.extra)
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

    /// SIGTERM, then wait (bounded) for the process to exit; SIGKILL if it does not.
    fn terminate(&mut self, id: usize) {
        if let Some(mut child) = self.children[id - 1].take() {
            let _ = Process::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(TERMINATE_WAIT_SECS);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
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

fn hold(event: EventId, item: ItemId) -> Command {
    Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: HOLD_TTL_MS }
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

/// Run `runs` rounds with `clients` writers, using the server binary `bin`;
/// prints one line per round and a summary.
pub async fn failover(
    bin: PathBuf,
    runs: u64,
    clients: u64,
    sigterm: bool,
    server_args: Vec<String>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        bin.exists(),
        "{} not found: build it with `cargo build --release -p boxoffice-server`",
        bin.display()
    );
    let runs = runs.clamp(1, FAILOVER_RUNS_MAX);
    let mut cluster =
        LocalCluster { dir: tempfile::tempdir()?, bin, extra: server_args, children: vec![None, None, None] };
    for id in 1..=3 {
        cluster.spawn(id, true)?;
    }
    let endpoints: Vec<String> = (1..=3).map(LocalCluster::addr).collect();
    let client = Client::remote(&endpoints, ClientOptions::default())?;
    let (event, item) = setup::hot_item(&client).await?;
    let acks: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Instant::now() + Duration::from_secs(runs * (FAILOVER_WAIT_SECS + 10));
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
        if sigterm {
            // Waiting for the exit blocks; the writers keep running on the other workers.
            tokio::task::block_in_place(|| cluster.terminate(victim));
        } else {
            cluster.kill(victim);
        }
        // The node is gone now (killed, or exited after its handover).
        let gone = Instant::now();
        let give_up = killed + Duration::from_secs(FAILOVER_WAIT_SECS);
        let resumed = loop {
            if let Some(at) = acks.lock().expect("acks").iter().copied().filter(|at| *at > gone).min() {
                break at;
            }
            anyhow::ensure!(Instant::now() < give_up, "writes did not resume within {FAILOVER_WAIT_SECS} s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // The pause: the longest gap between acknowledgements from the signal
        // to the first write acknowledged after the node was gone (a stopping
        // leader still acknowledges what it had in flight).
        let mut points: Vec<Instant> =
            acks.lock().expect("acks").iter().copied().filter(|at| *at > killed && *at <= resumed).collect();
        points.push(killed);
        points.sort();
        let took = points.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default();
        println!(
            "run {run}: {} leader node {victim}; writes paused {:.0} ms",
            if sigterm { "stopped (SIGTERM)" } else { "killed" },
            took.as_secs_f64() * 1e3
        );
        samples.push(took);
        cluster.spawn(victim, false)?;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{} over {runs} runs: median {:.0} ms, min {:.0} ms, max {:.0} ms ({} cores here)",
        if sigterm { "graceful leader stop" } else { "failover" },
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        crate::schema::cores()
    );
    Ok(())
}
