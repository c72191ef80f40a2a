//! Scenario tests for the rest of pretix's inventory: variations, vouchers
//! and order limits, one per rule, named after the behaviour. Every
//! fixture also checks, when it drops, that replaying its event log and
//! round-tripping a snapshot rebuild the same state (`support::Fx`).

mod support;

use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::*;
use support::{Fx, MINUTE_MS};

const HOUR_MS: u64 = 60 * MINUTE_MS;

fn variation(fx: &mut Fx, item: ItemId, name: &str, price_cents: u64) -> ItemId {
    match fx.ok(Command::CreateVariation { item, name: name.into(), price_cents }) {
        Accepted::ItemCreated { item } => item,
        other => panic!("{other:?}"),
    }
}

fn lines(lines: &[(ItemId, u32)]) -> Vec<Line> {
    lines.iter().map(|&(item, quantity)| Line { item, quantity }).collect()
}

/// A voucher valid from now for a day.
fn voucher(
    fx: &mut Fx,
    scope: VoucherScope,
    max_redemptions: u32,
    blocks_quota: bool,
) -> (VoucherId, String) {
    let (from, until) = (fx.state.now_ms, fx.state.now_ms + 24 * HOUR_MS);
    voucher_in(fx, scope, max_redemptions, blocks_quota, from, until)
}

fn voucher_in(
    fx: &mut Fx,
    scope: VoucherScope,
    max_redemptions: u32,
    blocks_quota: bool,
    valid_from_ms: u64,
    valid_until_ms: u64,
) -> (VoucherId, String) {
    let command = Command::CreateVoucher {
        event: fx.event,
        scope,
        max_redemptions,
        valid_from_ms,
        valid_until_ms,
        blocks_quota,
    };
    match fx.ok(command) {
        Accepted::VoucherCreated { voucher, code } => (voucher, code),
        other => panic!("{other:?}"),
    }
}

fn hold_with(
    fx: &mut Fx,
    items: &[(ItemId, u32)],
    code: Option<&str>,
    buyer: Option<u128>,
) -> Result<HoldId, Rejection> {
    let command = Command::PlaceHoldWith {
        event: fx.event,
        lines: lines(items),
        ttl_ms: 30 * MINUTE_MS,
        voucher: code.map(str::to_owned),
        buyer: buyer.map(BuyerId),
    };
    match fx.run(command) {
        Outcome::Accepted(Accepted::HoldLive { hold, .. }) => Ok(hold),
        Outcome::Accepted(other) => panic!("{other:?}"),
        Outcome::Rejected(rejection) => Err(rejection),
    }
}

fn redeem(fx: &mut Fx, items: &[(ItemId, u32)], code: &str) -> Result<HoldId, Rejection> {
    hold_with(fx, items, Some(code), None)
}

fn redeemed(fx: &Fx, voucher: VoucherId) -> u64 {
    fx.state.voucher(voucher).unwrap().redeemed(fx.time_ms)
}

fn limits(fx: &mut Fx, item: ItemId, min: Option<u32>, max: Option<u32>, buyer: Option<u32>) {
    let limits = OrderLimits { min_per_order: min, max_per_order: max, max_per_buyer: buyer };
    assert_eq!(fx.ok(Command::SetOrderLimits { item, limits }), Accepted::OrderLimitsSet { item });
}

/// (paid, pending, held, blocked, remaining) of a quota now.
fn counts(fx: &Fx, quota: QuotaId) -> (u64, u64, u64, u64, Option<u64>) {
    let view = fx.quota_view(quota);
    (view.paid, view.pending, view.held, view.blocked, view.remaining)
}

// ---- Variations -------------------------------------------------------------

#[test]
fn a_quota_over_an_item_covers_every_variation_of_it() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let (small, medium) = (variation(&mut fx, shirt, "S", 2_000), variation(&mut fx, shirt, "M", 2_000));
    let quota = fx.quota(Some(5), &[shirt]);
    fx.hold(&[(small, 3), (medium, 2)]);
    assert_eq!(fx.counts(quota), (0, 0, 5, Some(0)));
    assert!(matches!(fx.try_hold(&[(small, 1)]), Err(Rejection::SoldOut { quota: q, .. }) if q == quota));
    assert_eq!(fx.item_view(medium).remaining, Some(0));
}

#[test]
fn a_quota_may_name_one_variation_and_its_availability_is_the_minimum_over_its_quotas() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let (small, large) = (variation(&mut fx, shirt, "S", 2_000), variation(&mut fx, shirt, "L", 2_000));
    let all = fx.quota(Some(10), &[shirt]);
    let only_large = fx.quota(Some(2), &[large]);
    assert_eq!(fx.state.item(large).unwrap().quotas, vec![all, only_large]);
    assert_eq!(fx.state.item(small).unwrap().quotas, vec![all]);
    let view = fx.item_view(large);
    assert_eq!((view.remaining, view.binding_quota), (Some(2), Some(only_large)));
    assert_eq!(fx.item_view(small).remaining, Some(10));
    let rejection = fx.try_hold(&[(large, 3)]).unwrap_err();
    assert!(
        matches!(rejection, Rejection::SoldOut { item, quota, .. } if item == large && quota == only_large)
    );
    fx.hold(&[(large, 2), (small, 3)]);
    assert_eq!(fx.counts(all), (0, 0, 5, Some(5)));
    assert_eq!(fx.counts(only_large), (0, 0, 2, Some(0)));
}

#[test]
fn an_item_with_variations_must_be_bought_as_one_of_them() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let small = variation(&mut fx, shirt, "S", 2_000);
    fx.quota(Some(5), &[shirt]);
    let invalid = Rejection::Invalid(InvalidInput::VariationRequired { item: shirt });
    assert_eq!(fx.try_hold(&[(shirt, 1)]), Err(invalid.clone()));
    let hold = fx.hold(&[(small, 1)]);
    assert_eq!(fx.rejected(Command::AddToHold { hold, lines: lines(&[(shirt, 1)]) }), invalid);
}

#[test]
fn a_variation_is_priced_and_ticketed_as_itself() {
    let mut fx = Fx::new();
    let ticket = fx.item("Ticket");
    let student = variation(&mut fx, ticket, "Student", 1_500);
    let regular = variation(&mut fx, ticket, "Regular", 4_000);
    fx.quota(Some(10), &[ticket]);
    let hold = fx.hold(&[(student, 2), (regular, 1)]);
    match fx.ok(Command::Checkout { hold, payment_ttl_ms: HOUR_MS }) {
        Accepted::OrderPlaced { total_cents, tickets, .. } => {
            assert_eq!(total_cents, 2 * 1_500 + 4_000);
            let items: Vec<ItemId> = tickets.iter().map(|t| t.item).collect();
            assert_eq!(items, vec![student, student, regular]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn variations_are_one_level_deep_and_at_most_item_variations_max() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let first = variation(&mut fx, shirt, "v0", 1);
    assert_eq!(
        fx.rejected(Command::CreateVariation { item: first, name: "v0 of v0".into(), price_cents: 1 }),
        Rejection::Invalid(InvalidInput::Variations { item: first })
    );
    for i in 1..ITEM_VARIATIONS_MAX {
        variation(&mut fx, shirt, &format!("v{i}"), 1);
    }
    assert_eq!(fx.state.item(shirt).unwrap().variations.len(), ITEM_VARIATIONS_MAX);
    assert_eq!(
        fx.rejected(Command::CreateVariation { item: shirt, name: "one more".into(), price_cents: 1 }),
        Rejection::Invalid(InvalidInput::Variations { item: shirt })
    );
}

#[test]
fn a_quota_that_names_an_item_and_one_of_its_variations_is_refused() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let small = variation(&mut fx, shirt, "S", 2_000);
    let command = Command::CreateQuota {
        event: fx.event,
        name: "both".into(),
        size: Some(3),
        items: vec![shirt, small],
        close_when_sold_out: false,
    };
    assert_eq!(fx.rejected(command), Rejection::Invalid(InvalidInput::QuotaItems));
}

#[test]
fn a_quota_over_an_item_needs_room_in_the_quota_lists_of_its_variations() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let small = variation(&mut fx, shirt, "S", 2_000);
    for _ in 0..ITEM_QUOTAS_MAX {
        fx.quota(None, &[small]);
    }
    let command = Command::CreateQuota {
        event: fx.event,
        name: "over the shirt".into(),
        size: None,
        items: vec![shirt],
        close_when_sold_out: false,
    };
    assert_eq!(fx.rejected(command), Rejection::Invalid(InvalidInput::ItemQuotas { item: small }));
}

#[test]
fn a_variation_added_later_joins_its_items_quotas_and_holds_of_the_item_itself_stand() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let quota = fx.quota(Some(5), &[shirt]);
    let old = fx.hold(&[(shirt, 2)]);
    let small = variation(&mut fx, shirt, "S", 2_000);
    assert_eq!(fx.state.item(small).unwrap().quotas, vec![quota]);
    fx.hold(&[(small, 3)]);
    assert_eq!(fx.counts(quota), (0, 0, 5, Some(0)));
    assert!(matches!(
        fx.try_hold(&[(shirt, 1)]),
        Err(Rejection::Invalid(InvalidInput::VariationRequired { .. }))
    ));
    // The hold made before the item had variations checks out as it is.
    fx.checkout(old);
    assert_eq!(fx.counts(quota), (0, 2, 3, Some(0)));
}

#[test]
fn a_quota_created_later_over_an_item_counts_what_its_variations_hold_and_sold() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let (small, large) = (variation(&mut fx, shirt, "S", 2_000), variation(&mut fx, shirt, "L", 2_000));
    fx.quota(Some(100), &[shirt]);
    fx.sell(&[(small, 2)]);
    fx.hold(&[(large, 3)]);
    let late = fx.quota(Some(10), &[shirt]);
    assert_eq!(fx.counts(late), (2, 0, 3, Some(5)));
    let late_large = fx.quota(Some(4), &[large]);
    assert_eq!(fx.counts(late_large), (0, 0, 3, Some(1)));
}

// ---- Vouchers -----------------------------------------------------------------

#[test]
fn a_voucher_code_is_a_keyed_hash_the_same_on_every_replica() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 1, false);
    // The fixture's organizer key is [7; 32].
    assert_eq!(code, voucher_code(&[7; 32], id, 0));
    assert_eq!(code.len(), VOUCHER_CODE_CHARS);
    assert!(code.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)), "{code}");
    assert_ne!(code, voucher_code(&[8; 32], id, 0), "another key gives another code");
    assert_ne!(code, voucher_code(&[7; 32], VoucherId(id.0 + 1), 0), "another voucher gives another code");
    assert_eq!(fx.state.voucher_by_code(&code).map(|v| v.id), Some(id));
    // A replica replaying the log derives nothing: the code is in the record.
    let replayed = State::replay(&fx.log);
    assert_eq!(replayed.voucher(id).unwrap().code, code);
}

#[test]
fn a_voucher_is_redeemed_only_for_what_it_is_for() {
    let mut fx = Fx::new();
    let (sat, sun) = (fx.item("Saturday"), fx.item("Sunday"));
    let shirt = fx.item("T-shirt");
    let small = variation(&mut fx, shirt, "S", 2_000);
    let q_days = fx.quota(Some(10), &[sat, sun]);
    fx.quota(Some(10), &[shirt]);
    let (for_sat, sat_code) = voucher(&mut fx, VoucherScope::Item(sat), 10, false);
    let (_, shirt_code) = voucher(&mut fx, VoucherScope::Item(shirt), 10, false);
    let (_, days_code) = voucher(&mut fx, VoucherScope::Quota(q_days), 10, false);
    assert_eq!(
        redeem(&mut fx, &[(sat, 1), (sun, 1)], &sat_code),
        Err(Rejection::Voucher(VoucherRejection::NotApplicable { voucher: for_sat, item: sun }))
    );
    redeem(&mut fx, &[(sat, 1)], &sat_code).unwrap();
    // A voucher for an item is for every variation of it.
    redeem(&mut fx, &[(small, 2)], &shirt_code).unwrap();
    // A voucher for a quota is for every item in it.
    redeem(&mut fx, &[(sat, 1), (sun, 2)], &days_code).unwrap();
    assert!(matches!(
        redeem(&mut fx, &[(small, 1)], &days_code),
        Err(Rejection::Voucher(VoucherRejection::NotApplicable { .. }))
    ));
}

#[test]
fn a_voucher_is_never_redeemed_past_its_maximum() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 3, false);
    redeem(&mut fx, &[(item, 2)], &code).unwrap();
    assert_eq!(
        redeem(&mut fx, &[(item, 2)], &code),
        Err(Rejection::Voucher(VoucherRejection::Exhausted { voucher: id, remaining: 1 }))
    );
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    assert_eq!(
        redeem(&mut fx, &[(item, 1)], &code),
        Err(Rejection::Voucher(VoucherRejection::Exhausted { voucher: id, remaining: 0 }))
    );
    assert_eq!(redeemed(&fx, id), 3);
}

#[test]
fn a_voucher_use_counts_from_the_hold_and_comes_back_when_the_hold_or_order_stops_counting() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 1, false);
    let exhausted = Err(Rejection::Voucher(VoucherRejection::Exhausted { voucher: id, remaining: 0 }));
    // Redeemed at hold time, as pretix counts vouchers in carts.
    let hold = redeem(&mut fx, &[(item, 1)], &code).unwrap();
    assert_eq!(redeem(&mut fx, &[(item, 1)], &code), exhausted);
    // Released: the use comes back.
    fx.ok(Command::ReleaseHold { hold });
    assert_eq!(redeemed(&fx, id), 0);
    // Lapsed: it comes back at once, without an Expire.
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    fx.advance(31 * MINUTE_MS);
    assert_eq!(redeemed(&fx, id), 0);
    // Checked out: the order keeps it while pending and once paid.
    let hold = redeem(&mut fx, &[(item, 1)], &code).unwrap();
    let order = fx.checkout(hold);
    assert_eq!(fx.state.order(order).unwrap().voucher(), Some(id));
    assert_eq!(redeem(&mut fx, &[(item, 1)], &code), exhausted);
    fx.ok(Command::Pay { order });
    assert_eq!(redeem(&mut fx, &[(item, 1)], &code), exhausted);
    // Canceled: it comes back.
    fx.ok(Command::CancelOrder { order });
    assert_eq!(redeemed(&fx, id), 0);
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
}

#[test]
fn adding_to_a_voucher_hold_redeems_the_voucher_and_removing_gives_it_back() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 3, false);
    let hold = redeem(&mut fx, &[(item, 2)], &code).unwrap();
    assert_eq!(
        fx.rejected(Command::AddToHold { hold, lines: lines(&[(item, 2)]) }),
        Rejection::Voucher(VoucherRejection::Exhausted { voucher: id, remaining: 1 })
    );
    fx.ok(Command::AddToHold { hold, lines: lines(&[(item, 1)]) });
    assert_eq!(redeemed(&fx, id), 3);
    fx.ok(Command::RemoveFromHold { hold, lines: lines(&[(item, 2)]) });
    assert_eq!(redeemed(&fx, id), 1);
}

#[test]
fn a_voucher_is_redeemed_only_within_its_validity_window() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let now = fx.state.now_ms;
    let (id, code) =
        voucher_in(&mut fx, VoucherScope::Item(item), 5, false, now + HOUR_MS, now + 2 * HOUR_MS);
    assert_eq!(
        redeem(&mut fx, &[(item, 1)], &code),
        Err(Rejection::Voucher(VoucherRejection::NotYetValid { voucher: id, valid_from_ms: now + HOUR_MS }))
    );
    fx.advance(HOUR_MS);
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    fx.advance(HOUR_MS);
    assert_eq!(
        redeem(&mut fx, &[(item, 1)], &code),
        Err(Rejection::Voucher(VoucherRejection::Expired { voucher: id, valid_until_ms: now + 2 * HOUR_MS }))
    );
}

#[test]
fn an_unknown_code_or_a_code_of_another_event_is_refused_and_codes_ignore_case() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let (_, code) = voucher(&mut fx, VoucherScope::Item(item), 5, false);
    assert_eq!(redeem(&mut fx, &[(item, 1)], "NOPE"), Err(Rejection::Voucher(VoucherRejection::Unknown)));
    redeem(&mut fx, &[(item, 1)], &code.to_ascii_lowercase()).unwrap();
    // Another event of the same organizer does not know the code.
    let organizer = fx.state.event(fx.event).unwrap().organizer;
    let other = match fx.ok(Command::CreateEvent { organizer, slug: "other".into(), name: "Other".into() }) {
        Accepted::EventCreated { event } => event,
        other => panic!("{other:?}"),
    };
    let other_item = match fx.ok(Command::CreateItem { event: other, name: "X".into(), price_cents: 1 }) {
        Accepted::ItemCreated { item } => item,
        other => panic!("{other:?}"),
    };
    let command = Command::PlaceHoldWith {
        event: other,
        lines: lines(&[(other_item, 1)]),
        ttl_ms: MINUTE_MS,
        voucher: Some(code),
        buyer: None,
    };
    assert_eq!(fx.rejected(command), Rejection::Voucher(VoucherRejection::Unknown));
}

#[test]
fn a_blocking_voucher_counts_its_unredeemed_uses_against_the_quota() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    voucher(&mut fx, VoucherScope::Item(item), 4, true);
    assert_eq!(counts(&fx, quota), (0, 0, 0, 4, Some(6)));
    assert_eq!(fx.item_view(item).remaining, Some(6));
    fx.hold(&[(item, 6)]);
    assert_eq!(fx.quota_view(quota).state, AvailabilityState::Reserved);
    assert!(matches!(fx.try_hold(&[(item, 1)]), Err(Rejection::SoldOut { remaining: 0, .. })));
}

#[test]
fn creating_a_blocking_voucher_cannot_oversell() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(5), &[item]);
    fx.hold(&[(item, 3)]);
    let now = fx.state.now_ms;
    voucher_in(&mut fx, VoucherScope::Quota(quota), 1, true, now, now + HOUR_MS);
    let too_many = Command::CreateVoucher {
        event: fx.event,
        scope: VoucherScope::Quota(quota),
        max_redemptions: 2,
        valid_from_ms: now,
        valid_until_ms: now + HOUR_MS,
        blocks_quota: true,
    };
    assert_eq!(
        fx.rejected(too_many),
        Rejection::Voucher(VoucherRejection::NoRoomToBlock { quota, remaining: 1 })
    );
    voucher_in(&mut fx, VoucherScope::Quota(quota), 1, true, now, now + HOUR_MS);
    assert_eq!(counts(&fx, quota), (0, 0, 3, 2, Some(0)));
}

#[test]
fn a_blocking_voucher_redeems_even_when_the_quota_is_otherwise_sold_out() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(5), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 2, true);
    fx.sell(&[(item, 3)]);
    assert!(matches!(fx.try_hold(&[(item, 1)]), Err(Rejection::SoldOut { .. })));
    // The organizer even shrinks the quota below what is sold: the voucher's room was held.
    fx.ok(Command::ResizeQuota { quota, size: Some(1) });
    let hold = redeem(&mut fx, &[(item, 2)], &code).unwrap();
    assert_eq!(counts(&fx, quota), (3, 0, 2, 0, Some(0)));
    assert_eq!(redeemed(&fx, id), 2);
    fx.checkout(hold);
}

#[test]
fn a_non_blocking_voucher_rechecks_capacity() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(2), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 5, false);
    fx.sell(&[(item, 2)]);
    assert!(
        matches!(redeem(&mut fx, &[(item, 1)], &code), Err(Rejection::SoldOut { quota: q, .. }) if q == quota)
    );
    assert_eq!(redeemed(&fx, id), 0);
}

#[test]
fn a_blocked_use_goes_back_to_the_voucher_not_to_the_public_when_its_hold_lapses() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(4), &[item]);
    let (_, code) = voucher(&mut fx, VoucherScope::Item(item), 2, true);
    fx.hold(&[(item, 2)]);
    redeem(&mut fx, &[(item, 2)], &code).unwrap();
    assert_eq!(counts(&fx, quota), (0, 0, 4, 0, Some(0)));
    fx.advance(31 * MINUTE_MS);
    // Both holds lapsed: the public's two tickets are free, the voucher's two blocked again.
    assert_eq!(counts(&fx, quota), (0, 0, 0, 2, Some(2)));
    fx.hold(&[(item, 2)]);
    assert!(matches!(fx.try_hold(&[(item, 1)]), Err(Rejection::SoldOut { .. })));
    redeem(&mut fx, &[(item, 2)], &code).unwrap();
}

#[test]
fn a_blocking_voucher_stops_blocking_when_it_ends_and_expire_clears_its_block() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    let now = fx.state.now_ms;
    let (id, code) = voucher_in(&mut fx, VoucherScope::Item(item), 5, true, now, now + HOUR_MS);
    let hold = redeem(&mut fx, &[(item, 2)], &code).unwrap();
    let order = fx.checkout(hold);
    fx.ok(Command::Pay { order });
    assert_eq!(counts(&fx, quota), (2, 0, 0, 3, Some(5)));
    fx.advance(HOUR_MS);
    // At its end the unredeemed uses stop counting, with no event; the paid ones stay paid.
    assert_eq!(counts(&fx, quota), (2, 0, 0, 0, Some(8)));
    assert!(fx.state.has_lapsed(fx.time_ms));
    assert_eq!(fx.ok(Command::Expire), Accepted::Expired { holds: 0, orders: 0, more: false });
    assert!(fx.log.last().unwrap().events.contains(&Event::VoucherBlockEnded { voucher: id }));
    assert!(fx.state.voucher(id).unwrap().block_ended);
    assert!(!fx.state.has_lapsed(fx.time_ms));
    assert_eq!(fx.quota_view(quota).blocked, 0);
    assert_eq!(fx.state.quota(quota).unwrap().blocked, Blocked::default(), "the tallies are empty again");
    // The paid use still counts for the voucher, and a cancel still gives it back.
    assert_eq!(redeemed(&fx, id), 2);
    fx.ok(Command::CancelOrder { order });
    assert_eq!((redeemed(&fx, id), counts(&fx, quota)), (0, (0, 0, 0, 0, Some(10))));
}

#[test]
fn a_quota_voucher_blocks_its_quota_and_the_other_quotas_of_its_items_are_still_checked() {
    // pretix skips every quota check for a blocking voucher; here only the
    // quota it blocks is spared, so no other quota is ever oversold.
    let mut fx = Fx::new();
    let (sat, weekend) = (fx.item("Saturday"), fx.item("Weekend"));
    let q_sat = fx.quota(Some(10), &[sat, weekend]);
    let q_weekend = fx.quota(Some(1), &[weekend]);
    let (_, code) = voucher(&mut fx, VoucherScope::Quota(q_sat), 3, true);
    assert_eq!(counts(&fx, q_weekend).3, 0, "a quota voucher blocks its quota only");
    fx.sell(&[(weekend, 1)]);
    assert!(
        matches!(redeem(&mut fx, &[(weekend, 1)], &code), Err(Rejection::SoldOut { quota, .. }) if quota == q_weekend)
    );
    redeem(&mut fx, &[(sat, 3)], &code).unwrap();
    assert_eq!(counts(&fx, q_sat), (1, 0, 3, 0, Some(6)));
}

#[test]
fn a_blocking_voucher_for_an_item_blocks_quotas_created_later_too() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (_, code) = voucher(&mut fx, VoucherScope::Item(item), 3, true);
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    let late = fx.quota(Some(5), &[item]);
    assert_eq!(counts(&fx, late), (0, 0, 1, 2, Some(2)));
    // Its room in the new quota is held too.
    fx.hold(&[(item, 2)]);
    redeem(&mut fx, &[(item, 2)], &code).unwrap();
    assert_eq!(counts(&fx, late), (0, 0, 5, 0, Some(0)));
}

#[test]
fn a_blocking_voucher_must_name_a_variation_and_what_it_names_gets_no_variations() {
    let mut fx = Fx::new();
    let (shirt, cap) = (fx.item("T-shirt"), fx.item("Cap"));
    let small = variation(&mut fx, shirt, "S", 2_000);
    fx.quota(Some(10), &[shirt, cap]);
    let command = |scope| Command::CreateVoucher {
        event: EventId(2),
        scope,
        max_redemptions: 1,
        valid_from_ms: support::START_MS,
        valid_until_ms: support::START_MS + HOUR_MS,
        blocks_quota: true,
    };
    assert_eq!(
        fx.rejected(command(VoucherScope::Item(shirt))),
        Rejection::Invalid(InvalidInput::VoucherScope)
    );
    voucher(&mut fx, VoucherScope::Item(small), 1, true);
    voucher(&mut fx, VoucherScope::Item(cap), 1, true);
    assert_eq!(
        fx.rejected(Command::CreateVariation { item: cap, name: "Red".into(), price_cents: 1 }),
        Rejection::Invalid(InvalidInput::Variations { item: cap })
    );
    // A blocking voucher for an item in no quota would block nothing.
    let orphan = fx.item("Orphan");
    assert_eq!(
        fx.rejected(command(VoucherScope::Item(orphan))),
        Rejection::Invalid(InvalidInput::VoucherScope)
    );
}

#[test]
fn a_closed_quota_refuses_a_blocking_voucher_too() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    let quota = fx.quota(Some(10), &[item]);
    let (_, code) = voucher(&mut fx, VoucherScope::Item(item), 2, true);
    fx.ok(Command::CloseQuota { quota });
    assert_eq!(redeem(&mut fx, &[(item, 1)], &code), Err(Rejection::QuotaClosed { item, quota }));
    fx.ok(Command::ReopenQuota { quota });
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
}

#[test]
fn a_retried_redemption_redeems_once_and_a_reused_request_id_with_another_voucher_command_is_a_conflict() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 2, true);
    let (_, other_code) = voucher(&mut fx, VoucherScope::Item(item), 2, false);
    let command = Command::PlaceHoldWith {
        event: fx.event,
        lines: lines(&[(item, 1)]),
        ttl_ms: MINUTE_MS,
        voucher: Some(code),
        buyer: None,
    };
    let envelope = fx.envelope(command);
    let first = fx.send(&envelope);
    for _ in 0..3 {
        let retry = fx.send(&envelope);
        assert!(retry.is_duplicate());
        assert_eq!(retry.outcome, first.outcome);
    }
    assert_eq!(redeemed(&fx, id), 1, "a retry never redeems again");
    // The same request id with another code is a conflict, and changes nothing.
    let before = fx.state.clone();
    let mut reused = envelope.clone();
    let Command::PlaceHoldWith { voucher, .. } = &mut reused.command else { unreachable!() };
    *voucher = Some(other_code);
    let applied = fx.send(&reused);
    assert_eq!((applied.outcome, applied.record), (Outcome::Rejected(Rejection::Conflict), None));
    assert_eq!(fx.state, before);
    // So is the same id with another buyer, or a voucher command of another kind.
    reused.command = Command::CreateVoucher {
        event: fx.event,
        scope: VoucherScope::Item(item),
        max_redemptions: 2,
        valid_from_ms: 0,
        valid_until_ms: fx.state.now_ms + HOUR_MS,
        blocks_quota: true,
    };
    assert_eq!(fx.send(&reused).outcome, Outcome::Rejected(Rejection::Conflict));
    let mut with_buyer = envelope.clone();
    let Command::PlaceHoldWith { buyer, .. } = &mut with_buyer.command else { unreachable!() };
    *buyer = Some(BuyerId(9));
    assert_eq!(fx.send(&with_buyer).outcome, Outcome::Rejected(Rejection::Conflict));
}

#[test]
fn paying_an_expired_voucher_order_rechecks_the_voucher_and_owes_a_refund_if_its_use_is_gone() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 1, false);
    let hold = redeem(&mut fx, &[(item, 1)], &code).unwrap();
    let order = fx.checkout(hold);
    fx.advance(61 * MINUTE_MS);
    assert_eq!(redeemed(&fx, id), 0, "an expired order gives its use back");
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    assert_eq!(fx.ok(Command::Pay { order }), Accepted::PaymentRefundOwed { order, amount_cents: 5_000 });
    assert_eq!(redeemed(&fx, id), 1, "never past its maximum");
}

#[test]
fn checking_out_a_lapsed_voucher_hold_rechecks_the_voucher() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(10), &[item]);
    let (id, code) = voucher(&mut fx, VoucherScope::Item(item), 1, false);
    let lapsed = redeem(&mut fx, &[(item, 1)], &code).unwrap();
    fx.advance(31 * MINUTE_MS);
    redeem(&mut fx, &[(item, 1)], &code).unwrap();
    assert_eq!(
        fx.try_checkout(lapsed),
        Err(Rejection::Voucher(VoucherRejection::Exhausted { voucher: id, remaining: 0 }))
    );
}

#[test]
fn voucher_settings_are_checked_and_an_event_has_at_most_event_vouchers_max() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(None, &[item]);
    let now = fx.state.now_ms;
    let command = |max_redemptions, valid_from_ms, valid_until_ms| Command::CreateVoucher {
        event: EventId(2),
        scope: VoucherScope::Item(item),
        max_redemptions,
        valid_from_ms,
        valid_until_ms,
        blocks_quota: false,
    };
    let invalid = |reason| Rejection::Invalid(reason);
    assert_eq!(fx.rejected(command(0, now, now + 1)), invalid(InvalidInput::VoucherRedemptions));
    assert_eq!(
        fx.rejected(command(VOUCHER_REDEMPTIONS_MAX + 1, now, now + 1)),
        invalid(InvalidInput::VoucherRedemptions)
    );
    assert_eq!(fx.rejected(command(1, now, now)), invalid(InvalidInput::VoucherWindow));
    assert_eq!(fx.rejected(command(1, now - HOUR_MS, now)), invalid(InvalidInput::VoucherWindow), "over");
    assert_eq!(
        fx.rejected(command(1, now, now + VOUCHER_VALIDITY_MS_MAX + 1)),
        invalid(InvalidInput::VoucherWindow)
    );
    let long = "A".repeat(VOUCHER_CODE_BYTES_MAX + 1);
    assert_eq!(redeem(&mut fx, &[(item, 1)], &long), Err(invalid(InvalidInput::VoucherCode)));
    assert_eq!(redeem(&mut fx, &[(item, 1)], ""), Err(invalid(InvalidInput::VoucherCode)));
    for _ in 0..EVENT_VOUCHERS_MAX {
        fx.ok(command(1, now, now + HOUR_MS));
    }
    assert_eq!(fx.rejected(command(1, now, now + HOUR_MS)), invalid(InvalidInput::EventVouchers));
}

// ---- Order limits -------------------------------------------------------------

#[test]
fn an_order_has_none_or_between_the_minimum_and_the_maximum_of_an_item() {
    let mut fx = Fx::new();
    let (item, other) = (fx.item("Table for four"), fx.item("Drinks"));
    fx.quota(Some(100), &[item, other]);
    limits(&mut fx, item, Some(2), Some(4), None);
    let below = Rejection::OrderLimit(OrderLimitRejection::BelowMin { item, min: 2 });
    let above = Rejection::OrderLimit(OrderLimitRejection::AboveMax { item, max: 4 });
    assert_eq!(fx.try_hold(&[(item, 1)]), Err(below.clone()));
    assert_eq!(fx.try_hold(&[(item, 3), (item, 2)]), Err(above.clone()));
    let hold = fx.hold(&[(item, 2), (other, 7)]);
    assert_eq!(fx.rejected(Command::AddToHold { hold, lines: lines(&[(item, 3)]) }), above);
    fx.ok(Command::AddToHold { hold, lines: lines(&[(item, 2)]) });
    assert_eq!(fx.rejected(Command::RemoveFromHold { hold, lines: lines(&[(item, 3)]) }), below);
    // None of it is fine: the limits are for orders that have the item.
    fx.ok(Command::RemoveFromHold { hold, lines: lines(&[(item, 4)]) });
    fx.ok(Command::RemoveFromHold { hold, lines: lines(&[(other, 7)]) });
}

#[test]
fn the_order_limits_of_an_item_count_its_variations_together() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let (small, large) = (variation(&mut fx, shirt, "S", 2_000), variation(&mut fx, shirt, "L", 2_000));
    fx.quota(Some(100), &[shirt]);
    limits(&mut fx, shirt, None, Some(3), None);
    limits(&mut fx, large, None, Some(1), None);
    let above = |item, max| Err(Rejection::OrderLimit(OrderLimitRejection::AboveMax { item, max }));
    assert_eq!(fx.try_hold(&[(small, 2), (large, 2)]), above(shirt, 3));
    assert_eq!(fx.try_hold(&[(small, 1), (large, 2)]), above(large, 1));
    fx.hold(&[(small, 2), (large, 1)]);
}

#[test]
fn a_buyer_never_has_more_than_the_per_buyer_maximum_in_holds_and_orders() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    limits(&mut fx, item, None, None, Some(4));
    let (ada, bob) = (Some(0xada), Some(0xb0b));
    let hold = hold_with(&mut fx, &[(item, 2)], None, ada).unwrap();
    let order = fx.checkout(hold);
    fx.ok(Command::Pay { order });
    let pending = hold_with(&mut fx, &[(item, 1)], None, ada).unwrap();
    fx.checkout(pending);
    let live = hold_with(&mut fx, &[(item, 1)], None, ada).unwrap();
    assert_eq!(fx.state.buyer_quantity(BuyerId(0xada), item, fx.time_ms), 4);
    assert_eq!(
        hold_with(&mut fx, &[(item, 1)], None, ada),
        Err(Rejection::OrderLimit(OrderLimitRejection::BuyerMax { item, max: 4, counted: 4 }))
    );
    assert_eq!(
        fx.rejected(Command::AddToHold { hold: live, lines: lines(&[(item, 1)]) }),
        Rejection::OrderLimit(OrderLimitRejection::BuyerMax { item, max: 4, counted: 4 })
    );
    // Another buyer has their own count.
    hold_with(&mut fx, &[(item, 4)], None, bob).unwrap();
    // A released hold, a lapsed one, an expired or canceled order stop counting.
    fx.ok(Command::ReleaseHold { hold: live });
    hold_with(&mut fx, &[(item, 1)], None, ada).unwrap();
    fx.advance(61 * MINUTE_MS);
    assert_eq!(fx.state.buyer_quantity(BuyerId(0xada), item, fx.time_ms), 2, "only the paid order counts");
    fx.ok(Command::CancelOrder { order });
    hold_with(&mut fx, &[(item, 4)], None, ada).unwrap();
}

#[test]
fn a_per_buyer_maximum_counts_a_variation_for_its_item() {
    let mut fx = Fx::new();
    let shirt = fx.item("T-shirt");
    let (small, large) = (variation(&mut fx, shirt, "S", 2_000), variation(&mut fx, shirt, "L", 2_000));
    fx.quota(Some(100), &[shirt]);
    limits(&mut fx, shirt, None, None, Some(2));
    hold_with(&mut fx, &[(small, 1)], None, Some(1)).unwrap();
    hold_with(&mut fx, &[(large, 1)], None, Some(1)).unwrap();
    assert_eq!(
        hold_with(&mut fx, &[(small, 1)], None, Some(1)),
        Err(Rejection::OrderLimit(OrderLimitRejection::BuyerMax { item: shirt, max: 2, counted: 2 }))
    );
}

#[test]
fn an_item_with_a_per_buyer_maximum_is_held_only_for_a_named_buyer() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let before = fx.hold(&[(item, 3)]);
    limits(&mut fx, item, None, None, Some(2));
    let required = Rejection::OrderLimit(OrderLimitRejection::BuyerRequired { item });
    assert_eq!(fx.try_hold(&[(item, 1)]), Err(required.clone()));
    assert_eq!(fx.rejected(Command::AddToHold { hold: before, lines: lines(&[(item, 1)]) }), required);
    // A hold made before the limit keeps what it has and checks out.
    fx.checkout(before);
}

#[test]
fn order_limits_are_checked_and_leave_existing_holds_alone() {
    let mut fx = Fx::new();
    let item = fx.item("Saturday");
    fx.quota(Some(100), &[item]);
    let hold = fx.hold(&[(item, 5)]);
    let set = |min, max, buyer| Command::SetOrderLimits {
        item,
        limits: OrderLimits { min_per_order: min, max_per_order: max, max_per_buyer: buyer },
    };
    let invalid = Rejection::Invalid(InvalidInput::OrderLimits);
    assert_eq!(fx.rejected(set(Some(0), None, None)), invalid);
    assert_eq!(fx.rejected(set(None, Some(0), None)), invalid);
    assert_eq!(fx.rejected(set(Some(3), Some(2), None)), invalid);
    assert_eq!(fx.rejected(set(Some(3), None, Some(2))), invalid);
    assert_eq!(fx.rejected(set(None, Some(HOLD_QUANTITY_MAX as u32 + 1), None)), invalid);
    assert_eq!(fx.rejected(set(None, None, Some(BUYER_QUANTITY_MAX + 1))), invalid);
    assert_eq!(
        fx.rejected(Command::SetOrderLimits { item: ItemId(999), limits: OrderLimits::default() }),
        Rejection::NotFound(ObjectRef::Item(ItemId(999)))
    );
    fx.ok(set(None, Some(2), None));
    fx.checkout(hold);
    // Clearing the limits lifts them.
    fx.ok(set(None, None, None));
    fx.hold(&[(item, 5)]);
}
