//! The container backend: `instances` always-on server processes behind the gateway.
//!
//! Starts each instance on its own `$PORT`, waits until it accepts connections, balances
//! requests round robin, and stops every process (SIGTERM, then SIGKILL) at the end.

mod instance;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};

pub use instance::{ContainerInstance, StartError};

use crate::gateway::{Backend, Invocation, InvocationRecord, InvokeFuture, Served};
use crate::metrics::InstanceReport;

/// How to start a container target's instances.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// Target name; instances are named `<name>-<i>`.
    pub name: String,
    pub instances: usize,
    pub command: Vec<String>,
    /// The instance's whole environment (besides `PORT` and `COLDBENCH_INSTANCE`): nothing of
    /// coldbench's own is inherited.
    pub env: Vec<(String, String)>,
    pub startup_timeout: Duration,
    pub stop_grace: Duration,
    /// CPU and memory of each instance, enforced with a cgroup; `None`: the whole host.
    pub limits: Option<crate::cgroup::Limits>,
}

/// Running container instances, served round robin.
pub struct ContainerPool {
    instances: Vec<Arc<ContainerInstance>>,
    next: AtomicUsize,
    stop_grace: Duration,
}

impl ContainerPool {
    /// Starts every instance and waits until all accept connections.
    ///
    /// # Errors
    /// When an instance cannot be spawned, exits, or misses the start-up timeout; the error
    /// quotes the tail of its output. Instances already started are stopped.
    pub async fn start(config: &ContainerConfig) -> Result<Self, StartError> {
        let mut starting = tokio::task::JoinSet::new();
        for index in 0..config.instances {
            let config = config.clone();
            starting.spawn(async move { ContainerInstance::start(&config, index).await });
        }
        let mut instances = Vec::with_capacity(config.instances);
        let mut first_error = None;
        while let Some(joined) = starting.join_next().await {
            match joined.expect("instance start-up does not panic") {
                Ok(instance) => instances.push(Arc::new(instance)),
                Err(err) => first_error = first_error.or(Some(err)),
            }
        }
        if let Some(err) = first_error {
            for instance in instances {
                instance.stop(Duration::ZERO).await;
            }
            return Err(err);
        }
        instances.sort_by_key(|i| i.index);
        Ok(Self { instances, next: AtomicUsize::new(0), stop_grace: config.stop_grace })
    }

    /// Per-instance start-up times and request counts.
    /// The instances, in rotation order.
    pub fn instances(&self) -> &[Arc<ContainerInstance>] {
        &self.instances
    }

    pub fn reports(&self) -> Vec<InstanceReport> {
        self.instances.iter().map(|i| i.report()).collect()
    }

    /// Stops every instance: SIGTERM, then SIGKILL after the grace period.
    pub async fn stop(&self) {
        let grace = self.stop_grace;
        let mut stopping = tokio::task::JoinSet::new();
        for instance in &self.instances {
            let instance = Arc::clone(instance);
            stopping.spawn(async move { instance.stop(grace).await });
        }
        while stopping.join_next().await.is_some() {}
    }
}

impl Backend for ContainerPool {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(async move {
            // Round robin over the instances still alive: a dead one leaves rotation at once.
            let n = self.instances.len();
            let first = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(instance) = (0..n).map(|k| &self.instances[(first + k) % n]).find(|i| i.is_alive()) else {
                let mut response = Response::new(Bytes::from("every instance has exited\n"));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                return Served { response, record: None };
            };
            let started = Instant::now();
            let response = instance.forward(invocation).await.unwrap_or_else(|err| {
                let mut response = Response::new(Bytes::from(format!("{} unreachable: {err}", instance.id)));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response
            });
            let record = InvocationRecord {
                instance: instance.id.clone(),
                cold: false,
                init: None,
                duration: started.elapsed(),
                billed_ms: None,
            };
            Served { response, record: Some(record) }
        })
    }
}
