//! The container backend: `instances` always-on server processes behind the gateway.
//!
//! Starts each instance on its own `$PORT`, waits until it accepts connections, balances
//! requests round robin, replaces an instance that dies (after a provision delay, as an ECS
//! service does), and stops every process (SIGTERM, then SIGKILL) at the end.

mod fleet;
mod health;
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
    /// The instances' working directory; `None`: coldbench's own.
    pub cwd: Option<std::path::PathBuf>,
    /// Scheduling and image pull before a launched instance's process starts.
    pub provision_delay: Duration,
    /// Autoscaling; `None`: a fixed fleet of `instances`, dead ones replaced.
    pub scaling: Option<Autoscaling>,
    pub balancer: Balancer,
    /// An answer not begun within this is a 504.
    pub idle_timeout: Duration,
    /// The balancer's health checks; `None`: an instance serves once it accepts connections.
    pub health_check: Option<crate::workload::HealthCheckSpec>,
    /// How long a deregistered instance may finish its requests before it is stopped anyway.
    pub deregistration_delay: Duration,
    /// The version its instances run: 0, and 1 for a deploy's new instances.
    pub version: u32,
    /// A rolling deploy during the run.
    pub deploy: Option<RollingDeploy>,
    /// Requests the balancer sends one instance at once; `None`: no limit.
    pub max_concurrency: Option<u64>,
    /// What happens to a request with every instance at its limit.
    pub overflow: crate::workload::Overflow,
    /// Where the fleet's size and scaling events are published live (`--metrics`).
    pub metrics: Option<crate::metrics::TargetMetrics>,
}

/// A rolling deploy (see [`crate::workload::ContainerDeploySpec`]).
#[derive(Debug, Clone)]
pub struct RollingDeploy {
    /// From the fleet's start.
    pub at: Duration,
    pub bounds: DeployBounds,
    /// The new version's command and whole environment.
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// How far a rolling deploy may go above and below the desired count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployBounds {
    /// Instances above (`max_surge`) and below (`max_unavailable`) it.
    Counts { surge: usize, unavailable: usize },
    /// ECS's `minimumHealthyPercent` and `maximumPercent` of it.
    Percent { minimum_healthy: u32, maximum: u32 },
}

impl DeployBounds {
    /// `(max_surge, max_unavailable)` for a desired count, as ECS rounds the percentages: the
    /// healthy minimum up, the maximum down. At least one of the two is 1, or the deploy could
    /// not move (ECS stops there too; coldbench takes one step at a time instead).
    pub fn for_desired(self, desired: usize) -> (usize, usize) {
        let (surge, unavailable) = match self {
            Self::Counts { surge, unavailable } => (surge, unavailable),
            Self::Percent { minimum_healthy, maximum } => {
                let healthy = (desired * minimum_healthy as usize).div_ceil(100);
                let most = desired * maximum as usize / 100;
                (most.saturating_sub(desired), desired.saturating_sub(healthy))
            }
        };
        if surge == 0 && unavailable == 0 {
            (1, 0)
        } else {
            (surge, unavailable)
        }
    }
}

impl ContainerConfig {
    /// The configuration of the deploy's new version, if there is a deploy.
    pub fn next_version(&self) -> Option<Self> {
        let deploy = self.deploy.as_ref()?;
        Some(Self {
            command: deploy.command.clone(),
            env: deploy.env.clone(),
            version: self.version + 1,
            deploy: None,
            ..self.clone()
        })
    }
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
    /// Told when a request ends, for requests waiting for a free slot.
    freed: tokio::sync::Notify,
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
        // The first instances are registered before the load starts: each must pass a check.
        if let (Some(check), None) = (&config.health_check, &first_error) {
            let deadline = Instant::now() + config.startup_timeout;
            for instance in &instances {
                if let Err(last) = health::first_pass(instance, check, deadline).await {
                    let (id, timeout) = (instance.id.clone(), config.startup_timeout);
                    first_error = Some(StartError::Unhealthy { id, timeout, last });
                    break;
                }
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
            freed: tokio::sync::Notify::new(),
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

impl ContainerPool {
    /// An instance for the next request: among those in service (or, with none healthy, the
    /// unhealthy ones: an ALB fails open), by the balancer's rule, skipping those at
    /// `max_concurrency`. `Err(true)`: every instance is at its limit; `Err(false)`: none is
    /// registered. No allocation: this runs for every request.
    fn pick(&self) -> Result<Arc<ContainerInstance>, bool> {
        let instances = self.instances.read().expect("instances lock");
        let n = instances.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let limit = self.config.max_concurrency.unwrap_or(u64::MAX);
        let tiers: [fn(&ContainerInstance) -> bool; 2] = [ContainerInstance::in_service, ContainerInstance::fails_open];
        for eligible in tiers {
            let mut seen = false;
            let chosen = {
                let mut free = (0..n)
                    .map(|k| &instances[(first + k) % n])
                    .filter(|i| eligible(i))
                    .inspect(|_| seen = true)
                    .filter(|i| i.in_flight() < limit);
                match self.config.balancer {
                    Balancer::RoundRobin => free.next(),
                    // The first of the least busy: round robin among equals.
                    Balancer::LeastOutstandingRequests => free.min_by_key(|i| i.in_flight()),
                }
            };
            match chosen {
                Some(instance) => return Ok(Arc::clone(instance)),
                None if seen => return Err(true),
                None => {}
            }
        }
        Err(false)
    }
}

impl Backend for ContainerPool {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(async move {
            let deadline = Instant::now() + self.config.idle_timeout;
            // A slot on an instance in service; with every one full, wait (queue) or refuse.
            let (instance, slot) = loop {
                match self.pick() {
                    Ok(instance) => {
                        // Taken by another request since the pick: pick again.
                        if let Some(slot) = instance.reserve(self.config.max_concurrency) {
                            break (instance, slot);
                        }
                    }
                    Err(false) => {
                        // No instance registered, as an ALB answers with no healthy target left.
                        let response = plain(StatusCode::SERVICE_UNAVAILABLE, "no instance is in service".to_string());
                        return Served { response, record: None };
                    }
                    Err(true) if self.config.overflow == crate::workload::Overflow::Reject => {
                        let limit = self.config.max_concurrency.unwrap_or_default();
                        let text = format!("every instance is serving its max_concurrency of {limit}");
                        return Served { response: plain(StatusCode::SERVICE_UNAVAILABLE, text), record: None };
                    }
                    Err(true) => {
                        // A slot freed since the pick left a permit: this wakes at once.
                        if tokio::time::timeout_at(deadline.into(), self.freed.notified()).await.is_err() {
                            let text = "no instance had a free slot within the idle timeout".to_string();
                            return Served { response: plain(StatusCode::GATEWAY_TIMEOUT, text), record: None };
                        }
                    }
                }
            };
            let _freed = self.config.max_concurrency.map(|_| Freed(&self.freed));
            let started = Instant::now();
            let left = deadline.saturating_duration_since(started).max(Duration::from_millis(1));
            let answer = tokio::time::timeout(left, instance.forward(slot, invocation)).await;
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

/// Wakes one request waiting for a slot when dropped (the exchange ended, or was abandoned).
struct Freed<'a>(&'a tokio::sync::Notify);

impl Drop for Freed<'_> {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// The balancer's own answer: a status and a line of text, signed with its `Server` header.
fn plain(status: StatusCode, text: String) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(text + "\n"));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::SERVER, http::HeaderValue::from_static(crate::http::BALANCER_SERVER));
    response
}

#[cfg(test)]
mod tests {
    use super::DeployBounds;

    #[test]
    fn ecs_percentages_round_the_healthy_minimum_up_and_the_maximum_down() {
        let ecs = |minimum_healthy, maximum| DeployBounds::Percent { minimum_healthy, maximum };
        // ECS's defaults on 4 tasks: all 4 new ones may start before the old ones stop.
        assert_eq!(ecs(100, 200).for_desired(4), (4, 0));
        // 3 tasks at 50 % / 150 %: at least 2 serve (1.5 up), at most 4 run (4.5 down).
        assert_eq!(ecs(50, 150).for_desired(3), (1, 1));
        // 100 % / 100 % could not move: one at a time, surging.
        assert_eq!(ecs(100, 100).for_desired(2), (1, 0));
        assert_eq!(DeployBounds::Counts { surge: 0, unavailable: 1 }.for_desired(2), (0, 1));
    }
}
