//! Two runs side by side (`coldbench compare`): the figures of every target present in both,
//! with deltas; what makes the comparison unfair said first (different workloads, measured
//! against simulated, a complete target against an interrupted one); targets present in only
//! one run listed.

use std::fmt::Write;

use serde::Serialize;

use super::{analyse, Analysis, PricingError};
use crate::metrics::{RunReport, TargetKind, TargetReport, TargetStatus};
use crate::units::format_us;

/// The comparison of two runs.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// What makes the two runs differ beyond the change under test.
    pub warnings: Vec<String>,
    pub only_before: Vec<String>,
    pub only_after: Vec<String>,
    pub targets: Vec<TargetComparison>,
    /// The regression gates (`--fail-if`), each for each target in both runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<GateResult>,
}

/// A regression gate: a figure may not change by more than a share in one direction
/// (`p99 +10%`: fail when p99 rose by more than 10 %; `throughput -5%`: when it fell by more).
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    /// The figure's name as the comparison shows it.
    pub figure: &'static str,
    /// `+`: a rise fails it; `-`: a fall does.
    pub rise: bool,
    pub percent: f64,
    pub text: String,
}

/// One gate judged on one target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateResult {
    pub target: String,
    pub gate: String,
    /// The figure's change in percent of before, when both runs have it.
    pub change_percent: Option<f64>,
    pub failed: bool,
}

impl Gate {
    /// Parses `<figure> +N%` or `<figure> -N%`; the figure as `compare` names it (`latency p99`,
    /// `cost/month`, …) or short (`p99`, `cost`, `cold`).
    ///
    /// # Errors
    /// An unknown figure (the known ones listed), or a change that is not `+N%` / `-N%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let at = text
            .rfind(['+', '-'])
            .ok_or_else(|| format!("{text:?}: write <figure> +N% or <figure> -N%, e.g. \"p99 +10%\""))?;
        let (name, change) = (text[..at].trim(), &text[at..]);
        let percent = change[1..]
            .trim()
            .strip_suffix('%')
            .and_then(|p| p.trim().parse::<f64>().ok())
            .filter(|p| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| format!("{text:?}: the change must be a percentage such as +10% or -5%"))?;
        let alias = match name {
            "p50" | "p90" | "p99" | "p99.9" | "max" => format!("latency {name}"),
            "cost" => "cost/month".to_string(),
            "cold" => "cold starts".to_string(),
            "init" => "init p50".to_string(),
            other => other.to_string(),
        };
        let figure = figures().into_iter().map(|(f, _, _)| f).find(|f| *f == alias).ok_or_else(|| {
            let known: Vec<&str> = figures().into_iter().map(|(f, _, _)| f).collect();
            format!("{name:?} is not a figure compare shows; use one of: {}", known.join(", "))
        })?;
        Ok(Self { figure, rise: change.starts_with('+'), percent, text: text.trim().to_string() })
    }
}

/// One target present in both runs.
#[derive(Clone, Debug, Serialize)]
pub struct TargetComparison {
    pub name: String,
    pub kind: String,
    pub status_before: TargetStatus,
    pub status_after: TargetStatus,
    pub figures: Vec<FigureDelta>,
}

/// One figure before and after.
#[derive(Clone, Debug, Serialize)]
pub struct FigureDelta {
    pub figure: &'static str,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// `after − before`, when both exist.
    pub delta: Option<f64>,
    /// The delta in percent of `before`, when both exist and `before` is not 0.
    pub change_percent: Option<f64>,
    #[serde(skip)]
    show: fn(f64) -> String,
}

/// Figures compared: label, how to read it from a target and its cost, how to show it.
type Figure = (&'static str, fn(&TargetReport, &Analysis) -> Option<f64>, fn(f64) -> String);

fn figures() -> Vec<Figure> {
    let us = |v: f64| format_us(v.max(0.0) as u64);
    let plain = |v: f64| format!("{v:.0}");
    let rate = crate::units::format_rate;
    let money = |v: f64| format!("${v:.2}");
    vec![
        ("requests", |t, _| Some(t.measurement.requests as f64), plain),
        ("throughput", |t, _| Some(t.measurement.throughput_rps), rate),
        ("errors", |t, _| Some(t.measurement.outcomes.errors() as f64), plain),
        ("latency p50", |t, _| t.measurement.latency.as_ref().map(|s| s.p50_us as f64), us),
        ("latency p90", |t, _| t.measurement.latency.as_ref().map(|s| s.p90_us as f64), us),
        ("latency p99", |t, _| t.measurement.latency.as_ref().map(|s| s.p99_us as f64), us),
        ("latency p99.9", |t, _| t.measurement.latency.as_ref().map(|s| s.p999_us as f64), us),
        ("latency max", |t, _| t.measurement.latency.as_ref().map(|s| s.max_us as f64), us),
        ("cold starts", |t, _| Some(t.measurement.cold as f64), plain),
        ("cold p50", |t, _| t.measurement.cold_latency.as_ref().map(|s| s.p50_us as f64), us),
        ("warm p50", |t, _| t.measurement.warm_latency.as_ref().map(|s| s.p50_us as f64), us),
        ("init p50", |t, _| t.measurement.init.as_ref().map(|s| s.p50_us as f64), us),
        ("init p99", |t, _| t.measurement.init.as_ref().map(|s| s.p99_us as f64), us),
        (
            "billed ms per invocation",
            |t, _| {
                let records = &t.function.as_ref()?.invocations;
                (records.billed > 0).then(|| records.billed_ms_total as f64 / records.billed as f64)
            },
            |v| format!("{v:.1} ms"),
        ),
        ("cost/month", |t, a| a.cost_of(&t.name).map(|c| c.monthly.total), money),
    ]
}

/// Compares `after` with `before`, each priced with its own catalog.
///
/// # Errors
/// When a run's catalog cannot price it.
pub fn compare(before: &RunReport, after: &RunReport) -> Result<Comparison, PricingError> {
    let (priced_before, priced_after) = (analyse(before, &before.pricing)?, analyse(after, &after.pricing)?);
    let mut warnings = Vec::new();
    let (wb, wa) = (&before.workload, &after.workload);
    if (wb.name.as_str(), &wb.traffic, wb.duration_s, wb.seed)
        != (wa.name.as_str(), &wa.traffic, wa.duration_s, wa.seed)
    {
        warnings.push(format!(
            "the runs come from different workloads or traffic: {:?} ({}, {} s, seed {}) and {:?} ({}, {} s, seed {})",
            wb.name, wb.traffic, wb.duration_s, wb.seed, wa.name, wa.traffic, wa.duration_s, wa.seed
        ));
    }
    let how = |r: &RunReport| if r.simulation.is_some() { "simulated" } else { "measured" };
    if how(before) != how(after) {
        warnings.push(format!("before was {}, after was {}", how(before), how(after)));
    }
    let names = |r: &RunReport, other: &RunReport| -> Vec<String> {
        r.targets.iter().filter(|t| !other.targets.iter().any(|o| o.name == t.name)).map(|t| t.name.clone()).collect()
    };
    let mut targets = Vec::new();
    for b in &before.targets {
        let Some(a) = after.targets.iter().find(|t| t.name == b.name) else { continue };
        if b.status != a.status {
            warnings.push(format!("target {}: {} before, {} after", b.name, b.status.as_str(), a.status.as_str()));
        }
        let local_and_cloud =
            [b.kind, a.kind].contains(&TargetKind::Function) && [b.kind, a.kind].contains(&TargetKind::Lambda);
        if local_and_cloud {
            // The check users need: does the local model match the deployed function?
            warnings.push(format!(
                "target {}: the local function model against the deployed function (the {} run): cold starts, Init \
                 and billed duration are each side's platform records; latency adds the network to AWS on the \
                 deployed side",
                b.name,
                if b.kind == TargetKind::Lambda { "before" } else { "after" }
            ));
        } else if b.kind != a.kind {
            warnings.push(format!("target {}: a {} before, a {} after", b.name, b.kind, a.kind));
        }
        let figures = figures()
            .into_iter()
            .map(|(figure, get, show)| {
                let (x, y) = (get(b, &priced_before), get(a, &priced_after));
                let delta = x.zip(y).map(|(x, y)| y - x);
                let change_percent = x.zip(delta).filter(|(x, _)| *x != 0.0).map(|(x, d)| d / x * 100.0);
                FigureDelta { figure, before: x, after: y, delta, change_percent, show }
            })
            .collect();
        targets.push(TargetComparison {
            name: b.name.clone(),
            kind: b.kind.to_string(),
            status_before: b.status,
            status_after: a.status,
            figures,
        });
    }
    Ok(Comparison {
        warnings,
        only_before: names(before, after),
        only_after: names(after, before),
        targets,
        gates: Vec::new(),
    })
}

impl Comparison {
    /// Judges `gates` on every target in both runs (a figure missing on either side fails: a
    /// gate must not pass on no data); they are kept in the comparison.
    pub fn judge(&mut self, gates: &[Gate]) {
        for gate in gates {
            for t in &self.targets {
                let change = t.figures.iter().find(|f| f.figure == gate.figure).and_then(|f| {
                    // From zero, any rise is unbounded; no change is none.
                    f.change_percent.or(f.delta.map(|d| if d == 0.0 { 0.0 } else { d.signum() * f64::INFINITY }))
                });
                let failed = change.is_none_or(|c| if gate.rise { c > gate.percent } else { -c > gate.percent });
                self.gates.push(GateResult {
                    target: t.name.clone(),
                    gate: gate.text.clone(),
                    change_percent: change,
                    failed,
                });
            }
        }
    }

    /// Whether a gate failed.
    pub fn failed(&self) -> bool {
        self.gates.iter().any(|g| g.failed)
    }

    /// The comparison for a terminal: warnings, targets in one run only, then a table per target.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for warning in &self.warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
        for (side, names) in [("before", &self.only_before), ("after", &self.only_after)] {
            if !names.is_empty() {
                let _ = writeln!(out, "only in {side}: {}", names.join(", "));
            }
        }
        for t in &self.targets {
            let _ = writeln!(
                out,
                "{} ({}): {} before, {} after",
                t.name,
                t.kind,
                t.status_before.as_str(),
                t.status_after.as_str()
            );
            let _ = writeln!(out, "  {:<24} {:>12} {:>12} {:>12} {:>9}", "", "before", "after", "delta", "change");
            for f in &t.figures {
                let cell = |v: Option<f64>| v.map_or("-".to_string(), f.show);
                let delta = f
                    .delta
                    .map_or("-".to_string(), |d| format!("{}{}", if d >= 0.0 { "+" } else { "-" }, (f.show)(d.abs())));
                let change = f.change_percent.map_or("-".to_string(), |p| format!("{p:+.1}%"));
                let _ = writeln!(
                    out,
                    "  {:<24} {:>12} {:>12} {delta:>12} {change:>9}",
                    f.figure,
                    cell(f.before),
                    cell(f.after)
                );
            }
        }
        for g in &self.gates {
            let change = g.change_percent.map_or("no figure".to_string(), |c| format!("{c:+.1}%"));
            let _ = writeln!(out, "{} {}: {} ({change})", if g.failed { "✗" } else { "✓" }, g.target, g.gate);
        }
        out
    }
}
