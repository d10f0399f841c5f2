//! The `coldbench` binary: parse arguments, run, print the error chain once, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = coldbench::cli::Cli::parse();
    // SAFETY: nothing but this thread runs yet.
    unsafe { coldbench::prepare(&cli) };
    match coldbench::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
