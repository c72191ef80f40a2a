//! The checks a command can pass or fail on its own, without the state:
//! lengths, counts, quantities and time-to-lives against [`super::limits`].
//!
//! Why a separate pass: a command travels through the batcher and the Raft
//! log before [`decide`](super::decide) sees it, so a command that breaks a
//! limit must be refused at the door, before it costs a log entry (and
//! before 100 names of 60 KB each can make one Raft entry too large to
//! store). `decide` still runs every one of these checks, and more (the ones
//! that need the state), so the door is an optimisation of the same rules,
//! never a second set of them. The property test in `engine/tests/model.rs`
//! checks that a command the door refuses is also rejected as `Invalid` by
//! the domain.

use super::limits::*;
use super::model::*;

pub(super) fn slug(slug: &str) -> Result<(), InvalidInput> {
    let ok = !slug.is_empty()
        && slug.len() <= SLUG_BYTES_MAX
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(()) } else { Err(InvalidInput::Slug) }
}

pub(super) fn name(name: &str) -> Result<(), InvalidInput> {
    if !name.trim().is_empty() && name.len() <= NAME_BYTES_MAX { Ok(()) } else { Err(InvalidInput::Name) }
}

pub(super) fn ttl(ttl_ms: u64, max_ms: u64) -> Result<(), InvalidInput> {
    if (1..=max_ms).contains(&ttl_ms) { Ok(()) } else { Err(InvalidInput::Ttl) }
}

pub(super) fn size(size: Option<u64>) -> Result<(), InvalidInput> {
    if size.is_some_and(|s| s > QUOTA_SIZE_MAX) { Err(InvalidInput::QuotaSize) } else { Ok(()) }
}

/// Lines on their own: at least one, at most [`HOLD_LINES_MAX`], no zero
/// quantity, at most [`HOLD_QUANTITY_MAX`] tickets in all.
pub(super) fn lines(lines: &[Line]) -> Result<(), InvalidInput> {
    if lines.is_empty() || lines.len() > HOLD_LINES_MAX || lines.iter().any(|l| l.quantity == 0) {
        return Err(InvalidInput::Lines);
    }
    let quantity: u64 = lines.iter().map(|l| u64::from(l.quantity)).sum();
    if quantity > HOLD_QUANTITY_MAX { Err(InvalidInput::Quantity) } else { Ok(()) }
}

/// A buyer's name: not blank, at most [`CONTACT_NAME_BYTES_MAX`] bytes, no
/// control characters (it is printed on tickets and in e-mails).
fn contact_name(name: &str) -> Result<(), InvalidInput> {
    let ok = !name.trim().is_empty()
        && name.len() <= CONTACT_NAME_BYTES_MAX
        && !name.chars().any(char::is_control);
    if ok { Ok(()) } else { Err(InvalidInput::ContactName) }
}

/// An e-mail address, checked only as far as a shop can without sending
/// mail: at most [`EMAIL_BYTES_MAX`] bytes, exactly one `@` with something
/// on both sides, no whitespace or control characters.
fn email(email: &str) -> Result<(), InvalidInput> {
    let ok = email.len() <= EMAIL_BYTES_MAX
        && !email.chars().any(|c| c.is_control() || c.is_whitespace())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok { Ok(()) } else { Err(InvalidInput::Email) }
}

/// A buyer's contact: name, then e-mail.
pub(super) fn contact(name: &str, email_address: &str) -> Result<(), InvalidInput> {
    contact_name(name).and_then(|()| email(email_address))
}

/// A waiting room's settings: each at least 1 and at most its maximum.
pub(super) fn room(
    admit_per_minute: u32,
    arrivals_per_second_max: u32,
    in_flight_max: u32,
) -> Result<(), InvalidInput> {
    let ok = (1..=ROOM_ADMIT_PER_MINUTE_MAX).contains(&admit_per_minute)
        && (1..=ROOM_ARRIVALS_PER_SECOND_MAX).contains(&arrivals_per_second_max)
        && (1..=ROOM_IN_FLIGHT_MAX).contains(&in_flight_max);
    if ok { Ok(()) } else { Err(InvalidInput::WaitingRoom) }
}

/// A voucher's redemptions and window: 1 to [`VOUCHER_REDEMPTIONS_MAX`]
/// redemptions, a window that is not empty and at most
/// [`VOUCHER_VALIDITY_MS_MAX`] long. (That it has not ended needs the
/// state's time.)
pub(super) fn voucher(
    max_redemptions: u32,
    valid_from_ms: u64,
    valid_until_ms: u64,
) -> Result<(), InvalidInput> {
    if !(1..=VOUCHER_REDEMPTIONS_MAX).contains(&max_redemptions) {
        return Err(InvalidInput::VoucherRedemptions);
    }
    let ok = valid_from_ms < valid_until_ms && valid_until_ms - valid_from_ms <= VOUCHER_VALIDITY_MS_MAX;
    if ok { Ok(()) } else { Err(InvalidInput::VoucherWindow) }
}

/// A voucher code as typed: not empty, at most [`VOUCHER_CODE_BYTES_MAX`] bytes.
pub(super) fn voucher_code(code: &str) -> Result<(), InvalidInput> {
    if (1..=VOUCHER_CODE_BYTES_MAX).contains(&code.len()) { Ok(()) } else { Err(InvalidInput::VoucherCode) }
}

/// Order limits: each at least 1; per order at most [`HOLD_QUANTITY_MAX`]
/// (a hold holds no more), per buyer at most [`BUYER_QUANTITY_MAX`]; the
/// minimum at most either maximum (or nobody could buy the item).
pub(super) fn order_limits(limits: &OrderLimits) -> Result<(), InvalidInput> {
    let per_order =
        |limit: Option<u32>| limit.is_none_or(|n| (1..=HOLD_QUANTITY_MAX).contains(&u64::from(n)));
    let min = limits.min_per_order.unwrap_or(1);
    let ok = per_order(limits.min_per_order)
        && per_order(limits.max_per_order)
        && limits.max_per_buyer.is_none_or(|n| (1..=BUYER_QUANTITY_MAX).contains(&n))
        && limits.max_per_order.is_none_or(|max| min <= max)
        && limits.max_per_buyer.is_none_or(|max| min <= max);
    if ok { Ok(()) } else { Err(InvalidInput::OrderLimits) }
}

/// A name of a seating plan (zone, row, label): not blank, at most `max`
/// bytes, no control characters (it is printed on tickets).
fn plan_name(name: &str, max: usize) -> bool {
    !name.trim().is_empty() && name.len() <= max && !name.chars().any(char::is_control)
}

/// A row of seats on its own: its zone and name, 1 to
/// [`SEAT_ROW_SEATS_MAX`] seats with good, distinct labels.
pub(super) fn seat_row(zone: &str, row: &str, seats: &[SeatSpec]) -> Result<(), InvalidInput> {
    let names_ok = plan_name(zone, SEAT_ZONE_BYTES_MAX) && plan_name(row, SEAT_ROW_BYTES_MAX);
    let count_ok = (1..=SEAT_ROW_SEATS_MAX).contains(&seats.len());
    if !names_ok || !count_ok || !seats.iter().all(|seat| plan_name(&seat.label, SEAT_LABEL_BYTES_MAX)) {
        return Err(InvalidInput::SeatRow);
    }
    let mut labels: Vec<&str> = seats.iter().map(|seat| seat.label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.len() == seats.len() { Ok(()) } else { Err(InvalidInput::SeatRow) }
}

/// A list of seats: 1 to `max`, none twice.
pub(super) fn seat_ids(seats: &[SeatId], max: usize) -> Result<(), InvalidInput> {
    if seats.is_empty() || seats.len() > max {
        return Err(InvalidInput::Seats);
    }
    let mut distinct = seats.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() == seats.len() { Ok(()) } else { Err(InvalidInput::Seats) }
}

/// A seated hold's choice: at most [`HOLD_QUANTITY_MAX`] seats, named
/// (distinct) or adjacent in a zone whose name could exist.
pub(super) fn seat_choice(choice: &SeatChoice) -> Result<(), InvalidInput> {
    let most = usize::try_from(HOLD_QUANTITY_MAX).expect("HOLD_QUANTITY_MAX fits usize");
    match choice {
        SeatChoice::Named(seats) => seat_ids(seats, most),
        SeatChoice::Adjacent { zone, count, .. } => {
            let ok =
                (1..=HOLD_QUANTITY_MAX).contains(&u64::from(*count)) && zone.len() <= SEAT_ZONE_BYTES_MAX;
            if ok { Ok(()) } else { Err(InvalidInput::Seats) }
        }
    }
}

impl Command {
    /// Check what can be checked without the state. `Err` means the domain
    /// would certainly reject the command as [`Rejection::Invalid`] with
    /// this reason (or, for a command on an unknown object, as `NotFound`),
    /// so it can be refused before it is proposed.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        match self {
            Command::CreateOrganizer { slug: s, name: n, .. } => slug(s).and_then(|()| name(n)),
            Command::CreateEvent { slug: s, name: n, .. } => slug(s).and_then(|()| name(n)),
            Command::CreateItem { name: n, price_cents, .. } => {
                name(n)?;
                if *price_cents > ITEM_PRICE_CENTS_MAX { Err(InvalidInput::Price) } else { Ok(()) }
            }
            Command::CreateQuota { name: n, size: s, items, .. } => {
                name(n)?;
                size(*s)?;
                let mut distinct = items.clone();
                distinct.sort_unstable();
                distinct.dedup();
                if items.is_empty() || items.len() > QUOTA_ITEMS_MAX || distinct.len() != items.len() {
                    return Err(InvalidInput::QuotaItems);
                }
                Ok(())
            }
            Command::ResizeQuota { size: s, .. } => size(*s),
            Command::PlaceHold { lines: l, ttl_ms, .. } => {
                ttl(*ttl_ms, HOLD_TTL_MS_MAX).and_then(|()| lines(l))
            }
            Command::AddToHold { lines: l, .. } => lines(l),
            Command::ExtendHold { ttl_ms, .. } => ttl(*ttl_ms, HOLD_TTL_MS_MAX),
            Command::Checkout { payment_ttl_ms, .. } => ttl(*payment_ttl_ms, PAYMENT_TTL_MS_MAX),
            Command::CreateCheckinList { name: n, .. } => name(n),
            Command::CheckIn { secret, .. } => {
                if secret.len() > CHECKIN_SECRET_BYTES_MAX {
                    Err(InvalidInput::Secret)
                } else {
                    Ok(())
                }
            }
            Command::RemoveFromHold { lines: l, .. } => lines(l),
            Command::CheckoutWithContact { payment_ttl_ms, name, email, .. } => {
                ttl(*payment_ttl_ms, PAYMENT_TTL_MS_MAX).and_then(|()| contact(name, email))
            }
            Command::ConfigureWaitingRoom {
                admit_per_minute,
                arrivals_per_second_max,
                in_flight_max,
                ..
            } => room(*admit_per_minute, *arrivals_per_second_max, *in_flight_max),
            Command::CreateVariation { name: n, price_cents, .. } => {
                name(n)?;
                if *price_cents > ITEM_PRICE_CENTS_MAX { Err(InvalidInput::Price) } else { Ok(()) }
            }
            Command::SetOrderLimits { limits, .. } => order_limits(limits),
            Command::CreateVoucher { max_redemptions, valid_from_ms, valid_until_ms, .. } => {
                voucher(*max_redemptions, *valid_from_ms, *valid_until_ms)
            }
            Command::PlaceHoldWith { lines: l, ttl_ms, voucher, .. } => {
                ttl(*ttl_ms, HOLD_TTL_MS_MAX)?;
                voucher.as_deref().map_or(Ok(()), voucher_code)?;
                lines(l)
            }
            Command::AddSeatRow { zone, row, seats: specs, .. } => seat_row(zone, row, specs),
            Command::SetSeatsBlocked { seats: ids, .. } => seat_ids(ids, SEATS_PER_COMMAND_MAX),
            Command::PlaceSeatedHold { seats: choice, ttl_ms, voucher, .. } => {
                ttl(*ttl_ms, HOLD_TTL_MS_MAX)?;
                voucher.as_deref().map_or(Ok(()), voucher_code)?;
                seat_choice(choice)
            }
            Command::ClaimOffer { ttl_ms, .. } => ttl(*ttl_ms, HOLD_TTL_MS_MAX),
            Command::ConfigureWaitingList { offer_ttl_ms, .. } => {
                ttl(*offer_ttl_ms, WAITING_LIST_OFFER_TTL_MS_MAX)
            }
            Command::CloseQuota { .. }
            | Command::ReopenQuota { .. }
            | Command::JoinWaitingList { .. }
            | Command::LeaveWaitingList { .. }
            | Command::JoinWaitingRoom { .. }
            | Command::ReleaseHold { .. }
            | Command::Pay { .. }
            | Command::CancelOrder { .. }
            | Command::Expire => Ok(()),
        }
    }
}
