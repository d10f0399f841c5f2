//! `coldbench run`: every target of a workload in turn, with the same schedule, saving after each.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{exit_code, print_run};
use crate::analysis::analyse;
use crate::cli::RunArgs;
use crate::function::DemoFunction;
use crate::metrics::{LiveMetrics, LiveRecords, RecordLog, RunReport, TargetStatus};
use crate::report::{exporters_for, InvocationLog, ReportDir};
use crate::target;
use crate::time::utc_now;
use crate::workload::Workload;

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
    let targets = workload.select_targets(&args.targets)?;
    let pricing = crate::cost::Pricing::load_or_embedded(args.pricing.as_deref())?;
    workload.check_pricing(&pricing)?;
    let started_at = utc_now();
    let dir = ReportDir::create(&args.out, &workload.spec.name, &started_at)?;
    let mut report = RunReport::new(workload.info()?, started_at, pricing);
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
