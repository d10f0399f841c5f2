//! Cost of recording one finished request (the load generator's hot path).

use std::hint::black_box;
use std::time::{Duration, Instant};

use coldbench::metrics::{Outcome, Recorder, Sample};
use criterion::{criterion_group, criterion_main, Criterion};

fn record(c: &mut Criterion) {
    let start = Instant::now();
    let mut recorder = Recorder::new(start);
    let mut i = 0u64;
    c.bench_function("recorder/record ok sample", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            let sample = Sample {
                latency: Duration::from_micros(200 + i % 5_000),
                service: Duration::from_micros(150 + i % 4_000),
                lag: Duration::from_micros(i % 50),
                cap_wait: Duration::ZERO,
                outcome: Outcome::Ok,
                cold: Some(i % 100 == 0),
                init: None,
                cache: None,
                phases: None,
            };
            recorder.record(black_box(&sample), start, 10);
        })
    });
    let mut histogram = coldbench::metrics::new_histogram();
    c.bench_function("histogram/record_us", |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            coldbench::metrics::record_us(&mut histogram, black_box(Duration::from_micros(i % 100_000)));
        })
    });
}

criterion_group!(benches, record);
criterion_main!(benches);
