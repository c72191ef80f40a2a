//! Named limits of the domain, with their units.
//!
//! Every bound the domain enforces lives here, so that a reader can see at a
//! glance what a command may ask for and how much state a node keeps. A
//! command that exceeds a limit is rejected with
//! [`Invalid`](super::Rejection::Invalid) and changes nothing.

/// Longest organizer or event slug, in bytes.
pub const SLUG_BYTES_MAX: usize = 64;

/// Longest display name (organizer, event, item, quota, check-in list), in bytes.
pub const NAME_BYTES_MAX: usize = 200;

/// Largest quota size, in tickets. Bounding it keeps every capacity sum far
/// from `u64` overflow: `QUOTA_SIZE_MAX * HOLD_QUANTITY_MAX` fits many times.
pub const QUOTA_SIZE_MAX: u64 = 100_000_000;

/// Most items one quota may cover.
pub const QUOTA_ITEMS_MAX: usize = 256;

/// Most quotas one item may sit in (its availability is the minimum over them).
pub const ITEM_QUOTAS_MAX: usize = 16;

/// Highest item price, in cents.
pub const ITEM_PRICE_CENTS_MAX: u64 = 100_000_000;

/// pretix's default reservation time: 30 minutes. Clients use it when the
/// caller does not say; the domain only enforces the bounds below.
pub const HOLD_TTL_MS_DEFAULT: u64 = 30 * 60 * 1000;

/// Longest time-to-live one hold or extension may ask for, in milliseconds.
pub const HOLD_TTL_MS_MAX: u64 = 60 * 60 * 1000;

/// Cap on a hold's whole life, extensions included, counted from its
/// placement, in milliseconds. Without it a buyer could keep tickets forever.
pub const HOLD_LIFETIME_MS_MAX: u64 = 3 * 60 * 60 * 1000;

/// Most lines (distinct item entries) in one hold.
pub const HOLD_LINES_MAX: usize = 32;

/// Most tickets in one hold (and so in one order), summed over its lines.
pub const HOLD_QUANTITY_MAX: u64 = 100;

/// Longest payment deadline an order may be given, in milliseconds (30 days).
pub const PAYMENT_TTL_MS_MAX: u64 = 30 * 24 * 60 * 60 * 1000;

/// How long a request id's outcome is kept for retries, in milliseconds of
/// log time. A retry after this window is treated as a new command. At
/// 10 000 commands per second an hour is 36 M entries of about 100 bytes:
/// the window bounds memory, so keep it as short as clients allow.
pub const REQUEST_ID_RETENTION_MS: u64 = 60 * 60 * 1000;

/// Furthest one record may move log time forward, in milliseconds. The
/// leader stamps commands with its clock; a clock that is fast or jumps
/// (an NTP step, a misconfigured host) would otherwise expire every hold
/// and payment deadline at once and prune the whole request-id table with
/// one entry, so that a retried checkout is decided again. Well under
/// [`REQUEST_ID_RETENTION_MS`] and every TTL a buyer sees. After a quiet
/// spell longer than this, log time catches up over several records; the
/// leader proposes an `Expire` when it lags (see `engine::node`).
pub const LOG_TIME_STEP_MAX_MS: u64 = 60 * 1000;

/// How long a check-in scan's nonce is remembered, in milliseconds of log
/// time. Scanners retry for minutes when offline; a day is generous.
pub const CHECKIN_NONCE_RETENTION_MS: u64 = 24 * 60 * 60 * 1000;

/// Most events one `Expire` command emits. A larger backlog is worked off by
/// further `Expire` commands (the outcome says `more`), so one log entry stays small.
pub const EXPIRE_EVENTS_MAX: usize = 1024;

/// Longest ticket secret accepted at check-in, in bytes. Real secrets are
/// [`TICKET_SECRET_CHARS`] long; anything far longer is hostile.
pub const CHECKIN_SECRET_BYTES_MAX: usize = 128;

/// Length of a ticket secret, in characters (hex of 128 bits).
pub const TICKET_SECRET_CHARS: usize = 32;

/// Longest buyer name given at checkout ([`Contact::name`](super::Contact::name)), in bytes.
pub const CONTACT_NAME_BYTES_MAX: usize = 200;

/// Longest buyer e-mail address given at checkout, in bytes: 254, the most
/// an address can carry in SMTP's `MAIL FROM` / `RCPT TO` path (RFC 5321,
/// 4.5.3.1.3, 256 octets with the angle brackets).
pub const EMAIL_BYTES_MAX: usize = 254;

/// Highest admission rate of a waiting room, in buyers per minute (about
/// 16 700 a second, beyond what one Raft group sells). The lowest is 1.
/// With any rate up to this and any log time, the admission arithmetic
/// cannot overflow (it is done in `u128`).
pub const ROOM_ADMIT_PER_MINUTE_MAX: u32 = 1_000_000;

/// Highest value a waiting room's `arrivals_per_second_max` may be set to,
/// in arrivals per second (new buyers a shop lets join, per second, before
/// it turns them away). The lowest is 1.
pub const ROOM_ARRIVALS_PER_SECOND_MAX: u32 = 1_000_000;

/// Highest value a waiting room's `in_flight_max` may be set to, in buyers
/// (admitted buyers a shop lets shop at once). The lowest is 1.
pub const ROOM_IN_FLIGHT_MAX: u32 = 10_000_000;

/// The period of a waiting room's admission rate (`admit_per_minute`), in
/// milliseconds.
pub const ROOM_RATE_PERIOD_MS: u64 = 60 * 1000;

/// Most variations one item may have (T-shirt sizes, price tiers). Each is
/// an item of its own in the catalog, so this bounds how far one
/// `CreateQuota` over an item fans out.
pub const ITEM_VARIATIONS_MAX: usize = 64;

/// Most vouchers one event may have. pretix organizers mail batches of
/// single-use codes; ten thousand covers a large batch and bounds the
/// state one event can add.
pub const EVENT_VOUCHERS_MAX: u32 = 10_000;

/// Most tickets one voucher may be redeemed for. A blocking voucher also
/// needs this much room in every quota it blocks ([`QUOTA_SIZE_MAX`] bounds
/// sizes far above it).
pub const VOUCHER_REDEMPTIONS_MAX: u32 = 100_000;

/// Longest validity of one voucher, from `valid_from_ms` to
/// `valid_until_ms`, in milliseconds (two years): a blocking voucher holds
/// capacity for that long at most.
pub const VOUCHER_VALIDITY_MS_MAX: u64 = 2 * 366 * 24 * 60 * 60 * 1000;

/// Length of a voucher code, in characters: 16 of the 32 symbols of
/// Crockford's base 32 (digits and capitals without I, L, O, U, so nothing
/// reads as something else), 80 bits of a keyed hash.
pub const VOUCHER_CODE_CHARS: usize = 16;

/// Longest voucher code accepted in a command, in bytes. Real codes are
/// [`VOUCHER_CODE_CHARS`] long; anything far longer is hostile.
pub const VOUCHER_CODE_BYTES_MAX: usize = 64;

/// Highest per-buyer maximum of an item, in tickets.
pub const BUYER_QUANTITY_MAX: u32 = 10_000;

/// Most seats in one row of a seating plan, in seats. A row is added by
/// one command and carried by one event, and best-available scans a row
/// in one pass.
pub const SEAT_ROW_SEATS_MAX: usize = 1_000;

/// Most seats in one event's seating plan, in seats (a stadium). Bounds
/// the state one plan adds and how many seats best-available may scan.
pub const EVENT_SEATS_MAX: u32 = 100_000;

/// Longest zone name of a seating plan ("Stalls", "Balcony left"), in bytes.
pub const SEAT_ZONE_BYTES_MAX: usize = 64;

/// Longest row name of a seating plan ("A", "Row 12"), in bytes.
pub const SEAT_ROW_BYTES_MAX: usize = 32;

/// Longest seat label ("12", "12a"), in bytes.
pub const SEAT_LABEL_BYTES_MAX: usize = 32;

/// Most seats one `SetSeatsBlocked` may name, in seats (one row's worth).
pub const SEATS_PER_COMMAND_MAX: usize = 1_000;
/// Most entries one event's waiting list may have waiting or offered at
/// once, in entries (one ticket each). Bounds the state one list adds and
/// the walk of the serve step (see `ARCHITECTURE.md`, "Waiting list").
pub const EVENT_WAITING_LIST_ENTRIES_MAX: u32 = 10_000;

/// How long a waiting-list offer stays open if the event's list was never
/// configured, in milliseconds (30 minutes, pretix's reservation time).
pub const WAITING_LIST_OFFER_TTL_MS_DEFAULT: u64 = 30 * 60 * 1000;

/// Longest time a waiting-list offer may be set to stay open, in
/// milliseconds (two days: pretix's default offer validity is 48 hours).
/// An offer counts against its quotas for that long at most.
pub const WAITING_LIST_OFFER_TTL_MS_MAX: u64 = 48 * 60 * 60 * 1000;

/// Most offers one record makes, in offers. A larger backlog (a quota grown
/// by thousands with thousands waiting) is worked off by the next accepted
/// commands; until then newcomers count the offers still owed as used, so
/// the bound never lets a newcomer past the line.
pub const WAITING_LIST_OFFERS_PER_RECORD_MAX: usize = 1024;
