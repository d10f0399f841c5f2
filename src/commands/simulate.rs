//! `coldbench simulate`: a workload's function targets replayed through the runtime's own pool
//! policy in simulated time, producing a `RunReport` marked simulated (so costs, exporters and
//! charts work unchanged).

use std::process::ExitCode;
use std::time::Instant;

use super::{add_costs, folder_timestamp, target, utc_now, workload_info};
use crate::cli::SimulateArgs;
use crate::metrics::{LoadMode, RunReport, SimulationInfo, TargetStatus};
use crate::report::{comparison_table, exporters_for, ReportDir};
use crate::simulate::{simulate_function, SimulatedFunction};
use crate::workload::{TargetSpec, Workload};

/// Simulates the workload and writes `reports/<timestamp>-<name>-simulated/`.
///
/// # Errors
/// An invalid workload or pricing file, or an unwritable report folder.
pub fn run(args: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut workload = Workload::load(&args.workload)?;
    if let Some(duration) = args.duration {
        workload.set_duration(duration);
    }
    let started_at = utc_now();
    let wall = Instant::now();
    let mut info = workload_info(&workload)?;
    // The workload's warnings are about real-time runs (e.g. sparse traffic taking days).
    info.warnings.clear();
    let mut report = RunReport::new(info.clone(), started_at.clone());
    let mut invocations = 0;
    for spec in &workload.spec.targets {
        let TargetSpec::Function(function) = spec else {
            info.warnings.push(format!("target {}: only function targets are simulated; skipped", spec.name()));
            continue;
        };
        let simulated = SimulatedFunction {
            pool: target::pool_config(&workload, function)?,
            init: workload.spec.function.init.delay.0,
            work: workload.spec.function.work.nominal_duration(),
            timeout: function.timeout.0,
            billing: function.billing,
        };
        let result = simulate_function(workload.schedule(), &simulated, workload.duration());
        invocations += result.invocations;
        let mut target = target::empty_report(&function.name, "function", "simulated", TargetStatus::Complete, None);
        target.mode = LoadMode::Open;
        target.started_at.clone_from(&started_at);
        target.measurement = result.measurement;
        target.function = Some(target::function_report(function, result.stats, result.billed_ms_total, Vec::new()));
        report.targets.push(target);
    }
    anyhow::ensure!(!report.targets.is_empty(), "{}: no function target to simulate", workload.path.display());
    report.workload = info;
    let wall_s = wall.elapsed().as_secs_f64();
    report.simulation = Some(SimulationInfo {
        simulated_s: workload.duration().as_secs_f64(),
        wall_s,
        invocations,
        invocations_per_wall_second: invocations as f64 / wall_s.max(1e-9),
        durations: format!(
            "nominal: Init {} (the workload's init delay), work {} per invocation",
            workload.spec.function.init.delay,
            crate::workload::HumanDuration(workload.spec.function.work.nominal_duration())
        ),
    });
    let pricing = crate::cost::Pricing::load_or_embedded(args.pricing.as_deref())?;
    add_costs(&mut report, &pricing, &workload.spec.cost)?;
    let folder = format!("{}-simulated", workload.spec.name);
    let dir = ReportDir::create(&args.out, &folder, &folder_timestamp(&started_at))?;
    dir.write(&report, &exporters_for(&report))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", comparison_table(&report.targets));
        for note in crate::report::time_notes(&report) {
            println!("{note}");
        }
        println!("report: {}", dir.path().display());
    }
    Ok(ExitCode::SUCCESS)
}
