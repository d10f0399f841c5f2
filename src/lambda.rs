//! AWS Lambda's limits, defaults and vocabulary, defined once: the CLI, workload validation, the
//! pool policy and the runtime all read them from here.
//!
//! Sources: `shared/reference/lambda-and-container-model.md` §1–2 and
//! `shared/reference/lambda-runtime-api.md`. Plain data only: no I/O, nothing measured.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest log line kept from a function's (or container's) output: CloudWatch Logs caps a log
/// event at 256 KB and Lambda truncates longer ones (the issue tracker's report; the reference
/// tables are silent on it).
pub const MAX_LOG_LINE_BYTES: usize = 256 * 1024;

/// Smallest memory size a function may have.
pub const MIN_MEMORY_MB: u32 = 128;
/// Largest memory size a function may have.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Memory size when none is given.
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// The memory size that has "the equivalent of one vCPU (one vCPU-second of credits per
/// second)"; CPU is proportional to memory (configuration-memory.html; reference §1).
pub const MB_PER_VCPU: u32 = 1_769;

/// The vCPUs a function of `memory_mb` gets: `memory_mb / 1,769`, from 0.072 at 128 MB to 5.79
/// at 10,240 MB.
pub fn vcpus_for(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / f64::from(MB_PER_VCPU)
}
/// Invocation timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest invocation timeout Lambda accepts.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// The Init phase's limit: an instance that has not called `/next` by then is stopped.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Account concurrency limit (concurrent instances) by default.
pub const DEFAULT_MAX_CONCURRENCY: usize = 1_000;
/// Scale-out: 1,000 new instances per 10 s, refilled continuously — the bucket's capacity ...
pub const SCALE_BURST: u32 = 1_000;
/// ... and its refill rate, in new instances per second.
pub const SCALE_RATE_PER_S: f64 = 100.0;
/// Idle time after which an instance is usually reclaimed (observed, not documented).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(600);
/// Instances are recycled after about two hours even when busy (observed).
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7_200);
/// Region when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";
/// `_HANDLER` when none is given.
pub const DEFAULT_HANDLER: &str = "handler";
/// Largest synchronous request or response payload (6 MB) plus the small margin Lambda allows.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024 + 100;

/// Whether Init is billed on cold starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingMode {
    /// Since 1 August 2025: billed duration = ceil_ms(Init + Duration) on cold starts.
    #[default]
    Standard,
    /// Before: Init of on-demand managed-runtime functions was not billed.
    Legacy,
}

/// Which front door a workload's requests use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventShape {
    /// The Invoke API: the request body is the event.
    #[default]
    Invoke,
    /// A function URL: the HTTP request becomes a payload format 2.0 event.
    Http,
}

impl EventShape {
    /// The gateway path a load generator sends to.
    pub fn path(self, function: &str) -> String {
        match self {
            EventShape::Invoke => format!("/2015-03-31/functions/{function}/invocations"),
            EventShape::Http => "/".to_string(),
        }
    }
}

/// Which idle instance serves the next invocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reuse {
    /// The most recently used idle instance (Lambda's observed behaviour): idle ones age out.
    #[default]
    Mru,
    /// The least recently used: spreads work over every idle instance.
    Lru,
}

/// Billed milliseconds: the duration (plus Init on cold starts in standard mode), rounded up to
/// the next whole millisecond.
pub fn billed_ms(duration: Duration, init: Option<Duration>, mode: BillingMode) -> u64 {
    let billed = match (mode, init) {
        (BillingMode::Standard, Some(init)) => duration + init,
        _ => duration,
    };
    u64::try_from(billed.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}
