//! The virtual waiting room, per event.
//!
//! pretix Hosted's June 2021 outages began with one customer's sale sending
//! ten times the usual load, which slowed every other customer too. Their
//! answer was a waiting room per customer that switches itself on when load
//! passes a threshold, first run in a dry-run mode that only records. This
//! module is that room, per event, in front of the event's pages.
//!
//! **Where the state lives.** The queue is in the engine, replicated: a
//! room's settings (`ConfigureWaitingRoom`), the positions handed out
//! (`JoinWaitingRoom`) and how many are admitted, which grows at the
//! configured rate in log time, first come first served. Several shops
//! behind a load balancer therefore share one queue, and a restarted shop
//! admits no one twice: admission is a fact of the log, and the visitor's
//! proof of it is a signed cookie. What a shop keeps in memory is only its
//! own *measurement*: arrivals per second and requests in flight per event,
//! and a short cache of the last read of each room.
//!
//! **The decision** ([`decide`], pure): a visitor with a valid admission
//! cookie (or a cart of the event) passes. A visitor with a queue cookie
//! waits until `admitted >= position`, then is admitted. Anyone else passes
//! while the event is calm, and gets an admission cookie if the event has a
//! room, so that a room switching on later does not throw out people already
//! shopping; the event is *not* calm when this shop measures more arrivals
//! per second or more requests in flight than the room allows, or when the
//! shared queue is not empty (`joined > admitted`: newcomers must not pass
//! people who queue). Then a new visitor joins the queue. In dry-run mode the
//! decision is counted in metrics and logged (at most once a second per
//! event) and the visitor passes.
//!
//! **Isolation.** Every counter is per event; nothing on the hot path takes
//! a lock shared by events (the map of meters is read-locked, written only
//! when a new event appears). A bulkhead bounds the requests in flight per
//! event ([`IN_FLIGHT_PER_EVENT_MAX`](crate::config::IN_FLIGHT_PER_EVENT_MAX)),
//! and joins per second per event are bounded too
//! ([`JOINS_PER_SECOND_MAX`]), because each join is a replicated write: a
//! client that drops its cookies on every request must not turn page views
//! into log entries without limit.
//!
//! The engine is reached through [`RoomBackend`], so the logic is tested
//! with a fake (see the tests below).

use crate::errors::ShopError;
use crate::inventory::domain::RequestId;
use crate::metrics::Metrics;
use crate::tokens::Keys;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Most queue joins per second one shop sends to the engine for one event;
/// past it, newcomers are told the event is busy (each join is a write).
pub const JOINS_PER_SECOND_MAX: u64 = 500;

/// An event's waiting room as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomView {
    /// Admissions per minute of log time.
    pub admit_per_minute: u32,
    /// Arrivals per second (at one shop) past which the room queues newcomers.
    pub arrivals_per_second_max: u32,
    /// Requests in flight (at one shop) past which the room queues newcomers.
    pub in_flight_max: u32,
    /// Only record what would be done.
    pub dry_run: bool,
    /// Positions handed out so far.
    pub joined: u64,
    /// Positions `1..=admitted` are admitted.
    pub admitted: u64,
}

/// The engine, as the waiting room needs it.
pub trait RoomBackend: Send + Sync + 'static {
    /// The room of `event` now (`None`: the event has no room).
    fn view(&self, event: u64) -> impl Future<Output = Result<Option<RoomView>, ShopError>> + Send;
    /// Take the next position in the room of `event`; a retry with the same
    /// request id returns the same position.
    fn join(&self, event: u64, request_id: RequestId) -> impl Future<Output = Result<u64, ShopError>> + Send;
}

/// What the decision knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateInput {
    /// The event's room, if it has one.
    pub room: Option<RoomView>,
    /// The visitor holds a valid admission cookie, or a cart of this event.
    pub admitted: bool,
    /// The position in a valid queue cookie of this event.
    pub queue_position: Option<u64>,
    /// Arrivals per second this shop measures for the event (this one included).
    pub arrivals_per_second: u64,
    /// Requests of the event in flight in this shop (this one included).
    pub in_flight: u64,
}

/// What to do with a visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Let them in; nothing to record.
    Pass,
    /// Let them in and give them an admission cookie (the event has a room, and it is calm).
    PassAndAdmit,
    /// Dry run: they would have been queued; let them in.
    WouldQueue,
    /// Queue them: take a position.
    Join,
    /// They queue and it is not their turn yet.
    Wait {
        /// Their position.
        position: u64,
    },
    /// Their turn came: admit them (admission cookie, queue cookie cleared).
    Admit {
        /// Their position.
        position: u64,
    },
}

/// Why the event is not calm, if it is not.
pub fn pressure(input: &GateInput, room: &RoomView) -> Option<&'static str> {
    if room.joined > room.admitted {
        Some("queue")
    } else if input.arrivals_per_second > u64::from(room.arrivals_per_second_max) {
        Some("arrivals")
    } else if input.in_flight > u64::from(room.in_flight_max) {
        Some("in_flight")
    } else {
        None
    }
}

/// The waiting room's decision for one request. Pure.
pub fn decide(input: &GateInput) -> Gate {
    let Some(room) = input.room else { return Gate::Pass };
    if input.admitted {
        return Gate::Pass;
    }
    if let Some(position) = input.queue_position {
        if room.dry_run {
            return Gate::Pass;
        }
        return if room.admitted >= position { Gate::Admit { position } } else { Gate::Wait { position } };
    }
    match (pressure(input, &room), room.dry_run) {
        (None, true) => Gate::Pass,
        (None, false) => Gate::PassAndAdmit,
        (Some(_), true) => Gate::WouldQueue,
        (Some(_), false) => Gate::Join,
    }
}

/// The estimated wait of `ahead` people at `admit_per_minute`, in seconds.
pub fn wait_secs(ahead: u64, admit_per_minute: u32) -> u64 {
    let rate = u64::from(admit_per_minute.max(1));
    (ahead.saturating_mul(60)).div_ceil(rate)
}

/// The signed cookies of the room.
pub mod tickets {
    use crate::tokens::Keys;

    /// An admission cookie of `event` valid until `expires_ms` (wall clock).
    pub fn admission(keys: &Keys, event: u64, expires_ms: u64) -> String {
        keys.sign(&format!("admit:{event}"), &expires_ms.to_string())
    }

    /// Whether an admission cookie of `event` is valid at `now_ms`.
    pub fn admission_ok(keys: &Keys, event: u64, cookie: &str, now_ms: u64) -> bool {
        keys.verify(&format!("admit:{event}"), cookie)
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|expires_ms| expires_ms > now_ms)
    }

    /// A queue cookie of `event` at `position`.
    pub fn queue(keys: &Keys, event: u64, position: u64) -> String {
        keys.sign(&format!("queue:{event}"), &position.to_string())
    }

    /// The position in a queue cookie of `event`, if it verifies.
    pub fn queue_position(keys: &Keys, event: u64, cookie: &str) -> Option<u64> {
        keys.verify(&format!("queue:{event}"), cookie)?.parse().ok().filter(|p| *p > 0)
    }
}

/// Arrivals and joins in the current and previous second.
#[derive(Debug, Default)]
struct Window {
    second: u64,
    arrivals: u64,
    arrivals_previous: u64,
    joins: u64,
    dry_run_logged: bool,
    dry_run_count: u64,
}

impl Window {
    fn roll(&mut self, now_ms: u64) {
        let second = now_ms / 1000;
        if second != self.second {
            self.arrivals_previous = if second == self.second + 1 { self.arrivals } else { 0 };
            self.arrivals = 0;
            self.joins = 0;
            self.dry_run_logged = false;
            self.second = second;
        }
    }

    /// A sliding estimate over the last second: the previous second's
    /// count, weighted by how much of it is still inside the window.
    fn rate(&self, now_ms: u64) -> u64 {
        let left = 1000 - now_ms % 1000;
        self.arrivals + self.arrivals_previous * left / 1000
    }
}

/// This shop's measurement of one event.
#[derive(Debug, Default)]
pub struct EventLoad {
    window: Mutex<Window>,
    in_flight: AtomicU64,
    view: Mutex<Option<(u64, Option<RoomView>)>>,
}

/// A request counted in its event's in-flight gauge until dropped.
#[derive(Debug)]
pub struct InFlight {
    load: Arc<EventLoad>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.load.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the visitor brought.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    /// Their session id (queue joins are keyed by it, so a retry keeps the position).
    pub session: String,
    /// Their admission cookie of this event, if any.
    pub admission: Option<String>,
    /// Their queue cookie of this event, if any.
    pub queue: Option<String>,
    /// They hold a cart of this event (already shopping: never queued).
    pub has_cart: bool,
}

/// What the handler must do.
#[derive(Debug)]
pub enum Entry {
    /// Serve the page; set these cookies (name, value, max-age seconds; an empty value clears).
    Proceed {
        /// Keeps the request counted in flight.
        guard: InFlight,
        /// Cookies to set.
        cookies: Vec<(String, String, u64)>,
    },
    /// Send the visitor to the queue page, with these cookies.
    Queue {
        /// Cookies to set.
        cookies: Vec<(String, String, u64)>,
    },
}

/// Where a queued visitor stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not queued here (no valid queue cookie, no room, or dry run).
    NotQueued,
    /// Waiting.
    Waiting {
        /// Their position.
        position: u64,
        /// People before them still waiting.
        ahead: u64,
        /// Estimated wait, in seconds.
        wait_secs: u64,
        /// Everyone queued and not admitted.
        queue_length: u64,
    },
    /// Admitted now: set this admission cookie value and go shopping.
    Admitted {
        /// The admission cookie value.
        cookie: String,
    },
}

/// The waiting rooms of every event, as one shop sees them.
pub struct WaitingRoom<B> {
    backend: B,
    keys: Keys,
    metrics: Metrics,
    loads: RwLock<HashMap<u64, Arc<EventLoad>>>,
    admission_ttl_ms: u64,
    view_cache_ms: u64,
    in_flight_per_event_max: u64,
}

/// Milliseconds since the Unix epoch (cookie expiries are shared by shops, so wall clock).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl<B: RoomBackend> WaitingRoom<B> {
    /// Rooms over `backend`.
    pub fn new(
        backend: B,
        keys: Keys,
        metrics: Metrics,
        admission_ttl_ms: u64,
        view_cache_ms: u64,
        in_flight_per_event_max: u64,
    ) -> Self {
        WaitingRoom {
            backend,
            keys,
            metrics,
            loads: RwLock::new(HashMap::new()),
            admission_ttl_ms,
            view_cache_ms,
            in_flight_per_event_max,
        }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn load(&self, event: u64) -> Arc<EventLoad> {
        if let Some(load) = self.loads.read().expect("loads lock").get(&event) {
            return load.clone();
        }
        let mut loads = self.loads.write().expect("loads lock");
        if loads.len() >= crate::config::TRACKED_EVENTS_MAX && !loads.contains_key(&event) {
            // Events are created by admins, so this is a bound, not a policy:
            // forget the meters (a fresh meter only under-counts for a second).
            loads.clear();
        }
        loads.entry(event).or_default().clone()
    }

    /// The room of `event`, read at most every `view_cache_ms` (`now_ms` is wall clock).
    pub async fn view(&self, event: u64, now_ms: u64) -> Result<Option<RoomView>, ShopError> {
        let load = self.load(event);
        if let Some((at_ms, view)) = *load.view.lock().expect("view lock")
            && now_ms < at_ms.saturating_add(self.view_cache_ms)
        {
            return Ok(view);
        }
        let view = self.backend.view(event).await?;
        let label = event.to_string();
        let queued = view.map_or(0, |v| v.joined.saturating_sub(v.admitted));
        self.metrics.queue_length.with_label_values(&[&label]).set(i64::try_from(queued).unwrap_or(i64::MAX));
        *load.view.lock().expect("view lock") = Some((now_ms, view));
        Ok(view)
    }

    /// Forget the cached view of `event` (after an admin changed the room).
    pub fn invalidate(&self, event: u64) {
        *self.load(event).view.lock().expect("view lock") = None;
    }

    fn count(&self, event: u64, decision: &str, dry_run: bool) {
        let mode = if dry_run { "dry_run" } else { "enforced" };
        self.metrics.room_decisions.with_label_values(&[&event.to_string(), decision, mode]).inc();
    }

    /// Let a request of `event` in, or send it to the queue. `now_ms` is wall clock.
    pub async fn enter(&self, event: u64, visitor: &Visitor, now_ms: u64) -> Result<Entry, ShopError> {
        let load = self.load(event);
        let in_flight = load.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let guard = InFlight { load: load.clone() };
        if in_flight > self.in_flight_per_event_max {
            self.metrics.shed.with_label_values(&[&event.to_string()]).inc();
            return Err(ShopError::Busy);
        }
        let arrivals_per_second = {
            let mut window = load.window.lock().expect("window lock");
            window.roll(now_ms);
            window.arrivals += 1;
            window.rate(now_ms)
        };
        let room = self.view(event, now_ms).await?;
        let admitted = visitor.has_cart
            || visitor
                .admission
                .as_deref()
                .is_some_and(|c| tickets::admission_ok(&self.keys, event, c, now_ms));
        let queue_position =
            visitor.queue.as_deref().and_then(|c| tickets::queue_position(&self.keys, event, c));
        let input = GateInput { room, admitted, queue_position, arrivals_per_second, in_flight };
        let admission_cookie = || {
            let cookie = tickets::admission(&self.keys, event, now_ms + self.admission_ttl_ms);
            (crate::cookies::admission(event), cookie, self.admission_ttl_ms / 1000)
        };
        match decide(&input) {
            Gate::Pass => Ok(Entry::Proceed { guard, cookies: Vec::new() }),
            Gate::PassAndAdmit => Ok(Entry::Proceed { guard, cookies: vec![admission_cookie()] }),
            Gate::WouldQueue => {
                self.count(event, "queue", true);
                let room = room.expect("a decision to queue has a room");
                let mut window = load.window.lock().expect("window lock");
                window.dry_run_count += 1;
                if !window.dry_run_logged {
                    window.dry_run_logged = true;
                    tracing::info!(
                        event,
                        would = "queue",
                        why = pressure(&input, &room).unwrap_or("?"),
                        arrivals_per_second,
                        in_flight,
                        joined = room.joined,
                        admitted = room.admitted,
                        would_have_queued_total = window.dry_run_count,
                        "waiting room dry run: this visitor would have been queued"
                    );
                }
                Ok(Entry::Proceed { guard, cookies: Vec::new() })
            }
            Gate::Join => {
                {
                    let mut window = load.window.lock().expect("window lock");
                    window.roll(now_ms);
                    if window.joins >= JOINS_PER_SECOND_MAX {
                        self.metrics.shed.with_label_values(&[&event.to_string()]).inc();
                        return Err(ShopError::Busy);
                    }
                    window.joins += 1;
                }
                self.count(event, "queue", false);
                let request_id =
                    self.keys.request_id(&format!("join-waiting-room:{event}"), &visitor.session);
                let position = self.backend.join(event, request_id).await?;
                if let Some((_, Some(view))) = load.view.lock().expect("view lock").as_mut() {
                    view.joined = view.joined.max(position);
                }
                tracing::debug!(event, position, "queued a visitor");
                let cookie = tickets::queue(&self.keys, event, position);
                Ok(Entry::Queue { cookies: vec![(crate::cookies::queue(event), cookie, 24 * 3600)] })
            }
            Gate::Wait { .. } => {
                self.count(event, "wait", false);
                Ok(Entry::Queue { cookies: Vec::new() })
            }
            Gate::Admit { position } => {
                self.count(event, "admit", false);
                self.metrics.admissions.with_label_values(&[&event.to_string()]).inc();
                tracing::debug!(event, position, "admitted a visitor from the queue");
                Ok(Entry::Proceed {
                    guard,
                    cookies: vec![admission_cookie(), (crate::cookies::queue(event), String::new(), 0)],
                })
            }
        }
    }

    /// Where a visitor with `queue_cookie` stands in the room of `event`.
    pub async fn standing(
        &self,
        event: u64,
        queue_cookie: Option<&str>,
        now_ms: u64,
    ) -> Result<Standing, ShopError> {
        let Some(position) = queue_cookie.and_then(|c| tickets::queue_position(&self.keys, event, c)) else {
            return Ok(Standing::NotQueued);
        };
        let Some(room) = self.view(event, now_ms).await? else { return Ok(Standing::NotQueued) };
        if room.dry_run {
            return Ok(Standing::NotQueued);
        }
        if room.admitted >= position {
            self.count(event, "admit", false);
            self.metrics.admissions.with_label_values(&[&event.to_string()]).inc();
            let cookie = tickets::admission(&self.keys, event, now_ms + self.admission_ttl_ms);
            return Ok(Standing::Admitted { cookie });
        }
        let ahead = position - room.admitted - 1;
        Ok(Standing::Waiting {
            position,
            ahead,
            wait_secs: wait_secs(ahead + 1, room.admit_per_minute),
            queue_length: room.joined.saturating_sub(room.admitted),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    fn room(joined: u64, admitted: u64, dry_run: bool) -> RoomView {
        RoomView {
            admit_per_minute: 60,
            arrivals_per_second_max: 10,
            in_flight_max: 5,
            dry_run,
            joined,
            admitted,
        }
    }

    fn calm(room: Option<RoomView>) -> GateInput {
        GateInput { room, admitted: false, queue_position: None, arrivals_per_second: 1, in_flight: 1 }
    }

    #[test]
    fn an_event_without_a_room_lets_everyone_in() {
        let mut input = calm(None);
        input.arrivals_per_second = 1_000_000;
        assert_eq!(decide(&input), Gate::Pass);
    }

    #[test]
    fn a_calm_room_admits_newcomers_with_a_cookie() {
        assert_eq!(decide(&calm(Some(room(0, 0, false)))), Gate::PassAndAdmit);
    }

    #[test]
    fn the_room_activates_on_arrivals_in_flight_or_a_non_empty_queue() {
        let mut fast = calm(Some(room(0, 0, false)));
        fast.arrivals_per_second = 11;
        assert_eq!(decide(&fast), Gate::Join);
        let mut busy = calm(Some(room(0, 0, false)));
        busy.in_flight = 6;
        assert_eq!(decide(&busy), Gate::Join);
        assert_eq!(decide(&calm(Some(room(3, 2, false)))), Gate::Join, "newcomers never pass the queue");
        let mut at_limit = calm(Some(room(2, 2, false)));
        at_limit.arrivals_per_second = 10;
        at_limit.in_flight = 5;
        assert_eq!(decide(&at_limit), Gate::PassAndAdmit, "the limits are inclusive");
    }

    #[test]
    fn an_admitted_visitor_passes_even_when_the_room_is_active() {
        let mut input = calm(Some(room(100, 2, false)));
        input.admitted = true;
        input.arrivals_per_second = 1000;
        assert_eq!(decide(&input), Gate::Pass);
    }

    #[test]
    fn a_queued_visitor_waits_for_their_turn_then_is_admitted() {
        let mut input = calm(Some(room(10, 4, false)));
        input.queue_position = Some(5);
        assert_eq!(decide(&input), Gate::Wait { position: 5 });
        input.room = Some(room(10, 5, false));
        assert_eq!(decide(&input), Gate::Admit { position: 5 });
    }

    #[test]
    fn dry_run_queues_no_one_and_says_what_it_would_have_done() {
        let mut input = calm(Some(room(0, 0, true)));
        input.arrivals_per_second = 50;
        assert_eq!(decide(&input), Gate::WouldQueue);
        input.arrivals_per_second = 1;
        assert_eq!(decide(&input), Gate::Pass, "a calm dry run gives out no cookies");
        input.queue_position = Some(3);
        assert_eq!(decide(&input), Gate::Pass);
    }

    #[test]
    fn the_estimated_wait_follows_the_admission_rate() {
        assert_eq!(wait_secs(0, 60), 0);
        assert_eq!(wait_secs(1, 60), 1);
        assert_eq!(wait_secs(10, 6), 100);
        assert_eq!(wait_secs(1, 7), 9, "rounded up");
        assert_eq!(wait_secs(5, 0), 300, "a rate of 0 is read as 1");
    }

    #[test]
    fn a_tampered_or_foreign_queue_cookie_is_no_position() {
        let keys = Keys::new([1; 32]);
        let cookie = tickets::queue(&keys, 7, 12);
        assert_eq!(tickets::queue_position(&keys, 7, &cookie), Some(12));
        assert_eq!(tickets::queue_position(&keys, 8, &cookie), None, "another event's cookie");
        let forged = cookie.replacen("12", "1", 1);
        assert_eq!(tickets::queue_position(&keys, 7, &forged), None, "a better position, forged");
        assert_eq!(tickets::queue_position(&Keys::new([2; 32]), 7, &cookie), None);
        assert_eq!(tickets::queue_position(&keys, 7, &tickets::queue(&keys, 7, 0)), None);
    }

    #[test]
    fn an_admission_cookie_expires_and_is_bound_to_its_event() {
        let keys = Keys::new([1; 32]);
        let cookie = tickets::admission(&keys, 7, 10_000);
        assert!(tickets::admission_ok(&keys, 7, &cookie, 9_999));
        assert!(!tickets::admission_ok(&keys, 7, &cookie, 10_000));
        assert!(!tickets::admission_ok(&keys, 8, &cookie, 0));
        assert!(!tickets::admission_ok(&keys, 7, &cookie.replacen("10000", "99999", 1), 0));
    }

    /// Rooms in memory, one per event: admits `admitted` (set by the test),
    /// hands out positions in order, a retried join keeps its position.
    #[derive(Default)]
    struct FakeRoom {
        rooms: Mutex<HashMap<u64, RoomView>>,
        joins: Mutex<HashMap<RequestId, u64>>,
        reads: AtomicU64,
    }

    impl FakeRoom {
        fn set(&self, event: u64, view: RoomView) {
            self.rooms.lock().unwrap().insert(event, view);
        }

        fn get(&self, event: u64) -> RoomView {
            self.rooms.lock().unwrap()[&event]
        }

        fn admit(&self, event: u64, admitted: u64) {
            self.rooms.lock().unwrap().get_mut(&event).unwrap().admitted = admitted;
        }
    }

    impl RoomBackend for Arc<FakeRoom> {
        async fn view(&self, event: u64) -> Result<Option<RoomView>, ShopError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            Ok(self.rooms.lock().unwrap().get(&event).copied())
        }

        async fn join(&self, event: u64, request_id: RequestId) -> Result<u64, ShopError> {
            let mut joins = self.joins.lock().unwrap();
            let mut rooms = self.rooms.lock().unwrap();
            let room = rooms.get_mut(&event).expect("a room");
            Ok(*joins.entry(request_id).or_insert_with(|| {
                room.joined += 1;
                room.joined
            }))
        }
    }

    fn rooms(fake: &Arc<FakeRoom>, cache_ms: u64) -> WaitingRoom<Arc<FakeRoom>> {
        WaitingRoom::new(fake.clone(), Keys::new([3; 32]), Metrics::new(), 60_000, cache_ms, 100)
    }

    fn visitor(session: &str) -> Visitor {
        Visitor { session: session.into(), ..Visitor::default() }
    }

    fn queue_cookie(entry: &Entry) -> String {
        match entry {
            Entry::Queue { cookies } => cookies[0].1.clone(),
            Entry::Proceed { .. } => panic!("expected to be queued, got {entry:?}"),
        }
    }

    #[tokio::test]
    async fn a_burst_past_the_arrival_rate_queues_newcomers_first_come_first_served() {
        let fake = Arc::new(FakeRoom::default());
        fake.set(1, RoomView { in_flight_max: 1_000, ..room(0, 0, false) });
        let rooms = rooms(&fake, 0);
        let now = 5_000_000;
        let mut entries = Vec::new();
        for i in 0..15 {
            entries.push(rooms.enter(1, &visitor(&format!("s{i}")), now).await.unwrap());
        }
        let passed = entries.iter().filter(|e| matches!(e, Entry::Proceed { .. })).count();
        assert_eq!(passed, 10, "the first 10 arrivals of the second pass");
        let positions: Vec<u64> = entries[10..]
            .iter()
            .map(|e| tickets::queue_position(&rooms.keys, 1, &queue_cookie(e)).unwrap())
            .collect();
        assert_eq!(positions, [1, 2, 3, 4, 5]);
        // A later second, calm again: the queue is not empty, so a newcomer still queues.
        let later = rooms.enter(1, &visitor("late"), now + 5_000).await.unwrap();
        assert_eq!(tickets::queue_position(&rooms.keys, 1, &queue_cookie(&later)), Some(6));
        // The same visitor joining again keeps their position.
        let again = rooms.enter(1, &visitor("s10"), now + 5_000).await.unwrap();
        assert_eq!(tickets::queue_position(&rooms.keys, 1, &queue_cookie(&again)), Some(1));
    }

    #[tokio::test]
    async fn a_queued_visitor_is_admitted_once_the_engine_admits_their_position() {
        let fake = Arc::new(FakeRoom::default());
        fake.set(1, room(3, 1, false));
        let rooms = rooms(&fake, 0);
        let cookie = tickets::queue(&rooms.keys, 1, 3);
        let standing = rooms.standing(1, Some(&cookie), 0).await.unwrap();
        assert_eq!(standing, Standing::Waiting { position: 3, ahead: 1, wait_secs: 2, queue_length: 2 });
        fake.admit(1, 3);
        let Standing::Admitted { cookie: admission } = rooms.standing(1, Some(&cookie), 0).await.unwrap()
        else {
            panic!("admitted")
        };
        let mut v = visitor("x");
        v.admission = Some(admission);
        fake.set(1, room(50, 3, false));
        assert!(matches!(rooms.enter(1, &v, 0).await.unwrap(), Entry::Proceed { .. }));
        let forged = tickets::queue(&Keys::new([9; 32]), 1, 1);
        assert_eq!(rooms.standing(1, Some(&forged), 0).await.unwrap(), Standing::NotQueued);
    }

    #[tokio::test]
    async fn dry_run_lets_everyone_in_and_counts_would_be_queues() {
        let fake = Arc::new(FakeRoom::default());
        fake.set(2, RoomView { in_flight_max: 1_000, ..room(0, 0, true) });
        let rooms = rooms(&fake, 0);
        for i in 0..20 {
            let entry = rooms.enter(2, &visitor(&format!("s{i}")), 1_000).await.unwrap();
            let Entry::Proceed { cookies, .. } = entry else { panic!("dry run queues no one") };
            assert!(cookies.is_empty());
        }
        let would = rooms.metrics.room_decisions.with_label_values(&["2", "queue", "dry_run"]).get();
        assert_eq!(would, 10);
        assert_eq!(fake.get(2).joined, 0, "no one joined");
    }

    #[tokio::test]
    async fn one_events_spike_does_not_count_against_another() {
        let fake = Arc::new(FakeRoom::default());
        fake.set(1, room(0, 0, false));
        fake.set(2, room(0, 0, false));
        let rooms = rooms(&fake, 0);
        let mut guards = Vec::new();
        for i in 0..50 {
            if let Entry::Proceed { guard, .. } = rooms.enter(1, &visitor(&format!("a{i}")), 0).await.unwrap()
            {
                guards.push(guard);
            }
        }
        let other = rooms.enter(2, &visitor("b"), 0).await.unwrap();
        assert!(matches!(other, Entry::Proceed { .. }), "event 2 is calm");
    }

    #[tokio::test]
    async fn the_in_flight_bulkhead_sheds_past_its_bound_and_recovers() {
        let fake = Arc::new(FakeRoom::default());
        let rooms = WaitingRoom::new(fake.clone(), Keys::new([3; 32]), Metrics::new(), 60_000, 0, 2);
        let a = rooms.enter(1, &visitor("a"), 0).await.unwrap();
        let b = rooms.enter(1, &visitor("b"), 0).await.unwrap();
        assert_eq!(rooms.enter(1, &visitor("c"), 0).await.unwrap_err(), ShopError::Busy);
        drop((a, b));
        assert!(rooms.enter(1, &visitor("d"), 0).await.is_ok());
    }

    #[tokio::test]
    async fn room_reads_are_cached_per_event() {
        let fake = Arc::new(FakeRoom::default());
        let rooms = rooms(&fake, 1_000);
        for i in 0..10 {
            rooms.enter(1, &visitor("a"), 100 + i).await.unwrap();
        }
        assert_eq!(fake.reads.load(Ordering::Relaxed), 1);
        rooms.enter(1, &visitor("a"), 1_200).await.unwrap();
        assert_eq!(fake.reads.load(Ordering::Relaxed), 2);
    }
}
