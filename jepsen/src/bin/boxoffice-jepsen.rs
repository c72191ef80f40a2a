//! `boxoffice-jepsen`: run a fault-injection schedule against a real
//! cluster, write the history and a summary, check the invariants, and
//! exit non-zero on any violation.
//!
//! Once the workload has started, every run ends in `summary.txt` with
//! verdicts (and `final_state.json` when the nodes can be read): a node that
//! does not come back, a membership that cannot be restored, or a step of the
//! harness that fails is written into the history and fails the `recovery`
//! checker; it never ends the run without a verdict. Only failures before the
//! workload starts (bad arguments, a cluster that never elects a leader)
//! exit with status 2 and no summary.

use anyhow::Context;
use boxoffice_client::{Client, ClientOptions};
use boxoffice_jepsen::checker;
use boxoffice_jepsen::cluster::{Cluster, ClusterSpec, Start};
use boxoffice_jepsen::history::{
    self, HARNESS_ERROR_PREFIX, HEAL, NEMESIS_PROCESS, NOTE_PREFIX, Op, Phase, RECOVERY_FAILED_PREFIX,
    Recorder,
};
use boxoffice_jepsen::nemesis::{self, FlipTarget, note};
use boxoffice_jepsen::proxy::Mode;
use boxoffice_jepsen::report;
use boxoffice_jepsen::workload::{self, Catalog, Kind, NEW_QUOTA_EVERY_SECS_DEFAULT, Workload};
use boxoffice_proto::v1;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest run, in seconds (a long schedule: 3600).
const RUN_SECS_MAX: u64 = 4 * 3600;
/// Seconds at the end of a run with no faults, to observe recovery.
const QUIET_TAIL_SECS: u64 = 10;
/// Most latency `--zone-latency-ms` adds between two zones, in milliseconds
/// (beyond it a heartbeat could not cross inside an election timeout).
const ZONE_LATENCY_MS_MAX: u64 = 500;
/// Most client processes (honest and hostile).
const CLIENTS_MAX: u64 = 256;
/// The bugs a server can be started with (`boxoffice-server --planted-bug`).
const PLANTED_BUGS: &[&str] = &[
    "ack-before-commit",
    "oversell",
    "forget-requests",
    "double-seat",
    "skip-the-line",
    "diverge",
    "truncate-on-corruption",
];

/// Run boxoffice under faults and check that it keeps its promises.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    long_about = "Run boxoffice under faults and check that it keeps its promises.\n\n\
    Starts NODES real boxoffice-server processes on 127.SUBNET.x.1 with a proxy on every link, runs a \
    workload while a nemesis kills, pauses, partitions, slows and wipes nodes, then heals, and checks: no \
    oversell, no lost acknowledged write, exactly once, linearizability per quota (holds, releases, \
    checkouts, payments, cancels, lapses), no seat sold twice, waiting-list order kept, convergence, \
    reused request ids, hostile batches, recovery \
    of every node, and the time from each fault to the next decided operation. Writes history.jsonl, \
    final_state.json, summary.txt (with, per quota, when it sold out and how many decided operations fell \
    inside fault windows) and plots to --out. Exits 1 on any violation.\n\n\
    Contention lasts the whole schedule: every --new-quota-secs a new round opens (a new hot quota of \
    --quota-size tickets with its own item; for `mixed`, a new weekend of two overlapping quotas of that \
    size; for `inventory`, a seated zone of up to 100 seats and a small item with a waiting list and \
    blocking vouchers) once the newest has sold out; buyers go mostly to the newest two rounds, release a share of \
    their holds (--release-ratio) and, told \"sold out\", cancel one of their paid orders of that round \
    (--cancel-ratio), so sold-out quotas regain tickets while others ask for them. --hostile N adds \
    clients that send oversized batches, \
    batches of over-long names, and commands under request ids used for other commands.\n\n\
    Plans: `all` cycles through every nemesis in order (for CI); `random` picks one per step from the seed; \
    or name them, e.g. `--plan kill-leader,membership`. Nemeses: kill-leader, pause-node, isolate-node, \
    split-majority, ring, leader-zone, latency, wipe-node (wiped, back through --rejoin), kill-majority, \
    rolling-restart, membership, disk-full (the last node's data is on a small tmpfs when run as root; \
    skipped otherwise), clock-skew (a minority of clocks off by up to 61 minutes), clock-jump (the \
    leader's clock jumps 61 minutes and back), bitflip-log and bitflip-snapshot (a byte of a follower's \
    synced log or newest snapshot flipped: it must refuse to start; then rebuilt with --rejoin), \
    snapshot-crash (a follower killed while it builds a snapshot and while it installs one).\n\n\
    The server must be built with the `fault-injection` feature (planted bugs, clock skew).\n\n\
    Example (a long run):\n  cargo build --release -p boxoffice-server --features \
    boxoffice-server/fault-injection -p boxoffice-jepsen\n  \
    target/release/boxoffice-jepsen --plan random --secs 1800 --seed 7 --out results/long"
)]
struct Args {
    /// Seed of every random choice; the summary names it, and the same seed and plan replay the schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `all` (every nemesis in turn), `random` (one per step, from the seed),
    /// or a comma-separated list of nemeses run in turn.
    #[arg(long, default_value = "all")]
    plan: String,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 120)]
    secs: u64,
    /// Number of nodes (3 or 5).
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Concurrent honest client processes.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// Tickets in each hot quota (every round opens new ones of this size).
    #[arg(long, default_value_t = 2_000)]
    quota_size: u64,
    /// Seconds between two rounds (a new hot quota, or a new weekend for
    /// `mixed`); 0 keeps the first round for the whole run.
    #[arg(long, default_value_t = NEW_QUOTA_EVERY_SECS_DEFAULT)]
    new_quota_secs: u64,
    /// Seconds each fault lasts before healing.
    #[arg(long, default_value_t = 5)]
    fault_secs: u64,
    /// The boxoffice-server binary.
    #[arg(long, default_value = "target/release/boxoffice-server")]
    server_bin: PathBuf,
    /// Latency on every link between two nodes for the whole run, in
    /// milliseconds, as between data centers (each node is a zone); faults
    /// heal back to it. With `--plan kill-leader`, the availability lines of
    /// the summary are the failover times across zones.
    #[arg(long, default_value_t = 0, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(0..=ZONE_LATENCY_MS_MAX))]
    zone_latency_ms: u64,
    /// An extra flag for every server, repeatable, e.g.
    /// `--server-arg=--heartbeat-ms --server-arg=100` (across zones, the
    /// heartbeat must exceed a round trip plus a follower's fsync).
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Second octet of the loopback addresses (127.SUBNET.x.y).
    #[arg(long, default_value_t = 60)]
    subnet: u8,
    /// Results directory.
    #[arg(long, default_value = "results/latest")]
    out: PathBuf,
    /// Share of live holds that buyers release instead of checking out
    /// (tickets come back at once).
    #[arg(long, default_value_t = 0.2)]
    release_ratio: f64,
    /// Chance that a buyer told "sold out" cancels one of its paid orders of
    /// that round (a sold-out quota regains a ticket while others ask).
    #[arg(long, default_value_t = 0.3)]
    cancel_ratio: f64,
    /// Hostile client processes (oversized batches, over-long names, request
    /// ids reused for other commands); 0 for none.
    #[arg(long, default_value_t = 1)]
    hostile: u64,
    /// `flash`: a hot item per round in one quota; hold 1, release or check
    /// out and pay. `mixed`: per round, carts across two overlapping quotas
    /// (Saturday, Sunday, a weekend pass in both), short-lived holds that
    /// lapse, abandoned carts, late payments (capacity re-checked), cancels,
    /// and double check-ins. `inventory`: per round, a seated zone and a
    /// small item with a waiting list and blocking vouchers: seated holds
    /// (named and adjacent seats), voucher redemptions, joins, offers
    /// claimed, left or let lapse.
    #[arg(long, default_value = "flash")]
    workload: String,
    /// Plant a bug in every server to show the checkers catch it:
    /// `ack-before-commit` (lost_writes, no_oversell, linearizable),
    /// `oversell` (no_oversell, linearizable), `forget-requests`
    /// (exactly_once), `double-seat` (no_double_seat; with `--workload
    /// inventory`), `skip-the-line` (waiting_list_order; with `--workload
    /// inventory`), `diverge` (convergence), `truncate-on-corruption`
    /// (servers that have it). The run must then fail.
    #[arg(long, value_name = "BUG", value_parser = parse_planted_bug)]
    planted_bug: Option<String>,
    /// Run nothing: check a finished run's results directory again (e.g.
    /// after a checker changed). Reads DIR/history.jsonl and
    /// DIR/final_state.json or, for runs older than that file, the nodes'
    /// data directories under DIR/nodes (stopped nodes only). Writes
    /// DIR/recheck.txt.
    #[arg(long, value_name = "DIR")]
    recheck: Option<PathBuf>,
}

/// Accept only bugs a server may know, so a typo fails here and not in every node.
fn parse_planted_bug(name: &str) -> Result<String, String> {
    PLANTED_BUGS
        .contains(&name)
        .then(|| name.to_owned())
        .ok_or_else(|| format!("unknown bug `{name}` (known: {})", PLANTED_BUGS.join(", ")))
}

/// The nemeses, in the order `all` runs them.
const NEMESES: &[&str] = &[
    "kill-leader",
    "pause-node",
    "isolate-node",
    "split-majority",
    "ring",
    "leader-zone",
    "latency",
    "wipe-node",
    "kill-majority",
    "rolling-restart",
    "membership",
    "disk-full",
    "clock-skew",
    "clock-jump",
    "bitflip-log",
    "bitflip-snapshot",
    "snapshot-crash",
];

/// The nemeses that destroy a node's data (wipe it, or flip a byte and so
/// make it rebuild): each waits until the cluster is whole before it starts.
const DESTROYS_DATA: &[&str] =
    &["wipe-node", "membership", "bitflip-log", "bitflip-snapshot", "snapshot-crash"];

/// Longest a data-destroying nemesis waits for the cluster to be whole,
/// in seconds; it is skipped (and says so) if it is not.
const WHOLE_WAIT_SECS: u64 = 120;

/// The snapshot interval the nodes run with, in Raft entries: small, so
/// that snapshots are built every few seconds under load and a rebuilt node
/// catches up by installing one.
const SNAPSHOT_EVERY_ENTRIES: u64 = 100;

/// Most tries of one admin call, one second apart (a membership change waits
/// for the previous one to be committed).
const ADMIN_ATTEMPTS_MAX: u32 = 60;

/// Longest one admin call may take, retries included, in seconds: a cluster
/// that cannot change membership must not stall the schedule.
const ADMIN_CALL_SECS: u64 = 90;

/// Most rounds of "read the membership, add what is missing as learners,
/// promote every node" when restoring the membership.
const MEMBERSHIP_ATTEMPTS_MAX: u32 = 5;

/// Longest restoring the membership may take, all rounds together, in seconds.
const MEMBERSHIP_RESTORE_SECS: u64 = 240;

/// How long a (re)started node has to answer a status request, in seconds.
const NODE_ANSWER_SECS: u64 = 20;

/// Most starts of a node that keeps exiting right after it is started.
const NODE_STARTS_MAX: u32 = 3;

/// Pause between two status checks of a starting node, in milliseconds.
const NODE_POLL_MS: u64 = 250;

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("boxoffice-jepsen: {e:#}");
            std::process::exit(2);
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    if let Some(dir) = &args.recheck {
        return recheck(dir);
    }
    anyhow::ensure!(matches!(args.nodes, 3 | 5), "--nodes must be 3 or 5");
    let kind = match args.workload.as_str() {
        "flash" => Kind::Flash,
        "mixed" => Kind::Mixed,
        "inventory" => Kind::Inventory,
        _ => anyhow::bail!("--workload must be `flash`, `mixed` or `inventory`"),
    };
    let listed: Vec<&str> = match args.plan.as_str() {
        "all" | "random" => NEMESES.to_vec(),
        list => list.split(',').map(str::trim).collect(),
    };
    if let Some(unknown) = listed.iter().find(|n| !NEMESES.contains(n)) {
        anyhow::bail!(
            "unknown nemesis `{unknown}` in --plan; known: all, random, or a list of {}",
            NEMESES.join(", ")
        );
    }
    let secs = args.secs.clamp(10, RUN_SECS_MAX);
    // Nodes' data and logs stay in the results directory, for inspection.
    let data = args.out.join("nodes");
    if data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    std::fs::create_dir_all(&data)?;
    let spec = ClusterSpec {
        nodes: args.nodes,
        subnet: args.subnet,
        server_bin: args.server_bin.clone(),
        dir: data.clone(),
        snapshot_every: SNAPSHOT_EVERY_ENTRIES,
        planted_bug: args.planted_bug.clone(),
        zone_latency: Duration::from_millis(args.zone_latency_ms),
        server_args: args.server_args.clone(),
    };
    // The history's clock starts with the cluster, so that any Raft term
    // began at or after its origin (the linearizability checker bounds log
    // time under clock faults by how long a term has run).
    let recorder = Arc::new(Recorder::new());
    let cluster = Arc::new(tokio::sync::Mutex::new(Cluster::start(spec).await?));
    cluster.lock().await.wait_leader().await?;
    let options = ClientOptions {
        attempt_timeout: Duration::from_secs(2),
        call_timeout: Duration::from_secs(6),
        ..ClientOptions::default()
    };
    let client = cluster.lock().await.client(options)?;
    // With a planted bug, answers may come before commits: let each setup step settle.
    let settle = if args.planted_bug.is_some() { Duration::from_millis(500) } else { Duration::ZERO };
    let catalog = Arc::new(workload::setup(&client, kind, args.quota_size, settle).await?);

    // From here on, every way out goes through `finish`: a summary with verdicts.
    let deadline = Instant::now() + Duration::from_secs(secs);
    let honest = args.clients.clamp(1, CLIENTS_MAX);
    let hostile = args.hostile.min(CLIENTS_MAX - honest);
    println!(
        "seed {} plan {} for {secs} s: {} nodes, {honest} clients (+{hostile} hostile), {} workload, quotas of {} \
         every {} s",
        args.seed, args.plan, args.nodes, args.workload, args.quota_size, args.new_quota_secs
    );
    let shared = Workload {
        deadline,
        release_ratio: args.release_ratio.clamp(0.0, 1.0),
        cancel_ratio: args.cancel_ratio.clamp(0.0, 1.0),
    };
    let mut workers = Vec::new();
    for process in 0..honest + hostile {
        let (client, recorder, catalog, shared) =
            (client.clone(), recorder.clone(), catalog.clone(), shared.clone());
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(process);
        workers.push(match (process < honest, kind) {
            (true, Kind::Flash) => {
                tokio::spawn(workload::buyer(client, recorder, catalog, process, seed, shared))
            }
            (true, Kind::Mixed) => {
                tokio::spawn(workload::shopper(client, recorder, catalog, process, seed, shared))
            }
            (true, Kind::Inventory) => {
                tokio::spawn(workload::inventory::buyer(client, recorder, catalog, process, seed, shared))
            }
            (false, _) => {
                tokio::spawn(workload::hostile(client, recorder, catalog, process, seed, shared, honest))
            }
        });
    }
    let every = Duration::from_secs(args.new_quota_secs);
    workers.push(tokio::spawn(workload::open_rounds(
        client.clone(),
        recorder.clone(),
        catalog.clone(),
        every,
        deadline,
        settle,
    )));

    let mut rng = StdRng::seed_from_u64(args.seed);
    let mut step = 0usize;
    let fault = Duration::from_secs(args.fault_secs.max(1));
    // The last QUIET_TAIL_SECS are fault-free, so recovery from the last fault is observed.
    while Instant::now() + fault * 2 + Duration::from_secs(QUIET_TAIL_SECS) < deadline {
        tokio::time::sleep(fault).await;
        let nemesis = match args.plan.as_str() {
            "random" => listed[rng.random_range(0..listed.len())],
            _ => listed[step % listed.len()],
        };
        step += 1;
        if let Err(e) = inject(&cluster, &recorder, nemesis, fault, &mut rng).await {
            note(&recorder, format!("{HARNESS_ERROR_PREFIX}nemesis {nemesis}: {e:#}"));
            let c = cluster.lock().await;
            c.heal();
            for (id, e) in nemesis::reset_clocks(&c).await {
                note(
                    &recorder,
                    format!("{HARNESS_ERROR_PREFIX}node {id}'s clock could not be set back: {e:#}"),
                );
            }
            note(&recorder, HEAL.into());
        }
        let mut c = cluster.lock().await;
        ensure_nodes_up(&mut c, &recorder, &format!("the {nemesis} step")).await;
    }
    for worker in workers {
        if let Err(e) = worker.await {
            note(&recorder, format!("{HARNESS_ERROR_PREFIX}a client process failed: {e}"));
        }
    }
    // A step that rebuilds a node from its peers can outlast the run; its
    // heal then came after the clients stopped, and nothing could be decided
    // after it (a 30-minute run's last bitflip-log step healed 11 s past the
    // end). The buyers run a quiet tail of their own after a heal that left
    // less than the usual quiet tail.
    if Instant::now() + Duration::from_secs(QUIET_TAIL_SECS) > deadline {
        note(
            &recorder,
            format!(
                "{NOTE_PREFIX}the last step ended less than {QUIET_TAIL_SECS} s before the end of the run: \
                 {QUIET_TAIL_SECS} s more of buyers"
            ),
        );
        let tail =
            Workload { deadline: Instant::now() + Duration::from_secs(QUIET_TAIL_SECS), ..shared.clone() };
        let buyers: Vec<_> = (0..honest)
            .map(|process| {
                let (client, recorder, catalog, tail) =
                    (client.clone(), recorder.clone(), catalog.clone(), tail.clone());
                let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(process).wrapping_add(CLIENTS_MAX);
                match kind {
                    Kind::Flash => {
                        tokio::spawn(workload::buyer(client, recorder, catalog, process, seed, tail))
                    }
                    Kind::Mixed => {
                        tokio::spawn(workload::shopper(client, recorder, catalog, process, seed, tail))
                    }
                    Kind::Inventory => tokio::spawn(workload::inventory::buyer(
                        client, recorder, catalog, process, seed, tail,
                    )),
                }
            })
            .collect();
        for buyer in buyers {
            if let Err(e) = buyer.await {
                note(&recorder, format!("{HARNESS_ERROR_PREFIX}a client process failed: {e}"));
            }
        }
    }
    Ok(finish(&args, secs, step, &cluster, &recorder, &catalog).await)
}

/// The end of every run that got as far as the workload: bring every node
/// back, restore the membership, read the final state, judge, and write the
/// history, plots, final state and summary. Never fails: whatever goes wrong
/// is written into the history (and fails the `recovery` checker) or the
/// summary. True if every verdict is valid.
async fn finish(
    args: &Args,
    secs: u64,
    steps: usize,
    cluster: &Arc<tokio::sync::Mutex<Cluster>>,
    recorder: &Recorder,
    catalog: &Catalog,
) -> bool {
    let final_state = {
        let mut c = cluster.lock().await;
        c.heal();
        for id in c.ids() {
            c.signal(id, "CONT");
        }
        ensure_nodes_up(&mut c, recorder, "the end of the run").await;
        for (id, e) in nemesis::reset_clocks(&c).await {
            note(recorder, format!("{HARNESS_ERROR_PREFIX}node {id}'s clock could not be set back: {e:#}"));
        }
        // Every node a voter again, so convergence is judged on all of them.
        if let Err(e) = restore_membership(&c).await {
            note(recorder, format!("{RECOVERY_FAILED_PREFIX}the membership could not be restored: {e:#}"));
        }
        match c.final_state().await {
            Ok(state) => Some(state),
            Err(e) => {
                note(recorder, format!("{RECOVERY_FAILED_PREFIX}the final state could not be read: {e:#}"));
                None
            }
        }
    };
    let mut history = recorder.snapshot();
    let harness_error = |history: &mut Vec<Op>, what: String| {
        eprintln!("boxoffice-jepsen: {what}");
        let value = history::Value::Nemesis { action: format!("{HARNESS_ERROR_PREFIX}{what}") };
        let (index, time_ns) = (history.len() as u64, history.last().map_or(0, |op| op.time_ns));
        history.push(Op {
            index,
            process: NEMESIS_PROCESS,
            time_ns,
            phase: Phase::Info,
            request_id: String::new(),
            outcome: None,
            value,
        });
    };
    if let Err(e) = write_history(&history, &args.out.join("history.jsonl")) {
        harness_error(&mut history, format!("history.jsonl not written: {e:#}"));
    }
    if let Err(e) = report::plots(&history, &args.out) {
        harness_error(&mut history, format!("plots not drawn: {e:#}"));
    }
    let (verdicts, records) = match &final_state {
        Some(state) => {
            let written = serde_json::to_vec(state).map_err(anyhow::Error::from).and_then(|bytes| {
                std::fs::write(args.out.join("final_state.json"), bytes).map_err(anyhow::Error::from)
            });
            if let Err(e) = written {
                harness_error(&mut history, format!("final_state.json not written: {e:#}"));
            }
            (checker::check_all(&history, state), &state.records[..])
        }
        None => (checker::check_history_only(&history), &[][..]),
    };
    let mut summary = summarize(args, secs, steps, catalog, &history, &verdicts);
    if final_state.is_none() {
        summary += "no final state: no_oversell, lost_writes, exactly_once, convergence, linearizable and \
                    hostile_batches were not checked\n";
    }
    let summary = insert_timeline(summary, &report::timeline_report(&history, records));
    if let Err(e) = std::fs::write(args.out.join("summary.txt"), &summary) {
        eprintln!("boxoffice-jepsen: summary.txt not written: {e}");
    }
    print!("{summary}");
    final_state.is_some() && verdicts.iter().all(|v| v.valid)
}

fn write_history(history: &[Op], path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    history::write(history, &mut file)?;
    file.flush()?;
    Ok(())
}

/// The summary with the per-quota lines after its first line.
fn insert_timeline(summary: String, timeline: &str) -> String {
    match summary.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{timeline}{rest}"),
        None => summary + timeline,
    }
}

/// Start every node that is not running (a wiped one with `--rejoin`), and
/// check that each stays up and answers; a node that keeps exiting right
/// after it starts, or never answers, is written into the history as a
/// failed recovery, with the tail of its stderr.
async fn ensure_nodes_up(c: &mut Cluster, recorder: &Recorder, after: &str) {
    for id in c.ids() {
        let mut starts = 0u32;
        loop {
            if !c.is_running(id) {
                starts += 1;
                if let Err(e) = c.restart(id) {
                    note(
                        recorder,
                        format!("{HARNESS_ERROR_PREFIX}node {id} could not be started after {after}: {e:#}"),
                    );
                    break;
                }
            }
            let started = Instant::now();
            let deadline = started + Duration::from_secs(NODE_ANSWER_SECS);
            let mut exited = None;
            let mut answered = false;
            while Instant::now() < deadline {
                if let Some(status) = c.exited(id) {
                    exited = Some(status);
                    break;
                }
                if c.answers(id).await {
                    answered = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(NODE_POLL_MS)).await;
            }
            if answered {
                break;
            }
            let tail = c.stderr_tail(id);
            match exited {
                Some(_) if starts < NODE_STARTS_MAX => continue,
                Some(status) => {
                    note(
                        recorder,
                        format!(
                            "{RECOVERY_FAILED_PREFIX}node {id} could not restart after {after}: it exited \
                             {:.1} s after it was started ({status}; started again {starts} times); stderr \
                             tail: {tail}",
                            started.elapsed().as_secs_f64()
                        ),
                    );
                }
                None => note(
                    recorder,
                    format!(
                        "{RECOVERY_FAILED_PREFIX}node {id} did not answer within {NODE_ANSWER_SECS} s after \
                         {after}; stderr tail: {tail}"
                    ),
                ),
            }
            break;
        }
    }
}

/// Apply one nemesis for `fault`, then heal and bring every node back.
async fn inject(
    cluster: &Arc<tokio::sync::Mutex<Cluster>>,
    recorder: &Recorder,
    nemesis: &str,
    fault: Duration,
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let mut c = cluster.lock().await;
    // A nemesis that destroys a node's data waits until the last rebuild has
    // finished: one disk lost at a time is the failure model (see `Cluster::whole`).
    if DESTROYS_DATA.contains(&nemesis) && !c.wait_whole(Duration::from_secs(WHOLE_WAIT_SECS)).await {
        note(
            recorder,
            format!(
                "{NOTE_PREFIX}{nemesis} skipped: the cluster was not whole (a rebuild still under way, or a \
                 node not a voter) within {WHOLE_WAIT_SECS} s"
            ),
        );
        return Ok(());
    }
    let ids = c.ids();
    let leader = c.leader().await.unwrap_or(ids[0]);
    let other =
        *ids.iter().filter(|id| **id != leader).nth(rng.random_range(0..ids.len() - 1)).expect("a follower");
    // The nemeses of `nemesis.rs` take the cluster's lock as they need it and heal themselves.
    let flip = match nemesis {
        "bitflip-log" => Some(FlipTarget::Log),
        "bitflip-snapshot" => Some(FlipTarget::Snapshot),
        _ => None,
    };
    match (nemesis, flip) {
        ("clock-skew", _) => {
            drop(c);
            return nemesis::clock_skew(cluster, recorder, leader, fault, rng).await;
        }
        ("clock-jump", _) => {
            drop(c);
            return nemesis::clock_jump(cluster, recorder, leader, fault, rng).await;
        }
        ("snapshot-crash", _) => {
            drop(c);
            return nemesis::snapshot_crash(cluster, recorder, other, rng).await;
        }
        (_, Some(target)) => {
            drop(c);
            return nemesis::bitflip(cluster, recorder, target, other, rng).await;
        }
        _ => {}
    }
    match nemesis {
        "kill-leader" => {
            note(recorder, format!("kill -9 leader {leader}"));
            c.kill(leader);
        }
        "pause-node" => {
            note(recorder, format!("SIGSTOP leader {leader}"));
            c.signal(leader, "STOP");
        }
        "isolate-node" => {
            note(recorder, format!("isolate node {other} (refused connections)"));
            let rest: Vec<u64> = ids.iter().copied().filter(|id| *id != other).collect();
            c.partition(&[vec![other], rest], Mode::Refuse);
        }
        "split-majority" => {
            let minority: Vec<u64> = ids.iter().copied().take((ids.len() - 1) / 2).collect();
            let majority: Vec<u64> = ids.iter().copied().skip((ids.len() - 1) / 2).collect();
            note(recorder, format!("partition {minority:?} | {majority:?} (black hole)"));
            c.partition(&[minority, majority], Mode::BlackHole);
        }
        "ring" => {
            // Each node reaches only its neighbours on a ring: overlapping majorities.
            note(recorder, "ring: each node sees only its ring neighbours".into());
            let n = ids.len();
            for (i, from) in ids.iter().enumerate() {
                for (j, to) in ids.iter().enumerate() {
                    let neighbour = (i + 1) % n == j || (j + 1) % n == i;
                    if from != to && !neighbour {
                        c.set_link(*from, *to, Mode::Refuse);
                    }
                }
            }
        }
        "leader-zone" => {
            note(recorder, format!("cut leader {leader}'s zone off from nodes and clients (black hole)"));
            let rest: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
            c.partition(&[vec![leader], rest], Mode::BlackHole);
            c.cut_clients(&BTreeSet::from([leader]), Mode::BlackHole);
        }
        "latency" => {
            note(recorder, "20-40 ms between every pair of zones".into());
            for from in &ids {
                for to in ids.iter().filter(|to| *to != from) {
                    c.set_latency(*from, *to, Duration::from_millis(rng.random_range(20..=40)));
                }
            }
        }
        "wipe-node" => {
            // Back through --rejoin at the heal (a wiped voter must not vote as it was).
            note(recorder, format!("wipe node {other}'s data directory (it comes back with --rejoin)"));
            c.wipe(other)?;
            drop(c);
            tokio::time::sleep(fault).await;
            let mut c = cluster.lock().await;
            note(recorder, HEAL.into());
            c.heal();
            c.restart(other)?;
            drop(c);
            nemesis::rejoined(cluster, recorder, other, "a wipe").await;
            return Ok(());
        }
        "kill-majority" => {
            let victims: Vec<u64> = ids.iter().copied().take(ids.len() / 2 + 1).collect();
            note(recorder, format!("kill -9 majority {victims:?}"));
            for id in &victims {
                c.kill(*id);
            }
        }
        "rolling-restart" => {
            note(recorder, "rolling restart of every node".into());
            for id in &ids {
                c.signal(*id, "TERM");
                tokio::time::sleep(Duration::from_millis(300)).await;
                c.kill(*id);
                c.restart(*id)?;
                drop(c);
                tokio::time::sleep(fault / ids.len() as u32).await;
                c = cluster.lock().await;
            }
        }
        "disk-full" => match c.small_disk() {
            Some(id) => {
                let written = c.fill_disk()?;
                note(recorder, format!("disk full on node {id} ({} MiB filler)", written >> 20));
                drop(c);
                tokio::time::sleep(fault).await;
                let mut c = cluster.lock().await;
                note(recorder, HEAL.into());
                c.free_disk();
                c.heal();
                // The node may have stopped on the write error: start it again.
                c.kill(id);
                c.restart(id)?;
                return Ok(());
            }
            None => {
                note(recorder, format!("{NOTE_PREFIX}disk-full skipped: mounting a small tmpfs needs root"));
                return Ok(());
            }
        },
        "membership" => {
            // Replace a follower: remove it, wipe it, and add it back as a
            // new learner (it catches up by snapshot), then as a voter. A
            // change the cluster refuses (another one still in progress) is
            // noted, not fatal: the run goes on and membership is restored.
            note(recorder, format!("membership: remove node {other}, wipe it, re-add it"));
            let voters: Vec<u64> = ids.iter().copied().filter(|id| *id != other).collect();
            let admin = c.client(ClientOptions::default())?;
            let deadline = Instant::now() + Duration::from_secs(ADMIN_CALL_SECS);
            let removed = admin_call(&admin, deadline, move |mut a| {
                let voters = voters.clone();
                async move { a.change_membership(v1::ChangeMembershipRequest { voters, retain: false }).await }
            })
            .await;
            if let Err(e) = removed {
                note(recorder, format!("{NOTE_PREFIX}membership change refused: {e}"));
            } else {
                c.wipe(other)?;
                drop(c);
                tokio::time::sleep(fault).await;
                c = cluster.lock().await;
                // Removed first, so it is not a voter: it joins and waits to be re-added.
                c.spawn(other, Start::Normal)?;
            }
            if let Err(e) = restore_membership(&c).await {
                note(recorder, format!("{NOTE_PREFIX}membership not restored yet: {e:#}"));
            }
            note(recorder, HEAL.into());
            c.heal();
            return Ok(());
        }
        other => anyhow::bail!("unknown nemesis {other}"),
    }
    drop(c);
    tokio::time::sleep(fault).await;
    let mut c = cluster.lock().await;
    note(recorder, HEAL.into());
    c.heal();
    for id in c.ids() {
        c.signal(id, "CONT");
        if !c.is_running(id) {
            c.restart(id)?;
        }
    }
    Ok(())
}

/// Make every node a voter again, as the leader sees the membership: each
/// round reads it afresh, adds every node that is not a member as a learner
/// (a removed node must be a learner before it can be promoted; one that is
/// a learner already is only promoted), then makes all of them voters. A
/// round that fails is retried from the start, at most
/// [`MEMBERSHIP_ATTEMPTS_MAX`] rounds within [`MEMBERSHIP_RESTORE_SECS`].
async fn restore_membership(cluster: &Cluster) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(MEMBERSHIP_RESTORE_SECS);
    let ids = cluster.ids();
    let mut last = anyhow::anyhow!("no attempt made");
    for _ in 0..MEMBERSHIP_ATTEMPTS_MAX {
        if Instant::now() >= deadline {
            break;
        }
        match restore_round(cluster, &ids, deadline).await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The last round may have done it.
    if let Some(members) = cluster.members().await
        && ids.iter().all(|id| members.get(id) == Some(&true))
    {
        return Ok(());
    }
    Err(last)
}

/// What a round of [`restore_membership`] must do, given the members (id
/// to voter) the leader sees: `None` if every node is a voter already, else
/// the nodes to add as learners first (those that are no member at all; a
/// learner is only promoted).
fn learners_to_add(ids: &[u64], members: &BTreeMap<u64, bool>) -> Option<Vec<u64>> {
    let done = ids.iter().all(|id| members.get(id) == Some(&true)) && members.len() == ids.len();
    (!done).then(|| ids.iter().copied().filter(|id| !members.contains_key(id)).collect())
}

/// One round of [`restore_membership`]; true if every node is a voter.
async fn restore_round(cluster: &Cluster, ids: &[u64], deadline: Instant) -> anyhow::Result<bool> {
    let members = cluster.members().await.context("no leader answered with the membership")?;
    let Some(absent) = learners_to_add(ids, &members) else { return Ok(true) };
    let admin = cluster.client(ClientOptions::default())?;
    for id in absent {
        let (addr, zone) = (cluster.node_addr(id), format!("dc{id}"));
        admin_call(&admin, deadline, move |mut a| {
            let request = v1::AddLearnerRequest { node_id: id, addr: addr.clone(), zone: zone.clone() };
            async move { a.add_learner(request).await }
        })
        .await
        .with_context(|| format!("adding node {id} as a learner"))?;
    }
    let voters = ids.to_vec();
    admin_call(&admin, deadline, move |mut a| {
        let voters = voters.clone();
        async move { a.change_membership(v1::ChangeMembershipRequest { voters, retain: false }).await }
    })
    .await
    .with_context(|| format!("promoting {ids:?} to voters (members were {members:?})"))?;
    Ok(false) // checked again by the next round
}

/// Run an admin call on the leader, retrying while the cluster settles, at
/// most [`ADMIN_ATTEMPTS_MAX`] times, for at most [`ADMIN_CALL_SECS`] and
/// never past `deadline`.
async fn admin_call<F, Fut>(client: &Client, deadline: Instant, call: F) -> anyhow::Result<()>
where
    F: FnMut(v1::admin_client::AdminClient<tonic::transport::Channel>) -> Fut + Clone,
    Fut: std::future::Future<Output = Result<tonic::Response<v1::AdminResponse>, tonic::Status>>,
{
    let mut last = String::from("no attempt made");
    let deadline = deadline.min(Instant::now() + Duration::from_secs(ADMIN_CALL_SECS));
    for _ in 0..ADMIN_ATTEMPTS_MAX {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut call = call.clone();
        let attempt = client.admin(move |a| {
            let fut = call(a);
            async move { fut.await.map(|r| r.into_inner()) }
        });
        match tokio::time::timeout(left, attempt).await {
            Ok(Ok(_)) => return Ok(()),
            // The learner is not there (a leader change lost it): retrying this call cannot help.
            Ok(Err(e)) if e.to_string().contains("not found") => anyhow::bail!("{e}"),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {} s", left.as_secs()),
        }
        tokio::time::sleep(Duration::from_secs(1).min(deadline.saturating_duration_since(Instant::now())))
            .await;
    }
    anyhow::bail!("admin call failed: {last}")
}

fn summarize(
    args: &Args,
    secs: u64,
    steps: usize,
    catalog: &Catalog,
    history: &[Op],
    verdicts: &[checker::Verdict],
) -> String {
    let out = format!(
        "boxoffice-jepsen: seed {} plan {} ({} s, {} nodes, {} clients + {} hostile, {} workload, {} rounds of \
         quotas of {} every {} s, {} fault steps, release ratio {}, cancel ratio {}, planted bug {}, zone latency \
         {} ms, server args {:?})\n",
        args.seed,
        args.plan,
        secs,
        args.nodes,
        args.clients,
        args.hostile,
        args.workload,
        catalog.rounds().len(),
        args.quota_size,
        args.new_quota_secs,
        steps,
        args.release_ratio,
        args.cancel_ratio,
        args.planted_bug.as_deref().unwrap_or("none"),
        args.zone_latency_ms,
        args.server_args
    );
    out + &verdict_report(history, verdicts)
}

/// Operations by outcome, every verdict with its stats and problems, and
/// the overall verdict.
fn verdict_report(history: &[Op], verdicts: &[checker::Verdict]) -> String {
    let count =
        |phase| history.iter().filter(|op| op.phase == phase && op.process != NEMESIS_PROCESS).count();
    let mut out = format!(
        "operations: {} invoked, {} ok, {} fail, {} info (unknown)\n",
        count(Phase::Invoke),
        count(Phase::Ok),
        count(Phase::Fail),
        count(Phase::Info)
    );
    for verdict in verdicts {
        out += &format!(
            "{:<15} {}  {}\n",
            verdict.checker,
            if verdict.valid { "ok " } else { "FAIL" },
            verdict.what
        );
        for (key, value) in &verdict.stats {
            out += &format!("    {key}: {value}\n");
        }
        for problem in &verdict.problems {
            out += &format!("    problem: {problem}\n");
        }
    }
    let valid = verdicts.iter().all(|v| v.valid);
    out += &format!("verdict: {}\n", if valid { "every invariant held" } else { "VIOLATIONS FOUND" });
    out
}

/// `--recheck DIR`: the checkers again, on a finished run's files.
fn recheck(dir: &Path) -> anyhow::Result<bool> {
    let history_path = dir.join("history.jsonl");
    let file = std::fs::File::open(&history_path)
        .with_context(|| format!("{}: not a results directory", history_path.display()))?;
    let history = history::read(std::io::BufReader::new(file))?;
    let saved = dir.join("final_state.json");
    let final_state = if saved.exists() {
        serde_json::from_slice(&std::fs::read(&saved)?).with_context(|| format!("{}", saved.display()))?
    } else {
        final_state_from_data(&dir.join("nodes"))?
    };
    eprintln!(
        "rechecking {} operations against {} records from {} nodes",
        history.len(),
        final_state.records.len(),
        final_state.nodes.len()
    );
    let verdicts = checker::check_all(&history, &final_state);
    let report = format!("boxoffice-jepsen --recheck {}\n", dir.display())
        + &report::timeline_report(&history, &final_state.records)
        + &verdict_report(&history, &verdicts);
    std::fs::write(dir.join("recheck.txt"), &report)?;
    print!("{report}");
    Ok(verdicts.iter().all(|v| v.valid))
}

/// Every stopped node's digests and the first one's event log, read from
/// the data directories `n<id>/sm` under `nodes`.
fn final_state_from_data(nodes: &Path) -> anyhow::Result<checker::FinalState> {
    use boxoffice_engine::store::{EVENTS_READ_MAX, StateMachineStore};
    let mut final_state = checker::FinalState::default();
    for id in 1..=u64::from(u8::MAX) {
        let sm = nodes.join(format!("n{id}")).join("sm");
        if !sm.join("sled").exists() {
            continue;
        }
        let store = StateMachineStore::open(&sm).with_context(|| format!("{}", sm.display()))?;
        let shared = store.shared();
        let (event_log_digest, state_digest) = shared.digests()?;
        let last_seq = shared.read(|a| a.state.last_seq);
        if final_state.records.is_empty() {
            while (final_state.records.len() as u64) < last_seq {
                let next = final_state.records.len() as u64 + 1;
                let batch = shared.records_from(next, EVENTS_READ_MAX)?;
                anyhow::ensure!(!batch.is_empty(), "node {id}: records stop at seq {next}");
                final_state.records.extend(batch);
            }
        }
        final_state.nodes.push(checker::NodeFinal { id, event_log_digest, state_digest, last_seq });
    }
    anyhow::ensure!(!final_state.nodes.is_empty(), "no node data under {}", nodes.display());
    Ok(final_state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_bugs_are_checked_by_name_here_and_passed_through() {
        for bug in PLANTED_BUGS {
            assert_eq!(parse_planted_bug(bug).as_deref(), Ok(*bug));
        }
        assert_eq!(parse_planted_bug("truncate-on-corruption").as_deref(), Ok("truncate-on-corruption"));
        let error = parse_planted_bug("oversel").unwrap_err();
        assert!(error.starts_with("unknown bug `oversel` (known: ack-before-commit, oversell"), "{error}");
    }

    #[test]
    fn a_removed_node_is_added_as_a_learner_and_a_learner_is_only_promoted() {
        let ids = [1, 2, 3];
        let members = |pairs: &[(u64, bool)]| pairs.iter().copied().collect::<BTreeMap<u64, bool>>();
        assert_eq!(learners_to_add(&ids, &members(&[(1, true), (2, true), (3, true)])), None);
        assert_eq!(learners_to_add(&ids, &members(&[(2, true), (3, true)])), Some(vec![1]));
        assert_eq!(learners_to_add(&ids, &members(&[(1, false), (2, true), (3, true)])), Some(vec![]));
        assert_eq!(learners_to_add(&ids, &members(&[(3, true)])), Some(vec![1, 2]));
    }

    #[test]
    fn the_per_quota_lines_follow_the_first_line_of_the_summary() {
        let summary = insert_timeline("head\nverdicts\n".into(), "quota lines\n");
        assert_eq!(summary, "head\nquota lines\nverdicts\n");
    }
}
