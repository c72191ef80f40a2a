//! The `inventory` workload: seats, vouchers and a waiting list under faults.
//!
//! # Why
//!
//! The flash and mixed workloads only ask "is there a ticket?". Three
//! rules of the domain answer other questions, and each can break under a
//! fault in its own way: whether *this seat* is free (two leaders, or a
//! stale read, could sell it twice), whose turn it is on the waiting list
//! (a replica that serves the line in another order, or lets a newcomer
//! take a freed ticket past it), and what a blocking voucher keeps back.
//! This workload makes those questions contended for the whole run, so
//! that the `no_double_seat` and `waiting_list_order` checkers have
//! something to judge.
//!
//! # What a round is
//!
//! Every round (see the module above for when rounds open) adds:
//!
//! - a **seated zone** `Stalls N` of `rows` × [`SEAT_ROW_SEATS`] seats, all
//!   of one seated item, in a quota of exactly that many tickets; rows are
//!   `--quota-size / 50` between [`SEAT_ROWS_MIN`] and [`SEAT_ROWS_MAX`]
//!   (few seats for the buyers: they sell out and are fought over);
//! - a **plain item** `Standing N` in a small quota (`--quota-size / 10`
//!   between [`PLAIN_QUOTA_MIN`] and [`PLAIN_QUOTA_MAX`]), whose sell-out
//!   sends buyers to the event's waiting list (offers open for
//!   [`OFFER_TTL_MS`], so offers lapse during the run);
//! - two **blocking vouchers**, one per item, of [`VOUCHER_REDEMPTIONS`]
//!   redemptions each, which keep that much of each quota back.
//!
//! # What a buyer does
//!
//! Each step it picks a round (newest, previous or any, as the others do)
//! and then, by [`SEATED_SHARE`] and [`VOUCHER_SHARE`]:
//!
//! - a **seated hold**: named seats, one or two, picked at random among
//!   those a stale seat map shows free, or (a buyer racing others) among
//!   all seats of the zone ([`BLIND_SEAT_SHARE`]); or the best adjacent
//!   seats of the zone, one to three;
//! - a **voucher hold**: one ticket of an item with its voucher's code (a
//!   plain hold, or an adjacent seat);
//! - a **plain hold** of one ticket; told "sold out", it joins the waiting
//!   list ([`JOIN_SHARE`]; priority 1 with [`PRIORITY_SHARE`], else 0) and polls its entry
//!   every [`POLL_MS`], at most [`POLLS_MAX`] times. Offered, it claims the
//!   offer, leaves, or lets it lapse ([`CLAIM_SHARE`], [`LEAVE_SHARE`]);
//!   never offered in time, it leaves or walks away.
//!
//! Every hold then lapses (abandoned, short TTLs), is released
//! (`--release-ratio`), or is checked out (plain holds and claimed offers
//! are abandoned and released more often, [`PLAIN_ABANDON_SHARE`] and
//! [`PLAIN_RELEASE_SHARE`], so that the line keeps getting offers) (sometimes after its TTL: the
//! checkout re-checks seats and capacity) and paid (sometimes after the
//! payment deadline: the payment re-checks them). A buyer told "sold out"
//! cancels one of its paid orders of that round with `--cancel-ratio`, so
//! seats and tickets come back while others ask for them, and freed
//! tickets become offers to the line.
//!
//! Every command goes into the history like the others' (seated holds,
//! voucher holds, joins, leaves and claims as their own values); reads of
//! the seat map and of entries are not operations and are not recorded.

use super::{Catalog, Paid, Round, Workload, call_until_known, on_sold_out, submit_decided};
use crate::history::{Recorder, Value};
use boxoffice_client::Client;
use boxoffice_engine::domain::*;
use boxoffice_engine::node::Consistency;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seats in one row of a round's zone.
pub const SEAT_ROW_SEATS: u64 = 10;
/// Fewest rows in a round's zone.
pub const SEAT_ROWS_MIN: u64 = 2;
/// Most rows in a round's zone (100 seats: a seat map stays small to read).
pub const SEAT_ROWS_MAX: u64 = 10;
/// Smallest quota of a round's plain item, in tickets.
pub const PLAIN_QUOTA_MIN: u64 = 4;
/// Largest quota of a round's plain item, in tickets (small: it sells out
/// and the waiting list fills).
pub const PLAIN_QUOTA_MAX: u64 = 20;
/// Redemptions of each blocking voucher.
pub const VOUCHER_REDEMPTIONS: u32 = 2;
/// How long before and after setup the vouchers are valid, in ms (well past
/// the clock nemeses' hour either way).
pub const VOUCHER_WINDOW_MS: u64 = 6 * 3_600_000;
/// How long a waiting-list offer stays open, in ms (a few seconds: offers lapse in the run).
pub const OFFER_TTL_MS: u64 = 3_000;
/// Shortest and longest TTL of a hold, in ms (abandoned ones lapse in the run).
pub const HOLD_TTL_MS: (u64, u64) = (2_000, 8_000);
/// Payment TTL of an order, in ms (late payers miss it).
pub const PAYMENT_TTL_MS: u64 = 3_000;
/// How long a late payer waits after checkout, in ms (past [`PAYMENT_TTL_MS`]).
pub const LATE_PAYMENT_MS: u64 = 3_500;
/// Share of steps that are seated holds.
pub const SEATED_SHARE: f64 = 0.5;
/// Share of steps that redeem a voucher.
pub const VOUCHER_SHARE: f64 = 0.08;
/// Share of named-seat picks made blind, among all seats of the zone.
pub const BLIND_SEAT_SHARE: f64 = 0.25;
/// Most seats in one named pick.
pub const NAMED_SEATS_MAX: u32 = 2;
/// Most seats in one adjacent request.
pub const ADJACENT_SEATS_MAX: u32 = 3;
/// Share of waiting-list joins with priority 1 (the rest: 0).
pub const PRIORITY_SHARE: f64 = 0.2;
/// Share of offers claimed.
pub const CLAIM_SHARE: f64 = 0.7;
/// Share of offers left (the rest lapse unclaimed).
pub const LEAVE_SHARE: f64 = 0.15;
/// Pause between two polls of a waiting-list entry, in ms.
pub const POLL_MS: u64 = 250;
/// Most polls of one entry (about 10 s of waiting).
pub const POLLS_MAX: u32 = 40;
/// Share of seated and voucher holds abandoned (they lapse).
pub const ABANDON_SHARE: f64 = 0.1;
/// Share of plain holds and claimed offers abandoned (they lapse, and the
/// ticket goes to the line): the plain item churns, so offers keep coming.
pub const PLAIN_ABANDON_SHARE: f64 = 0.3;
/// Least share of plain holds and claimed offers released (more if
/// `--release-ratio` says so).
pub const PLAIN_RELEASE_SHARE: f64 = 0.3;
/// Share of buyers told "sold out" on the plain item who join its line.
pub const JOIN_SHARE: f64 = 0.7;
/// Share of checkouts made after the hold's TTL.
pub const LATE_CHECKOUT_SHARE: f64 = 0.1;
/// Share of payments made after the payment deadline.
pub const LATE_PAYMENT_SHARE: f64 = 0.1;

/// A voucher of a round: its code and the item it is for.
#[derive(Clone, Debug)]
pub struct RoundVoucher {
    /// The code buyers type.
    pub code: String,
    /// The item.
    pub item: ItemId,
}

/// What an inventory round has besides its items and quotas.
#[derive(Debug)]
pub struct Stock {
    /// The plain item (in a small quota, with a waiting list).
    pub plain: ItemId,
    /// The seated item.
    pub seated: ItemId,
    /// The zone of its seats.
    pub zone: String,
    /// Every seat of the zone.
    pub seats: Vec<SeatId>,
    /// Its blocking vouchers.
    pub vouchers: Vec<RoundVoucher>,
}

// Rows are named A to Z, and a block leaves plain tickets to sell.
const _: () = assert!(SEAT_ROWS_MAX <= 26 && (VOUCHER_REDEMPTIONS as u64) < PLAIN_QUOTA_MIN);

/// Rows of a round's zone for `--quota-size`.
pub fn seat_rows(quota_size: u64) -> u64 {
    (quota_size / 50).clamp(SEAT_ROWS_MIN, SEAT_ROWS_MAX)
}

/// The plain item's quota for `--quota-size`.
pub fn plain_quota(quota_size: u64) -> u64 {
    (quota_size / 10).clamp(PLAIN_QUOTA_MIN, PLAIN_QUOTA_MAX)
}

/// Open round `index` of the inventory workload: quotas, seats and vouchers
/// for its two items.
pub(super) async fn open_round(
    client: &Client,
    event: EventId,
    quota_size: u64,
    index: usize,
    (plain, seated): (ItemId, ItemId),
    settle: Duration,
    deadline: Instant,
) -> anyhow::Result<Round> {
    let rows = seat_rows(quota_size);
    let quota = |name: String, size: u64, item: ItemId| async move {
        let command = Command::CreateQuota {
            event,
            name,
            size: Some(size),
            items: vec![item],
            close_when_sold_out: false,
        };
        match submit_decided(client, command, settle, deadline).await? {
            Accepted::QuotaCreated { quota } => Ok::<_, anyhow::Error>(quota),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    let plain_quota = quota(format!("Standing {index}"), plain_quota(quota_size), plain).await?;
    let seated_quota = quota(format!("Seated {index}"), rows * SEAT_ROW_SEATS, seated).await?;
    let zone = format!("Stalls {index}");
    let mut seats = Vec::new();
    for row in 0..rows {
        let specs =
            (1..=SEAT_ROW_SEATS).map(|label| SeatSpec { label: label.to_string(), item: seated }).collect();
        let name = char::from(b'A' + row as u8).to_string();
        let command = Command::AddSeatRow { event, zone: zone.clone(), row: name, seats: specs };
        match submit_decided(client, command, settle, deadline).await? {
            Accepted::SeatRowAdded { first_seat, count } => {
                seats.extend((first_seat.0..first_seat.0 + u64::from(count)).map(SeatId))
            }
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    // The vouchers' window is the harness's wall clock, which the leader's
    // log time follows (the clock nemeses move it by an hour at most).
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let mut vouchers = Vec::new();
    for item in [plain, seated] {
        let command = Command::CreateVoucher {
            event,
            scope: VoucherScope::Item(item),
            max_redemptions: VOUCHER_REDEMPTIONS,
            valid_from_ms: now_ms.saturating_sub(VOUCHER_WINDOW_MS),
            valid_until_ms: now_ms + VOUCHER_WINDOW_MS,
            blocks_quota: true,
        };
        match submit_decided(client, command, settle, deadline).await? {
            Accepted::VoucherCreated { code, .. } => vouchers.push(RoundVoucher { code, item }),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    let mut round = Round::new(vec![plain, seated], vec![plain_quota, seated_quota]);
    round.inventory = Some(Arc::new(Stock { plain, seated, zone, seats, vouchers }));
    Ok(round)
}

/// What one step of a buyer got: a hold to go on with, a sell-out, or nothing.
enum Got {
    /// A hold, its TTL, and whether it churns (a plain hold or a claim).
    Hold(HoldId, u64, bool),
    SoldOut,
    Nothing,
}

/// The answer to a hold: what the buyer goes on with.
fn got(outcome: Option<Outcome>, ttl_ms: u64, churn: bool) -> Got {
    match outcome {
        Some(Outcome::Accepted(Accepted::HoldLive { hold, .. } | Accepted::SeatedHoldLive { hold, .. })) => {
            Got::Hold(hold, ttl_ms, churn)
        }
        Some(Outcome::Rejected(
            Rejection::SoldOut { .. } | Rejection::Seat(SeatRejection::NoAdjacentSeats { .. }),
        )) => Got::SoldOut,
        _ => Got::Nothing,
    }
}

/// One buyer of the inventory workload; see the module documentation.
pub async fn buyer(
    client: Client,
    recorder: Arc<Recorder>,
    catalog: Arc<Catalog>,
    process: u64,
    seed: u64,
    workload: Workload,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut paid = Paid::default();
    let recorder = &*recorder;
    let buyer = Buyer { client: &client, recorder, catalog: &catalog, process, workload: &workload };
    while Instant::now() < workload.deadline {
        let (round, picked) = catalog.pick(&mut rng);
        let Some(stock) = picked.inventory.clone() else { return };
        let draw: f64 = rng.random();
        let plain = draw >= SEATED_SHARE + VOUCHER_SHARE;
        let mut step = if draw < SEATED_SHARE {
            buyer.seated(&stock, &mut rng).await
        } else if !plain {
            buyer.voucher(&stock, &mut rng).await
        } else {
            buyer.plain(&stock, &mut rng).await
        };
        if let Got::SoldOut = step {
            on_sold_out(&client, recorder, process, &workload, &mut paid, (round, &picked), &mut rng).await;
            step = if plain {
                Got::SoldOut
            } else if rng.random_bool(0.5) {
                // Told sold out on seats: the standing tickets.
                buyer.plain(&stock, &mut rng).await
            } else {
                Got::Nothing
            };
            if let Got::SoldOut = step {
                step = if rng.random_bool(JOIN_SHARE) {
                    buyer.wait_in_line(stock.plain, &mut rng).await
                } else {
                    Got::Nothing
                };
            }
        }
        if let Got::Hold(hold, ttl_ms, churn) = step
            && let Some(order) = buyer.after_hold(hold, ttl_ms, churn, &mut rng).await
        {
            paid.0.push((round, order));
        }
    }
}

/// What a buyer's steps share.
struct Buyer<'a> {
    client: &'a Client,
    recorder: &'a Recorder,
    catalog: &'a Catalog,
    process: u64,
    workload: &'a Workload,
}

impl Buyer<'_> {
    fn ttl_ms(rng: &mut StdRng) -> u64 {
        rng.random_range(HOLD_TTL_MS.0..=HOLD_TTL_MS.1)
    }

    async fn until_known(&self, command: Command, value: Value) -> Option<Outcome> {
        call_until_known(self.client, self.recorder, self.process, command, value, self.workload.deadline)
            .await
    }

    /// A seated hold: named seats (from a stale seat map, or blind), or adjacent ones.
    async fn seated(&self, stock: &Stock, rng: &mut StdRng) -> Got {
        let ttl_ms = Buyer::ttl_ms(rng);
        let zone = stock.zone.clone();
        let (choice, named, adjacent) = if rng.random_bool(0.6) {
            let count = rng.random_range(1..=NAMED_SEATS_MAX) as usize;
            let mut pool: Vec<SeatId> = Vec::new();
            if !rng.random_bool(BLIND_SEAT_SHARE)
                && let Ok(map) = self.client.seat_map(self.catalog.event, Consistency::Stale).await
            {
                pool = map
                    .iter()
                    .filter(|z| z.zone == zone)
                    .flat_map(|z| z.rows.iter().flat_map(|row| row.seats.iter()))
                    .filter(|seat| seat.status == SeatStatus::Free)
                    .map(|seat| seat.seat)
                    .collect();
            }
            if pool.len() < count {
                pool = stock.seats.clone();
            }
            let mut named = Vec::new();
            while named.len() < count {
                let seat = pool[rng.random_range(0..pool.len())];
                if !named.contains(&seat) {
                    named.push(seat);
                }
            }
            let ids = named.iter().map(|seat| seat.0).collect();
            (SeatChoice::Named(named), ids, 0)
        } else {
            let count = rng.random_range(1..=ADJACENT_SEATS_MAX);
            (SeatChoice::Adjacent { zone: zone.clone(), count, item: None }, Vec::new(), count)
        };
        let command = Command::PlaceSeatedHold {
            event: self.catalog.event,
            seats: choice,
            ttl_ms,
            voucher: None,
            buyer: None,
        };
        let value = Value::SeatedHold {
            named,
            adjacent,
            zone,
            voucher: None,
            ttl_ms,
            hold: None,
            expires_at_ms: None,
            seats: None,
        };
        got(self.until_known(command, value).await, ttl_ms, false)
    }

    /// A hold redeeming one of the round's blocking vouchers.
    async fn voucher(&self, stock: &Stock, rng: &mut StdRng) -> Got {
        let Some(voucher) = stock.vouchers.get(rng.random_range(0..stock.vouchers.len().max(1))) else {
            return Got::Nothing;
        };
        let ttl_ms = Buyer::ttl_ms(rng);
        let code = voucher.code.clone();
        let (command, value) = if voucher.item == stock.seated {
            let command = Command::PlaceSeatedHold {
                event: self.catalog.event,
                seats: SeatChoice::Adjacent { zone: stock.zone.clone(), count: 1, item: None },
                ttl_ms,
                voucher: Some(code.clone()),
                buyer: None,
            };
            let value = Value::SeatedHold {
                named: Vec::new(),
                adjacent: 1,
                zone: stock.zone.clone(),
                voucher: Some(code),
                ttl_ms,
                hold: None,
                expires_at_ms: None,
                seats: None,
            };
            (command, value)
        } else {
            let lines = vec![Line { item: voucher.item, quantity: 1 }];
            let command = Command::PlaceHoldWith {
                event: self.catalog.event,
                lines,
                ttl_ms,
                voucher: Some(code.clone()),
                buyer: None,
            };
            let value = Value::VoucherHold {
                lines: vec![(voucher.item.0, 1)],
                voucher: code,
                ttl_ms,
                hold: None,
                expires_at_ms: None,
            };
            (command, value)
        };
        got(self.until_known(command, value).await, ttl_ms, false)
    }

    /// A plain hold of one ticket.
    async fn plain(&self, stock: &Stock, rng: &mut StdRng) -> Got {
        let ttl_ms = Buyer::ttl_ms(rng);
        let item = stock.plain;
        let command =
            Command::PlaceHold { event: self.catalog.event, lines: vec![Line { item, quantity: 1 }], ttl_ms };
        let value = Value::hold(vec![(item.0, 1)], ttl_ms);
        got(self.until_known(command, value).await, ttl_ms, true)
    }

    /// Join the waiting list for one ticket of `item`, wait for an offer,
    /// and claim it, leave, or let it lapse.
    async fn wait_in_line(&self, item: ItemId, rng: &mut StdRng) -> Got {
        let priority = u32::from(rng.random_bool(PRIORITY_SHARE));
        let command = Command::JoinWaitingList { event: self.catalog.event, item, priority, buyer: None };
        let value = Value::JoinWaitingList { item: item.0, priority, entry: None };
        let Some(Outcome::Accepted(Accepted::WaitingListJoined { entry, .. })) =
            self.until_known(command, value).await
        else {
            return Got::Nothing;
        };
        for _ in 0..POLLS_MAX {
            if Instant::now() >= self.workload.deadline {
                return Got::Nothing;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
            let Ok(view) = self.client.waiting_list_entry(entry, Consistency::Linearizable).await else {
                continue;
            };
            match view.position {
                EntryPosition::Waiting { .. } => continue,
                EntryPosition::Offered { .. } => {
                    let draw: f64 = rng.random();
                    if draw < CLAIM_SHARE {
                        let ttl_ms = Buyer::ttl_ms(rng);
                        let command = Command::ClaimOffer { entry, ttl_ms };
                        let value =
                            Value::ClaimOffer { entry: entry.0, ttl_ms, hold: None, expires_at_ms: None };
                        return got(self.until_known(command, value).await, ttl_ms, true);
                    }
                    if draw < CLAIM_SHARE + LEAVE_SHARE {
                        self.leave(entry).await;
                    }
                    return Got::Nothing; // or the offer lapses
                }
                EntryPosition::OfferLapsed { .. } | EntryPosition::Claimed { .. } | EntryPosition::Left => {
                    return Got::Nothing;
                }
            }
        }
        // Never offered in time: leave, or walk away and stay in line.
        if rng.random_bool(0.5) {
            self.leave(entry).await;
        }
        Got::Nothing
    }

    async fn leave(&self, entry: EntryId) {
        let value = Value::LeaveWaitingList { entry: entry.0 };
        self.until_known(Command::LeaveWaitingList { entry }, value).await;
    }

    /// Abandon, release, or check out and pay a hold; the order if paid.
    async fn after_hold(&self, hold: HoldId, ttl_ms: u64, churn: bool, rng: &mut StdRng) -> Option<OrderId> {
        let (abandon, release) = if churn {
            (PLAIN_ABANDON_SHARE, self.workload.release_ratio.max(PLAIN_RELEASE_SHARE))
        } else {
            (ABANDON_SHARE, self.workload.release_ratio)
        };
        if rng.random_bool(abandon) {
            return None; // it lapses
        }
        if rng.random_bool(release) {
            let (command, value) = (Command::ReleaseHold { hold }, Value::Release { hold: hold.0 });
            self.until_known(command, value).await;
            return None;
        }
        if rng.random_bool(LATE_CHECKOUT_SHARE) {
            tokio::time::sleep(Duration::from_millis(ttl_ms + 200)).await; // the checkout re-checks
        }
        let command = Command::Checkout { hold, payment_ttl_ms: PAYMENT_TTL_MS };
        let value = Value::checkout(hold.0, PAYMENT_TTL_MS);
        let Some(Outcome::Accepted(Accepted::OrderPlaced { order, .. })) =
            self.until_known(command, value).await
        else {
            return None;
        };
        if rng.random_bool(LATE_PAYMENT_SHARE) {
            tokio::time::sleep(Duration::from_millis(LATE_PAYMENT_MS)).await; // the payment re-checks
        }
        let value = Value::Pay { order: order.0, refund_owed: None };
        let outcome = self.until_known(Command::Pay { order }, value).await;
        matches!(outcome, Some(Outcome::Accepted(Accepted::OrderPaid { .. }))).then_some(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_sized_from_the_quota_size_within_bounds() {
        assert_eq!(seat_rows(100), 2);
        assert_eq!(seat_rows(400), 8);
        assert_eq!(seat_rows(10), SEAT_ROWS_MIN);
        assert_eq!(seat_rows(100_000), SEAT_ROWS_MAX);
        assert_eq!(plain_quota(100), 10);
        assert_eq!(plain_quota(1), PLAIN_QUOTA_MIN);
        assert_eq!(plain_quota(100_000), PLAIN_QUOTA_MAX);
    }
}
