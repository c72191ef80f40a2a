//! The domain's types as format version 1 wrote them, and their conversion
//! to the current ones. Old records and snapshots decode forever
//! (`engine::codec` picks these by the payload's version); nothing on disk
//! is ever rewritten.
//!
//! Version 2 added the command digest: [`Record::command_digest`] and, in
//! the request-id table of a snapshot, [`Retained::digest`]. A version 1
//! record converts with no digest, so a retry of one of its request ids gets
//! the stored outcome whatever the command, as version 1 did.

use super::model::*;
use super::state::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A [`Record`] of format version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordV1 {
    seq: u64,
    time_ms: u64,
    request_id: RequestId,
    events: Vec<Event>,
    outcome: Outcome,
}

impl From<RecordV1> for Record {
    fn from(v1: RecordV1) -> Record {
        Record {
            seq: v1.seq,
            time_ms: v1.time_ms,
            request_id: v1.request_id,
            events: v1.events,
            outcome: v1.outcome,
            command_digest: None,
        }
    }
}

impl RecordV1 {
    /// The version 1 form of a record (tests write old bytes with it).
    #[cfg(test)]
    pub(crate) fn from_current(record: &Record) -> RecordV1 {
        RecordV1 {
            seq: record.seq,
            time_ms: record.time_ms,
            request_id: record.request_id,
            events: record.events.clone(),
            outcome: record.outcome.clone(),
        }
    }
}

/// A [`State`] of format version 1: the request-id table kept outcomes only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateV1 {
    now_ms: u64,
    last_seq: u64,
    next_id: u64,
    organizers: BTreeMap<OrganizerId, Organizer>,
    organizer_slugs: BTreeMap<String, OrganizerId>,
    events: BTreeMap<EventId, EventDef>,
    event_slugs: BTreeMap<(OrganizerId, String), EventId>,
    items: BTreeMap<ItemId, Item>,
    quotas: BTreeMap<QuotaId, Quota>,
    holds: BTreeMap<HoldId, Hold>,
    orders: BTreeMap<OrderId, Order>,
    tickets: BTreeMap<String, (OrderId, u32)>,
    lists: BTreeMap<CheckinListId, CheckinList>,
    holds_by_expiry: BTreeSet<(u64, HoldId)>,
    orders_by_deadline: BTreeSet<(u64, OrderId)>,
    requests: RetentionMap<RequestId, Outcome>,
    nonces: RetentionMap<(CheckinListId, Nonce), Outcome>,
}

impl From<StateV1> for State {
    fn from(v1: StateV1) -> State {
        State {
            now_ms: v1.now_ms,
            last_seq: v1.last_seq,
            next_id: v1.next_id,
            organizers: v1.organizers,
            organizer_slugs: v1.organizer_slugs,
            events: v1.events,
            event_slugs: v1.event_slugs,
            items: v1.items,
            quotas: v1.quotas,
            holds: v1.holds,
            orders: v1.orders,
            tickets: v1.tickets,
            lists: v1.lists,
            holds_by_expiry: v1.holds_by_expiry,
            orders_by_deadline: v1.orders_by_deadline,
            requests: v1.requests.map_values(|outcome| Retained { digest: None, outcome }),
            nonces: v1.nonces,
        }
    }
}
