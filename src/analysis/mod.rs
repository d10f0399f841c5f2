//! Analysis: every figure derived from a report and a pricing catalog — monthly cost, cost per
//! million, break-even — computed when a report is rendered, never stored in the measurement.
//!
//! So an old `results.json` can be priced again (`coldbench report --pricing FILE`) and a
//! measured and a simulated run are priced by the same code. Nothing here measures or writes.

pub mod calculator;
mod compare;
mod cost;
mod repeats;
pub mod replay;
mod thresholds;
mod verdict;

use serde::Serialize;

pub use compare::{compare, Comparison, FigureDelta, Gate, GateResult, TargetComparison};
pub use cost::TargetCost;
pub use repeats::{RepeatSummary, Spread};
pub use verdict::Verdict;

use crate::cost::Pricing;
use crate::metrics::{RunReport, TargetKind, TargetStatus};

/// What the analysis of one run says, target by target (in the report's order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// The catalog the figures come from (`as_of` date and region).
    pub pricing: String,
    pub hours_per_month: f64,
    pub targets: Vec<TargetAnalysis>,
    /// Each threshold against each target it concerns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<crate::metrics::ThresholdResult>,
    /// Each target's headline figures over the runs of `--repeat N`; empty for one run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<RepeatSummary>,
    /// What the run says for this traffic, in sentences, and the caveats that apply.
    pub verdict: Verdict,
}

/// One target's derived figures, or why it has none.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetAnalysis {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<TargetCost>,
    /// Why the target has no cost projection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_cost: Option<String>,
}

/// A pricing catalog that cannot price this run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {0}", field = field_of(.0))]
pub struct PricingError(#[from] crate::cost::PriceError);

/// The `[cost]` field a price is missing for.
fn field_of(e: &crate::cost::PriceError) -> &'static str {
    match e {
        crate::cost::PriceError::Fargate { .. } => "cost.fargate",
        crate::cost::PriceError::Ec2 { .. } => "cost.instance",
    }
}

/// Prices every target of `report` with `pricing` under the report's own cost settings.
///
/// # Errors
/// When the settings name an instance type the catalog does not have.
pub fn analyse(report: &RunReport, pricing: &Pricing) -> Result<Analysis, PricingError> {
    let settings = &report.workload.cost;
    settings.instance_size(pricing)?;
    let hours = settings.hours_per_month.unwrap_or(pricing.hours_per_month);
    let costs = cost::project(report, pricing, settings, hours);
    let targets: Vec<TargetAnalysis> = report
        .targets
        .iter()
        .zip(costs)
        .map(|(target, cost)| {
            let no_cost = match (&cost, target.status, target.kind) {
                (Some(_), _, _) => None,
                (None, _, TargetKind::Url) => {
                    Some("a URL target's deployment and price are unknown to coldbench".into())
                }
                (None, TargetStatus::Failed, _) => Some(format!(
                    "the target failed{}",
                    target.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
                )),
                (None, _, _) => Some("no request was served".into()),
            };
            TargetAnalysis { name: target.name.clone(), cost, no_cost }
        })
        .collect();
    let thresholds = thresholds::judge(report, &report.workload.thresholds, &targets);
    let repeats = repeats::summarise(report, pricing, settings, hours);
    let verdict = verdict::verdict(report, &targets, &repeats, hours);
    Ok(Analysis {
        pricing: format!("{} ({})", pricing.as_of, pricing.region),
        hours_per_month: hours,
        targets,
        thresholds,
        repeats,
        verdict,
    })
}

impl Analysis {
    /// Whether a threshold failed.
    pub fn thresholds_failed(&self) -> bool {
        self.thresholds.iter().any(|t| !t.passed)
    }

    /// The thresholds' verdicts for a terminal or a summary, one line each (`✓`/`✗`).
    pub fn threshold_lines(&self) -> Vec<String> {
        self.thresholds
            .iter()
            .map(|t| {
                let criterion = t.threshold.strip_prefix(&format!("{}: ", t.target)).unwrap_or(&t.threshold);
                format!("{} {}: {criterion} (actual {})", if t.passed { "✓" } else { "✗" }, t.target, t.shown)
            })
            .collect()
    }

    /// The cost projection of the target named `name`, if it has one.
    pub fn cost_of(&self, name: &str) -> Option<&TargetCost> {
        self.targets.iter().find(|t| t.name == name).and_then(|t| t.cost.as_ref())
    }

    /// Why targets have no cost, as report notes.
    pub fn notes(&self) -> Vec<String> {
        self.targets
            .iter()
            .filter_map(|t| t.no_cost.as_ref().map(|why| format!("{}: no cost projection: {why}", t.name)))
            .collect()
    }
}
