//! Memory stays flat at any invocation count: a run's billing records stream to
//! `invocations.csv` instead of waiting in memory (one test per binary, so that RSS is this
//! run's alone).

use std::path::Path;
use std::time::Duration;

use coldbench::function::DemoFunction;
use coldbench::loadgen::{drive, Plan, Timing};
use coldbench::metrics::RecordLog;
use coldbench::report::InvocationLog;
use coldbench::target::{FakeScript, FakeTarget, Options, Run, Target};
use coldbench::workload::Workload;
use tokio_util::sync::CancellationToken;

/// Resident memory now and at its peak, in KiB, from /proc/self/status.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A million invocations of the fake function target (in process, answering at once), sent
/// back to back on 8 connections through the gateway, with every record streamed to
/// `invocations.csv`: the process's peak memory grows by a few MiB, not the ~184 MB kept
/// records would take.
#[test]
fn a_million_invocations_keep_memory_flat() {
    let requests: u64 =
        std::env::var("COLDBENCH_MEMORY_TEST_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let workload = Workload::parse(
        Path::new("memory.toml"),
        "name = \"memory\"\nduration = \"1s\"\n[traffic]\npattern = \"constant\"\nrate = 1\n\
         [[targets]]\nname = \"unused\"\nkind = \"url\"\nurl = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let started = std::time::Instant::now();
    let (function, sent, rows, before, after) = runtime.block_on(async {
        let records = InvocationLog::create(dir.path()).unwrap();
        let log: std::sync::Arc<dyn RecordLog> = records.clone();
        let cancel = CancellationToken::new();
        let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
        let options = Options {
            cancel: &cancel,
            quiet: true,
            log_dir: None,
            demo: &demo,
            records: Some(&log),
            resources: true,
            metrics: None,
            threads: None,
        };
        let run = Run::new(&workload, options);
        let mut target = FakeTarget::new("fake", FakeScript { cold_every: 1_000, ..FakeScript::default() });
        let endpoint = target.start(&run).await.unwrap();
        let before = rss_kib().0;
        let plan = Plan::Closed { connections: 8, duration: None, requests: Some(requests) };
        let load =
            drive(endpoint.requests, plan, Timing::real(Duration::from_secs(30)), cancel.clone(), Default::default())
                .await
                .unwrap();
        let part = target.stop(&run).await;
        let after = rss_kib();
        records.finish().unwrap();
        let rows = std::fs::read_to_string(dir.path().join("invocations.csv")).unwrap().lines().count() - 1;
        (part.function.unwrap(), load.measurement.requests, rows, before, after)
    });
    eprintln!(
        "{requests} requests in {:.1} s: RSS {before} KiB before, {} KiB after, peak {} KiB",
        started.elapsed().as_secs_f64(),
        after.0,
        after.1
    );
    assert_eq!(sent, requests);
    assert_eq!(function.invocations.invocations, requests, "every request was an invocation");
    assert_eq!(rows as u64, requests, "every invocation has its row in invocations.csv");
    assert_eq!(function.invocations.cold, requests.div_ceil(1_000));
    let grown_mib = after.1.saturating_sub(before) / 1024;
    assert!(grown_mib < 32, "peak memory grew by {grown_mib} MiB over {requests} invocations");
}
