//! The JSON API, in pretix's REST shape where it fits, documented by an
//! OpenAPI document generated from these handlers (utoipa) and served at
//! `/api/v1/openapi.json`.
//!
//! **Idempotency.** Every write honours `X-Idempotency-Key`. The engine
//! request id is a keyed hash of the key and the route (method and path),
//! so a repeat of the same request is the same engine request: the engine
//! returns its stored outcome and the shop renders the same answer from it.
//! The same key with another body is another command under that request
//! id, which the engine answers `Conflict` (its request table keeps each
//! command's digest): `409 idempotency_conflict`. The shop keeps nothing.
//! Without a key, each request is new. "Unknown" outcomes are `503
//! try_again`: repeat with the same key to learn what happened.
//!
//! **Auth.** Buyer routes are open; a cart is named by an id that carries a
//! MAC (`"{hold}-{mac}"`), an order is opened by its token, like pretix's
//! order secrets. Check-in needs `Authorization: Bearer <api token>` (from
//! the secrets). Admin operations (events, items, quotas, rooms) are left to
//! the admin pages.

use crate::app::{SetCookies, Shared};
use crate::backend::Catalog;
use crate::config::{CART_LINES_MAX, IDEMPOTENCY_KEY_BYTES_MAX};
use crate::errors::{ApiError, ErrorBody, ShopError};
use crate::inventory::domain::{
    Accepted, CheckinListId, Command, Direction, EventId, HoldId, HoldStatus, ItemId, Line, Nonce, Order,
    OrderId, OrderStatus, Outcome, RequestId, Ticket,
};
use crate::pages::{check_contact, resolve};
use crate::waiting_room::wall_ms;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

type ApiResult = Result<Response, ApiError>;

/// The header of idempotency keys.
pub const IDEMPOTENCY_HEADER: &str = "x-idempotency-key";

/// An event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventJson {
    /// Id.
    pub id: u64,
    /// Slug, unique per organizer.
    pub slug: String,
    /// Name.
    pub name: String,
}

/// A list of events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    /// How many.
    pub count: usize,
    /// The events.
    pub results: Vec<EventJson>,
}

/// A check-in list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckinListJson {
    /// Id (the `{list}` of `.../checkinlists/{list}/redeem/`).
    pub id: u64,
    /// Name.
    pub name: String,
}

/// An event's check-in lists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckinListList {
    /// How many.
    pub count: usize,
    /// The lists.
    pub results: Vec<CheckinListJson>,
}

/// An item with its availability.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemJson {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Price, as a decimal string (pretix style).
    pub default_price: String,
    /// Price in cents.
    pub price_cents: u64,
    /// Whether it can be bought now.
    pub available: bool,
    /// Tickets left (the minimum over its quotas); null for unlimited.
    pub available_number: Option<u64>,
    /// Its quotas.
    pub quotas: Vec<u64>,
}

/// A list of items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemList {
    /// How many.
    pub count: usize,
    /// The items.
    pub results: Vec<ItemJson>,
}

/// A quota's availability (pretix's fields).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuotaAvailabilityJson {
    /// Whether anything can be sold.
    pub available: bool,
    /// Tickets left; null for unlimited.
    pub available_number: Option<u64>,
    /// Size; null for unlimited.
    pub total_size: Option<u64>,
    /// Tickets in paid orders.
    pub paid_orders: u64,
    /// Tickets in pending orders.
    pub pending_orders: u64,
    /// Tickets in live carts.
    pub cart_positions: u64,
    /// Tickets kept aside: unredeemed uses of blocking vouchers and live
    /// waiting-list offers (pretix sends an offer as a blocking voucher).
    pub blocking_vouchers: u64,
    /// Always 0: buyers wait per item, not per quota, and this view does not
    /// count them; an entry's page shows its own place in line.
    pub waiting_list: u64,
    /// Closed by hand or on selling out.
    pub closed: bool,
}

/// A line of a cart or order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineJson {
    /// Item id.
    pub item: u64,
    /// Quantity, at least 1.
    pub quantity: u32,
}

/// What to put in a new cart.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartRequest {
    /// Lines, all of this event, all or nothing.
    pub lines: Vec<LineJson>,
}

/// A cart (a hold).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartJson {
    /// The cart's id: use it in the cart and order routes.
    pub id: String,
    /// `active`, `released`, `expired` or `checked_out`.
    pub status: String,
    /// When it lapses, in milliseconds since the Unix epoch (log time).
    pub expires_at_ms: u64,
    /// Its lines.
    pub lines: Vec<LineJson>,
}

/// What to order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// The cart's id.
    pub cart: String,
    /// The buyer's name.
    pub name: String,
    /// The buyer's e-mail.
    pub email: String,
}

/// A ticket of an order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PositionJson {
    /// Position in the order, from 0.
    pub position: u32,
    /// Item id.
    pub item: u64,
    /// The ticket's secret (shown once the order is paid).
    pub secret: Option<String>,
}

/// An order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderJson {
    /// Id.
    pub id: u64,
    /// The token that opens it (`?token=`).
    pub token: String,
    /// `pending`, `paid`, `expired` or `canceled`.
    pub status: String,
    /// Total in cents.
    pub total_cents: u64,
    /// Total as a decimal string.
    pub total: String,
    /// Payment deadline, in milliseconds since the Unix epoch (log time).
    pub payment_deadline_ms: u64,
    /// Its tickets.
    pub positions: Vec<PositionJson>,
    /// Its page in the shop.
    pub url: String,
}

/// The answer to a payment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentJson {
    /// The order.
    pub order: u64,
    /// `paid`, or `refund_owed` (paid after expiry, tickets gone: the order stays expired).
    pub status: String,
    /// What is owed back, in cents.
    pub refund_owed_cents: u64,
}

/// A scan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The ticket's secret.
    pub secret: String,
    /// The scan's nonce (any string): a repeat with the same nonce returns the first answer.
    pub nonce: Option<String>,
    /// `entry` (default) or `exit`.
    #[serde(rename = "type")]
    pub direction: Option<String>,
}

/// The answer to a scan (pretix's shape). Refusals and malformed scans
/// also carry the shop's error fields, so every 400, 404 and 422 of this
/// route has this one shape.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RedeemJson {
    /// `ok` or `error`.
    pub status: String,
    /// Why not: `invalid`, `already_redeemed`, `unpaid`, `canceled`, or the error code of a malformed scan.
    pub reason: Option<String>,
    /// The ticket's order, if accepted.
    pub order: Option<u64>,
    /// The ticket's position, if accepted.
    pub position: Option<u32>,
    /// The stable error code, if refused.
    pub code: Option<String>,
    /// What happened, for a person, if refused.
    pub message: Option<String>,
}

fn refusal(reason: &str, message: &str, status: StatusCode) -> Response {
    let body = RedeemJson {
        status: "error".into(),
        reason: Some(reason.into()),
        order: None,
        position: None,
        code: Some(reason.into()),
        message: Some(message.into()),
    };
    let mut response = reply(status, &body);
    response.extensions_mut().insert(crate::errors::Rendered { code: Some("checkin_refused") });
    response
}

/// The order token.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TokenQuery {
    /// The order's token.
    pub token: Option<String>,
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Paid => "paid",
        OrderStatus::Expired => "expired",
        OrderStatus::Canceled => "canceled",
    }
}

fn hold_status_name(status: HoldStatus, expires_at_ms: u64) -> &'static str {
    match status {
        HoldStatus::Active if expires_at_ms <= wall_ms() => "expired",
        HoldStatus::Active => "active",
        HoldStatus::Released => "released",
        HoldStatus::Expired => "expired",
        HoldStatus::CheckedOut => "checked_out",
    }
}

/// The engine request id of a write: from `X-Idempotency-Key` and the route, or fresh.
pub fn request_id(
    state: &Shared,
    headers: &HeaderMap,
    method: &str,
    uri: &Uri,
) -> Result<RequestId, ShopError> {
    match headers.get(IDEMPOTENCY_HEADER) {
        None => Ok(RequestId(rand::random())),
        Some(value) => {
            let key = value
                .to_str()
                .map_err(|_| ShopError::BadRequest("the idempotency key is not text".into()))?;
            if key.is_empty() || key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
                return Err(ShopError::BadRequest(format!(
                    "the idempotency key must be 1 to {IDEMPOTENCY_KEY_BYTES_MAX} bytes"
                )));
            }
            Ok(state.keys.request_id(&format!("{method} {}", uri.path()), key))
        }
    }
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ShopError> {
    serde_json::from_slice(body)
        .map_err(|e| ShopError::BadRequest(format!("the JSON body does not fit: {e}")))
}

fn reply<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut response = (status, Json(value)).into_response();
    response.extensions_mut().insert(crate::errors::Rendered { code: None });
    response
}

async fn accepted(
    state: &Shared,
    request_id: RequestId,
    command: Command,
    catalog: Option<&Catalog>,
) -> Result<Accepted, ShopError> {
    let name = |id: u64| catalog.map_or_else(|| format!("item {id}"), |c| c.item_name(id));
    state.inventory.must(request_id, command, &name).await
}

/// The hold behind a cart id of this event, or 404.
async fn cart_of(state: &Shared, event: u64, id: &str) -> Result<crate::inventory::domain::Hold, ShopError> {
    let not_found = || ShopError::NotFound("that cart".into());
    let hold = state.keys.parse_cart_id(id).ok_or_else(not_found)?;
    let hold = state.inventory.hold(hold).await?;
    if hold.event.0 != event {
        return Err(not_found());
    }
    Ok(hold)
}

fn order_json(state: &Shared, org: &str, event: &str, order: &Order) -> OrderJson {
    let paid = order.status == OrderStatus::Paid;
    placed_json(
        state,
        org,
        event,
        order.id,
        order.status,
        order.total_cents,
        order.payment_deadline_ms,
        &order.tickets,
        paid,
    )
}

#[allow(clippy::too_many_arguments)]
fn placed_json(
    state: &Shared,
    org: &str,
    event: &str,
    order: OrderId,
    status: OrderStatus,
    total_cents: u64,
    payment_deadline_ms: u64,
    tickets: &[Ticket],
    show_secrets: bool,
) -> OrderJson {
    let token = state.keys.order_token(order.0);
    OrderJson {
        id: order.0,
        url: format!("/{org}/{event}/order/{}/{token}", order.0),
        token,
        status: status_name(status).into(),
        total_cents,
        total: format!("{}.{:02}", total_cents / 100, total_cents % 100),
        payment_deadline_ms,
        positions: tickets
            .iter()
            .map(|t| PositionJson {
                position: t.position,
                item: t.item.0,
                secret: show_secrets.then(|| t.secret.clone()),
            })
            .collect(),
    }
}

/// An organizer's events.
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/", tag = "catalog",
    params(("organizer" = String, Path, description = "Organizer slug")),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_events(State(state): State<Shared>, Path(org): Path<String>) -> ApiResult {
    let (org_id, _) = state.inventory.organizer(&org).await?;
    let results: Vec<EventJson> = state
        .inventory
        .events(org_id)
        .await?
        .into_iter()
        .map(|e| EventJson { id: e.id, slug: e.slug, name: e.name })
        .collect();
    Ok(reply(StatusCode::OK, &EventList { count: results.len(), results }))
}

/// An event's items with live (stale-ok) availability.
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/{event}/items/", tag = "catalog",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug")),
    responses((status = 200, body = ItemList), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn list_items(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
) -> ApiResult {
    let info = resolve(&state, &org, &event).await?;
    let catalog = state.inventory.catalog(info.id, false).await?;
    let results: Vec<ItemJson> = catalog
        .items
        .iter()
        .map(|i| ItemJson {
            id: i.id,
            name: i.name.clone(),
            default_price: format!("{}.{:02}", i.price_cents / 100, i.price_cents % 100),
            price_cents: i.price_cents,
            available: i.on_sale,
            available_number: i.remaining,
            quotas: i.quotas.clone(),
        })
        .collect();
    Ok(reply(StatusCode::OK, &ItemList { count: results.len(), results }))
}

/// An event's check-in lists, for door staff's scanners (needs the API bearer token).
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/{event}/checkinlists/", tag = "check-in",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug")),
    security(("bearer" = [])),
    responses((status = 200, body = CheckinListList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn list_checkin_lists(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    if !state.bearer_ok(&headers) {
        return Err(ShopError::Unauthorized.into());
    }
    let info = resolve(&state, &org, &event).await?;
    let results: Vec<CheckinListJson> = state
        .inventory
        .checkin_lists(info.id)
        .await?
        .into_iter()
        .map(|l| CheckinListJson { id: l.id, name: l.name })
        .collect();
    Ok(reply(StatusCode::OK, &CheckinListList { count: results.len(), results }))
}

/// A quota's availability (stale-ok).
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/{event}/quotas/{quota}/availability/", tag = "catalog",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("quota" = u64, Path, description = "Quota id")),
    responses((status = 200, body = QuotaAvailabilityJson), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn quota_availability(
    State(state): State<Shared>,
    Path((org, event, quota)): Path<(String, String, String)>,
) -> ApiResult {
    let info = resolve(&state, &org, &event).await?;
    let quota: u64 = quota.parse().map_err(|_| ShopError::NotFound("that quota".into()))?;
    let catalog = state.inventory.catalog(info.id, false).await?;
    let q = catalog
        .quotas
        .iter()
        .find(|q| q.quota.0 == quota)
        .ok_or_else(|| ShopError::NotFound("that quota".into()))?;
    Ok(reply(
        StatusCode::OK,
        &QuotaAvailabilityJson {
            available: !q.closed && q.remaining != Some(0),
            available_number: q.remaining,
            total_size: q.size,
            paid_orders: q.paid,
            pending_orders: q.pending,
            cart_positions: q.held,
            blocking_vouchers: q.blocked,
            waiting_list: 0,
            closed: q.closed,
        },
    ))
}

/// Create a cart: reserve all lines or none.
#[utoipa::path(post, path = "/api/v1/organizers/{organizer}/events/{event}/carts/", tag = "carts",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("X-Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    request_body = CartRequest,
    responses((status = 201, body = CartJson), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "sold_out, quota_closed, item_not_for_sale or idempotency_conflict", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, description = "waiting_room: queue first", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_cart(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let request_id = request_id(&state, &headers, "POST", &uri)?;
    let request: CartRequest = json_body(&body)?;
    if request.lines.is_empty() || request.lines.len() > CART_LINES_MAX {
        return Err(ShopError::Invalid(format!("a cart has 1 to {CART_LINES_MAX} lines")).into());
    }
    if request.lines.iter().any(|l| l.quantity == 0) {
        return Err(ShopError::Invalid("every quantity must be at least 1".into()).into());
    }
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let queue_url = format!("/{org}/{event}/queue");
    let _guard = match state.gate(&headers, &session, info.id, &queue_url, &mut set).await? {
        Ok(guard) => guard,
        Err(queued) => {
            let mut response = crate::errors::json_error(&ShopError::WaitingRoom { queue_url });
            for value in queued.headers().get_all(axum::http::header::SET_COOKIE) {
                response.headers_mut().append(axum::http::header::SET_COOKIE, value.clone());
            }
            return Ok(response);
        }
    };
    let catalog = state.inventory.catalog(info.id, false).await?;
    let lines: Vec<Line> =
        request.lines.iter().map(|l| Line { item: ItemId(l.item), quantity: l.quantity }).collect();
    let command = Command::PlaceHold { event: EventId(info.id), lines, ttl_ms: state.config.hold_ttl_ms };
    match accepted(&state, request_id, command, Some(&catalog)).await? {
        Accepted::HoldLive { hold, expires_at_ms } => Ok(set.apply(reply(
            StatusCode::CREATED,
            &CartJson {
                id: state.keys.cart_id(hold.0),
                status: "active".into(),
                expires_at_ms,
                lines: request.lines,
            },
        ))),
        other => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
    }
}

/// A cart.
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/{event}/carts/{cart}/", tag = "carts",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("cart" = String, Path, description = "Cart id")),
    responses((status = 200, body = CartJson), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_cart(
    State(state): State<Shared>,
    Path((org, event, cart)): Path<(String, String, String)>,
) -> ApiResult {
    let info = resolve(&state, &org, &event).await?;
    let hold = cart_of(&state, info.id, &cart).await?;
    Ok(reply(
        StatusCode::OK,
        &CartJson {
            id: cart,
            status: hold_status_name(hold.status, hold.expires_at_ms).into(),
            expires_at_ms: hold.expires_at_ms,
            lines: hold.lines.iter().map(|l| LineJson { item: l.item.0, quantity: l.quantity }).collect(),
        },
    ))
}

/// Release a cart: its tickets go back on sale.
#[utoipa::path(delete, path = "/api/v1/organizers/{organizer}/events/{event}/carts/{cart}/", tag = "carts",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("cart" = String, Path, description = "Cart id"),
        ("X-Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 204, description = "released"), (status = 400, description = "a malformed X-Idempotency-Key", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "cart_expired, cart_closed or idempotency_conflict", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn delete_cart(
    State(state): State<Shared>,
    Path((org, event, cart)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let request_id = request_id(&state, &headers, "DELETE", &uri)?;
    let info = resolve(&state, &org, &event).await?;
    let hold = state.keys.parse_cart_id(&cart).ok_or_else(|| ShopError::NotFound("that cart".into()))?;
    // The event check reads the hold; the release itself is decided by the engine.
    cart_of(&state, info.id, &cart).await?;
    accepted(&state, request_id, Command::ReleaseHold { hold: HoldId(hold) }, None).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(crate::errors::Rendered { code: None });
    Ok(response)
}

/// Turn a cart into a pending order.
#[utoipa::path(post, path = "/api/v1/organizers/{organizer}/events/{event}/orders/", tag = "orders",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("X-Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    request_body = OrderRequest,
    responses((status = 201, body = OrderJson), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "cart_expired, cart_closed, sold_out, seat_taken or idempotency_conflict", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_order(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let request_id = request_id(&state, &headers, "POST", &uri)?;
    let request: OrderRequest = json_body(&body)?;
    check_contact(request.name.trim(), request.email.trim()).map_err(ShopError::Invalid)?;
    let info = resolve(&state, &org, &event).await?;
    let hold = cart_of(&state, info.id, &request.cart).await?;
    let catalog = state.inventory.catalog(info.id, false).await?;
    let command = Command::CheckoutWithContact {
        hold: hold.id,
        payment_ttl_ms: state.config.payment_ttl_ms,
        name: request.name.trim().to_owned(),
        email: request.email.trim().to_owned(),
    };
    match accepted(&state, request_id, command, Some(&catalog)).await? {
        Accepted::OrderPlaced { order, payment_deadline_ms, total_cents, tickets } => {
            let json = placed_json(
                &state,
                &org,
                &event,
                order,
                OrderStatus::Pending,
                total_cents,
                payment_deadline_ms,
                &tickets,
                false,
            );
            Ok(reply(StatusCode::CREATED, &json))
        }
        other => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
    }
}

fn order_id_and_token(state: &Shared, order: &str, token: Option<&str>) -> Result<u64, ShopError> {
    let not_found = || ShopError::NotFound("that order".into());
    let order: u64 = order.parse().map_err(|_| not_found())?;
    if !token.is_some_and(|t| state.keys.order_token_ok(order, t)) {
        return Err(not_found());
    }
    Ok(order)
}

/// An order (needs its token).
#[utoipa::path(get, path = "/api/v1/organizers/{organizer}/events/{event}/orders/{order}/", tag = "orders",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("order" = u64, Path, description = "Order id"), TokenQuery),
    responses((status = 200, body = OrderJson), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn get_order(
    State(state): State<Shared>,
    Path((org, event, order)): Path<(String, String, String)>,
    Query(query): Query<TokenQuery>,
) -> ApiResult {
    let order = order_id_and_token(&state, &order, query.token.as_deref())?;
    let info = resolve(&state, &org, &event).await?;
    let order = state.inventory.order(order).await?;
    if order.event.0 != info.id {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    Ok(reply(StatusCode::OK, &order_json(&state, &org, &event, &order)))
}

/// Pay an order (simulated payment; needs its token).
#[utoipa::path(post, path = "/api/v1/organizers/{organizer}/events/{event}/orders/{order}/pay/", tag = "orders",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("order" = u64, Path, description = "Order id"), TokenQuery,
        ("X-Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    responses((status = 200, body = PaymentJson), (status = 400, description = "a malformed X-Idempotency-Key", body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "order_status or idempotency_conflict", body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn pay_order(
    State(state): State<Shared>,
    Path((org, event, order)): Path<(String, String, String)>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let request_id = request_id(&state, &headers, "POST", &uri)?;
    let order = order_id_and_token(&state, &order, query.token.as_deref())?;
    let info = resolve(&state, &org, &event).await?;
    if state.inventory.order(order).await?.event.0 != info.id {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    let json = match accepted(&state, request_id, Command::Pay { order: OrderId(order) }, None).await? {
        Accepted::PaymentRefundOwed { amount_cents, .. } => {
            PaymentJson { order, status: "refund_owed".into(), refund_owed_cents: amount_cents }
        }
        _ => PaymentJson { order, status: "paid".into(), refund_owed_cents: 0 },
    };
    Ok(reply(StatusCode::OK, &json))
}

/// Redeem a ticket at the door (needs the API bearer token).
#[utoipa::path(post, path = "/api/v1/organizers/{organizer}/events/{event}/checkinlists/{list}/redeem/", tag = "check-in",
    params(("organizer" = String, Path, description = "Organizer slug"), ("event" = String, Path, description = "Event slug"),
        ("list" = u64, Path, description = "Check-in list id"),
        ("X-Idempotency-Key" = Option<String>, Header, description = "Repeat-safe key")),
    request_body = RedeemRequest,
    security(("bearer" = [])),
    responses((status = 201, description = "valid: let them in", body = RedeemJson),
        (status = 400, description = "refused: already_redeemed, unpaid, canceled; or a malformed body", body = RedeemJson),
        (status = 401, body = ErrorBody), (status = 404, description = "invalid secret, or no such list", body = RedeemJson),
        (status = 409, description = "idempotency_conflict", body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, description = "a malformed scan", body = RedeemJson), (status = 503, body = ErrorBody)))]
pub async fn redeem(
    State(state): State<Shared>,
    Path((org, event, list)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    match redeem_scan(&state, &org, &event, &list, &headers, &uri, &body).await {
        Ok(response) => Ok(response),
        Err(error) => match error.status() {
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => {
                Ok(refusal(error.code(), &error.message(), error.status()))
            }
            _ => Err(error.into()),
        },
    }
}

async fn redeem_scan(
    state: &Shared,
    org: &str,
    event: &str,
    list: &str,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<Response, ShopError> {
    if !state.bearer_ok(headers) {
        return Err(ShopError::Unauthorized);
    }
    let request_id = request_id(state, headers, "POST", uri)?;
    let request: RedeemRequest = json_body(body)?;
    let info = resolve(state, org, event).await?;
    let list: u64 = list.parse().map_err(|_| ShopError::NotFound("that check-in list".into()))?;
    if !state.inventory.checkin_lists(info.id).await?.iter().any(|l| l.id == list) {
        return Err(ShopError::NotFound("that check-in list".into()));
    }
    let direction = match request.direction.as_deref() {
        None | Some("entry") => Direction::Entry,
        Some("exit") => Direction::Exit,
        Some(_) => return Err(ShopError::Invalid("`type` is `entry` or `exit`".into())),
    };
    let secret = request.secret.trim().to_ascii_lowercase();
    let invalid = "No ticket of this event has this secret.";
    if secret.is_empty() || secret.len() > crate::config::CHECKIN_SECRET_BYTES_MAX {
        return Ok(refusal("invalid", invalid, StatusCode::NOT_FOUND));
    }
    let nonce = match &request.nonce {
        Some(nonce) => Nonce(state.keys.request_id(&format!("nonce {list}"), nonce).0),
        None => Nonce(request_id.0),
    };
    let command = Command::CheckIn { list: CheckinListId(list), secret, nonce, direction };
    let outcome = state.inventory.submit(request_id, command).await?;
    match &outcome {
        Outcome::Accepted(Accepted::CheckedIn { order, position, .. }) => Ok(reply(
            StatusCode::CREATED,
            &RedeemJson {
                status: "ok".into(),
                reason: None,
                order: Some(order.0),
                position: Some(*position),
                code: None,
                message: None,
            },
        )),
        Outcome::Rejected(crate::inventory::domain::Rejection::Conflict) => {
            Err(ShopError::IdempotencyConflict)
        }
        other => match crate::admin::checkin_code(other) {
            Some("invalid") | None => Ok(refusal("invalid", invalid, StatusCode::NOT_FOUND)),
            Some(reason) => {
                let message = match reason {
                    "already_redeemed" => "This ticket was already checked in.",
                    "unpaid" => "This order is not paid.",
                    _ => "This order was canceled.",
                };
                Ok(refusal(reason, message, StatusCode::BAD_REQUEST))
            }
        },
    }
}

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(title = "boxoffice shop API", description = "Carts, orders, payment and check-in over the boxoffice inventory. Every write honours X-Idempotency-Key."),
    paths(list_events, list_items, list_checkin_lists, quota_availability, create_cart, get_cart, delete_cart, create_order, get_order, pay_order, redeem),
    components(schemas(ErrorBody, EventJson, EventList, CheckinListJson, CheckinListList, ItemJson, ItemList, QuotaAvailabilityJson, LineJson, CartRequest,
        CartJson, OrderRequest, PositionJson, OrderJson, PaymentJson, RedeemRequest, RedeemJson)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    reply(StatusCode::OK, &ApiDoc::openapi())
}
