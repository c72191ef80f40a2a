//! Conversions between the `boxoffice.v1` messages and the engine's domain
//! types.
//!
//! # Directions
//!
//! - **Domain to wire** is infallible (`From`). Numbers the domain keeps as
//!   `u64` but the wire carries as `int64` (prices, sizes, time-to-live
//!   values) saturate at `i64::MAX`; every domain limit lies far below, so a
//!   saturated value is rejected by the domain exactly as the original.
//! - **Wire to domain** is fallible (`TryFrom`, error [`ConvertError`]) and
//!   never panics, whatever the bytes said. It fails only where a value cannot
//!   be represented in the domain type: a missing message or `oneof`, a
//!   negative number, a quantity above `u32::MAX`, a request id, nonce or key
//!   of the wrong length, an unknown or unset enum value. A value that fits
//!   but breaks a domain limit (a zero quantity, a price of a billion, an
//!   overlong slug) is passed through, so that the domain refuses it with its
//!   own reason and records that answer for retries.
//!
//! This module holds no business logic: it only moves values between
//! representations.
//!
//! # Example
//!
//! ```
//! use boxoffice_engine::domain::{Command, Line, EventId, ItemId, RequestId};
//! use boxoffice_proto::convert::{submit_request, ConvertError};
//!
//! let command = Command::PlaceHold {
//!     event: EventId(2),
//!     lines: vec![Line { item: ItemId(3), quantity: 2 }],
//!     ttl_ms: 60_000,
//! };
//! let wire = submit_request(RequestId(7), &command);
//! let (request_id, back) = <(RequestId, Command)>::try_from(wire.clone()).unwrap();
//! assert_eq!((request_id, back), (RequestId(7), command));
//!
//! let mut short = wire;
//! short.request_id.truncate(4);
//! let error = <(RequestId, Command)>::try_from(short).unwrap_err();
//! assert_eq!(error, ConvertError::BadRequestId { len: 4 });
//! ```

use crate::v1;
use boxoffice_engine::codec::{self, CodecError};
use boxoffice_engine::domain::{
    Accepted, Applied, AvailabilityState, BuyerId, CheckinList, CheckinListId, CheckinRejection, Command,
    Contact, Direction, EntryId, EntryPosition, EntryStatus, EventDef, EventId, Hold, HoldId, HoldStatus,
    InvalidInput, Item, ItemAvailability, ItemId, Line, Nonce, ObjectRef, Order, OrderId,
    OrderLimitRejection, OrderLimits, OrderStatus, OrganizerId, Outcome, QuotaAvailability, QuotaId, Record,
    Rejection, RequestId, SeatChoice, SeatId, SeatMapRow, SeatMapSeat, SeatMapZone, SeatRejection, SeatSpec,
    SeatStatus, Tags, Ticket, VoucherId, VoucherRejection, VoucherScope, VoucherView, WaitingListEntry,
    WaitingListRejection, WaitingRoomView,
};

#[cfg(test)]
mod tests;

/// Bytes of a request id or a nonce on the wire: a big-endian `u128`.
pub const ID128_BYTES: usize = 16;

/// Bytes of an organizer's secret key.
pub const SECRET_KEY_BYTES: usize = 32;

/// Why a message from the wire does not convert to a domain value. Each
/// message says which field is wrong and what it must be, so that a client
/// can fix its request; a server answers it as `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A required message or `oneof` is absent.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// A request id is not 16 bytes.
    #[error("request_id must be exactly 16 bytes (a big-endian unsigned 128-bit integer), got {len} bytes")]
    BadRequestId {
        /// The length received.
        len: usize,
    },
    /// A buyer id is neither empty (no buyer) nor 16 bytes.
    #[error(
        "buyer must be empty or exactly 16 bytes (a big-endian unsigned 128-bit integer), got {len} bytes"
    )]
    BadBuyer {
        /// The length received.
        len: usize,
    },
    /// A check-in nonce is not 16 bytes.
    #[error("nonce must be exactly 16 bytes (a big-endian unsigned 128-bit integer), got {len} bytes")]
    BadNonce {
        /// The length received.
        len: usize,
    },
    /// An organizer's secret key is not 32 bytes.
    #[error("secret_key must be exactly 32 random bytes, got {len} bytes")]
    BadSecretKey {
        /// The length received.
        len: usize,
    },
    /// A number that must not be negative is.
    #[error("field `{field}` must not be negative, got {value}")]
    Negative {
        /// The field, such as `place_hold.lines.quantity`.
        field: &'static str,
        /// The value received.
        value: i64,
    },
    /// A number does not fit the domain type (a quantity above `u32::MAX`).
    #[error("field `{field}` is out of range: {value} is too large")]
    OutOfRange {
        /// The field, such as `place_hold.lines.quantity`.
        field: &'static str,
        /// The value received.
        value: i64,
    },
    /// An enum field holds a value this build does not know, or is unset
    /// (the `..._UNSPECIFIED` zero value).
    #[error("field `{field}` has an unknown or unset enum value {value}")]
    UnknownEnum {
        /// The field, such as `check_in.direction`.
        field: &'static str,
        /// The value received.
        value: i32,
    },
    /// A record message's `encoded` frame does not decode.
    #[error("record frame does not decode: {0}")]
    Codec(#[from] CodecError),
    /// A record message's header disagrees with its `encoded` frame.
    #[error("record message field `{field}` disagrees with its encoded record")]
    RecordMismatch {
        /// The field that differs: `seq`, `time_ms`, `request_id`,
        /// `event_kinds` or `outcome_label`.
        field: &'static str,
    },
}

// ---------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------

/// A request id as it goes on the wire: 16 bytes, big-endian.
pub fn request_id_to_bytes(id: RequestId) -> Vec<u8> {
    id.0.to_be_bytes().to_vec()
}

/// A request id from the wire; it must be exactly 16 bytes, big-endian.
pub fn request_id_from_bytes(bytes: &[u8]) -> Result<RequestId, ConvertError> {
    let array: [u8; ID128_BYTES] =
        bytes.try_into().map_err(|_| ConvertError::BadRequestId { len: bytes.len() })?;
    Ok(RequestId(u128::from_be_bytes(array)))
}

/// A check-in nonce as it goes on the wire: 16 bytes, big-endian.
pub fn nonce_to_bytes(nonce: Nonce) -> Vec<u8> {
    nonce.0.to_be_bytes().to_vec()
}

/// A check-in nonce from the wire; it must be exactly 16 bytes, big-endian.
pub fn nonce_from_bytes(bytes: &[u8]) -> Result<Nonce, ConvertError> {
    let array: [u8; ID128_BYTES] =
        bytes.try_into().map_err(|_| ConvertError::BadNonce { len: bytes.len() })?;
    Ok(Nonce(u128::from_be_bytes(array)))
}

/// A buyer id as it goes on the wire: 16 bytes, big-endian; empty for none.
pub fn buyer_to_bytes(buyer: Option<BuyerId>) -> Vec<u8> {
    buyer.map_or_else(Vec::new, |buyer| buyer.0.to_be_bytes().to_vec())
}

/// A buyer id from the wire: empty for none, else exactly 16 bytes, big-endian.
pub fn buyer_from_bytes(bytes: &[u8]) -> Result<Option<BuyerId>, ConvertError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let array: [u8; ID128_BYTES] =
        bytes.try_into().map_err(|_| ConvertError::BadBuyer { len: bytes.len() })?;
    Ok(Some(BuyerId(u128::from_be_bytes(array))))
}

/// A domain `u64` as a wire `int64`, saturating at `i64::MAX` (far above
/// every domain limit, so the domain answers the same).
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A wire `int64` that must not be negative.
fn non_negative(field: &'static str, value: i64) -> Result<u64, ConvertError> {
    u64::try_from(value).map_err(|_| ConvertError::Negative { field, value })
}

/// A wire `int64` that the domain keeps as a `u32` (a quantity, a rate):
/// not negative, at most `u32::MAX`.
fn quantity(field: &'static str, value: i64) -> Result<u32, ConvertError> {
    if value < 0 {
        return Err(ConvertError::Negative { field, value });
    }
    u32::try_from(value).map_err(|_| ConvertError::OutOfRange { field, value })
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, ConvertError> {
    value.ok_or(ConvertError::MissingField(field))
}

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

impl From<Direction> for v1::Direction {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Entry => v1::Direction::Entry,
            Direction::Exit => v1::Direction::Exit,
        }
    }
}

/// A wire enum value of a field, or [`ConvertError::UnknownEnum`] for an
/// unknown value or the unset zero value.
fn direction(field: &'static str, value: i32) -> Result<Direction, ConvertError> {
    match v1::Direction::try_from(value) {
        Ok(v1::Direction::Entry) => Ok(Direction::Entry),
        Ok(v1::Direction::Exit) => Ok(Direction::Exit),
        Ok(v1::Direction::Unspecified) | Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

impl From<AvailabilityState> for v1::AvailabilityState {
    fn from(state: AvailabilityState) -> Self {
        match state {
            AvailabilityState::Gone => v1::AvailabilityState::Gone,
            AvailabilityState::Ordered => v1::AvailabilityState::Ordered,
            AvailabilityState::Reserved => v1::AvailabilityState::Reserved,
            AvailabilityState::Ok => v1::AvailabilityState::Ok,
        }
    }
}

fn availability_state(field: &'static str, value: i32) -> Result<AvailabilityState, ConvertError> {
    match v1::AvailabilityState::try_from(value) {
        Ok(v1::AvailabilityState::Gone) => Ok(AvailabilityState::Gone),
        Ok(v1::AvailabilityState::Ordered) => Ok(AvailabilityState::Ordered),
        Ok(v1::AvailabilityState::Reserved) => Ok(AvailabilityState::Reserved),
        Ok(v1::AvailabilityState::Ok) => Ok(AvailabilityState::Ok),
        Ok(v1::AvailabilityState::Unspecified) | Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

impl From<HoldStatus> for v1::HoldStatus {
    fn from(status: HoldStatus) -> Self {
        match status {
            HoldStatus::Active => v1::HoldStatus::Active,
            HoldStatus::Released => v1::HoldStatus::Released,
            HoldStatus::Expired => v1::HoldStatus::Expired,
            HoldStatus::CheckedOut => v1::HoldStatus::CheckedOut,
        }
    }
}

fn hold_status(field: &'static str, value: i32) -> Result<HoldStatus, ConvertError> {
    match v1::HoldStatus::try_from(value) {
        Ok(v1::HoldStatus::Active) => Ok(HoldStatus::Active),
        Ok(v1::HoldStatus::Released) => Ok(HoldStatus::Released),
        Ok(v1::HoldStatus::Expired) => Ok(HoldStatus::Expired),
        Ok(v1::HoldStatus::CheckedOut) => Ok(HoldStatus::CheckedOut),
        Ok(v1::HoldStatus::Unspecified) | Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

impl From<OrderStatus> for v1::OrderStatus {
    fn from(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Pending => v1::OrderStatus::Pending,
            OrderStatus::Paid => v1::OrderStatus::Paid,
            OrderStatus::Expired => v1::OrderStatus::Expired,
            OrderStatus::Canceled => v1::OrderStatus::Canceled,
        }
    }
}

fn order_status(field: &'static str, value: i32) -> Result<OrderStatus, ConvertError> {
    match v1::OrderStatus::try_from(value) {
        Ok(v1::OrderStatus::Pending) => Ok(OrderStatus::Pending),
        Ok(v1::OrderStatus::Paid) => Ok(OrderStatus::Paid),
        Ok(v1::OrderStatus::Expired) => Ok(OrderStatus::Expired),
        Ok(v1::OrderStatus::Canceled) => Ok(OrderStatus::Canceled),
        Ok(v1::OrderStatus::Unspecified) | Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

impl From<CheckinRejection> for v1::CheckinRejection {
    fn from(reason: CheckinRejection) -> Self {
        match reason {
            CheckinRejection::Invalid => v1::CheckinRejection::Invalid,
            CheckinRejection::AlreadyRedeemed => v1::CheckinRejection::AlreadyRedeemed,
            CheckinRejection::Unpaid => v1::CheckinRejection::Unpaid,
            CheckinRejection::Canceled => v1::CheckinRejection::Canceled,
        }
    }
}

fn checkin_rejection(field: &'static str, value: i32) -> Result<CheckinRejection, ConvertError> {
    match v1::CheckinRejection::try_from(value) {
        Ok(v1::CheckinRejection::Invalid) => Ok(CheckinRejection::Invalid),
        Ok(v1::CheckinRejection::AlreadyRedeemed) => Ok(CheckinRejection::AlreadyRedeemed),
        Ok(v1::CheckinRejection::Unpaid) => Ok(CheckinRejection::Unpaid),
        Ok(v1::CheckinRejection::Canceled) => Ok(CheckinRejection::Canceled),
        Ok(v1::CheckinRejection::Unspecified) | Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

/// Implements `TryFrom<v1 enum>` for a domain enum through its `i32` helper
/// (the unset zero value is an error).
macro_rules! try_from_wire_enum {
    ($wire:ty => $domain:ty, $helper:ident, $field:literal) => {
        impl TryFrom<$wire> for $domain {
            type Error = ConvertError;

            fn try_from(value: $wire) -> Result<Self, ConvertError> {
                $helper($field, value as i32)
            }
        }
    };
}

try_from_wire_enum!(v1::Direction => Direction, direction, "direction");
try_from_wire_enum!(v1::AvailabilityState => AvailabilityState, availability_state, "state");
try_from_wire_enum!(v1::HoldStatus => HoldStatus, hold_status, "status");
try_from_wire_enum!(v1::OrderStatus => OrderStatus, order_status, "status");
try_from_wire_enum!(v1::CheckinRejection => CheckinRejection, checkin_rejection, "check_in");

// ---------------------------------------------------------------------------
// Lines and tickets
// ---------------------------------------------------------------------------

impl From<&Line> for v1::Line {
    fn from(line: &Line) -> Self {
        v1::Line { item: line.item.0, quantity: i64::from(line.quantity) }
    }
}

fn line(field: &'static str, line: v1::Line) -> Result<Line, ConvertError> {
    Ok(Line { item: ItemId(line.item), quantity: quantity(field, line.quantity)? })
}

fn lines(field: &'static str, wire: Vec<v1::Line>) -> Result<Vec<Line>, ConvertError> {
    wire.into_iter().map(|l| line(field, l)).collect()
}

fn lines_to_wire(lines: &[Line]) -> Vec<v1::Line> {
    lines.iter().map(v1::Line::from).collect()
}

impl TryFrom<v1::Line> for Line {
    type Error = ConvertError;

    fn try_from(wire: v1::Line) -> Result<Self, ConvertError> {
        line("line.quantity", wire)
    }
}

impl From<&Ticket> for v1::Ticket {
    fn from(ticket: &Ticket) -> Self {
        v1::Ticket { position: ticket.position, item: ticket.item.0, secret: ticket.secret.clone() }
    }
}

impl From<v1::Ticket> for Ticket {
    fn from(wire: v1::Ticket) -> Self {
        Ticket { position: wire.position, item: ItemId(wire.item), secret: wire.secret }
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

impl From<&Command> for v1::Command {
    fn from(command: &Command) -> Self {
        use v1::command as c;
        let kind = match command {
            Command::CreateOrganizer { slug, name, secret_key } => {
                c::Kind::CreateOrganizer(c::CreateOrganizer {
                    slug: slug.clone(),
                    name: name.clone(),
                    secret_key: secret_key.to_vec(),
                })
            }
            Command::CreateEvent { organizer, slug, name } => c::Kind::CreateEvent(c::CreateEvent {
                organizer: organizer.0,
                slug: slug.clone(),
                name: name.clone(),
            }),
            Command::CreateItem { event, name, price_cents } => c::Kind::CreateItem(c::CreateItem {
                event: event.0,
                name: name.clone(),
                price_cents: saturating_i64(*price_cents),
            }),
            Command::CreateQuota { event, name, size, items, close_when_sold_out } => {
                c::Kind::CreateQuota(c::CreateQuota {
                    event: event.0,
                    name: name.clone(),
                    size: size.map(saturating_i64),
                    items: items.iter().map(|item| item.0).collect(),
                    close_when_sold_out: *close_when_sold_out,
                })
            }
            Command::ResizeQuota { quota, size } => {
                c::Kind::ResizeQuota(c::ResizeQuota { quota: quota.0, size: size.map(saturating_i64) })
            }
            Command::CloseQuota { quota } => c::Kind::CloseQuota(c::CloseQuota { quota: quota.0 }),
            Command::ReopenQuota { quota } => c::Kind::ReopenQuota(c::ReopenQuota { quota: quota.0 }),
            Command::PlaceHold { event, lines, ttl_ms } => c::Kind::PlaceHold(c::PlaceHold {
                event: event.0,
                lines: lines_to_wire(lines),
                ttl_ms: saturating_i64(*ttl_ms),
            }),
            Command::AddToHold { hold, lines } => {
                c::Kind::AddToHold(c::AddToHold { hold: hold.0, lines: lines_to_wire(lines) })
            }
            Command::ExtendHold { hold, ttl_ms } => {
                c::Kind::ExtendHold(c::ExtendHold { hold: hold.0, ttl_ms: saturating_i64(*ttl_ms) })
            }
            Command::ReleaseHold { hold } => c::Kind::ReleaseHold(c::ReleaseHold { hold: hold.0 }),
            Command::Checkout { hold, payment_ttl_ms } => c::Kind::Checkout(c::Checkout {
                hold: hold.0,
                payment_ttl_ms: saturating_i64(*payment_ttl_ms),
            }),
            Command::Pay { order } => c::Kind::Pay(c::Pay { order: order.0 }),
            Command::CancelOrder { order } => c::Kind::CancelOrder(c::CancelOrder { order: order.0 }),
            Command::CreateCheckinList { event, name, allow_multiple_entries, allow_entry_after_exit } => {
                c::Kind::CreateCheckinList(c::CreateCheckinList {
                    event: event.0,
                    name: name.clone(),
                    allow_multiple_entries: *allow_multiple_entries,
                    allow_entry_after_exit: *allow_entry_after_exit,
                })
            }
            Command::CheckIn { list, secret, nonce, direction } => c::Kind::CheckIn(c::CheckIn {
                list: list.0,
                secret: secret.clone(),
                nonce: nonce_to_bytes(*nonce),
                direction: v1::Direction::from(*direction) as i32,
            }),
            Command::Expire => c::Kind::Expire(c::Expire {}),
            Command::RemoveFromHold { hold, lines } => {
                c::Kind::RemoveFromHold(c::RemoveFromHold { hold: hold.0, lines: lines_to_wire(lines) })
            }
            Command::CheckoutWithContact { hold, payment_ttl_ms, name, email } => {
                c::Kind::CheckoutWithContact(c::CheckoutWithContact {
                    hold: hold.0,
                    payment_ttl_ms: saturating_i64(*payment_ttl_ms),
                    name: name.clone(),
                    email: email.clone(),
                })
            }
            Command::ConfigureWaitingRoom {
                event,
                admit_per_minute,
                arrivals_per_second_max,
                in_flight_max,
                dry_run,
            } => c::Kind::ConfigureWaitingRoom(c::ConfigureWaitingRoom {
                event: event.0,
                admit_per_minute: i64::from(*admit_per_minute),
                arrivals_per_second_max: i64::from(*arrivals_per_second_max),
                in_flight_max: i64::from(*in_flight_max),
                dry_run: *dry_run,
            }),
            Command::JoinWaitingRoom { event } => {
                c::Kind::JoinWaitingRoom(c::JoinWaitingRoom { event: event.0 })
            }
            Command::CreateVariation { item, name, price_cents } => {
                c::Kind::CreateVariation(c::CreateVariation {
                    item: item.0,
                    name: name.clone(),
                    price_cents: saturating_i64(*price_cents),
                })
            }
            Command::SetOrderLimits { item, limits } => c::Kind::SetOrderLimits(c::SetOrderLimits {
                item: item.0,
                min_per_order: limits.min_per_order.map(i64::from),
                max_per_order: limits.max_per_order.map(i64::from),
                max_per_buyer: limits.max_per_buyer.map(i64::from),
            }),
            Command::CreateVoucher {
                event,
                scope,
                max_redemptions,
                valid_from_ms,
                valid_until_ms,
                blocks_quota,
            } => c::Kind::CreateVoucher(c::CreateVoucher {
                event: event.0,
                scope: Some(scope.into()),
                max_redemptions: i64::from(*max_redemptions),
                valid_from_ms: *valid_from_ms,
                valid_until_ms: *valid_until_ms,
                blocks_quota: *blocks_quota,
            }),
            Command::PlaceHoldWith { event, lines, ttl_ms, voucher, buyer } => {
                c::Kind::PlaceHoldWith(c::PlaceHoldWith {
                    event: event.0,
                    lines: lines_to_wire(lines),
                    ttl_ms: saturating_i64(*ttl_ms),
                    voucher: voucher.clone(),
                    buyer: buyer_to_bytes(*buyer),
                })
            }
            Command::AddSeatRow { event, zone, row, seats } => c::Kind::AddSeatRow(c::AddSeatRow {
                event: event.0,
                zone: zone.clone(),
                row: row.clone(),
                seats: seats.iter().map(c::SeatSpec::from).collect(),
            }),
            Command::SetSeatsBlocked { event, seats, blocked } => {
                c::Kind::SetSeatsBlocked(c::SetSeatsBlocked {
                    event: event.0,
                    seats: seat_ids_to_wire(seats),
                    blocked: *blocked,
                })
            }
            Command::PlaceSeatedHold { event, seats, ttl_ms, voucher, buyer } => {
                c::Kind::PlaceSeatedHold(c::PlaceSeatedHold {
                    event: event.0,
                    seats: Some(seats.into()),
                    ttl_ms: saturating_i64(*ttl_ms),
                    voucher: voucher.clone(),
                    buyer: buyer_to_bytes(*buyer),
                })
            }
            Command::JoinWaitingList { event, item, priority, buyer } => {
                c::Kind::JoinWaitingList(c::JoinWaitingList {
                    event: event.0,
                    item: item.0,
                    priority: *priority,
                    buyer: buyer_to_bytes(*buyer),
                })
            }
            Command::LeaveWaitingList { entry } => {
                c::Kind::LeaveWaitingList(c::LeaveWaitingList { entry: entry.0 })
            }
            Command::ClaimOffer { entry, ttl_ms } => {
                c::Kind::ClaimOffer(c::ClaimOffer { entry: entry.0, ttl_ms: saturating_i64(*ttl_ms) })
            }
            Command::ConfigureWaitingList { event, offer_ttl_ms } => {
                c::Kind::ConfigureWaitingList(c::ConfigureWaitingList {
                    event: event.0,
                    offer_ttl_ms: saturating_i64(*offer_ttl_ms),
                })
            }
        };
        v1::Command { kind: Some(kind) }
    }
}

impl TryFrom<v1::Command> for Command {
    type Error = ConvertError;

    fn try_from(wire: v1::Command) -> Result<Self, ConvertError> {
        use v1::command as c;
        Ok(match required("command.kind", wire.kind)? {
            c::Kind::CreateOrganizer(m) => {
                let secret_key: [u8; SECRET_KEY_BYTES] = m
                    .secret_key
                    .as_slice()
                    .try_into()
                    .map_err(|_| ConvertError::BadSecretKey { len: m.secret_key.len() })?;
                Command::CreateOrganizer { slug: m.slug, name: m.name, secret_key }
            }
            c::Kind::CreateEvent(m) => {
                Command::CreateEvent { organizer: OrganizerId(m.organizer), slug: m.slug, name: m.name }
            }
            c::Kind::CreateItem(m) => Command::CreateItem {
                event: EventId(m.event),
                name: m.name,
                price_cents: non_negative("create_item.price_cents", m.price_cents)?,
            },
            c::Kind::CreateQuota(m) => Command::CreateQuota {
                event: EventId(m.event),
                name: m.name,
                size: m.size.map(|size| non_negative("create_quota.size", size)).transpose()?,
                items: m.items.into_iter().map(ItemId).collect(),
                close_when_sold_out: m.close_when_sold_out,
            },
            c::Kind::ResizeQuota(m) => Command::ResizeQuota {
                quota: QuotaId(m.quota),
                size: m.size.map(|size| non_negative("resize_quota.size", size)).transpose()?,
            },
            c::Kind::CloseQuota(m) => Command::CloseQuota { quota: QuotaId(m.quota) },
            c::Kind::ReopenQuota(m) => Command::ReopenQuota { quota: QuotaId(m.quota) },
            c::Kind::PlaceHold(m) => Command::PlaceHold {
                event: EventId(m.event),
                lines: lines("place_hold.lines.quantity", m.lines)?,
                ttl_ms: non_negative("place_hold.ttl_ms", m.ttl_ms)?,
            },
            c::Kind::AddToHold(m) => Command::AddToHold {
                hold: HoldId(m.hold),
                lines: lines("add_to_hold.lines.quantity", m.lines)?,
            },
            c::Kind::ExtendHold(m) => Command::ExtendHold {
                hold: HoldId(m.hold),
                ttl_ms: non_negative("extend_hold.ttl_ms", m.ttl_ms)?,
            },
            c::Kind::ReleaseHold(m) => Command::ReleaseHold { hold: HoldId(m.hold) },
            c::Kind::Checkout(m) => Command::Checkout {
                hold: HoldId(m.hold),
                payment_ttl_ms: non_negative("checkout.payment_ttl_ms", m.payment_ttl_ms)?,
            },
            c::Kind::Pay(m) => Command::Pay { order: OrderId(m.order) },
            c::Kind::CancelOrder(m) => Command::CancelOrder { order: OrderId(m.order) },
            c::Kind::CreateCheckinList(m) => Command::CreateCheckinList {
                event: EventId(m.event),
                name: m.name,
                allow_multiple_entries: m.allow_multiple_entries,
                allow_entry_after_exit: m.allow_entry_after_exit,
            },
            c::Kind::CheckIn(m) => Command::CheckIn {
                list: CheckinListId(m.list),
                secret: m.secret,
                nonce: nonce_from_bytes(&m.nonce)?,
                direction: direction("check_in.direction", m.direction)?,
            },
            c::Kind::Expire(c::Expire {}) => Command::Expire,
            c::Kind::RemoveFromHold(m) => Command::RemoveFromHold {
                hold: HoldId(m.hold),
                lines: lines("remove_from_hold.lines.quantity", m.lines)?,
            },
            c::Kind::CheckoutWithContact(m) => Command::CheckoutWithContact {
                hold: HoldId(m.hold),
                payment_ttl_ms: non_negative("checkout_with_contact.payment_ttl_ms", m.payment_ttl_ms)?,
                name: m.name,
                email: m.email,
            },
            c::Kind::ConfigureWaitingRoom(m) => Command::ConfigureWaitingRoom {
                event: EventId(m.event),
                admit_per_minute: quantity("configure_waiting_room.admit_per_minute", m.admit_per_minute)?,
                arrivals_per_second_max: quantity(
                    "configure_waiting_room.arrivals_per_second_max",
                    m.arrivals_per_second_max,
                )?,
                in_flight_max: quantity("configure_waiting_room.in_flight_max", m.in_flight_max)?,
                dry_run: m.dry_run,
            },
            c::Kind::JoinWaitingRoom(m) => Command::JoinWaitingRoom { event: EventId(m.event) },
            c::Kind::CreateVariation(m) => Command::CreateVariation {
                item: ItemId(m.item),
                name: m.name,
                price_cents: non_negative("create_variation.price_cents", m.price_cents)?,
            },
            c::Kind::SetOrderLimits(m) => {
                let limit = |field, value: Option<i64>| value.map(|v| quantity(field, v)).transpose();
                Command::SetOrderLimits {
                    item: ItemId(m.item),
                    limits: OrderLimits {
                        min_per_order: limit("set_order_limits.min_per_order", m.min_per_order)?,
                        max_per_order: limit("set_order_limits.max_per_order", m.max_per_order)?,
                        max_per_buyer: limit("set_order_limits.max_per_buyer", m.max_per_buyer)?,
                    },
                }
            }
            c::Kind::CreateVoucher(m) => {
                let scope = voucher_scope("create_voucher.scope", m.scope)?;
                Command::CreateVoucher {
                    event: EventId(m.event),
                    scope,
                    max_redemptions: quantity("create_voucher.max_redemptions", m.max_redemptions)?,
                    valid_from_ms: m.valid_from_ms,
                    valid_until_ms: m.valid_until_ms,
                    blocks_quota: m.blocks_quota,
                }
            }
            c::Kind::PlaceHoldWith(m) => Command::PlaceHoldWith {
                event: EventId(m.event),
                lines: lines("place_hold_with.lines.quantity", m.lines)?,
                ttl_ms: non_negative("place_hold_with.ttl_ms", m.ttl_ms)?,
                voucher: m.voucher,
                buyer: buyer_from_bytes(&m.buyer)?,
            },
            c::Kind::AddSeatRow(m) => Command::AddSeatRow {
                event: EventId(m.event),
                zone: m.zone,
                row: m.row,
                seats: m.seats.into_iter().map(SeatSpec::from).collect(),
            },
            c::Kind::SetSeatsBlocked(m) => Command::SetSeatsBlocked {
                event: EventId(m.event),
                seats: seat_ids(m.seats),
                blocked: m.blocked,
            },
            c::Kind::PlaceSeatedHold(m) => Command::PlaceSeatedHold {
                event: EventId(m.event),
                seats: seat_choice("place_seated_hold.seats", m.seats)?,
                ttl_ms: non_negative("place_seated_hold.ttl_ms", m.ttl_ms)?,
                voucher: m.voucher,
                buyer: buyer_from_bytes(&m.buyer)?,
            },
            c::Kind::JoinWaitingList(m) => Command::JoinWaitingList {
                event: EventId(m.event),
                item: ItemId(m.item),
                priority: m.priority,
                buyer: buyer_from_bytes(&m.buyer)?,
            },
            c::Kind::LeaveWaitingList(m) => Command::LeaveWaitingList { entry: EntryId(m.entry) },
            c::Kind::ClaimOffer(m) => Command::ClaimOffer {
                entry: EntryId(m.entry),
                ttl_ms: non_negative("claim_offer.ttl_ms", m.ttl_ms)?,
            },
            c::Kind::ConfigureWaitingList(m) => Command::ConfigureWaitingList {
                event: EventId(m.event),
                offer_ttl_ms: non_negative("configure_waiting_list.offer_ttl_ms", m.offer_ttl_ms)?,
            },
        })
    }
}

fn seat_ids_to_wire(seats: &[SeatId]) -> Vec<u64> {
    seats.iter().map(|seat| seat.0).collect()
}

fn seat_ids(wire: Vec<u64>) -> Vec<SeatId> {
    wire.into_iter().map(SeatId).collect()
}

impl From<&SeatSpec> for v1::command::SeatSpec {
    fn from(spec: &SeatSpec) -> Self {
        v1::command::SeatSpec { label: spec.label.clone(), item: spec.item.0 }
    }
}

impl From<v1::command::SeatSpec> for SeatSpec {
    fn from(wire: v1::command::SeatSpec) -> Self {
        SeatSpec { label: wire.label, item: ItemId(wire.item) }
    }
}

impl From<&SeatChoice> for v1::command::SeatChoice {
    fn from(choice: &SeatChoice) -> Self {
        use v1::command::seat_choice as sc;
        let kind = match choice {
            SeatChoice::Named(seats) => sc::Kind::Named(sc::Named { seats: seat_ids_to_wire(seats) }),
            SeatChoice::Adjacent { zone, count, item } => sc::Kind::Adjacent(sc::Adjacent {
                zone: zone.clone(),
                count: i64::from(*count),
                item: item.map(|item| item.0),
            }),
        };
        v1::command::SeatChoice { kind: Some(kind) }
    }
}

/// A seated hold's choice of seats from the wire; `field` names it in the error.
fn seat_choice(
    field: &'static str,
    wire: Option<v1::command::SeatChoice>,
) -> Result<SeatChoice, ConvertError> {
    use v1::command::seat_choice as sc;
    let choice = required(field, wire)?;
    Ok(match required(field, choice.kind)? {
        sc::Kind::Named(named) => SeatChoice::Named(seat_ids(named.seats)),
        sc::Kind::Adjacent(adjacent) => SeatChoice::Adjacent {
            zone: adjacent.zone,
            count: quantity("place_seated_hold.seats.adjacent.count", adjacent.count)?,
            item: adjacent.item.map(ItemId),
        },
    })
}

/// A command with its request id, ready to send.
pub fn submit_request(request_id: RequestId, command: &Command) -> v1::SubmitRequest {
    v1::SubmitRequest { request_id: request_id_to_bytes(request_id), command: Some(command.into()) }
}

impl TryFrom<v1::SubmitRequest> for (RequestId, Command) {
    type Error = ConvertError;

    /// The request id and the command of a request; the request id is
    /// checked first.
    fn try_from(wire: v1::SubmitRequest) -> Result<Self, ConvertError> {
        let request_id = request_id_from_bytes(&wire.request_id)?;
        let command = Command::try_from(required("command", wire.command)?)?;
        Ok((request_id, command))
    }
}

impl From<&Applied> for v1::SubmitResponse {
    /// The answer to a submitted command: its outcome, whether it was a
    /// retry answered from the request-id table, and its record's seq (0 for
    /// a retry).
    fn from(applied: &Applied) -> Self {
        v1::SubmitResponse {
            outcome: Some((&applied.outcome).into()),
            duplicate: applied.is_duplicate(),
            seq: applied.record.as_ref().map_or(0, |record| record.seq),
        }
    }
}

// ---------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------

impl From<&Outcome> for v1::Outcome {
    fn from(outcome: &Outcome) -> Self {
        let result = match outcome {
            Outcome::Accepted(accepted) => v1::outcome::Result::Accepted(accepted.into()),
            Outcome::Rejected(rejection) => v1::outcome::Result::Rejected(rejection.into()),
        };
        v1::Outcome { result: Some(result), label: outcome.label().to_string() }
    }
}

impl TryFrom<v1::Outcome> for Outcome {
    type Error = ConvertError;

    /// The outcome; `label` is ignored (it is derived from the outcome).
    fn try_from(wire: v1::Outcome) -> Result<Self, ConvertError> {
        Ok(match required("outcome.result", wire.result)? {
            v1::outcome::Result::Accepted(accepted) => Outcome::Accepted(accepted.try_into()?),
            v1::outcome::Result::Rejected(rejection) => Outcome::Rejected(rejection.try_into()?),
        })
    }
}

impl From<&Accepted> for v1::Accepted {
    fn from(accepted: &Accepted) -> Self {
        use v1::accepted as a;
        let kind = match accepted {
            Accepted::OrganizerCreated { organizer } => {
                a::Kind::OrganizerCreated(a::OrganizerCreated { organizer: organizer.0 })
            }
            Accepted::EventCreated { event } => a::Kind::EventCreated(a::EventCreated { event: event.0 }),
            Accepted::ItemCreated { item } => a::Kind::ItemCreated(a::ItemCreated { item: item.0 }),
            Accepted::QuotaCreated { quota } => a::Kind::QuotaCreated(a::QuotaCreated { quota: quota.0 }),
            Accepted::QuotaUpdated { quota } => a::Kind::QuotaUpdated(a::QuotaUpdated { quota: quota.0 }),
            Accepted::HoldLive { hold, expires_at_ms } => {
                a::Kind::HoldLive(a::HoldLive { hold: hold.0, expires_at_ms: *expires_at_ms })
            }
            Accepted::HoldReleased { hold } => a::Kind::HoldReleased(a::HoldReleased { hold: hold.0 }),
            Accepted::OrderPlaced { order, payment_deadline_ms, total_cents, tickets } => {
                a::Kind::OrderPlaced(a::OrderPlaced {
                    order: order.0,
                    payment_deadline_ms: *payment_deadline_ms,
                    total_cents: *total_cents,
                    tickets: tickets.iter().map(v1::Ticket::from).collect(),
                })
            }
            Accepted::OrderPaid { order } => a::Kind::OrderPaid(a::OrderPaid { order: order.0 }),
            Accepted::PaymentRefundOwed { order, amount_cents } => {
                a::Kind::PaymentRefundOwed(a::PaymentRefundOwed {
                    order: order.0,
                    amount_cents: *amount_cents,
                })
            }
            Accepted::OrderCanceled { order, refund_owed_cents } => {
                a::Kind::OrderCanceled(a::OrderCanceled {
                    order: order.0,
                    refund_owed_cents: *refund_owed_cents,
                })
            }
            Accepted::CheckinListCreated { list } => {
                a::Kind::CheckinListCreated(a::CheckinListCreated { list: list.0 })
            }
            Accepted::CheckedIn { order, position, direction } => a::Kind::CheckedIn(a::CheckedIn {
                order: order.0,
                position: *position,
                direction: v1::Direction::from(*direction) as i32,
            }),
            Accepted::Expired { holds, orders, more } => {
                a::Kind::Expired(a::Expired { holds: *holds, orders: *orders, more: *more })
            }
            Accepted::WaitingRoomConfigured { event } => {
                a::Kind::WaitingRoomConfigured(a::WaitingRoomConfigured { event: event.0 })
            }
            Accepted::WaitingRoomJoined { event, position } => {
                a::Kind::WaitingRoomJoined(a::WaitingRoomJoined { event: event.0, position: *position })
            }
            Accepted::OrderLimitsSet { item } => a::Kind::OrderLimitsSet(a::OrderLimitsSet { item: item.0 }),
            Accepted::VoucherCreated { voucher, code } => {
                a::Kind::VoucherCreated(a::VoucherCreated { voucher: voucher.0, code: code.clone() })
            }
            Accepted::SeatRowAdded { first_seat, count } => {
                a::Kind::SeatRowAdded(a::SeatRowAdded { first_seat: first_seat.0, count: *count })
            }
            Accepted::SeatsBlocked { event, count } => {
                a::Kind::SeatsBlocked(a::SeatsBlocked { event: event.0, count: *count })
            }
            Accepted::SeatedHoldLive { hold, expires_at_ms, seats } => {
                a::Kind::SeatedHoldLive(a::SeatedHoldLive {
                    hold: hold.0,
                    expires_at_ms: *expires_at_ms,
                    seats: seat_ids_to_wire(seats),
                })
            }
            Accepted::SeatCheckedIn { order, position, direction, seat } => {
                a::Kind::SeatCheckedIn(a::SeatCheckedIn {
                    order: order.0,
                    position: *position,
                    direction: v1::Direction::from(*direction) as i32,
                    seat: seat.0,
                })
            }
            Accepted::WaitingListJoined { entry, position } => {
                a::Kind::WaitingListJoined(a::WaitingListJoined { entry: entry.0, position: *position })
            }
            Accepted::WaitingListLeft { entry } => {
                a::Kind::WaitingListLeft(a::WaitingListLeft { entry: entry.0 })
            }
            Accepted::WaitingListConfigured { event } => {
                a::Kind::WaitingListConfigured(a::WaitingListConfigured { event: event.0 })
            }
        };
        v1::Accepted { kind: Some(kind) }
    }
}

impl TryFrom<v1::Accepted> for Accepted {
    type Error = ConvertError;

    fn try_from(wire: v1::Accepted) -> Result<Self, ConvertError> {
        use v1::accepted as a;
        Ok(match required("accepted.kind", wire.kind)? {
            a::Kind::OrganizerCreated(m) => {
                Accepted::OrganizerCreated { organizer: OrganizerId(m.organizer) }
            }
            a::Kind::EventCreated(m) => Accepted::EventCreated { event: EventId(m.event) },
            a::Kind::ItemCreated(m) => Accepted::ItemCreated { item: ItemId(m.item) },
            a::Kind::QuotaCreated(m) => Accepted::QuotaCreated { quota: QuotaId(m.quota) },
            a::Kind::QuotaUpdated(m) => Accepted::QuotaUpdated { quota: QuotaId(m.quota) },
            a::Kind::HoldLive(m) => {
                Accepted::HoldLive { hold: HoldId(m.hold), expires_at_ms: m.expires_at_ms }
            }
            a::Kind::HoldReleased(m) => Accepted::HoldReleased { hold: HoldId(m.hold) },
            a::Kind::OrderPlaced(m) => Accepted::OrderPlaced {
                order: OrderId(m.order),
                payment_deadline_ms: m.payment_deadline_ms,
                total_cents: m.total_cents,
                tickets: m.tickets.into_iter().map(Ticket::from).collect(),
            },
            a::Kind::OrderPaid(m) => Accepted::OrderPaid { order: OrderId(m.order) },
            a::Kind::PaymentRefundOwed(m) => {
                Accepted::PaymentRefundOwed { order: OrderId(m.order), amount_cents: m.amount_cents }
            }
            a::Kind::OrderCanceled(m) => {
                Accepted::OrderCanceled { order: OrderId(m.order), refund_owed_cents: m.refund_owed_cents }
            }
            a::Kind::CheckinListCreated(m) => Accepted::CheckinListCreated { list: CheckinListId(m.list) },
            a::Kind::CheckedIn(m) => Accepted::CheckedIn {
                order: OrderId(m.order),
                position: m.position,
                direction: direction("accepted.checked_in.direction", m.direction)?,
            },
            a::Kind::Expired(m) => Accepted::Expired { holds: m.holds, orders: m.orders, more: m.more },
            a::Kind::WaitingRoomConfigured(m) => Accepted::WaitingRoomConfigured { event: EventId(m.event) },
            a::Kind::WaitingRoomJoined(m) => {
                Accepted::WaitingRoomJoined { event: EventId(m.event), position: m.position }
            }
            a::Kind::OrderLimitsSet(m) => Accepted::OrderLimitsSet { item: ItemId(m.item) },
            a::Kind::VoucherCreated(m) => {
                Accepted::VoucherCreated { voucher: VoucherId(m.voucher), code: m.code }
            }
            a::Kind::SeatRowAdded(m) => {
                Accepted::SeatRowAdded { first_seat: SeatId(m.first_seat), count: m.count }
            }
            a::Kind::SeatsBlocked(m) => Accepted::SeatsBlocked { event: EventId(m.event), count: m.count },
            a::Kind::SeatedHoldLive(m) => Accepted::SeatedHoldLive {
                hold: HoldId(m.hold),
                expires_at_ms: m.expires_at_ms,
                seats: seat_ids(m.seats),
            },
            a::Kind::SeatCheckedIn(m) => Accepted::SeatCheckedIn {
                order: OrderId(m.order),
                position: m.position,
                direction: direction("accepted.seat_checked_in.direction", m.direction)?,
                seat: SeatId(m.seat),
            },
            a::Kind::WaitingListJoined(m) => {
                Accepted::WaitingListJoined { entry: EntryId(m.entry), position: m.position }
            }
            a::Kind::WaitingListLeft(m) => Accepted::WaitingListLeft { entry: EntryId(m.entry) },
            a::Kind::WaitingListConfigured(m) => Accepted::WaitingListConfigured { event: EventId(m.event) },
        })
    }
}

impl From<&InvalidInput> for v1::InvalidInput {
    fn from(invalid: &InvalidInput) -> Self {
        use v1::invalid_input::Kind;
        let (kind, item) = match invalid {
            InvalidInput::Slug => (Kind::Slug, 0),
            InvalidInput::Name => (Kind::Name, 0),
            InvalidInput::Price => (Kind::Price, 0),
            InvalidInput::QuotaSize => (Kind::QuotaSize, 0),
            InvalidInput::QuotaItems => (Kind::QuotaItems, 0),
            InvalidInput::ItemQuotas { item } => (Kind::ItemQuotas, item.0),
            InvalidInput::ItemOfOtherEvent { item } => (Kind::ItemOfOtherEvent, item.0),
            InvalidInput::Lines => (Kind::Lines, 0),
            InvalidInput::Quantity => (Kind::Quantity, 0),
            InvalidInput::Ttl => (Kind::Ttl, 0),
            InvalidInput::Secret => (Kind::Secret, 0),
            InvalidInput::NotInHold { item } => (Kind::NotInHold, item.0),
            InvalidInput::ContactName => (Kind::ContactName, 0),
            InvalidInput::Email => (Kind::Email, 0),
            InvalidInput::WaitingRoom => (Kind::WaitingRoom, 0),
            InvalidInput::VariationRequired { item } => (Kind::VariationRequired, item.0),
            InvalidInput::Variations { item } => (Kind::Variations, item.0),
            InvalidInput::VoucherCode => (Kind::VoucherCode, 0),
            InvalidInput::VoucherRedemptions => (Kind::VoucherRedemptions, 0),
            InvalidInput::VoucherWindow => (Kind::VoucherWindow, 0),
            InvalidInput::VoucherScope => (Kind::VoucherScope, 0),
            InvalidInput::EventVouchers => (Kind::EventVouchers, 0),
            InvalidInput::OrderLimits => (Kind::OrderLimits, 0),
            InvalidInput::SeatRow => (Kind::SeatRow, 0),
            InvalidInput::SeatRowExists => (Kind::SeatRowExists, 0),
            InvalidInput::EventSeats => (Kind::EventSeats, 0),
            InvalidInput::Seats => (Kind::Seats, 0),
            InvalidInput::SeatOfOtherEvent { .. } => (Kind::SeatOfOtherEvent, 0),
            InvalidInput::SeatedHold { .. } => (Kind::SeatedHold, 0),
        };
        let (seat, hold) = match invalid {
            InvalidInput::SeatOfOtherEvent { seat } => (seat.0, 0),
            InvalidInput::SeatedHold { hold } => (0, hold.0),
            _ => (0, 0),
        };
        v1::InvalidInput { kind: kind as i32, item, seat, hold }
    }
}

impl TryFrom<v1::InvalidInput> for InvalidInput {
    type Error = ConvertError;

    fn try_from(wire: v1::InvalidInput) -> Result<Self, ConvertError> {
        use v1::invalid_input::Kind;
        let kind = Kind::try_from(wire.kind);
        Ok(match kind {
            Ok(Kind::Slug) => InvalidInput::Slug,
            Ok(Kind::Name) => InvalidInput::Name,
            Ok(Kind::Price) => InvalidInput::Price,
            Ok(Kind::QuotaSize) => InvalidInput::QuotaSize,
            Ok(Kind::QuotaItems) => InvalidInput::QuotaItems,
            Ok(Kind::ItemQuotas) => InvalidInput::ItemQuotas { item: ItemId(wire.item) },
            Ok(Kind::ItemOfOtherEvent) => InvalidInput::ItemOfOtherEvent { item: ItemId(wire.item) },
            Ok(Kind::Lines) => InvalidInput::Lines,
            Ok(Kind::Quantity) => InvalidInput::Quantity,
            Ok(Kind::Ttl) => InvalidInput::Ttl,
            Ok(Kind::Secret) => InvalidInput::Secret,
            Ok(Kind::NotInHold) => InvalidInput::NotInHold { item: ItemId(wire.item) },
            Ok(Kind::ContactName) => InvalidInput::ContactName,
            Ok(Kind::Email) => InvalidInput::Email,
            Ok(Kind::WaitingRoom) => InvalidInput::WaitingRoom,
            Ok(Kind::VariationRequired) => InvalidInput::VariationRequired { item: ItemId(wire.item) },
            Ok(Kind::Variations) => InvalidInput::Variations { item: ItemId(wire.item) },
            Ok(Kind::VoucherCode) => InvalidInput::VoucherCode,
            Ok(Kind::VoucherRedemptions) => InvalidInput::VoucherRedemptions,
            Ok(Kind::VoucherWindow) => InvalidInput::VoucherWindow,
            Ok(Kind::VoucherScope) => InvalidInput::VoucherScope,
            Ok(Kind::EventVouchers) => InvalidInput::EventVouchers,
            Ok(Kind::OrderLimits) => InvalidInput::OrderLimits,
            Ok(Kind::SeatRow) => InvalidInput::SeatRow,
            Ok(Kind::SeatRowExists) => InvalidInput::SeatRowExists,
            Ok(Kind::EventSeats) => InvalidInput::EventSeats,
            Ok(Kind::Seats) => InvalidInput::Seats,
            Ok(Kind::SeatOfOtherEvent) => InvalidInput::SeatOfOtherEvent { seat: SeatId(wire.seat) },
            Ok(Kind::SeatedHold) => InvalidInput::SeatedHold { hold: HoldId(wire.hold) },
            Ok(Kind::Unspecified) | Err(_) => {
                return Err(ConvertError::UnknownEnum { field: "invalid_input.kind", value: wire.kind });
            }
        })
    }
}

impl From<&ObjectRef> for v1::ObjectRef {
    fn from(object: &ObjectRef) -> Self {
        use v1::object_ref::Kind;
        let (kind, id) = match *object {
            ObjectRef::Organizer(id) => (Kind::Organizer, id.0),
            ObjectRef::Event(id) => (Kind::Event, id.0),
            ObjectRef::Item(id) => (Kind::Item, id.0),
            ObjectRef::Quota(id) => (Kind::Quota, id.0),
            ObjectRef::Hold(id) => (Kind::Hold, id.0),
            ObjectRef::Order(id) => (Kind::Order, id.0),
            ObjectRef::CheckinList(id) => (Kind::CheckinList, id.0),
            ObjectRef::WaitingRoom(event) => (Kind::WaitingRoom, event.0),
            ObjectRef::Voucher(id) => (Kind::Voucher, id.0),
            ObjectRef::Seat(id) => (Kind::Seat, id.0),
            ObjectRef::WaitingListEntry(id) => (Kind::WaitingListEntry, id.0),
        };
        v1::ObjectRef { kind: kind as i32, id }
    }
}

impl TryFrom<v1::ObjectRef> for ObjectRef {
    type Error = ConvertError;

    fn try_from(wire: v1::ObjectRef) -> Result<Self, ConvertError> {
        use v1::object_ref::Kind;
        let id = wire.id;
        Ok(match Kind::try_from(wire.kind) {
            Ok(Kind::Organizer) => ObjectRef::Organizer(OrganizerId(id)),
            Ok(Kind::Event) => ObjectRef::Event(EventId(id)),
            Ok(Kind::Item) => ObjectRef::Item(ItemId(id)),
            Ok(Kind::Quota) => ObjectRef::Quota(QuotaId(id)),
            Ok(Kind::Hold) => ObjectRef::Hold(HoldId(id)),
            Ok(Kind::Order) => ObjectRef::Order(OrderId(id)),
            Ok(Kind::CheckinList) => ObjectRef::CheckinList(CheckinListId(id)),
            Ok(Kind::WaitingRoom) => ObjectRef::WaitingRoom(EventId(id)),
            Ok(Kind::Voucher) => ObjectRef::Voucher(VoucherId(id)),
            Ok(Kind::Seat) => ObjectRef::Seat(SeatId(id)),
            Ok(Kind::WaitingListEntry) => ObjectRef::WaitingListEntry(EntryId(id)),
            Ok(Kind::Unspecified) | Err(_) => {
                return Err(ConvertError::UnknownEnum { field: "object_ref.kind", value: wire.kind });
            }
        })
    }
}

impl From<&Rejection> for v1::Rejection {
    fn from(rejection: &Rejection) -> Self {
        use v1::rejection as r;
        let reason = match rejection {
            Rejection::Invalid(invalid) => r::Reason::Invalid(invalid.into()),
            Rejection::NotFound(object) => r::Reason::NotFound(object.into()),
            Rejection::SlugTaken { slug } => r::Reason::SlugTaken(r::SlugTaken { slug: slug.clone() }),
            Rejection::ItemNotForSale { item } => {
                r::Reason::ItemNotForSale(r::ItemNotForSale { item: item.0 })
            }
            Rejection::SoldOut { item, quota, state, remaining } => r::Reason::SoldOut(r::SoldOut {
                item: item.0,
                quota: quota.0,
                state: v1::AvailabilityState::from(*state) as i32,
                remaining: *remaining,
            }),
            Rejection::QuotaClosed { item, quota } => {
                r::Reason::QuotaClosed(r::QuotaClosed { item: item.0, quota: quota.0 })
            }
            Rejection::HoldExpired { hold } => r::Reason::HoldExpired(r::HoldExpired { hold: hold.0 }),
            Rejection::HoldClosed { hold, status } => r::Reason::HoldClosed(r::HoldClosed {
                hold: hold.0,
                status: v1::HoldStatus::from(*status) as i32,
            }),
            Rejection::HoldLifetimeCapReached { hold, expires_at_max_ms } => {
                r::Reason::HoldLifetimeCapReached(r::HoldLifetimeCapReached {
                    hold: hold.0,
                    expires_at_max_ms: *expires_at_max_ms,
                })
            }
            Rejection::OrderStatusForbids { order, status } => {
                r::Reason::OrderStatusForbids(r::OrderStatusForbids {
                    order: order.0,
                    status: v1::OrderStatus::from(*status) as i32,
                })
            }
            Rejection::CheckIn(reason) => r::Reason::CheckIn(v1::CheckinRejection::from(*reason) as i32),
            Rejection::Conflict => r::Reason::Conflict(r::Conflict {}),
            Rejection::Voucher(reason) => r::Reason::Voucher(voucher_rejection_to_wire(reason)),
            Rejection::OrderLimit(reason) => r::Reason::OrderLimit(order_limit_to_wire(reason)),
            Rejection::Seat(reason) => r::Reason::Seat(seat_rejection_to_wire(reason)),
            Rejection::WaitingList(reason) => r::Reason::WaitingList(waiting_list_rejection_to_wire(reason)),
        };
        v1::Rejection { reason: Some(reason) }
    }
}

impl TryFrom<v1::Rejection> for Rejection {
    type Error = ConvertError;

    fn try_from(wire: v1::Rejection) -> Result<Self, ConvertError> {
        use v1::rejection as r;
        Ok(match required("rejection.reason", wire.reason)? {
            r::Reason::Invalid(m) => Rejection::Invalid(m.try_into()?),
            r::Reason::NotFound(m) => Rejection::NotFound(m.try_into()?),
            r::Reason::SlugTaken(m) => Rejection::SlugTaken { slug: m.slug },
            r::Reason::ItemNotForSale(m) => Rejection::ItemNotForSale { item: ItemId(m.item) },
            r::Reason::SoldOut(m) => Rejection::SoldOut {
                item: ItemId(m.item),
                quota: QuotaId(m.quota),
                state: availability_state("rejection.sold_out.state", m.state)?,
                remaining: m.remaining,
            },
            r::Reason::QuotaClosed(m) => {
                Rejection::QuotaClosed { item: ItemId(m.item), quota: QuotaId(m.quota) }
            }
            r::Reason::HoldExpired(m) => Rejection::HoldExpired { hold: HoldId(m.hold) },
            r::Reason::HoldClosed(m) => Rejection::HoldClosed {
                hold: HoldId(m.hold),
                status: hold_status("rejection.hold_closed.status", m.status)?,
            },
            r::Reason::HoldLifetimeCapReached(m) => Rejection::HoldLifetimeCapReached {
                hold: HoldId(m.hold),
                expires_at_max_ms: m.expires_at_max_ms,
            },
            r::Reason::OrderStatusForbids(m) => Rejection::OrderStatusForbids {
                order: OrderId(m.order),
                status: order_status("rejection.order_status_forbids.status", m.status)?,
            },
            r::Reason::CheckIn(value) => Rejection::CheckIn(checkin_rejection("rejection.check_in", value)?),
            r::Reason::Conflict(r::Conflict {}) => Rejection::Conflict,
            r::Reason::Voucher(m) => Rejection::Voucher(voucher_rejection(m)?),
            r::Reason::OrderLimit(m) => Rejection::OrderLimit(order_limit(m)?),
            r::Reason::Seat(m) => Rejection::Seat(seat_rejection(m)?),
            r::Reason::WaitingList(m) => Rejection::WaitingList(waiting_list_rejection(m)?),
        })
    }
}

fn voucher_rejection_to_wire(reason: &VoucherRejection) -> v1::rejection::Voucher {
    use v1::rejection::voucher::Kind;
    let wire = v1::rejection::Voucher::default();
    match *reason {
        VoucherRejection::Unknown => v1::rejection::Voucher { kind: Kind::Unknown as i32, ..wire },
        VoucherRejection::NotYetValid { voucher, valid_from_ms } => v1::rejection::Voucher {
            kind: Kind::NotYetValid as i32,
            voucher: voucher.0,
            at_ms: valid_from_ms,
            ..wire
        },
        VoucherRejection::Expired { voucher, valid_until_ms } => v1::rejection::Voucher {
            kind: Kind::Expired as i32,
            voucher: voucher.0,
            at_ms: valid_until_ms,
            ..wire
        },
        VoucherRejection::NotApplicable { voucher, item } => v1::rejection::Voucher {
            kind: Kind::NotApplicable as i32,
            voucher: voucher.0,
            item: item.0,
            ..wire
        },
        VoucherRejection::Exhausted { voucher, remaining } => {
            v1::rejection::Voucher { kind: Kind::Exhausted as i32, voucher: voucher.0, remaining, ..wire }
        }
        VoucherRejection::NoRoomToBlock { quota, remaining } => {
            v1::rejection::Voucher { kind: Kind::NoRoomToBlock as i32, quota: quota.0, remaining, ..wire }
        }
    }
}

fn voucher_rejection(wire: v1::rejection::Voucher) -> Result<VoucherRejection, ConvertError> {
    use v1::rejection::voucher::Kind;
    let voucher = VoucherId(wire.voucher);
    Ok(match Kind::try_from(wire.kind) {
        Ok(Kind::Unknown) => VoucherRejection::Unknown,
        Ok(Kind::NotYetValid) => VoucherRejection::NotYetValid { voucher, valid_from_ms: wire.at_ms },
        Ok(Kind::Expired) => VoucherRejection::Expired { voucher, valid_until_ms: wire.at_ms },
        Ok(Kind::NotApplicable) => VoucherRejection::NotApplicable { voucher, item: ItemId(wire.item) },
        Ok(Kind::Exhausted) => VoucherRejection::Exhausted { voucher, remaining: wire.remaining },
        Ok(Kind::NoRoomToBlock) => {
            VoucherRejection::NoRoomToBlock { quota: QuotaId(wire.quota), remaining: wire.remaining }
        }
        Ok(Kind::Unspecified) | Err(_) => {
            return Err(ConvertError::UnknownEnum { field: "rejection.voucher.kind", value: wire.kind });
        }
    })
}

fn order_limit_to_wire(reason: &OrderLimitRejection) -> v1::rejection::OrderLimit {
    use v1::rejection::order_limit::Kind;
    let (kind, item, limit, counted) = match *reason {
        OrderLimitRejection::BelowMin { item, min } => (Kind::BelowMin, item, min, 0),
        OrderLimitRejection::AboveMax { item, max } => (Kind::AboveMax, item, max, 0),
        OrderLimitRejection::BuyerMax { item, max, counted } => (Kind::BuyerMax, item, max, counted),
        OrderLimitRejection::BuyerRequired { item } => (Kind::BuyerRequired, item, 0, 0),
    };
    v1::rejection::OrderLimit { kind: kind as i32, item: item.0, limit, counted }
}

fn order_limit(wire: v1::rejection::OrderLimit) -> Result<OrderLimitRejection, ConvertError> {
    use v1::rejection::order_limit::Kind;
    let (item, limit) = (ItemId(wire.item), wire.limit);
    Ok(match Kind::try_from(wire.kind) {
        Ok(Kind::BelowMin) => OrderLimitRejection::BelowMin { item, min: limit },
        Ok(Kind::AboveMax) => OrderLimitRejection::AboveMax { item, max: limit },
        Ok(Kind::BuyerMax) => OrderLimitRejection::BuyerMax { item, max: limit, counted: wire.counted },
        Ok(Kind::BuyerRequired) => OrderLimitRejection::BuyerRequired { item },
        Ok(Kind::Unspecified) | Err(_) => {
            return Err(ConvertError::UnknownEnum { field: "rejection.order_limit.kind", value: wire.kind });
        }
    })
}

fn seat_rejection_to_wire(reason: &SeatRejection) -> v1::rejection::Seat {
    use v1::rejection::seat::Kind;
    let wire = v1::rejection::Seat::default();
    match reason {
        SeatRejection::Blocked { seat } => {
            v1::rejection::Seat { kind: Kind::Blocked as i32, seat: seat.0, ..wire }
        }
        SeatRejection::Taken { seat } => {
            v1::rejection::Seat { kind: Kind::Taken as i32, seat: seat.0, ..wire }
        }
        SeatRejection::NoAdjacentSeats { zone, count } => v1::rejection::Seat {
            kind: Kind::NoAdjacentSeats as i32,
            zone: zone.clone(),
            count: *count,
            ..wire
        },
    }
}

fn seat_rejection(wire: v1::rejection::Seat) -> Result<SeatRejection, ConvertError> {
    use v1::rejection::seat::Kind;
    let seat = SeatId(wire.seat);
    Ok(match Kind::try_from(wire.kind) {
        Ok(Kind::Blocked) => SeatRejection::Blocked { seat },
        Ok(Kind::Taken) => SeatRejection::Taken { seat },
        Ok(Kind::NoAdjacentSeats) => SeatRejection::NoAdjacentSeats { zone: wire.zone, count: wire.count },
        Ok(Kind::Unspecified) | Err(_) => {
            return Err(ConvertError::UnknownEnum { field: "rejection.seat.kind", value: wire.kind });
        }
    })
}

fn waiting_list_rejection_to_wire(reason: &WaitingListRejection) -> v1::rejection::WaitingList {
    use v1::rejection::waiting_list::Kind;
    let wire = v1::rejection::WaitingList::default();
    match *reason {
        WaitingListRejection::Available { item } => {
            v1::rejection::WaitingList { kind: Kind::Available as i32, item: item.0, ..wire }
        }
        WaitingListRejection::Full { event, max } => {
            v1::rejection::WaitingList { kind: Kind::Full as i32, event: event.0, max, ..wire }
        }
        WaitingListRejection::NotOffered { entry } => {
            v1::rejection::WaitingList { kind: Kind::NotOffered as i32, entry: entry.0, ..wire }
        }
        WaitingListRejection::OfferLapsed { entry, expired_at_ms } => v1::rejection::WaitingList {
            kind: Kind::OfferLapsed as i32,
            entry: entry.0,
            expired_at_ms,
            ..wire
        },
        WaitingListRejection::Claimed { entry, hold } => {
            v1::rejection::WaitingList { kind: Kind::Claimed as i32, entry: entry.0, hold: hold.0, ..wire }
        }
        WaitingListRejection::Left { entry } => {
            v1::rejection::WaitingList { kind: Kind::Left as i32, entry: entry.0, ..wire }
        }
    }
}

fn waiting_list_rejection(wire: v1::rejection::WaitingList) -> Result<WaitingListRejection, ConvertError> {
    use v1::rejection::waiting_list::Kind;
    let entry = EntryId(wire.entry);
    Ok(match Kind::try_from(wire.kind) {
        Ok(Kind::Available) => WaitingListRejection::Available { item: ItemId(wire.item) },
        Ok(Kind::Full) => WaitingListRejection::Full { event: EventId(wire.event), max: wire.max },
        Ok(Kind::NotOffered) => WaitingListRejection::NotOffered { entry },
        Ok(Kind::OfferLapsed) => {
            WaitingListRejection::OfferLapsed { entry, expired_at_ms: wire.expired_at_ms }
        }
        Ok(Kind::Claimed) => WaitingListRejection::Claimed { entry, hold: HoldId(wire.hold) },
        Ok(Kind::Left) => WaitingListRejection::Left { entry },
        Ok(Kind::Unspecified) | Err(_) => {
            return Err(ConvertError::UnknownEnum { field: "rejection.waiting_list.kind", value: wire.kind });
        }
    })
}

// ---------------------------------------------------------------------------
// Query views
// ---------------------------------------------------------------------------

impl From<&QuotaAvailability> for v1::QuotaAvailability {
    fn from(availability: &QuotaAvailability) -> Self {
        v1::QuotaAvailability {
            quota: availability.quota.0,
            size: availability.size,
            paid: availability.paid,
            pending: availability.pending,
            held: availability.held,
            blocked: availability.blocked,
            remaining: availability.remaining,
            state: v1::AvailabilityState::from(availability.state) as i32,
            closed: availability.closed,
        }
    }
}

impl TryFrom<v1::QuotaAvailability> for QuotaAvailability {
    type Error = ConvertError;

    fn try_from(wire: v1::QuotaAvailability) -> Result<Self, ConvertError> {
        Ok(QuotaAvailability {
            quota: QuotaId(wire.quota),
            size: wire.size,
            paid: wire.paid,
            pending: wire.pending,
            held: wire.held,
            blocked: wire.blocked,
            remaining: wire.remaining,
            state: availability_state("quota_availability.state", wire.state)?,
            closed: wire.closed,
        })
    }
}

impl From<&ItemAvailability> for v1::ItemAvailability {
    fn from(availability: &ItemAvailability) -> Self {
        v1::ItemAvailability {
            item: availability.item.0,
            for_sale: availability.for_sale,
            state: v1::AvailabilityState::from(availability.state) as i32,
            remaining: availability.remaining,
            binding_quota: availability.binding_quota.map(|quota| quota.0),
            quotas: availability.quotas.iter().map(v1::QuotaAvailability::from).collect(),
        }
    }
}

impl TryFrom<v1::ItemAvailability> for ItemAvailability {
    type Error = ConvertError;

    fn try_from(wire: v1::ItemAvailability) -> Result<Self, ConvertError> {
        Ok(ItemAvailability {
            item: ItemId(wire.item),
            for_sale: wire.for_sale,
            state: availability_state("item_availability.state", wire.state)?,
            remaining: wire.remaining,
            binding_quota: wire.binding_quota.map(QuotaId),
            quotas: wire.quotas.into_iter().map(QuotaAvailability::try_from).collect::<Result<_, _>>()?,
        })
    }
}

impl From<&Hold> for v1::Hold {
    fn from(hold: &Hold) -> Self {
        v1::Hold {
            id: hold.id.0,
            event: hold.event.0,
            lines: lines_to_wire(&hold.lines),
            created_at_ms: hold.created_at_ms,
            expires_at_ms: hold.expires_at_ms,
            status: v1::HoldStatus::from(hold.status) as i32,
            voucher: hold.voucher().map(|voucher| voucher.0),
            buyer: buyer_to_bytes(hold.buyer()),
        }
    }
}

impl TryFrom<v1::Hold> for Hold {
    type Error = ConvertError;

    fn try_from(wire: v1::Hold) -> Result<Self, ConvertError> {
        Ok(Hold {
            id: HoldId(wire.id),
            event: EventId(wire.event),
            lines: lines("hold.lines.quantity", wire.lines)?,
            created_at_ms: wire.created_at_ms,
            expires_at_ms: wire.expires_at_ms,
            status: hold_status("hold.status", wire.status)?,
            tags: Tags { voucher: wire.voucher.map(VoucherId), buyer: buyer_from_bytes(&wire.buyer)? }
                .boxed(),
        })
    }
}

impl From<&Order> for v1::Order {
    /// The order with its stored status. A server answering a query should
    /// use [`order_at`], which reports a lapsed pending order as expired.
    fn from(order: &Order) -> Self {
        v1::Order {
            id: order.id.0,
            event: order.event.0,
            hold: order.hold.0,
            lines: lines_to_wire(&order.lines),
            total_cents: order.total_cents,
            created_at_ms: order.created_at_ms,
            payment_deadline_ms: order.payment_deadline_ms,
            status: v1::OrderStatus::from(order.status) as i32,
            tickets: order.tickets.iter().map(v1::Ticket::from).collect(),
            contact: order.contact.as_ref().map(v1::Contact::from),
            voucher: order.voucher().map(|voucher| voucher.0),
            buyer: buyer_to_bytes(order.buyer()),
        }
    }
}

impl From<&Contact> for v1::Contact {
    fn from(contact: &Contact) -> Self {
        v1::Contact { name: contact.name.clone(), email: contact.email.clone() }
    }
}

impl From<v1::Contact> for Contact {
    fn from(wire: v1::Contact) -> Self {
        Contact { name: wire.name, email: wire.email }
    }
}

/// The order as seen at `now_ms`: its status is
/// [`Order::effective_status`], so a pending order past its payment deadline
/// is reported expired before any `Expire` command recorded it.
pub fn order_at(order: &Order, now_ms: u64) -> v1::Order {
    v1::Order {
        status: v1::OrderStatus::from(order.effective_status(now_ms)) as i32,
        ..v1::Order::from(order)
    }
}

impl TryFrom<v1::Order> for Order {
    type Error = ConvertError;

    fn try_from(wire: v1::Order) -> Result<Self, ConvertError> {
        Ok(Order {
            id: OrderId(wire.id),
            event: EventId(wire.event),
            hold: HoldId(wire.hold),
            lines: lines("order.lines.quantity", wire.lines)?,
            total_cents: wire.total_cents,
            created_at_ms: wire.created_at_ms,
            payment_deadline_ms: wire.payment_deadline_ms,
            status: order_status("order.status", wire.status)?,
            tickets: wire.tickets.into_iter().map(Ticket::from).collect(),
            contact: wire.contact.map(Contact::from),
            tags: Tags { voucher: wire.voucher.map(VoucherId), buyer: buyer_from_bytes(&wire.buyer)? }
                .boxed(),
        })
    }
}

impl From<&EventDef> for v1::EventInfo {
    fn from(event: &EventDef) -> Self {
        v1::EventInfo {
            id: event.id.0,
            organizer: event.organizer.0,
            slug: event.slug.clone(),
            name: event.name.clone(),
        }
    }
}

impl From<v1::EventInfo> for EventDef {
    fn from(wire: v1::EventInfo) -> Self {
        EventDef {
            id: EventId(wire.id),
            organizer: OrganizerId(wire.organizer),
            slug: wire.slug,
            name: wire.name,
        }
    }
}

impl From<&CheckinList> for v1::CheckinListInfo {
    /// The list's settings; the scans it has seen stay on the server.
    fn from(list: &CheckinList) -> Self {
        v1::CheckinListInfo {
            id: list.id.0,
            event: list.event.0,
            name: list.name.clone(),
            allow_multiple_entries: list.allow_multiple_entries,
            allow_entry_after_exit: list.allow_entry_after_exit,
        }
    }
}

impl From<&WaitingRoomView> for v1::WaitingRoom {
    fn from(room: &WaitingRoomView) -> Self {
        v1::WaitingRoom {
            admit_per_minute: room.admit_per_minute,
            arrivals_per_second_max: room.arrivals_per_second_max,
            in_flight_max: room.in_flight_max,
            dry_run: room.dry_run,
            joined: room.joined,
            admitted: room.admitted,
        }
    }
}

impl From<v1::WaitingRoom> for WaitingRoomView {
    fn from(wire: v1::WaitingRoom) -> Self {
        WaitingRoomView {
            admit_per_minute: wire.admit_per_minute,
            arrivals_per_second_max: wire.arrivals_per_second_max,
            in_flight_max: wire.in_flight_max,
            dry_run: wire.dry_run,
            joined: wire.joined,
            admitted: wire.admitted,
        }
    }
}

impl From<&VoucherScope> for v1::command::VoucherScope {
    fn from(scope: &VoucherScope) -> Self {
        use v1::command::voucher_scope::Kind;
        let kind = match scope {
            VoucherScope::Item(item) => Kind::Item(item.0),
            VoucherScope::Quota(quota) => Kind::Quota(quota.0),
        };
        v1::command::VoucherScope { kind: Some(kind) }
    }
}

/// A voucher's scope from the wire; `field` names it in the error.
fn voucher_scope(
    field: &'static str,
    wire: Option<v1::command::VoucherScope>,
) -> Result<VoucherScope, ConvertError> {
    use v1::command::voucher_scope::Kind;
    let scope = required(field, wire)?;
    Ok(match required(field, scope.kind)? {
        Kind::Item(item) => VoucherScope::Item(ItemId(item)),
        Kind::Quota(quota) => VoucherScope::Quota(QuotaId(quota)),
    })
}

impl From<&VoucherView> for v1::VoucherStatus {
    fn from(view: &VoucherView) -> Self {
        v1::VoucherStatus {
            voucher: view.voucher.0,
            event: view.event.0,
            code: view.code.clone(),
            scope: Some((&view.scope).into()),
            max_redemptions: view.max_redemptions,
            redeemed: view.redeemed,
            remaining: view.remaining,
            valid_from_ms: view.valid_from_ms,
            valid_until_ms: view.valid_until_ms,
            blocks_quota: view.blocks_quota,
            blocking: view.blocking,
        }
    }
}

impl TryFrom<v1::VoucherStatus> for VoucherView {
    type Error = ConvertError;

    fn try_from(wire: v1::VoucherStatus) -> Result<Self, ConvertError> {
        Ok(VoucherView {
            voucher: VoucherId(wire.voucher),
            event: EventId(wire.event),
            code: wire.code,
            scope: voucher_scope("voucher_status.scope", wire.scope)?,
            max_redemptions: wire.max_redemptions,
            redeemed: wire.redeemed,
            remaining: wire.remaining,
            valid_from_ms: wire.valid_from_ms,
            valid_until_ms: wire.valid_until_ms,
            blocks_quota: wire.blocks_quota,
            blocking: wire.blocking,
        })
    }
}

impl From<&SeatMapSeat> for v1::SeatMapSeat {
    fn from(seat: &SeatMapSeat) -> Self {
        let (state, hold, order) = match seat.status {
            SeatStatus::Free => (v1::SeatState::Free, 0, 0),
            SeatStatus::Blocked => (v1::SeatState::Blocked, 0, 0),
            SeatStatus::Held(hold) => (v1::SeatState::Held, hold.0, 0),
            SeatStatus::Ordered(order) => (v1::SeatState::Ordered, 0, order.0),
            SeatStatus::Paid(order) => (v1::SeatState::Paid, 0, order.0),
        };
        v1::SeatMapSeat {
            seat: seat.seat.0,
            label: seat.label.clone(),
            item: seat.item.0,
            state: state as i32,
            hold,
            order,
        }
    }
}

impl TryFrom<v1::SeatMapSeat> for SeatMapSeat {
    type Error = ConvertError;

    /// A seat of a seat map; an unknown or unset state is
    /// [`ConvertError::UnknownEnum`].
    fn try_from(wire: v1::SeatMapSeat) -> Result<Self, ConvertError> {
        let status = match v1::SeatState::try_from(wire.state) {
            Ok(v1::SeatState::Free) => SeatStatus::Free,
            Ok(v1::SeatState::Blocked) => SeatStatus::Blocked,
            Ok(v1::SeatState::Held) => SeatStatus::Held(HoldId(wire.hold)),
            Ok(v1::SeatState::Ordered) => SeatStatus::Ordered(OrderId(wire.order)),
            Ok(v1::SeatState::Paid) => SeatStatus::Paid(OrderId(wire.order)),
            Ok(v1::SeatState::Unspecified) | Err(_) => {
                return Err(ConvertError::UnknownEnum { field: "seat_map_seat.state", value: wire.state });
            }
        };
        Ok(SeatMapSeat { seat: SeatId(wire.seat), label: wire.label, item: ItemId(wire.item), status })
    }
}

impl From<&SeatMapRow> for v1::SeatMapRow {
    fn from(row: &SeatMapRow) -> Self {
        v1::SeatMapRow { row: row.row.clone(), seats: row.seats.iter().map(v1::SeatMapSeat::from).collect() }
    }
}

impl TryFrom<v1::SeatMapRow> for SeatMapRow {
    type Error = ConvertError;

    fn try_from(wire: v1::SeatMapRow) -> Result<Self, ConvertError> {
        let seats = wire.seats.into_iter().map(SeatMapSeat::try_from).collect::<Result<_, _>>()?;
        Ok(SeatMapRow { row: wire.row, seats })
    }
}

impl From<&SeatMapZone> for v1::SeatMapZone {
    fn from(zone: &SeatMapZone) -> Self {
        v1::SeatMapZone {
            zone: zone.zone.clone(),
            rows: zone.rows.iter().map(v1::SeatMapRow::from).collect(),
        }
    }
}

impl TryFrom<v1::SeatMapZone> for SeatMapZone {
    type Error = ConvertError;

    fn try_from(wire: v1::SeatMapZone) -> Result<Self, ConvertError> {
        let rows = wire.rows.into_iter().map(SeatMapRow::try_from).collect::<Result<_, _>>()?;
        Ok(SeatMapZone { zone: wire.zone, rows })
    }
}

/// An event's seat map as it goes on the wire (see `State::seat_map`).
pub fn seat_map_to_wire(zones: &[SeatMapZone]) -> Vec<v1::SeatMapZone> {
    zones.iter().map(v1::SeatMapZone::from).collect()
}

/// An event's seat map from the wire: every seat's state must be known.
pub fn seat_map(wire: Vec<v1::SeatMapZone>) -> Result<Vec<SeatMapZone>, ConvertError> {
    wire.into_iter().map(SeatMapZone::try_from).collect()
}

/// One waiting-list entry and where it stands at one moment, as
/// `GetWaitingListEntry` answers (see `State::waiting_list_position`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingListEntryView {
    /// The entry as the engine keeps it (its recorded status included).
    pub entry: WaitingListEntry,
    /// Where it stands at the moment asked about: its place in line, its
    /// offer, or how it ended.
    pub position: EntryPosition,
}

impl From<&WaitingListEntryView> for v1::WaitingListEntry {
    fn from(view: &WaitingListEntryView) -> Self {
        use v1::WaitingListEntryState as S;
        let entry = &view.entry;
        let (state, position, expires_at_ms, hold) = match view.position {
            EntryPosition::Waiting { position } => (S::Waiting, position, 0, 0),
            EntryPosition::Offered { expires_at_ms } => (S::Offered, 0, expires_at_ms, 0),
            EntryPosition::OfferLapsed { expires_at_ms } => (S::OfferLapsed, 0, expires_at_ms, 0),
            EntryPosition::Claimed { hold } => (S::Claimed, 0, 0, hold.0),
            EntryPosition::Left => (S::Left, 0, 0, 0),
        };
        let lapse_recorded = matches!(
            (view.position, entry.status),
            (EntryPosition::OfferLapsed { .. }, EntryStatus::OfferExpired { .. })
        );
        v1::WaitingListEntry {
            id: entry.id.0,
            event: entry.event.0,
            item: entry.item.0,
            priority: entry.priority,
            buyer: buyer_to_bytes(entry.buyer),
            joined_at_ms: entry.joined_at_ms,
            state: state as i32,
            position,
            expires_at_ms,
            hold,
            lapse_recorded,
        }
    }
}

impl TryFrom<v1::WaitingListEntry> for WaitingListEntryView {
    type Error = ConvertError;

    /// An entry from the wire; an unknown or unset state is
    /// [`ConvertError::UnknownEnum`], a buyer not 16 bytes long
    /// [`ConvertError::BadBuyer`]. Its recorded status follows from the
    /// state (and `lapse_recorded` for a lapsed offer).
    fn try_from(wire: v1::WaitingListEntry) -> Result<Self, ConvertError> {
        use v1::WaitingListEntryState as S;
        let (position, status) = match S::try_from(wire.state) {
            Ok(S::Waiting) => (EntryPosition::Waiting { position: wire.position }, EntryStatus::Waiting),
            Ok(S::Offered) => {
                let expires_at_ms = wire.expires_at_ms;
                (EntryPosition::Offered { expires_at_ms }, EntryStatus::Offered { expires_at_ms })
            }
            Ok(S::OfferLapsed) => {
                let expires_at_ms = wire.expires_at_ms;
                let status = if wire.lapse_recorded {
                    EntryStatus::OfferExpired { expires_at_ms }
                } else {
                    EntryStatus::Offered { expires_at_ms }
                };
                (EntryPosition::OfferLapsed { expires_at_ms }, status)
            }
            Ok(S::Claimed) => {
                let hold = HoldId(wire.hold);
                (EntryPosition::Claimed { hold }, EntryStatus::Claimed { hold })
            }
            Ok(S::Left) => (EntryPosition::Left, EntryStatus::Left),
            Ok(S::Unspecified) | Err(_) => {
                return Err(ConvertError::UnknownEnum {
                    field: "waiting_list_entry.state",
                    value: wire.state,
                });
            }
        };
        let entry = WaitingListEntry {
            id: EntryId(wire.id),
            event: EventId(wire.event),
            item: ItemId(wire.item),
            priority: wire.priority,
            buyer: buyer_from_bytes(&wire.buyer)?,
            joined_at_ms: wire.joined_at_ms,
            status,
        };
        Ok(WaitingListEntryView { entry, position })
    }
}

impl From<&Item> for v1::CatalogItem {
    fn from(item: &Item) -> Self {
        v1::CatalogItem {
            id: item.id.0,
            name: item.name.clone(),
            price_cents: item.price_cents,
            quotas: item.quotas.iter().map(|quota| quota.0).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// The event log
// ---------------------------------------------------------------------------

impl TryFrom<&Record> for v1::RecordMessage {
    type Error = CodecError;

    /// The record for `SubscribeEvents`: a readable header plus the whole
    /// record as an engine codec frame. Fails only if the record cannot be
    /// encoded (larger than the codec's limit).
    fn try_from(record: &Record) -> Result<Self, CodecError> {
        Ok(v1::RecordMessage {
            seq: record.seq,
            time_ms: record.time_ms,
            request_id: request_id_to_bytes(record.request_id),
            event_kinds: record.events.iter().map(|event| event.kind().to_string()).collect(),
            outcome_label: record.outcome.label().to_string(),
            encoded: codec::encode_record(record)?,
        })
    }
}

impl TryFrom<&v1::RecordMessage> for Record {
    type Error = ConvertError;

    /// The record in `encoded`, checked against the readable header fields.
    fn try_from(wire: &v1::RecordMessage) -> Result<Self, ConvertError> {
        let record = codec::decode_record(&wire.encoded)?;
        let mismatch = |field| Err(ConvertError::RecordMismatch { field });
        if record.seq != wire.seq {
            return mismatch("seq");
        }
        if record.time_ms != wire.time_ms {
            return mismatch("time_ms");
        }
        if request_id_from_bytes(&wire.request_id)? != record.request_id {
            return mismatch("request_id");
        }
        if !record.events.iter().map(|event| event.kind()).eq(wire.event_kinds.iter().map(String::as_str)) {
            return mismatch("event_kinds");
        }
        if record.outcome.label() != wire.outcome_label {
            return mismatch("outcome_label");
        }
        Ok(record)
    }
}
