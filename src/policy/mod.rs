//! The pool policy: which instance serves an invocation, when a new one starts, when to throttle,
//! and which idle instances to evict. Pure and deterministic: no I/O, no tokio; the clock is an
//! argument (a `Duration` since any fixed origin), so a simulator can replay months of traffic
//! through exactly the policy the real runtime uses.
//!
//! Defaults follow AWS Lambda (`docs/reference/lambda-and-container-model.md` §1–2): one request
//! per instance, 1,000 concurrent instances, scale-out of 1,000 new instances per 10 s refilled
//! continuously, idle keep-alive 10 min, instances recycled after about 2 h.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod bucket;
mod config;
mod credits;
pub mod health;
mod hybrid;
mod keep_warm;
pub mod scaling;

pub use bucket::TokenBucket;
pub use config::{Decision, Eviction, InstanceId, KeepAlive, PoolConfig, Reuse, ThrottleReason};
pub use credits::{CreditBucket, CreditMode, CreditSpec};
use hybrid::IdleHistogram;
pub use keep_warm::KeepWarm;

#[derive(Clone, Debug)]
struct Instance {
    started: Duration,
    provisioned: bool,
    /// The function version it runs (see [`Pool::deploy`]).
    version: u32,
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
    /// The keep-alive of its first idle period, when a pre-warm chose it.
    keep_first: Option<Duration>,
    /// Invocations it is serving (its Init counts as one until it is ready).
    active: u32,
    /// Its Init is done: it may take invocations beside the ones it has.
    ready: bool,
}

/// Counters over the pool's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub started: u64,
    pub evicted_idle: u64,
    pub evicted_lifetime: u64,
    pub discarded: u64,
    pub throttled: u64,
    /// Instances started ahead of demand by the hybrid policy.
    pub prewarmed: u64,
    pub peak_alive: usize,
    /// Time instances spent idle (alive, initialised, serving nothing), summed over instances:
    /// the memory a provider keeps warm for nothing. Counted when an idle period ends.
    pub idle: Duration,
    /// Instances of an older version stopped after a deploy (idle ones at once, busy ones when
    /// their invocation ended).
    pub replaced_by_deploy: u64,
    /// Instances' lifetimes summed (Init to stop), of those that have left the pool: what a
    /// multi-request environment's capacity is billed for.
    pub lifetimes: Duration,
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
    /// New instances allowed (Lambda's scale-out rate).
    scale_out: TokenBucket,
    rng: ChaCha8Rng,
    stats: PoolStats,
    /// The hybrid keep-alive's state: the idle-time histogram, when the function's last
    /// invocation ended, and a planned pre-warm (load at `.0`, keep for `.1`).
    histogram: Option<IdleHistogram>,
    last_end: Option<Duration>,
    planned: Option<(Duration, Duration)>,
    /// The function's current version: new instances run it; older ones serve nothing new.
    version: u32,
    /// Ready instances of the current version serving some invocations and able to take more
    /// (only with more than one request per instance): new invocations go to the oldest first.
    open: std::collections::BTreeSet<InstanceId>,
    /// The latest time any call gave: when a discarded instance's lifetime ends.
    last_seen: Duration,
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
        Self {
            instances: HashMap::default(),
            idle: VecDeque::new(),
            idle_provisioned: VecDeque::new(),
            idle_count: 0,
            deadlines: BinaryHeap::new(),
            next_id: 0,
            scale_out: TokenBucket::new(config.scale_burst, config.scale_rate_per_s, now),
            rng,
            stats: PoolStats::default(),
            histogram: matches!(config.keep_alive, KeepAlive::Hybrid { .. }).then(IdleHistogram::new),
            last_end: None,
            planned: None,
            version: 0,
            open: std::collections::BTreeSet::new(),
            last_seen: now,
            config,
        }
    }

    /// Publishes a new version at `now`, as updating a Lambda function's code or configuration
    /// does: new invocations go to new execution environments (every one starts cold), idle
    /// environments of the old version are stopped at once (returned for the caller to stop) and
    /// busy ones once their invocation ends ([`Eviction::Deployed`] from [`Pool::release`]).
    /// Provisioned environments are replaced too: the caller starts the new version's with
    /// [`Pool::start_provisioned`]. The hybrid policy keeps what it learnt (the traffic's shape
    /// did not change).
    pub fn deploy(&mut self, now: Duration) -> Vec<InstanceId> {
        self.see(now);
        self.version += 1;
        self.planned = None;
        // Busy instances of the old version take nothing new: they drain.
        self.open.clear();
        let idle: Vec<InstanceId> =
            self.instances.iter().filter(|(_, i)| i.idle.is_some()).map(|(id, _)| *id).collect();
        for id in &idle {
            if let Some(since) = self.remove(*id, now).and_then(|i| i.idle) {
                self.stats.idle += now.saturating_sub(since);
            }
        }
        self.stats.replaced_by_deploy += idle.len() as u64;
        idle
    }

    /// Instances still running an older version than the current one (busy: they drain).
    pub fn draining(&self) -> usize {
        self.instances.values().filter(|i| i.version < self.version).count()
    }

    /// Reserves the provisioned instances; the caller starts them (their Init runs before traffic)
    /// and reports each one ready with [`Pool::release`]. They use no scale-out tokens.
    pub fn start_provisioned(&mut self, now: Duration) -> Vec<InstanceId> {
        (0..self.config.provisioned).map(|_| self.add(now, true)).collect()
    }

    /// Decides how to serve an invocation arriving at `now`.
    pub fn acquire(&mut self, now: Duration) -> Decision {
        self.see(now);
        if let Some(histogram) = &mut self.histogram {
            // An idle time of the whole function: nothing ran since its last invocation ended.
            if let Some(end) = self.last_end.filter(|_| self.instances.len() == self.idle_count) {
                histogram.learn(now.saturating_sub(end));
            }
            // A pre-warm planned for later is superseded: the next plan follows this invocation.
            self.planned = None;
        }
        // An environment serving fewer requests than it can takes one more: environments fill
        // before new ones start (multi-request environments only).
        if let Some(id) = self.open.first().copied() {
            self.occupy(id);
            return Decision::Warm(id);
        }
        // Provisioned instances serve first; on-demand ones take the spill-over (as in Lambda).
        if let Some((id, since)) = self.take_idle(true).or_else(|| self.take_idle(false)) {
            self.stats.idle += now.saturating_sub(since);
            self.occupy(id);
            return Decision::Warm(id);
        }
        if self.instances.len() >= self.config.max_concurrency {
            self.stats.throttled += 1;
            return Decision::Throttle(ThrottleReason::ConcurrencyLimit);
        }
        if !self.scale_out.take(now) {
            self.stats.throttled += 1;
            return Decision::Throttle(ThrottleReason::ScalingRate);
        }
        Decision::Cold(self.add(now, false))
    }

    /// One more invocation on `id`; it stays open while it has room for another.
    fn occupy(&mut self, id: InstanceId) {
        let per_instance = self.config.per_instance.max(1);
        let Some(instance) = self.instances.get_mut(&id) else { return };
        instance.active += 1;
        if instance.active >= per_instance {
            self.open.remove(&id);
        } else if instance.ready && instance.version == self.version {
            self.open.insert(id);
        }
    }

    /// Instance `id`'s Init is done while it serves its first invocation: with more than one
    /// request per instance, it takes others beside it from now on. (Instances started ahead of
    /// traffic become ready with [`Pool::release`].)
    pub fn ready(&mut self, id: InstanceId) {
        let per_instance = self.config.per_instance.max(1);
        let Some(instance) = self.instances.get_mut(&id) else { return };
        instance.ready = true;
        if instance.active < per_instance && instance.version == self.version {
            self.open.insert(id);
        }
    }

    /// The invocation on `id` finished and the instance is ready for another (it polled `/next`).
    /// Returns an eviction when the instance has outlived its maximum lifetime, or when the hybrid
    /// policy unloads it until a pre-warm: the caller stops it. An instance serving other
    /// invocations still (several requests per instance) goes on serving them: it is idle, and
    /// judged, when its last one ends.
    pub fn release(&mut self, id: InstanceId, now: Duration) -> Option<Eviction> {
        self.see(now);
        let version = self.version;
        let instance = self.instances.get_mut(&id)?;
        instance.ready = true;
        instance.active = instance.active.saturating_sub(1);
        if instance.active > 0 {
            if instance.version == version {
                self.open.insert(id);
            }
            return None;
        }
        self.open.remove(&id);
        if self.instances.get(&id)?.version < self.version {
            self.remove(id, now);
            self.stats.replaced_by_deploy += 1;
            return Some(Eviction::Deployed);
        }
        let first = self.instances.get_mut(&id)?.keep_first.take();
        let keep_alive = match (first, &self.histogram) {
            (Some(keep), _) => keep,
            (None, Some(histogram)) => {
                self.last_end = Some(self.last_end.map_or(now, |e| e.max(now)));
                // The windows describe the function's idle times: they govern its last instance,
                // when the whole function goes idle. Extra instances keep the fixed fallback.
                let windows = if self.instances.len() == 1 { histogram.windows() } else { None };
                match windows {
                    Some(w) if !w.prewarm.is_zero() && !self.is_provisioned(id) => {
                        self.remove(id, now);
                        self.stats.evicted_idle += 1;
                        self.planned = Some((now + w.prewarm, w.keep));
                        return Some(Eviction::Idle);
                    }
                    Some(w) => w.keep,
                    None => self.config.keep_alive.draw(&mut self.rng),
                }
            }
            (None, None) => self.config.keep_alive.draw(&mut self.rng),
        };
        self.release_for(id, now, keep_alive)
    }

    fn release_for(&mut self, id: InstanceId, now: Duration, keep_alive: Duration) -> Option<Eviction> {
        let lifetime = self.config.max_lifetime;
        let instance = self.instances.get_mut(&id)?;
        // Provisioned environments are recycled too, but Lambda initialises their replacements
        // ahead of time: no invocation ever sees it, so they are modelled as never recycled.
        let lifetime = lifetime.filter(|_| !instance.provisioned);
        if lifetime.is_some_and(|l| now.saturating_sub(instance.started) >= l) {
            self.remove(id, now);
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

    /// When the hybrid policy wants an instance loaded ahead of demand, if it does.
    pub fn next_prewarm(&self) -> Option<Duration> {
        self.planned.map(|(at, _)| at)
    }

    /// The pre-warm due by `now`, if one is and no instance is idle already: a new instance the
    /// caller starts and initialises, then hands back with [`Pool::release`] (its first idle
    /// period lasts the policy's keep window). It uses no scale-out token.
    pub fn prewarm(&mut self, now: Duration) -> Option<InstanceId> {
        let (at, keep) = self.planned.filter(|(at, _)| *at <= now)?;
        self.planned = None;
        if self.idle_count > 0 || self.instances.len() >= self.config.max_concurrency {
            return None;
        }
        let id = self.add(at, false);
        self.instances.get_mut(&id).expect("just added").keep_first = Some(keep);
        self.stats.prewarmed += 1;
        Some(id)
    }

    fn see(&mut self, now: Duration) {
        self.last_seen = self.last_seen.max(now);
    }

    /// Instances' lifetimes so far, counting the instances still alive at `now`.
    pub fn lifetimes_until(&self, now: Duration) -> Duration {
        let running: Duration = self.instances.values().map(|i| now.saturating_sub(i.started)).sum();
        self.stats.lifetimes + running
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

    /// Takes an instance out of the pool at `end` (its index entries become stale), counting
    /// its lifetime.
    fn remove(&mut self, id: InstanceId, end: Duration) -> Option<Instance> {
        let instance = self.instances.remove(&id)?;
        if instance.idle.is_some() {
            self.idle_count -= 1;
        }
        self.open.remove(&id);
        self.stats.lifetimes += end.saturating_sub(instance.started);
        Some(instance)
    }

    /// The instance is gone (crashed, timed out, failed its Init): forget it (its lifetime ends
    /// at the last time the pool was told of).
    pub fn discard(&mut self, id: InstanceId) {
        if self.remove(id, self.last_seen).is_some() {
            self.stats.discarded += 1;
        }
    }

    /// Idle instances to stop at `now`: past their keep-alive (never provisioned ones) or past
    /// the maximum lifetime. They leave the pool at once.
    pub fn evict(&mut self, now: Duration) -> Vec<(InstanceId, Eviction)> {
        self.see(now);
        let lifetime = self.config.max_lifetime;
        let mut due = Vec::new();
        while let Some((deadline, id)) = self.next_deadline() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let instance = self.remove(id, deadline).expect("next_deadline names a pool instance");
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

    /// Whether instance `id` is idle (serving nothing).
    pub fn is_idle(&self, id: InstanceId) -> bool {
        self.instances.get(&id).is_some_and(|i| i.idle.is_some())
    }

    /// Instances alive now (busy or idle).
    pub fn alive(&self) -> usize {
        self.instances.len()
    }

    /// Idle instances now.
    pub fn idle(&self) -> usize {
        self.idle_count
    }

    /// Invocations running now, over every instance (CloudWatch's `ConcurrentExecutions`).
    pub fn executing(&self) -> usize {
        self.instances.values().map(|i| i.active as usize).sum()
    }

    /// Counters so far.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    fn add(&mut self, now: Duration, provisioned: bool) -> InstanceId {
        let id = self.next_id;
        self.next_id += 1;
        self.instances.insert(
            id,
            Instance {
                started: now,
                provisioned,
                version: self.version,
                idle: None,
                deadline: None,
                queued: None,
                period: 0,
                keep_first: None,
                active: 1,
                ready: false,
            },
        );
        self.stats.started += 1;
        self.stats.peak_alive = self.stats.peak_alive.max(self.instances.len());
        id
    }
}

impl From<PoolStats> for crate::metrics::FunctionStats {
    fn from(s: PoolStats) -> Self {
        Self {
            instances_started: s.started,
            evicted_idle: s.evicted_idle,
            evicted_lifetime: s.evicted_lifetime,
            discarded: s.discarded,
            throttled: s.throttled,
            prewarmed: s.prewarmed,
            peak_instances: s.peak_alive,
            instance_seconds: s.lifetimes.as_secs_f64(),
            // The pool does not see processes or the Runtime API; the runtime fills these in.
            died_idle: 0,
            cold_while_finishing: 0,
            arrived_while_finishing: 0,
        }
    }
}

#[cfg(test)]
mod tests;
