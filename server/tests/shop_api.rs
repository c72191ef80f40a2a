//! What the HTTP shop needs from the client, on both transports: the same
//! scenario against an engine embedded in the test and against a real
//! `boxoffice-server` process. Removing from a hold, checkout with the
//! buyer's contact, the waiting room (positions, a retried join, admissions
//! growing with time), and the queries (an organizer's events, an event by
//! slug, the check-in lists in the catalog, the waiting room, voucher status,
//! a seat row with seated holds and the seat map, a waiting list with an
//! offer claimed and an entry left). It uses the
//! client crate's re-exports only, as the shop does.

mod support;

use boxoffice_client::domain::*;
use boxoffice_client::{
    Client, ClientError, ClientOptions, ReadConsistency, VoucherLookup, new_request_id, v1,
};
use std::time::{Duration, Instant};
use support::Cluster;
use tonic::Code;

/// How long the scenario waits for the room to admit its second buyer (at
/// one a second, about two seconds).
const ADMIT_WAIT_MS: u64 = 10_000;

/// Submit and require an accepted outcome.
async fn ok(client: &Client, command: Command) -> Accepted {
    match client.submit(command.clone()).await.expect("answered").outcome {
        Outcome::Accepted(accepted) => accepted,
        Outcome::Rejected(rejection) => panic!("{command:?} was rejected: {rejection:?}"),
    }
}

async fn scenario(client: &Client) {
    let linearizable = ReadConsistency::Linearizable;
    let create = Command::CreateOrganizer { slug: "shop".into(), name: "Shop".into(), secret_key: [4; 32] };
    let Accepted::OrganizerCreated { organizer } = ok(client, create).await else { panic!() };
    let mut events = Vec::new();
    for (slug, name) in [("spring", "Spring"), ("autumn", "Autumn")] {
        let create = Command::CreateEvent { organizer, slug: slug.into(), name: name.into() };
        let Accepted::EventCreated { event } = ok(client, create).await else { panic!() };
        events.push(event);
    }
    let event = events[0];
    let Accepted::ItemCreated { item } =
        ok(client, Command::CreateItem { event, name: "GA".into(), price_cents: 2_000 }).await
    else {
        panic!()
    };
    let quota = Command::CreateQuota {
        event,
        name: "GA".into(),
        size: Some(10),
        items: vec![item],
        close_when_sold_out: false,
    };
    let Accepted::QuotaCreated { quota } = ok(client, quota).await else { panic!() };
    let list = Command::CreateCheckinList {
        event,
        name: "Door".into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: true,
    };
    let Accepted::CheckinListCreated { list } = ok(client, list).await else { panic!() };

    // The organizer's events, one by slug, and what is not there.
    let listed = client.events(organizer, linearizable).await.unwrap();
    let slugs: Vec<(EventId, &str)> = listed.iter().map(|e| (e.id, e.slug.as_str())).collect();
    assert_eq!(slugs, vec![(events[0], "spring"), (events[1], "autumn")]);
    assert!(listed.iter().all(|e| e.organizer == organizer));
    assert_eq!(client.events(organizer, ReadConsistency::Stale).await.unwrap(), listed);
    let found = client.event_by_slug(organizer, "autumn", linearizable).await.unwrap();
    assert_eq!((found.id, found.name.as_str()), (events[1], "Autumn"));
    assert!(matches!(
        client.event_by_slug(organizer, "winter", linearizable).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.events(OrganizerId(u64::MAX), linearizable).await,
        Err(ClientError::NotFound(_))
    ));

    // The catalog carries the check-in lists.
    let catalog = client.catalog(event, linearizable).await.unwrap();
    let lists: Vec<(u64, &str, bool)> =
        catalog.checkin_lists.iter().map(|l| (l.id, l.name.as_str(), l.allow_entry_after_exit)).collect();
    assert_eq!(lists, vec![(list.0, "Door", true)]);

    // A cart whose quantities go down, freeing capacity at once.
    let place = Command::PlaceHold { event, lines: vec![Line { item, quantity: 3 }], ttl_ms: 600_000 };
    let Accepted::HoldLive { hold, expires_at_ms } = ok(client, place).await else { panic!() };
    let remove = Command::RemoveFromHold { hold, lines: vec![Line { item, quantity: 1 }] };
    assert_eq!(ok(client, remove).await, Accepted::HoldLive { hold, expires_at_ms });
    assert_eq!(client.hold(hold, linearizable).await.unwrap().lines, vec![Line { item, quantity: 2 }]);
    assert_eq!(client.quota_availability(quota, linearizable).await.unwrap().held, 2);
    let too_many = Command::RemoveFromHold { hold, lines: vec![Line { item, quantity: 3 }] };
    assert_eq!(
        client.submit(too_many).await.unwrap().outcome,
        Outcome::Rejected(Rejection::Invalid(InvalidInput::NotInHold { item }))
    );

    // Checkout with the buyer's contact; a bad address never reaches the log.
    let checkout = |email: &str| Command::CheckoutWithContact {
        hold,
        payment_ttl_ms: 3_600_000,
        name: "Ada Lovelace".into(),
        email: email.into(),
    };
    let refused = client.submit(checkout("ada@@example.org")).await;
    assert!(matches!(&refused, Err(ClientError::Invalid(m)) if m.contains("e-mail")), "{refused:?}");
    let Accepted::OrderPlaced { order, tickets, .. } = ok(client, checkout("ada@example.org")).await else {
        panic!()
    };
    assert_eq!(tickets.len(), 2);
    let placed = client.order(order, linearizable).await.unwrap();
    assert_eq!(
        placed.contact,
        Some(Contact { name: "Ada Lovelace".into(), email: "ada@example.org".into() })
    );

    // A voucher's status, by code (any case) and by id, before and after a redemption.
    let create = Command::CreateVoucher {
        event,
        scope: VoucherScope::Item(item),
        max_redemptions: 2,
        valid_from_ms: wall_clock_ms() - 60_000,
        valid_until_ms: wall_clock_ms() + 86_400_000,
        blocks_quota: true,
    };
    let Accepted::VoucherCreated { voucher, code } = ok(client, create).await else { panic!() };
    let by_code = VoucherLookup::Code(code.to_lowercase());
    let status = client.voucher(&by_code, linearizable).await.unwrap();
    assert_eq!(
        (status.voucher, status.event, status.code.as_str(), status.max_redemptions, status.remaining),
        (voucher, event, code.as_str(), 2, 2)
    );
    assert!(status.blocks_quota && status.blocking);
    assert_eq!(status.scope, VoucherScope::Item(item));
    let redeem = Command::PlaceHoldWith {
        event,
        lines: vec![Line { item, quantity: 1 }],
        ttl_ms: 600_000,
        voucher: Some(code.clone()),
        buyer: None,
    };
    ok(client, redeem).await;
    let status = client.voucher(&VoucherLookup::Id(voucher), ReadConsistency::Stale).await.unwrap();
    assert_eq!((status.redeemed, status.remaining), (1, 1));
    assert!(matches!(
        client.voucher(&VoucherLookup::Code("NOSUCHCODE".into()), linearizable).await,
        Err(ClientError::NotFound(_))
    ));
    assert!(matches!(
        client.voucher(&VoucherLookup::Id(VoucherId(u64::MAX)), linearizable).await,
        Err(ClientError::NotFound(_))
    ));

    // Seats: a row of five, the best two held, one named seat checked out and
    // paid, one blocked; the seat map says what each is.
    let specs = (1..=5).map(|n| SeatSpec { label: n.to_string(), item }).collect();
    let add = Command::AddSeatRow { event, zone: "Stalls".into(), row: "A".into(), seats: specs };
    let Accepted::SeatRowAdded { first_seat, count: 5 } = ok(client, add).await else { panic!() };
    let seat = |i: u64| SeatId(first_seat.0 + i);
    let best = Command::PlaceSeatedHold {
        event,
        seats: SeatChoice::Adjacent { zone: "Stalls".into(), count: 2, item: None },
        ttl_ms: 600_000,
        voucher: None,
        buyer: None,
    };
    let Accepted::SeatedHoldLive { hold: pair, seats: held, .. } = ok(client, best).await else { panic!() };
    assert_eq!(held, vec![seat(1), seat(2)], "the run closest to the row's centre, ties to the front");
    let named = |seats| Command::PlaceSeatedHold {
        event,
        seats: SeatChoice::Named(seats),
        ttl_ms: 600_000,
        voucher: None,
        buyer: None,
    };
    let Accepted::SeatedHoldLive { hold: single, .. } = ok(client, named(vec![seat(4)])).await else {
        panic!()
    };
    let Accepted::OrderPlaced { order: seated, .. } =
        ok(client, Command::Checkout { hold: single, payment_ttl_ms: 3_600_000 }).await
    else {
        panic!()
    };
    ok(client, Command::Pay { order: seated }).await;
    ok(client, Command::SetSeatsBlocked { event, seats: vec![seat(0)], blocked: true }).await;
    assert_eq!(
        client.submit(named(vec![seat(2), seat(3)])).await.unwrap().outcome,
        Outcome::Rejected(Rejection::Seat(SeatRejection::Taken { seat: seat(2) }))
    );
    let map = client.seat_map(event, linearizable).await.unwrap();
    assert_eq!((map.len(), map[0].zone.as_str(), map[0].rows.len()), (1, "Stalls", 1));
    let row = &map[0].rows[0];
    let labels: Vec<&str> = row.seats.iter().map(|s| s.label.as_str()).collect();
    assert_eq!((row.row.as_str(), labels), ("A", vec!["1", "2", "3", "4", "5"]));
    let states: Vec<(SeatId, SeatStatus)> = row.seats.iter().map(|s| (s.seat, s.status)).collect();
    assert_eq!(
        states,
        vec![
            (seat(0), SeatStatus::Blocked),
            (seat(1), SeatStatus::Held(pair)),
            (seat(2), SeatStatus::Held(pair)),
            (seat(3), SeatStatus::Free),
            (seat(4), SeatStatus::Paid(seated)),
        ]
    );
    assert!(row.seats.iter().all(|s| s.item == item));
    assert_eq!(client.seat_map(event, ReadConsistency::Stale).await.unwrap(), map);
    assert_eq!(client.seat_map(events[1], linearizable).await.unwrap(), vec![], "an event without seats");
    assert!(matches!(client.seat_map(EventId(u64::MAX), linearizable).await, Err(ClientError::NotFound(_))));

    // The waiting list: an item of one ticket, sold out by a hold; two join,
    // a release offers the ticket to the first, who claims it; the second
    // leaves. waiting_list_entry says where each stands.
    let Accepted::ItemCreated { item: encore } =
        ok(client, Command::CreateItem { event, name: "Encore".into(), price_cents: 900 }).await
    else {
        panic!()
    };
    let one = Command::CreateQuota {
        event,
        name: "Encore".into(),
        size: Some(1),
        items: vec![encore],
        close_when_sold_out: false,
    };
    ok(client, one).await;
    let join = |buyer| Command::JoinWaitingList { event, item: encore, priority: 0, buyer };
    assert_eq!(
        client.submit(join(None)).await.unwrap().outcome,
        Outcome::Rejected(Rejection::WaitingList(WaitingListRejection::Available { item: encore }))
    );
    let place =
        Command::PlaceHold { event, lines: vec![Line { item: encore, quantity: 1 }], ttl_ms: 600_000 };
    let Accepted::HoldLive { hold: blocking, .. } = ok(client, place).await else { panic!() };
    let Accepted::WaitingListJoined { entry: first, position: 1 } = ok(client, join(None)).await else {
        panic!()
    };
    let Accepted::WaitingListJoined { entry: second, position: 2 } = ok(client, join(Some(BuyerId(7)))).await
    else {
        panic!()
    };
    let view = client.waiting_list_entry(second, linearizable).await.unwrap();
    assert_eq!(view.position, EntryPosition::Waiting { position: 2 });
    assert_eq!((view.entry.id, view.entry.event, view.entry.item), (second, event, encore));
    assert_eq!((view.entry.buyer, view.entry.status), (Some(BuyerId(7)), EntryStatus::Waiting));
    assert_eq!(
        client.submit(Command::ClaimOffer { entry: first, ttl_ms: 600_000 }).await.unwrap().outcome,
        Outcome::Rejected(Rejection::WaitingList(WaitingListRejection::NotOffered { entry: first }))
    );
    ok(client, Command::ReleaseHold { hold: blocking }).await;
    let view = client.waiting_list_entry(first, linearizable).await.unwrap();
    let EntryPosition::Offered { expires_at_ms } = view.position else { panic!("{view:?}") };
    assert_eq!(view.entry.status, EntryStatus::Offered { expires_at_ms });
    assert_eq!(
        client.waiting_list_entry(second, ReadConsistency::Stale).await.unwrap().position,
        EntryPosition::Waiting { position: 1 }
    );
    let Accepted::HoldLive { hold: claimed, .. } =
        ok(client, Command::ClaimOffer { entry: first, ttl_ms: 600_000 }).await
    else {
        panic!()
    };
    assert_eq!(
        client.waiting_list_entry(first, linearizable).await.unwrap().position,
        EntryPosition::Claimed { hold: claimed }
    );
    assert_eq!(
        ok(client, Command::LeaveWaitingList { entry: second }).await,
        Accepted::WaitingListLeft { entry: second }
    );
    let view = client.waiting_list_entry(second, linearizable).await.unwrap();
    assert_eq!((view.position, view.entry.status), (EntryPosition::Left, EntryStatus::Left));
    assert!(matches!(
        client.waiting_list_entry(EntryId(u64::MAX), linearizable).await,
        Err(ClientError::NotFound(_))
    ));

    // The waiting room: none yet, then one a second.
    assert_eq!(client.waiting_room(event, linearizable).await.unwrap(), None);
    assert!(matches!(
        client.waiting_room(EventId(u64::MAX), linearizable).await,
        Err(ClientError::NotFound(_))
    ));
    let no_room = client.submit(Command::JoinWaitingRoom { event }).await.unwrap().outcome;
    assert_eq!(no_room, Outcome::Rejected(Rejection::NotFound(ObjectRef::WaitingRoom(event))));
    let configure = Command::ConfigureWaitingRoom {
        event,
        admit_per_minute: 60,
        arrivals_per_second_max: 20,
        in_flight_max: 200,
        dry_run: false,
    };
    assert_eq!(ok(client, configure).await, Accepted::WaitingRoomConfigured { event });
    let first_id = new_request_id();
    let first = client.submit_with_id(first_id, Command::JoinWaitingRoom { event }).await.unwrap();
    assert_eq!(first.outcome, Outcome::Accepted(Accepted::WaitingRoomJoined { event, position: 1 }));
    assert_eq!(
        ok(client, Command::JoinWaitingRoom { event }).await,
        Accepted::WaitingRoomJoined { event, position: 2 }
    );
    // A shop that lost the answer, or restarted, asks again with the same request id.
    let retried = client.submit_with_id(first_id, Command::JoinWaitingRoom { event }).await.unwrap();
    assert!(retried.duplicate);
    assert_eq!(retried.outcome, first.outcome);
    let room = client.waiting_room(event, linearizable).await.unwrap().expect("a room");
    assert_eq!(
        (room.admit_per_minute, room.arrivals_per_second_max, room.in_flight_max, room.dry_run, room.joined),
        (60, 20, 200, false, 2)
    );
    assert!(room.admitted <= 2);
    let deadline = Instant::now() + Duration::from_millis(ADMIT_WAIT_MS);
    loop {
        let room = client.waiting_room(event, ReadConsistency::Stale).await.unwrap().expect("a room");
        assert!(room.admitted <= room.joined);
        if room.admitted == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the room admitted only {} of 2 in {ADMIT_WAIT_MS} ms",
            room.admitted
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        ok(client, Command::JoinWaitingRoom { event }).await,
        Accepted::WaitingRoomJoined { event, position: 3 }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shops_calls_work_on_an_embedded_engine() {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::embedded(dir.path(), ClientOptions::default()).await.unwrap();
    scenario(&client).await;
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shops_calls_work_against_a_real_server() {
    let cluster = Cluster::start(56, 1, 1_000);
    cluster.leader().await;
    let client = cluster.client();
    scenario(&client).await;

    // At the door of the real server: a bad e-mail is INVALID_ARGUMENT before anything is proposed.
    let before = cluster.status_of(1, false).await.unwrap().last_seq;
    let checkout = Command::CheckoutWithContact {
        hold: HoldId(1),
        payment_ttl_ms: 60_000,
        name: "Ada".into(),
        email: "no-at-sign".into(),
    };
    let mut inventory =
        v1::inventory_client::InventoryClient::new(support::channel(&cluster.nodes[0].grpc).await);
    let refused = inventory
        .submit(boxoffice_proto::convert::submit_request(new_request_id(), &checkout))
        .await
        .expect_err("refused at the door");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("e-mail"), "{}", refused.message());
    // The raw answers of the new queries.
    let room = inventory
        .get_waiting_room(v1::GetWaitingRoomRequest { event: 2, consistency: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(room.room.map(|r| r.joined), Some(3));
    assert!(room.now_ms > 0 && room.last_seq >= before);
    let missing = inventory
        .find_event(v1::FindEventRequest { organizer: 1, slug: "winter".into(), consistency: 0 })
        .await
        .expect_err("no such event");
    assert_eq!(missing.code(), Code::NotFound);
    let voucher = inventory
        .get_voucher(v1::GetVoucherRequest {
            which: Some(v1::get_voucher_request::Which::Voucher(u64::MAX)),
            consistency: 0,
        })
        .await
        .expect_err("no such voucher");
    assert_eq!(voucher.code(), Code::NotFound);
    let seat_map = inventory
        .get_seat_map(v1::GetSeatMapRequest { event: u64::MAX, consistency: 0 })
        .await
        .expect_err("no such event");
    assert_eq!(seat_map.code(), Code::NotFound);
    let entry = inventory
        .get_waiting_list_entry(v1::GetWaitingListEntryRequest { entry: u64::MAX, consistency: 0 })
        .await
        .expect_err("no such entry");
    assert_eq!(entry.code(), Code::NotFound);
    let unnamed = inventory
        .get_voucher(v1::GetVoucherRequest { which: None, consistency: 0 })
        .await
        .expect_err("no id or code");
    assert_eq!(unnamed.code(), Code::InvalidArgument);
    let long = v1::get_voucher_request::Which::Code("A".repeat(65));
    let long = inventory
        .get_voucher(v1::GetVoucherRequest { which: Some(long), consistency: 0 })
        .await
        .expect_err("a code longer than any");
    assert_eq!(long.code(), Code::InvalidArgument, "{long:?}");
    assert_eq!(cluster.status_of(1, false).await.unwrap().last_seq, before, "nothing was recorded");
}

/// This machine's clock, as the embedded engine and the server stamp log time.
fn wall_clock_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    u64::try_from(since.as_millis()).unwrap()
}
