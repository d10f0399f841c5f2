//! Trace replay at scale: many functions at once (an Azure Functions trace), each with its own
//! deployment driven by the same pool policy and discrete-event core as `simulate`, under one
//! keep-alive policy. Answers "what fraction of invocations are cold, and what does keeping
//! instances warm cost, with a fixed 10-minute keep-alive, a 20-minute one, or one that adapts
//! to each function (the hybrid histogram policy, `policy/hybrid.rs`)?"
//!
//! Pure: no I/O, no clocks; time is the arrivals' offsets.

use std::time::Duration;

use super::core::Deployment;
use crate::policy::{Decision, KeepAlive, PoolConfig};
use crate::workload::ArrivalProcess;

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
pub fn replay(
    functions: &[ArrivalProcess],
    horizon: Duration,
    model: &FunctionModel,
    policy: KeepAlive,
) -> PolicyOutcome {
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
    policy: KeepAlive,
    out: &mut PolicyOutcome,
) {
    let gb = f64::from(model.memory_mb) / 1024.0;
    let seed = model.seed.wrapping_add(index);
    let config = PoolConfig { keep_alive: policy, max_lifetime: model.max_lifetime, seed, ..PoolConfig::default() };
    let mut deployment = Deployment::new(config, seed);
    let (mut invocations, mut cold) = (0u64, 0u64);
    for t in arrivals.schedule(horizon, seed) {
        deployment.advance(t);
        invocations += 1;
        let started = match deployment.acquire(t) {
            Decision::Warm(id) => Some((id, false)),
            Decision::Cold(id) => Some((id, true)),
            // Trace functions stay far below the concurrency cap and scale-out rate; a throttle
            // would be a cold start that never ran, so it is counted as one.
            Decision::Throttle(_) => None,
        };
        let is_cold = started.is_none_or(|(_, c)| c);
        cold += u64::from(is_cold);
        out.billed_gb_s += (model.work + if is_cold { model.init } else { Duration::ZERO }).as_secs_f64() * gb;
        if let Some((id, c)) = started {
            deployment.occupy(id, t + model.work + if c { model.init } else { Duration::ZERO });
        }
    }
    deployment.advance(horizon);
    let pool = deployment.pool();
    out.invocations += invocations;
    out.cold += cold;
    out.instances_started += pool.stats().started;
    out.idle_gb_s += pool.idle_until(horizon).as_secs_f64() * gb;
    out.prewarmed += pool.stats().prewarmed;
    if invocations > 0 && cold == invocations {
        out.functions_always_cold += 1;
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
        let out = replay(&[every(15, 4)], Duration::from_secs(4 * 3600), &model(), KeepAlive::Fixed { idle: 10 * MIN });
        assert_eq!((out.invocations, out.cold), (16, 16));
        assert_eq!(out.functions_always_cold, 1);
        let out = replay(&[every(15, 4)], Duration::from_secs(4 * 3600), &model(), KeepAlive::Fixed { idle: 20 * MIN });
        assert_eq!((out.invocations, out.cold), (16, 1));
    }

    #[test]
    fn the_hybrid_policy_learns_a_periodic_function_and_keeps_less_memory_idle() {
        let functions = [every(15, 24), every(3, 24)];
        let horizon = Duration::from_secs(24 * 3600);
        let fixed = replay(&functions, horizon, &model(), KeepAlive::Fixed { idle: 10 * MIN });
        let long = replay(&functions, horizon, &model(), KeepAlive::Fixed { idle: 20 * MIN });
        let hybrid = replay(&functions, horizon, &model(), KeepAlive::Hybrid { fallback: 10 * MIN });
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
        let out = replay(
            &[every(300, 48)],
            Duration::from_secs(48 * 3600),
            &model(),
            KeepAlive::Hybrid { fallback: 10 * MIN },
        );
        assert_eq!(out.cold, out.invocations);
        assert_eq!(out.prewarmed, 0);
    }
}
