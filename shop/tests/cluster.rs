//! Two `boxoffice-shop` processes in front of one real three-node cluster
//! (`boxoffice-server` processes on 127.0.90.11-13), as behind a load
//! balancer: they share one waiting room per event, a visitor's cookies from
//! one shop are honoured by the other, and a shop killed with SIGKILL and
//! started again admits no one early, because who is admitted is a fact of
//! the replicated log, not of a shop's memory.
//!
//! The server binary is the one `cargo test --workspace` builds beside this
//! crate's own (`target/<profile>/boxoffice-server`).

mod common;

use boxoffice_shop::inventory::domain::EventId;
use boxoffice_shop::inventory::{Client, ClientOptions, Consistency};
use boxoffice_shop::tokens::Keys;
use boxoffice_shop::waiting_room::tickets;
use common::{ADMIN_PASSWORD, API_TOKEN, Browser, demo, queued};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The loopback subnet of this test (127.0.90.x); the server tests use 41-56.
const SUBNET: u8 = 90;

/// How long the cluster and a shop may take to start (an election, the demo).
const START_WAIT_MS: u64 = 60_000;

/// The room's rate: one visitor a second.
const ADMIT_PER_MINUTE: u64 = 60;

/// Visitors queued, alternately at each shop.
const QUEUED_VISITORS: usize = 8;

/// The MAC key both shops share (a deployment's `BOXOFFICE_SHOP_MAC_KEY`).
const MAC_KEY: [u8; 32] = [42; 32];

/// A process killed (SIGKILL) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_boxoffice-shop")).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: this test needs the server binary, which `cargo test --workspace` builds \
         (or `cargo build -p boxoffice-server`)",
        path.display()
    );
    path
}

fn grpc(id: u64) -> String {
    format!("127.0.{SUBNET}.{}:7000", 10 + id)
}

fn start_node(dir: &Path, id: u64) -> Process {
    let members: Vec<String> = (1..=3).map(|n| format!("{n}={}/dc{n}", grpc(n))).collect();
    let child = Command::new(binary("boxoffice-server"))
        .args(["--id", &id.to_string(), "--zone", &format!("dc{id}")])
        .args(["--listen", &grpc(id), "--http", &format!("127.0.{SUBNET}.{}:9000", 10 + id)])
        .arg("--data-dir")
        .arg(dir.join(format!("n{id}")))
        .arg("--log-dir")
        .arg(dir.join(format!("logs{id}")))
        .args(["--log-level", "warn", "--bootstrap", &members.join(",")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start boxoffice-server");
    Process(child)
}

/// Start a shop process on `addr` against the cluster; wait until it is ready.
async fn start_shop(addr: &str) -> Process {
    let endpoints: Vec<String> = (1..=3).map(grpc).collect();
    let child = Command::new(env!("CARGO_BIN_EXE_boxoffice-shop"))
        .args(["--listen", addr, "--endpoints", &endpoints.join(","), "--log", "warn"])
        .env("BOXOFFICE_SHOP_MAC_KEY", hex::encode(MAC_KEY))
        .env("BOXOFFICE_SHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BOXOFFICE_SHOP_API_TOKEN", API_TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start boxoffice-shop");
    let shop = Process(child);
    let http = common::http();
    let deadline = Instant::now() + Duration::from_millis(START_WAIT_MS);
    loop {
        if let Ok(response) = http.get(format!("http://{addr}/ready")).send().await
            && response.status() == 200
        {
            return shop;
        }
        assert!(Instant::now() < deadline, "the shop on {addr} was not ready within {START_WAIT_MS} ms");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shop_processes_on_one_cluster_share_a_waiting_room_and_a_restarted_shop_admits_no_one_early() {
    let dir = tempfile::tempdir().unwrap();
    let _nodes: Vec<Process> = (1..=3).map(|id| start_node(dir.path(), id)).collect();
    let addrs = [format!("127.0.{SUBNET}.21:8080"), format!("127.0.{SUBNET}.22:8080")];
    // Both start at once: the demo is created once (its steps have fixed request ids).
    let (first, second) = tokio::join!(start_shop(&addrs[0]), start_shop(&addrs[1]));
    let mut shops = [Some(first), Some(second)];
    let bases = addrs.iter().map(|a| format!("http://{a}")).collect::<Vec<_>>();

    let client = Client::remote(&(1..=3).map(grpc).collect::<Vec<_>>(), ClientOptions::default()).unwrap();
    let inventory = boxoffice_shop::backend::Inventory::new(client.clone());
    let organizer = inventory.organizer("demo").await.unwrap().0;
    let event = inventory.event_by_slug(organizer, "jazz-night").await.unwrap().id;

    let admin = Browser::new(&bases[0]);
    admin.login().await;
    common::configure_room(&admin, event, &ADMIT_PER_MINUTE.to_string(), "1", false).await;

    // A stream of newcomers, alternately at each shop, well past one a second.
    let keys = Keys::new(MAC_KEY);
    let mut waiting: Vec<(usize, Browser, u64)> = Vec::new();
    let mut attempts = 0;
    while waiting.len() < QUEUED_VISITORS {
        attempts += 1;
        assert!(attempts < 4 * QUEUED_VISITORS, "newcomers past the threshold queue");
        let shop = attempts % 2;
        let visitor = Browser::new(&bases[shop]);
        let page = visitor.get(demo::JAZZ).await;
        if queued(&page) {
            let cookie = visitor.cookie(&format!("bo_queue_{}", event)).expect("a queue cookie");
            let position = tickets::queue_position(&keys, event, &cookie).expect("a signed position");
            waiting.push((shop, visitor, position));
        } else {
            assert_eq!(page.status, 200, "{}", page.body);
        }
    }
    let mut positions: Vec<u64> = waiting.iter().map(|(_, _, p)| *p).collect();
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), QUEUED_VISITORS, "one queue over both shops: distinct places {positions:?}");
    assert!(waiting.iter().any(|(s, _, _)| *s == 0) && waiting.iter().any(|(s, _, _)| *s == 1));

    // Kill the first shop without warning and start a new one in its place.
    drop(shops[0].take());
    shops[0] = Some(start_shop(&addrs[0]).await);

    // Everyone polls the queue page at the *other* shop than the one that
    // queued them; admissions come in order of position, at the room's rate.
    let started = Instant::now();
    let mut admitted_at: Vec<Option<Duration>> = vec![None; waiting.len()];
    while admitted_at.iter().any(Option::is_none) {
        assert!(started.elapsed() < Duration::from_secs(60), "everyone is admitted in time: {admitted_at:?}");
        for (i, (shop, visitor, _)) in waiting.iter().enumerate() {
            if admitted_at[i].is_some() {
                continue;
            }
            let elsewhere = Browser::new(&bases[1 - shop]);
            *elsewhere.jar.lock().unwrap() = visitor.jar.lock().unwrap().clone();
            let page = elsewhere.get("/demo/jazz-night/queue").await;
            if page.status == 303 {
                assert_eq!(page.location.as_deref(), Some(demo::JAZZ));
                admitted_at[i] = Some(started.elapsed());
                *visitor.jar.lock().unwrap() = elsewhere.jar.lock().unwrap().clone();
            } else {
                assert_eq!(page.status, 200, "{}", page.body);
                assert!(page.has("ahead of you") || page.has("You are next"), "{}", page.body);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut by_position: Vec<(u64, Duration)> =
        waiting.iter().zip(&admitted_at).map(|((_, _, p), t)| (*p, t.unwrap())).collect();
    by_position.sort();
    println!("admitted (position, after): {by_position:?}");
    assert!(by_position.windows(2).all(|w| w[0].1 <= w[1].1), "first come, first served: {by_position:?}");
    // The rate holds across the restart: n admissions take (n - 1) seconds,
    // give or take a poll round and the one-second room cache.
    let spread = by_position[QUEUED_VISITORS - 1].1 - by_position[0].1;
    let interval_ms = 60_000 / ADMIT_PER_MINUTE;
    let expected = Duration::from_millis(interval_ms * (QUEUED_VISITORS as u64 - 1));
    assert!(spread + Duration::from_millis(1_500) >= expected, "admitted too fast: {by_position:?}");

    // Admitted visitors shop at both shops with the cookie one of them gave.
    for (_, visitor, _) in &waiting {
        for base in &bases {
            let there = Browser::new(base);
            *there.jar.lock().unwrap() = visitor.jar.lock().unwrap().clone();
            assert_eq!(there.get(demo::JAZZ).await.status, 200, "admitted at {base}");
        }
    }
    let room = client.waiting_room(EventId(event), Consistency::Linearizable).await.unwrap().unwrap();
    assert!(room.joined >= *positions.last().unwrap(), "{room:?}");
    client.shutdown().await;
}
