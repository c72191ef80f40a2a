//! The Raft log and vote on disk: append-only segment files of CRC-framed
//! entries, fsynced before openraft is told they are durable.
//!
//! # Layout
//!
//! ```text
//! <dir>/vote                      the last vote (one frame, replaced atomically)
//! <dir>/purged                    the last purged log id (one frame, replaced atomically)
//! <dir>/<first index>.seg         entries, one codec frame each, in index order,
//!                                 each synced group commit followed by a mark frame
//! ```
//!
//! # Durability
//!
//! `append` stores entries in memory (so openraft can read and replicate
//! them at once) and hands their bytes to one writer thread. The writer
//! drains every queued operation, writes, calls `fsync` (`sync_data`) once,
//! and only then fires the callbacks of every append it wrote: group commit,
//! so many concurrent proposals share one fsync. Vote, truncate and purge go
//! through the same queue, so all I/O is applied in the order openraft asked
//! for it, and their calls return only after they are on disk.
//!
//! # Recovery: a torn tail is cut, corruption is refused
//!
//! After each group commit's fsync returns, the writer appends a small
//! *mark* frame (`Kind::LogMark`, holding the index of the group's last
//! entry). The mark is not synced itself (it rides along with the next
//! group's fsync), but it is only ever written after the fsync before it
//! returned: a valid mark proves that every byte before it was synced, so
//! those entries may have been acknowledged.
//!
//! On open, every segment is read frame by frame. A frame that does not
//! decode is a **torn tail** only if it is in the last segment and no valid
//! mark follows it: it lies in the last group, whose fsync may not have
//! completed, so none of its entries were acknowledged, and the file is cut
//! there. (In a segment written before marks existed, it must be followed
//! by no valid frame at all.) Anything else, a bad frame with a mark after
//! it, a bad frame in an older segment, a gap between indexes, a log
//! without a vote, is **corruption**: entries that were synced, and perhaps
//! acknowledged, are damaged. Opening fails with the file and the offset,
//! and the node must be rebuilt from its peers; it never guesses.
//!
//! One case stays ambiguous by construction: a power loss that drops the
//! last group's (unsynced) mark, *and* later damage to that group. It is
//! taken for a torn tail.
//!
//! # What it must never do
//!
//! Fire an append callback before the bytes are synced, or leave a hole.

use crate::codec::{self, CodecError, Kind};
use crate::disk::{self, DISK_FREE_MIN_BYTES};
use crate::raft::{Entry, LogId, StorageError, TypeConfig, Vote, io_error};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogId, RaftLogReader, StorageIOError};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A segment is closed and a new one started once it reaches this many bytes.
pub const SEGMENT_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// Most queued operations the writer handles between two fsyncs.
pub const GROUP_COMMIT_OPS_MAX: usize = 1024;

/// Most entries one read returns (openraft asks again for the rest).
pub const READ_ENTRIES_MAX: usize = 4096;

/// How often the writer checks whether a deferred purge may run, in
/// milliseconds, while one is pending.
pub const PURGE_RECHECK_MS: u64 = 50;

/// Longest an append waits for a deferred purge (a snapshot install that is
/// not durable yet) before it fails, in milliseconds. A failed append stops
/// Raft and the node restarts, consistent.
pub const PURGE_WAIT_MS: u64 = 30_000;

/// Called with the duration of every fsync, for metrics.
pub type FsyncObserver = Arc<dyn Fn(Duration) + Send + Sync>;

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogOpenError {
    /// The file system failed.
    #[error("log i/o error at {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A frame that was synced (or is followed by ones that were) does not decode.
    #[error(
        "log corrupt in {path} at byte {offset}: {source}. Entries this node synced, and may have \
         acknowledged, are damaged, so it will not start: rebuild it from its peers (stop it, move \
         its data directory aside, and start it again with --rejoin and --join naming a live member)"
    )]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
        /// What is wrong.
        source: CodecError,
    },
    /// The log holds entries but no vote: the vote file was lost.
    #[error(
        "log in {path} holds entries but no vote file: this node may have voted and forgotten it, \
         so it will not start; rebuild it from its peers (move its data directory aside and start \
         it again with --rejoin)"
    )]
    VoteMissing {
        /// The log directory.
        path: PathBuf,
    },
    /// Entries are not consecutive.
    #[error("log has a gap: index {found} follows {previous} in {path}")]
    Gap {
        /// The segment.
        path: PathBuf,
        /// The index before.
        previous: u64,
        /// The index found.
        found: u64,
    },
}

/// How open treats a frame that does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Recovery {
    /// Cut a torn tail, refuse corruption (see the module docs). Always, but
    /// in a fault test that plants the old bug.
    #[default]
    Strict,
    /// FAULT TESTS ONLY (planted bug `truncate-on-corruption`): cut the last
    /// segment at its first bad frame, wherever it is, as this log did
    /// before it told corruption from a torn tail.
    #[cfg(feature = "fault-injection")]
    TruncateAtFirstBadFrame,
}

/// What a readable frame at some offset is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    Entry,
    Mark,
}

/// If a whole, valid log frame (an entry or a mark) starts at `bytes[0]`,
/// what it is. Cheap checks first (length bound, kind, version) so that a
/// scan over every offset of a damaged file costs little more than reading it.
fn frame_at(bytes: &[u8]) -> Option<Found> {
    let header = codec::FRAME_HEADER_BYTES;
    let kind = *bytes.get(header)?;
    let found = match kind {
        k if k == Kind::LogEntry as u8 => Found::Entry,
        k if k == Kind::LogMark as u8 => Found::Mark,
        _ => return None,
    };
    let version = u16::from_le_bytes([*bytes.get(header + 1)?, *bytes.get(header + 2)?]);
    if !codec::SUPPORTED_VERSIONS.contains(&version) {
        return None;
    }
    let (payload, _) = codec::read_frame(bytes, Kind::LogEntry.bytes_max()).ok()?;
    let decodes = match found {
        Found::Entry => codec::decode_payload::<Entry>(Kind::LogEntry, payload).is_ok(),
        Found::Mark => codec::decode_payload::<u64>(Kind::LogMark, payload).is_ok(),
    };
    decodes.then_some(found)
}

/// Whether a bad frame at `bytes[at]` of the last segment is a torn tail.
fn is_torn_tail(bytes: &[u8], at: usize, marks_before: bool) -> bool {
    let mut later = (at + 1..bytes.len()).filter_map(|q| frame_at(&bytes[q..]));
    if marks_before {
        // Marked segment: torn unless a mark (a synced group) follows.
        !later.any(|found| found == Found::Mark)
    } else {
        // Unmarked so far (a segment from before marks, or the first group
        // of a new one): torn only if no entry and no mark follows.
        later.next().is_none()
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> LogOpenError + '_ {
    move |source| LogOpenError::Io { path: path.to_owned(), source }
}

/// In-memory view shared by the store and its readers.
#[derive(Default)]
struct Shared {
    entries: BTreeMap<u64, Entry>,
    last_purged: Option<LogId>,
    vote: Option<Vote>,
}

enum WriteOp {
    Append { frames: Vec<(u64, Vec<u8>)>, callback: LogFlushed<TypeConfig> },
    Truncate { from_index: u64, done: oneshot::Sender<io::Result<()>> },
    Purge { upto: LogId, done: oneshot::Sender<io::Result<()>> },
    Vote { frame: Vec<u8>, done: oneshot::Sender<io::Result<()>> },
}

/// The Raft log store. Cheap to clone readers from; one writer thread.
pub struct LogStore {
    shared: Arc<Mutex<Shared>>,
    writer: mpsc::Sender<WriteOp>,
    committed: Arc<AtomicU64>,
    free_min: Arc<AtomicU64>,
    purge_gate: PurgeGate,
}

/// How far the files of the log may be purged: up to the newest snapshot
/// that is durable (the state machine publishes it). Unset, purges run at
/// once.
type PurgeGate = Arc<std::sync::OnceLock<Arc<AtomicU64>>>;

/// A reader of the log for replication tasks.
#[derive(Clone)]
pub struct LogReader {
    shared: Arc<Mutex<Shared>>,
}

fn read_entries(shared: &Mutex<Shared>, range: impl RangeBounds<u64>) -> Vec<Entry> {
    let shared = shared.lock().expect("log lock poisoned");
    shared.entries.range(range).take(READ_ENTRIES_MAX).map(|(_, e)| e.clone()).collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_entries(&self.shared, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_entries(&self.shared, range))
    }
}

/// Write `frame` to `path` atomically: temp file, fsync, rename, fsync dir.
fn write_atomically(path: &Path, frame: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(frame)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().expect("file has a parent"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Read a one-frame file, if it exists.
fn read_small<T: serde::de::DeserializeOwned>(path: &Path, kind: Kind) -> Result<Option<T>, LogOpenError> {
    match fs::read(path) {
        Ok(bytes) => codec::decode(kind, &bytes).map(Some).map_err(|source| LogOpenError::Corrupt {
            path: path.to_owned(),
            offset: 0,
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_at(path)(e)),
    }
}

fn segment_path(dir: &Path, first_index: u64) -> PathBuf {
    dir.join(format!("{first_index:020}.seg"))
}

/// The writer thread's view of the files.
struct Writer {
    dir: PathBuf,
    /// Segment first index -> length in bytes.
    segments: BTreeMap<u64, u64>,
    /// Entry index -> (segment first index, offset of its frame).
    offsets: BTreeMap<u64, (u64, u64)>,
    current: Option<File>,
    observer: Option<FsyncObserver>,
    /// Appends are refused while the filesystem has less than this free, in
    /// bytes (see [`crate::disk`]).
    free_min: Arc<AtomicU64>,
    /// The purge point in the `purged` file.
    disk_purged: Option<LogId>,
    /// A purge openraft asked for that runs once a snapshot covers it.
    pending_purge: Option<LogId>,
    /// The last entry written since the last mark (it needs one after its sync).
    unmarked: Option<u64>,
    purge_gate: PurgeGate,
}

impl LogStore {
    /// Open (or create) the log in `dir`, cutting a torn tail and refusing
    /// corruption (see the module docs).
    pub fn open(dir: impl AsRef<Path>, observer: Option<FsyncObserver>) -> Result<LogStore, LogOpenError> {
        LogStore::open_with(dir, observer, Recovery::Strict)
    }

    /// [`LogStore::open`] with a choice of recovery (fault tests plant the old one).
    pub fn open_with(
        dir: impl AsRef<Path>,
        observer: Option<FsyncObserver>,
        recovery: Recovery,
    ) -> Result<LogStore, LogOpenError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_at(&dir))?;
        let vote: Option<Vote> = read_small(&dir.join("vote"), Kind::Vote)?;
        let last_purged: Option<LogId> =
            read_small::<Option<LogId>>(&dir.join("purged"), Kind::LogMeta)?.flatten();

        let mut firsts = Vec::new();
        for item in fs::read_dir(&dir).map_err(io_at(&dir))? {
            let path = item.map_err(io_at(&dir))?.path();
            let first = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".seg"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(first) = first {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();

        let mut entries = BTreeMap::new();
        let mut segments = BTreeMap::new();
        let mut offsets = BTreeMap::new();
        let mut previous: Option<u64> = None;
        for (n, first) in firsts.iter().enumerate() {
            let path = segment_path(&dir, *first);
            let bytes = fs::read(&path).map_err(io_at(&path))?;
            let is_last = n + 1 == firsts.len();
            let mut at = 0usize;
            let mut marks_before = false;
            while at < bytes.len() {
                let decoded = codec::read_frame(&bytes[at..], Kind::LogEntry.bytes_max()).and_then(
                    |(payload, used)| match payload.first() {
                        Some(&kind) if kind == Kind::LogMark as u8 => {
                            codec::decode_payload::<u64>(Kind::LogMark, payload).map(|_| (None, used))
                        }
                        _ => Ok((Some(codec::decode_payload::<Entry>(Kind::LogEntry, payload)?), used)),
                    },
                );
                match decoded {
                    Ok((None, used)) => {
                        marks_before = true;
                        at += used;
                    }
                    Ok((Some(entry), used)) => {
                        let index = entry.log_id.index;
                        // Entries at or before the purge point are dead;
                        // what follows must be consecutive from there.
                        if last_purged.is_none_or(|p| index > p.index) {
                            let expected = previous.or(last_purged.map(|p| p.index)).map(|p| p + 1);
                            if let Some(expected) = expected
                                && index != expected
                            {
                                return Err(LogOpenError::Gap { path, previous: expected - 1, found: index });
                            }
                            previous = Some(index);
                            entries.insert(index, entry);
                        }
                        offsets.insert(index, (*first, at as u64));
                        at += used;
                    }
                    Err(source) => {
                        let torn = match recovery {
                            Recovery::Strict => is_last && is_torn_tail(&bytes, at, marks_before),
                            #[cfg(feature = "fault-injection")]
                            Recovery::TruncateAtFirstBadFrame => is_last,
                        };
                        if !torn {
                            return Err(LogOpenError::Corrupt { path, offset: at as u64, source });
                        }
                        tracing::warn!(
                            path = %path.display(),
                            offset = at,
                            dropped_bytes = bytes.len() - at,
                            %source,
                            "log: torn tail after a crash (the last group commit, never acknowledged); \
                             cutting it"
                        );
                        let file = OpenOptions::new().write(true).open(&path).map_err(io_at(&path))?;
                        file.set_len(at as u64).map_err(io_at(&path))?;
                        file.sync_all().map_err(io_at(&path))?;
                        break;
                    }
                }
            }
            segments.insert(*first, at as u64);
        }
        // Entries are appended only after the vote that accepted them is saved.
        if vote.is_none() && (!entries.is_empty() || last_purged.is_some()) {
            return Err(LogOpenError::VoteMissing { path: dir });
        }

        let current = match segments.last_key_value() {
            Some((first, _)) => {
                let path = segment_path(&dir, *first);
                Some(OpenOptions::new().append(true).open(&path).map_err(io_at(&path))?)
            }
            None => None,
        };
        let free_min = Arc::new(AtomicU64::new(DISK_FREE_MIN_BYTES));
        let purge_gate = PurgeGate::default();
        let writer = Writer {
            dir: dir.clone(),
            segments,
            offsets,
            current,
            observer,
            free_min: free_min.clone(),
            disk_purged: last_purged,
            pending_purge: None,
            unmarked: None,
            purge_gate: purge_gate.clone(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(io_at(&dir))?;
        let shared = Shared { entries, last_purged, vote };
        Ok(LogStore {
            shared: Arc::new(Mutex::new(shared)),
            writer: tx,
            committed: Arc::new(AtomicU64::new(0)),
            free_min,
            purge_gate,
        })
    }

    /// Purge files only up to the snapshot index in `durable` (plus one; 0:
    /// none), which the state machine publishes once a snapshot's file is
    /// durable (`StateMachineStore::durable_snapshot`). openraft purges the
    /// log as soon as it hands a received snapshot to the state machine;
    /// without this, a crash before the install is durable would leave a
    /// log that starts after the state machine's applied position. Set once.
    pub fn set_purge_gate(&self, durable: Arc<AtomicU64>) {
        let _ = self.purge_gate.set(durable);
    }

    /// True if this log has never been written: no vote, no entry, no purge
    /// point (a new node, or one whose disk was lost).
    pub fn is_pristine(&self) -> bool {
        let shared = self.shared.lock().expect("log lock poisoned");
        shared.vote.is_none() && shared.entries.is_empty() && shared.last_purged.is_none()
    }

    /// Refuse appends while the filesystem has less than `bytes` free
    /// (default [`DISK_FREE_MIN_BYTES`]).
    pub fn set_disk_free_min(&self, bytes: u64) {
        self.free_min.store(bytes, Ordering::Relaxed);
    }

    /// The commit index as openraft last reported it (0 before any). For
    /// metrics only: it is kept in memory, not on disk.
    pub fn commit_index(&self) -> Arc<AtomicU64> {
        self.committed.clone()
    }

    async fn submit(&self, op: impl FnOnce(oneshot::Sender<io::Result<()>>) -> WriteOp) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        self.writer.send(op(done)).map_err(|_| io::Error::other("log writer stopped"))?;
        wait.await.map_err(|_| io::Error::other("log writer stopped"))?
    }
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<WriteOp>) {
        loop {
            // While a purge waits for its snapshot, look at it now and then.
            let first = if self.pending_purge.is_some() {
                match rx.recv_timeout(Duration::from_millis(PURGE_RECHECK_MS)) {
                    Ok(op) => Some(op),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            } else {
                match rx.recv() {
                    Ok(op) => Some(op),
                    Err(_) => return,
                }
            };
            if let Err(e) = self.run_pending_purge() {
                tracing::error!(error = %e, "log: deferred purge failed");
            }
            let Some(first) = first else { continue };
            let mut ops = vec![first];
            while ops.len() < GROUP_COMMIT_OPS_MAX {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            let mut callbacks = Vec::new();
            // Stop writing entries before the disk is full (see crate::disk):
            // every append of this group fails, and Raft stops.
            let mut failed: Option<io::Error> = None;
            if ops.iter().any(|op| matches!(op, WriteOp::Append { .. })) {
                failed = disk::ensure_free(&self.dir, self.free_min.load(Ordering::Relaxed)).err();
            }
            for op in ops {
                match op {
                    WriteOp::Append { frames, callback } => {
                        // An append past a purge that waits for its snapshot
                        // waits for it too (no file may hold a gap).
                        if failed.is_none()
                            && let Some((first, _)) = frames.first()
                            && let Err(e) = self.settle_purge_before(*first)
                        {
                            failed = Some(e);
                        }
                        if failed.is_none()
                            && let Err(e) = self.append(&frames)
                        {
                            failed = Some(e);
                        }
                        callbacks.push(callback);
                    }
                    other => {
                        // Make every earlier append durable before the next kind of write.
                        let synced = self.sync_and_mark();
                        Self::complete(&mut callbacks, &mut failed, synced);
                        let (result, done) = match other {
                            WriteOp::Truncate { from_index, done } => (self.truncate(from_index), done),
                            WriteOp::Purge { upto, done } => (self.request_purge(upto), done),
                            WriteOp::Vote { frame, done } => {
                                (write_atomically(&self.dir.join("vote"), &frame), done)
                            }
                            WriteOp::Append { .. } => unreachable!("handled above"),
                        };
                        if let Err(e) = &result {
                            tracing::error!(error = %e, "log: write failed");
                        }
                        let _ = done.send(result);
                    }
                }
            }
            let synced = self.sync_and_mark();
            Self::complete(&mut callbacks, &mut failed, synced);
        }
    }

    /// Sync, and then, if entries were written since the last mark, write a
    /// mark after them (not synced itself): it exists only if the fsync
    /// before it returned, so on open it proves those entries were synced,
    /// and perhaps acknowledged (module docs). A mark that fails to write
    /// is only logged: the entries are durable, and without the mark their
    /// group is merely treated as a possible torn tail.
    fn sync_and_mark(&mut self) -> io::Result<()> {
        self.sync()?;
        if let Some(last) = self.unmarked.take()
            && let Err(e) = self.mark(last)
        {
            tracing::warn!(error = %e, "log: could not write the mark after a group commit");
        }
        Ok(())
    }

    /// Fire the callbacks of written appends: only now are they durable.
    fn complete(
        callbacks: &mut Vec<LogFlushed<TypeConfig>>,
        failed: &mut Option<io::Error>,
        synced: io::Result<()>,
    ) {
        let error = failed.take().or(synced.err());
        for callback in callbacks.drain(..) {
            let result = match &error {
                None => Ok(()),
                Some(e) => Err(io::Error::new(e.kind(), e.to_string())),
            };
            callback.log_io_completed(result);
        }
        if let Some(e) = error {
            tracing::error!(error = %e, "log: append failed");
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        let Some(file) = &self.current else { return Ok(()) };
        let started = Instant::now();
        file.sync_data()?;
        if let Some(observer) = &self.observer {
            observer(started.elapsed());
        }
        Ok(())
    }

    /// Start a new segment named after `index` if there is none or the
    /// current one is full.
    fn rotate_if_needed(&mut self, index: u64) -> io::Result<()> {
        let rotate = match self.segments.last_key_value() {
            None => true,
            Some((_, len)) => *len >= SEGMENT_BYTES_MAX,
        };
        if rotate {
            self.sync()?;
            let path = segment_path(&self.dir, index);
            self.current = Some(OpenOptions::new().create(true).append(true).open(&path)?);
            sync_dir(&self.dir)?;
            self.segments.insert(index, 0);
        }
        Ok(())
    }

    /// Write the mark that closes a synced group commit whose last entry is `index`.
    fn mark(&mut self, index: u64) -> io::Result<()> {
        if self.current.is_none() {
            return Ok(());
        }
        let frame = codec::encode(Kind::LogMark, &index).map_err(io::Error::other)?;
        let (first, _) = self.segments.last_key_value().map(|(f, l)| (*f, *l)).expect("a segment is open");
        self.current.as_mut().expect("a segment is open").write_all(&frame)?;
        *self.segments.get_mut(&first).expect("exists") += frame.len() as u64;
        Ok(())
    }

    /// Whether the state machine has a durable snapshot covering `upto`.
    fn purge_allowed(&self, upto: &LogId) -> bool {
        self.purge_gate.get().is_none_or(|durable| upto.index < durable.load(Ordering::SeqCst))
    }

    /// Purge now if a snapshot covers it, else remember it for later.
    fn request_purge(&mut self, upto: LogId) -> io::Result<()> {
        if self.purge_allowed(&upto) {
            if self.pending_purge.is_some_and(|pending| pending <= upto) {
                self.pending_purge = None;
            }
            return self.purge(upto);
        }
        tracing::info!(?upto, "log: purge deferred until the snapshot that covers it is durable");
        self.pending_purge = self.pending_purge.max(Some(upto));
        Ok(())
    }

    fn run_pending_purge(&mut self) -> io::Result<()> {
        match self.pending_purge {
            Some(upto) if self.purge_allowed(&upto) => {
                self.pending_purge = None;
                self.purge(upto)
            }
            _ => Ok(()),
        }
    }

    /// The index the next entry on disk must have to follow what is there
    /// (`None`: nothing there, no purge point).
    fn next_on_disk(&self) -> Option<u64> {
        match self.offsets.last_key_value() {
            Some((last, _)) => Some(last + 1),
            None => self.disk_purged.map(|p| p.index + 1),
        }
    }

    /// Before appending `index` where it would not follow what is on disk
    /// (after a purge past the end of the log, for a snapshot install),
    /// wait until that purge can run, so no file ever holds a gap.
    fn settle_purge_before(&mut self, index: u64) -> io::Result<()> {
        if self.pending_purge.is_none() || self.next_on_disk() == Some(index) {
            return Ok(());
        }
        let started = Instant::now();
        while self.pending_purge.is_some() {
            self.run_pending_purge()?;
            if self.pending_purge.is_none() {
                break;
            }
            if started.elapsed() > Duration::from_millis(PURGE_WAIT_MS) {
                return Err(io::Error::other(format!(
                    "entry {index} waits for a purge to {:?}, whose snapshot did not become durable in \
                     {PURGE_WAIT_MS} ms",
                    self.pending_purge
                )));
            }
            std::thread::sleep(Duration::from_millis(PURGE_RECHECK_MS / 5));
        }
        Ok(())
    }

    fn append(&mut self, frames: &[(u64, Vec<u8>)]) -> io::Result<()> {
        fail::fail_point!("log-append", |_| Err(io::Error::other("fail point log-append")));
        for (index, frame) in frames {
            self.rotate_if_needed(*index)?;
            let (first, len) =
                self.segments.last_key_value().map(|(f, l)| (*f, *l)).expect("a segment is open");
            self.current.as_mut().expect("a segment is open").write_all(frame)?;
            self.unmarked = Some(*index);
            self.offsets.insert(*index, (first, len));
            *self.segments.get_mut(&first).expect("exists") += frame.len() as u64;
        }
        Ok(())
    }

    fn truncate(&mut self, from_index: u64) -> io::Result<()> {
        let Some(&(segment, offset)) = self.offsets.get(&from_index) else { return Ok(()) };
        let later: Vec<u64> = self.segments.range(segment + 1..).map(|(f, _)| *f).collect();
        for first in later {
            fs::remove_file(segment_path(&self.dir, first))?;
            self.segments.remove(&first);
        }
        let path = segment_path(&self.dir, segment);
        if offset == 0 {
            fs::remove_file(&path)?;
            self.segments.remove(&segment);
            self.current = match self.segments.last_key_value() {
                Some((first, _)) => {
                    Some(OpenOptions::new().append(true).open(segment_path(&self.dir, *first))?)
                }
                None => None,
            };
        } else {
            let file = OpenOptions::new().append(true).open(&path)?;
            file.set_len(offset)?;
            file.sync_all()?;
            self.segments.insert(segment, offset);
            self.current = Some(file);
        }
        sync_dir(&self.dir)?;
        self.offsets.split_off(&from_index);
        Ok(())
    }

    fn purge(&mut self, upto: LogId) -> io::Result<()> {
        if self.disk_purged >= Some(upto) {
            return Ok(());
        }
        let frame = codec::encode(Kind::LogMeta, &Some(upto)).map_err(io::Error::other)?;
        write_atomically(&self.dir.join("purged"), &frame)?;
        self.disk_purged = Some(upto);
        fail::fail_point!("log-purge-after-purged-file", |_| Err(io::Error::other("fail point")));
        // A segment can go once every entry in it is at or before `upto`:
        // when the next one starts at or before upto + 1, or, for the last
        // segment, when the purge reaches past its last entry (a lagging
        // follower installing a snapshot). The next append then starts a new
        // segment, so no file ever holds a gap.
        let last_on_disk = self.offsets.last_key_value().map(|(index, _)| *index);
        let firsts: Vec<u64> = self.segments.keys().copied().collect();
        for (i, first) in firsts.iter().enumerate() {
            let wholly_purged = match firsts.get(i + 1) {
                Some(next) => *next <= upto.index + 1,
                None => last_on_disk.is_none_or(|last| last <= upto.index),
            };
            if wholly_purged {
                fs::remove_file(segment_path(&self.dir, *first))?;
                self.segments.remove(first);
            }
        }
        if self.segments.is_empty() {
            self.current = None;
        }
        sync_dir(&self.dir)?;
        self.offsets = self.offsets.split_off(&(upto.index + 1));
        Ok(())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let shared = self.shared.lock().expect("log lock poisoned");
        let last = shared.entries.last_key_value().map(|(_, e)| *e.get_log_id()).or(shared.last_purged);
        Ok(LogState { last_purged_log_id: shared.last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogReader { shared: self.shared.clone() }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let frame = codec::encode(Kind::Vote, vote).map_err(|e| io_error(StorageIOError::write_vote, e))?;
        self.submit(|done| WriteOp::Vote { frame, done })
            .await
            .map_err(|e| io_error(StorageIOError::write_vote, e))?;
        self.shared.lock().expect("log lock poisoned").vote = Some(*vote);
        Ok(())
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.committed.store(committed.map_or(0, |c| c.index), Ordering::Relaxed);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.shared.lock().expect("log lock poisoned").vote)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut frames = Vec::with_capacity(entries.len());
        for entry in &entries {
            let frame =
                codec::encode(Kind::LogEntry, entry).map_err(|e| io_error(StorageIOError::write_logs, e))?;
            frames.push((entry.log_id.index, frame));
        }
        {
            let mut shared = self.shared.lock().expect("log lock poisoned");
            for entry in entries {
                if let Some((last, _)) = shared.entries.last_key_value() {
                    assert_eq!(entry.log_id.index, last + 1, "log: append must not leave a hole");
                }
                shared.entries.insert(entry.log_id.index, entry);
            }
        }
        self.writer
            .send(WriteOp::Append { frames, callback })
            .map_err(|_| io_error(StorageIOError::write_logs, io::Error::other("log writer stopped")))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.shared.lock().expect("log lock poisoned").entries.split_off(&log_id.index);
        self.submit(|done| WriteOp::Truncate { from_index: log_id.index, done })
            .await
            .map_err(|e| io_error(StorageIOError::write_logs, e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut shared = self.shared.lock().expect("log lock poisoned");
            shared.entries = shared.entries.split_off(&(log_id.index + 1));
            shared.last_purged = Some(log_id);
        }
        self.submit(|done| WriteOp::Purge { upto: log_id, done })
            .await
            .map_err(|e| io_error(StorageIOError::write_logs, e))
    }
}
