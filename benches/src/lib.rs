//! boxoffice benchmarks. The criterion benches live in `benches/`:
//!
//! - `domain`: how many commands per second the pure domain decides and
//!   applies on one hot quota (the flash-sale case), and how fast it turns
//!   buyers away once sold out.
//! - `codec`: encode and decode throughput of log records and snapshots.
//!
//! Run them with `cargo bench -p boxoffice-benches`. This library holds the
//! fixtures they share; [`load`]: the scenarios, loops, measurements and
//! end-of-run check of the `boxoffice-load` load generator; and [`peers`]:
//! the same sale driven on PostgreSQL, Redis and etcd by the
//! `boxoffice-peers` binary (`benches/peers/run`); both print [`schema`]'s
//! `boxoffice-bench/1` line.

pub mod load;
pub mod peers;
pub mod schema;

use boxoffice_engine::domain::*;

/// Log time the fixtures start at, in milliseconds.
pub const START_MS: u64 = 1_700_000_000_000;

/// A state with one organizer, one event, one item and one quota of `size`,
/// and the ids to use. Ids follow the domain's assignment order.
pub fn hot_quota(size: Option<u64>) -> (State, EventId, ItemId, QuotaId) {
    let mut state = State::default();
    let commands = [
        Command::CreateOrganizer { slug: "bench".into(), name: "Bench".into(), secret_key: [1; 32] },
        Command::CreateEvent { organizer: OrganizerId(1), slug: "flash".into(), name: "Flash sale".into() },
        Command::CreateItem { event: EventId(2), name: "GA".into(), price_cents: 4_900 },
        Command::CreateQuota {
            event: EventId(2),
            name: "GA".into(),
            size,
            items: vec![ItemId(3)],
            close_when_sold_out: false,
        },
    ];
    for (i, command) in commands.into_iter().enumerate() {
        let envelope = Envelope { time_ms: START_MS, request_id: RequestId(u128::MAX - i as u128), command };
        assert!(apply(&mut state, &envelope).outcome.is_accepted(), "fixture command rejected");
    }
    (state, EventId(2), ItemId(3), QuotaId(4))
}
