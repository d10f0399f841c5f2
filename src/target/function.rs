//! A function target: the local Lambda-style runtime behind the gateway, with its keep-warm
//! pinger and the sampler of instances alive, both of which belong to this target alone.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{Endpoint, Part, Run, StartError, Target};
use crate::gateway::Gateway;
use crate::http::RequestTemplate;
use crate::lambda::{EventShape, InvocationMode};
use crate::metrics::{BillingRecord, FunctionStats, InvocationOutcome};
use crate::metrics::{FunctionReport, InvocationSummary, KeepWarmReport, TargetKind};
use crate::policy::{KeepAlive, KeepWarm, PoolConfig};
use crate::process::LineSink;
use crate::runtime::{FunctionConfig, FunctionRuntime};
use crate::time::Clock;
use crate::workload::{FunctionTargetSpec, Network, Workload};

/// On-demand instances; the runtime, its gateway, pinger and sampler while they run.
pub struct FunctionTarget<'a> {
    spec: &'a FunctionTargetSpec,
    /// Where the function's output and START / END / REPORT lines go, when they are kept.
    log: Option<std::path::PathBuf>,
    running: Option<Running>,
    /// Said in the report: what the run could not do as asked.
    warnings: Vec<String>,
    /// How CPU and memory were given, for the report.
    resources: Option<String>,
}

struct Running {
    runtime: FunctionRuntime,
    gateway: Gateway,
    pinger: Option<Arc<Pinger>>,
    sampler: tokio::task::JoinHandle<()>,
    samples: Arc<Mutex<Vec<u32>>>,
    deployer: Option<Deployer>,
}

/// The deploy of `deploy = { at }`: a task that publishes the new version on the run's clock,
/// and what it saw.
struct Deployer {
    task: tokio::task::JoinHandle<()>,
    seen: Arc<Mutex<DeploySeen>>,
}

#[derive(Default)]
struct DeploySeen {
    /// When it began and ended, from the start of the load.
    began: Option<Duration>,
    done: Option<Duration>,
    replaced: u64,
    failed: Option<String>,
}

impl Deployer {
    fn start(runtime: FunctionRuntime, clock: Clock, at: Duration) -> Self {
        let seen = Arc::new(Mutex::new(DeploySeen::default()));
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let start = clock.now();
                clock.sleep_until(start + at).await;
                let since = |clock: &Clock| clock.now().saturating_duration_since(start);
                seen.lock().expect("deploy lock").began = Some(since(&clock));
                let result = runtime.deploy().await;
                let mut seen = seen.lock().expect("deploy lock");
                match result {
                    Ok(replaced) => (seen.done, seen.replaced) = (Some(since(&clock)), replaced),
                    Err(err) => seen.failed = Some(format!("{err:#}")),
                }
            }
        });
        Self { task, seen }
    }

    /// The deploy's report (its window is read later), or a warning when it never began.
    fn finish(self, warnings: &mut Vec<String>) -> Option<crate::metrics::DeployReport> {
        self.task.abort();
        let seen = self.seen.lock().expect("deploy lock");
        if let Some(why) = &seen.failed {
            warnings.push(format!("the deploy's new provisioned environments did not start: {why}"));
        }
        let Some(began) = seen.began else {
            warnings.push(super::DEPLOY_MISSED.to_string());
            return None;
        };
        Some(crate::metrics::DeployReport::new(began, seen.done, seen.replaced))
    }
}

impl<'a> FunctionTarget<'a> {
    pub fn new(spec: &'a FunctionTargetSpec) -> Self {
        Self { spec, running: None, warnings: Vec::new(), resources: None, log: None }
    }
}

impl Target for FunctionTarget<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Function
    }

    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError> {
        let spec = self.spec;
        self.log = run.options.log_dir.map(|dir| dir.join(format!("{}.function.log", spec.name)));
        let mut config = function_config(run.workload, spec, &run.options, self.log.as_deref(), &run.clock)
            .map_err(|e| StartError::Failed(format!("{e:#}")))?;
        let consequence = "every instance has the whole host's CPU and memory, so CPU-bound latency, billed \
                           duration and cost do not follow memory_mb as on Lambda";
        if let Some(version) =
            super::enforcement(run.options.resources, consequence, &mut self.warnings, &mut self.resources)
        {
            config.enforce_resources = true;
            self.resources = Some(format!(
                "enforced (cgroup {}): {:.3} vCPU, {} MiB",
                version.as_str(),
                crate::lambda::vcpus_for(spec.memory_mb),
                spec.memory_mb
            ));
        }
        if spec.network == Network::Isolated {
            match crate::isolation::available() {
                Ok(()) => config.isolate = true,
                Err(why) if spec.adapter.is_some() => {
                    return Err(StartError::Failed(format!(
                        "adapter = \"web\" needs a network namespace per instance ({why}): every instance's app \
                         listens on the same port, as in its own Lambda environment; run as root"
                    )))
                }
                Err(why) => self.warnings.push(format!(
                    "instances are not isolated ({why}): they share the host's loopback, so one instance could \
                     reach another's Runtime API; run as root for a network namespace per instance, or set \
                     network = \"host\" to accept this"
                )),
            }
        }
        let runtime = FunctionRuntime::start(config)
            .await
            .map_err(|e| StartError::Failed(format!("function did not start: {e:#}")))?;
        let gateway = match Gateway::start(Arc::new(runtime.clone())).await {
            Ok(g) => g,
            Err(e) => {
                runtime.stop();
                runtime.stopped().await;
                return Err(StartError::Failed(format!("cannot start the gateway: {e}")));
            }
        };
        let url = format!("{}{}", gateway.url().trim_end_matches('/'), spec.event.path(&spec.name));
        let mut headers = BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        if spec.invocation == InvocationMode::Event {
            headers.insert("x-amz-invocation-type".to_string(), "Event".to_string());
        }
        let default = RequestTemplate::new("POST", &url, &headers, run.workload.spec.function.work.request_body())
            .expect("the gateway URL and fixed headers are valid");
        let gateway_origin = gateway.url().trim_end_matches('/').to_string();
        let requests = super::request_set(run.workload, &spec.name, default, |r| {
            let body = r.body.clone().unwrap_or_default();
            match spec.event {
                // The Invoke API: the body is the event (validation keeps paths away).
                EventShape::Invoke => RequestTemplate::new("POST", &url, &super::merged(&headers, &r.headers), body),
                // A function URL: the request as written (asynchronous invocation is the Invoke
                // API's only, as validation says).
                EventShape::Http => {
                    let method = r.method.as_deref().unwrap_or("GET");
                    RequestTemplate::new(method, &format!("{gateway_origin}{}", r.target), &r.headers, body)
                }
            }
        });
        // The warmer has been running all along: its first round lands before the traffic.
        let pinger = spec.keep_warm.map(|k| {
            let schedule = KeepWarm { every: k.every.0, concurrency: k.concurrency };
            Pinger::new(runtime.clone(), run.clock.clone(), schedule)
        });
        if let Some(pinger) = &pinger {
            pinger.start(run.workload.duration()).await;
        }
        let samples = Arc::new(Mutex::new(Vec::new()));
        runtime.track_events(run.clock.now(), run.interval());
        let metrics = run
            .options
            .metrics
            .map(|m| crate::metrics::TargetMetrics { metrics: Arc::clone(m), target: spec.name.clone() });
        let sampler = tokio::spawn(sample_alive(
            runtime.clone(),
            Arc::clone(&samples),
            run.clock.clone(),
            run.interval(),
            metrics,
        ));
        let deployer = spec.deploy.map(|d| Deployer::start(runtime.clone(), run.clock.clone(), d.at.0));
        self.running = Some(Running { runtime, gateway, pinger, sampler, samples, deployer });
        Ok(Endpoint { url, requests })
    }

    async fn stop(&mut self, run: &Run<'_>) -> Part {
        let Some(running) = self.running.take() else { return Part::default() };
        // The warmer keeps to its schedule until the workload's horizon (skipping idle time
        // when fast-forwarding), as the simulator's does; Ctrl-C ends it at once. The sampler
        // goes on counting instances alive until it is done.
        let pings = match running.pinger {
            Some(pinger) => Some(pinger.finish(run.options.cancel).await),
            None => None,
        };
        running.gateway.stop().await;
        // Asynchronous invocations run on after their 202, retries too (minutes apart in real
        // time, skipped over when fast-forwarding); Ctrl-C stops waiting and they are reported
        // as unfinished.
        let drain = running.runtime.drain_events(run.options.cancel);
        tokio::pin!(drain);
        // Said only when the wait is noticeable.
        if tokio::time::timeout(Duration::from_secs(1), &mut drain).await.is_err() {
            let (queued, oldest) = running.runtime.event_queue();
            if !run.options.quiet {
                eprintln!(
                    "{}: waiting for {queued} asynchronous invocation(s) to finish, the oldest accepted {} ago (a retry \
                     comes 1 or 2 minutes after a function error; Ctrl-C stops waiting)",
                    self.spec.name,
                    crate::units::format_span(oldest.as_secs_f64())
                );
            }
            drain.await;
        }
        running.sampler.abort();
        let alive_per_second = std::mem::take(&mut *running.samples.lock().expect("samples lock"));
        // Work after the last responses is measured; a Ctrl-C cuts it short.
        running.runtime.settle(run.options.cancel).await;
        let deploy = running.deployer.and_then(|d| d.finish(&mut self.warnings));
        running.runtime.stop();
        running.runtime.settled().await;
        running.runtime.stopped().await;
        let invocations = running.runtime.summary();
        let stats = running.runtime.stats();
        if stats.cold_while_finishing > 0 {
            self.warnings.push(format!(
                "{} cold start(s) came from a request that arrived while the instance that had just answered \
                 was still busy (its runtime had not yet called /next, so it was not idle, as on Lambda); a \
                 caller on this host's loopback can win that race where one a network away from Lambda would \
                 not, unless the function works after its response",
                stats.cold_while_finishing
            ));
        }
        let mut function = function_report(self.spec, stats, invocations.billed_ms_total, alive_per_second, pings);
        function.invocations = invocations;
        function.events = running.runtime.events();
        let log = self.log.as_ref().map_or(String::new(), |path| format!("\n(the function's log: {})", path.display()));
        Part {
            function: Some(function),
            warnings: std::mem::take(&mut self.warnings),
            resources: self.resources.take(),
            diagnosis: running.runtime.init_failure().map(|d| format!("{d}{log}")),
            deploy,
            ..Part::default()
        }
    }
}

/// The report's view of a function target, measured or simulated.
pub fn function_report(
    spec: &FunctionTargetSpec,
    stats: FunctionStats,
    billed_ms_total: u64,
    alive_per_second: Vec<u32>,
    keep_warm: Option<KeepWarmReport>,
) -> FunctionReport {
    FunctionReport {
        memory_mb: spec.memory_mb,
        timeout_ms: spec.timeout.0.as_millis() as u64,
        event: spec.event,
        billing: spec.billing,
        provisioned: spec.provisioned,
        concurrency_per_instance: spec.concurrency_per_instance,
        stats,
        billed_ms_total,
        invocations: InvocationSummary::default(),
        alive_per_second,
        keep_warm,
        events: None,
    }
}

/// The body of a keep-warm ping (the demo function answers it at once).
pub fn ping_event() -> bytes::Bytes {
    bytes::Bytes::from(format!("{{\"source\":\"{}\"}}", crate::function::KEEP_WARM_SOURCE))
}

/// Scheduled keep-warm pings straight into the runtime (as EventBridge Scheduler would invoke
/// the function), on the run's clock, at the times [`KeepWarm::rounds`] gives.
struct Pinger {
    runtime: FunctionRuntime,
    clock: Clock,
    schedule: KeepWarm,
    tally: Mutex<KeepWarmReport>,
    /// Set once the load has ended: the rest of the schedule may skip idle time itself.
    load_done: CancellationToken,
    stop: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Pinger {
    fn new(runtime: FunctionRuntime, clock: Clock, schedule: KeepWarm) -> Arc<Self> {
        let report = KeepWarmReport {
            every_s: schedule.every.as_secs_f64(),
            concurrency: schedule.concurrency,
            ..Default::default()
        };
        Arc::new(Self {
            runtime,
            clock,
            schedule,
            tally: Mutex::new(report),
            load_done: CancellationToken::new(),
            stop: CancellationToken::new(),
            task: Mutex::new(None),
        })
    }

    /// Sends the first round, then schedules the others up to `horizon` from now.
    async fn start(self: &Arc<Self>, horizon: Duration) {
        let start = self.clock.now();
        let mut rounds = self.schedule.rounds(horizon).map(move |offset| start + offset);
        rounds.next();
        self.round().await;
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            // The next round's time always holds an alarm, so no jump passes it. It is moved on
            // (or dropped after the last round) before each round, so when the round ends the
            // load generator sees the next one.
            let mut rounds = rounds.peekable();
            let mut alarm = rounds.peek().map(|first| {
                let alarm = this.clock.alarm();
                alarm.set(*first);
                alarm
            });
            while let Some(due) = rounds.next() {
                this.wait(due).await;
                if this.stop.is_cancelled() {
                    return;
                }
                match (rounds.peek(), &alarm) {
                    (Some(next), Some(alarm)) => alarm.set(*next),
                    _ => alarm = None,
                }
                this.round().await;
            }
        });
        *self.task.lock().expect("task lock") = Some(task);
    }

    /// Waits for `due`: while the load runs, its driver owns the clock's jumps; once it is over,
    /// the pinger jumps over idle time itself.
    async fn wait(&self, due: Instant) {
        if !self.load_done.is_cancelled() {
            tokio::select! {
                () = self.stop.cancelled() => return,
                () = self.clock.sleep_until(due) => return,
                () = self.load_done.cancelled() => {}
            }
        }
        tokio::select! {
            () = self.stop.cancelled() => {}
            () = self.clock.wait_until(due, |real| tokio::time::sleep_until(real.into())) => {}
        }
    }

    /// `concurrency` pings at once; the clock does not jump while they are out.
    async fn round(&self) {
        let _busy = self.clock.busy();
        let mut pings = tokio::task::JoinSet::new();
        for _ in 0..self.schedule.concurrency {
            let runtime = self.runtime.clone();
            pings.spawn(async move { runtime.ping(ping_event()).await });
        }
        while let Some(Ok(record)) = pings.join_next().await {
            self.count(record);
        }
    }

    fn count(&self, record: BillingRecord) {
        let mut tally = self.tally.lock().expect("tally lock");
        tally.pings += 1;
        tally.cold += u64::from(record.cold);
        tally.failed += u64::from(record.outcome != InvocationOutcome::Success);
        tally.billed_ms_total += record.billed_ms;
    }

    /// Runs the rest of the schedule (Ctrl-C on `cancel` cuts it short); returns the tally.
    async fn finish(&self, cancel: &CancellationToken) -> KeepWarmReport {
        self.load_done.cancel();
        let task = self.task.lock().expect("task lock").take();
        if let Some(mut task) = task {
            tokio::select! {
                _ = &mut task => {}
                () = cancel.cancelled() => {
                    self.stop.cancel();
                    let _ = task.await;
                }
            }
        }
        std::mem::take(&mut *self.tally.lock().expect("tally lock"))
    }
}

/// Records the most instances alive at once in each interval of the clock until aborted (several
/// entries at once after a jump of the clock: nothing changed in the skipped time), and feeds
/// the live metrics' pool gauges.
async fn sample_alive(
    runtime: FunctionRuntime,
    samples: Arc<Mutex<Vec<u32>>>,
    clock: Clock,
    interval: Duration,
    metrics: Option<crate::metrics::TargetMetrics>,
) {
    let start = clock.now();
    let mut tick = tokio::time::interval(interval.min(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        if let Some(m) = &metrics {
            m.metrics.pool(&m.target, runtime.alive(), runtime.executing());
        }
        let index = (clock.now().saturating_duration_since(start).as_nanos() / interval.as_nanos()) as usize;
        let alive = u32::try_from(runtime.alive()).unwrap_or(u32::MAX);
        let mut samples = samples.lock().expect("samples lock");
        while samples.len() <= index {
            samples.push(alive);
        }
        // The most alive at once in the interval: instances started within its first moments
        // show in it, not only in the next one.
        if let Some(last) = samples.last_mut() {
            *last = (*last).max(alive);
        }
    }
}

fn function_config(
    workload: &Workload,
    spec: &FunctionTargetSpec,
    options: &super::Options<'_>,
    log: Option<&Path>,
    clock: &Clock,
) -> anyhow::Result<FunctionConfig> {
    let command = match spec.adapter {
        // The same server a container target runs, behind the Lambda Web Adapter.
        Some(crate::workload::FunctionAdapter::Web) => {
            options.demo.web_command(&spec.command.clone().unwrap_or_else(|| options.demo.http_command()))
        }
        None => spec.command.clone().unwrap_or_else(|| options.demo.lambda_command()),
    };
    let mut env: Vec<(String, String)> = workload.spec.function.init.to_env();
    env.extend(spec.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(FunctionConfig {
        name: spec.name.clone(),
        command,
        handler: spec.handler.clone(),
        memory_mb: spec.memory_mb,
        timeout: spec.timeout.0,
        init_timeout: spec.init_timeout.0,
        region: spec.region.clone(),
        env,
        pool: pool_config(workload, spec)?,
        billing: spec.billing,
        log: log.map(function_log).transpose()?,
        records: options.records.cloned(),
        isolate: false,
        enforce_resources: false,
        init_cpus: spec.init_cpus,
        clock: clock.clone(),
        async_retries: spec.max_retry_attempts,
        max_event_age: spec.max_event_age.0,
        cwd: Some(workload.command_dir(spec.cwd.as_deref())),
    })
}

/// The pool policy a function target asks for (shared by the real runtime and the simulator).
///
/// # Errors
/// When `max_lifetime` is neither a duration nor `"off"`.
pub fn pool_config(workload: &Workload, spec: &FunctionTargetSpec) -> anyhow::Result<PoolConfig> {
    let keep_alive = KeepAlive::from_setting(spec.keep_alive, spec.keep_alive_jitter.map(|j| j.0));
    Ok(PoolConfig {
        max_concurrency: spec.max_concurrency,
        keep_alive,
        max_lifetime: crate::workload::max_lifetime(&spec.max_lifetime).map_err(anyhow::Error::msg)?,
        provisioned: spec.provisioned,
        reuse: spec.reuse,
        seed: workload.spec.seed,
        platform_overhead: spec.platform_overhead,
        per_instance: spec.concurrency_per_instance,
        ..PoolConfig::default()
    })
}

/// A line sink appending to `path` (START/END/REPORT lines and the function's output).
fn function_log(path: &Path) -> anyhow::Result<LineSink> {
    let file = std::fs::File::create(path).map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
    let file = Mutex::new(std::io::LineWriter::new(file));
    Ok(Arc::new(move |line: &str| {
        let _ = writeln!(file.lock().expect("log lock"), "{line}");
    }))
}
