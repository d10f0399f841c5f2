//! The open loop on several generator threads (`--threads`): every arrival is sent once, by
//! one thread on its own connections, and the threads' recordings merge into one measurement
//! that counts every request once, interval by interval.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use coldbench::loadgen::{drive, Live, Plan, RequestSet, RequestTemplate, Timing};
use coldbench::metrics::decode;
use coldbench::workload::ArrivalProcess;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

/// A server counting the connections it accepted and the requests it answered.
async fn counting_server(stop: CancellationToken) -> (std::net::SocketAddr, Arc<AtomicU64>, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (connections, requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (accepted, answered) = (Arc::clone(&connections), Arc::clone(&requests));
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => match accepted { Ok((s, _)) => s, Err(_) => continue },
            };
            accepted.fetch_add(1, Ordering::SeqCst);
            let answered = Arc::clone(&answered);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    answered.fetch_add(1, Ordering::SeqCst);
                    async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, connections, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_split_the_schedule_and_their_recordings_merge_exactly() {
    const THREADS: usize = 3;
    let stop = CancellationToken::new();
    let (addr, connections, answered) = counting_server(stop.clone()).await;
    let template = RequestTemplate::new("GET", &format!("http://{addr}/"), &Default::default(), "").unwrap();
    // 2.5 s at 400 req/s: 1,000 arrivals over three one-second intervals.
    let process = ArrivalProcess::Constant { rate_per_s: 400.0 };
    let run = Duration::from_millis(2_500);
    let expected = process.schedule(run, 0).count() as u64;
    let schedule: coldbench::loadgen::Schedule = Arc::new(move || Box::new(process.schedule(run, 0)));
    let plan = Plan::Open { schedule, max_in_flight: 100, threads: THREADS };
    let live = Arc::new(Live::default());
    let result = drive(
        RequestSet::one(template),
        plan,
        Timing::real(Duration::from_secs(10)),
        CancellationToken::new(),
        Arc::clone(&live),
    )
    .await
    .unwrap();
    stop.cancel();
    let m = &result.measurement;
    eprintln!("{} requests, {} connections, outcomes {:?}", m.requests, connections.load(Ordering::SeqCst), m.outcomes);
    assert_eq!(expected, 1_000);
    // Every arrival sent once: the server saw each, the report counts each.
    assert_eq!(answered.load(Ordering::SeqCst), expected);
    assert_eq!(m.requests, expected);
    assert_eq!(m.outcomes.ok, expected);
    assert_eq!(live.done.load(Ordering::SeqCst), expected);
    // Each thread sent on connections of its own.
    assert!(connections.load(Ordering::SeqCst) >= THREADS as u64, "{} connections", connections.load(Ordering::SeqCst));
    // The merged histograms hold every sample, and the intervals add up to the whole.
    assert_eq!(decode(&m.histograms.latency).unwrap().len(), expected);
    assert_eq!(decode(&m.histograms.lag).unwrap().len(), expected);
    assert_eq!(m.intervals.iter().map(|i| i.requests).sum::<u64>(), expected);
    let per_interval: u64 =
        m.intervals.iter().filter_map(|i| i.histogram.as_deref()).map(|h| decode(h).unwrap().len()).sum();
    assert_eq!(per_interval, expected);
    assert_eq!(
        m.latency.as_ref().unwrap().p99_us,
        coldbench::metrics::Summary::of(&decode(&m.histograms.latency).unwrap()).unwrap().p99_us
    );
    assert!(result.warnings.is_empty(), "{:#?}", result.warnings);
}
