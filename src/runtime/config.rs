//! What the runtime needs to know about one function: its program, Lambda's settings (memory,
//! timeouts, region, pool, billing) and where its logs and records go, with Lambda's defaults.

use std::sync::Arc;
use std::time::Duration;

use crate::lambda::{self, BillingMode};
use crate::metrics::RecordLog;
use crate::policy::PoolConfig;
use crate::process::LineSink;
use crate::time::clock::Clock;

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
    /// Where each user invocation's billing record goes as it is made (a run's
    /// `invocations.csv`); the runtime itself keeps only their [`InvocationSummary`], so its
    /// memory stays flat at any invocation count.
    pub records: Option<Arc<dyn RecordLog>>,
    /// Give each instance a network namespace of its own (see `crate::isolation`); only when
    /// `isolation::available()` says it can be done.
    pub isolate: bool,
    /// Give each instance a cgroup with Lambda's CPU share and memory limit (see
    /// `crate::cgroup`); only when `cgroup::available()` says it can be done.
    pub enforce_resources: bool,
    /// vCPUs during Init, when it should get more than the memory's share (observed on Lambda,
    /// 2nd-hand: about 2 unthrottled vCPUs even at low memory); `None`: the same share.
    pub init_cpus: Option<f64>,
    /// The clock keep-alive, lifetime and the scale-out bucket read (fast-forwarded in runs
    /// that skip idle time).
    pub clock: Clock,
    /// Asynchronous invocations: retries after a function error (`MaximumRetryAttempts`, 0–2)
    /// and how old an event may grow before it is dropped (`MaximumEventAgeInSeconds`).
    pub async_retries: u32,
    pub max_event_age: Duration,
    /// The function's working directory and `LAMBDA_TASK_ROOT`; `None`: coldbench's own.
    pub cwd: Option<std::path::PathBuf>,
}

impl FunctionConfig {
    /// A function running `command`, with Lambda's defaults for everything else: 128 MB, a 3 s
    /// timeout, a 10 s Init limit, handler `handler`, us-east-1, Lambda's pool (1,000 concurrent
    /// instances, 10-minute keep-alive, 2-hour lifetime), standard billing, no log, real time.
    /// Change any of them with the builder methods.
    pub fn new(name: impl Into<String>, command: Vec<String>) -> Self {
        Self {
            name: name.into(),
            command,
            handler: lambda::DEFAULT_HANDLER.into(),
            memory_mb: lambda::DEFAULT_MEMORY_MB,
            timeout: lambda::DEFAULT_TIMEOUT,
            init_timeout: lambda::DEFAULT_INIT_TIMEOUT,
            region: lambda::DEFAULT_REGION.into(),
            env: Vec::new(),
            pool: PoolConfig::default(),
            billing: BillingMode::default(),
            log: None,
            records: None,
            isolate: false,
            enforce_resources: false,
            init_cpus: None,
            cwd: None,
            clock: Clock::real(),
            async_retries: lambda::DEFAULT_ASYNC_RETRIES,
            max_event_age: lambda::DEFAULT_MAX_EVENT_AGE,
        }
    }

    #[must_use]
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = handler.into();
        self
    }

    #[must_use]
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    #[must_use]
    pub fn init_timeout(mut self, init_timeout: Duration) -> Self {
        self.init_timeout = init_timeout;
        self
    }

    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    #[must_use]
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    #[must_use]
    pub fn billing(mut self, billing: BillingMode) -> Self {
        self.billing = billing;
        self
    }

    #[must_use]
    pub fn log(mut self, log: LineSink) -> Self {
        self.log = Some(log);
        self
    }

    #[must_use]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Retries of an asynchronous invocation after a function error (Lambda's 0–2).
    #[must_use]
    pub fn async_retries(mut self, retries: u32) -> Self {
        self.async_retries = retries;
        self
    }

    /// How old an asynchronous event may grow before it is dropped.
    #[must_use]
    pub fn max_event_age(mut self, age: Duration) -> Self {
        self.max_event_age = age;
        self
    }

    /// The ARN a real function of this name would have.
    pub fn function_arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.region, lambda::ACCOUNT_ID, self.name)
    }
}
