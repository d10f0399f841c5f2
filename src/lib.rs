//! coldbench: drive a serverless function and an always-on container with the same load, and
//! report latency, cold starts, errors and cost side by side.
//!
//! `main` parses the command line and calls [`run`]; everything else lives in the modules below.

pub mod analysis;
pub(crate) mod cgroup;
pub mod cli;
pub mod cloud;
pub(crate) mod commands;
pub mod container;
pub mod cost;
pub mod function;
pub mod gateway;
pub mod host;
pub mod http;
pub(crate) mod isolation;
pub mod lambda;
pub mod loadgen;
pub mod metrics;
pub mod policy;
pub(crate) mod process;
pub mod report;
pub mod runtime;
pub mod simulate;
pub mod target;
pub mod term;
pub mod time;
pub(crate) mod units;
pub mod workload;

use std::process::ExitCode;
use std::time::Duration;

use cli::{Cli, Command};

/// How long shutdown waits for blocking tasks before dropping them.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Prepares a command that starts processes (`run`, `runtime`): hides coldbench's environment
/// from them (see `isolation`) and starts the watchdog that kills what is left of them if
/// coldbench itself is killed (`process::start_watchdog`). Other commands start nothing.
///
/// # Safety
/// Must be called before any other thread exists (first thing in `main`): it rewrites the
/// environment without a lock and forks.
pub unsafe fn prepare(cli: &Cli) {
    if matches!(cli.command, Command::Run(_) | Command::Runtime(_)) {
        // SAFETY: the caller guarantees that no other thread exists yet.
        unsafe {
            isolation::hide_own_environment();
            process::start_watchdog();
        }
    }
}

/// Runs a parsed command line to completion and returns the process exit code.
///
/// # Errors
/// Bad configuration (workload, URL, options) or a report that cannot be written.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    raise_open_file_limit();
    process::become_subreaper();
    let threads = cores();
    // One thread where work only passes through: a Lambda-mode function serves one invocation at
    // a time (and starts fastest so), and the standalone runtime only relays between its callers
    // and the function processes, where one thread saves a cross-thread wake-up per hop
    // (~25 µs of the warm-invocation overhead; reports/benchmarks/).
    let single_threaded = match &cli.command {
        Command::Function(f) => f.mode == cli::FunctionMode::Lambda,
        Command::Runtime(_) => true,
        _ => false,
    };
    let runtime = if threads == 1 || single_threaded {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    let result = runtime.block_on(dispatch(cli));
    // Dropping the runtime drops every task, and with them any child process handles (SIGKILL).
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
    // Whatever left its process group or lost its parent was re-parented here: it goes too.
    process::kill_orphans();
    result
}

/// The cores this process may run on (its CPU affinity, as `taskset` sets it).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => commands::run::run(&args, commands::cancel_on_signals()).await,
        Command::Load(args) => commands::load::run(&args, commands::cancel_on_signals()).await,
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Report(args) => commands::report::report(&args),
        Command::Merge(args) => commands::merge::merge(&args),
        Command::K8s(args) => commands::k8s::k8s(&args),
        Command::Compare(args) => commands::report::compare(&args),
        Command::Cost(args) => commands::cost::run(&args),
        Command::Runtime(args) => commands::runtime::run(&args, commands::cancel_on_signals()).await,
        Command::Function(args) => commands::function::run(&args).await,
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "coldbench", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut page)?;
            std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Raises the soft limit on open files to the hard limit: a load generator with thousands of
/// connections, or a runtime with a thousand instances (each a process with pipes and sockets),
/// needs far more than the usual soft limit of 1,024.
fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit read and write the struct we pass; nothing else is touched.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
