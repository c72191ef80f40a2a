//! A controllable TCP proxy, one per link (node to node, client to node).
//!
//! Faults are applied to a link by switching its proxy's mode:
//! - `Pass`: forward both ways, after an optional added latency per chunk;
//! - `Refuse`: close new and existing connections at once (a refused or
//!   reset connection: the peer learns quickly that it is cut off);
//! - `BlackHole`: accept and hold connections but forward nothing (a silent
//!   partition: the peer learns only by timing out).
//!
//! No root needed: every proxy is a loopback listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Bytes read per chunk when forwarding.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// What a link does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward.
    Pass,
    /// Reset connections.
    Refuse,
    /// Hold connections, forward nothing.
    BlackHole,
}

/// A running proxy; dropping it stops accepting.
pub struct Proxy {
    /// Where it listens.
    pub listen: SocketAddr,
    /// Where it forwards.
    pub target: SocketAddr,
    mode: watch::Sender<Mode>,
    latency_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listen on `listen` and forward to `target`.
    pub async fn start(listen: SocketAddr, target: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let (mode, _) = watch::channel(Mode::Pass);
        let latency_ms = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept(listener, target, mode.subscribe(), latency_ms.clone()));
        Ok(Proxy { listen, target, mode, latency_ms, task })
    }

    /// Switch the link's mode; existing connections follow at once.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The link's mode.
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// Add this much latency to every chunk forwarded (0 for none).
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms.store(latency.as_millis() as u64, Ordering::Relaxed);
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    latency_ms: Arc<AtomicU64>,
) {
    loop {
        let Ok((inbound, _)) = listener.accept().await else { continue };
        let current = *mode.borrow();
        match current {
            Mode::Refuse => drop(inbound),
            Mode::BlackHole => {
                tokio::spawn(hold(inbound, mode.clone()));
            }
            Mode::Pass => {
                tokio::spawn(forward(inbound, target, mode.clone(), latency_ms.clone()));
            }
        }
    }
}

/// Swallow everything until the link is no longer a black hole.
async fn hold(mut inbound: TcpStream, mut mode: watch::Receiver<Mode>) {
    let mut sink = vec![0u8; CHUNK_BYTES];
    loop {
        tokio::select! {
            read = inbound.read(&mut sink) => if matches!(read, Ok(0) | Err(_)) { return },
            changed = mode.changed() => if changed.is_err() || *mode.borrow() != Mode::BlackHole { return },
        }
    }
}

async fn forward(
    inbound: TcpStream,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    latency_ms: Arc<AtomicU64>,
) {
    let Ok(outbound) = TcpStream::connect(target).await else { return };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let there = pump(in_read, out_write, mode.clone(), latency_ms.clone());
    let back = pump(out_read, in_write, mode, latency_ms);
    tokio::select! {
        _ = there => {}
        _ = back => {}
    }
}

/// Copy one direction until EOF, an error, or the link leaving `Pass`
/// (`Refuse` closes; `BlackHole` stops forwarding but keeps the socket).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    latency_ms: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            changed = mode.changed() => {
                if changed.is_err() { return }
                match *mode.borrow() {
                    Mode::Pass => continue,
                    Mode::Refuse => return,
                    Mode::BlackHole => break,
                }
            }
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let delay = latency_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if *mode.borrow() != Mode::Pass {
            continue;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
    // Black hole: keep both sockets open, read and drop, until the mode
    // changes. Then close: bytes were dropped, so the stream cannot resume
    // (real TCP would retransmit them; the peers must reconnect instead).
    loop {
        tokio::select! {
            read = from.read(&mut buffer) => if matches!(read, Ok(0) | Err(_)) { return },
            changed = mode.changed() => if changed.is_err() || *mode.borrow() != Mode::BlackHole { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buffer).await {
                        if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> Option<Vec<u8>> {
        let mut socket = TcpStream::connect(addr).await.ok()?;
        socket.write_all(b"ping").await.ok()?;
        let mut answer = [0u8; 4];
        match tokio::time::timeout(Duration::from_millis(300), socket.read_exact(&mut answer)).await {
            Ok(Ok(_)) => Some(answer.to_vec()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_link_passes_refuses_black_holes_and_heals() {
        let target = echo_server().await;
        let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = probe.local_addr().unwrap();
        drop(probe);
        let proxy = Proxy::start(listen, target).await.unwrap();
        assert_eq!(round_trip(listen).await.as_deref(), Some(&b"ping"[..]));
        proxy.set_mode(Mode::Refuse);
        assert_eq!(round_trip(listen).await, None);
        proxy.set_mode(Mode::BlackHole);
        assert_eq!(round_trip(listen).await, None, "a black hole answers nothing");
        proxy.set_mode(Mode::Pass);
        proxy.set_latency(Duration::from_millis(50));
        let started = std::time::Instant::now();
        assert_eq!(round_trip(listen).await.as_deref(), Some(&b"ping"[..]));
        assert!(started.elapsed() >= Duration::from_millis(100), "latency both ways");
    }
}
