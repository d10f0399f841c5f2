//! The Recorder: every finished request goes in, bounded-memory histograms and counts come out.
//!
//! Memory grows with the run's duration (one interval a second), never with the request count.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::histogram::{encode, new_histogram, record_us, Summary};
use super::outcome::{Outcome, OutcomeCounts};
use super::phases::{PhaseRecorder, Phases};
use super::report::{CacheCounts, Histograms, IntervalReport, Measurement};

/// Length of one interval of the time series.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// Intervals in a simulated or fast-forwarded time series, at most (the interval grows with
/// the horizon).
pub const MAX_INTERVALS: u64 = 2_000;

/// The interval length for a long horizon (simulated, or fast-forwarded): one second, or longer
/// so that there are at most [`MAX_INTERVALS`].
pub fn interval_for(horizon: Duration) -> Duration {
    let seconds = horizon.as_secs().div_ceil(MAX_INTERVALS).max(1);
    Duration::from_secs(seconds)
}

/// One finished request as the load generator saw it.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Intended send → response complete (or timeout).
    pub latency: Duration,
    /// Actual send → response complete (or timeout).
    pub service: Duration,
    /// How late the generator released it: actual send − intended send − `cap_wait`.
    pub lag: Duration,
    /// Time it waited inside coldbench because every request the in-flight cap allows was out
    /// (the target was slower than the arrivals); zero when it was not held back.
    pub cap_wait: Duration,
    pub outcome: Outcome,
    /// From `x-coldbench-cold`, when the response carried it.
    pub cold: Option<bool>,
    /// From `x-coldbench-init-ms`, on cold responses.
    pub init: Option<Duration>,
    /// From `x-coldbench-cache`: a hit (`true`) or a miss of the demo's cache work.
    pub cache: Option<bool>,
    /// Where its time went (connect, TLS, send, wait, receive), when a load generator sent it.
    pub phases: Option<Phases>,
}

/// Collects samples into histograms, counts and per-second intervals.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    latency: Histogram<u64>,
    service: Histogram<u64>,
    lag: Histogram<u64>,
    /// Waits on the in-flight cap, of the requests it held back only.
    cap_wait: Histogram<u64>,
    cold_latency: Histogram<u64>,
    warm_latency: Histogram<u64>,
    init: Histogram<u64>,
    phases: PhaseRecorder,
    outcomes: OutcomeCounts,
    cache: CacheCounts,
    intervals: Vec<IntervalReport>,
    current: IntervalAccumulator,
    /// When the current interval ends (saves a division per sample).
    current_end: Instant,
    /// Whether a load generator sent the requests: without one (a simulation) there is no
    /// lag, and service time is latency, so neither is recorded separately.
    generator: bool,
}

#[derive(Debug)]
struct IntervalAccumulator {
    index: u64,
    length: Duration,
    latency: Histogram<u64>,
    requests: u64,
    ok: u64,
    throttled: u64,
    cold: u64,
    max_in_flight: u64,
}

impl IntervalAccumulator {
    fn new(index: u64, length: Duration) -> Self {
        Self { index, length, latency: new_histogram(), requests: 0, ok: 0, throttled: 0, cold: 0, max_in_flight: 0 }
    }

    fn finish(&self) -> IntervalReport {
        let summary = Summary::of(&self.latency);
        IntervalReport {
            start_s: self.index as f64 * self.length.as_secs_f64(),
            requests: self.requests,
            ok: self.ok,
            errors: self.requests - self.ok,
            throttled: self.throttled,
            cold: self.cold,
            max_in_flight: self.max_in_flight,
            p50_us: summary.as_ref().map(|s| s.p50_us),
            p99_us: summary.as_ref().map(|s| s.p99_us),
            max_us: summary.as_ref().map(|s| s.max_us),
            histogram: (!self.latency.is_empty()).then(|| encode(&self.latency)),
        }
    }
}

impl Recorder {
    /// A recorder whose intervals count from `start`.
    pub fn new(start: Instant) -> Self {
        Self::with_interval(start, INTERVAL)
    }

    /// A recorder whose time series uses intervals of `length` (a simulated month needs coarser
    /// ones than a one-minute run to keep the report small).
    pub fn with_interval(start: Instant, length: Duration) -> Self {
        let length = length.max(Duration::from_millis(1));
        Self {
            start,
            latency: new_histogram(),
            service: new_histogram(),
            lag: new_histogram(),
            cap_wait: new_histogram(),
            cold_latency: new_histogram(),
            warm_latency: new_histogram(),
            init: new_histogram(),
            phases: PhaseRecorder::new(),
            outcomes: OutcomeCounts::default(),
            cache: CacheCounts::default(),
            intervals: Vec::new(),
            current: IntervalAccumulator::new(0, length),
            current_end: start + length,
            generator: true,
        }
    }

    /// A recorder for simulated invocations: no generator lag, service time equal to latency.
    pub fn without_generator(start: Instant, length: Duration) -> Self {
        Self { generator: false, ..Self::with_interval(start, length) }
    }

    /// Records one finished request at `now`, with `in_flight` requests outstanding.
    ///
    /// Latency and service time are kept for requests that got a response and for timeouts
    /// (censored at the timeout); connect errors and broken requests have no latency to keep.
    /// Lag is kept for every request, a cap wait for each request the cap held back.
    pub fn record(&mut self, sample: &Sample, now: Instant, in_flight: u64) {
        self.advance_to(now);
        self.outcomes.add(sample.outcome);
        if self.generator {
            record_us(&mut self.lag, sample.lag);
            if !sample.cap_wait.is_zero() {
                record_us(&mut self.cap_wait, sample.cap_wait);
            }
        }
        if let Some(phases) = &sample.phases {
            self.phases.record(phases, sample.outcome.has_response());
        }
        let current = &mut self.current;
        current.requests += 1;
        current.max_in_flight = current.max_in_flight.max(in_flight);
        match sample.cache {
            Some(true) => self.cache.hits += 1,
            Some(false) => self.cache.misses += 1,
            None => {}
        }
        match sample.outcome {
            Outcome::Ok => current.ok += 1,
            Outcome::Throttled => current.throttled += 1,
            _ => {}
        }
        if !(sample.outcome.has_response() || sample.outcome == Outcome::Timeout) {
            return;
        }
        // The whole run's latency histogram is the sum of the intervals' (added as each closes).
        if self.generator {
            record_us(&mut self.service, sample.service);
        }
        record_us(&mut current.latency, sample.latency);
        match sample.cold {
            Some(true) => {
                current.cold += 1;
                record_us(&mut self.cold_latency, sample.latency);
                if let Some(init) = sample.init {
                    record_us(&mut self.init, init);
                }
            }
            Some(false) => record_us(&mut self.warm_latency, sample.latency),
            None => {}
        }
    }

    /// The p99 of the last whole interval, for a live display.
    pub fn last_p99_us(&self) -> Option<u64> {
        self.intervals.last().and_then(|i| i.p99_us)
    }

    /// Counts so far (for progress displays).
    pub fn outcomes(&self) -> &OutcomeCounts {
        &self.outcomes
    }

    /// Closes finished intervals up to `now`, keeping one (possibly empty) interval per second.
    fn advance_to(&mut self, now: Instant) {
        if now < self.current_end {
            return;
        }
        let length = self.current.length;
        let index = (now.saturating_duration_since(self.start).as_nanos() / length.as_nanos()) as u64;
        while self.current.index < index {
            self.close_interval();
            self.current = IntervalAccumulator::new(self.current.index + 1, length);
        }
        self.current_end = self.start + length * u32::try_from(index + 1).unwrap_or(u32::MAX);
    }

    fn close_interval(&mut self) {
        self.latency.add(&self.current.latency).expect("auto-resizing histograms accept any value");
        self.intervals.push(self.current.finish());
    }

    /// Ends recording at `end` and returns what was measured.
    pub fn finish(mut self, end: Instant) -> Measurement {
        let elapsed = end.saturating_duration_since(self.start);
        if self.current.requests > 0 || self.intervals.is_empty() {
            self.close_interval();
        }
        // After the last interval is added in: service time is latency when nothing generated load.
        if !self.generator {
            self.service = self.latency.clone();
        }
        let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        let requests = self.outcomes.total();
        Measurement {
            elapsed_s: elapsed.as_secs_f64(),
            requests,
            throughput_rps: requests as f64 / secs,
            ok_rps: self.outcomes.ok as f64 / secs,
            latency: Summary::of(&self.latency),
            service: Summary::of(&self.service),
            lag: if self.generator { Summary::of(&self.lag) } else { None },
            cap_wait: Summary::of(&self.cap_wait),
            cold_latency: Summary::of(&self.cold_latency),
            warm_latency: Summary::of(&self.warm_latency),
            init: Summary::of(&self.init),
            phases: self.phases.finish(),
            cold: self.cold_latency.len(),
            warm: self.warm_latency.len(),
            histograms: Histograms {
                latency: encode(&self.latency),
                service: encode(&self.service),
                lag: encode(&self.lag),
                cold_latency: encode(&self.cold_latency),
                warm_latency: encode(&self.warm_latency),
                init: if self.init.is_empty() { String::new() } else { encode(&self.init) },
                cap_wait: if self.cap_wait.is_empty() { String::new() } else { encode(&self.cap_wait) },
            },
            outcomes: self.outcomes,
            cache: self.cache,
            intervals: self.intervals,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn intervals_stay_bounded_for_a_month() {
        let month = Duration::from_secs(30 * 86_400);
        assert!(month.as_secs() / interval_for(month).as_secs() <= MAX_INTERVALS);
        assert_eq!(interval_for(Duration::from_secs(60)), Duration::from_secs(1));
    }

    use super::*;

    fn sample(outcome: Outcome, ms: u64, cold: Option<bool>) -> Sample {
        let d = Duration::from_millis(ms);
        Sample {
            latency: d,
            service: d,
            lag: Duration::ZERO,
            cap_wait: Duration::ZERO,
            outcome,
            cold,
            init: cold.map(|_| d),
            cache: None,
            phases: None,
        }
    }

    #[test]
    fn counts_add_up_and_connect_errors_have_no_latency() {
        let start = Instant::now();
        let mut r = Recorder::new(start);
        r.record(&sample(Outcome::Ok, 5, Some(true)), start, 1);
        r.record(&sample(Outcome::Ok, 1, Some(false)), start, 1);
        r.record(&sample(Outcome::ConnectError, 0, None), start, 1);
        r.record(&sample(Outcome::Timeout, 30_000, None), start, 1);
        let m = r.finish(start + Duration::from_secs(1));
        assert_eq!(m.requests, 4);
        assert_eq!(m.outcomes.total(), 4);
        assert_eq!(m.latency.as_ref().unwrap().count, 3);
        assert_eq!(m.lag.as_ref().unwrap().count, 4);
        assert_eq!((m.cold, m.warm), (1, 1));
        assert_eq!(m.init.unwrap().count, 1);
    }

    #[test]
    fn intervals_are_one_per_second_including_quiet_ones() {
        let start = Instant::now();
        let mut r = Recorder::new(start);
        r.record(&sample(Outcome::Ok, 1, None), start, 3);
        r.record(&sample(Outcome::HttpError(500), 1, None), start + Duration::from_millis(2500), 1);
        let m = r.finish(start + Duration::from_secs(3));
        let counts: Vec<_> = m.intervals.iter().map(|i| (i.start_s, i.requests, i.errors)).collect();
        assert_eq!(counts, [(0.0, 1, 0), (1.0, 0, 0), (2.0, 1, 1)]);
        assert_eq!(m.intervals[0].max_in_flight, 3);
        assert!(m.intervals[1].histogram.is_none());
    }
}
