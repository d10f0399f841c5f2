//! `coldbench replay`: every function of an Azure Functions trace through the pool policy under
//! each keep-alive policy asked for, with the cold-start fraction and the cost of each.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::folder_timestamp;
use crate::cli::{ReplayArgs, SpreadArg};
use crate::cost::Pricing;
use crate::policy::KeepAlive;
use crate::simulate::replay::{replay, FunctionModel, PolicyOutcome};
use crate::time::utc_now;
use crate::units::{format_count, format_span};
use crate::workload::{trace, HumanDuration, Spread};

/// `replay.json`: what was replayed, with what assumptions, and each policy's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayReport {
    pub coldbench_version: String,
    pub started_at: String,
    pub trace: String,
    pub functions: usize,
    pub horizon_s: f64,
    pub assumptions: String,
    pub wall_s: f64,
    pub policies: Vec<PolicyCost>,
}

/// One policy's outcome, priced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PolicyCost {
    #[serde(flatten)]
    pub outcome: PolicyOutcome,
    /// Users' Lambda bill over the trace: requests, and GB-s of work plus Init on cold starts.
    pub billed_usd: f64,
    /// Idle memory over the trace priced at the provisioned-concurrency rate (what keeping that
    /// capacity warm costs when you pay for it).
    pub idle_usd: f64,
    /// Both, scaled to a 730-hour month.
    pub monthly_usd: f64,
}

/// Replays the trace and writes `reports/<timestamp>-replay-<trace>/`.
///
/// # Errors
/// An unreadable or malformed trace, an unknown policy, or an unwritable report folder.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let policies: Vec<KeepAlive> = args.policies.iter().map(|&p| KeepAlive::from_setting(p, None)).collect();
    let max_lifetime = crate::workload::max_lifetime(&args.max_lifetime)
        .map_err(|e| anyhow::anyhow!("--max-lifetime {:?}: {e}", args.max_lifetime))?;
    let spread = match args.spread {
        SpreadArg::Uniform => Spread::Uniform,
        SpreadArg::Even => Spread::Even,
    };
    let rows = trace::read_azure_all(&args.trace, spread).map_err(anyhow::Error::msg)?;
    let full = rows
        .iter()
        .filter_map(|r| match &r.arrivals {
            crate::workload::ArrivalProcess::PerMinute { counts, .. } => Some(counts.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let horizon = args.duration.unwrap_or(Duration::from_secs(60 * full as u64));
    let model =
        FunctionModel { init: args.init, work: args.work, memory_mb: args.memory_mb, max_lifetime, seed: args.seed };
    let pricing = Pricing::load_or_embedded(args.pricing.as_deref())?;
    let started_at = utc_now();
    let wall = Instant::now();
    let arrivals: Vec<_> = rows.iter().map(|r| r.arrivals.clone()).collect();
    let months = pricing.hours_per_month * 3600.0 / horizon.as_secs_f64().max(1.0);
    let l = &pricing.lambda;
    let priced: Vec<PolicyCost> = policies
        .iter()
        .map(|&policy| {
            let outcome = replay(&arrivals, horizon, &model, policy);
            let billed_usd =
                outcome.invocations as f64 * l.request_per_million / 1e6 + outcome.billed_gb_s * l.x86_gb_second;
            let idle_usd = outcome.idle_gb_s * l.provisioned_gb_second;
            PolicyCost { monthly_usd: (billed_usd + idle_usd) * months, outcome, billed_usd, idle_usd }
        })
        .collect();
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
        policies: priced,
    };
    let stem = args.trace.file_stem().map_or("trace".into(), |s| s.to_string_lossy().into_owned());
    let dir = args.out.join(format!("{}-replay-{stem}", folder_timestamp(&started_at)));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(dir.join("replay.json"), &json).with_context(|| format!("writing {}", dir.display()))?;
    let markdown = markdown(&report);
    std::fs::write(dir.join("replay.md"), &markdown).with_context(|| format!("writing {}", dir.display()))?;
    if args.json {
        println!("{json}");
    } else {
        print!("{markdown}");
        println!("\nreport: {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn markdown(r: &ReplayReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# coldbench replay: {}\n\n{} functions, {} of trace, replayed in {:.2} s. {}.\n",
        r.trace,
        r.functions,
        format_span(r.horizon_s),
        r.wall_s,
        r.assumptions
    );
    let _ = writeln!(
        out,
        "| policy | invocations | cold starts | cold % | always-cold functions | pre-warmed | idle GB-h | billed $ | idle memory $ | $/month |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.policies {
        let o = &p.outcome;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} % | {} of {} | {} | {:.1} | {:.4} | {:.4} | {:.2} |",
            o.policy,
            format_count(o.invocations as f64),
            format_count(o.cold as f64),
            100.0 * o.cold_fraction,
            o.functions_always_cold,
            o.functions,
            format_count(o.prewarmed as f64),
            o.idle_gb_s / 3600.0,
            p.billed_usd,
            p.idle_usd,
            p.monthly_usd
        );
    }
    let _ = writeln!(
        out,
        "\nCold % is the share of invocations that found no warm instance. Idle memory is what keeping \
         instances loaded but unused costs (GB-s, priced at the provisioned-concurrency rate); billed is the \
         users' Lambda bill, where every cold start also pays its Init. $/month scales both to 730 hours."
    );
    out
}
