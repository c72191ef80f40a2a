//! Every limit and default of the shop, named, with its unit.
//!
//! A shop in front of a flash sale is the first thing hostile or merely
//! eager clients reach, so everything that can grow with input has a bound
//! here: body bytes, cart lines, cookie sizes, how long a request may take.
//! [`ShopConfig`] carries the values a deployment may change (flags of the
//! `boxoffice-shop` binary); the constants are their defaults and the hard
//! bounds behind them.

use crate::inventory::domain::limits;

/// Largest request body accepted, in bytes. Every form and JSON body of the
/// shop is far smaller; a larger one is answered 413 before it is read.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// Most lines (distinct items) one cart may have: the domain's bound on a hold.
pub const CART_LINES_MAX: usize = limits::HOLD_LINES_MAX;

/// Most tickets of one item a buyer may choose in one form.
pub const CART_ITEM_QUANTITY_MAX: u32 = 10;

/// Most seats a buyer may choose in one form, in seats (a seated cart is
/// one hold of one ticket per seat).
pub const CART_SEATS_MAX: usize = 10;

/// Longest cookie value the shop reads, in bytes; a longer one is ignored
/// (treated as absent), never parsed.
pub const COOKIE_VALUE_BYTES_MAX: usize = 256;

/// Longest `Cookie` header the shop parses, in bytes; beyond it the rest is ignored.
pub const COOKIE_HEADER_BYTES_MAX: usize = 8 * 1024;

/// Longest accepted `X-Idempotency-Key`, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 200;

/// Longest check-in secret typed at the door, in bytes (the domain's bound).
pub const CHECKIN_SECRET_BYTES_MAX: usize = limits::CHECKIN_SECRET_BYTES_MAX;

/// Longest buyer name accepted at checkout, in bytes.
pub const CONTACT_NAME_BYTES_MAX: usize = 200;

/// Longest e-mail address accepted at checkout, in bytes (RFC 5321's path limit).
pub const EMAIL_BYTES_MAX: usize = 254;

/// Longest admin password accepted at login, in bytes.
pub const PASSWORD_BYTES_MAX: usize = 256;

/// Most failed admin logins one shop process answers per minute (wall
/// clock). Past it, every login is refused (429) until the minute ends, even
/// with the right password, so guessing costs a minute per ten tries. It is
/// per process: N shops behind a balancer allow N times as many.
pub const ADMIN_LOGIN_FAILURES_PER_MINUTE_MAX: u32 = 10;

/// How long one HTTP request may take, in milliseconds: longer than the
/// client's whole-call deadline (15 s), so an engine call that gives up
/// still gets its own, more precise answer to the buyer.
pub const REQUEST_TIMEOUT_MS: u64 = 20_000;

/// How long a cart reserves its tickets, in milliseconds (pretix's 30 minutes).
pub const HOLD_TTL_MS_DEFAULT: u64 = limits::HOLD_TTL_MS_DEFAULT;

/// How long a pending order waits for payment, in milliseconds (3 days).
pub const PAYMENT_TTL_MS_DEFAULT: u64 = 3 * 24 * 60 * 60 * 1000;

/// How long a waiting-room admission cookie lets its holder shop, in milliseconds.
pub const ADMISSION_TTL_MS_DEFAULT: u64 = 30 * 60 * 1000;

/// How long an admin login lasts, in milliseconds.
pub const ADMIN_SESSION_TTL_MS: u64 = 12 * 60 * 60 * 1000;

/// How often the queue page reloads itself, in seconds.
pub const QUEUE_REFRESH_SECS: u64 = 5;

/// How long a shop trusts its last read of an event's waiting room, in
/// milliseconds. The room's admissions move at most a few per second, so a
/// read per event per second saves the engine one read per page view.
pub const ROOM_VIEW_CACHE_MS: u64 = 1_000;

/// Most requests one event may have in flight in this shop at once: a
/// bulkhead, so that one event's spike cannot take every worker from the
/// others. Past it, the event's pages answer 503 "busy" at once.
pub const IN_FLIGHT_PER_EVENT_MAX: u64 = 512;

/// Most events whose load this shop measures at once (the per-event meters
/// live in memory; the bound keeps hostile slugs from growing it).
pub const TRACKED_EVENTS_MAX: usize = 10_000;

/// Records shown per page of the admin event log.
pub const EVENT_LOG_PAGE_RECORDS: usize = 50;

/// How long the admin event log waits for records it knows exist, in milliseconds.
pub const EVENT_LOG_READ_TIMEOUT_MS: u64 = 3_000;

/// Slug of the demo organizer (and the default organizer of `GET /`).
pub const DEMO_ORGANIZER_SLUG: &str = "demo";

/// Address the shop listens on when not told otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";

/// What a deployment may change. Defaults are the constants above.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    /// Organizer whose events `GET /` shows.
    pub default_organizer: String,
    /// Cart reservation time, in milliseconds.
    pub hold_ttl_ms: u64,
    /// Payment deadline of a new order, in milliseconds.
    pub payment_ttl_ms: u64,
    /// Validity of a waiting-room admission, in milliseconds.
    pub admission_ttl_ms: u64,
    /// Validity of an admin login, in milliseconds.
    pub admin_session_ttl_ms: u64,
    /// Mark cookies `Secure` (set when a TLS proxy is in front).
    pub cookie_secure: bool,
    /// Largest request body, in bytes.
    pub body_bytes_max: usize,
    /// Deadline of one HTTP request, in milliseconds.
    pub request_timeout_ms: u64,
    /// Bulkhead per event, in concurrent requests.
    pub in_flight_per_event_max: u64,
    /// Queue page reload interval, in seconds.
    pub queue_refresh_secs: u64,
    /// How long a read of a waiting room is reused, in milliseconds.
    pub room_view_cache_ms: u64,
}

impl Default for ShopConfig {
    fn default() -> Self {
        ShopConfig {
            default_organizer: DEMO_ORGANIZER_SLUG.into(),
            hold_ttl_ms: HOLD_TTL_MS_DEFAULT,
            payment_ttl_ms: PAYMENT_TTL_MS_DEFAULT,
            admission_ttl_ms: ADMISSION_TTL_MS_DEFAULT,
            admin_session_ttl_ms: ADMIN_SESSION_TTL_MS,
            cookie_secure: false,
            body_bytes_max: BODY_BYTES_MAX,
            request_timeout_ms: REQUEST_TIMEOUT_MS,
            in_flight_per_event_max: IN_FLIGHT_PER_EVENT_MAX,
            queue_refresh_secs: QUEUE_REFRESH_SECS,
            room_view_cache_ms: ROOM_VIEW_CACHE_MS,
        }
    }
}
