//! Scenario tests for assigned seating, one per rule, named after the
//! behaviour. Every fixture also checks, when it drops, that replaying its
//! event log and round-tripping a snapshot rebuild the same state
//! (`support::Fx`).

mod support;

use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::*;
use support::{Fx, MINUTE_MS};

/// Add a row of `n` seats labelled 1..=n, all of `item`.
fn row(fx: &mut Fx, zone: &str, name: &str, n: usize, item: ItemId) -> Vec<SeatId> {
    let seats = (1..=n).map(|i| SeatSpec { label: i.to_string(), item }).collect();
    match fx.ok(Command::AddSeatRow { event: fx.event, zone: zone.into(), row: name.into(), seats }) {
        Accepted::SeatRowAdded { first_seat, count } => {
            assert_eq!(count as usize, n);
            (0..n as u64).map(|i| SeatId(first_seat.0 + i)).collect()
        }
        other => panic!("{other:?}"),
    }
}

fn try_seated(fx: &mut Fx, seats: SeatChoice) -> Result<(HoldId, Vec<SeatId>), Rejection> {
    let command = Command::PlaceSeatedHold {
        event: fx.event,
        seats,
        ttl_ms: 30 * MINUTE_MS,
        voucher: None,
        buyer: None,
    };
    match fx.run(command) {
        Outcome::Accepted(Accepted::SeatedHoldLive { hold, seats, .. }) => Ok((hold, seats)),
        Outcome::Accepted(other) => panic!("{other:?}"),
        Outcome::Rejected(rejection) => Err(rejection),
    }
}

fn hold_seats(fx: &mut Fx, seats: &[SeatId]) -> Result<HoldId, Rejection> {
    try_seated(fx, SeatChoice::Named(seats.to_vec())).map(|(hold, _)| hold)
}

fn adjacent(fx: &mut Fx, zone: &str, count: u32) -> Result<Vec<SeatId>, Rejection> {
    try_seated(fx, SeatChoice::Adjacent { zone: zone.into(), count, item: None }).map(|(_, seats)| seats)
}

fn block(fx: &mut Fx, seats: &[SeatId], blocked: bool) -> Outcome {
    fx.run(Command::SetSeatsBlocked { event: fx.event, seats: seats.to_vec(), blocked })
}

fn status(fx: &Fx, seat: SeatId) -> SeatStatus {
    fx.state.seat_status(seat, fx.time_ms).expect("seat exists")
}

/// An item in an unlimited quota.
fn seat_item(fx: &mut Fx) -> ItemId {
    let item = fx.item("Seat");
    fx.quota(None, &[item]);
    item
}

#[test]
fn a_seat_cannot_be_held_twice() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 4, item);
    let hold = hold_seats(&mut fx, &seats[1..3]).unwrap();
    assert_eq!(
        hold_seats(&mut fx, &[seats[2]]),
        Err(Rejection::Seat(SeatRejection::Taken { seat: seats[2] }))
    );
    assert_eq!(
        hold_seats(&mut fx, &[seats[0], seats[1]]),
        Err(Rejection::Seat(SeatRejection::Taken { seat: seats[1] })),
        "all or nothing: a free seat beside a taken one is not held either"
    );
    assert_eq!(status(&fx, seats[0]), SeatStatus::Free);
    assert_eq!(fx.state.seats_of_hold(hold), &seats[1..3]);
    // Not even by the same buyer twice in one hold.
    assert_eq!(hold_seats(&mut fx, &[seats[3], seats[3]]), Err(Rejection::Invalid(InvalidInput::Seats)));
}

#[test]
fn a_lapsed_holds_seat_is_free_again_before_any_expire_record() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 2, item);
    let hold = hold_seats(&mut fx, &[seats[0]]).unwrap();
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(hold));
    fx.advance(30 * MINUTE_MS);
    assert!(fx.state.has_lapsed(fx.time_ms), "no Expire has run");
    assert_eq!(status(&fx, seats[0]), SeatStatus::Free);
    let again = hold_seats(&mut fx, &[seats[0]]).unwrap();
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(again));
    // The late Expire of the first hold leaves the second one's seat alone.
    assert!(fx.ok(Command::Expire) == Accepted::Expired { holds: 1, orders: 0, more: false });
    assert_eq!(fx.state.hold(hold).unwrap().status, HoldStatus::Expired);
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(again));
}

#[test]
fn best_available_picks_the_centre_run_of_the_front_row_and_is_deterministic() {
    let build = || {
        let mut fx = Fx::new();
        let item = seat_item(&mut fx);
        let front = row(&mut fx, "Stalls", "A", 10, item);
        let back = row(&mut fx, "Stalls", "B", 10, item);
        row(&mut fx, "Balcony", "A", 10, item);
        (fx, front, back)
    };
    let (mut fx, front, back) = build();
    // Ten seats, two wanted: positions 4 and 5 sit on the centre.
    assert_eq!(adjacent(&mut fx, "Stalls", 2).unwrap(), front[4..6]);
    // Three wanted, 4 and 5 gone: runs 1-3 and 6-8 both have their centre
    // 2.5 from the row's (4.5); ties go to the lower position.
    assert_eq!(adjacent(&mut fx, "Stalls", 3).unwrap(), front[1..4]);
    assert_eq!(adjacent(&mut fx, "Stalls", 3).unwrap(), front[6..9]);
    // The front row has runs of 1 left (0 and 9): four seats go to row B.
    assert_eq!(adjacent(&mut fx, "Stalls", 4).unwrap(), back[3..7]);
    assert_eq!(adjacent(&mut fx, "Stalls", 1).unwrap(), front[0..1]);
    // Another zone is another plan; an unknown zone has no seats.
    assert_eq!(
        adjacent(&mut fx, "Circle", 1),
        Err(Rejection::Seat(SeatRejection::NoAdjacentSeats { zone: "Circle".into(), count: 1 }))
    );
    assert_eq!(
        adjacent(&mut fx, "Stalls", 11),
        Err(Rejection::Seat(SeatRejection::NoAdjacentSeats { zone: "Stalls".into(), count: 11 }))
    );
    // The same commands on another replica pick the same seats.
    let (mut other, ..) = build();
    for (count, want) in [(2, &front[4..6]), (3, &front[1..4]), (3, &front[6..9]), (4, &back[3..7])] {
        assert_eq!(adjacent(&mut other, "Stalls", count).unwrap(), want);
    }
}

#[test]
fn best_available_skips_blocked_and_taken_seats_and_can_ask_for_an_item() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let vip = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 6, item);
    assert!(block(&mut fx, &[seats[2]], true).is_accepted());
    hold_seats(&mut fx, &[seats[4]]).unwrap();
    // Free runs of two: 0-1 only (2 blocked, 4 taken, 3 and 5 alone).
    assert_eq!(adjacent(&mut fx, "Stalls", 2).unwrap(), seats[0..2]);
    assert_eq!(adjacent(&mut fx, "Stalls", 2).map_err(|_| ()), Err(()));
    // Single seats: 3 is closer to the centre (2.5) than 5.
    assert_eq!(adjacent(&mut fx, "Stalls", 1).unwrap(), seats[3..4]);
    // Only the VIP row has VIP seats, whatever the front row has free.
    let vips = row(&mut fx, "Stalls", "B", 3, vip);
    let choice = SeatChoice::Adjacent { zone: "Stalls".into(), count: 1, item: Some(vip) };
    assert_eq!(try_seated(&mut fx, choice).unwrap().1, vips[1..2]);
}

#[test]
fn blocked_seats_cannot_be_held_and_taken_seats_cannot_be_blocked() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 3, item);
    assert_eq!(
        block(&mut fx, &[seats[0]], true),
        Outcome::Accepted(Accepted::SeatsBlocked { event: fx.event, count: 1 })
    );
    assert_eq!(
        hold_seats(&mut fx, &[seats[0]]),
        Err(Rejection::Seat(SeatRejection::Blocked { seat: seats[0] }))
    );
    assert_eq!(status(&fx, seats[0]), SeatStatus::Blocked);
    let hold = hold_seats(&mut fx, &[seats[1]]).unwrap();
    assert_eq!(
        block(&mut fx, &[seats[2], seats[1]], true),
        Outcome::Rejected(Rejection::Seat(SeatRejection::Taken { seat: seats[1] }))
    );
    assert_eq!(status(&fx, seats[2]), SeatStatus::Free, "a refused block changes nothing");
    // Sold seats cannot be blocked either; freed ones can.
    let order = fx.checkout(hold);
    assert_eq!(
        block(&mut fx, &[seats[1]], true),
        Outcome::Rejected(Rejection::Seat(SeatRejection::Taken { seat: seats[1] }))
    );
    fx.ok(Command::CancelOrder { order });
    assert!(block(&mut fx, &[seats[1]], true).is_accepted());
    // Unblocking makes a seat holdable again.
    assert!(block(&mut fx, &[seats[0]], false).is_accepted());
    hold_seats(&mut fx, &[seats[0]]).unwrap();
    // Bad lists and unknown seats change nothing.
    assert_eq!(block(&mut fx, &[], true), Outcome::Rejected(Rejection::Invalid(InvalidInput::Seats)));
    let too_many = vec![seats[2]; SEATS_PER_COMMAND_MAX + 1];
    assert_eq!(block(&mut fx, &too_many, true), Outcome::Rejected(Rejection::Invalid(InvalidInput::Seats)));
    assert_eq!(
        block(&mut fx, &[SeatId(999_999)], true),
        Outcome::Rejected(Rejection::NotFound(ObjectRef::Seat(SeatId(999_999))))
    );
}

#[test]
fn a_seat_counts_against_its_items_quota_and_never_oversells_it() {
    let mut fx = Fx::new();
    let item = fx.item("Seat");
    let quota = fx.quota(Some(3), &[item]);
    let seats = row(&mut fx, "Stalls", "A", 5, item);
    hold_seats(&mut fx, &seats[0..2]).unwrap();
    // A standing ticket of the same item takes the last one.
    fx.hold(&[(item, 1)]);
    assert_eq!(fx.counts(quota), (0, 0, 3, Some(0)));
    assert!(matches!(
        hold_seats(&mut fx, &[seats[3]]),
        Err(Rejection::SoldOut { item: i, quota: q, remaining: 0, .. }) if i == item && q == quota
    ));
    assert!(matches!(adjacent(&mut fx, "Stalls", 1), Err(Rejection::SoldOut { .. })));
    assert_eq!(status(&fx, seats[3]), SeatStatus::Free, "a refused hold takes no seat");
    assert_eq!(fx.counts(quota), (0, 0, 3, Some(0)));
}

#[test]
fn a_seated_hold_redeems_vouchers_and_keeps_order_limits_like_any_hold() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 6, item);
    let limits = OrderLimits { min_per_order: None, max_per_order: Some(2), max_per_buyer: None };
    fx.ok(Command::SetOrderLimits { item, limits });
    assert_eq!(
        adjacent(&mut fx, "Stalls", 3),
        Err(Rejection::OrderLimit(OrderLimitRejection::AboveMax { item, max: 2 }))
    );
    let Accepted::VoucherCreated { voucher, code } = fx.ok(Command::CreateVoucher {
        event: fx.event,
        scope: VoucherScope::Item(item),
        max_redemptions: 1,
        valid_from_ms: fx.state.now_ms,
        valid_until_ms: fx.state.now_ms + 60 * MINUTE_MS,
        blocks_quota: false,
    }) else {
        unreachable!()
    };
    let event = fx.event;
    let with = |seats: Vec<SeatId>| Command::PlaceSeatedHold {
        event,
        seats: SeatChoice::Named(seats),
        ttl_ms: 30 * MINUTE_MS,
        voucher: Some(code.clone()),
        buyer: None,
    };
    assert_eq!(
        fx.rejected(with(seats[0..2].to_vec())),
        Rejection::Voucher(VoucherRejection::Exhausted { voucher, remaining: 1 })
    );
    assert!(matches!(fx.ok(with(vec![seats[0]])), Accepted::SeatedHoldLive { .. }));
    assert_eq!(fx.state.voucher(voucher).unwrap().redeemed(fx.time_ms), 1);
}

#[test]
fn checkout_carries_the_seats_to_the_order_and_cancel_or_expiry_frees_them() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let other = seat_item(&mut fx);
    let mut specs: Vec<SeatSpec> =
        ["1", "2", "3"].iter().map(|l| SeatSpec { label: (*l).into(), item }).collect();
    specs[1].item = other;
    let Accepted::SeatRowAdded { first_seat, .. } =
        fx.ok(Command::AddSeatRow { event: fx.event, zone: "Stalls".into(), row: "A".into(), seats: specs })
    else {
        unreachable!()
    };
    let seats: Vec<SeatId> = (0..3).map(|i| SeatId(first_seat.0 + i)).collect();
    // Lines follow the seats: one ticket per seat, merged per item in the
    // order items first appear; the seats are listed in ticket order.
    let (hold, held) = try_seated(&mut fx, SeatChoice::Named(seats.clone())).unwrap();
    assert_eq!(held, vec![seats[0], seats[2], seats[1]]);
    let lines = &fx.state.hold(hold).unwrap().lines;
    assert_eq!(lines, &vec![Line { item, quantity: 2 }, Line { item: other, quantity: 1 }]);
    let (order, tickets) = fx.try_checkout(hold).unwrap();
    assert_eq!(fx.state.seats_of_order(order), held);
    for ticket in &tickets {
        let seat = fx.state.ticket_seat(order, ticket.position).unwrap();
        assert_eq!(fx.state.seat(seat).unwrap().item, ticket.item, "a ticket is for its seat's item");
    }
    assert!(seats.iter().all(|seat| status(&fx, *seat) == SeatStatus::Ordered(order)));
    fx.ok(Command::Pay { order });
    assert!(seats.iter().all(|seat| status(&fx, *seat) == SeatStatus::Paid(order)));
    fx.ok(Command::CancelOrder { order });
    assert!(seats.iter().all(|seat| status(&fx, *seat) == SeatStatus::Free));
    // An unpaid order's seats are free once its deadline passes, before any
    // Expire; and the Expire does not take them from their next holder.
    let hold = hold_seats(&mut fx, &seats).unwrap();
    let late = fx.checkout(hold);
    fx.advance(60 * MINUTE_MS);
    assert_eq!(status(&fx, seats[0]), SeatStatus::Free);
    let next = hold_seats(&mut fx, &[seats[0]]).unwrap();
    fx.ok(Command::Expire);
    assert_eq!(fx.state.order(late).unwrap().status, OrderStatus::Expired);
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(next));
    assert_eq!(status(&fx, seats[1]), SeatStatus::Free);
    // Released: free at once.
    fx.ok(Command::ReleaseHold { hold: next });
    assert_eq!(status(&fx, seats[0]), SeatStatus::Free);
}

#[test]
fn a_lapsed_holds_checkout_fails_cleanly_if_its_seat_was_taken_by_someone_else() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 3, item);
    let first = hold_seats(&mut fx, &seats[0..2]).unwrap();
    let alone = hold_seats(&mut fx, &[seats[2]]).unwrap();
    fx.advance(31 * MINUTE_MS);
    let second = hold_seats(&mut fx, &[seats[1]]).unwrap();
    let before = fx.state.clone();
    assert_eq!(fx.try_checkout(first), Err(Rejection::Seat(SeatRejection::Taken { seat: seats[1] })));
    assert_eq!(fx.state.seat(seats[0]), before.seat(seats[0]), "nothing changed");
    assert_eq!(status(&fx, seats[1]), SeatStatus::Held(second));
    // A lapsed hold whose seat nobody took checks out, even after Expire.
    fx.ok(Command::Expire);
    let order = fx.checkout(alone);
    assert_eq!(status(&fx, seats[2]), SeatStatus::Ordered(order));
    // A seat blocked since is refused too.
    fx.ok(Command::ReleaseHold { hold: second });
    let third = hold_seats(&mut fx, &[seats[1]]).unwrap();
    fx.advance(31 * MINUTE_MS);
    assert!(block(&mut fx, &[seats[1]], true).is_accepted());
    assert_eq!(fx.try_checkout(third), Err(Rejection::Seat(SeatRejection::Blocked { seat: seats[1] })));
}

#[test]
fn a_late_payment_whose_seat_was_taken_is_recorded_and_owed_back() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 2, item);
    let hold = hold_seats(&mut fx, &[seats[0]]).unwrap();
    let order = fx.checkout(hold);
    let hold = hold_seats(&mut fx, &[seats[1]]).unwrap();
    let free_order = fx.checkout(hold);
    fx.advance(61 * MINUTE_MS);
    let taker = hold_seats(&mut fx, &[seats[0]]).unwrap();
    let Accepted::PaymentRefundOwed { .. } = fx.ok(Command::Pay { order }) else { panic!("refund owed") };
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(taker));
    // The other late payment finds its seat free and takes it again.
    assert_eq!(fx.ok(Command::Pay { order: free_order }), Accepted::OrderPaid { order: free_order });
    assert_eq!(status(&fx, seats[1]), SeatStatus::Paid(free_order));
}

#[test]
fn a_seated_hold_cannot_gain_or_lose_lines() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 2, item);
    let hold = hold_seats(&mut fx, &seats).unwrap();
    let lines = vec![Line { item, quantity: 1 }];
    let refused = Rejection::Invalid(InvalidInput::SeatedHold { hold });
    assert_eq!(fx.rejected(Command::AddToHold { hold, lines: lines.clone() }), refused);
    assert_eq!(fx.rejected(Command::RemoveFromHold { hold, lines }), refused);
    // Extending keeps its seats as long as it lives.
    fx.ok(Command::ExtendHold { hold, ttl_ms: 60 * MINUTE_MS });
    fx.advance(45 * MINUTE_MS);
    assert_eq!(status(&fx, seats[0]), SeatStatus::Held(hold));
}

#[test]
fn the_door_shows_the_seat_of_a_ticket() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let seats = row(&mut fx, "Stalls", "A", 2, item);
    let hold = hold_seats(&mut fx, &[seats[1]]).unwrap();
    let (order, tickets) = fx.try_checkout(hold).unwrap();
    fx.ok(Command::Pay { order });
    let Accepted::CheckinListCreated { list } = fx.ok(Command::CreateCheckinList {
        event: fx.event,
        name: "Door".into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: false,
    }) else {
        unreachable!()
    };
    let scan = Command::CheckIn {
        list,
        secret: tickets[0].secret.clone(),
        nonce: Nonce(1),
        direction: Direction::Entry,
    };
    let seated = Accepted::SeatCheckedIn { order, position: 0, direction: Direction::Entry, seat: seats[1] };
    assert_eq!(fx.ok(scan.clone()), seated);
    // The same scan again (a new request id, the same nonce) repeats it.
    assert_eq!(fx.ok(scan), seated);
    let place = fx.state.seat_row(seats[1]).unwrap();
    assert_eq!((place.zone.as_str(), place.name.as_str()), ("Stalls", "A"));
    assert_eq!(fx.state.seat(seats[1]).unwrap().label, "2");
    // A ticket without a seat is answered as before.
    let (plain, plain_tickets) = fx.sell(&[(item, 1)]);
    let scan = Command::CheckIn {
        list,
        secret: plain_tickets[0].secret.clone(),
        nonce: Nonce(2),
        direction: Direction::Entry,
    };
    assert_eq!(fx.ok(scan), Accepted::CheckedIn { order: plain, position: 0, direction: Direction::Entry });
}

#[test]
fn the_seat_map_shows_every_seats_state() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let front = row(&mut fx, "Stalls", "A", 5, item);
    let balcony = row(&mut fx, "Balcony", "A", 1, item);
    let back = row(&mut fx, "Stalls", "B", 1, item);
    block(&mut fx, &[front[0]], true);
    let held = hold_seats(&mut fx, &[front[1]]).unwrap();
    let hold = hold_seats(&mut fx, &[front[2]]).unwrap();
    let ordered = fx.checkout(hold);
    let hold = hold_seats(&mut fx, &[front[3]]).unwrap();
    let paid = fx.checkout(hold);
    fx.ok(Command::Pay { order: paid });
    let map = fx.state.seat_map(fx.event, fx.time_ms);
    let zones: Vec<(&str, Vec<&str>)> =
        map.iter().map(|z| (z.zone.as_str(), z.rows.iter().map(|r| r.row.as_str()).collect())).collect();
    assert_eq!(zones, vec![("Stalls", vec!["A", "B"]), ("Balcony", vec!["A"])]);
    let statuses: Vec<SeatStatus> = map[0].rows[0].seats.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        vec![
            SeatStatus::Blocked,
            SeatStatus::Held(held),
            SeatStatus::Ordered(ordered),
            SeatStatus::Paid(paid),
            SeatStatus::Free
        ]
    );
    assert_eq!(map[0].rows[1].seats[0].seat, back[0]);
    assert_eq!(map[1].rows[0].seats[0].seat, balcony[0]);
    assert_eq!(map[0].rows[0].seats[4].label, "5");
    // Later, the hold and the unpaid order have lapsed: free, with no Expire.
    let later = fx.time_ms + 61 * MINUTE_MS;
    let map = fx.state.seat_map(fx.event, later);
    let statuses: Vec<SeatStatus> = map[0].rows[0].seats.iter().map(|s| s.status).collect();
    assert_eq!(statuses[1..4], [SeatStatus::Free, SeatStatus::Free, SeatStatus::Paid(paid)]);
    assert!(fx.state.seat_map(EventId(u64::MAX), later).is_empty());
}

#[test]
fn seat_rows_and_seat_choices_are_checked_and_bad_ones_change_nothing() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    row(&mut fx, "Stalls", "A", 2, item);
    let add = |zone: &str, name: &str, labels: &[&str], item: ItemId| Command::AddSeatRow {
        event: EventId(2),
        zone: zone.into(),
        row: name.into(),
        seats: labels.iter().map(|l| SeatSpec { label: (*l).into(), item }).collect(),
    };
    let invalid = |reason| Rejection::Invalid(reason);
    let before = fx.state.clone();
    assert_eq!(fx.rejected(add("Stalls", "A", &["1"], item)), invalid(InvalidInput::SeatRowExists));
    assert_eq!(fx.rejected(add("Stalls", "B", &["1", "1"], item)), invalid(InvalidInput::SeatRow));
    assert_eq!(fx.rejected(add("Stalls", "B", &[], item)), invalid(InvalidInput::SeatRow));
    assert_eq!(fx.rejected(add(" ", "B", &["1"], item)), invalid(InvalidInput::SeatRow));
    let long_zone = "z".repeat(SEAT_ZONE_BYTES_MAX + 1);
    assert_eq!(fx.rejected(add(&long_zone, "B", &["1"], item)), invalid(InvalidInput::SeatRow));
    let long_row = "r".repeat(SEAT_ROW_BYTES_MAX + 1);
    assert_eq!(fx.rejected(add("Stalls", &long_row, &["1"], item)), invalid(InvalidInput::SeatRow));
    let long_label = "l".repeat(SEAT_LABEL_BYTES_MAX + 1);
    assert_eq!(fx.rejected(add("Stalls", "B", &[&long_label], item)), invalid(InvalidInput::SeatRow));
    let labels: Vec<String> = (0..=SEAT_ROW_SEATS_MAX).map(|i| i.to_string()).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    assert_eq!(fx.rejected(add("Stalls", "B", &labels, item)), invalid(InvalidInput::SeatRow));
    assert_eq!(
        fx.rejected(add("Stalls", "B", &["1"], ItemId(999))),
        Rejection::NotFound(ObjectRef::Item(ItemId(999)))
    );
    // A row may not be of an item that has variations (a seat is one ticket
    // of one thing), and an item with seats gets no variations.
    let shirt = fx.item("Shirt");
    fx.ok(Command::CreateVariation { item: shirt, name: "S".into(), price_cents: 1 });
    assert_eq!(
        fx.rejected(add("Stalls", "B", &["1"], shirt)),
        invalid(InvalidInput::VariationRequired { item: shirt })
    );
    assert_eq!(
        fx.rejected(Command::CreateVariation { item, name: "S".into(), price_cents: 1 }),
        invalid(InvalidInput::Variations { item })
    );
    // Seats of another event.
    let Accepted::EventCreated { event: other } =
        fx.ok(Command::CreateEvent { organizer: OrganizerId(1), slug: "other".into(), name: "Other".into() })
    else {
        unreachable!()
    };
    let other_item = match fx.ok(Command::CreateItem { event: other, name: "x".into(), price_cents: 1 }) {
        Accepted::ItemCreated { item } => item,
        o => panic!("{o:?}"),
    };
    assert_eq!(
        fx.rejected(add("Stalls", "B", &["1"], other_item)),
        invalid(InvalidInput::ItemOfOtherEvent { item: other_item })
    );
    let seats: Vec<SeatId> = fx.state.seat_plan(fx.event).unwrap().rows[0].seats().collect();
    let foreign = Command::PlaceSeatedHold {
        event: other,
        seats: SeatChoice::Named(vec![seats[0]]),
        ttl_ms: MINUTE_MS,
        voucher: None,
        buyer: None,
    };
    assert_eq!(fx.rejected(foreign), invalid(InvalidInput::SeatOfOtherEvent { seat: seats[0] }));
    assert_eq!(
        hold_seats(&mut fx, &[SeatId(999_999)]),
        Err(Rejection::NotFound(ObjectRef::Seat(SeatId(999_999))))
    );
    let many =
        SeatChoice::Adjacent { zone: "Stalls".into(), count: HOLD_QUANTITY_MAX as u32 + 1, item: None };
    assert_eq!(try_seated(&mut fx, many), Err(invalid(InvalidInput::Seats)));
    let none = SeatChoice::Adjacent { zone: "Stalls".into(), count: 0, item: None };
    assert_eq!(try_seated(&mut fx, none), Err(invalid(InvalidInput::Seats)));
    assert_eq!(fx.state.seat_plan(fx.event), before.seat_plan(fx.event));
    assert_eq!(fx.state.holds().count(), 0);
}

#[test]
fn an_event_has_at_most_event_seats_max_seats() {
    let mut fx = Fx::new();
    let item = seat_item(&mut fx);
    let rows = EVENT_SEATS_MAX as usize / SEAT_ROW_SEATS_MAX;
    for r in 0..rows {
        row(&mut fx, "Arena", &r.to_string(), SEAT_ROW_SEATS_MAX, item);
    }
    assert_eq!(fx.state.seat_plan(fx.event).unwrap().seats, EVENT_SEATS_MAX);
    let one_more = Command::AddSeatRow {
        event: fx.event,
        zone: "Arena".into(),
        row: "last".into(),
        seats: vec![SeatSpec { label: "1".into(), item }],
    };
    assert_eq!(fx.rejected(one_more), Rejection::Invalid(InvalidInput::EventSeats));
}
