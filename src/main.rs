//! The `coldbench` binary: parse arguments, run, print the error chain once, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match coldbench::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed; a usage error exits with its own code.
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(coldbench::cli::EXIT_USAGE) } else { ExitCode::SUCCESS };
        }
    };
    // SAFETY: nothing but this thread runs yet.
    unsafe { coldbench::prepare(&cli) };
    match coldbench::run(cli) {
        Ok(code) => code,
        Err(err) => {
            coldbench::term::error(format_args!("{err:#}"));
            ExitCode::FAILURE
        }
    }
}
