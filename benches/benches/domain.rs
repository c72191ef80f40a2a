//! Domain apply throughput on one hot quota: the flash-sale mix
//! (hold, checkout, pay per buyer), a plain hold alone, and sold-out
//! rejections. The plain hold is the figure the inventory rules
//! (variations, vouchers, order limits, seats, the waiting list) must not
//! slow down: it uses none of them and must pay for none of them.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use boxoffice_benches::{START_MS, hot_quota};
use boxoffice_engine::domain::limits::{HOLD_TTL_MS_MAX, QUOTA_SIZE_MAX};
use boxoffice_engine::domain::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// One buyer: hold 2 tickets, check out, pay. Three commands.
fn hold_checkout_pay(c: &mut Criterion) {
    let mut group = c.benchmark_group("domain");
    group.throughput(Throughput::Elements(3));
    group.bench_function("hot_quota_hold_checkout_pay", |b| {
        let (mut state, event, item, _) = hot_quota(Some(QUOTA_SIZE_MAX));
        let mut request = 0u128;
        let mut time_ms = START_MS;
        let mut next = |command| {
            request += 1;
            time_ms += 1;
            Envelope { time_ms, request_id: RequestId(request), command }
        };
        b.iter(|| {
            let hold =
                next(Command::PlaceHold { event, lines: vec![Line { item, quantity: 2 }], ttl_ms: 600_000 });
            let Outcome::Accepted(Accepted::HoldLive { hold, .. }) = apply(&mut state, &hold).outcome else {
                panic!("hold rejected: raise the bench quota");
            };
            let checkout = next(Command::Checkout { hold, payment_ttl_ms: 600_000 });
            let Outcome::Accepted(Accepted::OrderPlaced { order, .. }) = apply(&mut state, &checkout).outcome
            else {
                panic!("checkout rejected");
            };
            black_box(apply(&mut state, &next(Command::Pay { order })));
        });
    });
    group.finish();
}

/// Commands per millisecond of log time in the plain-hold bench: a hot
/// sale's rate, and slow enough that no hold lapses in a run. (With one
/// command per millisecond, holds began to lapse after 600,000 iterations,
/// and with no `Expire` in the bench every capacity check walked all the
/// lapsed ones: criterion's warm-up seemed to hang.)
const COMMANDS_PER_MS: u128 = 1_000;

/// The log time of the `request`th command of a plain-hold run.
fn flash_sale_time_ms(request: u128) -> u64 {
    START_MS + u64::try_from(request / COMMANDS_PER_MS).expect("a bench run is shorter than u64 milliseconds")
}

/// One buyer's plain hold of one ticket, and nothing else: holds pile up
/// as live reservations, as in the first seconds of a flash sale.
fn plain_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("domain");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hot_quota_plain_hold", |b| {
        let (mut state, event, item, _) = hot_quota(Some(QUOTA_SIZE_MAX));
        let mut request = 0u128;
        b.iter(|| {
            request += 1;
            let envelope = Envelope {
                time_ms: flash_sale_time_ms(request),
                request_id: RequestId(request),
                command: Command::PlaceHold {
                    event,
                    lines: vec![Line { item, quantity: 1 }],
                    ttl_ms: HOLD_TTL_MS_MAX,
                },
            };
            let applied = apply(&mut state, &envelope);
            assert!(applied.outcome.is_accepted(), "hold rejected: raise the bench quota");
            black_box(applied);
        });
    });
    group.finish();
}

/// Buyers arriving after the quota is sold out: each is a rejected hold.
fn sold_out_rejections(c: &mut Criterion) {
    let mut group = c.benchmark_group("domain");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sold_out_hold_rejection", |b| {
        let (mut state, event, item, _) = hot_quota(Some(0));
        let mut request = 0u128;
        b.iter(|| {
            request += 1;
            let envelope = Envelope {
                time_ms: START_MS + (request as u64),
                request_id: RequestId(request),
                command: Command::PlaceHold {
                    event,
                    lines: vec![Line { item, quantity: 1 }],
                    ttl_ms: 600_000,
                },
            };
            black_box(apply(&mut state, &envelope));
        });
    });
    group.finish();
}

criterion_group!(benches, hold_checkout_pay, plain_hold, sold_out_rejections);
criterion_main!(benches);
