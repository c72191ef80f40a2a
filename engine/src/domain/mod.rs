//! The inventory domain: pure, deterministic, and the only place that
//! decides whether a ticket can be sold.
//!
//! # Shape
//!
//! `apply(state, envelope)` is the whole interface. It
//! 1. returns the stored outcome if the envelope's request id was seen within
//!    [`REQUEST_ID_RETENTION_MS`](limits::REQUEST_ID_RETENTION_MS) (and
//!    appends nothing);
//! 2. otherwise computes the effective time `max(state.now_ms, time_ms)`, so a
//!    new leader with a slower clock cannot move time backwards;
//! 3. lets `decide` (which reads the state and never changes it) produce the
//!    events and the outcome, sealed into one [`Record`];
//! 4. folds the record into the state, event by event, as [`State::evolve`]
//!    does;
//! 5. if the command was accepted and some waiting-list entry waits without
//!    an offer, *serves* the waiting list: the offers that fit in the state
//!    just reached are decided (`decide::serve`), appended to the same
//!    record and folded in too. Replaying the finished record evolves the
//!    same events in the same order, so it rebuilds the same state.
//!
//! Replication applies the same envelopes in the same order on every node,
//! so every node computes the same records; a node can also rebuild its state
//! from the records alone ([`State::replay`]).
//!
//! # What it must never do
//!
//! Read a clock, draw randomness, do I/O, or iterate a hash map: any of these
//! would let two replicas decide differently. A rejection (sold out, unknown
//! id, invalid transition) is an [`Outcome`], never a panic or an error, and
//! changes no inventory. Panics are reserved for broken invariants, which mean
//! a bug or a corrupt log; a node must stop rather than diverge.
//!
//! # The invariant
//!
//! For every quota, at every log time: paid + live pending + live holds +
//! unredeemed uses of live blocking vouchers + live waiting-list offers <=
//! size, except where a resize shrank the quota below what was already sold
//! (then nothing new is sold until it is back under). And the waiting list
//! is served first: after every accepted command, no entry waits without an
//! offer while its item has room. See `ARCHITECTURE.md`.

mod availability;
pub(crate) mod compat;
mod decide;
mod digest;
pub mod limits;
mod model;
#[doc(hidden)]
pub mod planted;
mod state;
mod validate;

pub use availability::{ItemAvailability, QuotaAvailability};
pub use decide::{ticket_secret, voucher_code};
pub use digest::{COMMAND_DIGEST_BYTES, CommandDigest};
pub use model::*;
pub use state::{
    Blocked, CheckinList, Counts, EntryPosition, EntryStatus, EventDef, Hold, Item, Order, Organizer, Quota,
    Retained, RetentionMap, ScanState, Seat, SeatMapRow, SeatMapSeat, SeatMapZone, SeatPlan, SeatRow,
    SeatStatus, State, Tags, Tally, Voucher, VoucherView, WaitingList, WaitingListEntry, WaitingRoom,
    WaitingRoomView,
};

/// The result of applying one envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What the client is told.
    pub outcome: Outcome,
    /// The record appended to the event log, or `None` for a retry of a
    /// request id already seen (its stored outcome is returned instead).
    pub record: Option<Record>,
}

impl Applied {
    /// True if this was a retry answered from the request-id table.
    pub fn is_duplicate(&self) -> bool {
        self.record.is_none()
    }
}

/// Apply one command to the state: the one entry point of the domain.
///
/// ```
/// use boxoffice_engine::domain::*;
///
/// let mut state = State::default();
/// let envelope = Envelope {
///     time_ms: 1_700_000_000_000,
///     request_id: RequestId(1),
///     command: Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [0; 32] },
/// };
/// let applied = apply(&mut state, &envelope);
/// assert_eq!(applied.outcome, Outcome::Accepted(Accepted::OrganizerCreated { organizer: OrganizerId(1) }));
/// // A retry with the same request id returns the same outcome and appends nothing.
/// let retry = apply(&mut state, &envelope);
/// assert!(retry.is_duplicate());
/// assert_eq!(retry.outcome, applied.outcome);
/// ```
pub fn apply(state: &mut State, envelope: &Envelope) -> Applied {
    let digest = envelope.command.digest();
    if let Some(retained) = state.requests.get(&envelope.request_id)
        && !planted::forget_requests()
    {
        // The same key with another payload is a conflict, never the first
        // command's outcome: that would report "paid" for a payment never made.
        let outcome = match retained.digest {
            Some(first) if first != digest => Outcome::Rejected(Rejection::Conflict),
            _ => retained.outcome.clone(),
        };
        return Applied { outcome, record: None };
    }
    let now_ms = effective_time_ms(state, envelope.time_ms);
    let (mut events, mut outcome) = decide::decide(state, now_ms, &envelope.command);
    let seq = state.last_seq + 1;
    state.begin_record(seq, now_ms);
    for event in &events {
        state.evolve_event(event);
    }
    // The serve step. Nobody waiting (the common case) costs one check.
    if outcome.is_accepted() && !state.waiting.is_empty() {
        let offers = decide::serve(state, now_ms);
        for event in &offers {
            state.evolve_event(event);
        }
        if let Outcome::Accepted(Accepted::WaitingListJoined { entry, position }) = &mut outcome
            && !offers.is_empty()
        {
            // Offers made just now may have moved the newcomer up (or, by
            // its priority, to an offer of its own).
            *position = state.place_in_line(*entry).unwrap_or(0);
        }
        events.extend(offers);
    }
    let record = Record {
        seq,
        time_ms: now_ms,
        request_id: envelope.request_id,
        events,
        outcome: outcome.clone(),
        command_digest: Some(digest),
    };
    state.end_record(&record);
    Applied { outcome, record: Some(record) }
}

/// The log time of a new record stamped `stamped_ms` by the leader: never
/// before the last record (a leader with a slow clock cannot move time
/// back and bring lapsed holds to life), and never more than
/// [`LOG_TIME_STEP_MAX_MS`](limits::LOG_TIME_STEP_MAX_MS) after it (a
/// leader with a fast or jumping clock cannot expire every hold, or prune
/// every request id, with one entry). The very first record takes the
/// stamp as it is: there is nothing to step from.
pub fn effective_time_ms(state: &State, stamped_ms: u64) -> u64 {
    if state.last_seq == 0 {
        return stamped_ms;
    }
    stamped_ms.clamp(state.now_ms, state.now_ms.saturating_add(limits::LOG_TIME_STEP_MAX_MS))
}

/// Read access for queries, the engine and tests. Lookups return `None` for
/// unknown ids; listings iterate in id order.
impl State {
    /// An organizer.
    pub fn organizer(&self, id: OrganizerId) -> Option<&Organizer> {
        self.organizers.get(&id)
    }

    /// An organizer by slug.
    pub fn organizer_by_slug(&self, slug: &str) -> Option<&Organizer> {
        self.organizer_slugs.get(slug).map(|id| &self.organizers[id])
    }

    /// A ticketed event.
    pub fn event(&self, id: EventId) -> Option<&EventDef> {
        self.events.get(&id)
    }

    /// An organizer's events, in id (creation) order.
    pub fn events_of(&self, organizer: OrganizerId) -> Vec<&EventDef> {
        let from = (organizer, String::new());
        let mut events: Vec<&EventDef> = self
            .event_slugs
            .range(from..)
            .take_while(|((owner, _), _)| *owner == organizer)
            .map(|(_, id)| &self.events[id])
            .collect();
        events.sort_unstable_by_key(|event| event.id);
        events
    }

    /// An organizer's event by its slug.
    pub fn event_by_slug(&self, organizer: OrganizerId, slug: &str) -> Option<&EventDef> {
        self.event_slugs.get(&(organizer, slug.to_owned())).map(|id| &self.events[id])
    }

    /// An event's check-in lists, in id order.
    pub fn checkin_lists_of(&self, event: EventId) -> impl Iterator<Item = &CheckinList> {
        self.lists.values().filter(move |list| list.event == event)
    }

    /// An event's waiting room as it stands at `now_ms` (positions
    /// `1..=admitted` are admitted); `None` if the event has none.
    pub fn waiting_room(&self, event: EventId, now_ms: u64) -> Option<WaitingRoomView> {
        self.rooms.get(&event).map(|room| room.view(now_ms))
    }

    /// An item.
    pub fn item(&self, id: ItemId) -> Option<&Item> {
        self.items.get(&id)
    }

    /// A quota.
    pub fn quota(&self, id: QuotaId) -> Option<&Quota> {
        self.quotas.get(&id)
    }

    /// All quotas, in id order.
    pub fn quotas(&self) -> impl Iterator<Item = &Quota> {
        self.quotas.values()
    }

    /// All items, in id order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values()
    }

    /// A hold.
    pub fn hold(&self, id: HoldId) -> Option<&Hold> {
        self.holds.get(&id)
    }

    /// All holds, in id order.
    pub fn holds(&self) -> impl Iterator<Item = &Hold> {
        self.holds.values()
    }

    /// An order.
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }

    /// All orders, in id order.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    /// The ticket (order, position) with this secret.
    pub fn ticket(&self, secret: &str) -> Option<(OrderId, u32)> {
        self.tickets.get(secret).copied()
    }

    /// A check-in list.
    pub fn checkin_list(&self, id: CheckinListId) -> Option<&CheckinList> {
        self.lists.get(&id)
    }

    /// The stored outcome of a request id, if still retained.
    pub fn request_outcome(&self, id: RequestId) -> Option<&Outcome> {
        self.requests.get(&id).map(|retained| &retained.outcome)
    }

    /// True if some active hold or pending order has lapsed at `now_ms`, or
    /// a blocking voucher has ended, and waits for an `Expire` command to
    /// record it.
    pub fn has_lapsed(&self, now_ms: u64) -> bool {
        let hold_lapsed = self.holds_by_expiry.first().is_some_and(|(at, _)| *at <= now_ms);
        let order_lapsed = self.orders_by_deadline.first().is_some_and(|(at, _)| *at <= now_ms);
        let block_ended = self.blocks_by_expiry.first().is_some_and(|(at, _)| *at <= now_ms);
        let offer_lapsed = self.offers_by_expiry.first().is_some_and(|(at, _)| *at <= now_ms);
        hold_lapsed || order_lapsed || block_ended || offer_lapsed
    }

    /// A waiting-list entry.
    pub fn entry(&self, id: EntryId) -> Option<&WaitingListEntry> {
        self.entries.get(&id)
    }

    /// All waiting-list entries, of every status, in id order.
    pub fn entries(&self) -> impl Iterator<Item = &WaitingListEntry> {
        self.entries.values()
    }

    /// An event's waiting list settings and open count; `None` if nobody
    /// ever joined it and it was never configured.
    pub fn waiting_list_settings(&self, event: EventId) -> Option<&WaitingList> {
        self.waiting_lists.get(&event)
    }

    /// Where an entry stands at `now_ms` (at least the state's log time):
    /// its place in line, its offer, or how it ended. `None` if unknown.
    pub fn waiting_list_position(&self, entry: EntryId, now_ms: u64) -> Option<EntryPosition> {
        let now_ms = now_ms.max(self.now_ms);
        let found = self.entries.get(&entry)?;
        Some(match found.status {
            EntryStatus::Waiting => EntryPosition::Waiting {
                position: self.place_in_line(entry).expect("a waiting entry is in line"),
            },
            EntryStatus::Offered { expires_at_ms } if expires_at_ms > now_ms => {
                EntryPosition::Offered { expires_at_ms }
            }
            EntryStatus::Offered { expires_at_ms } | EntryStatus::OfferExpired { expires_at_ms } => {
                EntryPosition::OfferLapsed { expires_at_ms }
            }
            EntryStatus::Claimed { hold } => EntryPosition::Claimed { hold },
            EntryStatus::Left => EntryPosition::Left,
        })
    }

    /// An event's entries that wait without an offer, in serving order
    /// (priority, highest first, then log order), across its items.
    pub fn waiting_list(&self, event: EventId) -> Vec<&WaitingListEntry> {
        let mut waiting: Vec<&WaitingListEntry> = self
            .waiting
            .values()
            .flatten()
            .map(|(_, id)| &self.entries[id])
            .filter(|entry| entry.event == event)
            .collect();
        waiting.sort_unstable_by_key(|entry| entry.serving_key());
        waiting
    }

    /// A waiting entry's place among the entries of its item that wait
    /// without an offer, in serving order, from 1; `None` if it does not
    /// wait. Costs its place (a walk of the line up to it).
    pub(crate) fn place_in_line(&self, entry: EntryId) -> Option<u64> {
        let found = self.entries.get(&entry)?;
        let key = found.serving_key();
        let line = self.waiting.get(&found.item)?;
        line.contains(&key).then(|| line.range(..key).count() as u64 + 1)
    }

    /// A voucher.
    pub fn voucher(&self, id: VoucherId) -> Option<&Voucher> {
        self.vouchers.get(&id)
    }

    /// A voucher by its code (as the domain wrote it, in capitals).
    pub fn voucher_by_code(&self, code: &str) -> Option<&Voucher> {
        self.voucher_codes.get(code).map(|id| &self.vouchers[id])
    }

    /// All vouchers, in id order.
    pub fn vouchers(&self) -> impl Iterator<Item = &Voucher> {
        self.vouchers.values()
    }

    /// What a buyer has of an item at `now_ms` (at least the state's log
    /// time): tickets in live holds, live pending orders and paid orders
    /// that named the buyer, a variation's counted for its item too.
    pub fn buyer_quantity(&self, buyer: BuyerId, item: ItemId, now_ms: u64) -> u64 {
        self.buyers.get(&(buyer, item)).map_or(0, |counts| counts.used(now_ms.max(self.now_ms)))
    }

    /// A seat.
    pub fn seat(&self, id: SeatId) -> Option<&Seat> {
        self.seats.get(&id)
    }

    /// The row a seat is in (its zone and row names).
    pub fn seat_row(&self, id: SeatId) -> Option<&SeatRow> {
        let seat = self.seats.get(&id)?;
        Some(&self.seat_plans[&seat.event].rows[seat.row as usize])
    }

    /// An event's seating plan; `None` if it has no seats.
    pub fn seat_plan(&self, event: EventId) -> Option<&SeatPlan> {
        self.seat_plans.get(&event)
    }

    /// What a seat is at `now_ms`: held, ordered or paid while its holder
    /// counts (a hold stops the moment it lapses, with no event), else
    /// blocked or free.
    pub fn seat_status(&self, id: SeatId, now_ms: u64) -> Option<SeatStatus> {
        let seat = self.seats.get(&id)?;
        Some(match self.seat_taker(id, now_ms) {
            Some(SeatHolder::Hold(hold)) => SeatStatus::Held(hold),
            Some(SeatHolder::Order(order)) if self.orders[&order].status == OrderStatus::Paid => {
                SeatStatus::Paid(order)
            }
            Some(SeatHolder::Order(order)) => SeatStatus::Ordered(order),
            None if seat.blocked => SeatStatus::Blocked,
            None => SeatStatus::Free,
        })
    }

    /// An event's seat map at `now_ms`: its zones (in the order their
    /// first rows were added), their rows (best first) and seats (in
    /// order) with what each is. Empty for an event without seats.
    pub fn seat_map(&self, event: EventId, now_ms: u64) -> Vec<SeatMapZone> {
        let mut zones: Vec<SeatMapZone> = Vec::new();
        let Some(plan) = self.seat_plans.get(&event) else { return zones };
        for row in &plan.rows {
            let seats = row
                .seats()
                .map(|id| {
                    let seat = &self.seats[&id];
                    let status = self.seat_status(id, now_ms).expect("a row's seat exists");
                    SeatMapSeat { seat: id, label: seat.label.clone(), item: seat.item, status }
                })
                .collect();
            let map_row = SeatMapRow { row: row.name.clone(), seats };
            match zones.iter_mut().find(|zone| zone.zone == row.zone) {
                Some(zone) => zone.rows.push(map_row),
                None => zones.push(SeatMapZone { zone: row.zone.clone(), rows: vec![map_row] }),
            }
        }
        zones
    }

    /// The seats of a seated hold, in ticket order (empty for a hold
    /// without seats). A checked-out hold keeps them listed; its order has them.
    pub fn seats_of_hold(&self, hold: HoldId) -> &[SeatId] {
        self.hold_seats.get(&hold).map_or(&[], Vec::as_slice)
    }

    /// The seats of an order, in ticket order: seat `i` is the seat of the
    /// ticket at position `i` (empty for an order without seats).
    pub fn seats_of_order(&self, order: OrderId) -> &[SeatId] {
        self.order_seats.get(&order).map_or(&[], Vec::as_slice)
    }

    /// The seat of an order's ticket, if it has one (what the door shows:
    /// see also [`Accepted::SeatCheckedIn`]).
    pub fn ticket_seat(&self, order: OrderId, position: u32) -> Option<SeatId> {
        self.order_seats.get(&order)?.get(position as usize).copied()
    }

    /// How many request ids are retained for retries.
    pub fn retained_request_ids(&self) -> usize {
        self.requests.len()
    }
}
