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
    let process = ArrivalProcess::Constant { rate_per_s: RATE };
    let plan = Plan::Open {
        schedule: Arc::new(move || Box::new(process.schedule(RUN, 0))),
        max_in_flight: 10_000,
        threads: 1,
    };
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

/// The stall at default settings, whole: a frozen server stops accepting too, so once its accept
/// backlog is full, new connections' SYNs go unanswered and Linux resends them after 1 s. Those
/// requests wait about a second to *connect* — longer than the freeze — which is why the stall
/// test's p99 is ~1 s and not 0.8 × the freeze. The split must show that second as connect time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backlog_shows_as_connect_time_in_the_split() {
    const STALL: Duration = Duration::from_millis(300);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8).unwrap();
    let addr = listener.local_addr().unwrap();
    let start = Instant::now();
    let (freeze_from, freeze_until) = (start + FREEZE_AT, start + FREEZE_AT + STALL);
    let stop = CancellationToken::new();
    let token = stop.clone();
    // A whole process frozen: neither its accept loop nor its handlers run until the freeze ends.
    tokio::spawn(async move {
        loop {
            let now = Instant::now();
            if now >= freeze_from && now < freeze_until {
                tokio::time::sleep_until(freeze_until.into()).await;
            }
            let (tcp, _) = tokio::select! {
                () = token.cancelled() => return,
                accepted = listener.accept() => accepted.unwrap(),
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_request| async move {
                    let now = Instant::now();
                    if now >= freeze_from && now < freeze_until {
                        tokio::time::sleep_until(freeze_until.into()).await;
                    }
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    let template = RequestTemplate::new("GET", &format!("http://{addr}/"), &Default::default(), "").unwrap();
    let process = ArrivalProcess::Constant { rate_per_s: RATE };
    let plan = Plan::Open {
        schedule: Arc::new(move || Box::new(process.schedule(RUN, 0))),
        max_in_flight: 10_000,
        threads: 1,
    };
    let live = Arc::new(Live::default());
    let result =
        drive(RequestSet::one(template), plan, Timing::real(Duration::from_secs(10)), CancellationToken::new(), live)
            .await
            .unwrap();
    stop.cancel();
    let m = result.measurement;
    assert_eq!(m.outcomes.ok, 4_000, "{:?}", m.outcomes);
    let phases = m.phases.as_ref().expect("the load generator splits every request's time");
    let connecting = phases.connecting.as_ref().unwrap();
    let latency = m.latency.as_ref().unwrap();
    // Hundreds of arrivals in the freeze needed a new connection; beyond the backlog, each waited
    // for a SYN retry.
    assert!(phases.slow_connects >= 100, "slow connects: {phases:?}");
    assert!(connecting.max_us >= 900_000, "{connecting:?}");
    // The tail is that second: p99 is past the freeze by far, and what lies past the freeze is
    // connect time — every request slower than 0.9 s waited that long to connect.
    assert!(latency.p99_us >= 900_000 && latency.p99_us > 2 * STALL.as_micros() as u64, "{latency:?}");
    let h = coldbench::metrics::decode(&m.histograms.latency).unwrap();
    let slow = h.count_between(900_000, h.max());
    eprintln!(
        "latency p99 {} µs; new connections {}, slow connects {}, connect p99 {} µs; requests over 0.9 s {slow}",
        latency.p99_us, phases.connections_new, phases.slow_connects, connecting.p99_us
    );
    assert!(slow <= phases.slow_connects, "{slow} requests over 0.9 s, {} slow connects", phases.slow_connects);
    // And the report says so in words.
    assert!(
        result.warnings.iter().any(|w| w.contains("to connect") && w.contains("accept backlog")),
        "{:?}",
        result.warnings
    );
}
