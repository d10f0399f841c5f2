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

use tokio_util::sync::CancellationToken;

use crate::analysis::Analysis;
use crate::metrics::RunReport;

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
