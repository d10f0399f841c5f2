//! The hybrid histogram keep-alive policy of Shahrad et al., "Serverless in the Wild", USENIX
//! ATC'20 (`docs/reference/lambda-and-container-model.md` §8).
//!
//! Per function, a histogram of idle times (the gap between the end of the function's last
//! invocation and the next arrival, while nothing else runs) in 1-minute bins over 4 hours. Once
//! it is representative, the function's last instance is unloaded when it goes idle and loaded
//! again (pre-warmed) at the 5th percentile of idle times (minus a 10 % margin), then kept until
//! the 99th percentile (plus 10 %). Instances started for concurrency keep the fixed fallback.
//! While the histogram has too few idle times, or most fall beyond its 4-hour range, the policy
//! falls back to a fixed keep-alive (the paper predicts those with ARIMA instead; that part is
//! not modelled).

use std::time::Duration;

/// Idle-time histogram range: 4 hours of 1-minute bins.
pub const HISTOGRAM_MINUTES: usize = 240;
/// Idle times a function needs before its histogram is trusted.
pub const MIN_IDLE_TIMES: u32 = 10;
/// Share of idle times beyond the range above which the histogram is not representative.
pub const MAX_OUT_OF_RANGE: f64 = 0.5;
/// Margins applied to the pre-warm (shorter) and keep-alive (longer) windows.
pub const MARGIN: f64 = 0.10;

/// What the policy has learned about one function's idle times.
#[derive(Clone, Debug)]
pub(super) struct IdleHistogram {
    bins: Vec<u32>,
    idle_times: u32,
    out_of_range: u32,
}

/// When to load the function's instance again after it goes idle, and for how long to keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Windows {
    /// Unload at once and load again this long after the idle period starts (zero: keep it).
    pub prewarm: Duration,
    /// Then keep it this long.
    pub keep: Duration,
}

impl IdleHistogram {
    pub(super) fn new() -> Self {
        Self { bins: vec![0; HISTOGRAM_MINUTES], idle_times: 0, out_of_range: 0 }
    }

    pub(super) fn learn(&mut self, idle: Duration) {
        let minute = usize::try_from(idle.as_secs() / 60).unwrap_or(usize::MAX);
        self.idle_times += 1;
        match self.bins.get_mut(minute) {
            Some(bin) => *bin += 1,
            None => self.out_of_range += 1,
        }
    }

    /// The windows, or `None` while the histogram is not representative (use the fallback).
    pub(super) fn windows(&self) -> Option<Windows> {
        if self.idle_times < MIN_IDLE_TIMES
            || f64::from(self.out_of_range) > MAX_OUT_OF_RANGE * f64::from(self.idle_times)
        {
            return None;
        }
        let in_range = self.idle_times - self.out_of_range;
        let percentile = |p: f64| -> usize {
            let wanted = (p * f64::from(in_range)).ceil().max(1.0) as u32;
            let mut seen = 0;
            for (minute, &n) in self.bins.iter().enumerate() {
                seen += n;
                if seen >= wanted {
                    return minute;
                }
            }
            HISTOGRAM_MINUTES - 1
        };
        let minutes = |m: f64| Duration::from_secs_f64(m * 60.0);
        // The 5th percentile bin's start, the 99th's end.
        let head = percentile(0.05) as f64;
        let tail = percentile(0.99) as f64 + 1.0;
        let prewarm = head * (1.0 - MARGIN);
        let keep = tail * (1.0 + MARGIN) - prewarm;
        Some(Windows { prewarm: minutes(prewarm), keep: minutes(keep) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_periodic_function_gets_a_prewarm_before_its_next_arrival() {
        let mut h = IdleHistogram::new();
        for _ in 0..MIN_IDLE_TIMES - 1 {
            h.learn(15 * MIN);
        }
        assert_eq!(h.windows(), None, "too few idle times");
        h.learn(15 * MIN);
        let w = h.windows().unwrap();
        // Bin 15: pre-warm at 15 × 0.9 = 13.5 min, keep until 16 × 1.1 = 17.6 min.
        assert_eq!(w.prewarm, Duration::from_secs(810));
        assert_eq!(w.prewarm + w.keep, Duration::from_secs(1056));
    }

    #[test]
    fn idle_times_mostly_beyond_the_range_are_not_representative() {
        let mut h = IdleHistogram::new();
        for k in 0..20 {
            h.learn(if k % 3 == 0 { MIN } else { 300 * MIN });
        }
        assert_eq!(h.windows(), None);
    }
}
