//! The pool policy: which instance serves an invocation, when a new one starts, when to throttle,
//! and which idle instances to evict. Pure and deterministic: no I/O, no tokio; the clock is an
//! argument (a `Duration` since any fixed origin), so a simulator can replay months of traffic
//! through exactly the policy the real runtime uses.
//!
//! Defaults follow AWS Lambda (`shared/reference/lambda-and-container-model.md` §1–2): one request
//! per instance, 1,000 concurrent instances, scale-out of 1,000 new instances per 10 s refilled
//! continuously, idle keep-alive 10 min, instances recycled after about 2 h.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Identifies an instance for its whole life; never reused.
pub type InstanceId = u64;

/// Which idle instance serves the next invocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reuse {
    /// The most recently used idle instance (Lambda's observed behaviour): idle ones age out.
    #[default]
    Mru,
    /// The least recently used: spreads work over every idle instance.
    Lru,
}

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
}

impl KeepAlive {
    fn draw(&self, rng: &mut ChaCha8Rng) -> Duration {
        match *self {
            KeepAlive::Fixed { idle } => idle,
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
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_concurrency: 1_000,
            scale_burst: 1_000,
            scale_rate_per_s: 100.0,
            keep_alive: KeepAlive::Fixed { idle: Duration::from_secs(600) },
            max_lifetime: Some(Duration::from_secs(7_200)),
            provisioned: 0,
            reuse: Reuse::Mru,
            seed: 0,
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
}

#[derive(Clone, Debug)]
struct Instance {
    started: Duration,
    provisioned: bool,
    /// `Some(since)` while idle.
    idle: Option<Duration>,
    /// While idle: when it is due for eviction (keep-alive or lifetime), if ever.
    deadline: Option<Duration>,
    /// The time of this instance's entry in the deadline heap, if it has a live one. It is
    /// never later than `deadline`: an entry that surfaces early is pushed again at the real
    /// deadline, so a busy instance costs the heap nothing per invocation.
    queued: Option<Duration>,
    /// Counts the instance's idle periods: index entries of an earlier period are stale.
    period: u64,
}

/// Counters over the pool's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub started: u64,
    pub evicted_idle: u64,
    pub evicted_lifetime: u64,
    pub discarded: u64,
    pub throttled: u64,
    pub peak_alive: usize,
    /// Time instances spent idle (alive, initialised, serving nothing), summed over instances:
    /// the memory a provider keeps warm for nothing. Counted when an idle period ends.
    pub idle: Duration,
}

/// An index entry: an instance in one of its idle periods, keyed by a time.
type Entry = (Duration, InstanceId, u64);

/// The pool's state.
///
/// Idle instances are indexed by when they became idle (a deque: releases come in time order,
/// so its ends are the least and the most recently used); an entry whose instance has since
/// been used or removed is stale, skipped when it surfaces, and the deque is compacted when
/// stale entries outnumber live ones. Eviction deadlines live in a min-heap with at most one
/// live entry per instance, re-pushed lazily when it surfaces before the instance's current
/// deadline. Every operation is O(1) amortised or O(log instances), which is what lets the
/// simulator replay months of traffic.
#[derive(Debug)]
pub struct Pool {
    config: PoolConfig,
    instances: HashMap<InstanceId, Instance, BuildHasherDefault<IdHasher>>,
    idle: VecDeque<Entry>,
    /// Idle provisioned instances, indexed the same way (they serve first).
    idle_provisioned: VecDeque<Entry>,
    idle_count: usize,
    deadlines: BinaryHeap<Reverse<(Duration, InstanceId)>>,
    next_id: InstanceId,
    tokens: f64,
    refilled_at: Duration,
    rng: ChaCha8Rng,
    stats: PoolStats,
}

/// Instance ids are sequential integers: they need mixing, not a keyed hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Pool {
    /// An empty pool at time `now`, with a full scale-out bucket.
    pub fn new(config: PoolConfig, now: Duration) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        let tokens = f64::from(config.scale_burst);
        Self {
            config,
            instances: HashMap::default(),
            idle: VecDeque::new(),
            idle_provisioned: VecDeque::new(),
            idle_count: 0,
            deadlines: BinaryHeap::new(),
            next_id: 0,
            tokens,
            refilled_at: now,
            rng,
            stats: PoolStats::default(),
        }
    }

    /// Reserves the provisioned instances; the caller starts them (their Init runs before traffic)
    /// and reports each one ready with [`Pool::release`]. They use no scale-out tokens.
    pub fn start_provisioned(&mut self, now: Duration) -> Vec<InstanceId> {
        (0..self.config.provisioned).map(|_| self.add(now, true)).collect()
    }

    /// Decides how to serve an invocation arriving at `now`.
    pub fn acquire(&mut self, now: Duration) -> Decision {
        self.refill(now);
        // Provisioned instances serve first; on-demand ones take the spill-over (as in Lambda).
        if let Some((id, since)) = self.take_idle(true).or_else(|| self.take_idle(false)) {
            self.stats.idle += now.saturating_sub(since);
            return Decision::Warm(id);
        }
        if self.instances.len() >= self.config.max_concurrency {
            self.stats.throttled += 1;
            return Decision::Throttle(ThrottleReason::ConcurrencyLimit);
        }
        if self.tokens < 1.0 {
            self.stats.throttled += 1;
            return Decision::Throttle(ThrottleReason::ScalingRate);
        }
        self.tokens -= 1.0;
        Decision::Cold(self.add(now, false))
    }

    /// The invocation on `id` finished and the instance is ready for another (it polled `/next`).
    /// Returns an eviction when the instance has outlived its maximum lifetime: the caller stops it.
    pub fn release(&mut self, id: InstanceId, now: Duration) -> Option<Eviction> {
        let keep_alive = self.config.keep_alive.draw(&mut self.rng);
        self.release_for(id, now, keep_alive)
    }

    /// As [`Pool::release`], with a keep-alive chosen by the caller for this idle period (an
    /// adaptive policy that learns from each function's idle times).
    pub fn release_for(&mut self, id: InstanceId, now: Duration, keep_alive: Duration) -> Option<Eviction> {
        let lifetime = self.config.max_lifetime;
        let instance = self.instances.get_mut(&id)?;
        // Provisioned environments are recycled too, but Lambda initialises their replacements
        // ahead of time: no invocation ever sees it, so they are modelled as never recycled.
        let lifetime = lifetime.filter(|_| !instance.provisioned);
        if lifetime.is_some_and(|l| now.saturating_sub(instance.started) >= l) {
            self.remove(id);
            self.stats.evicted_lifetime += 1;
            return Some(Eviction::Lifetime);
        }
        if instance.idle.is_none() {
            self.idle_count += 1;
        }
        let by_idle = (!instance.provisioned).then_some(now + keep_alive);
        let by_age = lifetime.map(|l| instance.started + l);
        let deadline = [by_idle, by_age].into_iter().flatten().min();
        instance.period += 1;
        instance.idle = Some(now);
        instance.deadline = deadline;
        let period = instance.period;
        if let Some(deadline) = deadline {
            if instance.queued.is_none_or(|queued| queued > deadline) {
                instance.queued = Some(deadline);
                self.deadlines.push(Reverse((deadline, id)));
            }
        }
        // Releases arrive in time order; one that does not is placed where it belongs.
        let queue = if instance.provisioned { &mut self.idle_provisioned } else { &mut self.idle };
        if queue.back().is_none_or(|e| e.0 <= now) {
            queue.push_back((now, id, period));
        } else {
            let at = queue.iter().rposition(|e| e.0 <= now).map_or(0, |i| i + 1);
            queue.insert(at, (now, id, period));
        }
        self.compact();
        None
    }

    /// Takes an idle instance (provisioned or on-demand) by the reuse rule, skipping stale entries.
    fn take_idle(&mut self, provisioned: bool) -> Option<(InstanceId, Duration)> {
        loop {
            let queue = if provisioned { &mut self.idle_provisioned } else { &mut self.idle };
            let entry = match self.config.reuse {
                Reuse::Mru => queue.pop_back(),
                Reuse::Lru => queue.pop_front(),
            }?;
            if self.is_current(entry) {
                self.instances.get_mut(&entry.1).expect("checked by is_current").idle = None;
                self.idle_count -= 1;
                return Some((entry.1, entry.0));
            }
        }
    }

    /// Starts an instance ahead of demand, already initialised and idle from `now` for
    /// `keep_alive` (a pre-warming policy loads it before the invocation it expects).
    pub fn start_warm(&mut self, now: Duration, keep_alive: Duration) -> InstanceId {
        let id = self.add(now, false);
        self.release_for(id, now, keep_alive);
        id
    }

    /// Idle time so far, counting the idle periods still running at `now`.
    pub fn idle_until(&self, now: Duration) -> Duration {
        let running: Duration =
            self.instances.values().filter_map(|i| i.idle).map(|since| now.saturating_sub(since)).sum();
        self.stats.idle + running
    }

    /// Whether an index entry still describes its instance's current idle period.
    fn is_current(&self, (_, id, period): Entry) -> bool {
        self.instances.get(&id).is_some_and(|i| i.idle.is_some() && i.period == period)
    }

    /// Drops stale entries once they outnumber the live ones, so the indexes stay small.
    fn compact(&mut self) {
        let limit = 2 * self.idle_count + 64;
        if self.idle.len() > limit {
            let idle = std::mem::take(&mut self.idle);
            self.idle = idle.into_iter().filter(|&e| self.is_current(e)).collect();
        }
        if self.idle_provisioned.len() > limit {
            let idle = std::mem::take(&mut self.idle_provisioned);
            self.idle_provisioned = idle.into_iter().filter(|&e| self.is_current(e)).collect();
        }
    }

    /// Takes an instance out of the pool (its index entries become stale).
    fn remove(&mut self, id: InstanceId) -> Option<Instance> {
        let instance = self.instances.remove(&id)?;
        if instance.idle.is_some() {
            self.idle_count -= 1;
        }
        Some(instance)
    }

    /// The instance is gone (crashed, timed out, failed its Init): forget it.
    pub fn discard(&mut self, id: InstanceId) {
        if self.remove(id).is_some() {
            self.stats.discarded += 1;
        }
    }

    /// Idle instances to stop at `now`: past their keep-alive (never provisioned ones) or past
    /// the maximum lifetime. They leave the pool at once.
    pub fn evict(&mut self, now: Duration) -> Vec<(InstanceId, Eviction)> {
        let lifetime = self.config.max_lifetime;
        let mut due = Vec::new();
        while let Some((deadline, id)) = self.next_deadline() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let instance = self.remove(id).expect("next_deadline names a pool instance");
            if let Some(since) = instance.idle {
                self.stats.idle += deadline.saturating_sub(since);
            }
            // Judged at the deadline, not at `now`: a late call must not turn idle expiry into age.
            let why = if lifetime.is_some_and(|l| deadline >= instance.started + l) {
                self.stats.evicted_lifetime += 1;
                Eviction::Lifetime
            } else {
                self.stats.evicted_idle += 1;
                Eviction::Idle
            };
            due.push((id, why));
        }
        due
    }

    /// The earliest time [`Pool::evict`] would return something, if any instance is idle.
    pub fn next_eviction(&mut self) -> Option<Duration> {
        self.next_deadline().map(|(deadline, _)| deadline)
    }

    /// Brings the heap's top to an idle instance's current deadline (dropping entries of removed
    /// and busy instances, re-pushing early ones) and returns it.
    fn next_deadline(&mut self) -> Option<(Duration, InstanceId)> {
        while let Some(&Reverse((at, id))) = self.deadlines.peek() {
            let Some(instance) = self.instances.get_mut(&id) else {
                self.deadlines.pop();
                continue;
            };
            if instance.queued != Some(at) {
                self.deadlines.pop();
                continue;
            }
            match (instance.idle, instance.deadline) {
                (Some(_), Some(deadline)) if deadline == at => return Some((at, id)),
                (Some(_), Some(deadline)) => {
                    self.deadlines.pop();
                    instance.queued = Some(deadline);
                    self.deadlines.push(Reverse((deadline, id)));
                }
                _ => {
                    self.deadlines.pop();
                    instance.queued = None;
                }
            }
        }
        None
    }

    /// Whether `id` was provisioned.
    pub fn is_provisioned(&self, id: InstanceId) -> bool {
        self.instances.get(&id).is_some_and(|i| i.provisioned)
    }

    /// Instances alive now (busy or idle).
    pub fn alive(&self) -> usize {
        self.instances.len()
    }

    /// Idle instances now.
    pub fn idle(&self) -> usize {
        self.idle_count
    }

    /// Counters so far.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    fn add(&mut self, now: Duration, provisioned: bool) -> InstanceId {
        let id = self.next_id;
        self.next_id += 1;
        self.instances
            .insert(id, Instance { started: now, provisioned, idle: None, deadline: None, queued: None, period: 0 });
        self.stats.started += 1;
        self.stats.peak_alive = self.stats.peak_alive.max(self.instances.len());
        id
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.config.scale_rate_per_s).min(f64::from(self.config.scale_burst));
        self.refilled_at = self.refilled_at.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn pool(config: PoolConfig) -> Pool {
        Pool::new(config, Duration::ZERO)
    }

    #[test]
    fn sequential_invocations_reuse_one_warm_instance() {
        let mut p = pool(PoolConfig::default());
        assert_eq!(p.acquire(s(0)), Decision::Cold(0));
        assert_eq!(p.release(0, s(1)), None);
        assert_eq!(p.acquire(s(2)), Decision::Warm(0));
        assert_eq!(p.stats().started, 1);
    }

    #[test]
    fn concurrent_invocations_start_cold_instances() {
        let mut p = pool(PoolConfig::default());
        assert_eq!(p.acquire(s(0)), Decision::Cold(0));
        assert_eq!(p.acquire(s(0)), Decision::Cold(1));
        assert_eq!(p.alive(), 2);
        assert_eq!(p.stats().peak_alive, 2);
    }

    #[test]
    fn mru_and_lru_pick_different_idle_instances() {
        for (reuse, expected) in [(Reuse::Mru, 1), (Reuse::Lru, 0)] {
            let mut p = pool(PoolConfig { reuse, ..PoolConfig::default() });
            p.acquire(s(0));
            p.acquire(s(0));
            p.release(0, s(1));
            p.release(1, s(2));
            assert_eq!(p.acquire(s(3)), Decision::Warm(expected), "{reuse:?}");
        }
    }

    #[test]
    fn throttles_exactly_at_the_concurrency_cap() {
        let mut p = pool(PoolConfig { max_concurrency: 3, ..PoolConfig::default() });
        let decisions: Vec<_> = (0..5).map(|_| p.acquire(s(0))).collect();
        assert_eq!(&decisions[..3], &[Decision::Cold(0), Decision::Cold(1), Decision::Cold(2)]);
        assert_eq!(&decisions[3..], &[Decision::Throttle(ThrottleReason::ConcurrencyLimit); 2]);
        assert_eq!(p.stats().throttled, 2);
        p.release(1, s(1));
        assert_eq!(p.acquire(s(1)), Decision::Warm(1));
    }

    #[test]
    fn token_bucket_limits_scale_out_and_refills_continuously() {
        let mut p = pool(PoolConfig { scale_burst: 2, scale_rate_per_s: 0.5, ..PoolConfig::default() });
        assert!(matches!(p.acquire(s(0)), Decision::Cold(_)));
        assert!(matches!(p.acquire(s(0)), Decision::Cold(_)));
        assert_eq!(p.acquire(s(0)), Decision::Throttle(ThrottleReason::ScalingRate));
        // Half a token per second: one more start after 2 s, not after 1 s.
        assert_eq!(p.acquire(s(1)), Decision::Throttle(ThrottleReason::ScalingRate));
        assert!(matches!(p.acquire(s(2)), Decision::Cold(_)));
        assert_eq!(p.acquire(s(2)), Decision::Throttle(ThrottleReason::ScalingRate));
        // Unused rate does not accumulate past the burst.
        assert!(matches!(p.acquire(s(1_000)), Decision::Cold(_)));
        assert!(matches!(p.acquire(s(1_000)), Decision::Cold(_)));
        assert_eq!(p.acquire(s(1_000)), Decision::Throttle(ThrottleReason::ScalingRate));
    }

    #[test]
    fn evicts_at_exactly_keep_alive() {
        let mut p = pool(PoolConfig { keep_alive: KeepAlive::Fixed { idle: s(600) }, ..PoolConfig::default() });
        p.acquire(s(0));
        p.release(0, s(10));
        assert_eq!(p.next_eviction(), Some(s(610)));
        assert!(p.evict(s(610) - Duration::from_nanos(1)).is_empty());
        assert_eq!(p.evict(s(610)), vec![(0, Eviction::Idle)]);
        assert_eq!(p.acquire(s(611)), Decision::Cold(1));
        assert_eq!(p.stats().evicted_idle, 1);
    }

    #[test]
    fn busy_instances_are_never_evicted_for_idleness() {
        let mut p = pool(PoolConfig { keep_alive: KeepAlive::Fixed { idle: s(1) }, ..PoolConfig::default() });
        p.acquire(s(0));
        assert!(p.evict(s(100)).is_empty());
        assert_eq!(p.next_eviction(), None);
    }

    #[test]
    fn instances_are_recycled_after_their_lifetime() {
        let mut p = pool(PoolConfig { max_lifetime: Some(s(7_200)), ..PoolConfig::default() });
        p.acquire(s(0));
        assert_eq!(p.release(0, s(7_000)), None);
        assert_eq!(p.acquire(s(7_100)), Decision::Warm(0));
        // Still busy at 7,200 s; retired as soon as it finishes.
        assert_eq!(p.release(0, s(7_201)), Some(Eviction::Lifetime));
        assert_eq!(p.alive(), 0);
        // An idle one reaching its lifetime before its keep-alive is evicted as such...
        p.acquire(s(7_300));
        p.release(1, s(14_300));
        assert_eq!(p.evict(s(7_300 + 7_200)), vec![(1, Eviction::Lifetime)]);
        // ... and one whose keep-alive ran out first is an idle eviction, however late the call.
        p.acquire(s(20_000));
        p.release(2, s(20_001));
        assert_eq!(p.evict(s(40_000)), vec![(2, Eviction::Idle)]);
    }

    #[test]
    fn lifetime_can_be_off() {
        let mut p = pool(PoolConfig { max_lifetime: None, ..PoolConfig::default() });
        p.acquire(s(0));
        assert_eq!(p.release(0, s(1_000_000)), None);
    }

    #[test]
    fn provisioned_instances_serve_warm_and_are_never_evicted_for_idleness() {
        let mut p = pool(PoolConfig { provisioned: 2, max_lifetime: None, ..PoolConfig::default() });
        let ids = p.start_provisioned(s(0));
        assert_eq!(ids, vec![0, 1]);
        for id in &ids {
            p.release(*id, s(1));
        }
        assert!(p.evict(s(100_000)).is_empty());
        assert!(matches!(p.acquire(s(100_000)), Decision::Warm(_)));
        assert!(matches!(p.acquire(s(100_000)), Decision::Warm(_)));
        assert_eq!(p.acquire(s(100_000)), Decision::Cold(2));
        assert!(p.is_provisioned(0) && !p.is_provisioned(2));
    }

    #[test]
    fn provisioned_instances_serve_before_on_demand_ones_and_are_not_recycled() {
        let mut p = pool(PoolConfig { provisioned: 1, ..PoolConfig::default() });
        let provisioned = p.start_provisioned(s(0))[0];
        p.release(provisioned, s(0));
        // A spill-over on-demand instance becomes idle after the provisioned one (MRU would pick it).
        assert_eq!(p.acquire(s(1)), Decision::Warm(provisioned));
        let on_demand = match p.acquire(s(1)) {
            Decision::Cold(id) => id,
            other => panic!("{other:?}"),
        };
        p.release(provisioned, s(2));
        p.release(on_demand, s(3));
        assert_eq!(p.acquire(s(4)), Decision::Warm(provisioned));
        // Past the 2 h lifetime the on-demand instance is recycled, the provisioned one is not.
        p.release(provisioned, s(5));
        assert_eq!(p.evict(s(7_300)), vec![(on_demand, Eviction::Idle)]);
        assert_eq!(p.acquire(s(9_000)), Decision::Warm(provisioned));
        assert_eq!(p.release(provisioned, s(9_001)), None, "not recycled past the lifetime");
        assert!(p.evict(s(100_000)).is_empty());
    }

    #[test]
    fn jittered_keep_alive_is_seeded_and_within_bounds() {
        let config = PoolConfig {
            keep_alive: KeepAlive::Jittered { idle: s(600), jitter: s(60) },
            seed: 9,
            ..PoolConfig::default()
        };
        let draws = |config: &PoolConfig| {
            let mut p = pool(config.clone());
            (0..20)
                .map(|i| {
                    let t = s(i * 10_000);
                    p.evict(t);
                    let Decision::Cold(id) = p.acquire(t) else { panic!() };
                    p.release(id, t);
                    p.next_eviction().unwrap() - t
                })
                .collect::<Vec<_>>()
        };
        let a = draws(&config);
        assert_eq!(a, draws(&config));
        assert!(a.iter().all(|d| *d >= s(540) && *d <= s(660)));
        assert!(a.windows(2).any(|w| w[0] != w[1]));
    }
}
