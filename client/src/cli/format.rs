//! Human-readable text: timestamps, amounts, outcomes and statuses.

use boxoffice_engine::domain::{
    Accepted, AvailabilityState, CheckinRejection, Direction, HoldStatus, InvalidInput, Line, ObjectRef,
    OrderLimitRejection, OrderLimits, OrderStatus, Rejection, SeatId, SeatRejection, SeatStatus,
    VoucherRejection, VoucherScope, WaitingListRejection,
};

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Milliseconds since the Unix epoch as RFC 3339 UTC: `2026-11-23T10:30:00Z`,
/// with `.mmm` only when the milliseconds are not zero.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1_000;
    let millis = ms % 1_000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    let (hour, minute, second) = (of_day / 3_600, of_day % 3_600 / 60, of_day % 60);
    let fraction = if millis == 0 { String::new() } else { format!(".{millis:03}") };
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z")
}

/// Cents as a decimal amount: `4900` is `49.00`.
pub fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// `item-3 x2, item-5 x1`.
/// What a voucher can be redeemed for.
pub fn voucher_scope(scope: &VoucherScope) -> String {
    match scope {
        VoucherScope::Item(item) => format!("item {item}"),
        VoucherScope::Quota(quota) => format!("the items of quota {quota}"),
    }
}

/// An item's order limits, `no limits` if none is set.
pub fn order_limits(limits: &OrderLimits) -> String {
    let parts: Vec<String> = [
        limits.min_per_order.map(|n| format!("at least {n} per order")),
        limits.max_per_order.map(|n| format!("at most {n} per order")),
        limits.max_per_buyer.map(|n| format!("at most {n} per buyer")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() { "no limits".to_owned() } else { parts.join(", ") }
}

pub fn lines(lines: &[Line]) -> String {
    lines.iter().map(|l| format!("{} x{}", l.item, l.quantity)).collect::<Vec<_>>().join(", ")
}

/// A list of displayable ids, `a, b, c`, or `none`.
pub fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let text = items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    if text.is_empty() { "none".into() } else { text }
}

/// pretix's availability state names.
pub fn availability_state(state: AvailabilityState) -> &'static str {
    match state {
        AvailabilityState::Gone => "Gone",
        AvailabilityState::Ordered => "Ordered",
        AvailabilityState::Reserved => "Reserved",
        AvailabilityState::Ok => "Ok",
    }
}

/// `1000 left` or `unlimited`.
pub fn remaining(remaining: Option<u64>) -> String {
    remaining.map_or_else(|| "unlimited".into(), |r| format!("{r} left"))
}

/// `1000` or `unlimited`.
pub fn size(size: Option<u64>) -> String {
    size.map_or_else(|| "unlimited".into(), |s| s.to_string())
}

/// A hold's status in words.
pub fn hold_status(status: HoldStatus) -> &'static str {
    match status {
        HoldStatus::Active => "active",
        HoldStatus::Released => "released",
        HoldStatus::Expired => "expired",
        HoldStatus::CheckedOut => "checked out",
    }
}

/// An order's status in words.
pub fn order_status(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Paid => "paid",
        OrderStatus::Expired => "expired",
        OrderStatus::Canceled => "canceled",
    }
}

/// A seat's state as one letter, for the seat map: F free, B blocked, H
/// held, O ordered (pending payment), P paid.
pub fn seat_state_letter(status: SeatStatus) -> char {
    match status {
        SeatStatus::Free => 'F',
        SeatStatus::Blocked => 'B',
        SeatStatus::Held(_) => 'H',
        SeatStatus::Ordered(_) => 'O',
        SeatStatus::Paid(_) => 'P',
    }
}

/// `seat-11, seat-12`, or `seat-11 to seat-30` for a run of consecutive ids.
fn seats(seats: &[SeatId]) -> String {
    let consecutive = seats.windows(2).all(|pair| pair[1].0 == pair[0].0.wrapping_add(1));
    match seats {
        [first, .., last] if consecutive && seats.len() > 2 => format!("{first} to {last}"),
        _ => list(seats.iter()),
    }
}

/// `entry` or `exit`.
pub fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Entry => "entry",
        Direction::Exit => "exit",
    }
}

/// What an accepted command did, in one phrase.
pub fn accepted(accepted: &Accepted) -> String {
    match accepted {
        Accepted::OrganizerCreated { organizer } => format!("organizer {organizer} created"),
        Accepted::EventCreated { event } => format!("event {event} created"),
        Accepted::ItemCreated { item } => format!("item {item} created"),
        Accepted::QuotaCreated { quota } => format!("quota {quota} created"),
        Accepted::QuotaUpdated { quota } => format!("quota {quota} updated"),
        Accepted::HoldLive { hold, expires_at_ms } => {
            format!("hold {hold} expires at {}", rfc3339(*expires_at_ms))
        }
        Accepted::HoldReleased { hold } => format!("hold {hold} released"),
        Accepted::OrderPlaced { order, payment_deadline_ms, total_cents, tickets } => format!(
            "order {order} placed: {} ticket{}, total {}, pay by {}",
            tickets.len(),
            if tickets.len() == 1 { "" } else { "s" },
            money(*total_cents),
            rfc3339(*payment_deadline_ms)
        ),
        Accepted::OrderPaid { order } => format!("order {order} paid"),
        Accepted::PaymentRefundOwed { order, amount_cents } => format!(
            "payment of expired order {order} recorded, but its tickets were sold meanwhile: \
             it stays expired and {} is owed back",
            money(*amount_cents)
        ),
        Accepted::OrderCanceled { order, refund_owed_cents: 0 } => format!("order {order} canceled"),
        Accepted::OrderCanceled { order, refund_owed_cents } => {
            format!("order {order} canceled, {} is owed back", money(*refund_owed_cents))
        }
        Accepted::CheckinListCreated { list } => format!("check-in list {list} created"),
        Accepted::CheckedIn { order, position, direction: d } => {
            format!("{} of ticket {position} of order {order}", direction(*d))
        }
        Accepted::Expired { holds, orders, more } => format!(
            "{holds} hold(s) and {orders} order(s) recorded as expired{}",
            if *more { ", more remain" } else { "" }
        ),
        Accepted::WaitingRoomConfigured { event } => format!("waiting room of event {event} configured"),
        Accepted::WaitingRoomJoined { event, position } => {
            format!("joined the waiting room of event {event} at position {position}")
        }
        Accepted::OrderLimitsSet { item } => format!("order limits of item {item} set"),
        Accepted::VoucherCreated { voucher, code } => format!("voucher {voucher} created, code {code}"),
        Accepted::SeatRowAdded { first_seat, count: 1 } => format!("row of 1 seat added: {first_seat}"),
        Accepted::SeatRowAdded { first_seat, count } => {
            let last = SeatId(first_seat.0.saturating_add(u64::from(*count).saturating_sub(1)));
            format!("row of {count} seats added: {first_seat} to {last}")
        }
        Accepted::SeatsBlocked { event, count } => format!("{count} seat(s) of event {event} updated"),
        Accepted::SeatedHoldLive { hold, expires_at_ms, seats: held } => format!(
            "hold {hold} of {} seat(s) ({}) expires at {}",
            held.len(),
            seats(held),
            rfc3339(*expires_at_ms)
        ),
        Accepted::SeatCheckedIn { order, position, direction: d, seat } => {
            format!("{} of ticket {position} of order {order}, seat {seat}", direction(*d))
        }
        Accepted::WaitingListJoined { entry, position: 0 } => {
            format!("joined the waiting list as {entry}, and offered a ticket at once")
        }
        Accepted::WaitingListJoined { entry, position } => {
            format!("joined the waiting list as {entry}, place {position}")
        }
        Accepted::WaitingListLeft { entry } => format!("{entry} left the waiting list"),
        Accepted::WaitingListConfigured { event } => format!("waiting list of event {event} configured"),
    }
}

fn object(object: &ObjectRef) -> String {
    match object {
        ObjectRef::Organizer(id) => format!("organizer {id}"),
        ObjectRef::Event(id) => format!("event {id}"),
        ObjectRef::Item(id) => format!("item {id}"),
        ObjectRef::Quota(id) => format!("quota {id}"),
        ObjectRef::Hold(id) => format!("hold {id}"),
        ObjectRef::Order(id) => format!("order {id}"),
        ObjectRef::CheckinList(id) => format!("check-in list {id}"),
        ObjectRef::WaitingRoom(event) => format!("waiting room of event {event}"),
        ObjectRef::Voucher(id) => format!("voucher {id}"),
        ObjectRef::Seat(id) => format!("seat {id}"),
        ObjectRef::WaitingListEntry(id) => format!("waiting-list entry {id}"),
    }
}

fn invalid(invalid: &InvalidInput) -> String {
    boxoffice_proto::door::describe_invalid(invalid)
}

/// Why a waiting-list command was refused, in plain words.
fn waiting_list_rejection(reason: &WaitingListRejection) -> String {
    match reason {
        WaitingListRejection::Available { item } => {
            format!("{item} is not sold out: buy it instead of joining the waiting list")
        }
        WaitingListRejection::Full { event, max } => {
            format!("the waiting list of event {event} is full ({max} entries waiting or offered)")
        }
        WaitingListRejection::NotOffered { entry } => {
            format!("{entry} is still waiting: it has no offer to claim yet")
        }
        WaitingListRejection::OfferLapsed { entry, expired_at_ms } => format!(
            "the offer to {entry} lapsed at {} unclaimed; the entry is done (join again to wait again)",
            rfc3339(*expired_at_ms)
        ),
        WaitingListRejection::Claimed { entry, hold } => {
            format!("the offer to {entry} was already claimed, as hold {hold}")
        }
        WaitingListRejection::Left { entry } => format!("{entry} left the waiting list"),
    }
}

/// Why a command was rejected, in one phrase.
pub fn rejection(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Invalid(reason) => format!("invalid input — {}", invalid(reason)),
        Rejection::NotFound(what) => format!("not found — no {}", object(what)),
        Rejection::SlugTaken { slug } => format!("slug taken — `{slug}` is already in use"),
        Rejection::ItemNotForSale { item } => format!("not for sale — no quota covers item {item}"),
        Rejection::SoldOut { item, quota, state, remaining } => format!(
            "sold out — quota {quota} has {remaining} left (state {}), asked for item {item}",
            availability_state(*state)
        ),
        Rejection::QuotaClosed { item, quota } => {
            format!("quota closed — quota {quota} sells nothing now, asked for item {item}")
        }
        Rejection::HoldExpired { hold } => format!("hold expired — hold {hold} has lapsed"),
        Rejection::HoldClosed { hold, status } => {
            format!("hold closed — hold {hold} is {}", hold_status(*status))
        }
        Rejection::HoldLifetimeCapReached { hold, expires_at_max_ms } => format!(
            "hold lifetime cap reached — hold {hold} cannot live past {}",
            rfc3339(*expires_at_max_ms)
        ),
        Rejection::OrderStatusForbids { order, status } => {
            format!("not allowed — order {order} is {}", order_status(*status))
        }
        Rejection::CheckIn(reason) => format!(
            "check-in refused — {}",
            match reason {
                CheckinRejection::Invalid => "no ticket of this list's event has this secret",
                CheckinRejection::AlreadyRedeemed => "the ticket was already used",
                CheckinRejection::Unpaid => "the order is not paid",
                CheckinRejection::Canceled => "the order was canceled",
            }
        ),
        Rejection::Conflict => "conflict — this request id was already used for a different command; \
            nothing was done (use a fresh request id)"
            .to_owned(),
        Rejection::Voucher(reason) => format!(
            "voucher refused — {}",
            match reason {
                VoucherRejection::Unknown => "no voucher of this event has this code".to_owned(),
                VoucherRejection::NotYetValid { voucher, valid_from_ms } => {
                    format!("voucher {voucher} is valid from {}", rfc3339(*valid_from_ms))
                }
                VoucherRejection::Expired { voucher, valid_until_ms } => {
                    format!("voucher {voucher} was valid until {}", rfc3339(*valid_until_ms))
                }
                VoucherRejection::NotApplicable { voucher, item } => {
                    format!("voucher {voucher} is not for item {item}")
                }
                VoucherRejection::Exhausted { voucher, remaining } => {
                    format!("voucher {voucher} has {remaining} redemption(s) left")
                }
                VoucherRejection::NoRoomToBlock { quota, remaining } => {
                    format!("quota {quota} has only {remaining} left to block")
                }
            }
        ),
        Rejection::OrderLimit(reason) => format!(
            "order limit — {}",
            match reason {
                OrderLimitRejection::BelowMin { item, min } =>
                    format!("at least {min} of item {item} per order"),
                OrderLimitRejection::AboveMax { item, max } =>
                    format!("at most {max} of item {item} per order"),
                OrderLimitRejection::BuyerMax { item, max, counted } => {
                    format!("at most {max} of item {item} per buyer, who has {counted}")
                }
                OrderLimitRejection::BuyerRequired { item } =>
                    format!("item {item} is sold only to a named buyer"),
            }
        ),
        Rejection::WaitingList(reason) => format!("waiting list — {}", waiting_list_rejection(reason)),
        Rejection::Seat(reason) => format!(
            "seat refused — {}",
            match reason {
                SeatRejection::Blocked { seat } => format!("seat {seat} is blocked by the organizer"),
                SeatRejection::Taken { seat } => {
                    format!("seat {seat} is taken (held, ordered or paid by someone else)")
                }
                SeatRejection::NoAdjacentSeats { zone, count } => {
                    format!("no row of zone \"{zone}\" has {count} free seats side by side")
                }
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_engine::domain::{EntryId, EventId, HoldId, ItemId, QuotaId};

    #[test]
    fn rfc3339_formats_utc_with_optional_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_429_800_000), "2026-11-23T10:30:00Z");
        assert_eq!(rfc3339(1_795_429_800_123), "2026-11-23T10:30:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(1_709_251_199_000), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(1_735_689_599_000), "2024-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799_000), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn rfc3339_agrees_with_day_counting_for_every_day_of_some_years() {
        // Walk day by day from 1970 and check the calendar advances by one day each step.
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..(366 * 200) {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = d == 1 && ((y == py && m == pm + 1) || (y == py + 1 && m == 1 && pm == 12));
            assert!(next_day || next_month, "day {days}: {previous:?} -> {:?}", (y, m, d));
            previous = (y, m, d);
        }
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(4_900), "49.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(0), "0.00");
        assert_eq!(money(123_456), "1234.56");
    }

    #[test]
    fn outcomes_read_as_sentences() {
        let sold_out = Rejection::SoldOut {
            item: ItemId(3),
            quota: QuotaId(4),
            state: AvailabilityState::Reserved,
            remaining: 0,
        };
        assert_eq!(
            rejection(&sold_out),
            "sold out — quota quota-4 has 0 left (state Reserved), asked for item item-3"
        );
        let live = Accepted::HoldLive { hold: HoldId(12), expires_at_ms: 1_795_429_800_000 };
        assert_eq!(accepted(&live), "hold hold-12 expires at 2026-11-23T10:30:00Z");
        assert_eq!(lines(&[Line { item: ItemId(3), quantity: 2 }]), "item-3 x2");
        assert_eq!(list(Vec::<ItemId>::new()), "none");
        let joined = Accepted::WaitingRoomJoined { event: EventId(2), position: 7 };
        assert_eq!(accepted(&joined), "joined the waiting room of event ev-2 at position 7");
        let no_room = Rejection::NotFound(ObjectRef::WaitingRoom(EventId(2)));
        assert_eq!(rejection(&no_room), "not found — no waiting room of event ev-2");
        let row = Accepted::SeatRowAdded { first_seat: SeatId(11), count: 20 };
        assert_eq!(accepted(&row), "row of 20 seats added: seat-11 to seat-30");
        let held = Accepted::SeatedHoldLive {
            hold: HoldId(40),
            expires_at_ms: 1_795_429_800_000,
            seats: vec![SeatId(14), SeatId(13)],
        };
        assert_eq!(
            accepted(&held),
            "hold hold-40 of 2 seat(s) (seat-14, seat-13) expires at 2026-11-23T10:30:00Z"
        );
        let taken = Rejection::Seat(SeatRejection::Taken { seat: SeatId(12) });
        assert_eq!(
            rejection(&taken),
            "seat refused — seat seat-12 is taken (held, ordered or paid by someone else)"
        );
        let available = Rejection::WaitingList(WaitingListRejection::Available { item: ItemId(3) });
        assert_eq!(
            rejection(&available),
            "waiting list — item-3 is not sold out: buy it instead of joining the waiting list"
        );
        let joined = Accepted::WaitingListJoined { entry: EntryId(12), position: 4 };
        assert_eq!(accepted(&joined), "joined the waiting list as entry-12, place 4");
        let missing = Rejection::NotFound(ObjectRef::WaitingListEntry(EntryId(12)));
        assert_eq!(rejection(&missing), "not found — no waiting-list entry entry-12");
    }
}
