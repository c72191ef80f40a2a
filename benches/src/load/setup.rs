//! The inventory a run sells from: a fresh organizer (a unique slug, so runs
//! against the same cluster or data directory never collide), one event,
//! and per quota one item covered by that quota alone.
//!
//! Many quotas are created with `SubmitBatch`, so setting up ten thousand of
//! them takes a few requests, not twenty thousand round trips.

use boxoffice_client::domain::{Accepted, Command, EventId, ItemId, Outcome, QuotaId, RequestId};
use boxoffice_client::{BATCH_REQUEST_COMMANDS_MAX, Client, new_request_id};

/// What a run sells: one event and its quotas, each with its one item.
#[derive(Clone, Debug)]
pub struct Fixture {
    /// The event every hold is placed on.
    pub event: EventId,
    /// Per quota, the item it covers and the quota.
    pub quotas: Vec<(ItemId, QuotaId)>,
}

fn accepted(outcome: Outcome) -> anyhow::Result<Accepted> {
    match outcome {
        Outcome::Accepted(accepted) => Ok(accepted),
        Outcome::Rejected(rejection) => anyhow::bail!("setup command rejected: {rejection:?}"),
    }
}

/// Submit `commands` in batches of at most [`BATCH_REQUEST_COMMANDS_MAX`];
/// every one must be accepted.
async fn submit_all(client: &Client, commands: Vec<Command>) -> anyhow::Result<Vec<Accepted>> {
    let mut answers = Vec::with_capacity(commands.len());
    for chunk in commands.chunks(BATCH_REQUEST_COMMANDS_MAX) {
        let batch: Vec<(RequestId, Command)> = chunk.iter().map(|c| (new_request_id(), c.clone())).collect();
        for result in client.submit_batch(batch).await? {
            answers.push(accepted(result?.outcome)?);
        }
    }
    Ok(answers)
}

/// A new organizer and event; returns the event.
async fn event(client: &Client) -> anyhow::Result<EventId> {
    let slug = format!("load-{:032x}", new_request_id().0);
    let create = Command::CreateOrganizer { slug, name: "Load".into(), secret_key: rand::random() };
    let Accepted::OrganizerCreated { organizer } = accepted(client.submit(create).await?.outcome)? else {
        anyhow::bail!("CreateOrganizer answered with something else")
    };
    let create = Command::CreateEvent { organizer, slug: "hot".into(), name: "Hot".into() };
    let Accepted::EventCreated { event } = accepted(client.submit(create).await?.outcome)? else {
        anyhow::bail!("CreateEvent answered with something else")
    };
    Ok(event)
}

/// An event with `quotas` quotas of `size` tickets (`None`: unlimited), each
/// over its own item.
pub async fn create(client: &Client, quotas: usize, size: Option<u64>) -> anyhow::Result<Fixture> {
    let event = event(client).await?;
    let items = (0..quotas)
        .map(|i| Command::CreateItem { event, name: format!("GA {i}"), price_cents: 100 })
        .collect();
    let items: Vec<ItemId> = submit_all(client, items)
        .await?
        .into_iter()
        .map(|a| match a {
            Accepted::ItemCreated { item } => Ok(item),
            other => anyhow::bail!("CreateItem answered {other:?}"),
        })
        .collect::<anyhow::Result<_>>()?;
    let creates = items
        .iter()
        .enumerate()
        .map(|(i, &item)| Command::CreateQuota {
            event,
            name: format!("GA {i}"),
            size,
            items: vec![item],
            close_when_sold_out: false,
        })
        .collect();
    let quota_ids: Vec<QuotaId> = submit_all(client, creates)
        .await?
        .into_iter()
        .map(|a| match a {
            Accepted::QuotaCreated { quota } => Ok(quota),
            other => anyhow::bail!("CreateQuota answered {other:?}"),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Fixture { event, quotas: items.into_iter().zip(quota_ids).collect() })
}

/// One event with one item on an unlimited quota (what `failover` writes to).
pub async fn hot_item(client: &Client) -> anyhow::Result<(EventId, ItemId)> {
    let fixture = create(client, 1, None).await?;
    Ok((fixture.event, fixture.quotas[0].0))
}
