//! Coordinated omission: a server that freezes mid-run must show up in the open-loop tail.
//!
//! Scaled down from the reference stall test (2,000 req/s for 20 s, 1 s freeze, p99 ≈ 0.8 s):
//! 1,000 req/s for 4 s with a 0.2 s freeze keeps the stalled share at 5 %, so the true p99 is
//! 0.8 × 0.2 s = 160 ms while the server's own service time stays well under a millisecond.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use coldbench::loadgen::{drive, Live, Plan, RequestSet, RequestTemplate, Timing};
use coldbench::workload::ArrivalProcess;
use http_body_util::Full;
use tokio_util::sync::CancellationToken;

const RATE: f64 = 1_000.0;
const RUN: Duration = Duration::from_secs(4);
const FREEZE_AT: Duration = Duration::from_secs(1);
const FREEZE: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_shows_in_the_open_loop_p99() {
    let start = Instant::now();
    let (freeze_from, freeze_until) = (start + FREEZE_AT, start + FREEZE_AT + FREEZE);
    let (addr, stop) = common::serve(move |_request| async move {
        let now = Instant::now();
        if now >= freeze_from && now < freeze_until {
            tokio::time::sleep_until(freeze_until.into()).await;
        }
        Ok(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    })
    .await;
    let template = RequestTemplate::new("GET", &format!("http://{addr}/"), &Default::default(), "").unwrap();
    let schedule = ArrivalProcess::Constant { rate_per_s: RATE }.schedule(RUN, 0);
    let plan = Plan::Open { schedule: Box::new(schedule), max_in_flight: 10_000 };
    let result = drive(
        RequestSet::one(template),
        plan,
        Timing::real(Duration::from_secs(10)),
        CancellationToken::new(),
        Arc::new(Live::default()),
    )
    .await
    .unwrap();
    stop.cancel();
    let m = result.measurement;
    assert_eq!(m.requests, 4_000);
    assert_eq!(m.outcomes.ok, 4_000);
    let latency = m.latency.unwrap();
    let expected_p99_us = 0.8 * FREEZE.as_micros() as f64;
    let p99 = latency.p99_us as f64;
    // The upper bound leaves room for the catch-up after the freeze: ~200 queued requests finish
    // at once on the 2 cores this test shares with its server (debug build). It was 1.15× and
    // failed in about half the runs on a busy 2-core VM (p99 188–224 ms), before and after the
    // fast-forward change alike. A coordinated-omission-prone measurement would report a p99
    // of about a millisecond here, far below either bound.
    assert!(
        (0.8 * expected_p99_us..=1.5 * expected_p99_us).contains(&p99),
        "p99 {p99} µs should reflect the {FREEZE:?} freeze (≈ {expected_p99_us} µs)"
    );
    assert!(latency.max_us as f64 >= 0.9 * FREEZE.as_micros() as f64);
    assert!(latency.p50_us < 20_000, "the median is unaffected by a 5 % stall, got {} µs", latency.p50_us);
}
