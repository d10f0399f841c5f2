//! The verdict: what a run says for this traffic, in plain sentences, before any table — which
//! target is cheaper and by how much, which is faster at p50 and p99, how many requests met a
//! cold start, where the break-even lies and on which side this traffic is, and the caveats
//! without which a reader would take a figure for more than it is.
//!
//! Computed from the report and its analysis only, so a re-rendered report says the same, and
//! tested as snapshots of the shipped workloads' fixtures (`tests/verdict.rs`).

use serde::Serialize;

use super::{RepeatSummary, Spread, TargetAnalysis};
use crate::metrics::{RunReport, Summary, TargetKind, TargetReport, TargetStatus};
use crate::units::{format_count, format_span, format_us};

/// The verdict's sentences, and the caveats that apply to this run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verdict {
    pub findings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caveats: Vec<String>,
}

impl Verdict {
    /// The verdict as lines for a terminal: findings, then each caveat after "caveat:".
    pub fn lines(&self) -> Vec<String> {
        self.findings.iter().cloned().chain(self.caveats.iter().map(|c| format!("caveat: {c}"))).collect()
    }
}

/// What the run says, from `report` and the targets' analysis (in the report's order).
pub(super) fn verdict(
    report: &RunReport,
    analysed: &[TargetAnalysis],
    repeats: &[RepeatSummary],
    hours_per_month: f64,
) -> Verdict {
    let mut findings = Vec::new();
    if let Some(runs) = repeats.iter().map(|r| r.runs).min() {
        findings.push(format!(
            "Over {runs} interleaved runs of each target: costs and latencies below are medians, and a difference \
             within the noise is one where the runs' 95 % intervals overlap."
        ));
    }
    findings.extend(cost_finding(report, analysed, repeats));
    findings.extend(latency_finding(report, repeats));
    findings.extend(report.targets.iter().filter_map(error_finding));
    findings.extend(report.targets.iter().filter_map(cold_finding));
    findings.extend(break_even_findings(analysed, hours_per_month));
    if findings.is_empty() {
        findings.push(match report.targets.iter().find_map(|t| Some((t, t.measurement.latency.as_ref()?))) {
            Some((t, s)) if report.targets.len() == 1 => format!(
                "{}: p50 {}, p99 {} over {} requests; there is no other target to compare it with.",
                t.name,
                format_us(s.p50_us),
                format_us(s.p99_us),
                format_count(t.measurement.requests as f64)
            ),
            _ => "No two targets served requests: there is nothing to compare.".into(),
        });
    }
    Verdict { findings, caveats: caveats(report) }
}

/// Ratio of the larger to the smaller, as people say it ("3.2×", "150×"); "infinitely" when the
/// smaller is 0.
fn times(larger: f64, smaller: f64) -> String {
    match larger / smaller {
        r if !r.is_finite() => "infinitely".into(),
        r if r >= 100.0 => format!("{r:.0}×"),
        r => format!("{r:.1}×"),
    }
}

/// How much higher `theirs` is than `lowest`: "3 % higher" when close, "2.8× as high" beyond.
fn higher(theirs: f64, lowest: f64) -> String {
    if lowest > 0.0 && theirs / lowest < 1.1 {
        format!("{:.0} % higher", (theirs / lowest - 1.0) * 100.0)
    } else {
        format!("{} as high", times(theirs, lowest))
    }
}

/// A share as a percentage with the digits it needs: "76 %", "1.5 %", "0.0029 %".
fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 1.0 {
        format!("{p:.1} %")
    } else {
        let decimals = (-p.log10()).ceil() as usize + 1;
        format!("{p:.decimals$} %")
    }
}

fn usd(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

/// ", within the noise of N runs" when both targets were repeated and their intervals overlap.
fn noise(repeats: &[RepeatSummary], a: &str, b: &str, figure: fn(&RepeatSummary) -> Option<&Spread>) -> String {
    let of = |name: &str| repeats.iter().find(|r| r.target == name).and_then(figure);
    match (of(a), of(b)) {
        (Some(x), Some(y)) if x.overlaps(y) => {
            format!(", within the noise of {} runs", x.values.len().min(y.values.len()))
        }
        _ => String::new(),
    }
}

/// Share of a target's requests that did not end `ok`.
fn failed_share(target: &TargetReport) -> f64 {
    let m = &target.measurement;
    m.outcomes.errors() as f64 / m.requests.max(1) as f64
}

/// "For this traffic, A is the cheapest: $x a month, $d less than B ($y) …".
fn cost_finding(report: &RunReport, analysed: &[TargetAnalysis], repeats: &[RepeatSummary]) -> Option<String> {
    let median = |name: &str| repeats.iter().find(|r| r.target == name)?.cost_per_month.as_ref().map(|s| s.median);
    let mut priced: Vec<(&str, f64, f64)> = analysed
        .iter()
        .filter_map(|t| {
            let c = t.cost.as_ref()?;
            Some((t.name.as_str(), median(&t.name).unwrap_or(c.monthly.total), c.requests_per_month))
        })
        .collect();
    let unpriced: Vec<&str> = analysed.iter().filter(|t| t.cost.is_none()).map(|t| t.name.as_str()).collect();
    let unpriced = match unpriced.as_slice() {
        [] => String::new(),
        names => format!(" ({} not priced: see the notes)", names.join(", ")),
    };
    priced.sort_by(|a, b| a.1.total_cmp(&b.1));
    let ((cheapest, total, volume), rest) = priced.split_first()?;
    let volume = format_count(*volume);
    let failing = report
        .targets
        .iter()
        .find(|t| t.name == *cheapest)
        .map(failed_share)
        .filter(|share| *share >= 0.01)
        .map(|share| format!(", but {} of its requests failed", percent(share)))
        .unwrap_or_default();
    if rest.is_empty() {
        let others = report.targets.len() > 1;
        return others.then(|| {
            format!(
                "Only {cheapest} has a price: {} a month at this traffic ({volume} requests a month){failing}{unpriced}.",
                usd(*total)
            )
        });
    }
    let against: Vec<String> = rest
        .iter()
        .map(|(name, other, _)| {
            let saving = other - total;
            // A tie only within half a percent: at cents a month, a cent is a real difference.
            if saving.abs() <= other.abs() * 0.005 {
                format!("as much as {name}")
            } else {
                format!(
                    "{} ({}) less than {name} ({}){}",
                    usd(saving),
                    times(*other, *total),
                    usd(*other),
                    noise(repeats, cheapest, name, |r| r.cost_per_month.as_ref())
                )
            }
        })
        .collect();
    Some(format!(
        "For this traffic ({volume} requests a month), {cheapest} is the cheapest{failing}: {} a month, {}{unpriced}.",
        usd(*total),
        against.join("; ")
    ))
}

/// Which target has the lowest p50 and p99 (medians over repeated runs), against every other one
/// that measured latency.
fn latency_finding(report: &RunReport, repeats: &[RepeatSummary]) -> Option<String> {
    let median = |name: &str, f: fn(&RepeatSummary) -> &Spread| {
        repeats.iter().find(|r| r.target == name).map(|r| f(r).median * 1e3).filter(|us| us.is_finite())
    };
    let measured: Vec<(&str, [f64; 2])> = report
        .targets
        .iter()
        .filter(|t| t.status != TargetStatus::Failed)
        .filter_map(|t| {
            let s: &Summary = t.measurement.latency.as_ref()?;
            let p50 = median(&t.name, |r| &r.p50_ms).unwrap_or(s.p50_us as f64);
            let p99 = median(&t.name, |r| &r.p99_ms).unwrap_or(s.p99_us as f64);
            Some((t.name.as_str(), [p50, p99]))
        })
        .collect();
    if measured.len() < 2 {
        return None;
    }
    let rank = |label: &str, i: usize, spread: fn(&RepeatSummary) -> Option<&Spread>| {
        let (name, lowest) =
            measured.iter().map(|(n, v)| (*n, v[i])).min_by(|a, b| a.1.total_cmp(&b.1)).expect("two or more");
        let us = |v: f64| format_us(v.round() as u64);
        if measured.iter().all(|(_, v)| us(v[i]) == us(lowest)) {
            return format!("the same {label} for every target, {}", us(lowest));
        }
        let others: Vec<String> = measured
            .iter()
            .filter(|(other, _)| *other != name)
            .map(|(other, v)| {
                let within = noise(repeats, name, other, spread);
                if us(v[i]) == us(lowest) {
                    format!("{other} the same")
                } else {
                    format!("{other} {}, {}{within}", us(v[i]), higher(v[i], lowest))
                }
            })
            .collect();
        format!("the lowest {label} is {name}'s, {} ({})", us(lowest), others.join("; "))
    };
    Some(format!("Latency: {}; {}.", rank("p50", 0, |r| Some(&r.p50_ms)), rank("p99", 1, |r| Some(&r.p99_ms))))
}

/// How many of a target's requests failed, and how, when some did.
fn error_finding(target: &TargetReport) -> Option<String> {
    let m = &target.measurement;
    let kinds = m.outcomes.error_kinds();
    (!kinds.is_empty() && target.status != TargetStatus::Failed).then(|| {
        let kinds: Vec<String> =
            kinds.iter().map(|(label, n)| format!("{} {label}", format_count(*n as f64))).collect();
        format!(
            "{}: {} of {} requests failed ({}): {}.",
            target.name,
            format_count(m.outcomes.errors() as f64),
            format_count(m.requests as f64),
            percent(failed_share(target)),
            kinds.join(", ")
        )
    })
}

/// How many requests of a function met a cold start, and what it cost them.
fn cold_finding(target: &TargetReport) -> Option<String> {
    if !matches!(target.kind, TargetKind::Function | TargetKind::Lambda) || target.status == TargetStatus::Failed {
        return None;
    }
    let m = &target.measurement;
    if m.cold == 0 {
        return (m.requests > 0).then(|| format!("{}: no request met a cold start.", target.name));
    }
    let penalty = match (&m.cold_latency, &m.warm_latency) {
        (Some(cold), Some(warm)) => {
            format!(" (p50 {} cold against {} warm)", format_us(cold.p50_us), format_us(warm.p50_us))
        }
        (Some(cold), None) => format!(" (p50 {})", format_us(cold.p50_us)),
        _ => String::new(),
    };
    Some(format!(
        "{}: {} of {} requests ({}) met a cold start{penalty}.",
        target.name,
        format_count(m.cold as f64),
        format_count(m.requests as f64),
        percent(m.cold as f64 / m.requests.max(1) as f64)
    ))
}

/// Where each function breaks even with the always-on option, and on which side this traffic is.
fn break_even_findings(analysed: &[TargetAnalysis], hours_per_month: f64) -> Vec<String> {
    analysed
        .iter()
        .filter_map(|t| {
            let cost = t.cost.as_ref()?;
            let at = cost.break_even_requests_per_month?;
            let share = cost.requests_per_month / at;
            let side = if share < 1.0 {
                format!("{} of it) is below it, where the function is the cheaper", percent(share))
            } else {
                format!("{:.1}× it) is above it, where the always-on option is the cheaper", share)
            };
            Some(format!(
                "{} costs as much as the always-on option at {} requests a month ({:.2} req/s); this traffic \
                 ({} a month, {side}.",
                t.name,
                format_count(at),
                at / (hours_per_month * 3600.0),
                format_count(cost.requests_per_month),
            ))
        })
        .collect()
}

/// What the reader must know before trusting the figures above.
fn caveats(report: &RunReport) -> Vec<String> {
    let mut caveats = Vec::new();
    if let Some(sim) = &report.simulation {
        caveats.push(format!(
            "simulated, not measured: {} of traffic per target, durations from {}.",
            format_span(sim.simulated_s),
            sim.durations
        ));
    }
    let unenforced: Vec<&str> = report
        .targets
        .iter()
        .filter(|t| t.resources.as_deref().is_some_and(|r| !r.starts_with("enforced")))
        .map(|t| t.name.as_str())
        .collect();
    if !unenforced.is_empty() {
        caveats.push(format!(
            "resources not enforced for {}: their instances had the whole host's CPU and memory, not their model's.",
            unenforced.join(", ")
        ));
    }
    for t in &report.targets {
        let name = &t.name;
        match t.status {
            TargetStatus::Failed => {
                caveats.push(format!("{name} failed: {}.", t.error.as_deref().unwrap_or("no request succeeded")));
            }
            TargetStatus::Interrupted => caveats.push(format!(
                "{name} was interrupted after {}: its figures cover only that part of the traffic.",
                format_span(t.measurement.elapsed_s)
            )),
            TargetStatus::Degraded => caveats.push(format!(
                "{name} is degraded: coldbench or the host, not the target, failed part of its requests."
            )),
            TargetStatus::Complete => {}
        }
        if let Some(host) = t.host.filter(|h| h.host_bound_s > 0.0) {
            caveats.push(format!(
                "{name}: for {} the host's CPUs, not the model, set the instances' speed (host-bound).",
                format_span(host.host_bound_s)
            ));
        }
        if let Some(lag) =
            t.measurement.lag.as_ref().filter(|l| l.p99_us as u128 > crate::loadgen::LAG_WARNING.as_micros())
        {
            caveats.push(format!(
                "{name}: coldbench's load generator sent late (lag p99 {}), which adds to latency: on this machine it, \
                 not only the target, set the figures.",
                format_us(lag.p99_us)
            ));
        }
    }
    let skipped: Vec<String> = report
        .targets
        .iter()
        .filter_map(|t| Some(format!("{} {}", t.name, format_span(t.fast_forward.as_ref()?.skipped_s))))
        .collect();
    if !skipped.is_empty() {
        caveats.push(format!(
            "fast-forwarded: idle time was skipped ({}); every invocation ran for real, but nothing ran in the \
             skipped time.",
            skipped.join(", ")
        ));
    }
    caveats
}
