//! The run pipeline in process, through the deterministic fake target: load generator, recorder,
//! analysis and exporters, with no child process and no sleep.

use std::path::Path;
use std::time::Duration;

use coldbench::analysis::analyse;
use coldbench::function::DemoFunction;
use coldbench::metrics::{BillingRecord, RecordLog, RunReport, TargetKind, TargetStatus, WorkloadInfo};
use coldbench::target::{measure_with, FakeScript, FakeTarget, Options, Run};
use coldbench::workload::Workload;
use tokio_util::sync::CancellationToken;

/// 40 requests, 5 ms apart.
const WORKLOAD: &str = r#"
name = "pipeline"
duration = "200ms"
[traffic]
pattern = "constant"
rate = 200
[[targets]]
name = "unused"
kind = "url"
url = "http://127.0.0.1:9/"
"#;

/// Keeps the records a run streams, as `invocations.csv` would get them.
#[derive(Default)]
struct Collected(std::sync::Mutex<Vec<(String, BillingRecord)>>);

impl RecordLog for Collected {
    fn record(&self, target: &str, record: &BillingRecord) {
        self.0.lock().unwrap().push((target.to_string(), record.clone()));
    }
}

async fn measure(script: FakeScript) -> (Workload, coldbench::metrics::TargetReport, Vec<(String, BillingRecord)>) {
    let workload = Workload::parse(Path::new("pipeline.toml"), WORKLOAD).unwrap();
    let cancel = CancellationToken::new();
    let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
    let collected = std::sync::Arc::new(Collected::default());
    let log: std::sync::Arc<dyn RecordLog> = collected.clone();
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
    let report = measure_with(FakeTarget::new("fake", script), &Run::new(&workload, options)).await;
    let records = std::mem::take(&mut *collected.0.lock().unwrap());
    (workload, report, records)
}

fn info(workload: &Workload) -> WorkloadInfo {
    WorkloadInfo {
        name: workload.spec.name.clone(),
        description: String::new(),
        source: "pipeline.toml".into(),
        seed: 0,
        duration_s: workload.duration().as_secs_f64(),
        traffic: serde_json::json!({"pattern": "constant", "rate": 200}),
        warnings: Vec::new(),
        cost: workload.spec.cost.clone(),
        requests: Default::default(),
        thresholds: Vec::new(),
    }
}

#[tokio::test]
async fn scripted_cold_starts_and_failures_flow_through_to_counts_and_cost() {
    let script = FakeScript {
        cold_every: 10,
        init: Duration::from_millis(250),
        duration: Duration::from_millis(20),
        fail_every: 8,
        memory_mb: 512,
    };
    let (workload, target, records) = measure(script).await;
    assert_eq!(target.kind, TargetKind::Function);
    assert_eq!(target.status, TargetStatus::Complete);
    let m = &target.measurement;
    assert_eq!(m.requests, 40);
    assert_eq!((m.cold, m.warm), (4, 36), "invocations 0, 10, 20, 30 are cold");
    assert_eq!(m.outcomes.ok, 35, "every 8th answers 500");
    assert_eq!(m.outcomes.http_error.get(&500), Some(&5));
    let init = m.init.as_ref().unwrap();
    assert_eq!((init.count, init.p50_us / 1_000), (4, 250));
    let function = target.function.as_ref().unwrap();
    assert_eq!(function.stats.instances_started, 4);
    // Every record went to the log as it was made; the report keeps only their sum.
    assert_eq!(records.len(), 40);
    assert!(records.iter().all(|(t, _)| t == "fake"));
    assert_eq!(records.iter().filter(|(_, r)| r.cold).count(), 4);
    let summary = &function.invocations;
    assert_eq!((summary.invocations, summary.billed, summary.cold, summary.billed_ms_total), (40, 40, 4, 1_800));
    assert_eq!(summary.duration_us.len(), 40);

    let mut report =
        RunReport::new(info(&workload), "2026-12-01T00:00:00Z".into(), coldbench::cost::Pricing::embedded());
    report.targets.push(target);
    let analysis = analyse(&report, &report.pricing).unwrap();
    let cost = analysis.cost_of("fake").expect("a function target that served requests is priced");
    // 36 warm × 20 ms + 4 cold × (250 + 20) ms = 1,800 ms over 40 invocations.
    assert!(cost.basis.contains("512 MB, 45.00 ms mean billed duration over 40 invocations"), "{}", cost.basis);
    // 40 requests in 0.2 s is 200/s: 525.6 M requests a month of 730 h.
    assert!((cost.requests_per_month - 200.0 * 730.0 * 3600.0).abs() < 1.0, "{}", cost.requests_per_month);
    let json = coldbench::report::results_json(&report, &analysis).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["targets"][0]["measurement"]["requests"], 40);
    assert!(value["analysis"]["targets"][0]["cost"]["monthly"]["total"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn a_fake_whose_every_answer_fails_is_a_failed_target_without_a_cost() {
    let (workload, target, _) = measure(FakeScript { fail_every: 1, ..FakeScript::default() }).await;
    assert_eq!(target.status, TargetStatus::Failed);
    assert_eq!(target.error.as_deref(), Some("no request succeeded (40 http 500)"));
    let mut report =
        RunReport::new(info(&workload), "2026-12-01T00:00:00Z".into(), coldbench::cost::Pricing::embedded());
    report.targets.push(target);
    let analysis = analyse(&report, &report.pricing).unwrap();
    assert!(analysis.cost_of("fake").is_none());
    assert!(analysis.notes()[0].starts_with("fake: no cost projection: the target failed"), "{:?}", analysis.notes());
}

#[tokio::test]
async fn ctrl_c_before_the_start_reports_an_interrupted_target() {
    let workload = Workload::parse(Path::new("pipeline.toml"), WORKLOAD).unwrap();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let demo = DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
    let run = Run::new(
        &workload,
        Options {
            cancel: &cancel,
            quiet: true,
            log_dir: None,
            demo: &demo,
            records: None,
            resources: true,
            metrics: None,
            threads: None,
        },
    );
    let report = measure_with(FakeTarget::new("fake", FakeScript::default()), &run).await;
    assert_eq!((report.status, report.measurement.requests), (TargetStatus::Interrupted, 0));
}
