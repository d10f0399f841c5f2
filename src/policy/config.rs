//! The policy's vocabulary: its settings (reuse order, keep-alive, limits) and its answers
//! (serve warm, start cold, throttle; evict for idleness or age).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

use crate::lambda;
pub use crate::lambda::Reuse;

/// Identifies an instance for its whole life; never reused.
pub type InstanceId = u64;

/// How long an idle instance is kept.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeepAlive {
    /// Exactly this long after its last invocation.
    Fixed { idle: Duration },
    /// Uniformly drawn from `[idle - jitter, idle + jitter]` each time the instance becomes idle.
    Jittered { idle: Duration, jitter: Duration },
    /// Exponentially distributed with this mean (memoryless eviction), drawn each idle period.
    Exponential { mean: Duration },
    /// The hybrid histogram policy (`hybrid.rs`): learns each function's idle times, unloads its
    /// last instance and pre-warms one before the next expected arrival; `fallback` is the fixed
    /// keep-alive used until the histogram is representative, and for extra instances.
    Hybrid { fallback: Duration },
}

impl KeepAlive {
    /// The policy a workload's `keep_alive` (and `keep_alive_jitter`, for a fixed one) asks for.
    pub fn from_setting(setting: crate::workload::KeepAliveSetting, jitter: Option<Duration>) -> Self {
        use crate::workload::KeepAliveSetting as S;
        match (setting, jitter) {
            (S::Fixed(idle), Some(jitter)) => KeepAlive::Jittered { idle, jitter },
            (S::Fixed(idle), None) => KeepAlive::Fixed { idle },
            (S::Exponential(mean), _) => KeepAlive::Exponential { mean },
            (S::Hybrid(fallback), _) => KeepAlive::Hybrid { fallback },
        }
    }

    /// "fixed 10m", "10m ± 1m", "exponential (mean 10m)", "hybrid histogram (fallback 10m)".
    pub fn label(&self) -> String {
        let span = |d: Duration| crate::units::format_duration(d);
        match *self {
            KeepAlive::Fixed { idle } => format!("fixed {}", span(idle)),
            KeepAlive::Jittered { idle, jitter } => format!("{} ± {}", span(idle), span(jitter)),
            KeepAlive::Exponential { mean } => format!("exponential (mean {})", span(mean)),
            KeepAlive::Hybrid { fallback } => format!("hybrid histogram (fallback {})", span(fallback)),
        }
    }

    pub(super) fn draw(&self, rng: &mut ChaCha8Rng) -> Duration {
        match *self {
            KeepAlive::Fixed { idle } | KeepAlive::Hybrid { fallback: idle } => idle,
            KeepAlive::Jittered { idle, jitter } => {
                let low = idle.saturating_sub(jitter).as_secs_f64();
                let high = (idle + jitter).as_secs_f64();
                Duration::from_secs_f64(low + rng.random::<f64>() * (high - low))
            }
            KeepAlive::Exponential { mean } => {
                let u: f64 = rng.random();
                Duration::from_secs_f64(-(1.0 - u).ln() * mean.as_secs_f64())
            }
        }
    }
}

/// The policy's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// Most instances alive at once (busy or idle); beyond it invocations are throttled.
    pub max_concurrency: usize,
    /// Token bucket for starting instances: capacity (burst) ...
    pub scale_burst: u32,
    /// ... and refill, in new instances per second.
    pub scale_rate_per_s: f64,
    pub keep_alive: KeepAlive,
    /// Recycle an instance this long after it started; `None` keeps it forever.
    pub max_lifetime: Option<Duration>,
    /// Instances started before traffic and never evicted for idleness.
    pub provisioned: usize,
    pub reuse: Reuse,
    /// Seeds keep-alive draws.
    pub seed: u64,
    /// Platform time before a cold instance's Init begins (not billed, not in Init Duration).
    pub platform_overhead: lambda::PlatformOverhead,
    /// Invocations one instance serves at once: 1 on classic Lambda; more for multi-request
    /// environments (Lambda Managed Instances, web functions).
    pub per_instance: u32,
}

impl PoolConfig {
    /// The platform time before instance `id`'s process starts, the same in the runtime and
    /// the simulator.
    pub fn platform_overhead_of(&self, id: InstanceId) -> Duration {
        self.platform_overhead.for_instance(self.seed, id)
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_concurrency: lambda::DEFAULT_MAX_CONCURRENCY,
            scale_burst: lambda::SCALE_BURST,
            scale_rate_per_s: lambda::SCALE_RATE_PER_S,
            keep_alive: KeepAlive::Fixed { idle: lambda::DEFAULT_KEEP_ALIVE },
            max_lifetime: Some(lambda::DEFAULT_MAX_LIFETIME),
            provisioned: 0,
            reuse: Reuse::Mru,
            seed: 0,
            platform_overhead: lambda::PlatformOverhead::default(),
            per_instance: 1,
        }
    }
}

/// Why an invocation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleReason {
    /// Every instance is busy and the concurrency limit is reached.
    ConcurrencyLimit,
    /// A new instance is needed but the scale-out token bucket is empty.
    ScalingRate,
}

/// What to do with an invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve it on this idle, initialised instance.
    Warm(InstanceId),
    /// Start this new instance (its Init runs first) and serve it there.
    Cold(InstanceId),
    /// Refuse it (HTTP 429).
    Throttle(ThrottleReason),
}

/// Why an instance leaves the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    /// Idle for longer than its keep-alive.
    Idle,
    /// Alive for longer than the maximum lifetime.
    Lifetime,
    /// Of a version older than the function's current one (a deploy): it finished its last
    /// invocation.
    Deployed,
}
