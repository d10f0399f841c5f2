//! `coldbench simulate`: a workload's function and container targets in simulated time
//! (`simulate::simulate_workload`), saved and printed like a run.

use std::process::ExitCode;

use anyhow::Context;

use super::print_run;
use crate::analysis::analyse;
use crate::cli::SimulateArgs;
use crate::report::{exporters_for, read_results, ReportDir};
use crate::simulate::{simulate_workload, Calibration};
use crate::time::utc_now;
use crate::workload::Workload;

/// Simulates the workload and writes `reports/<timestamp>-<name>-simulated/`.
///
/// # Errors
/// An invalid workload, pricing or calibration file, or an unwritable report folder.
pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut workload = Workload::load(&args.workload)?;
    if let Some(duration) = args.duration {
        workload.set_duration(duration, "--duration")?;
    }
    let pricing = crate::cost::Pricing::load_or_embedded(args.pricing.as_deref())?;
    workload.check_pricing(&pricing)?;
    let results = args.calibrate.as_deref().map(|path| read_results(path).context("--calibrate")).transpose()?;
    let calibration =
        args.calibrate.as_deref().zip(results.as_ref()).map(|(path, results)| Calibration { path, results });
    let started_at = utc_now();
    let arrivals = workload.arrivals.expected_requests(workload.duration());
    let spinner = super::spinner(format!(
        "simulating {} target(s): about {} arrivals each over {}",
        workload.spec.targets.len(),
        crate::units::format_count(arrivals),
        crate::units::format_span(workload.duration().as_secs_f64())
    ));
    let report = simulate_workload(&workload, pricing, calibration, &started_at);
    spinner.finish_and_clear();
    let report = report?;
    let analysis = analyse(&report, &report.pricing)?;
    let dir = ReportDir::create(&args.out, &format!("{}-simulated", workload.spec.name), &started_at)?;
    dir.write(&report, &analysis, &exporters_for(&report))?;
    print_run(&report, &analysis, dir.path(), args.json)?;
    Ok(ExitCode::SUCCESS)
}
