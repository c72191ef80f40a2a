//! Round trips (domain to wire bytes and back) for every command and outcome
//! variant, typed errors for bad input, and fuzz-style property tests: no
//! bytes make decoding plus conversion panic.

use super::*;
use boxoffice_engine::domain::{self, Envelope, Event, State};
use proptest::prelude::*;
use prost::Message;
use std::collections::BTreeSet;

/// Encode to protobuf bytes and decode again, as the wire would.
fn through_bytes<M: Message + Default>(message: &M) -> M {
    M::decode(message.encode_to_vec().as_slice()).expect("own encoding decodes")
}

/// One command of every variant, with edge values where the wire differs
/// from the domain (unlimited sizes, 128-bit nonces, both directions).
fn sample_commands() -> Vec<Command> {
    let lines = vec![Line { item: ItemId(3), quantity: 1 }, Line { item: ItemId(8), quantity: u32::MAX }];
    vec![
        Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [7; 32] },
        Command::CreateEvent { organizer: OrganizerId(1), slug: "fest".into(), name: "Fest".into() },
        Command::CreateItem { event: EventId(2), name: "Weekend".into(), price_cents: 12_000 },
        Command::CreateItem { event: EventId(2), name: String::new(), price_cents: 0 },
        Command::CreateQuota {
            event: EventId(2),
            name: "Sat".into(),
            size: Some(5_000),
            items: vec![ItemId(3), ItemId(8)],
            close_when_sold_out: true,
        },
        Command::CreateQuota {
            event: EventId(2),
            name: "Unlimited".into(),
            size: None,
            items: vec![],
            close_when_sold_out: false,
        },
        Command::CreateQuota {
            event: EventId(2),
            name: "Zero".into(),
            size: Some(0),
            items: vec![ItemId(u64::MAX)],
            close_when_sold_out: false,
        },
        Command::ResizeQuota { quota: QuotaId(4), size: Some(10) },
        Command::ResizeQuota { quota: QuotaId(4), size: None },
        Command::CloseQuota { quota: QuotaId(4) },
        Command::ReopenQuota { quota: QuotaId(4) },
        Command::PlaceHold { event: EventId(2), lines: lines.clone(), ttl_ms: 1_800_000 },
        Command::PlaceHold { event: EventId(2), lines: vec![], ttl_ms: 0 },
        Command::AddToHold { hold: HoldId(5), lines: vec![Line { item: ItemId(3), quantity: 0 }] },
        Command::ExtendHold { hold: HoldId(5), ttl_ms: 600_000 },
        Command::ReleaseHold { hold: HoldId(5) },
        Command::Checkout { hold: HoldId(5), payment_ttl_ms: 86_400_000 },
        Command::Pay { order: OrderId(6) },
        Command::CancelOrder { order: OrderId(6) },
        Command::CreateCheckinList {
            event: EventId(2),
            name: "Door".into(),
            allow_multiple_entries: true,
            allow_entry_after_exit: false,
        },
        Command::CheckIn {
            list: CheckinListId(7),
            secret: "00112233445566778899aabbccddeeff".into(),
            nonce: Nonce(77),
            direction: Direction::Entry,
        },
        Command::CheckIn {
            list: CheckinListId(7),
            secret: String::new(),
            nonce: Nonce(u128::MAX),
            direction: Direction::Exit,
        },
        Command::Expire,
        Command::RemoveFromHold { hold: HoldId(5), lines: lines.clone() },
        Command::RemoveFromHold { hold: HoldId(5), lines: vec![] },
        Command::CheckoutWithContact {
            hold: HoldId(5),
            payment_ttl_ms: 86_400_000,
            name: "Ada Lovelace".into(),
            email: "ada@example.org".into(),
        },
        Command::CheckoutWithContact {
            hold: HoldId(5),
            payment_ttl_ms: 0,
            name: String::new(),
            email: "é".into(),
        },
        Command::ConfigureWaitingRoom {
            event: EventId(2),
            admit_per_minute: 600,
            arrivals_per_second_max: 50,
            in_flight_max: 2_000,
            dry_run: true,
        },
        Command::ConfigureWaitingRoom {
            event: EventId(2),
            admit_per_minute: 0,
            arrivals_per_second_max: u32::MAX,
            in_flight_max: 0,
            dry_run: false,
        },
        Command::JoinWaitingRoom { event: EventId(2) },
        Command::CreateVariation { item: ItemId(3), name: "Student".into(), price_cents: 2_500 },
        Command::SetOrderLimits {
            item: ItemId(3),
            limits: domain::OrderLimits {
                min_per_order: Some(2),
                max_per_order: None,
                max_per_buyer: Some(u32::MAX),
            },
        },
        Command::SetOrderLimits { item: ItemId(3), limits: domain::OrderLimits::default() },
        Command::CreateVoucher {
            event: EventId(2),
            scope: domain::VoucherScope::Item(ItemId(9)),
            max_redemptions: 20,
            valid_from_ms: 1_800_000_000_000,
            valid_until_ms: u64::MAX,
            blocks_quota: true,
        },
        Command::CreateVoucher {
            event: EventId(2),
            scope: domain::VoucherScope::Quota(QuotaId(4)),
            max_redemptions: 0,
            valid_from_ms: 0,
            valid_until_ms: 0,
            blocks_quota: false,
        },
        Command::PlaceHoldWith {
            event: EventId(2),
            lines: lines.clone(),
            ttl_ms: 600_000,
            voucher: Some("0123456789ABCDEF".into()),
            buyer: Some(domain::BuyerId(u128::MAX)),
        },
        Command::PlaceHoldWith {
            event: EventId(2),
            lines: vec![],
            ttl_ms: 0,
            voucher: Some(String::new()),
            buyer: None,
        },
        Command::PlaceHoldWith {
            event: EventId(2),
            lines,
            ttl_ms: 1,
            voucher: None,
            buyer: Some(domain::BuyerId(0)),
        },
        Command::AddSeatRow {
            event: EventId(2),
            zone: "Stalls".into(),
            row: "A".into(),
            seats: vec![
                domain::SeatSpec { label: "1".into(), item: ItemId(3) },
                domain::SeatSpec { label: "2a".into(), item: ItemId(u64::MAX) },
            ],
        },
        Command::AddSeatRow { event: EventId(2), zone: String::new(), row: String::new(), seats: vec![] },
        Command::SetSeatsBlocked {
            event: EventId(2),
            seats: vec![SeatId(11), SeatId(u64::MAX)],
            blocked: true,
        },
        Command::SetSeatsBlocked { event: EventId(2), seats: vec![], blocked: false },
        Command::PlaceSeatedHold {
            event: EventId(2),
            seats: SeatChoice::Named(vec![SeatId(11), SeatId(12)]),
            ttl_ms: 600_000,
            voucher: Some("0123456789ABCDEF".into()),
            buyer: Some(domain::BuyerId(u128::MAX)),
        },
        Command::PlaceSeatedHold {
            event: EventId(2),
            seats: SeatChoice::Adjacent { zone: "Balcony".into(), count: u32::MAX, item: Some(ItemId(3)) },
            ttl_ms: 0,
            voucher: None,
            buyer: None,
        },
        Command::PlaceSeatedHold {
            event: EventId(2),
            seats: SeatChoice::Adjacent { zone: String::new(), count: 0, item: None },
            ttl_ms: 1,
            voucher: None,
            buyer: None,
        },
        Command::PlaceSeatedHold {
            event: EventId(2),
            seats: SeatChoice::Named(vec![]),
            ttl_ms: 1,
            voucher: None,
            buyer: None,
        },
        Command::JoinWaitingList { event: EventId(2), item: ItemId(3), priority: 0, buyer: None },
        Command::JoinWaitingList {
            event: EventId(u64::MAX),
            item: ItemId(u64::MAX),
            priority: u32::MAX,
            buyer: Some(domain::BuyerId(u128::MAX)),
        },
        Command::LeaveWaitingList { entry: EntryId(0) },
        Command::LeaveWaitingList { entry: EntryId(u64::MAX) },
        Command::ClaimOffer { entry: EntryId(12), ttl_ms: 0 },
        Command::ClaimOffer { entry: EntryId(12), ttl_ms: i64::MAX as u64 },
        Command::ConfigureWaitingList { event: EventId(2), offer_ttl_ms: 1 },
        Command::ConfigureWaitingList { event: EventId(2), offer_ttl_ms: i64::MAX as u64 },
    ]
}

/// One outcome of every accepted and rejected variant, every enum value
/// inside them included.
fn sample_outcomes() -> Vec<Outcome> {
    let (org, ev, item, quota) = (OrganizerId(1), EventId(2), ItemId(3), QuotaId(4));
    let (hold, order, list) = (HoldId(5), OrderId(6), CheckinListId(7));
    let ticket = Ticket { position: 0, item, secret: "00112233445566778899aabbccddeeff".into() };
    let accepted = vec![
        Accepted::OrganizerCreated { organizer: org },
        Accepted::EventCreated { event: ev },
        Accepted::ItemCreated { item },
        Accepted::QuotaCreated { quota },
        Accepted::QuotaUpdated { quota },
        Accepted::HoldLive { hold, expires_at_ms: 1_700_000_000_000 },
        Accepted::HoldReleased { hold },
        Accepted::OrderPlaced {
            order,
            payment_deadline_ms: 2,
            total_cents: u64::MAX,
            tickets: vec![ticket.clone(), Ticket { position: u32::MAX, ..ticket }],
        },
        Accepted::OrderPlaced { order, payment_deadline_ms: 0, total_cents: 0, tickets: vec![] },
        Accepted::OrderPaid { order },
        Accepted::PaymentRefundOwed { order, amount_cents: 4 },
        Accepted::OrderCanceled { order, refund_owed_cents: 5 },
        Accepted::CheckinListCreated { list },
        Accepted::CheckedIn { order, position: 1, direction: Direction::Entry },
        Accepted::CheckedIn { order, position: 2, direction: Direction::Exit },
        Accepted::Expired { holds: 6, orders: 7, more: true },
        Accepted::Expired { holds: 0, orders: u32::MAX, more: false },
        Accepted::WaitingRoomConfigured { event: ev },
        Accepted::WaitingRoomJoined { event: ev, position: 1 },
        Accepted::WaitingRoomJoined { event: ev, position: u64::MAX },
        Accepted::OrderLimitsSet { item },
        Accepted::VoucherCreated { voucher: domain::VoucherId(10), code: "0123456789ABCDEF".into() },
        Accepted::SeatRowAdded { first_seat: SeatId(11), count: 20 },
        Accepted::SeatsBlocked { event: ev, count: u32::MAX },
        Accepted::SeatedHoldLive { hold, expires_at_ms: 3, seats: vec![SeatId(12), SeatId(11)] },
        Accepted::SeatedHoldLive { hold, expires_at_ms: u64::MAX, seats: vec![] },
        Accepted::SeatCheckedIn { order, position: 0, direction: Direction::Entry, seat: SeatId(11) },
        Accepted::SeatCheckedIn { order, position: u32::MAX, direction: Direction::Exit, seat: SeatId(12) },
        Accepted::WaitingListJoined { entry: EntryId(12), position: 0 },
        Accepted::WaitingListJoined { entry: EntryId(u64::MAX), position: u64::MAX },
        Accepted::WaitingListLeft { entry: EntryId(12) },
        Accepted::WaitingListConfigured { event: ev },
    ];
    let invalid = vec![
        InvalidInput::Slug,
        InvalidInput::Name,
        InvalidInput::Price,
        InvalidInput::QuotaSize,
        InvalidInput::QuotaItems,
        InvalidInput::ItemQuotas { item },
        InvalidInput::ItemQuotas { item: ItemId(0) },
        InvalidInput::ItemOfOtherEvent { item },
        InvalidInput::Lines,
        InvalidInput::Quantity,
        InvalidInput::Ttl,
        InvalidInput::Secret,
        InvalidInput::NotInHold { item },
        InvalidInput::ContactName,
        InvalidInput::Email,
        InvalidInput::WaitingRoom,
        InvalidInput::VariationRequired { item },
        InvalidInput::Variations { item },
        InvalidInput::VoucherCode,
        InvalidInput::VoucherRedemptions,
        InvalidInput::VoucherWindow,
        InvalidInput::VoucherScope,
        InvalidInput::EventVouchers,
        InvalidInput::OrderLimits,
        InvalidInput::SeatRow,
        InvalidInput::SeatRowExists,
        InvalidInput::EventSeats,
        InvalidInput::Seats,
        InvalidInput::SeatOfOtherEvent { seat: SeatId(11) },
        InvalidInput::SeatedHold { hold },
    ];
    let not_found = vec![
        ObjectRef::Organizer(org),
        ObjectRef::Event(ev),
        ObjectRef::Item(item),
        ObjectRef::Quota(quota),
        ObjectRef::Hold(hold),
        ObjectRef::Order(order),
        ObjectRef::CheckinList(list),
        ObjectRef::WaitingRoom(ev),
        ObjectRef::Voucher(domain::VoucherId(10)),
        ObjectRef::Seat(SeatId(11)),
        ObjectRef::WaitingListEntry(EntryId(12)),
        ObjectRef::Order(OrderId(0)),
    ];
    let states = [
        AvailabilityState::Gone,
        AvailabilityState::Ordered,
        AvailabilityState::Reserved,
        AvailabilityState::Ok,
    ];
    let hold_statuses =
        [HoldStatus::Active, HoldStatus::Released, HoldStatus::Expired, HoldStatus::CheckedOut];
    let order_statuses =
        [OrderStatus::Pending, OrderStatus::Paid, OrderStatus::Expired, OrderStatus::Canceled];
    let checkins = [
        CheckinRejection::Invalid,
        CheckinRejection::AlreadyRedeemed,
        CheckinRejection::Unpaid,
        CheckinRejection::Canceled,
    ];
    let mut rejected: Vec<Rejection> = Vec::new();
    rejected.extend(invalid.into_iter().map(Rejection::Invalid));
    rejected.extend(not_found.into_iter().map(Rejection::NotFound));
    rejected.push(Rejection::SlugTaken { slug: "acme".into() });
    rejected.push(Rejection::ItemNotForSale { item });
    rejected.extend(states.iter().map(|&state| Rejection::SoldOut { item, quota, state, remaining: 1 }));
    rejected.push(Rejection::QuotaClosed { item, quota });
    rejected.push(Rejection::HoldExpired { hold });
    rejected.extend(hold_statuses.iter().map(|&status| Rejection::HoldClosed { hold, status }));
    rejected.push(Rejection::HoldLifetimeCapReached { hold, expires_at_max_ms: 8 });
    rejected.extend(order_statuses.iter().map(|&status| Rejection::OrderStatusForbids { order, status }));
    rejected.extend(checkins.iter().map(|&reason| Rejection::CheckIn(reason)));
    rejected.push(Rejection::Conflict);
    let voucher = domain::VoucherId(10);
    rejected.extend(
        [
            VoucherRejection::Unknown,
            VoucherRejection::NotYetValid { voucher, valid_from_ms: 1 },
            VoucherRejection::Expired { voucher, valid_until_ms: u64::MAX },
            VoucherRejection::NotApplicable { voucher, item },
            VoucherRejection::Exhausted { voucher, remaining: 0 },
            VoucherRejection::NoRoomToBlock { quota, remaining: 3 },
        ]
        .map(Rejection::Voucher),
    );
    rejected.extend(
        [
            OrderLimitRejection::BelowMin { item, min: 2 },
            OrderLimitRejection::AboveMax { item, max: 6 },
            OrderLimitRejection::BuyerMax { item, max: 4, counted: u64::MAX },
            OrderLimitRejection::BuyerRequired { item },
        ]
        .map(Rejection::OrderLimit),
    );
    rejected.extend(
        [
            SeatRejection::Blocked { seat: SeatId(11) },
            SeatRejection::Taken { seat: SeatId(u64::MAX) },
            SeatRejection::NoAdjacentSeats { zone: "Stalls".into(), count: 4 },
            SeatRejection::NoAdjacentSeats { zone: String::new(), count: u32::MAX },
        ]
        .map(Rejection::Seat),
    );
    rejected.extend(
        [
            WaitingListRejection::Available { item },
            WaitingListRejection::Full { event: ev, max: u32::MAX },
            WaitingListRejection::NotOffered { entry: EntryId(12) },
            WaitingListRejection::OfferLapsed { entry: EntryId(12), expired_at_ms: u64::MAX },
            WaitingListRejection::Claimed { entry: EntryId(u64::MAX), hold },
            WaitingListRejection::Left { entry: EntryId(0) },
        ]
        .map(Rejection::WaitingList),
    );
    accepted.into_iter().map(Outcome::Accepted).chain(rejected.into_iter().map(Outcome::Rejected)).collect()
}

fn sample_quota_availabilities() -> Vec<QuotaAvailability> {
    vec![
        QuotaAvailability {
            quota: QuotaId(4),
            size: Some(100),
            paid: 10,
            pending: 20,
            held: 30,
            blocked: 5,
            remaining: Some(35),
            state: AvailabilityState::Ok,
            closed: false,
        },
        QuotaAvailability {
            quota: QuotaId(9),
            size: None,
            paid: 0,
            pending: 0,
            held: 0,
            blocked: 0,
            remaining: None,
            state: AvailabilityState::Ok,
            closed: false,
        },
        QuotaAvailability {
            quota: QuotaId(10),
            size: Some(0),
            paid: 0,
            pending: 0,
            held: 0,
            blocked: 0,
            remaining: Some(0),
            state: AvailabilityState::Gone,
            closed: true,
        },
    ]
}

#[test]
fn every_command_variant_round_trips_through_the_wire() {
    let commands = sample_commands();
    let kinds: BTreeSet<&str> = commands.iter().map(Command::kind).collect();
    assert_eq!(kinds.len(), 32, "the samples cover every command variant");
    for (i, command) in commands.into_iter().enumerate() {
        let wire = through_bytes(&v1::Command::from(&command));
        assert_eq!(Command::try_from(wire), Ok(command.clone()), "command {i}");

        let request_id = RequestId(u128::MAX - i as u128);
        let request = through_bytes(&submit_request(request_id, &command));
        assert_eq!(request.request_id.len(), ID128_BYTES);
        assert_eq!(<(RequestId, Command)>::try_from(request), Ok((request_id, command)));
    }
}

#[test]
fn every_outcome_variant_round_trips_through_the_wire_with_its_label() {
    let outcomes = sample_outcomes();
    let labels: BTreeSet<&str> = outcomes.iter().map(Outcome::label).collect();
    assert_eq!(labels.len(), 59, "the samples cover every outcome label (rejected/conflict included)");
    for outcome in outcomes {
        let wire = through_bytes(&v1::Outcome::from(&outcome));
        assert_eq!(wire.label, outcome.label());
        assert_eq!(Outcome::try_from(wire), Ok(outcome));
    }
}

#[test]
fn request_ids_and_nonces_are_16_big_endian_bytes() {
    let id = RequestId(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
    let bytes = request_id_to_bytes(id);
    assert_eq!(bytes, (1..=16).collect::<Vec<u8>>());
    assert_eq!(request_id_from_bytes(&bytes), Ok(id));
    assert_eq!(nonce_from_bytes(&nonce_to_bytes(Nonce(5))), Ok(Nonce(5)));
    assert_eq!(request_id_from_bytes(&[0; 17]), Err(ConvertError::BadRequestId { len: 17 }));
    assert_eq!(nonce_from_bytes(&[]), Err(ConvertError::BadNonce { len: 0 }));
}

fn place_hold_with_quantity(quantity: i64) -> v1::SubmitRequest {
    let mut request = submit_request(
        RequestId(1),
        &Command::PlaceHold {
            event: EventId(2),
            lines: vec![Line { item: ItemId(3), quantity: 1 }],
            ttl_ms: 1,
        },
    );
    let Some(v1::command::Kind::PlaceHold(hold)) = request.command.as_mut().and_then(|c| c.kind.as_mut())
    else {
        unreachable!("built as a place_hold")
    };
    hold.lines[0].quantity = quantity;
    request
}

fn convert(request: v1::SubmitRequest) -> Result<(RequestId, Command), ConvertError> {
    request.try_into()
}

#[test]
fn a_negative_quantity_is_a_typed_error() {
    let error = convert(place_hold_with_quantity(-1)).unwrap_err();
    assert_eq!(error, ConvertError::Negative { field: "place_hold.lines.quantity", value: -1 });
    assert_eq!(error.to_string(), "field `place_hold.lines.quantity` must not be negative, got -1");
}

#[test]
fn a_quantity_above_u32_max_is_out_of_range_but_u32_max_and_zero_pass_to_the_domain() {
    let too_big = i64::from(u32::MAX) + 1;
    assert_eq!(
        convert(place_hold_with_quantity(too_big)),
        Err(ConvertError::OutOfRange { field: "place_hold.lines.quantity", value: too_big })
    );
    assert_eq!(
        convert(place_hold_with_quantity(i64::MAX)),
        Err(ConvertError::OutOfRange { field: "place_hold.lines.quantity", value: i64::MAX })
    );
    for quantity in [0, u32::MAX] {
        let (_, command) = convert(place_hold_with_quantity(i64::from(quantity))).unwrap();
        let Command::PlaceHold { lines, .. } = command else { unreachable!() };
        assert_eq!(lines[0].quantity, quantity);
    }
}

#[test]
fn a_short_request_id_is_a_typed_error() {
    let mut request = submit_request(RequestId(1), &Command::Expire);
    request.request_id.truncate(8);
    let error = convert(request).unwrap_err();
    assert_eq!(error, ConvertError::BadRequestId { len: 8 });
    assert!(error.to_string().contains("exactly 16 bytes"), "{error}");

    let empty = v1::SubmitRequest { request_id: vec![], command: None };
    assert_eq!(convert(empty), Err(ConvertError::BadRequestId { len: 0 }), "the request id is checked first");
}

#[test]
fn a_missing_command_is_a_typed_error() {
    let request = v1::SubmitRequest { request_id: vec![0; 16], command: None };
    let error = convert(request).unwrap_err();
    assert_eq!(error, ConvertError::MissingField("command"));
    assert_eq!(error.to_string(), "missing required field `command`");

    let empty = v1::SubmitRequest { request_id: vec![0; 16], command: Some(v1::Command { kind: None }) };
    assert_eq!(convert(empty), Err(ConvertError::MissingField("command.kind")));
}

#[test]
fn negative_prices_sizes_and_ttls_are_typed_errors() {
    use v1::command as c;
    let cases: Vec<(c::Kind, &str)> = vec![
        (
            c::Kind::CreateItem(c::CreateItem { event: 2, name: "x".into(), price_cents: -5 }),
            "create_item.price_cents",
        ),
        (
            c::Kind::CreateQuota(c::CreateQuota {
                event: 2,
                name: "x".into(),
                size: Some(-5),
                ..Default::default()
            }),
            "create_quota.size",
        ),
        (c::Kind::ResizeQuota(c::ResizeQuota { quota: 4, size: Some(-5) }), "resize_quota.size"),
        (c::Kind::PlaceHold(c::PlaceHold { event: 2, lines: vec![], ttl_ms: -5 }), "place_hold.ttl_ms"),
        (c::Kind::ExtendHold(c::ExtendHold { hold: 5, ttl_ms: -5 }), "extend_hold.ttl_ms"),
        (c::Kind::Checkout(c::Checkout { hold: 5, payment_ttl_ms: -5 }), "checkout.payment_ttl_ms"),
        (
            c::Kind::AddToHold(c::AddToHold { hold: 5, lines: vec![v1::Line { item: 3, quantity: -5 }] }),
            "add_to_hold.lines.quantity",
        ),
        (
            c::Kind::RemoveFromHold(c::RemoveFromHold {
                hold: 5,
                lines: vec![v1::Line { item: 3, quantity: -5 }],
            }),
            "remove_from_hold.lines.quantity",
        ),
        (
            c::Kind::CheckoutWithContact(c::CheckoutWithContact {
                hold: 5,
                payment_ttl_ms: -5,
                ..Default::default()
            }),
            "checkout_with_contact.payment_ttl_ms",
        ),
        (
            c::Kind::ConfigureWaitingRoom(c::ConfigureWaitingRoom {
                event: 2,
                admit_per_minute: -5,
                arrivals_per_second_max: 1,
                in_flight_max: 1,
                dry_run: false,
            }),
            "configure_waiting_room.admit_per_minute",
        ),
        (
            c::Kind::ConfigureWaitingRoom(c::ConfigureWaitingRoom {
                event: 2,
                admit_per_minute: 1,
                arrivals_per_second_max: -5,
                in_flight_max: 1,
                dry_run: false,
            }),
            "configure_waiting_room.arrivals_per_second_max",
        ),
        (
            c::Kind::ConfigureWaitingRoom(c::ConfigureWaitingRoom {
                event: 2,
                admit_per_minute: 1,
                arrivals_per_second_max: 1,
                in_flight_max: -5,
                dry_run: false,
            }),
            "configure_waiting_room.in_flight_max",
        ),
    ];
    for (kind, field) in cases {
        let command = v1::Command { kind: Some(kind) };
        assert_eq!(Command::try_from(command), Err(ConvertError::Negative { field, value: -5 }));
    }
}

#[test]
fn a_waiting_room_rate_above_u32_max_is_out_of_range_and_passes_to_the_domain_below() {
    use v1::command as c;
    let room = |admit_per_minute| v1::Command {
        kind: Some(c::Kind::ConfigureWaitingRoom(c::ConfigureWaitingRoom {
            event: 2,
            admit_per_minute,
            arrivals_per_second_max: 1,
            in_flight_max: 1,
            dry_run: false,
        })),
    };
    let too_big = i64::from(u32::MAX) + 1;
    assert_eq!(
        Command::try_from(room(too_big)),
        Err(ConvertError::OutOfRange { field: "configure_waiting_room.admit_per_minute", value: too_big })
    );
    // Over the domain's limit but representable: the domain refuses it with its own reason.
    let Ok(command) = Command::try_from(room(i64::from(u32::MAX))) else { panic!() };
    assert_eq!(command.validate(), Err(InvalidInput::WaitingRoom));
}

#[test]
fn wrong_key_and_nonce_lengths_and_unset_directions_are_typed_errors() {
    use v1::command as c;
    let organizer = c::CreateOrganizer { slug: "a".into(), name: "A".into(), secret_key: vec![1; 31] };
    let command = v1::Command { kind: Some(c::Kind::CreateOrganizer(organizer)) };
    let error = Command::try_from(command).unwrap_err();
    assert_eq!(error, ConvertError::BadSecretKey { len: 31 });
    assert_eq!(error.to_string(), "secret_key must be exactly 32 random bytes, got 31 bytes");

    let check_in = |nonce: Vec<u8>, direction: i32| v1::Command {
        kind: Some(c::Kind::CheckIn(c::CheckIn { list: 7, secret: "s".into(), nonce, direction })),
    };
    assert_eq!(Command::try_from(check_in(vec![0; 15], 1)), Err(ConvertError::BadNonce { len: 15 }));
    for direction in [0, 3, -1] {
        assert_eq!(
            Command::try_from(check_in(vec![0; 16], direction)),
            Err(ConvertError::UnknownEnum { field: "check_in.direction", value: direction })
        );
    }
}

#[test]
fn huge_values_that_fit_pass_through_and_the_domain_rejects_them_as_it_would_the_original() {
    // Wire to domain: i64::MAX fits in u64 and is passed on.
    let item = v1::command::CreateItem { event: 2, name: "x".into(), price_cents: i64::MAX };
    let command = Command::try_from(v1::Command { kind: Some(v1::command::Kind::CreateItem(item)) });
    assert_eq!(
        command,
        Ok(Command::CreateItem { event: EventId(2), name: "x".into(), price_cents: i64::MAX as u64 })
    );

    // Domain to wire: u64::MAX saturates at i64::MAX; the domain gives both the same answer.
    let original = Command::CreateItem { event: EventId(2), name: "x".into(), price_cents: u64::MAX };
    let saturated = Command::try_from(v1::Command::from(&original)).unwrap();
    assert_eq!(
        saturated,
        Command::CreateItem { event: EventId(2), name: "x".into(), price_cents: i64::MAX as u64 }
    );

    let mut state = State::default();
    let mut run = |request: u128, command: Command| {
        domain::apply(&mut state, &Envelope { time_ms: 1, request_id: RequestId(request), command }).outcome
    };
    run(1, Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [0; 32] });
    run(2, Command::CreateEvent { organizer: OrganizerId(1), slug: "fest".into(), name: "Fest".into() });
    let expected = Outcome::Rejected(Rejection::Invalid(InvalidInput::Price));
    assert_eq!(run(3, original), expected);
    assert_eq!(run(4, saturated), expected);
}

#[test]
fn broken_outcomes_from_the_wire_are_typed_errors() {
    let no_result = v1::Outcome { result: None, label: "accepted/expired".into() };
    assert_eq!(Outcome::try_from(no_result), Err(ConvertError::MissingField("outcome.result")));

    let empty_accepted = v1::Outcome {
        result: Some(v1::outcome::Result::Accepted(v1::Accepted { kind: None })),
        label: String::new(),
    };
    assert_eq!(Outcome::try_from(empty_accepted), Err(ConvertError::MissingField("accepted.kind")));

    let empty_rejection = v1::Outcome {
        result: Some(v1::outcome::Result::Rejected(v1::Rejection { reason: None })),
        label: String::new(),
    };
    assert_eq!(Outcome::try_from(empty_rejection), Err(ConvertError::MissingField("rejection.reason")));

    let rejected = |reason| v1::Rejection { reason: Some(reason) };
    let sold_out = v1::rejection::SoldOut { item: 1, quota: 2, state: 99, remaining: 0 };
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::SoldOut(sold_out))),
        Err(ConvertError::UnknownEnum { field: "rejection.sold_out.state", value: 99 })
    );
    let invalid = v1::InvalidInput { kind: 0, ..Default::default() };
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::Invalid(invalid))),
        Err(ConvertError::UnknownEnum { field: "invalid_input.kind", value: 0 })
    );
    // Numbers no build has given a meaning yet.
    let not_found = v1::ObjectRef { kind: 999, id: 1 };
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::NotFound(not_found))),
        Err(ConvertError::UnknownEnum { field: "object_ref.kind", value: 999 })
    );
    let invalid = v1::InvalidInput { kind: 999, ..Default::default() };
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::Invalid(invalid))),
        Err(ConvertError::UnknownEnum { field: "invalid_input.kind", value: 999 })
    );
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::CheckIn(0))),
        Err(ConvertError::UnknownEnum { field: "rejection.check_in", value: 0 })
    );
    let seat = v1::rejection::Seat { kind: 999, ..Default::default() };
    assert_eq!(
        Rejection::try_from(rejected(v1::rejection::Reason::Seat(seat))),
        Err(ConvertError::UnknownEnum { field: "rejection.seat.kind", value: 999 })
    );
}

#[test]
fn wire_enums_convert_to_domain_enums_and_unspecified_is_refused() {
    assert_eq!(Direction::try_from(v1::Direction::Exit), Ok(Direction::Exit));
    assert_eq!(AvailabilityState::try_from(v1::AvailabilityState::Ordered), Ok(AvailabilityState::Ordered));
    assert_eq!(HoldStatus::try_from(v1::HoldStatus::CheckedOut), Ok(HoldStatus::CheckedOut));
    assert_eq!(OrderStatus::try_from(v1::OrderStatus::Canceled), Ok(OrderStatus::Canceled));
    assert_eq!(CheckinRejection::try_from(v1::CheckinRejection::Unpaid), Ok(CheckinRejection::Unpaid));
    assert_eq!(
        Direction::try_from(v1::Direction::Unspecified),
        Err(ConvertError::UnknownEnum { field: "direction", value: 0 })
    );
    assert!(HoldStatus::try_from(v1::HoldStatus::Unspecified).is_err());
    assert!(OrderStatus::try_from(v1::OrderStatus::Unspecified).is_err());
    assert!(AvailabilityState::try_from(v1::AvailabilityState::Unspecified).is_err());
    assert!(CheckinRejection::try_from(v1::CheckinRejection::Unspecified).is_err());
}

#[test]
fn availability_round_trips_both_ways() {
    for quota in sample_quota_availabilities() {
        let wire = through_bytes(&v1::QuotaAvailability::from(&quota));
        assert_eq!(QuotaAvailability::try_from(wire), Ok(quota));
    }
    let items = vec![
        ItemAvailability {
            item: ItemId(3),
            for_sale: true,
            state: AvailabilityState::Reserved,
            remaining: Some(0),
            binding_quota: Some(QuotaId(4)),
            quotas: sample_quota_availabilities(),
        },
        ItemAvailability {
            item: ItemId(8),
            for_sale: false,
            state: AvailabilityState::Gone,
            remaining: Some(0),
            binding_quota: None,
            quotas: vec![],
        },
        ItemAvailability {
            item: ItemId(11),
            for_sale: true,
            state: AvailabilityState::Ok,
            remaining: None,
            binding_quota: Some(QuotaId(9)),
            quotas: vec![sample_quota_availabilities()[1].clone()],
        },
    ];
    for item in items {
        let wire = through_bytes(&v1::ItemAvailability::from(&item));
        assert_eq!(ItemAvailability::try_from(wire), Ok(item));
    }
    let broken = v1::ItemAvailability {
        state: 1,
        quotas: vec![v1::QuotaAvailability::default()],
        ..Default::default()
    };
    assert_eq!(
        ItemAvailability::try_from(broken),
        Err(ConvertError::UnknownEnum { field: "quota_availability.state", value: 0 })
    );
}

/// A state with an organizer, an event, an item in a quota of 10, a live
/// hold, two pending orders (one with the buyer's contact), a check-in list
/// and a waiting room one buyer joined, built through the domain.
fn sample_state() -> State {
    let mut state = State::default();
    let t = 1_700_000_000_000;
    let commands = vec![
        Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [3; 32] },
        Command::CreateEvent { organizer: OrganizerId(1), slug: "fest".into(), name: "Fest".into() },
        Command::CreateItem { event: EventId(2), name: "Sat".into(), price_cents: 100 },
        Command::CreateQuota {
            event: EventId(2),
            name: "Sat".into(),
            size: Some(10),
            items: vec![ItemId(3)],
            close_when_sold_out: false,
        },
        Command::PlaceHold {
            event: EventId(2),
            lines: vec![Line { item: ItemId(3), quantity: 2 }],
            ttl_ms: 60_000,
        },
        Command::PlaceHold {
            event: EventId(2),
            lines: vec![Line { item: ItemId(3), quantity: 3 }],
            ttl_ms: 60_000,
        },
        Command::Checkout { hold: HoldId(6), payment_ttl_ms: 60_000 },
        Command::PlaceHold {
            event: EventId(2),
            lines: vec![Line { item: ItemId(3), quantity: 1 }],
            ttl_ms: 60_000,
        },
        Command::CheckoutWithContact {
            hold: HoldId(8),
            payment_ttl_ms: 60_000,
            name: "Ada Lovelace".into(),
            email: "ada@example.org".into(),
        },
        Command::CreateCheckinList {
            event: EventId(2),
            name: "Door".into(),
            allow_multiple_entries: false,
            allow_entry_after_exit: true,
        },
        Command::ConfigureWaitingRoom {
            event: EventId(2),
            admit_per_minute: 60,
            arrivals_per_second_max: 5,
            in_flight_max: 50,
            dry_run: true,
        },
        Command::JoinWaitingRoom { event: EventId(2) },
    ];
    for (i, command) in commands.into_iter().enumerate() {
        let envelope = Envelope { time_ms: t + i as u64, request_id: RequestId(i as u128), command };
        let applied = domain::apply(&mut state, &envelope);
        assert!(applied.outcome.is_accepted(), "{:?}", applied.outcome);
    }
    state
}

#[test]
fn holds_orders_and_catalog_views_mirror_the_state() {
    let state = sample_state();
    let hold = state.hold(HoldId(5)).expect("hold 5");
    let wire = through_bytes(&v1::Hold::from(hold));
    assert_eq!(wire.status, v1::HoldStatus::Active as i32);
    assert_eq!(wire.lines, vec![v1::Line { item: 3, quantity: 2 }]);
    assert_eq!(Hold::try_from(wire).as_ref(), Ok(hold));

    let order = state.order(OrderId(7)).expect("order 7");
    assert_eq!(order.tickets.len(), 3);
    let wire = through_bytes(&v1::Order::from(order));
    assert_eq!(wire.status, v1::OrderStatus::Pending as i32);
    assert_eq!(Order::try_from(wire).as_ref(), Ok(order));

    // A pending order past its deadline reads as expired before Expire records it.
    assert_eq!(order_at(order, order.payment_deadline_ms - 1).status, v1::OrderStatus::Pending as i32);
    let lapsed = order_at(order, order.payment_deadline_ms);
    assert_eq!(lapsed.status, v1::OrderStatus::Expired as i32);
    assert_eq!(lapsed.tickets.len(), 3);

    let event = v1::EventInfo::from(state.event(EventId(2)).expect("event 2"));
    assert_eq!((event.id, event.organizer, event.slug.as_str(), event.name.as_str()), (2, 1, "fest", "Fest"));
    let item = v1::CatalogItem::from(state.item(ItemId(3)).expect("item 3"));
    assert_eq!(item, v1::CatalogItem { id: 3, name: "Sat".into(), price_cents: 100, quotas: vec![4] });

    let availability = state.item_availability(ItemId(3), state.now_ms).expect("item 3");
    let wire = v1::ItemAvailability::from(&availability);
    assert_eq!(
        (wire.remaining, wire.binding_quota, wire.quotas[0].held, wire.quotas[0].pending),
        (Some(4), Some(4), 2, 4)
    );
    assert_eq!(ItemAvailability::try_from(wire), Ok(availability));

    // An order checked out with a contact carries it over the wire; one without has none.
    assert_eq!(wire_order_contact(&state, OrderId(7)), None);
    let contact = v1::Contact { name: "Ada Lovelace".into(), email: "ada@example.org".into() };
    assert_eq!(wire_order_contact(&state, OrderId(9)), Some(contact));
    let order = state.order(OrderId(9)).unwrap();
    assert_eq!(Order::try_from(through_bytes(&v1::Order::from(order))).as_ref(), Ok(order));

    let list = state.checkin_lists_of(EventId(2)).next().expect("a check-in list");
    let wire = through_bytes(&v1::CheckinListInfo::from(list));
    assert_eq!((wire.id, wire.event, wire.name.as_str()), (10, 2, "Door"));
    assert!(!wire.allow_multiple_entries && wire.allow_entry_after_exit);

    let room = state.waiting_room(EventId(2), state.now_ms).expect("a room");
    let wire = through_bytes(&v1::WaitingRoom::from(&room));
    assert_eq!((wire.joined, wire.admitted, wire.admit_per_minute, wire.dry_run), (1, 0, 60, true));
    assert_eq!(WaitingRoomView::from(wire), room);

    let event = EventDef::from(through_bytes(&v1::EventInfo::from(state.event(EventId(2)).unwrap())));
    assert_eq!(Some(&event), state.event(EventId(2)));
}

fn wire_order_contact(state: &State, order: OrderId) -> Option<v1::Contact> {
    through_bytes(&v1::Order::from(state.order(order).expect("order"))).contact
}

#[test]
fn submit_responses_say_duplicate_and_seq() {
    let mut state = State::default();
    let envelope = Envelope {
        time_ms: 1,
        request_id: RequestId(42),
        command: Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [0; 32] },
    };
    let first = v1::SubmitResponse::from(&domain::apply(&mut state, &envelope));
    assert_eq!((first.duplicate, first.seq), (false, 1));
    let retry = v1::SubmitResponse::from(&domain::apply(&mut state, &envelope));
    assert_eq!((retry.duplicate, retry.seq), (true, 0));
    assert_eq!(retry.outcome, first.outcome);
    let outcome = Outcome::try_from(first.outcome.expect("outcome")).unwrap();
    assert_eq!(outcome, Outcome::Accepted(Accepted::OrganizerCreated { organizer: OrganizerId(1) }));
}

fn sample_record() -> Record {
    Record {
        seq: 9,
        time_ms: 1_700_000_000_000,
        request_id: RequestId(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        events: vec![
            Event::HoldPlaced {
                hold: HoldId(5),
                event: EventId(2),
                lines: vec![Line { item: ItemId(3), quantity: 2 }],
                expires_at_ms: 1_700_000_060_000,
            },
            Event::QuotaClosed { quota: QuotaId(4), automatically: true },
        ],
        outcome: Outcome::Accepted(Accepted::HoldLive { hold: HoldId(5), expires_at_ms: 1_700_000_060_000 }),
        command_digest: Some(domain::CommandDigest([7; 16])),
    }
}

#[test]
fn record_messages_carry_a_readable_header_and_the_codec_frame() {
    let record = sample_record();
    let wire = through_bytes(&v1::RecordMessage::try_from(&record).unwrap());
    assert_eq!(wire.seq, 9);
    assert_eq!(wire.event_kinds, vec!["HoldPlaced".to_string(), "QuotaClosed".to_string()]);
    assert_eq!(wire.outcome_label, "accepted/hold_live");
    assert_eq!(codec::decode_record(&wire.encoded).as_ref(), Ok(&record));
    assert_eq!(Record::try_from(&wire).as_ref(), Ok(&record));

    let mut wrong_seq = wire.clone();
    wrong_seq.seq = 10;
    assert_eq!(Record::try_from(&wrong_seq), Err(ConvertError::RecordMismatch { field: "seq" }));
    let mut wrong_kinds = wire.clone();
    wrong_kinds.event_kinds.pop();
    assert_eq!(Record::try_from(&wrong_kinds), Err(ConvertError::RecordMismatch { field: "event_kinds" }));
    let mut torn = wire;
    torn.encoded.truncate(torn.encoded.len() - 1);
    assert!(matches!(Record::try_from(&torn), Err(ConvertError::Codec(_))));
}

#[test]
fn the_descriptor_set_describes_the_four_services_with_comments() {
    let set =
        prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    let services: BTreeSet<String> = set
        .file
        .iter()
        .filter(|file| file.package() == "boxoffice.v1")
        .flat_map(|file| file.service.iter().map(|service| service.name().to_string()))
        .collect();
    assert_eq!(services, ["Admin", "Faults", "Inventory", "Raft"].into_iter().map(String::from).collect());
    assert!(set.file.iter().all(|file| file.source_code_info.is_some()), "comments are kept for reflection");
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

fn any_line() -> impl Strategy<Value = Line> {
    (any::<u64>(), any::<u32>()).prop_map(|(item, quantity)| Line { item: ItemId(item), quantity })
}

fn any_lines() -> impl Strategy<Value = Vec<Line>> {
    proptest::collection::vec(any_line(), 0..4)
}

fn any_command() -> impl Strategy<Value = Command> {
    let text = "[a-z0-9é -]{0,12}";
    let direction = prop_oneof![Just(Direction::Entry), Just(Direction::Exit)];
    prop_oneof![
        (text, text, any::<[u8; 32]>()).prop_map(|(slug, name, secret_key)| Command::CreateOrganizer {
            slug,
            name,
            secret_key
        }),
        (any::<u64>(), text, text).prop_map(|(o, slug, name)| Command::CreateEvent {
            organizer: OrganizerId(o),
            slug,
            name
        }),
        (any::<u64>(), text, 0..=i64::MAX as u64).prop_map(|(e, name, price_cents)| Command::CreateItem {
            event: EventId(e),
            name,
            price_cents
        }),
        (
            any::<u64>(),
            text,
            proptest::option::of(0..=i64::MAX as u64),
            proptest::collection::vec(any::<u64>(), 0..4),
            any::<bool>()
        )
            .prop_map(|(e, name, size, items, close_when_sold_out)| Command::CreateQuota {
                event: EventId(e),
                name,
                size,
                items: items.into_iter().map(ItemId).collect(),
                close_when_sold_out
            }),
        (any::<u64>(), proptest::option::of(0..=i64::MAX as u64))
            .prop_map(|(q, size)| Command::ResizeQuota { quota: QuotaId(q), size }),
        any::<u64>().prop_map(|q| Command::CloseQuota { quota: QuotaId(q) }),
        any::<u64>().prop_map(|q| Command::ReopenQuota { quota: QuotaId(q) }),
        (any::<u64>(), any_lines(), 0..=i64::MAX as u64).prop_map(|(e, lines, ttl_ms)| Command::PlaceHold {
            event: EventId(e),
            lines,
            ttl_ms
        }),
        (any::<u64>(), any_lines()).prop_map(|(h, lines)| Command::AddToHold { hold: HoldId(h), lines }),
        (any::<u64>(), 0..=i64::MAX as u64)
            .prop_map(|(h, ttl_ms)| Command::ExtendHold { hold: HoldId(h), ttl_ms }),
        any::<u64>().prop_map(|h| Command::ReleaseHold { hold: HoldId(h) }),
        (any::<u64>(), 0..=i64::MAX as u64)
            .prop_map(|(h, payment_ttl_ms)| Command::Checkout { hold: HoldId(h), payment_ttl_ms }),
        any::<u64>().prop_map(|o| Command::Pay { order: OrderId(o) }),
        any::<u64>().prop_map(|o| Command::CancelOrder { order: OrderId(o) }),
        (any::<u64>(), text, any::<bool>(), any::<bool>()).prop_map(|(e, name, multiple, after_exit)| {
            Command::CreateCheckinList {
                event: EventId(e),
                name,
                allow_multiple_entries: multiple,
                allow_entry_after_exit: after_exit,
            }
        }),
        (any::<u64>(), text, any::<u128>(), direction).prop_map(|(l, secret, nonce, direction)| {
            Command::CheckIn { list: CheckinListId(l), secret, nonce: Nonce(nonce), direction }
        }),
        Just(Command::Expire),
        (any::<u64>(), any_lines()).prop_map(|(h, lines)| Command::RemoveFromHold { hold: HoldId(h), lines }),
        (any::<u64>(), 0..=i64::MAX as u64, text, text).prop_map(|(h, payment_ttl_ms, name, email)| {
            Command::CheckoutWithContact { hold: HoldId(h), payment_ttl_ms, name, email }
        }),
        (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>()).prop_map(
            |(e, admit_per_minute, arrivals_per_second_max, in_flight_max, dry_run)| {
                Command::ConfigureWaitingRoom {
                    event: EventId(e),
                    admit_per_minute,
                    arrivals_per_second_max,
                    in_flight_max,
                    dry_run,
                }
            }
        ),
        any::<u64>().prop_map(|e| Command::JoinWaitingRoom { event: EventId(e) }),
        (any::<u64>(), text, text, proptest::collection::vec((text, any::<u64>()), 0..4)).prop_map(
            |(e, zone, row, seats)| Command::AddSeatRow {
                event: EventId(e),
                zone,
                row,
                seats: seats
                    .into_iter()
                    .map(|(label, item)| domain::SeatSpec { label, item: ItemId(item) })
                    .collect(),
            }
        ),
        (any::<u64>(), proptest::collection::vec(any::<u64>(), 0..4), any::<bool>()).prop_map(
            |(e, seats, blocked)| Command::SetSeatsBlocked {
                event: EventId(e),
                seats: seats.into_iter().map(SeatId).collect(),
                blocked,
            }
        ),
        (
            any::<u64>(),
            prop_oneof![
                proptest::collection::vec(any::<u64>(), 0..4)
                    .prop_map(|seats| SeatChoice::Named(seats.into_iter().map(SeatId).collect())),
                (text, any::<u32>(), proptest::option::of(any::<u64>())).prop_map(|(zone, count, item)| {
                    SeatChoice::Adjacent { zone, count, item: item.map(ItemId) }
                }),
            ],
            0..=i64::MAX as u64,
            proptest::option::of(text),
            proptest::option::of(any::<u128>()),
        )
            .prop_map(|(e, seats, ttl_ms, voucher, buyer)| Command::PlaceSeatedHold {
                event: EventId(e),
                seats,
                ttl_ms,
                voucher,
                buyer: buyer.map(domain::BuyerId),
            }),
        (any::<u64>(), any::<u64>(), any::<u32>(), proptest::option::of(any::<u128>())).prop_map(
            |(e, item, priority, buyer)| Command::JoinWaitingList {
                event: EventId(e),
                item: ItemId(item),
                priority,
                buyer: buyer.map(domain::BuyerId),
            }
        ),
        any::<u64>().prop_map(|entry| Command::LeaveWaitingList { entry: EntryId(entry) }),
        (any::<u64>(), 0..=i64::MAX as u64)
            .prop_map(|(entry, ttl_ms)| Command::ClaimOffer { entry: EntryId(entry), ttl_ms }),
        (any::<u64>(), 0..=i64::MAX as u64)
            .prop_map(|(e, offer_ttl_ms)| Command::ConfigureWaitingList { event: EventId(e), offer_ttl_ms }),
    ]
}

/// Decode `bytes` as every request and view message and convert each: the
/// result may be anything but a panic.
fn decode_and_convert_everything(bytes: &[u8]) {
    if let Ok(request) = v1::SubmitRequest::decode(bytes) {
        let converted = <(RequestId, Command)>::try_from(request);
        // Whatever converts, converts back to the same domain value.
        if let Ok((request_id, command)) = converted {
            let again = <(RequestId, Command)>::try_from(submit_request(request_id, &command));
            assert_eq!(again, Ok((request_id, command)));
        }
    }
    if let Ok(batch) = v1::SubmitBatchRequest::decode(bytes) {
        for request in batch.commands {
            let _ = <(RequestId, Command)>::try_from(request);
        }
    }
    if let Ok(outcome) = v1::Outcome::decode(bytes)
        && let Ok(outcome) = Outcome::try_from(outcome)
    {
        assert_eq!(Outcome::try_from(v1::Outcome::from(&outcome)), Ok(outcome));
    }
    if let Ok(availability) = v1::ItemAvailability::decode(bytes) {
        let _ = ItemAvailability::try_from(availability);
    }
    if let Ok(hold) = v1::Hold::decode(bytes) {
        let _ = Hold::try_from(hold);
    }
    if let Ok(order) = v1::Order::decode(bytes) {
        let _ = Order::try_from(order);
    }
    if let Ok(room) = v1::GetWaitingRoomResponse::decode(bytes) {
        let _ = room.room.map(WaitingRoomView::from);
    }
    if let Ok(record) = v1::RecordMessage::decode(bytes) {
        let _ = Record::try_from(&record);
    }
    if let Ok(reply) = v1::GetVoucherResponse::decode(bytes)
        && let Some(Ok(view)) = reply.voucher.map(VoucherView::try_from)
    {
        assert_eq!(VoucherView::try_from(v1::VoucherStatus::from(&view)), Ok(view));
    }
    if let Ok(reply) = v1::GetSeatMapResponse::decode(bytes)
        && let Ok(zones) = seat_map(reply.zones)
    {
        assert_eq!(seat_map(seat_map_to_wire(&zones)), Ok(zones));
    }
    if let Ok(reply) = v1::GetWaitingListEntryResponse::decode(bytes)
        && let Some(Ok(view)) = reply.entry.map(WaitingListEntryView::try_from)
    {
        assert_eq!(WaitingListEntryView::try_from(v1::WaitingListEntry::from(&view)), Ok(view));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Arbitrary bytes, decoded as a submit request and converted: Ok or Err, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic_decoding_and_conversion(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_and_convert_everything(&bytes);
    }

    /// Valid encodings of every command and outcome with bytes overwritten
    /// and the tail cut: Ok or Err, never a panic.
    #[test]
    fn mutated_valid_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut samples: Vec<Vec<u8>> = sample_commands()
            .iter()
            .enumerate()
            .map(|(i, command)| submit_request(RequestId(i as u128), command).encode_to_vec())
            .collect();
        samples.extend(sample_outcomes().iter().map(|outcome| v1::Outcome::from(outcome).encode_to_vec()));
        let mut bytes = pick.get(&samples).clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        decode_and_convert_everything(&bytes);
    }

    /// Any domain command whose numbers fit the wire survives domain, wire bytes, domain unchanged.
    #[test]
    fn any_command_round_trips(request in any::<u128>(), command in any_command()) {
        let wire = through_bytes(&submit_request(RequestId(request), &command));
        prop_assert_eq!(<(RequestId, Command)>::try_from(wire), Ok((RequestId(request), command)));
    }
}

#[test]
fn a_voucher_status_round_trips_and_one_without_a_scope_is_a_typed_error() {
    for scope in [VoucherScope::Item(ItemId(3)), VoucherScope::Quota(QuotaId(4))] {
        let view = VoucherView {
            voucher: VoucherId(9),
            event: EventId(2),
            code: "7K3M9Q2XD4TP8W1R".into(),
            scope,
            max_redemptions: u32::MAX,
            redeemed: 5,
            remaining: u64::MAX,
            valid_from_ms: 1,
            valid_until_ms: u64::MAX,
            blocks_quota: true,
            blocking: false,
        };
        let wire = through_bytes(&v1::VoucherStatus::from(&view));
        assert_eq!(VoucherView::try_from(wire), Ok(view));
    }
    let unscoped = v1::VoucherStatus { scope: None, ..Default::default() };
    assert_eq!(VoucherView::try_from(unscoped), Err(ConvertError::MissingField("voucher_status.scope")));
    let empty_scope =
        v1::VoucherStatus { scope: Some(v1::command::VoucherScope { kind: None }), ..Default::default() };
    assert_eq!(VoucherView::try_from(empty_scope), Err(ConvertError::MissingField("voucher_status.scope")));
}

#[test]
fn a_seat_map_round_trips_and_a_seat_without_a_state_is_a_typed_error() {
    let seat = |id: u64, label: &str, status| SeatMapSeat {
        seat: SeatId(id),
        label: label.into(),
        item: ItemId(3),
        status,
    };
    let zones = vec![
        SeatMapZone {
            zone: "Stalls".into(),
            rows: vec![
                SeatMapRow {
                    row: "A".into(),
                    seats: vec![
                        seat(11, "1", SeatStatus::Free),
                        seat(12, "2", SeatStatus::Blocked),
                        seat(13, "3", SeatStatus::Held(HoldId(5))),
                        seat(14, "4", SeatStatus::Ordered(OrderId(6))),
                        seat(u64::MAX, "5", SeatStatus::Paid(OrderId(u64::MAX))),
                    ],
                },
                SeatMapRow { row: "B".into(), seats: vec![] },
            ],
        },
        SeatMapZone { zone: "Balcony".into(), rows: vec![] },
    ];
    let reply = through_bytes(&v1::GetSeatMapResponse {
        zones: seat_map_to_wire(&zones),
        now_ms: 1,
        applied_index: 2,
        last_seq: 3,
    });
    let held = &reply.zones[0].rows[0].seats[2];
    assert_eq!((held.state, held.hold, held.order), (v1::SeatState::Held as i32, 5, 0));
    let paid = &reply.zones[0].rows[0].seats[4];
    assert_eq!((paid.state, paid.hold, paid.order), (v1::SeatState::Paid as i32, 0, u64::MAX));
    assert_eq!(seat_map(reply.zones), Ok(zones.clone()));
    assert_eq!(seat_map(vec![]), Ok(vec![]));

    let mut broken = seat_map_to_wire(&zones);
    broken[0].rows[0].seats[1].state = v1::SeatState::Unspecified as i32;
    assert_eq!(seat_map(broken), Err(ConvertError::UnknownEnum { field: "seat_map_seat.state", value: 0 }));
    let unknown = v1::SeatMapSeat { state: 999, ..Default::default() };
    assert_eq!(
        SeatMapSeat::try_from(unknown),
        Err(ConvertError::UnknownEnum { field: "seat_map_seat.state", value: 999 })
    );
}

#[test]
fn a_seated_hold_without_a_choice_or_with_a_negative_count_is_a_typed_error() {
    use v1::command::{self as c, seat_choice as sc};
    let hold = |seats| v1::Command {
        kind: Some(c::Kind::PlaceSeatedHold(c::PlaceSeatedHold {
            event: 2,
            seats,
            ttl_ms: 1,
            ..Default::default()
        })),
    };
    assert_eq!(Command::try_from(hold(None)), Err(ConvertError::MissingField("place_seated_hold.seats")));
    assert_eq!(
        Command::try_from(hold(Some(c::SeatChoice { kind: None }))),
        Err(ConvertError::MissingField("place_seated_hold.seats"))
    );
    let adjacent = |count| {
        hold(Some(c::SeatChoice {
            kind: Some(sc::Kind::Adjacent(sc::Adjacent { zone: "Stalls".into(), count, item: None })),
        }))
    };
    assert_eq!(
        Command::try_from(adjacent(-1)),
        Err(ConvertError::Negative { field: "place_seated_hold.seats.adjacent.count", value: -1 })
    );
    let over = i64::from(u32::MAX) + 1;
    assert_eq!(
        Command::try_from(adjacent(over)),
        Err(ConvertError::OutOfRange { field: "place_seated_hold.seats.adjacent.count", value: over })
    );
    let negative_ttl = v1::Command {
        kind: Some(c::Kind::PlaceSeatedHold(c::PlaceSeatedHold {
            seats: Some(c::SeatChoice { kind: Some(sc::Kind::Named(sc::Named { seats: vec![1] })) }),
            ttl_ms: -5,
            ..Default::default()
        })),
    };
    assert_eq!(
        Command::try_from(negative_ttl),
        Err(ConvertError::Negative { field: "place_seated_hold.ttl_ms", value: -5 })
    );
}

#[test]
fn a_waiting_list_entry_round_trips_in_every_state_and_an_unknown_state_is_a_typed_error() {
    let entry = |status| WaitingListEntry {
        id: EntryId(12),
        event: EventId(2),
        item: ItemId(3),
        priority: 7,
        buyer: Some(domain::BuyerId(u128::MAX)),
        joined_at_ms: 1_000,
        status,
    };
    let views = [
        (EntryStatus::Waiting, EntryPosition::Waiting { position: 4 }),
        (EntryStatus::Offered { expires_at_ms: 9_000 }, EntryPosition::Offered { expires_at_ms: 9_000 }),
        // Lapsed by time, not recorded yet; and recorded by Expire.
        (EntryStatus::Offered { expires_at_ms: 9_000 }, EntryPosition::OfferLapsed { expires_at_ms: 9_000 }),
        (
            EntryStatus::OfferExpired { expires_at_ms: 9_000 },
            EntryPosition::OfferLapsed { expires_at_ms: 9_000 },
        ),
        (EntryStatus::Claimed { hold: HoldId(5) }, EntryPosition::Claimed { hold: HoldId(5) }),
        (EntryStatus::Left, EntryPosition::Left),
    ];
    let states = [
        v1::WaitingListEntryState::Waiting,
        v1::WaitingListEntryState::Offered,
        v1::WaitingListEntryState::OfferLapsed,
        v1::WaitingListEntryState::OfferLapsed,
        v1::WaitingListEntryState::Claimed,
        v1::WaitingListEntryState::Left,
    ];
    for ((status, position), state) in views.into_iter().zip(states) {
        let view = WaitingListEntryView { entry: entry(status), position };
        let reply = through_bytes(&v1::GetWaitingListEntryResponse {
            entry: Some(v1::WaitingListEntry::from(&view)),
            now_ms: 1,
            applied_index: 2,
            last_seq: 3,
        });
        let wire = reply.entry.expect("an entry");
        assert_eq!(wire.state, state as i32, "{view:?}");
        assert_eq!(WaitingListEntryView::try_from(wire), Ok(view));
    }
    let waiting = v1::WaitingListEntry::from(&WaitingListEntryView {
        entry: entry(EntryStatus::Waiting),
        position: EntryPosition::Waiting { position: 4 },
    });
    assert_eq!((waiting.position, waiting.expires_at_ms, waiting.hold), (4, 0, 0));
    assert_eq!(waiting.buyer, vec![0xff; 16]);

    let unknown = v1::WaitingListEntry { state: 999, ..Default::default() };
    assert_eq!(
        WaitingListEntryView::try_from(unknown),
        Err(ConvertError::UnknownEnum { field: "waiting_list_entry.state", value: 999 })
    );
    let unset = v1::WaitingListEntry::default();
    assert_eq!(
        WaitingListEntryView::try_from(unset),
        Err(ConvertError::UnknownEnum { field: "waiting_list_entry.state", value: 0 })
    );
    let bad_buyer = v1::WaitingListEntry {
        state: v1::WaitingListEntryState::Left as i32,
        buyer: vec![1, 2, 3],
        ..Default::default()
    };
    assert_eq!(WaitingListEntryView::try_from(bad_buyer), Err(ConvertError::BadBuyer { len: 3 }));
}

#[test]
fn a_waiting_list_rejection_of_an_unknown_kind_or_a_negative_ttl_is_a_typed_error() {
    let rejected = v1::Rejection {
        reason: Some(v1::rejection::Reason::WaitingList(v1::rejection::WaitingList {
            kind: 999,
            ..Default::default()
        })),
    };
    assert_eq!(
        Rejection::try_from(rejected),
        Err(ConvertError::UnknownEnum { field: "rejection.waiting_list.kind", value: 999 })
    );
    use v1::command as c;
    let claim = v1::Command { kind: Some(c::Kind::ClaimOffer(c::ClaimOffer { entry: 1, ttl_ms: -1 })) };
    assert_eq!(
        Command::try_from(claim),
        Err(ConvertError::Negative { field: "claim_offer.ttl_ms", value: -1 })
    );
    let configure = v1::Command {
        kind: Some(c::Kind::ConfigureWaitingList(c::ConfigureWaitingList { event: 2, offer_ttl_ms: -3 })),
    };
    assert_eq!(
        Command::try_from(configure),
        Err(ConvertError::Negative { field: "configure_waiting_list.offer_ttl_ms", value: -3 })
    );
    let join = v1::Command {
        kind: Some(c::Kind::JoinWaitingList(c::JoinWaitingList { buyer: vec![0; 5], ..Default::default() })),
    };
    assert_eq!(Command::try_from(join), Err(ConvertError::BadBuyer { len: 5 }));
}
