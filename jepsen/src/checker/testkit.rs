//! A simulated run for the checkers' tests: clients' operations are
//! invoked, applied to a real domain [`State`] with real [`Envelope`]s (as the
//! leader would), and completed, so the history and the event log are what a
//! run would produce. Bugs are planted by hand: records the domain would
//! never decide, completions that lie, entries left out.

use super::{FinalState, NodeFinal};
use crate::history::{NEMESIS_PROCESS, Op, Phase, Value};
use boxoffice_engine::domain::*;

/// Log time of the first record.
pub(crate) const START_MS: u64 = 1_700_000_000_000;
/// TTL of the holds of [`Sim::hold_value`], in ms.
pub(crate) const HOLD_TTL_MS: u64 = 30 * 60 * 1000;
/// Payment TTL of the checkouts of [`Sim::checkout_ok`], in ms.
pub(crate) const PAYMENT_TTL_MS: u64 = 60 * 60 * 1000;

/// A client operation in flight.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) request_id: RequestId,
    pub(crate) process: u64,
    pub(crate) value: Value,
}

/// One organizer, one event, a domain state, its log and a history.
pub(crate) struct Sim {
    pub(crate) state: State,
    pub(crate) log: Vec<Record>,
    pub(crate) history: Vec<Op>,
    /// The leader's clock, in ms.
    pub(crate) time_ms: u64,
    /// The history's clock, in ns since the start of the run. It and the
    /// leader's clock both advance 1 ms per history entry or record, and
    /// together by [`Sim::wait`]; log time runs ahead of history time, by
    /// at most the number of records.
    pub(crate) clock_ns: u64,
    next_request: u128,
    event: EventId,
}

impl Sim {
    pub(crate) fn new() -> Sim {
        let mut sim = Sim {
            state: State::default(),
            log: vec![],
            history: vec![],
            time_ms: START_MS,
            clock_ns: 0,
            next_request: 1,
            event: EventId(0),
        };
        let Accepted::OrganizerCreated { organizer } = sim.admin(Command::CreateOrganizer {
            slug: "acme".into(),
            name: "Acme".into(),
            secret_key: [7; 32],
        }) else {
            unreachable!()
        };
        let Accepted::EventCreated { event } =
            sim.admin(Command::CreateEvent { organizer, slug: "show".into(), name: "Show".into() })
        else {
            unreachable!()
        };
        sim.event = event;
        sim
    }

    fn fresh_request(&mut self) -> RequestId {
        let id = RequestId(0xabc0_0000_0000_0000_0000_0000_0000_0000 | self.next_request);
        self.next_request += 1;
        id
    }

    /// Apply an envelope to the state and keep its record.
    fn send(&mut self, request_id: RequestId, command: Command) -> Outcome {
        self.time_ms += 1;
        let envelope = Envelope { time_ms: self.time_ms, request_id, command };
        let applied = apply(&mut self.state, &envelope);
        self.log.extend(applied.record);
        applied.outcome
    }

    /// A setup command that is not in the history; must be accepted.
    pub(crate) fn admin(&mut self, command: Command) -> Accepted {
        let request_id = self.fresh_request();
        match self.send(request_id, command.clone()) {
            Outcome::Accepted(accepted) => accepted,
            Outcome::Rejected(rejection) => panic!("{command:?} rejected: {rejection:?}"),
        }
    }

    pub(crate) fn item(&mut self) -> ItemId {
        let command = Command::CreateItem { event: self.event, name: "ticket".into(), price_cents: 1_000 };
        let Accepted::ItemCreated { item } = self.admin(command) else { unreachable!() };
        item
    }

    pub(crate) fn quota(&mut self, size: Option<u64>, items: &[ItemId]) -> QuotaId {
        let command = Command::CreateQuota {
            event: self.event,
            name: "quota".into(),
            size,
            items: items.to_vec(),
            close_when_sold_out: false,
        };
        let Accepted::QuotaCreated { quota } = self.admin(command) else { unreachable!() };
        quota
    }

    pub(crate) fn resize(&mut self, quota: QuotaId, size: Option<u64>) {
        self.admin(Command::ResizeQuota { quota, size });
    }

    fn push(
        &mut self,
        process: u64,
        phase: Phase,
        request_id: String,
        outcome: Option<String>,
        value: Value,
    ) {
        self.history.push(Op {
            index: self.history.len() as u64,
            process,
            time_ns: self.clock_ns,
            phase,
            request_id,
            outcome,
            value,
        });
        self.clock_ns += 1_000_000;
    }

    /// A nemesis action.
    pub(crate) fn nemesis(&mut self, action: &str) {
        let value = Value::Nemesis { action: action.into() };
        self.push(NEMESIS_PROCESS, Phase::Info, String::new(), None, value);
    }

    /// Invoke a client operation with a fresh request id.
    pub(crate) fn invoke(&mut self, process: u64, value: Value) -> Call {
        let request_id = self.fresh_request();
        self.invoke_as(process, request_id, value)
    }

    /// Invoke a client operation with a given request id (a retry).
    pub(crate) fn invoke_as(&mut self, process: u64, request_id: RequestId, value: Value) -> Call {
        self.push(process, Phase::Invoke, request_id.to_string(), None, value.clone());
        Call { request_id, process, value }
    }

    /// What the leader would do with the call (a record in the log).
    pub(crate) fn apply(&mut self, call: &Call) -> Outcome {
        let command = match &call.value {
            Value::Hold { lines, ttl_ms, .. } => Command::PlaceHold {
                event: self.event,
                lines: lines.iter().map(|&(item, quantity)| Line { item: ItemId(item), quantity }).collect(),
                ttl_ms: ttl_ms.unwrap_or(HOLD_TTL_MS),
            },
            Value::Checkout { hold, payment_ttl_ms, .. } => Command::Checkout {
                hold: HoldId(*hold),
                payment_ttl_ms: payment_ttl_ms.unwrap_or(PAYMENT_TTL_MS),
            },
            Value::Pay { order, .. } => Command::Pay { order: OrderId(*order) },
            Value::Cancel { order } => Command::CancelOrder { order: OrderId(*order) },
            Value::Release { hold } => Command::ReleaseHold { hold: HoldId(*hold) },
            Value::CheckIn { list, secret, nonce } => Command::CheckIn {
                list: CheckinListId(*list),
                secret: secret.clone(),
                nonce: Nonce(u128::from_str_radix(nonce, 16).expect("hex nonce")),
                direction: Direction::Entry,
            },
            Value::SeatedHold { named, adjacent, zone, voucher, ttl_ms, .. } => Command::PlaceSeatedHold {
                event: self.event,
                seats: if named.is_empty() {
                    SeatChoice::Adjacent { zone: zone.clone(), count: *adjacent, item: None }
                } else {
                    SeatChoice::Named(named.iter().map(|seat| SeatId(*seat)).collect())
                },
                ttl_ms: *ttl_ms,
                voucher: voucher.clone(),
                buyer: None,
            },
            Value::VoucherHold { lines, voucher, ttl_ms, .. } => Command::PlaceHoldWith {
                event: self.event,
                lines: lines.iter().map(|&(item, quantity)| Line { item: ItemId(item), quantity }).collect(),
                ttl_ms: *ttl_ms,
                voucher: Some(voucher.clone()),
                buyer: None,
            },
            Value::JoinWaitingList { item, priority, .. } => Command::JoinWaitingList {
                event: self.event,
                item: ItemId(*item),
                priority: *priority,
                buyer: None,
            },
            Value::LeaveWaitingList { entry } => Command::LeaveWaitingList { entry: EntryId(*entry) },
            Value::ClaimOffer { entry, ttl_ms, .. } => {
                Command::ClaimOffer { entry: EntryId(*entry), ttl_ms: *ttl_ms }
            }
            Value::Batch { .. } | Value::Nemesis { .. } => panic!("no single command to apply"),
        };
        self.send(call.request_id, command)
    }

    /// Complete a call as its outcome says: `ok` with the ids filled in, or
    /// `fail` with the rejection's label.
    pub(crate) fn complete(&mut self, call: &Call, outcome: &Outcome) {
        let mut value = call.value.clone();
        match (&mut value, outcome) {
            (
                Value::Hold { hold, expires_at_ms, .. },
                Outcome::Accepted(Accepted::HoldLive { hold: id, expires_at_ms: at }),
            ) => {
                *hold = Some(id.0);
                *expires_at_ms = Some(*at);
            }
            (
                Value::Checkout { order, payment_deadline_ms, .. },
                Outcome::Accepted(Accepted::OrderPlaced { order: id, payment_deadline_ms: at, .. }),
            ) => {
                *order = Some(id.0);
                *payment_deadline_ms = Some(*at);
            }
            (Value::Pay { refund_owed, .. }, Outcome::Accepted(accepted)) => {
                *refund_owed = Some(matches!(accepted, Accepted::PaymentRefundOwed { .. }))
            }
            (
                Value::SeatedHold { hold, expires_at_ms, seats, .. },
                Outcome::Accepted(Accepted::SeatedHoldLive { hold: id, expires_at_ms: at, seats: given }),
            ) => {
                *hold = Some(id.0);
                *expires_at_ms = Some(*at);
                *seats = Some(given.iter().map(|seat| seat.0).collect());
            }
            (
                Value::VoucherHold { hold, expires_at_ms, .. }
                | Value::ClaimOffer { hold, expires_at_ms, .. },
                Outcome::Accepted(Accepted::HoldLive { hold: id, expires_at_ms: at }),
            ) => {
                *hold = Some(id.0);
                *expires_at_ms = Some(*at);
            }
            (
                Value::JoinWaitingList { entry, .. },
                Outcome::Accepted(Accepted::WaitingListJoined { entry: id, .. }),
            ) => *entry = Some(id.0),
            _ => {}
        }
        let phase = if outcome.is_accepted() { Phase::Ok } else { Phase::Fail };
        self.push(call.process, phase, call.request_id.to_string(), Some(outcome.label().into()), value);
    }

    /// Complete a call by hand (`info`, a refusal, or a lie).
    pub(crate) fn complete_as(&mut self, call: &Call, phase: Phase, outcome: Option<&str>, value: Value) {
        self.push(call.process, phase, call.request_id.to_string(), outcome.map(String::from), value);
    }

    /// Invoke, apply, complete; the completion's outcome label.
    pub(crate) fn run(&mut self, process: u64, value: Value) -> Outcome {
        let call = self.invoke(process, value);
        let outcome = self.apply(&call);
        self.complete(&call, &outcome);
        outcome
    }

    pub(crate) fn hold_value(item: ItemId, quantity: u32) -> Value {
        Value::hold(vec![(item.0, quantity)], HOLD_TTL_MS)
    }

    /// A hold answered `ok` with hold id `hold` (for completions that lie).
    pub(crate) fn hold_answered(item: ItemId, quantity: u32, hold: u64) -> Value {
        Value::Hold {
            lines: vec![(item.0, quantity)],
            ttl_ms: Some(HOLD_TTL_MS),
            hold: Some(hold),
            expires_at_ms: None,
        }
    }

    /// Let `ms` pass on both clocks (holds and orders lapse by it).
    pub(crate) fn wait(&mut self, ms: u64) {
        self.time_ms += ms;
        self.clock_ns += ms * 1_000_000;
    }

    /// A hold of `lines` with `ttl_ms` that must be accepted; its id.
    pub(crate) fn hold_lines_ok(&mut self, process: u64, lines: Vec<(u64, u32)>, ttl_ms: u64) -> u64 {
        match self.run(process, Value::hold(lines, ttl_ms)) {
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) => hold.0,
            other => panic!("hold not accepted: {other:?}"),
        }
    }

    /// A checkout with `payment_ttl_ms`, run to completion.
    pub(crate) fn checkout_done(&mut self, process: u64, hold: u64, payment_ttl_ms: u64) -> Outcome {
        self.run(process, Value::checkout(hold, payment_ttl_ms))
    }

    pub(crate) fn cancel_ok(&mut self, process: u64, order: u64) {
        let outcome = self.run(process, Value::Cancel { order });
        assert!(outcome.is_accepted(), "{outcome:?}");
    }

    /// A hold, run to completion; its outcome label.
    pub(crate) fn hold_done(&mut self, process: u64, item: ItemId, quantity: u32) -> Option<String> {
        Some(self.run(process, Sim::hold_value(item, quantity)).label().to_string())
    }

    /// A hold that must be accepted; its id.
    pub(crate) fn hold_ok(&mut self, process: u64, item: ItemId, quantity: u32) -> u64 {
        match self.run(process, Sim::hold_value(item, quantity)) {
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) => hold.0,
            other => panic!("hold not accepted: {other:?}"),
        }
    }

    pub(crate) fn checkout_ok(&mut self, process: u64, hold: u64) -> u64 {
        match self.run(process, Value::checkout(hold, PAYMENT_TTL_MS)) {
            Outcome::Accepted(Accepted::OrderPlaced { order, .. }) => order.0,
            other => panic!("checkout not accepted: {other:?}"),
        }
    }

    pub(crate) fn pay_ok(&mut self, process: u64, order: u64) {
        let outcome = self.run(process, Value::Pay { order, refund_owed: None });
        assert!(outcome.is_accepted(), "{outcome:?}");
    }

    pub(crate) fn release_ok(&mut self, process: u64, hold: u64) {
        let outcome = self.run(process, Value::Release { hold });
        assert!(outcome.is_accepted(), "{outcome:?}");
    }

    /// Append a record the domain did not decide (a planted bug), evolving
    /// the state with it.
    pub(crate) fn plant(&mut self, request_id: RequestId, events: Vec<Event>, outcome: Outcome) -> Record {
        self.time_ms += 1;
        let record = Record {
            seq: self.state.last_seq + 1,
            time_ms: self.time_ms,
            request_id,
            events,
            outcome,
            command_digest: None,
        };
        self.state.evolve(&record);
        self.log.push(record.clone());
        record
    }

    /// Plant a `HoldPlaced` of `quantity` of `item`, capacity or not.
    pub(crate) fn plant_hold(&mut self, request_id: RequestId, item: ItemId, quantity: u32) -> HoldId {
        let hold = HoldId(1_000_000 + self.state.last_seq);
        let expires_at_ms = self.time_ms + 1 + HOLD_TTL_MS;
        let event = Event::HoldPlaced {
            hold,
            event: self.event,
            lines: vec![Line { item, quantity }],
            expires_at_ms,
        };
        self.plant(request_id, vec![event], Outcome::Accepted(Accepted::HoldLive { hold, expires_at_ms }));
        hold
    }

    /// The event everything belongs to.
    pub(crate) fn event_id(&self) -> EventId {
        self.event
    }

    /// A row of `count` seats of `item` in `zone`; their ids.
    pub(crate) fn seat_row(&mut self, zone: &str, row: &str, item: ItemId, count: u32) -> Vec<u64> {
        let seats = (0..count).map(|k| SeatSpec { label: format!("{}", k + 1), item }).collect();
        let command = Command::AddSeatRow { event: self.event, zone: zone.into(), row: row.into(), seats };
        let Accepted::SeatRowAdded { first_seat, count } = self.admin(command) else { unreachable!() };
        (first_seat.0..first_seat.0 + u64::from(count)).collect()
    }

    /// A seated hold of named `seats`, not yet answered.
    pub(crate) fn seated_value(seats: &[u64], ttl_ms: u64) -> Value {
        Value::SeatedHold {
            named: seats.to_vec(),
            adjacent: 0,
            zone: String::new(),
            voucher: None,
            ttl_ms,
            hold: None,
            expires_at_ms: None,
            seats: None,
        }
    }

    /// A seated hold of named `seats` that must be accepted; its id.
    pub(crate) fn seated_ok(&mut self, process: u64, seats: &[u64], ttl_ms: u64) -> u64 {
        match self.run(process, Sim::seated_value(seats, ttl_ms)) {
            Outcome::Accepted(Accepted::SeatedHoldLive { hold, .. }) => hold.0,
            other => panic!("seated hold not accepted: {other:?}"),
        }
    }

    /// A seated hold of named `seats`, run to completion; its outcome label.
    pub(crate) fn seated_done(&mut self, process: u64, seats: &[u64], ttl_ms: u64) -> String {
        self.run(process, Sim::seated_value(seats, ttl_ms)).label().to_string()
    }

    /// Set the event's waiting-list offer time.
    pub(crate) fn configure_waiting_list(&mut self, offer_ttl_ms: u64) {
        self.admin(Command::ConfigureWaitingList { event: self.event, offer_ttl_ms });
    }

    /// A waiting-list join that must be accepted; its entry.
    pub(crate) fn join_ok(&mut self, process: u64, item: ItemId, priority: u32) -> u64 {
        let value = Value::JoinWaitingList { item: item.0, priority, entry: None };
        match self.run(process, value) {
            Outcome::Accepted(Accepted::WaitingListJoined { entry, .. }) => entry.0,
            other => panic!("join not accepted: {other:?}"),
        }
    }

    /// A claim of `entry`'s offer, run to completion.
    pub(crate) fn claim_done(&mut self, process: u64, entry: u64, ttl_ms: u64) -> Outcome {
        self.run(process, Value::ClaimOffer { entry, ttl_ms, hold: None, expires_at_ms: None })
    }

    /// A blocking voucher of `item` for `redemptions` tickets; its code.
    pub(crate) fn blocking_voucher(&mut self, item: ItemId, redemptions: u32) -> String {
        let command = Command::CreateVoucher {
            event: self.event,
            scope: VoucherScope::Item(item),
            max_redemptions: redemptions,
            valid_from_ms: START_MS - 1,
            valid_until_ms: START_MS + 24 * 60 * 60 * 1000,
            blocks_quota: true,
        };
        let Accepted::VoucherCreated { code, .. } = self.admin(command) else { unreachable!() };
        code
    }

    /// Append a record the domain did not decide and the state could not
    /// fold (a seat sold twice trips its assertions): the log only.
    pub(crate) fn plant_unchecked(&mut self, request_id: RequestId, events: Vec<Event>, outcome: Outcome) {
        self.time_ms += 1;
        let seq = self.log.last().map_or(1, |record| record.seq + 1);
        let record = Record { seq, time_ms: self.time_ms, request_id, events, outcome, command_digest: None };
        self.log.push(record);
    }

    /// A request id not used by anything yet.
    pub(crate) fn unused_request(&mut self) -> RequestId {
        self.fresh_request()
    }

    /// What `nodes` agreeing nodes would report.
    pub(crate) fn final_state(&self, nodes: u64) -> FinalState {
        FinalState {
            nodes: (1..=nodes)
                .map(|id| NodeFinal {
                    id,
                    event_log_digest: format!("log-{}", self.log.len()),
                    state_digest: format!("state-{}", self.log.len()),
                    last_seq: self.log.len() as u64,
                })
                .collect(),
            records: self.log.clone(),
        }
    }
}
