//! The buyer's pages: events, items with live availability, the cart with
//! its countdown, checkout, the order with its QR codes, and the queue.
//!
//! Every write is one engine command whose request id comes from the form
//! (see [`crate::app`]), so a resubmitted form is answered, not repeated.
//! A rejection is a page that says what happened in the buyer's words; an
//! unknown outcome says that trying again is safe.

use crate::app::{Form, SetCookies, Shared, see_other, see_other_with};
use crate::backend::{Catalog, EventInfo};
use crate::config::{
    CART_ITEM_QUANTITY_MAX, CART_LINES_MAX, CART_SEATS_MAX, CONTACT_NAME_BYTES_MAX, EMAIL_BYTES_MAX,
};
use crate::errors::{PageError, ShopError};
use crate::inventory::WaitingListEntryView;
use crate::inventory::domain::{
    Accepted, Command, EntryPosition, EventId, HoldId, HoldStatus, ItemId, Line, OrderId, OrderStatus,
    SeatChoice, SeatId, SeatMapZone, SeatStatus,
};
use crate::tokens::random_token;
use crate::views::{
    self, CartPage, CheckoutPage, EventPage, EventsPage, ItemRow, LineRow, OrderPage, QueuePage, SeatCell,
    SeatRowView, SeatZoneView, TicketRow, WaitlistPage, page,
};
use crate::waiting_room::{Standing, wall_ms};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

type PageResult = Result<Response, PageError>;

/// `GET /`: the default organizer's events.
pub async fn root(State(state): State<Shared>) -> Response {
    see_other(&format!("/{}/", state.config.default_organizer))
}

/// `GET /{org}`: add the slash.
pub async fn org_no_slash(Path(org): Path<String>) -> Response {
    see_other(&format!("/{}/", urlencode(&org)))
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /{org}/`: an organizer's events.
pub async fn events(State(state): State<Shared>, Path(org): Path<String>) -> PageResult {
    let (org_id, org_name) = state.inventory.organizer(&org).await?;
    let events = state.inventory.events(org_id).await?;
    Ok(page(StatusCode::OK, &EventsPage { org_slug: org, org_name, events }))
}

/// The organizer and event of a path.
pub async fn resolve(state: &Shared, org: &str, event: &str) -> Result<EventInfo, ShopError> {
    let (org_id, _) = state.inventory.organizer(org).await?;
    state.inventory.event_by_slug(org_id, event).await
}

/// Buyer-facing availability of an item.
pub fn availability_text(on_sale: bool, remaining: Option<u64>, in_quota: bool, closed: bool) -> String {
    match (in_quota && !closed, on_sale, remaining) {
        (false, _, _) => "not on sale".into(),
        (true, false, Some(0)) => "sold out".into(),
        (true, false, _) => "not on sale".into(),
        (true, true, Some(n)) => format!("{n} left"),
        (true, true, None) => "available".into(),
    }
}

/// Rows of the item list.
pub fn item_rows(catalog: &Catalog) -> Vec<ItemRow> {
    catalog
        .items
        .iter()
        .map(|item| ItemRow {
            id: item.id,
            name: item.name.clone(),
            price: views::money(item.price_cents),
            availability: availability_text(
                item.on_sale,
                item.remaining,
                !item.quotas.is_empty(),
                item.closed,
            ),
            on_sale: item.on_sale,
            sold_out: !item.on_sale && item.remaining == Some(0) && !item.quotas.is_empty() && !item.closed,
            max: item.remaining.unwrap_or(u64::MAX).min(u64::from(CART_ITEM_QUANTITY_MAX)),
        })
        .collect()
}

/// The seating plan as the event page draws it: every seat, free ones to
/// choose, the others greyed out (held, ordered, paid or blocked: a buyer
/// needs no more than "taken").
pub fn seat_zones(catalog: &Catalog, zones: &[SeatMapZone]) -> Vec<SeatZoneView> {
    let cell = |seat: &crate::inventory::domain::SeatMapSeat| {
        let (free, class) = match seat.status {
            SeatStatus::Free => (true, "free"),
            SeatStatus::Blocked => (false, "blocked"),
            SeatStatus::Held(_) | SeatStatus::Ordered(_) | SeatStatus::Paid(_) => (false, "taken"),
        };
        let price = catalog.item(seat.item.0).map(|item| views::money(item.price_cents)).unwrap_or_default();
        let title = format!("{} {price}", catalog.item_name(seat.item.0));
        SeatCell { id: seat.seat.0, label: seat.label.clone(), title, free, class }
    };
    zones
        .iter()
        .map(|zone| SeatZoneView {
            name: zone.zone.clone(),
            rows: zone
                .rows
                .iter()
                .map(|row| SeatRowView { name: row.row.clone(), seats: row.seats.iter().map(cell).collect() })
                .collect(),
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn event_page(
    state: &Shared,
    headers: &HeaderMap,
    org: &str,
    event: &EventInfo,
    session: &str,
    status: StatusCode,
    message: Option<String>,
    fresh: bool,
) -> Result<Response, ShopError> {
    let catalog = state.inventory.catalog(event.id, fresh).await?;
    let seats = state.inventory.seat_map(event.id, fresh).await?;
    let cart_tickets = match state.cart_hold(headers, event.id) {
        Some(hold) => match state.inventory.hold(hold).await {
            Ok(h) if h.status == HoldStatus::Active && h.expires_at_ms > wall_ms() => {
                h.lines.iter().map(|l| u64::from(l.quantity)).sum()
            }
            _ => 0,
        },
        None => 0,
    };
    Ok(page(
        status,
        &EventPage {
            org_slug: org.into(),
            event_slug: event.slug.clone(),
            event_name: event.name.clone(),
            items: item_rows(&catalog),
            csrf: state.keys.csrf_token(session),
            idem: random_token(),
            message,
            cart_tickets,
            seat_zones: seat_zones(&catalog, &seats),
            seats_max: CART_SEATS_MAX,
        },
    ))
}

/// `GET /{org}/{event}/`: the items, with live (stale-ok) availability.
pub async fn event(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let queue_url = format!("/{org}/{event}/queue");
    let _guard = match state.gate(&headers, &session, info.id, &queue_url, &mut set).await? {
        Ok(guard) => guard,
        Err(queued) => return Ok(queued),
    };
    let response =
        event_page(&state, &headers, &org, &info, &session.id, StatusCode::OK, None, false).await?;
    Ok(set.apply(response))
}

/// A buyer's form posted from an event page, past its CSRF check and the
/// event's waiting room (the guard counts it in flight until dropped).
struct EventPost {
    form: Form,
    session: String,
    info: EventInfo,
    set: SetCookies,
    _guard: crate::waiting_room::InFlight,
}

impl EventPost {
    /// The event page again, fresh, with `message` (what went wrong) on top.
    async fn page(
        &self,
        state: &Shared,
        headers: &HeaderMap,
        org: &str,
        status: StatusCode,
        message: String,
    ) -> Result<Response, ShopError> {
        event_page(state, headers, org, &self.info, &self.session, status, Some(message), true).await
    }
}

/// Read and admit a form posted to one of an event's actions, or the
/// response to send instead (the queue).
async fn event_post(
    state: &Shared,
    org: &str,
    event: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Result<EventPost, Response>, ShopError> {
    let form = Form::parse(body)?;
    let session = state.check_csrf(headers, &form)?;
    let info = resolve(state, org, event).await?;
    let mut set = SetCookies::default();
    let visitor = crate::app::Session { id: session.clone(), new: false };
    let queue_url = format!("/{org}/{event}/queue");
    Ok(match state.gate(headers, &visitor, info.id, &queue_url, &mut set).await? {
        Ok(guard) => Ok(EventPost { form, session, info, set, _guard: guard }),
        Err(queued) => Err(queued),
    })
}

fn lines_of(quantities: &[(u64, u32)]) -> Vec<Line> {
    quantities.iter().filter(|(_, q)| *q > 0).map(|(i, q)| Line { item: ItemId(*i), quantity: *q }).collect()
}

/// `POST /{org}/{event}/cart/add`: put the chosen items in the cart (a hold).
pub async fn cart_add(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let mut post = match event_post(&state, &org, &event, &headers, &body).await? {
        Ok(post) => post,
        Err(queued) => return Ok(queued),
    };
    let mut set = std::mem::take(&mut post.set);
    let (form, session_id, info) = (&post.form, &post.session, &post.info);
    let rerender = |status: StatusCode, message: String| post.page(&state, &headers, &org, status, message);
    let quantities = match form.item_quantities(CART_ITEM_QUANTITY_MAX, CART_LINES_MAX) {
        Ok(q) => q,
        Err(error) => return Ok(rerender(error.status(), error.message()).await?),
    };
    let lines = lines_of(&quantities);
    if lines.is_empty() {
        return Ok(
            rerender(StatusCode::UNPROCESSABLE_ENTITY, "Please choose at least one ticket.".into()).await?
        );
    }
    let catalog = state.inventory.catalog(info.id, false).await?;
    if let Some(unknown) = lines.iter().find(|l| catalog.item(l.item.0).is_none()) {
        let error = ShopError::NotFound(format!("ticket type {}", unknown.item.0));
        return Ok(rerender(error.status(), error.message()).await?);
    }
    let name = |id: u64| catalog.item_name(id);
    let scope = format!("POST /{org}/{event}/cart/add");
    let request_id = state.form_request_id(session_id, form, &scope);
    let existing = state.cart_hold(&headers, info.id);
    let outcome = match existing {
        Some(hold) => {
            let add = Command::AddToHold { hold: HoldId(hold), lines: lines.clone() };
            match state.inventory.must(request_id, add, &name).await {
                Err(ShopError::CartExpired | ShopError::CartClosed | ShopError::NotFound(_)) => None,
                // The same form was already sent before this cart existed: it is done.
                Err(ShopError::IdempotencyConflict) => return Ok(see_other(&format!("/{org}/{event}/cart"))),
                other => Some(other),
            }
        }
        None => None,
    };
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => {
            let place =
                Command::PlaceHold { event: EventId(info.id), lines, ttl_ms: state.config.hold_ttl_ms };
            // The same id as the add (so a resubmitted form is one request), unless
            // the add was tried and refused under it: then a new cart has its own.
            let scope = if existing.is_some() { format!("{scope} renew") } else { scope };
            let request_id = state.form_request_id(session_id, form, &scope);
            state.inventory.must(request_id, place, &name).await
        }
    };
    match outcome {
        Ok(Accepted::HoldLive { hold, .. }) => {
            state.set_cart(&mut set, info.id, hold.0);
            Ok(see_other_with(&format!("/{org}/{event}/cart"), set))
        }
        Ok(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
        Err(error @ (ShopError::SoldOut(_) | ShopError::QuotaClosed(_) | ShopError::ItemNotForSale(_))) => {
            Ok(set.apply(rerender(error.status(), error.message()).await?))
        }
        Err(error) => Err(error.into()),
    }
}

/// The seats a seat form chose: `seat` fields with seat ids, 1 to
/// [`CART_SEATS_MAX`] distinct ones.
fn chosen_seats(form: &Form) -> Result<Vec<SeatId>, ShopError> {
    let mut seats = Vec::new();
    for value in form.all("seat") {
        let id: u64 =
            value.trim().parse().map_err(|_| ShopError::Invalid(format!("`{value}` is not a seat")))?;
        if !seats.contains(&SeatId(id)) {
            seats.push(SeatId(id));
        }
        if seats.len() > CART_SEATS_MAX {
            return Err(ShopError::Invalid(format!("choose at most {CART_SEATS_MAX} seats at once")));
        }
    }
    if seats.is_empty() {
        return Err(ShopError::Invalid("choose at least one seat".into()));
    }
    Ok(seats)
}

/// `POST /{org}/{event}/cart/seats`: hold the seats the buyer ticked, as a
/// new cart. A seated cart holds exactly its seats (the engine refuses to
/// add plain tickets to it), so a buyer with a live cart is asked to check
/// out or empty it first.
pub async fn cart_seats(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let mut post = match event_post(&state, &org, &event, &headers, &body).await? {
        Ok(post) => post,
        Err(queued) => return Ok(queued),
    };
    let mut set = std::mem::take(&mut post.set);
    let (form, session_id, info) = (&post.form, &post.session, &post.info);
    let rerender = |status: StatusCode, message: String| post.page(&state, &headers, &org, status, message);
    let seats = match chosen_seats(form) {
        Ok(seats) => seats,
        Err(error) => return Ok(rerender(error.status(), error.message()).await?),
    };
    if has_live_cart(&state, &headers, info.id).await {
        let message = "You already have tickets in your cart: check out or empty it before choosing seats.";
        return Ok(rerender(StatusCode::CONFLICT, message.into()).await?);
    }
    let catalog = state.inventory.catalog(info.id, false).await?;
    let name = |id: u64| catalog.item_name(id);
    let request_id = state.form_request_id(session_id, form, &format!("POST /{org}/{event}/cart/seats"));
    let place = Command::PlaceSeatedHold {
        event: EventId(info.id),
        seats: SeatChoice::Named(seats),
        ttl_ms: state.config.hold_ttl_ms,
        voucher: None,
        buyer: None,
    };
    match state.inventory.must(request_id, place, &name).await {
        Ok(Accepted::SeatedHoldLive { hold, .. }) => {
            state.set_cart(&mut set, info.id, hold.0);
            Ok(see_other_with(&format!("/{org}/{event}/cart"), set))
        }
        Ok(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
        Err(
            error @ (ShopError::SeatTaken(_)
            | ShopError::SoldOut(_)
            | ShopError::QuotaClosed(_)
            | ShopError::ItemNotForSale(_)
            | ShopError::NotFound(_)
            | ShopError::Invalid(_)),
        ) => Ok(set.apply(rerender(error.status(), error.message()).await?)),
        Err(error) => Err(error.into()),
    }
}

/// How often a waiting buyer's entry page reloads itself, in seconds.
pub const WAITLIST_REFRESH_SECS: u64 = 10;

/// `POST /{org}/{event}/waitlist/join`: join the waiting list of a sold-out
/// item (the `item` field; the event page's button sends it). The engine
/// refuses an item that has tickets left, so nobody queues for what they
/// could buy. The buyer lands on the entry's page, which only its token opens.
pub async fn waitlist_join(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let mut post = match event_post(&state, &org, &event, &headers, &body).await? {
        Ok(post) => post,
        Err(queued) => return Ok(queued),
    };
    let set = std::mem::take(&mut post.set);
    let (form, session_id, info) = (&post.form, &post.session, &post.info);
    let rerender = |status: StatusCode, message: String| post.page(&state, &headers, &org, status, message);
    let catalog = state.inventory.catalog(info.id, false).await?;
    let item = form.get("item").and_then(|v| v.trim().parse::<u64>().ok());
    let Some(item) = item.filter(|id| catalog.item(*id).is_some()) else {
        let error = ShopError::NotFound("that ticket type".into());
        return Ok(set.apply(rerender(error.status(), error.message()).await?));
    };
    let name = |id: u64| catalog.item_name(id);
    let request_id = state.form_request_id(session_id, form, &format!("POST /{org}/{event}/waitlist/join"));
    let join =
        Command::JoinWaitingList { event: EventId(info.id), item: ItemId(item), priority: 0, buyer: None };
    match state.inventory.must(request_id, join, &name).await {
        Ok(Accepted::WaitingListJoined { entry, .. }) => {
            let url = format!("/{org}/{event}/waitlist/{}/{}", entry.0, state.keys.entry_token(entry.0));
            Ok(see_other_with(&url, set))
        }
        Ok(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
        Err(
            error @ (ShopError::WaitingListAvailable(_)
            | ShopError::WaitingListFull
            | ShopError::ItemNotForSale(_)
            | ShopError::QuotaClosed(_)
            | ShopError::NotFound(_)
            | ShopError::Invalid(_)),
        ) => Ok(set.apply(rerender(error.status(), error.message()).await?)),
        Err(error) => Err(error.into()),
    }
}

/// The entry a waiting-list URL names, if its token opens it and it is of
/// this event; anything else is "not found", like a wrong order token.
async fn waitlist_entry_of(
    state: &Shared,
    info: &EventInfo,
    entry: &str,
    token: &str,
) -> Result<WaitingListEntryView, ShopError> {
    let not_found = || ShopError::NotFound("that waiting-list entry".into());
    let entry: u64 = entry.parse().map_err(|_| not_found())?;
    if !state.keys.entry_token_ok(entry, token) {
        return Err(not_found());
    }
    match state.inventory.waiting_list_entry(entry).await {
        Ok(view) if view.entry.event.0 == info.id => Ok(view),
        Ok(_) | Err(ShopError::NotFound(_)) => Err(not_found()),
        Err(error) => Err(error),
    }
}

/// A form posted from a waiting-list entry's page, past its CSRF check,
/// with the entry its URL opens and the event's items.
struct EntryPost {
    form: Form,
    session: String,
    info: EventInfo,
    view: WaitingListEntryView,
    catalog: Catalog,
}

async fn entry_post(
    state: &Shared,
    org: &str,
    event: &str,
    entry: &str,
    token: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<EntryPost, ShopError> {
    let form = Form::parse(body)?;
    let session = state.check_csrf(headers, &form)?;
    let info = resolve(state, org, event).await?;
    let view = waitlist_entry_of(state, &info, entry, token).await?;
    let catalog = state.inventory.catalog(info.id, false).await?;
    Ok(EntryPost { form, session, info, view, catalog })
}

/// Whether this visitor's cart for `event` is a live hold (a new cart, of
/// seats or of a claimed offer, must not silently replace it).
async fn has_live_cart(state: &Shared, headers: &HeaderMap, event: u64) -> bool {
    match state.cart_hold(headers, event) {
        Some(hold) => matches!(
            state.inventory.hold(hold).await,
            Ok(h) if h.status == HoldStatus::Active && h.expires_at_ms > wall_ms()
        ),
        None => false,
    }
}

/// The entry page of `view`, with `message` on top.
#[allow(clippy::too_many_arguments)]
fn waitlist_page(
    state: &Shared,
    org: &str,
    info: &EventInfo,
    catalog: &Catalog,
    session: &str,
    view: &WaitingListEntryView,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let now = wall_ms();
    let (state_name, position, offer_until_ms) = match view.position {
        EntryPosition::Waiting { position } => ("waiting", position, 0),
        EntryPosition::Offered { expires_at_ms } if expires_at_ms > now => ("offered", 0, expires_at_ms),
        EntryPosition::Offered { .. } | EntryPosition::OfferLapsed { .. } => ("lapsed", 0, 0),
        EntryPosition::Claimed { .. } => ("claimed", 0, 0),
        EntryPosition::Left => ("left", 0, 0),
    };
    let entry = view.entry.id.0;
    page(
        status,
        &WaitlistPage {
            org_slug: org.into(),
            event_slug: info.slug.clone(),
            event_name: info.name.clone(),
            item_name: catalog.item_name(view.entry.item.0),
            entry_url: format!("/{org}/{}/waitlist/{entry}/{}", info.slug, state.keys.entry_token(entry)),
            state: state_name.into(),
            position,
            offer_until: views::utc(offer_until_ms),
            offer_in_secs: offer_until_ms.saturating_sub(now) / 1000,
            refresh_secs: if state_name == "waiting" { WAITLIST_REFRESH_SECS } else { 0 },
            csrf: state.keys.csrf_token(session),
            idem: random_token(),
            message,
        },
    )
}

/// `GET /{org}/{event}/waitlist/{entry}/{token}`: the entry's place in line,
/// its offer with a claim button, or how it ended.
pub async fn waitlist_entry(
    State(state): State<Shared>,
    Path((org, event, entry, token)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let info = resolve(&state, &org, &event).await?;
    let view = waitlist_entry_of(&state, &info, &entry, &token).await?;
    let catalog = state.inventory.catalog(info.id, false).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    Ok(set.apply(waitlist_page(&state, &org, &info, &catalog, &session.id, &view, StatusCode::OK, None)))
}

/// `POST /{org}/{event}/waitlist/{entry}/{token}/claim`: turn the entry's
/// offer into the buyer's cart. The offer's ticket is already kept for the
/// entry, so this cannot sell out, and it skips the waiting room (the buyer
/// waited in line already). A buyer whose cart is live is asked to finish
/// it first: the claimed ticket is a cart of its own.
pub async fn waitlist_claim(
    State(state): State<Shared>,
    Path((org, event, entry, token)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let EntryPost { form, session, info, view, catalog } =
        entry_post(&state, &org, &event, &entry, &token, &headers, &body).await?;
    let mut set = SetCookies::default();
    let show = |status: StatusCode, message: String| {
        waitlist_page(&state, &org, &info, &catalog, &session, &view, status, Some(message))
    };
    if has_live_cart(&state, &headers, info.id).await {
        let message = "You already have tickets in your cart: check out or empty it, then claim this one.";
        return Ok(show(StatusCode::CONFLICT, message.into()));
    }
    let name = |id: u64| catalog.item_name(id);
    let request_id =
        state.form_request_id(&session, &form, &format!("POST /{org}/{event}/waitlist/{entry}/claim"));
    let claim = Command::ClaimOffer { entry: view.entry.id, ttl_ms: state.config.hold_ttl_ms };
    match state.inventory.must(request_id, claim, &name).await {
        Ok(Accepted::HoldLive { hold, .. }) => {
            state.set_cart(&mut set, info.id, hold.0);
            Ok(see_other_with(&format!("/{org}/{event}/cart"), set))
        }
        Ok(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
        Err(
            error @ (ShopError::WaitingListEntry(_) | ShopError::Invalid(_) | ShopError::ItemNotForSale(_)),
        ) => {
            // Show the entry as it is now (lapsed, claimed, left), with why.
            let now = state.inventory.waiting_list_entry(view.entry.id.0).await.unwrap_or(view.clone());
            Ok(waitlist_page(
                &state,
                &org,
                &info,
                &catalog,
                &session,
                &now,
                error.status(),
                Some(error.message()),
            ))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /{org}/{event}/waitlist/{entry}/{token}/leave`: leave the line; an
/// offer not claimed passes to the next buyer in the same engine record.
pub async fn waitlist_leave(
    State(state): State<Shared>,
    Path((org, event, entry, token)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let EntryPost { form, session, info, view, catalog } =
        entry_post(&state, &org, &event, &entry, &token, &headers, &body).await?;
    let name = |id: u64| catalog.item_name(id);
    let request_id =
        state.form_request_id(&session, &form, &format!("POST /{org}/{event}/waitlist/{entry}/leave"));
    let entry_url = format!("/{org}/{event}/waitlist/{entry}/{token}");
    match state.inventory.must(request_id, Command::LeaveWaitingList { entry: view.entry.id }, &name).await {
        Ok(_) => Ok(see_other(&entry_url)),
        Err(error @ ShopError::WaitingListEntry(_)) => Ok(waitlist_page(
            &state,
            &org,
            &info,
            &catalog,
            &session,
            &view,
            error.status(),
            Some(error.message()),
        )),
        Err(error) => Err(error.into()),
    }
}

/// The live hold of this visitor's cart, or the page to show instead.
async fn live_cart(
    state: &Shared,
    headers: &HeaderMap,
    org: &str,
    event: &EventInfo,
    set: &mut SetCookies,
) -> Result<Result<crate::inventory::domain::Hold, Response>, ShopError> {
    let back = format!("/{org}/{}/", event.slug);
    let Some(hold_id) = state.cart_hold(headers, event.id) else {
        return Ok(Err(views::message_page(
            StatusCode::OK,
            "Your cart is empty",
            "Your cart is empty.",
            &back,
        )));
    };
    let hold = match state.inventory.hold(hold_id).await {
        Ok(hold) if hold.event.0 == event.id => hold,
        Ok(_) | Err(ShopError::NotFound(_)) => {
            state.clear_cart(set, event.id);
            return Ok(Err(views::message_page(
                StatusCode::OK,
                "Your cart is empty",
                "Your cart is empty.",
                &back,
            )));
        }
        Err(error) => return Err(error),
    };
    let lapsed = hold.status == HoldStatus::Expired
        || (hold.status == HoldStatus::Active && hold.expires_at_ms <= wall_ms());
    if lapsed || hold.status != HoldStatus::Active || hold.lines.is_empty() {
        state.clear_cart(set, event.id);
        let (status, title, message) = if lapsed {
            (StatusCode::CONFLICT, "Your cart expired", ShopError::CartExpired.message())
        } else {
            (StatusCode::OK, "Your cart is empty", "Your cart is empty.".to_owned())
        };
        return Ok(Err(views::message_page(status, title, &message, &back)));
    }
    Ok(Ok(hold))
}

fn line_rows(lines: &[Line], catalog: &Catalog) -> (Vec<LineRow>, u64) {
    let mut total = 0u64;
    let rows = lines
        .iter()
        .map(|line| {
            let item = catalog.item(line.item.0);
            let price = item.map_or(0, |i| i.price_cents);
            let subtotal = price.saturating_mul(u64::from(line.quantity));
            total = total.saturating_add(subtotal);
            LineRow {
                item: line.item.0,
                name: catalog.item_name(line.item.0),
                quantity: line.quantity,
                price: views::money(price),
                subtotal: views::money(subtotal),
                max: CART_ITEM_QUANTITY_MAX.max(line.quantity),
            }
        })
        .collect();
    (rows, total)
}

/// `GET /{org}/{event}/cart`: the cart with its countdown.
pub async fn cart(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let hold = match live_cart(&state, &headers, &org, &info, &mut set).await? {
        Ok(hold) => hold,
        Err(response) => return Ok(set.apply(response)),
    };
    let catalog = state.inventory.catalog(info.id, false).await?;
    let seats = seats_held_by(&state, info.id, SeatStatus::Held(hold.id)).await?;
    Ok(set.apply(cart_page(&state, &org, &info, &session.id, &hold, &catalog, &seats, StatusCode::OK, None)))
}

/// The labels ("Balcony, row A, seat 5") of an event's seats whose state is
/// `status` (held by one cart, in one order), in plan order; read
/// linearizably, right after the write that took them. Empty for an event
/// without seats.
async fn seats_held_by(state: &Shared, event: u64, status: SeatStatus) -> Result<Vec<String>, ShopError> {
    let zones = state.inventory.seat_map(event, true).await?;
    let mut labels = Vec::new();
    for zone in &zones {
        for row in &zone.rows {
            for seat in row.seats.iter().filter(|seat| seat.status == status) {
                labels.push(format!("{}, row {}, seat {}", zone.zone, row.row, seat.label));
            }
        }
    }
    Ok(labels)
}

#[allow(clippy::too_many_arguments)]
fn cart_page(
    state: &Shared,
    org: &str,
    info: &EventInfo,
    session: &str,
    hold: &crate::inventory::domain::Hold,
    catalog: &Catalog,
    seats: &[String],
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let (lines, total) = line_rows(&hold.lines, catalog);
    let expires_in_secs = hold.expires_at_ms.saturating_sub(wall_ms()) / 1000;
    page(
        status,
        &CartPage {
            org_slug: org.into(),
            event_slug: info.slug.clone(),
            event_name: info.name.clone(),
            lines,
            seats: seats.to_vec(),
            total: views::money(total),
            expires_in_secs,
            expires_in: views::duration(expires_in_secs),
            expires_at: views::utc(hold.expires_at_ms),
            csrf: state.keys.csrf_token(session),
            idem: random_token(),
            message,
        },
    )
}

/// `POST /{org}/{event}/cart/update`: change quantities. Decreases are
/// taken out of the hold first (`RemoveFromHold`, freeing capacity at once),
/// then increases are added (`AddToHold`, all or nothing).
pub async fn cart_update(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let hold = match live_cart(&state, &headers, &org, &info, &mut set).await? {
        Ok(hold) => hold,
        Err(response) => return Ok(set.apply(response)),
    };
    let catalog = state.inventory.catalog(info.id, false).await?;
    let seats = seats_held_by(&state, info.id, SeatStatus::Held(hold.id)).await?;
    let show = |status: StatusCode, message: String, hold: &crate::inventory::domain::Hold| {
        cart_page(&state, &org, &info, &session, hold, &catalog, &seats, status, Some(message))
    };
    let wanted = match form.item_quantities(CART_ITEM_QUANTITY_MAX, CART_LINES_MAX) {
        Ok(wanted) => wanted,
        Err(error) => return Ok(show(error.status(), error.message(), &hold)),
    };
    let have =
        |item: u64| -> u32 { hold.lines.iter().filter(|l| l.item.0 == item).map(|l| l.quantity).sum() };
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for (item, quantity) in &wanted {
        let current = have(*item);
        if *quantity > current {
            add.push(Line { item: ItemId(*item), quantity: quantity - current });
        } else if *quantity < current {
            remove.push(Line { item: ItemId(*item), quantity: current - quantity });
        }
    }
    let name = |id: u64| catalog.item_name(id);
    if !remove.is_empty() {
        let scope = format!("POST /{org}/{event}/cart/update remove");
        let request_id = state.form_request_id(&session, &form, &scope);
        match state
            .inventory
            .must(request_id, Command::RemoveFromHold { hold: hold.id, lines: remove }, &name)
            .await
        {
            Ok(_) | Err(ShopError::IdempotencyConflict) => {}
            Err(error @ ShopError::Invalid(_)) => return Ok(show(error.status(), error.message(), &hold)),
            Err(error) => return Err(error.into()),
        }
    }
    if !add.is_empty() {
        let scope = format!("POST /{org}/{event}/cart/update add");
        let request_id = state.form_request_id(&session, &form, &scope);
        match state.inventory.must(request_id, Command::AddToHold { hold: hold.id, lines: add }, &name).await
        {
            Ok(_) | Err(ShopError::IdempotencyConflict) => {}
            Err(
                error @ (ShopError::SoldOut(_) | ShopError::QuotaClosed(_) | ShopError::ItemNotForSale(_)),
            ) => {
                return Ok(show(error.status(), error.message(), &hold));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(see_other_with(&format!("/{org}/{event}/cart"), set))
}

/// `POST /{org}/{event}/cart/release`: give the tickets back.
pub async fn cart_release(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    if let Some(hold) = state.cart_hold(&headers, info.id) {
        let request_id = state.form_request_id(&session, &form, &format!("POST /{org}/{event}/cart/release"));
        match state
            .inventory
            .must(request_id, Command::ReleaseHold { hold: HoldId(hold) }, &|i| i.to_string())
            .await
        {
            Ok(_)
            | Err(ShopError::CartExpired | ShopError::CartClosed | ShopError::NotFound(_))
            | Err(ShopError::IdempotencyConflict) => {}
            Err(error) => return Err(error.into()),
        }
        state.clear_cart(&mut set, info.id);
    }
    Ok(see_other_with(&format!("/{org}/{event}/"), set))
}

/// `GET /{org}/{event}/checkout`: name and e-mail.
pub async fn checkout_form(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let hold = match live_cart(&state, &headers, &org, &info, &mut set).await? {
        Ok(hold) => hold,
        Err(response) => return Ok(set.apply(response)),
    };
    let catalog = state.inventory.catalog(info.id, false).await?;
    let response =
        checkout_page(&state, &org, &info, &session.id, &hold, &catalog, "", "", StatusCode::OK, None);
    Ok(set.apply(response))
}

#[allow(clippy::too_many_arguments)]
fn checkout_page(
    state: &Shared,
    org: &str,
    info: &EventInfo,
    session: &str,
    hold: &crate::inventory::domain::Hold,
    catalog: &Catalog,
    name: &str,
    email: &str,
    status: StatusCode,
    message: Option<String>,
) -> Response {
    let (lines, total) = line_rows(&hold.lines, catalog);
    page(
        status,
        &CheckoutPage {
            org_slug: org.into(),
            event_slug: info.slug.clone(),
            event_name: info.name.clone(),
            lines,
            total: views::money(total),
            expires_at: views::utc(hold.expires_at_ms),
            csrf: state.keys.csrf_token(session),
            idem: random_token(),
            name: name.into(),
            email: email.into(),
            message,
        },
    )
}

/// Check a buyer's name and e-mail; the sentence to show if they are wrong.
pub fn check_contact(name: &str, email: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > CONTACT_NAME_BYTES_MAX || name.chars().any(char::is_control) {
        return Err(format!("Please give your name (at most {CONTACT_NAME_BYTES_MAX} characters)."));
    }
    let valid_email = email.len() <= EMAIL_BYTES_MAX
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('@'));
    if !valid_email {
        return Err("Please give a valid e-mail address.".into());
    }
    Ok(())
}

/// `POST /{org}/{event}/checkout`: place the order, then show it.
pub async fn checkout(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    let info = resolve(&state, &org, &event).await?;
    let mut set = SetCookies::default();
    let hold = match live_cart(&state, &headers, &org, &info, &mut set).await? {
        Ok(hold) => hold,
        Err(response) => return Ok(set.apply(response)),
    };
    let catalog = state.inventory.catalog(info.id, false).await?;
    let name = form.get("name").unwrap_or("").trim().to_owned();
    let email = form.get("email").unwrap_or("").trim().to_owned();
    if let Err(message) = check_contact(&name, &email) {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        let response = checkout_page(
            &state,
            &org,
            &info,
            &session,
            &hold,
            &catalog,
            &name,
            &email,
            status,
            Some(message),
        );
        return Ok(set.apply(response));
    }
    let request_id = state.form_request_id(&session, &form, &format!("POST /{org}/{event}/checkout"));
    let command = Command::CheckoutWithContact {
        hold: hold.id,
        payment_ttl_ms: state.config.payment_ttl_ms,
        name: name.clone(),
        email: email.clone(),
    };
    let item_name = |id: u64| catalog.item_name(id);
    match state.inventory.must(request_id, command, &item_name).await {
        Ok(Accepted::OrderPlaced { order, .. }) => {
            state.clear_cart(&mut set, info.id);
            let token = state.keys.order_token(order.0);
            Ok(see_other_with(&format!("/{org}/{event}/order/{}/{token}", order.0), set))
        }
        Ok(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
        Err(
            error @ (ShopError::SoldOut(_)
            | ShopError::QuotaClosed(_)
            | ShopError::SeatTaken(_)
            | ShopError::CartExpired),
        ) => {
            state.clear_cart(&mut set, info.id);
            let message = format!("Your cart expired before checkout. {}", error.message());
            let back = format!("/{org}/{event}/");
            Ok(set.apply(views::message_page(error.status(), "Your cart expired", &message, &back)))
        }
        Err(error) => Err(error.into()),
    }
}

fn status_words(status: OrderStatus) -> (&'static str, &'static str) {
    match status {
        OrderStatus::Pending => ("pending", "Waiting for payment"),
        OrderStatus::Paid => ("paid", "Paid: your tickets are below"),
        OrderStatus::Expired => ("expired", "Expired: not paid in time"),
        OrderStatus::Canceled => ("canceled", "Canceled"),
    }
}

/// `GET /{org}/{event}/order/{id}/{token}`: status, pay button, tickets.
pub async fn order(
    State(state): State<Shared>,
    Path((org, event, order_id, token)): Path<(String, String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> PageResult {
    let order_id: u64 = order_id.parse().map_err(|_| ShopError::NotFound("that order".into()))?;
    if !state.keys.order_token_ok(order_id, &token) {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    let info = resolve(&state, &org, &event).await?;
    let order = state.inventory.order(order_id).await?;
    if order.event.0 != info.id {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    let catalog = state.inventory.catalog(info.id, false).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let (lines, _) = line_rows(&order.lines, &catalog);
    let (status, status_text) = status_words(order.status);
    let seats = match order.status {
        OrderStatus::Pending => seats_held_by(&state, info.id, SeatStatus::Ordered(order.id)).await?,
        OrderStatus::Paid => seats_held_by(&state, info.id, SeatStatus::Paid(order.id)).await?,
        _ => Vec::new(),
    };
    let tickets = if order.status == OrderStatus::Paid {
        order
            .tickets
            .iter()
            .map(|t| TicketRow {
                number: t.position + 1,
                name: catalog.item_name(t.item.0),
                secret: t.secret.clone(),
                qr_svg: views::qr_svg(&t.secret),
            })
            .collect()
    } else {
        Vec::new()
    };
    let message = match query.get("m").map(String::as_str) {
        Some("paid") => Some("Thank you! Your payment was received.".to_owned()),
        Some("refund") => Some(
            "Your payment arrived after the order expired and its tickets were sold meanwhile; the amount will be refunded."
                .to_owned(),
        ),
        _ => None,
    };
    let response = page(
        StatusCode::OK,
        &OrderPage {
            org_slug: org,
            event_slug: info.slug.clone(),
            event_name: info.name.clone(),
            order_id,
            token,
            status: status.into(),
            status_text: status_text.into(),
            contact: order.contact.as_ref().map_or_else(String::new, |c| format!("{} <{}>", c.name, c.email)),
            lines,
            seats,
            total: views::money(order.total_cents),
            deadline: views::utc(order.payment_deadline_ms),
            pending: order.status == OrderStatus::Pending,
            tickets,
            csrf: state.keys.csrf_token(&session.id),
            idem: random_token(),
            message,
        },
    );
    Ok(set.apply(response))
}

/// `POST /{org}/{event}/order/{id}/{token}/pay`: the simulated payment.
pub async fn pay(
    State(state): State<Shared>,
    Path((org, event, order_id, token)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    let order_id: u64 = order_id.parse().map_err(|_| ShopError::NotFound("that order".into()))?;
    if !state.keys.order_token_ok(order_id, &token) {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    let info = resolve(&state, &org, &event).await?;
    let order = state.inventory.order(order_id).await?;
    if order.event.0 != info.id {
        return Err(ShopError::NotFound("that order".into()).into());
    }
    let url = format!("/{org}/{event}/order/{order_id}/{token}");
    let request_id = state.form_request_id(&session, &form, &format!("POST {url}/pay"));
    match state
        .inventory
        .must(request_id, Command::Pay { order: OrderId(order_id) }, &|i| i.to_string())
        .await
    {
        Ok(Accepted::PaymentRefundOwed { .. }) => Ok(see_other(&format!("{url}?m=refund"))),
        Ok(_) => Ok(see_other(&format!("{url}?m=paid"))),
        Err(ShopError::OrderStatus(_)) if order.status == OrderStatus::Paid => Ok(see_other(&url)),
        Err(error) => Err(error.into()),
    }
}

/// `GET /{org}/{event}/queue`: the waiting room.
pub async fn queue(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
) -> PageResult {
    let info = resolve(&state, &org, &event).await?;
    let cookie = crate::cookies::get(&headers, &crate::cookies::queue(info.id));
    let event_url = format!("/{org}/{event}/");
    match state.rooms.standing(info.id, cookie.as_deref(), wall_ms()).await? {
        Standing::NotQueued => Ok(see_other(&event_url)),
        Standing::Admitted { cookie } => {
            let mut set = SetCookies::default();
            let max_age = state.config.admission_ttl_ms / 1000;
            set.push(&state, &crate::cookies::admission(info.id), &cookie, max_age);
            set.push(&state, &crate::cookies::queue(info.id), "", 0);
            Ok(see_other_with(&event_url, set))
        }
        Standing::Waiting { ahead, wait_secs, queue_length, .. } => {
            let ahead_text = match ahead {
                0 => "You are next".to_owned(),
                1 => "1 person ahead of you".to_owned(),
                n => format!("{n} people ahead of you"),
            };
            Ok(page(
                StatusCode::OK,
                &QueuePage {
                    event_name: info.name,
                    ahead_text,
                    wait_text: views::wait_words(wait_secs),
                    queue_length,
                    refresh_secs: state.config.queue_refresh_secs.clamp(1, wait_secs.max(1)),
                },
            ))
        }
    }
}
