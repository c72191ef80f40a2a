//! Scenario tests: one per rule of `domain.md`, named after the behaviour.
//! Every fixture also checks, when it drops, that replaying its event log
//! and round-tripping a snapshot rebuild the same state.

mod support;

use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::*;
use support::{Fx, MINUTE_MS};

// ---- Quotas and items -------------------------------------------------------

#[test]
fn weekend_pass_takes_one_from_each_of_its_quotas() {
    let mut fx = Fx::new();
    let (sat, sun, weekend) = (fx.item("Saturday"), fx.item("Sunday"), fx.item("Weekend"));
    let q_sat = fx.quota(Some(10), &[sat, weekend]);
    let q_sun = fx.quota(Some(10), &[sun, weekend]);
    fx.hold(&[(weekend, 3)]);
    assert_eq!(fx.counts(q_sat), (0, 0, 3, Some(7)));
    assert_eq!(fx.counts(q_sun), (0, 0, 3, Some(7)));
    fx.hold(&[(sat, 2)]);
    assert_eq!(fx.item_view(sat).remaining, Some(5));
    assert_eq!(fx.item_view(sun).remaining, Some(7));
}

#[test]
fn item_availability_is_the_minimum_over_its_quotas() {
    let mut fx = Fx::new();
    let (sat, weekend) = (fx.item("Saturday"), fx.item("Weekend"));
    let q_big = fx.quota(Some(100), &[sat, weekend]);
    let q_small = fx.quota(Some(4), &[weekend]);
    let view = fx.item_view(weekend);
    assert_eq!((view.remaining, view.binding_quota), (Some(4), Some(q_small)));
    assert_eq!(fx.item_view(sat).binding_quota, Some(q_big));
    let rejection = fx.try_hold(&[(weekend, 5)]).unwrap_err();
    assert!(
        matches!(rejection, Rejection::SoldOut { item, quota, remaining: 4, .. } if item == weekend && quota == q_small)
    );
}

#[test]
fn item_in_no_quota_cannot_be_sold() {
    let mut fx = Fx::new();
    let orphan = fx.item("Orphan");
    assert!(!fx.item_view(orphan).for_sale);
    assert_eq!(fx.try_hold(&[(orphan, 1)]), Err(Rejection::ItemNotForSale { item: orphan }));
}

#[test]
fn unlimited_quota_never_sells_out() {
    let mut fx = Fx::new();
    let item = fx.item("Free");
    let quota = fx.quota(None, &[item]);
    for _ in 0..50 {
        fx.sell(&[(item, HOLD_QUANTITY_MAX as u32)]);
    }
    let view = fx.quota_view(quota);
    assert_eq!(
        (view.state, view.remaining, view.paid),
        (AvailabilityState::Ok, None, 50 * HOLD_QUANTITY_MAX)
    );
}

#[test]
fn quota_created_later_counts_existing_holds_and_orders() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    fx.sell(&[(item, 3)]);
    let pending_hold = fx.hold(&[(item, 2)]);
    fx.checkout(pending_hold);
    fx.hold(&[(item, 4)]);
    let late = fx.quota(Some(10), &[item]);
    assert_eq!(fx.counts(late), (3, 2, 4, Some(1)));
}

// ---- Holds --------------------------------------------------------------------

#[test]
fn hold_is_all_or_nothing_across_every_quota_involved() {
    let mut fx = Fx::new();
    let (sat, sun, weekend) = (fx.item("Saturday"), fx.item("Sunday"), fx.item("Weekend"));
    let q_sat = fx.quota(Some(5), &[sat, weekend]);
    let q_sun = fx.quota(Some(2), &[sun, weekend]);
    let rejection = fx.try_hold(&[(sat, 2), (weekend, 2), (sun, 1)]).unwrap_err();
    assert!(matches!(rejection, Rejection::SoldOut { quota, .. } if quota == q_sun));
    assert_eq!(fx.counts(q_sat), (0, 0, 0, Some(5)), "nothing of the failed hold may stay reserved");
    assert_eq!(fx.counts(q_sun), (0, 0, 0, Some(2)));
}

#[test]
fn add_to_hold_is_all_or_nothing_and_keeps_the_expiry() {
    let mut fx = Fx::new();
    let (a, b) = (fx.item("A"), fx.item("B"));
    let qa = fx.quota(Some(10), &[a]);
    let qb = fx.quota(Some(1), &[b]);
    let hold = fx.hold(&[(a, 1)]);
    let expires = fx.state.hold(hold).unwrap().expires_at_ms;
    fx.advance(MINUTE_MS);
    let lines = vec![Line { item: a, quantity: 2 }, Line { item: b, quantity: 2 }];
    assert!(matches!(fx.rejected(Command::AddToHold { hold, lines }), Rejection::SoldOut { .. }));
    assert_eq!(fx.counts(qa).2, 1);
    let lines = vec![Line { item: a, quantity: 2 }, Line { item: b, quantity: 1 }];
    assert_eq!(
        fx.ok(Command::AddToHold { hold, lines }),
        Accepted::HoldLive { hold, expires_at_ms: expires }
    );
    assert_eq!((fx.counts(qa).2, fx.counts(qb).2), (3, 1));
}

#[test]
fn expired_hold_stops_counting_at_once_without_an_expire_command() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    fx.hold(&[(item, 2)]);
    assert!(fx.try_hold(&[(item, 1)]).is_err());
    fx.advance(30 * MINUTE_MS);
    assert_eq!(fx.counts(quota), (0, 0, 0, Some(2)));
    fx.hold(&[(item, 2)]);
}

#[test]
fn hold_extension_is_capped_at_the_hold_lifetime() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(2), &[item]);
    let hold = fx.hold(&[(item, 1)]);
    let cap = fx.state.hold(hold).unwrap().created_at_ms + HOLD_LIFETIME_MS_MAX;
    let mut last = 0;
    for _ in 0..(HOLD_LIFETIME_MS_MAX / (20 * MINUTE_MS)) {
        fx.advance(20 * MINUTE_MS);
        match fx.ok(Command::ExtendHold { hold, ttl_ms: HOLD_TTL_MS_MAX }) {
            Accepted::HoldLive { expires_at_ms, .. } => last = expires_at_ms,
            other => panic!("{other:?}"),
        }
        if last == cap {
            break;
        }
    }
    assert_eq!(last, cap, "extensions reach the cap and no further");
    fx.advance(MINUTE_MS);
    assert_eq!(
        fx.rejected(Command::ExtendHold { hold, ttl_ms: HOLD_TTL_MS_MAX }),
        Rejection::HoldLifetimeCapReached { hold, expires_at_max_ms: cap }
    );
}

#[test]
fn extending_an_expired_hold_is_rejected() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(2), &[item]);
    let hold = fx.hold(&[(item, 1)]);
    fx.advance(31 * MINUTE_MS);
    assert_eq!(fx.rejected(Command::ExtendHold { hold, ttl_ms: MINUTE_MS }), Rejection::HoldExpired { hold });
}

#[test]
fn released_hold_frees_its_capacity_at_once() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(3), &[item]);
    let hold = fx.hold(&[(item, 3)]);
    assert_eq!(fx.ok(Command::ReleaseHold { hold }), Accepted::HoldReleased { hold });
    assert_eq!(fx.counts(quota), (0, 0, 0, Some(3)));
    assert_eq!(
        fx.rejected(Command::ReleaseHold { hold }),
        Rejection::HoldClosed { hold, status: HoldStatus::Released }
    );
    assert!(matches!(fx.try_checkout(hold), Err(Rejection::HoldClosed { .. })));
}

// ---- Checkout ----------------------------------------------------------------

#[test]
fn checkout_of_live_hold_cannot_fail_for_lack_of_capacity() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(5), &[item]);
    let hold = fx.hold(&[(item, 5)]);
    // The organizer shrinks and closes the quota while the buyer pays.
    fx.ok(Command::ResizeQuota { quota, size: Some(1) });
    fx.ok(Command::CloseQuota { quota });
    let (_, tickets) = fx.try_checkout(hold).expect("a live hold already reserved its tickets");
    assert_eq!(tickets.len(), 5);
    assert_eq!(fx.counts(quota), (0, 5, 0, Some(0)));
}

#[test]
fn checkout_of_expired_hold_rechecks_capacity() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(3), &[item]);
    let lucky = fx.hold(&[(item, 2)]);
    let unlucky = fx.hold(&[(item, 1)]);
    fx.advance(31 * MINUTE_MS);
    // Capacity still there: the late checkout succeeds.
    fx.checkout(lucky);
    // Someone else takes the rest; the other late checkout fails cleanly.
    fx.hold(&[(item, 1)]);
    let rejection = fx.try_checkout(unlucky).unwrap_err();
    assert!(matches!(rejection, Rejection::SoldOut { state: AvailabilityState::Reserved, remaining: 0, .. }));
    assert_eq!(fx.counts(quota), (0, 2, 1, Some(0)));
}

#[test]
fn checkout_after_expire_command_also_rechecks_capacity() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(1), &[item]);
    let hold = fx.hold(&[(item, 1)]);
    fx.advance(31 * MINUTE_MS);
    assert_eq!(fx.ok(Command::Expire), Accepted::Expired { holds: 1, orders: 0, more: false });
    assert_eq!(fx.state.hold(hold).unwrap().status, HoldStatus::Expired);
    fx.checkout(hold);
}

#[test]
fn order_total_is_price_times_quantity_and_each_ticket_gets_a_position() {
    let mut fx = Fx::new();
    let (a, b) = (fx.item("A"), fx.item("B"));
    fx.quota(Some(10), &[a, b]);
    let hold = fx.hold(&[(a, 2), (b, 1)]);
    match fx.ok(Command::Checkout { hold, payment_ttl_ms: MINUTE_MS }) {
        Accepted::OrderPlaced { total_cents, tickets, .. } => {
            assert_eq!(total_cents, 15_000);
            let positions: Vec<_> = tickets.iter().map(|t| (t.position, t.item)).collect();
            assert_eq!(positions, vec![(0, a), (1, a), (2, b)]);
        }
        other => panic!("{other:?}"),
    }
}

// ---- Orders and payments -----------------------------------------------------

#[test]
fn paying_a_pending_order_needs_no_capacity_check() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    let order = fx.pending_order(&[(item, 2)]).0;
    fx.ok(Command::ResizeQuota { quota, size: Some(0) });
    assert_eq!(fx.ok(Command::Pay { order }), Accepted::OrderPaid { order });
    assert_eq!(fx.counts(quota), (2, 0, 0, Some(0)));
}

#[test]
fn pending_order_stops_counting_after_its_payment_deadline() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    let order = fx.pending_order(&[(item, 2)]).0;
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Ordered);
    fx.advance(61 * MINUTE_MS);
    assert_eq!(fx.counts(quota), (0, 0, 0, Some(2)));
    assert_eq!(fx.state.order(order).unwrap().effective_status(fx.time_ms), OrderStatus::Expired);
}

#[test]
fn paying_an_expired_order_rechecks_capacity_and_succeeds_when_there_is_room() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(3), &[item]);
    let order = fx.pending_order(&[(item, 2)]).0;
    fx.advance(61 * MINUTE_MS);
    fx.ok(Command::Expire);
    assert_eq!(fx.ok(Command::Pay { order }), Accepted::OrderPaid { order });
    assert_eq!(fx.counts(quota), (2, 0, 0, Some(1)));
}

#[test]
fn paying_an_expired_order_without_capacity_owes_a_refund_and_never_oversells() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    let order = fx.pending_order(&[(item, 2)]).0;
    fx.advance(61 * MINUTE_MS);
    fx.sell(&[(item, 1)]);
    let amount_cents = 10_000;
    assert_eq!(fx.ok(Command::Pay { order }), Accepted::PaymentRefundOwed { order, amount_cents });
    assert_eq!(fx.state.order(order).unwrap().status, OrderStatus::Expired);
    assert_eq!(fx.counts(quota), (1, 0, 0, Some(1)));
    let last = fx.log.last().unwrap();
    assert!(last.events.contains(&Event::RefundOwed { order, amount_cents }));
}

#[test]
fn canceling_frees_capacity_and_a_paid_order_owes_a_refund() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(4), &[item]);
    let (paid, _) = fx.sell(&[(item, 2)]);
    let pending = fx.pending_order(&[(item, 2)]).0;
    assert_eq!(
        fx.ok(Command::CancelOrder { order: paid }),
        Accepted::OrderCanceled { order: paid, refund_owed_cents: 10_000 }
    );
    assert_eq!(
        fx.ok(Command::CancelOrder { order: pending }),
        Accepted::OrderCanceled { order: pending, refund_owed_cents: 0 }
    );
    assert_eq!(fx.counts(quota), (0, 0, 0, Some(4)));
    assert_eq!(
        fx.rejected(Command::CancelOrder { order: paid }),
        Rejection::OrderStatusForbids { order: paid, status: OrderStatus::Canceled }
    );
    assert_eq!(
        fx.rejected(Command::Pay { order: paid }),
        Rejection::OrderStatusForbids { order: paid, status: OrderStatus::Canceled }
    );
}

#[test]
fn paying_twice_is_an_invalid_transition() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(4), &[item]);
    let (order, _) = fx.sell(&[(item, 1)]);
    assert_eq!(
        fx.rejected(Command::Pay { order }),
        Rejection::OrderStatusForbids { order, status: OrderStatus::Paid }
    );
}

// ---- Quota changes -----------------------------------------------------------

#[test]
fn shrinking_a_quota_below_what_is_sold_stops_new_sales_and_keeps_orders() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    fx.sell(&[(item, 6)]);
    fx.ok(Command::ResizeQuota { quota, size: Some(4) });
    assert_eq!(fx.counts(quota), (6, 0, 0, Some(0)));
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Gone);
    assert!(matches!(fx.try_hold(&[(item, 1)]), Err(Rejection::SoldOut { .. })));
    fx.ok(Command::ResizeQuota { quota, size: Some(7) });
    fx.hold(&[(item, 1)]);
}

#[test]
fn closed_quota_sells_nothing_until_reopened() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    fx.ok(Command::CloseQuota { quota });
    assert_eq!(fx.try_hold(&[(item, 1)]), Err(Rejection::QuotaClosed { item, quota }));
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Gone);
    fx.ok(Command::ReopenQuota { quota });
    fx.hold(&[(item, 1)]);
}

#[test]
fn quota_closes_itself_when_sold_out_and_stays_closed_after_a_cancel() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota_with(Some(3), &[item], true);
    let (order, _) = fx.sell(&[(item, 2)]);
    assert!(!fx.quota_view(quota).closed);
    let last = fx.pending_order(&[(item, 1)]).0;
    assert!(fx.quota_view(quota).closed, "paid + pending reached the size");
    assert!(fx.log.last().unwrap().events.contains(&Event::QuotaClosed { quota, automatically: true }));
    fx.ok(Command::CancelOrder { order });
    fx.ok(Command::CancelOrder { order: last });
    assert_eq!(fx.try_hold(&[(item, 1)]), Err(Rejection::QuotaClosed { item, quota }));
}

#[test]
fn availability_states_step_from_ok_to_reserved_ordered_and_gone() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Ok);
    let hold = fx.hold(&[(item, 2)]);
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Reserved);
    let order = fx.checkout(hold);
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Ordered);
    fx.ok(Command::Pay { order });
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Gone);
}

// ---- Check-in ----------------------------------------------------------------

fn list(fx: &mut Fx, allow_multiple_entries: bool, allow_entry_after_exit: bool) -> CheckinListId {
    let command = Command::CreateCheckinList {
        event: fx.event,
        name: "Main entrance".into(),
        allow_multiple_entries,
        allow_entry_after_exit,
    };
    match fx.ok(command) {
        Accepted::CheckinListCreated { list } => list,
        other => panic!("{other:?}"),
    }
}

fn scan(fx: &mut Fx, list: CheckinListId, secret: &str, nonce: u128, direction: Direction) -> Outcome {
    fx.run(Command::CheckIn { list, secret: secret.into(), nonce: Nonce(nonce), direction })
}

fn sold_ticket(fx: &mut Fx) -> String {
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    fx.sell(&[(item, 1)]).1[0].secret.clone()
}

const REDEEMED: Outcome = Outcome::Rejected(Rejection::CheckIn(CheckinRejection::AlreadyRedeemed));

#[test]
fn first_entry_succeeds_and_a_second_is_already_redeemed() {
    let mut fx = Fx::new();
    let secret = sold_ticket(&mut fx);
    let list = list(&mut fx, false, false);
    assert!(scan(&mut fx, list, &secret, 1, Direction::Entry).is_accepted());
    assert_eq!(scan(&mut fx, list, &secret, 2, Direction::Entry), REDEEMED);
}

#[test]
fn list_that_allows_multiple_entries_admits_again() {
    let mut fx = Fx::new();
    let secret = sold_ticket(&mut fx);
    let list = list(&mut fx, true, false);
    for nonce in 1..=3 {
        assert!(scan(&mut fx, list, &secret, nonce, Direction::Entry).is_accepted());
    }
}

#[test]
fn reentry_after_an_exit_needs_the_list_to_allow_it() {
    let mut fx = Fx::new();
    let secret = sold_ticket(&mut fx);
    let strict = list(&mut fx, false, false);
    let relaxed = list(&mut fx, false, true);
    for (list, admitted) in [(strict, false), (relaxed, true)] {
        assert!(scan(&mut fx, list, &secret, 10, Direction::Entry).is_accepted());
        assert!(scan(&mut fx, list, &secret, 11, Direction::Exit).is_accepted());
        assert_eq!(scan(&mut fx, list, &secret, 12, Direction::Entry).is_accepted(), admitted);
        // Re-entry is allowed after an exit, not after another entry.
        assert_eq!(scan(&mut fx, list, &secret, 13, Direction::Entry), REDEEMED);
    }
}

#[test]
fn repeated_scan_with_the_same_nonce_returns_the_first_result_and_records_nothing() {
    let mut fx = Fx::new();
    let secret = sold_ticket(&mut fx);
    let list = list(&mut fx, false, false);
    let first = scan(&mut fx, list, &secret, 42, Direction::Entry);
    assert!(first.is_accepted());
    let entries = fx.state.checkin_list(list).unwrap().scans.values().next().unwrap().entries;
    assert_eq!(scan(&mut fx, list, &secret, 42, Direction::Entry), first);
    assert!(fx.log.last().unwrap().events.is_empty(), "a repeated nonce records no event");
    assert_eq!(fx.state.checkin_list(list).unwrap().scans.values().next().unwrap().entries, entries);
    // A refused scan repeats its refusal too.
    let refused = scan(&mut fx, list, &secret, 43, Direction::Entry);
    assert_eq!(refused, REDEEMED);
    assert_eq!(scan(&mut fx, list, &secret, 43, Direction::Entry), refused);
}

#[test]
fn unpaid_canceled_and_unknown_tickets_are_refused() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (pending, pending_tickets) = fx.pending_order(&[(item, 1)]);
    let (paid, paid_tickets) = fx.sell(&[(item, 1)]);
    fx.ok(Command::CancelOrder { order: paid });
    let list = list(&mut fx, false, false);
    let refused = |reason| Outcome::Rejected(Rejection::CheckIn(reason));
    assert_eq!(
        scan(&mut fx, list, &pending_tickets[0].secret, 1, Direction::Entry),
        refused(CheckinRejection::Unpaid)
    );
    assert_eq!(
        scan(&mut fx, list, &paid_tickets[0].secret, 2, Direction::Entry),
        refused(CheckinRejection::Canceled)
    );
    assert_eq!(scan(&mut fx, list, "not-a-secret", 3, Direction::Entry), refused(CheckinRejection::Invalid));
    fx.ok(Command::Pay { order: pending });
    assert!(scan(&mut fx, list, &pending_tickets[0].secret, 4, Direction::Entry).is_accepted());
}

#[test]
fn ticket_of_another_event_is_invalid_on_this_list() {
    let mut fx = Fx::new();
    let secret = sold_ticket(&mut fx);
    let organizer = fx.state.event(fx.event).unwrap().organizer;
    let other = match fx.ok(Command::CreateEvent { organizer, slug: "other".into(), name: "Other".into() }) {
        Accepted::EventCreated { event } => event,
        other => panic!("{other:?}"),
    };
    fx.event = other;
    let list = list(&mut fx, false, false);
    assert_eq!(
        scan(&mut fx, list, &secret, 1, Direction::Entry),
        Outcome::Rejected(Rejection::CheckIn(CheckinRejection::Invalid))
    );
}

#[test]
fn ticket_secrets_are_unguessable_hashes_that_depend_on_the_organizer_key() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let (order, tickets) = fx.sell(&[(item, 50)]);
    let mut secrets: Vec<_> = tickets.iter().map(|t| t.secret.clone()).collect();
    assert!(
        secrets.iter().all(|s| s.len() == TICKET_SECRET_CHARS && s.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    assert_eq!(secrets[0], ticket_secret(&[7; 32], order, 0), "derived from the log, the same on every node");
    assert_ne!(secrets[0], ticket_secret(&[8; 32], order, 0), "another key gives another secret");
    secrets.sort();
    secrets.dedup();
    assert_eq!(secrets.len(), 50);
}

// ---- Idempotency and time ----------------------------------------------------

#[test]
fn retry_with_the_same_request_id_returns_the_original_outcome_and_emits_nothing() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(1), &[item]);
    let envelope = fx.envelope(Command::PlaceHold {
        event: fx.event,
        lines: vec![Line { item, quantity: 1 }],
        ttl_ms: MINUTE_MS,
    });
    let first = fx.send(&envelope);
    assert!(first.outcome.is_accepted());
    let log_len = fx.log.len();
    fx.advance(1_000);
    let retry = fx.send(&envelope);
    assert!(retry.is_duplicate());
    assert_eq!(retry.outcome, first.outcome);
    assert_eq!(fx.log.len(), log_len);
    assert_eq!(fx.counts(quota).2, 1, "the retry bought nothing twice");
}

#[test]
fn a_sold_out_answer_is_stored_and_repeated_for_retries() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(1), &[item]);
    let other = fx.hold(&[(item, 1)]);
    let envelope = fx.envelope(Command::PlaceHold {
        event: fx.event,
        lines: vec![Line { item, quantity: 1 }],
        ttl_ms: MINUTE_MS,
    });
    let first = fx.send(&envelope).outcome;
    assert!(!first.is_accepted());
    fx.ok(Command::ReleaseHold { hold: other });
    assert_eq!(fx.send(&envelope).outcome, first, "the stored outcome, not a new decision");
    assert_eq!(fx.counts(quota).2, 0);
}

#[test]
fn request_ids_are_forgotten_after_the_retention_window() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let envelope = fx.envelope(Command::PlaceHold {
        event: fx.event,
        lines: vec![Line { item, quantity: 1 }],
        ttl_ms: MINUTE_MS,
    });
    fx.send(&envelope);
    fx.advance(REQUEST_ID_RETENTION_MS - 1);
    fx.ok(Command::Expire);
    assert!(fx.state.request_outcome(envelope.request_id).is_some(), "kept within the window");
    fx.advance(1);
    fx.ok(Command::Expire);
    assert!(fx.state.request_outcome(envelope.request_id).is_none(), "pruned by log time");
    let again = Envelope { time_ms: fx.time_ms, ..envelope };
    assert!(!fx.send(&again).is_duplicate());
}

#[test]
fn a_leader_with_a_slow_clock_cannot_move_time_backwards() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(1), &[item]);
    fx.hold(&[(item, 1)]);
    fx.advance(31 * MINUTE_MS);
    fx.hold(&[(item, 1)]);
    // A new leader whose clock is 20 minutes behind proposes a hold: the
    // first hold must not come back to life, and log time must not go back.
    let now = fx.state.now_ms;
    fx.time_ms -= 20 * MINUTE_MS;
    let record_time = {
        let envelope = fx.envelope(Command::Expire);
        fx.send(&envelope).record.unwrap().time_ms
    };
    assert_eq!(record_time, now);
    fx.time_ms = now;
    assert_eq!(fx.counts(quota).2, 1);
}

#[test]
fn expire_turns_lapsed_holds_and_orders_into_events_in_bounded_batches() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(None, &[item]);
    for _ in 0..EXPIRE_EVENTS_MAX + 5 {
        fx.hold(&[(item, 1)]);
    }
    let order = fx.pending_order(&[(item, 1)]).0;
    fx.advance(61 * MINUTE_MS);
    let first = fx.ok(Command::Expire);
    assert_eq!(first, Accepted::Expired { holds: EXPIRE_EVENTS_MAX as u32, orders: 0, more: true });
    assert_eq!(fx.ok(Command::Expire), Accepted::Expired { holds: 5, orders: 1, more: false });
    assert_eq!(fx.ok(Command::Expire), Accepted::Expired { holds: 0, orders: 0, more: false });
    assert_eq!(fx.state.order(order).unwrap().status, OrderStatus::Expired);
    assert_eq!(fx.counts(quota), (0, 0, 0, None));
}

// ---- Bad input changes nothing ------------------------------------------------

#[test]
fn malformed_commands_are_rejected_with_a_reason_and_change_nothing() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(1000), &[item]);
    let other_event = {
        let organizer = fx.state.event(fx.event).unwrap().organizer;
        match fx.ok(Command::CreateEvent { organizer, slug: "b".into(), name: "B".into() }) {
            Accepted::EventCreated { event } => event,
            other => panic!("{other:?}"),
        }
    };
    let foreign = {
        let saved = fx.event;
        fx.event = other_event;
        let foreign = fx.item("Foreign");
        fx.event = saved;
        foreign
    };
    let before = (fx.counts(quota), fx.state.holds().count(), fx.state.orders().count());
    let line = |item, quantity| vec![Line { item, quantity }];
    let event = fx.event;
    let cases = [
        (
            Command::PlaceHold { event, lines: vec![], ttl_ms: MINUTE_MS },
            Rejection::Invalid(InvalidInput::Lines),
        ),
        (
            Command::PlaceHold { event, lines: line(item, 0), ttl_ms: MINUTE_MS },
            Rejection::Invalid(InvalidInput::Lines),
        ),
        (
            Command::PlaceHold { event, lines: line(item, u32::MAX), ttl_ms: MINUTE_MS },
            Rejection::Invalid(InvalidInput::Quantity),
        ),
        (
            Command::PlaceHold {
                event,
                lines: vec![Line { item, quantity: 1 }; HOLD_LINES_MAX + 1],
                ttl_ms: MINUTE_MS,
            },
            Rejection::Invalid(InvalidInput::Lines),
        ),
        (
            Command::PlaceHold { event, lines: line(item, 1), ttl_ms: 0 },
            Rejection::Invalid(InvalidInput::Ttl),
        ),
        (
            Command::PlaceHold { event, lines: line(item, 1), ttl_ms: u64::MAX },
            Rejection::Invalid(InvalidInput::Ttl),
        ),
        (
            Command::PlaceHold { event, lines: line(ItemId(999_999), 1), ttl_ms: MINUTE_MS },
            Rejection::NotFound(ObjectRef::Item(ItemId(999_999))),
        ),
        (
            Command::PlaceHold { event, lines: line(foreign, 1), ttl_ms: MINUTE_MS },
            Rejection::Invalid(InvalidInput::ItemOfOtherEvent { item: foreign }),
        ),
        (
            Command::PlaceHold { event: EventId(424_242), lines: line(item, 1), ttl_ms: MINUTE_MS },
            Rejection::NotFound(ObjectRef::Event(EventId(424_242))),
        ),
        (Command::Pay { order: OrderId(5) }, Rejection::NotFound(ObjectRef::Order(OrderId(5)))),
        (
            Command::Checkout { hold: HoldId(5), payment_ttl_ms: MINUTE_MS },
            Rejection::NotFound(ObjectRef::Hold(HoldId(5))),
        ),
        (
            Command::ResizeQuota { quota, size: Some(QUOTA_SIZE_MAX + 1) },
            Rejection::Invalid(InvalidInput::QuotaSize),
        ),
        (
            Command::CreateQuota {
                event,
                name: "q".into(),
                size: Some(1),
                items: vec![item, item],
                close_when_sold_out: false,
            },
            Rejection::Invalid(InvalidInput::QuotaItems),
        ),
        (
            Command::CreateOrganizer { slug: "Not A Slug!".into(), name: "x".into(), secret_key: [0; 32] },
            Rejection::Invalid(InvalidInput::Slug),
        ),
        (
            Command::CreateOrganizer { slug: "acme".into(), name: "again".into(), secret_key: [0; 32] },
            Rejection::SlugTaken { slug: "acme".into() },
        ),
        (
            Command::CreateItem { event, name: " ".into(), price_cents: 1 },
            Rejection::Invalid(InvalidInput::Name),
        ),
        (
            Command::CreateItem { event, name: "x".into(), price_cents: ITEM_PRICE_CENTS_MAX + 1 },
            Rejection::Invalid(InvalidInput::Price),
        ),
    ];
    for (command, expected) in cases {
        assert_eq!(fx.rejected(command.clone()), expected, "{command:?}");
        assert!(fx.log.last().unwrap().events.is_empty(), "{command:?} emitted events");
    }
    assert_eq!(before, (fx.counts(quota), fx.state.holds().count(), fx.state.orders().count()));
}

#[test]
fn a_leader_clock_an_hour_fast_moves_log_time_one_step_and_a_retried_checkout_keeps_its_outcome() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(1), &[item]);
    let hold = fx.hold(&[(item, 1)]);
    let checkout = fx.envelope(Command::Checkout { hold, payment_ttl_ms: 30 * MINUTE_MS });
    let first = fx.send(&checkout).outcome;
    assert!(matches!(first, Outcome::Accepted(Accepted::OrderPlaced { .. })));
    let before_ms = fx.state.now_ms;
    // A new leader whose clock is 61 minutes fast stamps the next command.
    fx.time_ms += 61 * MINUTE_MS;
    let jumped = fx.envelope(Command::Expire);
    let record_ms = fx.send(&jumped).record.expect("a new command leaves a record").time_ms;
    assert!(record_ms - before_ms <= MINUTE_MS, "one record moved log time by {} ms", record_ms - before_ms);
    // The pending order did not lapse (its 30-minute deadline stands) ...
    let view = fx.state.quota_availability(quota, fx.state.now_ms).unwrap();
    assert_eq!((view.paid, view.pending, view.held), (0, 1, 0));
    // ... and the buyer's retried checkout gets its original answer, not a new decision.
    let retry = Envelope { time_ms: fx.time_ms, ..checkout };
    let again = fx.send(&retry);
    assert!(again.is_duplicate(), "the request id was pruned by the clock jump");
    assert_eq!(again.outcome, first);
    fx.time_ms = fx.state.now_ms;
}

#[test]
fn a_request_id_reused_with_another_command_is_a_conflict_and_changes_nothing() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(5), &[item]);
    let (order, _) = fx.pending_order(&[(item, 1)]);
    let place = fx.envelope(Command::PlaceHold {
        event: fx.event,
        lines: vec![Line { item, quantity: 1 }],
        ttl_ms: MINUTE_MS,
    });
    assert!(fx.send(&place).outcome.is_accepted());
    // The hold's request id reused for a payment: not "accepted", and the order stays unpaid.
    let pay = Envelope { command: Command::Pay { order }, ..place.clone() };
    let before = fx.state.clone();
    let answer = fx.send(&pay);
    assert_eq!(answer.outcome, Outcome::Rejected(Rejection::Conflict));
    assert!(answer.record.is_none(), "a conflict records nothing");
    assert_eq!(fx.state, before);
    assert_eq!(fx.state.order(order).unwrap().status, OrderStatus::Pending);
    // The same command again is still a plain retry with the first outcome.
    assert!(fx.send(&place).is_duplicate());
}

// ---- Removing from a hold ----------------------------------------------------

fn remove(fx: &mut Fx, hold: HoldId, lines: &[(ItemId, u32)]) -> Outcome {
    let lines = lines.iter().map(|&(item, quantity)| Line { item, quantity }).collect();
    fx.run(Command::RemoveFromHold { hold, lines })
}

#[test]
fn removing_from_a_hold_frees_its_capacity_at_once_and_keeps_the_expiry() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(5), &[item]);
    let hold = fx.hold(&[(item, 5)]);
    let expires_at_ms = fx.state.hold(hold).unwrap().expires_at_ms;
    assert!(matches!(fx.try_hold(&[(item, 2)]), Err(Rejection::SoldOut { .. })));
    fx.advance(MINUTE_MS);
    assert_eq!(
        remove(&mut fx, hold, &[(item, 2)]),
        Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms })
    );
    assert_eq!(fx.counts(quota), (0, 0, 3, Some(2)));
    assert_eq!(fx.state.hold(hold).unwrap().lines, vec![Line { item, quantity: 3 }]);
    fx.hold(&[(item, 2)]);
    // The smaller cart checks out as what is left in it.
    let (_, tickets) = fx.try_checkout(hold).unwrap();
    assert_eq!(tickets.len(), 3);
}

#[test]
fn removing_a_weekend_pass_frees_it_in_both_of_its_quotas() {
    let mut fx = Fx::new();
    let (sat, sun, weekend) = (fx.item("Saturday"), fx.item("Sunday"), fx.item("Weekend"));
    let q_sat = fx.quota(Some(10), &[sat, weekend]);
    let q_sun = fx.quota(Some(10), &[sun, weekend]);
    let hold = fx.hold(&[(sat, 1), (weekend, 3)]);
    fx.ok(Command::RemoveFromHold { hold, lines: vec![Line { item: weekend, quantity: 2 }] });
    assert_eq!(fx.counts(q_sat), (0, 0, 2, Some(8)));
    assert_eq!(fx.counts(q_sun), (0, 0, 1, Some(9)));
}

#[test]
fn removing_takes_from_the_last_lines_of_an_item_first_and_drops_emptied_lines() {
    let mut fx = Fx::new();
    let (a, b) = (fx.item("A"), fx.item("B"));
    fx.quota(Some(100), &[a, b]);
    let hold = fx.hold(&[(a, 2)]);
    fx.ok(Command::AddToHold {
        hold,
        lines: vec![Line { item: b, quantity: 1 }, Line { item: a, quantity: 3 }],
    });
    fx.ok(Command::RemoveFromHold { hold, lines: vec![Line { item: a, quantity: 4 }] });
    assert_eq!(
        fx.state.hold(hold).unwrap().lines,
        vec![Line { item: a, quantity: 1 }, Line { item: b, quantity: 1 }]
    );
}

#[test]
fn removing_more_than_a_hold_has_is_invalid_and_changes_nothing() {
    let mut fx = Fx::new();
    let (a, b, c) = (fx.item("A"), fx.item("B"), fx.item("C"));
    let quota = fx.quota(Some(10), &[a, b, c]);
    let hold = fx.hold(&[(a, 2), (b, 1)]);
    let before = fx.state.hold(hold).unwrap().clone();
    let invalid = |item| Outcome::Rejected(Rejection::Invalid(InvalidInput::NotInHold { item }));
    assert_eq!(remove(&mut fx, hold, &[(a, 3)]), invalid(a));
    assert_eq!(remove(&mut fx, hold, &[(c, 1)]), invalid(c), "an item the hold does not have");
    assert_eq!(remove(&mut fx, hold, &[(a, 1), (a, 2)]), invalid(a), "two lines of one item add up");
    assert_eq!(remove(&mut fx, hold, &[(b, 1), (a, 9)]), invalid(a), "all or nothing");
    assert_eq!(remove(&mut fx, hold, &[(ItemId(u64::MAX), 1)]), invalid(ItemId(u64::MAX)));
    assert_eq!(remove(&mut fx, hold, &[(a, 0)]), Outcome::Rejected(Rejection::Invalid(InvalidInput::Lines)));
    assert_eq!(remove(&mut fx, hold, &[]), Outcome::Rejected(Rejection::Invalid(InvalidInput::Lines)));
    assert_eq!(fx.state.hold(hold), Some(&before));
    assert_eq!(fx.counts(quota), (0, 0, 3, Some(7)));
}

#[test]
fn removing_everything_leaves_an_empty_live_hold_that_can_be_refilled_but_not_checked_out() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(4), &[item]);
    let hold = fx.hold(&[(item, 4)]);
    assert!(remove(&mut fx, hold, &[(item, 4)]).is_accepted());
    let emptied = fx.state.hold(hold).unwrap();
    assert!(emptied.lines.is_empty() && emptied.is_live(fx.time_ms));
    assert_eq!(fx.counts(quota), (0, 0, 0, Some(4)));
    assert_eq!(fx.try_checkout(hold), Err(Rejection::Invalid(InvalidInput::Lines)));
    let checkout = Command::CheckoutWithContact {
        hold,
        payment_ttl_ms: MINUTE_MS,
        name: "Ada".into(),
        email: "ada@example.org".into(),
    };
    assert_eq!(fx.rejected(checkout), Rejection::Invalid(InvalidInput::Lines));
    fx.ok(Command::AddToHold { hold, lines: vec![Line { item, quantity: 1 }] });
    assert_eq!(fx.try_checkout(hold).unwrap().1.len(), 1);
    // An emptied hold that lapses is expired like any other.
    let other = fx.hold(&[(item, 1)]);
    assert!(remove(&mut fx, other, &[(item, 1)]).is_accepted());
    fx.advance(31 * MINUTE_MS);
    assert_eq!(fx.ok(Command::Expire), Accepted::Expired { holds: 1, orders: 0, more: false });
    assert_eq!(fx.state.hold(other).unwrap().status, HoldStatus::Expired);
    assert_eq!(fx.try_checkout(other), Err(Rejection::Invalid(InvalidInput::Lines)));
}

#[test]
fn removing_from_an_expired_released_or_checked_out_hold_is_rejected() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    let lapsed = fx.hold(&[(item, 1)]);
    let released = fx.hold(&[(item, 1)]);
    fx.ok(Command::ReleaseHold { hold: released });
    let bought = fx.hold(&[(item, 1)]);
    fx.checkout(bought);
    assert_eq!(
        remove(&mut fx, released, &[(item, 1)]),
        Outcome::Rejected(Rejection::HoldClosed { hold: released, status: HoldStatus::Released })
    );
    assert_eq!(
        remove(&mut fx, bought, &[(item, 1)]),
        Outcome::Rejected(Rejection::HoldClosed { hold: bought, status: HoldStatus::CheckedOut })
    );
    fx.advance(31 * MINUTE_MS);
    let expired = Outcome::Rejected(Rejection::HoldExpired { hold: lapsed });
    assert_eq!(remove(&mut fx, lapsed, &[(item, 1)]), expired, "lapsed, not yet recorded");
    fx.ok(Command::Expire);
    assert_eq!(remove(&mut fx, lapsed, &[(item, 1)]), expired, "recorded as expired");
    assert_eq!(
        remove(&mut fx, HoldId(u64::MAX - 1), &[(item, 1)]),
        Outcome::Rejected(Rejection::NotFound(ObjectRef::Hold(HoldId(u64::MAX - 1))))
    );
    assert_eq!(fx.counts(quota), (0, 1, 0, Some(9)), "only the order counts");
}

// ---- Checkout with the buyer's contact ---------------------------------------

fn checkout_with(hold: HoldId, name: &str, email: &str) -> Command {
    Command::CheckoutWithContact {
        hold,
        payment_ttl_ms: 60 * MINUTE_MS,
        name: name.into(),
        email: email.into(),
    }
}

#[test]
fn checkout_with_contact_stores_it_on_the_order_and_decides_like_checkout() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    let plain = fx.hold(&[(item, 2)]);
    let with = fx.hold(&[(item, 2)]);
    let Accepted::OrderPlaced { order: first, total_cents: a, tickets: t1, .. } =
        fx.ok(Command::Checkout { hold: plain, payment_ttl_ms: 60 * MINUTE_MS })
    else {
        panic!()
    };
    let Accepted::OrderPlaced { order: second, total_cents: b, tickets: t2, .. } =
        fx.ok(checkout_with(with, "Ada Lovelace", "ada@example.org"))
    else {
        panic!()
    };
    assert_eq!((a, t1.len()), (b, t2.len()));
    assert_eq!(fx.state.order(first).unwrap().contact, None);
    let contact = Contact { name: "Ada Lovelace".into(), email: "ada@example.org".into() };
    assert_eq!(fx.state.order(second).unwrap().contact, Some(contact));
    assert_eq!(fx.counts(quota), (0, 4, 0, Some(6)));
    // A lapsed hold re-checks capacity, with or without a contact.
    let late = fx.hold(&[(item, 6)]);
    fx.advance(31 * MINUTE_MS);
    fx.hold(&[(item, 1)]);
    assert!(matches!(fx.rejected(checkout_with(late, "Bo", "bo@example.org")), Rejection::SoldOut { .. }));
    assert_eq!(
        fx.rejected(checkout_with(with, "Bo", "bo@example.org")),
        Rejection::HoldClosed { hold: with, status: HoldStatus::CheckedOut }
    );
}

#[test]
fn a_bad_buyer_name_or_email_is_invalid_and_checks_nothing_out() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    let hold = fx.hold(&[(item, 1)]);
    let long_name = "n".repeat(CONTACT_NAME_BYTES_MAX + 1);
    let long_email = format!("{}@example.org", "a".repeat(EMAIL_BYTES_MAX - 11));
    let bad_names = ["", "   ", "Ada\nLovelace", "Ada\u{0}", "Ada\u{7f}", long_name.as_str()];
    for name in bad_names {
        let command = checkout_with(hold, name, "ada@example.org");
        assert_eq!(command.validate(), Err(InvalidInput::ContactName), "{name:?}");
        assert_eq!(fx.rejected(command), Rejection::Invalid(InvalidInput::ContactName), "{name:?}");
    }
    let bad_emails = [
        "",
        "ada",
        "ada@",
        "@example.org",
        "a@b@c",
        "ada lovelace@example.org",
        "ada@example.org\n",
        long_email.as_str(),
    ];
    for email in bad_emails {
        let command = checkout_with(hold, "Ada", email);
        assert_eq!(command.validate(), Err(InvalidInput::Email), "{email:?}");
        assert_eq!(fx.rejected(command), Rejection::Invalid(InvalidInput::Email), "{email:?}");
    }
    assert_eq!(fx.state.hold(hold).unwrap().status, HoldStatus::Active);
    assert_eq!(fx.counts(quota), (0, 0, 1, Some(9)));
    // Exactly at the limits, and beyond ASCII, is fine.
    let name = "é".repeat(CONTACT_NAME_BYTES_MAX / 2);
    let email = format!("{}@example.org", "a".repeat(EMAIL_BYTES_MAX - 12));
    assert_eq!(email.len(), EMAIL_BYTES_MAX);
    assert!(matches!(fx.ok(checkout_with(hold, &name, &email)), Accepted::OrderPlaced { .. }));
}

// ---- Waiting rooms -----------------------------------------------------------

fn configure(fx: &mut Fx, admit_per_minute: u32) -> Outcome {
    fx.run(Command::ConfigureWaitingRoom {
        event: fx.event,
        admit_per_minute,
        arrivals_per_second_max: 100,
        in_flight_max: 1_000,
        dry_run: false,
    })
}

fn join(fx: &mut Fx) -> u64 {
    match fx.ok(Command::JoinWaitingRoom { event: fx.event }) {
        Accepted::WaitingRoomJoined { position, .. } => position,
        other => panic!("{other:?}"),
    }
}

/// (joined, admitted) of the fixture's room at `at_ms`.
fn room_at(fx: &Fx, at_ms: u64) -> (u64, u64) {
    let view = fx.state.waiting_room(fx.event, at_ms).expect("the event has a room");
    (view.joined, view.admitted)
}

#[test]
fn waiting_room_positions_are_one_to_n_in_log_order() {
    let mut fx = Fx::new();
    assert_eq!(
        configure(&mut fx, 60),
        Outcome::Accepted(Accepted::WaitingRoomConfigured { event: fx.event })
    );
    let positions: Vec<u64> = (0..5).map(|_| join(&mut fx)).collect();
    assert_eq!(positions, vec![1, 2, 3, 4, 5]);
    let view = fx.state.waiting_room(fx.event, fx.time_ms).unwrap();
    let expected = WaitingRoomView {
        admit_per_minute: 60,
        arrivals_per_second_max: 100,
        in_flight_max: 1_000,
        dry_run: false,
        joined: 5,
        admitted: 0,
    };
    assert_eq!(view, expected);
}

#[test]
fn a_waiting_room_admits_at_its_rate_in_log_time_and_never_more_than_joined() {
    let mut fx = Fx::new();
    configure(&mut fx, 60); // one a second
    let t0 = fx.time_ms;
    for _ in 0..5 {
        join(&mut fx);
    }
    assert_eq!(room_at(&fx, t0), (5, 0));
    assert_eq!(room_at(&fx, t0 + 999), (5, 0));
    assert_eq!(room_at(&fx, t0 + 1_000), (5, 1));
    assert_eq!(room_at(&fx, t0 + 2_500), (5, 2));
    assert_eq!(room_at(&fx, t0 + 10_000), (5, 5), "capped at joined");
    assert_eq!(room_at(&fx, u64::MAX), (5, 5));
    // Reads at a time before the last rebase see what was admitted then.
    assert_eq!(room_at(&fx, t0 - 1), (5, 0));
    // Log time, not a clock: later joins do not change who was admitted when.
    fx.advance(3_000);
    assert_eq!(join(&mut fx), 6);
    assert_eq!(room_at(&fx, fx.time_ms), (6, 3));
}

#[test]
fn idle_time_does_not_bank_admissions() {
    let mut fx = Fx::new();
    configure(&mut fx, 60);
    // An hour with nobody in the room, then a crowd.
    fx.advance(60 * MINUTE_MS);
    let t1 = fx.time_ms;
    for _ in 0..10 {
        join(&mut fx);
    }
    assert_eq!(room_at(&fx, t1), (10, 0), "the hour admitted no one in advance");
    assert_eq!(room_at(&fx, t1 + 1_000), (10, 1));
    // The queue drains, stays empty for an hour, and a new crowd comes.
    fx.advance(60 * MINUTE_MS);
    let t2 = fx.time_ms;
    assert_eq!(room_at(&fx, t2), (10, 10));
    for _ in 0..3 {
        join(&mut fx);
    }
    assert_eq!(room_at(&fx, t2), (13, 10));
    assert_eq!(room_at(&fx, t2 + 1_000), (13, 11));
    assert_eq!(room_at(&fx, t2 + 3_000), (13, 13));
}

#[test]
fn a_retried_join_returns_the_same_position_and_joins_no_one() {
    let mut fx = Fx::new();
    configure(&mut fx, 60);
    let first = fx.envelope(Command::JoinWaitingRoom { event: fx.event });
    let applied = fx.send(&first);
    assert_eq!(
        applied.outcome,
        Outcome::Accepted(Accepted::WaitingRoomJoined { event: fx.event, position: 1 })
    );
    join(&mut fx);
    // The shop lost the answer (or restarted) and asks again with the same request id.
    fx.advance(5 * MINUTE_MS);
    let mut retry = first.clone();
    retry.time_ms = fx.time_ms;
    let again = fx.send(&retry);
    assert!(again.is_duplicate());
    assert_eq!(again.outcome, applied.outcome);
    assert_eq!(room_at(&fx, fx.time_ms).0, 2);
    assert_eq!(join(&mut fx), 3);
}

#[test]
fn reconfiguring_a_room_keeps_the_queue_and_admits_at_the_new_rate_from_then_on() {
    let mut fx = Fx::new();
    configure(&mut fx, 60);
    let t0 = fx.time_ms;
    for _ in 0..20 {
        join(&mut fx);
    }
    fx.advance(3_000);
    assert_eq!(room_at(&fx, fx.time_ms), (20, 3));
    assert!(configure(&mut fx, 600).is_accepted()); // ten a second
    let t1 = fx.time_ms;
    assert_eq!(room_at(&fx, t1), (20, 3), "what was admitted stays admitted");
    assert_eq!(room_at(&fx, t1 + 500), (20, 8));
    assert_eq!(fx.state.waiting_room(fx.event, t1).unwrap().admit_per_minute, 600);
    // Slowing down does not take back anyone admitted either.
    fx.advance(1_000);
    assert!(configure(&mut fx, 1).is_accepted());
    assert_eq!(room_at(&fx, fx.time_ms), (20, 13));
    assert_eq!(room_at(&fx, fx.time_ms + MINUTE_MS), (20, 14));
    assert_eq!(join(&mut fx), 21);
    assert!(t1 > t0);
}

#[test]
fn a_room_of_an_unknown_event_or_an_event_without_one_is_not_found() {
    let mut fx = Fx::new();
    let unknown = EventId(u64::MAX);
    let configure_unknown = Command::ConfigureWaitingRoom {
        event: unknown,
        admit_per_minute: 60,
        arrivals_per_second_max: 1,
        in_flight_max: 1,
        dry_run: true,
    };
    assert_eq!(fx.rejected(configure_unknown), Rejection::NotFound(ObjectRef::Event(unknown)));
    assert_eq!(
        fx.rejected(Command::JoinWaitingRoom { event: unknown }),
        Rejection::NotFound(ObjectRef::Event(unknown))
    );
    assert_eq!(
        fx.rejected(Command::JoinWaitingRoom { event: fx.event }),
        Rejection::NotFound(ObjectRef::WaitingRoom(fx.event))
    );
    assert_eq!(fx.state.waiting_room(fx.event, fx.time_ms), None);
    assert_eq!(fx.state.waiting_room(unknown, fx.time_ms), None);
}

#[test]
fn waiting_room_settings_outside_their_limits_are_invalid() {
    let mut fx = Fx::new();
    let room = |admit_per_minute, arrivals_per_second_max, in_flight_max| Command::ConfigureWaitingRoom {
        event: EventId(2),
        admit_per_minute,
        arrivals_per_second_max,
        in_flight_max,
        dry_run: false,
    };
    let bad = [
        room(0, 1, 1),
        room(ROOM_ADMIT_PER_MINUTE_MAX + 1, 1, 1),
        room(1, 0, 1),
        room(1, ROOM_ARRIVALS_PER_SECOND_MAX + 1, 1),
        room(1, 1, 0),
        room(1, 1, ROOM_IN_FLIGHT_MAX + 1),
    ];
    for command in bad {
        assert_eq!(command.validate(), Err(InvalidInput::WaitingRoom), "{command:?}");
        assert_eq!(fx.rejected(command), Rejection::Invalid(InvalidInput::WaitingRoom));
    }
    assert_eq!(fx.state.waiting_room(fx.event, fx.time_ms), None);
    fx.ok(room(ROOM_ADMIT_PER_MINUTE_MAX, ROOM_ARRIVALS_PER_SECOND_MAX, ROOM_IN_FLIGHT_MAX));
    fx.ok(room(1, 1, 1));
}

#[test]
fn admission_arithmetic_cannot_overflow_for_any_input() {
    let room = |base, base_at_ms, joined| WaitingRoom {
        event: EventId(1),
        admit_per_minute: u32::MAX,
        arrivals_per_second_max: 1,
        in_flight_max: 1,
        dry_run: false,
        joined,
        base,
        base_at_ms,
    };
    assert_eq!(room(u64::MAX - 1, 0, u64::MAX).admitted(u64::MAX), u64::MAX);
    assert_eq!(room(0, 0, u64::MAX).admitted(u64::MAX), u64::MAX);
    assert_eq!(room(5, u64::MAX, 9).admitted(0), 5, "a time before the rebase is no time");
    let fastest = WaitingRoom { admit_per_minute: ROOM_ADMIT_PER_MINUTE_MAX, ..room(0, 0, u64::MAX) };
    assert_eq!(fastest.admitted(60_000), u64::from(ROOM_ADMIT_PER_MINUTE_MAX));
}
