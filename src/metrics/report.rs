//! `RunReport`: what a run measured (or a simulation produced) — the one serializable type
//! everything downstream reads (analysis, exporters, plots). It holds measurements only, in its
//! own types; cost and every other derived figure are computed from it by `analysis`.
//!
//! Its JSON form is versioned (`schema_version`) and described by `schema/results.schema.json`.

use serde::{Deserialize, Serialize};

use super::fleet::{DeployReport, FleetReport};
use super::histogram::Summary;
use super::outcome::OutcomeCounts;

/// Version of the `results.json` layout; bump it when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 2;

/// A whole run: the workload and one report per target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub coldbench_version: String,
    /// UTC start of the run, RFC 3339.
    pub started_at: String,
    pub workload: WorkloadInfo,
    pub targets: Vec<TargetReport>,
    /// The pricing catalog in force when the run was made: `coldbench report` prices with it
    /// unless given `--pricing`.
    pub pricing: crate::cost::Pricing,
    /// Present when the run was simulated (`coldbench simulate`) rather than measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation: Option<SimulationInfo>,
    /// Runs 2 … N of `run --repeat N`, each with every target in `targets`' order (run 1 is
    /// `targets`); empty for a single run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repeats: Vec<Vec<TargetReport>>,
    /// Present when this run was one shard of several (`run --shard I/N`): which one, and what
    /// `coldbench merge` checks to put the shards back together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// Present when this report is a merge of shards (`coldbench merge`): how many, from where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedInfo>,
}

/// What a shard's results.json says about the shard, for `coldbench merge` to check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
    /// The agreed start instant (`--start-at`), RFC 3339; absent when the shard started at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// When this shard's load actually began, in milliseconds since the Unix epoch by this
    /// machine's clock: shards whose starts differ had skewed clocks or started late.
    pub started_unix_ms: f64,
    /// FNV-1a of the workload file's bytes: shards of one run read the same file.
    pub workload_digest: String,
}

/// Where a merged report came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergedInfo {
    /// The shards' results.json files, in shard order.
    pub shards: Vec<String>,
    /// The latest shard's start after the earliest, ms: clock skew or a late start.
    pub start_spread_ms: f64,
}

/// How a simulated run was produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimulationInfo {
    /// Simulated time per target.
    pub simulated_s: f64,
    /// Real time the simulation took, all targets.
    pub wall_s: f64,
    pub invocations: u64,
    /// Invocations simulated per second of real time.
    pub invocations_per_wall_second: f64,
    /// Where Init and work durations came from.
    pub durations: String,
}

/// What was run, as the report needs it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkloadInfo {
    pub name: String,
    pub description: String,
    /// The workload file, or the URL for `coldbench load`.
    pub source: String,
    pub seed: u64,
    pub duration_s: f64,
    /// The traffic as written in the workload (pattern and its parameters).
    pub traffic: serde_json::Value,
    pub warnings: Vec<String>,
    /// The workload's `[cost]` assumptions (instance type, front door, free tier).
    #[serde(default)]
    pub cost: crate::cost::CostSettings,
    /// The requests each target sent, by name, where the workload chose them
    /// (`"PUT /orders/42?expand=items (weight 3, body 31 B)"`); none: the demo's work body.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub requests: std::collections::BTreeMap<String, Vec<String>>,
    /// Pass/fail criteria on the figures (`[thresholds]`, `--threshold`), judged in `analysis`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<super::Threshold>,
}

/// Whether a target's measurement ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The schedule was sent and every request ended.
    Complete,
    /// The schedule was sent, but coldbench or the host — not the target — failed some of it
    /// (its own limits, or a saturated CPU): the warnings say what; the numbers measure this
    /// machine as much as the model.
    Degraded,
    /// Ctrl-C stopped it; what was measured until then is kept.
    Interrupted,
    /// It could not be measured (did not start), or no request succeeded.
    Failed,
}

impl TargetStatus {
    /// The status as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Complete => "complete",
            TargetStatus::Degraded => "degraded",
            TargetStatus::Interrupted => "interrupted",
            TargetStatus::Failed => "failed",
        }
    }
}

/// The kind of deployment a target is; one variant per file in `target/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Any HTTP endpoint, measured as it is.
    Url,
    /// Always-on server processes behind the local gateway.
    Container,
    /// On-demand instances in the local Lambda-style runtime.
    Function,
    /// A function deployed on AWS Lambda (or an endpoint that speaks its Invoke API).
    Lambda,
}

impl TargetKind {
    /// The kind as workloads and reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Url => "url",
            TargetKind::Container => "container",
            TargetKind::Function => "function",
            TargetKind::Lambda => "lambda",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Open loop (arrival schedule) or closed loop (N connections back to back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadMode {
    Open,
    Closed,
}

/// One target's results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetReport {
    pub name: String,
    pub kind: TargetKind,
    pub status: TargetStatus,
    /// Why the target failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// UTC time the target's load started, RFC 3339.
    pub started_at: String,
    pub mode: LoadMode,
    /// The endpoint the load generator sent to.
    pub endpoint: String,
    /// The instances that served the target (none for `url`).
    pub instances: Vec<InstanceReport>,
    pub measurement: Measurement,
    /// The function runtime's view, for `function` targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionReport>,
    /// How CPU and memory were given to the instances: `enforced (cgroup v1): …`, `not
    /// enforced (why)` or `off`; absent for targets without instances of coldbench's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<String>,
    /// What the host did while the load ran (measured targets on Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostReport>,
    /// Each instance's CPU and memory once a second, where its cgroup measured them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageReport>,
    /// CPU time the coldbench process used while driving this target, per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coldbench_cpu_us_per_request: Option<f64>,
    /// Present when idle time was skipped: how much time the target saw against how long it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast_forward: Option<FastForwardInfo>,
    /// A container service's fleet: its desired size, and the instances that failed and were
    /// replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetReport>,
    /// A deploy of a new version during the run (`deploy = { at }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployReport>,
    pub warnings: Vec<String>,
}

/// Simulated against real time of a fast-forwarded target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FastForwardInfo {
    /// Time as the target saw it on its clock, from its start to its end: the load, and what
    /// ran on after it (asynchronous retries, the rest of a keep-warm schedule).
    pub simulated_s: f64,
    /// Real time the target took, start to end.
    pub real_s: f64,
    /// Idle time skipped, and in how many jumps.
    pub skipped_s: f64,
    pub jumps: u64,
}

/// What the function runtime saw of a `function` target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FunctionReport {
    pub memory_mb: u32,
    pub timeout_ms: u64,
    /// `invoke` or `http`.
    pub event: crate::lambda::EventShape,
    /// `standard` or `legacy`.
    pub billing: crate::lambda::BillingMode,
    pub provisioned: usize,
    /// Invocations one instance serves at once: 1 on classic Lambda; more for multi-request
    /// environments (Lambda Managed Instances), priced as such.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub concurrency_per_instance: u32,
    pub stats: super::FunctionStats,
    /// Billed milliseconds over all invocations.
    pub billed_ms_total: u64,
    /// The user invocations' billing records, summed (measured runs; the records are in
    /// `invocations.csv`). Empty for simulated targets, which keep only the totals.
    #[serde(default)]
    pub invocations: super::InvocationSummary,
    /// The most instances alive at once in each interval of the time series, from the start of
    /// the load (sampled every 100 ms at most).
    #[serde(default)]
    pub alive_per_second: Vec<u32>,
    /// Keep-warm pings, apart from user traffic (which never includes them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_warm: Option<KeepWarmReport>,
    /// Asynchronous invocations, when the target had any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<super::EventReport>,
}

/// The host's CPU and coldbench's process starts while one target's load ran, sampled once a
/// second: what tells a saturated machine from a slow model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// Mean share of the host's CPU time that was busy (0–1).
    pub cpu_busy: f64,
    /// Mean share of it spent in the kernel (0–1): process churn shows here.
    pub cpu_kernel: f64,
    /// Seconds in which the host's CPU was at least 95 % busy.
    pub saturated_s: f64,
    /// Processes coldbench started (instances and everything it runs).
    pub spawns: u64,
    /// The most processes started in one second.
    pub peak_spawns_per_s: f64,
    /// Accept attempts of coldbench's servers (gateway, Runtime API; retried every 5 ms) that
    /// failed for lack of open files: their clients waited through no fault of the target.
    #[serde(default)]
    pub refused_accepts: u64,
    /// Seconds in which the instances waited for the host's CPUs, beyond their own quotas, for
    /// at least a tenth of a vCPU-second together: there the host, not the model, set their speed.
    #[serde(default)]
    pub host_bound_s: f64,
    /// The most vCPUs the instances busy in one second were entitled to together.
    #[serde(default)]
    pub peak_busy_quota_vcpus: f64,
    /// Of the CPU time the instances wanted within their quotas, the share the host withheld.
    #[serde(default)]
    pub withheld_share: f64,
}

/// Each instance's CPU and memory once a second from its cgroup, and the host's share in it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// The CPUs of the host the instances shared.
    pub host_cpus: u32,
    pub seconds: Vec<UsageSecond>,
    pub instances: Vec<InstanceUsage>,
}

/// One second of all instances together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSecond {
    /// Seconds from the start of the load to the end of this sample.
    pub t_s: f64,
    /// vCPUs the instances used.
    pub used_vcpus: f64,
    /// The quotas of the instances that wanted CPU in this second, summed: what the model
    /// entitled them to at once (beyond the host's CPUs, they cannot all have it).
    pub busy_quota_vcpus: f64,
    /// vCPUs the instances waited for a free CPU of the host, within their quotas.
    pub withheld_vcpus: f64,
}

/// One instance's samples, from its first second to its last.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceUsage {
    pub id: String,
    /// Its CPU quota in vCPUs (the last one: Init may have had more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_vcpus: Option<f64>,
    pub samples: Vec<UsageSample>,
}

/// One instance in one second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageSample {
    pub t_s: f64,
    /// vCPUs used in the second.
    pub cpu_vcpus: f64,
    /// Share of the second its quota held it back.
    pub throttled: f64,
    /// vCPUs it waited for the host's CPUs within its quota.
    pub withheld_vcpus: f64,
    /// Memory charged to it at the sample, MiB.
    pub memory_mib: f64,
}

/// What a function's keep-warm pings did and cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct KeepWarmReport {
    pub every_s: f64,
    pub concurrency: usize,
    /// Ping invocations sent (rounds × concurrency).
    pub pings: u64,
    /// Pings that started an instance (they pay the Init, not a user).
    pub cold: u64,
    /// Pings that failed or were throttled.
    pub failed: u64,
    pub billed_ms_total: u64,
}

/// One instance (process) of a target.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InstanceReport {
    pub id: String,
    pub pid: u32,
    /// Spawn → accepting connections.
    pub startup_ms: f64,
    /// Requests the gateway sent to it.
    pub requests: u64,
    /// When it died during the run (seconds after it was ready), if it did: it left rotation then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub died_after_s: Option<f64>,
    /// How it ended, when it died (`exit status: 3`, `signal: 9 (SIGKILL)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Requests that failed because it had died (sent before its death was noticed).
    #[serde(default)]
    pub failed_requests: u64,
    /// The instance it replaced, for a replacement ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// ... and when it began serving, in seconds after the fleet started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_after_s: Option<f64>,
    /// When it failed its health checks (seconds after it was ready): it left rotation then and
    /// the service replaced it ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_after_s: Option<f64>,
    /// ... and the last failed check, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_failure: Option<String>,
    /// CPU credits of a burstable instance type, where they were modelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditsReport>,
}

/// A burstable instance's CPU credits over the run, accounted once a second from its cgroup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreditsReport {
    /// `standard` or `unlimited`.
    pub mode: crate::cost::CreditMode,
    pub initial: f64,
    /// The balance at the end of each second.
    pub balance_per_second: Vec<f64>,
    /// Seconds held at the baseline (standard mode, empty balance).
    pub at_baseline_s: f64,
    /// Credits spent beyond the balance (unlimited mode), billed per vCPU-hour.
    pub surplus: f64,
}
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// Time from the first intended send to the last request's end.
    pub elapsed_s: f64,
    /// Requests sent; always equal to `outcomes` added up.
    pub requests: u64,
    pub outcomes: OutcomeCounts,
    /// Requests ended per second.
    pub throughput_rps: f64,
    /// `ok` requests per second.
    pub ok_rps: f64,
    /// Intended send → response (responses and timeouts). Coordinated-omission free.
    pub latency: Option<Summary>,
    /// Actual send → response.
    pub service: Option<Summary>,
    /// How late the generator released each request (actual send − intended send, less any
    /// wait on the in-flight cap), for every request.
    pub lag: Option<Summary>,
    /// Waits on the in-flight cap, for the requests it held back (absent when it held none):
    /// the target was slower than the arrivals. Counted in their latency, not in `lag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_wait: Option<Summary>,
    /// Latency of responses marked `x-coldbench-cold: true`.
    pub cold_latency: Option<Summary>,
    /// Latency of responses marked `x-coldbench-cold: false`.
    pub warm_latency: Option<Summary>,
    /// Init durations reported by cold responses.
    pub init: Option<Summary>,
    /// Where the requests' time went (connect, TLS, send, wait, receive; new and reused
    /// connections), as the load generator saw it; absent for simulations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phases: Option<super::PhaseReport>,
    /// Responses marked cold.
    pub cold: u64,
    /// Responses marked warm.
    pub warm: u64,
    /// Lookups of the demo's `cache` work, from responses that said hit or miss.
    #[serde(default, skip_serializing_if = "CacheCounts::is_empty")]
    pub cache: CacheCounts,
    /// Whole-run histograms, encoded (base64 of compressed HdrHistogram V2).
    pub histograms: Histograms,
    /// One entry per interval of the run: a second, or longer for simulated and fast-forwarded
    /// runs (see [`Measurement::interval_s`]).
    pub intervals: Vec<IntervalReport>,
}

impl Measurement {
    /// Length of one interval of the time series, in seconds.
    pub fn interval_s(&self) -> f64 {
        match self.intervals.as_slice() {
            [first, second, ..] if second.start_s > first.start_s => second.start_s - first.start_s,
            _ => 1.0,
        }
    }
}

/// How the demo function's `cache` work found its keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
}

impl CacheCounts {
    /// No lookup was reported.
    pub fn is_empty(&self) -> bool {
        self.hits + self.misses == 0
    }

    /// Hits per lookup, when there were any.
    pub fn hit_ratio(&self) -> Option<f64> {
        (!self.is_empty()).then(|| self.hits as f64 / (self.hits + self.misses) as f64)
    }
}

/// Whole-run histograms in the encoding `.hlog` files use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Histograms {
    pub latency: String,
    pub service: String,
    pub lag: String,
    pub cold_latency: String,
    pub warm_latency: String,
    /// Init durations of cold responses (absent in reports written before it was kept).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub init: String,
    /// Waits on the in-flight cap (absent when the cap held nothing back).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cap_wait: String,
}

/// One second of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntervalReport {
    /// Seconds from the start of the target's load.
    pub start_s: f64,
    /// Requests that ended in this interval.
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Requests answered 429 (included in `errors`).
    #[serde(default)]
    pub throttled: u64,
    pub cold: u64,
    /// Most requests in flight seen when a request ended in this interval.
    pub max_in_flight: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
    /// This interval's latency histogram, encoded; absent when no latency was recorded.
    pub histogram: Option<String>,
}

impl RunReport {
    /// A report with no targets yet, to be priced with `pricing`.
    pub fn new(workload: WorkloadInfo, started_at: String, pricing: crate::cost::Pricing) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            coldbench_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at,
            workload,
            targets: Vec::new(),
            pricing,
            simulation: None,
            repeats: Vec::new(),
            shard: None,
            merged: None,
        }
    }
}

impl RunReport {
    /// This run with other targets: one run of a `--repeat`, to be priced on its own.
    pub fn with_targets(&self, targets: Vec<TargetReport>) -> Self {
        Self {
            schema_version: self.schema_version,
            coldbench_version: self.coldbench_version.clone(),
            started_at: self.started_at.clone(),
            workload: self.workload.clone(),
            targets,
            pricing: self.pricing.clone(),
            simulation: self.simulation.clone(),
            repeats: Vec::new(),
            shard: self.shard.clone(),
            merged: self.merged.clone(),
        }
    }
}

fn one() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_one(n: &u32) -> bool {
    *n == 1
}
