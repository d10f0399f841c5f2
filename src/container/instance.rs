//! One container instance: a supervised server process and a keep-alive client to it.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::ContainerConfig;
use crate::cgroup::Cgroup;
use crate::gateway::Invocation;
use crate::metrics::InstanceReport;
use crate::policy::health::{Health, HealthState};
use crate::process::{GroupChild, Placement};

/// How often start-up checks whether the instance accepts connections.
const READY_POLL: Duration = Duration::from_millis(2);

/// Why an instance did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{id}: {source}")]
    Spawn { id: String, source: std::io::Error },
    #[error("{id} exited with {status} before accepting connections on port {port}; its output ends with:\n{tail}")]
    Exited { id: String, status: std::process::ExitStatus, port: u16, tail: String },
    #[error("{id} did not accept connections on port {port} within {timeout:?}; its output ends with:\n{tail}")]
    Timeout { id: String, port: u16, timeout: Duration, tail: String },
    #[error("{id} did not pass its health check within {timeout:?} (last: {last}); set the target's health_check (path, matcher) to what the server answers, or health_check = {{ enabled = false }}")]
    Unhealthy { id: String, timeout: Duration, last: String },
}

/// A running instance.
pub struct ContainerInstance {
    pub id: String,
    pub index: usize,
    /// The version it runs ([`ContainerConfig::version`]).
    pub version: u32,
    process: tokio::sync::Mutex<GroupChild>,
    /// Its cgroup when resources are enforced (after `process`: dropped last).
    cgroup: Option<Cgroup>,
    pid: u32,
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
    startup: Duration,
    requests: AtomicU64,
    /// When it started accepting connections.
    ready_at: Instant,
    /// How long after `ready_at` it died, and how it ended; once set it is out of rotation.
    death: std::sync::Mutex<Option<(Duration, String)>>,
    /// Requests that failed on it because it had died.
    failed: AtomicU64,
    /// Exchanges that failed since its last good one while it still looked alive: a killed
    /// server's sockets close a moment before its exit can be collected, so if its death is seen
    /// next, these failed because of it.
    suspect: AtomicU64,
    /// Requests sent to it and not yet answered.
    in_flight: std::sync::Arc<AtomicU64>,
    /// Scaled in: out of rotation, stopped once its last request is answered.
    retired: AtomicBool,
    /// The balancer's view of its health checks.
    health: std::sync::Mutex<Health>,
    /// When it turned unhealthy (after `ready_at`) and the last failed check, if it did.
    unhealthy: std::sync::Mutex<Option<(Duration, String)>>,
}

impl ContainerInstance {
    /// Spawns instance `index` on a free port and waits until it accepts connections.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(config: &ContainerConfig, index: usize) -> Result<Self, StartError> {
        let id = format!("{}-{index}", config.name);
        let port = free_port().map_err(|source| StartError::Spawn { id: id.clone(), source })?;
        let mut env = config.env.clone();
        env.push(("PORT".into(), port.to_string()));
        env.push(("COLDBENCH_INSTANCE".into(), id.clone()));
        let spawned_at = Instant::now();
        let cgroup = match config.limits {
            Some(limits) => Some(
                Cgroup::create_unique(&id, limits).map_err(|source| StartError::Spawn { id: id.clone(), source })?,
            ),
            None => None,
        };
        let place = Placement { cgroup: cgroup.as_ref(), cwd: config.cwd.as_deref(), ..Placement::default() };
        let mut process = GroupChild::spawn_with_sink(&config.command, &env, true, None, place)
            .map_err(|source| StartError::Spawn { id: id.clone(), source })?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if let Some(status) = process.try_exit() {
                // Give the output readers a moment to collect the last lines.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(StartError::Exited { id, status, port, tail: process.tail() });
            }
            if spawned_at.elapsed() > config.startup_timeout {
                let tail = process.tail();
                process.stop(Duration::ZERO).await;
                return Err(StartError::Timeout { id, port, timeout: config.startup_timeout, tail });
            }
            tokio::time::sleep(READY_POLL).await;
        }
        let startup = spawned_at.elapsed();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(None).build(connector);
        let pid = process.pid();
        Ok(Self {
            id,
            index,
            version: config.version,
            process: tokio::sync::Mutex::new(process),
            cgroup,
            pid,
            addr,
            client,
            startup,
            requests: AtomicU64::new(0),
            ready_at: Instant::now(),
            death: std::sync::Mutex::new(None),
            failed: AtomicU64::new(0),
            suspect: AtomicU64::new(0),
            in_flight: std::sync::Arc::new(AtomicU64::new(0)),
            retired: AtomicBool::new(false),
            health: std::sync::Mutex::new(match &config.health_check {
                Some(check) => Health::new(check.healthy_threshold, check.unhealthy_threshold),
                None => Health::unchecked(),
            }),
            unhealthy: std::sync::Mutex::new(None),
        })
    }

    /// Whether its process still runs; a death found here is recorded (with when and how) and
    /// takes the instance out of rotation for good.
    pub fn is_alive(&self) -> bool {
        if self.death.lock().expect("death lock").is_some() {
            return false;
        }
        // Busy only while stopping, when rotation no longer matters.
        let Ok(mut process) = self.process.try_lock() else { return true };
        let Some(status) = process.try_exit() else { return true };
        let mut death = self.death.lock().expect("death lock");
        if death.is_none() {
            // Killed for its memory: what ECS says (exit 137 = 128 + SIGKILL).
            let oom = self.cgroup.as_ref().is_some_and(|c| c.usage().oom_kills > 0);
            let how = if oom {
                "OutOfMemoryError: Container killed due to memory usage (exit code 137)".to_string()
            } else {
                status.to_string()
            };
            *death = Some((self.ready_at.elapsed(), how));
            self.failed.fetch_add(self.suspect.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
        false
    }

    /// Sends one invocation to this instance and reads the whole response. A failure on an
    /// instance that turns out to have died counts against it, now or when its death is seen.
    ///
    /// # Errors
    /// When the instance cannot be reached or breaks the exchange.
    pub async fn forward(&self, slot: InFlight, invocation: Invocation) -> anyhow::Result<Response<Bytes>> {
        // Counted out when the exchange ends or is dropped (the gateway's idle timeout).
        let _slot = slot;
        let result = self.exchange(invocation).await;
        match &result {
            // A good exchange clears suspicion (a plain load first: no write per request).
            Ok(_) if self.suspect.load(Ordering::Relaxed) > 0 => self.suspect.store(0, Ordering::Relaxed),
            Ok(_) => {}
            // Perhaps dying: the next look at it decides, without delaying this answer.
            Err(_) if self.is_alive() => {
                self.suspect.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// One request and its whole response.
    async fn exchange(&self, invocation: Invocation) -> anyhow::Result<Response<Bytes>> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let path = invocation.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut request = Request::new(Full::new(invocation.body));
        *request.method_mut() = invocation.method;
        *request.uri_mut() = format!("http://{}{path}", self.addr).parse()?;
        *request.headers_mut() = invocation.headers;
        request.headers_mut().remove(http::header::HOST);
        let response = self.client.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }

    /// Whether it takes new requests: alive, not scaled in, and healthy.
    pub fn in_service(&self) -> bool {
        self.health_state() == HealthState::Healthy && self.registered()
    }

    /// Whether the balancer sends it requests when it fails open (no registered instance is
    /// healthy): alive, not scaled in, and unhealthy.
    pub fn fails_open(&self) -> bool {
        self.health_state() == HealthState::Unhealthy && self.registered()
    }

    /// Alive and not deregistered (scaled in, replaced).
    fn registered(&self) -> bool {
        !self.retired.load(Ordering::Relaxed) && self.is_alive()
    }

    pub fn health_state(&self) -> HealthState {
        self.health.lock().expect("health lock").state()
    }

    /// Counts one health check; the new state when it changed (noting when it turned unhealthy).
    pub fn observe_health(&self, passed: bool) -> Option<HealthState> {
        let changed = self.health.lock().expect("health lock").observe(passed);
        if changed == Some(HealthState::Unhealthy) {
            let mut unhealthy = self.unhealthy.lock().expect("unhealthy lock");
            unhealthy.get_or_insert((self.ready_at.elapsed(), String::new()));
        }
        changed
    }

    /// Notes why it was found unhealthy, for the report.
    pub fn note_unhealthy(&self, why: String) {
        if let Some((_, reason)) = self.unhealthy.lock().expect("unhealthy lock").as_mut() {
            *reason = why;
        }
    }

    /// One health check: `GET path` on a connection closed after it, answered within the
    /// timeout with a status the matcher accepts.
    ///
    /// # Errors
    /// What failed, in words (`GET /health answered 500`, `… no answer within 5s`).
    pub async fn check_health(&self, spec: &crate::workload::HealthCheckSpec) -> Result<(), String> {
        let url = format!("http://{}{}", self.addr, spec.path);
        let request = Request::get(&url)
            .header(http::header::CONNECTION, "close")
            .header(http::header::USER_AGENT, "ELB-HealthChecker/2.0")
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("GET {}: {e}", spec.path))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| format!("GET {}: {e}", spec.path))?;
            let status = response.status().as_u16();
            response.into_body().collect().await.map_err(|e| format!("GET {}: {e}", spec.path))?;
            Ok::<u16, String>(status)
        };
        match tokio::time::timeout(spec.timeout.0, exchange).await {
            Err(_) => Err(format!("GET {}: no answer within {}", spec.path, spec.timeout)),
            Ok(Err(why)) => Err(why),
            Ok(Ok(status)) if spec.statuses().iter().any(|(low, high)| (*low..=*high).contains(&status)) => Ok(()),
            Ok(Ok(status)) => Err(format!("GET {} answered {status}, not {}", spec.path, spec.matcher)),
        }
    }

    /// Takes it out of rotation for good (scale-in); the caller stops it once drained.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    pub fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    /// Counts one more request in flight on it, unless `limit` are already: the slot a
    /// [`ContainerInstance::forward`] uses.
    pub fn reserve(&self, limit: Option<u64>) -> Option<InFlight> {
        let limit = limit.unwrap_or(u64::MAX);
        self.in_flight.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < limit).then_some(n + 1)).ok()?;
        Some(InFlight(std::sync::Arc::clone(&self.in_flight)))
    }

    /// Requests sent to it and not yet answered.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Requests sent to it so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Its cgroup's counters, when resources are enforced.
    pub fn usage(&self) -> Option<crate::cgroup::Usage> {
        self.cgroup.as_ref().map(Cgroup::usage)
    }

    /// Changes its CPU quota (burst credits running out or coming back).
    pub fn set_cpus(&self, cpus: f64) {
        if let Some(cgroup) = &self.cgroup {
            let _ = cgroup.set_cpus(cpus);
        }
    }

    pub fn report(&self) -> InstanceReport {
        let death = self.death.lock().expect("death lock").clone();
        let unhealthy = self.unhealthy.lock().expect("unhealthy lock").clone();
        InstanceReport {
            id: self.id.clone(),
            pid: self.pid,
            startup_ms: self.startup.as_secs_f64() * 1e3,
            requests: self.requests.load(Ordering::Relaxed),
            died_after_s: death.as_ref().map(|(after, _)| after.as_secs_f64()),
            exit: death.map(|(_, how)| how),
            failed_requests: self.failed.load(Ordering::Relaxed),
            credits: None,
            replaces: None,
            serving_after_s: None,
            unhealthy_after_s: unhealthy.as_ref().map(|(after, _)| after.as_secs_f64()),
            health_failure: unhealthy.map(|(_, why)| why),
        }
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&self, grace: Duration) {
        self.process.lock().await.stop(grace).await;
    }
}

/// One request in flight on an instance, for as long as it lives (see
/// [`ContainerInstance::reserve`]).
pub struct InFlight(std::sync::Arc<AtomicU64>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A loopback port that was free a moment ago (the OS picks it).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
