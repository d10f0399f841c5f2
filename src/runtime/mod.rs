//! The function backend: a local Lambda-style platform that runs unmodified Runtime API programs
//! as processes, one invocation per instance at a time, with Lambda's pool, limits and billing.
//!
//! `pool` decides (pure); `instance` and `api` run processes and speak the Runtime API;
//! `invoke` carries one invocation through its lifecycle and faults; `front` maps the Invoke API
//! and function-URL requests onto invocations; `billing` writes records and REPORT lines.

pub mod api;
pub mod billing;
mod front;
mod instance;
mod invoke;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::lambda::BillingMode;
use crate::metrics::{BillingRecord, FunctionStats};
pub use invoke::Invoked;

use crate::gateway::{Backend, Invocation, InvokeFuture};
use crate::policy::{InstanceId, Pool, PoolConfig};
use crate::process::LineSink;
use crate::time::clock::Clock;
use instance::{FunctionInstance, InitEnd};

/// How often idle instances are checked for eviction.
const EVICTION_TICK: Duration = Duration::from_millis(20);

/// Everything the runtime needs to know about one function.
#[derive(Clone)]
pub struct FunctionConfig {
    pub name: String,
    /// The program speaking the Runtime API, with its arguments.
    pub command: Vec<String>,
    pub handler: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub init_timeout: Duration,
    pub region: String,
    /// Extra environment variables (only these reach the process besides Lambda's own).
    pub env: Vec<(String, String)>,
    pub pool: PoolConfig,
    pub billing: BillingMode,
    /// Where START/END/REPORT lines and the function's output go.
    pub log: Option<LineSink>,
    /// The clock keep-alive, lifetime and the scale-out bucket read (fast-forwarded in runs
    /// that skip idle time).
    pub clock: Clock,
}

impl FunctionConfig {
    /// The ARN a real function of this name would have.
    pub fn function_arn(&self) -> String {
        format!("arn:aws:lambda:{}:000000000000:function:{}", self.region, self.name)
    }
}

struct Inner {
    config: FunctionConfig,
    origin: Instant,
    pool: Mutex<Pool>,
    instances: Mutex<HashMap<InstanceId, Arc<FunctionInstance>>>,
    records: Mutex<Vec<BillingRecord>>,
    shutdown: CancellationToken,
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
        let inner = Arc::new(Inner {
            config,
            origin,
            pool: Mutex::new(pool),
            instances: Mutex::new(HashMap::new()),
            records: Mutex::new(Vec::new()),
            shutdown: CancellationToken::new(),
        });
        let runtime = Self { inner };
        runtime.start_provisioned().await?;
        tokio::spawn(evict_loop(Arc::clone(&runtime.inner)));
        Ok(runtime)
    }

    async fn start_provisioned(&self) -> anyhow::Result<()> {
        let inner = &self.inner;
        let ids = inner.pool.lock().expect("pool lock").start_provisioned(inner.now());
        for id in ids {
            let instance = FunctionInstance::spawn(&inner.config, id, true, inner.config.log.clone()).await?;
            let deadline = instance.spawned_at + inner.config.init_timeout;
            match instance.wait_initialized(deadline).await {
                InitEnd::Ready(_) => {}
                other => {
                    instance.kill();
                    anyhow::bail!(
                        "provisioned instance {} did not initialise: {other:?}; its output ends with:\n{}",
                        instance.name,
                        instance.tail()
                    )
                }
            }
            inner.instances.lock().expect("instances lock").insert(id, Arc::new(instance));
            inner.pool.lock().expect("pool lock").release(id, inner.now());
        }
        Ok(())
    }

    /// Invokes the function with a raw event, as the Invoke API does.
    pub async fn invoke(&self, payload: bytes::Bytes, client_context: Option<String>) -> Invoked {
        invoke::invoke(&self.inner, payload, client_context).await
    }

    /// Billing records so far.
    pub fn records(&self) -> Vec<BillingRecord> {
        self.inner.records.lock().expect("records lock").clone()
    }

    /// Instance counters so far.
    pub fn stats(&self) -> FunctionStats {
        self.inner.pool.lock().expect("pool lock").stats().into()
    }

    /// Instances alive now.
    pub fn alive(&self) -> usize {
        self.inner.pool.lock().expect("pool lock").alive()
    }

    /// Kills every instance and stops evicting.
    pub fn stop(&self) {
        self.inner.shutdown.cancel();
        let instances: Vec<_> = self.inner.instances.lock().expect("instances lock").drain().map(|(_, i)| i).collect();
        for instance in instances {
            instance.kill();
        }
    }
}

impl Inner {
    /// The pool's clock: time since the runtime started, skipped idle time included.
    fn now(&self) -> Duration {
        self.config.clock.now().saturating_duration_since(self.origin)
    }

    /// Evicts every instance whose keep-alive or lifetime has run out, and stops it.
    fn evict_expired(&self) {
        let evicted = self.pool.lock().expect("pool lock").evict(self.now());
        for (id, _) in evicted {
            self.forget(id);
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
    }
}

impl Backend for FunctionRuntime {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(front::serve(self, invocation))
    }
}
