//! The bundled demo function: the same code for both deployment models.
//!
//! `coldbench function --mode http` runs it as a container-style server on `$PORT`;
//! `coldbench function --mode lambda` runs it as a Lambda custom runtime (`lambda_runtime`).

mod http;
mod lambda;
mod work;

pub use http::serve_http;
pub use lambda::{serve_lambda, ENV_INIT_ERROR, ENV_INIT_EXIT, KEEP_WARM_SOURCE};
pub use work::{perform_blocking, touch_memory};

/// The command line that starts the demo function in HTTP mode from this very executable.
///
/// # Errors
/// When the path of the running executable cannot be found.
pub fn http_command() -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe()?;
    Ok(vec![exe.to_string_lossy().into_owned(), "function".into(), "--mode".into(), "http".into()])
}

/// The command line that starts the demo function in Lambda mode from this very executable.
///
/// # Errors
/// When the path of the running executable cannot be found.
pub fn lambda_command() -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe()?;
    Ok(vec![exe.to_string_lossy().into_owned(), "function".into(), "--mode".into(), "lambda".into()])
}
