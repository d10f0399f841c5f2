//! Targets: one deployment model under test, driven end to end. Every kind — a URL, always-on
//! containers, on-demand functions, and an in-process fake for tests — goes through the same
//! three steps: start (→ the endpoint the load generator sends to), drive (the workload's
//! schedule, through `loadgen`), stop (→ the target's own part of the report).
//!
//! Whatever happens, the result is a `TargetReport`: a target that cannot start or serves no
//! request is reported as failed, never lost. Adding a kind is a file here, a `TargetKind`
//! variant, and its arm in [`measure`].

mod container;
mod fake;
mod function;
mod lambda;
mod progress;
mod url;
mod watch;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

pub use container::scaling_description;
pub use fake::{FakeScript, FakeTarget};
pub use function::{function_report, ping_event, pool_config};
pub use progress::{Planned, Progress};

use crate::function::DemoFunction;
use crate::http::{RequestSet, RequestTemplate, TemplateError};
use crate::loadgen::{self, Live, LoadResult, Plan, Timing};
use crate::metrics::{FastForwardInfo, FunctionReport, InstanceReport, RecordLog, INTERVAL};
use crate::metrics::{LoadMode, Recorder, RunReport, TargetKind, TargetReport, TargetStatus};
use crate::time::{utc_now, Clock};
use crate::workload::{TargetSpec, Workload};

/// How a run's targets are measured: Ctrl-C, progress, where logs go, and which executable
/// is the demo function.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    pub cancel: &'a CancellationToken,
    /// No progress bar.
    pub quiet: bool,
    /// Where a function target's log goes (`<target>.function.log`).
    pub log_dir: Option<&'a Path>,
    /// Runs the demo function for targets without a `command`.
    pub demo: &'a DemoFunction,
    /// Where function targets' billing records go as they happen (`invocations.csv`).
    pub records: Option<&'a Arc<dyn RecordLog>>,
    /// Enforce CPU and memory with cgroups where the host allows it (`--resources on`, the
    /// default); `false` runs every instance with the whole host, on purpose.
    pub resources: bool,
    /// Live metrics served while the run goes (`--metrics`).
    pub metrics: Option<&'a Arc<crate::metrics::LiveMetrics>>,
    /// Open-loop generator threads (`--threads`); `None`: every core for a remote target (`url`,
    /// `lambda`), one for a local one, which shares coldbench's cores with the generator.
    pub threads: Option<usize>,
}

/// What every target of one run shares: the workload, the target's own clock, and the run's
/// options.
pub struct Run<'a> {
    pub workload: &'a Workload,
    /// Each target gets a clock of its own: they run one after the other.
    pub clock: Clock,
    pub options: Options<'a>,
}

impl<'a> Run<'a> {
    /// A run of `workload` with a fresh clock (fast-forwarded when the workload asks for it).
    pub fn new(workload: &'a Workload, options: Options<'a>) -> Self {
        Self { workload, clock: Clock::new(workload.spec.load.fast_forward), options }
    }
}

impl Run<'_> {
    /// The time series' interval: a second, or coarser when fast-forward stretches the run.
    pub fn interval(&self) -> Duration {
        if self.clock.is_fast_forward() {
            crate::metrics::interval_for(self.workload.duration())
        } else {
            INTERVAL
        }
    }
}

/// Where the load generator sends, once a target has started.
pub struct Endpoint {
    /// The URL as the report shows it.
    pub url: String,
    pub requests: RequestSet,
}

/// A target's own part of its report, handed over when it stops.
#[derive(Default)]
pub struct Part {
    pub instances: Vec<InstanceReport>,
    pub function: Option<FunctionReport>,
    /// What the target itself has to tell the reader (e.g. what it could not do as asked).
    pub warnings: Vec<String>,
    /// How CPU and memory were given to its instances (see [`TargetReport::resources`]).
    pub resources: Option<String>,
    /// What went wrong in the instances' start-up, in words (a failed Init: what the program
    /// did and the end of its output), for the target's error or a warning.
    pub diagnosis: Option<String>,
    /// A container service's failures and replacements.
    pub fleet: Option<crate::metrics::FleetReport>,
    /// The deploy during the run, its window still to be read from the measurement.
    pub deploy: Option<crate::metrics::DeployReport>,
}

/// The warning of a target whose `deploy.at` came after its load.
const DEPLOY_MISSED: &str = "the deploy did not happen: the load ended before its time (deploy.at)";

/// Why a target produced no endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// Ctrl-C came before the target was up.
    #[error("interrupted before the target started")]
    Interrupted,
    /// It could not start; the message says why.
    #[error("{0}")]
    Failed(String),
}

/// One deployment model under test.
#[allow(async_fn_in_trait)]
pub trait Target {
    fn name(&self) -> &str;
    fn kind(&self) -> TargetKind;
    /// Brings the deployment up and says where to send.
    ///
    /// # Errors
    /// [`StartError`] when it cannot start or Ctrl-C came first.
    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError>;
    /// Takes the deployment down (every process it started) and returns what it saw.
    async fn stop(&mut self, run: &Run<'_>) -> Part;
}

/// Measures `targets` one after the other into `report`, with the same schedule, and calls
/// `after_each` once each target is in (where the caller saves the report, so a run that stops
/// halfway keeps what it measured). Ctrl-C on `cancel` ends the current target (reported as
/// interrupted) and starts no other. Measurement never fails: a target that does is a report
/// with status `failed`, and whatever goes wrong in `after_each` is the caller's to keep.
pub async fn measure_all(
    workload: &Workload,
    targets: &[&TargetSpec],
    report: &mut RunReport,
    options: Options<'_>,
    after_each: impl FnMut(&mut RunReport),
) {
    measure_repeated(workload, targets, 1, report, options, after_each).await;
}

/// As [`measure_all`], `repeats` times over, interleaved as hyperfine and this project's
/// benchmarks interleave (every target once, then every target again), so a drift of the host
/// falls on all targets alike: run 1 goes into `report.targets`, run *k* into
/// `report.repeats[k - 2]`, in the same order.
pub async fn measure_repeated(
    workload: &Workload,
    targets: &[&TargetSpec],
    repeats: u32,
    report: &mut RunReport,
    options: Options<'_>,
    mut after_each: impl FnMut(&mut RunReport),
) {
    for run in 1..=repeats {
        if run > 1 {
            report.repeats.push(Vec::new());
        }
        for target in targets {
            if options.cancel.is_cancelled() {
                return;
            }
            if !options.quiet {
                let of = if repeats > 1 { format!(", run {run} of {repeats}") } else { String::new() };
                eprintln!("measuring {} ({}){of}", target.name(), target.kind());
            }
            let measured = measure(workload, target, options, &report.pricing).await;
            if let Some(error) = &measured.error {
                crate::term::error(format_args!("target {}: {error}", measured.name));
            }
            for warning in &measured.warnings {
                crate::term::warning(format_args!("target {}: {warning}", measured.name));
            }
            match report.repeats.last_mut().filter(|_| run > 1) {
                Some(runs) => runs.push(measured),
                None => report.targets.push(measured),
            }
            after_each(report);
        }
    }
}

/// Runs the workload's schedule against one target of the workload.
pub async fn measure(
    workload: &Workload,
    spec: &TargetSpec,
    options: Options<'_>,
    pricing: &crate::cost::Pricing,
) -> TargetReport {
    let run = Run::new(workload, options);
    match spec {
        TargetSpec::Url(s) => measure_with(url::UrlTarget::new(s), &run).await,
        TargetSpec::Container(s) => {
            // Each instance is sized as the instance type or Fargate task the cost model prices.
            let size = workload.spec.cost.instance_size(pricing).ok();
            measure_with(container::ContainerTarget::new(s, workload, size), &run).await
        }
        TargetSpec::Function(s) => measure_with(function::FunctionTarget::new(s), &run).await,
        TargetSpec::Lambda(s) => measure_with(lambda::LambdaTarget::new(s), &run).await,
    }
}

/// Start, drive, stop: any target through the one pipeline.
pub async fn measure_with<T: Target>(mut target: T, run: &Run<'_>) -> TargetReport {
    let started_at = utc_now();
    let real_start = Instant::now();
    let endpoint = tokio::select! {
        biased;
        () = run.options.cancel.cancelled() => Err(StartError::Interrupted),
        started = target.start(run) => started,
    };
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(StartError::Interrupted) => {
            let _ = target.stop(run).await;
            return empty_report(target.name(), target.kind(), "", TargetStatus::Interrupted, None);
        }
        Err(StartError::Failed(why)) => {
            let _ = target.stop(run).await;
            return empty_report(target.name(), target.kind(), "", TargetStatus::Failed, Some(why));
        }
    };
    let watch = watch::HostWatch::start(target.name());
    let result = drive(run, target.name(), target.kind(), endpoint.requests).await;
    let (host, usage) = watch.finish().await;
    let part = target.stop(run).await;
    let mut report = conclude(target.name(), target.kind(), &endpoint.url, result);
    report.host = host;
    report.usage = usage;
    watch::judge_host(&mut report);
    report.instances = part.instances;
    report.warnings.extend(part.warnings);
    report.resources = part.resources;
    if let Some(diagnosis) = part.diagnosis {
        match (&report.status, &report.error) {
            (TargetStatus::Failed, Some(error)) => report.error = Some(format!("{error}: {diagnosis}")),
            _ => report.warnings.push(format!("an instance failed its Init: {diagnosis}")),
        }
    }
    for instance in &report.instances {
        if let (Some(after), Some(how)) = (instance.died_after_s, &instance.exit) {
            let replacement = report.instances.iter().find(|r| r.replaces.as_deref() == Some(instance.id.as_str()));
            let replaced = match (replacement, &part.fleet) {
                (Some(r), _) => {
                    format!("; its replacement {} served from {:.1} s", r.id, r.serving_after_s.unwrap_or_default())
                }
                (None, Some(fleet)) => format!(
                    "; its replacement had not come up by the end (a provision delay of {} s, then its start)",
                    fleet.provision_delay_s
                ),
                (None, None) => ", and it is not priced as running".to_string(),
            };
            report.warnings.push(format!(
                "instance {} died {after:.1} s after it was ready ({how}); it left rotation then, {} requests \
                 failed on it{replaced}",
                instance.id, instance.failed_requests
            ));
        }
    }
    report.function = part.function;
    report.fleet = part.fleet;
    report.deploy = part.deploy.map(|d| d.with_window(&report.measurement));
    report.started_at = started_at;
    if run.clock.is_fast_forward() && report.measurement.requests > 0 {
        let (skipped, real_s) = (run.clock.skipped(), real_start.elapsed().as_secs_f64());
        report.fast_forward = Some(FastForwardInfo {
            // The target's whole span on its clock: the load and what ran on after it (the
            // asynchronous queue's retries, the rest of a keep-warm schedule).
            simulated_s: (real_s + skipped.total.as_secs_f64()).max(report.measurement.elapsed_s),
            real_s,
            skipped_s: skipped.total.as_secs_f64(),
            jumps: skipped.jumps,
        });
    }
    report
}

/// Once a second until `stop`, and once more when it fires, so that the last, partial second
/// is counted too: `while seconds.next().await { … }`.
pub(crate) struct EverySecond {
    tick: tokio::time::Interval,
    stop: CancellationToken,
    /// The stop has fired: the current round is the last.
    pub(crate) stopped: bool,
}

impl EverySecond {
    pub(crate) async fn start(stop: CancellationToken) -> Self {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        Self { tick, stop, stopped: false }
    }

    /// Waits for the next round; `false` after the last one.
    pub(crate) async fn next(&mut self) -> bool {
        if self.stopped {
            return false;
        }
        tokio::select! {
            _ = self.tick.tick() => {}
            () = self.stop.cancelled() => self.stopped = true,
        }
        true
    }
}

/// The requests a target sends: the workload's for it, each made a template by `template` (which
/// places it on the target's endpoint, already a valid URL), drawn as the workload says; else
/// `default` every time. Reading the workload checked each request's method, path and headers
/// as a template does, so a template of them on a valid endpoint cannot fail.
fn request_set(
    workload: &Workload,
    name: &str,
    default: RequestTemplate,
    template: impl Fn(&crate::workload::Request) -> Result<RequestTemplate, TemplateError>,
) -> RequestSet {
    let Some(requests) = workload.requests_for(name) else {
        return RequestSet::one(default);
    };
    let templates = requests.list.iter().map(|r| {
        let made = template(r).expect("the workload's requests were checked when it was read");
        (made, r.weight)
    });
    let templates: Vec<_> = templates.collect();
    match requests.order {
        crate::workload::RequestOrder::Sequence => {
            RequestSet::in_order(templates.into_iter().map(|(t, _)| t).collect())
        }
        crate::workload::RequestOrder::Weight => RequestSet::weighted(templates, workload.spec.seed),
    }
}

/// `base` with `extra`'s headers added, replacing those of the same name.
fn merged(base: &BTreeMap<String, String>, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = base
        .iter()
        .filter(|(k, _)| !extra.keys().any(|e| e.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// Sends the workload's schedule as `requests`.
async fn drive(run: &Run<'_>, name: &str, kind: TargetKind, requests: RequestSet) -> anyhow::Result<LoadResult> {
    let workload = run.workload;
    let remote = matches!(kind, TargetKind::Url | TargetKind::Lambda);
    let threads = run.options.threads.unwrap_or_else(|| if remote { crate::cores() } else { 1 });
    let source = Arc::new(workload.clone());
    let schedule: loadgen::Schedule = Arc::new(move || source.run_schedule());
    let plan = Plan::Open { schedule, max_in_flight: workload.spec.load.max_in_flight, threads };
    let metrics =
        run.options.metrics.map(|m| crate::metrics::TargetMetrics { metrics: Arc::clone(m), target: name.to_string() });
    let live = Arc::new(Live { metrics, ..Live::default() });
    let expected = workload.arrivals.expected_requests(workload.duration()).round() as u64;
    let planned = Planned { requests: Some(expected), duration: Some(workload.duration()) };
    let progress = Progress::start(name, planned, Arc::clone(&live), !run.options.quiet);
    let timing = Timing { timeout: workload.spec.load.timeout.0, clock: run.clock.clone(), interval: run.interval() };
    let result = loadgen::drive(requests, plan, timing, run.options.cancel.child_token(), live).await;
    progress.finish();
    result
}

/// Turns a load result into the target's report, deciding its status.
pub fn conclude(name: &str, kind: TargetKind, endpoint: &str, result: anyhow::Result<LoadResult>) -> TargetReport {
    let result = match result {
        Ok(r) => r,
        Err(e) => return empty_report(name, kind, endpoint, TargetStatus::Failed, Some(format!("{e:#}"))),
    };
    let m = &result.measurement;
    let (status, error) = if result.interrupted {
        (TargetStatus::Interrupted, None)
    } else if m.requests > 0 && m.outcomes.ok == 0 {
        let kinds: Vec<String> = m.outcomes.error_kinds().iter().map(|(k, n)| format!("{n} {k}")).collect();
        (TargetStatus::Failed, Some(format!("no request succeeded ({})", kinds.join(", "))))
    } else if m.outcomes.host_error > 0 {
        (TargetStatus::Degraded, None)
    } else {
        (TargetStatus::Complete, None)
    };
    let mut warnings = result.warnings;
    // Requests the generator could not send have a warning of their own (from the load).
    let limited = m.outcomes.host_error.saturating_sub(result.unsent);
    if limited > 0 {
        warnings.push(format!(
            "{limited} of {} requests failed because of coldbench's own or the host's limits (open files, processes, \
             memory), not because of the target; the response (and a function's log) names the cause — for open \
             files raise the limit with `ulimit -n`",
            m.requests
        ));
    }
    TargetReport {
        measurement: result.measurement,
        coldbench_cpu_us_per_request: result.cpu_us_per_request,
        warnings,
        ..empty_report(name, kind, endpoint, status, error)
    }
}

/// A report with nothing measured (yet); the one place a `TargetReport` is spelled out.
pub fn empty_report(
    name: &str,
    kind: TargetKind,
    endpoint: &str,
    status: TargetStatus,
    error: Option<String>,
) -> TargetReport {
    let now = Instant::now();
    TargetReport {
        name: name.to_string(),
        kind,
        status,
        error,
        started_at: utc_now(),
        mode: LoadMode::Open,
        endpoint: endpoint.to_string(),
        instances: Vec::new(),
        measurement: Recorder::new(now).finish(now),
        coldbench_cpu_us_per_request: None,
        fast_forward: None,
        fleet: None,
        deploy: None,
        warnings: Vec::new(),
        function: None,
        host: None,
        usage: None,
        resources: None,
    }
}

/// What `--resources` and the host allow, for a target's report: `Ok(version)` when instances
/// get cgroups, else the words the report shows (`not enforced (why)`, or `off`).
pub fn resources(wanted: bool) -> Result<crate::cgroup::Version, String> {
    if !wanted {
        return Err("off (--resources off: every instance has the whole host)".into());
    }
    crate::cgroup::available().map_err(|why| format!("not enforced ({why})"))
}

/// [`resources`] for a target: the cgroup version to enforce with, or `None` with the report's
/// words in `resources` — and, when the host (not `--resources off`) is why, a warning that
/// ends with `consequence`.
fn enforcement(
    wanted: bool,
    consequence: &str,
    warnings: &mut Vec<String>,
    resources: &mut Option<String>,
) -> Option<crate::cgroup::Version> {
    match self::resources(wanted) {
        Ok(version) => Some(version),
        Err(words) => {
            if wanted {
                warnings.push(format!("resources {words}: {consequence}"));
            }
            *resources = Some(words);
            None
        }
    }
}
