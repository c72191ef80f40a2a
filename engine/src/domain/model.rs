//! The vocabulary of the domain: identifiers, commands, events and outcomes.
//!
//! These types are what crosses the boundary of the domain. Commands come in
//! wrapped in an [`Envelope`] (time and request id stamped by the leader);
//! each new command leaves exactly one [`Record`] in the event log, holding
//! the [`Event`]s it caused and its [`Outcome`]. All of them are encoded by
//! [`crate::codec`], whose golden tests pin their byte layout: adding a field
//! or reordering a variant here is a format change and needs a new codec
//! version, never a silent edit. A variant appended at the end of an enum
//! is not (bincode writes a variant as its position, so old bytes never
//! name it); that is how new commands, events and outcomes are added.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id_type!(
    /// An organizer (a tenant), assigned by the domain.
    OrganizerId,
    "org-"
);
id_type!(
    /// A ticketed event (a concert, a festival day), assigned by the domain.
    EventId,
    "ev-"
);
id_type!(
    /// An item (a ticket type), assigned by the domain.
    ItemId,
    "item-"
);
id_type!(
    /// A quota, assigned by the domain.
    QuotaId,
    "quota-"
);
id_type!(
    /// A hold (a cart), assigned by the domain.
    HoldId,
    "hold-"
);
id_type!(
    /// An order, assigned by the domain.
    OrderId,
    "order-"
);
id_type!(
    /// A check-in list, assigned by the domain.
    CheckinListId,
    "list-"
);
id_type!(
    /// A voucher, assigned by the domain. Buyers never see it: they type
    /// the voucher's code.
    VoucherId,
    "voucher-"
);
id_type!(
    /// A seat of an event's seating plan, assigned by the domain (the ids
    /// of one row are consecutive, in the row's order).
    SeatId,
    "seat-"
);
id_type!(
    /// A waiting-list entry (one buyer waiting for one ticket of one item),
    /// assigned by the domain.
    EntryId,
    "entry-"
);

/// The idempotency key of a mutating command, chosen by the client (pretix:
/// `X-Idempotency-Key`). A retry carries the same id and gets the same outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId(pub u128);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A check-in scan's nonce, chosen by the scanning device. A repeated scan
/// with the same nonce on the same list returns the first result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Nonce(pub u128);

/// A buyer, as the shop names them: for example the first 128 bits of a
/// hash of their e-mail address. The domain only compares buyer ids; it
/// never learns who they are. Per-buyer order limits count by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BuyerId(pub u128);

impl fmt::Display for BuyerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buyer-{:032x}", self.0)
    }
}

/// A quantity of one item, in a hold or an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The item, or one of its variations (an item with variations is
    /// bought as one of them; a variation has an [`ItemId`] of its own).
    pub item: ItemId,
    /// How many tickets of it; at least 1.
    pub quantity: u32,
}

/// Whether a scan lets someone in or out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Entering the venue.
    Entry,
    /// Leaving it (which may allow re-entry, per list).
    Exit,
}

/// What a voucher can be redeemed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoucherScope {
    /// One item: if it has variations, any of them; if it is a variation,
    /// that variation only.
    Item(ItemId),
    /// Any item or variation that the quota covers.
    Quota(QuotaId),
}

/// How many of an item one order may hold, and one buyer may have (pretix:
/// `min_per_order`, `max_per_order`, and a per-buyer maximum). `None` is no
/// limit. The quantities of an item with variations are summed over them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLimits {
    /// Fewest tickets of the item in an order that has any, at least 1.
    pub min_per_order: Option<u32>,
    /// Most tickets of the item in one order.
    pub max_per_order: Option<u32>,
    /// Most tickets of the item one buyer may have in live holds, live
    /// pending orders and paid orders together. A hold of such an item
    /// must name its buyer.
    pub max_per_buyer: Option<u32>,
}

impl OrderLimits {
    /// True if no limit is set.
    pub fn is_none(&self) -> bool {
        self.min_per_order.is_none() && self.max_per_order.is_none() && self.max_per_buyer.is_none()
    }
}

/// One seat of a row, as `AddSeatRow` gives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSpec {
    /// What is printed on the seat ("12"), unique in its row.
    pub label: String,
    /// What a ticket for it is: an item of the seat's event without
    /// variations, or a variation.
    pub item: ItemId,
}

/// Which seats a seated hold asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatChoice {
    /// These seats, each free, of the hold's event.
    Named(Vec<SeatId>),
    /// The best `count` adjacent free seats of a zone (see
    /// `State::best_adjacent`): the first row, in creation order, that has
    /// such a run; in it, the run whose centre is closest to the row's
    /// centre, ties to the lower position.
    Adjacent {
        /// The zone.
        zone: String,
        /// How many seats, 1 to [`HOLD_QUANTITY_MAX`](super::limits::HOLD_QUANTITY_MAX).
        count: u32,
        /// Only seats of this item (or of a variation of it), if given.
        item: Option<ItemId>,
    },
}

/// Who has a seat: a hold or an order. Whether it still counts is a
/// matter of time (see `State::seat_taker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SeatHolder {
    /// A hold, while it is live.
    Hold(HoldId),
    /// An order, while it is pending before its deadline, or paid.
    Order(OrderId),
}

/// A command with what the leader stamped on it. The domain reads time only
/// from here, made monotonic by the state, never from a clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The proposing leader's wall clock, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The client's idempotency key.
    pub request_id: RequestId,
    /// What to do.
    pub command: Command,
}

/// Everything that can change the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Create a tenant. `secret_key` keys the hash that makes its ticket
    /// secrets unguessable; it comes from outside (the domain has no randomness).
    CreateOrganizer {
        /// Unique, `[a-z0-9-]`, 1..=[`SLUG_BYTES_MAX`](super::limits::SLUG_BYTES_MAX) bytes.
        slug: String,
        /// Display name.
        name: String,
        /// 32 random bytes chosen by the caller.
        secret_key: [u8; 32],
    },
    /// Create an event of an organizer.
    CreateEvent {
        /// The owner.
        organizer: OrganizerId,
        /// Unique within the organizer.
        slug: String,
        /// Display name.
        name: String,
    },
    /// Create an item (a ticket type) of an event. It cannot be sold until a quota covers it.
    CreateItem {
        /// The event.
        event: EventId,
        /// Display name.
        name: String,
        /// Price of one ticket, in cents.
        price_cents: u64,
    },
    /// Create a quota over items of one event. `size: None` is unlimited.
    /// Its items are fixed at creation; existing holds and orders of them count at once.
    CreateQuota {
        /// The event.
        event: EventId,
        /// Display name.
        name: String,
        /// Capacity in tickets, or `None` for unlimited.
        size: Option<u64>,
        /// The items it covers, at least one, all of `event`.
        items: Vec<ItemId>,
        /// Close the quota for good once paid and pending orders fill it.
        close_when_sold_out: bool,
    },
    /// Change a quota's size. Shrinking below what is sold is allowed: no new
    /// sales until it is back under; existing holds and orders are untouched.
    ResizeQuota {
        /// The quota.
        quota: QuotaId,
        /// New capacity, or `None` for unlimited.
        size: Option<u64>,
    },
    /// Stop all new sales through a quota.
    CloseQuota {
        /// The quota.
        quota: QuotaId,
    },
    /// Undo a close.
    ReopenQuota {
        /// The quota.
        quota: QuotaId,
    },
    /// Reserve items until `time + ttl_ms`, all or nothing across every quota involved.
    PlaceHold {
        /// The event all lines belong to.
        event: EventId,
        /// What to reserve.
        lines: Vec<Line>,
        /// Time to live, in milliseconds.
        ttl_ms: u64,
    },
    /// Add items to a live hold, all or nothing. The expiry is unchanged.
    AddToHold {
        /// The hold.
        hold: HoldId,
        /// What to add.
        lines: Vec<Line>,
    },
    /// Push a live hold's expiry to `time + ttl_ms`, capped at
    /// [`HOLD_LIFETIME_MS_MAX`](super::limits::HOLD_LIFETIME_MS_MAX) after placement.
    ExtendHold {
        /// The hold.
        hold: HoldId,
        /// New time to live from now, in milliseconds.
        ttl_ms: u64,
    },
    /// Give a hold's items back early.
    ReleaseHold {
        /// The hold.
        hold: HoldId,
    },
    /// Turn a hold into a pending order. A live hold cannot fail for lack of
    /// capacity; an expired one re-checks it.
    Checkout {
        /// The hold.
        hold: HoldId,
        /// Payment deadline from now, in milliseconds.
        payment_ttl_ms: u64,
    },
    /// Record full payment of an order. Pending: no capacity check. Expired:
    /// re-check; without capacity the payment is recorded and a refund is owed.
    Pay {
        /// The order.
        order: OrderId,
    },
    /// Cancel an order (pending, expired or paid; a paid one owes a refund).
    CancelOrder {
        /// The order.
        order: OrderId,
    },
    /// Create a check-in list for an event.
    CreateCheckinList {
        /// The event.
        event: EventId,
        /// Display name.
        name: String,
        /// Admit the same ticket any number of times.
        allow_multiple_entries: bool,
        /// Admit a ticket again after its last scan was an exit.
        allow_entry_after_exit: bool,
    },
    /// Scan a ticket at the door.
    CheckIn {
        /// The list scanned against.
        list: CheckinListId,
        /// The ticket's secret, as printed on it.
        secret: String,
        /// The scan's nonce: a repeat returns the first result.
        nonce: Nonce,
        /// In or out.
        direction: Direction,
    },
    /// Turn lapsed holds and orders into `HoldExpired` and `OrderExpired`
    /// events. Proposed periodically by the leader; correctness never waits
    /// for it, since lapsed holds stop counting at once.
    Expire,
    // New variants go at the end: a command's bincode tag is its position,
    // and envelopes in the Raft log must decode forever.
    /// Take items out of a live hold (a cart's quantities go down). Each
    /// removed line must be covered by what the hold has of its item; the
    /// capacity is freed at once. Removing everything leaves an empty live
    /// hold, which can be added to again but not checked out.
    RemoveFromHold {
        /// The hold.
        hold: HoldId,
        /// What to take out.
        lines: Vec<Line>,
    },
    /// [`Command::Checkout`], with the buyer's contact stored on the order.
    CheckoutWithContact {
        /// The hold.
        hold: HoldId,
        /// Payment deadline from now, in milliseconds.
        payment_ttl_ms: u64,
        /// The buyer's name: 1 to
        /// [`CONTACT_NAME_BYTES_MAX`](super::limits::CONTACT_NAME_BYTES_MAX)
        /// bytes, not blank, no control characters.
        name: String,
        /// The buyer's e-mail address: at most
        /// [`EMAIL_BYTES_MAX`](super::limits::EMAIL_BYTES_MAX) bytes, one
        /// `@` with text on both sides, no spaces or control characters.
        email: String,
    },
    /// Create or change an event's waiting room: the queue that shops in
    /// front of the inventory share, first come first served. A change
    /// keeps every position and what was admitted so far, and admits at the
    /// new rate from now on.
    ConfigureWaitingRoom {
        /// The event.
        event: EventId,
        /// Buyers admitted per minute of log time, 1 to
        /// [`ROOM_ADMIT_PER_MINUTE_MAX`](super::limits::ROOM_ADMIT_PER_MINUTE_MAX).
        admit_per_minute: u32,
        /// New arrivals a shop lets join per second (the shop enforces it;
        /// the domain only keeps it), 1 to
        /// [`ROOM_ARRIVALS_PER_SECOND_MAX`](super::limits::ROOM_ARRIVALS_PER_SECOND_MAX).
        arrivals_per_second_max: u32,
        /// Admitted buyers a shop lets shop at once (the shop enforces it),
        /// 1 to [`ROOM_IN_FLIGHT_MAX`](super::limits::ROOM_IN_FLIGHT_MAX).
        in_flight_max: u32,
        /// Only record: shops let everyone in and log whom they would have queued.
        dry_run: bool,
    },
    /// Take the next place in an event's waiting room. A retry with the same
    /// request id gets the same position.
    JoinWaitingRoom {
        /// The event.
        event: EventId,
    },
    /// Create a variation of an item (a T-shirt size, a "student" price).
    /// A variation has an [`ItemId`] of its own, sits in every quota of its
    /// item and may be put in quotas of its own; once an item has a
    /// variation, new holds must name one of its variations instead of it.
    CreateVariation {
        /// The item; not itself a variation.
        item: ItemId,
        /// Display name.
        name: String,
        /// Price of one ticket of this variation, in cents.
        price_cents: u64,
    },
    /// Set an item's order limits, replacing what was set. Holds already
    /// made keep what they have.
    SetOrderLimits {
        /// The item or variation.
        item: ItemId,
        /// The new limits.
        limits: OrderLimits,
    },
    /// Create a voucher: a code, derived by the domain like a ticket secret,
    /// that buyers redeem in a hold ([`Command::PlaceHoldWith`]).
    CreateVoucher {
        /// The event.
        event: EventId,
        /// What it can be redeemed for (of `event`).
        scope: VoucherScope,
        /// How many tickets it may be redeemed for in all, 1 to
        /// [`VOUCHER_REDEMPTIONS_MAX`](super::limits::VOUCHER_REDEMPTIONS_MAX).
        max_redemptions: u32,
        /// Redeemable from this log time on, in milliseconds.
        valid_from_ms: u64,
        /// Redeemable before this log time, in milliseconds; after it the
        /// voucher blocks nothing.
        valid_until_ms: u64,
        /// Count its unredeemed uses against the quotas it is for until it
        /// expires (pretix: "reserve ticket from quota").
        blocks_quota: bool,
    },
    /// [`Command::PlaceHold`], redeeming a voucher for every ticket of the
    /// hold, and naming the buyer for per-buyer order limits.
    PlaceHoldWith {
        /// The event all lines belong to.
        event: EventId,
        /// What to reserve.
        lines: Vec<Line>,
        /// Time to live, in milliseconds.
        ttl_ms: u64,
        /// A voucher code, redeemed for every ticket of the hold (and of
        /// lines added to it later).
        voucher: Option<String>,
        /// The buyer, counted against per-buyer limits.
        buyer: Option<BuyerId>,
    },
    /// Add one row of seats to an event's seating plan: `seats` in order
    /// (position 0, 1, ... is adjacency order). Rows of a zone are ordered
    /// by creation, the first the best (the front). The seats get
    /// consecutive ids from the shared id counter.
    AddSeatRow {
        /// The event.
        event: EventId,
        /// The zone ("Stalls"), 1 to
        /// [`SEAT_ZONE_BYTES_MAX`](super::limits::SEAT_ZONE_BYTES_MAX) bytes.
        zone: String,
        /// The row's name ("A"), 1 to
        /// [`SEAT_ROW_BYTES_MAX`](super::limits::SEAT_ROW_BYTES_MAX) bytes,
        /// unique in its zone.
        row: String,
        /// Its seats, 1 to [`SEAT_ROW_SEATS_MAX`](super::limits::SEAT_ROW_SEATS_MAX),
        /// with distinct labels.
        seats: Vec<SeatSpec>,
    },
    /// Block or unblock seats of an event (the organizer keeps them out of
    /// sale). A seat that is taken cannot be blocked.
    SetSeatsBlocked {
        /// The event.
        event: EventId,
        /// The seats, 1 to
        /// [`SEATS_PER_COMMAND_MAX`](super::limits::SEATS_PER_COMMAND_MAX), distinct.
        seats: Vec<SeatId>,
        /// Block (true) or unblock.
        blocked: bool,
    },
    /// [`Command::PlaceHoldWith`] for seats: the hold's lines are one
    /// ticket of each seat's item, and go through the same checks.
    PlaceSeatedHold {
        /// The event.
        event: EventId,
        /// Which seats.
        seats: SeatChoice,
        /// Time to live, in milliseconds.
        ttl_ms: u64,
        /// A voucher code, redeemed for every ticket of the hold.
        voucher: Option<String>,
        /// The buyer, counted against per-buyer limits.
        buyer: Option<BuyerId>,
    },
    /// Join an event's waiting list for one ticket of a sold-out item.
    /// Refused while the item has room for one ticket (buy it instead).
    /// Entries are served by priority, highest first, then in log order;
    /// freed capacity becomes time-limited offers in the record that frees
    /// it (see `ARCHITECTURE.md`, "Waiting list").
    JoinWaitingList {
        /// The event.
        event: EventId,
        /// The item, of `event`; an item with variations is joined as one of them.
        item: ItemId,
        /// Higher is served first; 0 by default.
        priority: u32,
        /// The buyer, named on the hold a claimed offer becomes.
        buyer: Option<BuyerId>,
    },
    /// Leave a waiting list. An entry that holds a live offer gives its
    /// unit back, and the next entry in line is offered it in the same record.
    LeaveWaitingList {
        /// The entry.
        entry: EntryId,
    },
    /// Turn a live offer into a hold of one ticket of the entry's item (for
    /// its buyer), until `time + ttl_ms`. Cannot fail for lack of capacity:
    /// the offer's unit becomes the hold's.
    ClaimOffer {
        /// The entry.
        entry: EntryId,
        /// The hold's time to live, in milliseconds, 1 to
        /// [`HOLD_TTL_MS_MAX`](super::limits::HOLD_TTL_MS_MAX).
        ttl_ms: u64,
    },
    /// Set how long an event's waiting-list offers stay open (default
    /// [`WAITING_LIST_OFFER_TTL_MS_DEFAULT`](super::limits::WAITING_LIST_OFFER_TTL_MS_DEFAULT)).
    /// Offers already made keep their expiry.
    ConfigureWaitingList {
        /// The event.
        event: EventId,
        /// Time an offer stays open, in milliseconds, 1 to
        /// [`WAITING_LIST_OFFER_TTL_MS_MAX`](super::limits::WAITING_LIST_OFFER_TTL_MS_MAX).
        offer_ttl_ms: u64,
    },
}

impl Command {
    /// A short, stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::CreateOrganizer { .. } => "create_organizer",
            Command::CreateEvent { .. } => "create_event",
            Command::CreateItem { .. } => "create_item",
            Command::CreateQuota { .. } => "create_quota",
            Command::ResizeQuota { .. } => "resize_quota",
            Command::CloseQuota { .. } => "close_quota",
            Command::ReopenQuota { .. } => "reopen_quota",
            Command::PlaceHold { .. } => "place_hold",
            Command::AddToHold { .. } => "add_to_hold",
            Command::ExtendHold { .. } => "extend_hold",
            Command::ReleaseHold { .. } => "release_hold",
            Command::Checkout { .. } => "checkout",
            Command::Pay { .. } => "pay",
            Command::CancelOrder { .. } => "cancel_order",
            Command::CreateCheckinList { .. } => "create_checkin_list",
            Command::CheckIn { .. } => "check_in",
            Command::Expire => "expire",
            Command::RemoveFromHold { .. } => "remove_from_hold",
            Command::CheckoutWithContact { .. } => "checkout_with_contact",
            Command::ConfigureWaitingRoom { .. } => "configure_waiting_room",
            Command::JoinWaitingRoom { .. } => "join_waiting_room",
            Command::CreateVariation { .. } => "create_variation",
            Command::SetOrderLimits { .. } => "set_order_limits",
            Command::CreateVoucher { .. } => "create_voucher",
            Command::PlaceHoldWith { .. } => "place_hold_with",
            Command::AddSeatRow { .. } => "add_seat_row",
            Command::SetSeatsBlocked { .. } => "set_seats_blocked",
            Command::PlaceSeatedHold { .. } => "place_seated_hold",
            Command::JoinWaitingList { .. } => "join_waiting_list",
            Command::LeaveWaitingList { .. } => "leave_waiting_list",
            Command::ClaimOffer { .. } => "claim_offer",
            Command::ConfigureWaitingList { .. } => "configure_waiting_list",
        }
    }
}

/// Who bought an order, as given at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The buyer's name.
    pub name: String,
    /// The buyer's e-mail address.
    pub email: String,
}

/// One ticket of an order: a position with an unguessable secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Position within the order, from 0.
    pub position: u32,
    /// The item.
    pub item: ItemId,
    /// 32 lowercase hex characters: a keyed hash of the organizer's key, the
    /// order and the position.
    pub secret: String,
}

/// A fact that happened. The state is the fold of these, in log order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A tenant was created.
    OrganizerCreated {
        /// Its id.
        organizer: OrganizerId,
        /// Its slug.
        slug: String,
        /// Its name.
        name: String,
        /// The key of its ticket secrets.
        secret_key: [u8; 32],
    },
    /// An event was created.
    EventCreated {
        /// Its id.
        event: EventId,
        /// Its organizer.
        organizer: OrganizerId,
        /// Its slug.
        slug: String,
        /// Its name.
        name: String,
    },
    /// An item was created.
    ItemCreated {
        /// Its id.
        item: ItemId,
        /// Its event.
        event: EventId,
        /// Its name.
        name: String,
        /// Its price, in cents.
        price_cents: u64,
    },
    /// A quota was created.
    QuotaCreated {
        /// Its id.
        quota: QuotaId,
        /// Its event.
        event: EventId,
        /// Its name.
        name: String,
        /// Its size, or `None` for unlimited.
        size: Option<u64>,
        /// The items it covers.
        items: Vec<ItemId>,
        /// Whether it closes itself when sold out.
        close_when_sold_out: bool,
    },
    /// A quota's size changed.
    QuotaResized {
        /// The quota.
        quota: QuotaId,
        /// The new size.
        size: Option<u64>,
    },
    /// A quota was closed, by hand or because it sold out.
    QuotaClosed {
        /// The quota.
        quota: QuotaId,
        /// True when it closed itself on selling out.
        automatically: bool,
    },
    /// A quota was reopened.
    QuotaReopened {
        /// The quota.
        quota: QuotaId,
    },
    /// Items were reserved.
    HoldPlaced {
        /// The new hold.
        hold: HoldId,
        /// Its event.
        event: EventId,
        /// What it reserves.
        lines: Vec<Line>,
        /// When it lapses, in log milliseconds.
        expires_at_ms: u64,
    },
    /// Items were added to a live hold.
    HoldLinesAdded {
        /// The hold.
        hold: HoldId,
        /// What was added.
        lines: Vec<Line>,
    },
    /// A hold's expiry moved.
    HoldExtended {
        /// The hold.
        hold: HoldId,
        /// The new expiry, in log milliseconds.
        expires_at_ms: u64,
    },
    /// A hold was given back early.
    HoldReleased {
        /// The hold.
        hold: HoldId,
    },
    /// A lapsed hold was recorded as expired.
    HoldExpired {
        /// The hold.
        hold: HoldId,
    },
    /// A hold became a pending order with tickets.
    OrderPlaced {
        /// The new order.
        order: OrderId,
        /// The hold it came from (now checked out).
        hold: HoldId,
        /// Its payment deadline, in log milliseconds.
        payment_deadline_ms: u64,
        /// Its total, in cents.
        total_cents: u64,
        /// Its tickets, one per unit.
        tickets: Vec<Ticket>,
    },
    /// An order was paid and counts as sold.
    OrderPaid {
        /// The order.
        order: OrderId,
        /// What was paid, in cents.
        amount_cents: u64,
    },
    /// A pending order passed its payment deadline.
    OrderExpired {
        /// The order.
        order: OrderId,
    },
    /// An order was canceled.
    OrderCanceled {
        /// The order.
        order: OrderId,
        /// What must be paid back, in cents (nonzero if it was paid).
        refund_owed_cents: u64,
    },
    /// A payment came for an expired order whose capacity was gone: the
    /// payment is recorded, the order stays expired, the money goes back.
    RefundOwed {
        /// The order.
        order: OrderId,
        /// What must be paid back, in cents.
        amount_cents: u64,
    },
    /// A check-in list was created.
    CheckinListCreated {
        /// Its id.
        list: CheckinListId,
        /// Its event.
        event: EventId,
        /// Its name.
        name: String,
        /// Whether a ticket may enter any number of times.
        allow_multiple_entries: bool,
        /// Whether a ticket may enter again after an exit.
        allow_entry_after_exit: bool,
    },
    /// A scan was accepted.
    CheckedIn {
        /// The list.
        list: CheckinListId,
        /// The ticket's order.
        order: OrderId,
        /// The ticket's position in it.
        position: u32,
        /// The scan's nonce.
        nonce: Nonce,
        /// In or out.
        direction: Direction,
    },
    /// A scan was refused. Kept in the log (as pretix keeps failed
    /// check-ins) so the door's history is complete and the nonce repeats its answer.
    CheckInRefused {
        /// The list.
        list: CheckinListId,
        /// The scan's nonce.
        nonce: Nonce,
        /// Why.
        reason: CheckinRejection,
    },
    // New variants go at the end (records decode forever).
    /// Items were taken out of a live hold.
    HoldLinesRemoved {
        /// The hold.
        hold: HoldId,
        /// What was taken out.
        lines: Vec<Line>,
    },
    /// The buyer's contact was stored on an order (right after its `OrderPlaced`).
    OrderContactSet {
        /// The order.
        order: OrderId,
        /// Who bought it.
        contact: Contact,
    },
    /// An event's waiting room was created or changed. Its admissions are
    /// counted from `base` at this record's time, at the new rate.
    WaitingRoomConfigured {
        /// The event.
        event: EventId,
        /// Buyers admitted per minute of log time.
        admit_per_minute: u32,
        /// New arrivals a shop lets join per second.
        arrivals_per_second_max: u32,
        /// Admitted buyers a shop lets shop at once.
        in_flight_max: u32,
        /// Only record, do not queue.
        dry_run: bool,
        /// How many were admitted at this moment (0 for a new room).
        base: u64,
    },
    /// Someone joined an event's waiting room.
    WaitingRoomJoined {
        /// The event.
        event: EventId,
        /// Their place, from 1.
        position: u64,
        /// True if the queue was empty when they came: admissions are then
        /// counted from `position - 1` at this record's time, so that idle
        /// time does not bank admissions.
        rebased: bool,
    },
    /// A variation of an item was created. It starts in every quota of its item.
    VariationCreated {
        /// Its id.
        variation: ItemId,
        /// Its item.
        item: ItemId,
        /// Its name.
        name: String,
        /// Its price, in cents.
        price_cents: u64,
    },
    /// An item's order limits were set.
    OrderLimitsSet {
        /// The item or variation.
        item: ItemId,
        /// The limits.
        limits: OrderLimits,
    },
    /// A voucher was created.
    VoucherCreated {
        /// Its id.
        voucher: VoucherId,
        /// Its event.
        event: EventId,
        /// Its code (see `voucher_code`).
        code: String,
        /// What it is for.
        scope: VoucherScope,
        /// How many tickets it may be redeemed for.
        max_redemptions: u32,
        /// Redeemable from, in log milliseconds.
        valid_from_ms: u64,
        /// Redeemable before, in log milliseconds.
        valid_until_ms: u64,
        /// Whether its unredeemed uses count against its quotas.
        blocks_quota: bool,
    },
    /// Items were reserved with a voucher redeemed for every ticket, or for
    /// a named buyer, or both.
    HoldPlacedWith {
        /// The new hold.
        hold: HoldId,
        /// Its event.
        event: EventId,
        /// What it reserves.
        lines: Vec<Line>,
        /// When it lapses, in log milliseconds.
        expires_at_ms: u64,
        /// The voucher redeemed.
        voucher: Option<VoucherId>,
        /// The buyer.
        buyer: Option<BuyerId>,
    },
    /// A blocking voucher's validity ended and `Expire` took its block out
    /// of its quotas' tallies. It stopped counting at `valid_until_ms`
    /// already; this only keeps the tallies small.
    VoucherBlockEnded {
        /// The voucher.
        voucher: VoucherId,
    },
    /// A row of seats was added; its seats have the ids `first_seat`,
    /// `first_seat + 1`, ... in order.
    SeatRowAdded {
        /// The event.
        event: EventId,
        /// The zone.
        zone: String,
        /// The row.
        row: String,
        /// The id of its first seat.
        first_seat: SeatId,
        /// Its seats, in order.
        seats: Vec<SeatSpec>,
    },
    /// Seats were blocked or unblocked.
    SeatsBlocked {
        /// The seats.
        seats: Vec<SeatId>,
        /// Blocked (true) or not.
        blocked: bool,
    },
    /// Seats were reserved: a hold of one ticket per seat. `seats` are in
    /// ticket order: seat `i` is the seat of the order's ticket at position `i`.
    SeatedHoldPlaced {
        /// The new hold.
        hold: HoldId,
        /// Its event.
        event: EventId,
        /// What it reserves: one ticket of each seat's item, merged per item.
        lines: Vec<Line>,
        /// When it lapses, in log milliseconds.
        expires_at_ms: u64,
        /// The voucher redeemed.
        voucher: Option<VoucherId>,
        /// The buyer.
        buyer: Option<BuyerId>,
        /// Its seats, in ticket order.
        seats: Vec<SeatId>,
    },
    /// Someone joined an event's waiting list (not offered yet).
    WaitingListJoined {
        /// The new entry.
        entry: EntryId,
        /// Its event.
        event: EventId,
        /// The item (or variation) it waits for, one ticket.
        item: ItemId,
        /// Its priority: higher is served first.
        priority: u32,
        /// Its buyer.
        buyer: Option<BuyerId>,
    },
    /// An entry left its waiting list; a live offer it held is given back.
    WaitingListLeft {
        /// The entry.
        entry: EntryId,
    },
    /// A waiting entry was offered one ticket of its item: the unit counts
    /// against the item's quotas until `expires_at_ms`, and only the
    /// entry can claim it (`ClaimOffer`).
    OfferMade {
        /// The entry.
        entry: EntryId,
        /// When the offer lapses, in log milliseconds.
        expires_at_ms: u64,
    },
    /// A lapsed offer was recorded as expired (by `Expire`). It stopped
    /// counting at its expiry already; the entry is done.
    OfferExpired {
        /// The entry.
        entry: EntryId,
    },
    /// A live offer was claimed: its unit moves to `hold`, whose
    /// `HoldPlaced` or `HoldPlacedWith` follows in the same record.
    OfferClaimed {
        /// The entry.
        entry: EntryId,
        /// The hold it becomes.
        hold: HoldId,
    },
    /// An event's waiting-list offer time was set.
    WaitingListConfigured {
        /// The event.
        event: EventId,
        /// Time an offer stays open, in milliseconds.
        offer_ttl_ms: u64,
    },
}

impl Event {
    /// A short, stable name for logs, metrics and tailing.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::OrganizerCreated { .. } => "OrganizerCreated",
            Event::EventCreated { .. } => "EventCreated",
            Event::ItemCreated { .. } => "ItemCreated",
            Event::QuotaCreated { .. } => "QuotaCreated",
            Event::QuotaResized { .. } => "QuotaResized",
            Event::QuotaClosed { .. } => "QuotaClosed",
            Event::QuotaReopened { .. } => "QuotaReopened",
            Event::HoldPlaced { .. } => "HoldPlaced",
            Event::HoldLinesAdded { .. } => "HoldLinesAdded",
            Event::HoldExtended { .. } => "HoldExtended",
            Event::HoldReleased { .. } => "HoldReleased",
            Event::HoldExpired { .. } => "HoldExpired",
            Event::OrderPlaced { .. } => "OrderPlaced",
            Event::OrderPaid { .. } => "OrderPaid",
            Event::OrderExpired { .. } => "OrderExpired",
            Event::OrderCanceled { .. } => "OrderCanceled",
            Event::RefundOwed { .. } => "RefundOwed",
            Event::CheckinListCreated { .. } => "CheckinListCreated",
            Event::CheckedIn { .. } => "CheckedIn",
            Event::CheckInRefused { .. } => "CheckInRefused",
            Event::HoldLinesRemoved { .. } => "HoldLinesRemoved",
            Event::OrderContactSet { .. } => "OrderContactSet",
            Event::WaitingRoomConfigured { .. } => "WaitingRoomConfigured",
            Event::WaitingRoomJoined { .. } => "WaitingRoomJoined",
            Event::VariationCreated { .. } => "VariationCreated",
            Event::OrderLimitsSet { .. } => "OrderLimitsSet",
            Event::VoucherCreated { .. } => "VoucherCreated",
            Event::HoldPlacedWith { .. } => "HoldPlacedWith",
            Event::VoucherBlockEnded { .. } => "VoucherBlockEnded",
            Event::SeatRowAdded { .. } => "SeatRowAdded",
            Event::SeatsBlocked { .. } => "SeatsBlocked",
            Event::SeatedHoldPlaced { .. } => "SeatedHoldPlaced",
            Event::WaitingListJoined { .. } => "WaitingListJoined",
            Event::WaitingListLeft { .. } => "WaitingListLeft",
            Event::OfferMade { .. } => "OfferMade",
            Event::OfferExpired { .. } => "OfferExpired",
            Event::OfferClaimed { .. } => "OfferClaimed",
            Event::WaitingListConfigured { .. } => "WaitingListConfigured",
        }
    }
}

/// What one new command left in the event log: its events and its outcome.
/// Replaying records in `seq` order from an empty state rebuilds the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the event log, from 1, without gaps.
    pub seq: u64,
    /// Effective (monotonic) log time of the command, in milliseconds.
    pub time_ms: u64,
    /// The command's idempotency key.
    pub request_id: RequestId,
    /// What happened; empty for a plain rejection.
    pub events: Vec<Event>,
    /// What the client is told, now and on every retry.
    pub outcome: Outcome,
    /// The digest of the command ([`Command::digest`]), kept with the
    /// request id so a reuse of the id with another command is a conflict.
    /// `None` in records of format version 1.
    pub command_digest: Option<super::digest::CommandDigest>,
}

/// The answer to a command. A sold-out answer is an outcome, not an error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The command took effect.
    Accepted(Accepted),
    /// The command changed nothing (bar a refused scan's log entry), for this reason.
    Rejected(Rejection),
}

impl Outcome {
    /// True if the command took effect.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted(_))
    }

    /// A short, stable label for metrics and reports, such as
    /// `"accepted/order_placed"` or `"rejected/sold_out"`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted(accepted) => match accepted {
                Accepted::OrganizerCreated { .. } => "accepted/organizer_created",
                Accepted::EventCreated { .. } => "accepted/event_created",
                Accepted::ItemCreated { .. } => "accepted/item_created",
                Accepted::QuotaCreated { .. } => "accepted/quota_created",
                Accepted::QuotaUpdated { .. } => "accepted/quota_updated",
                Accepted::HoldLive { .. } => "accepted/hold_live",
                Accepted::HoldReleased { .. } => "accepted/hold_released",
                Accepted::OrderPlaced { .. } => "accepted/order_placed",
                Accepted::OrderPaid { .. } => "accepted/order_paid",
                Accepted::PaymentRefundOwed { .. } => "accepted/payment_refund_owed",
                Accepted::OrderCanceled { .. } => "accepted/order_canceled",
                Accepted::CheckinListCreated { .. } => "accepted/checkin_list_created",
                Accepted::CheckedIn { .. } => "accepted/checked_in",
                Accepted::Expired { .. } => "accepted/expired",
                Accepted::WaitingRoomConfigured { .. } => "accepted/waiting_room_configured",
                Accepted::WaitingRoomJoined { .. } => "accepted/waiting_room_joined",
                Accepted::OrderLimitsSet { .. } => "accepted/order_limits_set",
                Accepted::VoucherCreated { .. } => "accepted/voucher_created",
                Accepted::SeatRowAdded { .. } => "accepted/seat_row_added",
                Accepted::SeatsBlocked { .. } => "accepted/seats_blocked",
                Accepted::SeatedHoldLive { .. } => "accepted/seated_hold_live",
                Accepted::SeatCheckedIn { .. } => "accepted/seat_checked_in",
                Accepted::WaitingListJoined { .. } => "accepted/waiting_list_joined",
                Accepted::WaitingListLeft { .. } => "accepted/waiting_list_left",
                Accepted::WaitingListConfigured { .. } => "accepted/waiting_list_configured",
            },
            Outcome::Rejected(rejection) => match rejection {
                Rejection::Invalid(_) => "rejected/invalid",
                Rejection::NotFound(_) => "rejected/not_found",
                Rejection::SlugTaken { .. } => "rejected/slug_taken",
                Rejection::ItemNotForSale { .. } => "rejected/item_not_for_sale",
                Rejection::SoldOut { .. } => "rejected/sold_out",
                Rejection::QuotaClosed { .. } => "rejected/quota_closed",
                Rejection::HoldExpired { .. } => "rejected/hold_expired",
                Rejection::HoldClosed { .. } => "rejected/hold_closed",
                Rejection::HoldLifetimeCapReached { .. } => "rejected/hold_lifetime_cap_reached",
                Rejection::OrderStatusForbids { .. } => "rejected/order_status_forbids",
                Rejection::CheckIn(CheckinRejection::Invalid) => "rejected/checkin_invalid",
                Rejection::CheckIn(CheckinRejection::AlreadyRedeemed) => "rejected/checkin_already_redeemed",
                Rejection::CheckIn(CheckinRejection::Unpaid) => "rejected/checkin_unpaid",
                Rejection::CheckIn(CheckinRejection::Canceled) => "rejected/checkin_canceled",
                Rejection::Conflict => "rejected/conflict",
                Rejection::Voucher(VoucherRejection::Unknown) => "rejected/voucher_unknown",
                Rejection::Voucher(VoucherRejection::NotYetValid { .. }) => "rejected/voucher_not_yet_valid",
                Rejection::Voucher(VoucherRejection::Expired { .. }) => "rejected/voucher_expired",
                Rejection::Voucher(VoucherRejection::NotApplicable { .. }) => {
                    "rejected/voucher_not_applicable"
                }
                Rejection::Voucher(VoucherRejection::Exhausted { .. }) => "rejected/voucher_exhausted",
                Rejection::Voucher(VoucherRejection::NoRoomToBlock { .. }) => {
                    "rejected/voucher_no_room_to_block"
                }
                Rejection::OrderLimit(OrderLimitRejection::BelowMin { .. }) => {
                    "rejected/order_limit_below_min"
                }
                Rejection::OrderLimit(OrderLimitRejection::AboveMax { .. }) => {
                    "rejected/order_limit_above_max"
                }
                Rejection::OrderLimit(OrderLimitRejection::BuyerMax { .. }) => {
                    "rejected/order_limit_buyer_max"
                }
                Rejection::OrderLimit(OrderLimitRejection::BuyerRequired { .. }) => {
                    "rejected/order_limit_buyer_required"
                }
                Rejection::Seat(SeatRejection::Blocked { .. }) => "rejected/seat_blocked",
                Rejection::Seat(SeatRejection::Taken { .. }) => "rejected/seat_taken",
                Rejection::Seat(SeatRejection::NoAdjacentSeats { .. }) => "rejected/no_adjacent_seats",
                Rejection::WaitingList(WaitingListRejection::Available { .. }) => {
                    "rejected/waiting_list_available"
                }
                Rejection::WaitingList(WaitingListRejection::Full { .. }) => "rejected/waiting_list_full",
                Rejection::WaitingList(WaitingListRejection::NotOffered { .. }) => {
                    "rejected/waiting_list_not_offered"
                }
                Rejection::WaitingList(WaitingListRejection::OfferLapsed { .. }) => {
                    "rejected/waiting_list_offer_lapsed"
                }
                Rejection::WaitingList(WaitingListRejection::Claimed { .. }) => {
                    "rejected/waiting_list_claimed"
                }
                Rejection::WaitingList(WaitingListRejection::Left { .. }) => "rejected/waiting_list_left",
            },
        }
    }
}

/// What an accepted command did, for the client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accepted {
    /// An organizer exists.
    OrganizerCreated {
        /// Its id.
        organizer: OrganizerId,
    },
    /// An event exists.
    EventCreated {
        /// Its id.
        event: EventId,
    },
    /// An item exists.
    ItemCreated {
        /// Its id.
        item: ItemId,
    },
    /// A quota exists.
    QuotaCreated {
        /// Its id.
        quota: QuotaId,
    },
    /// A quota was resized, closed or reopened (or already was so).
    QuotaUpdated {
        /// The quota.
        quota: QuotaId,
    },
    /// A hold was placed, added to, removed from or extended.
    HoldLive {
        /// The hold.
        hold: HoldId,
        /// When it lapses, in log milliseconds.
        expires_at_ms: u64,
    },
    /// A hold was released.
    HoldReleased {
        /// The hold.
        hold: HoldId,
    },
    /// An order was placed.
    OrderPlaced {
        /// The order.
        order: OrderId,
        /// Its payment deadline, in log milliseconds.
        payment_deadline_ms: u64,
        /// Its total, in cents.
        total_cents: u64,
        /// Its tickets.
        tickets: Vec<Ticket>,
    },
    /// An order is paid.
    OrderPaid {
        /// The order.
        order: OrderId,
    },
    /// The payment was recorded, but the expired order's capacity was gone:
    /// it stays expired and the amount is owed back.
    PaymentRefundOwed {
        /// The order.
        order: OrderId,
        /// What is owed back, in cents.
        amount_cents: u64,
    },
    /// An order was canceled.
    OrderCanceled {
        /// The order.
        order: OrderId,
        /// What is owed back, in cents.
        refund_owed_cents: u64,
    },
    /// A check-in list exists.
    CheckinListCreated {
        /// Its id.
        list: CheckinListId,
    },
    /// A scan was accepted.
    CheckedIn {
        /// The ticket's order.
        order: OrderId,
        /// The ticket's position.
        position: u32,
        /// In or out.
        direction: Direction,
    },
    /// Lapsed holds and orders were recorded as expired.
    Expired {
        /// How many holds.
        holds: u32,
        /// How many orders.
        orders: u32,
        /// True if more remain lapsed than one command may record.
        more: bool,
    },
    // New variants go at the end (records decode forever).
    /// A waiting room was created or changed.
    WaitingRoomConfigured {
        /// Its event.
        event: EventId,
    },
    /// A place in a waiting room. The holder is admitted once the room's
    /// `admitted` count (see `State::waiting_room`) reaches `position`.
    WaitingRoomJoined {
        /// The event.
        event: EventId,
        /// The place, from 1.
        position: u64,
    },
    /// An item's order limits were set.
    OrderLimitsSet {
        /// The item or variation.
        item: ItemId,
    },
    /// A voucher exists. (A variation is answered [`Accepted::ItemCreated`]:
    /// it is an item of its own.)
    VoucherCreated {
        /// Its id.
        voucher: VoucherId,
        /// The code buyers type.
        code: String,
    },
    /// A row of seats exists.
    SeatRowAdded {
        /// The id of its first seat (the others follow in order).
        first_seat: SeatId,
        /// How many seats.
        count: u32,
    },
    /// Seats were blocked or unblocked (or already were so).
    SeatsBlocked {
        /// The event.
        event: EventId,
        /// How many seats the command named.
        count: u32,
    },
    /// A seated hold was placed.
    SeatedHoldLive {
        /// The hold.
        hold: HoldId,
        /// When it lapses, in log milliseconds.
        expires_at_ms: u64,
        /// Its seats, in ticket order.
        seats: Vec<SeatId>,
    },
    /// A scan of a ticket with a seat was accepted ([`Accepted::CheckedIn`]
    /// with the seat, for the door to show).
    SeatCheckedIn {
        /// The ticket's order.
        order: OrderId,
        /// The ticket's position.
        position: u32,
        /// In or out.
        direction: Direction,
        /// The ticket's seat.
        seat: SeatId,
    },
    /// A place on a waiting list.
    WaitingListJoined {
        /// The entry.
        entry: EntryId,
        /// Its place among the entries of its item that wait without an
        /// offer, in serving order, from 1, once this record's offers are
        /// made; 0 if its priority got it an offer in this very record.
        position: u64,
    },
    /// An entry left its waiting list.
    WaitingListLeft {
        /// The entry.
        entry: EntryId,
    },
    /// An event's waiting list was configured.
    WaitingListConfigured {
        /// The event.
        event: EventId,
    },
}

/// A kind of object, to say which one was not found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectRef {
    /// An organizer.
    Organizer(OrganizerId),
    /// An event.
    Event(EventId),
    /// An item.
    Item(ItemId),
    /// A quota.
    Quota(QuotaId),
    /// A hold.
    Hold(HoldId),
    /// An order.
    Order(OrderId),
    /// A check-in list.
    CheckinList(CheckinListId),
    /// The waiting room of an event (the event exists; it has no room).
    WaitingRoom(EventId),
    /// A voucher.
    Voucher(VoucherId),
    /// A seat.
    Seat(SeatId),
    /// A waiting-list entry.
    WaitingListEntry(EntryId),
}

/// Why a command changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rejection {
    /// The command is malformed or breaks a limit.
    Invalid(InvalidInput),
    /// The object does not exist.
    NotFound(ObjectRef),
    /// The slug is taken.
    SlugTaken {
        /// The slug.
        slug: String,
    },
    /// An item is in no quota, so it cannot be sold.
    ItemNotForSale {
        /// The item.
        item: ItemId,
    },
    /// A quota has too little left for the request.
    SoldOut {
        /// The first item (in line order) that did not fit.
        item: ItemId,
        /// The binding quota.
        quota: QuotaId,
        /// What fills it, most binding first.
        state: AvailabilityState,
        /// Tickets still available in it.
        remaining: u64,
    },
    /// A quota is closed.
    QuotaClosed {
        /// The first item (in line order) that is affected.
        item: ItemId,
        /// The closed quota.
        quota: QuotaId,
    },
    /// The hold has lapsed (extend, add to, remove from).
    HoldExpired {
        /// The hold.
        hold: HoldId,
    },
    /// The hold was released or checked out.
    HoldClosed {
        /// The hold.
        hold: HoldId,
        /// Its status.
        status: HoldStatus,
    },
    /// The hold is at its lifetime cap and cannot be extended further.
    HoldLifetimeCapReached {
        /// The hold.
        hold: HoldId,
        /// The cap, in log milliseconds.
        expires_at_max_ms: u64,
    },
    /// The order is in a state that does not allow this.
    OrderStatusForbids {
        /// The order.
        order: OrderId,
        /// Its status.
        status: OrderStatus,
    },
    /// A scan was refused.
    CheckIn(CheckinRejection),
    /// The request id was already used for a different command (an
    /// idempotency key reused with another payload). Nothing was done and
    /// nothing is recorded; the first command's outcome stands.
    Conflict,
    // New variants go at the end (records decode forever).
    /// A voucher was refused, or a blocking one could not be created.
    Voucher(VoucherRejection),
    /// An order limit of an item was not met.
    OrderLimit(OrderLimitRejection),
    /// A seat could not be held or blocked.
    Seat(SeatRejection),
    /// A waiting-list command was refused.
    WaitingList(WaitingListRejection),
}

/// Why a waiting-list command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WaitingListRejection {
    /// The item has room for a ticket now (after the offers owed to the
    /// entries already waiting): buy it instead of waiting.
    Available {
        /// The item.
        item: ItemId,
    },
    /// The event's list has
    /// [`EVENT_WAITING_LIST_ENTRIES_MAX`](super::limits::EVENT_WAITING_LIST_ENTRIES_MAX)
    /// entries waiting or offered already.
    Full {
        /// The event.
        event: EventId,
        /// The maximum.
        max: u32,
    },
    /// The entry waits without an offer: there is nothing to claim yet.
    NotOffered {
        /// The entry.
        entry: EntryId,
    },
    /// The entry's offer lapsed: it is done (not queued again, as in pretix).
    OfferLapsed {
        /// The entry.
        entry: EntryId,
        /// When the offer lapsed, in log milliseconds.
        expired_at_ms: u64,
    },
    /// The entry's offer was claimed already.
    Claimed {
        /// The entry.
        entry: EntryId,
        /// The hold it became.
        hold: HoldId,
    },
    /// The entry left its list.
    Left {
        /// The entry.
        entry: EntryId,
    },
}

/// Why a voucher was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoucherRejection {
    /// No voucher of this event has this code.
    Unknown,
    /// The voucher is not valid yet.
    NotYetValid {
        /// The voucher.
        voucher: VoucherId,
        /// When it will be, in log milliseconds.
        valid_from_ms: u64,
    },
    /// The voucher's validity has ended.
    Expired {
        /// The voucher.
        voucher: VoucherId,
        /// When it ended, in log milliseconds.
        valid_until_ms: u64,
    },
    /// The voucher is not for this item.
    NotApplicable {
        /// The voucher.
        voucher: VoucherId,
        /// The first item (in line order) it is not for.
        item: ItemId,
    },
    /// The voucher has too few redemptions left.
    Exhausted {
        /// The voucher.
        voucher: VoucherId,
        /// Redemptions still free.
        remaining: u64,
    },
    /// A blocking voucher does not fit: a quota it would block has too
    /// little left for all its redemptions.
    NoRoomToBlock {
        /// The quota.
        quota: QuotaId,
        /// Tickets still available in it.
        remaining: u64,
    },
}

/// Which order limit of an item a hold broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderLimitRejection {
    /// The hold would have fewer tickets of the item than its minimum (and more than none).
    BelowMin {
        /// The item (or the item of a variation).
        item: ItemId,
        /// The minimum per order.
        min: u32,
    },
    /// The hold would have more tickets of the item than its maximum.
    AboveMax {
        /// The item.
        item: ItemId,
        /// The maximum per order.
        max: u32,
    },
    /// The buyer would have more tickets of the item than its per-buyer maximum.
    BuyerMax {
        /// The item.
        item: ItemId,
        /// The maximum per buyer.
        max: u32,
        /// What the buyer has of it already (live holds, live pending and paid orders).
        counted: u64,
    },
    /// The item has a per-buyer maximum and the hold names no buyer.
    BuyerRequired {
        /// The item.
        item: ItemId,
    },
}

/// Why a seat could not be held or blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatRejection {
    /// The seat is blocked by the organizer.
    Blocked {
        /// The seat.
        seat: SeatId,
    },
    /// The seat is in a live hold, a pending order before its deadline,
    /// or a paid order (for a lapsed hold's checkout or an expired order's
    /// payment: someone else's).
    Taken {
        /// The seat.
        seat: SeatId,
    },
    /// No row of the zone has `count` adjacent free seats (of the item, if
    /// one was given), or the event has no such zone.
    NoAdjacentSeats {
        /// The zone.
        zone: String,
        /// How many were asked for.
        count: u32,
    },
}

/// How a command broke the rules of input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvalidInput {
    /// A slug is empty, too long, or not `[a-z0-9-]`.
    Slug,
    /// A name is empty or too long.
    Name,
    /// A price is above [`ITEM_PRICE_CENTS_MAX`](super::limits::ITEM_PRICE_CENTS_MAX).
    Price,
    /// A quota size is above [`QUOTA_SIZE_MAX`](super::limits::QUOTA_SIZE_MAX).
    QuotaSize,
    /// A quota has no items, too many, or one twice.
    QuotaItems,
    /// An item is in too many quotas already.
    ItemQuotas {
        /// The item.
        item: ItemId,
    },
    /// An item belongs to another event.
    ItemOfOtherEvent {
        /// The item.
        item: ItemId,
    },
    /// A hold has no lines, too many, or a zero quantity.
    Lines,
    /// A hold's total quantity is above [`HOLD_QUANTITY_MAX`](super::limits::HOLD_QUANTITY_MAX).
    Quantity,
    /// A time-to-live is zero or above its limit.
    Ttl,
    /// A check-in secret is longer than any real one.
    Secret,
    // New variants go at the end (records decode forever).
    /// A line removed from a hold asks for more of an item than the hold
    /// has of it (or for an item it does not have).
    NotInHold {
        /// The item.
        item: ItemId,
    },
    /// A buyer's name is blank, too long, or has control characters.
    ContactName,
    /// An e-mail address is too long, has no `@` or more than one, nothing
    /// before or after it, or a space or control character.
    Email,
    /// A waiting room's rate or limits are 0 or above their maximum.
    WaitingRoom,
    /// A line names an item that has variations: it must name one of them.
    VariationRequired {
        /// The item.
        item: ItemId,
    },
    /// A variation cannot be made of this item: it is itself a variation,
    /// has [`ITEM_VARIATIONS_MAX`](super::limits::ITEM_VARIATIONS_MAX)
    /// already, or a blocking voucher is for it.
    Variations {
        /// The item.
        item: ItemId,
    },
    /// A voucher code is empty or longer than
    /// [`VOUCHER_CODE_BYTES_MAX`](super::limits::VOUCHER_CODE_BYTES_MAX).
    VoucherCode,
    /// A voucher's redemptions are 0 or above
    /// [`VOUCHER_REDEMPTIONS_MAX`](super::limits::VOUCHER_REDEMPTIONS_MAX).
    VoucherRedemptions,
    /// A voucher's validity is empty, longer than
    /// [`VOUCHER_VALIDITY_MS_MAX`](super::limits::VOUCHER_VALIDITY_MS_MAX),
    /// or already over.
    VoucherWindow,
    /// A voucher's scope is of another event, or a blocking voucher's scope
    /// blocks no quota or is an item with variations.
    VoucherScope,
    /// An event has [`EVENT_VOUCHERS_MAX`](super::limits::EVENT_VOUCHERS_MAX) vouchers already.
    EventVouchers,
    /// Order limits are 0, a minimum is above the maximum, or a limit is
    /// above [`HOLD_QUANTITY_MAX`](super::limits::HOLD_QUANTITY_MAX) (per
    /// order) or [`BUYER_QUANTITY_MAX`](super::limits::BUYER_QUANTITY_MAX) (per buyer).
    OrderLimits,
    /// A seat row's zone, name or a seat's label is blank or too long, it
    /// has no seats or more than
    /// [`SEAT_ROW_SEATS_MAX`](super::limits::SEAT_ROW_SEATS_MAX), or two
    /// seats share a label.
    SeatRow,
    /// The event has a row of this name in this zone already.
    SeatRowExists,
    /// The event would have more than
    /// [`EVENT_SEATS_MAX`](super::limits::EVENT_SEATS_MAX) seats.
    EventSeats,
    /// A list of seats is empty, too long, or names a seat twice; or an
    /// adjacent choice asks for 0 seats, more than
    /// [`HOLD_QUANTITY_MAX`](super::limits::HOLD_QUANTITY_MAX), or names a
    /// zone longer than any.
    Seats,
    /// A seat belongs to another event.
    SeatOfOtherEvent {
        /// The seat.
        seat: SeatId,
    },
    /// Lines cannot be added to or removed from a hold with seats: release
    /// it and hold again.
    SeatedHold {
        /// The hold.
        hold: HoldId,
    },
}

/// Why a scan was refused (pretix's reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckinRejection {
    /// No ticket of this list's event has this secret.
    Invalid,
    /// The ticket already entered and the list does not allow it again.
    AlreadyRedeemed,
    /// The order is not paid (pending or expired).
    Unpaid,
    /// The order was canceled.
    Canceled,
}

/// Where a hold is in its life. A hold whose expiry has passed is lapsed
/// (it stops counting at once) even while still `Active` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldStatus {
    /// Reserving, until its expiry.
    Active,
    /// Given back early.
    Released,
    /// Recorded as expired by an `Expire` command.
    Expired,
    /// Turned into an order.
    CheckedOut,
}

/// Where an order is in its life. A pending order whose deadline has passed
/// counts as expired at once, even while still `Pending` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Waiting for payment; counts against its quotas.
    Pending,
    /// Paid; counts against its quotas.
    Paid,
    /// Not paid in time; does not count.
    Expired,
    /// Canceled; does not count.
    Canceled,
}

/// pretix's availability states, from the most binding step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AvailabilityState {
    /// Sold out by paid orders (or closed).
    Gone,
    /// Sold out once pending orders count.
    Ordered,
    /// Sold out once live holds count.
    Reserved,
    /// Tickets left.
    Ok,
}
