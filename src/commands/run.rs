//! `coldbench run`: every target of a workload in turn, with the same schedule, saving after each.

use std::process::ExitCode;

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use super::{exit_code, folder_timestamp, print_run, workload_info};
use crate::analysis::analyse;
use crate::cli::RunArgs;
use crate::metrics::{RunReport, TargetStatus};
use crate::report::{exporters_for, ReportDir};
use crate::target;
use crate::time::utc_now;
use crate::workload::{TargetSpec, Workload};

/// Runs the workload and writes `reports/<timestamp>-<name>/`.
///
/// # Errors
/// When the workload is invalid, a `--target` is unknown, or the report cannot be written.
pub async fn run(args: &RunArgs, cancel: CancellationToken) -> anyhow::Result<ExitCode> {
    let mut workload = Workload::load(&args.workload)?;
    if let Some(duration) = args.duration {
        workload.set_duration(duration);
    }
    if args.fast_forward {
        workload.set_fast_forward()?;
    }
    for warning in &workload.warnings {
        eprintln!("warning: {warning}");
    }
    let targets = select_targets(&workload, &args.targets)?;
    let pricing = crate::cost::Pricing::load_or_embedded(args.pricing.as_deref())?;
    workload.check_pricing(&pricing)?;
    let started_at = utc_now();
    let dir = ReportDir::create(&args.out, &workload.spec.name, &folder_timestamp(&started_at))?;
    let mut report = RunReport::new(workload_info(&workload)?, started_at, pricing);
    let mut analysis = analyse(&report, &report.pricing)?;
    for target in targets {
        if cancel.is_cancelled() {
            break;
        }
        if !args.quiet {
            eprintln!("measuring {} ({})", target.name(), target.kind());
        }
        let measured = target::measure(&workload, target, &cancel, args.quiet, Some(dir.path())).await;
        if let Some(error) = &measured.error {
            eprintln!("error: target {}: {error}", measured.name);
        }
        for warning in &measured.warnings {
            eprintln!("warning: target {}: {warning}", measured.name);
        }
        report.targets.push(measured);
        analysis = analyse(&report, &report.pricing)?;
        dir.write(&report, &analysis, &exporters_for(&report))?;
    }
    print_run(&report, &analysis, dir.path(), args.json)?;
    let interrupted = cancel.is_cancelled() || report.targets.iter().any(|t| t.status == TargetStatus::Interrupted);
    let failed = report.targets.iter().any(|t| t.status == TargetStatus::Failed);
    Ok(exit_code(interrupted, failed))
}

fn select_targets<'w>(workload: &'w Workload, wanted: &[String]) -> anyhow::Result<Vec<&'w TargetSpec>> {
    let all = &workload.spec.targets;
    if wanted.is_empty() {
        return Ok(all.iter().collect());
    }
    let names: Vec<&str> = all.iter().map(TargetSpec::name).collect();
    for name in wanted {
        if !names.contains(&name.as_str()) {
            bail!("--target {name:?}: {} has no such target (it has: {})", workload.path.display(), names.join(", "));
        }
    }
    Ok(all.iter().filter(|t| wanted.iter().any(|w| w == t.name())).collect())
}
