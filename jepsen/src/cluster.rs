//! The cluster under test: real `boxoffice-server` processes, each on its
//! own loopback address and zone, with a [`Proxy`] on every link.
//!
//! Addresses, for subnet `S` and node `i`:
//! - node `i` listens on `127.S.i.1:7000` (gRPC) and `127.S.i.1:9000` (HTTP);
//! - node `j` reaches node `i` through the proxy `127.S.i.(100+j):7000`
//!   (the server's `--peer-route`);
//! - clients reach node `i` through the proxy `127.S.i.200:7000` (the
//!   client's address rewrite, so leader redirects stay behind proxies too).
//!
//! So every link between two nodes, and between clients and a node, can be
//! cut, black-holed or slowed on its own, without root.
//!
//! # Starting, restarting, rebuilding
//!
//! Every node is started the same way, every time: with the same
//! `--bootstrap` list (the lowest id forms the cluster alone and adds the
//! others as learners, promoting each once it has caught up) and with
//! `--join` naming its peers *through its own links*, so that a restarted or
//! rebuilt node finds the cluster along the links the nemesis controls. A
//! node whose data directory is empty (the harness wiped it) is started with
//! `--rejoin` ([`Start::Rejoin`]): the server refuses to start a blank node
//! that the cluster counts as a voter (it lost its log and its vote), and
//! `--rejoin` is the safe way back (removed, re-added as a learner, promoted
//! once caught up). Only the membership nemesis starts a blank node plainly,
//! because it removed the node first and re-adds it itself.
//!
//! The harness needs a server built with the `fault-injection` feature (for
//! `--planted-bug` and the `Faults` service that skews clocks);
//! [`Cluster::start`] checks that and says how to build one otherwise.

use crate::checker::{FinalState, NodeFinal};
use crate::proxy::{Mode, Proxy};
use boxoffice_client::{Client, ClientOptions};
use boxoffice_proto::v1;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for a leader or for replicas to converge, in milliseconds.
pub const SETTLE_MS: u64 = 60_000;

/// Bytes of a node's stderr quoted when it does not come back.
pub const STDERR_TAIL_BYTES: u64 = 1_500;

/// Longest the final event log may take to read from one node, in seconds.
pub const FINAL_READ_SECS: u64 = 120;

/// Longest a fault switch (`SetClockOffset`) may take on one node, in
/// milliseconds, connection included.
pub const FAULT_CALL_MS: u64 = 2_000;

/// Pause between two looks at a starting or rejoining node, in milliseconds.
pub const POLL_MS: u64 = 250;

/// How a node is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// With its data as it is. A blank data directory makes it a new node
    /// that waits to be added (it refuses to start if the cluster counts it
    /// as a voter).
    Normal,
    /// With `--rejoin`: it makes itself a voter through the leader (removed
    /// if it was one, added back as a learner, promoted once caught up).
    Rejoin,
}

/// How a started node ended up, within a bounded wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Started {
    /// It answers a status request: it opened its data and serves.
    Serving,
    /// Its process exited, with this status.
    Exited {
        /// The exit status, as the OS says it.
        status: String,
        /// True if it exited with status 0.
        success: bool,
    },
    /// Neither, within the wait.
    Silent,
}

/// What to start.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Number of nodes (3 or 5).
    pub nodes: u64,
    /// Second octet of the loopback addresses, so runs do not collide.
    pub subnet: u8,
    /// The server binary.
    pub server_bin: PathBuf,
    /// Where data and logs go.
    pub dir: PathBuf,
    /// Snapshot interval, in Raft entries (small, to exercise snapshots).
    pub snapshot_every: u64,
    /// A bug to plant in every server (`--planted-bug`), to show a checker catches it.
    pub planted_bug: Option<String>,
    /// Latency on every link between two nodes for the whole run, as between
    /// data centers (zero on loopback); `heal` comes back to it, not to zero.
    pub zone_latency: Duration,
    /// Extra flags for every server (e.g. longer timeouts across zones).
    pub server_args: Vec<String>,
}

/// What a node without the `Faults` service answers, in the harness's words.
pub const NO_FAULTS_SERVICE: &str = "the server does not serve boxoffice.v1.Faults (UNIMPLEMENTED): it was \
    built without the `fault-injection` feature; build it with `cargo build -p boxoffice-server --features \
    boxoffice-server/fault-injection`";

/// Size of the small filesystem the last node's data lives on, for the
/// disk-full nemesis, in MiB.
pub const SMALL_DISK_MIB: u64 = 512;

/// The processes and links of a run.
pub struct Cluster {
    spec: ClusterSpec,
    /// The node whose data directory is on a small tmpfs (root only).
    small_disk: Option<u64>,
    children: BTreeMap<u64, Child>,
    links: BTreeMap<(u64, u64), Proxy>,
    client_links: BTreeMap<u64, Proxy>,
    /// Nodes started with `--rejoin` whose rejoin has not been seen to
    /// finish ([`Cluster::rejoin_done`]). Like an operator's supervisor,
    /// the harness keeps starting them with `--rejoin`: a node killed
    /// mid-rejoin has files in its data directory but none of the cluster's
    /// state, and the server rightly refuses it without the flag.
    rejoining: BTreeSet<u64>,
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a valid socket address")
}

impl Cluster {
    /// The gRPC address node `id` listens on (and advertises).
    pub fn node_addr(&self, id: u64) -> String {
        format!("127.{}.{id}.1:7000", self.spec.subnet)
    }

    fn link_addr(&self, from: u64, to: u64) -> String {
        format!("127.{}.{to}.{}:7000", self.spec.subnet, 100 + from)
    }

    fn client_link_addr(&self, id: u64) -> String {
        format!("127.{}.{id}.200:7000", self.spec.subnet)
    }

    /// The node ids.
    pub fn ids(&self) -> Vec<u64> {
        (1..=self.spec.nodes).collect()
    }

    /// Start the proxies and the nodes, and bootstrap the cluster.
    pub async fn start(spec: ClusterSpec) -> anyhow::Result<Cluster> {
        anyhow::ensure!(spec.server_bin.exists(), "server binary {} not found", spec.server_bin.display());
        let mut cluster = Cluster {
            spec,
            small_disk: None,
            children: BTreeMap::new(),
            links: BTreeMap::new(),
            client_links: BTreeMap::new(),
            rejoining: BTreeSet::new(),
        };
        // Where we may (as root), the last node gets a small filesystem of its own.
        let last = cluster.spec.nodes;
        let data = cluster.spec.dir.join(format!("n{last}"));
        std::fs::create_dir_all(&data)?;
        let mounted = Process::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={SMALL_DISK_MIB}m"), "tmpfs"])
            .arg(&data)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if mounted {
            cluster.small_disk = Some(last);
        }
        for to in cluster.ids() {
            for from in cluster.ids().into_iter().filter(|f| *f != to) {
                let proxy =
                    Proxy::start(addr(&cluster.link_addr(from, to)), addr(&cluster.node_addr(to))).await?;
                proxy.set_latency(cluster.spec.zone_latency);
                cluster.links.insert((from, to), proxy);
            }
            let proxy =
                Proxy::start(addr(&cluster.client_link_addr(to)), addr(&cluster.node_addr(to))).await?;
            cluster.client_links.insert(to, proxy);
        }
        for id in cluster.ids() {
            cluster.spawn(id, Start::Normal)?;
        }
        cluster.wait_formed().await?;
        cluster.check_fault_injection().await?;
        Ok(cluster)
    }

    /// Wait until the founding node has made every node a voter (writes are
    /// refused until then); fail at once, with its stderr, if a node exits.
    async fn wait_formed(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_millis(SETTLE_MS);
        loop {
            for id in self.ids() {
                if let Some(status) = self.exited(id) {
                    let tail = self.stderr_tail(id);
                    let hint = if tail.contains("planted-bug") {
                        " (a server built without the `fault-injection` feature does not know --planted-bug: \
                         build it with `cargo build -p boxoffice-server --features \
                         boxoffice-server/fault-injection`)"
                    } else {
                        ""
                    };
                    anyhow::bail!("node {id} exited at start ({status}){hint}; stderr tail: {tail}");
                }
            }
            if let Some(members) = self.members().await
                && self.ids().iter().all(|id| members.get(id) == Some(&true))
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "the cluster was not formed within {SETTLE_MS} ms");
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// Fail, saying how to build the right server, unless node 1 serves the
    /// `Faults` service (built with the `fault-injection` feature).
    async fn check_fault_injection(&self) -> anyhow::Result<()> {
        match self.set_clock_offset(1, 0).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains(NO_FAULTS_SERVICE) => Err(e),
            Err(e) => Err(e.context("checking the Faults service on node 1")),
        }
    }

    /// Skew node `id`'s wall clock by `offset_ms` (0 restores it), through
    /// the `Faults` service, directly (not through a proxy: this is the
    /// harness's own control path). Returns the node's skewed wall clock.
    pub async fn set_clock_offset(&self, id: u64, offset_ms: i64) -> anyhow::Result<u64> {
        use v1::faults_client::FaultsClient;
        let call = async {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", self.node_addr(id)))?
                .connect_timeout(Duration::from_millis(FAULT_CALL_MS))
                .connect()
                .await?;
            let answer =
                FaultsClient::new(channel).set_clock_offset(v1::SetClockOffsetRequest { offset_ms }).await;
            match answer {
                Ok(answer) => Ok(answer.into_inner().wall_ms),
                Err(status) if status.code() == tonic::Code::Unimplemented => {
                    anyhow::bail!("node {id}: {NO_FAULTS_SERVICE}")
                }
                Err(status) => anyhow::bail!("node {id}: SetClockOffset: {}", status.message()),
            }
        };
        tokio::time::timeout(Duration::from_millis(FAULT_CALL_MS * 2), call).await.map_err(|_| {
            anyhow::anyhow!("node {id}: SetClockOffset: no answer within {} ms", FAULT_CALL_MS * 2)
        })?
    }

    /// The members (id to voter) as the leader sees them; `None` if no leader answers.
    pub async fn members(&self) -> Option<BTreeMap<u64, bool>> {
        let leader = self.leader().await?;
        let status = self.direct(leader).ok()?.status(false).await.ok()?;
        Some(status.members.iter().map(|m| (m.id, m.voter)).collect())
    }

    /// Wait up to `wait` until node `id`, started with `--rejoin`, has
    /// finished rejoining: it has applied at least what the leader had
    /// logged when the wait began, and the leader counts it as a voter.
    /// Being a voter alone is not enough: before a wiped node has had
    /// itself removed, the leader still lists it as the voter it was (the
    /// long random run of 2026-11-24 moved on at that moment and wiped a
    /// second node while the first had none of the data). A rejoining node
    /// takes part in Raft only once it was removed, so applying entries
    /// proves it got past the removal, and a voter after that was promoted.
    pub async fn rejoin_done(&mut self, id: u64, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let mut target = None;
        loop {
            if target.is_none()
                && let Some(leader) = self.leader().await
                && let Ok(client) = self.direct(leader)
                && let Ok(status) = client.status(false).await
            {
                target = Some(status.last_log_index);
            }
            if let Some(target) = target
                && self.applied(id).await.is_some_and(|applied| applied >= target)
                && self.members().await.is_some_and(|m| m.get(&id) == Some(&true))
            {
                self.rejoining.remove(&id);
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// Node `id`'s applied index, as it reports it.
    async fn applied(&self, id: u64) -> Option<u64> {
        let client = self.direct(id).ok()?;
        Some(client.status(false).await.ok()?.applied_index)
    }

    /// True if the cluster is whole: no rejoin is under way and the leader
    /// counts every node as a voter. A nemesis that destroys a node's data
    /// waits for this: the failure model loses one node's disk at a time,
    /// and a second one lost before the first is rebuilt leaves the
    /// acknowledged writes on fewer than a majority.
    pub async fn whole(&self) -> bool {
        self.rejoining.is_empty()
            && self.members().await.is_some_and(|m| self.ids().iter().all(|id| m.get(id) == Some(&true)))
    }

    /// Wait up to `wait` for [`Cluster::whole`], finishing rejoins that
    /// are under way as it goes.
    pub async fn wait_whole(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            for id in self.rejoining.clone() {
                self.rejoin_done(id, Duration::ZERO).await;
            }
            if self.whole().await {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// Node `id`'s data directory.
    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.spec.dir.join(format!("n{id}"))
    }

    /// True if node `id`'s data directory is empty (or missing): the harness
    /// wiped it, or the node never wrote anything.
    pub fn is_blank(&self, id: u64) -> bool {
        std::fs::read_dir(self.data_dir(id)).map_or(true, |mut entries| entries.next().is_none())
    }

    /// Start node `id` again after it stopped: with `--rejoin` if its data
    /// directory is blank or its last rejoin has not finished (see the
    /// module docs), else as it is.
    pub fn restart(&mut self, id: u64) -> anyhow::Result<Start> {
        let start = self.restart_mode(id);
        self.spawn(id, start)?;
        Ok(start)
    }

    /// How [`Cluster::restart`] starts node `id`.
    fn restart_mode(&self, id: u64) -> Start {
        if self.is_blank(id) || self.rejoining.contains(&id) { Start::Rejoin } else { Start::Normal }
    }

    /// Start node `id`, always with the cluster's `--bootstrap` list and
    /// `--join` naming its peers through its own links (module docs).
    pub fn spawn(&mut self, id: u64, start: Start) -> anyhow::Result<()> {
        let mut process = self.command(id, start);
        process.stdin(Stdio::null()).stdout(Stdio::null()).stderr(self.stderr_file(id)?);
        self.children.insert(id, process.spawn()?);
        if start == Start::Rejoin {
            self.rejoining.insert(id);
        }
        Ok(())
    }

    /// The command line that starts node `id` (see [`Cluster::spawn`]).
    fn command(&self, id: u64, start: Start) -> Process {
        let subnet = self.spec.subnet;
        let mut process = Process::new(&self.spec.server_bin);
        process
            .args(["--id", &id.to_string(), "--zone", &format!("dc{id}"), "--listen", &self.node_addr(id)])
            .args([
                "--http",
                &format!("127.{subnet}.{id}.1:9000"),
                "--snapshot-every",
                &self.spec.snapshot_every.to_string(),
            ])
            .args(["--log-level", "warn,boxoffice_engine=info,boxoffice_server=info"])
            .arg("--data-dir")
            .arg(self.data_dir(id))
            .arg("--log-dir")
            .arg(self.spec.dir.join(format!("logs{id}")))
            .args(&self.spec.server_args);
        let peers: Vec<u64> = self.ids().into_iter().filter(|p| *p != id).collect();
        for peer in &peers {
            process.args(["--peer-route", &format!("{peer}={}", self.link_addr(id, *peer))]);
        }
        let members: Vec<String> =
            self.ids().iter().map(|m| format!("{m}={}/dc{m}", self.node_addr(*m))).collect();
        process.args(["--bootstrap", &members.join(",")]);
        let join: Vec<String> = peers.iter().map(|peer| self.link_addr(id, *peer)).collect();
        process.args(["--join", &join.join(",")]);
        if start == Start::Rejoin {
            process.arg("--rejoin");
        }
        if let Some(bug) = &self.spec.planted_bug {
            process.args(["--planted-bug", bug]);
        }
        process
    }

    /// Wait up to `wait` for node `id`, just started, to serve or to exit.
    pub async fn started(&mut self, id: u64, wait: Duration) -> Started {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(child) = self.children.get_mut(&id)
                && let Ok(Some(status)) = child.try_wait()
            {
                self.children.remove(&id);
                return Started::Exited { status: status.to_string(), success: status.success() };
            }
            if !self.is_running(id) {
                return Started::Exited { status: "not running".into(), success: false };
            }
            if self.answers(id).await {
                return Started::Serving;
            }
            if Instant::now() >= deadline {
                return Started::Silent;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }

    /// If node `id`'s process has exited, forget it and say how it ended.
    pub fn exited(&mut self, id: u64) -> Option<String> {
        let status = self.children.get_mut(&id)?.try_wait().ok().flatten()?;
        self.children.remove(&id);
        Some(status.to_string())
    }

    /// The last [`STDERR_TAIL_BYTES`] of node `id`'s stderr, on one line.
    pub fn stderr_tail(&self, id: u64) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let path = self.spec.dir.join(format!("n{id}.stderr"));
        let Ok(mut file) = std::fs::File::open(&path) else { return String::from("(no stderr file)") };
        let length = file.metadata().map_or(0, |m| m.len());
        let _ = file.seek(SeekFrom::Start(length.saturating_sub(STDERR_TAIL_BYTES)));
        let mut tail = Vec::new();
        let _ = file.read_to_end(&mut tail);
        let text = String::from_utf8_lossy(&tail);
        let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() { String::from("(empty)") } else { lines.join(" | ") }
    }

    /// The length of node `id`'s stderr file now, in bytes: where what a
    /// process started next writes begins.
    pub fn stderr_len(&self, id: u64) -> u64 {
        std::fs::metadata(self.spec.dir.join(format!("n{id}.stderr"))).map_or(0, |m| m.len())
    }

    /// What node `id` wrote to stderr from byte `from` on (lossy UTF-8).
    pub fn stderr_since(&self, id: u64, from: u64) -> String {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(self.spec.dir.join(format!("n{id}.stderr"))) else {
            return String::new();
        };
        let mut bytes = Vec::new();
        if file.seek(SeekFrom::Start(from)).is_ok() {
            let _ = file.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// True if node `id` answers a status request (directly, not via a proxy).
    pub async fn answers(&self, id: u64) -> bool {
        let Ok(client) = self.direct(id) else { return false };
        matches!(client.status_of_each(false).await.pop(), Some((_, Ok(_))))
    }

    /// Node `id`'s stderr (panics land here), appended across restarts.
    fn stderr_file(&self, id: u64) -> anyhow::Result<std::fs::File> {
        let path = self.spec.dir.join(format!("n{id}.stderr"));
        Ok(std::fs::OpenOptions::new().create(true).append(true).open(path)?)
    }

    /// kill -9 node `id`.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Is node `id` running?
    pub fn is_running(&self, id: u64) -> bool {
        self.children.contains_key(&id)
    }

    /// Send a signal (`STOP`, `CONT`, `TERM`) to node `id`.
    pub fn signal(&self, id: u64, signal: &str) {
        if let Some(child) = self.children.get(&id) {
            let _ = Process::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
        }
    }

    /// Delete node `id`'s data (the node is stopped first). It comes back
    /// through `--rejoin` ([`Cluster::restart`]).
    pub fn wipe(&mut self, id: u64) -> anyhow::Result<()> {
        self.kill(id);
        let dir = self.data_dir(id);
        if dir.exists() {
            // Empty it rather than remove it: it may be a mount point.
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() { std::fs::remove_dir_all(path)? } else { std::fs::remove_file(path)? }
            }
        }
        Ok(())
    }

    /// The node on a small filesystem, if this run could mount one (root).
    pub fn small_disk(&self) -> Option<u64> {
        self.small_disk
    }

    /// Fill the small filesystem until writes fail; returns the bytes written.
    pub fn fill_disk(&self) -> anyhow::Result<u64> {
        use std::io::Write;
        let Some(id) = self.small_disk else { anyhow::bail!("no small filesystem in this run") };
        let mut file = std::fs::File::create(self.filler(id))?;
        let chunk = vec![0u8; 1 << 20];
        let mut written = 0u64;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        let _ = file.sync_all();
        Ok(written)
    }

    /// Free the small filesystem again.
    pub fn free_disk(&self) {
        if let Some(id) = self.small_disk {
            let _ = std::fs::remove_file(self.filler(id));
        }
    }

    fn filler(&self, id: u64) -> PathBuf {
        self.spec.dir.join(format!("n{id}")).join("filler")
    }

    /// Set every link between different groups to `mode`; links within a
    /// group pass. Nodes in no group keep their links.
    pub fn partition(&self, groups: &[Vec<u64>], mode: Mode) {
        let group_of = |id: u64| groups.iter().position(|g| g.contains(&id));
        for ((from, to), proxy) in &self.links {
            match (group_of(*from), group_of(*to)) {
                (Some(a), Some(b)) if a != b => proxy.set_mode(mode),
                (Some(_), Some(_)) => proxy.set_mode(Mode::Pass),
                _ => {}
            }
        }
    }

    /// Cut (or restore) the links from node `from` to node `to` only: for rings of overlapping majorities.
    pub fn set_link(&self, from: u64, to: u64, mode: Mode) {
        if let Some(proxy) = self.links.get(&(from, to)) {
            proxy.set_mode(mode);
        }
    }

    /// Cut clients off from these nodes.
    pub fn cut_clients(&self, ids: &BTreeSet<u64>, mode: Mode) {
        for (id, proxy) in &self.client_links {
            if ids.contains(id) {
                proxy.set_mode(mode);
            }
        }
    }

    /// Latency on the link from node `from` to node `to`.
    pub fn set_latency(&self, from: u64, to: u64, latency: Duration) {
        if let Some(proxy) = self.links.get(&(from, to)) {
            proxy.set_latency(latency);
        }
    }

    /// Every link passes; links between nodes have the run's zone latency
    /// again, client links none.
    pub fn heal(&self) {
        for proxy in self.links.values() {
            proxy.set_mode(Mode::Pass);
            proxy.set_latency(self.spec.zone_latency);
        }
        for proxy in self.client_links.values() {
            proxy.set_mode(Mode::Pass);
            proxy.set_latency(Duration::ZERO);
        }
    }

    /// A client that reaches every node through its client proxy.
    pub fn client(&self, options: ClientOptions) -> anyhow::Result<Client> {
        let endpoints: Vec<String> = self.ids().iter().map(|id| self.client_link_addr(*id)).collect();
        let rewrite = self.ids().iter().map(|id| (self.node_addr(*id), self.client_link_addr(*id))).collect();
        Ok(Client::remote(&endpoints, ClientOptions { rewrite, ..options })?)
    }

    /// A client of one node, direct (no proxy): for final-state reads.
    pub fn direct(&self, id: u64) -> anyhow::Result<Client> {
        let options = ClientOptions {
            attempt_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(3),
            ..ClientOptions::default()
        };
        Ok(Client::remote(&[self.node_addr(id)], options)?)
    }

    /// The node that says it leads, if any.
    pub async fn leader(&self) -> Option<u64> {
        for id in self.ids().into_iter().filter(|id| self.is_running(*id)) {
            let Ok(client) = self.direct(id) else { continue };
            if let Some((_, Ok(status))) = client.status_of_each(false).await.pop()
                && status.role == "leader"
            {
                return Some(id);
            }
        }
        None
    }

    /// Wait for a leader.
    pub async fn wait_leader(&self) -> anyhow::Result<u64> {
        let deadline = Instant::now() + Duration::from_millis(SETTLE_MS);
        while Instant::now() < deadline {
            if let Some(id) = self.leader().await {
                return Ok(id);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("no leader within {SETTLE_MS} ms")
    }

    /// After healing: wait until every node reports the same last seq, then
    /// collect digests and one node's full event log.
    pub async fn final_state(&self) -> anyhow::Result<FinalState> {
        let deadline = Instant::now() + Duration::from_millis(SETTLE_MS);
        let mut nodes = Vec::new();
        loop {
            nodes.clear();
            for id in self.ids() {
                // A node that does not answer is reported with empty digests,
                // so the convergence checker sees it, rather than left out.
                let status = self.direct(id)?.status_of_each(true).await.pop().and_then(|(_, s)| s.ok());
                nodes.push(match status {
                    Some(status) => NodeFinal {
                        id,
                        event_log_digest: status.event_log_digest,
                        state_digest: status.state_digest,
                        last_seq: status.last_seq,
                    },
                    None => NodeFinal {
                        id,
                        event_log_digest: String::new(),
                        state_digest: String::new(),
                        last_seq: 0,
                    },
                });
            }
            let agreed = nodes.windows(2).all(|w| w[0].event_log_digest == w[1].event_log_digest)
                && nodes.iter().all(|n| !n.event_log_digest.is_empty());
            if agreed || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let last_seq = nodes.iter().map(|n| n.last_seq).max().unwrap_or(0);
        // The event log from the most advanced node that streams it whole.
        let sources: Vec<u64> = nodes
            .iter()
            .filter(|n| !n.event_log_digest.is_empty() && n.last_seq == last_seq)
            .map(|n| n.id)
            .collect();
        let mut errors = Vec::new();
        for source in sources {
            let read =
                tokio::time::timeout(Duration::from_secs(FINAL_READ_SECS), self.records(source, last_seq));
            match read.await {
                Ok(Ok(records)) => return Ok(FinalState { nodes, records }),
                Ok(Err(e)) => errors.push(format!("node {source}: {e:#}")),
                Err(_) => errors.push(format!("node {source}: not read within {FINAL_READ_SECS} s")),
            }
        }
        anyhow::bail!("no node streamed its event log up to seq {last_seq}: {}", errors.join("; "))
    }

    /// Node `id`'s event log, seq 1..=`last_seq`.
    async fn records(&self, id: u64, last_seq: u64) -> anyhow::Result<Vec<boxoffice_engine::domain::Record>> {
        use futures::StreamExt;
        let mut records = Vec::new();
        let mut stream = self.direct(id)?.subscribe(1).await?.take(last_seq as usize);
        while let Some(record) = stream.next().await {
            records.push(record?);
        }
        anyhow::ensure!(records.len() as u64 == last_seq, "{} records of {last_seq}", records.len());
        Ok(records)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in self.ids() {
            self.signal(id, "CONT");
            self.kill(id);
        }
        if let Some(id) = self.small_disk {
            // Keep the node's data in the results (the tmpfs goes with the
            // mount): copy it out, unmount, and put the copy in its place.
            self.free_disk();
            let data = self.spec.dir.join(format!("n{id}"));
            let kept = self.spec.dir.join(format!("n{id}.kept"));
            let copied =
                Process::new("cp").arg("-a").arg(&data).arg(&kept).status().is_ok_and(|s| s.success());
            let _ = Process::new("umount").arg(&data).status();
            if copied && std::fs::remove_dir(&data).is_ok() {
                let _ = std::fs::rename(&kept, &data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster of `nodes` with no processes and no proxies, in `dir`.
    fn idle(nodes: u64, dir: &std::path::Path) -> Cluster {
        let spec = ClusterSpec {
            nodes,
            subnet: 90,
            server_bin: "boxoffice-server".into(),
            dir: dir.to_owned(),
            snapshot_every: 100,
            planted_bug: None,
            zone_latency: Duration::ZERO,
            server_args: Vec::new(),
        };
        Cluster {
            spec,
            small_disk: None,
            children: BTreeMap::new(),
            links: BTreeMap::new(),
            client_links: BTreeMap::new(),
            rejoining: BTreeSet::new(),
        }
    }

    fn args(cluster: &Cluster, id: u64, start: Start) -> Vec<String> {
        cluster.command(id, start).get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    fn value_of(args: &[String], flag: &str) -> Option<String> {
        args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1).cloned())
    }

    #[test]
    fn every_node_gets_the_same_bootstrap_list_and_joins_through_its_own_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = idle(3, dir.path());
        let members = "1=127.90.1.1:7000/dc1,2=127.90.2.1:7000/dc2,3=127.90.3.1:7000/dc3";
        for id in 1..=3 {
            let args = args(&cluster, id, Start::Normal);
            assert_eq!(value_of(&args, "--bootstrap").as_deref(), Some(members));
            assert!(!args.contains(&"--rejoin".to_string()));
        }
        // Node 2 reaches node 1 through 127.90.1.102 and node 3 through 127.90.3.102.
        let args = args(&cluster, 2, Start::Normal);
        assert_eq!(value_of(&args, "--join").as_deref(), Some("127.90.1.102:7000,127.90.3.102:7000"));
    }

    #[test]
    fn a_wiped_node_restarts_with_rejoin_and_one_with_data_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cluster = idle(3, dir.path());
        assert_eq!(cluster.restart_mode(1), Start::Rejoin, "a missing directory is blank");
        std::fs::create_dir_all(cluster.data_dir(1).join("log")).expect("mkdir");
        assert_eq!(cluster.restart_mode(1), Start::Normal);
        std::fs::create_dir_all(cluster.data_dir(2)).expect("mkdir");
        assert_eq!(
            cluster.restart_mode(2),
            Start::Rejoin,
            "an empty directory (a wiped mount point) is blank"
        );
        assert!(args(&cluster, 2, Start::Rejoin).contains(&"--rejoin".to_string()));
    }

    #[test]
    fn a_node_killed_before_its_rejoin_finished_restarts_with_rejoin_though_it_has_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cluster = idle(3, dir.path());
        // What a node killed mid-install leaves: a lock, a log, a state machine, none of the data.
        for sub in ["log", "sm"] {
            std::fs::create_dir_all(cluster.data_dir(3).join(sub)).expect("mkdir");
        }
        assert_eq!(cluster.restart_mode(3), Start::Normal, "files and no rejoin under way: as it is");
        cluster.rejoining.insert(3);
        assert_eq!(cluster.restart_mode(3), Start::Rejoin, "its rejoin has not been seen to finish");
        cluster.rejoining.remove(&3);
        assert_eq!(cluster.restart_mode(3), Start::Normal);
    }
}
