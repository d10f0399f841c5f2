//! Workloads: reading a TOML file, validating it, and turning its traffic into an arrival schedule.
//!
//! Errors name the file, the field and the problem (with line and column when the TOML parser
//! knows them). This module does no I/O beyond reading the workload and its trace file.

mod arrival;
mod cloud;
mod demo;
mod duration;
mod health;
mod horizon;
mod keep_alive;
mod parse_error;
mod requests;
mod scaling;
mod shard;
mod spec;
mod thresholds;
pub mod trace;
mod validate;

pub use validate::max_lifetime;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use arrival::{ArrivalProcess, Schedule, Stage, SECONDS_PER_DAY};
pub use cloud::LambdaSpec;
pub use demo::{parse_request, CacheCost, CacheWork, Init, Work, ENV_INIT_DELAY, ENV_INIT_MEMORY_MB};
pub use duration::HumanDuration;
pub use health::{status_ranges, HealthCheckSpec};
pub use keep_alive::KeepAliveSetting;
pub use requests::{Request, RequestOrder, RequestSpec, Requests};
pub use scaling::{ScalingMetricKind, ScalingPolicyKind, ScalingSpec};
pub use shard::{digest, Shard};
pub use spec::{
    Balancer, ContainerDeploySpec, ContainerSpec, FunctionAdapter, FunctionDeploySpec, FunctionSpec,
    FunctionTargetSpec, KeepWarmSpec, LoadSpec, Network, Overflow, RampStage, Spread, TargetSpec, TraceFormat,
    TrafficSpec, UrlSpec, WorkloadSpec, DEFAULT_MAX_IN_FLIGHT,
};

/// A workload file that could not be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WorkloadError {
    /// The workload file.
    pub file: PathBuf,
    /// 1-based line and column, when the parser knows them.
    pub position: Option<(usize, usize)>,
    /// Dotted path of the field, e.g. `traffic.rate` (empty for file-level problems).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A validated workload, ready to run.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Where it was read from.
    pub path: PathBuf,
    /// The file's contents as parsed.
    pub spec: WorkloadSpec,
    /// The traffic as an arrival process (trace files already read).
    pub arrivals: ArrivalProcess,
    /// Things worth telling the user that do not stop the run.
    pub warnings: Vec<String>,
    /// The requests of each target that has its own or the workload's `[[requests]]`, by name
    /// (the others send the demo function's work body).
    pub requests: BTreeMap<String, Requests>,
    /// The `[thresholds]`, parsed; `coldbench run --threshold` adds to them.
    pub thresholds: Vec<crate::metrics::Threshold>,
    /// The part of the schedule a measured run sends (`run --shard I/N`); `None`: all of it.
    pub shard: Option<Shard>,
}

impl Workload {
    /// Reads and validates a workload file.
    ///
    /// # Errors
    /// A [`WorkloadError`] naming the file, the field and the problem.
    pub fn load(path: &Path) -> Result<Self, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|e| WorkloadError {
            file: path.to_path_buf(),
            position: None,
            field: String::new(),
            message: format!("cannot read the workload: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and validates workload text; `path` names it in errors and anchors relative trace paths.
    ///
    /// # Errors
    /// A [`WorkloadError`] naming the file, the field and the problem.
    pub fn parse(path: &Path, text: &str) -> Result<Self, WorkloadError> {
        let deserializer = toml::Deserializer::new(text);
        let spec: WorkloadSpec = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let field = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.message().trim().to_string();
            // Inside a tagged table (`targets[0]`, `traffic`) serde loses the path: find the field.
            let located =
                toml::from_str::<toml::Value>(text).ok().and_then(|root| parse_error::locate(&root, &field, &message));
            let field = located.unwrap_or(field);
            WorkloadError {
                file: path.to_path_buf(),
                position: inner.span().map(|span| line_column(text, span.start)),
                field: if field == "." { String::new() } else { field },
                message: parse_error::in_words(&message),
            }
        })?;
        validate::validate(path, spec)
    }

    /// How long each target is driven.
    pub fn duration(&self) -> Duration {
        self.spec.duration.0
    }

    /// Replaces the duration (the `--duration` option), re-checking the warnings that depend on it.
    ///
    /// # Errors
    /// When the horizon is zero, absurdly long, or holds more requests than a run can send (see
    /// [`horizon::check_volume`]); `field` names where it came from (`--duration`).
    pub fn set_duration(&mut self, duration: Duration, field: &str) -> Result<(), WorkloadError> {
        let checked = horizon::check_horizon(duration).and_then(|()| horizon::check_volume(duration, &self.arrivals));
        checked.map_err(|message| WorkloadError {
            file: self.path.clone(),
            position: None,
            field: field.to_string(),
            message,
        })?;
        self.spec.duration = HumanDuration(duration);
        self.warnings = validate::warnings(&self.spec, &self.arrivals);
        Ok(())
    }

    /// Turns on idle fast-forward (the `--fast-forward` option).
    ///
    /// # Errors
    /// When a target is a remote URL, whose time cannot be skipped.
    pub fn set_fast_forward(&mut self) -> Result<(), WorkloadError> {
        self.spec.load.fast_forward = true;
        validate::check_fast_forward(&self.spec).map_err(|(field, message)| WorkloadError {
            file: self.path.clone(),
            position: None,
            field,
            message,
        })?;
        self.warnings = validate::warnings(&self.spec, &self.arrivals);
        Ok(())
    }

    /// Checks the `[cost]` table against the pricing catalog the command will use (the embedded
    /// one or `--pricing FILE`): the instance type, or Fargate on the architecture, must be in it.
    ///
    /// # Errors
    /// A [`WorkloadError`] on `cost.instance` naming the types the catalog has, or on
    /// `cost.fargate`.
    pub fn check_pricing(&self, pricing: &crate::cost::Pricing) -> Result<(), WorkloadError> {
        let cost = &self.spec.cost;
        cost.instance_size(pricing).map(|_| ()).map_err(|e| WorkloadError {
            file: self.path.clone(),
            position: None,
            field: if cost.fargate.is_some() { "cost.fargate" } else { "cost.instance" }.into(),
            message: e.to_string(),
        })
    }

    /// The workload as a report records it.
    ///
    /// # Errors
    /// When the traffic cannot be described as JSON.
    pub fn info(&self) -> serde_json::Result<crate::metrics::WorkloadInfo> {
        Ok(crate::metrics::WorkloadInfo {
            name: self.spec.name.clone(),
            description: self.spec.description.clone(),
            source: self.path.display().to_string(),
            seed: self.spec.seed,
            duration_s: self.duration().as_secs_f64(),
            traffic: serde_json::to_value(&self.spec.traffic)?,
            warnings: self.warnings.clone(),
            cost: self.spec.cost.clone(),
            thresholds: self.thresholds.clone(),
            requests: self
                .spec
                .targets
                .iter()
                .filter_map(|target| {
                    let requests = self.requests.get(target.name())?;
                    let described = match target {
                        TargetSpec::Function(f) if f.event == crate::lambda::EventShape::Invoke => {
                            requests.describe("POST", Some("(the Invoke API)"))
                        }
                        TargetSpec::Url(u) => requests.describe(&u.method, None),
                        _ => requests.describe("GET", None),
                    };
                    Some((target.name().to_string(), described))
                })
                .collect(),
        })
    }

    /// The targets `wanted` names (every target when it is empty).
    ///
    /// # Errors
    /// A name the workload has no target for, with the names it has.
    pub fn select_targets(&self, wanted: &[String]) -> Result<Vec<&TargetSpec>, WorkloadError> {
        let all = &self.spec.targets;
        let names: Vec<&str> = all.iter().map(TargetSpec::name).collect();
        if let Some(unknown) = wanted.iter().find(|w| !names.contains(&w.as_str())) {
            return Err(WorkloadError {
                file: self.path.clone(),
                position: None,
                field: "targets".into(),
                message: format!("--target {unknown:?}: no such target (it has: {})", names.join(", ")),
            });
        }
        Ok(all.iter().filter(|t| wanted.is_empty() || wanted.iter().any(|w| w == t.name())).collect())
    }

    /// The requests the target `name` sends, if the workload chose them.
    pub fn requests_for(&self, name: &str) -> Option<&Requests> {
        self.requests.get(name)
    }

    /// Where a target's command runs: the workload file's folder, or `cwd` relative to it.
    pub fn command_dir(&self, cwd: Option<&Path>) -> PathBuf {
        let folder = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let dir = cwd.map_or_else(|| folder.to_path_buf(), |cwd| folder.join(cwd));
        std::path::absolute(&dir).unwrap_or(dir)
    }

    /// The arrival schedule every target of this run receives.
    pub fn schedule(&self) -> Schedule {
        self.arrivals.schedule(self.duration(), self.spec.seed)
    }

    /// What a measured run sends: the schedule, or this shard's part of it.
    pub fn run_schedule(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        match self.shard {
            Some(shard) => Box::new(shard.select(self.schedule())),
            None => Box::new(self.schedule()),
        }
    }

    /// Refuses a target that cannot be sharded: only a remote endpoint (`url`, `lambda`) is the
    /// same service for every shard; a local target would be one copy per machine.
    ///
    /// # Errors
    /// Naming the first such target of `targets`.
    pub fn check_shardable(&self, targets: &[&TargetSpec]) -> Result<(), WorkloadError> {
        let Some((index, target)) = self.spec.targets.iter().enumerate().find(|(_, t)| {
            targets.iter().any(|s| s.name() == t.name())
                && !matches!(t.kind(), crate::metrics::TargetKind::Url | crate::metrics::TargetKind::Lambda)
        }) else {
            return Ok(());
        };
        Err(WorkloadError {
            file: self.path.clone(),
            position: None,
            field: format!("targets[{index}]"),
            message: format!(
                "target {:?} is a local {} target, which cannot be sharded: sharding splits one endpoint's traffic \
                 across machines, and each machine would measure its own copy of a local target; only url and \
                 lambda targets can be (run the others unsharded)",
                target.name(),
                target.kind().as_str()
            ),
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
