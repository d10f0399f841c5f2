//! `replay.md`: a trace replay's policies side by side.

use std::fmt::Write as _;

use crate::analysis::replay::ReplayReport;
use crate::units::{format_count, format_span};

/// The replay as Markdown: what was replayed, then one row per policy.
pub fn replay_markdown(r: &ReplayReport) -> String {
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
