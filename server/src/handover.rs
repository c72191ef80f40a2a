//! A leader that is asked to stop (SIGTERM) hands leadership over first.
//!
//! Without it, a rolling restart costs a full failover per leader: the
//! followers wait out the leader lease (openraft 0.9 sets it to the election
//! timeout's maximum) and then their own election timeout. openraft 0.9 has
//! no leadership transfer, and a voter refuses every vote while it believes
//! a leader's lease holds, so the best a stopping leader can do is make the
//! wait exactly one lease:
//!
//! 1. refuse new writes (callers are told there is no leader yet and poll),
//!    and wait, at most [`HANDOVER_CATCH_UP_MS`], until a voter has every
//!    entry;
//! 2. ask that voter (`Admin.Campaign`) to stand for election one lease
//!    plus [`HANDOVER_MARGIN_MS`] from now;
//! 3. stop Raft at once, so no heartbeat renews the lease.
//!
//! The other voters' leases then run out when the chosen voter asks for
//! their votes, and it wins: it has every entry. If anything fails (no voter
//! answers, the vote comes too early), the followers' own election timers
//! still elect someone, as after a crash: the handover only saves time.

use boxoffice_engine::node::Engine;
use boxoffice_proto::v1;
use std::time::Duration;

/// Longest wait for a follower to have every entry, in milliseconds.
pub const HANDOVER_CATCH_UP_MS: u64 = 500;

/// Added to the lease before the chosen voter stands, in milliseconds: the
/// time between asking it and the last heartbeat leaving this node.
pub const HANDOVER_MARGIN_MS: u64 = 15;

/// Deadline of the `Campaign` request, in milliseconds.
pub const HANDOVER_REQUEST_MS: u64 = 200;

/// Hand leadership over if this node leads (see the module docs); then stop
/// Raft. `lease_ms` is the leader lease (the election timeout's maximum).
pub async fn hand_over(engine: &Engine, lease_ms: u64) {
    let Some(target) = engine.prepare_handover(Duration::from_millis(HANDOVER_CATCH_UP_MS)).await else {
        return;
    };
    let addr = engine
        .raft()
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .get_node(&target)
        .map(|node| node.addr.clone());
    let Some(addr) = addr.filter(|a| !a.is_empty()) else { return };
    let after_ms = lease_ms + HANDOVER_MARGIN_MS;
    let asked = async {
        let mut admin = v1::admin_client::AdminClient::connect(format!("http://{addr}")).await?;
        admin.campaign(v1::CampaignRequest { after_ms }).await?;
        anyhow::Ok(())
    };
    match tokio::time::timeout(Duration::from_millis(HANDOVER_REQUEST_MS), asked).await {
        Ok(Ok(())) => tracing::info!(target, after_ms, "handover: node {target} stands for election"),
        Ok(Err(error)) => tracing::warn!(%error, target, "handover: the chosen voter did not answer"),
        Err(_) => tracing::warn!(target, "handover: the chosen voter did not answer in time"),
    }
    // No heartbeat may renew the lease after this point.
    if let Err(error) = engine.raft().shutdown().await {
        tracing::warn!(%error, "handover: stopping raft");
    }
}
