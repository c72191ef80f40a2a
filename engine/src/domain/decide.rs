//! Deciding a command: validation, capacity checks, and the events that follow.
//!
//! `decide` reads the state and never changes it; [`State::evolve`] applies
//! what it returns. Every rule of the inventory lives here, in one function
//! per command. The one rule that matters most is in [`check_capacity`]: a
//! new reservation fits only if, for every quota of every item asked for,
//! paid + live pending + live held + demand <= size. Time is the record's
//! effective time `now_ms`; nothing here reads a clock or draws randomness.

use super::limits::*;
use super::model::*;
use super::state::{Hold, State};
use super::validate;
use std::collections::BTreeMap;

/// What a command causes: its events and its outcome.
pub(super) type Decision = (Vec<Event>, Outcome);

fn reject(rejection: Rejection) -> Decision {
    (Vec::new(), Outcome::Rejected(rejection))
}

fn accept(events: Vec<Event>, accepted: Accepted) -> Decision {
    (events, Outcome::Accepted(accepted))
}

/// `Err` carries the rejection, so checks can use `?`.
type Check<T = ()> = Result<T, Rejection>;

/// Decide `command` at effective log time `now_ms`.
pub(super) fn decide(state: &State, now_ms: u64, command: &Command) -> Decision {
    let decided = match command {
        Command::CreateOrganizer { slug, name, secret_key } => {
            create_organizer(state, slug, name, secret_key)
        }
        Command::CreateEvent { organizer, slug, name } => create_event(state, *organizer, slug, name),
        Command::CreateItem { event, name, price_cents } => create_item(state, *event, name, *price_cents),
        Command::CreateQuota { event, name, size, items, close_when_sold_out } => {
            create_quota(state, *event, name, *size, items, *close_when_sold_out)
        }
        Command::ResizeQuota { quota, size } => resize_quota(state, now_ms, *quota, *size),
        Command::CloseQuota { quota } => set_quota_closed(state, *quota, true),
        Command::ReopenQuota { quota } => set_quota_closed(state, *quota, false),
        Command::PlaceHold { event, lines, ttl_ms } => place_hold(state, now_ms, *event, lines, *ttl_ms),
        Command::AddToHold { hold, lines } => add_to_hold(state, now_ms, *hold, lines),
        Command::ExtendHold { hold, ttl_ms } => extend_hold(state, now_ms, *hold, *ttl_ms),
        Command::ReleaseHold { hold } => release_hold(state, *hold),
        Command::Checkout { hold, payment_ttl_ms } => checkout(state, now_ms, *hold, *payment_ttl_ms, None),
        Command::Pay { order } => pay(state, now_ms, *order),
        Command::CancelOrder { order } => cancel_order(state, now_ms, *order),
        Command::CreateCheckinList { event, name, allow_multiple_entries, allow_entry_after_exit } => {
            create_checkin_list(state, *event, name, *allow_multiple_entries, *allow_entry_after_exit)
        }
        Command::CheckIn { list, secret, nonce, direction } => {
            return check_in(state, now_ms, *list, secret, *nonce, *direction);
        }
        Command::Expire => Ok(expire(state, now_ms)),
        Command::RemoveFromHold { hold, lines } => remove_from_hold(state, now_ms, *hold, lines),
        Command::CheckoutWithContact { hold, payment_ttl_ms, name, email } => {
            // The state-free checks in the door's order: time to live, then contact.
            valid_ttl(*payment_ttl_ms, PAYMENT_TTL_MS_MAX)
                .and_then(|()| valid_contact(name, email))
                .and_then(|contact| checkout(state, now_ms, *hold, *payment_ttl_ms, Some(contact)))
        }
        Command::ConfigureWaitingRoom {
            event,
            admit_per_minute,
            arrivals_per_second_max,
            in_flight_max,
            dry_run,
        } => configure_waiting_room(
            state,
            now_ms,
            *event,
            RoomConfig {
                admit_per_minute: *admit_per_minute,
                arrivals_per_second_max: *arrivals_per_second_max,
                in_flight_max: *in_flight_max,
                dry_run: *dry_run,
            },
        ),
        Command::JoinWaitingRoom { event } => join_waiting_room(state, now_ms, *event),
    };
    decided.unwrap_or_else(reject)
}

fn valid_slug(slug: &str) -> Check {
    validate::slug(slug).map_err(Rejection::Invalid)
}

fn valid_name(name: &str) -> Check {
    validate::name(name).map_err(Rejection::Invalid)
}

fn valid_ttl(ttl_ms: u64, max_ms: u64) -> Check {
    validate::ttl(ttl_ms, max_ms).map_err(Rejection::Invalid)
}

fn valid_size(size: Option<u64>) -> Check {
    validate::size(size).map_err(Rejection::Invalid)
}

fn valid_contact(name: &str, email: &str) -> Check<Contact> {
    validate::contact(name, email).map_err(Rejection::Invalid)?;
    Ok(Contact { name: name.to_owned(), email: email.to_owned() })
}

fn find<'a, K: Ord, V>(map: &'a BTreeMap<K, V>, key: &K, missing: ObjectRef) -> Check<&'a V> {
    map.get(key).ok_or(Rejection::NotFound(missing))
}

fn next_id(state: &State) -> u64 {
    state.next_id.max(1)
}

fn create_organizer(state: &State, slug: &str, name: &str, secret_key: &[u8; 32]) -> Check<Decision> {
    valid_slug(slug)?;
    valid_name(name)?;
    if state.organizer_slugs.contains_key(slug) {
        return Err(Rejection::SlugTaken { slug: slug.to_owned() });
    }
    let organizer = OrganizerId(next_id(state));
    let event = Event::OrganizerCreated {
        organizer,
        slug: slug.to_owned(),
        name: name.to_owned(),
        secret_key: *secret_key,
    };
    Ok(accept(vec![event], Accepted::OrganizerCreated { organizer }))
}

fn create_event(state: &State, organizer: OrganizerId, slug: &str, name: &str) -> Check<Decision> {
    find(&state.organizers, &organizer, ObjectRef::Organizer(organizer))?;
    valid_slug(slug)?;
    valid_name(name)?;
    if state.event_slugs.contains_key(&(organizer, slug.to_owned())) {
        return Err(Rejection::SlugTaken { slug: slug.to_owned() });
    }
    let event = EventId(next_id(state));
    let created = Event::EventCreated { event, organizer, slug: slug.to_owned(), name: name.to_owned() };
    Ok(accept(vec![created], Accepted::EventCreated { event }))
}

fn create_item(state: &State, event: EventId, name: &str, price_cents: u64) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_name(name)?;
    if price_cents > ITEM_PRICE_CENTS_MAX {
        return Err(Rejection::Invalid(InvalidInput::Price));
    }
    let item = ItemId(next_id(state));
    let created = Event::ItemCreated { item, event, name: name.to_owned(), price_cents };
    Ok(accept(vec![created], Accepted::ItemCreated { item }))
}

fn create_quota(
    state: &State,
    event: EventId,
    name: &str,
    size: Option<u64>,
    items: &[ItemId],
    close_when_sold_out: bool,
) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_name(name)?;
    valid_size(size)?;
    let mut distinct = items.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if items.is_empty() || items.len() > QUOTA_ITEMS_MAX || distinct.len() != items.len() {
        return Err(Rejection::Invalid(InvalidInput::QuotaItems));
    }
    for item_id in items {
        let item = find(&state.items, item_id, ObjectRef::Item(*item_id))?;
        if item.event != event {
            return Err(Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: *item_id }));
        }
        if item.quotas.len() >= ITEM_QUOTAS_MAX {
            return Err(Rejection::Invalid(InvalidInput::ItemQuotas { item: *item_id }));
        }
    }
    let quota = QuotaId(next_id(state));
    let created = Event::QuotaCreated {
        quota,
        event,
        name: name.to_owned(),
        size,
        items: items.to_vec(),
        close_when_sold_out,
    };
    Ok(accept(vec![created], Accepted::QuotaCreated { quota }))
}

fn resize_quota(state: &State, now_ms: u64, quota_id: QuotaId, size: Option<u64>) -> Check<Decision> {
    let quota = find(&state.quotas, &quota_id, ObjectRef::Quota(quota_id))?;
    valid_size(size)?;
    let mut events = vec![Event::QuotaResized { quota: quota_id, size }];
    let ordered = quota.paid + quota.pending.live(now_ms);
    if quota.close_when_sold_out && !quota.closed && size.is_some_and(|s| ordered >= s) {
        events.push(Event::QuotaClosed { quota: quota_id, automatically: true });
    }
    Ok(accept(events, Accepted::QuotaUpdated { quota: quota_id }))
}

fn set_quota_closed(state: &State, quota_id: QuotaId, closed: bool) -> Check<Decision> {
    let quota = find(&state.quotas, &quota_id, ObjectRef::Quota(quota_id))?;
    let events = match (quota.closed, closed) {
        (false, true) => vec![Event::QuotaClosed { quota: quota_id, automatically: false }],
        (true, false) => vec![Event::QuotaReopened { quota: quota_id }],
        _ => vec![],
    };
    Ok(accept(events, Accepted::QuotaUpdated { quota: quota_id }))
}

/// Check a hold's lines: count, quantities, items of `event`. `existing` is
/// what the hold already has (for `AddToHold`).
fn valid_lines(state: &State, event: EventId, existing: &[Line], lines: &[Line]) -> Check {
    let count = existing.len() + lines.len();
    if lines.is_empty() || count > HOLD_LINES_MAX || lines.iter().any(|l| l.quantity == 0) {
        return Err(Rejection::Invalid(InvalidInput::Lines));
    }
    let quantity: u64 = existing.iter().chain(lines).map(|l| u64::from(l.quantity)).sum();
    if quantity > HOLD_QUANTITY_MAX {
        return Err(Rejection::Invalid(InvalidInput::Quantity));
    }
    for line in lines {
        let item = find(&state.items, &line.item, ObjectRef::Item(line.item))?;
        if item.event != event {
            return Err(Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: line.item }));
        }
    }
    Ok(())
}

/// Tickets that `lines` take from each quota.
fn demand(state: &State, lines: &[Line]) -> BTreeMap<QuotaId, u64> {
    let mut demand = BTreeMap::new();
    for line in lines {
        for quota in &state.items[&line.item].quotas {
            *demand.entry(*quota).or_default() += u64::from(line.quantity);
        }
    }
    demand
}

/// The no-oversell rule: `lines` fit only if every quota of every item is
/// open and has room for the whole demand on it, all or nothing. Lines must
/// name existing items (checked by `valid_lines` or taken from the state).
fn check_capacity(state: &State, now_ms: u64, lines: &[Line]) -> Check {
    let demand = demand(state, lines);
    for line in lines {
        let item = &state.items[&line.item];
        if item.quotas.is_empty() {
            return Err(Rejection::ItemNotForSale { item: item.id });
        }
        for quota_id in &item.quotas {
            let quota = &state.quotas[quota_id];
            if quota.closed {
                return Err(Rejection::QuotaClosed { item: item.id, quota: *quota_id });
            }
            let Some(size) = quota.size else { continue };
            let used = quota.used(now_ms);
            if used + demand[quota_id] > size && !super::planted::skip_capacity_check() {
                let availability = quota.availability(now_ms);
                return Err(Rejection::SoldOut {
                    item: item.id,
                    quota: *quota_id,
                    state: availability.state,
                    remaining: size.saturating_sub(used),
                });
            }
        }
    }
    Ok(())
}

/// `QuotaClosed` events for quotas that close themselves once `lines` are
/// ordered. `newly_ordered` says whether the lines are not yet counted as
/// paid or live pending (a checkout, a late payment).
fn auto_close(state: &State, now_ms: u64, lines: &[Line], newly_ordered: bool) -> Vec<Event> {
    demand(state, lines)
        .into_iter()
        .filter_map(|(quota_id, quantity)| {
            let quota = &state.quotas[&quota_id];
            let extra = if newly_ordered { quantity } else { 0 };
            let ordered = quota.paid + quota.pending.live(now_ms) + extra;
            let sold_out = quota.size.is_some_and(|size| ordered >= size);
            (quota.close_when_sold_out && !quota.closed && sold_out)
                .then_some(Event::QuotaClosed { quota: quota_id, automatically: true })
        })
        .collect()
}

fn place_hold(state: &State, now_ms: u64, event: EventId, lines: &[Line], ttl_ms: u64) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    valid_lines(state, event, &[], lines)?;
    check_capacity(state, now_ms, lines)?;
    let hold = HoldId(next_id(state));
    let expires_at_ms = now_ms + ttl_ms;
    let placed = Event::HoldPlaced { hold, event, lines: lines.to_vec(), expires_at_ms };
    Ok(accept(vec![placed], Accepted::HoldLive { hold, expires_at_ms }))
}

/// The hold, if it is live at `now_ms`; otherwise why not.
fn live_hold(state: &State, now_ms: u64, hold_id: HoldId) -> Check<&Hold> {
    let hold = find(&state.holds, &hold_id, ObjectRef::Hold(hold_id))?;
    match hold.status {
        HoldStatus::Active if hold.expires_at_ms > now_ms => Ok(hold),
        HoldStatus::Active | HoldStatus::Expired => Err(Rejection::HoldExpired { hold: hold_id }),
        status => Err(Rejection::HoldClosed { hold: hold_id, status }),
    }
}

fn add_to_hold(state: &State, now_ms: u64, hold_id: HoldId, lines: &[Line]) -> Check<Decision> {
    let hold = live_hold(state, now_ms, hold_id)?;
    valid_lines(state, hold.event, &hold.lines, lines)?;
    check_capacity(state, now_ms, lines)?;
    let added = Event::HoldLinesAdded { hold: hold_id, lines: lines.to_vec() };
    Ok(accept(vec![added], Accepted::HoldLive { hold: hold_id, expires_at_ms: hold.expires_at_ms }))
}

/// Take lines out of a live hold. State-free checks come first (as at the
/// door); then the hold must be live, and hold at least what is taken of
/// each item. Removing everything is allowed: the hold stays live and empty
/// (a cart emptied and filled again keeps its id and expiry); checkout
/// refuses an empty hold.
fn remove_from_hold(state: &State, now_ms: u64, hold_id: HoldId, lines: &[Line]) -> Check<Decision> {
    validate::lines(lines).map_err(Rejection::Invalid)?;
    let hold = live_hold(state, now_ms, hold_id)?;
    let mut asked: BTreeMap<ItemId, u64> = BTreeMap::new();
    for line in lines {
        *asked.entry(line.item).or_default() += u64::from(line.quantity);
    }
    for (item, quantity) in asked {
        let held: u64 = hold.lines.iter().filter(|l| l.item == item).map(|l| u64::from(l.quantity)).sum();
        if quantity > held {
            // The lowest item id that is not covered.
            return Err(Rejection::Invalid(InvalidInput::NotInHold { item }));
        }
    }
    let removed = Event::HoldLinesRemoved { hold: hold_id, lines: lines.to_vec() };
    Ok(accept(vec![removed], Accepted::HoldLive { hold: hold_id, expires_at_ms: hold.expires_at_ms }))
}

fn extend_hold(state: &State, now_ms: u64, hold_id: HoldId, ttl_ms: u64) -> Check<Decision> {
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    let hold = live_hold(state, now_ms, hold_id)?;
    let cap_ms = hold.created_at_ms + HOLD_LIFETIME_MS_MAX;
    let wanted_ms = now_ms + ttl_ms;
    if wanted_ms > cap_ms && hold.expires_at_ms >= cap_ms {
        return Err(Rejection::HoldLifetimeCapReached { hold: hold_id, expires_at_max_ms: cap_ms });
    }
    // An extension never shortens a hold, and never passes the cap.
    let expires_at_ms = wanted_ms.min(cap_ms).max(hold.expires_at_ms);
    let events = if expires_at_ms == hold.expires_at_ms {
        vec![]
    } else {
        vec![Event::HoldExtended { hold: hold_id, expires_at_ms }]
    };
    Ok(accept(events, Accepted::HoldLive { hold: hold_id, expires_at_ms }))
}

fn release_hold(state: &State, hold_id: HoldId) -> Check<Decision> {
    let hold = find(&state.holds, &hold_id, ObjectRef::Hold(hold_id))?;
    if hold.status != HoldStatus::Active {
        return Err(Rejection::HoldClosed { hold: hold_id, status: hold.status });
    }
    Ok(accept(vec![Event::HoldReleased { hold: hold_id }], Accepted::HoldReleased { hold: hold_id }))
}

/// A ticket's secret: a keyed hash (BLAKE3) of the organizer's key, the
/// order and the position. Deterministic, so every replica derives the same
/// secret; unguessable without the key.
pub fn ticket_secret(secret_key: &[u8; 32], order: OrderId, position: u32) -> String {
    let mut input = [0u8; 32];
    input[..16].copy_from_slice(b"boxoffice-ticket");
    input[16..24].copy_from_slice(&order.0.to_le_bytes());
    input[24..28].copy_from_slice(&position.to_le_bytes());
    let hash = blake3::keyed_hash(secret_key, &input);
    hex::encode(&hash.as_bytes()[..TICKET_SECRET_CHARS / 2])
}

/// Check a hold out into a pending order; `contact`, if given, is stored on
/// the order (`CheckoutWithContact`, whose contact is checked before).
fn checkout(
    state: &State,
    now_ms: u64,
    hold_id: HoldId,
    payment_ttl_ms: u64,
    contact: Option<Contact>,
) -> Check<Decision> {
    valid_ttl(payment_ttl_ms, PAYMENT_TTL_MS_MAX)?;
    let hold = find(&state.holds, &hold_id, ObjectRef::Hold(hold_id))?;
    if matches!(hold.status, HoldStatus::Released | HoldStatus::CheckedOut) {
        return Err(Rejection::HoldClosed { hold: hold_id, status: hold.status });
    }
    // Only `RemoveFromHold` empties a hold; an order of nothing is not an order.
    if hold.lines.is_empty() {
        return Err(Rejection::Invalid(InvalidInput::Lines));
    }
    if !hold.is_live(now_ms) {
        // A lapsed hold reserves nothing any more: re-check, fail cleanly.
        // (A live hold already reserved its capacity: checkout cannot fail for lack of it.)
        check_capacity(state, now_ms, &hold.lines)?;
    }
    let order = OrderId(next_id(state));
    let secret_key = &state.organizers[&state.events[&hold.event].organizer].secret_key;
    let mut tickets = Vec::new();
    let mut total_cents = 0;
    for line in &hold.lines {
        total_cents += state.items[&line.item].price_cents * u64::from(line.quantity);
        for _ in 0..line.quantity {
            let position = u32::try_from(tickets.len()).expect("HOLD_QUANTITY_MAX fits u32");
            tickets.push(Ticket {
                position,
                item: line.item,
                secret: ticket_secret(secret_key, order, position),
            });
        }
    }
    let payment_deadline_ms = now_ms + payment_ttl_ms;
    let mut events = vec![Event::OrderPlaced {
        order,
        hold: hold_id,
        payment_deadline_ms,
        total_cents,
        tickets: tickets.clone(),
    }];
    if let Some(contact) = contact {
        events.push(Event::OrderContactSet { order, contact });
    }
    events.extend(auto_close(state, now_ms, &hold.lines, true));
    Ok(accept(events, Accepted::OrderPlaced { order, payment_deadline_ms, total_cents, tickets }))
}

fn pay(state: &State, now_ms: u64, order_id: OrderId) -> Check<Decision> {
    let order = find(&state.orders, &order_id, ObjectRef::Order(order_id))?;
    let paid = Event::OrderPaid { order: order_id, amount_cents: order.total_cents };
    match order.effective_status(now_ms) {
        OrderStatus::Pending => {
            let mut events = vec![paid];
            events.extend(auto_close(state, now_ms, &order.lines, false));
            Ok(accept(events, Accepted::OrderPaid { order: order_id }))
        }
        OrderStatus::Expired => match check_capacity(state, now_ms, &order.lines) {
            Ok(()) => {
                let mut events = vec![paid];
                events.extend(auto_close(state, now_ms, &order.lines, true));
                Ok(accept(events, Accepted::OrderPaid { order: order_id }))
            }
            // The money arrived but the tickets are gone: record it, owe it back, never oversell.
            Err(_) => {
                let mut events = Vec::new();
                if order.status == OrderStatus::Pending {
                    events.push(Event::OrderExpired { order: order_id });
                }
                let amount_cents = order.total_cents;
                events.push(Event::RefundOwed { order: order_id, amount_cents });
                Ok(accept(events, Accepted::PaymentRefundOwed { order: order_id, amount_cents }))
            }
        },
        status => Err(Rejection::OrderStatusForbids { order: order_id, status }),
    }
}

fn cancel_order(state: &State, now_ms: u64, order_id: OrderId) -> Check<Decision> {
    let order = find(&state.orders, &order_id, ObjectRef::Order(order_id))?;
    let refund_owed_cents = match order.effective_status(now_ms) {
        OrderStatus::Canceled => {
            return Err(Rejection::OrderStatusForbids { order: order_id, status: OrderStatus::Canceled });
        }
        OrderStatus::Paid => order.total_cents,
        OrderStatus::Pending | OrderStatus::Expired => 0,
    };
    let canceled = Event::OrderCanceled { order: order_id, refund_owed_cents };
    Ok(accept(vec![canceled], Accepted::OrderCanceled { order: order_id, refund_owed_cents }))
}

fn create_checkin_list(
    state: &State,
    event: EventId,
    name: &str,
    allow_multiple_entries: bool,
    allow_entry_after_exit: bool,
) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_name(name)?;
    let list = CheckinListId(next_id(state));
    let created = Event::CheckinListCreated {
        list,
        event,
        name: name.to_owned(),
        allow_multiple_entries,
        allow_entry_after_exit,
    };
    Ok(accept(vec![created], Accepted::CheckinListCreated { list }))
}

fn check_in(
    state: &State,
    now_ms: u64,
    list_id: CheckinListId,
    secret: &str,
    nonce: Nonce,
    direction: Direction,
) -> Decision {
    let list = match find(&state.lists, &list_id, ObjectRef::CheckinList(list_id)) {
        Ok(list) => list,
        Err(rejection) => return reject(rejection),
    };
    if secret.len() > CHECKIN_SECRET_BYTES_MAX {
        return reject(Rejection::Invalid(InvalidInput::Secret));
    }
    // A repeated scan returns the first result and records nothing new.
    if let Some(first) = state.nonces.get(&(list_id, nonce)) {
        return (Vec::new(), first.clone());
    }
    let refuse = |reason| {
        let refused = Event::CheckInRefused { list: list_id, nonce, reason };
        (vec![refused], Outcome::Rejected(Rejection::CheckIn(reason)))
    };
    let Some(&(order_id, position)) = state.tickets.get(secret) else {
        return refuse(CheckinRejection::Invalid);
    };
    let order = &state.orders[&order_id];
    if order.event != list.event {
        return refuse(CheckinRejection::Invalid);
    }
    match order.effective_status(now_ms) {
        OrderStatus::Canceled => return refuse(CheckinRejection::Canceled),
        OrderStatus::Pending | OrderStatus::Expired => return refuse(CheckinRejection::Unpaid),
        OrderStatus::Paid => {}
    }
    if direction == Direction::Entry {
        let admitted = match list.scans.get(&(order_id, position)) {
            None => true,
            Some(seen) if seen.entries == 0 => true,
            Some(seen) => {
                list.allow_multiple_entries || (seen.last == Direction::Exit && list.allow_entry_after_exit)
            }
        };
        if !admitted {
            return refuse(CheckinRejection::AlreadyRedeemed);
        }
    }
    let checked = Event::CheckedIn { list: list_id, order: order_id, position, nonce, direction };
    accept(vec![checked], Accepted::CheckedIn { order: order_id, position, direction })
}

fn expire(state: &State, now_ms: u64) -> Decision {
    let lapsed_holds = state.holds_by_expiry.range(..=(now_ms, HoldId(u64::MAX))).map(|(_, id)| *id);
    let lapsed_orders = state.orders_by_deadline.range(..=(now_ms, OrderId(u64::MAX))).map(|(_, id)| *id);
    let mut events: Vec<Event> = lapsed_holds
        .map(|hold| Event::HoldExpired { hold })
        .chain(lapsed_orders.map(|order| Event::OrderExpired { order }))
        .take(EXPIRE_EVENTS_MAX + 1)
        .collect();
    let more = events.len() > EXPIRE_EVENTS_MAX;
    events.truncate(EXPIRE_EVENTS_MAX);
    let holds = events.iter().filter(|e| matches!(e, Event::HoldExpired { .. })).count();
    let count = |n: usize| u32::try_from(n).expect("EXPIRE_EVENTS_MAX fits u32");
    let orders = events.len() - holds;
    accept(events, Accepted::Expired { holds: count(holds), orders: count(orders), more })
}

/// A waiting room's settings, as a command gives them.
struct RoomConfig {
    admit_per_minute: u32,
    arrivals_per_second_max: u32,
    in_flight_max: u32,
    dry_run: bool,
}

/// Create or change a room. A change rebases at what is admitted now: every
/// position and every admission so far stand, and the new rate counts from now.
fn configure_waiting_room(state: &State, now_ms: u64, event: EventId, config: RoomConfig) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    validate::room(config.admit_per_minute, config.arrivals_per_second_max, config.in_flight_max)
        .map_err(Rejection::Invalid)?;
    let base = state.rooms.get(&event).map_or(0, |room| room.admitted(now_ms));
    let configured = Event::WaitingRoomConfigured {
        event,
        admit_per_minute: config.admit_per_minute,
        arrivals_per_second_max: config.arrivals_per_second_max,
        in_flight_max: config.in_flight_max,
        dry_run: config.dry_run,
        base,
    };
    Ok(accept(vec![configured], Accepted::WaitingRoomConfigured { event }))
}

/// The next position in a room, first come first served in log order. A
/// join that finds the queue empty rebases the room (see `WaitingRoom`).
fn join_waiting_room(state: &State, now_ms: u64, event: EventId) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    let room = find(&state.rooms, &event, ObjectRef::WaitingRoom(event))?;
    // Positions are counted per record, so this cannot overflow in practice;
    // if it ever could, it is refused rather than wrapped.
    let position = room.joined.checked_add(1).ok_or(Rejection::Invalid(InvalidInput::WaitingRoom))?;
    let rebased = room.admitted(now_ms) >= room.joined;
    let joined = Event::WaitingRoomJoined { event, position, rebased };
    Ok(accept(vec![joined], Accepted::WaitingRoomJoined { event, position }))
}
