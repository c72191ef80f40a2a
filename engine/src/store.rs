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
//! A snapshot is the domain state followed by the whole event log, as codec
//! frames: a node rebuilt from an empty disk gets the full event history,
//! not just the current counts. Installing one checks that replaying its
//! records rebuilds its state exactly, then replaces the tree. The current
//! snapshot is kept as two files (`snapshot.data`, `snapshot.meta`); on open,
//! a snapshot newer than the tree (a crash during install) is installed again.
//!
//! # Durability
//!
//! `apply` does not flush sled: the Raft log holds every committed entry
//! until a snapshot covers it, and building a snapshot flushes sled first,
//! so after a crash the tree is never behind the log's purge point, and
//! openraft re-applies the rest. An I/O error here is fatal to the node.

use crate::codec::{self, Kind};
use crate::domain::{self, Record, State};
use crate::raft::{
    AppliedOutcome, Entry, LogId, ProposalResult, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
    io_error,
};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, RaftSnapshotBuilder, StorageIOError};
use std::io::{self, Cursor};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
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

/// The Raft state machine.
pub struct StateMachineStore {
    shared: Arc<Shared>,
    db: sled::Db,
    dir: PathBuf,
    /// A planted bug (fault tests only): skip every entry whose index is a
    /// multiple of this. 0 = never.
    diverge_every: u64,
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
    /// Open (or create) the state machine in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<StateMachineStore, StoreOpenError> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir)?;
        let db = open_sled(&dir.join("sled"))?;
        let tree = db.open_tree("sm")?;
        let last_applied: Option<LogId> =
            decode_value::<Option<LogId>>(Kind::LogMeta, tree.get(KEY_APPLIED)?)?.flatten();
        let membership: StoredMembership =
            decode_value(Kind::SnapshotMeta, tree.get(KEY_MEMBERSHIP)?)?.unwrap_or_default();
        // The tree holds every record, so an empty state plus all of them is
        // always right; the last snapshot's state (its first frame) saves
        // replaying what it covers, when the tree has caught up with it.
        let snapshot = Self::read_snapshot_files(&dir)?;
        let mut state = match &snapshot {
            Some((meta, data)) if meta.last_log_id <= last_applied => {
                let (payload, _) = codec::read_frame(data, Kind::Snapshot.bytes_max())?;
                codec::decode_snapshot_payload(payload)?
            }
            _ => State::default(),
        };
        for item in tree.range(event_key(state.last_seq + 1)..=event_key(u64::MAX)) {
            state.evolve(&codec::decode_record(&item?.1)?);
        }
        // Data directories from before the checkpoint moved out of sled.
        tree.remove(KEY_OLD_CHECKPOINT)?;
        let (last_seq, _) = watch::channel(state.last_seq);
        let applied = Applied { state, last_applied, membership };
        let store = StateMachineStore {
            shared: Arc::new(Shared { applied: RwLock::new(applied), tree, last_seq }),
            db,
            dir,
            diverge_every: 0,
        };
        // A snapshot newer than the tree means an install was cut short: redo it.
        if let Some((meta, data)) = snapshot {
            let applied = store.shared.read(|a| a.last_applied);
            if meta.last_log_id > applied {
                tracing::warn!(snapshot = ?meta.last_log_id, ?applied, "state machine behind its snapshot; reinstalling");
                store.install(&meta, &data)?;
            }
        }
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

    fn read_snapshot_files(dir: &Path) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreOpenError> {
        let (data_path, meta_path) = (dir.join("snapshot.data"), dir.join("snapshot.meta"));
        let meta = match std::fs::read(&meta_path) {
            Ok(bytes) => codec::decode::<SnapshotMeta>(Kind::SnapshotMeta, &bytes)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some((meta, std::fs::read(&data_path)?)))
    }

    fn write_snapshot_files(dir: &Path, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreOpenError> {
        // Data first, then meta: the meta names a complete data file.
        for (name, bytes) in
            [("snapshot.data", data.to_vec()), ("snapshot.meta", codec::encode(Kind::SnapshotMeta, meta)?)]
        {
            let tmp = dir.join(format!("{name}.tmp"));
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, dir.join(name))?;
        }
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }

    /// Replace everything with a snapshot's contents. The snapshot is checked
    /// first and saved as the current one before the tree is touched, so a
    /// crash half way is repaired by [`StateMachineStore::open`].
    fn install(&self, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreOpenError> {
        let (state, records) = decode_snapshot_data(data)?;
        Self::write_snapshot_files(&self.dir, meta, data)?;
        let mut applied = self.shared.applied.write().expect("state lock poisoned");
        let tree = &self.shared.tree;
        tree.clear()?;
        let mut batch = sled::Batch::default();
        for record in &records {
            batch.insert(&event_key(record.seq)[..], codec::encode_record(record)?);
        }
        batch.insert(KEY_APPLIED, codec::encode(Kind::LogMeta, &meta.last_log_id)?);
        batch.insert(KEY_MEMBERSHIP, codec::encode(Kind::SnapshotMeta, &meta.last_membership)?);
        tree.apply_batch(batch)?;
        self.db.flush()?;
        let last_seq = state.last_seq;
        *applied =
            Applied { state, last_applied: meta.last_log_id, membership: meta.last_membership.clone() };
        drop(applied);
        self.shared.last_seq.send_replace(last_seq);
        Ok(())
    }

    fn apply_entries(&self, entries: Vec<Entry>) -> Result<Vec<ProposalResult>, StoreOpenError> {
        let mut applied = self.shared.applied.write().expect("state lock poisoned");
        let mut batch = sled::Batch::default();
        let mut results = Vec::with_capacity(entries.len());
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
                                batch.insert(&event_key(record.seq)[..], codec::encode_record(record)?);
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
    dir: PathBuf,
}

impl SnapshotBuilder {
    fn build(&self) -> Result<(SnapshotMeta, Vec<u8>), StoreOpenError> {
        let (state, last_applied, membership) =
            self.shared.read(|a| (a.state.clone(), a.last_applied, a.membership.clone()));
        self.db.flush()?;
        let mut data = codec::encode_snapshot(&state)?;
        // Records up to the copied state's seq never change once written.
        for item in self.shared.tree.range(event_key(1)..=event_key(state.last_seq)) {
            data.extend_from_slice(&item?.1);
        }
        let snapshot_id = match last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, state.last_seq),
            None => format!("empty-{}", state.last_seq),
        };
        let meta = SnapshotMeta { last_log_id: last_applied, last_membership: membership, snapshot_id };
        StateMachineStore::write_snapshot_files(&self.dir, &meta, &data)?;
        Ok((meta, data))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let (meta, data) =
            self.build().map_err(|e| io_error(|e| StorageIOError::write_snapshot(None, e), e))?;
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
        self.apply_entries(entries.into_iter().collect())
            .map_err(|e| io_error(StorageIOError::write_state_machine, e))
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { shared: self.shared.clone(), db: self.db.clone(), dir: self.dir.clone() }
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
        let write_error =
            |e: StoreOpenError| io_error(|e| StorageIOError::write_snapshot(Some(meta.signature()), e), e);
        self.install(meta, &data).map_err(write_error)?;
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let files = Self::read_snapshot_files(&self.dir)
            .map_err(|e| io_error(|e| StorageIOError::read_snapshot(None, e), e))?;
        Ok(files.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}
