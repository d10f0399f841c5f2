//! `coldbench function`: runs the bundled demo function (started by coldbench's own targets).

use std::process::ExitCode;

use crate::cli::{FunctionArgs, FunctionMode};

/// Serves the demo function until SIGTERM or SIGINT.
///
/// # Errors
/// When the function cannot start (see [`crate::function::serve_http`]).
pub async fn run(args: &FunctionArgs) -> anyhow::Result<ExitCode> {
    let shutdown = super::cancel_on_signals();
    match args.mode {
        FunctionMode::Http => crate::function::serve_http(shutdown).await?,
        FunctionMode::Lambda => crate::function::serve_lambda().await?,
        FunctionMode::Web => crate::function::serve_web(&args.app).await?,
    }
    Ok(ExitCode::SUCCESS)
}
