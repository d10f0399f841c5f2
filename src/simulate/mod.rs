//! The simulator: local targets in simulated time, for horizons a real run cannot afford. A
//! function target goes through the same `policy` as the real runtime (`function.rs`); a
//! container target is N always-on instances with a queue (`container.rs`), or a fleet that
//! scales through the same `policy::scaling` a real one uses (`autoscaled.rs`); `replay.rs`
//! replays a whole trace of functions under several keep-alive policies.
//!
//! Nothing here spawns, sleeps or sends: time is the schedule's offsets.

mod autoscaled;
mod container;
mod core;
mod function;
pub mod replay;
mod workload;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub use autoscaled::{simulate_autoscaled, AutoscaledContainer, AutoscaledFleet};
pub use container::{simulate_container, SimulatedContainer, SimulatedFleet};
pub use function::{simulate_function, Simulated, SimulatedFunction, PING_DURATION};
pub use workload::{add_pattern_months, pattern_month, simulate_workload, Calibration};

/// Quantiles kept of a measured distribution: draws are uniform over them.
pub const QUANTILES: usize = 1_000;

/// How long something takes in the simulation: a nominal value, or drawn from a measured
/// distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Durations {
    Fixed(Duration),
    /// [`QUANTILES`] evenly spaced quantiles of a measured histogram; a draw picks one at random
    /// (inverse-transform sampling at the histogram's resolution).
    Drawn(Arc<[Duration]>),
}

impl Durations {
    /// Every duration `factor` times as long.
    #[must_use]
    pub fn scaled(&self, factor: f64) -> Self {
        match self {
            Durations::Fixed(d) => Durations::Fixed(d.mul_f64(factor)),
            Durations::Drawn(all) => Durations::Drawn(all.iter().map(|d| d.mul_f64(factor)).collect()),
        }
    }

    /// The distribution of `samples` (in microseconds), through an HDR histogram like every
    /// other measurement; `None` when there are none.
    pub fn from_samples_us(samples: impl IntoIterator<Item = u64>) -> Option<Self> {
        let mut histogram = crate::metrics::histogram::new_histogram();
        for us in samples {
            histogram.record(us.max(1)).expect("auto-resizing histograms accept any value");
        }
        Self::from_histogram_us(&histogram)
    }

    /// The distribution a histogram of microseconds holds; `None` when it is empty.
    pub fn from_histogram_us(histogram: &hdrhistogram::Histogram<u64>) -> Option<Self> {
        if histogram.is_empty() {
            return None;
        }
        let quantiles = (0..QUANTILES)
            .map(|i| Duration::from_micros(histogram.value_at_quantile((i as f64 + 0.5) / QUANTILES as f64)))
            .collect();
        Some(Durations::Drawn(quantiles))
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> Duration {
        match self {
            Durations::Fixed(d) => *d,
            Durations::Drawn(quantiles) => quantiles[rng.random_range(0..quantiles.len())],
        }
    }

    /// The median: the fixed value, or the middle quantile.
    pub fn median(&self) -> Duration {
        match self {
            Durations::Fixed(d) => *d,
            Durations::Drawn(q) => q[q.len() / 2],
        }
    }

    /// The 99th percentile (the fixed value when nominal).
    pub fn p99(&self) -> Duration {
        match self {
            Durations::Fixed(d) => *d,
            Durations::Drawn(q) => q[q.len() * 99 / 100],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn measured_durations_are_drawn_from_their_histogram() {
        // 1..=1000 ms, uniformly: the quantiles span the range and draws cover it evenly.
        let d = Durations::from_samples_us((1..=1000).map(|ms| ms * 1_000)).unwrap();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        assert!((ms(d.median()) - 500.0).abs() < 2.0, "{:?}", d.median());
        assert!((ms(d.p99()) - 990.0).abs() < 2.0, "{:?}", d.p99());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<f64> = (0..10_000).map(|_| ms(d.draw(&mut rng))).collect();
        assert!(draws.iter().all(|&v| (0.5..=1001.0).contains(&v)));
        let below_100 = draws.iter().filter(|&&v| v < 100.0).count();
        assert!((800..1200).contains(&below_100), "about 10 % below 100 ms: {below_100}");
        assert_eq!(Durations::from_samples_us(std::iter::empty()), None);
    }
}
