//! The state machine: the domain state in memory, the event log and the
//! applied position on sled, and snapshots.
//!
//! # What is on disk
//!
//! One sled tree, `sm`, with prefixed keys, so that every applied batch of
//! Raft entries is written with one atomic `apply_batch`:
//!
//! ```text
//! e <seq u64 BE>   a Record of the event log (codec frame), append-only
//! m:applied        the last applied Raft log id
//! m:membership     the last applied membership
//! ```
//!
//! The domain state is the fold of the records, so it is not rewritten per
//! batch: on open, the state of the last snapshot (the first frame of
//! `snapshot.data`) is loaded and the records after it are replayed; with no
//! snapshot, all of them are.
//!
//! # Snapshots
//!
//! A snapshot as sent to a follower is the domain state followed by the
//! whole event log, as codec frames: a node rebuilt from an empty disk gets
//! the full event history, not just the current counts. On disk, each
//! snapshot is **one self-describing file**, `snapshot-<term>-<index>.snap`:
//! its metadata frame, then the data. It is written to a temporary file,
//! fsynced, renamed, and the directory fsynced; only then are older snapshot
//! files removed. A file is never replaced by an older snapshot: building and
//! installing take the same lock, and a snapshot older than the newest on
//! disk is not written.
//!
//! **A snapshot this node builds is written as the state alone.** The tree
//! already holds every record up to the state's seq (sled is flushed before
//! the file is written), so [`RaftStateMachine::get_current_snapshot`]
//! appends them from the tree when a follower needs the whole snapshot. A
//! snapshot *installed* from the leader is kept whole, because its file is
//! the install's commit point and the tree may not hold its records yet.
//! Rewriting the whole event log at every build made each snapshot as large
//! as the history (66 MB after 30 s of a flash sale, growing every build),
//! and a build on the runtime's threads held a node past its election
//! timeout. Builds also run on a blocking thread, for the same reason.
//!
//! # Installing, and crashing while installing
//!
//! Installing a snapshot received from the leader:
//! 1. checks it: every frame decodes, the records are 1..n, and replaying
//!    them gives the snapshot's state;
//! 2. writes its file (the commit point: from here on the node *has* it);
//! 3. brings the tree to it in **one atomic sled batch**: the records it
//!    lacks (the committed history is the same on every node, so the
//!    tree's records are a prefix of the snapshot's) and the applied
//!    position; then flushes sled.
//!
//! A crash before 2 leaves the old state and no new file: the leader sends
//! the snapshot again. A crash after 2 leaves a snapshot file newer than
//! the tree; [`StateMachineStore::open`] finishes step 3 from the file
//! *before* replaying anything, so a restart ends in the same state as an
//! uninterrupted install. Nothing is ever half-cleared.
//!
//! # Durability, and when the Raft log may be purged
//!
//! `apply` does not flush sled: the Raft log holds every committed entry
//! until a snapshot covers it, and building a snapshot flushes sled first,
//! so after a crash the tree is never behind a purge point, and openraft
//! re-applies the rest. openraft purges its log right after it hands a
//! received snapshot to the state machine, before the install is durable;
//! so [`StateMachineStore::durable_snapshot`] publishes the index of the
//! newest snapshot whose file is durable, and the log (`engine::log`)
//! purges its files only up to it. An I/O error here is fatal to the node.

use crate::codec::{self, Kind};
use crate::domain::{self, Record, State};
use crate::raft::{
    AppliedOutcome, Entry, LogId, ProposalResult, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
    io_error,
};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder, StorageIOError};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

const KEY_APPLIED: &[u8] = b"m:applied";
const KEY_MEMBERSHIP: &[u8] = b"m:membership";
/// Where the domain state at the last snapshot used to be kept. Rewriting a
/// value of megabytes at every snapshot left sled 0.34 with a trail of blob
/// files it reclaimed far slower than they grew (tens of MiB in minutes, the
/// disk-full finding of the long fault run); that state is the first frame
/// of `snapshot.data` anyway. Removed on open.
const KEY_OLD_CHECKPOINT: &[u8] = b"c:checkpoint";
const EVENT_PREFIX: u8 = b'e';

/// Bytes of a snapshot file written between two syncs (4 MiB), so that
/// writing a large snapshot never leaves more than this much dirty in the
/// page cache for the Raft log's fsync to wait behind.
pub const SNAPSHOT_SYNC_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Most records one event-log read returns.
pub const EVENTS_READ_MAX: usize = 10_000;

fn event_key(seq: u64) -> [u8; 9] {
    let mut key = [EVENT_PREFIX; 9];
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Why the state machine could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreOpenError {
    /// sled failed.
    #[error("state machine database: {0}")]
    Sled(#[from] sled::Error),
    /// A file could not be read or written.
    #[error("state machine i/o: {0}")]
    Io(#[from] io::Error),
    /// Stored bytes do not decode.
    #[error("state machine data corrupt: {0}")]
    Codec(#[from] codec::CodecError),
    /// The stored snapshot does not replay to its own state.
    #[error("snapshot inconsistent: {0}")]
    Snapshot(String),
    /// A stored snapshot file is damaged.
    #[error(
        "snapshot file {path} is corrupt at byte {offset}: {source}. This node cannot trust its \
         state; rebuild it from its peers (move its data directory aside and start it again with \
         --rejoin and --join naming a live member)"
    )]
    SnapshotFile {
        /// The file.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
        /// What is wrong.
        source: codec::CodecError,
    },
    /// The event log in the tree is not the records 1..n in order.
    #[error(
        "state machine event log damaged: expected record {expected}, found {found}. Rebuild this \
         node from its peers (move its data directory aside and start it again with --rejoin)"
    )]
    EventLog {
        /// The seq that should come next.
        expected: u64,
        /// What came instead (0: nothing).
        found: u64,
    },
}

/// What the state machine holds in memory.
pub struct Applied {
    /// The domain state.
    pub state: State,
    /// The last applied Raft log id.
    pub last_applied: Option<LogId>,
    /// The last applied membership.
    pub membership: StoredMembership,
}

/// The part of the state machine shared with readers (queries, the event
/// stream, the status endpoint) while Raft applies.
pub struct Shared {
    applied: RwLock<Applied>,
    tree: sled::Tree,
    last_seq: watch::Sender<u64>,
    /// Bytes of records applied since the state the last build copied.
    record_bytes_since_build: AtomicU64,
    /// Bytes of the last snapshot this node built (its state), 0 before one.
    last_build_bytes: AtomicU64,
}

impl Shared {
    /// Run `read` against the applied state.
    pub fn read<T>(&self, read: impl FnOnce(&Applied) -> T) -> T {
        read(&self.applied.read().expect("state lock poisoned"))
    }

    /// A receiver that changes whenever new records are applied (the last seq).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.last_seq.subscribe()
    }

    /// Records with `seq >= from`, at most `limit` (capped at [`EVENTS_READ_MAX`]).
    pub fn records_from(&self, from: u64, limit: usize) -> Result<Vec<Record>, StoreOpenError> {
        let mut records = Vec::new();
        for item in
            self.tree.range(event_key(from.max(1))..=event_key(u64::MAX)).take(limit.min(EVENTS_READ_MAX))
        {
            let (_, value) = item?;
            records.push(codec::decode_record(&value)?);
        }
        Ok(records)
    }

    /// (bytes of records applied since the last build copied the state,
    /// bytes of that build's snapshot): what the engine's snapshot policy
    /// weighs (`node::SNAPSHOT_LOG_SHARE_PERCENT`).
    pub fn snapshot_sizes(&self) -> (u64, u64) {
        (self.record_bytes_since_build.load(Ordering::Relaxed), self.last_build_bytes.load(Ordering::Relaxed))
    }

    /// A snapshot's data as a follower installs it: the state, then every
    /// record up to its seq. A file this node built holds the state alone,
    /// and the records come from the tree; an installed one is whole already.
    fn whole_snapshot(&self, mut data: Vec<u8>) -> Result<Vec<u8>, StoreOpenError> {
        let (_, used) = codec::read_frame(&data, Kind::Snapshot.bytes_max())?;
        if used < data.len() {
            return Ok(data);
        }
        let last_seq = decode_state_seq(&data)?;
        let mut expected = 1;
        for item in self.tree.range(event_key(1)..=event_key(last_seq)) {
            let (key, value) = item?;
            let seq = u64::from_be_bytes(key[1..].try_into().expect("event keys are 9 bytes"));
            if seq != expected {
                return Err(StoreOpenError::EventLog { expected, found: seq });
            }
            data.extend_from_slice(&value);
            expected += 1;
        }
        if expected != last_seq + 1 {
            return Err(StoreOpenError::EventLog { expected, found: 0 });
        }
        Ok(data)
    }

    /// Digests to compare replicas: (event log, state). Both are BLAKE3,
    /// hex: of every record frame in order, and of the encoded state.
    pub fn digests(&self) -> Result<(String, String), StoreOpenError> {
        let applied = self.applied.read().expect("state lock poisoned");
        let mut events = blake3::Hasher::new();
        for item in self.tree.range(event_key(1)..=event_key(applied.state.last_seq)) {
            events.update(&item?.1);
        }
        let state = blake3::hash(&codec::encode_snapshot(&applied.state)?);
        Ok((events.finalize().to_hex().to_string(), state.to_hex().to_string()))
    }
}

/// The Raft state machine. Cloning is cheap (shared handles): a clone runs
/// the slow work (applying to sled, installing, reading a snapshot) on a
/// blocking thread.
#[derive(Clone)]
pub struct StateMachineStore {
    shared: Arc<Shared>,
    db: sled::Db,
    files: Arc<SnapshotFiles>,
    /// A planted bug (fault tests only): skip every entry whose index is a
    /// multiple of this. 0 = never.
    diverge_every: u64,
}

/// The name of the snapshot file of `meta`: term and index, zero-padded so
/// that names sort like log ids.
fn snapshot_file_name(meta: &SnapshotMeta) -> String {
    let (term, index) = meta.last_log_id.map_or((0, 0), |id| (id.leader_id.term, id.index));
    format!("snapshot-{term:020}-{index:020}.snap")
}

/// The snapshot files of a state machine directory, and the lock that
/// serializes writing them (a snapshot build against an install).
struct SnapshotFiles {
    dir: PathBuf,
    lock: Mutex<()>,
    /// 1 + the index of the newest snapshot whose file is durable (0: none).
    durable: Arc<AtomicU64>,
}

impl SnapshotFiles {
    fn new(dir: PathBuf) -> SnapshotFiles {
        SnapshotFiles { dir, lock: Mutex::new(()), durable: Arc::new(AtomicU64::new(0)) }
    }

    fn publish_durable(&self, meta: &SnapshotMeta) {
        if let Some(id) = meta.last_log_id {
            self.durable.fetch_max(id.index + 1, Ordering::SeqCst);
        }
    }

    /// Every `.snap` file, oldest first (by name: term, then index).
    fn listed(&self) -> Result<Vec<PathBuf>, StoreOpenError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("snapshot-") && n.ends_with(".snap"))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// The newest snapshot: (meta, data). Reads the files of format
    /// version 1 (`snapshot.meta` and `snapshot.data`) if there is no other.
    fn newest(&self) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreOpenError> {
        if let Some(path) = self.listed()?.pop() {
            let bytes = std::fs::read(&path)?;
            let corrupt = |offset: usize, source| StoreOpenError::SnapshotFile {
                path: path.clone(),
                offset: offset as u64,
                source,
            };
            let (payload, used) =
                codec::read_frame(&bytes, Kind::SnapshotMeta.bytes_max()).map_err(|e| corrupt(0, e))?;
            let meta: SnapshotMeta =
                codec::decode_payload(Kind::SnapshotMeta, payload).map_err(|e| corrupt(0, e))?;
            // Every frame checks out (CRC), so a damaged snapshot is refused
            // here, not when a follower it is sent to refuses it.
            let mut at = used;
            let mut max = Kind::Snapshot.bytes_max();
            while at < bytes.len() {
                let (_, len) = codec::read_frame(&bytes[at..], max).map_err(|e| corrupt(at, e))?;
                at += len;
                max = Kind::Record.bytes_max();
            }
            return Ok(Some((meta, bytes[used..].to_vec())));
        }
        let (data_path, meta_path) = (self.dir.join("snapshot.data"), self.dir.join("snapshot.meta"));
        let meta = match std::fs::read(&meta_path) {
            Ok(bytes) => codec::decode::<SnapshotMeta>(Kind::SnapshotMeta, &bytes).map_err(|source| {
                StoreOpenError::SnapshotFile { path: meta_path.clone(), offset: 0, source }
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some((meta, std::fs::read(&data_path)?)))
    }

    /// The newest snapshot's metadata, if any.
    fn newest_meta(&self) -> Result<Option<SnapshotMeta>, StoreOpenError> {
        Ok(self.newest()?.map(|(meta, _)| meta))
    }

    /// Write `meta` and `data` as the newest snapshot, unless a snapshot at
    /// least as new is on disk already (then `false`). Call with `lock` held.
    fn write_newest(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<bool, StoreOpenError> {
        if let Some(newest) = self.newest_meta()?
            && newest.last_log_id >= meta.last_log_id
        {
            return Ok(false);
        }
        let name = snapshot_file_name(meta);
        let tmp = self.dir.join(format!("{name}.tmp"));
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&codec::encode(Kind::SnapshotMeta, meta)?)?;
        // In chunks, each synced: a large file written at once leaves
        // hundreds of MB dirty, and the Raft log's next fsync (which openraft
        // waits for in its core loop) would wait behind all of it.
        for chunk in data.chunks(SNAPSHOT_SYNC_CHUNK_BYTES) {
            file.write_all(chunk)?;
            file.sync_data()?;
        }
        file.sync_all()?;
        drop(file);
        fail::fail_point!("snapshot-file-before-rename");
        std::fs::rename(&tmp, self.dir.join(&name))?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        fail::fail_point!("snapshot-file-after-rename");
        // Only now is the new one durable: the older ones can go.
        for old in self.listed()? {
            if old.file_name().and_then(|n| n.to_str()) != Some(name.as_str()) {
                std::fs::remove_file(old)?;
            }
        }
        for legacy in ["snapshot.data", "snapshot.meta"] {
            match std::fs::remove_file(self.dir.join(legacy)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        std::fs::File::open(&self.dir)?.sync_all()?;
        self.publish_durable(meta);
        Ok(true)
    }

    /// Remove temporary files a crash left behind.
    fn clean_up(&self) -> Result<(), StoreOpenError> {
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "tmp") {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}

/// Run slow, synchronous storage work on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreOpenError> + Send + 'static,
) -> Result<T, StoreOpenError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreOpenError::Io(io::Error::other(format!("storage task: {e}"))))?
}

fn decode_value<T: serde::de::DeserializeOwned>(
    kind: Kind,
    bytes: Option<sled::IVec>,
) -> Result<Option<T>, StoreOpenError> {
    bytes.map(|b| codec::decode(kind, &b)).transpose().map_err(Into::into)
}

/// Decode snapshot data: the state, then every record; check they agree.
fn decode_snapshot_data(data: &[u8]) -> Result<(State, Vec<Record>), StoreOpenError> {
    let (payload, mut at) = codec::read_frame(data, Kind::Snapshot.bytes_max())?;
    let state: State = codec::decode_snapshot_payload(payload)?;
    let mut records = Vec::with_capacity(state.last_seq as usize);
    while at < data.len() {
        let (payload, used) = codec::read_frame(&data[at..], Kind::Record.bytes_max())?;
        records.push(codec::decode_record_payload(payload)?);
        at += used;
    }
    for (i, record) in records.iter().enumerate() {
        if record.seq != i as u64 + 1 {
            return Err(StoreOpenError::Snapshot(format!("record {} has seq {}", i + 1, record.seq)));
        }
    }
    if State::replay(&records) != state {
        return Err(StoreOpenError::Snapshot("its event log does not replay to its state".into()));
    }
    Ok((state, records))
}

/// The `last_seq` of a snapshot's state (its first frame).
fn decode_state_seq(data: &[u8]) -> Result<u64, StoreOpenError> {
    let (payload, _) = codec::read_frame(data, Kind::Snapshot.bytes_max())?;
    Ok(codec::decode_snapshot_payload(payload)?.last_seq)
}

/// How long opening waits for a previous holder of the database in this
/// process to let go, in milliseconds. sled's background flusher keeps the
/// file lock for up to one flush interval after the database is dropped, so
/// an in-process restart (tests, the embedded client) may find it still held.
pub const OPEN_LOCK_WAIT_MS: u64 = 5_000;

fn open_sled(path: &Path) -> Result<sled::Db, StoreOpenError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(OPEN_LOCK_WAIT_MS);
    loop {
        match sled::Config::new().path(path).open() {
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(sled::Error::Io(e).into());
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            result => return Ok(result?),
        }
    }
}

impl StateMachineStore {
    /// Open (or create) the state machine in `dir`. An install that a crash
    /// cut short after its snapshot file became durable is finished first;
    /// a damaged event log or snapshot file is an error, never a panic.
    pub fn open(dir: impl AsRef<Path>) -> Result<StateMachineStore, StoreOpenError> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir)?;
        let files = Arc::new(SnapshotFiles::new(dir.clone()));
        files.clean_up()?;
        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("sm")?;
        // Data directories from before the checkpoint moved out of sled.
        tree.remove(KEY_OLD_CHECKPOINT)?;
        let (last_seq, _) = watch::channel(0);
        let empty = Applied { state: State::default(), last_applied: None, membership: Default::default() };
        let store = StateMachineStore {
            shared: Arc::new(Shared {
                applied: RwLock::new(empty),
                tree,
                last_seq,
                record_bytes_since_build: AtomicU64::new(0),
                last_build_bytes: AtomicU64::new(0),
            }),
            db,
            files,
            diverge_every: 0,
        };
        let tree = &store.shared.tree;
        let mut last_applied: Option<LogId> =
            decode_value::<Option<LogId>>(Kind::LogMeta, tree.get(KEY_APPLIED)?)?.flatten();
        let mut membership: StoredMembership =
            decode_value(Kind::SnapshotMeta, tree.get(KEY_MEMBERSHIP)?)?.unwrap_or_default();
        let snapshot = store.files.newest()?;
        if let Some((meta, data)) = &snapshot {
            store.files.publish_durable(meta);
            // Check for a pending reinstall before replaying anything.
            if meta.last_log_id > last_applied {
                tracing::warn!(snapshot = ?meta.last_log_id, applied = ?last_applied, "state machine behind its snapshot file (an install was cut short); finishing it");
                let (_, records) = decode_snapshot_data(data)?;
                store.bring_tree_to(meta, &records)?;
                (last_applied, membership) = (meta.last_log_id, meta.last_membership.clone());
            }
        }
        // The tree holds every record, so an empty state plus all of them is
        // always right; the newest snapshot's state (its first frame) saves
        // replaying what it covers.
        let mut state = match &snapshot {
            Some((_, data)) => {
                let (payload, _) = codec::read_frame(data, Kind::Snapshot.bytes_max())?;
                codec::decode_snapshot_payload(payload)?
            }
            None => State::default(),
        };
        let mut expected = state.last_seq + 1;
        for item in tree.range(event_key(expected)..=event_key(u64::MAX)) {
            let record = codec::decode_record(&item?.1)?;
            if record.seq != expected {
                return Err(StoreOpenError::EventLog { expected, found: record.seq });
            }
            state.evolve(&record);
            expected += 1;
        }
        if let Some((_, data)) = &snapshot
            && state.last_seq < decode_state_seq(data)?
        {
            return Err(StoreOpenError::EventLog { expected, found: 0 });
        }
        let seq = state.last_seq;
        *store.shared.applied.write().expect("state lock poisoned") =
            Applied { state, last_applied, membership };
        store.shared.last_seq.send_replace(seq);
        Ok(store)
    }

    /// The shared, readable part.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// FAULT TESTS ONLY ([`crate::node::PlantedBug::Diverge`]): from now on
    /// skip the commands of every log entry whose index is a multiple of
    /// `every`, so this replica diverges from the others.
    pub fn plant_divergence(&mut self, every: u64) {
        self.diverge_every = every;
    }

    /// The index (plus one) of the newest snapshot whose file is durable,
    /// shared with the Raft log, which purges its files only up to it.
    pub fn durable_snapshot(&self) -> Arc<AtomicU64> {
        self.files.durable.clone()
    }

    /// Bring the tree to a checked snapshot in one atomic batch: the records
    /// it lacks, no record past the snapshot, and the snapshot's applied
    /// position and membership; then flush. Idempotent.
    fn bring_tree_to(&self, meta: &SnapshotMeta, records: &[Record]) -> Result<(), StoreOpenError> {
        let tree = &self.shared.tree;
        let last_in_tree = match tree.range(event_key(1)..=event_key(u64::MAX)).next_back() {
            Some(item) => codec::decode_record(&item?.1)?.seq,
            None => 0,
        };
        // The committed history is the same everywhere, so the tree's records
        // are a prefix of the snapshot's; check where they meet, and rewrite
        // every record if they do not (still one atomic batch).
        let meets = match last_in_tree {
            0 => true,
            seq => match (tree.get(event_key(seq))?, records.get(seq as usize - 1)) {
                // Whole (no holes, as a crash of an older build mid-clear
                // left) and ending where the snapshot has the same record.
                (Some(ours), Some(theirs)) => {
                    codec::decode_record(&ours)? == *theirs
                        && tree.range(event_key(1)..=event_key(seq)).count() as u64 == seq
                }
                _ => false,
            },
        };
        let from = if meets { last_in_tree + 1 } else { 1 };
        if !meets {
            tracing::warn!(last_in_tree, "event log differs from the snapshot's; replacing it");
        }
        let mut batch = sled::Batch::default();
        if !meets || last_in_tree > records.len() as u64 {
            for item in tree.range(event_key(records.len() as u64 + 1)..=event_key(u64::MAX)) {
                batch.remove(item?.0);
            }
        }
        for record in records.iter().skip(from as usize - 1) {
            batch.insert(&event_key(record.seq)[..], codec::encode_record(record)?);
        }
        batch.insert(KEY_APPLIED, codec::encode(Kind::LogMeta, &meta.last_log_id)?);
        batch.insert(KEY_MEMBERSHIP, codec::encode(Kind::SnapshotMeta, &meta.last_membership)?);
        tree.apply_batch(batch)?;
        fail::fail_point!("snapshot-install-after-tree", |_| Err(io::Error::other("fail point").into()));
        self.db.flush()?;
        Ok(())
    }

    /// Install a snapshot: check it, make its file durable (the commit
    /// point), bring the tree to it, and take its state. A crash at any
    /// point leaves the old state or the new one (module docs).
    fn install(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreOpenError> {
        let (state, records) = decode_snapshot_data(data)?;
        let _files = self.files.lock.lock().expect("snapshot lock poisoned");
        if self.shared.read(|a| a.last_applied) >= meta.last_log_id {
            tracing::info!(snapshot = ?meta.last_log_id, "already at or past this snapshot; nothing to install");
            return Ok(());
        }
        fail::fail_point!("snapshot-install-before-file", |_| Err(io::Error::other("fail point").into()));
        if !self.files.write_newest(meta, data)? {
            tracing::warn!(snapshot = ?meta.last_log_id, "a newer snapshot file exists; installing into the tree only");
        }
        fail::fail_point!("snapshot-install-after-file", |_| Err(io::Error::other("fail point").into()));
        let mut applied = self.shared.applied.write().expect("state lock poisoned");
        self.bring_tree_to(meta, &records)?;
        let last_seq = state.last_seq;
        *applied =
            Applied { state, last_applied: meta.last_log_id, membership: meta.last_membership.clone() };
        drop(applied);
        self.shared.last_seq.send_replace(last_seq);
        Ok(())
    }

    fn apply_entries(&self, entries: Vec<Entry>) -> Result<Vec<ProposalResult>, StoreOpenError> {
        // Tests pause here to hold committed entries unapplied (engine/tests/proposal_wait.rs).
        fail::fail_point!("state-machine-apply");
        let mut applied = self.shared.applied.write().expect("state lock poisoned");
        let mut batch = sled::Batch::default();
        let mut results = Vec::with_capacity(entries.len());
        let mut record_bytes = 0u64;
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => results.push(ProposalResult::default()),
                EntryPayload::Normal(_)
                    if self.diverge_every > 0 && entry.log_id.index.is_multiple_of(self.diverge_every) =>
                {
                    results.push(ProposalResult::default());
                }
                EntryPayload::Normal(proposal) => {
                    let mut outcomes = Vec::with_capacity(proposal.envelopes.len());
                    for envelope in &proposal.envelopes {
                        let result = domain::apply(&mut applied.state, envelope);
                        let seq = match &result.record {
                            Some(record) => {
                                let frame = codec::encode_record(record)?;
                                record_bytes += frame.len() as u64;
                                batch.insert(&event_key(record.seq)[..], frame);
                                record.seq
                            }
                            None => 0,
                        };
                        outcomes.push(AppliedOutcome { outcome: result.outcome, seq });
                    }
                    results.push(ProposalResult { results: outcomes });
                }
                EntryPayload::Membership(membership) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    results.push(ProposalResult::default());
                }
            }
        }
        batch.insert(KEY_APPLIED, codec::encode(Kind::LogMeta, &applied.last_applied)?);
        batch.insert(KEY_MEMBERSHIP, codec::encode(Kind::SnapshotMeta, &applied.membership)?);
        self.shared.tree.apply_batch(batch)?;
        self.shared.record_bytes_since_build.fetch_add(record_bytes, Ordering::Relaxed);
        let last_seq = applied.state.last_seq;
        drop(applied);
        self.shared.last_seq.send_if_modified(|seq| std::mem::replace(seq, last_seq) != last_seq);
        Ok(results)
    }
}

/// Builds snapshots from a consistent copy of the state.
pub struct SnapshotBuilder {
    shared: Arc<Shared>,
    db: sled::Db,
    files: Arc<SnapshotFiles>,
}

impl SnapshotBuilder {
    fn build(&self) -> Result<(SnapshotMeta, Vec<u8>), StoreOpenError> {
        let (state, last_applied, membership) = self.shared.read(|a| {
            // Under the state lock: no apply counts bytes between the copy and this.
            self.shared.record_bytes_since_build.store(0, Ordering::Relaxed);
            (a.state.clone(), a.last_applied, a.membership.clone())
        });
        // Everything up to the copied state is durable before the snapshot
        // says so (the log may be purged up to it).
        self.db.flush()?;
        // The state alone: the records up to its seq are in the tree, durable
        // now, and never change (`Shared::whole_snapshot` adds them).
        let data = codec::encode_snapshot(&state)?;
        self.shared.last_build_bytes.store(data.len() as u64, Ordering::Relaxed);
        let snapshot_id = match last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, state.last_seq),
            None => format!("empty-{}", state.last_seq),
        };
        let meta = SnapshotMeta { last_log_id: last_applied, last_membership: membership, snapshot_id };
        fail::fail_point!("snapshot-build-before-write");
        // Serialized with installs, and never over a newer snapshot: an
        // install may have finished while this copy was being encoded.
        let _files = self.files.lock.lock().expect("snapshot lock poisoned");
        if !self.files.write_newest(&meta, &data)? {
            tracing::info!(snapshot = %meta.snapshot_id, "a newer snapshot is on disk; this build is not kept");
        }
        fail::fail_point!("snapshot-build-after-file", |_| Err(io::Error::other("fail point").into()));
        Ok((meta, data))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        // Encoding the state and the event log, writing and fsyncing the
        // file take long (seconds, for millions of records): on a blocking
        // thread, so the runtime's workers keep serving heartbeats and votes.
        let builder =
            SnapshotBuilder { shared: self.shared.clone(), db: self.db.clone(), files: self.files.clone() };
        let (meta, data) = blocking(move || builder.build())
            .await
            .map_err(|e| io_error(|e| StorageIOError::write_snapshot(None, e), e))?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "built snapshot");
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok(self.shared.read(|a| (a.last_applied, a.membership.clone())))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ProposalResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        // The domain and sled work off the runtime's threads, so that a long
        // apply (or one waiting for the state lock while a snapshot copies
        // the state) never delays heartbeats, votes or the network.
        let (this, entries) = (self.clone(), entries.into_iter().collect());
        blocking(move || this.apply_entries(entries))
            .await
            .map_err(|e| io_error(StorageIOError::write_state_machine, e))
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { shared: self.shared.clone(), db: self.db.clone(), files: self.files.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let bytes = data.len();
        let write_error =
            |e: StoreOpenError| io_error(|e| StorageIOError::write_snapshot(Some(meta.signature()), e), e);
        let (this, owned) = (self.clone(), meta.clone());
        blocking(move || this.install(&owned, &data)).await.map_err(write_error)?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes, "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        // Reading the whole event log takes long: off the runtime's threads.
        let (files, shared) = (self.files.clone(), self.shared.clone());
        let newest = blocking(move || match files.newest()? {
            Some((meta, data)) => Ok(Some((meta, shared.whole_snapshot(data)?))),
            None => Ok(None),
        })
        .await
        .map_err(|e| io_error(|e| StorageIOError::read_snapshot(None, e), e))?;
        Ok(newest.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}
