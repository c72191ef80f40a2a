//! What can go wrong in a request, and how a buyer or an API client hears of it.
//!
//! One enum, [`ShopError`], for every failure a handler can meet; each has
//! an HTTP status, a stable API `code`, and a sentence a buyer understands.
//! Engine answers are mapped here and only here: a [`ClientError`] says
//! whether the outcome is known (`Unknown` means "try again with the same
//! key", never "failed"), a [`Rejection`] is a decided answer ("sold out
//! while you were choosing"). Pages render [`PageError`], the API renders
//! [`ApiError`] as `{"code": "...", "message": "..."}`. Nothing here ever
//! shows a stack trace or an internal message to a buyer.

use crate::inventory::ClientError;
use crate::inventory::domain::{CheckinRejection, ObjectRef, Rejection, SeatRejection, WaitingListRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopError {
    /// The page or object does not exist (or its token does not verify).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is malformed (unreadable body, missing field).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Well-formed, but breaks a rule of input (a quantity too large, an empty name).
    #[error("invalid: {0}")]
    Invalid(String),
    /// A form without a valid CSRF token, or a tampered token.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Needs a login or an API token.
    #[error("unauthorized")]
    Unauthorized,
    /// Not enough tickets left.
    #[error("sold out: {0}")]
    SoldOut(String),
    /// A quota is closed: nothing more is sold through it.
    #[error("not on sale: {0}")]
    QuotaClosed(String),
    /// An item is in no quota.
    #[error("not for sale: {0}")]
    ItemNotForSale(String),
    /// Someone else has the seat (a live hold, an order).
    #[error("seat taken: {0}")]
    SeatTaken(String),
    /// The item has tickets left: buy one instead of joining its waiting list.
    #[error("not sold out: {0}")]
    WaitingListAvailable(String),
    /// The event's waiting list has as many entries as it may.
    #[error("waiting list full")]
    WaitingListFull,
    /// A waiting-list entry cannot do that now (no offer yet, the offer
    /// lapsed or was claimed, the entry left); the text says which.
    #[error("waiting-list entry: {0}")]
    WaitingListEntry(String),
    /// The cart lapsed.
    #[error("cart expired")]
    CartExpired,
    /// The cart was released or checked out.
    #[error("cart closed")]
    CartClosed,
    /// The cart cannot be kept any longer.
    #[error("cart at its lifetime cap")]
    CartLifetimeCap,
    /// The order's status does not allow this.
    #[error("order status forbids: {0}")]
    OrderStatus(String),
    /// A slug is already used.
    #[error("slug taken: {0}")]
    SlugTaken(String),
    /// The idempotency key was used before with another request.
    #[error("idempotency key reused with another request")]
    IdempotencyConflict,
    /// The outcome is unknown: retry with the same key (or resubmit the form).
    #[error("outcome unknown: {0}")]
    TryAgain(String),
    /// Certainly not done (no leader reachable, engine busy); retry later.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// This event has too many requests in flight in this shop.
    #[error("busy")]
    Busy,
    /// The event's waiting room is active and this client was not admitted.
    #[error("waiting room active")]
    WaitingRoom {
        /// Where to queue.
        queue_url: String,
    },
    /// The request body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request took too long.
    #[error("timeout")]
    Timeout,
    /// The method is not served on this path.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ShopError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ShopError::NotFound(_) => StatusCode::NOT_FOUND,
            ShopError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ShopError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ShopError::Forbidden(_) => StatusCode::FORBIDDEN,
            ShopError::Unauthorized => StatusCode::UNAUTHORIZED,
            ShopError::SoldOut(_)
            | ShopError::QuotaClosed(_)
            | ShopError::ItemNotForSale(_)
            | ShopError::SeatTaken(_)
            | ShopError::WaitingListAvailable(_)
            | ShopError::WaitingListFull
            | ShopError::WaitingListEntry(_)
            | ShopError::CartExpired
            | ShopError::CartClosed
            | ShopError::CartLifetimeCap
            | ShopError::OrderStatus(_)
            | ShopError::SlugTaken(_)
            | ShopError::IdempotencyConflict => StatusCode::CONFLICT,
            ShopError::TryAgain(_) | ShopError::Unavailable(_) | ShopError::Busy => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ShopError::WaitingRoom { .. } => StatusCode::TOO_MANY_REQUESTS,
            ShopError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ShopError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ShopError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            ShopError::NotFound(_) => "not_found",
            ShopError::BadRequest(_) => "bad_request",
            ShopError::Invalid(_) => "invalid",
            ShopError::Forbidden(_) => "forbidden",
            ShopError::Unauthorized => "unauthorized",
            ShopError::SoldOut(_) => "sold_out",
            ShopError::QuotaClosed(_) => "quota_closed",
            ShopError::ItemNotForSale(_) => "item_not_for_sale",
            ShopError::SeatTaken(_) => "seat_taken",
            ShopError::WaitingListAvailable(_) => "waiting_list_available",
            ShopError::WaitingListFull => "waiting_list_full",
            ShopError::WaitingListEntry(_) => "waiting_list_entry",
            ShopError::CartExpired => "cart_expired",
            ShopError::CartClosed => "cart_closed",
            ShopError::CartLifetimeCap => "cart_lifetime_cap",
            ShopError::OrderStatus(_) => "order_status",
            ShopError::SlugTaken(_) => "slug_taken",
            ShopError::IdempotencyConflict => "idempotency_conflict",
            ShopError::TryAgain(_) => "try_again",
            ShopError::Unavailable(_) => "unavailable",
            ShopError::Busy => "busy",
            ShopError::WaitingRoom { .. } => "waiting_room",
            ShopError::PayloadTooLarge => "payload_too_large",
            ShopError::Timeout => "timeout",
            ShopError::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// A sentence for a buyer (pages) or an integrator (API).
    pub fn message(&self) -> String {
        match self {
            ShopError::NotFound(what) => format!("We could not find {what}."),
            ShopError::BadRequest(why) => format!("We could not read that request: {why}."),
            ShopError::Invalid(why) => format!("Please check your input: {why}."),
            ShopError::Forbidden(_) => {
                "This form has expired or did not come from this shop. Please go back, reload the page and try again."
                    .into()
            }
            ShopError::Unauthorized => "Please log in first.".into(),
            ShopError::SoldOut(what) => format!("Sold out while you were choosing: {what}."),
            ShopError::QuotaClosed(what) => format!("{what} is not on sale any more."),
            ShopError::ItemNotForSale(what) => format!("{what} is not on sale."),
            ShopError::SeatTaken(what) => {
                format!("Someone else just took {what} while you were choosing. Please choose another seat.")
            }
            ShopError::WaitingListAvailable(what) => {
                format!("{what} is not sold out: buy it instead of joining the waiting list.")
            }
            ShopError::WaitingListFull => {
                "The waiting list is full. Please try again later, when places have been served.".into()
            }
            ShopError::WaitingListEntry(why) => format!("{why}."),
            ShopError::CartExpired => {
                "Your cart expired, and its tickets went back on sale. Please choose again.".into()
            }
            ShopError::CartClosed => "This cart was already released or checked out.".into(),
            ShopError::CartLifetimeCap => "This cart cannot be kept any longer. Please check out now.".into(),
            ShopError::OrderStatus(why) => format!("This order cannot do that now: {why}."),
            ShopError::SlugTaken(slug) => format!("The short name `{slug}` is already used."),
            ShopError::IdempotencyConflict => {
                "This idempotency key was already used for a different request.".into()
            }
            ShopError::TryAgain(_) => {
                "We could not confirm that this went through. Please try again: repeating it is safe and will not buy twice."
                    .into()
            }
            ShopError::Unavailable(_) => {
                "The ticket system is briefly unavailable. Nothing was done; please try again in a moment.".into()
            }
            ShopError::Busy => "This event is very busy right now. Please try again in a few seconds.".into(),
            ShopError::WaitingRoom { queue_url } => {
                format!("This event's waiting room is active; please queue at {queue_url}.")
            }
            ShopError::PayloadTooLarge => "That request is too large.".into(),
            ShopError::Timeout => "That took too long. Please try again.".into(),
            ShopError::MethodNotAllowed => "That method is not allowed here.".into(),
        }
    }

    /// A client error, by what it says about the outcome.
    pub fn from_client(error: ClientError) -> ShopError {
        match error {
            ClientError::Unknown(why) => ShopError::TryAgain(why),
            ClientError::NotApplied(why) => ShopError::Unavailable(why),
            ClientError::Invalid(why) => ShopError::Invalid(why),
            ClientError::NotFound(what) => ShopError::NotFound(what),
        }
    }

    /// A decided rejection; `name` names an item for the buyer.
    pub fn from_rejection(rejection: &Rejection, name: &dyn Fn(u64) -> String) -> ShopError {
        match rejection {
            Rejection::Invalid(input) => ShopError::Invalid(format!("{input:?}").to_lowercase()),
            Rejection::NotFound(object) => ShopError::NotFound(match object {
                ObjectRef::Organizer(_) => "that organizer".into(),
                ObjectRef::Event(_) => "that event".into(),
                ObjectRef::Item(id) => format!("ticket type {}", id.0),
                ObjectRef::Quota(id) => format!("quota {}", id.0),
                ObjectRef::Hold(_) => "your cart".into(),
                ObjectRef::Order(_) => "that order".into(),
                ObjectRef::CheckinList(_) => "that check-in list".into(),
                ObjectRef::WaitingRoom(_) => "that event's waiting room".into(),
                ObjectRef::Voucher(_) => "that voucher".into(),
                ObjectRef::Seat(_) => "that seat".into(),
                ObjectRef::WaitingListEntry(_) => "that waiting-list entry".into(),
            }),
            Rejection::SlugTaken { slug } => ShopError::SlugTaken(slug.clone()),
            Rejection::ItemNotForSale { item } => ShopError::ItemNotForSale(name(item.0)),
            Rejection::SoldOut { item, remaining, .. } => ShopError::SoldOut(match remaining {
                0 => name(item.0),
                n => format!("{} (only {n} left)", name(item.0)),
            }),
            Rejection::QuotaClosed { item, .. } => ShopError::QuotaClosed(name(item.0)),
            Rejection::HoldExpired { .. } => ShopError::CartExpired,
            Rejection::HoldClosed { .. } => ShopError::CartClosed,
            Rejection::HoldLifetimeCapReached { .. } => ShopError::CartLifetimeCap,
            Rejection::OrderStatusForbids { status, .. } => {
                ShopError::OrderStatus(format!("it is {}", format!("{status:?}").to_lowercase()))
            }
            Rejection::CheckIn(reason) => ShopError::Invalid(checkin_reason(*reason).into()),
            Rejection::Conflict => ShopError::IdempotencyConflict,
            // The shop sends no voucher or order-limit commands yet.
            Rejection::Voucher(reason) => ShopError::Invalid(format!("{reason:?}").to_lowercase()),
            Rejection::OrderLimit(reason) => ShopError::Invalid(format!("{reason:?}").to_lowercase()),
            // A lapsed seated cart's checkout meets these (the shop holds no seats yet).
            Rejection::Seat(SeatRejection::Taken { seat }) => {
                ShopError::SeatTaken(format!("seat {}", seat.0))
            }
            Rejection::Seat(SeatRejection::Blocked { seat }) => {
                ShopError::ItemNotForSale(format!("Seat {}", seat.0))
            }
            Rejection::Seat(SeatRejection::NoAdjacentSeats { zone, count }) => {
                ShopError::SoldOut(format!("{count} seats together in {zone}"))
            }
            Rejection::WaitingList(reason) => waiting_list_error(reason, name),
        }
    }
}

/// A refused waiting-list command, in words for the buyer.
fn waiting_list_error(reason: &WaitingListRejection, name: &dyn Fn(u64) -> String) -> ShopError {
    match reason {
        WaitingListRejection::Available { item } => ShopError::WaitingListAvailable(name(item.0)),
        WaitingListRejection::Full { .. } => ShopError::WaitingListFull,
        WaitingListRejection::NotOffered { .. } => ShopError::WaitingListEntry(
            "Your place on the waiting list has no offer yet: we will offer you a ticket as soon as one \
             frees up"
                .into(),
        ),
        WaitingListRejection::OfferLapsed { .. } => ShopError::WaitingListEntry(
            "Your waiting-list offer lapsed before it was claimed, and the ticket went to the next in line"
                .into(),
        ),
        WaitingListRejection::Claimed { .. } => {
            ShopError::WaitingListEntry("Your waiting-list offer was already claimed: see your cart".into())
        }
        WaitingListRejection::Left { .. } => {
            ShopError::WaitingListEntry("You left this waiting list; please join it again".into())
        }
    }
}

/// pretix's name of a refused scan.
pub fn checkin_reason(reason: CheckinRejection) -> &'static str {
    match reason {
        CheckinRejection::Invalid => "invalid",
        CheckinRejection::AlreadyRedeemed => "already_redeemed",
        CheckinRejection::Unpaid => "unpaid",
        CheckinRejection::Canceled => "canceled",
    }
}

impl From<ClientError> for ShopError {
    fn from(error: ClientError) -> Self {
        ShopError::from_client(error)
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `sold_out`, `idempotency_conflict`, `try_again`.
    pub code: String,
    /// What happened, for a person.
    pub message: String,
}

/// Marks a response the shop rendered itself (so the error mapper leaves it alone)
/// and carries its error code to the metrics.
#[derive(Debug, Clone, Copy)]
pub struct Rendered {
    /// The error code, if the response is an error.
    pub code: Option<&'static str>,
}

/// A [`ShopError`] answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub ShopError);

impl<E: Into<ShopError>> From<E> for ApiError {
    fn from(error: E) -> Self {
        ApiError(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_error(&self.0)
    }
}

/// The JSON response of an error.
pub fn json_error(error: &ShopError) -> Response {
    let body = ErrorBody { code: error.code().into(), message: error.message() };
    let mut response = (error.status(), axum::Json(body)).into_response();
    if matches!(error, ShopError::TryAgain(_) | ShopError::Unavailable(_) | ShopError::Busy) {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, "1".parse().expect("static"));
    }
    response.extensions_mut().insert(Rendered { code: Some(error.code()) });
    response
}

/// A [`ShopError`] answered as a page.
#[derive(Debug)]
pub struct PageError(pub ShopError);

impl<E: Into<ShopError>> From<E> for PageError {
    fn from(error: E) -> Self {
        PageError(error.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        crate::views::error_page(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::domain::{
        AvailabilityState, EntryId, EventId, HoldId, HoldStatus, InvalidInput, ItemId, QuotaId, SeatId,
    };

    #[test]
    fn every_client_error_maps_to_its_promise() {
        let cases = [
            (ClientError::Unknown("t".into()), 503, "try_again"),
            (ClientError::NotApplied("n".into()), 503, "unavailable"),
            (ClientError::Invalid("i".into()), 422, "invalid"),
            (ClientError::NotFound("f".into()), 404, "not_found"),
        ];
        for (error, status, code) in cases {
            let mapped = ShopError::from_client(error);
            assert_eq!((mapped.status().as_u16(), mapped.code()), (status, code));
        }
    }

    #[test]
    fn rejections_map_to_stable_codes_and_buyer_sentences() {
        let name = |id: u64| format!("Item {id}");
        let sold_out = Rejection::SoldOut {
            item: ItemId(3),
            quota: QuotaId(4),
            state: AvailabilityState::Reserved,
            remaining: 0,
        };
        let mapped = ShopError::from_rejection(&sold_out, &name);
        assert_eq!((mapped.status().as_u16(), mapped.code()), (409, "sold_out"));
        assert!(mapped.message().contains("Sold out while you were choosing: Item 3"));
        let cases = [
            (Rejection::Conflict, "idempotency_conflict"),
            (Rejection::HoldExpired { hold: HoldId(1) }, "cart_expired"),
            (Rejection::HoldClosed { hold: HoldId(1), status: HoldStatus::Released }, "cart_closed"),
            (Rejection::Invalid(InvalidInput::Quantity), "invalid"),
            (Rejection::NotFound(ObjectRef::Hold(HoldId(1))), "not_found"),
            (Rejection::NotFound(ObjectRef::Seat(SeatId(9))), "not_found"),
            (Rejection::Seat(SeatRejection::Blocked { seat: SeatId(9) }), "item_not_for_sale"),
            (Rejection::Seat(SeatRejection::NoAdjacentSeats { zone: "Stalls".into(), count: 2 }), "sold_out"),
            (Rejection::Invalid(InvalidInput::SeatedHold { hold: HoldId(1) }), "invalid"),
        ];
        for (rejection, code) in cases {
            assert_eq!(ShopError::from_rejection(&rejection, &name).code(), code);
        }
        let waiting = [
            (WaitingListRejection::Available { item: ItemId(3) }, "waiting_list_available"),
            (WaitingListRejection::Full { event: EventId(1), max: 10 }, "waiting_list_full"),
            (WaitingListRejection::NotOffered { entry: EntryId(4) }, "waiting_list_entry"),
            (WaitingListRejection::OfferLapsed { entry: EntryId(4), expired_at_ms: 9 }, "waiting_list_entry"),
            (WaitingListRejection::Claimed { entry: EntryId(4), hold: HoldId(2) }, "waiting_list_entry"),
            (WaitingListRejection::Left { entry: EntryId(4) }, "waiting_list_entry"),
        ];
        for (reason, code) in waiting {
            let error = ShopError::from_rejection(&Rejection::WaitingList(reason), &name);
            assert_eq!((error.status().as_u16(), error.code()), (409, code), "{reason:?}");
            assert!(error.message().ends_with('.'), "{}", error.message());
        }
        let available = ShopError::from_rejection(
            &Rejection::WaitingList(WaitingListRejection::Available { item: ItemId(3) }),
            &name,
        );
        assert!(available.message().contains("is not sold out: buy it instead"), "{}", available.message());
        let entry =
            ShopError::from_rejection(&Rejection::NotFound(ObjectRef::WaitingListEntry(EntryId(4))), &name);
        assert_eq!(
            (entry.code(), entry.message().as_str()),
            ("not_found", "We could not find that waiting-list entry.")
        );
        let taken =
            ShopError::from_rejection(&Rejection::Seat(SeatRejection::Taken { seat: SeatId(9) }), &name);
        assert_eq!((taken.status().as_u16(), taken.code()), (409, "seat_taken"));
        assert!(taken.message().starts_with("Someone else just took seat 9"), "{}", taken.message());
    }
}
