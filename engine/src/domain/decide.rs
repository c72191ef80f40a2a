//! Deciding a command: validation, capacity checks, and the events that follow.
//!
//! `decide` reads the state and never changes it; [`State::evolve`] applies
//! what it returns. Every rule of the inventory lives here, in one function
//! per command. The one rule that matters most is in [`check_capacity`]: a
//! new reservation fits only if, for every quota of every item asked for,
//! paid + live pending + live held + blocked + demand <= size, where
//! blocked is what blocking vouchers hold back (their unredeemed uses).
//! The one exception is a blocking voucher's own redemption, which takes
//! from its block and adds nothing ([`redeem`]). Live waiting-list offers
//! count as used too, and so do the offers the waiting list is owed but
//! not yet made ([`owed_offers`]): a newcomer fits only in what is left
//! after the line ([`serve`], run by `apply`, then makes those offers).
//! Time is the record's effective time `now_ms`; nothing here reads a
//! clock or draws randomness.

use super::limits::*;
use super::model::*;
use super::state::{EntryStatus, Hold, SeatRow, State, Voucher};
use super::validate;
use std::collections::{BTreeMap, BTreeSet};

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
        Command::CreateVariation { item, name, price_cents } => {
            create_variation(state, *item, name, *price_cents)
        }
        Command::SetOrderLimits { item, limits } => set_order_limits(state, *item, *limits),
        Command::CreateVoucher {
            event,
            scope,
            max_redemptions,
            valid_from_ms,
            valid_until_ms,
            blocks_quota,
        } => create_voucher(
            state,
            now_ms,
            *event,
            VoucherSpec {
                scope: *scope,
                max_redemptions: *max_redemptions,
                valid_from_ms: *valid_from_ms,
                valid_until_ms: *valid_until_ms,
                blocks_quota: *blocks_quota,
            },
        ),
        Command::PlaceHoldWith { event, lines, ttl_ms, voucher, buyer } => {
            place_hold_with(state, now_ms, *event, lines, *ttl_ms, voucher.as_deref(), *buyer)
        }
        Command::AddSeatRow { event, zone, row, seats } => add_seat_row(state, *event, zone, row, seats),
        Command::SetSeatsBlocked { event, seats, blocked } => {
            set_seats_blocked(state, now_ms, *event, seats, *blocked)
        }
        Command::PlaceSeatedHold { event, seats, ttl_ms, voucher, buyer } => {
            place_seated_hold(state, now_ms, *event, seats, *ttl_ms, voucher.as_deref(), *buyer)
        }
        Command::JoinWaitingList { event, item, priority, buyer } => {
            join_waiting_list(state, now_ms, *event, *item, *priority, *buyer)
        }
        Command::LeaveWaitingList { entry } => leave_waiting_list(state, now_ms, *entry),
        Command::ClaimOffer { entry, ttl_ms } => claim_offer(state, now_ms, *entry, *ttl_ms),
        Command::ConfigureWaitingList { event, offer_ttl_ms } => {
            configure_waiting_list(state, *event, *offer_ttl_ms)
        }
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
        // A quota that names an item covers its variations already.
        if item.parent.is_some_and(|parent| items.contains(&parent)) {
            return Err(Rejection::Invalid(InvalidInput::QuotaItems));
        }
        // The quota joins the item and every variation of it.
        for counted in std::iter::once(item_id).chain(&item.variations) {
            if state.items[counted].quotas.len() >= ITEM_QUOTAS_MAX {
                return Err(Rejection::Invalid(InvalidInput::ItemQuotas { item: *counted }));
            }
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

/// Check a hold's lines: count, quantities, items of `event`, no item that
/// has variations. `existing` is what the hold already has (for
/// `AddToHold`). `Ok(true)` if an item of the lines (or the item of a
/// variation) has order limits, which the caller then checks; the plain
/// case pays for no second lookup.
fn valid_lines(state: &State, event: EventId, existing: &[Line], lines: &[Line]) -> Check<bool> {
    let count = existing.len() + lines.len();
    if lines.is_empty() || count > HOLD_LINES_MAX || lines.iter().any(|l| l.quantity == 0) {
        return Err(Rejection::Invalid(InvalidInput::Lines));
    }
    let quantity: u64 = existing.iter().chain(lines).map(|l| u64::from(l.quantity)).sum();
    if quantity > HOLD_QUANTITY_MAX {
        return Err(Rejection::Invalid(InvalidInput::Quantity));
    }
    let mut limited = false;
    for line in lines {
        let item = find(&state.items, &line.item, ObjectRef::Item(line.item))?;
        if item.event != event {
            return Err(Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: line.item }));
        }
        if !item.variations.is_empty() {
            return Err(Rejection::Invalid(InvalidInput::VariationRequired { item: line.item }));
        }
        limited |= !item.limits.is_none() || item.parent.is_some_and(|p| !state.items[&p].limits.is_none());
    }
    Ok(limited)
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
///
/// `blocked` are the quotas whose room a blocking voucher holds for these
/// lines (see [`redeem`]): redeeming it turns blocked uses into held ones
/// and adds nothing, so they are only checked for being open.
fn check_capacity(state: &State, now_ms: u64, lines: &[Line], blocked: &[QuotaId]) -> Check {
    let demand = demand(state, lines);
    let owed = owed_offers(state, now_ms);
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
            if blocked.contains(quota_id) {
                continue;
            }
            let Some(size) = quota.size else { continue };
            let owed_here = owed.get(quota_id).copied().unwrap_or(0);
            let used = quota.used(now_ms) + owed_here;
            if used + demand[quota_id] > size && !super::planted::skip_capacity_check() {
                let mut state = quota.availability(now_ms).state;
                if owed_here > 0 {
                    // Reserved for the waiting list, if nothing binds harder.
                    state = state.min(AvailabilityState::Reserved);
                }
                return Err(Rejection::SoldOut {
                    item: item.id,
                    quota: *quota_id,
                    state,
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

/// Tickets of `item` in `lines`, its variations' included.
fn quantity_of(state: &State, item: ItemId, lines: &[Line]) -> u64 {
    lines
        .iter()
        .filter(|line| line.item == item || state.items[&line.item].parent == Some(item))
        .map(|line| u64::from(line.quantity))
        .sum()
}

/// The items whose limits `lines` touch: each line's item and, for a
/// variation, its item; only those with limits, lowest id first.
fn limited_items(state: &State, lines: &[Line]) -> Vec<ItemId> {
    let mut limited: Vec<ItemId> = Vec::new();
    for line in lines {
        let parent = state.items[&line.item].parent;
        for id in std::iter::once(line.item).chain(parent) {
            if !state.items[&id].limits.is_none() {
                limited.push(id);
            }
        }
    }
    limited.sort_unstable();
    limited.dedup();
    limited
}

/// Per-order limits: a hold that has `base` and gains (or, if `removing`,
/// loses) `changed` must have of every item they touch either none or
/// between its minimum and maximum, its variations counted together.
fn check_order_limits(state: &State, base: &[Line], changed: &[Line], removing: bool) -> Check {
    for item in limited_items(state, changed) {
        let limits = state.items[&item].limits;
        let (before, change) = (quantity_of(state, item, base), quantity_of(state, item, changed));
        let after = if removing { before - change } else { before + change };
        if let Some(min) = limits.min_per_order
            && after > 0
            && after < u64::from(min)
        {
            return Err(Rejection::OrderLimit(OrderLimitRejection::BelowMin { item, min }));
        }
        if let Some(max) = limits.max_per_order
            && after > u64::from(max)
        {
            return Err(Rejection::OrderLimit(OrderLimitRejection::AboveMax { item, max }));
        }
    }
    Ok(())
}

/// Per-buyer limits: what the buyer has of each item `added` touches (live
/// holds, live pending orders, paid orders) plus `added` must stay within
/// its maximum. A hold of such an item must name its buyer
/// (`require_buyer`); a re-check of a lapsed hold or an expired order that
/// names none (made before the limit was set) has nothing to count.
fn check_buyer_limits(
    state: &State,
    now_ms: u64,
    added: &[Line],
    buyer: Option<BuyerId>,
    require_buyer: bool,
) -> Check {
    for item in limited_items(state, added) {
        let Some(max) = state.items[&item].limits.max_per_buyer else { continue };
        let Some(buyer) = buyer else {
            if require_buyer {
                return Err(Rejection::OrderLimit(OrderLimitRejection::BuyerRequired { item }));
            }
            continue;
        };
        let counted = state.buyers.get(&(buyer, item)).map_or(0, |counts| counts.used(now_ms));
        if counted + quantity_of(state, item, added) > u64::from(max) {
            return Err(Rejection::OrderLimit(OrderLimitRejection::BuyerMax { item, max, counted }));
        }
    }
    Ok(())
}

/// May `voucher` be redeemed for `lines` at `now_ms`? Its window (when a
/// use is redeemed into a hold, `in_window`), its scope (every line), and
/// its free redemptions. `Ok` carries the quotas whose room its block
/// holds for these lines (empty for a non-blocking or lapsed voucher):
/// redeeming turns blocked uses into held ones, so those quotas need no
/// room (see [`check_capacity`]). Every line is in the scope, so each of
/// those quotas covers every line, and the demand on it is at most the
/// voucher's unredeemed uses.
fn redeem(
    state: &State,
    now_ms: u64,
    voucher: &Voucher,
    lines: &[Line],
    in_window: bool,
) -> Check<Vec<QuotaId>> {
    let refuse = |reason| Err(Rejection::Voucher(reason));
    if in_window && now_ms < voucher.valid_from_ms {
        let valid_from_ms = voucher.valid_from_ms;
        return refuse(VoucherRejection::NotYetValid { voucher: voucher.id, valid_from_ms });
    }
    if in_window && now_ms >= voucher.valid_until_ms {
        let valid_until_ms = voucher.valid_until_ms;
        return refuse(VoucherRejection::Expired { voucher: voucher.id, valid_until_ms });
    }
    for line in lines {
        let item = &state.items[&line.item];
        let covered = match voucher.scope {
            VoucherScope::Item(scope) => item.id == scope || item.parent == Some(scope),
            VoucherScope::Quota(quota) => item.quotas.contains(&quota),
        };
        if !covered {
            return refuse(VoucherRejection::NotApplicable { voucher: voucher.id, item: line.item });
        }
    }
    let wanted: u64 = lines.iter().map(|line| u64::from(line.quantity)).sum();
    let remaining = voucher.remaining(now_ms);
    if wanted > remaining {
        return refuse(VoucherRejection::Exhausted { voucher: voucher.id, remaining });
    }
    Ok(if voucher.blocks_at(now_ms) { state.blocked_quotas(voucher.scope) } else { Vec::new() })
}

/// The re-check of lines that reserve nothing any more (a lapsed hold's
/// checkout, an expired order's payment), as if they were new: the
/// voucher's free redemptions (not its window: the tickets were redeemed
/// in it), the buyer's limits, and capacity.
fn recheck(
    state: &State,
    now_ms: u64,
    lines: &[Line],
    voucher: Option<VoucherId>,
    buyer: Option<BuyerId>,
) -> Check {
    let blocked = match voucher {
        Some(voucher) => redeem(state, now_ms, &state.vouchers[&voucher], lines, false)?,
        None => Vec::new(),
    };
    check_buyer_limits(state, now_ms, lines, buyer, false)?;
    check_capacity(state, now_ms, lines, &blocked)
}

fn place_hold(state: &State, now_ms: u64, event: EventId, lines: &[Line], ttl_ms: u64) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    if valid_lines(state, event, &[], lines)? {
        check_order_limits(state, &[], lines, false)?;
        check_buyer_limits(state, now_ms, lines, None, true)?;
    }
    check_capacity(state, now_ms, lines, &[])?;
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

/// Add lines to a live hold. A hold that redeems a voucher redeems it for
/// the added tickets too, with the same checks as at placement.
fn add_to_hold(state: &State, now_ms: u64, hold_id: HoldId, lines: &[Line]) -> Check<Decision> {
    let hold = live_hold(state, now_ms, hold_id)?;
    not_seated(state, hold_id)?;
    let limited = valid_lines(state, hold.event, &hold.lines, lines)?;
    let blocked = match hold.voucher() {
        Some(voucher) => redeem(state, now_ms, &state.vouchers[&voucher], lines, true)?,
        None => Vec::new(),
    };
    if limited {
        check_order_limits(state, &hold.lines, lines, false)?;
        check_buyer_limits(state, now_ms, lines, hold.buyer(), true)?;
    }
    check_capacity(state, now_ms, lines, &blocked)?;
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
    not_seated(state, hold_id)?;
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
    // What is left of an item must still be none or at least its minimum.
    check_order_limits(state, &hold.lines, lines, true)?;
    let removed = Event::HoldLinesRemoved { hold: hold_id, lines: lines.to_vec() };
    Ok(accept(vec![removed], Accepted::HoldLive { hold: hold_id, expires_at_ms: hold.expires_at_ms }))
}

/// Lines of a hold with seats follow its seats: none are added or removed.
fn not_seated(state: &State, hold: HoldId) -> Check {
    if state.hold_seats.contains_key(&hold) {
        return Err(Rejection::Invalid(InvalidInput::SeatedHold { hold }));
    }
    Ok(())
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
        // Its seats too: someone else may have taken them since.
        if let Some(seats) = state.hold_seats.get(&hold_id) {
            seats_still_free(state, now_ms, seats)?;
        }
        recheck(state, now_ms, &hold.lines, hold.voucher(), hold.buyer())?;
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
        OrderStatus::Expired => match recheck(state, now_ms, &order.lines, order.voucher(), order.buyer())
            .and_then(|()| seats_still_free(state, now_ms, state.seats_of_order(order_id)))
        {
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
    accept(vec![checked], state.checked_in(order_id, position, direction))
}

fn expire(state: &State, now_ms: u64) -> Decision {
    let lapsed_holds = state.holds_by_expiry.range(..=(now_ms, HoldId(u64::MAX))).map(|(_, id)| *id);
    let lapsed_orders = state.orders_by_deadline.range(..=(now_ms, OrderId(u64::MAX))).map(|(_, id)| *id);
    // A voucher's block stops counting at its end by itself; this only
    // takes it out of the tallies (it is counted in neither number).
    let ended_blocks = state.blocks_by_expiry.range(..=(now_ms, VoucherId(u64::MAX))).map(|(_, id)| *id);
    // Likewise a lapsed offer (the serve step after this passes its unit on).
    let lapsed_offers = state.offers_by_expiry.range(..=(now_ms, EntryId(u64::MAX))).map(|(_, id)| *id);
    let mut events: Vec<Event> = lapsed_holds
        .map(|hold| Event::HoldExpired { hold })
        .chain(lapsed_orders.map(|order| Event::OrderExpired { order }))
        .chain(ended_blocks.map(|voucher| Event::VoucherBlockEnded { voucher }))
        .chain(lapsed_offers.map(|entry| Event::OfferExpired { entry }))
        .take(EXPIRE_EVENTS_MAX + 1)
        .collect();
    let more = events.len() > EXPIRE_EVENTS_MAX;
    events.truncate(EXPIRE_EVENTS_MAX);
    let holds = events.iter().filter(|e| matches!(e, Event::HoldExpired { .. })).count();
    let orders = events.iter().filter(|e| matches!(e, Event::OrderExpired { .. })).count();
    let count = |n: usize| u32::try_from(n).expect("EXPIRE_EVENTS_MAX fits u32");
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

/// A variation of an item: an item of its own, in every quota of its item.
fn create_variation(state: &State, item_id: ItemId, name: &str, price_cents: u64) -> Check<Decision> {
    let item = find(&state.items, &item_id, ObjectRef::Item(item_id))?;
    valid_name(name)?;
    if price_cents > ITEM_PRICE_CENTS_MAX {
        return Err(Rejection::Invalid(InvalidInput::Price));
    }
    // A blocking voucher for the item could not be redeemed once the item
    // must be bought as one of its variations: its block would hold room
    // nobody can use.
    let blocked_for_it =
        || state.vouchers.values().any(|v| v.blocks_quota && v.scope == VoucherScope::Item(item_id));
    // Nor does an item seats are mapped to: its seats could not be sold.
    let seated = || state.seats.values().any(|seat| seat.item == item_id);
    // Nor could an entry that waits for it (or holds an offer of it) be
    // served once the item must be bought as a variation.
    let waited_for = || {
        state.waiting.contains_key(&item_id)
            || state
                .entries
                .values()
                .any(|e| e.item == item_id && matches!(e.status, EntryStatus::Offered { .. }))
    };
    if item.parent.is_some()
        || item.variations.len() >= ITEM_VARIATIONS_MAX
        || blocked_for_it()
        || seated()
        || waited_for()
    {
        return Err(Rejection::Invalid(InvalidInput::Variations { item: item_id }));
    }
    let variation = ItemId(next_id(state));
    let created = Event::VariationCreated { variation, item: item_id, name: name.to_owned(), price_cents };
    Ok(accept(vec![created], Accepted::ItemCreated { item: variation }))
}

fn set_order_limits(state: &State, item: ItemId, limits: OrderLimits) -> Check<Decision> {
    find(&state.items, &item, ObjectRef::Item(item))?;
    validate::order_limits(&limits).map_err(Rejection::Invalid)?;
    Ok(accept(vec![Event::OrderLimitsSet { item, limits }], Accepted::OrderLimitsSet { item }))
}

/// A voucher's settings, as a command gives them.
struct VoucherSpec {
    scope: VoucherScope,
    max_redemptions: u32,
    valid_from_ms: u64,
    valid_until_ms: u64,
    blocks_quota: bool,
}

/// Create a voucher. A blocking one must fit: every quota it blocks needs
/// room for all its redemptions now, or it is refused (it cannot oversell).
fn create_voucher(state: &State, now_ms: u64, event: EventId, spec: VoucherSpec) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    validate::voucher(spec.max_redemptions, spec.valid_from_ms, spec.valid_until_ms)
        .map_err(Rejection::Invalid)?;
    if spec.valid_until_ms <= now_ms {
        return Err(Rejection::Invalid(InvalidInput::VoucherWindow));
    }
    if state.event_vouchers.get(&event).is_some_and(|n| *n >= EVENT_VOUCHERS_MAX) {
        return Err(Rejection::Invalid(InvalidInput::EventVouchers));
    }
    let scope_event = match spec.scope {
        VoucherScope::Item(item) => find(&state.items, &item, ObjectRef::Item(item))?.event,
        VoucherScope::Quota(quota) => find(&state.quotas, &quota, ObjectRef::Quota(quota))?.event,
    };
    if scope_event != event {
        return Err(Rejection::Invalid(InvalidInput::VoucherScope));
    }
    if spec.blocks_quota {
        // pretix asks the same: a block must say which variation it holds.
        let has_variations =
            matches!(spec.scope, VoucherScope::Item(item) if !state.items[&item].variations.is_empty());
        let blocked = state.blocked_quotas(spec.scope);
        if has_variations || blocked.is_empty() {
            return Err(Rejection::Invalid(InvalidInput::VoucherScope));
        }
        // The waiting list comes first here too.
        let owed = owed_offers(state, now_ms);
        for quota_id in blocked {
            let quota = &state.quotas[&quota_id];
            let Some(size) = quota.size else { continue };
            let used = quota.used(now_ms) + owed.get(&quota_id).copied().unwrap_or(0);
            if used + u64::from(spec.max_redemptions) > size && !super::planted::skip_capacity_check() {
                let remaining = size.saturating_sub(used);
                return Err(Rejection::Voucher(VoucherRejection::NoRoomToBlock {
                    quota: quota_id,
                    remaining,
                }));
            }
        }
    }
    let voucher = VoucherId(next_id(state));
    let secret_key = &state.organizers[&state.events[&event].organizer].secret_key;
    // A code already taken (an 80-bit collision) moves to the next attempt:
    // still the same on every replica.
    let code = (0u32..)
        .map(|attempt| voucher_code(secret_key, voucher, attempt))
        .find(|code| !state.voucher_codes.contains_key(code))
        .expect("some attempt yields a free code");
    let created = Event::VoucherCreated {
        voucher,
        event,
        code: code.clone(),
        scope: spec.scope,
        max_redemptions: spec.max_redemptions,
        valid_from_ms: spec.valid_from_ms,
        valid_until_ms: spec.valid_until_ms,
        blocks_quota: spec.blocks_quota,
    };
    Ok(accept(vec![created], Accepted::VoucherCreated { voucher, code }))
}

/// The symbols of a voucher code: Crockford's base 32.
const VOUCHER_CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A voucher's code: a keyed hash (BLAKE3) of the organizer's key, the
/// voucher and an attempt number (0 unless that code was taken), as
/// [`VOUCHER_CODE_CHARS`] symbols of Crockford's base 32 (80 bits).
/// Deterministic like [`ticket_secret`], so every replica derives the same
/// code; unguessable without the key.
pub fn voucher_code(secret_key: &[u8; 32], voucher: VoucherId, attempt: u32) -> String {
    let mut hasher = blake3::Hasher::new_keyed(secret_key);
    hasher.update(b"boxoffice-voucher");
    hasher.update(&voucher.0.to_le_bytes());
    hasher.update(&attempt.to_le_bytes());
    let hash = hasher.finalize();
    let mut bits = [0u8; 16];
    bits[6..].copy_from_slice(&hash.as_bytes()[..10]);
    let bits = u128::from_be_bytes(bits);
    (0..VOUCHER_CODE_CHARS)
        .rev()
        .map(|i| char::from(VOUCHER_CODE_ALPHABET[((bits >> (5 * i)) & 0x1f) as usize]))
        .collect()
}

/// [`place_hold`] with a voucher redeemed for every ticket and a named
/// buyer. The checks are [`check_hold_with`]'s.
fn place_hold_with(
    state: &State,
    now_ms: u64,
    event: EventId,
    lines: &[Line],
    ttl_ms: u64,
    code: Option<&str>,
    buyer: Option<BuyerId>,
) -> Check<Decision> {
    let voucher = check_hold_with(state, now_ms, event, lines, ttl_ms, code, buyer)?;
    let hold = HoldId(next_id(state));
    let expires_at_ms = now_ms + ttl_ms;
    let lines = lines.to_vec();
    let placed = if voucher.is_none() && buyer.is_none() {
        Event::HoldPlaced { hold, event, lines, expires_at_ms }
    } else {
        Event::HoldPlacedWith { hold, event, lines, expires_at_ms, voucher, buyer }
    };
    Ok(accept(vec![placed], Accepted::HoldLive { hold, expires_at_ms }))
}

/// The checks of a new hold with a voucher and a buyer, in order: the
/// hold's own (ttl, the code's length, lines), the voucher (known, window,
/// scope, free redemptions), the order limits, capacity (none needed in
/// the quotas a blocking voucher holds room in). `Ok` carries the voucher.
fn check_hold_with(
    state: &State,
    now_ms: u64,
    event: EventId,
    lines: &[Line],
    ttl_ms: u64,
    code: Option<&str>,
    buyer: Option<BuyerId>,
) -> Check<Option<VoucherId>> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    if let Some(code) = code {
        validate::voucher_code(code).map_err(Rejection::Invalid)?;
    }
    let limited = valid_lines(state, event, &[], lines)?;
    let (voucher, blocked) = match code {
        None => (None, Vec::new()),
        Some(code) => {
            // Codes are capitals; a buyer may type them in lower case.
            let unknown = Rejection::Voucher(VoucherRejection::Unknown);
            let id = *state.voucher_codes.get(&code.to_ascii_uppercase()).ok_or(unknown.clone())?;
            let voucher = &state.vouchers[&id];
            if voucher.event != event {
                return Err(unknown);
            }
            (Some(id), redeem(state, now_ms, voucher, lines, true)?)
        }
    };
    if limited {
        check_order_limits(state, &[], lines, false)?;
        check_buyer_limits(state, now_ms, lines, buyer, true)?;
    }
    check_capacity(state, now_ms, lines, &blocked)?;
    Ok(voucher)
}

/// Add a row of seats to an event's plan, with consecutive ids.
fn add_seat_row(state: &State, event: EventId, zone: &str, row: &str, seats: &[SeatSpec]) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    validate::seat_row(zone, row, seats).map_err(Rejection::Invalid)?;
    for spec in seats {
        let item = find(&state.items, &spec.item, ObjectRef::Item(spec.item))?;
        if item.event != event {
            return Err(Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: spec.item }));
        }
        if !item.variations.is_empty() {
            return Err(Rejection::Invalid(InvalidInput::VariationRequired { item: spec.item }));
        }
    }
    let count = u32::try_from(seats.len()).expect("SEAT_ROW_SEATS_MAX fits u32");
    if let Some(plan) = state.seat_plans.get(&event) {
        if plan.rows.iter().any(|r| r.zone == zone && r.name == row) {
            return Err(Rejection::Invalid(InvalidInput::SeatRowExists));
        }
        if plan.seats + count > EVENT_SEATS_MAX {
            return Err(Rejection::Invalid(InvalidInput::EventSeats));
        }
    }
    let first_seat = SeatId(next_id(state));
    let added = Event::SeatRowAdded {
        event,
        zone: zone.to_owned(),
        row: row.to_owned(),
        first_seat,
        seats: seats.to_vec(),
    };
    Ok(accept(vec![added], Accepted::SeatRowAdded { first_seat, count }))
}

/// Block or unblock seats of `event`; a taken seat cannot be blocked.
fn set_seats_blocked(
    state: &State,
    now_ms: u64,
    event: EventId,
    seats: &[SeatId],
    blocked: bool,
) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    validate::seat_ids(seats, SEATS_PER_COMMAND_MAX).map_err(Rejection::Invalid)?;
    for id in seats {
        let seat = find(&state.seats, id, ObjectRef::Seat(*id))?;
        if seat.event != event {
            return Err(Rejection::Invalid(InvalidInput::SeatOfOtherEvent { seat: *id }));
        }
        if blocked && state.seat_taker(*id, now_ms).is_some() {
            return Err(Rejection::Seat(SeatRejection::Taken { seat: *id }));
        }
    }
    let count = u32::try_from(seats.len()).expect("SEATS_PER_COMMAND_MAX fits u32");
    let changed = Event::SeatsBlocked { seats: seats.to_vec(), blocked };
    Ok(accept(vec![changed], Accepted::SeatsBlocked { event, count }))
}

/// Seats that a hold or order no longer reserves (a lapsed hold's, an
/// expired order's) must still be free to be taken again: not blocked
/// since, and not taken by someone else.
fn seats_still_free(state: &State, now_ms: u64, seats: &[SeatId]) -> Check {
    for id in seats {
        if state.seats[id].blocked {
            return Err(Rejection::Seat(SeatRejection::Blocked { seat: *id }));
        }
        if state.seat_taker(*id, now_ms).is_some() {
            return Err(Rejection::Seat(SeatRejection::Taken { seat: *id }));
        }
    }
    Ok(())
}

/// True if a seat can be held now: not blocked, not taken, and of `item`
/// (or a variation of it) if one is asked for.
fn seat_free_for(state: &State, now_ms: u64, id: SeatId, item: Option<ItemId>) -> bool {
    let seat = &state.seats[&id];
    let item_ok = item.is_none_or(|want| seat.item == want || state.items[&seat.item].parent == Some(want));
    item_ok && !seat.blocked && state.seat_taker(id, now_ms).is_none()
}

/// In one row, the start of the run of `count` adjacent free seats whose
/// centre is closest to the row's centre, ties to the lower position.
fn best_run_in_row(
    state: &State,
    now_ms: u64,
    row: &SeatRow,
    count: usize,
    item: Option<ItemId>,
) -> Option<usize> {
    let n = row.count as usize;
    if count > n {
        return None;
    }
    let free: Vec<bool> = row.seats().map(|id| seat_free_for(state, now_ms, id, item)).collect();
    let mut best: Option<(usize, usize)> = None;
    let mut free_in_window = 0;
    for end in 0..n {
        free_in_window += usize::from(free[end]);
        if end >= count {
            free_in_window -= usize::from(free[end - count]);
        }
        if end + 1 >= count && free_in_window == count {
            let start = end + 1 - count;
            // Twice the distance between the run's centre and the row's:
            // |(2 start + count - 1) - (n - 1)|, in integers.
            let distance = (2 * start + count).abs_diff(n);
            if best.is_none_or(|(closest, _)| distance < closest) {
                best = Some((distance, start));
            }
        }
    }
    best.map(|(_, start)| start)
}

/// Best available: the first row of `zone` (in creation order) that has
/// `count` adjacent free seats, and in it the run closest to its centre.
/// Rows and seats are scanned in a fixed order, so every node picks the same.
fn best_adjacent(
    state: &State,
    now_ms: u64,
    event: EventId,
    zone: &str,
    count: u32,
    item: Option<ItemId>,
) -> Option<Vec<SeatId>> {
    let plan = state.seat_plans.get(&event)?;
    let count = count as usize;
    plan.rows.iter().filter(|row| row.zone == zone).find_map(|row| {
        let start = best_run_in_row(state, now_ms, row, count, item)?;
        Some(row.seats().skip(start).take(count).collect())
    })
}

/// A hold's lines from its seats (one ticket of each seat's item, merged
/// per item in the order items first appear), and the seats in ticket
/// order (grouped by line), so that seat `i` goes with ticket `i`.
fn seat_lines(state: &State, seats: &[SeatId]) -> (Vec<Line>, Vec<SeatId>) {
    let mut lines: Vec<Line> = Vec::new();
    for seat in seats {
        let item = state.seats[seat].item;
        match lines.iter_mut().find(|line| line.item == item) {
            Some(line) => line.quantity += 1,
            None => lines.push(Line { item, quantity: 1 }),
        }
    }
    let ordered = lines
        .iter()
        .flat_map(|line| seats.iter().copied().filter(move |seat| state.seats[seat].item == line.item))
        .collect();
    (lines, ordered)
}

/// Hold seats: named ones, each of `event`, not blocked and not taken; or
/// the best adjacent ones of a zone. Their lines then pass exactly the
/// checks of [`place_hold_with`] ([`check_hold_with`]).
fn place_seated_hold(
    state: &State,
    now_ms: u64,
    event: EventId,
    choice: &SeatChoice,
    ttl_ms: u64,
    code: Option<&str>,
    buyer: Option<BuyerId>,
) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    // The checks the door makes, first (as it does).
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    if let Some(code) = code {
        validate::voucher_code(code).map_err(Rejection::Invalid)?;
    }
    validate::seat_choice(choice).map_err(Rejection::Invalid)?;
    let chosen = match choice {
        SeatChoice::Named(seats) => {
            for id in seats {
                let seat = find(&state.seats, id, ObjectRef::Seat(*id))?;
                if seat.event != event {
                    return Err(Rejection::Invalid(InvalidInput::SeatOfOtherEvent { seat: *id }));
                }
            }
            if super::planted::double_seat() {
                // The planted bug: only a blocked seat is refused; a taken one is sold again.
                if let Some(id) = seats.iter().find(|id| state.seats[*id].blocked) {
                    return Err(Rejection::Seat(SeatRejection::Blocked { seat: *id }));
                }
            } else {
                seats_still_free(state, now_ms, seats)?;
            }
            seats.clone()
        }
        SeatChoice::Adjacent { zone, count, item } => {
            best_adjacent(state, now_ms, event, zone, *count, *item).ok_or_else(|| {
                Rejection::Seat(SeatRejection::NoAdjacentSeats { zone: zone.clone(), count: *count })
            })?
        }
    };
    let (lines, seats) = seat_lines(state, &chosen);
    let voucher = check_hold_with(state, now_ms, event, &lines, ttl_ms, code, buyer)?;
    let hold = HoldId(next_id(state));
    let expires_at_ms = now_ms + ttl_ms;
    let placed =
        Event::SeatedHoldPlaced { hold, event, lines, expires_at_ms, voucher, buyer, seats: seats.clone() };
    Ok(accept(vec![placed], Accepted::SeatedHoldLive { hold, expires_at_ms, seats }))
}

/// The offers the waiting list is owed at `now_ms`, in serving order, at
/// most `limit`: `(entry, item)` pairs.
///
/// Entries are taken by priority (highest first), then in log order, across
/// every item: the heads of the items' lines are merged. An entry is
/// offered one ticket if its item fits: every quota of the item is open and
/// has room for one more after what counts (paid, live pending, live
/// holds, blocks, live offers) and the offers planned before it in this
/// pass. Once an item does not fit, the rest of its line is skipped (room
/// only shrinks during a pass); entries of other items may still fit.
///
/// Cost: one capacity check per item that has a line, plus one per offer,
/// each a handful of quota lookups; `log` of the items for the merge.
fn plan_offers(state: &State, now_ms: u64, limit: usize) -> (Vec<(EntryId, ItemId)>, BTreeMap<QuotaId, u64>) {
    let mut planned = Vec::new();
    let mut taken: BTreeMap<QuotaId, u64> = BTreeMap::new();
    let mut lines = BTreeMap::new();
    let mut heads: BTreeSet<((u32, EntryId), ItemId)> = BTreeSet::new();
    for (item, line) in &state.waiting {
        let mut rest = line.iter();
        if let Some(first) = next_in_line(&mut rest) {
            heads.insert((*first, *item));
            lines.insert(*item, rest);
        }
    }
    while planned.len() < limit
        && let Some(((_, entry), item)) = heads.pop_first()
    {
        let quotas = &state.items[&item].quotas;
        let fits = !quotas.is_empty()
            && quotas.iter().all(|quota_id| {
                let quota = &state.quotas[quota_id];
                let planned_here = taken.get(quota_id).copied().unwrap_or(0);
                !quota.closed && quota.size.is_none_or(|size| quota.used(now_ms) + planned_here < size)
            });
        if !fits {
            continue;
        }
        planned.push((entry, item));
        for quota_id in quotas {
            *taken.entry(*quota_id).or_default() += 1;
        }
        if let Some(next) = lines.get_mut(&item).and_then(next_in_line) {
            heads.insert((*next, item));
        }
    }
    (planned, taken)
}

/// The next entry of an item's line in serving order (from the back
/// under the planted bug `skip-the-line`).
fn next_in_line<'a>(
    rest: &mut std::collections::btree_set::Iter<'a, (u32, EntryId)>,
) -> Option<&'a (u32, EntryId)> {
    if super::planted::skip_the_line() { rest.next_back() } else { rest.next() }
}

/// The units, per quota, of the offers the waiting list is owed right now
/// and that the serve step after this command will make: a newcomer's
/// reservation must fit in what is left after them. Empty, at the cost of
/// one check, when nobody waits without an offer.
fn owed_offers(state: &State, now_ms: u64) -> BTreeMap<QuotaId, u64> {
    if state.waiting.is_empty() {
        return BTreeMap::new();
    }
    plan_offers(state, now_ms, usize::MAX).1
}

/// The serve step: the offers that fit now, as events, at most
/// [`WAITING_LIST_OFFERS_PER_RECORD_MAX`]. Run by `apply` after an accepted
/// command's events are folded in, so capacity the command freed (or that
/// time freed since the last record) goes to the line in the same record.
pub(super) fn serve(state: &State, now_ms: u64) -> Vec<Event> {
    plan_offers(state, now_ms, WAITING_LIST_OFFERS_PER_RECORD_MAX)
        .0
        .into_iter()
        .map(|(entry, _)| {
            let event = state.entries[&entry].event;
            let ttl_ms =
                state.waiting_lists.get(&event).map_or(WAITING_LIST_OFFER_TTL_MS_DEFAULT, |l| l.offer_ttl_ms);
            Event::OfferMade { entry, expires_at_ms: now_ms + ttl_ms }
        })
        .collect()
}

/// Join a waiting list: only for an item of the event that can be sold but
/// has no room for one ticket now (after the offers the line is owed).
fn join_waiting_list(
    state: &State,
    now_ms: u64,
    event: EventId,
    item_id: ItemId,
    priority: u32,
    buyer: Option<BuyerId>,
) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    let item = find(&state.items, &item_id, ObjectRef::Item(item_id))?;
    if item.event != event {
        return Err(Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: item_id }));
    }
    if !item.variations.is_empty() {
        return Err(Rejection::Invalid(InvalidInput::VariationRequired { item: item_id }));
    }
    if item.quotas.is_empty() {
        return Err(Rejection::ItemNotForSale { item: item_id });
    }
    // The hold an offer becomes must be one the buyer may have: one
    // ticket within the item's order limits, for a named buyer under the
    // per-buyer maximum.
    let one = [Line { item: item_id, quantity: 1 }];
    check_order_limits(state, &[], &one, false)?;
    check_buyer_limits(state, now_ms, &one, buyer, true)?;
    if check_capacity(state, now_ms, &one, &[]).is_ok() {
        return Err(Rejection::WaitingList(WaitingListRejection::Available { item: item_id }));
    }
    if state.waiting_lists.get(&event).is_some_and(|list| list.open >= EVENT_WAITING_LIST_ENTRIES_MAX) {
        let max = EVENT_WAITING_LIST_ENTRIES_MAX;
        return Err(Rejection::WaitingList(WaitingListRejection::Full { event, max }));
    }
    let entry = EntryId(next_id(state));
    // Its place before this record's offers (`apply` corrects it if the
    // serve step moves the line): behind every entry of its item with the
    // same or a higher priority, all of which came earlier.
    let key = (!priority, entry);
    let ahead = state.waiting.get(&item_id).map_or(0, |line| line.range(..key).count() as u64);
    let joined = Event::WaitingListJoined { entry, event, item: item_id, priority, buyer };
    Ok(accept(vec![joined], Accepted::WaitingListJoined { entry, position: ahead + 1 }))
}

/// Why an entry that is not waiting and holds no live offer cannot act.
fn entry_done(entry: EntryId, status: EntryStatus) -> Rejection {
    Rejection::WaitingList(match status {
        EntryStatus::Waiting => WaitingListRejection::NotOffered { entry },
        EntryStatus::Offered { expires_at_ms } | EntryStatus::OfferExpired { expires_at_ms } => {
            WaitingListRejection::OfferLapsed { entry, expired_at_ms: expires_at_ms }
        }
        EntryStatus::Claimed { hold } => WaitingListRejection::Claimed { entry, hold },
        EntryStatus::Left => WaitingListRejection::Left { entry },
    })
}

/// Leave a waiting list: an entry that waits, or holds a live offer (whose
/// unit the serve step then passes on in this record).
fn leave_waiting_list(state: &State, now_ms: u64, entry_id: EntryId) -> Check<Decision> {
    let entry = find(&state.entries, &entry_id, ObjectRef::WaitingListEntry(entry_id))?;
    match entry.status {
        EntryStatus::Waiting => {}
        EntryStatus::Offered { expires_at_ms } if expires_at_ms > now_ms => {}
        status => return Err(entry_done(entry_id, status)),
    }
    let left = Event::WaitingListLeft { entry: entry_id };
    Ok(accept(vec![left], Accepted::WaitingListLeft { entry: entry_id }))
}

/// Claim a live offer: a hold of one ticket of the entry's item for its
/// buyer. No capacity check: the offer's unit becomes the hold's. Order
/// limits are checked as for any hold.
fn claim_offer(state: &State, now_ms: u64, entry_id: EntryId, ttl_ms: u64) -> Check<Decision> {
    valid_ttl(ttl_ms, HOLD_TTL_MS_MAX)?;
    let entry = find(&state.entries, &entry_id, ObjectRef::WaitingListEntry(entry_id))?;
    match entry.status {
        EntryStatus::Offered { expires_at_ms } if expires_at_ms > now_ms => {}
        status => return Err(entry_done(entry_id, status)),
    }
    // Limits set or used up since the join still bind (not capacity: the
    // offer holds that). A refused buyer may leave, passing the unit on.
    let lines = vec![Line { item: entry.item, quantity: 1 }];
    check_order_limits(state, &[], &lines, false)?;
    check_buyer_limits(state, now_ms, &lines, entry.buyer, false)?;
    let hold = HoldId(next_id(state));
    let expires_at_ms = now_ms + ttl_ms;
    let event = entry.event;
    let placed = match entry.buyer {
        None => Event::HoldPlaced { hold, event, lines, expires_at_ms },
        buyer => Event::HoldPlacedWith { hold, event, lines, expires_at_ms, voucher: None, buyer },
    };
    let claimed = Event::OfferClaimed { entry: entry_id, hold };
    Ok(accept(vec![claimed, placed], Accepted::HoldLive { hold, expires_at_ms }))
}

/// Set how long an event's offers stay open.
fn configure_waiting_list(state: &State, event: EventId, offer_ttl_ms: u64) -> Check<Decision> {
    find(&state.events, &event, ObjectRef::Event(event))?;
    valid_ttl(offer_ttl_ms, WAITING_LIST_OFFER_TTL_MS_MAX)?;
    let configured = Event::WaitingListConfigured { event, offer_ttl_ms };
    Ok(accept(vec![configured], Accepted::WaitingListConfigured { event }))
}
