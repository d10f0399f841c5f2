//! `coldbench load`: ad-hoc load against one URL, open loop (`--rate`) or closed loop (`-c`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{exit_code, print_thresholds};
use crate::analysis::analyse;
use crate::cli::LoadArgs;
use crate::loadgen::{self, Live, Plan, RequestTemplate};
use crate::metrics::{decode, LoadMode, RunReport, TargetKind, TargetStatus, WorkloadInfo};
use crate::report::{comparison_table, spectrum};
use crate::target::{self, Progress};
use crate::time::utc_now;
use crate::workload::ArrivalProcess;

/// Duration of a load given neither `-d` nor `-n`.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Connections of a closed-loop load without `-c`.
const DEFAULT_CONNECTIONS: usize = 50;

/// Loads the URL and prints the latency table (or JSON).
///
/// # Errors
/// When the URL, method, headers or rate are invalid.
pub async fn run(args: &LoadArgs, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let headers = RequestTemplate::parse_header_lines(&args.headers)?;
    let template = RequestTemplate::new(&args.method, &args.url, &headers, args.body.clone())?;
    let duration = args.duration.or(if args.requests.is_some() { None } else { Some(DEFAULT_DURATION) });
    let (plan, expected, traffic) = plan(args, duration)?;
    let live = Arc::new(Live::default());
    let planned = target::Planned { requests: expected, duration };
    let progress = Progress::start("load", planned, Arc::clone(&live), !args.quiet);
    let transport = loadgen::Transport { cacert: args.cacert.clone(), insecure: args.insecure, http2: args.http2 };
    let result = loadgen::drive(
        loadgen::RequestSet::one(template).with_transport(transport),
        plan,
        loadgen::Timing::real(args.timeout),
        cancel.clone(),
        live,
    )
    .await;
    progress.finish();
    let mut measured = target::conclude(&args.url, TargetKind::Url, &args.url, result);
    if args.rate.is_none() {
        measured.mode = LoadMode::Closed;
    }
    for warning in &measured.warnings {
        crate::term::warning(warning);
    }
    if let Some(error) = &measured.error {
        crate::term::error(error);
    }
    let info = WorkloadInfo {
        name: "load".into(),
        description: String::new(),
        source: args.url.clone(),
        seed: 0,
        duration_s: duration.map_or(0.0, |d| d.as_secs_f64()),
        traffic,
        warnings: Vec::new(),
        cost: crate::cost::CostSettings::default(),
        requests: Default::default(),
        thresholds: args.thresholds.clone(),
    };
    let mut report = RunReport::new(info, utc_now(), crate::cost::Pricing::embedded());
    report.targets.push(measured);
    let target = &report.targets[0];
    let analysis = analyse(&report, &report.pricing)?;
    if args.json {
        println!("{}", String::from_utf8(crate::report::results_json(&report, &analysis)?)?);
    } else {
        println!("{}", comparison_table(&report, &analysis));
        if let Some(cpu) = target.coldbench_cpu_us_per_request {
            println!("coldbench CPU per request: {cpu:.2} µs");
        }
        print_thresholds(&analysis);
        if args.spectrum {
            println!("{}", spectrum(&decode(&target.measurement.histograms.latency)?));
            for (name, summary, histogram) in target.measurement.phases.iter().flat_map(|p| p.named()) {
                if summary.is_some() {
                    println!("# {name}\n{}", spectrum(&decode(histogram)?));
                }
            }
        }
    }
    let failed = target.status == TargetStatus::Failed;
    let degraded = target.status == TargetStatus::Degraded;
    Ok(exit_code(cancel.is_cancelled(), failed, analysis.thresholds_failed(), degraded))
}

type PlanParts = (Plan, Option<u64>, serde_json::Value);

fn plan(args: &LoadArgs, duration: Option<Duration>) -> anyhow::Result<PlanParts> {
    let Some(rate) = args.rate else {
        let connections = args.connections.unwrap_or(DEFAULT_CONNECTIONS);
        anyhow::ensure!(connections > 0, "-c: must be at least 1 connection");
        let traffic = serde_json::json!({ "pattern": "closed", "connections": connections });
        return Ok((Plan::Closed { connections, duration, requests: args.requests }, args.requests, traffic));
    };
    anyhow::ensure!(rate.is_finite() && rate > 0.0, "--rate: must be greater than 0, got {rate}");
    anyhow::ensure!(args.max_in_flight > 0, "--max-in-flight: must be at least 1");
    let horizon = duration.unwrap_or(Duration::MAX);
    let process = ArrivalProcess::Constant { rate_per_s: rate };
    let limit = args.requests.unwrap_or(u64::MAX);
    let expected = duration.map_or(limit, |d| (process.expected_requests(d).ceil() as u64).min(limit));
    let take = usize::try_from(limit).unwrap_or(usize::MAX);
    let schedule: loadgen::Schedule = Arc::new(move || Box::new(process.schedule(horizon, 0).take(take)));
    let traffic = serde_json::json!({ "pattern": "constant", "rate": rate });
    let threads = args.threads.unwrap_or_else(crate::cores);
    Ok((Plan::Open { schedule, max_in_flight: args.max_in_flight, threads }, Some(expected), traffic))
}
