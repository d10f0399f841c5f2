//! The bundled demo function: the same code for both deployment models.
//!
//! `coldbench function --mode http` runs it as a container-style server on `$PORT`;
//! `coldbench function --mode lambda` runs it as a Lambda custom runtime (`lambda_runtime`);
//! `coldbench function --mode web -- <app>` runs any web app as a function, as the Lambda Web
//! Adapter does (`adapter.rs`).

mod adapter;
mod http;
mod lambda;
mod work;

pub use adapter::{serve_web, WebSettings};
pub use http::serve_http;
pub use lambda::{serve_lambda, ENV_INIT_ERROR, ENV_INIT_EXIT, KEEP_WARM_SOURCE};
pub use work::{perform_blocking, touch_memory};

/// Where the demo function lives: an executable that runs it as `<exe> function --mode …`
/// (coldbench's own binary). Injected, so that a library caller (a test, an embedding program)
/// names the binary instead of whatever program happens to be running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoFunction {
    exe: std::path::PathBuf,
}

impl DemoFunction {
    /// The demo function of the coldbench binary at `exe`.
    pub fn new(exe: impl Into<std::path::PathBuf>) -> Self {
        Self { exe: exe.into() }
    }

    /// The demo function of the running executable (the coldbench binary itself).
    ///
    /// # Errors
    /// When the path of the running executable cannot be found.
    pub fn this_executable() -> std::io::Result<Self> {
        std::env::current_exe().map(Self::new)
    }

    /// The command line that starts it as a container-style HTTP server on `$PORT`.
    pub fn http_command(&self) -> Vec<String> {
        self.command("http")
    }

    /// The command line that starts it as a Lambda custom runtime.
    pub fn lambda_command(&self) -> Vec<String> {
        self.command("lambda")
    }

    /// The command line that runs `app`, an ordinary web server, as a Lambda function behind
    /// coldbench's Lambda Web Adapter (`--mode web -- app…`).
    pub fn web_command(&self, app: &[String]) -> Vec<String> {
        let mut command = self.command("web");
        command.push("--".into());
        command.extend(app.iter().cloned());
        command
    }

    fn command(&self, mode: &str) -> Vec<String> {
        vec![self.exe.to_string_lossy().into_owned(), "function".into(), "--mode".into(), mode.into()]
    }
}
