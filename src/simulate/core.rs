//! The discrete-event core every function simulation shares (`simulate` of a workload's function
//! targets, `replay` of a whole trace): one deployment's pool policy, the instances busy until a
//! time, and the seeded draws. Events are handled in time order — invocations ending, the
//! keep-alive policy's pre-warms, evictions — so the policy sees exactly the sequence of calls
//! the real runtime makes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::policy::{Decision, InstanceId, Pool, PoolConfig};

/// One function deployment in simulated time.
pub(super) struct Deployment {
    pool: Pool,
    busy: BinaryHeap<Reverse<(Duration, InstanceId)>>,
    /// Cold instances whose Init ends at a time, after which they take more invocations than
    /// their first (several requests per instance).
    opening: BinaryHeap<Reverse<(Duration, InstanceId)>>,
    pub rng: ChaCha8Rng,
    per_instance: u32,
}

impl Deployment {
    /// A deployment at time 0 whose provisioned instances are initialised and idle.
    pub fn new(config: PoolConfig, seed: u64) -> Self {
        let per_instance = config.per_instance;
        let mut pool = Pool::new(config, Duration::ZERO);
        for id in pool.start_provisioned(Duration::ZERO) {
            pool.release(id, Duration::ZERO);
        }
        Self {
            pool,
            busy: BinaryHeap::new(),
            opening: BinaryHeap::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            per_instance,
        }
    }

    /// Brings the deployment to time `t`, event by event: invocations done by then release their
    /// instances, pre-warms due by then load theirs (initialised ahead, as the policy intends),
    /// and instances past their keep-alive or lifetime are evicted.
    pub fn advance(&mut self, t: Duration) {
        loop {
            let opens = self.opening.peek().map(|Reverse((at, _))| *at).filter(|at| *at <= t);
            let first = [self.busy.peek().map(|Reverse((done, _))| *done), self.pool.next_prewarm()];
            if let Some(at) = opens.filter(|at| first.iter().flatten().all(|other| at <= other)) {
                let Reverse((_, id)) = self.opening.pop().expect("peeked");
                self.pool.evict(at);
                self.pool.ready(id);
                continue;
            }
            let done = self.busy.peek().map(|Reverse((done, _))| *done).filter(|done| *done <= t);
            let prewarm = self.pool.next_prewarm().filter(|at| *at <= t);
            match (done, prewarm) {
                (Some(done), at) if at.is_none_or(|at| done <= at) => {
                    let Reverse((_, id)) = self.busy.pop().expect("peeked");
                    self.pool.evict(done);
                    self.pool.release(id, done);
                }
                (_, Some(at)) => {
                    self.pool.evict(at);
                    if let Some(id) = self.pool.prewarm(at) {
                        self.pool.release(id, at);
                    }
                }
                _ => break,
            }
        }
        self.pool.evict(t);
    }

    /// The policy's decision for an invocation at `t` (call [`Deployment::advance`] first).
    pub fn acquire(&mut self, t: Duration) -> Decision {
        self.pool.acquire(t)
    }

    /// The cold instance `id` finishes its Init at `at` (it takes others beside its first
    /// invocation from then on, when it can take several).
    pub fn opens(&mut self, id: InstanceId, at: Duration) {
        if self.per_instance > 1 {
            self.opening.push(Reverse((at, id)));
        }
    }

    /// The instance serves until `until`, then goes back to the pool.
    pub fn occupy(&mut self, id: InstanceId, until: Duration) {
        self.busy.push(Reverse((until, id)));
    }

    /// Returns an instance at once (a ping answered before the traffic starts).
    pub fn release(&mut self, id: InstanceId, t: Duration) {
        self.pool.release(id, t);
    }

    /// The instance is gone (its invocation timed out).
    pub fn discard(&mut self, id: InstanceId) {
        self.pool.discard(id);
    }

    /// Invocations in flight.
    pub fn busy(&self) -> usize {
        self.busy.len()
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}
