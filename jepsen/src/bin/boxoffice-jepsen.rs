//! `boxoffice-jepsen`: run a fault-injection schedule against a real
//! cluster, write the history and a summary, check the invariants, and
//! exit non-zero on any violation.

use anyhow::Context;
use boxoffice_client::{Client, ClientError, ClientOptions, new_request_id};
use boxoffice_engine::domain::*;
use boxoffice_jepsen::checker;
use boxoffice_jepsen::cluster::{Cluster, ClusterSpec};
use boxoffice_jepsen::history::{self, NEMESIS_PROCESS, Op, Phase, Value};
use boxoffice_jepsen::proxy::Mode;
use boxoffice_proto::v1;
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest run, in seconds (a long schedule: 3600).
const RUN_SECS_MAX: u64 = 4 * 3600;
/// Seconds at the end of a run with no faults, to observe recovery.
const QUIET_TAIL_SECS: u64 = 10;
/// Most client processes.
const CLIENTS_MAX: u64 = 256;

/// Run boxoffice under faults and check that it keeps its promises.
#[derive(Parser, Debug)]
#[command(
    version,
    about,
    long_about = "Run boxoffice under faults and check that it keeps its promises.\n\n\
    Starts NODES real boxoffice-server processes on 127.SUBNET.x.1 with a proxy on every link, runs a \
    flash-sale workload (holds, checkouts, payments, deliberate retries with the same request id) \
    while a nemesis kills, pauses, partitions, slows and wipes nodes, then heals, and checks: no \
    oversell, no lost acknowledged write, exactly once, linearizable holds per quota, convergence, \
    and the time from each fault to the next acknowledged write. Writes history.jsonl, \
    final_state.json, summary.txt and plots to --out. Exits 1 on any violation.\n\n\
    Plans: `all` cycles through every nemesis in order (for CI); `random` picks one per step from the seed; \
    or name them, e.g. `--plan kill-leader,membership`. Nemeses: kill-leader, pause-node, isolate-node, \
    split-majority, ring, leader-zone, latency, wipe-node, kill-majority, rolling-restart, membership, \
    disk-full (the last node's data is on a small tmpfs when run as root; skipped otherwise).\n\n\
    Example (a long run):\n  cargo build --release -p boxoffice-server -p boxoffice-jepsen\n  \
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
    /// Concurrent client processes.
    #[arg(long, default_value_t = 8)]
    clients: u64,
    /// Tickets in the hot quota.
    #[arg(long, default_value_t = 2_000)]
    quota_size: u64,
    /// Seconds each fault lasts before healing.
    #[arg(long, default_value_t = 5)]
    fault_secs: u64,
    /// The boxoffice-server binary.
    #[arg(long, default_value = "target/release/boxoffice-server")]
    server_bin: PathBuf,
    /// Second octet of the loopback addresses (127.SUBNET.x.y).
    #[arg(long, default_value_t = 60)]
    subnet: u8,
    /// Results directory.
    #[arg(long, default_value = "results/latest")]
    out: PathBuf,
    /// Share of paid orders that buyers cancel (frees tickets after a sell-out).
    /// Above 0, the linearizability checker skips the quota (its model covers holds only).
    #[arg(long, default_value_t = 0.0)]
    cancel_ratio: f64,
    /// `flash`: one hot quota, hold 1, check out, pay (the linearizability
    /// checker covers it). `mixed`: carts across two overlapping quotas
    /// (Saturday, Sunday, a weekend pass in both), short-lived holds that
    /// expire, abandoned carts, late payments, cancels, and double check-ins.
    #[arg(long, default_value = "flash")]
    workload: String,
    /// Plant a bug in every server to show the checkers catch it:
    /// `ack-before-commit` (no_oversell, lost_writes, linearizable),
    /// `oversell` (no_oversell, linearizable), `forget-requests`
    /// (exactly_once), `diverge` (convergence). The run must then fail.
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

/// Accept only bugs the server knows, so a typo fails here and not in every node.
fn parse_planted_bug(name: &str) -> Result<String, String> {
    name.parse::<boxoffice_engine::node::PlantedBug>().map(|bug| bug.name().to_owned())
}

/// The history being recorded.
struct Recorder {
    started: Instant,
    ops: Mutex<Vec<Op>>,
}

impl Recorder {
    fn record(
        &self,
        process: u64,
        phase: Phase,
        request_id: RequestId,
        outcome: Option<String>,
        value: Value,
    ) {
        let mut ops = self.ops.lock().expect("history lock");
        let index = ops.len() as u64;
        let time_ns = self.started.elapsed().as_nanos() as u64;
        ops.push(Op { index, process, time_ns, phase, request_id: request_id.to_string(), outcome, value });
    }
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
];

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
        snapshot_every: 200,
        planted_bug: args.planted_bug.clone(),
    };
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
    anyhow::ensure!(
        matches!(args.workload.as_str(), "flash" | "mixed"),
        "--workload must be `flash` or `mixed`"
    );
    let (event, item) = setup(&client, args.quota_size, settle).await?;
    let mixed = if args.workload == "mixed" {
        Some(setup_mixed(&client, event, item, args.quota_size, settle).await?)
    } else {
        None
    };
    let recorder = Arc::new(Recorder { started: Instant::now(), ops: Mutex::new(Vec::new()) });
    let deadline = Instant::now() + Duration::from_secs(secs);
    println!(
        "seed {} plan {} for {secs} s: {} nodes, {} clients, quota of {}",
        args.seed, args.plan, args.nodes, args.clients, args.quota_size
    );

    let workload = Workload { event, item, deadline, cancel_ratio: args.cancel_ratio.clamp(0.0, 1.0) };
    let mut workers = Vec::new();
    for process in 0..args.clients.clamp(1, CLIENTS_MAX) {
        let (client, recorder) = (client.clone(), recorder.clone());
        let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(process);
        match mixed {
            None => workers.push(tokio::spawn(buyer(client, recorder, process, seed, workload))),
            Some(catalog) => {
                workers.push(tokio::spawn(shopper(client, recorder, process, seed, workload, catalog)))
            }
        }
    }

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
        inject(&cluster, &recorder, nemesis, fault, &mut rng).await?;
    }
    for worker in workers {
        worker.await?;
    }
    let history = recorder.ops.lock().expect("history lock").clone();
    let mut file = std::io::BufWriter::new(std::fs::File::create(args.out.join("history.jsonl"))?);
    history::write(&history, &mut file)?;
    drop(file);

    boxoffice_jepsen::report::plots(&history, &args.out)?;
    {
        // Every node a voter again, so convergence is judged on all of them.
        let c = cluster.lock().await;
        let admin = c.client(ClientOptions::default())?;
        if let Err(e) = restore_membership(&c, &admin).await {
            eprintln!("could not restore membership before the final check: {e}");
        }
    }
    let final_state = cluster.lock().await.final_state().await?;
    std::fs::write(args.out.join("final_state.json"), serde_json::to_vec(&final_state)?)?;
    let verdicts = checker::check_all(&history, &final_state);
    let summary = summarize(&args, secs, step, &history, &verdicts);
    std::fs::write(args.out.join("summary.txt"), &summary)?;
    print!("{summary}");
    Ok(verdicts.iter().all(|v| v.valid))
}

/// Organizer, event, one item in one quota; (event, item).
async fn setup(client: &Client, size: u64, settle: Duration) -> anyhow::Result<(EventId, ItemId)> {
    let accepted = |outcome: Outcome| match outcome {
        Outcome::Accepted(a) => Ok(a),
        Outcome::Rejected(r) => Err(anyhow::anyhow!("setup rejected: {r:?}")),
    };
    let client = &Settling { client, settle };
    let command =
        Command::CreateOrganizer { slug: "jepsen".into(), name: "Jepsen".into(), secret_key: [3; 32] };
    let Accepted::OrganizerCreated { organizer } = accepted(client.submit(command).await?.outcome)? else {
        unreachable!()
    };
    let command = Command::CreateEvent { organizer, slug: "sale".into(), name: "Flash sale".into() };
    let Accepted::EventCreated { event } = accepted(client.submit(command).await?.outcome)? else {
        unreachable!()
    };
    let command = Command::CreateItem { event, name: "GA".into(), price_cents: 1_000 };
    let Accepted::ItemCreated { item } = accepted(client.submit(command).await?.outcome)? else {
        unreachable!()
    };
    let command = Command::CreateQuota {
        event,
        name: "GA".into(),
        size: Some(size),
        items: vec![item],
        close_when_sold_out: false,
    };
    accepted(client.submit(command).await?.outcome)?;
    Ok((event, item))
}

/// What the mixed workload sells: three items over two overlapping quotas, and a door.
#[derive(Clone, Copy)]
struct Mixed {
    items: [ItemId; 3],
    list: CheckinListId,
}

/// Sunday and the weekend pass next to the flash item (Saturday), quotas
/// Saturday = {Saturday, Weekend} and Sunday = {Sunday, Weekend}, and a check-in list.
async fn setup_mixed(
    client: &Client,
    event: EventId,
    saturday: ItemId,
    size: u64,
    settle: Duration,
) -> anyhow::Result<Mixed> {
    let client = &Settling { client, settle };
    let accepted = |outcome: Outcome| match outcome {
        Outcome::Accepted(a) => Ok(a),
        Outcome::Rejected(r) => Err(anyhow::anyhow!("setup rejected: {r:?}")),
    };
    let item = |name: &'static str| async move {
        let command = Command::CreateItem { event, name: name.into(), price_cents: 2_000 };
        match accepted(client.submit(command).await?.outcome)? {
            Accepted::ItemCreated { item } => Ok::<_, anyhow::Error>(item),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    let sunday = item("Sunday").await?;
    let weekend = item("Weekend").await?;
    // The flash quota covers Saturday alone; the mixed quotas overlap on the weekend pass.
    for (name, items) in [("Saturday+", vec![saturday, weekend]), ("Sunday", vec![sunday, weekend])] {
        let command = Command::CreateQuota {
            event,
            name: name.into(),
            size: Some(size),
            items,
            close_when_sold_out: false,
        };
        accepted(client.submit(command).await?.outcome)?;
    }
    let command = Command::CreateCheckinList {
        event,
        name: "Gate".into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: false,
    };
    let Accepted::CheckinListCreated { list } = accepted(client.submit(command).await?.outcome)? else {
        anyhow::bail!("no list")
    };
    Ok(Mixed { items: [saturday, sunday, weekend], list })
}

/// A mixed shopper: a cart of one or two lines across overlapping quotas,
/// sometimes short-lived (it expires), sometimes abandoned; a checkout with a
/// short payment deadline, paid on time or late; some cancels; and every
/// ticket scanned twice (the second is refused), once with a repeated nonce.
async fn shopper(
    client: Client,
    recorder: Arc<Recorder>,
    process: u64,
    seed: u64,
    workload: Workload,
    shop: Mixed,
) {
    let Workload { event, deadline, cancel_ratio, .. } = workload;
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < deadline {
        let mut lines: Vec<(u64, u32)> =
            vec![(shop.items[rng.random_range(0..3)].0, rng.random_range(1..=2))];
        if rng.random_bool(0.3) {
            let other = shop.items[rng.random_range(0..3)].0;
            if other != lines[0].0 {
                lines.push((other, 1));
            }
        }
        let ttl_ms = if rng.random_bool(0.3) { rng.random_range(1_000..4_000) } else { 600_000 };
        let command = Command::PlaceHold {
            event,
            lines: lines
                .iter()
                .map(|(item, quantity)| Line { item: ItemId(*item), quantity: *quantity })
                .collect(),
            ttl_ms,
        };
        let value = Value::hold(lines, ttl_ms);
        let hold = match call(&client, &recorder, process, new_request_id(), command, value).await {
            Some(Outcome::Accepted(Accepted::HoldLive { hold, .. })) => hold,
            Some(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            None => continue,
        };
        if rng.random_bool(0.15) {
            continue; // abandoned: the hold lapses
        }
        if ttl_ms < 600_000 && rng.random_bool(0.5) {
            tokio::time::sleep(Duration::from_millis(ttl_ms + 200)).await; // too slow: checkout re-checks
        }
        let command = Command::Checkout { hold, payment_ttl_ms: 2_000 };
        let value = Value::checkout(hold.0, 2_000);
        let Some(Outcome::Accepted(Accepted::OrderPlaced { order, tickets, .. })) =
            call(&client, &recorder, process, new_request_id(), command, value).await
        else {
            continue;
        };
        if rng.random_bool(0.2) {
            tokio::time::sleep(Duration::from_millis(2_500)).await; // pays after the deadline
        }
        let value = Value::Pay { order: order.0, refund_owed: None };
        let paid = call(&client, &recorder, process, new_request_id(), Command::Pay { order }, value).await;
        if !matches!(paid, Some(Outcome::Accepted(Accepted::OrderPaid { .. }))) {
            continue;
        }
        if rng.random_bool(cancel_ratio) {
            let value = Value::Cancel { order: order.0 };
            call(&client, &recorder, process, new_request_id(), Command::CancelOrder { order }, value).await;
            continue;
        }
        for ticket in tickets {
            let nonce = Nonce(rand::random());
            for scan in [nonce, nonce, Nonce(rand::random())] {
                let command = Command::CheckIn {
                    list: shop.list,
                    secret: ticket.secret.clone(),
                    nonce: scan,
                    direction: Direction::Entry,
                };
                let value = Value::CheckIn {
                    list: shop.list.0,
                    secret: ticket.secret.clone(),
                    nonce: format!("{:032x}", scan.0),
                };
                call(&client, &recorder, process, new_request_id(), command, value).await;
            }
        }
    }
}

/// A client whose submissions wait `settle` after each answer.
struct Settling<'a> {
    client: &'a Client,
    settle: Duration,
}

impl Settling<'_> {
    async fn submit(&self, command: Command) -> Result<boxoffice_client::Submitted, ClientError> {
        let submitted = self.client.submit(command).await;
        tokio::time::sleep(self.settle).await;
        submitted
    }
}

/// Submit with one request id, recording invoke and completion.
async fn call(
    client: &Client,
    recorder: &Recorder,
    process: u64,
    request_id: RequestId,
    command: Command,
    value: Value,
) -> Option<Outcome> {
    recorder.record(process, Phase::Invoke, request_id, None, value.clone());
    match client.submit_with_id(request_id, command).await {
        Ok(submitted) => {
            let value = match (&value, &submitted.outcome) {
                (
                    Value::Hold { lines, ttl_ms, .. },
                    Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms }),
                ) => Value::Hold {
                    lines: lines.clone(),
                    ttl_ms: *ttl_ms,
                    hold: Some(hold.0),
                    expires_at_ms: Some(*expires_at_ms),
                },
                (
                    Value::Checkout { hold, payment_ttl_ms, .. },
                    Outcome::Accepted(Accepted::OrderPlaced { order, payment_deadline_ms, .. }),
                ) => Value::Checkout {
                    hold: *hold,
                    payment_ttl_ms: *payment_ttl_ms,
                    order: Some(order.0),
                    payment_deadline_ms: Some(*payment_deadline_ms),
                },
                (Value::Pay { order, .. }, Outcome::Accepted(accepted)) => Value::Pay {
                    order: *order,
                    refund_owed: Some(matches!(accepted, Accepted::PaymentRefundOwed { .. })),
                },
                _ => value,
            };
            let phase = if submitted.outcome.is_accepted() { Phase::Ok } else { Phase::Fail };
            recorder.record(process, phase, request_id, Some(submitted.outcome.label().into()), value);
            Some(submitted.outcome)
        }
        Err(ClientError::Unknown(why)) => {
            recorder.record(process, Phase::Info, request_id, Some(format!("unknown: {why}")), value);
            None
        }
        Err(e) => {
            let phase = if matches!(e, ClientError::NotApplied(_)) { Phase::Fail } else { Phase::Info };
            recorder.record(process, phase, request_id, None, value);
            None
        }
    }
}

/// One buyer: hold one ticket, check out, pay; sometimes resend a request
/// with the same id on purpose. Stops at the deadline or when sold out.
/// What every buyer shares.
#[derive(Clone, Copy)]
struct Workload {
    event: EventId,
    item: ItemId,
    deadline: Instant,
    cancel_ratio: f64,
}

async fn buyer(client: Client, recorder: Arc<Recorder>, process: u64, seed: u64, workload: Workload) {
    let Workload { event, item, deadline, cancel_ratio } = workload;
    let mut rng = StdRng::seed_from_u64(seed);
    while Instant::now() < deadline {
        let (id, command) = (
            new_request_id(),
            Command::PlaceHold { event, lines: vec![Line { item, quantity: 1 }], ttl_ms: 3_600_000 },
        );
        let value = Value::hold(vec![(item.0, 1)], 3_600_000);
        let outcome = call(&client, &recorder, process, id, command.clone(), value.clone()).await;
        if rng.random_bool(0.2) {
            // A deliberate retry: must return the original outcome.
            call(&client, &recorder, process, id, command, value).await;
        }
        let hold = match outcome {
            Some(Outcome::Accepted(Accepted::HoldLive { hold, .. })) => hold,
            Some(Outcome::Rejected(Rejection::SoldOut { .. })) => {
                // Sold out: keep asking (cancels free tickets), a little slower.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            _ => continue,
        };
        let id = new_request_id();
        let value = Value::checkout(hold.0, 3_600_000);
        let command = Command::Checkout { hold, payment_ttl_ms: 3_600_000 };
        let mut outcome = None;
        for _ in 0..5 {
            outcome = call(&client, &recorder, process, id, command.clone(), value.clone()).await;
            if outcome.is_some() || Instant::now() >= deadline {
                break;
            }
        }
        let Some(Outcome::Accepted(Accepted::OrderPlaced { order, .. })) = outcome else { continue };
        let id = new_request_id();
        let value = Value::Pay { order: order.0, refund_owed: None };
        let mut paid = None;
        for _ in 0..5 {
            paid = call(&client, &recorder, process, id, Command::Pay { order }, value.clone()).await;
            if paid.is_some() || Instant::now() >= deadline {
                break;
            }
        }
        // Some buyers cancel, which frees tickets for others.
        if paid.as_ref().is_some_and(Outcome::is_accepted) && rng.random_bool(cancel_ratio) {
            let (id, value) = (new_request_id(), Value::Cancel { order: order.0 });
            call(&client, &recorder, process, id, Command::CancelOrder { order }, value).await;
        }
    }
}

fn note(recorder: &Recorder, action: String) {
    println!("  nemesis: {action}");
    recorder.record(NEMESIS_PROCESS, Phase::Info, RequestId(0), None, Value::Nemesis { action });
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
    let ids = c.ids();
    let leader = c.leader().await.unwrap_or(ids[0]);
    let other =
        *ids.iter().filter(|id| **id != leader).nth(rng.random_range(0..ids.len() - 1)).expect("a follower");
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
            note(recorder, format!("wipe node {other}'s data directory"));
            c.wipe(other)?;
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
                c.spawn(*id, false)?;
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
                note(recorder, "heal".into());
                c.free_disk();
                c.heal();
                // The node may have stopped on the write error: start it again.
                c.kill(id);
                c.spawn(id, false)?;
                return Ok(());
            }
            None => {
                note(recorder, "disk-full skipped: mounting a small tmpfs needs root".into());
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
            let removed = admin_call(&admin, move |mut a| {
                let voters = voters.clone();
                async move { a.change_membership(v1::ChangeMembershipRequest { voters, retain: false }).await }
            })
            .await;
            if let Err(e) = removed {
                note(recorder, format!("membership change refused: {e}"));
            } else {
                c.wipe(other)?;
                drop(c);
                tokio::time::sleep(fault).await;
                c = cluster.lock().await;
                c.spawn(other, false)?;
            }
            if let Err(e) = restore_membership(&c, &admin).await {
                note(recorder, format!("membership not restored yet: {e}"));
            }
            note(recorder, "heal".into());
            c.heal();
            return Ok(());
        }
        other => anyhow::bail!("unknown nemesis {other}"),
    }
    drop(c);
    tokio::time::sleep(fault).await;
    let mut c = cluster.lock().await;
    note(recorder, "heal".into());
    c.heal();
    for id in c.ids() {
        c.signal(id, "CONT");
        if !c.is_running(id) {
            c.spawn(id, false)?;
        }
    }
    Ok(())
}

/// Most tries of one admin call, one second apart (a membership change waits
/// for the previous one to be committed).
const ADMIN_ATTEMPTS_MAX: u32 = 60;

/// Longest an admin call may take, retries included, in seconds: a cluster
/// that cannot change membership must not stall the schedule.
const ADMIN_WAIT_SECS: u64 = 90;

/// Make every node a voter again (after a membership change nemesis).
async fn restore_membership(cluster: &Cluster, admin: &Client) -> anyhow::Result<()> {
    let ids = cluster.ids();
    let status = admin.status(false).await?;
    let voters: BTreeSet<u64> = status.members.iter().filter(|m| m.voter).map(|m| m.id).collect();
    if ids.iter().all(|id| voters.contains(id)) && voters.len() == ids.len() {
        return Ok(());
    }
    for id in ids.iter().copied().filter(|id| !voters.contains(id)) {
        let (addr, zone) = (cluster.node_addr(id), format!("dc{id}"));
        admin_call(admin, move |mut a| {
            let request = v1::AddLearnerRequest { node_id: id, addr: addr.clone(), zone: zone.clone() };
            async move { a.add_learner(request).await }
        })
        .await?;
    }
    admin_call(admin, move |mut a| {
        let voters = ids.clone();
        async move { a.change_membership(v1::ChangeMembershipRequest { voters, retain: false }).await }
    })
    .await
}

/// Run an admin call on the leader, retrying while the cluster settles.
async fn admin_call<F, Fut>(client: &Client, call: F) -> anyhow::Result<()>
where
    F: FnMut(v1::admin_client::AdminClient<tonic::transport::Channel>) -> Fut + Clone,
    Fut: std::future::Future<Output = Result<tonic::Response<v1::AdminResponse>, tonic::Status>>,
{
    let mut last = String::from("no attempt made");
    let deadline = Instant::now() + Duration::from_secs(ADMIN_WAIT_SECS);
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
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {ADMIN_WAIT_SECS} s"),
        }
        tokio::time::sleep(Duration::from_secs(1).min(deadline.saturating_duration_since(Instant::now())))
            .await;
    }
    anyhow::bail!("admin call failed: {last}")
}

fn summarize(args: &Args, secs: u64, steps: usize, history: &[Op], verdicts: &[checker::Verdict]) -> String {
    let out = format!(
        "boxoffice-jepsen: seed {} plan {} ({} s, {} nodes, {} clients, {} fault steps, cancel ratio {}, planted bug {})\n",
        args.seed,
        args.plan,
        secs,
        args.nodes,
        args.clients,
        steps,
        args.cancel_ratio,
        args.planted_bug.as_deref().unwrap_or("none")
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
            "{:<14} {}  {}\n",
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
    let report =
        format!("boxoffice-jepsen --recheck {}\n", dir.display()) + &verdict_report(&history, &verdicts);
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
