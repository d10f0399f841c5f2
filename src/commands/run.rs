//! `coldbench run`: every target of a workload in turn, with the same schedule, saving after each.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{exit_code, print_run};
use crate::analysis::analyse;
use crate::cli::RunArgs;
use crate::function::DemoFunction;
use crate::metrics::ShardInfo;
use crate::metrics::{LiveMetrics, LiveRecords, RecordLog, RunReport, TargetStatus};
use crate::report::{exporters_for, InvocationLog, ReportDir};
use crate::target;
use crate::time::utc_now;
use crate::workload::{Shard, Workload};

/// Runs the workload and writes `reports/<timestamp>-<name>/`.
///
/// # Errors
/// When the workload is invalid, a `--target` is unknown, or the report cannot be written.
pub async fn run(args: &RunArgs, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let mut workload = Workload::load(&args.workload)?;
    if let Some(duration) = args.duration {
        workload.set_duration(duration, "--duration")?;
    }
    if args.fast_forward {
        workload.set_fast_forward()?;
    }
    for warning in &workload.warnings {
        crate::term::warning(warning);
    }
    for threshold in &args.thresholds {
        if let Some(name) =
            threshold.target.as_deref().filter(|n| !workload.spec.targets.iter().any(|t| t.name() == *n))
        {
            anyhow::bail!("--threshold {threshold}: {name:?} is not a target of {}", workload.path.display());
        }
    }
    workload.thresholds.extend(args.thresholds.iter().cloned());
    workload.shard = shard_of(args)?;
    let targets = workload.select_targets(&args.targets)?;
    if workload.shard.is_some() {
        workload.check_shardable(&targets)?;
        anyhow::ensure!(args.repeat == 1, "--repeat cannot be combined with --shard: repeat the sharded run instead");
    }
    let pricing = crate::cost::Pricing::load_or_embedded(args.pricing.as_deref())?;
    workload.check_pricing(&pricing)?;
    if let Some(start_at) = args.start_at {
        wait_for_start(start_at, &cancel).await;
    }
    let started_unix_ms = unix_ms(std::time::SystemTime::now());
    let started_at = utc_now();
    // Shards writing into one shared folder each get their own run folder.
    let folder_name = match workload.shard {
        Some(shard) => format!("{}-shard-{}-of-{}", workload.spec.name, shard.index, shard.count),
        None => workload.spec.name.clone(),
    };
    let dir = ReportDir::create(&args.out, &folder_name, &started_at)?;
    let mut report = RunReport::new(workload.info()?, started_at, pricing);
    if let Some(shard) = workload.shard {
        let bytes = std::fs::read(&workload.path).with_context(|| format!("reading {}", workload.path.display()))?;
        report.shard = Some(ShardInfo {
            index: shard.index,
            count: shard.count,
            start_at: args.start_at.map(|t| humantime::format_rfc3339_millis(t).to_string()),
            started_unix_ms,
            workload_digest: crate::workload::digest(&bytes),
        });
    }
    let save = |report: &RunReport| dir.write(report, &analyse(report, &report.pricing)?, &exporters_for(report));
    // A report that cannot be saved (a full disk) does not stop the measuring: the next target's
    // save, and one more at the end, try again.
    let records = InvocationLog::create(dir.path())?;
    let mut unsaved = false;
    let after_each = |report: &mut RunReport| {
        // An autoscaled target's month is priced through the simulator over the traffic's pattern.
        crate::simulate::add_pattern_months(&workload, report);
        records.flush();
        if let Err(err) = save(report) {
            crate::term::warning(format_args!(
                "cannot save the report ({err:#}); still measuring, will retry at the end"
            ));
            unsaved = true;
        }
    };
    let demo = DemoFunction::this_executable().context("finding the demo function (this executable)")?;
    let metrics = args.metrics.map(|_| Arc::new(LiveMetrics::new()));
    let serving = cancel.child_token();
    if let (Some(addr), Some(metrics)) = (args.metrics, &metrics) {
        super::live::serve_metrics(addr, Arc::clone(metrics), serving.clone()).await?;
    }
    let log: Arc<dyn RecordLog> = match &metrics {
        Some(metrics) => Arc::new(LiveRecords { metrics: Arc::clone(metrics), next: Some(records.clone()) }),
        None => records.clone(),
    };
    let options = target::Options {
        cancel: &cancel,
        quiet: args.quiet,
        log_dir: Some(dir.path()),
        demo: &demo,
        records: Some(&log),
        resources: args.resources == crate::cli::Switch::On,
        metrics: metrics.as_ref(),
        threads: args.threads,
    };
    target::measure_repeated(&workload, &targets, args.repeat, &mut report, options, after_each).await;
    let mut saved = if unsaved { save(&report) } else { Ok(()) };
    if let Some(metrics) = &metrics {
        // The last scrape, for a run too short for Prometheus to see its end.
        let path = dir.path().join("metrics.prom");
        if let Err(err) = std::fs::write(&path, metrics.encode()) {
            saved = saved.and(Err(anyhow::Error::new(err).context(format!("writing {}", path.display()))));
        }
    }
    serving.cancel();
    let saved = match (saved, records.finish()) {
        (Ok(()), rows) => rows,
        (Err(err), Ok(())) => Err(err),
        (Err(err), Err(rows)) => Err(err.context(format!("{rows:#}"))),
    };
    let analysis = analyse(&report, &report.pricing)?;
    print_run(&report, &analysis, dir.path(), args.json)?;
    if let Err(err) = saved {
        crate::term::error(format_args!("the report in {} is incomplete: {err:#}", dir.path().display()));
        return Ok(ExitCode::from(super::EXIT_OUTPUTS_INCOMPLETE));
    }
    let interrupted = cancel.is_cancelled() || report.targets.iter().any(|t| t.status == TargetStatus::Interrupted);
    let failed = report.targets.iter().any(|t| t.status == TargetStatus::Failed);
    let degraded = report.targets.iter().any(|t| t.status == TargetStatus::Degraded);
    Ok(exit_code(interrupted, failed, analysis.thresholds_failed(), degraded))
}

/// The shard this run sends: `--shard I/N`, or `--shards N` with the index a Kubernetes Indexed
/// Job gives each pod in `JOB_COMPLETION_INDEX`.
fn shard_of(args: &RunArgs) -> anyhow::Result<Option<Shard>> {
    let Some(count) = args.shards else { return Ok(args.shard) };
    let index = std::env::var("JOB_COMPLETION_INDEX")
        .context("--shards needs JOB_COMPLETION_INDEX (set in an Indexed Job's pods), or use --shard INDEX/COUNT")?;
    let index: u32 =
        index.trim().parse().map_err(|_| anyhow::anyhow!("JOB_COMPLETION_INDEX {index:?} is not a whole number"))?;
    Shard::new(index, count).map(Some).map_err(|e| anyhow::anyhow!("--shards {count} with JOB_COMPLETION_INDEX: {e}"))
}

/// Sleeps until `start_at` by the wall clock (or until Ctrl-C); a time already past is a warning.
async fn wait_for_start(start_at: std::time::SystemTime, cancel: &CancellationToken) {
    match start_at.duration_since(std::time::SystemTime::now()) {
        Ok(wait) => {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => {}
            }
        }
        Err(late) => crate::term::warning(format_args!(
            "--start-at {} was {:.1} s ago: starting now, later than the other shards",
            humantime::format_rfc3339_seconds(start_at),
            late.duration().as_secs_f64()
        )),
    }
}

fn unix_ms(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
