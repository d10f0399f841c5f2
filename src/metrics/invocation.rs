//! What the platform recorded of each invocation: the REPORT line as data, and how it ended.
//!
//! Measured types, owned by the measurement: the function runtime fills them, the report and the
//! analysis read them.

use serde::{Deserialize, Serialize};

/// How an invocation ended, as the platform saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationOutcome {
    Success,
    /// The runtime posted `/error`.
    HandlerError,
    /// The response exceeded the payload limit.
    ResponseTooLarge,
    Timeout,
    /// The process exited during the invocation.
    Crash,
    /// Init failed (`/init/error`, exit before `/next`, or the init limit).
    InitError,
    Throttled,
    /// coldbench could not start an instance for lack of its own or the host's resources (open
    /// files, processes, memory): not the function's failure, and not billed.
    HostError,
}

/// One invocation's billing record (a REPORT line as data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BillingRecord {
    pub request_id: String,
    /// The instance that served it (absent when throttled).
    pub instance: Option<String>,
    pub cold: bool,
    pub provisioned: bool,
    /// Init duration on cold starts.
    pub init_ms: Option<f64>,
    /// The instance took the invocation → the runtime posted its answer (or the timeout).
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    /// Peak resident memory of the instance's process group.
    pub max_memory_used_mb: u64,
    pub outcome: InvocationOutcome,
}

/// Instance counts over a function target's run, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStats {
    pub instances_started: u64,
    pub evicted_idle: u64,
    pub evicted_lifetime: u64,
    /// Instances removed after a timeout, crash or failed Init.
    pub discarded: u64,
    pub throttled: u64,
    /// Instances the hybrid keep-alive started ahead of demand.
    #[serde(default)]
    pub prewarmed: u64,
    pub peak_instances: usize,
}
