//! Codec throughput: log records (the per-command hot path of the log and
//! replication) and whole-state snapshots.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use boxoffice_benches::{START_MS, hot_quota};
use boxoffice_engine::codec;
use boxoffice_engine::domain::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Records of a realistic sale: (hold, checkout, pay) × `buyers`, and the state.
fn sale(buyers: u64) -> (Vec<Record>, State) {
    let (mut state, event, item, _) = hot_quota(None);
    let mut records = Vec::new();
    let mut request = 0u128;
    let mut run = |state: &mut State, command| {
        request += 1;
        let envelope =
            Envelope { time_ms: START_MS + request as u64, request_id: RequestId(request), command };
        let applied = apply(state, &envelope);
        records.push(applied.record.expect("fresh request"));
        applied.outcome
    };
    for _ in 0..buyers {
        let command = Command::PlaceHold { event, lines: vec![Line { item, quantity: 2 }], ttl_ms: 600_000 };
        let Outcome::Accepted(Accepted::HoldLive { hold, .. }) = run(&mut state, command) else { panic!() };
        let command = Command::Checkout { hold, payment_ttl_ms: 600_000 };
        let Outcome::Accepted(Accepted::OrderPlaced { order, .. }) = run(&mut state, command) else {
            panic!()
        };
        run(&mut state, Command::Pay { order });
    }
    (records, state)
}

fn records(c: &mut Criterion) {
    let (records, _) = sale(1_000);
    let encoded: Vec<Vec<u8>> = records.iter().map(|r| codec::encode_record(r).unwrap()).collect();
    let bytes: u64 = encoded.iter().map(|e| e.len() as u64).sum();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("encode_record", |b| {
        b.iter(|| records.iter().map(|r| codec::encode_record(black_box(r)).unwrap().len()).sum::<usize>())
    });
    group.bench_function("decode_record", |b| {
        b.iter(|| encoded.iter().map(|e| codec::decode_record(black_box(e)).unwrap().seq).sum::<u64>())
    });
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("decode_record_bytes", |b| {
        b.iter(|| encoded.iter().map(|e| codec::decode_record(black_box(e)).unwrap().seq).sum::<u64>())
    });
    group.finish();
}

fn snapshots(c: &mut Criterion) {
    let (_, state) = sale(10_000);
    let encoded = codec::encode_snapshot(&state).unwrap();
    let mut group = c.benchmark_group("codec");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(encoded.len() as u64));
    group.bench_function("encode_snapshot_10k_orders", |b| {
        b.iter(|| codec::encode_snapshot(black_box(&state)).unwrap())
    });
    group.bench_function("decode_snapshot_10k_orders", |b| {
        b.iter(|| codec::decode_snapshot(black_box(&encoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, records, snapshots);
criterion_main!(benches);
