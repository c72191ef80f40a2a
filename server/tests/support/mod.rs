//! Real `boxoffice-server` processes for integration tests: start, kill -9,
//! restart, wipe, and clients to talk to them. Each test uses its own
//! loopback subnet (127.0.<subnet>.11-1x) so tests can run in parallel.

#![allow(dead_code)]

use boxoffice_client::{Client, ClientError, ClientOptions, Submitted};
use boxoffice_engine::domain::*;
use boxoffice_engine::node::Consistency;
use boxoffice_proto::v1;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a test waits for a cluster condition before failing.
pub const WAIT_MS: u64 = 30_000;

/// How often [`Cluster::isolate_leader`] tries before giving up.
pub const ISOLATE_TRIES_MAX: usize = 10;

pub struct Node {
    pub id: u64,
    pub grpc: String,
    pub http: String,
    pub data_dir: PathBuf,
    pub child: Option<Child>,
}

pub struct Cluster {
    pub dir: TempDir,
    pub subnet: u8,
    pub nodes: Vec<Node>,
    pub snapshot_every: u64,
    /// Voters the founding node adds before the cluster takes writes.
    founding: u64,
    formed: std::sync::atomic::AtomicBool,
    /// Environment variables of every node process.
    env: Vec<(String, String)>,
}

impl Cluster {
    /// Start `n` nodes and bootstrap them as one cluster.
    pub fn start(subnet: u8, n: u64, snapshot_every: u64) -> Cluster {
        Cluster::start_with_env(subnet, n, snapshot_every, &[])
    }

    /// [`Cluster::start`] with environment variables for every node.
    pub fn start_with_env(subnet: u8, n: u64, snapshot_every: u64, env: &[(&str, &str)]) -> Cluster {
        let mut cluster = Cluster {
            dir: TempDir::new().unwrap(),
            subnet,
            nodes: vec![],
            snapshot_every,
            founding: n,
            formed: Default::default(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        for id in 1..=n {
            cluster.add_node(id);
        }
        let members: Vec<String> =
            cluster.nodes.iter().map(|n| format!("{}={}/dc{}", n.id, n.grpc, n.id)).collect();
        for id in 1..=n {
            cluster.spawn(id, Some(&members.join(",")));
        }
        cluster
    }

    pub fn add_node(&mut self, id: u64) {
        let ip = format!("127.0.{}.{}", self.subnet, 10 + id);
        let data_dir = self.dir.path().join(format!("n{id}"));
        self.nodes.push(Node {
            id,
            grpc: format!("{ip}:7000"),
            http: format!("{ip}:9000"),
            data_dir,
            child: None,
        });
    }

    pub fn node(&mut self, id: u64) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.id == id).expect("node exists")
    }

    /// Start a node with an empty data directory that joins through the
    /// others' addresses; `rejoin` makes it a voter through the safe path.
    pub fn spawn_joining(&mut self, id: u64, rejoin: bool) {
        let peers: Vec<String> = self.nodes.iter().filter(|n| n.id != id).map(|n| n.grpc.clone()).collect();
        let mut extra = vec!["--join".to_string(), peers.join(",")];
        if rejoin {
            extra.push("--rejoin".into());
        }
        self.spawn_with(id, &extra);
    }

    pub fn spawn(&mut self, id: u64, bootstrap: Option<&str>) {
        let extra: Vec<String> = bootstrap.map(|m| vec!["--bootstrap".into(), m.into()]).unwrap_or_default();
        self.spawn_with(id, &extra);
    }

    /// Start node `id` with these extra flags.
    pub fn spawn_with(&mut self, id: u64, extra: &[String]) {
        let snapshot_every = self.snapshot_every.to_string();
        let log_dir = self.dir.path().join(format!("logs{id}"));
        let env = self.env.clone();
        let node = self.node(id);
        let mut process = Process::new(env!("CARGO_BIN_EXE_boxoffice-server"));
        process.envs(env);
        process
            .args(["--id", &id.to_string(), "--zone", &format!("dc{id}")])
            .args(["--listen", &node.grpc, "--http", &node.http])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .arg("--log-dir")
            .arg(&log_dir)
            .args(["--snapshot-every", &snapshot_every, "--log-level", "warn,boxoffice_engine=info"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        process.args(extra);
        node.child = Some(process.spawn().expect("start boxoffice-server"));
    }

    /// kill -9.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.node(id).child.take() {
            child.kill().expect("kill -9");
            child.wait().expect("reap");
        }
    }

    pub fn restart(&mut self, id: u64) {
        self.kill(id);
        self.spawn(id, None);
    }

    /// SIGSTOP: the process stays alive but answers nothing (a long pause).
    pub fn pause(&mut self, id: u64) {
        self.signal(id, "-STOP");
    }

    /// SIGCONT after [`Cluster::pause`].
    pub fn resume(&mut self, id: u64) {
        self.signal(id, "-CONT");
    }

    /// SIGTERM: ask node `id` to stop gracefully.
    pub fn terminate(&mut self, id: u64) {
        self.signal(id, "-TERM");
    }

    fn signal(&mut self, id: u64, signal: &str) {
        let pid = self.node(id).child.as_ref().expect("node running").id().to_string();
        let sent = Process::new("kill").args([signal, &pid]).status().expect("run kill");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Pause (SIGSTOP) every node but the leader, and make sure the node
    /// left running was still the leader once the others stopped (a leader
    /// seen a moment ago may have been replaced since). Returns (leader, paused).
    pub async fn isolate_leader(&mut self) -> (u64, Vec<u64>) {
        for _ in 0..ISOLATE_TRIES_MAX {
            let leader = self.leader().await;
            let others: Vec<u64> =
                self.nodes.iter().filter(|n| n.id != leader && n.child.is_some()).map(|n| n.id).collect();
            for id in &others {
                self.pause(*id);
            }
            if self.status_of(leader, false).await.is_some_and(|s| s.role == "leader") {
                return (leader, others);
            }
            for id in &others {
                self.resume(*id);
            }
        }
        panic!("no stable leader to isolate in {ISOLATE_TRIES_MAX} tries");
    }

    /// Wait (bounded) for node `id`'s process to exit on its own; its status.
    pub fn exit_status(&mut self, id: u64, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.node(id).child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                self.node(id).child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn wipe(&mut self, id: u64) {
        self.kill(id);
        std::fs::remove_dir_all(&self.node(id).data_dir).expect("wipe data dir");
    }

    /// The node's log file (JSON lines).
    pub fn log_text(&self, id: u64) -> String {
        let path = self.dir.path().join(format!("logs{id}")).join(format!("boxoffice-server-{id}.log"));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().filter(|n| n.child.is_some()).map(|n| n.grpc.clone()).collect()
    }

    pub fn client(&self) -> Client {
        Client::remote(&self.endpoints(), ClientOptions::default()).unwrap()
    }

    /// A client talking to one node only (for stale per-node reads).
    pub fn client_of(&self, id: u64) -> Client {
        let node = self.nodes.iter().find(|n| n.id == id).unwrap();
        let options = ClientOptions {
            attempt_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(4),
            ..ClientOptions::default()
        };
        Client::remote(std::slice::from_ref(&node.grpc), options).unwrap()
    }

    pub async fn status_of(&self, id: u64, digests: bool) -> Option<v1::ClusterStatus> {
        self.client_of(id).status_of_each(digests).await.pop().and_then(|(_, s)| s.ok())
    }

    /// Wait until some node reports itself leader (and, the first time,
    /// until the founding node has made every started node a voter); its id.
    pub async fn leader(&self) -> u64 {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
        while Instant::now() < deadline {
            for node in self.nodes.iter().filter(|n| n.child.is_some()) {
                if let Some(status) = self.status_of(node.id, false).await
                    && status.role == "leader"
                {
                    let voters = status.members.iter().filter(|m| m.voter).count() as u64;
                    if self.formed.load(Ordering::SeqCst) || voters >= self.founding {
                        self.formed.store(true, Ordering::SeqCst);
                        return node.id;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no leader within {WAIT_MS} ms");
    }

    /// Wait until every running node has applied the same last seq and has
    /// identical event-log and state digests; returns them.
    pub async fn converged(&self, ids: &[u64]) -> (String, String, u64) {
        let deadline = Instant::now() + Duration::from_millis(WAIT_MS);
        let mut last = Vec::new();
        while Instant::now() < deadline {
            let mut seen = Vec::new();
            for id in ids {
                if let Some(s) = self.status_of(*id, true).await {
                    seen.push((s.event_log_digest, s.state_digest, s.last_seq));
                }
            }
            if seen.len() == ids.len() && seen.windows(2).all(|w| w[0] == w[1]) && seen[0].2 > 0 {
                return seen.remove(0);
            }
            last = seen;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("nodes {ids:?} did not converge within {WAIT_MS} ms: {last:?}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A plain HTTP/1.0 GET over a TCP socket: (status line, body).
pub async fn http_get(addr: &str, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

/// A raw gRPC channel to one address (no retries, no leader discovery).
pub async fn channel(addr: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// Submit until the outcome is known, always with the same request id.
pub async fn known(client: &Client, command: Command) -> Outcome {
    let request_id = boxoffice_client::new_request_id();
    for _ in 0..10 {
        match client.submit_with_id(request_id, command.clone()).await {
            Ok(submitted) => return submitted.outcome,
            Err(ClientError::Unknown(_)) | Err(ClientError::NotApplied(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{command:?}: {e}"),
        }
    }
    panic!("{command:?}: outcome still unknown after 10 tries");
}

/// Accepted outcome or panic.
pub fn accepted(submitted: Submitted) -> Accepted {
    match submitted.outcome {
        Outcome::Accepted(a) => a,
        Outcome::Rejected(r) => panic!("rejected: {r:?}"),
    }
}

/// Organizer, event, one item in one quota of `size`: (event, item, quota).
pub async fn catalog(client: &Client, size: u64) -> (EventId, ItemId, QuotaId) {
    let create = Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [5; 32] };
    let Accepted::OrganizerCreated { organizer } = accepted(client.submit(create).await.unwrap()) else {
        panic!()
    };
    let create = Command::CreateEvent { organizer, slug: "gig".into(), name: "Gig".into() };
    let Accepted::EventCreated { event } = accepted(client.submit(create).await.unwrap()) else { panic!() };
    let create = Command::CreateItem { event, name: "GA".into(), price_cents: 2_500 };
    let Accepted::ItemCreated { item } = accepted(client.submit(create).await.unwrap()) else { panic!() };
    let create = Command::CreateQuota {
        event,
        name: "GA".into(),
        size: Some(size),
        items: vec![item],
        close_when_sold_out: false,
    };
    let Accepted::QuotaCreated { quota } = accepted(client.submit(create).await.unwrap()) else { panic!() };
    (event, item, quota)
}

/// The quota's counts as one node sees them (stale read from that node).
pub async fn quota_on(cluster: &Cluster, id: u64, quota: QuotaId) -> Option<QuotaAvailability> {
    cluster.client_of(id).quota_availability(quota, Consistency::Stale).await.ok()
}
