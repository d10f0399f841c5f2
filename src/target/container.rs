//! A container target: `instances` always-on server processes behind the local gateway, each
//! serving many requests at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Endpoint, Part, Run, StartError, Target};
use crate::container::{ContainerConfig, ContainerPool};
use crate::function::DemoFunction;
use crate::gateway::Gateway;
use crate::http::RequestTemplate;
use crate::metrics::TargetKind;
use crate::workload::{ContainerSpec, Workload};

/// The CPU and memory of one instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub cpus: f64,
    pub memory_mb: u32,
}

/// Always-on servers; the pool and its gateway while they run.
pub struct ContainerTarget<'a> {
    spec: &'a ContainerSpec,
    workload: &'a Workload,
    /// The `[cost] instance` type's size, the default of each instance's.
    instance_type: Option<Shape>,
    pool: Option<Arc<ContainerPool>>,
    gateway: Option<Gateway>,
    warnings: Vec<String>,
    resources: Option<String>,
}

impl<'a> ContainerTarget<'a> {
    pub fn new(spec: &'a ContainerSpec, workload: &'a Workload, instance_type: Option<Shape>) -> Self {
        Self { spec, workload, instance_type, pool: None, gateway: None, warnings: Vec::new(), resources: None }
    }

    /// Each instance's size: the target's `cpus` and `memory_mb`, else the instance type's.
    fn shape(&self) -> Option<Shape> {
        let base = self.instance_type;
        let cpus = self.spec.cpus.or(base.map(|s| s.cpus))?;
        let memory_mb = self.spec.memory_mb.or(base.map(|s| s.memory_mb))?;
        Some(Shape { cpus, memory_mb })
    }

    /// Decides the limits for `--resources` and the host, noting what the report says.
    fn limits(&mut self, wanted: bool) -> Option<crate::cgroup::Limits> {
        let shape = self.shape();
        match (super::resources(wanted), shape) {
            (Ok(version), Some(shape)) => {
                self.resources = Some(format!(
                    "enforced (cgroup {}): {} vCPU and {} MiB per instance",
                    version.as_str(),
                    shape.cpus,
                    shape.memory_mb
                ));
                Some(crate::cgroup::Limits { cpus: shape.cpus, memory_bytes: u64::from(shape.memory_mb) << 20 })
            }
            (Ok(_), None) => {
                self.resources = Some("not enforced (no size: set cpus and memory_mb)".into());
                None
            }
            (Err(words), _) => {
                if words.starts_with("not enforced") {
                    self.warnings.push(format!(
                        "resources {words}: every instance has the whole host's CPU and memory instead of its \
                         instance type's"
                    ));
                }
                self.resources = Some(words);
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
            command,
            env,
            startup_timeout: self.spec.startup_timeout.0,
            stop_grace: self.spec.stop_grace.0,
            limits,
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
        let limits = self.limits(run.options.resources);
        let config = self.config(run.options.demo, limits);
        let pool = Arc::new(
            ContainerPool::start(&config)
                .await
                .map_err(|e| StartError::Failed(format!("container did not start: {e}")))?,
        );
        self.pool = Some(Arc::clone(&pool));
        let gateway = Gateway::start(pool as _)
            .await
            .map_err(|e| StartError::Failed(format!("cannot start the gateway: {e}")))?;
        let url = gateway.url();
        self.gateway = Some(gateway);
        let headers = BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        let template = RequestTemplate::new("POST", &url, &headers, run.workload.spec.function.work.request_body())
            .expect("the gateway URL and fixed headers are valid");
        Ok(Endpoint { url, template })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
        let (warnings, resources) = (std::mem::take(&mut self.warnings), self.resources.take());
        let Some(pool) = self.pool.take() else { return Part { warnings, resources, ..Part::default() } };
        pool.stop().await;
        Part { instances: pool.reports(), warnings, resources, ..Part::default() }
    }
}
