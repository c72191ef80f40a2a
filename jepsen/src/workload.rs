//! The clients of a run: what they buy, and how they keep the quotas
//! contended for the whole schedule.
//!
//! # Why rounds, releases and cancels
//!
//! A fault can only break an answer that depends on the state. A quota that
//! sold out before the first fault answers "sold out" to everything after,
//! and no partition or crash can make that wrong: an early review found the
//! suggested runs sold out 0.5 s into a 300 s schedule, before the first
//! fault. So the workload keeps buyers at the edge of capacity all the time:
//!
//! - **Rounds**: every `--new-quota-secs`, once the newest round has sold
//!   out (a buyer was told "sold out" there), a new round opens: a new hot
//!   quota of `--quota-size` tickets with its own item (flash), a new
//!   weekend (three items, two overlapping quotas; mixed), or a seated
//!   zone and a small item with a waiting list and blocking vouchers
//!   ([`inventory`], which says why). Waiting for the
//!   sell-out keeps a slow workload from spreading thin over quotas that
//!   never fill. Buyers go to the newest round ([`NEWEST_ROUND_SHARE`]: it
//!   fills), to the one before ([`PREVIOUS_ROUND_SHARE`]: sold out, it
//!   regains tickets and is contended at the edge), or to any.
//! - **Capacity comes back**: a share of holds is released instead of checked
//!   out (`--release-ratio`), and a buyer told "sold out" cancels one of its
//!   own paid orders of that round with probability `--cancel-ratio`, so a
//!   sold-out quota regains tickets exactly when others are asking for them.
//!   Mixed carts also lapse (short TTLs, abandoned carts, unpaid orders).
//!
//! # Hostile clients
//!
//! `--hostile N` processes (one by default) send, every
//! [`HOSTILE_PAUSE_MS`], one of: a `SubmitBatch` with more commands than a
//! batch may carry; a batch of names longer than the domain allows, several
//! MB in all; or a command under a request id that an honest client already
//! used for a *different* command (a `Pay` id reused for a hold, a `Checkout`
//! id reused to check out another hold, a hold id reused for other lines).
//! They are recorded like every other operation; the `hostile_batches` and
//! `reused_ids` checkers judge them.
//!
//! # Times
//!
//! An operation starts, for the checkers, when its first attempt that may
//! have reached a server was sent, not when the call began: see
//! `Client::submit_with_id_timed` and [`Recorder::complete`]. Calls of the
//! odd-numbered processes go through the client's coalescer instead
//! ([`goes_through_coalescer`]), where that time is not seen per call: they
//! start when the call began.

pub mod inventory;

use crate::history::{NOTE_PREFIX, Op, Phase, Recorder, Value};
use boxoffice_client::{Client, ClientError, Submitted, Timed, new_request_id};
use boxoffice_engine::domain::limits::NAME_BYTES_MAX;
use boxoffice_engine::domain::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Default seconds between two rounds (a new hot quota or weekend).
pub const NEW_QUOTA_EVERY_SECS_DEFAULT: u64 = 15;
/// Share of a buyer's choices that go to the newest round (filling it).
pub const NEWEST_ROUND_SHARE: f64 = 0.5;
/// Share that goes to the round before it (sold out, regaining tickets).
pub const PREVIOUS_ROUND_SHARE: f64 = 0.3;
/// TTL of a flash hold, in ms (longer than a run: flash holds end by release or checkout).
pub const FLASH_HOLD_TTL_MS: u64 = 3_600_000;
/// Payment TTL of a flash order, in ms.
pub const FLASH_PAYMENT_TTL_MS: u64 = 3_600_000;
/// TTL of a long-lived mixed hold, in ms.
pub const MIXED_HOLD_TTL_MS: u64 = 600_000;
/// Shortest and longest TTL of a short-lived mixed hold, in ms (these lapse in the run).
pub const MIXED_SHORT_TTL_MS: (u64, u64) = (1_000, 4_000);
/// Payment TTL of a mixed order, in ms (late payers miss it).
pub const MIXED_PAYMENT_TTL_MS: u64 = 2_000;
/// How long a late mixed payer waits after checkout, in ms (past [`MIXED_PAYMENT_TTL_MS`]).
pub const MIXED_LATE_PAYMENT_MS: u64 = 2_500;
/// Pause after a sold-out answer, in ms.
pub const SOLD_OUT_PAUSE_MS: u64 = 100;
/// Most tries of one request id while its outcome is unknown (checkout, pay, release, cancel).
pub const TRIES_MAX: u32 = 5;
/// Pause between two actions of a hostile client, in ms.
pub const HOSTILE_PAUSE_MS: u64 = 2_000;
/// Most commands in one `SubmitBatch`, as the server enforces it
/// (`BATCH_REQUEST_COMMANDS_MAX` in `server/src/services.rs`).
pub const BATCH_REQUEST_COMMANDS_MAX: usize = 1_000;
/// Most commands an oversized batch has beyond [`BATCH_REQUEST_COMMANDS_MAX`].
pub const OVERSIZED_BATCH_EXTRA_MAX: usize = 200;
/// Bytes of names a long-names batch carries in all (several MB, under the
/// server's 16 MiB message limit).
pub const LONG_NAMES_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Longest name in a long-names batch, in bytes (each command stays under the
/// server's 64 KiB command limit, so the name is what must be refused).
pub const LONG_NAME_BYTES_MAX: usize = 8 * 1024;
const _: () = assert!(NAME_BYTES_MAX < LONG_NAME_BYTES_MAX && LONG_NAME_BYTES_MAX * 4 < 64 * 1024);
/// History entries a hostile client looks back through for an id to reuse.
pub const RECENT_OPS_SCANNED: usize = 4_096;
/// Longest a round's setup may take during the run, in seconds.
pub const ROUND_SETUP_SECS: u64 = 30;
/// How often the round opener looks whether the newest round sold out, in ms.
pub const SOLD_OUT_POLL_MS: u64 = 200;
/// Most tickets on the first line of a mixed cart.
pub const MIXED_LINE_QUANTITY_MAX: u32 = 4;
/// Share of paid mixed orders whose tickets are scanned at the door.
pub const MIXED_CHECKIN_SHARE: f64 = 0.25;

/// What the workload sells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One hot item per round, in one quota; hold 1, check out, pay.
    Flash,
    /// Saturday, Sunday and a weekend pass per round, quotas Saturday =
    /// {Saturday, Weekend} and Sunday = {Sunday, Weekend}; carts, lapses,
    /// late payments, check-ins.
    Mixed,
    /// Per round, a seated zone and a small plain item with a waiting list
    /// and blocking vouchers: seated holds (named and adjacent), voucher
    /// redemptions, joins, offers claimed, let lapse or left (see
    /// [`inventory`]).
    Inventory,
}

/// One round: its items and quotas.
#[derive(Clone, Debug)]
pub struct Round {
    /// Flash: the hot item. Mixed: Saturday, Sunday, Weekend.
    pub items: Vec<ItemId>,
    /// Its quotas.
    pub quotas: Vec<QuotaId>,
    /// Set once a buyer was told "sold out" in this round.
    sold_out: Arc<AtomicBool>,
    /// Inventory: the seats, vouchers and waiting-list item.
    pub inventory: Option<Arc<inventory::Stock>>,
}

impl Round {
    fn new(items: Vec<ItemId>, quotas: Vec<QuotaId>) -> Round {
        Round { items, quotas, sold_out: Arc::new(AtomicBool::new(false)), inventory: None }
    }

    /// True once a buyer was told "sold out" in this round.
    pub fn sold_out(&self) -> bool {
        self.sold_out.load(Ordering::Relaxed)
    }
}

/// Everything the clients share: the event, the door, and the rounds so far.
pub struct Catalog {
    /// The event everything belongs to.
    pub event: EventId,
    /// The check-in list (mixed).
    pub list: CheckinListId,
    /// What is sold.
    pub kind: Kind,
    /// Tickets per quota.
    pub quota_size: u64,
    rounds: Mutex<Vec<Round>>,
}

impl Catalog {
    /// The rounds opened so far.
    pub fn rounds(&self) -> Vec<Round> {
        self.rounds.lock().expect("rounds lock").clone()
    }

    /// A round to buy from, with its index: the newest, the one before, or any.
    fn pick(&self, rng: &mut StdRng) -> (usize, Round) {
        let rounds = self.rounds.lock().expect("rounds lock");
        let newest = rounds.len() - 1;
        let draw: f64 = rng.random();
        let index = if draw < NEWEST_ROUND_SHARE {
            newest
        } else if draw < NEWEST_ROUND_SHARE + PREVIOUS_ROUND_SHARE {
            newest.saturating_sub(1)
        } else {
            rng.random_range(0..=newest)
        };
        (index, rounds[index].clone())
    }
}

/// Submit `command` under one request id until it is decided (retrying
/// unknown outcomes with the same id), pausing `settle` after it; accepted or an error.
async fn submit_decided(
    client: &Client,
    command: Command,
    settle: Duration,
    deadline: Instant,
) -> anyhow::Result<Accepted> {
    let request_id = new_request_id();
    loop {
        let result = client.submit_with_id(request_id, command.clone()).await;
        tokio::time::sleep(settle).await;
        match result {
            Ok(Submitted { outcome: Outcome::Accepted(accepted), .. }) => return Ok(accepted),
            Ok(Submitted { outcome: Outcome::Rejected(rejection), .. }) => {
                anyhow::bail!("{command:?} rejected: {rejection:?}")
            }
            Err(ClientError::Unknown(_) | ClientError::NotApplied(_)) if Instant::now() < deadline => {}
            Err(e) => anyhow::bail!("{command:?}: {e}"),
        }
    }
}

/// Open round `index`: its items and quotas (see [`Kind`]).
async fn open_round(
    client: &Client,
    event: EventId,
    kind: Kind,
    size: u64,
    index: usize,
    settle: Duration,
    deadline: Instant,
) -> anyhow::Result<Round> {
    let item = |name: String| async move {
        let command = Command::CreateItem { event, name, price_cents: 1_000 };
        match submit_decided(client, command, settle, deadline).await? {
            Accepted::ItemCreated { item } => Ok::<_, anyhow::Error>(item),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    let quota = |name: String, items: Vec<ItemId>| async move {
        let command =
            Command::CreateQuota { event, name, size: Some(size), items, close_when_sold_out: false };
        match submit_decided(client, command, settle, deadline).await? {
            Accepted::QuotaCreated { quota } => Ok::<_, anyhow::Error>(quota),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    };
    match kind {
        Kind::Flash => {
            let hot = item(format!("Hot {index}")).await?;
            let quota = quota(format!("Hot {index}"), vec![hot]).await?;
            Ok(Round::new(vec![hot], vec![quota]))
        }
        Kind::Mixed => {
            let saturday = item(format!("Saturday {index}")).await?;
            let sunday = item(format!("Sunday {index}")).await?;
            let weekend = item(format!("Weekend {index}")).await?;
            let sat = quota(format!("Saturday+ {index}"), vec![saturday, weekend]).await?;
            let sun = quota(format!("Sunday+ {index}"), vec![sunday, weekend]).await?;
            Ok(Round::new(vec![saturday, sunday, weekend], vec![sat, sun]))
        }
        Kind::Inventory => {
            let plain = item(format!("Standing {index}")).await?;
            let seated = item(format!("Seated {index}")).await?;
            inventory::open_round(client, event, size, index, (plain, seated), settle, deadline).await
        }
    }
}

/// Organizer, event, check-in list and the first round, before the run.
pub async fn setup(
    client: &Client,
    kind: Kind,
    quota_size: u64,
    settle: Duration,
) -> anyhow::Result<Catalog> {
    let deadline = Instant::now() + Duration::from_secs(ROUND_SETUP_SECS);
    let command =
        Command::CreateOrganizer { slug: "jepsen".into(), name: "Jepsen".into(), secret_key: [3; 32] };
    let Accepted::OrganizerCreated { organizer } = submit_decided(client, command, settle, deadline).await?
    else {
        anyhow::bail!("no organizer")
    };
    let command = Command::CreateEvent { organizer, slug: "sale".into(), name: "Flash sale".into() };
    let Accepted::EventCreated { event } = submit_decided(client, command, settle, deadline).await? else {
        anyhow::bail!("no event")
    };
    let command = Command::CreateCheckinList {
        event,
        name: "Gate".into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: false,
    };
    let Accepted::CheckinListCreated { list } = submit_decided(client, command, settle, deadline).await?
    else {
        anyhow::bail!("no check-in list")
    };
    if kind == Kind::Inventory {
        let command = Command::ConfigureWaitingList { event, offer_ttl_ms: inventory::OFFER_TTL_MS };
        submit_decided(client, command, settle, deadline).await?;
    }
    let first = open_round(client, event, kind, quota_size, 0, settle, deadline).await?;
    Ok(Catalog { event, list, kind, quota_size, rounds: Mutex::new(vec![first]) })
}

/// Open a new round every `every`, once the newest has sold out, until
/// `deadline`; a round that cannot be opened (the cluster is down) is noted
/// in the history and skipped.
pub async fn open_rounds(
    client: Client,
    recorder: Arc<Recorder>,
    catalog: Arc<Catalog>,
    every: Duration,
    deadline: Instant,
    settle: Duration,
) {
    if every.is_zero() {
        return;
    }
    let mut index = 1;
    while Instant::now() + every < deadline {
        tokio::time::sleep(every).await;
        while !catalog.rounds.lock().expect("rounds lock").last().is_some_and(Round::sold_out) {
            if Instant::now() + every >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(SOLD_OUT_POLL_MS)).await;
        }
        let wait = (Instant::now() + Duration::from_secs(ROUND_SETUP_SECS)).min(deadline);
        match open_round(&client, catalog.event, catalog.kind, catalog.quota_size, index, settle, wait).await
        {
            Ok(round) => catalog.rounds.lock().expect("rounds lock").push(round),
            Err(e) => recorder.nemesis(format!("{NOTE_PREFIX}round {index} not opened: {e:#}")),
        }
        index += 1;
    }
}

/// What every client shares.
#[derive(Clone)]
pub struct Workload {
    /// The clients stop here.
    pub deadline: Instant,
    /// Share of live holds released instead of checked out.
    pub release_ratio: f64,
    /// Chance that a buyer told "sold out" cancels one of its paid orders of that round.
    pub cancel_ratio: f64,
}

/// Fill in what an accepted answer says about the command.
fn answered(value: &Value, outcome: &Outcome) -> Value {
    match (value, outcome) {
        (
            Value::Hold { lines, ttl_ms, .. },
            Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms }),
        ) => Value::Hold {
            lines: lines.clone(),
            ttl_ms: *ttl_ms,
            hold: Some(hold.0),
            expires_at_ms: Some(*expires_at_ms),
        },
        (
            Value::Checkout { hold, payment_ttl_ms, .. },
            Outcome::Accepted(Accepted::OrderPlaced { order, payment_deadline_ms, .. }),
        ) => Value::Checkout {
            hold: *hold,
            payment_ttl_ms: *payment_ttl_ms,
            order: Some(order.0),
            payment_deadline_ms: Some(*payment_deadline_ms),
        },
        (Value::Pay { order, .. }, Outcome::Accepted(accepted)) => Value::Pay {
            order: *order,
            refund_owed: Some(matches!(accepted, Accepted::PaymentRefundOwed { .. })),
        },
        (
            Value::SeatedHold { named, adjacent, zone, voucher, ttl_ms, .. },
            Outcome::Accepted(Accepted::SeatedHoldLive { hold, expires_at_ms, seats }),
        ) => Value::SeatedHold {
            named: named.clone(),
            adjacent: *adjacent,
            zone: zone.clone(),
            voucher: voucher.clone(),
            ttl_ms: *ttl_ms,
            hold: Some(hold.0),
            expires_at_ms: Some(*expires_at_ms),
            seats: Some(seats.iter().map(|seat| seat.0).collect()),
        },
        (
            Value::VoucherHold { lines, voucher, ttl_ms, .. },
            Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms }),
        ) => Value::VoucherHold {
            lines: lines.clone(),
            voucher: voucher.clone(),
            ttl_ms: *ttl_ms,
            hold: Some(hold.0),
            expires_at_ms: Some(*expires_at_ms),
        },
        (
            Value::ClaimOffer { entry, ttl_ms, .. },
            Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms }),
        ) => Value::ClaimOffer {
            entry: *entry,
            ttl_ms: *ttl_ms,
            hold: Some(hold.0),
            expires_at_ms: Some(*expires_at_ms),
        },
        (
            Value::JoinWaitingList { item, priority, .. },
            Outcome::Accepted(Accepted::WaitingListJoined { entry, .. }),
        ) => Value::JoinWaitingList { item: *item, priority: *priority, entry: Some(entry.0) },
        _ => value.clone(),
    }
}

/// The history phase and outcome text of a client error: `fail` if the
/// command certainly did not take effect, `info` if it may have.
fn error_phase(error: &ClientError) -> Phase {
    match error {
        ClientError::Unknown(_) => Phase::Info,
        ClientError::NotApplied(_) | ClientError::Invalid(_) | ClientError::NotFound(_) => Phase::Fail,
    }
}

/// True if this process's commands go through the client's coalescer
/// (`Client::submit_with_id`, batched with other processes' concurrent
/// calls into `SubmitBatch` requests): the odd-numbered ones. The even ones
/// send one request per command, so faults meet both paths in every run.
pub fn goes_through_coalescer(process: u64) -> bool {
    process % 2 == 1
}

/// Submit with one request id, recording invoke and completion; the outcome if decided.
pub async fn call(
    client: &Client,
    recorder: &Recorder,
    process: u64,
    request_id: RequestId,
    command: Command,
    value: Value,
) -> Option<Outcome> {
    let invoked = recorder.invoke(process, request_id.to_string(), value.clone());
    let timed = if goes_through_coalescer(process) {
        // The batch's sends are not seen per call: the interval starts at
        // the invocation, which only widens it.
        Timed { result: client.submit_with_id(request_id, command).await, first_sent: None }
    } else {
        // The invocation counts from the first attempt that may have
        // reached a server, not from a refused connection before it.
        client.submit_with_id_timed(request_id, command).await
    };
    match timed.result {
        Ok(submitted) => {
            let phase = if submitted.outcome.is_accepted() { Phase::Ok } else { Phase::Fail };
            let label = Some(submitted.outcome.label().to_string());
            recorder.complete(invoked, phase, label, answered(&value, &submitted.outcome), timed.first_sent);
            Some(submitted.outcome)
        }
        Err(e) => {
            recorder.complete(invoked, error_phase(&e), Some(e.to_string()), value, timed.first_sent);
            None
        }
    }
}

/// [`call`] again with the same request id while the outcome is unknown, at most [`TRIES_MAX`] times.
async fn call_until_known(
    client: &Client,
    recorder: &Recorder,
    process: u64,
    command: Command,
    value: Value,
    deadline: Instant,
) -> Option<Outcome> {
    let id = new_request_id();
    for _ in 0..TRIES_MAX {
        let outcome = call(client, recorder, process, id, command.clone(), value.clone()).await;
        if outcome.is_some() || Instant::now() >= deadline {
            return outcome;
        }
    }
    None
}

/// A buyer's paid orders, by round, to cancel when a round is sold out.
#[derive(Default)]
struct Paid(Vec<(usize, OrderId)>);

impl Paid {
    /// Take one paid order of `round`, if any.
    fn take(&mut self, round: usize, rng: &mut StdRng) -> Option<OrderId> {
        let of_round: Vec<usize> = (0..self.0.len()).filter(|&k| self.0[k].0 == round).collect();
        (!of_round.is_empty()).then(|| self.0.swap_remove(of_round[rng.random_range(0..of_round.len())]).1)
    }
}

/// Told "sold out" on `round`: maybe cancel one of our paid orders there (capacity comes back).
async fn on_sold_out(
    client: &Client,
    recorder: &Recorder,
    process: u64,
    workload: &Workload,
    paid: &mut Paid,
    (round, sold_out): (usize, &Round),
    rng: &mut StdRng,
) {
    sold_out.sold_out.store(true, Ordering::Relaxed);
    if rng.random_bool(workload.cancel_ratio)
        && let Some(order) = paid.take(round, rng)
    {
        let value = Value::Cancel { order: order.0 };
        let command = Command::CancelOrder { order };
        call_until_known(client, recorder, process, command, value, workload.deadline).await;
    }
    tokio::time::sleep(Duration::from_millis(SOLD_OUT_PAUSE_MS)).await;
}

/// A flash buyer: hold one ticket of a round's hot item (sometimes resending
/// the same request id on purpose), then release it or check out and pay;
/// told "sold out", maybe cancel a paid order of that round.
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
    while Instant::now() < workload.deadline {
        let (round, picked) = catalog.pick(&mut rng);
        let item = picked.items[0];
        let id = new_request_id();
        let command = Command::PlaceHold {
            event: catalog.event,
            lines: vec![Line { item, quantity: 1 }],
            ttl_ms: FLASH_HOLD_TTL_MS,
        };
        let value = Value::hold(vec![(item.0, 1)], FLASH_HOLD_TTL_MS);
        let mut outcome = call(&client, recorder, process, id, command.clone(), value.clone()).await;
        if outcome.is_none() || rng.random_bool(0.2) {
            // A retry (unknown), or a deliberate one: must return the original outcome.
            outcome = call(&client, recorder, process, id, command, value).await.or(outcome);
        }
        let hold = match outcome {
            Some(Outcome::Accepted(Accepted::HoldLive { hold, .. })) => hold,
            Some(Outcome::Rejected(Rejection::SoldOut { .. })) => {
                on_sold_out(&client, recorder, process, &workload, &mut paid, (round, &picked), &mut rng)
                    .await;
                continue;
            }
            _ => continue,
        };
        if rng.random_bool(workload.release_ratio) {
            let (command, value) = (Command::ReleaseHold { hold }, Value::Release { hold: hold.0 });
            call_until_known(&client, recorder, process, command, value, workload.deadline).await;
            continue;
        }
        let command = Command::Checkout { hold, payment_ttl_ms: FLASH_PAYMENT_TTL_MS };
        let value = Value::checkout(hold.0, FLASH_PAYMENT_TTL_MS);
        let Some(Outcome::Accepted(Accepted::OrderPlaced { order, .. })) =
            call_until_known(&client, recorder, process, command, value, workload.deadline).await
        else {
            continue;
        };
        let value = Value::Pay { order: order.0, refund_owed: None };
        let outcome =
            call_until_known(&client, recorder, process, Command::Pay { order }, value, workload.deadline)
                .await;
        if matches!(outcome, Some(Outcome::Accepted(Accepted::OrderPaid { .. }))) {
            paid.0.push((round, order));
        }
    }
}

/// A mixed shopper: a cart of one or two lines across a round's overlapping
/// quotas, sometimes short-lived (it lapses), sometimes abandoned or
/// released; a checkout with a short payment deadline, paid on time or late
/// (then capacity is re-checked); the tickets of some orders scanned twice
/// (the second is refused), once with a repeated nonce; told "sold out",
/// maybe cancel a paid order of that round.
pub async fn shopper(
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
    while Instant::now() < workload.deadline {
        let (round, picked) = catalog.pick(&mut rng);
        let items = &picked.items;
        let mut lines: Vec<(u64, u32)> =
            vec![(items[rng.random_range(0..3)].0, rng.random_range(1..=MIXED_LINE_QUANTITY_MAX))];
        if rng.random_bool(0.3) {
            let other = items[rng.random_range(0..3)].0;
            if other != lines[0].0 {
                lines.push((other, 1));
            }
        }
        let short = rng.random_bool(0.3);
        let ttl_ms = if short {
            rng.random_range(MIXED_SHORT_TTL_MS.0..MIXED_SHORT_TTL_MS.1)
        } else {
            MIXED_HOLD_TTL_MS
        };
        let command = Command::PlaceHold {
            event: catalog.event,
            lines: lines
                .iter()
                .map(|(item, quantity)| Line { item: ItemId(*item), quantity: *quantity })
                .collect(),
            ttl_ms,
        };
        let value = Value::hold(lines, ttl_ms);
        let hold = match call_until_known(&client, recorder, process, command, value, workload.deadline).await
        {
            Some(Outcome::Accepted(Accepted::HoldLive { hold, .. })) => hold,
            Some(Outcome::Rejected(Rejection::SoldOut { .. })) => {
                on_sold_out(&client, recorder, process, &workload, &mut paid, (round, &picked), &mut rng)
                    .await;
                continue;
            }
            _ => continue,
        };
        if rng.random_bool(0.15) {
            continue; // abandoned: the hold lapses (short ones within the run)
        }
        if rng.random_bool(workload.release_ratio) {
            let (command, value) = (Command::ReleaseHold { hold }, Value::Release { hold: hold.0 });
            call_until_known(&client, recorder, process, command, value, workload.deadline).await;
            continue;
        }
        if short && rng.random_bool(0.5) {
            tokio::time::sleep(Duration::from_millis(ttl_ms + 200)).await; // too slow: checkout re-checks
        }
        let command = Command::Checkout { hold, payment_ttl_ms: MIXED_PAYMENT_TTL_MS };
        let value = Value::checkout(hold.0, MIXED_PAYMENT_TTL_MS);
        let Some(Outcome::Accepted(Accepted::OrderPlaced { order, tickets, .. })) =
            call_until_known(&client, recorder, process, command, value, workload.deadline).await
        else {
            continue;
        };
        if rng.random_bool(0.2) {
            tokio::time::sleep(Duration::from_millis(MIXED_LATE_PAYMENT_MS)).await; // pays after the deadline
        }
        let value = Value::Pay { order: order.0, refund_owed: None };
        let outcome =
            call_until_known(&client, recorder, process, Command::Pay { order }, value, workload.deadline)
                .await;
        if !matches!(outcome, Some(Outcome::Accepted(Accepted::OrderPaid { .. }))) {
            continue;
        }
        paid.0.push((round, order));
        if !rng.random_bool(MIXED_CHECKIN_SHARE) {
            continue;
        }
        for ticket in tickets {
            let nonce = Nonce(rand::random());
            for scan in [nonce, nonce, Nonce(rand::random())] {
                let command = Command::CheckIn {
                    list: catalog.list,
                    secret: ticket.secret.clone(),
                    nonce: scan,
                    direction: Direction::Entry,
                };
                let value = Value::CheckIn {
                    list: catalog.list.0,
                    secret: ticket.secret.clone(),
                    nonce: format!("{:032x}", scan.0),
                };
                call(&client, recorder, process, new_request_id(), command, value).await;
            }
        }
    }
}

/// A request an honest client completed `ok`: its id and what it was.
#[derive(Clone, Debug)]
struct Used {
    request_id: RequestId,
    value: Value,
}

/// A command unlike `used`'s under its request id, or `None` if there is no
/// such command to make here.
fn other_command(used: &Used, event: EventId, hot: ItemId, holds: &[HoldId]) -> Option<(Command, Value)> {
    let hold_of = |item: ItemId, quantity: u32| {
        let command =
            Command::PlaceHold { event, lines: vec![Line { item, quantity }], ttl_ms: FLASH_HOLD_TTL_MS };
        (command, Value::hold(vec![(item.0, quantity)], FLASH_HOLD_TTL_MS))
    };
    match &used.value {
        // A payment's (or an inventory command's) id reused for a hold.
        Value::Pay { .. }
        | Value::Cancel { .. }
        | Value::Release { .. }
        | Value::SeatedHold { .. }
        | Value::VoucherHold { .. }
        | Value::JoinWaitingList { .. }
        | Value::LeaveWaitingList { .. }
        | Value::ClaimOffer { .. } => Some(hold_of(hot, 1)),
        // A checkout's id reused to check out another hold (or, with none, for a hold).
        Value::Checkout { hold, .. } => match holds.iter().find(|other| other.0 != *hold) {
            Some(other) => Some((
                Command::Checkout { hold: *other, payment_ttl_ms: FLASH_PAYMENT_TTL_MS },
                Value::checkout(other.0, FLASH_PAYMENT_TTL_MS),
            )),
            None => Some(hold_of(hot, 1)),
        },
        // A hold's id reused for other lines.
        Value::Hold { lines, .. } => {
            let (item, quantity) = lines.first().copied()?;
            Some(hold_of(ItemId(item), quantity % 3 + 1))
        }
        Value::CheckIn { .. } | Value::Batch { .. } | Value::Nemesis { .. } => None,
    }
}

/// A hostile client: every [`HOSTILE_PAUSE_MS`] an oversized batch, a batch of
/// long names, or a command under a request id used for another one.
pub async fn hostile(
    client: Client,
    recorder: Arc<Recorder>,
    catalog: Arc<Catalog>,
    process: u64,
    seed: u64,
    workload: Workload,
    honest: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let recorder = &*recorder;
    let mut step = 0u64;
    loop {
        let pause = Duration::from_millis(rng.random_range(HOSTILE_PAUSE_MS / 2..=HOSTILE_PAUSE_MS * 3 / 2));
        if Instant::now() + pause >= workload.deadline {
            return;
        }
        tokio::time::sleep(pause).await;
        step += 1;
        match step % 3 {
            0 => {
                let commands =
                    BATCH_REQUEST_COMMANDS_MAX + 1 + rng.random_range(0..OVERSIZED_BATCH_EXTRA_MAX);
                let names = vec!["Hostile".to_string(); commands];
                batch(&client, recorder, process, catalog.event, "oversized", names).await;
            }
            1 => {
                let length = rng.random_range(NAME_BYTES_MAX + 1..=LONG_NAME_BYTES_MAX);
                let commands = (LONG_NAMES_BATCH_BYTES / length).clamp(1, BATCH_REQUEST_COMMANDS_MAX);
                let names =
                    (0..commands).map(|k| format!("{k:08}").repeat(length / 8 + 1)[..length].to_string());
                batch(&client, recorder, process, catalog.event, "long_names", names.collect()).await;
            }
            _ => {
                let used: Vec<Used> = recorder.recent(RECENT_OPS_SCANNED, |op: &Op| {
                    let honest_ok = op.phase == Phase::Ok && op.process < honest;
                    let id = crate::checker::parse_request_id(&op.request_id)?;
                    honest_ok.then(|| Used { request_id: id, value: op.value.clone() })
                });
                let holds: Vec<HoldId> = used
                    .iter()
                    .filter_map(|u| match u.value {
                        Value::Hold { hold: Some(hold), .. } => Some(HoldId(hold)),
                        _ => None,
                    })
                    .collect();
                let Some(target) = (!used.is_empty()).then(|| used[rng.random_range(0..used.len())].clone())
                else {
                    continue;
                };
                let hot = catalog.rounds().last().map(|round| round.items[0]).expect("a round");
                if let Some((command, value)) = other_command(&target, catalog.event, hot, &holds) {
                    call(&client, recorder, process, target.request_id, command, value).await;
                }
            }
        }
    }
}

/// Send one hostile batch of `CreateItem`s named `names`, recorded as one
/// operation whose request id is the first of the batch's consecutive ids.
async fn batch(
    client: &Client,
    recorder: &Recorder,
    process: u64,
    event: EventId,
    why: &str,
    names: Vec<String>,
) {
    let first = RequestId(rand::random::<u128>() >> 1);
    let bytes = names.iter().map(String::len).sum::<usize>() as u64;
    let value = Value::Batch { why: why.into(), commands: names.len() as u64, bytes };
    let commands: Vec<(RequestId, Command)> = names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            (RequestId(first.0 + k as u128), Command::CreateItem { event, name, price_cents: 100 })
        })
        .collect();
    let invoked = recorder.invoke(process, first.to_string(), value.clone());
    match client.submit_batch(commands).await {
        Ok(results) => {
            // Each command has its own result: an outcome, or why it has none.
            let mut labels: std::collections::BTreeMap<&str, usize> = Default::default();
            for result in &results {
                let label = match result {
                    Ok(submitted) => submitted.outcome.label(),
                    Err(ClientError::Unknown(_)) => "unknown",
                    Err(ClientError::NotApplied(_)) => "not_applied",
                    Err(ClientError::Invalid(_)) => "invalid",
                    Err(ClientError::NotFound(_)) => "not_found",
                };
                *labels.entry(label).or_default() += 1;
            }
            let listed: Vec<String> = labels.iter().map(|(label, n)| format!("{n} {label}")).collect();
            let accepted = results.iter().any(|r| r.as_ref().is_ok_and(|s| s.outcome.is_accepted()));
            let unknown = results.iter().any(|r| matches!(r, Err(ClientError::Unknown(_))));
            let phase = if accepted {
                Phase::Ok
            } else if unknown {
                Phase::Info
            } else {
                Phase::Fail
            };
            recorder.complete(invoked, phase, Some(format!("answered: {}", listed.join(", "))), value, None);
        }
        Err(e) => recorder.complete(invoked, error_phase(&e), Some(e.to_string()), value, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hostile_reuse_is_a_different_command() {
        let event = EventId(1);
        let hot = ItemId(2);
        let holds = [HoldId(10), HoldId(11)];
        let used = |value: Value| Used { request_id: RequestId(5), value };
        let answered_hold =
            Value::Hold { lines: vec![(2, 1)], ttl_ms: Some(9), hold: Some(10), expires_at_ms: Some(3) };
        for value in [
            Value::Pay { order: 4, refund_owed: Some(false) },
            Value::Checkout { hold: 10, payment_ttl_ms: Some(9), order: Some(4), payment_deadline_ms: None },
            answered_hold,
            Value::Cancel { order: 4 },
            Value::Release { hold: 10 },
        ] {
            let (_, other) = other_command(&used(value.clone()), event, hot, &holds).expect("a command");
            assert_ne!(other.inputs(), value.inputs(), "{value:?}");
        }
        let checkout = Value::checkout(10, 9);
        let (command, _) = other_command(&used(checkout), event, hot, &holds).unwrap();
        assert!(matches!(command, Command::Checkout { hold: HoldId(11), .. }), "{command:?}");
    }

    #[test]
    fn a_buyer_cancels_only_orders_of_the_sold_out_round() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut paid = Paid(vec![(0, OrderId(1)), (1, OrderId(2)), (0, OrderId(3))]);
        assert_eq!(paid.take(1, &mut rng), Some(OrderId(2)));
        assert_eq!(paid.take(1, &mut rng), None);
        let mut left = vec![paid.take(0, &mut rng).unwrap(), paid.take(0, &mut rng).unwrap()];
        left.sort();
        assert_eq!(left, [OrderId(1), OrderId(3)]);
    }

    #[test]
    fn long_names_break_only_the_name_limit() {
        let length = LONG_NAME_BYTES_MAX;
        let commands = (LONG_NAMES_BATCH_BYTES / length).clamp(1, BATCH_REQUEST_COMMANDS_MAX);
        assert!(commands <= BATCH_REQUEST_COMMANDS_MAX);
        assert!(commands * length >= 2 * 1024 * 1024, "several MB in all");
    }

    #[test]
    fn errors_that_certainly_did_nothing_are_failures() {
        assert_eq!(error_phase(&ClientError::Unknown("timeout".into())), Phase::Info);
        assert_eq!(error_phase(&ClientError::Invalid("too big".into())), Phase::Fail);
        assert_eq!(error_phase(&ClientError::NotApplied("no leader".into())), Phase::Fail);
        assert_eq!(ClientError::Invalid("x".into()).to_string(), "invalid request: x");
    }
}
