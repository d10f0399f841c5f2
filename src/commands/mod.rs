//! The subcommands: each turns parsed arguments into work and an exit code.

pub mod cost;
pub mod function;
pub mod load;
pub mod replay;
pub mod report;
pub mod run;
pub mod runtime;
pub mod simulate;

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::analysis::Analysis;
use crate::metrics::{RunReport, WorkloadInfo};
use crate::workload::Workload;

/// Exit code when a target failed (did not start, or no request succeeded).
pub const EXIT_TARGET_FAILED: u8 = 2;
/// Exit code after Ctrl-C, as shells expect (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A token cancelled on the first SIGINT or SIGTERM.
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
        cancel.cancel();
    });
    token
}

fn exit_code(interrupted: bool, failed: bool) -> ExitCode {
    if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if failed {
        ExitCode::from(EXIT_TARGET_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The workload as the report records it.
///
/// # Errors
/// When the traffic cannot be described as JSON.
pub(crate) fn workload_info(workload: &Workload) -> anyhow::Result<WorkloadInfo> {
    Ok(WorkloadInfo {
        name: workload.spec.name.clone(),
        description: workload.spec.description.clone(),
        source: workload.path.display().to_string(),
        seed: workload.spec.seed,
        duration_s: workload.duration().as_secs_f64(),
        traffic: serde_json::to_value(&workload.spec.traffic).context("describing the traffic")?,
        warnings: workload.warnings.clone(),
        cost: workload.spec.cost.clone(),
    })
}

/// `2026-11-27T15:43:00Z` → `20261127T154300Z`: sortable and safe in file names.
pub(crate) fn folder_timestamp(rfc3339: &str) -> String {
    rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// Prints a finished run: `results.json` with `--json`, else the comparison table, the time
/// notes, the break-even lines and where the report went.
///
/// # Errors
/// When the report cannot be serialized.
pub fn print_run(report: &RunReport, analysis: &Analysis, dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", String::from_utf8(crate::report::results_json(report, analysis)?)?);
        return Ok(());
    }
    println!("{}", crate::report::comparison_table(report, analysis));
    for line in crate::report::time_notes(report).iter().chain(&analysis.break_even_lines()) {
        println!("{line}");
    }
    println!("report: {}", dir.display());
    Ok(())
}
