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
//!
//! Version 4 changed only snapshots again: items keep their variations and
//! order limits ([`Item::parent`], [`Item::variations`], [`Item::limits`]),
//! quotas what blocking vouchers hold ([`Quota::blocked`]), holds and
//! orders their voucher and buyer, and the state keeps vouchers and what
//! each buyer has, and seating plans. Everything of versions 1 to 3
//! converts with none of these. Records again kept their layout (the commands, events and
//! outcomes of variations, vouchers and order limits are appended variants;
//! `Line` did not change: a variation is an item with an id of its own).

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
            tags: None,
        }
    }
}

/// An [`Order`] of format version 3: a contact, no voucher, no buyer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderV3 {
    id: OrderId,
    event: EventId,
    hold: HoldId,
    lines: Vec<Line>,
    total_cents: u64,
    created_at_ms: u64,
    payment_deadline_ms: u64,
    status: OrderStatus,
    tickets: Vec<Ticket>,
    contact: Option<Contact>,
}

impl From<OrderV3> for Order {
    fn from(v3: OrderV3) -> Order {
        Order {
            id: v3.id,
            event: v3.event,
            hold: v3.hold,
            lines: v3.lines,
            total_cents: v3.total_cents,
            created_at_ms: v3.created_at_ms,
            payment_deadline_ms: v3.payment_deadline_ms,
            status: v3.status,
            tickets: v3.tickets,
            contact: v3.contact,
            tags: None,
        }
    }
}

/// An [`Item`] of format versions 1 to 3: no variations, no order limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ItemV3 {
    id: ItemId,
    event: EventId,
    name: String,
    price_cents: u64,
    quotas: Vec<QuotaId>,
}

impl From<ItemV3> for Item {
    fn from(v3: ItemV3) -> Item {
        Item {
            id: v3.id,
            event: v3.event,
            name: v3.name,
            price_cents: v3.price_cents,
            quotas: v3.quotas,
            parent: None,
            variations: vec![],
            limits: OrderLimits::default(),
        }
    }
}

/// A [`Quota`] of format versions 1 to 3: nothing blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct QuotaV3 {
    id: QuotaId,
    event: EventId,
    name: String,
    size: Option<u64>,
    items: Vec<ItemId>,
    closed: bool,
    close_when_sold_out: bool,
    paid: u64,
    pending: Tally,
    held: Tally,
}

impl From<QuotaV3> for Quota {
    fn from(v3: QuotaV3) -> Quota {
        Quota {
            id: v3.id,
            event: v3.event,
            name: v3.name,
            size: v3.size,
            items: v3.items,
            closed: v3.closed,
            close_when_sold_out: v3.close_when_sold_out,
            paid: v3.paid,
            pending: v3.pending,
            held: v3.held,
            blocked: Blocked::default(),
            offered: Tally::default(),
        }
    }
}

/// A [`Hold`] of format versions 1 to 3: no voucher, no buyer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HoldV3 {
    id: HoldId,
    event: EventId,
    lines: Vec<Line>,
    created_at_ms: u64,
    expires_at_ms: u64,
    status: HoldStatus,
}

impl From<HoldV3> for Hold {
    fn from(v3: HoldV3) -> Hold {
        Hold {
            id: v3.id,
            event: v3.event,
            lines: v3.lines,
            created_at_ms: v3.created_at_ms,
            expires_at_ms: v3.expires_at_ms,
            status: v3.status,
            tags: None,
        }
    }
}

/// Convert every value of an old map.
fn convert<K: Ord, Old, New: From<Old>>(map: BTreeMap<K, Old>) -> BTreeMap<K, New> {
    map.into_iter().map(|(id, old)| (id, old.into())).collect()
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
    items: BTreeMap<ItemId, ItemV3>,
    quotas: BTreeMap<QuotaId, QuotaV3>,
    holds: BTreeMap<HoldId, HoldV3>,
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
            items: convert(v1.items),
            quotas: convert(v1.quotas),
            holds: convert(v1.holds),
            orders: convert(v1.orders),
            tickets: v1.tickets,
            lists: v1.lists,
            holds_by_expiry: v1.holds_by_expiry,
            orders_by_deadline: v1.orders_by_deadline,
            requests: v1.requests.map_values(|outcome| Retained { digest: None, outcome }),
            nonces: v1.nonces,
            rooms: BTreeMap::new(),
            ..State::default()
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
    items: BTreeMap<ItemId, ItemV3>,
    quotas: BTreeMap<QuotaId, QuotaV3>,
    holds: BTreeMap<HoldId, HoldV3>,
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
            items: convert(v2.items),
            quotas: convert(v2.quotas),
            holds: convert(v2.holds),
            orders: convert(v2.orders),
            tickets: v2.tickets,
            lists: v2.lists,
            holds_by_expiry: v2.holds_by_expiry,
            orders_by_deadline: v2.orders_by_deadline,
            requests: v2.requests,
            nonces: v2.nonces,
            rooms: BTreeMap::new(),
            ..State::default()
        }
    }
}

/// A [`State`] of format version 3: orders with contacts, waiting rooms;
/// no variations, vouchers, order limits or buyers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StateV3 {
    now_ms: u64,
    last_seq: u64,
    next_id: u64,
    organizers: BTreeMap<OrganizerId, Organizer>,
    organizer_slugs: BTreeMap<String, OrganizerId>,
    events: BTreeMap<EventId, EventDef>,
    event_slugs: BTreeMap<(OrganizerId, String), EventId>,
    items: BTreeMap<ItemId, ItemV3>,
    quotas: BTreeMap<QuotaId, QuotaV3>,
    holds: BTreeMap<HoldId, HoldV3>,
    orders: BTreeMap<OrderId, OrderV3>,
    tickets: BTreeMap<String, (OrderId, u32)>,
    lists: BTreeMap<CheckinListId, CheckinList>,
    holds_by_expiry: BTreeSet<(u64, HoldId)>,
    orders_by_deadline: BTreeSet<(u64, OrderId)>,
    requests: RetentionMap<RequestId, Retained>,
    nonces: RetentionMap<(CheckinListId, Nonce), Outcome>,
    rooms: BTreeMap<EventId, WaitingRoom>,
}

impl From<StateV3> for State {
    fn from(v3: StateV3) -> State {
        State {
            now_ms: v3.now_ms,
            last_seq: v3.last_seq,
            next_id: v3.next_id,
            organizers: v3.organizers,
            organizer_slugs: v3.organizer_slugs,
            events: v3.events,
            event_slugs: v3.event_slugs,
            items: convert(v3.items),
            quotas: convert(v3.quotas),
            holds: convert(v3.holds),
            orders: convert(v3.orders),
            tickets: v3.tickets,
            lists: v3.lists,
            holds_by_expiry: v3.holds_by_expiry,
            orders_by_deadline: v3.orders_by_deadline,
            requests: v3.requests,
            nonces: v3.nonces,
            rooms: v3.rooms,
            ..State::default()
        }
    }
}

/// The old forms of a state that uses nothing newer (tests write old bytes
/// with them).
#[cfg(test)]
mod from_current {
    use super::*;

    fn item(item: &Item) -> ItemV3 {
        assert!(item.parent.is_none() && item.variations.is_empty(), "version 3 has no variations");
        assert!(item.limits.is_none(), "version 3 has no order limits");
        ItemV3 {
            id: item.id,
            event: item.event,
            name: item.name.clone(),
            price_cents: item.price_cents,
            quotas: item.quotas.clone(),
        }
    }

    fn quota(quota: &Quota) -> QuotaV3 {
        assert_eq!(quota.blocked, Blocked::default(), "version 3 has no blocking vouchers");
        assert_eq!(quota.offered, Tally::default(), "version 3 has no waiting-list offers");
        QuotaV3 {
            id: quota.id,
            event: quota.event,
            name: quota.name.clone(),
            size: quota.size,
            items: quota.items.clone(),
            closed: quota.closed,
            close_when_sold_out: quota.close_when_sold_out,
            paid: quota.paid,
            pending: quota.pending.clone(),
            held: quota.held.clone(),
        }
    }

    fn hold(hold: &Hold) -> HoldV3 {
        assert!(hold.tags.is_none(), "version 3 has no vouchers or buyers");
        HoldV3 {
            id: hold.id,
            event: hold.event,
            lines: hold.lines.clone(),
            created_at_ms: hold.created_at_ms,
            expires_at_ms: hold.expires_at_ms,
            status: hold.status,
        }
    }

    fn order(order: &Order) -> OrderV3 {
        assert!(order.tags.is_none(), "version 3 has no vouchers or buyers");
        OrderV3 {
            id: order.id,
            event: order.event,
            hold: order.hold,
            lines: order.lines.clone(),
            total_cents: order.total_cents,
            created_at_ms: order.created_at_ms,
            payment_deadline_ms: order.payment_deadline_ms,
            status: order.status,
            tickets: order.tickets.clone(),
            contact: order.contact.clone(),
        }
    }

    fn map<K: Ord + Copy, V, W>(map: &BTreeMap<K, V>, f: impl Fn(&V) -> W) -> BTreeMap<K, W> {
        map.iter().map(|(k, v)| (*k, f(v))).collect()
    }

    impl StateV3 {
        /// The version 3 form of a state that uses nothing of version 4.
        ///
        /// # Panics
        /// If the state has a variation, order limits, a voucher or a buyer.
        pub(crate) fn from_current(state: &State) -> StateV3 {
            assert!(
                state.vouchers.is_empty() && state.buyers.is_empty(),
                "version 3 has no vouchers or buyers"
            );
            assert!(state.seats.is_empty(), "version 3 has no seats");
            StateV3 {
                now_ms: state.now_ms,
                last_seq: state.last_seq,
                next_id: state.next_id,
                organizers: state.organizers.clone(),
                organizer_slugs: state.organizer_slugs.clone(),
                events: state.events.clone(),
                event_slugs: state.event_slugs.clone(),
                items: map(&state.items, item),
                quotas: map(&state.quotas, quota),
                holds: map(&state.holds, hold),
                orders: map(&state.orders, order),
                tickets: state.tickets.clone(),
                lists: state.lists.clone(),
                holds_by_expiry: state.holds_by_expiry.clone(),
                orders_by_deadline: state.orders_by_deadline.clone(),
                requests: state.requests.clone(),
                nonces: state.nonces.clone(),
                rooms: state.rooms.clone(),
            }
        }
    }

    impl StateV2 {
        /// The version 2 form of a state that uses nothing of versions 3 and 4.
        ///
        /// # Panics
        /// If the state has a waiting room, an order with a contact, or
        /// anything of version 4.
        pub(crate) fn from_current(state: &State) -> StateV2 {
            let v3 = StateV3::from_current(state);
            assert!(v3.rooms.is_empty(), "version 2 has no waiting rooms");
            let order = |order: &OrderV3| {
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
                now_ms: v3.now_ms,
                last_seq: v3.last_seq,
                next_id: v3.next_id,
                organizers: v3.organizers,
                organizer_slugs: v3.organizer_slugs,
                events: v3.events,
                event_slugs: v3.event_slugs,
                items: v3.items,
                quotas: v3.quotas,
                holds: v3.holds,
                orders: map(&v3.orders, order),
                tickets: v3.tickets,
                lists: v3.lists,
                holds_by_expiry: v3.holds_by_expiry,
                orders_by_deadline: v3.orders_by_deadline,
                requests: v3.requests,
                nonces: v3.nonces,
            }
        }
    }
}
