//! The Raft log and state machine on real files: openraft's storage
//! conformance suite, crash recovery of a torn log tail, persistence of
//! votes, truncation and purges, and snapshots that carry the event history.

use boxoffice_engine::codec;
use boxoffice_engine::log::{LogOpenError, LogStore, Recovery};
use boxoffice_engine::raft::{Entry, NodeInfo, TypeConfig, Vote};
use boxoffice_engine::store::StateMachineStore;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{LogState, RaftLogReader, RaftSnapshotBuilder, StorageError};
use proptest::arbitrary::Arbitrary;
use std::io::Write;
use tempfile::TempDir;

mod storage_support;
use storage_support::{entries, log_id, snapshot_to_send, voted_log};

struct Builder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for Builder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError<u64>> {
        let dir = TempDir::new().expect("temp dir");
        let log = LogStore::open(dir.path().join("log"), None).expect("open log");
        let sm = StateMachineStore::open(dir.path().join("sm")).expect("open state machine");
        Ok((dir, log, sm))
    }
}

#[test]
fn log_and_state_machine_pass_the_openraft_storage_suite() {
    Suite::test_all(Builder).expect("openraft storage suite");
}

async fn read_all(log: &mut LogStore) -> Vec<u64> {
    log.try_get_log_entries(0..u64::MAX).await.unwrap().iter().map(|e| e.log_id.index).collect()
}

fn segment(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .expect("a segment")
}

#[tokio::test]
async fn a_torn_tail_is_truncated_on_open_and_earlier_entries_survive() {
    let dir = TempDir::new().unwrap();
    {
        let mut log = voted_log(dir.path()).await;
        log.blocking_append(entries(1..=10)).await.unwrap();
    }
    // A crash in the middle of writing entry 11: half a frame at the end.
    let frame = codec::encode(codec::Kind::LogEntry, &entries(11..=11)[0]).unwrap();
    let path = segment(dir.path());
    let before = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&frame[..frame.len() / 2])
        .unwrap();

    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(read_all(&mut log).await, (1..=10).collect::<Vec<_>>());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), before, "the torn bytes are cut off");
    // The log goes on from where it was durable.
    log.blocking_append(entries(11..=12)).await.unwrap();
    drop(log);
    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(read_all(&mut log).await, (1..=12).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_corrupted_last_entry_is_detected_and_never_returned() {
    let dir = TempDir::new().unwrap();
    {
        let mut log = voted_log(dir.path()).await;
        log.blocking_append(entries(1..=5)).await.unwrap();
    }
    // A crash while the group was being synced: no mark after it, and its
    // last entry damaged. Never acknowledged, so cut, and never returned.
    let path = segment(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(end_of(&bytes, 5));
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(read_all(&mut log).await, vec![1, 2, 3, 4]);
}

/// Entries 1..=n appended one group commit per `group` entries.
async fn log_in_groups(dir: &std::path::Path, n: u64, group: u64) {
    let mut log = voted_log(dir).await;
    let mut next = 1;
    while next <= n {
        let last = (next + group - 1).min(n);
        log.blocking_append(entries(next..=last)).await.unwrap();
        next = last + 1;
    }
}

/// Where entry `index`'s frame starts in a segment's bytes.
fn offset_of(bytes: &[u8], index: u64) -> usize {
    let mut at = 0;
    while at < bytes.len() {
        let (payload, used) = codec::read_frame(&bytes[at..], codec::RECORD_BYTES_MAX).unwrap();
        if let Ok(entry) = codec::decode_payload::<Entry>(codec::Kind::LogEntry, payload)
            && entry.log_id.index == index
        {
            return at;
        }
        at += used;
    }
    panic!("no entry {index}");
}

/// Where entry `index`'s frame ends.
fn end_of(bytes: &[u8], index: u64) -> usize {
    let at = offset_of(bytes, index);
    at + codec::read_frame(&bytes[at..], codec::RECORD_BYTES_MAX).unwrap().1
}

/// Flip bits `mask` of the byte 20 bytes into entry `index`'s frame, in a
/// log of `n` entries written `group` at a time: (segment, frame offset,
/// the damaged bytes).
async fn log_with_a_flip(
    dir: &std::path::Path,
    n: u64,
    group: u64,
    index: u64,
    mask: u8,
) -> (std::path::PathBuf, usize, Vec<u8>) {
    log_in_groups(dir, n, group).await;
    let path = segment(dir);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = offset_of(&bytes, index);
    bytes[at + 20] ^= mask;
    std::fs::write(&path, &bytes).unwrap();
    (path, at, bytes)
}

#[tokio::test]
async fn a_flipped_byte_mid_log_refuses_to_start_and_names_the_file_and_offset() {
    let dir = TempDir::new().unwrap();
    let (path, at, bytes) = log_with_a_flip(dir.path(), 10, 2, 4, 0x10).await;

    let error = LogStore::open(dir.path(), None).err().expect("a corrupt log must not open");
    let LogOpenError::Corrupt { path: named, offset, .. } = &error else { panic!("{error}") };
    assert_eq!((named, *offset), (&path, at as u64));
    let text = error.to_string();
    assert!(text.contains("rebuild it from its peers") && text.contains("--rejoin"), "{text}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing was cut");
}

#[tokio::test]
async fn a_torn_last_group_is_cut_even_when_frames_after_the_hole_survived() {
    let dir = TempDir::new().unwrap();
    log_in_groups(dir.path(), 8, 4).await;
    // A crash during the second group's fsync: the page holding entry 5
    // never reached the disk (zeros), entries 6..8 did, and the mark that
    // follows a completed fsync was never written.
    let path = segment(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let (hole, next) = (offset_of(&bytes, 5), offset_of(&bytes, 6));
    bytes.truncate(end_of(&bytes, 8));
    bytes[hole..next].fill(0);
    std::fs::write(&path, &bytes).unwrap();

    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(read_all(&mut log).await, (1..=4).collect::<Vec<_>>());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), hole as u64, "cut where the last group broke");
}

#[tokio::test]
async fn a_flipped_byte_in_the_last_synced_group_refuses_to_start_too() {
    // The group was synced (its mark follows): its entries may have been
    // acknowledged, so this is corruption, not a torn tail.
    let dir = TempDir::new().unwrap();
    let (_, at, _) = log_with_a_flip(dir.path(), 8, 4, 8, 0x01).await;
    let error = LogStore::open(dir.path(), None).err().expect("a corrupt log must not open");
    assert!(matches!(error, LogOpenError::Corrupt { offset, .. } if offset == at as u64), "{error}");
}

#[tokio::test]
async fn a_log_with_entries_but_no_vote_refuses_to_start() {
    let dir = TempDir::new().unwrap();
    log_in_groups(dir.path(), 3, 3).await;
    std::fs::remove_file(dir.path().join("vote")).unwrap();
    let error = LogStore::open(dir.path(), None).err().expect("must not open");
    assert!(matches!(error, LogOpenError::VoteMissing { .. }), "{error}");
}

#[tokio::test]
async fn the_planted_old_recovery_cuts_acknowledged_entries_at_a_flipped_byte() {
    // What `--planted-bug truncate-on-corruption` restores, and the fault
    // harness must catch: the corrupt log opens, cut at the bad frame.
    let dir = TempDir::new().unwrap();
    log_with_a_flip(dir.path(), 10, 2, 4, 0x10).await;
    let mut log = LogStore::open_with(dir.path(), None, Recovery::TruncateAtFirstBadFrame).unwrap();
    assert_eq!(read_all(&mut log).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn vote_truncate_and_purge_survive_a_restart() {
    let dir = TempDir::new().unwrap();
    let vote = Vote::new(7, 2);
    {
        let mut log = LogStore::open(dir.path(), None).unwrap();
        log.save_vote(&vote).await.unwrap();
        log.blocking_append(entries(1..=20)).await.unwrap();
        log.truncate(log_id(1, 15)).await.unwrap();
        log.purge(log_id(1, 5)).await.unwrap();
        log.blocking_append(entries(15..=16)).await.unwrap();
    }
    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    assert_eq!(read_all(&mut log).await, (6..=16).collect::<Vec<_>>());
    let LogState { last_purged_log_id, last_log_id } = log.get_log_state().await.unwrap();
    assert_eq!((last_purged_log_id, last_log_id), (Some(log_id(1, 5)), Some(log_id(1, 16))));
}

#[tokio::test]
async fn the_state_machine_rebuilds_its_state_from_sled_after_a_restart() {
    let dir = TempDir::new().unwrap();
    let (state, digests) = {
        let mut sm = StateMachineStore::open(dir.path()).unwrap();
        let results = sm.apply(entries(1..=30)).await.unwrap();
        assert!(results.iter().all(|r| r.results[0].outcome.is_accepted()));
        let shared = sm.shared();
        (shared.read(|a| a.state.clone()), shared.digests().unwrap())
    };
    let mut sm = StateMachineStore::open(dir.path()).unwrap();
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(1, 30)));
    assert_eq!(sm.shared().read(|a| a.state.clone()), state);
    assert_eq!(sm.shared().digests().unwrap(), digests);
    assert_eq!(sm.shared().records_from(29, 10).unwrap().len(), 2);
}

#[tokio::test]
async fn a_snapshot_carries_the_full_event_history_to_an_empty_node() {
    let leader_dir = TempDir::new().unwrap();
    let mut leader = StateMachineStore::open(leader_dir.path()).unwrap();
    leader.apply(entries(1..=40)).await.unwrap();
    let snapshot = snapshot_to_send(&mut leader).await;
    leader.apply(entries(41..=45)).await.unwrap();

    let empty_dir = TempDir::new().unwrap();
    let mut rebuilt = StateMachineStore::open(empty_dir.path()).unwrap();
    rebuilt.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
    rebuilt.apply(entries(41..=45)).await.unwrap();
    assert_eq!(rebuilt.shared().digests().unwrap(), leader.shared().digests().unwrap());
    assert_eq!(
        rebuilt.shared().records_from(1, 100).unwrap().len(),
        45,
        "the whole event log, not just counts"
    );

    // And it survives a restart, snapshot and all.
    drop(rebuilt);
    let mut reopened = StateMachineStore::open(empty_dir.path()).unwrap();
    assert_eq!(reopened.shared().digests().unwrap(), leader.shared().digests().unwrap());
    assert!(reopened.get_current_snapshot().await.unwrap().is_some());
}

/// Regression (a peak flash run): every build rewrote the whole event log
/// into the snapshot file, so each build grew with the history (66 MB after
/// 30 s) and held the node past its election timeout. The file now holds
/// the state alone; the records come from the tree when one is sent.
#[tokio::test]
async fn a_built_snapshot_file_holds_the_state_alone_and_the_snapshot_sent_holds_every_record() {
    let dir = TempDir::new().unwrap();
    let mut sm = StateMachineStore::open(dir.path()).unwrap();
    sm.apply(entries(1..=40)).await.unwrap();
    let built = sm.get_snapshot_builder().await.build_snapshot().await.unwrap().snapshot.into_inner();
    let (_, used) = codec::read_frame(&built, codec::Kind::Snapshot.bytes_max()).unwrap();
    assert_eq!(used, built.len(), "the built data is one frame: the state");
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|x| x == "snap"))
        .expect("a snapshot file");
    let meta_frame = codec::read_frame(&std::fs::read(&file).unwrap(), u32::MAX).unwrap().1;
    assert_eq!(std::fs::metadata(&file).unwrap().len() as usize, meta_frame + built.len());

    let sent = sm.get_current_snapshot().await.unwrap().unwrap();
    let sent_data = sent.snapshot.into_inner();
    assert!(sent_data.starts_with(&built), "the state first");
    let mut records = 0;
    let mut at = built.len();
    while at < sent_data.len() {
        let (payload, len) = codec::read_frame(&sent_data[at..], codec::Kind::Record.bytes_max()).unwrap();
        records += 1;
        assert_eq!(codec::decode_record_payload(payload).unwrap().seq, records);
        at += len;
    }
    assert_eq!(records, 40, "then every record, in order");
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused_and_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let mut source = StateMachineStore::open(dir.path()).unwrap();
    source.apply(entries(1..=5)).await.unwrap();
    let snapshot = snapshot_to_send(&mut source).await;
    let mut data = snapshot.snapshot.into_inner();
    let last = data.len() - 2;
    data[last] ^= 0x55;

    let target_dir = TempDir::new().unwrap();
    let mut target = StateMachineStore::open(target_dir.path()).unwrap();
    target.apply(entries(1..=2)).await.unwrap();
    let before = target.shared().digests().unwrap();
    let result = target.install_snapshot(&snapshot.meta, Box::new(std::io::Cursor::new(data))).await;
    assert!(result.is_err());
    assert_eq!(target.shared().digests().unwrap(), before);
    let _ = NodeInfo::default();
}

#[tokio::test]
async fn a_lagging_follower_that_installs_a_snapshot_keeps_a_consistent_log_across_restarts() {
    // A follower with entries 1..=10 receives a snapshot at 100: openraft
    // purges past the end of its log, then appends from 101.
    let dir = TempDir::new().unwrap();
    {
        let mut log = voted_log(dir.path()).await;
        log.blocking_append(entries(1..=10)).await.unwrap();
        log.purge(log_id(1, 100)).await.unwrap();
        log.blocking_append(entries(101..=105)).await.unwrap();
    }
    let mut log = LogStore::open(dir.path(), None).expect("reopens without a gap error");
    assert_eq!(read_all(&mut log).await, (101..=105).collect::<Vec<_>>());
    let state = log.get_log_state().await.unwrap();
    assert_eq!((state.last_purged_log_id, state.last_log_id), (Some(log_id(1, 100)), Some(log_id(1, 105))));
}

#[tokio::test]
async fn appends_are_refused_with_storage_full_while_the_disk_is_nearly_full_and_nothing_is_written() {
    let dir = TempDir::new().unwrap();
    {
        let mut log = voted_log(dir.path()).await;
        log.blocking_append(entries(1..=3)).await.unwrap();
        // No filesystem has this much free: every append must now fail.
        log.set_disk_free_min(u64::MAX);
        let error = log.blocking_append(entries(4..=5)).await.expect_err("the guard refuses the append");
        assert!(error.to_string().contains("disk nearly full"), "{error}");
    }
    let mut log = LogStore::open(dir.path(), None).unwrap();
    assert_eq!(read_all(&mut log).await, (1..=3).collect::<Vec<_>>(), "refused entries never reach disk");
}

#[tokio::test]
async fn a_restart_after_a_snapshot_starts_from_its_state_and_replays_the_records_after_it() {
    let dir = TempDir::new().unwrap();
    let (state, digests) = {
        let mut sm = StateMachineStore::open(dir.path()).unwrap();
        sm.apply(entries(1..=40)).await.unwrap();
        sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
        sm.apply(entries(41..=45)).await.unwrap();
        (sm.shared().read(|a| a.state.clone()), sm.shared().digests().unwrap())
    };
    let mut sm = StateMachineStore::open(dir.path()).unwrap();
    assert_eq!(sm.applied_state().await.unwrap().0, Some(log_id(1, 45)));
    assert_eq!(sm.shared().read(|a| a.state.clone()), state);
    assert_eq!(sm.shared().digests().unwrap(), digests);
}

fn bytes_under(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            if e.file_type().unwrap().is_dir() { bytes_under(&e.path()) } else { e.metadata().unwrap().len() }
        })
        .sum()
}

/// Regression: the state at each snapshot used to be rewritten into sled,
/// whose blob files for large values piled up faster than sled reclaimed
/// them, until a long fault run filled its node's disk.
#[tokio::test]
async fn repeated_snapshots_do_not_pile_up_copies_of_the_state_on_disk() {
    let dir = TempDir::new().unwrap();
    let mut sm = StateMachineStore::open(dir.path()).unwrap();
    sm.apply(entries(1..=3_000)).await.unwrap();
    let state_bytes = codec::encode_snapshot(&sm.shared().read(|a| a.state.clone())).unwrap().len() as u64;
    let mut builder = sm.get_snapshot_builder().await;
    builder.build_snapshot().await.unwrap();
    let before = bytes_under(&dir.path().join("sled"));
    for round in 0..30u64 {
        let first = 3_001 + round * 10;
        sm.apply(entries(first..=first + 9)).await.unwrap();
        builder.build_snapshot().await.unwrap();
    }
    let grown = bytes_under(&dir.path().join("sled")).saturating_sub(before);
    assert!(
        grown < 5 * state_bytes,
        "30 snapshots of a {state_bytes}-byte state grew the sled directory by {grown} bytes"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 150, ..Default::default() })]

    /// Whatever byte of a log is damaged, opening either refuses (corruption)
    /// or keeps every entry of every group before the last: an entry that a
    /// later group proves was synced is never cut.
    #[test]
    fn a_damaged_byte_anywhere_never_cuts_a_synced_group(
        at in proptest::sample::Index::arbitrary(),
        flip in 1u8..=255,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let dir = TempDir::new().unwrap();
            log_in_groups(dir.path(), 12, 3).await;
            let path = segment(dir.path());
            let mut bytes = std::fs::read(&path).unwrap();
            let last_mark = end_of(&bytes, 12);
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
            std::fs::write(&path, &bytes).unwrap();
            match LogStore::open(dir.path(), None) {
                Err(LogOpenError::Corrupt { offset, .. }) => {
                    proptest::prop_assert!(offset as usize <= i, "the error names where the damage is");
                }
                Err(other) => proptest::prop_assert!(false, "unexpected error {other}"),
                Ok(mut log) => {
                    // Only damage to the last mark (after every synced entry) may be cut.
                    let kept = read_all(&mut log).await;
                    proptest::prop_assert!(i >= last_mark, "damage at {i}, before the last mark, was not refused");
                    proptest::prop_assert_eq!(kept, (1..=12).collect::<Vec<u64>>());
                }
            }
            Ok(())
        })?;
    }
}
