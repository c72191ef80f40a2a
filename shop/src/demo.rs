//! Demo data, loaded on the first start of a shop whose engine has no
//! organizer `demo`: two events with items, overlapping quotas and a
//! check-in list (the jazz night's balcony also has two rows of seats, and
//! its "Meet the band" has no places yet, only a waiting list), so
//! `boxoffice-shop` on an empty data directory is a shop one can buy from
//! at once.
//!
//! Each step has a fixed request id, so two shops starting at once on one
//! cluster create the demo once (the second gets the first's outcomes).

use crate::backend::Inventory;
use crate::errors::ShopError;
use crate::inventory::domain::{Accepted, Command, EventId, ItemId, OrganizerId, RequestId, SeatSpec};

fn step_id(step: &str) -> RequestId {
    let hash = blake3::hash(format!("boxoffice-shop demo v1: {step}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    RequestId(u128::from_le_bytes(bytes))
}

async fn run(inventory: &Inventory, step: &str, command: Command) -> Result<Accepted, ShopError> {
    inventory.must(step_id(step), command, &|i| i.to_string()).await
}

/// One demo event: its items (name, price in cents), quotas (name, size,
/// item indexes, closes when sold out), seat rows (zone, row, item index,
/// seats labelled 1 to n) and check-in list.
struct DemoEvent<'a> {
    slug: &'a str,
    name: &'a str,
    items: &'a [(&'a str, u64)],
    quotas: &'a [(&'a str, u64, &'a [usize], bool)],
    seat_rows: &'a [(&'a str, &'a str, usize, u32)],
    list: &'a str,
}

async fn create_event(
    inventory: &Inventory,
    organizer: OrganizerId,
    demo: DemoEvent<'_>,
) -> Result<(), ShopError> {
    let DemoEvent { slug, name, items, quotas, seat_rows, list } = demo;
    let Accepted::EventCreated { event } = run(
        inventory,
        &format!("event {slug}"),
        Command::CreateEvent { organizer, slug: slug.into(), name: name.into() },
    )
    .await?
    else {
        return Err(ShopError::TryAgain("the demo event was not created".into()));
    };
    let mut ids = Vec::new();
    for (item, price_cents) in items {
        let command = Command::CreateItem { event, name: (*item).into(), price_cents: *price_cents };
        match run(inventory, &format!("item {slug} {item}"), command).await? {
            Accepted::ItemCreated { item } => ids.push(item),
            _ => return Err(ShopError::TryAgain("a demo item was not created".into())),
        }
    }
    for (quota, size, items, close) in quotas {
        let items: Vec<ItemId> = items.iter().map(|i| ids[*i]).collect();
        let command = Command::CreateQuota {
            event: EventId(event.0),
            name: (*quota).into(),
            size: Some(*size),
            items,
            close_when_sold_out: *close,
        };
        run(inventory, &format!("quota {slug} {quota}"), command).await?;
    }
    // Seat rows: (zone, row, item index, seats labelled 1..=n).
    for (zone, row, item, seats) in seat_rows {
        let seats = (1..=*seats).map(|n| SeatSpec { label: n.to_string(), item: ids[*item] }).collect();
        let command = Command::AddSeatRow { event, zone: (*zone).into(), row: (*row).into(), seats };
        run(inventory, &format!("seats {slug} {zone} {row}"), command).await?;
    }
    let command = Command::CreateCheckinList {
        event,
        name: list.into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: false,
    };
    run(inventory, &format!("list {slug}"), command).await?;
    Ok(())
}

/// Load the demo if organizer `slug` does not exist; `true` if it was loaded.
pub async fn load_if_absent(inventory: &Inventory, slug: &str) -> Result<bool, ShopError> {
    match inventory.organizer(slug).await {
        Ok(_) => return Ok(false),
        Err(ShopError::NotFound(_)) => {}
        Err(error) => return Err(error),
    }
    let command = Command::CreateOrganizer {
        slug: slug.into(),
        name: "Demo Tickets".into(),
        secret_key: rand::random(),
    };
    let Accepted::OrganizerCreated { organizer } =
        run(inventory, &format!("organizer {slug}"), command).await?
    else {
        return Err(ShopError::TryAgain("the demo organizer was not created".into()));
    };
    let festival = DemoEvent {
        slug: "summer-festival",
        name: "Summer Festival 2026",
        items: &[("Saturday", 4500), ("Sunday", 4500), ("Weekend pass", 8000)],
        quotas: &[("Saturday", 500, &[0, 2], false), ("Sunday", 500, &[1, 2], false)],
        seat_rows: &[],
        list: "Main entrance",
    };
    create_event(inventory, organizer, festival).await?;
    let jazz = DemoEvent {
        slug: "jazz-night",
        name: "Jazz Night",
        items: &[("Standing", 2500), ("Balcony", 4000), ("Meet the band", 1500)],
        // "Meet the band" has no places yet (a quota of 0, as organizers do to
        // collect interest): it shows as sold out with its waiting list, and
        // growing the quota on the admin page offers the places in line order.
        quotas: &[("Hall", 200, &[0], false), ("Balcony", 20, &[1], true), ("Meet the band", 0, &[2], false)],
        // The balcony's twenty tickets are its twenty seats.
        seat_rows: &[("Balcony", "A", 1, 10), ("Balcony", "B", 1, 10)],
        list: "Door",
    };
    create_event(inventory, organizer, jazz).await?;
    Ok(true)
}
