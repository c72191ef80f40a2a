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

use crate::checker::{FinalState, NodeFinal};
use crate::proxy::{Mode, Proxy};
use boxoffice_client::{Client, ClientOptions};
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
}

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
                cluster.links.insert((from, to), proxy);
            }
            let proxy =
                Proxy::start(addr(&cluster.client_link_addr(to)), addr(&cluster.node_addr(to))).await?;
            cluster.client_links.insert(to, proxy);
        }
        for id in cluster.ids() {
            cluster.spawn(id, true)?;
        }
        Ok(cluster)
    }

    /// Start node `id` (with `--bootstrap` on a fresh cluster).
    pub fn spawn(&mut self, id: u64, bootstrap: bool) -> anyhow::Result<()> {
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
            .args(["--log-level", "warn,boxoffice_engine=info"])
            .arg("--data-dir")
            .arg(self.spec.dir.join(format!("n{id}")))
            .arg("--log-dir")
            .arg(self.spec.dir.join(format!("logs{id}")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(self.stderr_file(id)?);
        for peer in self.ids().into_iter().filter(|p| *p != id) {
            process.args(["--peer-route", &format!("{peer}={}", self.link_addr(id, peer))]);
        }
        if let Some(bug) = &self.spec.planted_bug {
            process.args(["--planted-bug", bug]);
        }
        if bootstrap {
            let members: Vec<String> =
                self.ids().iter().map(|m| format!("{m}={}/dc{m}", self.node_addr(*m))).collect();
            process.args(["--bootstrap", &members.join(",")]);
        }
        self.children.insert(id, process.spawn()?);
        Ok(())
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

    /// Delete node `id`'s data (the node is stopped first).
    pub fn wipe(&mut self, id: u64) -> anyhow::Result<()> {
        self.kill(id);
        let dir = self.spec.dir.join(format!("n{id}"));
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

    /// Every link passes with no added latency.
    pub fn heal(&self) {
        for proxy in self.links.values().chain(self.client_links.values()) {
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
