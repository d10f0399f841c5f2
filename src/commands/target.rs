//! Measuring one target of a workload: start it, drive it with the run's schedule, stop it.
//!
//! Whatever happens, the result is a `TargetReport`: a target that cannot start or serves no
//! request is reported as failed, never lost.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::container::{ContainerConfig, ContainerPool};
use crate::gateway::Gateway;
use crate::loadgen::{self, Live, LoadResult, Plan, RequestTemplate, Timing};
use crate::metrics::{FastForwardInfo, FunctionReport, KeepWarmReport, INTERVAL};
use crate::metrics::{InstanceReport, LoadMode, Recorder, TargetReport, TargetStatus};
use crate::policy::{KeepAlive, PoolConfig};
use crate::process::LineSink;
use crate::progress::Progress;
use crate::runtime::{BillingRecord, FunctionConfig, FunctionRuntime, InvocationOutcome};
use crate::time::clock::Clock;
use crate::time::utc_now;
use crate::workload::{ContainerSpec, FunctionTargetSpec, KeepWarmSpec, TargetSpec, UrlSpec, Workload};

/// Runs the workload's schedule against one target; a function target's log goes to `log_dir`.
pub async fn measure(
    workload: &Workload,
    target: &TargetSpec,
    cancel: &CancellationToken,
    quiet: bool,
    log_dir: Option<&Path>,
) -> TargetReport {
    let started_at = utc_now();
    // Each target gets a clock of its own: they run one after the other.
    let clock = Clock::new(workload.spec.load.fast_forward);
    let real_start = Instant::now();
    let mut report = match target {
        TargetSpec::Url(spec) => measure_url(workload, spec, cancel, quiet).await,
        TargetSpec::Container(spec) => measure_container(workload, spec, cancel, quiet, &clock).await,
        TargetSpec::Function(spec) => measure_function(workload, spec, cancel, quiet, log_dir, &clock).await,
    };
    report.started_at = started_at;
    if clock.is_fast_forward() && report.measurement.requests > 0 {
        let skipped = clock.skipped();
        report.fast_forward = Some(FastForwardInfo {
            simulated_s: report.measurement.elapsed_s,
            real_s: real_start.elapsed().as_secs_f64(),
            skipped_s: skipped.total.as_secs_f64(),
            jumps: skipped.jumps,
        });
    }
    report
}

async fn measure_url(workload: &Workload, spec: &UrlSpec, cancel: &CancellationToken, quiet: bool) -> TargetReport {
    let template =
        match RequestTemplate::new(&spec.method, &spec.url, &spec.headers, spec.body.clone().unwrap_or_default()) {
            Ok(t) => t,
            Err(e) => return failed(&spec.name, "url", &spec.url, e.to_string()),
        };
    let result = drive(workload, &spec.name, template, cancel, quiet, &Clock::real()).await;
    conclude(&spec.name, "url", &spec.url, Vec::new(), result)
}

async fn measure_container(
    workload: &Workload,
    spec: &ContainerSpec,
    cancel: &CancellationToken,
    quiet: bool,
    clock: &Clock,
) -> TargetReport {
    let command = match spec.command.clone().map_or_else(crate::function::http_command, Ok) {
        Ok(c) => c,
        Err(e) => return failed(&spec.name, "container", "", format!("cannot find the demo function: {e:#}")),
    };
    let mut env: Vec<(String, String)> = spec.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.extend(workload.spec.function.init.to_env());
    let config = ContainerConfig {
        name: spec.name.clone(),
        instances: spec.instances,
        command,
        env,
        startup_timeout: spec.startup_timeout.0,
        stop_grace: spec.stop_grace.0,
    };
    let pool = tokio::select! {
        biased;
        () = cancel.cancelled() => return interrupted_before_start(&spec.name, "container"),
        started = ContainerPool::start(&config) => match started {
            Ok(pool) => Arc::new(pool),
            Err(e) => return failed(&spec.name, "container", "", format!("container did not start: {e}")),
        },
    };
    let report = serve_and_drive(workload, &spec.name, &pool, cancel, quiet, clock).await;
    pool.stop().await;
    report
}

async fn serve_and_drive(
    workload: &Workload,
    name: &str,
    pool: &Arc<ContainerPool>,
    cancel: &CancellationToken,
    quiet: bool,
    clock: &Clock,
) -> TargetReport {
    let gateway = match Gateway::start(Arc::clone(pool) as _).await {
        Ok(g) => g,
        Err(e) => return failed(name, "container", "", format!("cannot start the gateway: {e}")),
    };
    let endpoint = gateway.url();
    let headers = BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
    let template = RequestTemplate::new("POST", &endpoint, &headers, workload.spec.function.work.request_body())
        .expect("the gateway URL and fixed headers are valid");
    let result = drive(workload, name, template, cancel, quiet, clock).await;
    gateway.stop().await;
    conclude(name, "container", &endpoint, pool.reports(), result)
}

async fn measure_function(
    workload: &Workload,
    spec: &FunctionTargetSpec,
    cancel: &CancellationToken,
    quiet: bool,
    log_dir: Option<&Path>,
    clock: &Clock,
) -> TargetReport {
    let config = match function_config(workload, spec, log_dir, clock) {
        Ok(c) => c,
        Err(e) => return failed(&spec.name, "function", "", format!("{e:#}")),
    };
    let runtime = tokio::select! {
        biased;
        () = cancel.cancelled() => return interrupted_before_start(&spec.name, "function"),
        started = FunctionRuntime::start(config) => match started {
            Ok(runtime) => runtime,
            Err(e) => return failed(&spec.name, "function", "", format!("function did not start: {e:#}")),
        },
    };
    let gateway = match Gateway::start(Arc::new(runtime.clone())).await {
        Ok(g) => g,
        Err(e) => {
            runtime.stop();
            return failed(&spec.name, "function", "", format!("cannot start the gateway: {e}"));
        }
    };
    let endpoint = format!("{}{}", gateway.url().trim_end_matches('/'), spec.event.path(&spec.name));
    let headers = BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
    let template = RequestTemplate::new("POST", &endpoint, &headers, workload.spec.function.work.request_body())
        .expect("the gateway URL and fixed headers are valid");
    // The warmer has been running all along: its first round lands before the traffic.
    let pinger = spec.keep_warm.map(|keep_warm| KeepWarm::start(runtime.clone(), clock.clone(), keep_warm));
    if let Some(pinger) = &pinger {
        pinger.first_round().await;
    }
    let samples = Arc::new(std::sync::Mutex::new(Vec::new()));
    let interval = interval(workload, clock);
    let sampler = tokio::spawn(sample_alive(runtime.clone(), Arc::clone(&samples), clock.clone(), interval));
    let result = drive(workload, &spec.name, template, cancel, quiet, clock).await;
    sampler.abort();
    let pings = match pinger {
        Some(pinger) => Some(pinger.stop().await),
        None => None,
    };
    let alive_per_second = std::mem::take(&mut *samples.lock().expect("samples lock"));
    gateway.stop().await;
    runtime.stop();
    let mut report = conclude(&spec.name, "function", &endpoint, Vec::new(), result);
    let mut invocations = runtime.records();
    let keep_warm = pings.map(|(pings, ids)| {
        invocations.retain(|r| !ids.contains(&r.request_id));
        pings
    });
    let billed_ms_total = invocations.iter().map(|r| r.billed_ms).sum();
    report.function = Some(function_report(spec, runtime.stats(), billed_ms_total, alive_per_second, keep_warm));
    report.invocations = invocations;
    report
}

/// The report's view of a function target, measured or simulated.
pub fn function_report(
    spec: &FunctionTargetSpec,
    stats: crate::runtime::FunctionStats,
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
        stats,
        billed_ms_total,
        alive_per_second,
        keep_warm,
    }
}

/// The body of a keep-warm ping (the demo function answers it at once).
pub fn ping_event() -> bytes::Bytes {
    bytes::Bytes::from(format!("{{\"source\":\"{}\"}}", crate::function::KEEP_WARM_SOURCE))
}

/// Scheduled keep-warm pings straight into the runtime (as EventBridge Scheduler would invoke
/// the function), on the run's clock: rounds of `concurrency` simultaneous pings `every` apart.
struct KeepWarm {
    runtime: FunctionRuntime,
    clock: Clock,
    spec: KeepWarmSpec,
    tally: std::sync::Mutex<(KeepWarmReport, std::collections::HashSet<String>)>,
    stop: CancellationToken,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl KeepWarm {
    fn start(runtime: FunctionRuntime, clock: Clock, spec: KeepWarmSpec) -> Arc<Self> {
        let report =
            KeepWarmReport { every_s: spec.every.0.as_secs_f64(), concurrency: spec.concurrency, ..Default::default() };
        Arc::new(Self {
            runtime,
            clock,
            spec,
            tally: std::sync::Mutex::new((report, std::collections::HashSet::new())),
            stop: CancellationToken::new(),
            task: std::sync::Mutex::new(None),
        })
    }

    /// Sends the first round and then schedules the rest, every `every` from now.
    async fn first_round(self: &Arc<Self>) {
        self.round().await;
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let start = this.clock.now();
            // The next round's time always holds an alarm, so no jump passes it; it is moved on
            // before each round, so when the round ends the load generator sees the next one.
            let alarm = this.clock.alarm();
            let mut due = start + this.spec.every.0;
            alarm.set(due);
            loop {
                tokio::select! {
                    () = this.stop.cancelled() => return,
                    () = this.clock.sleep_until(due) => {}
                }
                due += this.spec.every.0;
                alarm.set(due);
                this.round().await;
            }
        });
        *self.task.lock().expect("task lock") = Some(task);
    }

    /// `concurrency` pings at once; the clock does not jump while they are out.
    async fn round(&self) {
        let _busy = self.clock.busy();
        let mut pings = tokio::task::JoinSet::new();
        for _ in 0..self.spec.concurrency {
            let runtime = self.runtime.clone();
            pings.spawn(async move { runtime.invoke(ping_event(), None).await.record().clone() });
        }
        while let Some(Ok(record)) = pings.join_next().await {
            self.count(record);
        }
    }

    fn count(&self, record: BillingRecord) {
        let mut tally = self.tally.lock().expect("tally lock");
        let (report, ids) = &mut *tally;
        report.pings += 1;
        report.cold += u64::from(record.cold);
        report.failed += u64::from(record.outcome != InvocationOutcome::Success);
        report.billed_ms_total += record.billed_ms;
        ids.insert(record.request_id);
    }

    /// Stops the schedule; returns the tally and the pings' request ids.
    async fn stop(&self) -> (KeepWarmReport, std::collections::HashSet<String>) {
        self.stop.cancel();
        let task = self.task.lock().expect("task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        std::mem::take(&mut *self.tally.lock().expect("tally lock"))
    }
}

/// Records the number of live instances once per interval of the clock until aborted (several
/// entries at once after a jump of the clock: nothing changed in the skipped time).
async fn sample_alive(
    runtime: FunctionRuntime,
    samples: Arc<std::sync::Mutex<Vec<u32>>>,
    clock: Clock,
    interval: Duration,
) {
    let start = clock.now();
    let mut tick = tokio::time::interval(interval.min(Duration::from_millis(100)));
    loop {
        tick.tick().await;
        let index = (clock.now().saturating_duration_since(start).as_nanos() / interval.as_nanos()) as usize;
        let alive = u32::try_from(runtime.alive()).unwrap_or(u32::MAX);
        let mut samples = samples.lock().expect("samples lock");
        while samples.len() <= index {
            samples.push(alive);
        }
    }
}

/// The time series' interval: a second, or coarser when fast-forward stretches the run.
fn interval(workload: &Workload, clock: &Clock) -> Duration {
    if clock.is_fast_forward() {
        crate::simulate::interval_for(workload.duration())
    } else {
        INTERVAL
    }
}

fn function_config(
    workload: &Workload,
    spec: &FunctionTargetSpec,
    log_dir: Option<&Path>,
    clock: &Clock,
) -> anyhow::Result<FunctionConfig> {
    let command = match &spec.command {
        Some(command) => command.clone(),
        None => crate::function::lambda_command()?,
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
        log: log_dir.map(|dir| function_log(&dir.join(format!("{}.function.log", spec.name)))).transpose()?,
        clock: clock.clone(),
    })
}

/// The pool policy a function target asks for (shared by the real runtime and the simulator).
///
/// # Errors
/// When `max_lifetime` is neither a duration nor `"off"`.
pub fn pool_config(workload: &Workload, spec: &FunctionTargetSpec) -> anyhow::Result<PoolConfig> {
    let keep_alive = match spec.keep_alive_jitter {
        Some(jitter) => KeepAlive::Jittered { idle: spec.keep_alive.0, jitter: jitter.0 },
        None => KeepAlive::Fixed { idle: spec.keep_alive.0 },
    };
    Ok(PoolConfig {
        max_concurrency: spec.max_concurrency,
        keep_alive,
        max_lifetime: crate::workload::max_lifetime(&spec.max_lifetime).map_err(anyhow::Error::msg)?,
        provisioned: spec.provisioned,
        reuse: spec.reuse,
        seed: workload.spec.seed,
        ..PoolConfig::default()
    })
}

/// A line sink appending to `path` (START/END/REPORT lines and the function's output).
fn function_log(path: &Path) -> anyhow::Result<LineSink> {
    let file = std::fs::File::create(path).map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
    let file = std::sync::Mutex::new(std::io::LineWriter::new(file));
    Ok(Arc::new(move |line: &str| {
        let _ = writeln!(file.lock().expect("log lock"), "{line}");
    }))
}

/// Sends the workload's schedule to `template`.
async fn drive(
    workload: &Workload,
    name: &str,
    template: RequestTemplate,
    cancel: &CancellationToken,
    quiet: bool,
    clock: &Clock,
) -> anyhow::Result<LoadResult> {
    let plan = Plan::Open { schedule: Box::new(workload.schedule()), max_in_flight: workload.spec.load.max_in_flight };
    let live = Arc::new(Live::default());
    let expected = workload.arrivals.expected_requests(workload.duration()).round() as u64;
    let progress = Progress::start(name, Some(expected), Arc::clone(&live), !quiet);
    let timing =
        Timing { timeout: workload.spec.load.timeout.0, clock: clock.clone(), interval: interval(workload, clock) };
    let result = loadgen::drive(template, plan, timing, cancel.child_token(), live).await;
    progress.finish();
    result
}

/// Turns a load result into the target's report, deciding its status.
pub fn conclude(
    name: &str,
    kind: &str,
    endpoint: &str,
    instances: Vec<InstanceReport>,
    result: anyhow::Result<LoadResult>,
) -> TargetReport {
    let result = match result {
        Ok(r) => r,
        Err(e) => return failed(name, kind, endpoint, format!("{e:#}")),
    };
    let m = &result.measurement;
    let (status, error) = if result.interrupted {
        (TargetStatus::Interrupted, None)
    } else if m.requests > 0 && m.outcomes.ok == 0 {
        let kinds: Vec<String> = m.outcomes.error_kinds().iter().map(|(k, n)| format!("{n} {k}")).collect();
        (TargetStatus::Failed, Some(format!("no request succeeded ({})", kinds.join(", "))))
    } else {
        (TargetStatus::Complete, None)
    };
    TargetReport {
        instances,
        measurement: result.measurement,
        coldbench_cpu_us_per_request: result.cpu_us_per_request,
        warnings: result.warnings,
        ..empty_report(name, kind, endpoint, status, error)
    }
}

/// A report with nothing measured (yet); the one place a `TargetReport` is spelled out.
pub fn empty_report(
    name: &str,
    kind: &str,
    endpoint: &str,
    status: TargetStatus,
    error: Option<String>,
) -> TargetReport {
    let now = Instant::now();
    TargetReport {
        name: name.to_string(),
        kind: kind.to_string(),
        status,
        error,
        started_at: utc_now(),
        mode: LoadMode::Open,
        endpoint: endpoint.to_string(),
        instances: Vec::new(),
        measurement: Recorder::new(now).finish(now),
        coldbench_cpu_us_per_request: None,
        fast_forward: None,
        warnings: Vec::new(),
        function: None,
        invocations: Vec::new(),
        cost: None,
    }
}

fn failed(name: &str, kind: &str, endpoint: &str, error: String) -> TargetReport {
    empty_report(name, kind, endpoint, TargetStatus::Failed, Some(error))
}

fn interrupted_before_start(name: &str, kind: &str) -> TargetReport {
    empty_report(name, kind, "", TargetStatus::Interrupted, None)
}
