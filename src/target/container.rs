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

/// Always-on servers; the pool and its gateway while they run.
pub struct ContainerTarget<'a> {
    spec: &'a ContainerSpec,
    workload: &'a Workload,
    pool: Option<Arc<ContainerPool>>,
    gateway: Option<Gateway>,
}

impl<'a> ContainerTarget<'a> {
    pub fn new(spec: &'a ContainerSpec, workload: &'a Workload) -> Self {
        Self { spec, workload, pool: None, gateway: None }
    }

    fn config(&self, demo: &DemoFunction) -> ContainerConfig {
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
        let config = self.config(run.options.demo);
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
        let Some(pool) = self.pool.take() else { return Part::default() };
        pool.stop().await;
        Part { instances: pool.reports(), ..Part::default() }
    }
}
