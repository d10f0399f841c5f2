//! The service around a container pool, as ECS runs one: it keeps the desired count in service —
//! launching a replacement for an instance that dies or fails its health checks, and, when the
//! target autoscales, following the `policy::scaling` decisions on a metric sampled once a
//! second — rolls a deploy's new version in (`Service::roll`, an ECS rolling update), and
//! deregisters instances scaled in or replaced (out of rotation at once, stopped when their last
//! request is answered or after the deregistration delay). Every launch waits the provision delay
//! on the run's clock and the platform's launch limit first.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ContainerConfig, ContainerInstance, ContainerPool};
use crate::metrics::{FleetReport, ScalingEventReport};
use crate::policy::scaling::{Launches, Scaler, ScalingConfig, ScalingMetric};
use crate::time::Clock;

/// Called for each instance launched during the run once it serves (a target's per-instance
/// bookkeeping).
pub type OnStart = Arc<dyn Fn(&Arc<ContainerInstance>) + Send + Sync>;

/// How often the service looks at its instances.
const TICK: Duration = Duration::from_millis(100);

/// The fleet's scaling: the policy and the platform's launch limits.
#[derive(Clone, Debug)]
pub struct Autoscaling {
    pub config: ScalingConfig,
    pub launch_burst: u32,
    pub launch_rate_per_s: f64,
    /// The policy in words, for the report.
    pub description: String,
}

/// What the service saw and did.
pub(super) struct Fleet {
    pub report: FleetReport,
    /// Instances whose death was counted.
    dead: HashSet<String>,
    /// Deaths not yet replaced, oldest first.
    unreplaced: Vec<String>,
    /// Instances that failed their health checks and still run: stopped once enough others
    /// serve.
    condemned: HashSet<String>,
    /// Instances launched during the run: the one each replaced, and when it began serving.
    pub launched: HashMap<String, (Option<String>, Duration)>,
    /// When each instance was launched and stopped, for the instance-seconds.
    lifetimes: HashMap<String, (Duration, Option<Duration>)>,
    /// Why launches failed, in words.
    pub warnings: Vec<String>,
    /// The service's clock and its origin, once it runs.
    clock: Option<(Clock, Instant)>,
    /// The rolling deploy, once it began.
    deploy: Option<Rollout>,
}

/// A rolling deploy under way or done.
struct Rollout {
    began: Duration,
    /// The desired count when it began: scale-in waits until it is done, as ECS turns it off
    /// during deployments.
    desired: usize,
    done: Option<Duration>,
    replaced: u64,
}

impl Fleet {
    /// A fleet whose first instances, `first`, were started before the run (from time zero).
    pub fn new(config: &ContainerConfig, first: impl Iterator<Item = String>) -> Self {
        let report = FleetReport {
            desired: config.instances,
            provision_delay_s: config.provision_delay.as_secs_f64(),
            scaling: config.scaling.as_ref().map(|s| s.description.clone()),
            ..FleetReport::default()
        };
        let lifetimes = first.map(|id| (id, (Duration::ZERO, None))).collect();
        Self {
            report,
            dead: HashSet::new(),
            unreplaced: Vec::new(),
            condemned: HashSet::new(),
            launched: HashMap::new(),
            lifetimes,
            warnings: Vec::new(),
            clock: None,
            deploy: None,
        }
    }

    /// Notes when an instance stopped counting (its death, or its retirement).
    fn stopped(&mut self, id: &str, now: Duration) {
        if let Some(life) = self.lifetimes.get_mut(id) {
            life.1 = Some(now);
        }
    }

    /// An instance failed `threshold` health checks in a row at `now`: it is counted as a failure
    /// and replaced, and stopped once its replacement serves.
    pub fn unhealthy(&mut self, id: &str, now: Duration, threshold: u32, path: &str, why: &str) {
        if self.condemned.insert(id.to_string()) {
            self.report.failures += 1;
            self.report.unhealthy += 1;
            self.unreplaced.push(id.to_string());
            self.warnings.push(format!(
                "instance {id} failed {threshold} health checks in a row at {:.1} s ({why}); it left rotation and the \
                 service replaced it, as ECS does a task that fails its ELB health checks (health_check.path = {path:?})",
                now.as_secs_f64()
            ));
        }
    }

    /// The report, with instance-seconds up to `now` for instances still running.
    pub fn finish(&self, now: Duration) -> FleetReport {
        let mut report = self.report.clone();
        report.instance_seconds = self
            .lifetimes
            .values()
            .map(|(launched, stopped)| stopped.unwrap_or(now).saturating_sub(*launched).as_secs_f64())
            .sum();
        report.billed_instance_seconds = crate::cost::billed_instance_seconds(self.lifetimes.values().copied(), now);
        report
    }
}

/// The per-second view the scaler samples.
struct Sampler {
    /// Each instance's request count at the last sample.
    requests: HashMap<String, u64>,
    cpu: HashMap<String, Duration>,
    at: Instant,
}

impl Sampler {
    /// The fleet's metric over the last sample's interval, per instance in service.
    fn sample(&mut self, metric: ScalingMetric, serving: &[&Arc<ContainerInstance>], cpus: f64) -> f64 {
        let dt = self.at.elapsed().as_secs_f64().max(1e-3);
        self.at = Instant::now();
        let mut total = 0.0;
        for instance in serving {
            let requests = instance.requests();
            // An instance not seen before counts from its start.
            let before = self.requests.insert(instance.id.clone(), requests).unwrap_or(0);
            let cpu = instance.usage().map_or(Duration::ZERO, |u| u.cpu);
            let cpu_before = self.cpu.insert(instance.id.clone(), cpu).unwrap_or(Duration::ZERO);
            total += match metric {
                ScalingMetric::RequestsPerInstance => requests.saturating_sub(before) as f64 / dt,
                ScalingMetric::Concurrency => instance.in_flight() as f64,
                ScalingMetric::Cpu => 100.0 * cpu.saturating_sub(cpu_before).as_secs_f64() / dt / cpus.max(1e-3),
            };
        }
        if serving.is_empty() {
            0.0
        } else {
            total / serving.len() as f64
        }
    }
}

/// The service's loop state: the clock, the policy, the launch limit, the sampler.
struct Service {
    clock: Clock,
    origin: Instant,
    scaler: Option<Scaler>,
    launches: Launches,
    sampler: Sampler,
    /// The next decision's time, held so that a fast-forward does not jump past it.
    alarm: crate::time::clock::Alarm,
    /// The clock's reading at the last tick, from `origin`.
    last: Duration,
    on_start: OnStart,
    /// The configuration launches use: the deploy's new version once it began.
    launching: ContainerConfig,
    /// The deploy's new version, until it begins.
    next: Option<ContainerConfig>,
    /// Holds the deploy's time, so that a fast-forward does not jump past it.
    deploy_alarm: crate::time::clock::Alarm,
}

impl ContainerPool {
    /// Runs the service until [`ContainerPool::stop`]; `on_start` is told of each launched
    /// instance once it serves. Time is `clock`'s, from the pool's start.
    pub fn supervise(self: &Arc<Self>, clock: Clock, on_start: OnStart) -> tokio::task::JoinHandle<()> {
        let pool = Arc::clone(self);
        tokio::spawn(async move {
            let origin = clock.now();
            pool.fleet.lock().expect("fleet lock").clock = Some((clock.clone(), origin));
            let scaling = pool.config.scaling.as_ref();
            let (burst, rate) = scaling.map_or(
                (crate::policy::scaling::FARGATE_LAUNCH_BURST, crate::policy::scaling::FARGATE_LAUNCH_RATE_PER_S),
                |s| (s.launch_burst, s.launch_rate_per_s),
            );
            let mut service = Service {
                scaler: scaling.map(|s| Scaler::new(s.config.clone(), pool.config.instances as u32, Duration::ZERO)),
                launches: Launches::new(pool.config.provision_delay, burst, rate, Duration::ZERO),
                sampler: Sampler { requests: HashMap::new(), cpu: HashMap::new(), at: Instant::now() },
                alarm: clock.alarm(),
                last: Duration::ZERO,
                launching: pool.config.clone(),
                next: pool.config.next_version(),
                deploy_alarm: clock.alarm(),
                clock,
                origin,
                on_start,
            };
            if let Some(deploy) = &pool.config.deploy {
                service.deploy_alarm.set(origin + deploy.at);
            }
            for instance in pool.instances() {
                tokio::spawn(Arc::clone(&pool).watch_health(instance, service.clock.clone(), origin));
            }
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    () = pool.stopping.cancelled() => return,
                    _ = tick.tick() => {}
                }
                service.tick(&pool);
            }
        })
    }
}

impl Service {
    /// One look at the fleet: deaths counted, the time below capacity, a sample each second of
    /// the clock, then launches or retirements toward the desired count.
    fn tick(&mut self, pool: &Arc<ContainerPool>) {
        let now = self.clock.now().saturating_duration_since(self.origin);
        let instances = pool.instances();
        let mut fleet = pool.fleet.lock().expect("fleet lock");
        // A condemned instance that passes its checks again serves, but no longer counts: its
        // replacement is on its way.
        let serving: Vec<&Arc<ContainerInstance>> =
            instances.iter().filter(|i| i.in_service() && !fleet.condemned.contains(&i.id)).collect();
        for dead in instances.iter().filter(|i| !i.is_retired() && !i.is_alive()) {
            if fleet.dead.insert(dead.id.clone()) {
                fleet.report.failures += 1;
                fleet.unreplaced.push(dead.id.clone());
                fleet.stopped(&dead.id, now);
            }
        }
        if serving.len() < fleet.report.desired {
            fleet.report.below_capacity_s += now.saturating_sub(self.last).as_secs_f64();
        }
        if now.as_secs() > self.last.as_secs() {
            self.sample(pool, &mut fleet, &serving, now);
        }
        self.last = now;
        if let (Some(deploy), true) = (&pool.config.deploy, self.next.is_some()) {
            if now >= deploy.at {
                self.launching = self.next.take().expect("checked");
                self.deploy_alarm.clear();
                let desired = fleet.report.desired;
                fleet.deploy = Some(Rollout { began: now, desired, done: None, replaced: 0 });
            }
        }
        match fleet.deploy.as_ref().filter(|d| d.done.is_none()) {
            Some(_) => self.roll(pool, &mut fleet, &serving, now),
            None => self.follow(pool, &mut fleet, &serving, now),
        }
        if serving.len() >= fleet.report.desired {
            let condemned: Vec<_> =
                instances.iter().filter(|i| fleet.condemned.contains(&i.id) && !i.is_retired()).collect();
            for condemned in condemned {
                deregister(pool, &mut fleet, condemned, now);
            }
        }
    }

    /// The metric over the last second, fed to the policy for every whole second since the last
    /// sample (a jump of the clock included, at most a day of them).
    fn sample(&mut self, pool: &ContainerPool, fleet: &mut Fleet, serving: &[&Arc<ContainerInstance>], now: Duration) {
        let in_service = serving.len() as u32;
        let metric = match (&pool.config.scaling, &self.scaler) {
            (Some(scaling), Some(_)) => {
                let cpus = pool.config.limits.map_or(1.0, |l| l.cpus);
                self.sampler.sample(scaling.config.metric, serving, cpus)
            }
            _ => 0.0,
        };
        for second in self.last.as_secs() + 1..=now.as_secs().min(self.last.as_secs() + 86_400) {
            let at = Duration::from_secs(second);
            let decided =
                self.scaler.as_mut().filter(|_| in_service > 0).and_then(|s| s.observe(at, metric, in_service));
            if let Some(event) = decided {
                let (from, to, metric) = (event.from, event.to, event.metric);
                if let Some(m) = &pool.config.metrics {
                    m.metrics.scaled(&m.target, from, to);
                }
                fleet.report.events.push(ScalingEventReport { at_s: at.as_secs_f64(), from, to, metric });
            }
            fleet.report.in_service_per_second.push(in_service);
        }
        if let Some(scaler) = &self.scaler {
            fleet.report.desired = scaler.desired() as usize;
            self.alarm.set(self.origin + scaler.next_decision());
        }
        if let Some(m) = &pool.config.metrics {
            m.metrics.fleet(&m.target, in_service, fleet.report.desired);
        }
    }

    /// Launches toward the desired count (a replacement first, for the oldest death not yet
    /// replaced), or, with more in service and nothing on its way, retires the youngest.
    fn follow(
        &mut self,
        pool: &Arc<ContainerPool>,
        fleet: &mut Fleet,
        serving: &[&Arc<ContainerInstance>],
        now: Duration,
    ) {
        let desired = fleet.report.desired;
        let pending = pool.pending.load(Ordering::Relaxed);
        for _ in (serving.len() + pending)..desired {
            if self.launches.launch(now).is_none() {
                break;
            }
            let replaces = (!fleet.unreplaced.is_empty()).then(|| fleet.unreplaced.remove(0));
            self.launch(pool, replaces);
        }
        if pending == 0 && serving.len() > desired {
            for instance in serving.iter().rev().take(serving.len() - desired) {
                deregister(pool, fleet, instance, now);
            }
        }
    }

    fn launch(&self, pool: &Arc<ContainerPool>, replaces: Option<String>) {
        pool.pending.fetch_add(1, Ordering::Relaxed);
        let on_start = Arc::clone(&self.on_start);
        let launch =
            Arc::clone(pool).launch(self.clock.clone(), self.origin, replaces, on_start, self.launching.clone());
        tokio::spawn(launch);
    }

    /// One step of the rolling deploy, as an ECS rolling update takes it: launch new instances
    /// while fewer than `desired + max_surge` run and fewer than `desired` new ones serve or come;
    /// deregister old ones while at least `desired - max_unavailable` would still serve. Done
    /// when no old instance serves and `desired` new ones do.
    fn roll(
        &mut self,
        pool: &Arc<ContainerPool>,
        fleet: &mut Fleet,
        serving: &[&Arc<ContainerInstance>],
        now: Duration,
    ) {
        let deploy = pool.config.deploy.as_ref().expect("rolling only with a deploy");
        let version = self.launching.version;
        let rollout = fleet.deploy.as_ref().expect("rolling only once it began");
        let desired = fleet.report.desired.max(rollout.desired);
        let old: Vec<&Arc<ContainerInstance>> = serving.iter().copied().filter(|i| i.version < version).collect();
        let new = serving.len() - old.len();
        let (max_surge, max_unavailable) = deploy.bounds.for_desired(desired);
        let spare = serving.len().saturating_sub(desired.saturating_sub(max_unavailable));
        let stop = spare.min(old.len());
        for instance in old.iter().take(stop) {
            deregister(pool, fleet, instance, now);
        }
        let left = old.len() - stop;
        let mut pending = pool.pending.load(Ordering::Relaxed);
        while left + new + pending < desired + max_surge && new + pending < desired {
            if self.launches.launch(now).is_none() {
                break;
            }
            let replaces = (!fleet.unreplaced.is_empty()).then(|| fleet.unreplaced.remove(0));
            self.launch(pool, replaces);
            pending += 1;
        }
        let rollout = fleet.deploy.as_mut().expect("checked");
        rollout.replaced += stop as u64;
        if left == 0 && new >= desired {
            rollout.done = Some(now);
        }
    }
}

impl ContainerPool {
    /// Launches one instance: the provision delay on the clock, then a start like the first
    /// ones; it joins the rotation once it accepts connections.
    async fn launch(
        self: Arc<Self>,
        clock: Clock,
        origin: Instant,
        replaces: Option<String>,
        on_start: OnStart,
        config: ContainerConfig,
    ) {
        let launched = clock.now().saturating_duration_since(origin);
        let due = clock.now() + self.config.provision_delay;
        let started = tokio::select! {
            () = self.stopping.cancelled() => None,
            () = clock.sleep_until(due) => {
                let index = self.next_index.fetch_add(1, Ordering::Relaxed);
                // The clock does not jump while the process starts, as it would not in real time.
                let _busy = clock.busy();
                tokio::select! {
                    () = self.stopping.cancelled() => None,
                    started = ContainerInstance::start(&config, index) => Some(started),
                }
            }
        };
        // A launched instance serves once it passes a health check, as a newly registered target.
        let started = match started {
            Some(Ok(instance)) => match &self.config.health_check {
                Some(check) => tokio::select! {
                    () = self.stopping.cancelled() => {
                        instance.stop(Duration::ZERO).await;
                        None
                    }
                    passed = super::health::launch_pass(&instance, check, &clock) => match passed {
                        Ok(()) => Some(Ok(instance)),
                        Err(why) => {
                            instance.stop(Duration::ZERO).await;
                            Some(Err(format!("{} failed its health checks: {why}", instance.id)))
                        }
                    },
                },
                None => Some(Ok(instance)),
            },
            Some(Err(err)) => Some(Err(err.to_string())),
            None => None,
        };
        match started {
            Some(Ok(instance)) => {
                let instance = Arc::new(instance);
                if !self.join(&instance, launched, clock.now().saturating_duration_since(origin), replaces) {
                    instance.stop(Duration::ZERO).await;
                    return;
                }
                tokio::spawn(Arc::clone(&self).watch_health(Arc::clone(&instance), clock, origin));
                on_start(&instance);
            }
            Some(Err(err)) => {
                let mut fleet = self.fleet.lock().expect("fleet lock");
                fleet.warnings.push(format!("a launched instance did not start ({err}); the service launches another"));
                if let Some(replaces) = replaces {
                    fleet.unreplaced.insert(0, replaces);
                }
                self.pending.fetch_sub(1, Ordering::Relaxed);
            }
            None => {
                self.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Puts a launched instance in rotation, unless the pool is stopping (`false`: the caller
    /// stops it).
    fn join(
        &self,
        instance: &Arc<ContainerInstance>,
        launched: Duration,
        serving: Duration,
        replaces: Option<String>,
    ) -> bool {
        let mut instances = self.instances.write().expect("instances lock");
        let mut fleet = self.fleet.lock().expect("fleet lock");
        self.pending.fetch_sub(1, Ordering::Relaxed);
        if self.stopping.is_cancelled() {
            return false;
        }
        instances.push(Arc::clone(instance));
        fleet.report.replacements += u64::from(replaces.is_some());
        fleet.launched.insert(instance.id.clone(), (replaces, serving));
        fleet.lifetimes.insert(instance.id.clone(), (launched, None));
        true
    }

    /// The rolling deploy, once it began (its window is read from the measurement later).
    pub fn deploy_report(&self) -> Option<crate::metrics::DeployReport> {
        let fleet = self.fleet.lock().expect("fleet lock");
        let rollout = fleet.deploy.as_ref()?;
        Some(crate::metrics::DeployReport::new(rollout.began, rollout.done, rollout.replaced))
    }

    /// The fleet's report, its instance-seconds counted up to now on the service's clock.
    pub(super) fn fleet_report(&self) -> FleetReport {
        let fleet = self.fleet.lock().expect("fleet lock");
        let now = fleet
            .clock
            .as_ref()
            .map_or(self.started.elapsed(), |(clock, origin)| clock.now().saturating_duration_since(*origin));
        fleet.finish(now)
    }
}

/// Takes an instance out of rotation (scaled in, replaced by a deploy, or unhealthy and
/// replaced) and stops it once drained.
fn deregister(pool: &ContainerPool, fleet: &mut Fleet, instance: &Arc<ContainerInstance>, now: Duration) {
    instance.retire();
    fleet.stopped(&instance.id, now);
    tokio::spawn(drain(Arc::clone(instance), pool.config.deregistration_delay, pool.config.stop_grace));
}

/// Stops a deregistered instance once its last request is answered (at most the deregistration
/// delay later), as an ALB completes a deregistration with nothing in flight at once.
async fn drain(instance: Arc<ContainerInstance>, delay: Duration, grace: Duration) {
    let deadline = Instant::now() + delay;
    // A request routed to it just before it left rotation counts itself in flight a moment later.
    tokio::time::sleep(Duration::from_millis(20).min(delay)).await;
    while instance.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    instance.stop(grace).await;
}
