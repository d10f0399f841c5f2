//! AWS Lambda's limits, defaults and vocabulary, defined once: the CLI, workload validation, the
//! pool policy and the runtime all read them from here.
//!
//! Sources: `docs/reference/lambda-and-container-model.md` §1–2 and
//! `docs/reference/lambda-runtime-api.md`. Plain data only: no I/O, nothing measured.

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
/// The Init phase's limit: an on-demand instance that has not called `/next` by then is reset
/// and its Init retried inside the first invocation, under the function timeout.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// A provisioned environment's Init may take longer: its limit is the larger of this and the
/// function timeout (reference `lambda-and-container-model.md`, "init timeout").
pub const PROVISIONED_INIT_FLOOR: Duration = Duration::from_secs(130);

/// The Init limit of an instance: `init_timeout` on demand, max(130 s, `timeout`) provisioned.
pub fn init_limit(provisioned: bool, init_timeout: Duration, timeout: Duration) -> Duration {
    if provisioned {
        PROVISIONED_INIT_FLOOR.max(timeout)
    } else {
        init_timeout
    }
}
/// Account concurrency limit (concurrent instances) by default.
pub const DEFAULT_MAX_CONCURRENCY: usize = 1_000;
/// Most invocations one execution environment of Lambda Managed Instances serves at once
/// (`PerExecutionEnvironmentMaxConcurrency`, 1–1,600; `web-apps-endpoints-and-scale.md` §1).
/// Classic Lambda serves one. The runtime is told through `AWS_LAMBDA_MAX_CONCURRENCY`, set only
/// then (`lambda-runtime-api.md` §3).
pub const MAX_CONCURRENCY_PER_INSTANCE: u32 = 1_600;
/// Lambda Managed Instances' management fee on the EC2 capacity's on-demand price (+15 %).
pub const MANAGED_INSTANCES_FEE: f64 = 0.15;
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
/// Largest synchronous response payload (6 MB) plus the small margin Lambda allows a runtime.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024 + 100;
/// Largest synchronous request payload: 6 MB exactly, 6,291,456 bytes (the Invoke API's 413
/// `RequestEntityTooLargeException` names this figure; the runtime's response gets 100 more).
pub const MAX_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// Largest asynchronous (`Event`) request payload: 1 MB since October 2025, 256 KB before
/// (lambda-and-container-model.md §1.1).
pub const MAX_ASYNC_REQUEST_BYTES: usize = 1024 * 1024;
/// Retries of an asynchronous invocation whose function failed: 2 by default (0–2), one
/// minute before the first and two before the second (lambda-and-container-model.md §1).
pub const DEFAULT_ASYNC_RETRIES: u32 = 2;
pub const MAX_ASYNC_RETRIES: u32 = 2;
/// The delay before asynchronous retry `n` (1-based) after a function error.
pub fn async_retry_delay(retry: u32) -> Duration {
    Duration::from_secs(60 * u64::from(retry))
}
/// How old an asynchronous event may grow before Lambda drops it (`MaximumEventAgeInSeconds`:
/// 6 hours by default, 60 s to 6 h).
pub const DEFAULT_MAX_EVENT_AGE: Duration = Duration::from_secs(21_600);
pub const MIN_MAX_EVENT_AGE: Duration = Duration::from_secs(60);
/// The backoff of an asynchronous event requeued after a throttle or a system error: 1 s,
/// doubling, at most 5 minutes.
pub fn async_requeue_delay(requeues: u32) -> Duration {
    Duration::from_secs(1u64 << requeues.min(9)).min(Duration::from_secs(300))
}
/// The only version a function has until versions are published.
pub const LATEST: &str = "$LATEST";
/// The account id in every ARN and event the local runtime makes.
pub const ACCOUNT_ID: &str = "000000000000";

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

/// How a workload's requests invoke the function (the Invoke API's `X-Amz-Invocation-Type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InvocationMode {
    /// Synchronous: the caller waits for the function's answer.
    #[default]
    RequestResponse,
    /// Asynchronous: 202 at once; the event is queued, run and retried by the platform.
    Event,
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

/// Platform time of a cold start before Init begins — placement, code download, micro-VM start:
/// client-visible, but neither billed nor in Init Duration (operator guide,
/// execution-environments.html). The default is Firecracker's published start-up bound: "≤ 125
/// ms to go from receiving the InstanceStart API call to the start of the Linux guest
/// user-space /sbin/init" (firecracker SPECIFICATION.md); placement and code download add to
/// it on Lambda, so it is a floor, not a typical figure.
pub const DEFAULT_PLATFORM_OVERHEAD: Duration = Duration::from_millis(125);

/// `platform_overhead` as a workload writes it: `"125ms"` (fixed; `"0ms"` turns it off) or
/// `"uniform:50ms-300ms"` (each instance its own draw, seeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformOverhead {
    Fixed(Duration),
    Uniform { low: Duration, high: Duration },
}

impl Default for PlatformOverhead {
    fn default() -> Self {
        PlatformOverhead::Fixed(DEFAULT_PLATFORM_OVERHEAD)
    }
}

impl PlatformOverhead {
    /// Parses a setting; the error says which forms are accepted.
    ///
    /// # Errors
    /// Text that is neither form, or a range whose low end is above its high end.
    pub fn parse(text: &str) -> Result<Self, String> {
        let duration = |d: &str| humantime::parse_duration(d.trim()).map_err(|e| format!("{d:?}: {e}"));
        let forms = "a duration like 125ms (0ms: off) or uniform:<low>-<high>";
        match text.trim().strip_prefix("uniform:") {
            Some(range) => {
                let (low, high) = range.split_once('-').ok_or_else(|| format!("{text:?}: expected {forms}"))?;
                let (low, high) = (duration(low)?, duration(high)?);
                if low > high {
                    return Err(format!("{text:?}: the low end is above the high end"));
                }
                Ok(PlatformOverhead::Uniform { low, high })
            }
            None => duration(text).map(PlatformOverhead::Fixed).map_err(|e| format!("{e} ({forms})")),
        }
    }

    /// Instance `id`'s overhead in a run seeded with `seed`: the real runtime and the simulator
    /// number instances alike, so they draw the same.
    pub fn for_instance(&self, seed: u64, id: u64) -> Duration {
        match *self {
            PlatformOverhead::Fixed(d) => d,
            PlatformOverhead::Uniform { low, high } => {
                // splitmix64 of the pair: a uniform draw in [0, 1) per instance.
                let mut z = seed ^ id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                let u = (z ^ (z >> 31)) as f64 / 2f64.powi(64);
                low + (high - low).mul_f64(u)
            }
        }
    }
}

impl std::fmt::Display for PlatformOverhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use humantime::format_duration as human;
        match *self {
            PlatformOverhead::Fixed(d) => write!(f, "{}", human(d)),
            PlatformOverhead::Uniform { low, high } => {
                write!(f, "uniform:{}-{}", human(low), human(high))
            }
        }
    }
}

impl Serialize for PlatformOverhead {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PlatformOverhead {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Named here: serde loses the field's name inside a target's tagged enum.
        PlatformOverhead::parse(&text).map_err(|e| serde::de::Error::custom(format!("platform_overhead: {e}")))
    }
}

/// The Invoke API's pattern for `FunctionName` (its API reference).
pub const FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

/// A `FunctionName` as the Invoke API takes it: `my-function`, `my-function:1`,
/// `123456789012:function:my-function` or `arn:aws:lambda:us-east-1:123456789012:function:my-function[:1]`.
#[derive(Debug, PartialEq, Eq)]
pub struct FunctionName<'a> {
    pub name: &'a str,
    pub qualifier: Option<&'a str>,
    pub region: Option<&'a str>,
    pub account: Option<&'a str>,
}

impl<'a> FunctionName<'a> {
    /// Its parts, when `text` is a valid `FunctionName`.
    pub fn parse(text: &'a str) -> Option<Self> {
        let parts: Vec<&str> = text.split(':').collect();
        let (region, account, rest) = match parts.as_slice() {
            ["arn", partition, "lambda", region, account, "function", rest @ ..] if partition.starts_with("aws") => {
                (Some(*region), Some(*account), rest)
            }
            [account, "function", rest @ ..] => (None, Some(*account), rest),
            rest => (None, None, rest),
        };
        let (name, qualifier) = match rest {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => return None,
        };
        let name_ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let qualifier_ok = qualifier.is_none_or(|q| {
            q == LATEST || (!q.is_empty() && q.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)))
        });
        let account_ok = account.is_none_or(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()));
        (name_ok && qualifier_ok && account_ok).then_some(Self { name, qualifier, region, account })
    }
}

/// What a REPORT line says about one invocation (the platform's own figures; with
/// `X-Amz-Log-Type: Tail` it ends the base64 log in `X-Amz-Log-Result`). Fields as lambda-perf
/// reads them (`web-apps-endpoints-and-scale.md` §3).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportLine {
    pub request_id: String,
    pub duration_ms: f64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u64,
    /// Present exactly on cold starts.
    pub init_ms: Option<f64>,
    /// SnapStart's restore, when the environment was restored from a snapshot.
    pub restore_ms: Option<f64>,
}

impl ReportLine {
    /// The last REPORT line of `log`, if it has one whose Duration can be read.
    pub fn find(log: &str) -> Option<Self> {
        log.lines().rev().find_map(|line| Self::parse(line.strip_prefix("REPORT ")?))
    }

    fn parse(fields: &str) -> Option<Self> {
        let mut report = Self::default();
        let mut duration = None;
        for field in fields.split('\t') {
            let Some((key, value)) = field.split_once(':') else { continue };
            let number = value.split_whitespace().next().unwrap_or("");
            match key.trim() {
                "RequestId" => report.request_id = value.trim().to_string(),
                "Duration" => duration = number.parse().ok(),
                "Billed Duration" => report.billed_ms = number.parse().ok()?,
                "Memory Size" => report.memory_mb = number.parse().ok()?,
                "Max Memory Used" => report.max_memory_used_mb = number.parse().ok()?,
                "Init Duration" => report.init_ms = number.parse().ok(),
                "Restore Duration" => report.restore_ms = number.parse().ok(),
                _ => {}
            }
        }
        report.duration_ms = duration?;
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_give_the_platform_s_figures_and_the_cold_start() {
        let log = "START RequestId: 8f5 Version: $LATEST\nhello\nEND RequestId: 8f5\n\
                   REPORT RequestId: 8f5\tDuration: 12.34 ms\tBilled Duration: 190 ms\tMemory Size: 512 MB\t\
                   Max Memory Used: 71 MB\tInit Duration: 177.05 ms\t\n";
        let report = ReportLine::find(log).unwrap();
        assert_eq!(report.request_id, "8f5");
        assert_eq!((report.duration_ms, report.billed_ms, report.memory_mb), (12.34, 190, 512));
        assert_eq!((report.max_memory_used_mb, report.init_ms, report.restore_ms), (71, Some(177.05), None));
        let warm = "REPORT RequestId: a\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t";
        assert_eq!(ReportLine::find(warm).unwrap().init_ms, None);
        assert!(ReportLine::find("no report here").is_none());
    }

    #[test]
    fn provisioned_inits_may_take_130_s_or_the_function_timeout() {
        let (init, s) = (DEFAULT_INIT_TIMEOUT, Duration::from_secs);
        assert_eq!(init_limit(false, init, s(900)), s(10));
        assert_eq!(init_limit(true, init, s(3)), s(130));
        assert_eq!(init_limit(true, init, s(900)), s(900));
    }

    #[test]
    fn platform_overhead_parses_prints_back_and_draws_within_its_range() {
        assert_eq!(PlatformOverhead::default(), PlatformOverhead::Fixed(Duration::from_millis(125)));
        for text in ["0s", "125ms", "uniform:50ms-300ms"] {
            assert_eq!(PlatformOverhead::parse(text).unwrap().to_string(), text);
        }
        let uniform = PlatformOverhead::parse("uniform:50ms-300ms").unwrap();
        let draws: Vec<Duration> = (0..1_000).map(|id| uniform.for_instance(7, id)).collect();
        assert!(draws.iter().all(|d| (Duration::from_millis(50)..=Duration::from_millis(300)).contains(d)));
        let mean = draws.iter().sum::<Duration>() / 1_000;
        assert!((Duration::from_millis(160)..Duration::from_millis(190)).contains(&mean), "{mean:?}");
        assert_eq!(uniform.for_instance(7, 3), uniform.for_instance(7, 3), "seeded: the same instance, the same draw");
        assert_ne!(uniform.for_instance(7, 3), uniform.for_instance(8, 3));
        assert!(PlatformOverhead::parse("uniform:300ms-50ms").unwrap_err().contains("low end is above"));
        assert!(PlatformOverhead::parse("fast").unwrap_err().contains("uniform:<low>-<high>"));
    }
}
