//! Pages: askama templates (checked at compile time), and the small
//! formatting helpers they share (money, times, QR codes).
//!
//! Templates live in `shop/templates/`, escape HTML by default, and need no
//! JavaScript: the cart's countdown is the only script, and the page reads
//! the same without it. A template that fails to render (it cannot, short of
//! a formatting bug) becomes a plain 500 page, never a trace.

use crate::backend::{EventInfo, ListInfo};
use crate::errors::{Rendered, ShopError};
use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `cents` as money: `€45.00`.
pub fn money(cents: u64) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}

/// A wall-clock time in milliseconds as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, (rem % 3600) / 60)
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration in seconds as `m:ss` (or `h:mm:ss`).
pub fn duration(secs: u64) -> String {
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// A wait in words.
pub fn wait_words(secs: u64) -> String {
    match secs {
        0..=59 => "less than a minute".into(),
        60..=119 => "about a minute".into(),
        s if s < 3600 => format!("about {} minutes", s.div_ceil(60)),
        s => format!("about {} hours", s.div_ceil(3600)),
    }
}

/// A ticket secret as an inline SVG QR code.
pub fn qr_svg(secret: &str) -> String {
    match qrcode::QrCode::new(secret.as_bytes()) {
        Ok(code) => {
            code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build()
        }
        Err(_) => String::new(),
    }
}

/// Render a template with `status`, marked as rendered by the shop.
pub fn page<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response =
                (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
            response.extensions_mut().insert(Rendered { code: None });
            response
        }
        Err(error) => {
            tracing::error!(%error, "a template failed to render");
            let mut response = (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "Something went wrong on our side. Please try again.",
            )
                .into_response();
            response.extensions_mut().insert(Rendered { code: Some("internal") });
            response
        }
    }
}

/// A page that says what went wrong.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Heading.
    pub title: String,
    /// The sentence.
    pub message: String,
    /// The stable code (in a data attribute, for tests and scripts).
    pub code: String,
    /// Where "Back" goes.
    pub back: String,
}

/// The page of an error.
pub fn error_page(error: &ShopError) -> Response {
    let title = match error {
        ShopError::NotFound(_) => "Not found",
        ShopError::SoldOut(_) => "Sold out",
        ShopError::SeatTaken(_) => "Seat taken",
        ShopError::WaitingListAvailable(_) => "Not sold out",
        ShopError::WaitingListFull => "Waiting list full",
        ShopError::WaitingListEntry(_) => "Waiting list",
        ShopError::CartExpired => "Your cart expired",
        ShopError::Forbidden(_) => "Please try again",
        ShopError::TryAgain(_) | ShopError::Unavailable(_) | ShopError::Busy | ShopError::Timeout => {
            "Please try again"
        }
        ShopError::Unauthorized => "Login needed",
        _ => "That did not work",
    };
    let template = ErrorPage {
        title: title.into(),
        message: error.message(),
        code: error.code().into(),
        back: "/".into(),
    };
    let mut response = page(error.status(), &template);
    response.extensions_mut().insert(Rendered { code: Some(error.code()) });
    if matches!(error, ShopError::TryAgain(_) | ShopError::Unavailable(_) | ShopError::Busy) {
        response.headers_mut().insert(header::RETRY_AFTER, "1".parse().expect("static"));
    }
    response
}

/// A plain message page with a status (an empty cart, say).
pub fn message_page(status: StatusCode, title: &str, message: &str, back: &str) -> Response {
    let template =
        ErrorPage { title: title.into(), message: message.into(), code: String::new(), back: back.into() };
    page(status, &template)
}

/// An organizer's events.
#[derive(Template)]
#[template(path = "events.html")]
pub struct EventsPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Organizer name.
    pub org_name: String,
    /// Its events.
    pub events: Vec<EventInfo>,
}

/// One item on the event page.
#[derive(Debug, Clone)]
pub struct ItemRow {
    /// Item id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Price, formatted.
    pub price: String,
    /// "3 left", "sold out", ...
    pub availability: String,
    /// Can be bought now.
    pub on_sale: bool,
    /// Sold out (in a quota that is open, none left): the page offers its
    /// waiting list instead.
    pub sold_out: bool,
    /// Most a buyer may choose.
    pub max: u64,
}

/// One seat on an event page.
#[derive(Debug, Clone)]
pub struct SeatCell {
    /// Seat id (the form's value).
    pub id: u64,
    /// Its label.
    pub label: String,
    /// Its ticket type and price, for the tooltip.
    pub title: String,
    /// Can be chosen now.
    pub free: bool,
    /// `free`, `taken` or `blocked`: the CSS class.
    pub class: &'static str,
}

/// One row of seats on an event page.
#[derive(Debug, Clone)]
pub struct SeatRowView {
    /// The row's name.
    pub name: String,
    /// Its seats, in order.
    pub seats: Vec<SeatCell>,
}

/// One zone of seats on an event page.
#[derive(Debug, Clone)]
pub struct SeatZoneView {
    /// The zone's name.
    pub name: String,
    /// Its rows, best first.
    pub rows: Vec<SeatRowView>,
}

/// An event's items.
#[derive(Template)]
#[template(path = "event.html")]
pub struct EventPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// Items.
    pub items: Vec<ItemRow>,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token (a resubmit is the same request).
    pub idem: String,
    /// An error to show.
    pub message: Option<String>,
    /// Tickets in the buyer's cart.
    pub cart_tickets: u64,
    /// The seating plan, if the event has one.
    pub seat_zones: Vec<SeatZoneView>,
    /// Most seats one form may choose.
    pub seats_max: usize,
}

/// A line of a cart or order.
#[derive(Debug, Clone)]
pub struct LineRow {
    /// Item id.
    pub item: u64,
    /// Item name.
    pub name: String,
    /// Quantity.
    pub quantity: u32,
    /// Unit price, formatted.
    pub price: String,
    /// Quantity times price, formatted.
    pub subtotal: String,
    /// Most a buyer may choose.
    pub max: u32,
}

/// The cart.
#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// Lines.
    pub lines: Vec<LineRow>,
    /// The cart's seats ("Balcony, row A, seat 5"); empty for a cart without.
    pub seats: Vec<String>,
    /// Total, formatted.
    pub total: String,
    /// Seconds until the hold lapses.
    pub expires_in_secs: u64,
    /// The same as `m:ss`.
    pub expires_in: String,
    /// Expiry as a UTC time.
    pub expires_at: String,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// An error to show.
    pub message: Option<String>,
}

/// A waiting-list entry: its place in line, its offer, or how it ended.
#[derive(Template)]
#[template(path = "waitlist.html")]
pub struct WaitlistPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// The item waited for.
    pub item_name: String,
    /// The entry's page, `/{org}/{event}/waitlist/{entry}/{token}` (the
    /// claim and leave forms post below it).
    pub entry_url: String,
    /// `waiting`, `offered`, `lapsed`, `claimed`, `left`.
    pub state: String,
    /// Place in line (from 1) while waiting.
    pub position: u64,
    /// When an offer lapses, as a UTC time.
    pub offer_until: String,
    /// Seconds until the offer lapses.
    pub offer_in_secs: u64,
    /// Reload the page every so many seconds (0: no reload), so a waiting
    /// buyer sees the offer when it comes.
    pub refresh_secs: u64,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// A notice or error to show.
    pub message: Option<String>,
}

/// The checkout form.
#[derive(Template)]
#[template(path = "checkout.html")]
pub struct CheckoutPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// Lines.
    pub lines: Vec<LineRow>,
    /// Total, formatted.
    pub total: String,
    /// Hold expiry as a UTC time.
    pub expires_at: String,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// Name typed so far.
    pub name: String,
    /// E-mail typed so far.
    pub email: String,
    /// An error to show.
    pub message: Option<String>,
}

/// A ticket on the order page.
#[derive(Debug, Clone)]
pub struct TicketRow {
    /// 1-based number within the order.
    pub number: u32,
    /// Item name.
    pub name: String,
    /// The secret.
    pub secret: String,
    /// Its QR code, SVG.
    pub qr_svg: String,
}

/// An order.
#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// Order id.
    pub order_id: u64,
    /// Its token.
    pub token: String,
    /// `pending`, `paid`, `expired`, `canceled`.
    pub status: String,
    /// Status for a person.
    pub status_text: String,
    /// Buyer name and e-mail, if known.
    pub contact: String,
    /// Lines.
    pub lines: Vec<LineRow>,
    /// The order's seats while they are its own (pending or paid); empty otherwise.
    pub seats: Vec<String>,
    /// Total, formatted.
    pub total: String,
    /// Payment deadline, formatted.
    pub deadline: String,
    /// Pending (show the pay button).
    pub pending: bool,
    /// Tickets (only once paid).
    pub tickets: Vec<TicketRow>,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// A notice to show.
    pub message: Option<String>,
}

/// The answer at the door.
#[derive(Debug, Clone)]
pub struct CheckinResult {
    /// CSS class: valid, used, unpaid, invalid, canceled.
    pub class: String,
    /// VALID, ALREADY USED, UNPAID, INVALID, CANCELED.
    pub word: String,
    /// A line of detail.
    pub detail: String,
}

/// The door.
#[derive(Template)]
#[template(path = "checkin.html")]
pub struct CheckinPage {
    /// Organizer slug.
    pub org_slug: String,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// The event's lists.
    pub lists: Vec<ListInfo>,
    /// The list chosen.
    pub selected: u64,
    /// CSRF token.
    pub csrf: String,
    /// One-time form token (also the scan's nonce).
    pub idem: String,
    /// The last scan's answer.
    pub result: Option<CheckinResult>,
}

/// The queue.
#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    /// Event name.
    pub event_name: String,
    /// "3 people ahead of you", "you are next".
    pub ahead_text: String,
    /// The estimated wait in words.
    pub wait_text: String,
    /// Everyone waiting.
    pub queue_length: u64,
    /// Reload interval, seconds.
    pub refresh_secs: u64,
}

/// The admin login.
#[derive(Template)]
#[template(path = "admin_login.html")]
pub struct AdminLoginPage {
    /// CSRF token.
    pub csrf: String,
    /// Where to go after.
    pub next: String,
    /// An error to show.
    pub message: Option<String>,
}

/// The admin's event list.
#[derive(Template)]
#[template(path = "admin_index.html")]
pub struct AdminIndexPage {
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// Organizer slug.
    pub org_slug: String,
    /// Organizer name.
    pub org_name: String,
    /// Events.
    pub events: Vec<EventInfo>,
    /// A notice.
    pub message: Option<String>,
}

/// A quota row in the admin.
#[derive(Debug, Clone)]
pub struct QuotaRow {
    /// Quota id.
    pub id: u64,
    /// Size, or "unlimited".
    pub size: String,
    /// Paid tickets.
    pub paid: u64,
    /// Pending tickets.
    pub pending: u64,
    /// Held tickets.
    pub held: u64,
    /// Left, or "unlimited".
    pub left: String,
    /// Closed.
    pub closed: bool,
    /// Names of its items.
    pub items: String,
}

/// An event in the admin.
#[derive(Template)]
#[template(path = "admin_event.html")]
pub struct AdminEventPage {
    /// CSRF token.
    pub csrf: String,
    /// One-time form token.
    pub idem: String,
    /// Organizer slug.
    pub org_slug: String,
    /// Event id.
    pub event_id: u64,
    /// Event slug.
    pub event_slug: String,
    /// Event name.
    pub event_name: String,
    /// Items.
    pub items: Vec<ItemRow>,
    /// Quotas.
    pub quotas: Vec<QuotaRow>,
    /// Check-in lists.
    pub lists: Vec<ListInfo>,
    /// Paid tickets over all quotas (a ticket in two quotas counts in each).
    pub paid_total: u64,
    /// Pending tickets, likewise.
    pub pending_total: u64,
    /// Held tickets, likewise.
    pub held_total: u64,
    /// The waiting room, in words.
    pub room_text: String,
    /// Form default: admissions per minute.
    pub room_admit: u32,
    /// Form default: arrivals per second.
    pub room_arrivals: u32,
    /// Form default: in flight.
    pub room_in_flight: u32,
    /// Form default: dry run.
    pub room_dry_run: bool,
    /// A notice.
    pub message: Option<String>,
}

/// A record of the event log.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Its seq.
    pub seq: u64,
    /// Its log time.
    pub time: String,
    /// Its outcome label.
    pub outcome: String,
    /// Its events, by kind.
    pub events: String,
}

/// The event log.
#[derive(Template)]
#[template(path = "admin_log.html")]
pub struct AdminLogPage {
    /// CSRF token.
    pub csrf: String,
    /// First seq shown.
    pub from: u64,
    /// Last seq shown.
    pub to: u64,
    /// Last seq in the log.
    pub last: u64,
    /// Records.
    pub records: Vec<LogRow>,
    /// Link to earlier records.
    pub prev: Option<u64>,
    /// Link to later records.
    pub next: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_times_read_like_a_shop() {
        assert_eq!(money(4500), "€45.00");
        assert_eq!(money(5), "€0.05");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_700_000_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(duration(75), "1:15");
        assert_eq!(duration(3661), "1:01:01");
        assert_eq!(wait_words(30), "less than a minute");
        assert_eq!(wait_words(150), "about 3 minutes");
    }

    #[test]
    fn a_secret_becomes_an_svg_qr_code() {
        let svg = qr_svg("0123456789abcdef0123456789abcdef");
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }
}
