//! The domain against a tiny reference model, over long random command
//! sequences: many items, some with variations, across overlapping quotas
//! that name items or single variations, vouchers (blocking or not, for an
//! item, a variation or a quota, with windows) redeemed in holds and
//! add-ons, holds, add-ons,
//! removals (down to an empty cart), extensions, releases, checkouts,
//! payments (some late), cancels, expiries, waiting-room joins and
//! reconfigurations,
//! resizes, closes, duplicate request ids, request ids reused with another
//! command, time jumps, a leader clock that goes backwards, and one that
//! jumps hours ahead (log time may move at most `LOG_TIME_STEP_MAX_MS` per
//! record, so retained request ids keep their outcomes).
//!
//! The model is deliberately naive: it keeps every hold and order in a list
//! and recomputes what counts against a quota by scanning them at the
//! current time. After every step, for every quota, the engine and the model
//! must agree on paid, pending, held and blocked (and on the waiting room's
//! joined and admitted counts), and the engine must keep
//! paid + pending + held + blocked <= size, unless a resize shrank the quota
//! below what was already sold (then its usage may only go down until it
//! fits); for every voucher they must agree on what it is redeemed for,
//! which never passes its maximum.
//!
//! Seats: rows of two zones (seats of any sellable entry), blocking and
//! unblocking, seated holds of named seats and of the best adjacent ones
//! (the model scans every start of every row naively and must pick the
//! engine's seats), and every existing command on seated holds. After
//! every step no seat has two live holders (holds and orders that count),
//! every seated hold's lines are its seats' items, and every seat's status
//! (free, blocked, held, ordered, paid) is the model's, computed by
//! scanning holds and orders at the current time.
//! The waiting list too: joins (with priorities), leaves, offer claims and
//! offer-time settings. The model serves its line after every accepted
//! command by sorting the waiting entries (priority, then join order) and
//! handing out one ticket to each whose item fits, skipping the rest of an
//! item's line once it does not; newcomers fit only in what is left after
//! those offers. After every step the engine and the model must agree on
//! every entry's place, offer or end, and live offers count in the quota
//! invariant. And after every accepted record, fairness: no entry that
//! waits without an offer has an item with room for one ticket.

mod support;

use boxoffice_engine::domain::limits::*;
use boxoffice_engine::domain::*;
use proptest::prelude::*;
use proptest::sample::Index;
use support::{Fx, MINUTE_MS};

#[derive(Clone, Copy, PartialEq, Debug)]
enum HoldState {
    Active,
    Released,
    Expired,
    CheckedOut,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum OrderState {
    Pending,
    Paid,
    Expired,
    Canceled,
}

#[derive(Clone, Debug)]
struct MQuota {
    size: Option<u64>,
    /// The catalog entries it names (items or variations).
    items: Vec<usize>,
    closed: bool,
    close_when_sold_out: bool,
}

#[derive(Clone, Debug)]
struct MHold {
    lines: Vec<(usize, u32)>,
    created: u64,
    expires: u64,
    state: HoldState,
    voucher: Option<usize>,
    /// Seat indexes, in ticket order.
    seats: Vec<usize>,
}

#[derive(Clone, Debug)]
struct MOrder {
    lines: Vec<(usize, u32)>,
    deadline: u64,
    state: OrderState,
    voucher: Option<usize>,
    seats: Vec<usize>,
}

/// A seat: its zone, its row (index into `Model::rows`), its catalog entry.
#[derive(Clone, Debug)]
struct MSeat {
    item: usize,
    blocked: bool,
}

/// What a seat is now, as the model sees it (hold and order indexes).
#[derive(Clone, Copy, PartialEq, Debug)]
enum MSeatStatus {
    Free,
    Blocked,
    Held(usize),
    Ordered(usize),
    Paid(usize),
}

#[derive(Clone, Copy, Debug)]
enum MScope {
    Item(usize),
    Quota(usize),
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum EntryState {
    Waiting,
    Offered { expires: u64 },
    Claimed,
    Expired { expires: u64 },
    Left,
}

#[derive(Clone, Debug)]
struct MEntry {
    item: usize,
    priority: u32,
    state: EntryState,
}

#[derive(Clone, Debug)]
struct MVoucher {
    scope: MScope,
    max: u64,
    blocking: bool,
    from: u64,
    until: u64,
}

/// The event's waiting room: the admission formula of `WaitingRoom`,
/// written out again.
#[derive(Clone, Debug, Default)]
struct MRoom {
    admit_per_minute: u64,
    joined: u64,
    base: u64,
    base_at: u64,
}

impl MRoom {
    fn admitted(&self, now: u64) -> u64 {
        let grown = u128::from(now.saturating_sub(self.base_at)) * u128::from(self.admit_per_minute) / 60_000;
        (u128::from(self.base) + grown).min(u128::from(self.joined)) as u64
    }
}

/// The reference model: lists, scans, no indexes. Lines name catalog
/// entries: items and variations alike.
#[derive(Clone, Debug, Default)]
struct Model {
    now: u64,
    /// Per catalog entry, the entry it is a variation of.
    parent: Vec<Option<usize>>,
    vouchers: Vec<MVoucher>,
    quotas: Vec<MQuota>,
    holds: Vec<MHold>,
    orders: Vec<MOrder>,
    room: MRoom,
    seats: Vec<MSeat>,
    /// Rows in creation order: (zone, seat indexes in order).
    rows: Vec<(usize, Vec<usize>)>,
    entries: Vec<MEntry>,
    offer_ttl: u64,
}

/// Take `quantity` of `item` out of a hold's lines, from its last line of
/// that item backwards, dropping emptied lines (as the engine does).
fn take(lines: &mut Vec<(usize, u32)>, item: usize, quantity: u32) {
    let mut left = quantity;
    for line in lines.iter_mut().rev().filter(|(i, _)| *i == item) {
        let taken = left.min(line.1);
        line.1 -= taken;
        left -= taken;
    }
    assert_eq!(left, 0, "the model removes only what is covered");
    lines.retain(|(_, n)| *n > 0);
}

impl Model {
    /// A seat's status now, by scanning every hold and order.
    fn seat_status(&self, seat: usize) -> MSeatStatus {
        let now = self.now;
        if let Some(h) = self
            .holds
            .iter()
            .position(|h| h.state == HoldState::Active && h.expires > now && h.seats.contains(&seat))
        {
            return MSeatStatus::Held(h);
        }
        for (o, order) in self.orders.iter().enumerate().filter(|(_, o)| o.seats.contains(&seat)) {
            match order.state {
                OrderState::Paid => return MSeatStatus::Paid(o),
                OrderState::Pending if order.deadline > now => return MSeatStatus::Ordered(o),
                _ => {}
            }
        }
        if self.seats[seat].blocked { MSeatStatus::Blocked } else { MSeatStatus::Free }
    }

    fn seat_free(&self, seat: usize) -> bool {
        self.seat_status(seat) == MSeatStatus::Free
    }

    /// Best available, written out naively: every start of every row of
    /// the zone, in order; the closest centre wins, ties to the lower start.
    fn best_adjacent(&self, zone: usize, count: usize) -> Option<Vec<usize>> {
        for (_, seats) in self.rows.iter().filter(|(z, _)| *z == zone) {
            let n = seats.len();
            let mut best: Option<(f64, usize)> = None;
            for start in 0..n.saturating_sub(count - 1) {
                if start + count > n || !seats[start..start + count].iter().all(|&s| self.seat_free(s)) {
                    continue;
                }
                let distance = ((start as f64 + (count as f64 - 1.0) / 2.0) - (n as f64 - 1.0) / 2.0).abs();
                if best.is_none_or(|(d, _)| distance < d) {
                    best = Some((distance, start));
                }
            }
            if let Some((_, start)) = best {
                return Some(seats[start..start + count].to_vec());
            }
        }
        None
    }

    /// A seated hold's lines (one ticket per seat, merged per item in order
    /// of first appearance) and its seats in ticket order.
    fn seat_lines(&self, seats: &[usize]) -> (Vec<(usize, u32)>, Vec<usize>) {
        let mut lines: Vec<(usize, u32)> = vec![];
        for &seat in seats {
            let item = self.seats[seat].item;
            match lines.iter_mut().find(|(i, _)| *i == item) {
                Some(line) => line.1 += 1,
                None => lines.push((item, 1)),
            }
        }
        let ordered = lines
            .iter()
            .flat_map(|(i, _)| seats.iter().copied().filter(|&s| self.seats[s].item == *i))
            .collect();
        (lines, ordered)
    }

    /// A quota counts what it names and the variations of what it names.
    fn in_quota(&self, q: usize, item: usize) -> bool {
        let names = &self.quotas[q].items;
        names.contains(&item) || self.parent[item].is_some_and(|p| names.contains(&p))
    }

    /// Tickets redeemed with voucher `v` now: live holds, live pending and paid orders.
    fn redeemed(&self, v: usize) -> u64 {
        let now = self.now;
        let tickets = |lines: &[(usize, u32)]| lines.iter().map(|(_, n)| u64::from(*n)).sum::<u64>();
        let held: u64 = self
            .holds
            .iter()
            .filter(|h| h.voucher == Some(v) && h.state == HoldState::Active && h.expires > now)
            .map(|h| tickets(&h.lines))
            .sum();
        let ordered: u64 = self
            .orders
            .iter()
            .filter(|o| o.voucher == Some(v))
            .filter(|o| o.state == OrderState::Paid || (o.state == OrderState::Pending && o.deadline > now))
            .map(|o| tickets(&o.lines))
            .sum();
        held + ordered
    }

    /// The quotas a blocking voucher blocks.
    fn blocks(&self, v: usize) -> Vec<usize> {
        match self.vouchers[v].scope {
            MScope::Quota(q) => vec![q],
            MScope::Item(e) => (0..self.quotas.len()).filter(|&q| self.in_quota(q, e)).collect(),
        }
    }

    /// Unredeemed uses of blocking vouchers still valid now, in quota `q`.
    fn blocked(&self, q: usize) -> u64 {
        (0..self.vouchers.len())
            .filter(|&v| self.vouchers[v].blocking && self.now < self.vouchers[v].until)
            .filter(|&v| self.blocks(v).contains(&q))
            .map(|v| self.vouchers[v].max - self.redeemed(v))
            .sum()
    }

    /// May voucher `v` be redeemed for `lines` now? `Some` with the quotas
    /// whose room its block holds for them.
    fn redeem(&self, v: usize, lines: &[(usize, u32)], in_window: bool) -> Option<Vec<usize>> {
        let voucher = &self.vouchers[v];
        if in_window && !(voucher.from <= self.now && self.now < voucher.until) {
            return None;
        }
        let covered = |e: usize| match voucher.scope {
            MScope::Item(item) => e == item || self.parent[e] == Some(item),
            MScope::Quota(q) => self.in_quota(q, e),
        };
        let wanted: u64 = lines.iter().map(|(_, n)| u64::from(*n)).sum();
        if !lines.iter().all(|(e, _)| covered(*e)) || self.redeemed(v) + wanted > voucher.max {
            return None;
        }
        Some(if voucher.blocking && self.now < voucher.until { self.blocks(v) } else { vec![] })
    }

    fn qty_in(&self, q: usize, lines: &[(usize, u32)]) -> u64 {
        lines.iter().filter(|(i, _)| self.in_quota(q, *i)).map(|(_, n)| u64::from(*n)).sum()
    }

    /// (paid, pending, held) of quota `q` now.
    fn counts(&self, q: usize) -> (u64, u64, u64) {
        let now = self.now;
        let paid = self
            .orders
            .iter()
            .filter(|o| o.state == OrderState::Paid)
            .map(|o| self.qty_in(q, &o.lines))
            .sum();
        let pending = self
            .orders
            .iter()
            .filter(|o| o.state == OrderState::Pending && o.deadline > now)
            .map(|o| self.qty_in(q, &o.lines))
            .sum();
        let held = self
            .holds
            .iter()
            .filter(|h| h.state == HoldState::Active && h.expires > now)
            .map(|h| self.qty_in(q, &h.lines))
            .sum();
        (paid, pending, held)
    }

    fn usage(&self, q: usize) -> u64 {
        let (a, b, c) = self.counts(q);
        a + b + c + self.blocked(q) + self.offered(q)
    }

    /// Live offers of quota `q`'s items now.
    fn offered(&self, q: usize) -> u64 {
        let live = |e: &&MEntry| matches!(e.state, EntryState::Offered { expires } if expires > self.now);
        self.entries.iter().filter(live).filter(|e| self.in_quota(q, e.item)).count() as u64
    }

    /// The waiting entries, in serving order: priority, highest first, then join order.
    fn line(&self) -> Vec<usize> {
        let mut line: Vec<usize> =
            (0..self.entries.len()).filter(|&e| self.entries[e].state == EntryState::Waiting).collect();
        line.sort_by_key(|&e| (std::cmp::Reverse(self.entries[e].priority), e));
        line
    }

    /// The entries the line is owed an offer now, and the units per quota.
    fn plan(&self) -> (Vec<usize>, Vec<u64>) {
        let mut extra = vec![0u64; self.quotas.len()];
        let mut failed: Vec<usize> = vec![];
        let mut planned = vec![];
        for e in self.line() {
            let item = self.entries[e].item;
            if failed.contains(&item) {
                continue;
            }
            let quotas: Vec<usize> = (0..self.quotas.len()).filter(|&q| self.in_quota(q, item)).collect();
            let fits = !quotas.is_empty()
                && quotas.iter().all(|&q| {
                    let quota = &self.quotas[q];
                    !quota.closed && quota.size.is_none_or(|s| self.usage(q) + extra[q] < s)
                });
            if fits {
                planned.push(e);
                for q in quotas {
                    extra[q] += 1;
                }
            } else {
                failed.push(item);
            }
        }
        (planned, extra)
    }

    /// Make the offers the line is owed (after every accepted command).
    fn serve(&mut self) {
        let expires = self.now + self.offer_ttl;
        for e in self.plan().0 {
            self.entries[e].state = EntryState::Offered { expires };
        }
    }

    /// An entry's place among the waiting entries of its item, from 1.
    fn place(&self, e: usize) -> u64 {
        let item = self.entries[e].item;
        let line = self.line();
        1 + line.iter().take_while(|&&x| x != e).filter(|&&x| self.entries[x].item == item).count() as u64
    }

    /// All or nothing: every quota of every item is open and has room.
    fn fits(&self, lines: &[(usize, u32)]) -> bool {
        self.fits_except(lines, &[])
    }

    /// [`Model::fits`], where the quotas in `blocked` need no room (a
    /// blocking voucher's redemption), only to be open.
    fn fits_except(&self, lines: &[(usize, u32)], blocked: &[usize]) -> bool {
        let items_ok = lines.iter().all(|(i, _)| (0..self.quotas.len()).any(|q| self.in_quota(q, *i)));
        // The offers the line is owed come first.
        let owed = self.plan().1;
        items_ok
            && (0..self.quotas.len()).all(|q| {
                let demand = self.qty_in(q, lines);
                let quota = &self.quotas[q];
                let room =
                    blocked.contains(&q) || quota.size.is_none_or(|s| self.usage(q) + owed[q] + demand <= s);
                demand == 0 || (!quota.closed && room)
            })
    }

    /// Lines that reserve nothing any more, checked as new: the voucher's
    /// free uses (not its window), then capacity.
    fn recheck(&self, lines: &[(usize, u32)], voucher: Option<usize>) -> bool {
        match voucher {
            None => self.fits(lines),
            Some(v) => self.redeem(v, lines, false).is_some_and(|blocked| self.fits_except(lines, &blocked)),
        }
    }

    /// A quota closes itself when a sale or a resize that touches it leaves
    /// paid + pending at or over its size.
    fn auto_close(&mut self, touched: impl Fn(&Model, usize) -> bool) {
        for q in 0..self.quotas.len() {
            if !touched(self, q) {
                continue;
            }
            let (paid, pending, _) = self.counts(q);
            let quota = &mut self.quotas[q];
            if quota.close_when_sold_out && quota.size.is_some_and(|s| paid + pending >= s) {
                quota.closed = true;
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Hold {
        lines: Vec<(Index, u32)>,
        ttl_min: u64,
    },
    CreateVoucher {
        target: Index,
        on_quota: bool,
        max: u64,
        blocking: bool,
        starts_in_min: u64,
        valid_min: u64,
    },
    HoldWithVoucher {
        voucher: Index,
        lines: Vec<(Index, u32)>,
        ttl_min: u64,
        in_scope: bool,
    },
    AddToHold {
        hold: Index,
        lines: Vec<(Index, u32)>,
    },
    Remove {
        hold: Index,
        lines: Vec<(Index, u32)>,
    },
    RemoveAll {
        hold: Index,
    },
    Join,
    Configure {
        admit_per_minute: u32,
    },
    JoinList {
        item: Index,
        priority: u32,
        buyer: bool,
    },
    LeaveList {
        entry: Index,
    },
    Claim {
        entry: Index,
        ttl_min: u64,
    },
    ConfigureList {
        ttl_min: u64,
    },
    Extend {
        hold: Index,
        ttl_min: u64,
    },
    Release {
        hold: Index,
    },
    Checkout {
        hold: Index,
    },
    Pay {
        order: Index,
    },
    Cancel {
        order: Index,
    },
    Resize {
        quota: Index,
        size: Option<u64>,
    },
    Close {
        quota: Index,
    },
    Reopen {
        quota: Index,
    },
    Expire,
    Block {
        seats: Vec<Index>,
        blocked: bool,
    },
    SeatedNamed {
        seats: Vec<Index>,
        ttl_min: u64,
    },
    SeatedAdjacent {
        zone: usize,
        count: usize,
        ttl_min: u64,
    },
    Advance {
        ms: u64,
    },
    ClockBehind {
        ms: u64,
    },
    ClockJump {
        ms: u64,
    },
    Retry {
        which: Index,
    },
    Reuse {
        which: Index,
    },
    Unknown,
}

fn lines() -> impl Strategy<Value = Vec<(Index, u32)>> {
    prop::collection::vec((any::<Index>(), 1u32..=4), 1..=3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (lines(), 1u64..=45).prop_map(|(lines, ttl_min)| Op::Hold { lines, ttl_min }),
        1 => (any::<Index>(), any::<bool>(), 1u64..=20, any::<bool>(), prop_oneof![3 => Just(0u64), 1 => 1u64..=10], 1u64..=600)
            .prop_map(|(target, on_quota, max, blocking, starts_in_min, valid_min)| Op::CreateVoucher {
                target, on_quota, max, blocking, starts_in_min, valid_min
            }),
        4 => (any::<Index>(), lines(), 1u64..=45, prop::bool::weighted(0.8))
            .prop_map(|(voucher, lines, ttl_min, in_scope)| Op::HoldWithVoucher { voucher, lines, ttl_min, in_scope }),
        1 => (any::<Index>(), lines()).prop_map(|(hold, lines)| Op::AddToHold { hold, lines }),
        2 => (any::<Index>(), lines()).prop_map(|(hold, lines)| Op::Remove { hold, lines }),
        1 => any::<Index>().prop_map(|hold| Op::RemoveAll { hold }),
        3 => Just(Op::Join),
        4 => (any::<Index>(), prop_oneof![3 => Just(0u32), 1 => 1u32..=3], any::<bool>())
            .prop_map(|(item, priority, buyer)| Op::JoinList { item, priority, buyer }),
        1 => any::<Index>().prop_map(|entry| Op::LeaveList { entry }),
        3 => (any::<Index>(), 1u64..=45).prop_map(|(entry, ttl_min)| Op::Claim { entry, ttl_min }),
        1 => (1u64..=60).prop_map(|ttl_min| Op::ConfigureList { ttl_min }),
        1 => (1u32..=600).prop_map(|admit_per_minute| Op::Configure { admit_per_minute }),
        1 => (any::<Index>(), 1u64..=60).prop_map(|(hold, ttl_min)| Op::Extend { hold, ttl_min }),
        1 => any::<Index>().prop_map(|hold| Op::Release { hold }),
        6 => any::<Index>().prop_map(|hold| Op::Checkout { hold }),
        5 => any::<Index>().prop_map(|order| Op::Pay { order }),
        1 => any::<Index>().prop_map(|order| Op::Cancel { order }),
        1 => (any::<Index>(), prop::option::weighted(0.9, 0u64..=25)).prop_map(|(quota, size)| Op::Resize { quota, size }),
        1 => any::<Index>().prop_map(|quota| Op::Close { quota }),
        2 => any::<Index>().prop_map(|quota| Op::Reopen { quota }),
        1 => Just(Op::Expire),
        1 => (prop::collection::vec(any::<Index>(), 1..=3), prop::bool::weighted(0.6))
            .prop_map(|(seats, blocked)| Op::Block { seats, blocked }),
        4 => (prop::collection::vec(any::<Index>(), 1..=3), 1u64..=45)
            .prop_map(|(seats, ttl_min)| Op::SeatedNamed { seats, ttl_min }),
        4 => (0usize..2, 1usize..=4, 1u64..=45)
            .prop_map(|(zone, count, ttl_min)| Op::SeatedAdjacent { zone, count, ttl_min }),
        3 => (0u64..=20 * MINUTE_MS).prop_map(|ms| Op::Advance { ms }),
        1 => (0u64..=10 * MINUTE_MS).prop_map(|ms| Op::ClockBehind { ms }),
        1 => (0u64..=3 * 60 * MINUTE_MS).prop_map(|ms| Op::ClockJump { ms }),
        2 => any::<Index>().prop_map(|which| Op::Retry { which }),
        1 => any::<Index>().prop_map(|which| Op::Reuse { which }),
        1 => Just(Op::Unknown),
    ]
}

#[derive(Clone, Debug)]
struct Setup {
    items: usize,
    /// How many variations each of the first items has.
    variations: Vec<usize>,
    quotas: Vec<(Option<u64>, Vec<Index>, bool)>,
    admit_per_minute: u32,
    /// Seat rows: their zone (0 or 1) and the catalog entry of each seat.
    rows: Vec<(usize, Vec<Index>)>,
}

fn setup() -> impl Strategy<Value = Setup> {
    let quota = (
        prop::option::weighted(0.85, 0u64..=40),
        prop::collection::vec(any::<Index>(), 1..=3),
        any::<bool>(),
    );
    let variations = prop::collection::vec(prop_oneof![2 => Just(0usize), 1 => 1usize..=3], 0..=2);
    let rows = prop::collection::vec((0usize..2, prop::collection::vec(any::<Index>(), 1..=8)), 1..=4);
    (2usize..=6, variations, prop::collection::vec(quota, 1..=5), 1u32..=120, rows).prop_map(
        |(items, variations, quotas, admit_per_minute, rows)| Setup {
            items,
            variations,
            quotas,
            admit_per_minute,
            rows,
        },
    )
}

/// A sent envelope, its outcome, and its log time, for retries.
struct Sent {
    envelope: Envelope,
    outcome: Outcome,
    at_ms: u64,
}

fn run(setup: Setup, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut fx = Fx::new();
    let mut model = Model { now: fx.time_ms, ..Model::default() };
    // The catalog: the items, then their variations. Lines name entries
    // that can be sold: items without variations, and variations.
    let mut items: Vec<ItemId> = (0..setup.items).map(|i| fx.item(&format!("item {i}"))).collect();
    model.parent = vec![None; items.len()];
    for (parent, &count) in setup.variations.iter().enumerate().take(setup.items) {
        for v in 0..count {
            let command = Command::CreateVariation {
                item: items[parent],
                name: format!("variation {v}"),
                price_cents: 100 + v as u64,
            };
            let Accepted::ItemCreated { item } = fx.ok(command) else { unreachable!() };
            items.push(item);
            model.parent.push(Some(parent));
        }
    }
    let sellable: Vec<usize> = (0..items.len()).filter(|&e| !model.parent.contains(&Some(e))).collect();
    let mut quotas = Vec::new();
    for (size, members, close) in &setup.quotas {
        let mut member_idx: Vec<usize> = members.iter().map(|m| m.index(items.len())).collect();
        member_idx.sort_unstable();
        member_idx.dedup();
        // A quota names an item or some of its variations, not both.
        let named = member_idx.clone();
        member_idx.retain(|e| model.parent[*e].is_none_or(|p| !named.contains(&p)));
        let ids: Vec<ItemId> = member_idx.iter().map(|&i| items[i]).collect();
        quotas.push(fx.quota_with(*size, &ids, *close));
        model.quotas.push(MQuota {
            size: *size,
            items: member_idx,
            closed: false,
            close_when_sold_out: *close,
        });
    }
    // The seating plan: rows of two zones, each seat of a sellable entry.
    let mut seat_ids: Vec<SeatId> = vec![];
    for (r, (zone, entries)) in setup.rows.iter().enumerate() {
        let entries: Vec<usize> = entries.iter().map(|e| sellable[e.index(sellable.len())]).collect();
        let specs =
            entries.iter().enumerate().map(|(i, &e)| SeatSpec { label: i.to_string(), item: items[e] });
        let command = Command::AddSeatRow {
            event: fx.event,
            zone: format!("zone {zone}"),
            row: format!("row {r}"),
            seats: specs.collect(),
        };
        let Accepted::SeatRowAdded { first_seat, .. } = fx.ok(command) else { unreachable!() };
        let first = model.seats.len();
        for (i, &item) in entries.iter().enumerate() {
            seat_ids.push(SeatId(first_seat.0 + i as u64));
            model.seats.push(MSeat { item, blocked: false });
        }
        model.rows.push((*zone, (first..model.seats.len()).collect()));
    }
    let event = fx.event;
    let room = move |admit_per_minute| Command::ConfigureWaitingRoom {
        event,
        admit_per_minute,
        arrivals_per_second_max: 10,
        in_flight_max: 100,
        dry_run: false,
    };
    fx.ok(room(setup.admit_per_minute));
    model.now = fx.state.now_ms;
    model.room =
        MRoom { admit_per_minute: setup.admit_per_minute.into(), base_at: model.now, ..MRoom::default() };
    let (mut holds, mut orders): (Vec<HoldId>, Vec<OrderId>) = (vec![], vec![]);
    let mut codes: Vec<String> = vec![];
    let mut entries: Vec<EntryId> = vec![];
    model.offer_ttl = WAITING_LIST_OFFER_TTL_MS_DEFAULT;
    let mut sent: Vec<Sent> = vec![];
    // Quotas a resize left above their size: usage may only fall until it fits.
    let mut over = vec![false; quotas.len()];

    for op in ops {
        let usage_before: Vec<u64> = {
            let mut at = model.clone();
            at.now = fx.time_ms.clamp(model.now, model.now + LOG_TIME_STEP_MAX_MS);
            (0..quotas.len()).map(|q| at.usage(q)).collect()
        };
        let to_lines = |ls: &[(Index, u32)]| -> Vec<(usize, u32)> {
            ls.iter().map(|(i, n)| (sellable[i.index(sellable.len())], *n)).collect()
        };
        let engine_lines =
            |ls: &[(usize, u32)]| ls.iter().map(|&(i, quantity)| Line { item: items[i], quantity }).collect();
        let pick = |index: &Index, len: usize| (len > 0).then(|| index.index(len));

        // Ops that do not send a command.
        match &op {
            Op::Advance { ms } => {
                // The fixture walks log time there in neutral steps.
                fx.advance(*ms);
                model.now = model.now.max(fx.state.now_ms);
                continue;
            }
            Op::ClockJump { ms } => {
                // The next leader's clock is hours fast: no steps, one jump.
                fx.time_ms += ms;
                continue;
            }
            Op::ClockBehind { ms } => {
                // The next leader's clock lags the log: log time must hold.
                fx.time_ms = fx.time_ms.saturating_sub(*ms);
                continue;
            }
            Op::Retry { which } => {
                let Some(i) = pick(which, sent.len()) else { continue };
                let retained = fx.state.now_ms.saturating_sub(sent[i].at_ms) < REQUEST_ID_RETENTION_MS;
                if retained {
                    let mut envelope = sent[i].envelope.clone();
                    envelope.time_ms = fx.time_ms;
                    let applied = fx.send(&envelope);
                    prop_assert!(applied.is_duplicate(), "a retained request id must not run twice");
                    prop_assert_eq!(&applied.outcome, &sent[i].outcome);
                }
                continue;
            }
            Op::Reuse { which } => {
                // The same request id with another command: a conflict, and nothing changes.
                let Some(i) = pick(which, sent.len()) else { continue };
                let retained = fx.state.now_ms.saturating_sub(sent[i].at_ms) < REQUEST_ID_RETENTION_MS;
                let mut envelope = sent[i].envelope.clone();
                envelope.command = Command::Pay { order: OrderId(u64::MAX - 1) };
                if retained && envelope.command != sent[i].envelope.command {
                    envelope.time_ms = fx.time_ms;
                    let before = fx.state.clone();
                    let applied = fx.send(&envelope);
                    prop_assert!(applied.record.is_none(), "a conflict records nothing");
                    prop_assert_eq!(applied.outcome, Outcome::Rejected(Rejection::Conflict));
                    prop_assert_eq!(&fx.state, &before);
                }
                continue;
            }
            _ => {}
        }

        let skip = match &op {
            Op::AddToHold { .. }
            | Op::Remove { .. }
            | Op::RemoveAll { .. }
            | Op::Extend { .. }
            | Op::Release { .. }
            | Op::Checkout { .. } => holds.is_empty(),
            Op::Pay { .. } | Op::Cancel { .. } => orders.is_empty(),
            Op::HoldWithVoucher { .. } => codes.is_empty(),
            Op::LeaveList { .. } | Op::Claim { .. } => entries.is_empty(),
            _ => false,
        };
        if skip {
            continue;
        }
        // The model decides at the same effective time as the engine: the
        // leader's clock, but never back and at most one step forward.
        model.now = fx.time_ms.clamp(model.now, model.now + LOG_TIME_STEP_MAX_MS);
        let now = model.now;
        let (command, expected): (Command, bool) = match &op {
            Op::Hold { lines, ttl_min } => {
                let ls = to_lines(lines);
                let fits = model.fits(&ls);
                let command = Command::PlaceHold {
                    event: fx.event,
                    lines: engine_lines(&ls),
                    ttl_ms: ttl_min * MINUTE_MS,
                };
                if fits {
                    let expires = now + ttl_min * MINUTE_MS;
                    let hold = MHold {
                        lines: ls,
                        created: now,
                        expires,
                        state: HoldState::Active,
                        voucher: None,
                        seats: vec![],
                    };
                    model.holds.push(hold);
                }
                (command, fits)
            }
            Op::CreateVoucher { target, on_quota, max, blocking, starts_in_min, valid_min } => {
                let scope = if *on_quota {
                    MScope::Quota(target.index(quotas.len()))
                } else {
                    MScope::Item(target.index(items.len()))
                };
                let (from, until) =
                    (now + starts_in_min * MINUTE_MS, now + (starts_in_min + valid_min) * MINUTE_MS);
                let candidate = MVoucher { scope, max: *max, blocking: *blocking, from, until };
                model.vouchers.push(candidate);
                let v = model.vouchers.len() - 1;
                // A block must say which variation it holds, must block
                // something, and must fit in every quota it blocks.
                let ok = !*blocking || {
                    let has_variations = matches!(scope, MScope::Item(e) if !sellable.contains(&e));
                    let blocked = model.blocks(v);
                    // (The candidate's own block is not in `usage` yet: it is counted below.)
                    model.vouchers[v].blocking = false;
                    let owed = model.plan().1;
                    let fits = blocked.iter().all(|&q| {
                        model.quotas[q].size.is_none_or(|size| model.usage(q) + owed[q] + max <= size)
                    });
                    model.vouchers[v].blocking = true;
                    !has_variations && !blocked.is_empty() && fits
                };
                if !ok {
                    model.vouchers.pop();
                }
                let scope = match scope {
                    MScope::Item(e) => VoucherScope::Item(items[e]),
                    MScope::Quota(q) => VoucherScope::Quota(quotas[q]),
                };
                let command = Command::CreateVoucher {
                    event: fx.event,
                    scope,
                    max_redemptions: *max as u32,
                    valid_from_ms: from,
                    valid_until_ms: until,
                    blocks_quota: *blocking,
                };
                (command, ok)
            }
            Op::HoldWithVoucher { voucher, lines, ttl_min, in_scope } => {
                let v = voucher.index(codes.len());
                let mut ls = to_lines(lines);
                // Mostly lines the voucher is for (else it is mostly not applicable).
                let covered: Vec<usize> = sellable
                    .iter()
                    .copied()
                    .filter(|&e| match model.vouchers[v].scope {
                        MScope::Item(item) => e == item || model.parent[e] == Some(item),
                        MScope::Quota(q) => model.in_quota(q, e),
                    })
                    .collect();
                if *in_scope && !covered.is_empty() {
                    ls = lines.iter().map(|(i, n)| (covered[i.index(covered.len())], *n)).collect();
                }
                let ok = model.redeem(v, &ls, true).is_some_and(|blocked| model.fits_except(&ls, &blocked));
                let command = Command::PlaceHoldWith {
                    event: fx.event,
                    lines: engine_lines(&ls),
                    ttl_ms: ttl_min * MINUTE_MS,
                    voucher: Some(codes[v].clone()),
                    buyer: None,
                };
                if ok {
                    let expires = now + ttl_min * MINUTE_MS;
                    let hold = MHold {
                        lines: ls,
                        created: now,
                        expires,
                        state: HoldState::Active,
                        voucher: Some(v),
                        seats: vec![],
                    };
                    model.holds.push(hold);
                }
                (command, ok)
            }
            Op::AddToHold { hold, lines } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let ls = to_lines(lines);
                let mh = &model.holds[h];
                let live = mh.state == HoldState::Active && mh.expires > now;
                let fits_limits = mh.lines.len() + ls.len() <= HOLD_LINES_MAX
                    && mh.lines.iter().chain(&ls).map(|(_, n)| u64::from(*n)).sum::<u64>()
                        <= HOLD_QUANTITY_MAX;
                let fits = match mh.voucher {
                    None => model.fits(&ls),
                    Some(v) => {
                        model.redeem(v, &ls, true).is_some_and(|blocked| model.fits_except(&ls, &blocked))
                    }
                };
                // Lines of a seated hold follow its seats.
                let ok = live && fits_limits && fits && mh.seats.is_empty();
                if ok {
                    model.holds[h].lines.extend(ls.iter().copied());
                }
                (Command::AddToHold { hold: holds[h], lines: engine_lines(&ls) }, ok)
            }
            Op::Remove { hold, lines } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let ls = to_lines(lines);
                let mh = &model.holds[h];
                let live = mh.state == HoldState::Active && mh.expires > now;
                let held = |item: usize| -> u64 {
                    mh.lines.iter().filter(|(i, _)| *i == item).map(|(_, n)| u64::from(*n)).sum()
                };
                let asked = |item: usize| -> u64 {
                    ls.iter().filter(|(i, _)| *i == item).map(|(_, n)| u64::from(*n)).sum()
                };
                let covered = ls.iter().all(|(i, _)| asked(*i) <= held(*i));
                let ok = live && covered && mh.seats.is_empty();
                if ok {
                    for &(item, quantity) in &ls {
                        take(&mut model.holds[h].lines, item, quantity);
                    }
                }
                (Command::RemoveFromHold { hold: holds[h], lines: engine_lines(&ls) }, ok)
            }
            Op::RemoveAll { hold } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let mh = &model.holds[h];
                let live = mh.state == HoldState::Active && mh.expires > now;
                // Every line as it is: an empty hold has no lines to remove (invalid).
                let ls = mh.lines.clone();
                let ok = live && !ls.is_empty() && mh.seats.is_empty();
                if ok {
                    model.holds[h].lines.clear();
                }
                (Command::RemoveFromHold { hold: holds[h], lines: engine_lines(&ls) }, ok)
            }
            Op::Join => {
                let position = model.room.joined + 1;
                if model.room.admitted(now) >= model.room.joined {
                    model.room.base = model.room.joined;
                    model.room.base_at = now;
                }
                model.room.joined = position;
                (Command::JoinWaitingRoom { event: fx.event }, true)
            }
            Op::JoinList { item, priority, buyer } => {
                let e = sellable[item.index(sellable.len())];
                let for_sale = (0..quotas.len()).any(|q| model.in_quota(q, e));
                let ok = for_sale && !model.fits(&[(e, 1)]);
                if ok {
                    model.entries.push(MEntry { item: e, priority: *priority, state: EntryState::Waiting });
                }
                let buyer = buyer.then_some(BuyerId(7));
                (Command::JoinWaitingList { event: fx.event, item: items[e], priority: *priority, buyer }, ok)
            }
            Op::LeaveList { entry } => {
                let Some(e) = pick(entry, entries.len()) else { unreachable!() };
                let ok = match model.entries[e].state {
                    EntryState::Waiting => true,
                    EntryState::Offered { expires } => expires > now,
                    _ => false,
                };
                if ok {
                    model.entries[e].state = EntryState::Left;
                }
                (Command::LeaveWaitingList { entry: entries[e] }, ok)
            }
            Op::Claim { entry, ttl_min } => {
                let Some(e) = pick(entry, entries.len()) else { unreachable!() };
                let ok = matches!(model.entries[e].state, EntryState::Offered { expires } if expires > now);
                if ok {
                    model.entries[e].state = EntryState::Claimed;
                    let expires = now + ttl_min * MINUTE_MS;
                    let lines = vec![(model.entries[e].item, 1)];
                    let hold = MHold {
                        lines,
                        created: now,
                        expires,
                        state: HoldState::Active,
                        voucher: None,
                        seats: Vec::new(),
                    };
                    model.holds.push(hold);
                }
                (Command::ClaimOffer { entry: entries[e], ttl_ms: ttl_min * MINUTE_MS }, ok)
            }
            Op::ConfigureList { ttl_min } => {
                model.offer_ttl = ttl_min * MINUTE_MS;
                (Command::ConfigureWaitingList { event: fx.event, offer_ttl_ms: ttl_min * MINUTE_MS }, true)
            }
            Op::Configure { admit_per_minute } => {
                model.room.base = model.room.admitted(now);
                model.room.base_at = now;
                model.room.admit_per_minute = (*admit_per_minute).into();
                (room(*admit_per_minute), true)
            }
            Op::Extend { hold, ttl_min } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let mh = &mut model.holds[h];
                let live = mh.state == HoldState::Active && mh.expires > now;
                let cap = mh.created + HOLD_LIFETIME_MS_MAX;
                let wanted = now + ttl_min * MINUTE_MS;
                let ok = live && !(wanted > cap && mh.expires >= cap);
                if ok {
                    mh.expires = wanted.min(cap).max(mh.expires);
                }
                (Command::ExtendHold { hold: holds[h], ttl_ms: ttl_min * MINUTE_MS }, ok)
            }
            Op::Release { hold } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let ok = model.holds[h].state == HoldState::Active;
                if ok {
                    model.holds[h].state = HoldState::Released;
                }
                (Command::ReleaseHold { hold: holds[h] }, ok)
            }
            Op::Checkout { hold } => {
                let Some(h) = pick(hold, holds.len()) else { unreachable!() };
                let mh = model.holds[h].clone();
                let ok = match mh.state {
                    // An emptied cart is not an order.
                    HoldState::Active | HoldState::Expired if mh.lines.is_empty() => false,
                    HoldState::Active if mh.expires > now => true,
                    HoldState::Active | HoldState::Expired => {
                        mh.seats.iter().all(|&seat| model.seat_free(seat))
                            && model.recheck(&mh.lines, mh.voucher)
                    }
                    HoldState::Released | HoldState::CheckedOut => false,
                };
                if ok {
                    model.holds[h].state = HoldState::CheckedOut;
                    let deadline = now + 30 * MINUTE_MS;
                    model.orders.push(MOrder {
                        lines: mh.lines.clone(),
                        deadline,
                        state: OrderState::Pending,
                        voucher: mh.voucher,
                        seats: mh.seats.clone(),
                    });
                    model.auto_close(|m, q| m.qty_in(q, &mh.lines) > 0);
                }
                (Command::Checkout { hold: holds[h], payment_ttl_ms: 30 * MINUTE_MS }, ok)
            }
            Op::Pay { order } => {
                let Some(o) = pick(order, orders.len()) else { unreachable!() };
                let mo = model.orders[o].clone();
                let expired = mo.state == OrderState::Expired
                    || (mo.state == OrderState::Pending && mo.deadline <= now);
                let ok = match mo.state {
                    OrderState::Paid | OrderState::Canceled => false,
                    _ => true, // accepted: paid, or payment recorded with a refund owed
                };
                if ok {
                    let seats_free = mo.seats.iter().all(|&seat| model.seat_free(seat));
                    if !expired || (model.recheck(&mo.lines, mo.voucher) && seats_free) {
                        model.orders[o].state = OrderState::Paid;
                        model.auto_close(|m, q| m.qty_in(q, &mo.lines) > 0);
                    } else {
                        model.orders[o].state = OrderState::Expired;
                    }
                }
                (Command::Pay { order: orders[o] }, ok)
            }
            Op::Cancel { order } => {
                let Some(o) = pick(order, orders.len()) else { unreachable!() };
                let ok = model.orders[o].state != OrderState::Canceled;
                if ok {
                    model.orders[o].state = OrderState::Canceled;
                }
                (Command::CancelOrder { order: orders[o] }, ok)
            }
            Op::Resize { quota, size } => {
                let q = quota.index(quotas.len());
                model.quotas[q].size = *size;
                model.auto_close(|_, touched| touched == q);
                (Command::ResizeQuota { quota: quotas[q], size: *size }, true)
            }
            Op::Close { quota } => {
                let q = quota.index(quotas.len());
                model.quotas[q].closed = true;
                (Command::CloseQuota { quota: quotas[q] }, true)
            }
            Op::Reopen { quota } => {
                let q = quota.index(quotas.len());
                model.quotas[q].closed = false;
                (Command::ReopenQuota { quota: quotas[q] }, true)
            }
            Op::Expire => {
                for h in model.holds.iter_mut().filter(|h| h.state == HoldState::Active && h.expires <= now) {
                    h.state = HoldState::Expired;
                }
                for o in
                    model.orders.iter_mut().filter(|o| o.state == OrderState::Pending && o.deadline <= now)
                {
                    o.state = OrderState::Expired;
                }
                for e in model.entries.iter_mut() {
                    if let EntryState::Offered { expires } = e.state
                        && expires <= now
                    {
                        e.state = EntryState::Expired { expires };
                    }
                }
                (Command::Expire, true)
            }
            Op::Block { seats, blocked } => {
                let mut picked: Vec<usize> = seats.iter().map(|s| s.index(seat_ids.len())).collect();
                picked.sort_unstable();
                picked.dedup();
                let ok = !*blocked
                    || picked.iter().all(|&seat| {
                        !matches!(
                            model.seat_status(seat),
                            MSeatStatus::Held(_) | MSeatStatus::Ordered(_) | MSeatStatus::Paid(_)
                        )
                    });
                if ok {
                    for &seat in &picked {
                        model.seats[seat].blocked = *blocked;
                    }
                }
                let seats = picked.iter().map(|&seat| seat_ids[seat]).collect();
                (Command::SetSeatsBlocked { event: fx.event, seats, blocked: *blocked }, ok)
            }
            Op::SeatedNamed { seats, ttl_min } => {
                let mut picked: Vec<usize> = vec![];
                for seat in seats.iter().map(|s| s.index(seat_ids.len())) {
                    if !picked.contains(&seat) {
                        picked.push(seat);
                    }
                }
                let (ls, ordered) = model.seat_lines(&picked);
                let ok = picked.iter().all(|&seat| model.seat_free(seat)) && model.fits(&ls);
                if ok {
                    let expires = now + ttl_min * MINUTE_MS;
                    let hold = MHold {
                        lines: ls,
                        created: now,
                        expires,
                        state: HoldState::Active,
                        voucher: None,
                        seats: ordered,
                    };
                    model.holds.push(hold);
                }
                let command = Command::PlaceSeatedHold {
                    event: fx.event,
                    seats: SeatChoice::Named(picked.iter().map(|&seat| seat_ids[seat]).collect()),
                    ttl_ms: ttl_min * MINUTE_MS,
                    voucher: None,
                    buyer: None,
                };
                (command, ok)
            }
            Op::SeatedAdjacent { zone, count, ttl_min } => {
                let chosen = model.best_adjacent(*zone, *count);
                let ok = chosen.as_ref().is_some_and(|seats| model.fits(&model.seat_lines(seats).0));
                if let (true, Some(seats)) = (ok, chosen) {
                    let (ls, ordered) = model.seat_lines(&seats);
                    let expires = now + ttl_min * MINUTE_MS;
                    let hold = MHold {
                        lines: ls,
                        created: now,
                        expires,
                        state: HoldState::Active,
                        voucher: None,
                        seats: ordered,
                    };
                    model.holds.push(hold);
                }
                let command = Command::PlaceSeatedHold {
                    event: fx.event,
                    seats: SeatChoice::Adjacent {
                        zone: format!("zone {zone}"),
                        count: *count as u32,
                        item: None,
                    },
                    ttl_ms: ttl_min * MINUTE_MS,
                    voucher: None,
                    buyer: None,
                };
                (command, ok)
            }
            Op::Unknown => (Command::Pay { order: OrderId(u64::MAX) }, false),
            Op::Advance { .. }
            | Op::ClockBehind { .. }
            | Op::ClockJump { .. }
            | Op::Retry { .. }
            | Op::Reuse { .. } => unreachable!(),
        };

        // The serve step, after every accepted command.
        if expected {
            model.serve();
        }
        let envelope = fx.envelope(command.clone());
        let applied = fx.send(&envelope);
        let record = applied.record.as_ref().expect("a fresh request id appends a record");
        prop_assert_eq!(record.time_ms, now, "effective time is the leader clock, clamped to one step");
        prop_assert_eq!(applied.outcome.is_accepted(), expected, "{:?} -> {:?}", command, applied.outcome);
        match &applied.outcome {
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) if matches!(op, Op::Hold { .. }) => {
                holds.push(*hold)
            }
            Outcome::Accepted(Accepted::HoldLive { hold, .. })
                if matches!(op, Op::HoldWithVoucher { .. }) =>
            {
                holds.push(*hold)
            }
            Outcome::Accepted(Accepted::SeatedHoldLive { hold, seats, .. }) => {
                // The engine picked the seats the model picked, in ticket order.
                let model_seats: Vec<SeatId> =
                    model.holds.last().expect("placed").seats.iter().map(|&s| seat_ids[s]).collect();
                prop_assert_eq!(seats, &model_seats, "seats of {:?}", op);
                holds.push(*hold)
            }
            Outcome::Accepted(Accepted::HoldLive { hold, .. }) if matches!(op, Op::Claim { .. }) => {
                holds.push(*hold)
            }
            Outcome::Accepted(Accepted::WaitingListJoined { entry, position }) => {
                entries.push(*entry);
                let e = model.entries.len() - 1;
                let expected = match model.entries[e].state {
                    EntryState::Waiting => model.place(e),
                    _ => 0,
                };
                prop_assert_eq!(*position, expected, "join position");
            }
            Outcome::Accepted(Accepted::OrderPlaced { order, .. }) => orders.push(*order),
            Outcome::Accepted(Accepted::VoucherCreated { code, .. }) => codes.push(code.clone()),
            _ => {}
        }
        if let (Op::Join, Outcome::Accepted(Accepted::WaitingRoomJoined { position, .. })) =
            (&op, &applied.outcome)
        {
            prop_assert_eq!(*position, model.room.joined, "positions are 1, 2, 3, ... in log order");
        }
        sent.push(Sent { envelope, outcome: applied.outcome.clone(), at_ms: record.time_ms });

        // The room, now and a little later (reads see admissions grow between records).
        for at in [now, now + 777, now + 61_000] {
            let view = fx.state.waiting_room(fx.event, at).expect("the event has a room");
            prop_assert_eq!((view.joined, view.admitted), (model.room.joined, model.room.admitted(at)));
            prop_assert!(view.admitted <= view.joined);
        }

        for (v, code) in codes.iter().enumerate() {
            let voucher = fx.state.voucher_by_code(code).expect("voucher");
            let redeemed = voucher.redeemed(now);
            prop_assert_eq!(redeemed, model.redeemed(v), "voucher {} after {:?}", v, op);
            prop_assert!(
                redeemed <= u64::from(voucher.max_redemptions),
                "voucher {} redeemed past its maximum",
                v
            );
        }

        // Seats: no seat has two live holders; every seated hold's lines
        // are its seats' items; and each seat's status is the model's.
        let mut holders: std::collections::BTreeMap<SeatId, u32> = Default::default();
        for hold in fx.state.holds() {
            let seats = fx.state.seats_of_hold(hold.id);
            if hold.is_live(now) {
                for seat in seats {
                    *holders.entry(*seat).or_default() += 1;
                }
            }
            if !seats.is_empty() {
                let mut lines: Vec<Line> = vec![];
                for seat in seats {
                    let item = fx.state.seat(*seat).expect("seat").item;
                    match lines.iter_mut().find(|line| line.item == item) {
                        Some(line) => line.quantity += 1,
                        None => lines.push(Line { item, quantity: 1 }),
                    }
                }
                prop_assert_eq!(&hold.lines, &lines, "the lines of seated {}", hold.id);
            }
        }
        for order in fx.state.orders() {
            let counts = matches!(order.effective_status(now), OrderStatus::Pending | OrderStatus::Paid);
            let seats = fx.state.seats_of_order(order.id);
            if counts {
                for seat in seats {
                    *holders.entry(*seat).or_default() += 1;
                }
            }
            if !seats.is_empty() {
                prop_assert_eq!(seats.len(), order.tickets.len(), "one seat per ticket");
            }
        }
        prop_assert!(holders.values().all(|&n| n <= 1), "a seat with two live holders: {:?}", holders);
        for (s, seat) in seat_ids.iter().enumerate() {
            let engine = fx.state.seat_status(*seat, now).expect("seat");
            let expected = match model.seat_status(s) {
                MSeatStatus::Free => SeatStatus::Free,
                MSeatStatus::Blocked => SeatStatus::Blocked,
                MSeatStatus::Held(h) => SeatStatus::Held(holds[h]),
                MSeatStatus::Ordered(o) => SeatStatus::Ordered(orders[o]),
                MSeatStatus::Paid(o) => SeatStatus::Paid(orders[o]),
            };
            prop_assert_eq!(engine, expected, "seat {} after {:?}", s, op);
        }
        // Every entry: its place, its offer, or how it ended.
        for (e, id) in entries.iter().enumerate() {
            let engine = fx.state.waiting_list_position(*id, now).expect("entry");
            let ok = match model.entries[e].state {
                EntryState::Waiting => engine == EntryPosition::Waiting { position: model.place(e) },
                EntryState::Offered { expires } if expires > now => {
                    engine == EntryPosition::Offered { expires_at_ms: expires }
                }
                EntryState::Offered { expires } | EntryState::Expired { expires } => {
                    engine == EntryPosition::OfferLapsed { expires_at_ms: expires }
                }
                EntryState::Claimed => matches!(engine, EntryPosition::Claimed { .. }),
                EntryState::Left => engine == EntryPosition::Left,
            };
            prop_assert!(ok, "entry {} after {:?}: engine {:?}, model {:?}", e, op, engine, model.entries[e]);
        }
        // Fairness: after an accepted record, nobody waits without an
        // offer while their item has room for a ticket.
        if applied.outcome.is_accepted() {
            for (e, id) in entries.iter().enumerate() {
                if model.entries[e].state != EntryState::Waiting {
                    continue;
                }
                let item = fx.state.entry(*id).expect("entry").item;
                let view = fx.state.item_availability(item, now).expect("item");
                prop_assert!(
                    !view.for_sale || view.remaining == Some(0),
                    "entry {} waits while its item has room ({:?}) after {:?}",
                    e,
                    view.remaining,
                    op
                );
            }
        }

        for (q, quota) in quotas.iter().enumerate() {
            let view = fx.state.quota_availability(*quota, now).expect("quota");
            let (paid, pending, held) = model.counts(q);
            let blocked = model.blocked(q) + model.offered(q);
            prop_assert_eq!(
                (view.paid, view.pending, view.held, view.blocked),
                (paid, pending, held, blocked),
                "quota {} after {:?}",
                q,
                op
            );
            prop_assert_eq!(view.closed, model.quotas[q].closed);
            let usage = paid + pending + held + blocked;
            if let Some(size) = view.size {
                if usage_before[q] <= size {
                    over[q] = false; // time (or a cancel) brought it back under
                }
                if matches!(op, Op::Resize { .. }) && usage > size {
                    over[q] = true;
                }
                if over[q] {
                    prop_assert!(usage <= usage_before[q], "an over-sold quota may only shrink");
                    if usage <= size {
                        over[q] = false;
                    }
                } else {
                    prop_assert!(usage <= size, "oversold quota {}: {} > {}", q, usage, size);
                }
            } else {
                over[q] = false;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES=10000 for a longer run.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000),
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_agrees_with_the_reference_model_and_never_oversells(
        setup in setup(),
        ops in prop::collection::vec(op(), 1..300),
    ) {
        run(setup, ops)?;
    }
}

/// Commands with lengths, counts, quantities and TTLs around every limit.
fn edgy_command(event: EventId, item: ItemId, hold: HoldId) -> impl Strategy<Value = Command> {
    let text = (0usize..=NAME_BYTES_MAX + 8, any::<bool>())
        .prop_map(|(len, blank)| if blank { " ".repeat(len) } else { "a".repeat(len) });
    let lines = prop::collection::vec(0u32..=(HOLD_QUANTITY_MAX as u32 + 2), 0..=HOLD_LINES_MAX + 2)
        .prop_map(move |qs| qs.into_iter().map(|quantity| Line { item, quantity }).collect::<Vec<_>>());
    let ttl = prop_oneof![Just(0u64), 1u64..=HOLD_TTL_MS_MAX + 2, Just(u64::MAX)];
    prop_oneof![
        (text.clone(), text.clone()).prop_map(|(slug, name)| Command::CreateOrganizer {
            slug,
            name,
            secret_key: [0; 32]
        }),
        (text.clone(), any::<u64>()).prop_map(move |(name, price_cents)| Command::CreateItem {
            event,
            name,
            price_cents: price_cents % (ITEM_PRICE_CENTS_MAX * 2)
        }),
        (text.clone(), prop::option::of(0u64..=QUOTA_SIZE_MAX + 2), 0usize..=3).prop_map(
            move |(name, size, n)| Command::CreateQuota {
                event,
                name,
                size,
                items: vec![item; n],
                close_when_sold_out: false
            }
        ),
        (lines.clone(), ttl.clone()).prop_map(move |(lines, ttl_ms)| Command::PlaceHold {
            event,
            lines,
            ttl_ms
        }),
        lines.clone().prop_map(move |lines| Command::AddToHold { hold, lines }),
        lines.clone().prop_map(move |lines| Command::RemoveFromHold { hold, lines }),
        (
            prop_oneof![Just(0u64), 1u64..=PAYMENT_TTL_MS_MAX + 2],
            prop_oneof![
                Just(String::new()),
                Just("Ada\n".to_string()),
                (0usize..=CONTACT_NAME_BYTES_MAX + 2).prop_map(|n| "n".repeat(n)),
            ],
            prop_oneof![
                Just("ada@example.org".to_string()),
                Just("a@b@c".to_string()),
                Just("@x".to_string()),
                Just("a b@x".to_string()),
                (0usize..=EMAIL_BYTES_MAX).prop_map(|n| format!("{}@x", "e".repeat(n))),
            ],
        )
            .prop_map(move |(payment_ttl_ms, name, email)| Command::CheckoutWithContact {
                hold,
                payment_ttl_ms,
                name,
                email
            }),
        (
            prop_oneof![
                Just(0u32),
                Just(ROOM_ADMIT_PER_MINUTE_MAX),
                Just(ROOM_ADMIT_PER_MINUTE_MAX + 1),
                any::<u32>()
            ],
            prop_oneof![
                Just(0u32),
                Just(ROOM_ARRIVALS_PER_SECOND_MAX),
                Just(ROOM_ARRIVALS_PER_SECOND_MAX + 1)
            ],
            prop_oneof![Just(0u32), Just(ROOM_IN_FLIGHT_MAX), Just(ROOM_IN_FLIGHT_MAX + 1), any::<u32>()],
            prop_oneof![Just(event), Just(EventId(u64::MAX))],
        )
            .prop_map(|(admit_per_minute, arrivals_per_second_max, in_flight_max, event)| {
                Command::ConfigureWaitingRoom {
                    event,
                    admit_per_minute,
                    arrivals_per_second_max,
                    in_flight_max,
                    dry_run: false,
                }
            }),
        Just(Command::JoinWaitingRoom { event }),
        (text.clone(), any::<u64>()).prop_map(move |(name, price_cents)| Command::CreateVariation {
            item,
            name,
            price_cents: price_cents % (ITEM_PRICE_CENTS_MAX * 2)
        }),
        (
            prop::option::of(0u32..=HOLD_QUANTITY_MAX as u32 + 2),
            prop::option::of(0u32..=HOLD_QUANTITY_MAX as u32 + 2),
            prop::option::of(prop_oneof![0u32..=4, Just(BUYER_QUANTITY_MAX), Just(BUYER_QUANTITY_MAX + 1)]),
        )
            .prop_map(move |(min_per_order, max_per_order, max_per_buyer)| Command::SetOrderLimits {
                item,
                limits: OrderLimits { min_per_order, max_per_order, max_per_buyer },
            }),
        (
            prop_oneof![
                Just(0u32),
                1u32..=3,
                Just(VOUCHER_REDEMPTIONS_MAX),
                Just(VOUCHER_REDEMPTIONS_MAX + 1)
            ],
            0u64..=3,
            prop_oneof![
                Just(0u64),
                1u64..=3,
                Just(VOUCHER_VALIDITY_MS_MAX),
                Just(VOUCHER_VALIDITY_MS_MAX + 1)
            ],
            any::<bool>(),
        )
            .prop_map(move |(max_redemptions, from_min, length_ms, blocks_quota)| {
                let valid_from_ms = support::START_MS + from_min * MINUTE_MS;
                Command::CreateVoucher {
                    event,
                    scope: VoucherScope::Item(item),
                    max_redemptions,
                    valid_from_ms,
                    valid_until_ms: valid_from_ms + length_ms,
                    blocks_quota,
                }
            }),
        (
            lines,
            ttl.clone(),
            prop::option::of((0usize..=VOUCHER_CODE_BYTES_MAX + 2).prop_map(|n| "V".repeat(n))),
            prop::option::of(any::<u128>()),
        )
            .prop_map(move |(lines, ttl_ms, voucher, buyer)| Command::PlaceHoldWith {
                event,
                lines,
                ttl_ms,
                voucher,
                buyer: buyer.map(BuyerId),
            }),
        (
            prop_oneof![Just(0usize), 1usize..=SEAT_ZONE_BYTES_MAX + 2],
            prop_oneof![Just(0usize), 1usize..=SEAT_ROW_BYTES_MAX + 2],
            prop_oneof![Just(0usize), 1usize..=3, Just(SEAT_ROW_SEATS_MAX), Just(SEAT_ROW_SEATS_MAX + 1)],
            prop_oneof![Just(0usize), 1usize..=SEAT_LABEL_BYTES_MAX + 2],
            any::<bool>(),
        )
            .prop_map(move |(zone, row, count, label, distinct)| Command::AddSeatRow {
                event,
                zone: "z".repeat(zone),
                row: "r".repeat(row),
                seats: (0..count)
                    .map(|i| SeatSpec {
                        label: if distinct { format!("{i:0>label$}") } else { "l".repeat(label) },
                        item,
                    })
                    .collect(),
            }),
        (prop::collection::vec(0u64..=3, 0..=4), any::<bool>()).prop_map(move |(seats, blocked)| {
            Command::SetSeatsBlocked {
                event,
                seats: seats.into_iter().map(|s| SeatId(6 + s)).collect(),
                blocked,
            }
        }),
        (
            prop_oneof![
                prop::collection::vec(0u64..=3, 0..=4)
                    .prop_map(|seats| SeatChoice::Named(seats.into_iter().map(|s| SeatId(6 + s)).collect())),
                (0usize..=SEAT_ZONE_BYTES_MAX + 2, 0u32..=HOLD_QUANTITY_MAX as u32 + 2).prop_map(
                    |(zone, count)| SeatChoice::Adjacent { zone: "z".repeat(zone), count, item: None }
                ),
            ],
            ttl.clone(),
            prop::option::of((0usize..=VOUCHER_CODE_BYTES_MAX + 2).prop_map(|n| "V".repeat(n))),
        )
            .prop_map(move |(seats, ttl_ms, voucher)| Command::PlaceSeatedHold {
                event,
                seats,
                ttl_ms,
                voucher,
                buyer: None,
            }),
        ttl.clone().prop_map(move |ttl_ms| Command::ExtendHold { hold, ttl_ms }),
        ttl.clone().prop_map(|ttl_ms| Command::ClaimOffer { entry: EntryId(1), ttl_ms }),
        prop_oneof![Just(0u64), 1u64..=WAITING_LIST_OFFER_TTL_MS_MAX + 2, Just(u64::MAX)]
            .prop_map(move |offer_ttl_ms| Command::ConfigureWaitingList { event, offer_ttl_ms }),
        (any::<u32>(), prop::option::of(any::<u128>())).prop_map(move |(priority, buyer)| {
            Command::JoinWaitingList { event, item, priority, buyer: buyer.map(BuyerId) }
        }),
        Just(Command::LeaveWaitingList { entry: EntryId(1) }),
        prop_oneof![Just(0u64), 1u64..=PAYMENT_TTL_MS_MAX + 2]
            .prop_map(move |payment_ttl_ms| Command::Checkout { hold, payment_ttl_ms }),
        (0usize..=CHECKIN_SECRET_BYTES_MAX + 8).prop_map(|len| Command::CheckIn {
            list: CheckinListId(1),
            secret: "f".repeat(len),
            nonce: Nonce(1),
            direction: Direction::Entry
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// The server refuses a command at the door when `validate` fails, so a
    /// command the door refuses must be one the domain rejects as invalid
    /// (or as naming something unknown): the door never refuses what the
    /// domain would accept.
    #[test]
    fn the_door_refuses_only_commands_the_domain_rejects(
        command in edgy_command(EventId(2), ItemId(3), HoldId(5)),
    ) {
        let mut fx = Fx::new();
        let item = fx.item("Saturday");
        fx.quota(Some(1_000), &[item]);
        let hold = fx.hold(&[(item, 1)]);
        prop_assert_eq!((fx.event, item, hold), (EventId(2), ItemId(3), HoldId(5)));
        let seats = (0..4).map(|i| SeatSpec { label: i.to_string(), item }).collect();
        let Accepted::SeatRowAdded { first_seat, .. } =
            fx.ok(Command::AddSeatRow { event: fx.event, zone: "z".into(), row: "r".into(), seats })
        else {
            unreachable!()
        };
        prop_assert_eq!(first_seat, SeatId(6));
        let door = command.validate();
        let outcome = fx.run(command.clone());
        if let Err(reason) = door {
            prop_assert!(
                matches!(outcome, Outcome::Rejected(Rejection::Invalid(_) | Rejection::NotFound(_))),
                "door refused {:?} ({:?}) but the domain answered {:?}", command, reason, outcome
            );
        }
    }
}
