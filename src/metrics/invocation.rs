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

impl InvocationOutcome {
    /// The outcome as results.json and invocations.csv spell it (`handler_error`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvocationOutcome::Success => "success",
            InvocationOutcome::HandlerError => "handler_error",
            InvocationOutcome::ResponseTooLarge => "response_too_large",
            InvocationOutcome::Timeout => "timeout",
            InvocationOutcome::Crash => "crash",
            InvocationOutcome::InitError => "init_error",
            InvocationOutcome::Throttled => "throttled",
            InvocationOutcome::HostError => "host_error",
        }
    }
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
    /// The instance's peak memory so far: the larger of its cgroup's peak and its process
    /// group's peak RSS, never above `memory_mb` (and `memory_mb` after an out-of-memory kill).
    pub max_memory_used_mb: u64,
    pub outcome: InvocationOutcome,
    /// CPU time the instance used during the invocation (from its cgroup; absent when resources
    /// are not enforced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    /// Of the invocation's time, how long the CPU quota held the instance back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_ms: Option<f64>,
}

/// Instance counts over a function target's run, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionStats {
    pub instances_started: u64,
    pub evicted_idle: u64,
    pub evicted_lifetime: u64,
    /// Instances removed after a timeout, crash or failed Init.
    pub discarded: u64,
    /// Of those, instances whose runtime exited while they had no invocation (no caller was
    /// blamed; the next invocation went to another instance).
    #[serde(default)]
    pub died_idle: u64,
    /// Cold starts made while another instance had answered and not yet called `/next` (busy
    /// until then, as on Lambda): a sequential caller's next request can win that race.
    #[serde(default)]
    pub cold_while_finishing: u64,
    /// Invocations that arrived in that gap at all (a warm instance may have served them).
    #[serde(default)]
    pub arrived_while_finishing: u64,
    pub throttled: u64,
    /// Instances the hybrid keep-alive started ahead of demand.
    #[serde(default)]
    pub prewarmed: u64,
    pub peak_instances: usize,
    /// Instances' lifetimes summed, Init to stop (those alive at the end, to the end): the
    /// capacity multi-request environments are billed for.
    #[serde(default)]
    pub instance_seconds: f64,
}

/// Where billing records go as they happen (a run streams them to `invocations.csv`), so that
/// no record is kept in memory: a run's memory stays flat at any invocation count.
pub trait RecordLog: Send + Sync {
    /// Takes one user invocation's record of target `target`.
    fn record(&self, target: &str, record: &BillingRecord);
}

/// What a report keeps of a function target's invocations: counts and distributions, summed as
/// each billing record is made (the records themselves go to a [`RecordLog`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvocationSummary {
    pub invocations: u64,
    /// Invocations that bill: every one but throttles.
    pub billed: u64,
    pub billed_ms_total: u64,
    pub cold: u64,
    /// Init durations of the cold starts, in µs (base64 of a compressed HdrHistogram V2).
    #[serde(with = "super::histogram::encoded")]
    pub init_us: hdrhistogram::Histogram<u64>,
    /// Durations of the invocations an instance answered, in µs (encoded as `init_us`).
    #[serde(with = "super::histogram::encoded")]
    pub duration_us: hdrhistogram::Histogram<u64>,
    /// The highest Max Memory Used of any invocation.
    pub max_memory_used_mb: u64,
    /// CPU time per invocation, in µs, where the instance's cgroup measured it (encoded as
    /// `init_us`; empty when resources were not enforced).
    #[serde(default = "super::new_histogram", with = "super::histogram::encoded")]
    pub cpu_us: hdrhistogram::Histogram<u64>,
    /// Over the invocations whose CPU was measured: their summed duration and the part of it
    /// the CPU quota held the instance back, in µs.
    #[serde(default)]
    pub measured_duration_us: u64,
    #[serde(default)]
    pub throttled_us: u64,
}

impl Default for InvocationSummary {
    fn default() -> Self {
        Self {
            invocations: 0,
            billed: 0,
            billed_ms_total: 0,
            cold: 0,
            init_us: super::new_histogram(),
            duration_us: super::new_histogram(),
            max_memory_used_mb: 0,
            cpu_us: super::new_histogram(),
            measured_duration_us: 0,
            throttled_us: 0,
        }
    }
}

impl InvocationSummary {
    /// Adds one record.
    pub fn add(&mut self, record: &BillingRecord) {
        self.invocations += 1;
        self.billed += u64::from(record.outcome != InvocationOutcome::Throttled);
        self.billed_ms_total += record.billed_ms;
        if let Some(init_ms) = record.init_ms {
            self.cold += 1;
            super::record_us(&mut self.init_us, std::time::Duration::from_secs_f64(init_ms.max(0.0) / 1e3));
        }
        if record.instance.is_some() {
            super::record_us(
                &mut self.duration_us,
                std::time::Duration::from_secs_f64(record.duration_ms.max(0.0) / 1e3),
            );
        }
        self.max_memory_used_mb = self.max_memory_used_mb.max(record.max_memory_used_mb);
        if let Some(cpu_ms) = record.cpu_ms {
            super::record_us(&mut self.cpu_us, std::time::Duration::from_secs_f64(cpu_ms.max(0.0) / 1e3));
            self.measured_duration_us += (record.duration_ms.max(0.0) * 1e3) as u64;
            self.throttled_us += (record.throttled_ms.unwrap_or(0.0).max(0.0) * 1e3) as u64;
        }
    }

    /// Adds another summary into this one (the invocations of another shard of a load).
    ///
    /// # Errors
    /// When a histogram cannot be added (they all have the same precision, so never in practice).
    pub fn merge(&mut self, other: &InvocationSummary) -> Result<(), hdrhistogram::AdditionError> {
        self.invocations += other.invocations;
        self.billed += other.billed;
        self.billed_ms_total += other.billed_ms_total;
        self.cold += other.cold;
        self.init_us.add(&other.init_us)?;
        self.duration_us.add(&other.duration_us)?;
        self.cpu_us.add(&other.cpu_us)?;
        self.max_memory_used_mb = self.max_memory_used_mb.max(other.max_memory_used_mb);
        self.measured_duration_us += other.measured_duration_us;
        self.throttled_us += other.throttled_us;
        Ok(())
    }

    /// The share of the measured invocations' time that the CPU quota held them back.
    pub fn throttled_share(&self) -> Option<f64> {
        (self.measured_duration_us > 0).then(|| self.throttled_us as f64 / self.measured_duration_us as f64)
    }
}

/// Asynchronous (`Event`) invocations of a function target: what happened to each event
/// accepted with 202, apart from the invocations themselves (each attempt is one of those).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventReport {
    /// `MaximumRetryAttempts` and `MaximumEventAgeInSeconds` the run used.
    pub max_retry_attempts: u32,
    pub max_event_age_s: f64,
    /// Events accepted (202).
    pub accepted: u64,
    /// Done: the function succeeded, at the first attempt or a retry ...
    pub succeeded: u64,
    /// ... it failed on every attempt ...
    pub failed: u64,
    /// ... or the event grew older than the maximum event age first and was dropped.
    pub expired: u64,
    /// Still queued or running when the run ended (Ctrl-C, or a retry due after the drain).
    pub unfinished: u64,
    /// Attempts after a function error (at most `max_retry_attempts` per event).
    pub retries: u64,
    /// Attempts after a throttle or a failure of coldbench's own (requeued with backoff).
    pub requeued: u64,
    /// From acceptance to the end of the last attempt, for succeeded and failed events, in µs
    /// (base64 of a compressed HdrHistogram V2).
    #[serde(with = "super::histogram::encoded")]
    pub end_to_end_us: hdrhistogram::Histogram<u64>,
    /// Events accepted and not yet done, sampled once per interval of the time series ...
    pub depth_per_second: Vec<u32>,
    /// ... and the age of the oldest of them, in ms (0 when there is none).
    pub oldest_age_ms_per_second: Vec<u64>,
}

impl EventReport {
    pub fn new(max_retry_attempts: u32, max_event_age: std::time::Duration) -> Self {
        Self {
            max_retry_attempts,
            max_event_age_s: max_event_age.as_secs_f64(),
            accepted: 0,
            succeeded: 0,
            failed: 0,
            expired: 0,
            unfinished: 0,
            retries: 0,
            requeued: 0,
            end_to_end_us: super::new_histogram(),
            depth_per_second: Vec::new(),
            oldest_age_ms_per_second: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: InvocationOutcome, init_ms: Option<f64>, instance: bool) -> BillingRecord {
        BillingRecord {
            request_id: "r".into(),
            instance: instance.then(|| "f-0".into()),
            cold: init_ms.is_some(),
            provisioned: false,
            init_ms,
            duration_ms: 12.5,
            billed_ms: 13,
            memory_mb: 128,
            max_memory_used_mb: 40,
            outcome,
            cpu_ms: None,
            throttled_ms: None,
        }
    }

    #[test]
    fn a_summary_counts_what_the_records_said_and_survives_json() {
        let mut summary = InvocationSummary::default();
        summary.add(&record(InvocationOutcome::Success, Some(250.0), true));
        summary.add(&record(InvocationOutcome::Success, None, true));
        summary.add(&record(InvocationOutcome::Throttled, None, false));
        assert_eq!((summary.invocations, summary.billed, summary.cold, summary.billed_ms_total), (3, 2, 1, 39));
        assert_eq!((summary.init_us.len(), summary.duration_us.len()), (1, 2));
        assert!(summary.init_us.equivalent(summary.init_us.value_at_quantile(0.5), 250_000));
        assert_eq!(summary.max_memory_used_mb, 40);
        let back: InvocationSummary = serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        assert_eq!(back, summary);
    }
}
