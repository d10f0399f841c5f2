//! What a deployment did to stay up while the load ran: a container service's fleet (its
//! desired count, failures and replacements, scaling decisions, billed instance time, the month
//! of its traffic's pattern) and a deploy of a new version with the load during it.

use serde::{Deserialize, Serialize};

use super::{IntervalReport, Measurement};

/// A deploy during the run: when the new version took the traffic, how long the old one took to
/// go, and what users saw meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployReport {
    /// When it began, from the start of the target's load.
    pub at_s: f64,
    /// When the last instance of the old version stopped; `None`: not by the end of the run.
    pub done_s: Option<f64>,
    /// `done_s - at_s`: the time to deploy.
    pub time_to_deploy_s: Option<f64>,
    /// Instances of the old version replaced.
    pub replaced: u64,
    /// The load from the interval the deploy began in to the one it ended in (the run's end when
    /// it did not).
    pub window: Option<DeployWindow>,
}

/// The requests that ended during a deploy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeployWindow {
    pub from_s: f64,
    pub to_s: f64,
    pub requests: u64,
    pub errors: u64,
    pub cold: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}

impl DeployReport {
    /// A deploy that began at `began` (from the start of the load) and was done at `done`, if it
    /// was; its window is read later ([`DeployReport::with_window`]).
    pub fn new(began: std::time::Duration, done: Option<std::time::Duration>, replaced: u64) -> Self {
        Self {
            at_s: began.as_secs_f64(),
            done_s: done.map(|d| d.as_secs_f64()),
            time_to_deploy_s: done.map(|d| d.saturating_sub(began).as_secs_f64()),
            replaced,
            window: None,
        }
    }

    /// The report with its window read from `m`'s intervals (their histograms merged).
    #[must_use]
    pub fn with_window(mut self, m: &Measurement) -> Self {
        let length = m.interval_s();
        let end = m.intervals.last().map_or(0.0, |i| i.start_s + length);
        let (from, to) = (self.at_s, self.done_s.unwrap_or(end).max(self.at_s));
        let inside: Vec<&IntervalReport> =
            m.intervals.iter().filter(|i| i.start_s + length > from && i.start_s <= to).collect();
        let Some(first) = inside.first() else { return self };
        let mut merged = super::new_histogram();
        for histogram in inside.iter().filter_map(|i| i.histogram.as_deref()) {
            if let Ok(h) = super::decode(histogram) {
                let _ = merged.add(&h);
            }
        }
        let summary = super::Summary::of(&merged);
        self.window = Some(DeployWindow {
            from_s: first.start_s,
            to_s: inside.last().map_or(first.start_s, |i| i.start_s) + length,
            requests: inside.iter().map(|i| i.requests).sum(),
            errors: inside.iter().map(|i| i.errors).sum(),
            cold: inside.iter().map(|i| i.cold).sum(),
            p50_us: summary.as_ref().map(|s| s.p50_us),
            p99_us: summary.as_ref().map(|s| s.p99_us),
            max_us: summary.map(|s| s.max_us),
        });
        self
    }
}

/// What a container service did to keep its desired count running, as an ECS service does, and
/// how an autoscaled one changed that count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetReport {
    /// The desired count at the end (a fixed fleet's `instances`).
    pub desired: usize,
    /// Instances that died while the load ran ...
    pub failures: u64,
    /// ... and the replacements that came up and took traffic.
    pub replacements: u64,
    /// Instances that failed their health checks (counted in `failures` too).
    #[serde(default)]
    pub unhealthy: u64,
    /// The time (on the run's clock) fewer than `desired` instances were in service.
    pub below_capacity_s: f64,
    /// The provision delay each launch waited before its process started.
    pub provision_delay_s: f64,
    /// The autoscaling policy, in words, when the fleet scaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<String>,
    /// Each change of the desired count.
    #[serde(default)]
    pub events: Vec<ScalingEventReport>,
    /// Instances in service, sampled once a second of the run's clock from the fleet's start.
    #[serde(default)]
    pub in_service_per_second: Vec<u32>,
    /// Instance time from launch to stop, summed.
    #[serde(default)]
    pub instance_seconds: f64,
    /// What the fleet is billed for per period of its traffic: the same lifetimes, at least a
    /// minute for each instance launched and stopped within the run (`cost::billed_instance_seconds`).
    #[serde(default)]
    pub billed_instance_seconds: f64,
    /// An autoscaled fleet's month: the workload's pattern repeated through the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<PatternMonth>,
}

/// A month of a workload's traffic pattern, back to back, through the simulator and the same
/// scaling policy: what an autoscaled fleet runs on average once the pattern repeats — an ECS
/// service does not start each period back at its minimum, as a single run does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternMonth {
    /// Periods of the pattern simulated back to back ...
    pub periods: u32,
    pub period_s: f64,
    /// ... and the span the mean is taken over: the whole month when it was simulated in full,
    /// else from here to the end (the later half, past the first period's start from `min`).
    pub steady_from_s: f64,
    /// Billed instance-seconds per second over that span: the instances the month is priced for.
    pub mean_instances: f64,
    /// The same over the first period alone, which starts where the measured run started.
    pub first_period_mean_instances: f64,
    /// The most instances in service at once.
    pub peak_instances: u32,
    /// Requests simulated.
    pub requests: u64,
}

/// One autoscaling decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScalingEventReport {
    /// Seconds after the fleet started.
    pub at_s: f64,
    pub from: u32,
    pub to: u32,
    /// The datapoint it decided on.
    pub metric: f64,
}
