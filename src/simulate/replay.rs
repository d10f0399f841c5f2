//! Trace replay at scale: many functions at once (an Azure Functions trace), each with its own
//! pool driven by the same `runtime::pool` policy code, under one keep-alive policy. Answers
//! "what fraction of invocations are cold, and what does keeping instances warm cost, with a
//! fixed 10-minute keep-alive, a 20-minute one, or one that adapts to each function?"
//!
//! The adaptive policy follows the hybrid histogram policy of Shahrad et al., "Serverless in the
//! Wild", USENIX ATC'20 (`shared/reference/lambda-and-container-model.md` §8): per function, a
//! histogram of idle times (gap between an invocation's end and the next arrival) in 1-minute
//! bins over 4 hours; once it is representative, an instance is unloaded after each invocation
//! and loaded again (pre-warmed) at the 5th percentile of idle times (minus a 10 % margin), then
//! kept until the 99th percentile (plus 10 %). The windows govern a function's last instance (when
//! the whole function goes idle, as the paper's per-application view has it); instances started
//! for concurrency keep the fixed fallback. While the histogram has too few idle times, or
//! most fall beyond its 4-hour range, the policy falls back to a fixed keep-alive (the paper
//! predicts those with ARIMA instead; that part is not modelled).
//!
//! Pure: no I/O, no clocks; time is the arrivals' offsets.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use crate::policy::{Decision, InstanceId, KeepAlive, Pool, PoolConfig};
use crate::workload::ArrivalProcess;

/// Idle-time histogram range: 4 hours of 1-minute bins.
pub const HISTOGRAM_MINUTES: usize = 240;
/// Idle times a function needs before its histogram is trusted.
pub const MIN_IDLE_TIMES: u32 = 10;
/// Share of idle times beyond the range above which the histogram is not representative.
pub const MAX_OUT_OF_RANGE: f64 = 0.5;
/// Margins applied to the pre-warm (shorter) and keep-alive (longer) windows.
pub const MARGIN: f64 = 0.10;

/// A keep-alive policy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Policy {
    /// Keep every instance this long after its last invocation (AWS ≈ 10 min, Azure 20 min).
    Fixed(Duration),
    /// The hybrid histogram policy; `fallback` is the fixed keep-alive used until a function's
    /// histogram is representative.
    Hybrid { fallback: Duration },
}

impl Policy {
    /// "fixed 10m", "hybrid (fallback 10m)".
    pub fn label(&self) -> String {
        let span = |d: Duration| crate::workload::HumanDuration(d).to_string();
        match self {
            Policy::Fixed(d) => format!("fixed {}", span(*d)),
            Policy::Hybrid { fallback } => format!("hybrid histogram (fallback {})", span(*fallback)),
        }
    }
}

/// What every function of the trace does per invocation.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionModel {
    pub init: Duration,
    pub work: Duration,
    pub memory_mb: u32,
    pub max_lifetime: Option<Duration>,
    pub seed: u64,
}

/// One policy's outcome over the whole trace.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PolicyOutcome {
    pub policy: String,
    pub functions: usize,
    pub invocations: u64,
    pub cold: u64,
    pub cold_fraction: f64,
    /// Functions whose every invocation was cold.
    pub functions_always_cold: usize,
    /// Instances started: on demand (cold starts) and ahead of demand (pre-warmed).
    pub instances_started: u64,
    pub prewarmed: u64,
    /// Memory kept loaded while idle, in GB-seconds (what keeping instances warm costs a provider).
    pub idle_gb_s: f64,
    /// GB-seconds billed to users: work, plus Init on cold starts.
    pub billed_gb_s: f64,
}

/// Replays every function's arrivals (offsets from 0) over `horizon` under `policy`.
///
/// Functions share nothing (each has its own pool, as each has its own instances), so each is
/// replayed on its own, start to end, and the work is split over the machine's cores; the
/// outcome does not depend on the split (every function has its own seed).
pub fn replay(functions: &[ArrivalProcess], horizon: Duration, model: &FunctionModel, policy: Policy) -> PolicyOutcome {
    let workers =
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(functions.len().max(1));
    let chunk = functions.len().div_ceil(workers).max(1);
    let parts: Vec<PolicyOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = functions
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    let mut out = PolicyOutcome::default();
                    for (k, arrivals) in part.iter().enumerate() {
                        replay_one(arrivals, (c * chunk + k) as u64, horizon, model, policy, &mut out);
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a replay worker panicked")).collect()
    });
    let mut out = PolicyOutcome { policy: policy.label(), functions: functions.len(), ..PolicyOutcome::default() };
    for part in parts {
        out.invocations += part.invocations;
        out.cold += part.cold;
        out.functions_always_cold += part.functions_always_cold;
        out.instances_started += part.instances_started;
        out.prewarmed += part.prewarmed;
        out.idle_gb_s += part.idle_gb_s;
        out.billed_gb_s += part.billed_gb_s;
    }
    out.cold_fraction = if out.invocations > 0 { out.cold as f64 / out.invocations as f64 } else { 0.0 };
    out
}

/// One function, start to end, added into `out`.
fn replay_one(
    arrivals: &ArrivalProcess,
    index: u64,
    horizon: Duration,
    model: &FunctionModel,
    policy: Policy,
    out: &mut PolicyOutcome,
) {
    let gb = f64::from(model.memory_mb) / 1024.0;
    let mut state = FunctionState::new(model, policy, index);
    for t in arrivals.schedule(horizon, model.seed.wrapping_add(index)) {
        let cold = state.invoke(t, model, policy);
        out.invocations += 1;
        out.cold += u64::from(cold);
        out.billed_gb_s += (model.work + if cold { model.init } else { Duration::ZERO }).as_secs_f64() * gb;
    }
    state.advance(horizon, policy);
    out.instances_started += state.pool.stats().started;
    out.idle_gb_s += state.pool.idle_until(horizon).as_secs_f64() * gb;
    out.prewarmed += state.prewarmed;
    if state.invocations > 0 && state.cold == state.invocations {
        out.functions_always_cold += 1;
    }
}

/// One function's pool and what the policy learned about it.
struct FunctionState {
    pool: Pool,
    busy: BinaryHeap<Reverse<(Duration, InstanceId)>>,
    /// Idle-time histogram (1-minute bins) and idle times beyond it.
    histogram: Vec<u32>,
    idle_times: u32,
    out_of_range: u32,
    /// When the function's last invocation ended (its idle time starts there).
    last_end: Option<Duration>,
    /// A planned pre-warm: load an instance at `.0`, keep it for `.1`.
    prewarm: Option<(Duration, Duration)>,
    prewarmed: u64,
    invocations: u64,
    cold: u64,
}

impl FunctionState {
    fn new(model: &FunctionModel, policy: Policy, index: u64) -> Self {
        let keep_alive = match policy {
            Policy::Fixed(d) | Policy::Hybrid { fallback: d } => d,
        };
        let config = PoolConfig {
            keep_alive: KeepAlive::Fixed { idle: keep_alive },
            max_lifetime: model.max_lifetime,
            seed: model.seed.wrapping_add(index),
            ..PoolConfig::default()
        };
        Self {
            pool: Pool::new(config, Duration::ZERO),
            busy: BinaryHeap::new(),
            histogram: vec![0; HISTOGRAM_MINUTES],
            idle_times: 0,
            out_of_range: 0,
            last_end: None,
            prewarm: None,
            prewarmed: 0,
            invocations: 0,
            cold: 0,
        }
    }

    /// Serves an invocation arriving at `t`; returns whether it was a cold start.
    fn invoke(&mut self, t: Duration, model: &FunctionModel, policy: Policy) -> bool {
        self.advance(t, policy);
        if let Some(end) = self.last_end.filter(|_| self.busy.is_empty()) {
            self.learn(t.saturating_sub(end));
        }
        self.invocations += 1;
        let (id, cold) = match self.pool.acquire(t) {
            Decision::Warm(id) => (id, false),
            Decision::Cold(id) => (id, true),
            // Trace functions stay far below the concurrency cap and scale-out rate; a throttle
            // would be a cold start that never ran, so it is counted as one.
            Decision::Throttle(_) => {
                self.cold += 1;
                return true;
            }
        };
        self.cold += u64::from(cold);
        let end = t + model.work + if cold { model.init } else { Duration::ZERO };
        self.busy.push(Reverse((end, id)));
        // A pre-warm planned for later is superseded: the next plan follows this invocation.
        self.prewarm = None;
        cold
    }

    /// Carries out everything due by `t`: invocations ending (and the policy's decision for each
    /// instance they release), the planned pre-warm, evictions.
    fn advance(&mut self, t: Duration, policy: Policy) {
        while let Some(&Reverse((done, id))) = self.busy.peek() {
            if done > t {
                break;
            }
            self.busy.pop();
            self.last_end = Some(self.last_end.map_or(done, |e| e.max(done)));
            // The windows describe the function's idle times: they govern its last instance, when
            // the whole function goes idle. Extra instances (concurrency) keep the fixed fallback.
            let function_idle = self.busy.is_empty() && self.pool.alive() == 1;
            match self.windows(policy).filter(|_| function_idle) {
                Some((prewarm, keep)) if !prewarm.is_zero() => {
                    // Unload now; load again just before the function is expected back.
                    self.pool.release_for(id, done, Duration::ZERO);
                    self.pool.evict(done);
                    self.prewarm = Some((done + prewarm, keep));
                }
                Some((_, keep)) => {
                    self.pool.release_for(id, done, keep);
                }
                None => {
                    self.pool.release(id, done);
                }
            }
        }
        if let Some((at, keep)) = self.prewarm.filter(|(at, _)| *at <= t) {
            self.prewarm = None;
            if self.pool.idle() == 0 {
                self.pool.start_warm(at, keep);
                self.prewarmed += 1;
            }
        }
        self.pool.evict(t);
    }

    fn learn(&mut self, idle: Duration) {
        let minute = (idle.as_secs() / 60) as usize;
        self.idle_times += 1;
        match self.histogram.get_mut(minute) {
            Some(bin) => *bin += 1,
            None => self.out_of_range += 1,
        }
    }

    /// The hybrid policy's (pre-warm, keep-alive) windows, or `None` for the fixed keep-alive.
    fn windows(&self, policy: Policy) -> Option<(Duration, Duration)> {
        let Policy::Hybrid { .. } = policy else { return None };
        if self.idle_times < MIN_IDLE_TIMES
            || f64::from(self.out_of_range) > MAX_OUT_OF_RANGE * f64::from(self.idle_times)
        {
            return None;
        }
        let in_range = self.idle_times - self.out_of_range;
        let percentile = |p: f64| -> usize {
            let wanted = (p * f64::from(in_range)).ceil().max(1.0) as u32;
            let mut seen = 0;
            for (minute, &n) in self.histogram.iter().enumerate() {
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
        Some((minutes(prewarm), minutes(keep)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn model() -> FunctionModel {
        FunctionModel {
            init: Duration::from_millis(500),
            work: Duration::from_millis(100),
            memory_mb: 256,
            max_lifetime: None,
            seed: 1,
        }
    }

    /// One invocation every `gap` minutes for `hours`.
    fn every(gap: usize, hours: usize) -> ArrivalProcess {
        let counts = (0..hours * 60).map(|m| u64::from(m % gap == 0)).collect();
        ArrivalProcess::PerMinute { counts: Arc::new(counts), spread: crate::workload::Spread::Even }
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_fixed_keep_alive_shorter_than_the_gap_makes_every_invocation_cold() {
        let out = replay(&[every(15, 4)], Duration::from_secs(4 * 3600), &model(), Policy::Fixed(10 * MIN));
        assert_eq!((out.invocations, out.cold), (16, 16));
        assert_eq!(out.functions_always_cold, 1);
        let out = replay(&[every(15, 4)], Duration::from_secs(4 * 3600), &model(), Policy::Fixed(20 * MIN));
        assert_eq!((out.invocations, out.cold), (16, 1));
    }

    #[test]
    fn the_hybrid_policy_learns_a_periodic_function_and_keeps_less_memory_idle() {
        let functions = [every(15, 24), every(3, 24)];
        let horizon = Duration::from_secs(24 * 3600);
        let fixed = replay(&functions, horizon, &model(), Policy::Fixed(10 * MIN));
        let long = replay(&functions, horizon, &model(), Policy::Fixed(20 * MIN));
        let hybrid = replay(&functions, horizon, &model(), Policy::Hybrid { fallback: 10 * MIN });
        // Fixed 10 min: the 15-minute function is always cold.
        assert_eq!(fixed.cold, 96 + 1);
        // Hybrid: cold only while learning (10 idle times), then pre-warmed before each arrival.
        assert!(hybrid.cold <= 12 + 1, "{hybrid:?}");
        assert!(hybrid.prewarmed > 70, "{hybrid:?}");
        // As few cold starts as a 20-minute keep-alive, with less memory kept idle.
        assert!(hybrid.idle_gb_s < long.idle_gb_s, "{hybrid:?} vs {long:?}");
    }

    #[test]
    fn idle_times_beyond_the_histogram_fall_back_to_the_fixed_keep_alive() {
        let out =
            replay(&[every(300, 48)], Duration::from_secs(48 * 3600), &model(), Policy::Hybrid { fallback: 10 * MIN });
        assert_eq!(out.cold, out.invocations);
        assert_eq!(out.prewarmed, 0);
    }
}
