//! Judges a run's thresholds (`metrics::Threshold`) against its targets: each criterion for its
//! target, or for every target that has the figure (a URL target has no cost, a target with no
//! answer no latency). A criterion that names a target without the figure fails: a gate must
//! not pass on missing data.

use super::TargetAnalysis;
use crate::metrics::{Metric, Percentile, RunReport, TargetReport, Threshold, ThresholdResult};

/// The figure `metric` of `target`, in the metric's base unit, if it has one.
fn figure(metric: Metric, target: &TargetReport, analysis: &TargetAnalysis) -> Option<f64> {
    let m = &target.measurement;
    let share = |n: u64| (m.requests > 0).then(|| n as f64 / m.requests as f64);
    match metric {
        Metric::Latency(p) => m.latency.as_ref().map(|s| {
            (match p {
                Percentile::P50 => s.p50_us,
                Percentile::P90 => s.p90_us,
                Percentile::P99 => s.p99_us,
                Percentile::P999 => s.p999_us,
                Percentile::Max => s.max_us,
            }) as f64
        }),
        Metric::ErrorRate => share(m.outcomes.errors()),
        Metric::ColdShare => share(m.cold),
        Metric::CostPerMonth => analysis.cost.as_ref().map(|c| c.monthly.total),
        Metric::CostPerMillion => analysis.cost.as_ref().and_then(|c| c.per_million),
        Metric::Throughput => Some(m.throughput_rps),
    }
}

/// Every threshold of the run against the targets it concerns, in the order written.
pub(super) fn judge(report: &RunReport, thresholds: &[Threshold], targets: &[TargetAnalysis]) -> Vec<ThresholdResult> {
    let mut results = Vec::new();
    for threshold in thresholds {
        for (target, analysis) in report.targets.iter().zip(targets) {
            if threshold.target.as_ref().is_some_and(|name| *name != target.name) {
                continue;
            }
            let actual = figure(threshold.metric, target, analysis);
            if actual.is_none() && threshold.target.is_none() {
                continue;
            }
            results.push(ThresholdResult {
                target: target.name.clone(),
                threshold: threshold.to_string(),
                actual,
                shown: actual.map_or_else(|| "no such figure".to_string(), |v| threshold.metric.show(v)),
                passed: actual.is_some_and(|v| threshold.op.holds(v, threshold.limit)),
            });
        }
        if let Some(name) = threshold.target.as_ref().filter(|n| !report.targets.iter().any(|t| &t.name == *n)) {
            results.push(ThresholdResult {
                target: name.clone(),
                threshold: threshold.to_string(),
                actual: None,
                shown: "no such target in this run".to_string(),
                passed: false,
            });
        }
    }
    results
}
