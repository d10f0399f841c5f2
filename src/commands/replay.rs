//! `coldbench replay`: every function of an Azure Functions trace through the pool policy under
//! each keep-alive policy asked for (`simulate::replay`), priced (`analysis::replay`), saved and
//! printed (`report::replay_markdown`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;

use crate::analysis::replay::{PolicyCost, ReplayReport};
use crate::cli::{ReplayArgs, SpreadArg};
use crate::cost::Pricing;
use crate::policy::KeepAlive;
use crate::report::{replay_markdown, ReportDir};
use crate::simulate::replay::{replay, FunctionModel};
use crate::time::utc_now;
use crate::workload::{trace, HumanDuration, Spread};

/// Replays the trace and writes `reports/<timestamp>-replay-<trace>/`.
///
/// # Errors
/// An unreadable or malformed trace, a bad `--max-lifetime`, or an unwritable report folder.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let max_lifetime = crate::workload::max_lifetime(&args.max_lifetime)
        .map_err(|e| anyhow::anyhow!("--max-lifetime {:?}: {e}", args.max_lifetime))?;
    let spread = match args.spread {
        SpreadArg::Uniform => Spread::Uniform,
        SpreadArg::Even => Spread::Even,
    };
    let rows = trace::read_azure_all(&args.trace, spread)?;
    let horizon = args.duration.unwrap_or_else(|| trace::span(&rows));
    let model =
        FunctionModel { init: args.init, work: args.work, memory_mb: args.memory_mb, max_lifetime, seed: args.seed };
    let pricing = Pricing::load_or_embedded(args.pricing.as_deref())?;
    let started_at = utc_now();
    let wall = Instant::now();
    let arrivals: Vec<_> = rows.iter().map(|r| r.arrivals.clone()).collect();
    let spinner = super::spinner(format!("replaying {} functions", rows.len()));
    let policies = args
        .policies
        .iter()
        .enumerate()
        .map(|(i, &setting)| {
            spinner.set_message(format!(
                "replaying {} functions under keep-alive {setting} (policy {} of {})",
                rows.len(),
                i + 1,
                args.policies.len()
            ));
            let outcome = replay(&arrivals, horizon, &model, KeepAlive::from_setting(setting, None));
            PolicyCost::new(outcome, &pricing, horizon.as_secs_f64())
        })
        .collect();
    spinner.finish_and_clear();
    let report = ReplayReport {
        coldbench_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: started_at.clone(),
        trace: args.trace.display().to_string(),
        functions: rows.len(),
        horizon_s: horizon.as_secs_f64(),
        assumptions: format!(
            "every function: Init {} on cold starts, work {} per invocation, {} MB, max lifetime {}, minutes spread {}; \
             prices {} (Lambda x86, provisioned-concurrency rate for idle memory)",
            HumanDuration(args.init),
            HumanDuration(args.work),
            args.memory_mb,
            args.max_lifetime,
            if spread == Spread::Uniform { "uniformly (seeded)" } else { "evenly" },
            pricing.as_of
        ),
        wall_s: wall.elapsed().as_secs_f64(),
        policies,
    };
    let stem = args.trace.file_stem().map_or("trace".into(), |s| s.to_string_lossy().into_owned());
    let dir = ReportDir::create(&args.out, &format!("replay-{stem}"), &started_at)?;
    let json = serde_json::to_string_pretty(&report)?;
    let markdown = replay_markdown(&report);
    for (name, text) in [("replay.json", &json), ("replay.md", &markdown)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{markdown}");
        println!("\nreport: {}", dir.path().display());
    }
    Ok(ExitCode::SUCCESS)
}
