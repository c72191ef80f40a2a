//! Scenario tests for the waiting list, one per rule, named after the
//! behaviour (see `ARCHITECTURE.md`, "Waiting list"). Every fixture also
//! checks, when it drops, that replaying its event log and round-tripping a
//! snapshot rebuild the same state (`support::Fx`): offers made by the
//! serve step live in the records like every other event.

mod support;

use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::*;
use support::{Fx, MINUTE_MS};

const HOUR_MS: u64 = 60 * MINUTE_MS;
const OFFER_MS: u64 = WAITING_LIST_OFFER_TTL_MS_DEFAULT;

fn try_join(fx: &mut Fx, item: ItemId, priority: u32) -> Result<(EntryId, u64), Rejection> {
    let command = Command::JoinWaitingList { event: fx.event, item, priority, buyer: None };
    match fx.run(command) {
        Outcome::Accepted(Accepted::WaitingListJoined { entry, position }) => Ok((entry, position)),
        Outcome::Accepted(other) => panic!("{other:?}"),
        Outcome::Rejected(rejection) => Err(rejection),
    }
}

fn join(fx: &mut Fx, item: ItemId, priority: u32) -> EntryId {
    try_join(fx, item, priority).expect("joined").0
}

/// The events of the last record.
fn last_events(fx: &Fx) -> Vec<Event> {
    fx.log.last().expect("a record").events.clone()
}

fn offer(fx: &Fx, entry: EntryId) -> Event {
    Event::OfferMade { entry, expires_at_ms: fx.state.now_ms + OFFER_MS }
}

fn position(fx: &Fx, entry: EntryId) -> EntryPosition {
    fx.state.waiting_list_position(entry, fx.time_ms).expect("entry exists")
}

fn claim(fx: &mut Fx, entry: EntryId) -> Result<HoldId, Rejection> {
    match fx.run(Command::ClaimOffer { entry, ttl_ms: 10 * MINUTE_MS }) {
        Outcome::Accepted(Accepted::HoldLive { hold, .. }) => Ok(hold),
        Outcome::Accepted(other) => panic!("{other:?}"),
        Outcome::Rejected(rejection) => Err(rejection),
    }
}

/// An item in a quota of `size`, and a hold that takes all of it.
fn sold_out(fx: &mut Fx, size: u32) -> (ItemId, QuotaId, HoldId) {
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(size.into()), &[item]);
    let hold = fx.hold(&[(item, size)]);
    (item, quota, hold)
}

#[test]
fn joining_is_refused_while_the_item_has_room_and_accepted_once_it_is_sold_out() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(2), &[item]);
    fx.hold(&[(item, 1)]);
    let available = Rejection::WaitingList(WaitingListRejection::Available { item });
    assert_eq!(try_join(&mut fx, item, 0), Err(available));
    fx.hold(&[(item, 1)]);
    let (entry, place) = try_join(&mut fx, item, 0).unwrap();
    assert_eq!(place, 1);
    assert_eq!(position(&fx, entry), EntryPosition::Waiting { position: 1 });
    assert_eq!(
        last_events(&fx),
        vec![Event::WaitingListJoined { entry, event: fx.event, item, priority: 0, buyer: None }]
    );
    // A closed quota is no room either.
    let other = fx.item("Sunday");
    let quota = fx.quota(Some(10), &[other]);
    fx.ok(Command::CloseQuota { quota });
    try_join(&mut fx, other, 0).unwrap();
}

#[test]
fn entries_are_served_by_priority_then_in_join_order() {
    let mut fx = Fx::new();
    let (item, quota, _) = sold_out(&mut fx, 1);
    let (a, pa) = try_join(&mut fx, item, 0).unwrap();
    let (b, pb) = try_join(&mut fx, item, 5).unwrap();
    let (c, pc) = try_join(&mut fx, item, 5).unwrap();
    let (d, pd) = try_join(&mut fx, item, 0).unwrap();
    assert_eq!((pa, pb, pc, pd), (1, 1, 2, 4));
    let line: Vec<EntryId> = fx.state.waiting_list(fx.event).iter().map(|e| e.id).collect();
    assert_eq!(line, vec![b, c, a, d]);
    assert_eq!(position(&fx, a), EntryPosition::Waiting { position: 3 });
    fx.ok(Command::ResizeQuota { quota, size: Some(4) });
    let offers: Vec<Event> = [b, c, a].iter().map(|e| offer(&fx, *e)).collect();
    assert_eq!(last_events(&fx)[1..], offers[..]);
    assert_eq!(position(&fx, d), EntryPosition::Waiting { position: 1 });
    assert_eq!(fx.state.waiting_list(fx.event).len(), 1);
}

#[test]
fn a_released_hold_becomes_an_offer_in_the_same_record() {
    let mut fx = Fx::new();
    let (item, _, hold) = sold_out(&mut fx, 1);
    let entry = join(&mut fx, item, 0);
    assert_eq!(fx.ok(Command::ReleaseHold { hold }), Accepted::HoldReleased { hold });
    assert_eq!(last_events(&fx), vec![Event::HoldReleased { hold }, offer(&fx, entry)]);
    let expires_at_ms = fx.state.now_ms + OFFER_MS;
    assert_eq!(position(&fx, entry), EntryPosition::Offered { expires_at_ms });
    assert!(fx.state.waiting_list(fx.event).is_empty());
}

#[test]
fn an_expired_order_makes_an_offer_in_the_expire_record() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(1), &[item]);
    let (order, _) = fx.pending_order(&[(item, 1)]);
    let entry = join(&mut fx, item, 0);
    fx.advance(61 * MINUTE_MS);
    fx.ok(Command::Expire);
    assert_eq!(last_events(&fx), vec![Event::OrderExpired { order }, offer(&fx, entry)]);
}

#[test]
fn a_canceled_order_makes_an_offer_in_the_same_record() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(1), &[item]);
    let (order, _) = fx.sell(&[(item, 1)]);
    let entry = join(&mut fx, item, 0);
    fx.ok(Command::CancelOrder { order });
    assert_eq!(
        last_events(&fx),
        vec![Event::OrderCanceled { order, refund_owed_cents: 5_000 }, offer(&fx, entry)]
    );
}

#[test]
fn a_grown_or_reopened_quota_makes_offers() {
    let mut fx = Fx::new();
    let (item, quota, _) = sold_out(&mut fx, 1);
    let (first, second) = (join(&mut fx, item, 0), join(&mut fx, item, 0));
    fx.ok(Command::ResizeQuota { quota, size: Some(2) });
    assert_eq!(last_events(&fx), vec![Event::QuotaResized { quota, size: Some(2) }, offer(&fx, first)]);
    fx.ok(Command::CloseQuota { quota });
    fx.ok(Command::ResizeQuota { quota, size: Some(3) });
    assert_eq!(last_events(&fx), vec![Event::QuotaResized { quota, size: Some(3) }], "closed: no offer");
    fx.ok(Command::ReopenQuota { quota });
    assert_eq!(last_events(&fx), vec![Event::QuotaReopened { quota }, offer(&fx, second)]);
}

#[test]
fn an_ended_voucher_block_makes_an_offer() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(2), &[item]);
    let now = fx.state.now_ms;
    let command = Command::CreateVoucher {
        event: fx.event,
        scope: VoucherScope::Item(item),
        max_redemptions: 2,
        valid_from_ms: now,
        valid_until_ms: now + HOUR_MS,
        blocks_quota: true,
    };
    let Accepted::VoucherCreated { voucher, .. } = fx.ok(command) else { unreachable!() };
    let entry = join(&mut fx, item, 0);
    fx.advance(HOUR_MS);
    fx.ok(Command::Expire);
    assert_eq!(last_events(&fx), vec![Event::VoucherBlockEnded { voucher }, offer(&fx, entry)]);
}

#[test]
fn an_offer_lapses_and_passes_to_the_next_entry_in_the_expire_record() {
    let mut fx = Fx::new();
    let (item, _, hold) = sold_out(&mut fx, 1);
    let (first, second) = (join(&mut fx, item, 0), join(&mut fx, item, 0));
    fx.ok(Command::ReleaseHold { hold });
    let lapse_at = fx.state.now_ms + OFFER_MS;
    fx.advance(OFFER_MS);
    // Lapsed by time: it counts no more, before any event says so.
    assert_eq!(position(&fx, first), EntryPosition::OfferLapsed { expires_at_ms: lapse_at });
    assert!(fx.state.has_lapsed(fx.time_ms));
    fx.ok(Command::Expire);
    assert_eq!(last_events(&fx), vec![Event::OfferExpired { entry: first }, offer(&fx, second)]);
    // The first entry is done: not queued again, nothing to claim.
    assert_eq!(position(&fx, first), EntryPosition::OfferLapsed { expires_at_ms: lapse_at });
    let lapsed = WaitingListRejection::OfferLapsed { entry: first, expired_at_ms: lapse_at };
    assert_eq!(claim(&mut fx, first), Err(Rejection::WaitingList(lapsed)));
    assert!(fx.state.waiting_list(fx.event).is_empty());
}

#[test]
fn a_newcomer_cannot_take_a_unit_freed_by_a_lapsed_hold_while_an_entry_waits() {
    let mut fx = Fx::new();
    let (item, quota, _) = sold_out(&mut fx, 1);
    let entry = join(&mut fx, item, 0);
    fx.advance(31 * MINUTE_MS);
    // The hold lapsed by time; no accepted record has served the line yet.
    assert_eq!(position(&fx, entry), EntryPosition::Waiting { position: 1 });
    assert_eq!(fx.quota_view(quota).remaining, Some(1));
    let refused = fx.try_hold(&[(item, 1)]).unwrap_err();
    assert!(
        matches!(refused, Rejection::SoldOut { remaining: 0, state: AvailabilityState::Reserved, .. }),
        "{refused:?}"
    );
    // Nor may a newcomer join ahead of it, or block it with a voucher.
    let now = fx.state.now_ms;
    let blocking = Command::CreateVoucher {
        event: fx.event,
        scope: VoucherScope::Item(item),
        max_redemptions: 1,
        valid_from_ms: now,
        valid_until_ms: now + HOUR_MS,
        blocks_quota: true,
    };
    assert!(matches!(fx.rejected(blocking), Rejection::Voucher(VoucherRejection::NoRoomToBlock { .. })));
    // A newcomer who joins is behind it; that accepted record serves it.
    let (late, late_position) = try_join(&mut fx, item, 0).unwrap();
    assert_eq!(late_position, 1, "the first entry got its offer in this same record");
    assert_eq!(last_events(&fx)[1], offer(&fx, entry));
    assert_eq!(position(&fx, late), EntryPosition::Waiting { position: 1 });
}

#[test]
fn claiming_an_offer_gives_a_hold_that_cannot_fail() {
    let mut fx = Fx::new();
    let (item, quota, hold) = sold_out(&mut fx, 1);
    let command = Command::JoinWaitingList { event: fx.event, item, priority: 0, buyer: Some(BuyerId(42)) };
    let Accepted::WaitingListJoined { entry, .. } = fx.ok(command) else { unreachable!() };
    assert_eq!(
        claim(&mut fx, entry),
        Err(Rejection::WaitingList(WaitingListRejection::NotOffered { entry }))
    );
    fx.ok(Command::ReleaseHold { hold });
    // Even a quota shrunk to nothing and closed keeps the offer's unit.
    fx.ok(Command::ResizeQuota { quota, size: Some(0) });
    fx.ok(Command::CloseQuota { quota });
    let claimed = claim(&mut fx, entry).unwrap();
    let expires_at_ms = fx.state.now_ms + 10 * MINUTE_MS;
    assert_eq!(
        last_events(&fx),
        vec![
            Event::OfferClaimed { entry, hold: claimed },
            Event::HoldPlacedWith {
                hold: claimed,
                event: fx.event,
                lines: vec![Line { item, quantity: 1 }],
                expires_at_ms,
                voucher: None,
                buyer: Some(BuyerId(42)),
            },
        ]
    );
    assert_eq!(position(&fx, entry), EntryPosition::Claimed { hold: claimed });
    assert_eq!(fx.state.buyer_quantity(BuyerId(42), item, fx.time_ms), 1);
    let view = fx.quota_view(quota);
    assert_eq!((view.held, view.blocked), (1, 0));
    fx.checkout(claimed);
    assert_eq!(
        claim(&mut fx, entry),
        Err(Rejection::WaitingList(WaitingListRejection::Claimed { entry, hold: claimed }))
    );
}

#[test]
fn leaving_with_a_live_offer_passes_the_unit_on() {
    let mut fx = Fx::new();
    let (item, _, hold) = sold_out(&mut fx, 1);
    let (first, second) = (join(&mut fx, item, 0), join(&mut fx, item, 0));
    fx.ok(Command::ReleaseHold { hold });
    assert_eq!(fx.ok(Command::LeaveWaitingList { entry: first }), Accepted::WaitingListLeft { entry: first });
    assert_eq!(last_events(&fx), vec![Event::WaitingListLeft { entry: first }, offer(&fx, second)]);
    assert_eq!(position(&fx, first), EntryPosition::Left);
    let left = Rejection::WaitingList(WaitingListRejection::Left { entry: first });
    assert_eq!(fx.rejected(Command::LeaveWaitingList { entry: first }), left);
    // A waiting entry may leave too, and frees nothing.
    let third = join(&mut fx, item, 0);
    fx.ok(Command::LeaveWaitingList { entry: third });
    assert_eq!(last_events(&fx), vec![Event::WaitingListLeft { entry: third }]);
}

#[test]
fn offers_count_in_availability_until_they_lapse() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    fx.sell(&[(item, 1)]);
    let hold = fx.hold(&[(item, 1)]);
    join(&mut fx, item, 0);
    fx.ok(Command::ReleaseHold { hold });
    let view = fx.quota_view(quota);
    assert_eq!((view.paid, view.held, view.blocked, view.remaining), (1, 0, 1, Some(0)));
    assert_eq!(view.state, AvailabilityState::Reserved);
    assert_eq!(fx.item_view(item).remaining, Some(0));
    assert!(matches!(fx.try_hold(&[(item, 1)]), Err(Rejection::SoldOut { .. })));
    fx.advance(OFFER_MS);
    assert_eq!(fx.quota_view(quota).remaining, Some(1), "a lapsed offer counts no more");
    fx.hold(&[(item, 1)]);
}

#[test]
fn an_item_that_does_not_fit_is_skipped_and_other_items_are_still_served() {
    let mut fx = Fx::new();
    let (x, y) = (fx.item("X"), fx.item("Y"));
    fx.quota(Some(1), &[x]);
    fx.quota(Some(1), &[y]);
    fx.hold(&[(x, 1)]);
    let hold_y = fx.hold(&[(y, 1)]);
    let (x1, _x2) = (join(&mut fx, x, 9), join(&mut fx, x, 9));
    let y1 = join(&mut fx, y, 0);
    fx.ok(Command::ReleaseHold { hold: hold_y });
    assert_eq!(last_events(&fx), vec![Event::HoldReleased { hold: hold_y }, offer(&fx, y1)]);
    assert_eq!(position(&fx, x1), EntryPosition::Waiting { position: 1 });
}

#[test]
fn an_item_in_two_quotas_is_offered_only_where_both_have_room() {
    let mut fx = Fx::new();
    let (sat, pass) = (fx.item("Saturday"), fx.item("Weekend pass"));
    let q_sat = fx.quota(Some(1), &[sat, pass]);
    let q_sun = fx.quota(Some(1), &[pass]);
    fx.hold(&[(pass, 1)]);
    let (p, s) = (join(&mut fx, pass, 0), join(&mut fx, sat, 0));
    // Room in Sunday only: the pass does not fit, nor does Saturday.
    fx.ok(Command::ResizeQuota { quota: q_sun, size: Some(2) });
    assert_eq!(last_events(&fx).len(), 1);
    // Room in Saturday too: the pass, first in line, takes it.
    fx.ok(Command::ResizeQuota { quota: q_sat, size: Some(2) });
    assert_eq!(last_events(&fx)[1..], [offer(&fx, p)]);
    assert_eq!(position(&fx, s), EntryPosition::Waiting { position: 1 });
}

#[test]
fn an_events_offer_time_is_configurable_and_bounded() {
    let mut fx = Fx::new();
    let (item, _, hold) = sold_out(&mut fx, 1);
    let event = fx.event;
    let too_long = Command::ConfigureWaitingList { event, offer_ttl_ms: WAITING_LIST_OFFER_TTL_MS_MAX + 1 };
    assert_eq!(fx.rejected(too_long), Rejection::Invalid(InvalidInput::Ttl));
    let set = Command::ConfigureWaitingList { event, offer_ttl_ms: 5 * MINUTE_MS };
    assert_eq!(fx.ok(set), Accepted::WaitingListConfigured { event });
    let entry = join(&mut fx, item, 0);
    fx.ok(Command::ReleaseHold { hold });
    let expires_at_ms = fx.state.now_ms + 5 * MINUTE_MS;
    assert_eq!(position(&fx, entry), EntryPosition::Offered { expires_at_ms });
    assert_eq!(fx.state.waiting_list_settings(event).unwrap().offer_ttl_ms, 5 * MINUTE_MS);
}

#[test]
fn waiting_list_commands_refuse_bad_input_with_typed_reasons_and_change_nothing() {
    let mut fx = Fx::new();
    let (item, _, _) = sold_out(&mut fx, 1);
    let shirt = fx.item("T-shirt");
    let Accepted::ItemCreated { item: small } =
        fx.ok(Command::CreateVariation { item: shirt, name: "S".into(), price_cents: 1 })
    else {
        unreachable!()
    };
    let orphan = fx.item("Orphan");
    let Accepted::EventCreated { event: other } =
        fx.ok(Command::CreateEvent { organizer: OrganizerId(1), slug: "other".into(), name: "Other".into() })
    else {
        unreachable!()
    };
    let before = fx.state.clone();
    let joining = |event, item| Command::JoinWaitingList { event, item, priority: 0, buyer: None };
    let unknown = EntryId(u64::MAX);
    let cases = [
        (joining(EventId(u64::MAX), item), Rejection::NotFound(ObjectRef::Event(EventId(u64::MAX)))),
        (joining(fx.event, ItemId(u64::MAX)), Rejection::NotFound(ObjectRef::Item(ItemId(u64::MAX)))),
        (joining(other, item), Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item })),
        (joining(fx.event, shirt), Rejection::Invalid(InvalidInput::VariationRequired { item: shirt })),
        (joining(fx.event, orphan), Rejection::ItemNotForSale { item: orphan }),
        (
            Command::LeaveWaitingList { entry: unknown },
            Rejection::NotFound(ObjectRef::WaitingListEntry(unknown)),
        ),
        (
            Command::ClaimOffer { entry: unknown, ttl_ms: 1 },
            Rejection::NotFound(ObjectRef::WaitingListEntry(unknown)),
        ),
        (Command::ClaimOffer { entry: unknown, ttl_ms: 0 }, Rejection::Invalid(InvalidInput::Ttl)),
        (
            Command::ClaimOffer { entry: unknown, ttl_ms: HOLD_TTL_MS_MAX + 1 },
            Rejection::Invalid(InvalidInput::Ttl),
        ),
        (
            Command::ConfigureWaitingList { event: fx.event, offer_ttl_ms: 0 },
            Rejection::Invalid(InvalidInput::Ttl),
        ),
    ];
    for (command, rejection) in cases {
        assert_eq!(fx.rejected(command.clone()), rejection, "{command:?}");
        assert_eq!(command.validate().is_err(), matches!(rejection, Rejection::Invalid(InvalidInput::Ttl)));
    }
    // Nothing changed but the request-id table and log time.
    assert!(fx.state.entries().eq(before.entries()));
    assert_eq!(fx.state.waiting_list_settings(fx.event), before.waiting_list_settings(fx.event));
    assert_eq!(fx.state.quotas().collect::<Vec<_>>(), before.quotas().collect::<Vec<_>>());
    // A variation in no quota is not for sale: nobody can wait for it.
    assert_eq!(try_join(&mut fx, small, 0), Err(Rejection::ItemNotForSale { item: small }));
    // An item that entries wait for gets no variations (they could not be served).
    join(&mut fx, item, 0);
    assert_eq!(
        fx.rejected(Command::CreateVariation { item, name: "late".into(), price_cents: 1 }),
        Rejection::Invalid(InvalidInput::Variations { item })
    );
}

#[test]
fn an_events_list_holds_at_most_event_waiting_list_entries_max_open_entries() {
    let mut fx = Fx::new();
    let (item, _, _) = sold_out(&mut fx, 1);
    let mut last = EntryId(0);
    for priority in 0..EVENT_WAITING_LIST_ENTRIES_MAX {
        // Each ahead of all before, so a join's place is cheap to count.
        last = join(&mut fx, item, priority);
    }
    let full = WaitingListRejection::Full { event: fx.event, max: EVENT_WAITING_LIST_ENTRIES_MAX };
    assert_eq!(try_join(&mut fx, item, 0), Err(Rejection::WaitingList(full)));
    fx.ok(Command::LeaveWaitingList { entry: last });
    join(&mut fx, item, 0);
}

#[test]
fn an_entry_is_for_a_hold_its_buyer_may_have_within_the_order_limits() {
    let mut fx = Fx::new();
    let (item, _, hold) = sold_out(&mut fx, 1);
    let limits = |min, buyer| OrderLimits { min_per_order: min, max_per_order: None, max_per_buyer: buyer };
    let join_as = |buyer: Option<u128>| Command::JoinWaitingList {
        event: EventId(2),
        item,
        priority: 0,
        buyer: buyer.map(BuyerId),
    };
    fx.ok(Command::SetOrderLimits { item, limits: limits(Some(2), None) });
    assert_eq!(
        fx.rejected(join_as(Some(1))),
        Rejection::OrderLimit(OrderLimitRejection::BelowMin { item, min: 2 })
    );
    fx.ok(Command::SetOrderLimits { item, limits: limits(None, Some(1)) });
    assert_eq!(
        fx.rejected(join_as(None)),
        Rejection::OrderLimit(OrderLimitRejection::BuyerRequired { item })
    );
    let Accepted::WaitingListJoined { entry, .. } = fx.ok(join_as(Some(1))) else { unreachable!() };
    let Accepted::WaitingListJoined { entry: next, .. } = fx.ok(join_as(Some(2))) else { unreachable!() };
    fx.ok(Command::ReleaseHold { hold });
    // The limit tightened after the join: the claim is refused, the buyer
    // leaves, and the unit passes on.
    fx.ok(Command::SetOrderLimits { item, limits: limits(Some(2), Some(2)) });
    assert_eq!(
        claim(&mut fx, entry),
        Err(Rejection::OrderLimit(OrderLimitRejection::BelowMin { item, min: 2 }))
    );
    fx.ok(Command::LeaveWaitingList { entry });
    assert_eq!(last_events(&fx)[1], offer(&fx, next));
    fx.ok(Command::SetOrderLimits { item, limits: limits(None, Some(1)) });
    claim(&mut fx, next).unwrap();
    assert_eq!(fx.state.buyer_quantity(BuyerId(2), item, fx.time_ms), 1);
}

#[test]
fn a_record_makes_at_most_offers_per_record_max_and_newcomers_stay_behind_the_rest() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(0), &[item]);
    let waiting = WAITING_LIST_OFFERS_PER_RECORD_MAX as u32 + 76;
    let entries: Vec<EntryId> = (0..waiting).map(|i| join(&mut fx, item, u32::MAX - i)).collect();
    fx.ok(Command::ResizeQuota { quota, size: Some(u64::from(waiting) + 5) });
    let offers = last_events(&fx).iter().filter(|e| matches!(e, Event::OfferMade { .. })).count();
    assert_eq!(offers, WAITING_LIST_OFFERS_PER_RECORD_MAX);
    let next = entries[WAITING_LIST_OFFERS_PER_RECORD_MAX];
    assert_eq!(position(&fx, next), EntryPosition::Waiting { position: 1 });
    // The 76 offers still owed come before a newcomer: 5 tickets are left, not 81.
    assert!(matches!(fx.try_hold(&[(item, 6)]), Err(Rejection::SoldOut { remaining: 5, .. })));
    fx.hold(&[(item, 5)]);
    let offers = last_events(&fx).iter().filter(|e| matches!(e, Event::OfferMade { .. })).count();
    assert_eq!(offers, 76, "the newcomer's record makes the rest");
    assert!(fx.state.waiting_list(fx.event).is_empty());
    assert_eq!(fx.quota_view(quota).remaining, Some(0));
}
