//! The container fleet's scaling policy: how many instances a service wants, from a metric
//! sampled over time, decided as ECS target tracking, a Kubernetes HorizontalPodAutoscaler or an
//! ECS step policy decide it. Pure and deterministic, like the function pool: the clock (a
//! `Duration` since any fixed origin) and the metric are arguments, so the simulator runs exactly
//! this code. It does not start or stop anything: the caller launches (through [`Launches`]) and
//! stops instances to follow [`Scaler::desired`].
//!
//! Defaults and rules: `docs/reference/resources-and-autoscaling.md` §3.

use std::collections::VecDeque;
use std::time::Duration;

use super::TokenBucket;
use crate::workload::{HumanDuration, ScalingMetricKind, ScalingPolicyKind, ScalingSpec};

/// CloudWatch's standard resolution: one datapoint a minute.
pub const TARGET_TRACKING_PERIOD: Duration = Duration::from_secs(60);
/// Consecutive datapoints above the target before a target-tracking scale-out (about 3) ...
pub const TARGET_TRACKING_OUT_DATAPOINTS: u32 = 3;
/// ... and below it before a scale-in (about 15).
pub const TARGET_TRACKING_IN_DATAPOINTS: u32 = 15;
/// ECS services' default ScaleOutCooldown and ScaleInCooldown (also step scaling's Cooldown).
pub const ECS_COOLDOWN: Duration = Duration::from_secs(300);
/// The HPA's sync period, tolerance, scale-down stabilization window ...
pub const HPA_SYNC: Duration = Duration::from_secs(15);
pub const HPA_TOLERANCE: f64 = 0.1;
pub const HPA_DOWN_STABILIZATION: Duration = Duration::from_secs(300);
/// ... and its default scale-up policies: the larger of doubling and 4 pods per 15 s.
pub const HPA_UP_PERCENT: f64 = 100.0;
pub const HPA_UP_PODS: u32 = 4;
pub const HPA_UP_PERIOD: Duration = Duration::from_secs(15);
/// Fargate's task-launch token bucket per account and Region: a burst of 100, 20 a second.
pub const FARGATE_LAUNCH_BURST: u32 = 100;
pub const FARGATE_LAUNCH_RATE_PER_S: f64 = 20.0;

/// What the scaler measures, each instance's average over the fleet, sampled once a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingMetric {
    /// CPU utilisation in percent of the instance's vCPUs (`ECSServiceAverageCPUUtilization`).
    Cpu,
    /// Requests per second per instance (`ALBRequestCountPerTarget` is this × 60 a minute).
    RequestsPerInstance,
    /// Requests in flight per instance.
    Concurrency,
}

/// One step of a step policy: from `from` above the target (or below it, for scale-in steps),
/// change the capacity by `change` instances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    pub from: f64,
    pub change: u32,
}

/// How decisions are made, with every default overridable.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// ECS target tracking: per `period` a datapoint (the mean of the samples); after
    /// `out_datapoints` consecutive ones above the target, desired = ceil(serving × metric /
    /// target) if that is more than now (capacity still starting counts); after `in_datapoints` below it, the same formula scales in, no sooner than
    /// `in_cooldown` after the last scale-in and `out_cooldown` after the last scale-out.
    TargetTracking {
        period: Duration,
        out_datapoints: u32,
        in_datapoints: u32,
        out_cooldown: Duration,
        in_cooldown: Duration,
    },
    /// The Kubernetes HPA: every `sync`, desired = ceil(serving × metric / target) unless within
    /// `tolerance` of 1; scale-up limited to the larger of `up_percent` % and `up_pods` pods per
    /// `up_period`; scale-down to the highest recommendation of the last `down_stabilization`.
    Hpa {
        sync: Duration,
        tolerance: f64,
        down_stabilization: Duration,
        up_percent: f64,
        up_pods: u32,
        up_period: Duration,
    },
    /// ECS step scaling: per `period` a datapoint; above the target, add the `change` of the
    /// highest step it reaches (`out`); below it, remove that of `in_steps`. Within `cooldown` of
    /// a scale-out, a new step counts from the fleet before it (so only a larger one adds), and
    /// no scale-in happens.
    Step { period: Duration, out: Vec<Step>, in_steps: Vec<Step>, cooldown: Duration },
}

impl Policy {
    /// Target tracking with ECS's defaults.
    pub fn target_tracking() -> Self {
        Policy::TargetTracking {
            period: TARGET_TRACKING_PERIOD,
            out_datapoints: TARGET_TRACKING_OUT_DATAPOINTS,
            in_datapoints: TARGET_TRACKING_IN_DATAPOINTS,
            out_cooldown: ECS_COOLDOWN,
            in_cooldown: ECS_COOLDOWN,
        }
    }

    /// The HPA with Kubernetes' defaults.
    pub fn hpa() -> Self {
        Policy::Hpa {
            sync: HPA_SYNC,
            tolerance: HPA_TOLERANCE,
            down_stabilization: HPA_DOWN_STABILIZATION,
            up_percent: HPA_UP_PERCENT,
            up_pods: HPA_UP_PODS,
            up_period: HPA_UP_PERIOD,
        }
    }

    /// How often the policy decides: a datapoint's period, or the HPA's sync.
    pub fn period(&self) -> Duration {
        match self {
            Policy::TargetTracking { period, .. } | Policy::Step { period, .. } => *period,
            Policy::Hpa { sync, .. } => *sync,
        }
    }
}

/// A fleet's scaling settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingConfig {
    pub min: u32,
    pub max: u32,
    pub metric: ScalingMetric,
    pub target: f64,
    pub policy: Policy,
}

/// Why the desired count changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Out,
    In,
}

/// One decision: at `at`, from `from` desired instances to `to`, on a datapoint of `metric`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingEvent {
    pub at: Duration,
    pub from: u32,
    pub to: u32,
    pub metric: f64,
    pub direction: Direction,
}

/// The policy's state: samples of the current period, past datapoints and decisions.
#[derive(Clone, Debug)]
pub struct Scaler {
    config: ScalingConfig,
    desired: u32,
    /// When the current period started, and the sum and count of its samples.
    period_start: Duration,
    sum: f64,
    samples: u32,
    /// Consecutive datapoints above (positive) or below (negative) the target: an alarm stays in
    /// ALARM while they last, and the policy is invoked at each one.
    streak: i64,
    /// The last scale-out: when, and the desired count before it.
    last_out: Option<(Duration, u32)>,
    last_in: Option<Duration>,
    /// The HPA's recommendations within its stabilization window, and its scale-ups within
    /// `up_period` (time, count before).
    recommendations: VecDeque<(Duration, u32)>,
    ups: VecDeque<(Duration, u32)>,
    events: Vec<ScalingEvent>,
}

impl Scaler {
    /// A fleet of `initial` instances (clamped to `[min, max]`) at `now`.
    pub fn new(config: ScalingConfig, initial: u32, now: Duration) -> Self {
        let desired = initial.clamp(config.min, config.max.max(config.min));
        Self {
            config,
            desired,
            period_start: now,
            sum: 0.0,
            samples: 0,
            streak: 0,
            last_out: None,
            last_in: None,
            recommendations: VecDeque::new(),
            ups: VecDeque::new(),
            events: Vec::new(),
        }
    }

    /// Instances the fleet should have (running or starting).
    pub fn desired(&self) -> u32 {
        self.desired
    }

    /// Every change of the desired count so far.
    pub fn events(&self) -> &[ScalingEvent] {
        &self.events
    }

    /// When the current period ends: the next time [`Scaler::observe`] may decide.
    pub fn next_decision(&self) -> Duration {
        self.period_start + self.config.policy.period()
    }

    /// Takes the fleet's metric at `now` (one sample a second, say) with `serving` instances
    /// taking traffic; when a period ends, decides. Returns the decision, if the desired count
    /// changed. A period without samples (no instance serving) is missing data: no action.
    pub fn observe(&mut self, now: Duration, metric: f64, serving: u32) -> Option<ScalingEvent> {
        let mut decided = None;
        while now >= self.next_decision() {
            let end = self.next_decision();
            let datapoint = (self.samples > 0).then(|| self.sum / f64::from(self.samples));
            (self.sum, self.samples, self.period_start) = (0.0, 0, end);
            if let Some(value) = datapoint {
                decided = self.decide(end, value, serving).or(decided);
            }
        }
        if metric.is_finite() {
            self.sum += metric.max(0.0);
            self.samples += 1;
        }
        decided
    }

    fn decide(&mut self, now: Duration, value: f64, serving: u32) -> Option<ScalingEvent> {
        let (min, max, target) = (self.config.min, self.config.max.max(self.config.min), self.config.target);
        let proportional = || ((f64::from(serving.max(1)) * value / target).ceil() as u32).clamp(min, max);
        let to = match self.config.policy.clone() {
            Policy::TargetTracking { out_datapoints, in_datapoints, out_cooldown, in_cooldown, .. } => {
                self.count_streak(value, target);
                if self.streak >= i64::from(out_datapoints) {
                    // Capacity already added counts: only a larger fleet is a new scale-out.
                    proportional().max(self.desired)
                } else if -self.streak >= i64::from(in_datapoints) && self.cooled(now, out_cooldown, in_cooldown) {
                    proportional().min(self.desired)
                } else {
                    self.desired
                }
            }
            Policy::Hpa { tolerance, down_stabilization, up_percent, up_pods, up_period, .. } => {
                let ratio = value / target;
                let wanted = if (ratio - 1.0).abs() <= tolerance { self.desired } else { proportional() };
                self.hpa_limit(now, wanted, down_stabilization, up_percent, up_pods, up_period)
            }
            Policy::Step { out, in_steps, cooldown, .. } => {
                let step = |steps: &[Step], by: f64| steps.iter().filter(|s| by >= s.from).map(|s| s.change).max();
                if value > target {
                    let change = step(&out, value - target).unwrap_or(0);
                    match self.last_out {
                        // In the cooldown, the last scale-out's capacity counts as added: the new
                        // step applies to the fleet before it (only a larger step adds more).
                        Some((at, before)) if now < at + cooldown => (before + change).min(max).max(self.desired),
                        _ => (self.desired + change).min(max),
                    }
                } else if value < target && self.cooled(now, cooldown, cooldown) {
                    let change = step(&in_steps, target - value).unwrap_or(0);
                    self.desired.saturating_sub(change).max(min)
                } else {
                    self.desired
                }
            }
        };
        self.change(now, to, value)
    }

    /// Counts consecutive datapoints on one side of the target.
    fn count_streak(&mut self, value: f64, target: f64) {
        self.streak = match (value > target, value < target) {
            (true, _) => self.streak.max(0) + 1,
            (_, true) => self.streak.min(0) - 1,
            _ => 0,
        };
    }

    /// Whether a scale-in may happen: past both cooldowns.
    fn cooled(&self, now: Duration, out_cooldown: Duration, in_cooldown: Duration) -> bool {
        self.last_out.is_none_or(|(at, _)| now >= at + out_cooldown)
            && self.last_in.is_none_or(|at| now >= at + in_cooldown)
    }

    /// The HPA's behaviour: scale-up bounded by its policies over `up_period`, scale-down by the
    /// highest recommendation within the stabilization window.
    fn hpa_limit(
        &mut self,
        now: Duration,
        wanted: u32,
        down_stabilization: Duration,
        up_percent: f64,
        up_pods: u32,
        up_period: Duration,
    ) -> u32 {
        self.recommendations.push_back((now, wanted));
        while self.recommendations.front().is_some_and(|(at, _)| *at + down_stabilization < now) {
            self.recommendations.pop_front();
        }
        while self.ups.front().is_some_and(|(at, _)| *at + up_period <= now) {
            self.ups.pop_front();
        }
        if wanted > self.desired {
            // Within one up_period, growth is measured from the size at its start.
            let base = self.ups.front().map_or(self.desired, |(_, before)| *before);
            let by_percent = (f64::from(base) * (1.0 + up_percent / 100.0)).ceil() as u32;
            let limit = by_percent.max(base + up_pods);
            let to = wanted.min(limit).max(self.desired);
            if to > self.desired {
                self.ups.push_back((now, self.desired));
            }
            to
        } else {
            let stabilized = self.recommendations.iter().map(|(_, n)| *n).max().unwrap_or(wanted);
            stabilized.min(self.desired)
        }
    }

    fn change(&mut self, now: Duration, to: u32, metric: f64) -> Option<ScalingEvent> {
        if to == self.desired {
            return None;
        }
        let direction = if to > self.desired { Direction::Out } else { Direction::In };
        let event = ScalingEvent { at: now, from: self.desired, to, metric, direction };
        match direction {
            Direction::Out => self.last_out = Some((now, self.desired)),
            Direction::In => self.last_in = Some(now),
        }
        self.desired = to;
        self.events.push(event);
        Some(event)
    }
}

impl ScalingConfig {
    /// The policy a workload's `scaling = { … }` asks for, its defaults filled in.
    pub fn from_spec(spec: &ScalingSpec) -> Self {
        let or = |d: Option<HumanDuration>, default: Duration| d.map_or(default, |d| d.0);
        let steps = |s: &Option<Vec<(f64, u32)>>, default: Vec<Step>| {
            s.as_ref().map_or(default, |s| s.iter().map(|&(from, change)| Step { from, change }).collect())
        };
        let policy = match spec.policy {
            ScalingPolicyKind::TargetTracking => Policy::TargetTracking {
                period: or(spec.period, TARGET_TRACKING_PERIOD),
                out_datapoints: spec.scale_out_datapoints.unwrap_or(TARGET_TRACKING_OUT_DATAPOINTS),
                in_datapoints: spec.scale_in_datapoints.unwrap_or(TARGET_TRACKING_IN_DATAPOINTS),
                out_cooldown: or(spec.scale_out_cooldown, ECS_COOLDOWN),
                in_cooldown: or(spec.scale_in_cooldown, ECS_COOLDOWN),
            },
            ScalingPolicyKind::Hpa => Policy::Hpa {
                sync: or(spec.sync, HPA_SYNC),
                tolerance: spec.tolerance.unwrap_or(HPA_TOLERANCE),
                down_stabilization: or(spec.scale_down_stabilization, HPA_DOWN_STABILIZATION),
                up_percent: spec.scale_up_percent.unwrap_or(HPA_UP_PERCENT),
                up_pods: spec.scale_up_pods.unwrap_or(HPA_UP_PODS),
                up_period: or(spec.scale_up_period, HPA_UP_PERIOD),
            },
            ScalingPolicyKind::Step => Policy::Step {
                period: or(spec.period, TARGET_TRACKING_PERIOD),
                out: steps(&spec.steps, Vec::new()),
                in_steps: steps(&spec.scale_in_steps, vec![Step { from: 0.0, change: 1 }]),
                cooldown: or(spec.cooldown, ECS_COOLDOWN),
            },
        };
        let metric = match spec.metric {
            ScalingMetricKind::Cpu => ScalingMetric::Cpu,
            ScalingMetricKind::RequestsPerInstance => ScalingMetric::RequestsPerInstance,
            ScalingMetricKind::Concurrency => ScalingMetric::Concurrency,
        };
        Self { min: spec.min, max: spec.max, metric, target: spec.target, policy }
    }
}

/// Instance launches as a platform allows them: the scheduler and image pull take
/// `provision_delay` before the instance's own process starts, and launches draw on a token
/// bucket (Fargate's 100 at once, 20 a second).
#[derive(Clone, Debug)]
pub struct Launches {
    provision_delay: Duration,
    bucket: TokenBucket,
}

impl Launches {
    pub fn new(provision_delay: Duration, burst: u32, rate_per_s: f64, now: Duration) -> Self {
        Self { provision_delay, bucket: TokenBucket::new(burst, rate_per_s, now) }
    }

    /// The launch limits a workload's `scaling` asks for (Fargate's by default).
    pub fn from_spec(spec: &ScalingSpec, provision_delay: Duration, now: Duration) -> Self {
        let burst = spec.launch_burst.unwrap_or(FARGATE_LAUNCH_BURST);
        Self::new(provision_delay, burst, spec.launch_rate.unwrap_or(FARGATE_LAUNCH_RATE_PER_S), now)
    }

    /// Fargate's launch limits.
    pub fn fargate(provision_delay: Duration, now: Duration) -> Self {
        Self::new(provision_delay, FARGATE_LAUNCH_BURST, FARGATE_LAUNCH_RATE_PER_S, now)
    }

    /// Launches one instance at `now` if the bucket allows it: `Some(when its process starts)`.
    /// `None`: try again at [`Launches::next_launch`].
    pub fn launch(&mut self, now: Duration) -> Option<Duration> {
        self.bucket.take(now).then_some(now + self.provision_delay)
    }

    pub fn provision_delay(&self) -> Duration {
        self.provision_delay
    }

    /// When the next launch is allowed.
    pub fn next_launch(&mut self, now: Duration) -> Option<Duration> {
        self.bucket.next_token(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn scaler(policy: Policy, min: u32, max: u32, initial: u32) -> Scaler {
        let config = ScalingConfig { min, max, metric: ScalingMetric::Cpu, target: 50.0, policy };
        Scaler::new(config, initial, Duration::ZERO)
    }

    /// Feeds a metric once a second from `from` to `to` (seconds) with the scaler's desired count
    /// serving (`metric` of the second and that count); returns the decisions.
    fn feed(scaler: &mut Scaler, from: u64, to: u64, metric: impl Fn(u64, u32) -> f64) -> Vec<ScalingEvent> {
        (from..to)
            .filter_map(|t| {
                let serving = scaler.desired();
                scaler.observe(S * t as u32, metric(t, serving), serving)
            })
            .collect()
    }

    #[test]
    fn target_tracking_scales_out_after_three_datapoints_above_and_in_after_fifteen_below() {
        let mut s = scaler(Policy::target_tracking(), 1, 10, 2);
        // 100 % CPU against a 50 % target: the third minute's datapoint decides, at 180 s.
        let out = feed(&mut s, 0, 181, |_, _| 100.0);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].at, out[0].from, out[0].to, out[0].direction), (S * 180, 2, 4, Direction::Out));
        // Then idle at 10 %: fifteen datapoints below, and past the 300 s cooldown.
        let quiet = feed(&mut s, 181, 181 + 20 * 60, |_, _| 10.0);
        assert_eq!(quiet.first().map(|e| (e.at, e.to)), Some((S * (180 + 15 * 60), 1)), "{quiet:?}");
        assert_eq!(quiet.len(), 1, "at min already");
    }

    #[test]
    fn target_tracking_needs_consecutive_datapoints_and_clamps_to_max() {
        let mut s = scaler(Policy::target_tracking(), 1, 5, 1);
        // Above, above, below, above, above: no three in a row yet.
        let pattern = [100.0, 100.0, 10.0, 100.0, 100.0];
        assert!(feed(&mut s, 0, 5 * 60, |t, _| pattern[(t / 60) as usize]).is_empty());
        let out = feed(&mut s, 5 * 60, 6 * 60 + 1, |_, _| 1_000.0);
        assert_eq!(out.last().map(|e| e.to), Some(5), "ceil(1 × 1000 / 50) = 20, clamped to max");
    }

    #[test]
    fn a_period_without_samples_is_missing_data() {
        let mut s = scaler(Policy::target_tracking(), 1, 10, 1);
        assert!(s.observe(S * 600, 100.0, 1).is_none(), "ten empty minutes decide nothing");
        assert_eq!(s.next_decision(), S * 660);
    }

    #[test]
    fn the_hpa_doubles_or_adds_four_per_period_and_stabilizes_its_scale_down() {
        let mut s = scaler(Policy::hpa(), 1, 100, 1);
        // A load worth 40 pods at the target: 15 s at a time it may go 1 → 5 → 10 → 20 → 40.
        let ups: Vec<u32> = feed(&mut s, 0, 91, |_, pods| 50.0 * 40.0 / f64::from(pods)).iter().map(|e| e.to).collect();
        assert_eq!(ups, [5, 10, 20, 40], "max(+100 %, +4 pods) per 15 s, then at the target");
        // Within the tolerance nothing changes; far below, it waits out the 300 s window.
        assert!(feed(&mut s, 91, 120, |_, _| 54.0).is_empty(), "54/50 is within 0.1");
        let down = feed(&mut s, 120, 600, |_, _| 5.0);
        let first = down.first().expect("a scale-down");
        // The sync at 120 s still decides on 105–120 s (54 %): its recommendation of 40 is the
        // last, and holds for 300 s.
        assert_eq!(first.at, S * 435, "{down:?}");
        assert_eq!(first.to, 4, "ceil(40 × 5 / 50)");
    }

    #[test]
    fn a_step_policy_adds_the_reached_step_once_per_cooldown() {
        let steps = vec![Step { from: 0.0, change: 1 }, Step { from: 30.0, change: 3 }];
        let policy = Policy::Step {
            period: TARGET_TRACKING_PERIOD,
            out: steps,
            in_steps: vec![Step { from: 0.0, change: 1 }],
            cooldown: ECS_COOLDOWN,
        };
        let mut s = scaler(policy, 1, 10, 2);
        let out = feed(&mut s, 0, 61, |_, _| 90.0);
        assert_eq!(out.iter().map(|e| e.to).collect::<Vec<_>>(), [5], "40 over the target: the +3 step");
        assert!(feed(&mut s, 61, 300, |_, _| 60.0).is_empty(), "in the cooldown, +1 on the 2 before is not more");
        let later = feed(&mut s, 300, 421, |_, _| 60.0);
        assert_eq!(later.first().map(|e| (e.at, e.to)), Some((S * 360, 6)), "after the cooldown: {later:?}");
    }

    #[test]
    fn launches_wait_for_the_provision_delay_and_the_launch_rate() {
        let mut launches = Launches::fargate(S * 60, Duration::ZERO);
        let started: Vec<_> = (0..120).filter_map(|_| launches.launch(Duration::ZERO)).collect();
        assert_eq!((started.len(), started[0]), (100, S * 60));
        assert_eq!(launches.next_launch(Duration::ZERO), Some(Duration::from_millis(50)));
    }
}
