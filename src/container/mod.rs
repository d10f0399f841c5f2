//! The container backend: `instances` always-on server processes behind the gateway.
//!
//! Starts each instance on its own `$PORT`, waits until it accepts connections, balances
//! requests round robin, replaces an instance that dies (after a provision delay, as an ECS
//! service does), and stops every process (SIGTERM, then SIGKILL) at the end.

mod fleet;
mod instance;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Response, StatusCode};

pub use fleet::{Autoscaling, OnStart};
pub use instance::{ContainerInstance, StartError};

use crate::gateway::{Backend, Invocation, InvocationRecord, InvokeFuture, Served};
use crate::metrics::{FleetReport, InstanceReport};
use crate::workload::Balancer;
use tokio_util::sync::CancellationToken;

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
    /// Scheduling and image pull before a launched instance's process starts.
    pub provision_delay: Duration,
    /// Autoscaling; `None`: a fixed fleet of `instances`, dead ones replaced.
    pub scaling: Option<Autoscaling>,
    pub balancer: Balancer,
    /// An answer not begun within this is a 504.
    pub idle_timeout: Duration,
}

/// Running container instances, served round robin; as an ECS service does, the pool replaces an
/// instance that dies (see [`ContainerPool::supervise`]).
pub struct ContainerPool {
    config: ContainerConfig,
    /// Every instance that came up, in order; the ones alive are in rotation.
    instances: RwLock<Vec<Arc<ContainerInstance>>>,
    next: AtomicUsize,
    /// The index the next instance gets (`<name>-<index>`).
    next_index: AtomicUsize,
    started: Instant,
    fleet: Mutex<fleet::Fleet>,
    /// Launches under way (provision delay or start-up).
    pending: AtomicUsize,
    /// Cancelled by [`ContainerPool::stop`]: no replacement starts or joins after it.
    stopping: CancellationToken,
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
        let fleet = fleet::Fleet::new(config, instances.iter().map(|i| i.id.clone()));
        Ok(Self {
            config: config.clone(),
            instances: RwLock::new(instances),
            next: AtomicUsize::new(0),
            next_index: AtomicUsize::new(config.instances),
            started: Instant::now(),
            fleet: Mutex::new(fleet),
            pending: AtomicUsize::new(0),
            stopping: CancellationToken::new(),
        })
    }

    /// The instances that came up so far, in order.
    pub fn instances(&self) -> Vec<Arc<ContainerInstance>> {
        self.instances.read().expect("instances lock").clone()
    }

    /// Per-instance start-up times and request counts, replacements marked.
    pub fn reports(&self) -> Vec<InstanceReport> {
        // The instances first: `join` takes the instances' lock before the fleet's.
        let instances = self.instances();
        let fleet = self.fleet.lock().expect("fleet lock");
        instances
            .iter()
            .map(|i| {
                let mut report = i.report();
                if let Some((replaces, at)) = fleet.launched.get(&i.id) {
                    report.replaces = replaces.clone();
                    report.serving_after_s = Some(at.as_secs_f64());
                }
                report
            })
            .collect()
    }

    /// The fleet's desired size, failures and replacements, and why replacements failed.
    pub fn fleet(&self) -> (FleetReport, Vec<String>) {
        let warnings = self.fleet.lock().expect("fleet lock").warnings.clone();
        (self.fleet_report(), warnings)
    }

    /// Stops every instance (SIGTERM, then SIGKILL after the grace period) and every replacement
    /// still on its way.
    pub async fn stop(&self) {
        self.stopping.cancel();
        let grace = self.config.stop_grace;
        let mut stopping = tokio::task::JoinSet::new();
        for instance in self.instances() {
            stopping.spawn(async move { instance.stop(grace).await });
        }
        while stopping.join_next().await.is_some() {}
    }
}

impl Backend for ContainerPool {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(async move {
            // Only instances in service: a dead or scaled-in one leaves rotation at once.
            let instance = {
                let instances = self.instances.read().expect("instances lock");
                let n = instances.len();
                let first = self.next.fetch_add(1, Ordering::Relaxed);
                let mut in_service = (0..n).map(|k| &instances[(first + k) % n]).filter(|i| i.in_service());
                match self.config.balancer {
                    Balancer::RoundRobin => in_service.next().cloned(),
                    Balancer::LeastOutstandingRequests => in_service.min_by_key(|i| i.in_flight()).cloned(),
                }
            };
            let Some(instance) = instance else {
                // No instance registered, as an ALB answers with no healthy target left.
                let response = plain(StatusCode::SERVICE_UNAVAILABLE, "no instance is in service".to_string());
                return Served { response, record: None };
            };
            let started = Instant::now();
            let answer = tokio::time::timeout(self.config.idle_timeout, instance.forward(invocation)).await;
            let response = match answer {
                Ok(Ok(response)) => response,
                // A broken exchange or an invalid response, as an ALB reports it.
                Ok(Err(err)) => plain(StatusCode::BAD_GATEWAY, format!("{} unreachable: {err}", instance.id)),
                Err(_) => plain(
                    StatusCode::GATEWAY_TIMEOUT,
                    format!("{} did not answer within the idle timeout", instance.id),
                ),
            };
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

/// The balancer's own answer: a status and a line of text, signed with its `Server` header.
fn plain(status: StatusCode, text: String) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(text + "\n"));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::SERVER, http::HeaderValue::from_static(crate::http::BALANCER_SERVER));
    response
}
