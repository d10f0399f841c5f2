//! Measurement: outcomes, HDR histograms, per-second intervals, and the `RunReport` they fill.
//!
//! This module records and summarises; it never sends requests or writes files.

mod fleet;
pub mod histogram;
mod invocation;
pub mod live;
mod merge;
mod outcome;
mod phases;
mod recorder;
mod report;
mod threshold;

pub use fleet::{DeployReport, DeployWindow, FleetReport, PatternMonth, ScalingEventReport};
pub use histogram::{decode, encode, new_histogram, record_us, Summary, SIGNIFICANT_DIGITS};
pub use invocation::{BillingRecord, EventReport, FunctionStats, InvocationOutcome, InvocationSummary, RecordLog};
pub use live::{LiveMetrics, LiveRecords, TargetMetrics};
pub use merge::{merge_measurements, merge_shards};
pub use outcome::{Outcome, OutcomeCounts};
pub use phases::{PhaseHistograms, PhaseReport, Phases, SYN_RETRY};
pub use recorder::{interval_for, Recorder, Sample, INTERVAL, MAX_INTERVALS};
pub use report::{
    CacheCounts, CreditsReport, FastForwardInfo, FunctionReport, Histograms, HostReport, InstanceReport, InstanceUsage,
    IntervalReport, KeepWarmReport, LoadMode, Measurement, MergedInfo, RunReport, ShardInfo, SimulationInfo,
    TargetKind, TargetReport, TargetStatus, UsageReport, UsageSample, UsageSecond, WorkloadInfo, SCHEMA_VERSION,
};
pub use threshold::{Metric, Op, Percentile, Threshold, ThresholdResult, METRICS};
