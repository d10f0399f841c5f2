//! Repeated runs (`run --repeat N`): each target's headline figures over its N runs, as medians
//! with their spread (minimum, maximum, standard deviation) and a 95 % confidence interval of the
//! mean (Student's t, as SeBS reports them), and whether two targets differ by more than that
//! noise. hyperfine reports mean ± σ and the range over runs; this adds the interval, because
//! with three runs σ alone says little.

use serde::Serialize;

use crate::cost::{CostSettings, Pricing};
use crate::metrics::{RunReport, TargetReport};

/// One target's figures over every run of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RepeatSummary {
    pub target: String,
    pub runs: usize,
    pub p50_ms: Spread,
    pub p99_ms: Spread,
    pub throughput_rps: Spread,
    /// Share of requests that did not end ok (0–1).
    pub error_rate: Spread,
    /// Share of requests that met a cold start (0–1).
    pub cold_share: Spread,
    /// The projected month; absent when a run of the target had no price.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_month: Option<Spread>,
}

/// A figure's values over the runs, and how far they spread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub values: Vec<f64>,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (0 for one run).
    pub stdev: f64,
    pub min: f64,
    pub max: f64,
    /// The 95 % confidence interval of the mean, `[low, high]` (the value itself for one run).
    pub ci95: [f64; 2],
}

impl Spread {
    /// The spread of `values` (at least one).
    pub fn of(values: Vec<f64>) -> Self {
        let n = values.len();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
        let mean = values.iter().sum::<f64>() / n as f64;
        let stdev =
            if n > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt() } else { 0.0 };
        let half = if n > 1 { t_975(n - 1) * stdev / (n as f64).sqrt() } else { 0.0 };
        Self { median, mean, stdev, min: sorted[0], max: sorted[n - 1], ci95: [mean - half, mean + half], values }
    }

    /// Whether the two figures' intervals overlap: their difference is within the noise.
    pub fn overlaps(&self, other: &Spread) -> bool {
        self.ci95[0] <= other.ci95[1] && other.ci95[0] <= self.ci95[1]
    }
}

/// The 97.5th percentile of Student's t with `df` degrees of freedom (two-sided 95 %).
fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Every target's runs summarised, in the report's order; empty for a single run.
pub(super) fn summarise(
    report: &RunReport,
    pricing: &Pricing,
    settings: &CostSettings,
    hours: f64,
) -> Vec<RepeatSummary> {
    if report.repeats.is_empty() {
        return Vec::new();
    }
    // Each run priced as a report of its own, by the same code as run 1.
    let runs: Vec<&[TargetReport]> =
        std::iter::once(report.targets.as_slice()).chain(report.repeats.iter().map(Vec::as_slice)).collect();
    let priced: Vec<Vec<Option<f64>>> = runs
        .iter()
        .map(|targets| {
            let alone = report.with_targets(targets.to_vec());
            super::cost::project(&alone, pricing, settings, hours)
                .into_iter()
                .map(|c| c.map(|c| c.monthly.total))
                .collect()
        })
        .collect();
    report
        .targets
        .iter()
        .map(|first| {
            let mut measured: Vec<(&TargetReport, Option<f64>)> = Vec::new();
            for (run, costs) in runs.iter().zip(&priced) {
                if let Some(i) = run.iter().position(|t| t.name == first.name) {
                    measured.push((&run[i], costs[i]));
                }
            }
            let spread = |f: &dyn Fn(&TargetReport) -> f64| Spread::of(measured.iter().map(|(t, _)| f(t)).collect());
            let ms = |us: Option<u64>| us.map_or(f64::NAN, |us| us as f64 / 1e3);
            let share = |n: u64, t: &TargetReport| n as f64 / t.measurement.requests.max(1) as f64;
            let costs: Option<Vec<f64>> = measured.iter().map(|(_, c)| *c).collect();
            RepeatSummary {
                target: first.name.clone(),
                runs: measured.len(),
                p50_ms: spread(&|t| ms(t.measurement.latency.as_ref().map(|s| s.p50_us))),
                p99_ms: spread(&|t| ms(t.measurement.latency.as_ref().map(|s| s.p99_us))),
                throughput_rps: spread(&|t| t.measurement.throughput_rps),
                error_rate: spread(&|t| share(t.measurement.outcomes.errors(), t)),
                cold_share: spread(&|t| share(t.measurement.cold, t)),
                cost_per_month: costs.map(Spread::of),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_have_the_median_the_sample_deviation_and_a_t_interval() {
        let s = Spread::of(vec![10.0, 12.0, 14.0]);
        assert_eq!((s.median, s.mean, s.min, s.max), (12.0, 12.0, 10.0, 14.0));
        assert!((s.stdev - 2.0).abs() < 1e-12);
        // t(0.975, 2) = 4.303: 12 ± 4.303 × 2 / √3.
        let half = 4.303 * 2.0 / 3f64.sqrt();
        assert!((s.ci95[0] - (12.0 - half)).abs() < 1e-9 && (s.ci95[1] - (12.0 + half)).abs() < 1e-9);
        assert_eq!(Spread::of(vec![1.0, 3.0]).median, 2.0);
        assert_eq!(Spread::of(vec![5.0]).ci95, [5.0, 5.0]);
    }

    #[test]
    fn overlapping_intervals_are_noise_and_apart_ones_are_not() {
        let a = Spread::of(vec![10.0, 11.0, 12.0]);
        assert!(a.overlaps(&Spread::of(vec![11.5, 12.5, 13.5])));
        assert!(!a.overlaps(&Spread::of(vec![30.0, 31.0, 32.0])));
    }
}
