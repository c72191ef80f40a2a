//! The inventory as the shop reads and writes it: one thin layer over
//! [`Client`], turning its answers into the shop's views and errors.
//!
//! Everything here is a call to the engine; nothing is kept. Listing
//! reads (event pages, item availability) are stale-ok: any node's applied
//! state, cheap and at most a moment old. Reads that decide what a buyer
//! may do next (their cart, their order) are linearizable.
//!
//! *Interim:* the client on this branch cannot yet list an organizer's
//! events, find an event by slug or list an event's check-in lists. Until it
//! can, [`Directory`] learns them from the event log (`Client::subscribe`):
//! events and lists are only ever created, never changed or deleted, so
//! what it keeps is a cache of immutable facts that any shop can rebuild,
//! not inventory state.

use crate::errors::ShopError;
use crate::inventory::domain::{
    Accepted, Command, Event, EventId, Hold, HoldId, Order, OrderId, Outcome, QuotaAvailability, QuotaId,
    RequestId,
};
use crate::inventory::{Client, Consistency, v1};
use crate::waiting_room::{RoomBackend, RoomView};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the directory waits for one record it knows exists, in milliseconds.
const DIRECTORY_READ_TIMEOUT_MS: u64 = 3_000;

/// An event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInfo {
    /// Its id.
    pub id: u64,
    /// Its organizer's id.
    pub organizer: u64,
    /// Its slug, unique per organizer.
    pub slug: String,
    /// Its name.
    pub name: String,
}

/// An item with its availability now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInfo {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Price of one ticket, in cents.
    pub price_cents: u64,
    /// Its quotas.
    pub quotas: Vec<u64>,
    /// Tickets left (the minimum over its quotas); `None` for unlimited.
    pub remaining: Option<u64>,
    /// Whether it can be bought now (in a quota, none closed, some left).
    pub on_sale: bool,
    /// Whether one of its quotas is closed.
    pub closed: bool,
}

/// A check-in list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    /// Its id.
    pub id: u64,
    /// Its event.
    pub event: u64,
    /// Its name.
    pub name: String,
}

/// An event's items and quotas.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The event.
    pub event: EventInfo,
    /// Its items, in creation order.
    pub items: Vec<ItemInfo>,
    /// Its quotas with their availability.
    pub quotas: Vec<QuotaAvailability>,
}

impl Catalog {
    /// An item's name, or its id if the catalog does not know it.
    pub fn item_name(&self, item: u64) -> String {
        self.items
            .iter()
            .find(|i| i.id == item)
            .map_or_else(|| format!("ticket type {item}"), |i| i.name.clone())
    }

    /// An item of this event.
    pub fn item(&self, item: u64) -> Option<&ItemInfo> {
        self.items.iter().find(|i| i.id == item)
    }
}

fn item_info(item: v1::CatalogItem, quotas: &[QuotaAvailability]) -> ItemInfo {
    let mine: Vec<&QuotaAvailability> = quotas.iter().filter(|q| item.quotas.contains(&q.quota.0)).collect();
    let remaining = mine.iter().filter_map(|q| q.remaining).min();
    let closed = mine.iter().any(|q| q.closed);
    let on_sale = !mine.is_empty() && !closed && remaining != Some(0);
    ItemInfo {
        id: item.id,
        name: item.name,
        price_cents: item.price_cents,
        quotas: item.quotas,
        remaining,
        on_sale,
        closed,
    }
}

#[derive(Debug, Default)]
struct DirectoryState {
    seq: u64,
    events: BTreeMap<u64, EventInfo>,
    lists: BTreeMap<u64, ListInfo>,
}

/// Events and check-in lists, learned from the event log (see the module docs).
#[derive(Debug, Default)]
pub struct Directory {
    state: tokio::sync::Mutex<DirectoryState>,
}

impl Directory {
    async fn refresh<'a>(
        &'a self,
        client: &Client,
    ) -> Result<tokio::sync::MutexGuard<'a, DirectoryState>, ShopError> {
        let last = client.status(false).await?.last_seq;
        let mut state = self.state.lock().await;
        if state.seq >= last {
            return Ok(state);
        }
        let mut stream = client.subscribe(state.seq + 1).await?;
        while state.seq < last {
            let next =
                tokio::time::timeout(Duration::from_millis(DIRECTORY_READ_TIMEOUT_MS), stream.next()).await;
            let record = match next {
                Ok(Some(Ok(record))) => record,
                Ok(Some(Err(error))) => return Err(error.into()),
                Ok(None) | Err(_) => return Err(ShopError::TryAgain("the event log did not answer".into())),
            };
            for event in &record.events {
                match event {
                    Event::EventCreated { event, organizer, slug, name } => {
                        let info = EventInfo {
                            id: event.0,
                            organizer: organizer.0,
                            slug: slug.clone(),
                            name: name.clone(),
                        };
                        state.events.insert(event.0, info);
                    }
                    Event::CheckinListCreated { list, event, name, .. } => {
                        state
                            .lists
                            .insert(list.0, ListInfo { id: list.0, event: event.0, name: name.clone() });
                    }
                    _ => {}
                }
            }
            state.seq = record.seq;
        }
        Ok(state)
    }
}

/// The shop's view of the inventory.
pub struct Inventory {
    client: Client,
    directory: Directory,
}

impl Inventory {
    /// Over `client`.
    pub fn new(client: Client) -> Inventory {
        Inventory { client, directory: Directory::default() }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// An organizer's id and name by slug.
    pub async fn organizer(&self, slug: &str) -> Result<(u64, String), ShopError> {
        if !valid_slug(slug) {
            return Err(ShopError::NotFound(format!("organizer `{slug}`")));
        }
        self.client.find_organizer(slug, Consistency::Stale).await.map_err(|e| match e {
            crate::inventory::ClientError::NotFound(_) => ShopError::NotFound(format!("organizer `{slug}`")),
            e => e.into(),
        })
    }

    /// An organizer's events, in creation order.
    pub async fn events(&self, organizer: u64) -> Result<Vec<EventInfo>, ShopError> {
        let state = self.directory.refresh(&self.client).await?;
        Ok(state.events.values().filter(|e| e.organizer == organizer).cloned().collect())
    }

    /// An organizer's event by slug.
    pub async fn event_by_slug(&self, organizer: u64, slug: &str) -> Result<EventInfo, ShopError> {
        if !valid_slug(slug) {
            return Err(ShopError::NotFound(format!("event `{slug}`")));
        }
        let state = self.directory.refresh(&self.client).await?;
        state
            .events
            .values()
            .find(|e| e.organizer == organizer && e.slug == slug)
            .cloned()
            .ok_or_else(|| ShopError::NotFound(format!("event `{slug}`")))
    }

    /// An event's check-in lists.
    pub async fn checkin_lists(&self, event: u64) -> Result<Vec<ListInfo>, ShopError> {
        let state = self.directory.refresh(&self.client).await?;
        Ok(state.lists.values().filter(|l| l.event == event).cloned().collect())
    }

    /// An event's items and quotas, with availability now (stale-ok unless `fresh`).
    pub async fn catalog(&self, event: u64, fresh: bool) -> Result<Catalog, ShopError> {
        let consistency = if fresh { Consistency::Linearizable } else { Consistency::Stale };
        let reply = self.client.catalog(EventId(event), consistency).await?;
        let info = reply.event.ok_or_else(|| ShopError::TryAgain("a catalog without its event".into()))?;
        let quotas = reply
            .quotas
            .into_iter()
            .map(QuotaAvailability::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ShopError::TryAgain(format!("malformed catalog: {e}")))?;
        let items = reply.items.into_iter().map(|i| item_info(i, &quotas)).collect();
        let event = EventInfo { id: info.id, organizer: info.organizer, slug: info.slug, name: info.name };
        Ok(Catalog { event, items, quotas })
    }

    /// A quota's availability now (stale-ok).
    pub async fn quota(&self, quota: u64) -> Result<QuotaAvailability, ShopError> {
        Ok(self.client.quota_availability(QuotaId(quota), Consistency::Stale).await?)
    }

    /// A hold (linearizable).
    pub async fn hold(&self, hold: u64) -> Result<Hold, ShopError> {
        Ok(self.client.hold(HoldId(hold), Consistency::Linearizable).await?)
    }

    /// An order (linearizable), its status as of now.
    pub async fn order(&self, order: u64) -> Result<Order, ShopError> {
        Ok(self.client.order(OrderId(order), Consistency::Linearizable).await?)
    }

    /// Submit a command; the outcome, accepted or rejected.
    pub async fn submit(&self, request_id: RequestId, command: Command) -> Result<Outcome, ShopError> {
        Ok(self.client.submit_with_id(request_id, command).await?.outcome)
    }

    /// Submit a command that must be accepted; a rejection becomes its error,
    /// items named by `name`.
    pub async fn must(
        &self,
        request_id: RequestId,
        command: Command,
        name: &(dyn Fn(u64) -> String + Sync),
    ) -> Result<Accepted, ShopError> {
        match self.submit(request_id, command).await? {
            Outcome::Accepted(accepted) => Ok(accepted),
            Outcome::Rejected(rejection) => Err(ShopError::from_rejection(&rejection, name)),
        }
    }
}

/// Whether `slug` could be a slug at all (a cheap filter before any read).
pub fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= crate::inventory::domain::limits::SLUG_BYTES_MAX
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The waiting rooms in the engine.
///
/// *Interim:* the client on this branch has no waiting-room calls yet, so
/// no event has a room; [`crate::waiting_room`] is complete and tested
/// against a fake backend, and this is where the engine's
/// `waiting_room(event)` and `JoinWaitingRoom` plug in.
pub struct EngineRooms {
    _client: Client,
}

impl EngineRooms {
    /// Over `client`.
    pub fn new(client: Client) -> EngineRooms {
        EngineRooms { _client: client }
    }
}

impl RoomBackend for EngineRooms {
    async fn view(&self, _event: u64) -> Result<Option<RoomView>, ShopError> {
        Ok(None)
    }

    async fn join(&self, _event: u64, _request_id: RequestId) -> Result<u64, ShopError> {
        Err(ShopError::Unavailable("this engine has no waiting rooms".into()))
    }
}
