//! Cost of generating arrival schedules (per 100,000 arrivals).

use std::hint::black_box;
use std::time::Duration;

use coldbench::workload::{ArrivalProcess, Stage};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const ARRIVALS: u64 = 100_000;

fn schedules(c: &mut Criterion) {
    let horizon = Duration::from_secs(1_000_000);
    let processes = [
        ("constant", ArrivalProcess::Constant { rate_per_s: 1_000.0 }),
        ("poisson", ArrivalProcess::Poisson { rate_per_s: 1_000.0 }),
        (
            "ramp",
            ArrivalProcess::Ramp {
                stages: vec![
                    Stage { from_per_s: 0.0, to_per_s: 2_000.0, duration: Duration::from_secs(50) },
                    Stage { from_per_s: 2_000.0, to_per_s: 2_000.0, duration: Duration::from_secs(50) },
                ],
            },
        ),
    ];
    let mut group = c.benchmark_group("schedule");
    group.throughput(Throughput::Elements(ARRIVALS));
    for (name, process) in processes {
        group.bench_function(name, |b| {
            b.iter(|| process.schedule(horizon, 42).take(ARRIVALS as usize).fold(Duration::ZERO, |_, t| black_box(t)))
        });
    }
    group.finish();
}

criterion_group!(benches, schedules);
criterion_main!(benches);
