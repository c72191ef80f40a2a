//! No seat sold twice: at no moment of log time do two holders have the
//! same seat.
//!
//! A seat is had by a hold while the hold is live (placed, not released,
//! checked out or expired, and before its expiry), and by an order while it
//! is pending before its payment deadline, or paid. The checker replays the
//! final event log with a replay of its own (it never calls the engine's
//! `decide` or `State::evolve`, which is where a bug would live) and looks
//! at every moment a holder starts to have seats:
//!
//! - a `SeatedHoldPlaced` (the hold has its seats from this record on);
//! - an `OrderPlaced` of a hold that had lapsed (a live hold's order only
//!   carries on what the hold had; a lapsed one takes its seats again);
//! - an `OrderPaid` of an order past its deadline (a late payment takes the
//!   seats again).
//!
//! At each, no *other* holder of any of those seats may have them at the
//! record's log time. Holders lose seats only by time or by events, and
//! gain them only at those three, so checking there covers every moment.
//!
//! From the history: every seated hold a client was told is live (`ok`)
//! was placed in the log for the same request, under the same hold id,
//! with the same seats in the same order.

use super::{FinalState, Problems, Verdict, is_client, parse_request_id, stat};
use crate::history::{Op, Phase, Value};
use boxoffice_engine::domain::{Event, HoldId, OrderId, Record, RequestId, SeatId};
use std::collections::{BTreeMap, BTreeSet};

const NAME: &str = "no_double_seat";
const WHAT: &str = "No seat has two holders (live hold, pending order before its deadline, or paid order) at \
                    once, by a replay of the final log of its own; every acknowledged seated hold has the \
                    seats the log gave it.";

/// Check the invariant; see the module documentation.
pub fn check(history: &[Op], final_state: &FinalState) -> Verdict {
    let mut problems = Problems::default();
    let (mut stats, placed) = replay(&final_state.records, &mut problems);
    stats.extend(acknowledged(history, &placed, &mut problems));
    problems.verdict(NAME, WHAT, stats)
}

/// Who has seats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Hold(HoldId),
    Order(OrderId),
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Hold(hold) => write!(f, "{hold}"),
            Holder::Order(order) => write!(f, "{order}"),
        }
    }
}

/// Where a seated hold or order is in its life, as far as seats go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    /// Placed, not yet released, checked out or recorded expired; lives until then.
    Hold { until_ms: u64 },
    /// Pending; has its seats until the payment deadline.
    Pending { until_ms: u64 },
    /// Paid: has its seats for good (until canceled).
    Paid,
    /// Released, checked out, expired or canceled: has nothing.
    Over,
}

impl Life {
    fn has_seats_at(self, now_ms: u64) -> bool {
        match self {
            Life::Hold { until_ms } | Life::Pending { until_ms } => until_ms > now_ms,
            Life::Paid => true,
            Life::Over => false,
        }
    }
}

#[derive(Default)]
struct Seats {
    /// Every holder that ever had seats: its seats and its life.
    holders: BTreeMap<Holder, (Vec<SeatId>, Life)>,
    /// For each seat, every holder that ever had it.
    of_seat: BTreeMap<SeatId, BTreeSet<Holder>>,
    /// Holds by id, for their orders.
    order_hold: BTreeMap<OrderId, HoldId>,
}

impl Seats {
    /// `holder` starts to have `seats` at `now_ms`: no one else may have any of them then.
    fn take(
        &mut self,
        holder: Holder,
        seats: &[SeatId],
        now_ms: u64,
        record: &Record,
        problems: &mut Problems,
    ) -> usize {
        let mut conflicts = 0;
        for seat in seats {
            let others = self.of_seat.entry(*seat).or_default();
            for other in others.iter().filter(|other| **other != holder) {
                let Some((_, life)) = self.holders.get(other) else { continue };
                if life.has_seats_at(now_ms) {
                    conflicts += 1;
                    problems.push(format!(
                        "seq {} (request {}): {seat} went to {holder} while {other} still had it ({life:?} at \
                         log time {now_ms} ms): a seat sold twice",
                        record.seq, record.request_id
                    ));
                }
            }
            others.insert(holder);
        }
        conflicts
    }

    fn set(&mut self, holder: Holder, life: Life) {
        if let Some((_, current)) = self.holders.get_mut(&holder) {
            *current = life;
        }
    }

    fn life(&self, holder: Holder) -> Option<Life> {
        self.holders.get(&holder).map(|(_, life)| *life)
    }
}

/// Where the log placed each seated hold: its request and seats.
type Placed = BTreeMap<HoldId, (u64, RequestId, Vec<SeatId>)>;

/// Replay the log's seats; the stats, and every seated hold placed.
fn replay(records: &[Record], problems: &mut Problems) -> (Vec<(String, String)>, Placed) {
    let mut seats = Seats::default();
    let mut placed = Placed::new();
    let (mut plan, mut takings, mut retakes, mut conflicts, mut orders) = (0usize, 0usize, 0usize, 0usize, 0);
    let mut contended: BTreeSet<SeatId> = BTreeSet::new();
    for record in records {
        let now_ms = record.time_ms;
        for event in &record.events {
            match event {
                Event::SeatRowAdded { seats: row, .. } => plan += row.len(),
                Event::SeatedHoldPlaced { hold, seats: held, expires_at_ms, .. } => {
                    let holder = Holder::Hold(*hold);
                    takings += held.len();
                    for seat in held {
                        if seats.of_seat.get(seat).is_some_and(|holders| !holders.is_empty()) {
                            contended.insert(*seat);
                        }
                    }
                    conflicts += seats.take(holder, held, now_ms, record, problems);
                    seats.holders.insert(holder, (held.clone(), Life::Hold { until_ms: *expires_at_ms }));
                    placed.insert(*hold, (record.seq, record.request_id, held.clone()));
                }
                Event::HoldReleased { hold } | Event::HoldExpired { hold } => {
                    seats.set(Holder::Hold(*hold), Life::Over);
                }
                Event::OrderPlaced { order, hold, payment_deadline_ms, .. } => {
                    let Some((held, life)) = seats.holders.get(&Holder::Hold(*hold)).cloned() else {
                        continue;
                    };
                    orders += 1;
                    let holder = Holder::Order(*order);
                    seats.order_hold.insert(*order, *hold);
                    seats.set(Holder::Hold(*hold), Life::Over);
                    seats
                        .holders
                        .insert(holder, (held.clone(), Life::Pending { until_ms: *payment_deadline_ms }));
                    if life.has_seats_at(now_ms) {
                        for seat in &held {
                            seats.of_seat.entry(*seat).or_default().insert(holder);
                        }
                    } else {
                        retakes += 1;
                        takings += held.len();
                        conflicts += seats.take(holder, &held, now_ms, record, problems);
                    }
                }
                Event::OrderPaid { order, .. } => {
                    let holder = Holder::Order(*order);
                    let Some(life) = seats.life(holder) else { continue };
                    if !life.has_seats_at(now_ms) {
                        let held = seats.holders[&holder].0.clone();
                        retakes += 1;
                        takings += held.len();
                        conflicts += seats.take(holder, &held, now_ms, record, problems);
                    }
                    seats.set(holder, Life::Paid);
                }
                Event::OrderExpired { order } | Event::OrderCanceled { order, .. } => {
                    seats.set(Holder::Order(*order), Life::Over);
                }
                _ => {}
            }
        }
    }
    let stats = vec![
        stat("seats in the plan", plan),
        stat("seated holds placed", placed.len()),
        stat("orders with seats", orders),
        stat("seat takings judged", takings),
        stat("takings by a lapsed hold's checkout or a late payment", retakes),
        stat("seats taken by more than one holder over the run", contended.len()),
        stat("seats sold twice", conflicts),
    ];
    (stats, placed)
}

/// Every `ok` seated hold in the history was placed in the log as told.
fn acknowledged(history: &[Op], placed: &Placed, problems: &mut Problems) -> Vec<(String, String)> {
    let by_request: BTreeMap<RequestId, HoldId> =
        placed.iter().map(|(hold, (_, request, _))| (*request, *hold)).collect();
    let mut checked = 0usize;
    for op in history.iter().filter(|op| is_client(op) && op.phase == Phase::Ok) {
        let Value::SeatedHold { hold, seats: told, .. } = &op.value else { continue };
        checked += 1;
        let request = &op.request_id;
        let id = parse_request_id(request);
        let hold = hold.map(HoldId).or_else(|| id.and_then(|id| by_request.get(&id).copied()));
        let Some((hold, (seq, placed_for, seats))) = hold.and_then(|hold| placed.get_key_value(&hold)) else {
            problems.push(format!(
                "request {request}: a seated hold was acknowledged (ok) but the log placed no seated hold for it"
            ));
            continue;
        };
        if id != Some(*placed_for) {
            problems.push(format!(
                "request {request}: {hold} was acknowledged, but the log placed it (seq {seq}) for request \
                 {placed_for}"
            ));
        }
        let logged: Vec<u64> = seats.iter().map(|seat| seat.0).collect();
        if let Some(told) = told.as_ref().filter(|told| **told != logged) {
            problems.push(format!(
                "request {request}: {hold} was acknowledged with seats {told:?}, but the log (seq {seq}) gave it \
                 {logged:?}"
            ));
        }
    }
    vec![stat("acknowledged seated holds checked", checked)]
}

#[cfg(test)]
mod tests {
    use super::super::testkit::Sim;
    use super::*;
    use crate::checker::testkit::PAYMENT_TTL_MS;
    use boxoffice_engine::domain::{Accepted, Outcome};

    /// A sim with one row of `seats` seats of one item in a quota of `quota`.
    fn hall(seats: u32, quota: u64) -> (Sim, Vec<u64>) {
        let mut sim = Sim::new();
        let item = sim.item();
        sim.quota(Some(quota), &[item]);
        let seats = sim.seat_row("Stalls", "A", item, seats);
        (sim, seats)
    }

    #[test]
    fn seats_held_released_lapsed_and_sold_again_pass() {
        let (mut sim, seats) = hall(4, 10);
        let first = sim.seated_ok(1, &seats[..2], 1_000);
        assert_eq!(sim.seated_done(2, &seats[1..3], 60_000), "rejected/seat_taken");
        sim.release_ok(1, first);
        let second = sim.seated_ok(2, &seats[1..3], 1_000);
        sim.wait(2_000); // the hold lapses
        let third = sim.seated_ok(3, &seats[2..4], 60_000);
        // The lapsed hold's checkout re-checks: seat 2 is someone else's now.
        let refused = sim.checkout_done(2, second, PAYMENT_TTL_MS);
        assert_eq!(refused.label(), "rejected/seat_taken");
        let order = sim.checkout_ok(3, third);
        sim.pay_ok(3, order);
        sim.cancel_ok(3, order);
        sim.seated_ok(1, &seats[2..4], 60_000);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("seats in the plan", 4)), "{verdict}");
        assert!(verdict.stats.contains(&stat("seated holds placed", 4)), "{verdict}");
        assert!(verdict.stats.contains(&stat("acknowledged seated holds checked", 4)), "{verdict}");
    }

    #[test]
    fn a_lapsed_hold_checked_out_while_its_seat_is_free_passes() {
        let (mut sim, seats) = hall(2, 10);
        let hold = sim.seated_ok(1, &seats[..1], 1_000);
        sim.wait(2_000);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(verdict.valid, "{verdict}");
        assert!(verdict.stats.contains(&stat("takings by a lapsed hold's checkout or a late payment", 1)));
    }

    #[test]
    fn a_doctored_log_that_sells_a_paid_seat_again_fails() {
        let (mut sim, seats) = hall(3, 10);
        let hold = sim.seated_ok(1, &seats[..1], 60_000);
        let order = sim.checkout_ok(1, hold);
        sim.pay_ok(1, order);
        // The planted record: seat 0 again, for someone else.
        let request = sim.unused_request();
        let (hold, expires_at_ms) = (HoldId(9_999), sim.time_ms + 60_000);
        let seat = SeatId(seats[0]);
        let event = Event::SeatedHoldPlaced {
            hold,
            event: sim.event_id(),
            lines: sim
                .log
                .iter()
                .find_map(|r| {
                    r.events.iter().find_map(|e| match e {
                        Event::SeatedHoldPlaced { lines, .. } => Some(lines.clone()),
                        _ => None,
                    })
                })
                .expect("a seated hold"),
            expires_at_ms,
            voucher: None,
            buyer: None,
            seats: vec![seat],
        };
        let outcome = Outcome::Accepted(Accepted::SeatedHoldLive { hold, expires_at_ms, seats: vec![seat] });
        sim.plant_unchecked(request, vec![event], outcome);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("a seat sold twice"), "{verdict}");
        assert!(verdict.stats.contains(&stat("seats sold twice", 1)), "{verdict}");
    }

    #[test]
    fn an_acknowledged_seated_hold_with_other_seats_than_logged_fails() {
        let (mut sim, seats) = hall(3, 10);
        let call = sim.invoke(1, Sim::seated_value(&seats[..1], 60_000));
        let outcome = sim.apply(&call);
        let Outcome::Accepted(Accepted::SeatedHoldLive { hold, expires_at_ms, .. }) = outcome else {
            panic!("{outcome:?}")
        };
        let lie = Value::SeatedHold {
            named: vec![seats[0]],
            adjacent: 0,
            zone: String::new(),
            voucher: None,
            ttl_ms: 60_000,
            hold: Some(hold.0),
            expires_at_ms: Some(expires_at_ms),
            seats: Some(vec![seats[2]]),
        };
        sim.complete_as(&call, Phase::Ok, Some("accepted/seated_hold_live"), lie);
        let verdict = check(&sim.history, &sim.final_state(3));
        assert!(!verdict.valid, "{verdict}");
        assert!(verdict.problems[0].contains("but the log (seq"), "{verdict}");
    }
}
