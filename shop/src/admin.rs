//! Pages behind the admin login: events, items, quotas (create, resize,
//! close, reopen), check-in lists, sales per event, the event log, the
//! waiting room's settings, and the door's check-in page.
//!
//! The login is one shared password (from the secrets); a successful login
//! sets a signed cookie with its expiry, so any shop instance accepts it and
//! none stores it. Every form is CSRF-checked like the buyer's forms.

use crate::app::{Form, SetCookies, Shared, local_path, see_other, see_other_with};
use crate::backend::EventInfo;
use crate::config::{
    ADMIN_LOGIN_FAILURES_PER_MINUTE_MAX, CHECKIN_SECRET_BYTES_MAX, EVENT_LOG_PAGE_RECORDS,
    EVENT_LOG_READ_TIMEOUT_MS, PASSWORD_BYTES_MAX,
};
use crate::cookies;
use crate::errors::{PageError, ShopError, checkin_reason};
use crate::inventory::domain::{
    Accepted, CheckinListId, CheckinRejection, Command, Direction, EventId, ItemId, Nonce, OrganizerId,
    Outcome, QuotaId, Rejection,
};
use crate::pages::{item_rows, resolve};
use crate::tokens::random_token;
use crate::views::{
    self, AdminEventPage, AdminIndexPage, AdminLogPage, AdminLoginPage, CheckinPage, CheckinResult, LogRow,
    QuotaRow, page,
};
use crate::waiting_room::wall_ms;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

type PageResult = Result<Response, PageError>;

fn login_redirect(next: &str) -> Response {
    let next: String = next
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    see_other(&format!("/admin/login?next={next}"))
}

/// `None` for an admin, else the redirect to the login page.
fn login_needed(state: &Shared, headers: &HeaderMap, uri: &Uri) -> Option<Response> {
    if state.is_admin(headers) { None } else { Some(login_redirect(uri.path())) }
}

/// `GET /admin/login`.
pub async fn login_form(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let next = query.get("next").filter(|n| local_path(n)).cloned().unwrap_or_else(|| "/admin/".into());
    set.apply(page(
        StatusCode::OK,
        &AdminLoginPage { csrf: state.keys.csrf_token(&session.id), next, message: None },
    ))
}

/// Failed admin logins in the current minute of wall-clock time, so that
/// the one shared password cannot be guessed at network speed
/// ([`ADMIN_LOGIN_FAILURES_PER_MINUTE_MAX`]).
#[derive(Debug, Default)]
pub struct LoginGuard(std::sync::Mutex<(u64, u32)>);

impl LoginGuard {
    /// Whether a login may be tried in the minute of `now_ms`.
    pub fn open(&self, now_ms: u64) -> bool {
        let (minute, failures) = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        minute != now_ms / 60_000 || failures < ADMIN_LOGIN_FAILURES_PER_MINUTE_MAX
    }

    /// Count a failed login at `now_ms`.
    pub fn failed(&self, now_ms: u64) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let minute = now_ms / 60_000;
        if guard.0 != minute {
            *guard = (minute, 0);
        }
        guard.1 = guard.1.saturating_add(1);
    }
}

/// `POST /admin/login`.
pub async fn login(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    let next = form.get("next").filter(|n| local_path(n)).unwrap_or("/admin/").to_owned();
    let password = form.get("password").unwrap_or("");
    let refuse = |status, message: &str| {
        let template = AdminLoginPage {
            csrf: state.keys.csrf_token(&session),
            next: next.clone(),
            message: Some(message.into()),
        };
        Ok(page(status, &template))
    };
    let now_ms = wall_ms();
    if !state.login_guard.open(now_ms) {
        tracing::warn!("an admin login refused: too many failed logins this minute");
        return refuse(StatusCode::TOO_MANY_REQUESTS, "Too many failed logins. Try again in a minute.");
    }
    if password.len() > PASSWORD_BYTES_MAX || !state.password_ok(password) {
        tracing::warn!("a failed admin login");
        state.login_guard.failed(now_ms);
        return refuse(StatusCode::UNAUTHORIZED, "Wrong password.");
    }
    let mut set = SetCookies::default();
    let expires_ms = wall_ms() + state.config.admin_session_ttl_ms;
    let value = state.keys.sign("admin", &expires_ms.to_string());
    set.push(&state, cookies::ADMIN, &value, state.config.admin_session_ttl_ms / 1000);
    Ok(see_other_with(&next, set))
}

/// `POST /admin/logout`.
pub async fn logout(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> PageResult {
    let form = Form::parse(&body)?;
    state.check_csrf(&headers, &form)?;
    let mut set = SetCookies::default();
    set.push(&state, cookies::ADMIN, "", 0);
    Ok(see_other_with("/admin/login", set))
}

/// `GET /admin/`: the organizer's events (`?org=` another organizer).
pub async fn index(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> PageResult {
    if let Some(login) = login_needed(&state, &headers, &uri) {
        return Ok(login);
    }
    let org = query.get("org").cloned().unwrap_or_else(|| state.config.default_organizer.clone());
    let (org_id, org_name) = state.inventory.organizer(&org).await?;
    let events = state.inventory.events(org_id).await?;
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let message = query.get("m").cloned();
    let template = AdminIndexPage {
        csrf: state.keys.csrf_token(&session.id),
        idem: random_token(),
        org_slug: org,
        org_name,
        events,
        message,
    };
    Ok(set.apply(page(StatusCode::OK, &template)))
}

/// An admin form post: CSRF and login checked; the session and form.
fn admin_form(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<(String, Form), ShopError> {
    let form = Form::parse(body)?;
    let session = state.check_csrf(headers, &form)?;
    if !state.is_admin(headers) {
        return Err(ShopError::Unauthorized);
    }
    Ok((session, form))
}

fn field<'a>(form: &'a Form, name: &str) -> Result<&'a str, ShopError> {
    form.get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ShopError::Invalid(format!("`{name}` is missing")))
}

fn number<T: std::str::FromStr>(form: &Form, name: &str) -> Result<T, ShopError> {
    field(form, name)?.parse().map_err(|_| ShopError::Invalid(format!("`{name}` must be a whole number")))
}

/// `POST /admin/events`: create an event.
pub async fn create_event(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let org = form.get("org").unwrap_or(&state.config.default_organizer).to_owned();
    let (org_id, _) = state.inventory.organizer(&org).await?;
    let command = Command::CreateEvent {
        organizer: OrganizerId(org_id),
        slug: field(&form, "slug")?.to_owned(),
        name: field(&form, "name")?.to_owned(),
    };
    let request_id = state.form_request_id(&session, &form, "POST /admin/events");
    match state.inventory.must(request_id, command, &|i| i.to_string()).await? {
        Accepted::EventCreated { event } => Ok(see_other(&format!("/admin/events/{}/", event.0))),
        other => Err(ShopError::TryAgain(format!("unexpected answer {other:?}")).into()),
    }
}

async fn admin_event_info(state: &Shared, event: u64) -> Result<EventInfo, ShopError> {
    Ok(state.inventory.catalog(event, true).await?.event)
}

/// `GET /admin/events/{id}/`: sales, quotas, lists, waiting room, and the forms to change them.
pub async fn event(
    State(state): State<Shared>,
    Path(event): Path<u64>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> PageResult {
    if let Some(login) = login_needed(&state, &headers, &uri) {
        return Ok(login);
    }
    let catalog = state.inventory.catalog(event, true).await?;
    let lists = state.inventory.checkin_lists(event).await?;
    let org_slug = state.config.default_organizer.clone();
    let quotas: Vec<QuotaRow> = catalog
        .quotas
        .iter()
        .map(|q| QuotaRow {
            id: q.quota.0,
            size: q.size.map_or_else(|| "unlimited".into(), |s| s.to_string()),
            paid: q.paid,
            pending: q.pending,
            held: q.held,
            left: q.remaining.map_or_else(|| "unlimited".into(), |r| r.to_string()),
            closed: q.closed,
            items: catalog
                .items
                .iter()
                .filter(|i| i.quotas.contains(&q.quota.0))
                .map(|i| i.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let room = state.rooms.view(event, wall_ms()).await.ok().flatten();
    let room_text = match room {
        None => "No waiting room: everyone is let in.".to_owned(),
        Some(r) => format!(
            "{}: {} joined, {} admitted, {} waiting.",
            if r.dry_run { "Dry run (records only)" } else { "Active" },
            r.joined,
            r.admitted,
            r.joined.saturating_sub(r.admitted)
        ),
    };
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let template = AdminEventPage {
        csrf: state.keys.csrf_token(&session.id),
        idem: random_token(),
        org_slug,
        event_id: event,
        event_slug: catalog.event.slug.clone(),
        event_name: catalog.event.name.clone(),
        items: item_rows(&catalog),
        paid_total: catalog.quotas.iter().map(|q| q.paid).sum(),
        pending_total: catalog.quotas.iter().map(|q| q.pending).sum(),
        held_total: catalog.quotas.iter().map(|q| q.held).sum(),
        quotas,
        lists,
        room_text,
        room_admit: room.map_or(60, |r| r.admit_per_minute),
        room_arrivals: room.map_or(50, |r| r.arrivals_per_second_max),
        room_in_flight: room.map_or(100, |r| r.in_flight_max),
        room_dry_run: room.is_none_or(|r| r.dry_run),
        message: query.get("m").cloned(),
    };
    Ok(set.apply(page(StatusCode::OK, &template)))
}

fn back_to_event(event: u64, message: &str) -> Response {
    let message: String = message.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '+' }).collect();
    see_other(&format!("/admin/events/{event}/?m={message}"))
}

/// `POST /admin/events/{id}/items`.
pub async fn create_item(
    State(state): State<Shared>,
    Path(event): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    admin_event_info(&state, event).await?;
    let command = Command::CreateItem {
        event: EventId(event),
        name: field(&form, "name")?.to_owned(),
        price_cents: number(&form, "price_cents")?,
    };
    let request_id = state.form_request_id(&session, &form, &format!("POST /admin/events/{event}/items"));
    state.inventory.must(request_id, command, &|i| i.to_string()).await?;
    Ok(back_to_event(event, "item created"))
}

/// `POST /admin/events/{id}/quotas`.
pub async fn create_quota(
    State(state): State<Shared>,
    Path(event): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    admin_event_info(&state, event).await?;
    let size = match form.get("size").map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse().map_err(|_| ShopError::Invalid("`size` must be a whole number".into()))?),
    };
    let items = form
        .all("item")
        .map(|i| i.parse().map(ItemId).map_err(|_| ShopError::Invalid("`item` must be an item id".into())))
        .collect::<Result<Vec<_>, _>>()?;
    let command = Command::CreateQuota {
        event: EventId(event),
        name: field(&form, "name")?.to_owned(),
        size,
        items,
        close_when_sold_out: form.checked("close_when_sold_out"),
    };
    let request_id = state.form_request_id(&session, &form, &format!("POST /admin/events/{event}/quotas"));
    state.inventory.must(request_id, command, &|i| i.to_string()).await?;
    Ok(back_to_event(event, "quota created"))
}

/// `POST /admin/events/{id}/checkinlists`.
pub async fn create_checkin_list(
    State(state): State<Shared>,
    Path(event): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    admin_event_info(&state, event).await?;
    let command = Command::CreateCheckinList {
        event: EventId(event),
        name: field(&form, "name")?.to_owned(),
        allow_multiple_entries: form.checked("allow_multiple_entries"),
        allow_entry_after_exit: form.checked("allow_entry_after_exit"),
    };
    let request_id =
        state.form_request_id(&session, &form, &format!("POST /admin/events/{event}/checkinlists"));
    state.inventory.must(request_id, command, &|i| i.to_string()).await?;
    Ok(back_to_event(event, "check-in list created"))
}

/// `POST /admin/quotas/{id}/{resize|close|reopen}`.
pub async fn quota_action(
    State(state): State<Shared>,
    Path((quota, action)): Path<(u64, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    let command = match action.as_str() {
        "resize" => {
            let size = match form.get("size").map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => {
                    Some(s.parse().map_err(|_| ShopError::Invalid("`size` must be a whole number".into()))?)
                }
            };
            Command::ResizeQuota { quota: QuotaId(quota), size }
        }
        "close" => Command::CloseQuota { quota: QuotaId(quota) },
        "reopen" => Command::ReopenQuota { quota: QuotaId(quota) },
        _ => return Err(ShopError::NotFound("that page".into()).into()),
    };
    let request_id = state.form_request_id(&session, &form, &format!("POST /admin/quotas/{quota}/{action}"));
    state.inventory.must(request_id, command, &|i| i.to_string()).await?;
    match form.get("event").and_then(|e| e.parse::<u64>().ok()) {
        Some(event) => Ok(back_to_event(event, &format!("quota {action} done"))),
        None => Ok(see_other("/admin/")),
    }
}

/// `POST /admin/events/{id}/waiting-room`: create or change the event's
/// waiting room (kept in the engine, shared by every shop).
pub async fn configure_room(
    State(state): State<Shared>,
    Path(event): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let (session, form) = admin_form(&state, &headers, &body)?;
    admin_event_info(&state, event).await?;
    let command = Command::ConfigureWaitingRoom {
        event: EventId(event),
        admit_per_minute: number(&form, "admit_per_minute")?,
        arrivals_per_second_max: number(&form, "arrivals_per_second_max")?,
        in_flight_max: number(&form, "in_flight_max")?,
        dry_run: form.checked("dry_run"),
    };
    let request_id =
        state.form_request_id(&session, &form, &format!("POST /admin/events/{event}/waiting-room"));
    state.inventory.must(request_id, command, &|i| i.to_string()).await?;
    state.rooms.invalidate(event);
    tracing::info!(event, "waiting room configured");
    Ok(back_to_event(event, "waiting room saved"))
}

/// `GET /admin/log?from=N`: the event log, a page at a time.
pub async fn log(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> PageResult {
    if let Some(login) = login_needed(&state, &headers, &uri) {
        return Ok(login);
    }
    let last = state.inventory.client().status(false).await.map_err(ShopError::from)?.last_seq;
    let page_len = EVENT_LOG_PAGE_RECORDS as u64;
    let from = query
        .get("from")
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or_else(|| last.saturating_sub(page_len - 1))
        .clamp(1, last.max(1));
    let to = (from + page_len - 1).min(last);
    let mut records = Vec::new();
    if last > 0 {
        let mut stream = state.inventory.client().subscribe(from).await.map_err(ShopError::from)?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(EVENT_LOG_READ_TIMEOUT_MS);
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, stream.next()).await {
            let record = next.map_err(ShopError::from)?;
            if record.seq > to {
                break;
            }
            records.push(LogRow {
                seq: record.seq,
                time: views::utc(record.time_ms),
                outcome: record.outcome.label().to_owned(),
                events: record.events.iter().map(|e| e.kind()).collect::<Vec<_>>().join(", "),
            });
            if record.seq >= to {
                break;
            }
        }
    }
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let template = AdminLogPage {
        csrf: state.keys.csrf_token(&session.id),
        from,
        to,
        last,
        records,
        prev: (from > 1).then(|| from.saturating_sub(page_len).max(1)),
        next: (to < last).then_some(to + 1),
    };
    Ok(set.apply(page(StatusCode::OK, &template)))
}

/// The door's answer to a scan outcome.
pub fn checkin_result(outcome: &Result<Outcome, ShopError>) -> CheckinResult {
    let (class, word, detail) = match outcome {
        Ok(Outcome::Accepted(Accepted::CheckedIn { order, position, .. })) => {
            ("valid", "VALID", format!("Order {}, ticket {}: welcome!", order.0, position + 1))
        }
        Ok(Outcome::Rejected(Rejection::CheckIn(reason))) => match reason {
            CheckinRejection::AlreadyRedeemed => {
                ("used", "ALREADY USED", "This ticket was already checked in.".into())
            }
            CheckinRejection::Unpaid => ("unpaid", "UNPAID", "This order is not paid.".into()),
            CheckinRejection::Canceled => ("canceled", "CANCELED", "This order was canceled.".into()),
            CheckinRejection::Invalid => {
                ("invalid", "INVALID", "No ticket of this event has this secret.".into())
            }
        },
        Ok(Outcome::Rejected(Rejection::Invalid(_))) | Err(ShopError::Invalid(_)) => {
            ("invalid", "INVALID", "That is not a ticket secret.".into())
        }
        Ok(other) => (
            "invalid",
            "ERROR",
            format!(
                "Unexpected answer: {}",
                match other {
                    Outcome::Accepted(_) => "accepted",
                    Outcome::Rejected(r) => Outcome::Rejected(r.clone()).label(),
                }
            ),
        ),
        Err(error) => ("invalid", "TRY AGAIN", error.message()),
    };
    CheckinResult { class: class.into(), word: word.into(), detail }
}

/// The door's reason code (API) of a scan outcome.
pub fn checkin_code(outcome: &Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Rejected(Rejection::CheckIn(reason)) => Some(checkin_reason(*reason)),
        Outcome::Rejected(Rejection::Invalid(_)) => Some("invalid"),
        _ => None,
    }
}

/// `GET /{org}/{event}/checkin`: the door.
pub async fn checkin_form(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
) -> PageResult {
    if let Some(login) = login_needed(&state, &headers, &uri) {
        return Ok(login);
    }
    let info = resolve(&state, &org, &event).await?;
    let lists = state.inventory.checkin_lists(info.id).await?;
    let selected =
        query.get("list").and_then(|l| l.parse().ok()).or(lists.first().map(|l| l.id)).unwrap_or(0);
    let mut set = SetCookies::default();
    let session = state.session(&headers, &mut set);
    let template = CheckinPage {
        org_slug: org,
        event_slug: info.slug,
        event_name: info.name,
        lists,
        selected,
        csrf: state.keys.csrf_token(&session.id),
        idem: random_token(),
        result: None,
    };
    Ok(set.apply(page(StatusCode::OK, &template)))
}

/// `POST /{org}/{event}/checkin`: scan a secret; a big answer.
pub async fn checkin(
    State(state): State<Shared>,
    Path((org, event)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = Form::parse(&body)?;
    let session = state.check_csrf(&headers, &form)?;
    if let Some(login) = login_needed(&state, &headers, &uri) {
        return Ok(login);
    }
    let info = resolve(&state, &org, &event).await?;
    let lists = state.inventory.checkin_lists(info.id).await?;
    let list: u64 = form.get("list").and_then(|l| l.parse().ok()).unwrap_or(0);
    if !lists.iter().any(|l| l.id == list) {
        return Err(ShopError::NotFound("that check-in list".into()).into());
    }
    let secret = form.get("secret").unwrap_or("").trim().to_ascii_lowercase();
    let outcome = if secret.is_empty() || secret.len() > CHECKIN_SECRET_BYTES_MAX {
        Err(ShopError::Invalid("not a secret".into()))
    } else {
        let request_id = state.form_request_id(&session, &form, &format!("POST /{org}/{event}/checkin"));
        let command = Command::CheckIn {
            list: CheckinListId(list),
            secret,
            nonce: Nonce(request_id.0),
            direction: Direction::Entry,
        };
        state.inventory.submit(request_id, command).await
    };
    let result = checkin_result(&outcome);
    let template = CheckinPage {
        org_slug: org,
        event_slug: info.slug,
        event_name: info.name,
        lists,
        selected: list,
        csrf: state.keys.csrf_token(&session),
        idem: random_token(),
        result: Some(result),
    };
    Ok(page(StatusCode::OK, &template))
}
