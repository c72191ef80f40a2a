//! Helpers shared by the storage and crash tests: log ids, entries that
//! each carry one command, and a log that has voted.

#![allow(dead_code)]

use boxoffice_engine::domain::*;
use boxoffice_engine::log::LogStore;
use boxoffice_engine::raft::{Entry, LogId, Proposal, Vote};
use openraft::storage::RaftLogStorage;
use openraft::{CommittedLeaderId, EntryPayload};

pub fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

/// Entries 1..=n; each carries one command, so state machines can apply them.
pub fn entries(range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    range
        .map(|index| Entry {
            log_id: log_id(1, index),
            payload: EntryPayload::Normal(Proposal {
                envelopes: vec![Envelope {
                    time_ms: 1_700_000_000_000 + index,
                    request_id: RequestId(u128::from(index)),
                    command: Command::CreateOrganizer {
                        slug: format!("org-{index}"),
                        name: format!("Organizer {index}"),
                        secret_key: [index as u8; 32],
                    },
                }],
            }),
        })
        .collect()
}

/// A log that has voted, as openraft always does before appending.
pub async fn voted_log(dir: &std::path::Path) -> LogStore {
    let mut log = LogStore::open(dir, None).unwrap();
    log.save_vote(&Vote::new(1, 1)).await.unwrap();
    log
}

/// Build a snapshot, and return it as a follower receives it
/// (`get_current_snapshot`: the state and the whole event log), not as the
/// build returns it (the built file holds the state alone).
pub async fn snapshot_to_send(
    sm: &mut boxoffice_engine::store::StateMachineStore,
) -> openraft::storage::Snapshot<boxoffice_engine::raft::TypeConfig> {
    use openraft::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;
    sm.get_snapshot_builder().await.build_snapshot().await.unwrap();
    sm.get_current_snapshot().await.unwrap().expect("the snapshot just built")
}
