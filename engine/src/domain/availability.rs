//! Availability queries, pretix-style: per quota and per item, with the
//! breakdown of what counts (paid, pending, held, blocked by vouchers) and
//! the most binding state.
//!
//! Queries read the state at a given time and change nothing. The time is
//! made monotonic against the state's own log time, as commands' is, so a
//! reader with a slow clock never sees expired holds come back to life.

use super::model::*;
use super::state::{Quota, State};
use serde::{Deserialize, Serialize};

/// What counts against one quota at a moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaAvailability {
    /// The quota.
    pub quota: QuotaId,
    /// Its size, or `None` for unlimited.
    pub size: Option<u64>,
    /// Tickets in paid orders.
    pub paid: u64,
    /// Tickets in pending orders before their deadline.
    pub pending: u64,
    /// Tickets in holds before their expiry.
    pub held: u64,
    /// Unredeemed uses of blocking vouchers before their end, and live
    /// waiting-list offers (pretix sends an offer as a blocking voucher, and
    /// counts both as reserved, like holds).
    pub blocked: u64,
    /// Tickets that can still be sold; `None` for unlimited.
    pub remaining: Option<u64>,
    /// The most binding state.
    pub state: AvailabilityState,
    /// Closed by hand or on selling out.
    pub closed: bool,
}

/// What can be sold of one item: the minimum over its quotas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAvailability {
    /// The item.
    pub item: ItemId,
    /// False if no quota covers it (it cannot be sold).
    pub for_sale: bool,
    /// The most binding state over its quotas (`Gone` if not for sale).
    pub state: AvailabilityState,
    /// Tickets that can still be sold; `None` for unlimited.
    pub remaining: Option<u64>,
    /// The quota that binds, if any.
    pub binding_quota: Option<QuotaId>,
    /// Every quota of the item.
    pub quotas: Vec<QuotaAvailability>,
}

impl Quota {
    /// Tickets counting against this quota at `now_ms`: paid, pending,
    /// held, blocked by vouchers, and offered to the waiting list.
    pub(super) fn used(&self, now_ms: u64) -> u64 {
        self.paid
            + self.pending.live(now_ms)
            + self.held.live(now_ms)
            + self.blocked.live(now_ms)
            + self.offered.live(now_ms)
    }

    /// The breakdown at `now_ms`.
    pub fn availability(&self, now_ms: u64) -> QuotaAvailability {
        let (paid, pending) = (self.paid, self.pending.live(now_ms));
        let held = self.held.live(now_ms);
        let blocked = self.blocked.live(now_ms) + self.offered.live(now_ms);
        let (state, remaining) = match self.size {
            _ if self.closed => (AvailabilityState::Gone, Some(0)),
            None => (AvailabilityState::Ok, None),
            Some(size) => {
                let state = if paid >= size {
                    AvailabilityState::Gone
                } else if paid + pending >= size {
                    AvailabilityState::Ordered
                } else if paid + pending + held + blocked >= size {
                    AvailabilityState::Reserved
                } else {
                    AvailabilityState::Ok
                };
                (state, Some(size.saturating_sub(paid + pending + held + blocked)))
            }
        };
        QuotaAvailability {
            quota: self.id,
            size: self.size,
            paid,
            pending,
            held,
            blocked,
            remaining,
            state,
            closed: self.closed,
        }
    }
}

impl State {
    /// A quota's availability at `now_ms` (at least the state's log time).
    pub fn quota_availability(&self, quota: QuotaId, now_ms: u64) -> Option<QuotaAvailability> {
        Some(self.quotas.get(&quota)?.availability(now_ms.max(self.now_ms)))
    }

    /// An item's availability at `now_ms` (at least the state's log time).
    pub fn item_availability(&self, item: ItemId, now_ms: u64) -> Option<ItemAvailability> {
        let item = self.items.get(&item)?;
        let quotas: Vec<QuotaAvailability> =
            item.quotas.iter().map(|q| self.quotas[q].availability(now_ms.max(self.now_ms))).collect();
        // Most binding first: the lowest state, then the fewest remaining
        // (unlimited sorts last).
        let binding =
            quotas.iter().min_by_key(|q| (q.state, q.remaining.map_or((1, 0), |r| (0, r)))).cloned();
        Some(match binding {
            None => ItemAvailability {
                item: item.id,
                for_sale: false,
                state: AvailabilityState::Gone,
                remaining: Some(0),
                binding_quota: None,
                quotas,
            },
            Some(binding) => ItemAvailability {
                item: item.id,
                for_sale: true,
                state: binding.state,
                remaining: binding.remaining,
                binding_quota: Some(binding.quota),
                quotas,
            },
        })
    }
}
