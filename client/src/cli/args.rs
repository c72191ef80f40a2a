//! The command line, as clap derive types. Doc comments are the `--help` text.

use super::parse;
use boxoffice_client::CALL_TIMEOUT_MS_DEFAULT;
use boxoffice_engine::domain::{
    BuyerId, CheckinListId, EntryId, EventId, HoldId, ItemId, Line, Nonce, OrderId, OrganizerId, QuotaId,
    RequestId, SeatId, VoucherId,
};
use boxoffice_proto::v1;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const LONG_ABOUT: &str = "\
Command-line client of boxoffice, the replicated ticket-inventory engine.

It talks to a cluster over gRPC (--endpoints, any of its nodes: the client
finds the leader) or runs a single-node engine inside this process on a local
data directory (--data-dir). Exactly one of the two is required; either can
also come from the environment. A data directory can be used by one process
at a time.

Every write (create, hold, checkout, pay, cancel, check-in...) is sent with a
request id and prints it. If its outcome is unknown (exit status 3, e.g. a
timeout during a leader change), run the same command again with
--request-id <ID>: the engine answers with the first outcome instead of doing
it twice.

Ids are plain integers or their display form: `3` and `item-3` are the same
item; likewise ev-, org-, quota-, hold-, order-, list-, voucher-, seat- and
entry-.

Examples:
  # A local engine with demo data, then buy a Saturday ticket
  boxoffice --data-dir ./bo-data demo
  boxoffice --data-dir ./bo-data catalog --event ev-2
  boxoffice --data-dir ./bo-data hold place --event 2 --line item-3:2
  boxoffice --data-dir ./bo-data checkout --hold hold-9
  boxoffice --data-dir ./bo-data pay --order order-10

  # A cluster (or: export BOXOFFICE_ENDPOINTS=127.0.0.11:50051,127.0.0.12:50051)
  boxoffice --endpoints 127.0.0.11:50051,127.0.0.12:50051 cluster status --each
  boxoffice --endpoints 127.0.0.11:50051 --json availability --item 3

  # Retry a write whose outcome was unknown, with the id it printed
  boxoffice --data-dir ./bo-data --request-id 6f1c0e5b2a9d4c7e8f00112233445566 pay --order 10";

const AFTER_LONG_HELP: &str = "\
Exit status:
  0  success; a write was accepted
  1  the write was rejected by the inventory rules (sold out, quota closed,
     hold expired, order already paid, ticket already used, unknown id...);
     the rejection is recorded, so a retry with its request id repeats it
  2  usage error or invalid input (bad option or value, a name, quantity or
     time to live over its limit, a malformed request); nothing was done
  3  outcome unknown: the write may or may not have taken effect; retry the
     same command with --request-id <the id it printed>
  4  not done: no leader reachable, engine unavailable, or the object asked
     for does not exist
  5  conflict: the request id was already used for a different command;
     nothing was done (run it with a fresh request id, or no --request-id)

Environment:
  BOXOFFICE_ENDPOINTS  default for --endpoints
  BOXOFFICE_DATA_DIR   default for --data-dir
  An option given on the command line wins over the other's variable.";

/// Command-line client of boxoffice, the replicated ticket-inventory engine.
#[derive(Debug, Parser)]
#[command(
    name = "boxoffice",
    version,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// Options of every subcommand.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every subcommand.
#[derive(Debug, Args)]
pub struct Global {
    /// Cluster nodes to talk to: gRPC HOST:PORT, comma-separated
    #[arg(
        long,
        global = true,
        env = "BOXOFFICE_ENDPOINTS",
        hide_env_values = true,
        value_delimiter = ',',
        value_name = "HOST:PORT,...",
        help_heading = "Connection"
    )]
    pub endpoints: Vec<String>,
    /// Run an engine in this process on DIR instead (created if missing)
    #[arg(
        long,
        global = true,
        env = "BOXOFFICE_DATA_DIR",
        hide_env_values = true,
        value_name = "DIR",
        help_heading = "Connection"
    )]
    pub data_dir: Option<PathBuf>,
    /// Deadline of a whole call, retries included, in milliseconds
    #[arg(
        long,
        global = true,
        value_name = "MS",
        default_value_t = CALL_TIMEOUT_MS_DEFAULT,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Connection"
    )]
    pub timeout_ms: u64,
    /// Allow reads from any node, maybe stale (default: linearizable)
    #[arg(long, global = true, help_heading = "Connection")]
    pub stale: bool,
    /// Print one JSON object per result instead of text
    #[arg(long, global = true, help_heading = "Output")]
    pub json: bool,
    /// Retry a write: reuse the request id an earlier attempt printed (with a
    /// different command it is refused, exit status 5)
    #[arg(long, global = true, value_name = "HEX32", value_parser = parse::request_id, help_heading = "Writes")]
    pub request_id: Option<RequestId>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and find organizers (tenants)
    ///
    /// An organizer owns events and the key that makes its ticket secrets
    /// unguessable. Slugs are unique.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data organizer create --slug acme --name "ACME Concerts"
    ///   boxoffice --data-dir ./bo-data organizer find --slug acme
    #[command(subcommand, verbatim_doc_comment)]
    Organizer(OrganizerCmd),
    /// Create, list and find events
    ///
    /// An event (a concert, a festival) belongs to an organizer and holds
    /// items, quotas, check-in lists and maybe a waiting room.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data event create --organizer org-1 --slug jazz-night --name "Jazz Night"
    ///   boxoffice --data-dir ./bo-data event list --organizer org-1
    ///   boxoffice --data-dir ./bo-data event find --organizer org-1 --slug jazz-night
    #[command(subcommand, verbatim_doc_comment)]
    Event(EventCmd),
    /// Create items (ticket types)
    ///
    /// An item has a price and is sold through the quotas that cover it.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data item create --event ev-2 --name VIP --price-cents 15000
    #[command(subcommand, verbatim_doc_comment)]
    Item(ItemCmd),
    /// Create, resize, close and reopen quotas
    ///
    /// A quota caps how many tickets of its items can be sold: paid orders,
    /// pending orders and live holds all count. Quotas may overlap (a weekend
    /// pass in both the Saturday and the Sunday quota).
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data quota create --event 2 --name Saturday --size 1000 --items 3,5
    ///   boxoffice --data-dir ./bo-data quota resize --quota quota-6 --unlimited
    ///   boxoffice --data-dir ./bo-data quota close --quota quota-6
    #[command(subcommand, verbatim_doc_comment)]
    Quota(QuotaCmd),
    /// Place, grow, shrink, extend, release and show holds (carts)
    ///
    /// A hold reserves tickets until it expires (30 minutes by default);
    /// checkout turns it into an order. Holds are all or nothing.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data hold place --event ev-2 --line item-3:2
    ///   boxoffice --data-dir ./bo-data hold remove --hold hold-9 --line item-3:1
    ///   boxoffice --data-dir ./bo-data hold extend --hold hold-9 --ttl-secs 1800
    ///   boxoffice --data-dir ./bo-data hold show --hold hold-9
    #[command(subcommand, verbatim_doc_comment)]
    Hold(HoldCmd),
    /// Turn a live hold into a pending order with tickets
    ///
    /// A live hold cannot fail for lack of capacity: it already reserved its
    /// tickets. A lapsed hold re-checks capacity. Prints the order, its total,
    /// its payment deadline and the secrets of its tickets. With --name and
    /// --email, the buyer's contact is stored on the order.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data checkout --hold hold-9
    ///   boxoffice --data-dir ./bo-data checkout --hold 9 --payment-ttl-secs 3600
    ///   boxoffice --data-dir ./bo-data checkout --hold 9 --name "Ada Lovelace" --email ada@example.org
    #[command(verbatim_doc_comment)]
    Checkout(CheckoutArgs),
    /// Record full payment of an order
    ///
    /// A pending order becomes paid. An order past its payment deadline is
    /// paid only if its tickets are still available; otherwise the payment is
    /// recorded, the order stays expired and the amount is owed back.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data pay --order order-10
    #[command(verbatim_doc_comment)]
    Pay(OrderArg),
    /// Cancel an order (pending, expired or paid; a paid one is owed back)
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data cancel --order order-10
    #[command(verbatim_doc_comment)]
    Cancel(OrderArg),
    /// Show orders
    ///
    /// Orders are made by checkout, and changed by pay and cancel.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data order show --order order-10
    #[command(subcommand, verbatim_doc_comment)]
    Order(OrderCmd),
    /// Create check-in lists
    ///
    /// A check-in list is a door: it says whether a ticket may enter more
    /// than once, and remembers every scan. Scan with `checkin`.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data checkin-list create --event ev-2 --name "Main gate"
    #[command(subcommand, name = "checkin-list", verbatim_doc_comment)]
    CheckinList(CheckinListCmd),
    /// Scan a ticket at the door
    ///
    /// Checks a ticket secret in (or, with --exit, out) against a check-in
    /// list. Every scan carries a nonce (random unless given): repeating a
    /// scan with the same nonce returns the first answer, so a scanner that
    /// lost the reply can safely scan again.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data checkin --list list-8 --secret 3f9a...
    ///   boxoffice --data-dir ./bo-data checkin --list 8 --secret 3f9a... --exit
    #[command(verbatim_doc_comment)]
    Checkin(CheckinArgs),
    /// Show what can still be sold of an item or a quota
    ///
    /// Prints pretix's availability: state (Ok, Reserved: sold out counting
    /// live holds, Ordered: counting pending orders, Gone: paid or closed),
    /// tickets left, and what counts (paid, pending, held). An item's
    /// availability is its most binding quota's.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data availability --item item-3
    ///   boxoffice --endpoints 127.0.0.11:50051 --stale availability --quota 6
    #[command(verbatim_doc_comment)]
    Availability(AvailabilityArgs),
    /// Create and show vouchers
    ///
    /// A voucher is a code that lets a buyer redeem tickets of an item, a
    /// variation or a quota's items (`hold place --voucher CODE`), a limited
    /// number of times, within a window of log time; a blocking voucher
    /// holds room for its uses.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data voucher create --event ev-2 --item item-3 --max-redemptions 2
    ///   boxoffice --data-dir ./bo-data voucher show --code 7K3M9Q2XD4TP8W1R
    #[command(subcommand, verbatim_doc_comment)]
    Voucher(VoucherCmd),
    /// Add seat rows, block seats, hold seats and show the seat map
    ///
    /// An event's seating plan is rows of seats in zones; every seat is a
    /// ticket of an item (with the item's quotas) and is held or sold at
    /// most once. Rows of a zone are ordered by creation, the first the
    /// best; a row's seats are in adjacency order. Seat ids (seat-N) are
    /// consecutive within a row: `seats map` shows them.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data seats add-row --event ev-2 --zone Stalls --row A --seat 1..20=item-3
    ///   boxoffice --data-dir ./bo-data seats map --event ev-2
    ///   boxoffice --data-dir ./bo-data seats hold --event ev-2 --zone Stalls --count 2
    ///   boxoffice --data-dir ./bo-data seats block --event ev-2 --seat seat-11,seat-12
    #[command(subcommand, verbatim_doc_comment)]
    Seats(SeatsCmd),
    /// Join, leave and claim offers of a sold-out item's waiting list
    ///
    /// A buyer joins the waiting list of a sold-out item (joining is refused
    /// while a ticket is available: buy it instead). Entries are served by
    /// priority, highest first, then in the order they joined. When a ticket
    /// frees up (a hold released or lapsed, an order canceled, a quota
    /// grown), the next entry is offered it at once: the ticket is kept for
    /// that entry until its offer lapses (30 minutes unless the event's
    /// waiting list is configured otherwise). `waitlist claim` turns the
    /// offer into a hold, checked out like any other; an offer that lapses
    /// unclaimed goes to the next in line, and its entry is done.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data waitlist join --event ev-2 --item item-3
    ///   boxoffice --data-dir ./bo-data waitlist show --entry entry-1
    ///   boxoffice --data-dir ./bo-data waitlist claim --entry entry-1
    ///   boxoffice --data-dir ./bo-data waitlist configure --event ev-2 --offer-ttl-secs 600
    #[command(subcommand, verbatim_doc_comment)]
    Waitlist(WaitlistCmd),
    /// Show an event's items, quotas (with their availability) and check-in lists
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data catalog --event ev-2
    #[command(verbatim_doc_comment)]
    Catalog(EventArg),
    /// Configure, join and show an event's waiting room
    ///
    /// A waiting room is one queue per event that every shop in front of the
    /// cluster shares: joins get positions 1, 2, 3, ... in log order, and
    /// admit-per-minute positions are admitted per minute of log time. A
    /// join repeated with the same --request-id gets the same position.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data room configure --event ev-2 --admit-per-minute 600 \
    ///     --arrivals-per-second-max 100 --in-flight-max 2000
    ///   boxoffice --data-dir ./bo-data room join --event ev-2
    ///   boxoffice --data-dir ./bo-data room show --event ev-2
    #[command(subcommand, verbatim_doc_comment)]
    Room(RoomCmd),
    /// Read the event log
    ///
    /// Every write leaves one record in the log: its seq, time, request id,
    /// events and outcome (rejections included).
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data events tail --from 1
    #[command(subcommand, verbatim_doc_comment)]
    Events(EventsCmd),
    /// Cluster status and membership
    ///
    /// Status works with --endpoints and --data-dir; init, add-learner,
    /// change-membership and remove need --endpoints (the leader is found).
    ///
    /// Examples:
    ///   boxoffice --endpoints 127.0.0.11:50051,127.0.0.12:50051 cluster status --each
    ///   boxoffice --endpoints 127.0.0.11:50051 cluster add-learner --id 4 --addr 127.0.0.14:50051 --zone dc1
    #[command(subcommand, verbatim_doc_comment)]
    Cluster(ClusterCmd),
    /// Load demo data: a festival with two days and a weekend pass
    ///
    /// Creates, through the ordinary API, organizer `demo` ("Demo Tickets"),
    /// event `summer-fest` ("Summer Festival"), items Saturday (49.00),
    /// Sunday (49.00) and Weekend pass (89.00), quotas Saturday (1000:
    /// Saturday and Weekend pass) and Sunday (1000: Sunday and Weekend pass),
    /// and check-in list "Main gate" (re-entry after exit allowed), then shows
    /// the catalog. If organizer `demo` already exists it only shows the
    /// catalog.
    ///
    /// The writes use request ids ID, ID+1, ID+2, ... from one base ID. If a
    /// demo is cut short (exit status 3), run it again with --request-id and
    /// the base ID it printed: the steps already done answer with their first
    /// outcome (within the engine's one-hour request-id window), the rest
    /// are done. With --request-id, the "already loaded" check is skipped.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data demo
    #[command(verbatim_doc_comment)]
    Demo,
}

/// `organizer ...`
#[derive(Debug, Subcommand)]
pub enum OrganizerCmd {
    /// Create an organizer with a fresh random ticket-secret key
    ///
    /// The organizer's 32-byte key, which makes its ticket secrets
    /// unguessable, is drawn at random here and never printed.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data organizer create --slug acme --name "ACME Concerts"
    #[command(verbatim_doc_comment)]
    Create {
        /// Unique slug: 1 to 64 of a-z, 0-9 and -
        #[arg(long)]
        slug: String,
        /// Display name
        #[arg(long)]
        name: String,
    },
    /// Find an organizer's id by slug
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data organizer find --slug demo
    #[command(verbatim_doc_comment)]
    Find {
        /// The organizer's slug
        #[arg(long)]
        slug: String,
    },
}

/// `event ...`
#[derive(Debug, Subcommand)]
pub enum EventCmd {
    /// Create an event of an organizer
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data event create --organizer org-1 --slug jazz-night --name "Jazz Night"
    #[command(verbatim_doc_comment)]
    Create {
        /// The organizer (3 or org-3)
        #[arg(long, value_parser = parse::organizer_id)]
        organizer: OrganizerId,
        /// Slug, unique within the organizer
        #[arg(long)]
        slug: String,
        /// Display name
        #[arg(long)]
        name: String,
    },
    /// List an organizer's events, in creation order
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data event list --organizer org-1
    #[command(verbatim_doc_comment)]
    List {
        /// The organizer (3 or org-3)
        #[arg(long, value_parser = parse::organizer_id)]
        organizer: OrganizerId,
    },
    /// Find an organizer's event by its slug
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data event find --organizer org-1 --slug summer-fest
    #[command(verbatim_doc_comment)]
    Find {
        /// The organizer (3 or org-3)
        #[arg(long, value_parser = parse::organizer_id)]
        organizer: OrganizerId,
        /// The event's slug
        #[arg(long)]
        slug: String,
    },
}

/// `item ...`
#[derive(Debug, Subcommand)]
pub enum ItemCmd {
    /// Create an item (a ticket type) of an event
    ///
    /// An item cannot be sold until a quota covers it.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data item create --event ev-2 --name "VIP" --price-cents 15000
    #[command(verbatim_doc_comment)]
    Create {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// Display name
        #[arg(long)]
        name: String,
        /// Price of one ticket, in cents
        #[arg(long, value_name = "CENTS")]
        price_cents: u64,
    },
    /// Create a variation of an item (a T-shirt size, a student price)
    ///
    /// A variation is an item of its own with a parent: it is in every quota
    /// of its item, a quota can also cover it alone, and once an item has
    /// variations it is sold only as one of them. At most 64 per item.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data item variation --item item-3 --name Student --price-cents 2500
    #[command(verbatim_doc_comment)]
    Variation {
        /// The item (3 or item-3)
        #[arg(long, value_parser = parse::item_id)]
        item: ItemId,
        /// Display name
        #[arg(long)]
        name: String,
        /// Price of one ticket, in cents
        #[arg(long, value_name = "CENTS")]
        price_cents: u64,
    },
    /// Set an item's order limits (each option left out means no limit)
    ///
    /// An order that has the item must have at least --min-per-order and at
    /// most --max-per-order of it, its variations counted together. With
    /// --max-per-buyer, every hold of it must name its buyer (`hold place
    /// --buyer`), and one buyer may have at most that many in live holds,
    /// pending and paid orders together. Setting limits again replaces them.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data item limits --item item-3 --min-per-order 2 --max-per-buyer 4
    #[command(verbatim_doc_comment)]
    Limits {
        /// The item or variation (3 or item-3)
        #[arg(long, value_parser = parse::item_id)]
        item: ItemId,
        /// Fewest tickets of it in an order that has any
        #[arg(long, value_name = "N")]
        min_per_order: Option<u32>,
        /// Most tickets of it in one order
        #[arg(long, value_name = "N")]
        max_per_order: Option<u32>,
        /// Most tickets of it one buyer may have
        #[arg(long, value_name = "N")]
        max_per_buyer: Option<u32>,
    },
}

/// What a voucher can be redeemed for: `--item` or `--quota`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct VoucherScopeArg {
    /// An item (any of its variations) or one variation (3 or item-3)
    #[arg(long, value_parser = parse::item_id)]
    pub item: Option<ItemId>,
    /// Any item or variation the quota covers (3 or quota-3)
    #[arg(long, value_parser = parse::quota_id)]
    pub quota: Option<QuotaId>,
}

/// Which voucher: `--voucher` or `--code`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct VoucherWhich {
    /// The voucher's id (3 or voucher-3)
    #[arg(long, value_parser = parse::voucher_id)]
    pub voucher: Option<VoucherId>,
    /// The code buyers type, in any case
    #[arg(long)]
    pub code: Option<String>,
}

/// `voucher ...`
#[derive(Debug, Subcommand)]
pub enum VoucherCmd {
    /// Create a voucher; prints its code
    ///
    /// The code is 16 characters derived from the organizer's key, so
    /// nobody can guess one. A voucher is valid for an item, a variation or
    /// a quota's items, for at most --max-redemptions tickets, from
    /// --valid-from-secs to --valid-for-secs after now (this machine's
    /// clock; the cluster's log time decides). With --blocks-quota its
    /// unredeemed uses count against its quotas until it ends, so whoever
    /// has the code can always buy; it is refused if the quotas have no
    /// room for all of its uses now.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data voucher create --event ev-2 --item item-3 --max-redemptions 2
    ///   boxoffice --data-dir ./bo-data voucher create --event 2 --quota 6 --blocks-quota --valid-for-secs 86400
    #[command(verbatim_doc_comment)]
    Create {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// What it can be redeemed for
        #[command(flatten)]
        scope: VoucherScopeArg,
        /// How many tickets it may be redeemed for, in all
        #[arg(long, default_value_t = 1, value_name = "N")]
        max_redemptions: u32,
        /// Redeemable from this many seconds after now
        #[arg(long, default_value_t = 0, value_name = "SECS")]
        valid_from_secs: u64,
        /// Redeemable until this many seconds after now (default 30 days)
        #[arg(long, default_value_t = 30 * 24 * 3600, value_name = "SECS")]
        valid_for_secs: u64,
        /// Hold back room in its quotas for its unredeemed uses
        #[arg(long)]
        blocks_quota: bool,
    },
    /// Show a voucher: its scope, window, and redemptions used and free
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data voucher show --code 7K3M9Q2XD4TP8W1R
    ///   boxoffice --endpoints 127.0.0.11:50051 voucher show --voucher voucher-12
    #[command(verbatim_doc_comment)]
    Show(VoucherWhich),
}

/// `--event ID --seat ID,...`
#[derive(Debug, Args)]
pub struct SeatsArg {
    /// The event the seats belong to (3 or ev-3)
    #[arg(long, value_parser = parse::event_id)]
    pub event: EventId,
    /// The seats, comma-separated or repeated (3 or seat-3)
    #[arg(long = "seat", required = true, value_delimiter = ',', value_parser = parse::seat_id, value_name = "SEAT,...")]
    pub seats: Vec<SeatId>,
}

/// `seats ...`
#[derive(Debug, Subcommand)]
pub enum SeatsCmd {
    /// Add a row of seats to an event's seating plan
    ///
    /// The row's seats are given in adjacency order (left to right), each
    /// as LABEL=ITEM, or FROM..TO=ITEM for seats labelled FROM to TO;
    /// repeat --seat or separate with commas. A seat's item is an item of
    /// the event without variations, or a variation. Rows of a zone are
    /// best first, in the order they are added; a row's name is unique in
    /// its zone. At most 1 000 seats a row and 100 000 an event. Prints
    /// the seats' ids, which are consecutive.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data seats add-row --event ev-2 --zone Stalls --row A --seat 1..20=item-3
    ///   boxoffice --data-dir ./bo-data seats add-row --event 2 --zone Balcony --row 1 --seat 1=5,2=5,3=6
    #[command(verbatim_doc_comment)]
    AddRow {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// The zone ("Stalls", "Balcony left")
        #[arg(long)]
        zone: String,
        /// The row's name, unique in its zone ("A", "12")
        #[arg(long)]
        row: String,
        /// Its seats in order: LABEL=ITEM or FROM..TO=ITEM, repeatable
        #[arg(long = "seat", required = true, value_delimiter = ',', value_parser = parse::seat_specs, value_name = "LABEL=ITEM")]
        seats: Vec<parse::SeatSpecs>,
    },
    /// Keep seats out of sale (all or nothing; a taken seat cannot be blocked)
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data seats block --event ev-2 --seat seat-11,seat-12
    #[command(verbatim_doc_comment)]
    Block(SeatsArg),
    /// Put blocked seats back on sale
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data seats unblock --event ev-2 --seat seat-11
    #[command(verbatim_doc_comment)]
    Unblock(SeatsArg),
    /// Hold seats: named ones, or the best N adjacent free seats of a zone
    ///
    /// The hold has one ticket of each seat's item and passes every check
    /// of `hold place` (quotas, voucher, order limits), all or nothing. With
    /// --zone and --count, the best run of adjacent free seats is chosen:
    /// the first row of the zone that has one, and in it the run closest to
    /// the row's centre (--item: only seats of that item or its
    /// variations). Check out the hold as any other (`checkout --hold`).
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data seats hold --event ev-2 --seat seat-11,seat-12
    ///   boxoffice --data-dir ./bo-data seats hold --event ev-2 --zone Stalls --count 4 --ttl-secs 600
    ///   boxoffice --data-dir ./bo-data seats hold --event 2 --zone Balcony --count 2 --item 5 --voucher 7K3M9Q2XD4TP8W1R
    #[command(verbatim_doc_comment)]
    Hold {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// These seats, comma-separated or repeated (3 or seat-3)
        #[arg(
            long = "seat",
            value_delimiter = ',',
            value_parser = parse::seat_id,
            value_name = "SEAT,...",
            required_unless_present = "zone",
            conflicts_with = "zone"
        )]
        seats: Vec<SeatId>,
        /// Or the best adjacent seats of this zone (with --count)
        #[arg(long, requires = "count")]
        zone: Option<String>,
        /// How many adjacent seats
        #[arg(long, requires = "zone", value_name = "N")]
        count: Option<u32>,
        /// Only seats of this item or its variations (3 or item-3)
        #[arg(long, requires = "zone", value_parser = parse::item_id)]
        item: Option<ItemId>,
        /// Time to live, in seconds
        #[arg(long, default_value_t = 1800, value_name = "SECS")]
        ttl_secs: u64,
        /// Redeem this voucher code for every ticket of the hold
        #[arg(long, value_name = "CODE")]
        voucher: Option<String>,
        /// The buyer, for per-buyer limits: 32 hex digits
        #[arg(long, value_parser = parse::buyer_id, value_name = "HEX")]
        buyer: Option<BuyerId>,
    },
    /// Show an event's seat map: every row, its seat ids, and each seat's state
    ///
    /// One line per row: zone, row, its seat ids, then LABEL:STATE per seat
    /// in order, STATE being F free, B blocked, H held, O ordered (pending
    /// payment) or P paid. With --json, the map with each seat's hold or
    /// order.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data seats map --event ev-2
    #[command(verbatim_doc_comment)]
    Map(EventArg),
}

/// `--entry ID`
#[derive(Debug, Args)]
pub struct EntryArg {
    /// The waiting-list entry (3 or entry-3)
    #[arg(long, value_parser = parse::entry_id)]
    pub entry: EntryId,
}

/// `waitlist ...`
#[derive(Debug, Subcommand)]
pub enum WaitlistCmd {
    /// Join the waiting list of a sold-out item (one ticket)
    ///
    /// Refused (exit 1) while the item has a ticket for sale: buy it
    /// instead. Prints the entry's id and its place in line; place 0 means
    /// a ticket was offered at once (a high --priority can jump the line).
    /// An item with variations is joined as one of them. The buyer, if
    /// given, is named on the hold a claimed offer becomes.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data waitlist join --event ev-2 --item item-3
    ///   boxoffice --data-dir ./bo-data waitlist join --event 2 --item 3 --priority 10 --buyer 0123456789abcdef0123456789abcdef
    #[command(verbatim_doc_comment)]
    Join {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// The sold-out item (3 or item-3)
        #[arg(long, value_parser = parse::item_id)]
        item: ItemId,
        /// Higher is served first
        #[arg(long, default_value_t = 0, value_name = "N")]
        priority: u32,
        /// The buyer: 32 hex digits
        #[arg(long, value_parser = parse::buyer_id, value_name = "HEX")]
        buyer: Option<BuyerId>,
    },
    /// Leave a waiting list (a live offer goes to the next in line)
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data waitlist leave --entry entry-4
    #[command(verbatim_doc_comment)]
    Leave(EntryArg),
    /// Claim an entry's offer: it becomes a hold of one ticket
    ///
    /// Only an entry with a live offer can claim it (`waitlist show` says
    /// "offered until ..."). The hold is for the entry's buyer and is
    /// checked out like any other (`checkout --hold`). Cannot fail for lack
    /// of tickets: the offered ticket becomes the hold's.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data waitlist claim --entry entry-1
    ///   boxoffice --data-dir ./bo-data waitlist claim --entry 1 --ttl-secs 600
    #[command(verbatim_doc_comment)]
    Claim {
        /// The entry (3 or entry-3)
        #[arg(long, value_parser = parse::entry_id)]
        entry: EntryId,
        /// The hold's time to live, in seconds
        #[arg(long, default_value_t = 1800, value_name = "SECS")]
        ttl_secs: u64,
    },
    /// Set how long an event's waiting-list offers stay open
    ///
    /// Offers already made keep their expiry. The default is 30 minutes.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data waitlist configure --event ev-2 --offer-ttl-secs 600
    #[command(verbatim_doc_comment)]
    Configure {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// How long an offer stays open, in seconds
        #[arg(long, value_name = "SECS")]
        offer_ttl_secs: u64,
    },
    /// Show a waiting-list entry: its place in line, its offer, or how it ended
    ///
    /// One line: the entry, its item and where it stands now — waiting at
    /// place N, offered until a time, offer lapsed, claimed (with the hold)
    /// or left. With --json, the entry with its state and times.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data waitlist show --entry entry-1
    #[command(verbatim_doc_comment)]
    Show(EntryArg),
}

/// A quota's capacity: `--size N` or `--unlimited`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Capacity {
    /// Capacity in tickets
    #[arg(long, value_name = "N")]
    pub size: Option<u64>,
    /// No capacity limit
    #[arg(long)]
    pub unlimited: bool,
}

impl Capacity {
    /// The domain's size: `None` is unlimited.
    pub fn size(&self) -> Option<u64> {
        if self.unlimited { None } else { self.size }
    }
}

/// `quota ...`
#[derive(Debug, Subcommand)]
pub enum QuotaCmd {
    /// Create a quota over items of one event
    ///
    /// Its items are fixed at creation; holds and orders of them that exist
    /// already count against it at once. An item in several quotas is
    /// limited by the tightest.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data quota create --event 2 --name Saturday --size 1000 --items 3,5
    ///   boxoffice --data-dir ./bo-data quota create --event 2 --name Merch --unlimited --items 9
    #[command(verbatim_doc_comment)]
    Create {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// Display name
        #[arg(long)]
        name: String,
        #[command(flatten)]
        capacity: Capacity,
        /// The items it covers, comma-separated
        #[arg(long, required = true, value_delimiter = ',', value_parser = parse::item_id, value_name = "ITEM,...")]
        items: Vec<ItemId>,
        /// Close the quota for good once paid and pending orders fill it
        #[arg(long)]
        close_when_sold_out: bool,
    },
    /// Change a quota's size
    ///
    /// Shrinking below what is sold is allowed: nothing new is sold until it
    /// is back under; existing holds and orders are kept.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data quota resize --quota quota-6 --size 1200
    #[command(verbatim_doc_comment)]
    Resize {
        /// The quota (3 or quota-3)
        #[arg(long, value_parser = parse::quota_id)]
        quota: QuotaId,
        #[command(flatten)]
        capacity: Capacity,
    },
    /// Stop all new sales through a quota
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data quota close --quota quota-6
    #[command(verbatim_doc_comment)]
    Close(QuotaArg),
    /// Undo a close
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data quota reopen --quota quota-6
    #[command(verbatim_doc_comment)]
    Reopen(QuotaArg),
}

/// `--quota ID`
#[derive(Debug, Args)]
pub struct QuotaArg {
    /// The quota (3 or quota-3)
    #[arg(long, value_parser = parse::quota_id)]
    pub quota: QuotaId,
}

/// `--hold ID`
#[derive(Debug, Args)]
pub struct HoldArg {
    /// The hold (3 or hold-3)
    #[arg(long, value_parser = parse::hold_id)]
    pub hold: HoldId,
}

/// `--order ID`
#[derive(Debug, Args)]
pub struct OrderArg {
    /// The order (3 or order-3)
    #[arg(long, value_parser = parse::order_id)]
    pub order: OrderId,
}

/// `--event ID`
#[derive(Debug, Args)]
pub struct EventArg {
    /// The event (3 or ev-3)
    #[arg(long, value_parser = parse::event_id)]
    pub event: EventId,
}

/// `hold ...`
#[derive(Debug, Subcommand)]
pub enum HoldCmd {
    /// Reserve tickets, all or nothing, until the hold expires
    ///
    /// Every quota of every item involved must have room, or nothing is
    /// reserved (exit status 1, with the binding quota and what is left).
    /// Lines are ITEM:QTY (ITEM alone is one ticket); repeat --line or
    /// separate lines with commas.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data hold place --event ev-2 --line item-3:2
    ///   boxoffice --data-dir ./bo-data hold place --event 2 --line 3:1,5:1 --ttl-secs 600
    #[command(verbatim_doc_comment)]
    Place {
        /// The event all lines belong to (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// What to reserve: ITEM:QTY, repeatable
        #[arg(long = "line", required = true, value_delimiter = ',', value_parser = parse::line, value_name = "ITEM:QTY")]
        lines: Vec<Line>,
        /// Time to live, in seconds
        #[arg(long, default_value_t = 1800, value_name = "SECS")]
        ttl_secs: u64,
        /// Redeem this voucher code for every ticket of the hold
        #[arg(long, value_name = "CODE")]
        voucher: Option<String>,
        /// The buyer, for per-buyer limits: 32 hex digits the shop derives
        /// (for example from a hash of the email)
        #[arg(long, value_parser = parse::buyer_id, value_name = "HEX")]
        buyer: Option<BuyerId>,
    },
    /// Add tickets to a live hold, all or nothing; its expiry is unchanged
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data hold add --hold hold-9 --line item-5:1
    #[command(verbatim_doc_comment)]
    Add {
        /// The hold (3 or hold-3)
        #[arg(long, value_parser = parse::hold_id)]
        hold: HoldId,
        /// What to add: ITEM:QTY, repeatable
        #[arg(long = "line", required = true, value_delimiter = ',', value_parser = parse::line, value_name = "ITEM:QTY")]
        lines: Vec<Line>,
    },
    /// Take tickets out of a live hold; its expiry is unchanged
    ///
    /// Each line must be covered by what the hold has of that item (or
    /// nothing is removed, exit status 1). The tickets are free for others
    /// at once. Removing everything leaves an empty live hold: it can be
    /// added to again, but not checked out.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data hold remove --hold hold-9 --line item-3:1
    #[command(verbatim_doc_comment)]
    Remove {
        /// The hold (3 or hold-3)
        #[arg(long, value_parser = parse::hold_id)]
        hold: HoldId,
        /// What to take out: ITEM:QTY, repeatable
        #[arg(long = "line", required = true, value_delimiter = ',', value_parser = parse::line, value_name = "ITEM:QTY")]
        lines: Vec<Line>,
    },
    /// Push a live hold's expiry to now + TTL (capped at 3 hours after placement)
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data hold extend --hold hold-9 --ttl-secs 1800
    #[command(verbatim_doc_comment)]
    Extend {
        /// The hold (3 or hold-3)
        #[arg(long, value_parser = parse::hold_id)]
        hold: HoldId,
        /// New time to live from now, in seconds
        #[arg(long, value_name = "SECS")]
        ttl_secs: u64,
    },
    /// Give a hold's tickets back early
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data hold release --hold hold-9
    #[command(verbatim_doc_comment)]
    Release(HoldArg),
    /// Show a hold: status, expiry and lines
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data hold show --hold hold-9
    #[command(verbatim_doc_comment)]
    Show(HoldArg),
}

/// `checkout`
#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// The hold (3 or hold-3)
    #[arg(long, value_parser = parse::hold_id)]
    pub hold: HoldId,
    /// Payment deadline from now, in seconds
    #[arg(long, default_value_t = 86_400, value_name = "SECS")]
    pub payment_ttl_secs: u64,
    /// The buyer's name, stored on the order (needs --email)
    #[arg(long, requires = "email")]
    pub name: Option<String>,
    /// The buyer's e-mail address, stored on the order (needs --name)
    #[arg(long, requires = "name")]
    pub email: Option<String>,
}

/// `room ...`
#[derive(Debug, Subcommand)]
pub enum RoomCmd {
    /// Create or change an event's waiting room
    ///
    /// A change keeps every position and everyone admitted so far, and
    /// admits at the new rate from now on. The arrival and in-flight limits
    /// are kept for the shops, which enforce them; --dry-run tells shops to
    /// let everyone in and only record whom they would have queued.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data room configure --event ev-2 --admit-per-minute 600 \
    ///     --arrivals-per-second-max 100 --in-flight-max 2000
    #[command(verbatim_doc_comment)]
    Configure {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// Buyers admitted per minute of log time (1 to 1000000)
        #[arg(long, value_name = "N")]
        admit_per_minute: u32,
        /// New arrivals a shop lets join per second (1 to 1000000)
        #[arg(long, value_name = "N")]
        arrivals_per_second_max: u32,
        /// Admitted buyers a shop lets shop at once (1 to 10000000)
        #[arg(long, value_name = "N")]
        in_flight_max: u32,
        /// Only record: shops let everyone in
        #[arg(long)]
        dry_run: bool,
    },
    /// Take the next place in an event's waiting room
    ///
    /// Prints the position. Run it again with the --request-id it printed
    /// to get the same position back instead of a new one.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data room join --event ev-2
    #[command(verbatim_doc_comment)]
    Join(EventArg),
    /// Show an event's waiting room: its settings, how many joined and how many are admitted now
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data room show --event ev-2
    #[command(verbatim_doc_comment)]
    Show(EventArg),
}

/// `order ...`
#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Show an order: status, total, deadline and tickets
    ///
    /// A pending order past its payment deadline shows as expired.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data --json order show --order order-10
    #[command(verbatim_doc_comment)]
    Show(OrderArg),
}

/// `checkin-list ...`
#[derive(Debug, Subcommand)]
pub enum CheckinListCmd {
    /// Create a check-in list for an event
    ///
    /// By default a ticket enters once. --multiple-entries admits it any
    /// number of times; --reentry-after-exit admits it again after an exit scan.
    ///
    /// Example:
    ///   boxoffice --data-dir ./bo-data checkin-list create --event ev-2 --name "Main gate" --reentry-after-exit
    #[command(verbatim_doc_comment)]
    Create {
        /// The event (3 or ev-3)
        #[arg(long, value_parser = parse::event_id)]
        event: EventId,
        /// Display name
        #[arg(long)]
        name: String,
        /// Admit the same ticket any number of times
        #[arg(long)]
        multiple_entries: bool,
        /// Admit a ticket again after its last scan was an exit
        #[arg(long)]
        reentry_after_exit: bool,
    },
}

/// `checkin`
#[derive(Debug, Args)]
pub struct CheckinArgs {
    /// The check-in list (3 or list-3)
    #[arg(long, value_parser = parse::checkin_list_id)]
    pub list: CheckinListId,
    /// The ticket's secret, as printed on it
    #[arg(long)]
    pub secret: String,
    /// Scan out instead of in
    #[arg(long)]
    pub exit: bool,
    /// The scan's nonce, 32 hex digits (default: random); a repeat returns the first answer
    #[arg(long, value_name = "HEX32", value_parser = parse::nonce)]
    pub nonce: Option<Nonce>,
}

/// `availability`
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct AvailabilityArgs {
    /// An item (3 or item-3)
    #[arg(long, value_parser = parse::item_id)]
    pub item: Option<ItemId>,
    /// A quota (3 or quota-3)
    #[arg(long, value_parser = parse::quota_id)]
    pub quota: Option<QuotaId>,
}

/// `events ...`
#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Print the event log: one line per record
    ///
    /// Each line shows the record's seq, time, request id, event kinds and
    /// outcome; with --json, each record as a JSON object. Without --follow
    /// it stops once no record arrives for a second (or after --limit
    /// records); with --follow it waits for new records until interrupted.
    ///
    /// Examples:
    ///   boxoffice --data-dir ./bo-data events tail
    ///   boxoffice --endpoints 127.0.0.11:50051 events tail --from 1200 --follow
    ///   boxoffice --data-dir ./bo-data --json events tail --limit 10
    #[command(verbatim_doc_comment)]
    Tail {
        /// First seq to print
        #[arg(long, value_name = "SEQ", default_value_t = 1)]
        from: u64,
        /// Keep waiting for new records (until Ctrl-C or --limit)
        #[arg(long)]
        follow: bool,
        /// Stop after this many records
        #[arg(long, value_name = "N")]
        limit: Option<u64>,
    },
}

/// `cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Show the cluster as one node (or, with --each, every endpoint) sees it
    ///
    /// Without --each, the first node that answers reports its role, term,
    /// leader, log, commit and applied indexes, last seq, members and (on the
    /// leader) replication lag. With --each, every endpoint is asked directly
    /// and prints one line; the exit status is 4 if any did not answer. With
    /// --digests, nodes also hash their event log and state: equal digests at
    /// equal last seq mean the replicas agree (slow on a large state).
    ///
    /// Examples:
    ///   boxoffice --endpoints 127.0.0.11:50051,127.0.0.12:50051,127.0.0.13:50051 cluster status --each --digests
    ///   boxoffice --data-dir ./bo-data cluster status
    #[command(verbatim_doc_comment)]
    Status {
        /// Also compute the event-log and state digests
        #[arg(long)]
        digests: bool,
        /// Ask every endpoint directly, one line per node
        #[arg(long)]
        each: bool,
    },
    /// Bootstrap a new cluster with its first voters (once, on one node)
    ///
    /// Example:
    ///   boxoffice --endpoints 127.0.0.11:50051 cluster init \
    ///     --member 1=127.0.0.11:50051/dc1 --member 2=127.0.0.12:50051/dc2 --member 3=127.0.0.13:50051/dc3
    #[command(verbatim_doc_comment)]
    Init {
        /// A first voter: ID=HOST:PORT/ZONE, repeatable
        #[arg(long = "member", required = true, value_parser = parse::member, value_name = "ID=HOST:PORT/ZONE")]
        members: Vec<v1::Member>,
    },
    /// Add a node as a non-voting learner; it starts receiving the log
    ///
    /// Example:
    ///   boxoffice --endpoints 127.0.0.11:50051 cluster add-learner --id 4 --addr 127.0.0.14:50051 --zone dc1
    #[command(verbatim_doc_comment)]
    AddLearner {
        /// The new node's Raft id
        #[arg(long, value_parser = parse::node_id)]
        id: u64,
        /// Its gRPC address
        #[arg(long, value_parser = parse::address, value_name = "HOST:PORT")]
        addr: String,
        /// Its zone (data center)
        #[arg(long)]
        zone: String,
    },
    /// Set the voters (joint consensus); each must already be a member
    ///
    /// Example:
    ///   boxoffice --endpoints 127.0.0.11:50051 cluster change-membership --voters 1,2,4
    #[command(verbatim_doc_comment)]
    ChangeMembership {
        /// The Raft ids of the new voters, comma-separated
        #[arg(long, required = true, value_delimiter = ',', value_parser = parse::node_id, value_name = "ID,...")]
        voters: Vec<u64>,
        /// Keep removed voters as learners instead of dropping them
        #[arg(long)]
        retain: bool,
    },
    /// Remove a node (voter or learner) from the cluster
    ///
    /// Example:
    ///   boxoffice --endpoints 127.0.0.11:50051 cluster remove --id 3
    #[command(verbatim_doc_comment)]
    Remove {
        /// The Raft id of the node to remove
        #[arg(long, value_parser = parse::node_id)]
        id: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn hold_place_takes_repeated_and_comma_separated_lines() {
        let cli = Cli::try_parse_from([
            "boxoffice",
            "--data-dir",
            "d",
            "hold",
            "place",
            "--event",
            "ev-2",
            "--line",
            "3:2,item-5:1",
            "--line",
            "4",
        ])
        .unwrap();
        let Command::Hold(HoldCmd::Place { event, lines, ttl_secs, voucher, buyer }) = cli.command else {
            panic!()
        };
        assert_eq!(event, EventId(2));
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1], Line { item: ItemId(5), quantity: 1 });
        assert_eq!((ttl_secs, voucher, buyer), (1800, None, None));
    }

    #[test]
    fn malformed_values_are_usage_errors() {
        let error =
            Cli::try_parse_from(["boxoffice", "hold", "place", "--event", "2", "--line", "x:y"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        let error = Cli::try_parse_from([
            "boxoffice",
            "quota",
            "create",
            "--event",
            "2",
            "--name",
            "q",
            "--size",
            "3",
            "--unlimited",
            "--items",
            "1",
        ])
        .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(Cli::try_parse_from(["boxoffice", "availability"]).is_err());
    }

    #[test]
    fn checkout_takes_a_name_only_with_an_email() {
        let cli = Cli::try_parse_from([
            "boxoffice",
            "checkout",
            "--hold",
            "9",
            "--name",
            "Ada",
            "--email",
            "ada@example.org",
        ])
        .unwrap();
        let Command::Checkout(args) = cli.command else { panic!() };
        assert_eq!((args.name.as_deref(), args.email.as_deref()), (Some("Ada"), Some("ada@example.org")));
        let error =
            Cli::try_parse_from(["boxoffice", "checkout", "--hold", "9", "--name", "Ada"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(Cli::try_parse_from(["boxoffice", "checkout", "--hold", "9"]).is_ok());
    }

    #[test]
    fn global_options_go_anywhere() {
        let cli = Cli::try_parse_from([
            "boxoffice",
            "pay",
            "--order",
            "order-10",
            "--json",
            "--request-id",
            "0123456789abcdef0123456789abcdef",
            "--endpoints",
            "a:1,b:2",
        ])
        .unwrap();
        assert!(cli.global.json);
        assert_eq!(cli.global.endpoints, ["a:1", "b:2"]);
        assert_eq!(cli.global.request_id, Some(RequestId(0x0123456789abcdef0123456789abcdef)));
    }
}
