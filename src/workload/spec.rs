//! The workload file as written: serde types with unknown fields rejected.
//!
//! These types only describe the TOML; range checks live in `validate.rs`, so a type error and a
//! value error are both reported with the field's path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::HumanDuration;
use super::{Init, Work};
use crate::lambda;
use crate::metrics::TargetKind;

/// A workload file: the traffic, what the function does, and the targets to compare.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Short name; used in the report folder name.
    pub name: String,
    /// What the workload models, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// How long each target is driven.
    pub duration: HumanDuration,
    /// Seed for every random choice (arrivals, trace spreading); the same seed gives the same run.
    #[serde(default)]
    pub seed: u64,
    /// The arrival process.
    pub traffic: TrafficSpec,
    /// What the bundled demo function does (ignored by `url` targets and foreign commands).
    #[serde(default)]
    pub function: FunctionSpec,
    /// Load generator settings.
    #[serde(default)]
    pub load: LoadSpec,
    /// Assumptions of the monthly cost projection (instance type, front door, free tier).
    #[serde(default)]
    pub cost: crate::cost::CostSettings,
    /// The requests every target receives unless it has its own (`[[requests]]`); none: the
    /// demo function's work body.
    #[serde(default)]
    pub requests: Vec<super::RequestSpec>,
    /// How a request is drawn from them: by weight (seeded) or in order.
    #[serde(default)]
    pub request_order: super::RequestOrder,
    /// Pass/fail criteria (k6's thresholds): `metric = "< value"` for every target, and
    /// `[thresholds.<target>]` tables for one (checked into `Workload::thresholds`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, toml::Value>,
    /// The deployments to compare, run one after another.
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
}

/// The arrival process, chosen by `pattern`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "snake_case", deny_unknown_fields)]
pub enum TrafficSpec {
    /// Evenly spaced requests at `rate` per second.
    Constant { rate: f64 },
    /// Exponential gaps with mean `1 / rate` seconds.
    Poisson { rate: f64 },
    /// `rate` per second for `burst`, then nothing for `idle`, repeated.
    Bursts { rate: f64, burst: HumanDuration, idle: HumanDuration },
    /// Linear rate changes, one per stage, like k6 stages.
    Ramp { stages: Vec<RampStage> },
    /// `per_day` requests a day as a Poisson process; optionally stop after `requests`.
    Sparse {
        per_day: f64,
        #[serde(default)]
        requests: Option<u64>,
    },
    /// Replay of recorded arrivals.
    Trace {
        file: PathBuf,
        #[serde(default)]
        format: TraceFormat,
        /// For `azure` files: the `HashFunction` whose row to replay (default: the first row).
        #[serde(default)]
        function: Option<String>,
        /// For `azure` files: how requests are placed within each minute.
        #[serde(default)]
        spread: Spread,
    },
}

/// One ramp stage: the rate moves linearly from `from` to `to` over `duration`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampStage {
    pub from: f64,
    pub to: f64,
    pub duration: HumanDuration,
}

/// Layout of a trace file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormat {
    /// One request per line: seconds since the start (a header line is allowed).
    #[default]
    Timestamps,
    /// Azure Functions public trace: one row per function, columns `1..1440` of per-minute counts.
    Azure,
}

/// How per-minute counts become send times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spread {
    /// Seeded uniform random times within the minute.
    #[default]
    Uniform,
    /// Evenly spaced within the minute.
    Even,
}

/// The bundled demo function's behaviour.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    #[serde(default)]
    pub init: Init,
    #[serde(default)]
    pub work: Work,
}

/// Load generator settings shared by every target of the workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// Per-request timeout; a request past it ends as `timeout`.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Open loop: most requests in flight at once; later arrivals wait (and their wait counts).
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Skip idle time: while nothing is in flight and the next arrival is far off, the clock of
    /// the load generator and the local targets jumps to it (local targets only).
    #[serde(default)]
    pub fast_forward: bool,
}

impl Default for LoadSpec {
    fn default() -> Self {
        Self { timeout: default_timeout(), max_in_flight: default_max_in_flight(), fast_forward: false }
    }
}

fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

/// Default in-flight cap for open-loop runs: large enough not to bind in ordinary runs.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 10_000;

fn default_max_in_flight() -> usize {
    DEFAULT_MAX_IN_FLIGHT
}

/// One deployment model under test, chosen by `kind`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetSpec {
    /// Always-on server processes behind the local gateway.
    Container(Box<ContainerSpec>),
    /// On-demand function instances in the local Lambda-style runtime.
    Function(Box<FunctionTargetSpec>),
    /// Any HTTP endpoint.
    Url(UrlSpec),
    /// A function deployed on AWS Lambda, through the Invoke API.
    Lambda(super::LambdaSpec),
}

impl TargetSpec {
    /// The target's name as written in the workload.
    pub fn name(&self) -> &str {
        match self {
            TargetSpec::Container(c) => &c.name,
            TargetSpec::Function(f) => &f.name,
            TargetSpec::Url(u) => &u.name,
            TargetSpec::Lambda(l) => &l.name,
        }
    }

    /// Which kind of deployment this is.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetSpec::Container(_) => TargetKind::Container,
            TargetSpec::Function(_) => TargetKind::Function,
            TargetSpec::Url(_) => TargetKind::Url,
            TargetSpec::Lambda(_) => TargetKind::Lambda,
        }
    }
}

/// Container target: `instances` long-running servers, each listening on `$PORT`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerSpec {
    pub name: String,
    #[serde(default = "one")]
    pub instances: usize,
    /// The server command; default: the bundled demo function in HTTP mode.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Where the command runs, relative to the workload file's folder (its default).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The requests sent to it; default: the workload's `[[requests]]`, else the demo function's.
    #[serde(default)]
    pub requests: Option<Vec<super::RequestSpec>>,
    #[serde(default)]
    pub request_order: Option<super::RequestOrder>,
    /// Extra environment variables for each instance.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Host environment variables passed through by name (nothing else of coldbench's own
    /// environment reaches an instance, as with `docker run`, apart from `PATH` and `HOME`).
    #[serde(default)]
    pub inherit_env: Vec<String>,
    /// How long an instance may take to accept connections.
    #[serde(default = "default_startup_timeout")]
    pub startup_timeout: HumanDuration,
    /// Time between SIGTERM and SIGKILL when stopping.
    #[serde(default = "default_stop_grace")]
    pub stop_grace: HumanDuration,
    /// Scheduling and image pull before a replacement instance's process starts (an instance
    /// that dies is replaced, as an ECS service does): default 60 s, a Fargate task's start with
    /// a 250 MB image; `"0s"` for a warm node with the image cached.
    #[serde(default = "default_provision_delay")]
    pub provision_delay: HumanDuration,
    /// Autoscaling: `{ min, max, policy, metric, target, … }`; `instances` is then the count at
    /// the start. None: a fixed fleet of `instances`.
    #[serde(default)]
    pub scaling: Option<super::ScalingSpec>,
    /// How the load balancer picks an instance: `round-robin` (ALB's default) or
    /// `least-outstanding-requests`.
    #[serde(default)]
    pub balancer: Balancer,
    /// An answer not begun within this is a 504 from the balancer (ALB's idle timeout, 60 s).
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// The balancer's checks of each instance (ALB's defaults: `GET /` every 30 s).
    #[serde(default)]
    pub health_check: super::HealthCheckSpec,
    /// vCPUs of each instance, as a CPU quota; default: the `[cost] instance` type's.
    #[serde(default)]
    pub cpus: Option<f64>,
    /// Memory of each instance in MiB, a hard limit; default: the `[cost] instance` type's.
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// CPU credits of a burstable `[cost] instance` type (t2, t3): `standard` (held at the
    /// baseline when they run out) or `unlimited` (surplus billed); default: the type's own
    /// (t2 standard, t3 unlimited).
    #[serde(default)]
    pub credits: Option<crate::cost::CreditMode>,
    /// The balance each instance starts with; default: EC2's launch credits (30 per vCPU for
    /// t2, none for t3).
    #[serde(default)]
    pub initial_credits: Option<f64>,
    /// A rolling deploy of a new version during the load: `{ at = "30s", max_surge = 1,
    /// max_unavailable = 0, command = […], env = {…} }`.
    #[serde(default)]
    pub deploy: Option<ContainerDeploySpec>,
    /// How long the balancer lets a deregistered instance (scaled in, or replaced by a deploy)
    /// finish its requests before it is stopped anyway (ALB's default: 300 s); one with none in
    /// flight is stopped at once.
    #[serde(default = "default_deregistration_delay")]
    pub deregistration_delay: HumanDuration,
    /// Requests the balancer sends one instance at once (a server's worker pool, Knative's
    /// `containerConcurrency`, Envoy's per-host limit); more follow `overflow`. Unset: no limit
    /// for real runs (the server decides), and in `coldbench simulate` unlimited for waiting
    /// work, one per vCPU of `[cost] instance` for CPU-bound work. (`concurrency` is the old name.)
    #[serde(default, alias = "concurrency")]
    pub max_concurrency: Option<usize>,
    /// With every instance at `max_concurrency`: `queue` (they wait at the balancer for a free
    /// slot, up to the idle timeout) or `reject` (a 503 at once, as a server that sheds load).
    #[serde(default)]
    pub overflow: Overflow,
}

/// What the balancer does with a request when every instance is at its `max_concurrency`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    #[default]
    Queue,
    Reject,
}

/// Function target: the local function runtime (Lambda's defaults unless set).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionTargetSpec {
    pub name: String,
    /// A Runtime API program; default: the bundled demo function in Lambda mode.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Where the command runs (and `LAMBDA_TASK_ROOT`), relative to the workload file's folder
    /// (its default).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// The requests sent to it; default: the workload's `[[requests]]`, else the demo function's.
    #[serde(default)]
    pub requests: Option<Vec<super::RequestSpec>>,
    #[serde(default)]
    pub request_order: Option<super::RequestOrder>,
    /// `_HANDLER` for runtimes that read it.
    #[serde(default = "default_handler")]
    pub handler: String,
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u32,
    #[serde(default = "default_function_timeout")]
    pub timeout: HumanDuration,
    #[serde(default = "default_init_timeout")]
    pub init_timeout: HumanDuration,
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: usize,
    /// Invocations one instance serves at once: 1 (classic Lambda), or up to 1,600 for
    /// multi-request environments as Lambda Managed Instances have them (priced as those are:
    /// the environments' capacity, not each request's duration). `max_concurrency` then counts
    /// instances.
    #[serde(default = "default_concurrency_per_instance")]
    pub concurrency_per_instance: u32,
    /// Idle time before an instance is stopped: a duration, `exponential:<mean>`, or `hybrid` /
    /// `hybrid:<fallback>` (the adaptive histogram policy, which also pre-warms).
    #[serde(default)]
    pub keep_alive: super::KeepAliveSetting,
    /// Draw each idle period's keep-alive from `keep_alive ± keep_alive_jitter` (seeded; a fixed
    /// `keep_alive` only).
    #[serde(default)]
    pub keep_alive_jitter: Option<HumanDuration>,
    /// Recycle instances this long after they started; `"off"` keeps them.
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime: String,
    /// Instances started before traffic, never evicted for idleness.
    #[serde(default)]
    pub provisioned: usize,
    #[serde(default)]
    pub reuse: crate::lambda::Reuse,
    /// Platform time of a cold start before Init (placement, code download, micro-VM start):
    /// `"125ms"` (default, Firecracker's start-up bound), `"0ms"` (off) or
    /// `"uniform:<low>-<high>"`. Client-visible; not billed, not in Init Duration.
    #[serde(default)]
    pub platform_overhead: crate::lambda::PlatformOverhead,
    /// `invoke` (Lambda Invoke API) or `http` (function URL, payload format 2.0).
    #[serde(default)]
    pub event: crate::lambda::EventShape,
    /// `request-response` (the caller waits for the answer) or `event` (asynchronous: 202 at
    /// once, then queued, run and retried; the report adds each event's time to completion).
    #[serde(default)]
    pub invocation: crate::lambda::InvocationMode,
    /// Asynchronous invocations: retries after a function error (`MaximumRetryAttempts`, 0–2) ...
    #[serde(default = "default_max_retry_attempts")]
    pub max_retry_attempts: u32,
    /// ... and the age at which an event is dropped (`MaximumEventAgeInSeconds`, 60s to 6h).
    #[serde(default = "default_max_event_age")]
    pub max_event_age: HumanDuration,
    /// `standard` (Init billed on cold starts, since August 2025) or `legacy`.
    #[serde(default)]
    pub billing: crate::lambda::BillingMode,
    /// Extra environment variables (nothing else of the host's environment reaches the function).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "default_region")]
    pub region: String,
    /// Scheduled pings that keep instances warm (the "warmer" pattern): counted and billed
    /// apart from user traffic.
    #[serde(default)]
    pub keep_warm: Option<KeepWarmSpec>,
    /// vCPUs during Init, more than the memory's share (Lambda was observed to give Init about
    /// 2 unthrottled vCPUs even at low memory, 2nd-hand); default: the same share.
    #[serde(default)]
    pub init_cpus: Option<f64>,
    /// `isolated`: each instance in a network namespace of its own, as in a Lambda micro-VM;
    /// `host`: instances share the host's loopback (to call a service running on it).
    #[serde(default)]
    pub network: Network,
    /// `"web"`: `command` is an ordinary web server (default: the demo function in HTTP mode),
    /// run behind coldbench's Lambda Web Adapter; none: `command` speaks the Runtime API.
    #[serde(default)]
    pub adapter: Option<FunctionAdapter>,
    /// Publishes a new version during the load: `{ at = "30s" }`.
    #[serde(default)]
    pub deploy: Option<FunctionDeploySpec>,
}

/// A container deploy: at `at` (from the start of the load) the service rolls its instances to a
/// new version, as an ECS rolling update does: at most `max_surge` instances above the desired
/// count run, at most `max_unavailable` below it serve (or the same in ECS's percentages); each new instance passes its health check
/// before an old one is deregistered (drained) and stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDeploySpec {
    pub at: HumanDuration,
    /// Only `rolling` (ECS's rolling update; PCF's one-up-then-one-down with the defaults).
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Instances above the desired count while it runs (default 1) ...
    #[serde(default)]
    pub max_surge: Option<usize>,
    /// ... and below it (default 0): PCF's one new up, then one old down.
    #[serde(default)]
    pub max_unavailable: Option<usize>,
    /// ECS's form instead: at least this percent of the desired count serves (rounded up; ECS's
    /// default 100) ...
    #[serde(default)]
    pub minimum_healthy_percent: Option<u32>,
    /// ... and at most this percent runs (rounded down; ECS's default 200).
    #[serde(default)]
    pub maximum_percent: Option<u32>,
    /// The new version's command; default: the current one.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Variables the new version sets or changes.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

fn default_strategy() -> String {
    "rolling".to_string()
}

fn default_deregistration_delay() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

/// A function deploy: at `at` (from the start of the load) a new version is published, as
/// updating the function's code or configuration does; new invocations go to new environments.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionDeploySpec {
    pub at: HumanDuration,
}

/// A container target's load-balancing algorithm (ALB's two).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Balancer {
    #[default]
    RoundRobin,
    /// The instance with the fewest requests in flight (round robin among equals).
    LeastOutstandingRequests,
}

fn default_idle_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(60))
}

/// What sits between the Runtime API and a function's own program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionAdapter {
    /// The Lambda Web Adapter: invocations become HTTP requests to the program's server.
    Web,
}

/// Which network a function's instances see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// A loopback of each instance's own, with its Runtime API at 127.0.0.1:9001 (needs root;
    /// elsewhere the run warns and uses `host`).
    #[default]
    Isolated,
    /// The host's loopback: instances can reach each other and every local port.
    Host,
}

/// `keep_warm = { every = "5m", concurrency = 1 }`: every `every`, `concurrency` simultaneous
/// ping invocations (a rule in EventBridge Scheduler calling the function, as warmer plugins do).
/// The first round runs before traffic starts, as if the warmer had been running all along.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepWarmSpec {
    pub every: HumanDuration,
    #[serde(default = "default_keep_warm_concurrency")]
    pub concurrency: usize,
}

fn default_keep_warm_concurrency() -> usize {
    1
}

fn default_handler() -> String {
    lambda::DEFAULT_HANDLER.to_string()
}

fn default_memory_mb() -> u32 {
    lambda::DEFAULT_MEMORY_MB
}

fn default_function_timeout() -> HumanDuration {
    HumanDuration(lambda::DEFAULT_TIMEOUT)
}

/// Scheduling and image pull before a container instance's own start: a Fargate task takes
/// about 60 s with a 250 MB image (resources-and-autoscaling.md §3: aws/containers-roadmap #696).
fn default_provision_delay() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(60))
}

fn default_init_timeout() -> HumanDuration {
    HumanDuration(lambda::DEFAULT_INIT_TIMEOUT)
}

fn default_max_retry_attempts() -> u32 {
    lambda::DEFAULT_ASYNC_RETRIES
}

fn default_max_event_age() -> HumanDuration {
    HumanDuration(lambda::DEFAULT_MAX_EVENT_AGE)
}

fn default_concurrency_per_instance() -> u32 {
    1
}

fn default_max_concurrency() -> usize {
    lambda::DEFAULT_MAX_CONCURRENCY
}

fn default_max_lifetime() -> String {
    HumanDuration(lambda::DEFAULT_MAX_LIFETIME).to_string()
}

fn default_region() -> String {
    lambda::DEFAULT_REGION.to_string()
}

/// URL target: an HTTP endpoint measured as it is.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlSpec {
    pub name: String,
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    /// Several requests to the same origin instead of `method`, `headers`, `body` and the URL's
    /// path (which they must then not set); default: the workload's `[[requests]]`.
    #[serde(default)]
    pub requests: Option<Vec<super::RequestSpec>>,
    #[serde(default)]
    pub request_order: Option<super::RequestOrder>,
    /// https:// only: trust the certificates in this PEM file (relative to the workload's
    /// folder) instead of the platform's roots.
    #[serde(default)]
    pub cacert: Option<PathBuf>,
    /// https:// only: accept any server certificate.
    #[serde(default)]
    pub insecure: bool,
    /// HTTP/2 only (ALPN `h2` alone over TLS; prior knowledge over http://).
    #[serde(default)]
    pub http2: bool,
}

fn one() -> usize {
    1
}

fn default_startup_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(10))
}

fn default_stop_grace() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(2))
}

fn default_method() -> String {
    "GET".to_string()
}
