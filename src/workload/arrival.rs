//! Arrival schedules: pure, seeded iterators of intended send times (offsets from the run start).
//!
//! Nothing here sleeps or sends; the load generator turns these offsets into requests. The same
//! process, horizon and seed always give the same schedule.

use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::spec::Spread;

/// Seconds in a day, for `sparse` rates given per day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;

/// A validated arrival process.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalProcess {
    Constant {
        rate_per_s: f64,
    },
    Poisson {
        rate_per_s: f64,
    },
    Bursts {
        rate_per_s: f64,
        burst: Duration,
        idle: Duration,
    },
    Ramp {
        stages: Vec<Stage>,
    },
    Sparse {
        per_day: f64,
        requests: Option<u64>,
    },
    /// Offsets from a timestamp trace, sorted.
    Timestamps(Arc<Vec<Duration>>),
    /// Invocations per minute (Azure layout), spread within each minute.
    PerMinute {
        counts: Arc<Vec<u64>>,
        spread: Spread,
    },
}

/// One ramp stage with its rates in requests per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    pub from_per_s: f64,
    pub to_per_s: f64,
    pub duration: Duration,
}

impl Stage {
    /// Requests in this stage: the area under its rate line.
    pub fn area(&self) -> f64 {
        0.5 * (self.from_per_s + self.to_per_s) * self.duration.as_secs_f64()
    }
}

impl ArrivalProcess {
    /// The schedule of this process up to (not including) `horizon`.
    pub fn schedule(&self, horizon: Duration, seed: u64) -> Schedule {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let state = match self {
            ArrivalProcess::Constant { rate_per_s } => State::Constant { gap: 1.0 / rate_per_s },
            ArrivalProcess::Poisson { rate_per_s } => State::Poisson { rate_per_s: *rate_per_s, t: 0.0 },
            ArrivalProcess::Sparse { per_day, requests } => {
                return Schedule {
                    limit: requests.unwrap_or(u64::MAX),
                    ..Schedule::with(State::Poisson { rate_per_s: per_day / SECONDS_PER_DAY, t: 0.0 }, horizon, rng)
                }
            }
            ArrivalProcess::Bursts { rate_per_s, burst, idle } => State::Bursts {
                gap: 1.0 / rate_per_s,
                burst: burst.as_secs_f64(),
                period: (*burst + *idle).as_secs_f64(),
                cycle: 0,
                in_cycle: 0,
            },
            ArrivalProcess::Ramp { stages } => {
                State::Ramp { stages: stages.clone(), stage: 0, stage_start_s: 0.0, area_before: 0.0 }
            }
            ArrivalProcess::Timestamps(times) => State::Timestamps { times: Arc::clone(times) },
            ArrivalProcess::PerMinute { counts, spread } => {
                State::PerMinute { counts: Arc::clone(counts), spread: *spread, minute: 0, pending: Vec::new() }
            }
        };
        Schedule::with(state, horizon, rng)
    }

    /// Expected number of requests before `horizon`, for warnings and progress bars.
    pub fn expected_requests(&self, horizon: Duration) -> f64 {
        let h = horizon.as_secs_f64();
        match self {
            ArrivalProcess::Constant { rate_per_s } | ArrivalProcess::Poisson { rate_per_s } => rate_per_s * h,
            ArrivalProcess::Bursts { rate_per_s, burst, idle } => {
                let period = (*burst + *idle).as_secs_f64();
                let full = (h / period).floor();
                let rest = (h - full * period).min(burst.as_secs_f64());
                rate_per_s * (full * burst.as_secs_f64() + rest)
            }
            ArrivalProcess::Ramp { stages } => ramp_area_until(stages, h),
            ArrivalProcess::Sparse { per_day, requests } => {
                let expected = per_day / SECONDS_PER_DAY * h;
                requests.map_or(expected, |n| expected.min(n as f64))
            }
            ArrivalProcess::Timestamps(times) => times.partition_point(|t| *t < horizon) as f64,
            ArrivalProcess::PerMinute { counts, .. } => {
                let minutes = h / 60.0;
                let whole = minutes.floor() as usize;
                let full: u64 = counts.iter().take(whole).sum();
                let partial = counts.get(whole).map_or(0.0, |c| *c as f64 * (minutes - whole as f64));
                full as f64 + partial
            }
        }
    }
}

/// Area under a ramp's rate curve from 0 to `t` seconds.
fn ramp_area_until(stages: &[Stage], t: f64) -> f64 {
    let mut area = 0.0;
    let mut start = 0.0;
    for stage in stages {
        let len = stage.duration.as_secs_f64();
        if t >= start + len {
            area += stage.area();
        } else {
            let x = (t - start).max(0.0);
            let slope = if len > 0.0 { (stage.to_per_s - stage.from_per_s) / len } else { 0.0 };
            area += stage.from_per_s * x + 0.5 * slope * x * x;
            break;
        }
        start += len;
    }
    area
}

/// An iterator of intended send offsets, ending at the horizon.
#[derive(Debug)]
pub struct Schedule {
    state: State,
    horizon_s: f64,
    index: u64,
    limit: u64,
    rng: ChaCha8Rng,
}

#[derive(Debug)]
enum State {
    Constant { gap: f64 },
    Poisson { rate_per_s: f64, t: f64 },
    Bursts { gap: f64, burst: f64, period: f64, cycle: u64, in_cycle: u64 },
    Ramp { stages: Vec<Stage>, stage: usize, stage_start_s: f64, area_before: f64 },
    Timestamps { times: Arc<Vec<Duration>> },
    PerMinute { counts: Arc<Vec<u64>>, spread: Spread, minute: usize, pending: Vec<f64> },
}

impl Schedule {
    fn with(state: State, horizon: Duration, rng: ChaCha8Rng) -> Self {
        Self { state, horizon_s: horizon.as_secs_f64(), index: 0, limit: u64::MAX, rng }
    }

    /// The next offset in seconds, or `None` when the process has no more arrivals.
    fn next_seconds(&mut self) -> Option<f64> {
        let i = self.index;
        match &mut self.state {
            State::Constant { gap } => Some(i as f64 * *gap),
            State::Poisson { rate_per_s, t } => {
                let u: f64 = self.rng.random();
                *t += -(1.0 - u).ln() / *rate_per_s;
                Some(*t)
            }
            State::Bursts { gap, burst, period, cycle, in_cycle } => {
                if *in_cycle as f64 * *gap >= *burst {
                    *cycle += 1;
                    *in_cycle = 0;
                }
                let t = *cycle as f64 * *period + *in_cycle as f64 * *gap;
                *in_cycle += 1;
                Some(t)
            }
            State::Ramp { stages, stage, stage_start_s, area_before } => {
                next_ramp_arrival(stages, stage, stage_start_s, area_before, i as f64 + 0.5)
            }
            State::Timestamps { times } => times.get(i as usize).map(Duration::as_secs_f64),
            State::PerMinute { counts, spread, minute, pending } => {
                next_per_minute_arrival(counts, *spread, minute, pending, &mut self.rng)
            }
        }
    }
}

/// Places arrival `target_area` (the k-th arrival sits where the area reaches k + 0.5).
fn next_ramp_arrival(
    stages: &[Stage],
    stage: &mut usize,
    stage_start_s: &mut f64,
    area_before: &mut f64,
    target_area: f64,
) -> Option<f64> {
    while let Some(current) = stages.get(*stage) {
        let within = target_area - *area_before;
        if within <= current.area() {
            let len = current.duration.as_secs_f64();
            let a = current.from_per_s;
            let slope = (current.to_per_s - a) / len;
            // Solve a·x + slope·x²/2 = within for x, in the form that is stable when slope → 0.
            let root = (a * a + 2.0 * slope * within).max(0.0).sqrt();
            let x = if a + root > 0.0 { 2.0 * within / (a + root) } else { 0.0 };
            return Some(*stage_start_s + x.min(len));
        }
        *area_before += current.area();
        *stage_start_s += current.duration.as_secs_f64();
        *stage += 1;
    }
    None
}

fn next_per_minute_arrival(
    counts: &[u64],
    spread: Spread,
    minute: &mut usize,
    pending: &mut Vec<f64>,
    rng: &mut ChaCha8Rng,
) -> Option<f64> {
    while pending.is_empty() {
        let count = *counts.get(*minute)?;
        let base = *minute as f64 * 60.0;
        pending.extend((0..count).map(|k| match spread {
            Spread::Even => base + (k as f64 + 0.5) * 60.0 / count as f64,
            Spread::Uniform => base + rng.random::<f64>() * 60.0,
        }));
        // Kept in descending order so `pop` yields the earliest.
        pending.sort_by(|a, b| b.total_cmp(a));
        *minute += 1;
    }
    pending.pop()
}

impl Iterator for Schedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.index >= self.limit {
            return None;
        }
        let t = self.next_seconds()?;
        if t.is_nan() || t >= self.horizon_s {
            self.limit = 0;
            return None;
        }
        self.index += 1;
        // Whole nanoseconds, rounded: `from_secs_f64` is exact but several times slower, and
        // the simulator draws hundreds of millions of these.
        Some(Duration::from_nanos((t * 1e9).round() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn constant_spacing_is_exact() {
        let times: Vec<_> = ArrivalProcess::Constant { rate_per_s: 4.0 }.schedule(secs(1), 0).collect();
        assert_eq!(times, [0, 250, 500, 750].map(Duration::from_millis));
    }

    #[test]
    fn poisson_mean_rate_within_one_percent_over_100k_arrivals() {
        let rate = 1_000.0;
        let times: Vec<_> =
            ArrivalProcess::Poisson { rate_per_s: rate }.schedule(secs(10_000), 7).take(100_000).collect();
        assert_eq!(times.len(), 100_000);
        let mean_gap = times.last().unwrap().as_secs_f64() / times.len() as f64;
        let error = (mean_gap * rate - 1.0).abs();
        assert!(error < 0.01, "mean gap {mean_gap} s, relative error {error}");
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_does_not() {
        let p = ArrivalProcess::Poisson { rate_per_s: 50.0 };
        let a: Vec<_> = p.schedule(secs(10), 1).collect();
        let b: Vec<_> = p.schedule(secs(10), 1).collect();
        let c: Vec<_> = p.schedule(secs(10), 2).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ramp_count_equals_the_integral_of_its_rate() {
        let stages = vec![
            Stage { from_per_s: 0.0, to_per_s: 100.0, duration: secs(10) },
            Stage { from_per_s: 100.0, to_per_s: 100.0, duration: secs(5) },
            Stage { from_per_s: 100.0, to_per_s: 20.0, duration: secs(7) },
        ];
        let integral: f64 = stages.iter().map(Stage::area).sum();
        let p = ArrivalProcess::Ramp { stages };
        let times: Vec<_> = p.schedule(secs(60), 0).collect();
        assert_eq!(times.len() as f64, (integral + 0.5).floor(), "integral {integral}");
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        // The first 10 s rise linearly: the area to 5 s is a quarter of the first stage's.
        let first_half = times.iter().filter(|t| **t < secs(5)).count() as f64;
        assert!((first_half - 125.0).abs() <= 1.0, "{first_half}");
        assert!((p.expected_requests(secs(60)) - integral).abs() < 1e-9);
    }

    #[test]
    fn bursts_alternate_between_rate_and_silence() {
        let p = ArrivalProcess::Bursts { rate_per_s: 10.0, burst: secs(1), idle: secs(2) };
        let times: Vec<_> = p.schedule(secs(9), 0).collect();
        assert_eq!(times.len(), 30);
        assert!(times.iter().all(|t| (t.as_secs_f64() % 3.0) < 1.0));
        assert_eq!(p.expected_requests(secs(9)), 30.0);
    }

    #[test]
    fn sparse_stops_after_its_request_count() {
        let p = ArrivalProcess::Sparse { per_day: 86_400.0 * 10.0, requests: Some(5) };
        assert_eq!(p.schedule(secs(100), 3).count(), 5);
    }

    #[test]
    fn per_minute_counts_are_spread_within_their_minute() {
        let counts = Arc::new(vec![3, 0, 2]);
        for spread in [Spread::Uniform, Spread::Even] {
            let p = ArrivalProcess::PerMinute { counts: Arc::clone(&counts), spread };
            let times: Vec<f64> = p.schedule(secs(180), 9).map(|t| t.as_secs_f64()).collect();
            assert_eq!(times.len(), 5);
            assert_eq!(times.iter().filter(|t| **t < 60.0).count(), 3);
            assert_eq!(times.iter().filter(|t| **t >= 120.0).count(), 2);
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn horizon_cuts_every_process() {
        let p = ArrivalProcess::Constant { rate_per_s: 1000.0 };
        assert_eq!(p.schedule(Duration::from_millis(1500), 0).count(), 1500);
    }
}
