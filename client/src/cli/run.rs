//! The commands: build a domain command or a query, call the client, print
//! the result (text or JSON), and say which exit status it deserves.

use super::args::{
    AvailabilityArgs, CheckinListCmd, Cli, ClusterCmd, Command as Cmd, EventCmd, EventsCmd, HoldCmd, ItemCmd,
    OrderCmd, OrganizerCmd, QuotaCmd, RoomCmd, SeatsArg, SeatsCmd, VoucherCmd, WaitlistCmd,
};
use super::format as fmt;
use super::{Exit, emit, emit_json};
use boxoffice_client::{Client, ClientError, ReadConsistency, Submitted, VoucherLookup, new_request_id};
use boxoffice_engine::domain::{
    Accepted, CheckinListId, Command, Direction, EntryPosition, Event, EventDef, EventId, Hold, HoldStatus,
    ItemAvailability, ItemId, Nonce, Order, OrderLimits, OrganizerId, Outcome, QuotaAvailability, QuotaId,
    Record, RequestId, SeatChoice, SeatMapZone, SeatStatus, VoucherScope, VoucherView, WaitingRoomView,
};
use boxoffice_engine::node::wall_clock_ms;
use boxoffice_proto::v1;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long `events tail` without `--follow` waits for one more record.
const TAIL_IDLE_MS: u64 = 1_000;

/// A call that got no answer, with the request id of the write it was.
pub struct Fail {
    error: ClientError,
    request: Option<RequestId>,
}

impl From<ClientError> for Fail {
    fn from(error: ClientError) -> Fail {
        Fail { error, request: None }
    }
}

type Res = Result<Exit, Fail>;

/// Print an error (stderr, or a JSON object on stdout) and return its exit status.
pub fn report_error(json: bool, message: &str, error: &ClientError, request: Option<RequestId>) -> Exit {
    let exit = Exit::of(error);
    let kind = match error {
        ClientError::Unknown(_) => "unknown",
        ClientError::NotApplied(_) => "not_applied",
        ClientError::Invalid(_) => "invalid",
        ClientError::NotFound(_) => "not_found",
    };
    if json {
        let mut value = json!({ "error": kind, "message": message, "exit": exit as u8 });
        if let Some(request) = request {
            value["request_id"] = json!(request.to_string());
        }
        emit_json(&value);
        return exit;
    }
    eprintln!("error: {message}");
    match (exit, request) {
        (Exit::Unknown, Some(request)) => eprintln!(
            "The write may or may not have taken effect. Run the same command again with \
             --request-id {request} to find out: it will not be done twice."
        ),
        (Exit::Unknown, None) => eprintln!("The answer could not be read; try again."),
        (_, Some(request)) => eprintln!("(request {request}: not applied)"),
        _ => {}
    }
    exit
}

/// What every command needs.
struct Ctx<'a> {
    client: &'a Client,
    json: bool,
    consistency: ReadConsistency,
    request_id: Option<RequestId>,
}

/// Run one command line against the client.
pub async fn run(client: &Client, cli: Cli) -> Exit {
    let ctx = Ctx {
        client,
        json: cli.global.json,
        consistency: if cli.global.stale { ReadConsistency::Stale } else { ReadConsistency::Linearizable },
        request_id: cli.global.request_id,
    };
    match dispatch(&ctx, cli.command).await {
        Ok(exit) => exit,
        Err(Fail { error, request }) => report_error(ctx.json, &error.to_string(), &error, request),
    }
}

async fn dispatch(ctx: &Ctx<'_>, command: Cmd) -> Res {
    match command {
        Cmd::Organizer(OrganizerCmd::Create { slug, name }) => {
            let detail = format!(" — {slug} \"{name}\"");
            let secret_key: [u8; 32] = rand::random();
            ctx.write("create_organizer", Command::CreateOrganizer { slug, name, secret_key }, &detail).await
        }
        Cmd::Organizer(OrganizerCmd::Find { slug }) => {
            let (id, name) = ctx.client.find_organizer(&slug, ctx.consistency).await?;
            if ctx.json {
                emit_json(&json!({ "organizer": id, "slug": slug, "name": name }));
            } else {
                emit(&format!("organizer {}: {slug} \"{name}\"", OrganizerId(id)));
            }
            Ok(Exit::Ok)
        }
        Cmd::Event(EventCmd::Create { organizer, slug, name }) => {
            let detail = format!(" — {slug} \"{name}\" of organizer {organizer}");
            ctx.write("create_event", Command::CreateEvent { organizer, slug, name }, &detail).await
        }
        Cmd::Event(EventCmd::List { organizer }) => {
            let events = ctx.client.events(organizer, ctx.consistency).await?;
            if ctx.json {
                emit_json(
                    &json!({ "organizer": organizer.0, "events": events.iter().map(to_json).collect::<Vec<_>>() }),
                );
            } else {
                emit(&format!("events of organizer {organizer} ({}):", events.len()));
                for event in &events {
                    emit(&format!("  {}", event_line(event)));
                }
            }
            Ok(Exit::Ok)
        }
        Cmd::Event(EventCmd::Find { organizer, slug }) => {
            let event = ctx.client.event_by_slug(organizer, &slug, ctx.consistency).await?;
            if ctx.json {
                emit_json(&to_json(&event));
            } else {
                emit(&event_line(&event));
            }
            Ok(Exit::Ok)
        }
        Cmd::Item(ItemCmd::Create { event, name, price_cents }) => {
            let detail = format!(" — \"{name}\" at {} in event {event}", fmt::money(price_cents));
            ctx.write("create_item", Command::CreateItem { event, name, price_cents }, &detail).await
        }
        Cmd::Item(ItemCmd::Variation { item, name, price_cents }) => {
            let detail = format!(" — \"{name}\" at {} of item {item}", fmt::money(price_cents));
            ctx.write("create_variation", Command::CreateVariation { item, name, price_cents }, &detail).await
        }
        Cmd::Item(ItemCmd::Limits { item, min_per_order, max_per_order, max_per_buyer }) => {
            let limits = OrderLimits { min_per_order, max_per_order, max_per_buyer };
            let detail = format!(" — {}", fmt::order_limits(&limits));
            ctx.write("set_order_limits", Command::SetOrderLimits { item, limits }, &detail).await
        }
        Cmd::Voucher(VoucherCmd::Create {
            event,
            scope,
            max_redemptions,
            valid_from_secs,
            valid_for_secs,
            blocks_quota,
        }) => {
            let scope = match (scope.item, scope.quota) {
                (Some(item), _) => VoucherScope::Item(item),
                (None, Some(quota)) => VoucherScope::Quota(quota),
                (None, None) => unreachable!("clap requires --item or --quota"),
            };
            let now_ms = wall_clock_ms();
            let command = Command::CreateVoucher {
                event,
                scope,
                max_redemptions,
                valid_from_ms: now_ms.saturating_add(secs_to_ms(valid_from_secs)),
                valid_until_ms: now_ms.saturating_add(secs_to_ms(valid_for_secs)),
                blocks_quota,
            };
            let detail = format!(
                " — {max_redemptions} redemption(s) of {}{}",
                fmt::voucher_scope(&scope),
                if blocks_quota { ", blocking quota" } else { "" }
            );
            ctx.write("create_voucher", command, &detail).await
        }
        Cmd::Voucher(VoucherCmd::Show(which)) => {
            let lookup = match (which.voucher, which.code) {
                (Some(id), _) => VoucherLookup::Id(id),
                (None, Some(code)) => VoucherLookup::Code(code),
                (None, None) => unreachable!("clap requires --voucher or --code"),
            };
            let voucher = ctx.client.voucher(&lookup, ctx.consistency).await?;
            ctx.show_voucher(&voucher);
            Ok(Exit::Ok)
        }
        Cmd::Seats(SeatsCmd::AddRow { event, zone, row, seats }) => {
            let seats: Vec<_> = seats.into_iter().flat_map(|specs| specs.0).collect();
            let detail = format!(" — zone \"{zone}\", row \"{row}\" of event {event}");
            ctx.write("add_seat_row", Command::AddSeatRow { event, zone, row, seats }, &detail).await
        }
        Cmd::Seats(SeatsCmd::Block(SeatsArg { event, seats })) => {
            let detail = format!(" — blocked {}", fmt::list(&seats));
            ctx.write("set_seats_blocked", Command::SetSeatsBlocked { event, seats, blocked: true }, &detail)
                .await
        }
        Cmd::Seats(SeatsCmd::Unblock(SeatsArg { event, seats })) => {
            let detail = format!(" — unblocked {}", fmt::list(&seats));
            let command = Command::SetSeatsBlocked { event, seats, blocked: false };
            ctx.write("set_seats_blocked", command, &detail).await
        }
        Cmd::Seats(SeatsCmd::Hold { event, seats, zone, count, item, ttl_secs, voucher, buyer }) => {
            let seats = match (zone, count) {
                (Some(zone), Some(count)) => SeatChoice::Adjacent { zone, count, item },
                _ => SeatChoice::Named(seats),
            };
            let detail = format!(
                "{}{}",
                voucher.as_deref().map(|code| format!(", voucher {code}")).unwrap_or_default(),
                buyer.map(|buyer| format!(", {buyer}")).unwrap_or_default()
            );
            let detail = detail.strip_prefix(", ").map(|d| format!(" — {d}")).unwrap_or_default();
            let command =
                Command::PlaceSeatedHold { event, seats, ttl_ms: secs_to_ms(ttl_secs), voucher, buyer };
            ctx.write("place_seated_hold", command, &detail).await
        }
        Cmd::Waitlist(WaitlistCmd::Join { event, item, priority, buyer }) => {
            let detail = format!(
                " — {item} of event {event}{}{}",
                if priority == 0 { String::new() } else { format!(", priority {priority}") },
                buyer.map(|buyer| format!(", {buyer}")).unwrap_or_default()
            );
            let command = Command::JoinWaitingList { event, item, priority, buyer };
            ctx.write("join_waiting_list", command, &detail).await
        }
        Cmd::Waitlist(WaitlistCmd::Leave(e)) => {
            ctx.write("leave_waiting_list", Command::LeaveWaitingList { entry: e.entry }, "").await
        }
        Cmd::Waitlist(WaitlistCmd::Claim { entry, ttl_secs }) => {
            let detail = format!(" — the offer to {entry}");
            let command = Command::ClaimOffer { entry, ttl_ms: secs_to_ms(ttl_secs) };
            ctx.write("claim_offer", command, &detail).await
        }
        Cmd::Waitlist(WaitlistCmd::Configure { event, offer_ttl_secs }) => {
            let detail = format!(" — offers stay open {offer_ttl_secs} s");
            let command = Command::ConfigureWaitingList { event, offer_ttl_ms: secs_to_ms(offer_ttl_secs) };
            ctx.write("configure_waiting_list", command, &detail).await
        }
        Cmd::Waitlist(WaitlistCmd::Show(e)) => {
            let view = ctx.client.waiting_list_entry(e.entry, ctx.consistency).await?;
            ctx.show_waiting_list_entry(&view);
            Ok(Exit::Ok)
        }
        Cmd::Seats(SeatsCmd::Map(e)) => {
            let zones = ctx.client.seat_map(e.event, ctx.consistency).await?;
            ctx.show_seat_map(e.event, &zones);
            Ok(Exit::Ok)
        }
        Cmd::Quota(QuotaCmd::Create { event, name, capacity, items, close_when_sold_out }) => {
            let size = capacity.size();
            let detail = format!(
                " — \"{name}\", size {}, items {}{}",
                fmt::size(size),
                fmt::list(&items),
                if close_when_sold_out { ", closes when sold out" } else { "" }
            );
            let command = Command::CreateQuota { event, name, size, items, close_when_sold_out };
            ctx.write("create_quota", command, &detail).await
        }
        Cmd::Quota(QuotaCmd::Resize { quota, capacity }) => {
            let size = capacity.size();
            let detail = format!(" — size {}", fmt::size(size));
            ctx.write("resize_quota", Command::ResizeQuota { quota, size }, &detail).await
        }
        Cmd::Quota(QuotaCmd::Close(q)) => {
            ctx.write("close_quota", Command::CloseQuota { quota: q.quota }, " — closed").await
        }
        Cmd::Quota(QuotaCmd::Reopen(q)) => {
            ctx.write("reopen_quota", Command::ReopenQuota { quota: q.quota }, " — reopened").await
        }
        Cmd::Hold(HoldCmd::Place { event, lines, ttl_secs, voucher, buyer }) => {
            let detail = format!(
                " — {}{}{}",
                fmt::lines(&lines),
                voucher.as_deref().map(|code| format!(", voucher {code}")).unwrap_or_default(),
                buyer.map(|buyer| format!(", {buyer}")).unwrap_or_default()
            );
            let ttl_ms = secs_to_ms(ttl_secs);
            let command = if voucher.is_none() && buyer.is_none() {
                Command::PlaceHold { event, lines, ttl_ms }
            } else {
                Command::PlaceHoldWith { event, lines, ttl_ms, voucher, buyer }
            };
            ctx.write("place_hold", command, &detail).await
        }
        Cmd::Hold(HoldCmd::Add { hold, lines }) => {
            let detail = format!(" — added {}", fmt::lines(&lines));
            ctx.write("add_to_hold", Command::AddToHold { hold, lines }, &detail).await
        }
        Cmd::Hold(HoldCmd::Remove { hold, lines }) => {
            let detail = format!(" — removed {}", fmt::lines(&lines));
            ctx.write("remove_from_hold", Command::RemoveFromHold { hold, lines }, &detail).await
        }
        Cmd::Hold(HoldCmd::Extend { hold, ttl_secs }) => {
            ctx.write("extend_hold", Command::ExtendHold { hold, ttl_ms: secs_to_ms(ttl_secs) }, "").await
        }
        Cmd::Hold(HoldCmd::Release(h)) => {
            ctx.write("release_hold", Command::ReleaseHold { hold: h.hold }, "").await
        }
        Cmd::Hold(HoldCmd::Show(h)) => {
            let hold = ctx.client.hold(h.hold, ctx.consistency).await?;
            ctx.show_hold(&hold);
            Ok(Exit::Ok)
        }
        Cmd::Checkout(c) => {
            let (hold, payment_ttl_ms) = (c.hold, secs_to_ms(c.payment_ttl_secs));
            match (c.name, c.email) {
                (Some(name), Some(email)) => {
                    let detail = format!(" — for {name} <{email}>");
                    let command = Command::CheckoutWithContact { hold, payment_ttl_ms, name, email };
                    ctx.write("checkout_with_contact", command, &detail).await
                }
                _ => ctx.write("checkout", Command::Checkout { hold, payment_ttl_ms }, "").await,
            }
        }
        Cmd::Pay(o) => ctx.write("pay", Command::Pay { order: o.order }, "").await,
        Cmd::Cancel(o) => ctx.write("cancel_order", Command::CancelOrder { order: o.order }, "").await,
        Cmd::Order(OrderCmd::Show(o)) => {
            let order = ctx.client.order(o.order, ctx.consistency).await?;
            ctx.show_order(&order);
            Ok(Exit::Ok)
        }
        Cmd::CheckinList(CheckinListCmd::Create { event, name, multiple_entries, reentry_after_exit }) => {
            let rules = match (multiple_entries, reentry_after_exit) {
                (true, _) => "multiple entries allowed",
                (false, true) => "re-entry after exit allowed",
                (false, false) => "one entry per ticket",
            };
            let detail = format!(" — \"{name}\" for event {event}, {rules}");
            let command = Command::CreateCheckinList {
                event,
                name,
                allow_multiple_entries: multiple_entries,
                allow_entry_after_exit: reentry_after_exit,
            };
            ctx.write("create_checkin_list", command, &detail).await
        }
        Cmd::Checkin(c) => {
            let nonce = c.nonce.unwrap_or_else(|| Nonce(rand::random()));
            let direction = if c.exit { Direction::Exit } else { Direction::Entry };
            let command = Command::CheckIn { list: c.list, secret: c.secret, nonce, direction };
            let nonce = format!("{:032x}", nonce.0);
            let submitted = ctx.submit(ctx.request_id(0), command).await?;
            Ok(ctx.report("check_in", &submitted, "", Some(("nonce", nonce))))
        }
        Cmd::Availability(AvailabilityArgs { item: Some(item), .. }) => {
            let availability = ctx.client.item_availability(item, ctx.consistency).await?;
            ctx.show_item_availability(&availability);
            Ok(Exit::Ok)
        }
        Cmd::Availability(AvailabilityArgs { quota: Some(quota), .. }) => {
            let availability = ctx.client.quota_availability(quota, ctx.consistency).await?;
            if ctx.json {
                emit_json(&to_json(&availability));
            } else {
                emit(&quota_line(&availability));
            }
            Ok(Exit::Ok)
        }
        Cmd::Availability(_) => Err(ClientError::Invalid("say --item ID or --quota ID".into()).into()),
        Cmd::Catalog(e) => {
            let catalog = ctx.client.catalog(e.event, ctx.consistency).await?;
            ctx.show_catalog(&catalog);
            Ok(Exit::Ok)
        }
        Cmd::Room(RoomCmd::Configure {
            event,
            admit_per_minute,
            arrivals_per_second_max,
            in_flight_max,
            dry_run,
        }) => {
            let detail = format!(
                " — {admit_per_minute} a minute, at most {arrivals_per_second_max} arrivals a second and \
                 {in_flight_max} in flight{}",
                if dry_run { ", dry run" } else { "" }
            );
            let command = Command::ConfigureWaitingRoom {
                event,
                admit_per_minute,
                arrivals_per_second_max,
                in_flight_max,
                dry_run,
            };
            ctx.write("configure_waiting_room", command, &detail).await
        }
        Cmd::Room(RoomCmd::Join(e)) => {
            ctx.write("join_waiting_room", Command::JoinWaitingRoom { event: e.event }, "").await
        }
        Cmd::Room(RoomCmd::Show(e)) => {
            let room = ctx.client.waiting_room(e.event, ctx.consistency).await?;
            ctx.show_room(e.event, room.as_ref());
            Ok(Exit::Ok)
        }
        Cmd::Events(EventsCmd::Tail { from, follow, limit }) => ctx.tail(from, follow, limit).await,
        Cmd::Cluster(command) => ctx.cluster(command).await,
        Cmd::Demo => ctx.demo().await,
    }
}

fn secs_to_ms(secs: u64) -> u64 {
    secs.saturating_mul(1_000)
}

/// A domain value as JSON (every domain type derives `Serialize`).
fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| json!({ "unserializable": e.to_string() }))
}

/// The main id an accepted outcome names, if any.
fn accepted_id(accepted: &Accepted) -> Option<u64> {
    Some(match accepted {
        Accepted::OrganizerCreated { organizer } => organizer.0,
        Accepted::EventCreated { event } => event.0,
        Accepted::ItemCreated { item } => item.0,
        Accepted::QuotaCreated { quota } | Accepted::QuotaUpdated { quota } => quota.0,
        Accepted::HoldLive { hold, .. } | Accepted::HoldReleased { hold } => hold.0,
        Accepted::OrderPlaced { order, .. }
        | Accepted::OrderPaid { order }
        | Accepted::PaymentRefundOwed { order, .. }
        | Accepted::OrderCanceled { order, .. }
        | Accepted::CheckedIn { order, .. } => order.0,
        Accepted::CheckinListCreated { list } => list.0,
        Accepted::WaitingRoomConfigured { event } | Accepted::WaitingRoomJoined { event, .. } => event.0,
        Accepted::OrderLimitsSet { item } => item.0,
        Accepted::VoucherCreated { voucher, .. } => voucher.0,
        Accepted::SeatRowAdded { first_seat, .. } => first_seat.0,
        Accepted::SeatsBlocked { event, .. } => event.0,
        Accepted::SeatedHoldLive { hold, .. } => hold.0,
        Accepted::SeatCheckedIn { order, .. } => order.0,
        Accepted::WaitingListJoined { entry, .. } | Accepted::WaitingListLeft { entry } => entry.0,
        Accepted::WaitingListConfigured { event } => event.0,
        Accepted::Expired { .. } => return None,
    })
}

impl Ctx<'_> {
    /// The request id of a write: `--request-id` (plus `step`, for the
    /// several writes of `demo`) or a fresh random one.
    fn request_id(&self, step: u128) -> RequestId {
        match self.request_id {
            Some(RequestId(base)) => RequestId(base.wrapping_add(step)),
            None => new_request_id(),
        }
    }

    async fn submit(&self, id: RequestId, command: Command) -> Result<Submitted, Fail> {
        self.client.submit_with_id(id, command).await.map_err(|error| Fail { error, request: Some(id) })
    }

    /// Submit one write and print its outcome.
    async fn write(&self, kind: &str, command: Command, detail: &str) -> Res {
        let submitted = self.submit(self.request_id(0), command).await?;
        Ok(self.report(kind, &submitted, detail, None))
    }

    /// Print a write's outcome; its exit status is [`Exit::of_outcome`].
    /// `extra` is one more `(key, value)` to print: inside the parentheses
    /// after the request id, or as a field of the JSON object.
    fn report(&self, kind: &str, s: &Submitted, detail: &str, extra: Option<(&str, String)>) -> Exit {
        let exit = Exit::of_outcome(&s.outcome);
        if self.json {
            let mut value = json!({
                "command": kind,
                "request_id": s.request_id.to_string(),
                "accepted": s.outcome.is_accepted(),
                "label": s.outcome.label(),
                "duplicate": s.duplicate,
                "seq": s.seq,
                "outcome": to_json(&s.outcome),
            });
            if let Outcome::Accepted(accepted) = &s.outcome
                && let Some(id) = accepted_id(accepted)
            {
                value["id"] = json!(id);
            }
            if let Some((key, extra)) = extra {
                value[key] = json!(extra);
            }
            emit_json(&value);
            return exit;
        }
        let mut request = format!("request {}", s.request_id);
        if let Some((key, extra)) = extra {
            request.push_str(&format!(", {key} {extra}"));
        }
        if s.duplicate {
            request.push_str(", answered from an earlier attempt");
        }
        match &s.outcome {
            Outcome::Accepted(accepted) => {
                emit(&format!("accepted: {}{detail} ({request})", fmt::accepted(accepted)));
                if let Accepted::OrderPlaced { tickets, .. } = accepted {
                    for ticket in tickets {
                        emit(&format!(
                            "  ticket {}: {} secret {}",
                            ticket.position, ticket.item, ticket.secret
                        ));
                    }
                }
            }
            Outcome::Rejected(rejection) => {
                emit(&format!("rejected: {} ({request})", fmt::rejection(rejection)));
            }
        }
        exit
    }

    fn show_hold(&self, hold: &Hold) {
        if self.json {
            emit_json(&to_json(hold));
            return;
        }
        let status = match hold.status {
            HoldStatus::Active if hold.expires_at_ms <= wall_clock_ms() => {
                format!("lapsed at {} (no longer reserves)", fmt::rfc3339(hold.expires_at_ms))
            }
            HoldStatus::Active => format!("active until {}", fmt::rfc3339(hold.expires_at_ms)),
            status => fmt::hold_status(status).to_owned(),
        };
        emit(&format!(
            "hold {} of event {}: {status}, placed {}: {}",
            hold.id,
            hold.event,
            fmt::rfc3339(hold.created_at_ms),
            fmt::lines(&hold.lines)
        ));
    }

    fn show_order(&self, order: &Order) {
        if self.json {
            emit_json(&to_json(order));
            return;
        }
        emit(&format!(
            "order {} of event {} (from hold {}): {}, total {}, placed {}, pay by {}: {}",
            order.id,
            order.event,
            order.hold,
            fmt::order_status(order.status),
            fmt::money(order.total_cents),
            fmt::rfc3339(order.created_at_ms),
            fmt::rfc3339(order.payment_deadline_ms),
            fmt::lines(&order.lines)
        ));
        if let Some(contact) = &order.contact {
            emit(&format!("  bought by {} <{}>", contact.name, contact.email));
        }
        for ticket in &order.tickets {
            emit(&format!("  ticket {}: {} secret {}", ticket.position, ticket.item, ticket.secret));
        }
    }

    fn show_voucher(&self, v: &VoucherView) {
        if self.json {
            emit_json(&to_json(v));
            return;
        }
        let blocking = match (v.blocks_quota, v.blocking) {
            (false, _) => "",
            (true, true) => ", blocking quota",
            (true, false) => ", its block has ended",
        };
        emit(&format!(
            "voucher {} of event {}, code {}: {} for {}; {} of {} redeemed, {} left; valid from {} until {}{blocking}",
            v.voucher,
            v.event,
            v.code,
            if v.remaining == 0 { "used up" } else { "redeemable" },
            fmt::voucher_scope(&v.scope),
            v.redeemed,
            v.max_redemptions,
            v.remaining,
            fmt::rfc3339(v.valid_from_ms),
            fmt::rfc3339(v.valid_until_ms),
        ));
    }

    fn show_waiting_list_entry(&self, view: &boxoffice_client::WaitingListEntryView) {
        let entry = &view.entry;
        if self.json {
            let (state, position, expires_at_ms, hold) = match view.position {
                EntryPosition::Waiting { position } => ("waiting", Some(position), None, None),
                EntryPosition::Offered { expires_at_ms } => ("offered", None, Some(expires_at_ms), None),
                EntryPosition::OfferLapsed { expires_at_ms } => {
                    ("offer_lapsed", None, Some(expires_at_ms), None)
                }
                EntryPosition::Claimed { hold } => ("claimed", None, None, Some(hold.0)),
                EntryPosition::Left => ("left", None, None, None),
            };
            emit_json(&json!({
                "entry": entry.id.0,
                "event": entry.event.0,
                "item": entry.item.0,
                "priority": entry.priority,
                "buyer": entry.buyer.map(|buyer| buyer.to_string()),
                "joined_at_ms": entry.joined_at_ms,
                "state": state,
                "position": position,
                "expires_at_ms": expires_at_ms,
                "hold": hold,
            }));
            return;
        }
        let state = match view.position {
            EntryPosition::Waiting { position } => format!("waiting, place {position}"),
            EntryPosition::Offered { expires_at_ms } => {
                format!("offered until {} (claim it with `waitlist claim`)", fmt::rfc3339(expires_at_ms))
            }
            EntryPosition::OfferLapsed { expires_at_ms } => {
                format!("offer lapsed unclaimed at {}", fmt::rfc3339(expires_at_ms))
            }
            EntryPosition::Claimed { hold } => format!("claimed, as hold {hold}"),
            EntryPosition::Left => "left the waiting list".to_owned(),
        };
        let priority =
            if entry.priority == 0 { String::new() } else { format!(", priority {}", entry.priority) };
        emit(&format!(
            "{} of {}: {state} (event {}{priority}, joined {})",
            entry.id,
            entry.item,
            entry.event,
            fmt::rfc3339(entry.joined_at_ms)
        ));
    }

    fn show_seat_map(&self, event: EventId, zones: &[SeatMapZone]) {
        if self.json {
            emit_json(&json!({ "event": event.0, "zones": to_json(&zones) }));
            return;
        }
        let seats = || zones.iter().flat_map(|z| &z.rows).flat_map(|r| &r.seats);
        if seats().next().is_none() {
            emit(&format!("event {event} has no seats"));
            return;
        }
        let count = |f: fn(&SeatStatus) -> bool| seats().filter(|s| f(&s.status)).count();
        emit(&format!(
            "seat map of event {event}: {} seats, {} free, {} blocked, {} held, {} ordered, {} paid \
             (F free, B blocked, H held, O ordered, P paid)",
            seats().count(),
            count(|s| matches!(s, SeatStatus::Free)),
            count(|s| matches!(s, SeatStatus::Blocked)),
            count(|s| matches!(s, SeatStatus::Held(_))),
            count(|s| matches!(s, SeatStatus::Ordered(_))),
            count(|s| matches!(s, SeatStatus::Paid(_))),
        ));
        for zone in zones {
            for row in &zone.rows {
                let ids = match (row.seats.first(), row.seats.last()) {
                    (Some(first), Some(last)) if first.seat != last.seat => {
                        format!("{}..{}", first.seat, last.seat)
                    }
                    (Some(first), _) => first.seat.to_string(),
                    _ => String::new(),
                };
                let seats: Vec<String> = row
                    .seats
                    .iter()
                    .map(|s| format!("{}:{}", s.label, fmt::seat_state_letter(s.status)))
                    .collect();
                emit(&format!("  {} row {} ({ids}): {}", zone.zone, row.row, seats.join(" ")));
            }
        }
    }

    fn show_room(&self, event: EventId, room: Option<&WaitingRoomView>) {
        if self.json {
            emit_json(&json!({ "event": event.0, "room": room.map(to_json) }));
            return;
        }
        match room {
            None => emit(&format!("event {event} has no waiting room")),
            Some(room) => emit(&format!(
                "waiting room of event {event}: {} joined, {} admitted, {} waiting; admits {} a minute, \
                 at most {} arrivals a second and {} in flight{}",
                room.joined,
                room.admitted,
                room.joined - room.admitted,
                room.admit_per_minute,
                room.arrivals_per_second_max,
                room.in_flight_max,
                if room.dry_run { " (dry run: shops only record)" } else { "" }
            )),
        };
    }

    fn show_item_availability(&self, a: &ItemAvailability) {
        if self.json {
            emit_json(&to_json(a));
            return;
        }
        if !a.for_sale {
            emit(&format!("item {}: not for sale (no quota covers it)", a.item));
            return;
        }
        let binding = a.binding_quota.map(|q| format!(" (binding quota {q})")).unwrap_or_default();
        emit(&format!(
            "item {}: {}, {}{binding}",
            a.item,
            fmt::availability_state(a.state),
            fmt::remaining(a.remaining)
        ));
        for quota in &a.quotas {
            emit(&format!("  {}", quota_line(quota)));
        }
    }

    fn show_catalog(&self, catalog: &v1::ListCatalogResponse) {
        let quotas: Vec<QuotaAvailability> =
            catalog.quotas.iter().filter_map(|q| QuotaAvailability::try_from(*q).ok()).collect();
        if self.json {
            emit_json(&json!({
                "event": catalog.event.as_ref().map(|e| json!({
                    "id": e.id, "organizer": e.organizer, "slug": e.slug, "name": e.name,
                })),
                "items": catalog.items.iter().map(|i| json!({
                    "id": i.id, "name": i.name, "price_cents": i.price_cents, "quotas": i.quotas,
                })).collect::<Vec<_>>(),
                "quotas": quotas.iter().map(to_json).collect::<Vec<_>>(),
                "checkin_lists": catalog.checkin_lists.iter().map(|l| json!({
                    "id": l.id, "name": l.name, "allow_multiple_entries": l.allow_multiple_entries,
                    "allow_entry_after_exit": l.allow_entry_after_exit,
                })).collect::<Vec<_>>(),
                "applied_index": catalog.applied_index,
                "last_seq": catalog.last_seq,
            }));
            return;
        }
        match &catalog.event {
            Some(e) => emit(&format!(
                "event {}: {} \"{}\" of organizer {}",
                EventId(e.id),
                e.slug,
                e.name,
                OrganizerId(e.organizer)
            )),
            None => emit("event: (not in the reply)"),
        };
        let name_width = catalog.items.iter().map(|i| i.name.chars().count() + 2).max().unwrap_or(0);
        let id_width = catalog.items.iter().map(|i| ItemId(i.id).to_string().len()).max().unwrap_or(0);
        emit(&format!("items ({}):", catalog.items.len()));
        for item in &catalog.items {
            let name = format!("\"{}\"", item.name);
            let id = ItemId(item.id).to_string();
            emit(&format!(
                "  {id:<id_width$}  {name:<name_width$} {:>10}  quotas {}",
                fmt::money(item.price_cents),
                fmt::list(item.quotas.iter().map(|q| QuotaId(*q))),
            ));
        }
        emit(&format!("quotas ({}):", quotas.len()));
        // The catalog does not carry quota names; say which items each covers instead.
        let mut covers: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for item in &catalog.items {
            for quota in &item.quotas {
                covers.entry(*quota).or_default().push(format!("item-{}", item.id));
            }
        }
        for quota in &quotas {
            let items = covers.get(&quota.quota.0).map(|i| i.join(", ")).unwrap_or_else(|| "none".into());
            emit(&format!("  {}; covers {items}", quota_line(quota)));
        }
        emit(&format!("check-in lists ({}):", catalog.checkin_lists.len()));
        for list in &catalog.checkin_lists {
            let rules = match (list.allow_multiple_entries, list.allow_entry_after_exit) {
                (true, _) => "multiple entries allowed",
                (false, true) => "re-entry after exit allowed",
                (false, false) => "one entry per ticket",
            };
            emit(&format!("  {} \"{}\": {rules}", CheckinListId(list.id), list.name));
        }
    }

    async fn tail(&self, from: u64, follow: bool, limit: Option<u64>) -> Res {
        let mut stream = self.client.subscribe(from).await?;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut printed = 0u64;
        while limit.is_none_or(|limit| printed < limit) {
            let next = tokio::select! {
                next = stream.next() => next,
                _ = &mut ctrl_c => break,
                _ = tokio::time::sleep(Duration::from_millis(TAIL_IDLE_MS)), if !follow => break,
            };
            let record = match next {
                None => break,
                Some(Err(error)) => return Err(error.into()),
                Some(Ok(record)) => record,
            };
            let line = if self.json { record_json(&record) } else { record_line(&record) };
            if !emit(&line) {
                break;
            }
            printed += 1;
        }
        Ok(Exit::Ok)
    }

    async fn cluster(&self, command: ClusterCmd) -> Res {
        match command {
            ClusterCmd::Status { digests, each: false } => {
                let status = self.client.status(digests).await?;
                if self.json {
                    emit_json(&status_json(&status));
                } else {
                    for line in status_lines(&status) {
                        emit(&line);
                    }
                }
                Ok(Exit::Ok)
            }
            ClusterCmd::Status { digests, each: true } => {
                let mut exit = Exit::Ok;
                for (addr, result) in self.client.status_of_each(digests).await {
                    match result {
                        Ok(status) if self.json => {
                            emit_json(&json!({ "endpoint": addr, "status": status_json(&status) }));
                        }
                        Ok(status) => {
                            emit(&format!("{addr}: {}", status_short(&status)));
                        }
                        Err(error) => {
                            exit = exit.max(Exit::NotDone);
                            if self.json {
                                emit_json(&json!({ "endpoint": addr, "error": error.to_string() }));
                            } else {
                                emit(&format!("{addr}: no answer: {error}"));
                            }
                        }
                    }
                }
                Ok(exit)
            }
            ClusterCmd::Init { members } => {
                let request = v1::InitializeRequest { members };
                let reply = self
                    .client
                    .admin(move |mut admin| {
                        let request = request.clone();
                        async move { Ok(admin.initialize(request).await?.into_inner()) }
                    })
                    .await?;
                Ok(self.admin_reply(&reply))
            }
            ClusterCmd::AddLearner { id, addr, zone } => {
                let request = v1::AddLearnerRequest { node_id: id, addr, zone };
                let reply = self
                    .client
                    .admin(move |mut admin| {
                        let request = request.clone();
                        async move { Ok(admin.add_learner(request).await?.into_inner()) }
                    })
                    .await?;
                Ok(self.admin_reply(&reply))
            }
            ClusterCmd::ChangeMembership { voters, retain } => {
                let request = v1::ChangeMembershipRequest { voters, retain };
                let reply = self
                    .client
                    .admin(move |mut admin| {
                        let request = request.clone();
                        async move { Ok(admin.change_membership(request).await?.into_inner()) }
                    })
                    .await?;
                Ok(self.admin_reply(&reply))
            }
            ClusterCmd::Remove { id } => {
                let request = v1::RemoveNodeRequest { node_id: id };
                let reply = self
                    .client
                    .admin(move |mut admin| async move { Ok(admin.remove_node(request).await?.into_inner()) })
                    .await?;
                Ok(self.admin_reply(&reply))
            }
        }
    }

    fn admin_reply(&self, reply: &v1::AdminResponse) -> Exit {
        if self.json {
            emit_json(&json!({
                "message": reply.message,
                "status": reply.status.as_ref().map(status_json),
            }));
        } else {
            emit(&format!("done: {}", reply.message));
            for line in reply.status.iter().flat_map(status_lines) {
                emit(&format!("  {line}"));
            }
        }
        Exit::Ok
    }

    /// One write of `demo`: its accepted outcome's id, or the exit status
    /// that ends the demo.
    async fn demo_step(
        &self,
        step: &mut u128,
        kind: &str,
        command: Command,
        detail: &str,
    ) -> Result<Result<u64, Exit>, Fail> {
        let id = self.request_id(*step);
        *step += 1;
        let submitted = self.submit(id, command).await?;
        let exit = self.report(kind, &submitted, detail, None);
        Ok(match &submitted.outcome {
            Outcome::Accepted(accepted) => match accepted_id(accepted) {
                Some(id) => Ok(id),
                None => Err(Exit::Unknown),
            },
            Outcome::Rejected(_) => Err(exit),
        })
    }

    /// `demo`: its writes use request ids `base`, `base + 1`, ..., so that
    /// `--request-id base` replays a demo that was cut short, step by step.
    async fn demo(&self) -> Res {
        let base = match self.request_id {
            Some(base) => base,
            None => {
                match self.client.find_organizer("demo", self.consistency).await {
                    Ok((organizer, name)) => {
                        return self.demo_already_loaded(OrganizerId(organizer), &name).await;
                    }
                    Err(ClientError::NotFound(_)) => {}
                    Err(error) => return Err(error.into()),
                }
                new_request_id()
            }
        };
        let ctx = Ctx {
            client: self.client,
            json: self.json,
            consistency: self.consistency,
            request_id: Some(base),
        };
        // Whatever step failed, the retry restarts from the base id.
        ctx.demo_load().await.map_err(|fail| Fail { error: fail.error, request: Some(base) })
    }

    async fn demo_load(&self) -> Res {
        let mut step = 0;
        macro_rules! create {
            ($kind:literal, $command:expr, $detail:expr) => {
                match self.demo_step(&mut step, $kind, $command, $detail).await? {
                    Ok(id) => id,
                    Err(exit) => return Ok(exit),
                }
            };
        }
        let organizer = OrganizerId(create!(
            "create_organizer",
            Command::CreateOrganizer {
                slug: "demo".into(),
                name: "Demo Tickets".into(),
                secret_key: rand::random(),
            },
            " — demo \"Demo Tickets\""
        ));
        let event = EventId(create!(
            "create_event",
            Command::CreateEvent { organizer, slug: "summer-fest".into(), name: "Summer Festival".into() },
            " — summer-fest \"Summer Festival\""
        ));
        let mut items = Vec::new();
        for (name, price_cents) in [("Saturday", 4_900), ("Sunday", 4_900), ("Weekend pass", 8_900)] {
            let detail = format!(" — \"{name}\" at {}", fmt::money(price_cents));
            let command = Command::CreateItem { event, name: name.into(), price_cents };
            items.push(ItemId(create!("create_item", command, &detail)));
        }
        let (saturday, sunday, weekend) = (items[0], items[1], items[2]);
        for (name, covered) in [("Saturday", [saturday, weekend]), ("Sunday", [sunday, weekend])] {
            let detail = format!(" — \"{name}\", size 1000, items {}", fmt::list(covered));
            let command = Command::CreateQuota {
                event,
                name: name.into(),
                size: Some(1_000),
                items: covered.to_vec(),
                close_when_sold_out: false,
            };
            create!("create_quota", command, &detail);
        }
        create!(
            "create_checkin_list",
            Command::CreateCheckinList {
                event,
                name: "Main gate".into(),
                allow_multiple_entries: false,
                allow_entry_after_exit: true,
            },
            " — \"Main gate\", re-entry after exit allowed"
        );
        let catalog = self.client.catalog(event, self.consistency).await?;
        if !self.json {
            emit(&format!("Demo data loaded. Try: boxoffice hold place --event {event} --line {saturday}:2"));
        }
        self.show_catalog(&catalog);
        Ok(Exit::Ok)
    }

    /// Organizer `demo` exists: find its event `summer-fest` and show it.
    async fn demo_already_loaded(&self, organizer: OrganizerId, name: &str) -> Res {
        let event = match self.client.event_by_slug(organizer, "summer-fest", self.consistency).await {
            Ok(event) => event,
            Err(ClientError::NotFound(_)) => {
                return Err(ClientError::NotFound(format!(
                    "demo data is already loaded (organizer {organizer} \"{name}\"), but it has no event \
                     summer-fest"
                ))
                .into());
            }
            Err(error) => return Err(error.into()),
        };
        let catalog = self.client.catalog(event.id, self.consistency).await?;
        if self.json {
            emit_json(&json!({
                "demo": "already_loaded", "organizer": organizer.0, "name": name, "event": event.id.0,
            }));
        } else {
            emit(&format!(
                "Demo data is already loaded (organizer {organizer} \"{name}\", event {}).",
                event.id
            ));
        }
        self.show_catalog(&catalog);
        Ok(Exit::Ok)
    }
}

/// `ev-2: summer-fest "Summer Festival" of organizer org-1`.
fn event_line(event: &EventDef) -> String {
    format!("{}: {} \"{}\" of organizer {}", event.id, event.slug, event.name, event.organizer)
}

/// `quota quota-6: Ok, 998 left — size 1000, paid 0, pending 0, held 2`.
fn quota_line(q: &QuotaAvailability) -> String {
    format!(
        "quota {}: {}, {} (size {}, paid {}, pending {}, held {}{})",
        q.quota,
        fmt::availability_state(q.state),
        fmt::remaining(q.remaining),
        fmt::size(q.size),
        q.paid,
        q.pending,
        q.held,
        if q.closed { ", closed" } else { "" }
    )
}

/// One line of `events tail`: seq, time, request id, event kinds, outcome.
fn record_line(record: &Record) -> String {
    let kinds = if record.events.is_empty() {
        "-".to_owned()
    } else {
        record.events.iter().map(Event::kind).collect::<Vec<_>>().join(",")
    };
    format!(
        "{:>8}  {}  {}  {}  {}",
        record.seq,
        fmt::rfc3339(record.time_ms),
        record.request_id,
        kinds,
        record.outcome.label()
    )
}

/// A record as one JSON object. Written by hand rather than through
/// `serde_json::Value`, which cannot hold the 128-bit nonces of check-in
/// events; organizers' secret keys are left out.
fn record_json(record: &Record) -> String {
    let string = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let events: Vec<String> = record
        .events
        .iter()
        .map(|event| match event {
            Event::OrganizerCreated { organizer, slug, name, .. } => json!({
                "OrganizerCreated": {
                    "organizer": organizer.0, "slug": slug, "name": name, "secret_key": "(not shown)",
                }
            })
            .to_string(),
            event => serde_json::to_string(event)
                .unwrap_or_else(|e| json!({ "unserializable": e.to_string() }).to_string()),
        })
        .collect();
    let kinds: Vec<&str> = record.events.iter().map(Event::kind).collect();
    format!(
        "{{\"seq\":{},\"time_ms\":{},\"time\":{},\"request_id\":{},\"kinds\":{},\"label\":{},\"events\":[{}],\"outcome\":{}}}",
        record.seq,
        record.time_ms,
        string(&fmt::rfc3339(record.time_ms)),
        string(&record.request_id.to_string()),
        json!(kinds),
        string(record.outcome.label()),
        events.join(","),
        to_json(&record.outcome)
    )
}

fn status_json(s: &v1::ClusterStatus) -> Value {
    json!({
        "node_id": s.node_id,
        "zone": s.zone,
        "addr": s.addr,
        "role": s.role,
        "term": s.term,
        "leader_id": s.leader_id,
        "leader_addr": s.leader_addr,
        "last_log_index": s.last_log_index,
        "commit_index": s.commit_index,
        "applied_index": s.applied_index,
        "last_seq": s.last_seq,
        "members": s.members.iter().map(|m| json!({
            "id": m.id, "addr": m.addr, "zone": m.zone, "voter": m.voter,
        })).collect::<Vec<_>>(),
        "replication_lag": s.replication_lag.iter().map(|(id, lag)| (id.to_string(), json!(lag)))
            .collect::<serde_json::Map<_, _>>(),
        "event_log_digest": s.event_log_digest,
        "state_digest": s.state_digest,
    })
}

fn leader(s: &v1::ClusterStatus) -> String {
    match s.leader_id {
        None => "none".into(),
        Some(id) if s.leader_addr.is_empty() => format!("node {id}"),
        Some(id) => format!("node {id} at {}", s.leader_addr),
    }
}

/// A node's status over a few lines.
fn status_lines(s: &v1::ClusterStatus) -> Vec<String> {
    let mut lines = vec![
        format!(
            "node {} at {} (zone {}): {}, term {}, leader {}",
            s.node_id,
            s.addr,
            s.zone,
            s.role,
            s.term,
            leader(s)
        ),
        format!(
            "  log index {}, commit index {}, applied index {}, last seq {}",
            s.last_log_index, s.commit_index, s.applied_index, s.last_seq
        ),
        format!(
            "  members: {}",
            fmt::list(s.members.iter().map(|m| format!(
                "{} at {} ({}, {})",
                m.id,
                m.addr,
                m.zone,
                if m.voter { "voter" } else { "learner" }
            )))
        ),
    ];
    if !s.replication_lag.is_empty() {
        lines.push(format!(
            "  replication lag: {}",
            fmt::list(s.replication_lag.iter().map(|(id, lag)| format!("node {id} {lag} entries")))
        ));
    }
    if !s.event_log_digest.is_empty() || !s.state_digest.is_empty() {
        lines.push(format!("  event log digest {}", s.event_log_digest));
        lines.push(format!("  state digest {}", s.state_digest));
    }
    lines
}

/// A node's status on one line, for `cluster status --each`.
fn status_short(s: &v1::ClusterStatus) -> String {
    let digests = if s.event_log_digest.is_empty() && s.state_digest.is_empty() {
        String::new()
    } else {
        format!("  digests log {} state {}", s.event_log_digest, s.state_digest)
    };
    format!(
        "node {}  zone {}  {}  term {}  leader {}  log {}  commit {}  applied {}  seq {}{digests}",
        s.node_id,
        s.zone,
        s.role,
        s.term,
        s.leader_id.map_or_else(|| "none".into(), |id| id.to_string()),
        s.last_log_index,
        s.commit_index,
        s.applied_index,
        s.last_seq
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use boxoffice_engine::domain::OrderId;

    #[test]
    fn records_print_as_one_line_of_text_or_json() {
        let record = Record {
            command_digest: None,
            seq: 7,
            time_ms: 1_795_429_800_000,
            request_id: RequestId(u128::MAX),
            events: vec![
                Event::OrganizerCreated {
                    organizer: OrganizerId(1),
                    slug: "demo".into(),
                    name: "Demo \"Tickets\"".into(),
                    secret_key: [7; 32],
                },
                Event::CheckedIn {
                    list: CheckinListId(8),
                    order: OrderId(10),
                    position: 0,
                    nonce: Nonce(u128::MAX),
                    direction: Direction::Entry,
                },
            ],
            outcome: Outcome::Accepted(Accepted::OrderPaid { order: OrderId(10) }),
        };
        let line = record_line(&record);
        assert!(line.contains("2026-11-23T10:30:00Z"), "{line}");
        assert!(line.contains("OrganizerCreated,CheckedIn"), "{line}");
        assert!(line.contains("accepted/order_paid"), "{line}");
        let json: Value = serde_json::from_str(&record_json(&record)).expect("valid JSON");
        assert_eq!(json["seq"], 7);
        assert_eq!(json["request_id"], "ffffffffffffffffffffffffffffffff");
        assert_eq!(json["time"], "2026-11-23T10:30:00Z");
        assert_eq!(json["events"][0]["OrganizerCreated"]["name"], "Demo \"Tickets\"");
        assert_eq!(json["events"][0]["OrganizerCreated"]["secret_key"], "(not shown)");
        assert_eq!(json["events"][1]["CheckedIn"]["order"], 10);
        assert_eq!(json["outcome"]["Accepted"]["OrderPaid"]["order"], 10);
    }

    #[test]
    fn statuses_print_one_line_per_node() {
        let status = v1::ClusterStatus {
            node_id: 1,
            zone: "dc1".into(),
            role: "leader".into(),
            term: 3,
            leader_id: Some(1),
            last_seq: 42,
            ..Default::default()
        };
        let line = status_short(&status);
        assert!(line.starts_with("node 1  zone dc1  leader  term 3  leader 1"), "{line}");
        assert!(line.ends_with("seq 42"), "{line}");
        assert_eq!(status_json(&status)["leader_id"], 1);
    }
}
