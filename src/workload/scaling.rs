//! A container target's `scaling = { … }`: the settings of its autoscaling as the workload file
//! gives them. Every setting but `max`, `metric` and `target` has the platform's default (named
//! in `policy::scaling`); a setting of another policy than the one chosen is refused.

use serde::{Deserialize, Serialize};

use super::HumanDuration;

/// Which autoscaler decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalingPolicyKind {
    /// ECS target tracking.
    #[default]
    TargetTracking,
    /// The Kubernetes HorizontalPodAutoscaler.
    Hpa,
    /// ECS step scaling.
    Step,
}

/// What is tracked, per instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScalingMetricKind {
    /// CPU utilisation in percent of the instance's vCPUs (needs resources enforced).
    Cpu,
    /// Requests per second per instance.
    RequestsPerInstance,
    /// Requests in flight per instance.
    Concurrency,
}

/// `scaling = { min, max, policy, metric, target, … }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingSpec {
    /// Fewest instances (default 1) and most.
    #[serde(default = "one")]
    pub min: u32,
    pub max: u32,
    #[serde(default)]
    pub policy: ScalingPolicyKind,
    pub metric: ScalingMetricKind,
    /// The metric's target value per instance (percent for `cpu`).
    pub target: f64,
    /// Target tracking and step: the metric period (60 s).
    #[serde(default)]
    pub period: Option<HumanDuration>,
    /// Target tracking: datapoints above the target before scaling out (3), below it before
    /// scaling in (15), and the cooldowns (300 s each).
    #[serde(default)]
    pub scale_out_datapoints: Option<u32>,
    #[serde(default)]
    pub scale_in_datapoints: Option<u32>,
    #[serde(default)]
    pub scale_out_cooldown: Option<HumanDuration>,
    #[serde(default)]
    pub scale_in_cooldown: Option<HumanDuration>,
    /// HPA: the sync period (15 s), tolerance (0.1), scale-down stabilization window (300 s),
    /// and the scale-up policies: at most the larger of `scale_up_percent` % (100) and
    /// `scale_up_pods` (4) per `scale_up_period` (15 s).
    #[serde(default)]
    pub sync: Option<HumanDuration>,
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub scale_down_stabilization: Option<HumanDuration>,
    #[serde(default)]
    pub scale_up_percent: Option<f64>,
    #[serde(default)]
    pub scale_up_pods: Option<u32>,
    #[serde(default)]
    pub scale_up_period: Option<HumanDuration>,
    /// Step: `[[from, change], …]` above the target to scale out, below it to scale in, and the
    /// cooldown (300 s).
    #[serde(default)]
    pub steps: Option<Vec<(f64, u32)>>,
    #[serde(default)]
    pub scale_in_steps: Option<Vec<(f64, u32)>>,
    #[serde(default)]
    pub cooldown: Option<HumanDuration>,
    /// The platform's launch limit: a burst (100) and launches per second (20), Fargate's.
    #[serde(default)]
    pub launch_burst: Option<u32>,
    #[serde(default)]
    pub launch_rate: Option<f64>,
}

fn one() -> u32 {
    1
}

impl ScalingSpec {
    /// Checks the settings against each other; `Err` names the field (under `scaling.`).
    ///
    /// # Errors
    /// `(field, message)` for the first setting that cannot be used.
    pub fn check(&self, max_instances: u32) -> Result<(), (String, String)> {
        let bad = |field: &str, message: String| Err((format!("scaling.{field}"), message));
        if self.min == 0 {
            return bad("min", "must be at least 1 (a service scaled to zero has nowhere to send requests)".into());
        }
        if self.max < self.min || self.max > max_instances {
            return bad("max", format!("must be min ({}) to {max_instances}, got {}", self.min, self.max));
        }
        if !(self.target.is_finite() && self.target > 0.0) {
            return bad("target", format!("must be more than 0, got {}", self.target));
        }
        if self.metric == ScalingMetricKind::Cpu && self.target > 100.0 {
            return bad("target", format!("is a CPU percentage: at most 100, got {}", self.target));
        }
        let only = |policy: ScalingPolicyKind, fields: &[(&str, bool)]| -> Result<(), (String, String)> {
            match fields.iter().find(|(_, set)| *set) {
                Some((field, _)) if self.policy != policy => {
                    bad(field, format!("belongs to policy = {:?}, not {:?}", policy.name(), self.policy.name()))
                }
                _ => Ok(()),
            }
        };
        only(
            ScalingPolicyKind::TargetTracking,
            &[
                ("scale_out_datapoints", self.scale_out_datapoints.is_some()),
                ("scale_in_datapoints", self.scale_in_datapoints.is_some()),
                ("scale_out_cooldown", self.scale_out_cooldown.is_some()),
                ("scale_in_cooldown", self.scale_in_cooldown.is_some()),
            ],
        )?;
        only(
            ScalingPolicyKind::Hpa,
            &[
                ("sync", self.sync.is_some()),
                ("tolerance", self.tolerance.is_some()),
                ("scale_down_stabilization", self.scale_down_stabilization.is_some()),
                ("scale_up_percent", self.scale_up_percent.is_some()),
                ("scale_up_pods", self.scale_up_pods.is_some()),
                ("scale_up_period", self.scale_up_period.is_some()),
            ],
        )?;
        only(
            ScalingPolicyKind::Step,
            &[
                ("steps", self.steps.is_some()),
                ("scale_in_steps", self.scale_in_steps.is_some()),
                ("cooldown", self.cooldown.is_some()),
            ],
        )?;
        if self.policy == ScalingPolicyKind::Hpa && self.period.is_some() {
            return bad("period", "the HPA decides every `sync`, not per `period`".into());
        }
        if self.policy == ScalingPolicyKind::Step && self.steps.as_ref().is_none_or(Vec::is_empty) {
            return bad("steps", "a step policy needs at least one step, e.g. [[0, 1], [30, 3]]".into());
        }
        for (field, value) in [("period", &self.period), ("sync", &self.sync)] {
            if value.is_some_and(|d| d.0.is_zero()) {
                return bad(field, "must be more than 0".into());
            }
        }
        if self.scale_out_datapoints == Some(0) || self.scale_in_datapoints == Some(0) {
            return bad("scale_out_datapoints", "datapoints must be at least 1".into());
        }
        if self.tolerance.is_some_and(|t| !(0.0..1.0).contains(&t)) {
            return bad("tolerance", "must be 0 to 1".into());
        }
        if self.launch_burst == Some(0) || self.launch_rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return bad("launch_rate", "the launch burst and rate must be more than 0".into());
        }
        Ok(())
    }
}

impl ScalingPolicyKind {
    /// Its name in a workload file.
    pub fn name(self) -> &'static str {
        match self {
            ScalingPolicyKind::TargetTracking => "target-tracking",
            ScalingPolicyKind::Hpa => "hpa",
            ScalingPolicyKind::Step => "step",
        }
    }
}

impl ScalingMetricKind {
    /// Its name in a workload file.
    pub fn name(self) -> &'static str {
        match self {
            ScalingMetricKind::Cpu => "cpu",
            ScalingMetricKind::RequestsPerInstance => "requests-per-instance",
            ScalingMetricKind::Concurrency => "concurrency",
        }
    }
}
