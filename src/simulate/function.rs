//! A function target in simulated time: a discrete-event replay of the arrivals through the very
//! same `policy` the real runtime uses (pool, keep-alive, keep-warm schedule), with nominal or
//! measured Init and work durations. It answers "how many cold starts over a month of this
//! traffic?" in seconds, where a real run would take the month.
//!
//! Nothing here spawns, sleeps or sends: time is the schedule's offsets.

use std::time::{Duration, Instant};

use super::core::Deployment;
use super::Durations;
use crate::lambda::{billed_ms, BillingMode};
use crate::metrics::interval_for;
use crate::metrics::FunctionStats;
use crate::metrics::{KeepWarmReport, Measurement, Outcome, Recorder, Sample};
use crate::policy::{Decision, KeepWarm, PoolConfig};

/// What one simulated deployment does per invocation.
#[derive(Clone, Debug)]
pub struct SimulatedFunction {
    pub pool: PoolConfig,
    /// Init on a cold start.
    pub init: Durations,
    /// Work per invocation: from the instance taking it to its answer.
    pub work: Durations,
    pub timeout: Duration,
    pub billing: BillingMode,
    pub keep_warm: Option<KeepWarm>,
}

/// How long a ping keeps its instance busy: the demo function answers pings at once, so this
/// is the Runtime API round trip, billed as the 1 ms minimum.
pub const PING_DURATION: Duration = Duration::from_millis(1);

/// What a simulation produced.
#[derive(Debug)]
pub struct Simulated {
    pub measurement: Measurement,
    pub stats: FunctionStats,
    pub billed_ms_total: u64,
    pub invocations: u64,
    /// Keep-warm pings, when the function has them.
    pub keep_warm: Option<KeepWarmReport>,
    /// Instances alive at the start of each interval of the time series.
    pub alive_per_interval: Vec<u32>,
    /// Real time the simulation took.
    pub wall: Duration,
}

/// Replays `arrivals` (offsets from 0, in order) through the pool policy, with the function's
/// keep-warm pings (if any) every `every` from a first round before the traffic.
pub fn simulate_function(
    arrivals: impl Iterator<Item = Duration>,
    f: &SimulatedFunction,
    horizon: Duration,
) -> Simulated {
    let wall = Instant::now();
    let base = Instant::now();
    let interval = interval_for(horizon);
    let mut recorder = Recorder::without_generator(base, interval);
    let mut alive = Vec::new();
    let mut sim = Deployment::new(f.pool.clone(), f.pool.seed ^ 0x5EED_D0A7);
    // The keep-warm schedule's rounds; the first, at 0, is over before the traffic starts.
    let mut pings = f.keep_warm.map(|k| {
        let mut report =
            KeepWarmReport { every_s: k.every.as_secs_f64(), concurrency: k.concurrency, ..Default::default() };
        let mut rounds = k.rounds(horizon).peekable();
        rounds.next();
        ping_round(&mut sim, f, Duration::ZERO, &mut report, true);
        (report, rounds)
    });
    let mut billed_total = 0u64;
    let mut invocations = 0u64;
    for t in arrivals {
        if let Some((report, rounds)) = &mut pings {
            while let Some(next) = rounds.next_if(|next| *next <= t) {
                sim.advance(next);
                ping_round(&mut sim, f, next, report, false);
            }
        }
        sim.advance(t);
        sample_alive(&sim, &mut alive, interval, t);
        invocations += 1;
        let (cold, id) = match sim.acquire(t) {
            Decision::Throttle(_) => {
                let sample = sample(Duration::ZERO, Outcome::Throttled, None, None);
                recorder.record(&sample, base + t, sim.busy() as u64);
                continue;
            }
            Decision::Warm(id) => (false, id),
            Decision::Cold(id) => (true, id),
        };
        let init = cold.then(|| f.init.draw(&mut sim.rng));
        let platform = if cold { f.pool.platform_overhead_of(id) } else { Duration::ZERO };
        let work = f.work.draw(&mut sim.rng);
        let (took, outcome) = if work > f.timeout { (f.timeout, Outcome::Timeout) } else { (work, Outcome::Ok) };
        let latency = platform + took + init.unwrap_or_default();
        if cold {
            sim.opens(id, t + platform + init.unwrap_or_default());
        }
        billed_total += billed_ms(took, init, f.billing);
        recorder.record(&sample(latency, outcome, Some(cold), init), base + t + latency, sim.busy() as u64 + 1);
        if outcome == Outcome::Timeout {
            sim.discard(id);
        } else {
            sim.occupy(id, t + latency);
        }
    }
    // The warmer keeps running to the end of the horizon.
    let keep_warm = pings.map(|(mut report, rounds)| {
        for next in rounds {
            sim.advance(next);
            ping_round(&mut sim, f, next, &mut report, false);
        }
        report
    });
    // Instances still alive at the last event stay so to the end of the series.
    sample_alive(&sim, &mut alive, interval, horizon.saturating_sub(Duration::from_nanos(1)));
    let measurement = recorder.finish(base + horizon);
    Simulated {
        measurement,
        stats: crate::metrics::FunctionStats {
            instance_seconds: sim.pool().lifetimes_until(horizon).as_secs_f64(),
            ..sim.pool().stats().into()
        },
        billed_ms_total: billed_total,
        invocations,
        keep_warm,
        alive_per_interval: alive,
        wall: wall.elapsed(),
    }
}

/// Records the instances alive for every interval that starts at or before `t` and has no
/// entry yet (nothing changes between events, so the count at `t` holds for them).
fn sample_alive(sim: &Deployment, alive: &mut Vec<u32>, interval: Duration, t: Duration) {
    let index = (t.as_nanos() / interval.as_nanos().max(1)) as usize;
    let now = u32::try_from(sim.pool().alive()).unwrap_or(u32::MAX);
    while alive.len() <= index {
        alive.push(now);
    }
}

/// `concurrency` simultaneous pings at `t`; `before_traffic` ones are over by the time the
/// traffic starts (the warmer has been running all along).
fn ping_round(
    sim: &mut Deployment,
    f: &SimulatedFunction,
    t: Duration,
    report: &mut KeepWarmReport,
    before_traffic: bool,
) {
    let Some(k) = f.keep_warm else { return };
    let mut taken = Vec::with_capacity(k.concurrency);
    for _ in 0..k.concurrency {
        report.pings += 1;
        match sim.acquire(t) {
            Decision::Throttle(_) => report.failed += 1,
            Decision::Warm(id) => taken.push((id, None)),
            Decision::Cold(id) => {
                report.cold += 1;
                taken.push((id, Some(f.init.draw(&mut sim.rng))));
            }
        }
    }
    for (id, init) in taken {
        report.billed_ms_total += billed_ms(PING_DURATION, init, f.billing);
        if before_traffic {
            sim.release(id, t);
        } else {
            // A cold ping's instance is also placed before its Init, as in the runtime.
            let platform = if init.is_some() { f.pool.platform_overhead_of(id) } else { Duration::ZERO };
            sim.occupy(id, t + platform + init.unwrap_or_default() + PING_DURATION);
        }
    }
}

fn sample(latency: Duration, outcome: Outcome, cold: Option<bool>, init: Option<Duration>) -> Sample {
    Sample {
        latency,
        service: latency,
        lag: Duration::ZERO,
        cap_wait: Duration::ZERO,
        outcome,
        cold,
        init,
        cache: None,
        phases: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::KeepAlive;

    fn function(keep_alive: Duration) -> SimulatedFunction {
        SimulatedFunction {
            pool: PoolConfig { keep_alive: KeepAlive::Fixed { idle: keep_alive }, ..PoolConfig::default() },
            init: Durations::Fixed(Duration::from_millis(200)),
            work: Durations::Fixed(Duration::from_millis(10)),
            timeout: Duration::from_secs(3),
            billing: BillingMode::Standard,
            keep_warm: None,
        }
    }

    fn every(gap: Duration, count: u32) -> impl Iterator<Item = Duration> {
        (0..count).map(move |i| gap * i)
    }

    #[test]
    fn keep_warm_pings_keep_an_instance_across_long_gaps_and_are_counted_apart() {
        let mut f = function(Duration::from_secs(600));
        f.pool.max_lifetime = None;
        f.keep_warm = Some(KeepWarm { every: Duration::from_secs(300), concurrency: 2 });
        // Arrivals off the pings' times (a ping keeps its instance busy for a moment).
        let arrivals = every(Duration::from_secs(1200), 6).map(|t| t + Duration::from_secs(60));
        let s = simulate_function(arrivals, &f, Duration::from_secs(7200));
        assert_eq!((s.measurement.cold, s.measurement.warm), (0, 6));
        let k = s.keep_warm.unwrap();
        // 24 rounds of 2 in 2 h, two instances started by the first round.
        assert_eq!((k.pings, k.cold, k.failed), (48, 2, 0));
        // Every ping bills the 1 ms minimum, the two cold ones their Init too.
        assert_eq!(k.billed_ms_total, 48 + 2 * 200);
        assert_eq!(s.billed_ms_total, 6 * 10, "user traffic is billed apart");
    }

    #[test]
    fn a_cold_start_adds_the_platform_overhead_to_latency_but_not_to_init_or_billing() {
        let mut f = function(Duration::from_secs(600));
        f.pool.platform_overhead = crate::lambda::PlatformOverhead::Fixed(Duration::from_millis(125));
        let s = simulate_function(every(Duration::from_secs(1), 2), &f, Duration::from_secs(10));
        let (cold, warm) = (s.measurement.cold_latency.unwrap(), s.measurement.warm_latency.unwrap());
        // 125 ms platform + 200 ms Init + 10 ms work, cold; 10 ms warm (HDR: 3 digits).
        assert_eq!((cold.max_us / 1_000, warm.max_us / 1_000), (335, 10));
        assert_eq!(s.measurement.init.unwrap().max_us / 1_000, 200, "Init Duration does not include it");
        assert_eq!(s.billed_ms_total, 200 + 10 + 10, "nor does billing");
    }

    #[test]
    fn requests_20_minutes_apart_with_10_minutes_keep_alive_are_all_cold() {
        let s = simulate_function(
            every(Duration::from_secs(1200), 72),
            &function(Duration::from_secs(600)),
            Duration::from_secs(86_400),
        );
        assert_eq!((s.measurement.cold, s.measurement.warm), (72, 0));
        assert_eq!(s.stats.evicted_idle, 71);
    }

    #[test]
    fn requests_5_minutes_apart_are_warm_but_the_first() {
        let s = simulate_function(
            every(Duration::from_secs(300), 288),
            &function(Duration::from_secs(600)),
            Duration::from_secs(86_400),
        );
        // One instance; recycled every 2 h by the maximum lifetime: 1 + 11 cold starts in a day.
        assert_eq!(s.measurement.cold, 12);
        assert_eq!(s.stats.evicted_lifetime, 11);
        let no_lifetime = SimulatedFunction {
            pool: PoolConfig { max_lifetime: None, ..function(Duration::from_secs(600)).pool },
            ..function(Duration::from_secs(600))
        };
        let s = simulate_function(every(Duration::from_secs(300), 288), &no_lifetime, Duration::from_secs(86_400));
        assert_eq!((s.measurement.cold, s.measurement.warm), (1, 287));
    }

    #[test]
    fn the_hybrid_keep_alive_prewarms_as_in_a_real_run() {
        // As tests/fast_forward.rs runs it for real: 15 minutes apart for 6 hours.
        let mut f = function(Duration::from_secs(600));
        f.pool.keep_alive = KeepAlive::Hybrid { fallback: Duration::from_secs(600) };
        f.pool.max_lifetime = None;
        let s = simulate_function(every(Duration::from_secs(900), 24), &f, Duration::from_secs(6 * 3600));
        assert_eq!((s.measurement.cold, s.measurement.warm), (11, 13));
        assert_eq!((s.stats.prewarmed, s.stats.instances_started), (13, 24));
    }

    #[test]
    fn multi_request_instances_take_arrivals_after_their_init() {
        let mut f = function(Duration::from_secs(600));
        f.work = Durations::Fixed(Duration::from_secs(1));
        f.pool.per_instance = 4;
        // Ten a second for two seconds, a second each: one in Init at 0 s, the next at 0.1 s
        // (the first's Init lasts 200 ms), then both take arrivals until they hold four each.
        let arrivals = every(Duration::from_millis(100), 20);
        let s = simulate_function(arrivals, &f, Duration::from_secs(5));
        assert_eq!(s.measurement.outcomes.throttled, 0);
        let one_each =
            simulate_function(every(Duration::from_millis(100), 20), &function_of_work(1), Duration::from_secs(5));
        assert!(
            s.stats.instances_started < one_each.stats.instances_started / 2,
            "{} instances at four requests each, {} at one",
            s.stats.instances_started,
            one_each.stats.instances_started
        );
        assert_eq!(s.measurement.cold, s.stats.instances_started);
        assert!(s.stats.instance_seconds > 0.0);
    }

    fn function_of_work(secs: u64) -> SimulatedFunction {
        SimulatedFunction { work: Durations::Fixed(Duration::from_secs(secs)), ..function(Duration::from_secs(600)) }
    }

    #[test]
    fn overlapping_requests_scale_out_and_the_cap_throttles() {
        let mut f = function(Duration::from_secs(600));
        f.work = Durations::Fixed(Duration::from_secs(1));
        f.pool.max_concurrency = 3;
        // Five at once: three instances, two throttled.
        let s = simulate_function(std::iter::repeat_n(Duration::ZERO, 5), &f, Duration::from_secs(10));
        assert_eq!(s.measurement.outcomes.throttled, 2);
        assert_eq!(s.stats.peak_instances, 3);
        assert_eq!(s.billed_ms_total, 3 * 1200);
    }
}
