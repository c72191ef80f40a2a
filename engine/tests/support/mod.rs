//! A fixture for driving the domain in tests: it stamps envelopes with a
//! controlled clock and fresh request ids, keeps the event log, and on drop
//! checks that replaying that log (and a snapshot round trip) rebuilds
//! exactly the state the commands built.

#![allow(dead_code)]

use boxoffice_engine::codec;
use boxoffice_engine::domain::*;

pub const START_MS: u64 = 1_700_000_000_000;
pub const MINUTE_MS: u64 = 60_000;

pub struct Fx {
    pub state: State,
    pub time_ms: u64,
    next_request: u128,
    pub log: Vec<Record>,
    pub event: EventId,
}

impl Fx {
    /// A state with one organizer and one event.
    pub fn new() -> Fx {
        let mut fx = Fx {
            state: State::default(),
            time_ms: START_MS,
            next_request: 1,
            log: vec![],
            event: EventId(0),
        };
        let Accepted::OrganizerCreated { organizer } =
            fx.ok(Command::CreateOrganizer { slug: "acme".into(), name: "Acme".into(), secret_key: [7; 32] })
        else {
            unreachable!()
        };
        let Accepted::EventCreated { event } =
            fx.ok(Command::CreateEvent { organizer, slug: "concert".into(), name: "Concert".into() })
        else {
            unreachable!()
        };
        fx.event = event;
        fx
    }

    pub fn envelope(&mut self, command: Command) -> Envelope {
        let request_id = RequestId(self.next_request);
        self.next_request += 1;
        Envelope { time_ms: self.time_ms, request_id, command }
    }

    pub fn send(&mut self, envelope: &Envelope) -> Applied {
        let applied = apply(&mut self.state, envelope);
        if let Some(record) = &applied.record {
            self.log.push(record.clone());
        }
        applied
    }

    pub fn run(&mut self, command: Command) -> Outcome {
        let envelope = self.envelope(command);
        self.send(&envelope).outcome
    }

    pub fn ok(&mut self, command: Command) -> Accepted {
        match self.run(command.clone()) {
            Outcome::Accepted(accepted) => accepted,
            Outcome::Rejected(rejection) => panic!("{command:?} was rejected: {rejection:?}"),
        }
    }

    pub fn rejected(&mut self, command: Command) -> Rejection {
        match self.run(command.clone()) {
            Outcome::Rejected(rejection) => rejection,
            Outcome::Accepted(accepted) => panic!("{command:?} was accepted: {accepted:?}"),
        }
    }

    /// Move the leader's clock forward, and log time with it: one record may
    /// move log time at most `LOG_TIME_STEP_MAX_MS`, so a longer jump is
    /// walked in steps by neutral records (as the leader's expirer does when
    /// log time lags its clock), each a rejected no-op that changes nothing.
    pub fn advance(&mut self, ms: u64) {
        self.time_ms += ms;
        while self.state.now_ms + limits::LOG_TIME_STEP_MAX_MS < self.time_ms {
            self.tick();
        }
    }

    /// One neutral record at the current clock: a release of a hold that
    /// does not exist. It moves log time and nothing else.
    pub fn tick(&mut self) {
        let outcome = self.run(Command::ReleaseHold { hold: HoldId(u64::MAX) });
        assert_eq!(outcome, Outcome::Rejected(Rejection::NotFound(ObjectRef::Hold(HoldId(u64::MAX)))));
    }

    pub fn item(&mut self, name: &str) -> ItemId {
        match self.ok(Command::CreateItem { event: self.event, name: name.into(), price_cents: 5_000 }) {
            Accepted::ItemCreated { item } => item,
            other => panic!("{other:?}"),
        }
    }

    pub fn quota(&mut self, size: Option<u64>, items: &[ItemId]) -> QuotaId {
        self.quota_with(size, items, false)
    }

    pub fn quota_with(&mut self, size: Option<u64>, items: &[ItemId], close_when_sold_out: bool) -> QuotaId {
        let command = Command::CreateQuota {
            event: self.event,
            name: "quota".into(),
            size,
            items: items.to_vec(),
            close_when_sold_out,
        };
        match self.ok(command) {
            Accepted::QuotaCreated { quota } => quota,
            other => panic!("{other:?}"),
        }
    }

    pub fn try_hold(&mut self, lines: &[(ItemId, u32)]) -> Result<HoldId, Rejection> {
        let lines = lines.iter().map(|&(item, quantity)| Line { item, quantity }).collect();
        match self.run(Command::PlaceHold { event: self.event, lines, ttl_ms: 30 * MINUTE_MS }) {
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) => Ok(hold),
            Outcome::Accepted(other) => panic!("{other:?}"),
            Outcome::Rejected(rejection) => Err(rejection),
        }
    }

    pub fn hold(&mut self, lines: &[(ItemId, u32)]) -> HoldId {
        self.try_hold(lines).expect("hold placed")
    }

    pub fn try_checkout(&mut self, hold: HoldId) -> Result<(OrderId, Vec<Ticket>), Rejection> {
        match self.run(Command::Checkout { hold, payment_ttl_ms: 60 * MINUTE_MS }) {
            Outcome::Accepted(Accepted::OrderPlaced { order, tickets, .. }) => Ok((order, tickets)),
            Outcome::Accepted(other) => panic!("{other:?}"),
            Outcome::Rejected(rejection) => Err(rejection),
        }
    }

    pub fn checkout(&mut self, hold: HoldId) -> OrderId {
        self.try_checkout(hold).expect("checkout").0
    }

    /// Hold and check out: a pending order.
    pub fn pending_order(&mut self, lines: &[(ItemId, u32)]) -> (OrderId, Vec<Ticket>) {
        let hold = self.hold(lines);
        self.try_checkout(hold).expect("checkout")
    }

    /// Hold, check out and pay: one sold ticket set. Returns the tickets.
    pub fn sell(&mut self, lines: &[(ItemId, u32)]) -> (OrderId, Vec<Ticket>) {
        let hold = self.hold(lines);
        let (order, tickets) = self.try_checkout(hold).expect("checkout");
        assert_eq!(self.ok(Command::Pay { order }), Accepted::OrderPaid { order });
        (order, tickets)
    }

    pub fn quota_view(&self, quota: QuotaId) -> QuotaAvailability {
        self.state.quota_availability(quota, self.time_ms).expect("quota exists")
    }

    pub fn item_view(&self, item: ItemId) -> ItemAvailability {
        self.state.item_availability(item, self.time_ms).expect("item exists")
    }

    /// (paid, pending, held, remaining) of a quota now.
    pub fn counts(&self, quota: QuotaId) -> (u64, u64, u64, Option<u64>) {
        let view = self.quota_view(quota);
        (view.paid, view.pending, view.held, view.remaining)
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let replayed = State::replay(&self.log);
        assert_eq!(replayed, self.state, "replaying the event log must rebuild the same state");
        let bytes = codec::encode_snapshot(&self.state).expect("snapshot encodes");
        assert_eq!(codec::decode_snapshot(&bytes).expect("snapshot decodes"), self.state);
        for record in &self.log {
            let bytes = codec::encode_record(record).expect("record encodes");
            assert_eq!(&codec::decode_record(&bytes).expect("record decodes"), record);
        }
    }
}
