//! A flash sale through the pure domain, with demo data: one festival, three
//! ticket types across two overlapping quotas, and a crowd of buyers who
//! hold, abandon, check out, pay (some too late), cancel and get scanned at
//! the door. Prints what sold, what was turned away, and checks the two
//! promises the domain alone can keep: no quota is oversold, and replaying
//! the event log rebuilds the exact state.
//!
//! Until the replicated cluster exists this is the project's main demo:
//! `cargo run --release -p boxoffice-engine --example flash_sale -- --help`.

use boxoffice_engine::codec;
use boxoffice_engine::domain::*;
use clap::Parser;
use std::collections::BTreeMap;
use std::time::Instant;

/// Run a simulated flash sale through the boxoffice domain and report it.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// How many buyers arrive.
    #[arg(long, default_value_t = 20_000)]
    buyers: u64,
    /// Size of the Saturday and the Sunday quota (a weekend pass takes one from each).
    #[arg(long, default_value_t = 1_000)]
    quota_size: u64,
    /// Seed of the crowd's choices; the same seed gives the same sale.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
}

/// A small deterministic generator (xorshift64*), so the demo needs no RNG crate.
struct Crowd(u64);

impl Crowd {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Shop {
    state: State,
    log: Vec<Record>,
    time_ms: u64,
    request: u128,
}

impl Shop {
    fn run(&mut self, command: Command) -> Outcome {
        self.request += 1;
        let envelope = Envelope { time_ms: self.time_ms, request_id: RequestId(self.request), command };
        let applied = apply(&mut self.state, &envelope);
        self.log.extend(applied.record);
        applied.outcome
    }

    fn accept(&mut self, command: Command) -> Accepted {
        match self.run(command) {
            Outcome::Accepted(accepted) => accepted,
            Outcome::Rejected(rejection) => panic!("demo setup rejected: {rejection:?}"),
        }
    }
}

fn main() {
    let args = Args::parse();
    let mut crowd = Crowd(args.seed.max(1));
    let mut shop = Shop { state: State::default(), log: vec![], time_ms: 1_780_000_000_000, request: 0 };

    let Accepted::OrganizerCreated { organizer } = shop.accept(Command::CreateOrganizer {
        slug: "demo".into(),
        name: "Demo Tickets".into(),
        secret_key: [42; 32],
    }) else {
        unreachable!()
    };
    let Accepted::EventCreated { event } = shop.accept(Command::CreateEvent {
        organizer,
        slug: "summer-fest".into(),
        name: "Summer Festival".into(),
    }) else {
        unreachable!()
    };
    let mut item = |name: &str, price_cents| match shop.accept(Command::CreateItem {
        event,
        name: name.into(),
        price_cents,
    }) {
        Accepted::ItemCreated { item } => item,
        _ => unreachable!(),
    };
    let (sat, sun, weekend) = (item("Saturday", 4_900), item("Sunday", 4_900), item("Weekend pass", 8_900));
    let mut quota = |name: &str, items: Vec<ItemId>| match shop.accept(Command::CreateQuota {
        event,
        name: name.into(),
        size: Some(args.quota_size),
        items,
        close_when_sold_out: false,
    }) {
        Accepted::QuotaCreated { quota } => quota,
        _ => unreachable!(),
    };
    let q_sat = quota("Saturday", vec![sat, weekend]);
    let q_sun = quota("Sunday", vec![sun, weekend]);
    let Accepted::CheckinListCreated { list } = shop.accept(Command::CreateCheckinList {
        event,
        name: "Main gate".into(),
        allow_multiple_entries: false,
        allow_entry_after_exit: true,
    }) else {
        unreachable!()
    };

    println!(
        "Summer Festival: Saturday and Sunday quotas of {} each; a weekend pass takes one of each.",
        args.quota_size
    );
    println!("{} buyers arrive at 10:00 (seed {}).\n", args.buyers, args.seed);

    let started = Instant::now();
    let mut outcomes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut tally = |outcome: &Outcome| *outcomes.entry(outcome.label()).or_default() += 1;
    let mut paid_tickets = Vec::new();
    let mut late_orders = Vec::new();
    let report_every = (args.buyers / 5).max(1);
    for buyer in 0..args.buyers {
        if buyer % report_every == 0 {
            let left = |quota| shop.state.quota_availability(quota, shop.time_ms).unwrap();
            let (sat_left, sun_left) = (left(q_sat), left(q_sun));
            println!(
                "  {:>6} buyers served: Saturday {:>5} left ({:?}), Sunday {:>5} left ({:?})",
                buyer,
                sat_left.remaining.unwrap_or(0),
                sat_left.state,
                sun_left.remaining.unwrap_or(0),
                sun_left.state
            );
        }
        // Buyers arrive over about 40 minutes, so abandoned carts lapse
        // (30 minutes) and their tickets go back on sale.
        shop.time_ms += 50 + crowd.below(140);
        let chosen = [sat, sun, weekend][crowd.below(3) as usize];
        let quantity = 1 + crowd.below(4) as u32;
        let outcome = shop.run(Command::PlaceHold {
            event,
            lines: vec![Line { item: chosen, quantity }],
            ttl_ms: limits::HOLD_TTL_MS_DEFAULT,
        });
        tally(&outcome);
        let Outcome::Accepted(Accepted::HoldLive { hold, .. }) = outcome else { continue };
        match crowd.below(10) {
            0 => tally(&shop.run(Command::ReleaseHold { hold })), // changed their mind
            1 => {}                                               // abandoned the cart: it lapses
            _ => {
                let outcome = shop.run(Command::Checkout { hold, payment_ttl_ms: 15 * 60_000 });
                tally(&outcome);
                let Outcome::Accepted(Accepted::OrderPlaced { order, tickets, .. }) = outcome else {
                    continue;
                };
                match crowd.below(20) {
                    0 => late_orders.push(order),
                    1 => tally(&shop.run(Command::CancelOrder { order })),
                    _ => {
                        let paid = shop.run(Command::Pay { order });
                        tally(&paid);
                        if paid.is_accepted() {
                            paid_tickets.extend(tickets.into_iter().map(|t| t.secret));
                        }
                    }
                }
            }
        }
    }
    // An hour later: lapsed carts and orders are recorded, late payers pay.
    shop.time_ms += 60 * 60_000;
    loop {
        let outcome = shop.run(Command::Expire);
        tally(&outcome);
        if !matches!(outcome, Outcome::Accepted(Accepted::Expired { more: true, .. })) {
            break;
        }
    }
    for order in late_orders {
        tally(&shop.run(Command::Pay { order }));
    }
    // Doors open: every paid ticket is scanned, and one in ten is scanned twice.
    for (nonce, secret) in paid_tickets.iter().enumerate() {
        let direction = Direction::Entry;
        tally(&shop.run(Command::CheckIn {
            list,
            secret: secret.clone(),
            nonce: Nonce(nonce as u128),
            direction,
        }));
        if crowd.below(10) == 0 {
            let again = Nonce(u128::MAX - nonce as u128);
            tally(&shop.run(Command::CheckIn { list, secret: secret.clone(), nonce: again, direction }));
        }
    }
    let elapsed = started.elapsed();

    println!("\nOutcomes:");
    for (what, count) in &outcomes {
        println!("  {count:>7}  {what}");
    }
    println!("\nQuotas at the end:");
    let mut oversold = false;
    for quota in [q_sat, q_sun] {
        let view = shop.state.quota_availability(quota, shop.time_ms).unwrap();
        let name = &shop.state.quota(quota).unwrap().name;
        let used = view.paid + view.pending + view.held;
        oversold |= view.size.is_some_and(|size| used > size);
        println!(
            "  {name:<9} size {:>5}  paid {:>5}  pending {:>4}  held {:>4}  state {:?}",
            view.size.unwrap_or(0),
            view.paid,
            view.pending,
            view.held,
            view.state
        );
    }
    let log_bytes: usize = shop.log.iter().map(|r| codec::encode_record(r).map_or(0, |b| b.len())).sum();
    let replayed = State::replay(&shop.log);
    println!(
        "\n{} log records ({:.1} MiB encoded) in {:.2?}: {:.0} commands/s on one core.",
        shop.log.len(),
        log_bytes as f64 / (1024.0 * 1024.0),
        elapsed,
        shop.log.len() as f64 / elapsed.as_secs_f64()
    );
    println!("No quota oversold: {}", if oversold { "FAILED" } else { "yes" });
    println!(
        "Replaying the event log rebuilds the same state: {}",
        if replayed == shop.state { "yes" } else { "FAILED" }
    );
    if oversold || replayed != shop.state {
        std::process::exit(1);
    }
}
