//! The subcommands: each turns parsed arguments into work and an exit code.

pub mod cost;
pub mod function;
pub mod k8s;
pub mod live;
pub mod load;
pub mod merge;
pub mod replay;
pub mod report;
pub mod run;
pub mod runtime;
pub mod simulate;

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Exit code when a target failed (did not start, or no request succeeded): apart from a usage
/// error, so a CI job tells a broken command line from a broken deployment.
pub const EXIT_TARGET_FAILED: u8 = 5;
/// Exit code when the measurement finished but its report could not be written in full (a full
/// disk, a read-only folder): the table was printed, the files are missing or stale.
pub const EXIT_OUTPUTS_INCOMPLETE: u8 = 3;
/// Exit code when every target ran but one was degraded: coldbench or the host, not the target,
/// failed part of it (its own limits, a saturated CPU), so its numbers measure this machine.
pub const EXIT_DEGRADED: u8 = 4;
/// Exit code after Ctrl-C, as shells expect (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;
/// Exit code when every target ran but a threshold failed (k6's code for the same).
pub const EXIT_THRESHOLDS_FAILED: u8 = 99;

/// A token cancelled on the first SIGINT or SIGTERM. A second one forces the exit, as
/// `docker compose` does: every process group still stopping gets SIGKILL and coldbench exits
/// with 130 at once, without waiting for `stop_grace` (what was saved so far stays on disk).
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
        next_signal(&mut interrupt, &mut term).await;
        cancel.cancel();
        next_signal(&mut interrupt, &mut term).await;
        eprintln!("second interrupt: killing whatever is still stopping");
        crate::process::kill_every_group();
        crate::process::kill_orphans();
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
    token
}

/// The next SIGINT or SIGTERM (never, for a signal whose handler could not be installed).
async fn next_signal(
    interrupt: &mut Option<tokio::signal::unix::Signal>,
    term: &mut Option<tokio::signal::unix::Signal>,
) {
    async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
        match signal {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        () = recv(interrupt) => {}
        () = recv(term) => {}
    }
}

fn exit_code(interrupted: bool, failed: bool, thresholds_failed: bool, degraded: bool) -> ExitCode {
    if interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else if failed {
        ExitCode::from(EXIT_TARGET_FAILED)
    } else if thresholds_failed {
        ExitCode::from(EXIT_THRESHOLDS_FAILED)
    } else if degraded {
        ExitCode::from(EXIT_DEGRADED)
    } else {
        ExitCode::SUCCESS
    }
}

/// A spinner with `message` and the elapsed time on stderr while CPU-bound work runs (hidden
/// when stderr is not a terminal); it ticks on its own thread.
pub(crate) fn spinner(message: String) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner()
        .with_style(indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    spinner.set_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    spinner
}

/// The verdict, above the table.
pub(crate) fn print_verdict(analysis: &Analysis) {
    crate::term::heading("verdict:");
    for line in analysis.verdict.lines() {
        crate::term::line(format_args!("  {line}"));
    }
    println!();
}

/// The thresholds' verdicts under the table, when the run has any.
pub(crate) fn print_thresholds(analysis: &Analysis) {
    if !analysis.thresholds.is_empty() {
        crate::term::heading("thresholds:");
        for line in analysis.threshold_lines() {
            crate::term::line(format_args!("  {line}"));
        }
    }
}

/// Prints a finished run: `results.json` with `--json`, else the verdict, the comparison table,
/// the time notes, the break-even lines, the thresholds and where the report went.
///
/// # Errors
/// When the report cannot be serialized.
pub fn print_run(report: &RunReport, analysis: &Analysis, dir: &std::path::Path, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", String::from_utf8(crate::report::results_json(report, analysis)?)?);
        return Ok(());
    }
    print_verdict(analysis);
    println!("{}", crate::report::comparison_table(report, analysis));
    for line in crate::report::time_notes(report) {
        println!("{line}");
    }
    print_thresholds(analysis);
    println!("report: {}", dir.display());
    Ok(())
}
