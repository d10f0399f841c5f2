//! The subcommands: each turns parsed arguments into work and an exit code.

pub mod cost;
pub mod function;
pub mod load;
pub mod report;
pub mod run;
pub mod runtime;
pub mod simulate;
mod target;

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

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

/// UTC now as RFC 3339 with seconds, e.g. `2026-11-27T15:43:00Z`.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
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
