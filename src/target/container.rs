//! A container target: `instances` always-on server processes behind the local gateway, each
//! serving many requests at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Endpoint, Part, Run, StartError, Target};
use crate::container::ContainerInstance;
use crate::container::{Autoscaling, ContainerConfig, ContainerPool, OnStart};
use crate::cost::InstanceSize;
use crate::function::DemoFunction;
use crate::gateway::Gateway;
use crate::http::RequestTemplate;
use crate::metrics::CreditsReport;
use crate::metrics::TargetKind;
use crate::policy::scaling::{self, ScalingConfig, ScalingMetric};
use crate::policy::{CreditBucket, CreditMode, CreditSpec};
use crate::workload::{ContainerSpec, Workload};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The CPU and memory of one instance, and its CPU credits for a burstable type.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    cpus: f64,
    memory_mb: u32,
    /// The credit figures and the initial balance.
    credits: Option<(CreditSpec, f64)>,
}

/// An instance's id and the task accounting its CPU credits.
type CreditAccount = (String, tokio::task::JoinHandle<CreditsReport>);

/// Always-on servers; the pool and its gateway while they run.
pub struct ContainerTarget<'a> {
    spec: &'a ContainerSpec,
    workload: &'a Workload,
    /// The `[cost]` instance type's or Fargate task's size, which each instance has by default.
    size: Option<InstanceSize>,
    pool: Option<Arc<ContainerPool>>,
    gateway: Option<Gateway>,
    warnings: Vec<String>,
    resources: Option<String>,
    /// One CPU-credit accountant per instance of a burstable type (replacements included),
    /// while the target runs.
    credits: Arc<std::sync::Mutex<Vec<CreditAccount>>>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
    stop_credits: CancellationToken,
}

impl<'a> ContainerTarget<'a> {
    pub fn new(spec: &'a ContainerSpec, workload: &'a Workload, size: Option<InstanceSize>) -> Self {
        Self {
            spec,
            workload,
            size,
            pool: None,
            gateway: None,
            warnings: Vec::new(),
            resources: None,
            credits: Arc::default(),
            supervisor: None,
            stop_credits: CancellationToken::new(),
        }
    }

    /// Each instance's size: the target's `cpus` and `memory_mb`, else the instance type's; and
    /// the type's CPU credits unless the target sets its own `cpus` (then it is not that type).
    fn shape(&self) -> Option<Shape> {
        let base = self.size.as_ref();
        let cpus = self.spec.cpus.or(base.map(|p| p.vcpus))?;
        let memory_mb = self.spec.memory_mb.or(base.map(|p| p.memory_mb))?;
        let credits = base.filter(|_| self.spec.cpus.is_none()).and_then(|p| {
            let burst = p.burst.as_ref()?;
            let mode = self.spec.credits.unwrap_or(burst.default_mode);
            let spec = CreditSpec {
                vcpus: cpus,
                credits_per_hour: burst.credits_per_hour,
                max_credits: burst.max_credits,
                baseline: burst.baseline,
                mode,
            };
            // EC2's launch credits: 30 per vCPU for t2 (standard by default), none for t3.
            let launch = if burst.default_mode == CreditMode::Standard { 30.0 * cpus } else { 0.0 };
            Some((spec, self.spec.initial_credits.unwrap_or(launch)))
        });
        Some(Shape { cpus, memory_mb, credits })
    }

    /// Decides the limits for `--resources` and the host, noting what the report says.
    fn limits(&mut self, wanted: bool, shape: Option<Shape>) -> Option<crate::cgroup::Limits> {
        let consequence = "every instance has the whole host's CPU and memory instead of its instance type's";
        let version = super::enforcement(wanted, consequence, &mut self.warnings, &mut self.resources)?;
        match shape {
            Some(shape) => {
                let credits = shape.credits.map_or(String::new(), |(spec, initial)| {
                    format!(
                        ", {} credits from {initial}",
                        if spec.mode == CreditMode::Standard { "standard" } else { "unlimited" }
                    )
                });
                self.resources = Some(format!(
                    "enforced (cgroup {}): {} vCPU, {} MiB{credits}",
                    version.as_str(),
                    shape.cpus,
                    shape.memory_mb
                ));
                Some(crate::cgroup::Limits { cpus: shape.cpus, memory_bytes: u64::from(shape.memory_mb) << 20 })
            }
            None => {
                self.resources = Some("not enforced (no size: set cpus and memory_mb)".into());
                None
            }
        }
    }

    fn config(&self, demo: &DemoFunction, limits: Option<crate::cgroup::Limits>) -> ContainerConfig {
        let command = self.spec.command.clone().unwrap_or_else(|| demo.http_command());
        // A clean environment, as `docker run` gives: the image's usual PATH and HOME (the
        // host's, so local programs are found), the variables named in `inherit_env`, the demo
        // function's settings, then the target's `env`. Never coldbench's own secrets.
        let host = ["PATH", "HOME"].iter().map(|s| s.to_string()).chain(self.spec.inherit_env.iter().cloned());
        let mut env: Vec<(String, String)> =
            host.filter_map(|name| std::env::var(&name).ok().map(|value| (name, value))).collect();
        env.extend(self.workload.spec.function.init.to_env());
        env.extend(self.spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        ContainerConfig {
            name: self.spec.name.clone(),
            instances: self.spec.instances,
            startup_timeout: self.spec.startup_timeout.0,
            stop_grace: self.spec.stop_grace.0,
            limits,
            cwd: Some(self.workload.command_dir(self.spec.cwd.as_deref())),
            provision_delay: self.spec.provision_delay.0,
            scaling: self.spec.scaling.as_ref().map(autoscaling),
            balancer: self.spec.balancer,
            idle_timeout: self.spec.idle_timeout.0,
            health_check: Some(self.spec.health_check.clone()).filter(|h| h.enabled),
            deregistration_delay: self.spec.deregistration_delay.0,
            max_concurrency: self.spec.max_concurrency.map(|n| n as u64),
            overflow: self.spec.overflow,
            metrics: None,
            version: 0,
            deploy: self.spec.deploy.as_ref().map(|d| {
                let mut new_env = env.clone();
                new_env.retain(|(k, _)| !d.env.contains_key(k));
                new_env.extend(d.env.iter().map(|(k, v)| (k.clone(), v.clone())));
                crate::container::RollingDeploy {
                    at: d.at.0,
                    bounds: match (d.minimum_healthy_percent, d.maximum_percent) {
                        (None, None) => crate::container::DeployBounds::Counts {
                            surge: d.max_surge.unwrap_or(1),
                            unavailable: d.max_unavailable.unwrap_or(0),
                        },
                        (healthy, maximum) => crate::container::DeployBounds::Percent {
                            minimum_healthy: healthy.unwrap_or(100),
                            maximum: maximum.unwrap_or(200),
                        },
                    },
                    command: d.command.clone().unwrap_or_else(|| command.clone()),
                    env: new_env,
                }
            }),
            command,
            env,
        }
    }
}

impl Target for ContainerTarget<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Container
    }

    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError> {
        let shape = self.shape();
        let limits = self.limits(run.options.resources, shape);
        let credits = limits.and(shape).and_then(|s| s.credits);
        let mut config = self.config(run.options.demo, limits);
        config.metrics = run
            .options
            .metrics
            .map(|m| crate::metrics::TargetMetrics { metrics: Arc::clone(m), target: self.spec.name.clone() });
        if config.scaling.as_ref().is_some_and(|s| s.config.metric == ScalingMetric::Cpu) && config.limits.is_none() {
            return Err(StartError::Failed(
                "scaling on metric = \"cpu\" needs each instance's CPU measured in a cgroup of its own: run as root \
                 with resources enforced, or scale on requests-per-instance or concurrency"
                    .into(),
            ));
        }
        let pool = Arc::new(
            ContainerPool::start(&config)
                .await
                .map_err(|e| StartError::Failed(format!("container did not start: {e}")))?,
        );
        // Each instance's CPU credits are accounted, a replacement's from its start.
        let (accounts, stop) = (Arc::clone(&self.credits), self.stop_credits.clone());
        let on_start: OnStart = Arc::new(move |instance: &Arc<ContainerInstance>| {
            if let Some((spec, initial)) = credits {
                let bucket = CreditBucket::new(spec, initial);
                let task = tokio::spawn(account_credits(Arc::clone(instance), bucket, initial, stop.clone()));
                accounts.lock().expect("credits lock").push((instance.id.clone(), task));
            }
        });
        for instance in pool.instances() {
            on_start(&instance);
        }
        self.supervisor = Some(pool.supervise(run.clock.clone(), on_start));
        self.pool = Some(Arc::clone(&pool));
        let gateway = Gateway::start(pool as _)
            .await
            .map_err(|e| StartError::Failed(format!("cannot start the gateway: {e}")))?;
        let url = gateway.url();
        self.gateway = Some(gateway);
        let headers = BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        let default = RequestTemplate::new("POST", &url, &headers, run.workload.spec.function.work.request_body())
            .expect("the gateway URL and fixed headers are valid");
        let origin = url.trim_end_matches('/').to_string();
        let requests = super::request_set(run.workload, &self.spec.name, default, |r| {
            let method = r.method.as_deref().unwrap_or("GET");
            RequestTemplate::new(
                method,
                &format!("{origin}{}", r.target),
                &r.headers,
                r.body.clone().unwrap_or_default(),
            )
        });
        Ok(Endpoint { url, requests })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
        let (mut warnings, resources) = (std::mem::take(&mut self.warnings), self.resources.take());
        let Some(pool) = self.pool.take() else { return Part { warnings, resources, ..Part::default() } };
        // No replacement starts after this: the credits below cover every instance there was.
        pool.stop().await;
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.await;
        }
        self.stop_credits.cancel();
        let mut credits = std::collections::HashMap::new();
        let tasks = std::mem::take(&mut *self.credits.lock().expect("credits lock"));
        for (id, task) in tasks {
            if let Ok(report) = task.await {
                credits.insert(id, report);
            }
        }
        let mut instances = pool.reports();
        for instance in &mut instances {
            instance.credits = credits.remove(&instance.id);
        }
        let (fleet, fleet_warnings) = pool.fleet();
        warnings.extend(fleet_warnings);
        let deploy = pool.deploy_report();
        if self.spec.deploy.is_some() && deploy.is_none() {
            warnings.push(super::DEPLOY_MISSED.to_string());
        }
        Part { instances, warnings, resources, fleet: Some(fleet), deploy, ..Part::default() }
    }
}

/// The fleet's autoscaling from the workload's `scaling = { … }`.
fn autoscaling(spec: &crate::workload::ScalingSpec) -> Autoscaling {
    Autoscaling {
        config: ScalingConfig::from_spec(spec),
        description: scaling_description(spec),
        launch_burst: spec.launch_burst.unwrap_or(scaling::FARGATE_LAUNCH_BURST),
        launch_rate_per_s: spec.launch_rate.unwrap_or(scaling::FARGATE_LAUNCH_RATE_PER_S),
    }
}

/// "target-tracking on requests-per-instance = 10, 1 to 4 instances", for the report.
pub fn scaling_description(spec: &crate::workload::ScalingSpec) -> String {
    format!(
        "{} on {} = {}, {} to {} instances",
        spec.policy.name(),
        spec.metric.name(),
        spec.target,
        spec.min,
        spec.max
    )
}

/// Keeps one burstable instance's CPU credits once a second from its cgroup's CPU time, and
/// holds it at its baseline (standard mode) while the balance is empty.
async fn account_credits(
    instance: Arc<ContainerInstance>,
    mut bucket: CreditBucket,
    initial: f64,
    stop: CancellationToken,
) -> CreditsReport {
    let mut report = CreditsReport { mode: bucket.mode(), initial, ..CreditsReport::default() };
    let full = bucket.full_cpus();
    let mut allowed = bucket.allowed();
    instance.set_cpus(allowed);
    let mut used = instance.usage().map_or(Duration::ZERO, |u| u.cpu);
    let mut at = Instant::now();
    let mut seconds = super::EverySecond::start(stop).await;
    while seconds.next().await {
        let now = instance.usage().map_or(used, |u| u.cpu);
        let elapsed = at.elapsed().as_secs_f64();
        at = Instant::now();
        let next = bucket.tick(elapsed, now.saturating_sub(used).as_secs_f64());
        used = now;
        if allowed < full {
            report.at_baseline_s += elapsed;
        }
        if next != allowed {
            instance.set_cpus(next);
            allowed = next;
        }
        report.balance_per_second.push(bucket.balance());
    }
    report.surplus = bucket.surplus();
    report
}
