//! The function backend: a local Lambda-style platform that runs unmodified Runtime API programs
//! as processes, one invocation per instance at a time, with Lambda's pool, limits and billing.
//!
//! `config` is what the runtime is told about a function; `pool` decides (pure); `instance` and `api` run processes and speak the Runtime API;
//! `invoke` carries one invocation through its lifecycle and faults, and `faults` words them as
//! Lambda and the terminal give them; `front` maps the Invoke API and function-URL requests onto
//! invocations (`url` is the function URL's event and response mapping); `events` queues,
//! retries and drops asynchronous ones; `billing` writes records and REPORT lines.

pub(crate) mod api;
pub(crate) mod billing;
mod config;
mod events;
mod faults;
mod front;
mod instance;
mod invoke;
mod url;

use std::collections::HashMap;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::lambda;
use crate::metrics::{BillingRecord, FunctionStats, InvocationSummary};
pub use config::FunctionConfig;
pub use invoke::{Caller, Invoked};

use crate::gateway::{Backend, Invocation, InvokeFuture};
use crate::policy::{InstanceId, Pool};
use crate::time::clock::Alarm;
use instance::{FunctionInstance, InitEnd};

/// How often idle instances are checked for eviction.
const EVICTION_TICK: Duration = Duration::from_millis(20);

struct Inner {
    /// Itself, for the instances' ready hooks (weak: the instances belong to it).
    me: std::sync::Weak<Inner>,
    config: FunctionConfig,
    origin: Instant,
    pool: Mutex<Pool>,
    instances: Mutex<HashMap<InstanceId, Arc<FunctionInstance>>>,
    /// The user invocations' records, summed.
    summary: Mutex<InvocationSummary>,
    shutdown: CancellationToken,
    /// Holds the keep-alive policy's next pre-warm, so that fast-forward does not jump past it.
    prewarm_alarm: Alarm,
    /// What the first instance that failed its Init did, in words for the terminal: the
    /// invocation's own error is Lambda's terse one.
    init_failure: Mutex<Option<String>>,
    /// Instances whose runtime exited while they had no invocation.
    died_idle: AtomicU64,
    /// Answered invocations whose runtime has not yet called `/next` (for a moment -1: the
    /// runtime's `/next` can come before its caller's task counts the answer) ...
    finishing: AtomicIsize,
    /// ... invocations that arrived while there was at least one, and the cold starts they made.
    arrived_while_finishing: AtomicU64,
    cold_while_finishing: AtomicU64,
    /// How many tasks wait for those `/next` calls to make the invocations' final records.
    pending: watch::Sender<usize>,
    /// Asynchronous invocations waiting for their turn or a retry.
    events: events::EventQueue,
    /// Instances killed by `stop`, until `stopped` has seen them exit.
    stopping: Mutex<Vec<Arc<FunctionInstance>>>,
    /// The environment variables an `UpdateFunctionConfiguration` set, replacing the configured
    /// ones for instances started since.
    environment: Mutex<Option<Vec<(String, String)>>>,
}

/// The local function runtime, served through the gateway as a [`Backend`].
#[derive(Clone)]
pub struct FunctionRuntime {
    inner: Arc<Inner>,
}

impl FunctionRuntime {
    /// Starts the runtime: provisioned instances are started and initialised before it returns.
    ///
    /// # Errors
    /// When a provisioned instance cannot start or fails its Init.
    pub async fn start(config: FunctionConfig) -> anyhow::Result<Self> {
        let origin = config.clock.now();
        let pool = Pool::new(config.pool.clone(), Duration::ZERO);
        let prewarm_alarm = config.clock.alarm();
        let events = events::EventQueue::new(config.async_retries, config.max_event_age);
        let inner = Arc::new_cyclic(|me| Inner {
            me: me.clone(),
            prewarm_alarm,
            config,
            origin,
            pool: Mutex::new(pool),
            instances: Mutex::new(HashMap::new()),
            summary: Mutex::new(InvocationSummary::default()),
            init_failure: Mutex::new(None),
            died_idle: AtomicU64::new(0),
            finishing: AtomicIsize::new(0),
            arrived_while_finishing: AtomicU64::new(0),
            cold_while_finishing: AtomicU64::new(0),
            pending: watch::Sender::new(0),
            events,
            stopping: Mutex::new(Vec::new()),
            environment: Mutex::new(None),
            shutdown: CancellationToken::new(),
        });
        let runtime = Self { inner };
        runtime.start_provisioned().await?;
        tokio::spawn(evict_loop(Arc::clone(&runtime.inner)));
        tokio::spawn(events::dispatch(Arc::clone(&runtime.inner)));
        Ok(runtime)
    }

    async fn start_provisioned(&self) -> anyhow::Result<()> {
        let inner = &self.inner;
        let ids = inner.pool.lock().expect("pool lock").start_provisioned(inner.now());
        for id in ids {
            inner.initialise(id, true).await?;
            inner.release(id);
        }
        Ok(())
    }

    /// Publishes a new version, as updating the function's code or configuration does (see
    /// [`crate::policy::Pool::deploy`]): idle environments stop now, busy ones after their
    /// invocation, the next invocations start new ones cold, and provisioned environments are
    /// started for the new version. Returns, once no environment of the old version is left,
    /// how many it replaced.
    ///
    /// # Errors
    /// When a new provisioned environment cannot start or fails its Init.
    pub async fn deploy(&self) -> anyhow::Result<u64> {
        let inner = &self.inner;
        let before = inner.pool.lock().expect("pool lock").stats().replaced_by_deploy;
        let stopped = inner.pool.lock().expect("pool lock").deploy(inner.now());
        for id in stopped {
            inner.forget(id);
        }
        self.start_provisioned().await?;
        while inner.pool.lock().expect("pool lock").draining() > 0 && !inner.shutdown.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(inner.pool.lock().expect("pool lock").stats().replaced_by_deploy - before)
    }

    /// The function's environment variables now (the configured ones, or the last update's).
    pub fn environment(&self) -> Vec<(String, String)> {
        self.inner
            .environment
            .lock()
            .expect("environment lock")
            .clone()
            .unwrap_or_else(|| self.inner.config.env.clone())
    }

    /// `UpdateFunctionConfiguration` with new environment variables: as on Lambda, a new version
    /// that every new invocation meets in a new environment (idle ones of the old version are
    /// stopped now, busy ones when their invocation ends) — how lambda-perf forces cold starts.
    /// The update is done when this returns; old environments drain on their own.
    pub fn update_environment(&self, variables: Vec<(String, String)>) {
        let inner = &self.inner;
        *inner.environment.lock().expect("environment lock") = Some(variables);
        let stopped = inner.pool.lock().expect("pool lock").deploy(inner.now());
        for id in stopped {
            inner.forget(id);
        }
    }

    /// Invokes the function with a raw event, as the Invoke API does; the invocation is the
    /// user's: it is summed and its record goes to [`FunctionConfig::records`] when it ends (at
    /// the runtime's next `/next`, which may come after the answer returned here).
    pub async fn invoke(&self, payload: bytes::Bytes, caller: Caller) -> Invoked {
        let request_id = invoke::new_request_id();
        invoke::invoke(&self.inner, request_id, payload, caller, None, invoke::Purpose::User(None)).await
    }

    /// [`FunctionRuntime::invoke`] for `X-Amz-Log-Type: Tail`: returns once the invocation has
    /// ended (at `/next`, so its REPORT line is written), with the last 4 KB of its log.
    pub async fn invoke_with_log(&self, payload: bytes::Bytes, caller: Caller) -> (Invoked, Vec<u8>) {
        let (tail, (ended_tx, ended)) = (billing::Tail::default(), oneshot::channel());
        let purpose = invoke::Purpose::User(Some(ended_tx));
        let request_id = invoke::new_request_id();
        let invoked = invoke::invoke(&self.inner, request_id, payload, caller, Some(tail.clone()), purpose).await;
        let _ = ended.await;
        (invoked, tail.last())
    }

    /// Accepts an asynchronous invocation (`X-Amz-Invocation-Type: Event`): queued, run, and
    /// retried or dropped as Lambda does (see `events`); returns its request id at once.
    pub fn enqueue(&self, payload: bytes::Bytes, caller: Caller) -> String {
        self.inner.events.accept(payload, caller, self.inner.config.clock.now())
    }

    /// Waits until every accepted asynchronous invocation is done — retries included, which a
    /// fast-forwarded clock reaches by skipping idle time — or `cancel` fires.
    pub async fn drain_events(&self, cancel: &CancellationToken) {
        self.inner.events.drain(cancel).await;
    }

    /// Asynchronous invocations accepted and not yet done, and the age of the oldest.
    pub fn event_queue(&self) -> (usize, Duration) {
        self.inner.events.depth(self.inner.config.clock.now())
    }

    /// Keeps the asynchronous queue's depth and oldest event's age per `interval` of the clock
    /// from `origin` on, for [`FunctionRuntime::events`].
    pub fn track_events(&self, origin: Instant, interval: Duration) {
        self.inner.events.track(origin, interval);
    }

    /// What happened to the asynchronous invocations, if there were any.
    pub fn events(&self) -> Option<crate::metrics::EventReport> {
        self.inner.events.report(self.inner.config.clock.now())
    }

    /// The function this runtime runs.
    pub fn config(&self) -> &FunctionConfig {
        &self.inner.config
    }

    /// Invokes the function for the platform (a keep-warm ping): billed and logged like any
    /// invocation, but not the user's, so neither summed nor recorded; returns its final record.
    pub async fn ping(&self, payload: bytes::Bytes) -> BillingRecord {
        let (tx, rx) = oneshot::channel();
        let request_id = invoke::new_request_id();
        let purpose = invoke::Purpose::Ping(tx);
        let invoked = invoke::invoke(&self.inner, request_id, payload, Caller::default(), None, purpose).await;
        rx.await.unwrap_or_else(|_| invoked.record().clone())
    }

    /// Waits until every answered invocation has ended (its runtime called `/next`, exited or
    /// ran out of time), or `cancel` fires; call it before [`FunctionRuntime::stop`] so that work
    /// after the last response is measured, and after it so that every record is made.
    pub async fn settle(&self, cancel: &CancellationToken) {
        let mut pending = self.inner.pending.subscribe();
        tokio::select! {
            _ = pending.wait_for(|n| *n == 0) => {}
            () = cancel.cancelled() => {}
        }
    }

    /// [`FunctionRuntime::settle`] without a way out: for callers that send one request after
    /// another and need the instance that answered back in the pool first.
    pub async fn settled(&self) {
        self.settle(&CancellationToken::new()).await;
    }

    /// The user invocations so far, summed.
    pub fn summary(&self) -> InvocationSummary {
        self.inner.summary.lock().expect("summary lock").clone()
    }

    /// How the first instance that failed its Init failed, with the end of its output: "exited
    /// with exit status 1 before calling /next …", "did not call /next within 10 s …".
    pub fn init_failure(&self) -> Option<String> {
        self.inner.init_failure.lock().expect("init failure lock").clone()
    }

    /// Instance counters so far.
    pub fn stats(&self) -> FunctionStats {
        let pool = self.inner.pool.lock().expect("pool lock");
        let mut stats: FunctionStats = pool.stats().into();
        stats.instance_seconds = pool.lifetimes_until(self.inner.now()).as_secs_f64();
        drop(pool);
        stats.died_idle = self.inner.died_idle.load(Ordering::Relaxed);
        stats.cold_while_finishing = self.inner.cold_while_finishing.load(Ordering::Relaxed);
        stats.arrived_while_finishing = self.inner.arrived_while_finishing.load(Ordering::Relaxed);
        stats
    }

    /// Instances alive now.
    pub fn alive(&self) -> usize {
        self.inner.pool.lock().expect("pool lock").alive()
    }

    /// Instances alive and idle now: initialised, and their runtime waiting in `/next`.
    pub fn idle(&self) -> usize {
        self.inner.pool.lock().expect("pool lock").idle()
    }

    /// Invocations running now, over every instance.
    pub fn executing(&self) -> usize {
        self.inner.pool.lock().expect("pool lock").executing()
    }

    /// Kills every instance and stops evicting; [`FunctionRuntime::stopped`] waits for the ends.
    pub fn stop(&self) {
        self.inner.shutdown.cancel();
        let instances: Vec<_> = self.inner.instances.lock().expect("instances lock").drain().map(|(_, i)| i).collect();
        for instance in &instances {
            instance.kill();
        }
        self.inner.stopping.lock().expect("stopping lock").extend(instances);
    }

    /// Waits (at most 5 s) until every instance [`FunctionRuntime::stop`] killed has exited: a
    /// SIGKILL takes effect when the kernel next runs the process, which on a busy host can be
    /// after coldbench itself would have exited.
    pub async fn stopped(&self) {
        let instances = std::mem::take(&mut *self.inner.stopping.lock().expect("stopping lock"));
        let all = async {
            for instance in &instances {
                instance.exited().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), all).await;
    }
}

impl Inner {
    /// The pool's clock: time since the runtime started, skipped idle time included.
    fn now(&self) -> Duration {
        self.config.clock.now().saturating_duration_since(self.origin)
    }

    /// Starts instance `id` ahead of traffic and waits for its Init (a provisioned instance, or
    /// one the keep-alive policy pre-warms); it joins the instances once initialised.
    ///
    /// # Errors
    /// When it cannot start or fails its Init (it is killed).
    async fn initialise(&self, id: InstanceId, provisioned: bool) -> anyhow::Result<()> {
        self.log(&billing::init_start_line(&self.config.region));
        let instance = self.spawn(id, provisioned).await?;
        let deadline = instance.spawned_at + self.init_limit(provisioned);
        match instance.wait_initialized(deadline).await {
            // Ahead of traffic: no invocation's REPORT line will carry this Init.
            InitEnd::Ready(took) => self.log(&billing::init_report_line(took, "init", None)),
            other => {
                self.log(&billing::init_report_line(instance.spawned_at.elapsed(), "init", Some(other.status())));
                instance.kill();
                anyhow::bail!(
                    "{} instance {} did not initialise: {}; its output ends with:\n{}",
                    if provisioned { "provisioned" } else { "pre-warmed" },
                    instance.name,
                    other.describe(),
                    instance.tail()
                )
            }
        }
        self.adopt(id, instance);
        Ok(())
    }

    /// Makes a started instance the pool's instance `id`.
    fn adopt(&self, id: InstanceId, instance: FunctionInstance) -> Arc<FunctionInstance> {
        let instance = Arc::new(instance);
        self.instances.lock().expect("instances lock").insert(id, Arc::clone(&instance));
        // Stopped while it started: nothing else will kill it.
        if self.shutdown.is_cancelled() {
            self.forget(id);
        }
        instance
    }

    /// How long an instance's Init may take before it is stopped.
    fn init_limit(&self, provisioned: bool) -> Duration {
        lambda::init_limit(provisioned, self.config.init_timeout, self.config.timeout)
    }

    /// Starts instance `id`'s process (its INIT_START line is the caller's to write); when its runtime comes back to `/next` after an
    /// invocation, the instance is released to the pool.
    async fn spawn(&self, id: InstanceId, provisioned: bool) -> std::io::Result<FunctionInstance> {
        let me = self.me.clone();
        let on_ready = Box::new(move || {
            if let Some(inner) = me.upgrade() {
                inner.finishing.fetch_sub(1, Ordering::Relaxed);
                inner.release(id);
            }
        });
        let updated = self.environment.lock().expect("environment lock").clone();
        match updated {
            Some(env) => {
                let config = FunctionConfig { env, ..self.config.clone() };
                FunctionInstance::spawn(&config, id, provisioned, self.config.log.clone(), on_ready).await
            }
            None => FunctionInstance::spawn(&self.config, id, provisioned, self.config.log.clone(), on_ready).await,
        }
    }

    /// Returns instance `id` to the pool: idle (frozen first, so that whoever takes it next
    /// thaws it), or retired when its lifetime is over.
    fn release(&self, id: InstanceId) {
        let instance = self.instances.lock().expect("instances lock").get(&id).cloned();
        let retired = {
            let mut pool = self.pool.lock().expect("pool lock");
            let retired = pool.release(id, self.now());
            // Frozen with the pool still locked, so that whoever takes it next thaws it after;
            // an instance still serving other invocations (several per instance) runs on.
            if let Some(instance) = instance.filter(|_| retired.is_none() && pool.is_idle(id)) {
                instance.freeze();
            }
            retired
        };
        self.follow_prewarm();
        if retired.is_some() {
            self.forget(id);
        }
    }

    /// Loads the instance the keep-alive policy wants ready before the next expected invocation
    /// (the hybrid policy's pre-warm), if one is due. Not billed: the provider pays for it.
    fn prewarm_due(self: &Arc<Self>) {
        let due = self.pool.lock().expect("pool lock").prewarm(self.now());
        self.follow_prewarm();
        let Some(id) = due else { return };
        let inner = Arc::clone(self);
        // The clock does not jump while the instance initialises, as it would not in real time.
        let busy = self.config.clock.busy();
        tokio::spawn(async move {
            let _busy = busy;
            match inner.initialise(id, false).await {
                Ok(()) => inner.release(id),
                Err(err) => {
                    inner.log(&format!("coldbench: pre-warm failed: {err:#}"));
                    inner.pool.lock().expect("pool lock").discard(id);
                }
            }
        });
    }

    /// Moves the pre-warm alarm to the pool's next planned pre-warm (or clears it); called after
    /// every pool call that may plan or cancel one.
    fn follow_prewarm(&self) {
        // Only the hybrid keep-alive plans pre-warms: no other pool pays for the lookup.
        if !matches!(self.config.pool.keep_alive, crate::policy::KeepAlive::Hybrid { .. }) {
            return;
        }
        match self.pool.lock().expect("pool lock").next_prewarm() {
            Some(at) => self.prewarm_alarm.set(self.origin + at),
            None => self.prewarm_alarm.clear(),
        }
    }

    /// Evicts every instance whose keep-alive or lifetime has run out, and stops it.
    fn evict_expired(&self) {
        let evicted = self.pool.lock().expect("pool lock").evict(self.now());
        for (id, _) in evicted {
            self.forget(id);
        }
    }

    /// Where an invocation's final record goes.
    fn settle(&self, record: BillingRecord, purpose: invoke::Purpose) {
        match purpose {
            invoke::Purpose::User(ended) => {
                self.summary.lock().expect("summary lock").add(&record);
                if let Some(log) = &self.config.records {
                    log.record(&self.config.name, &record);
                }
                if let Some(ended) = ended {
                    let _ = ended.send(record);
                }
            }
            invoke::Purpose::Ping(tx) => {
                let _ = tx.send(record);
            }
        }
    }

    fn log(&self, line: &str) {
        if let Some(log) = &self.config.log {
            log(line);
        }
    }

    /// Removes a dead or evicted instance and kills its processes.
    fn forget(&self, id: InstanceId) {
        if let Some(instance) = self.instances.lock().expect("instances lock").remove(&id) {
            instance.kill();
        }
    }
}

async fn evict_loop(inner: Arc<Inner>) {
    loop {
        tokio::select! {
            () = inner.shutdown.cancelled() => return,
            () = tokio::time::sleep(EVICTION_TICK) => {}
        }
        inner.evict_expired();
        inner.prewarm_due();
    }
}

impl Backend for FunctionRuntime {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(front::serve(self, invocation))
    }

    fn body_limit(&self) -> usize {
        crate::lambda::MAX_REQUEST_BYTES
    }

    fn body_too_large(&self) -> http::Response<bytes::Bytes> {
        front::request_too_large()
    }
}
