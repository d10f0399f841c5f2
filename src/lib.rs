//! coldbench: drive a serverless function and an always-on container with the same load, and
//! report latency, cold starts, errors and cost side by side.
//!
//! `main` parses the command line and calls [`run`]; everything else lives in the modules below.

pub mod cli;
pub mod commands;
pub mod container;
pub mod function;
pub mod gateway;
pub mod loadgen;
pub mod metrics;
pub mod process;
mod progress;
pub mod report;
pub mod runtime;
pub mod timer;
pub mod workload;

use std::process::ExitCode;
use std::time::Duration;

use cli::{Cli, Command};

/// How long shutdown waits for blocking tasks before dropping them.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs a parsed command line to completion and returns the process exit code.
///
/// # Errors
/// Bad configuration (workload, URL, options) or a report that cannot be written.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    // A Lambda-mode function serves one invocation at a time: one thread starts fastest.
    let lambda_mode = matches!(&cli.command, Command::Function(f) if f.mode == cli::FunctionMode::Lambda);
    let runtime = if threads == 1 || lambda_mode {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    let result = runtime.block_on(dispatch(cli));
    // Dropping the runtime drops every task, and with them any child process handles (SIGKILL).
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    result
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => commands::run::run(&args, commands::cancel_on_signals()).await,
        Command::Load(args) => commands::load::run(&args, commands::cancel_on_signals()).await,
        Command::Runtime(args) => commands::runtime::run(&args, commands::cancel_on_signals()).await,
        Command::Function(args) => commands::function::run(&args).await,
    }
}
