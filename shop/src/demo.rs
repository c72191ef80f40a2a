//! Demo data, loaded on the first start of a shop whose engine has no
//! organizer `demo`: two events with items, overlapping quotas and a
//! check-in list, so `boxoffice-shop` on an empty data directory is a shop
//! one can buy from at once.
//!
//! Each step has a fixed request id, so two shops starting at once on one
//! cluster create the demo once (the second gets the first's outcomes).

use crate::backend::Inventory;
use crate::errors::ShopError;
use crate::inventory::domain::{Accepted, Command, EventId, ItemId, OrganizerId, RequestId};

fn step_id(step: &str) -> RequestId {
    let hash = blake3::hash(format!("boxoffice-shop demo v1: {step}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash.as_bytes()[..16]);
    RequestId(u128::from_le_bytes(bytes))
}

async fn run(inventory: &Inventory, step: &str, command: Command) -> Result<Accepted, ShopError> {
    inventory.must(step_id(step), command, &|i| i.to_string()).await
}

async fn create_event(
    inventory: &Inventory,
    organizer: OrganizerId,
    slug: &str,
    name: &str,
    items: &[(&str, u64)],
    quotas: &[(&str, u64, &[usize], bool)],
    list: &str,
) -> Result<(), ShopError> {
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
    create_event(
        inventory,
        organizer,
        "summer-festival",
        "Summer Festival 2026",
        &[("Saturday", 4500), ("Sunday", 4500), ("Weekend pass", 8000)],
        &[("Saturday", 500, &[0, 2], false), ("Sunday", 500, &[1, 2], false)],
        "Main entrance",
    )
    .await?;
    create_event(
        inventory,
        organizer,
        "jazz-night",
        "Jazz Night",
        &[("Standing", 2500), ("Balcony", 4000)],
        &[("Hall", 200, &[0], false), ("Balcony", 20, &[1], true)],
        "Door",
    )
    .await?;
    Ok(true)
}
