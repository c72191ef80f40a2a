//! The inventory as the shop reads and writes it: one thin layer over
//! [`Client`], turning its answers into the shop's views and errors.
//!
//! Everything here is a call to the engine; nothing is kept. Listing
//! reads (event lists, event pages, item availability, waiting rooms) are
//! stale-ok: any node's applied state, cheap and at most a moment old.
//! Reads that decide what a buyer may do next (their cart, their order) are
//! linearizable.

use crate::errors::ShopError;
use crate::inventory::domain::{
    Accepted, Command, EntryId, EventDef, EventId, Hold, HoldId, Order, OrderId, OrganizerId, Outcome,
    QuotaAvailability, QuotaId, Rejection, RequestId, SeatMapZone,
};
use crate::inventory::{Client, ClientError, Consistency, WaitingListEntryView, v1};
use crate::waiting_room::{RoomBackend, RoomView};

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
    /// Its check-in lists.
    pub lists: Vec<ListInfo>,
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

impl From<EventDef> for EventInfo {
    fn from(event: EventDef) -> Self {
        EventInfo { id: event.id.0, organizer: event.organizer.0, slug: event.slug, name: event.name }
    }
}

/// The shop's view of the inventory.
pub struct Inventory {
    client: Client,
}

impl Inventory {
    /// Over `client`.
    pub fn new(client: Client) -> Inventory {
        Inventory { client }
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
        let events = self.client.events(OrganizerId(organizer), Consistency::Stale).await?;
        Ok(events.into_iter().map(EventInfo::from).collect())
    }

    /// An organizer's event by slug.
    pub async fn event_by_slug(&self, organizer: u64, slug: &str) -> Result<EventInfo, ShopError> {
        if !valid_slug(slug) {
            return Err(ShopError::NotFound(format!("event `{slug}`")));
        }
        match self.client.event_by_slug(OrganizerId(organizer), slug, Consistency::Stale).await {
            Ok(event) => Ok(event.into()),
            Err(ClientError::NotFound(_)) => Err(ShopError::NotFound(format!("event `{slug}`"))),
            Err(error) => Err(error.into()),
        }
    }

    /// An event's check-in lists.
    pub async fn checkin_lists(&self, event: u64) -> Result<Vec<ListInfo>, ShopError> {
        Ok(self.catalog(event, false).await?.lists)
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
        let lists = reply
            .checkin_lists
            .into_iter()
            .map(|l| ListInfo { id: l.id, event: l.event, name: l.name })
            .collect();
        let event = EventInfo { id: info.id, organizer: info.organizer, slug: info.slug, name: info.name };
        Ok(Catalog { event, items, quotas, lists })
    }

    /// An event's seat map now, zones and rows in their order, each seat's
    /// state (stale-ok unless `fresh`); empty for an event without seats.
    pub async fn seat_map(&self, event: u64, fresh: bool) -> Result<Vec<SeatMapZone>, ShopError> {
        let consistency = if fresh { Consistency::Linearizable } else { Consistency::Stale };
        Ok(self.client.seat_map(EventId(event), consistency).await?)
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

    /// A waiting-list entry with its place or offer now (linearizable: a
    /// buyer reloading the page must see an offer made a moment ago).
    pub async fn waiting_list_entry(&self, entry: u64) -> Result<WaitingListEntryView, ShopError> {
        Ok(self.client.waiting_list_entry(EntryId(entry), Consistency::Linearizable).await?)
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

/// The waiting rooms in the engine: `Client::waiting_room` for the view,
/// `JoinWaitingRoom` for a place in line.
pub struct EngineRooms {
    client: Client,
}

impl EngineRooms {
    /// Over `client`.
    pub fn new(client: Client) -> EngineRooms {
        EngineRooms { client }
    }
}

impl RoomBackend for EngineRooms {
    async fn view(&self, event: u64) -> Result<Option<RoomView>, ShopError> {
        let view = self.client.waiting_room(EventId(event), Consistency::Stale).await?;
        Ok(view.map(|v| RoomView {
            admit_per_minute: v.admit_per_minute,
            arrivals_per_second_max: v.arrivals_per_second_max,
            in_flight_max: v.in_flight_max,
            dry_run: v.dry_run,
            joined: v.joined,
            admitted: v.admitted,
        }))
    }

    async fn join(&self, event: u64, request_id: RequestId) -> Result<u64, ShopError> {
        let command = Command::JoinWaitingRoom { event: EventId(event) };
        match self.client.submit_with_id(request_id, command).await?.outcome {
            Outcome::Accepted(Accepted::WaitingRoomJoined { position, .. }) => Ok(position),
            Outcome::Accepted(other) => Err(ShopError::TryAgain(format!("unexpected answer {other:?}"))),
            Outcome::Rejected(Rejection::NotFound(_)) => {
                Err(ShopError::Unavailable("the event's waiting room is gone".into()))
            }
            Outcome::Rejected(rejection) => Err(ShopError::from_rejection(&rejection, &|i| i.to_string())),
        }
    }
}
