//! The domain's types as format version 1 wrote them, and their conversion
//! to the current ones. Old records and snapshots decode forever
//! (`engine::codec` picks these by the payload's version); nothing on disk
//! is ever rewritten.
//!
//! Version 2 added the command digest: [`Record::command_digest`] and, in
//! the request-id table of a snapshot, [`Retained::digest`]. A version 1
//! record converts with no digest, so a retry of one of its request ids gets
//! the stored outcome whatever the command, as version 1 did.
//!
//! Version 3 changed only snapshots: an order keeps the buyer's contact
//! ([`Order::contact`]) and the state keeps waiting rooms. Orders of
//! versions 1 and 2 convert with no contact, states with no rooms. Records
//! kept their layout (new commands, events and outcomes are enum variants
//! appended at the end, which old bytes never name), so there is no
//! `RecordV2`.

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

/// An [`Order`] of format versions 1 and 2: no contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderV2 {
    id: OrderId,
    event: EventId,
    hold: HoldId,
    lines: Vec<Line>,
    total_cents: u64,
    created_at_ms: u64,
    payment_deadline_ms: u64,
    status: OrderStatus,
    tickets: Vec<Ticket>,
}

impl From<OrderV2> for Order {
    fn from(v2: OrderV2) -> Order {
        Order {
            id: v2.id,
            event: v2.event,
            hold: v2.hold,
            lines: v2.lines,
            total_cents: v2.total_cents,
            created_at_ms: v2.created_at_ms,
            payment_deadline_ms: v2.payment_deadline_ms,
            status: v2.status,
            tickets: v2.tickets,
            contact: None,
        }
    }
}

fn orders_from_v2(orders: BTreeMap<OrderId, OrderV2>) -> BTreeMap<OrderId, Order> {
    orders.into_iter().map(|(id, order)| (id, order.into())).collect()
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
    orders: BTreeMap<OrderId, OrderV2>,
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
            orders: orders_from_v2(v1.orders),
            tickets: v1.tickets,
            lists: v1.lists,
            holds_by_expiry: v1.holds_by_expiry,
            orders_by_deadline: v1.orders_by_deadline,
            requests: v1.requests.map_values(|outcome| Retained { digest: None, outcome }),
            nonces: v1.nonces,
            rooms: BTreeMap::new(),
        }
    }
}

/// A [`State`] of format version 2: orders without contacts, no waiting rooms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateV2 {
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
    orders: BTreeMap<OrderId, OrderV2>,
    tickets: BTreeMap<String, (OrderId, u32)>,
    lists: BTreeMap<CheckinListId, CheckinList>,
    holds_by_expiry: BTreeSet<(u64, HoldId)>,
    orders_by_deadline: BTreeSet<(u64, OrderId)>,
    requests: RetentionMap<RequestId, Retained>,
    nonces: RetentionMap<(CheckinListId, Nonce), Outcome>,
}

impl From<StateV2> for State {
    fn from(v2: StateV2) -> State {
        State {
            now_ms: v2.now_ms,
            last_seq: v2.last_seq,
            next_id: v2.next_id,
            organizers: v2.organizers,
            organizer_slugs: v2.organizer_slugs,
            events: v2.events,
            event_slugs: v2.event_slugs,
            items: v2.items,
            quotas: v2.quotas,
            holds: v2.holds,
            orders: orders_from_v2(v2.orders),
            tickets: v2.tickets,
            lists: v2.lists,
            holds_by_expiry: v2.holds_by_expiry,
            orders_by_deadline: v2.orders_by_deadline,
            requests: v2.requests,
            nonces: v2.nonces,
            rooms: BTreeMap::new(),
        }
    }
}

impl StateV2 {
    /// The version 2 form of a state that uses nothing of version 3 (tests
    /// write old bytes with it).
    ///
    /// # Panics
    /// If the state has a waiting room or an order with a contact.
    #[cfg(test)]
    pub(crate) fn from_current(state: &State) -> StateV2 {
        assert!(state.rooms.is_empty(), "version 2 has no waiting rooms");
        let order = |order: &Order| {
            assert!(order.contact.is_none(), "version 2 has no contacts");
            OrderV2 {
                id: order.id,
                event: order.event,
                hold: order.hold,
                lines: order.lines.clone(),
                total_cents: order.total_cents,
                created_at_ms: order.created_at_ms,
                payment_deadline_ms: order.payment_deadline_ms,
                status: order.status,
                tickets: order.tickets.clone(),
            }
        };
        StateV2 {
            now_ms: state.now_ms,
            last_seq: state.last_seq,
            next_id: state.next_id,
            organizers: state.organizers.clone(),
            organizer_slugs: state.organizer_slugs.clone(),
            events: state.events.clone(),
            event_slugs: state.event_slugs.clone(),
            items: state.items.clone(),
            quotas: state.quotas.clone(),
            holds: state.holds.clone(),
            orders: state.orders.iter().map(|(id, o)| (*id, order(o))).collect(),
            tickets: state.tickets.clone(),
            lists: state.lists.clone(),
            holds_by_expiry: state.holds_by_expiry.clone(),
            orders_by_deadline: state.orders_by_deadline.clone(),
            requests: state.requests.clone(),
            nonces: state.nonces.clone(),
        }
    }
}
