//! A workload's function and container targets in simulated time, assembled into a
//! `RunReport` marked simulated (so analysis, exporters and charts work unchanged). URL targets
//! cannot be simulated and are skipped with a warning in the report.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{
    simulate_autoscaled, simulate_container, simulate_function, AutoscaledContainer, Durations, SimulatedContainer,
    SimulatedFunction,
};
use crate::cost::Pricing;
use crate::metrics::{FleetReport, PatternMonth, RunReport, SimulationInfo, TargetKind, TargetReport, TargetStatus};
use crate::policy::KeepWarm;
use crate::target;
use crate::units::format_us;
use crate::workload::{ContainerSpec, FunctionTargetSpec, TargetSpec, Work, Workload};

/// Measured durations to draw from instead of the nominal ones: a run's results and its path.
pub struct Calibration<'a> {
    pub path: &'a Path,
    pub results: &'a RunReport,
}

/// Simulates every function and container target of `workload` over its duration, priced
/// with `pricing`, its run marked as started at `started_at`.
///
/// # Errors
/// When a calibration names no usable target, a function's pool settings are invalid, or the
/// workload has nothing to simulate.
pub fn simulate_workload(
    workload: &Workload,
    pricing: Pricing,
    calibration: Option<Calibration<'_>>,
    started_at: &str,
) -> anyhow::Result<RunReport> {
    if matches!(workload.spec.function.work, crate::workload::Work::Cache(_)) && calibration.is_none() {
        anyhow::bail!(
            "{}: function.work: the cache work's durations depend on which instance serves which request, which \
             the simulator does not model; measure it with `coldbench run`, or simulate with `--calibrate \
             results.json` to replay a measured run's durations",
            workload.path.display()
        );
    }
    let wall = Instant::now();
    let mut info = workload.info()?;
    // The workload's warnings are about real-time runs (e.g. sparse traffic taking days).
    info.warnings.clear();
    let mut report = RunReport::new(info, started_at.to_string(), pricing);
    let mut sources = Vec::new();
    let mut invocations = 0;
    let nominal_work = Durations::Fixed(workload.spec.function.work.nominal_duration());
    for spec in &workload.spec.targets {
        let target = match spec {
            TargetSpec::Function(function) => {
                let nominal_init = Durations::Fixed(workload.spec.function.init.delay.0);
                let (init, work, source) = match &calibration {
                    Some(c) => calibrated(c, &function.name, nominal_init)?,
                    None => (nominal_init, nominal_work.clone(), "nominal".to_string()),
                };
                sources.push(format!(
                    "{}: {source}, Init {}, work {}",
                    function.name,
                    percentiles(&init),
                    percentiles(&work)
                ));
                let (target, count) = simulate_function_target(workload, function, init, work)?;
                invocations += count;
                target
            }
            TargetSpec::Container(container) => {
                sources.push(format!("{}: nominal work {}", container.name, percentiles(&nominal_work)));
                let (target, count) =
                    simulate_container_target(workload, &report.pricing, container, nominal_work.clone());
                invocations += count;
                target
            }
            TargetSpec::Url(url) => {
                report.workload.warnings.push(format!(
                    "target {}: a URL target is a real deployment elsewhere and cannot be simulated; skipped",
                    url.name
                ));
                continue;
            }
            TargetSpec::Lambda(lambda) => {
                report.workload.warnings.push(format!(
                    "target {}: a lambda target is the deployed function itself and cannot be simulated; skipped (its \
                     results.json calibrates a simulation of the same code: simulate --calibrate)",
                    lambda.name
                ));
                continue;
            }
        };
        report.targets.push(TargetReport { started_at: started_at.to_string(), ..target });
    }
    anyhow::ensure!(
        !report.targets.is_empty(),
        "{}: no function or container target to simulate",
        workload.path.display()
    );
    let wall_s = wall.elapsed().as_secs_f64();
    // After the clock: the months are pricing's, not the run's simulated traffic.
    add_pattern_months(workload, &mut report);
    report.simulation = Some(SimulationInfo {
        simulated_s: workload.duration().as_secs_f64(),
        wall_s,
        invocations,
        invocations_per_wall_second: invocations as f64 / wall_s.max(1e-9),
        durations: sources.join("; "),
    });
    Ok(report)
}

/// Init and work distributions measured for `name` in `results`: the function target of that
/// name, or the only measured function target. Init falls back to `nominal_init` when the run
/// had no cold start.
fn calibrated(
    calibration: &Calibration<'_>,
    name: &str,
    nominal_init: Durations,
) -> anyhow::Result<(Durations, Durations, String)> {
    let Calibration { path, results } = *calibration;
    let measured: Vec<&TargetReport> =
        results.targets.iter().filter(|t| t.function.as_ref().is_some_and(|f| f.invocations.invocations > 0)).collect();
    let target = match measured.iter().find(|t| t.name == name) {
        Some(t) => *t,
        None if measured.len() == 1 => measured[0],
        None => {
            let names: Vec<&str> = measured.iter().map(|t| t.name.as_str()).collect();
            anyhow::bail!(
                "--calibrate {}: no measured function target named {name:?} to calibrate from (it has: {})",
                path.display(),
                if names.is_empty() { "none with invocation records".to_string() } else { names.join(", ") }
            );
        }
    };
    let records = &target.function.as_ref().expect("only function targets with records are candidates").invocations;
    let work = Durations::from_histogram_us(&records.duration_us).with_context(|| {
        format!("--calibrate {}: target {:?} has no answered invocation", path.display(), target.name)
    })?;
    let (init, note) = match Durations::from_histogram_us(&records.init_us) {
        Some(init) => (init, ""),
        None => (nominal_init, " (no cold start measured: nominal Init)"),
    };
    let source = format!(
        "calibrated from {} target {:?} ({} invocations, {} cold starts){note}",
        path.display(),
        target.name,
        records.invocations,
        records.cold
    );
    Ok((init, work, source))
}

/// A function target through the pool policy.
fn simulate_function_target(
    workload: &Workload,
    function: &FunctionTargetSpec,
    init: Durations,
    work: Durations,
) -> anyhow::Result<(TargetReport, u64)> {
    let simulated = SimulatedFunction {
        pool: target::pool_config(workload, function)?,
        init,
        work,
        timeout: function.timeout.0,
        billing: function.billing,
        keep_warm: function.keep_warm.map(|k| KeepWarm { every: k.every.0, concurrency: k.concurrency }),
    };
    let result = simulate_function(workload.schedule(), &simulated, workload.duration());
    let mut target =
        target::empty_report(&function.name, TargetKind::Function, "simulated", TargetStatus::Complete, None);
    target.measurement = result.measurement;
    target.function = Some(target::function_report(
        function,
        result.stats,
        result.billed_ms_total,
        result.alive_per_interval,
        result.keep_warm,
    ));
    if function.deploy.is_some() {
        target.warnings.push(
            "deploy is not simulated: the simulated function keeps one version (a measured run publishes the new \
             one and reports the deploy window)"
                .to_string(),
        );
    }
    if function.invocation == crate::lambda::InvocationMode::Event {
        target.warnings.push(
            "invocation = \"event\" is simulated as synchronous: the simulator has no asynchronous queue, so \
             retries, dropped events and the enqueue-to-completion time are measured runs' only"
                .to_string(),
        );
    }
    Ok((target, result.invocations))
}

/// A container target as an always-on fleet with a queue. An instance serves as many waiting
/// (sleep) requests at once as arrive, but CPU-bound work (cpu, alloc) only one per vCPU of the
/// `[cost] instance` type, unless the target sets `max_concurrency`; on less than one vCPU (a
/// 0.25-vCPU Fargate task) CPU-bound work takes as much longer as its quota is smaller, as it does
/// under a real instance's CPU quota.
fn simulate_container_target(
    workload: &Workload,
    pricing: &crate::cost::Pricing,
    container: &ContainerSpec,
    work: Durations,
) -> (TargetReport, u64) {
    let (slots, work) = instance_capacity(workload, pricing, container, work);
    let (mut target, requests) = match &container.scaling {
        Some(scaling) => simulate_autoscaled_target(workload, container, scaling, slots, work),
        None => simulate_fixed_target(workload, container, slots, work),
    };
    if container.deploy.is_some() {
        target.warnings.push(
            "deploy is not simulated: the simulated fleet keeps one version and has no health checks (a measured \
             run rolls it and reports the deploy window)"
                .to_string(),
        );
    }
    (target, requests)
}

/// What one simulated instance of `container` takes at once (`None`: as much as arrives) and
/// how long `work` takes on it: see [`simulate_container_target`].
fn instance_capacity(
    workload: &Workload,
    pricing: &crate::cost::Pricing,
    container: &ContainerSpec,
    work: Durations,
) -> (Option<usize>, Durations) {
    let cpu_bound = matches!(workload.spec.function.work, Work::Cpu { .. } | Work::Alloc { .. });
    let vcpus = workload.spec.cost.instance_size(pricing).map_or(1, |s| s.vcpus.ceil().max(1.0) as usize);
    let slots = container.max_concurrency.or(cpu_bound.then_some(vcpus));
    let share =
        container.cpus.or_else(|| workload.spec.cost.instance_size(pricing).ok().map(|s| s.vcpus)).unwrap_or(1.0);
    let work = if cpu_bound && share < 1.0 { work.scaled(1.0 / share.max(0.01)) } else { work };
    (slots, work)
}

/// A fixed fleet: `instances` servers of `slots` each.
fn simulate_fixed_target(
    workload: &Workload,
    container: &ContainerSpec,
    slots: Option<usize>,
    work: Durations,
) -> (TargetReport, u64) {
    let simulated = SimulatedContainer {
        instances: container.instances,
        slots,
        work,
        timeout: workload.spec.load.timeout.0,
        reject: container.overflow == crate::workload::Overflow::Reject,
        seed: workload.spec.seed,
    };
    let result = simulate_container(workload.schedule(), &simulated, workload.duration());
    let mut target =
        target::empty_report(&container.name, TargetKind::Container, "simulated", TargetStatus::Complete, None);
    target.measurement = result.measurement;
    target.instances = result.instances;
    if result.queued > 0 {
        target.warnings.push(format!(
            "{} of {} requests waited for a free slot ({} instances × {} at once)",
            result.queued,
            target.measurement.requests,
            container.instances,
            slots.map_or("unlimited".to_string(), |s| s.to_string())
        ));
    }
    let requests = target.measurement.requests;
    (target, requests)
}

/// An autoscaled container target: the same policy as a real one, on simulated time. Each
/// launched instance waits the provision delay, then its Init (the demo function's `init.delay`)
/// before it serves.
fn simulate_autoscaled_target(
    workload: &Workload,
    container: &ContainerSpec,
    scaling: &crate::workload::ScalingSpec,
    slots: Option<usize>,
    work: Durations,
) -> (TargetReport, u64) {
    let simulated = autoscaled(workload, container, scaling, slots, work);
    let result = simulate_autoscaled(workload.schedule(), &simulated, workload.duration());
    let mut target =
        target::empty_report(&container.name, TargetKind::Container, "simulated", TargetStatus::Complete, None);
    target.measurement = result.measurement;
    target.instances = result.instances;
    target.fleet = Some(FleetReport { scaling: Some(target::scaling_description(scaling)), ..result.fleet });
    if result.queued > 0 {
        target.warnings.push(format!(
            "{} of {} requests waited for a free slot while the fleet scaled",
            result.queued, target.measurement.requests
        ));
    }
    let requests = target.measurement.requests;
    (target, requests)
}

/// The simulated form of an autoscaled `container`.
fn autoscaled(
    workload: &Workload,
    container: &ContainerSpec,
    scaling: &crate::workload::ScalingSpec,
    slots: Option<usize>,
    work: Durations,
) -> AutoscaledContainer {
    AutoscaledContainer {
        initial: container.instances as u32,
        scaling: crate::policy::scaling::ScalingConfig::from_spec(scaling),
        slots,
        startup: workload.spec.function.init.delay.0,
        launches: crate::policy::scaling::Launches::from_spec(scaling, container.provision_delay.0, Duration::ZERO),
        work,
        timeout: workload.spec.load.timeout.0,
        reject: container.overflow == crate::workload::Overflow::Reject,
        seed: workload.spec.seed,
    }
}

/// At most this many requests go into a month's simulation ...
const MONTH_REQUESTS: u64 = 1_000_000;
/// ... and at most this much simulated time (at least two periods of the pattern either way).
const MONTH_SPAN: Duration = Duration::from_secs(24 * 3600);

/// A month of the workload's traffic pattern — its schedule repeated back to back — through the
/// simulated `container` and its scaling policy, with nominal work as `coldbench simulate` has
/// it: the instances an autoscaled fleet runs on average once the pattern repeats. A run starts
/// at the service's minimum; the month's second period starts wherever the first left the fleet
/// (an ECS service scaled out for a burst may not scale in before the next one). The whole month
/// is simulated when it fits [`MONTH_REQUESTS`] and [`MONTH_SPAN`]; otherwise as many periods as
/// do, and the mean is taken over their later half. `None` for a fleet that does not scale.
pub fn pattern_month(workload: &Workload, pricing: &Pricing, container: &ContainerSpec) -> Option<PatternMonth> {
    let scaling = container.scaling.as_ref()?;
    let period = workload.duration();
    if period.is_zero() {
        return None;
    }
    let hours = workload.spec.cost.hours_per_month.unwrap_or(pricing.hours_per_month);
    let month_s = hours * 3600.0;
    let period_s = period.as_secs_f64();
    let in_month = (month_s / period_s).ceil().max(1.0) as u64;
    let per_period = workload.schedule().count() as u64;
    let affordable = (MONTH_REQUESTS / per_period.max(1)).min((MONTH_SPAN.as_secs_f64() / period_s) as u64);
    let periods = in_month.min(affordable.max(2));
    let (slots, work) = instance_capacity(
        workload,
        pricing,
        container,
        Durations::Fixed(workload.spec.function.work.nominal_duration()),
    );
    let simulated = autoscaled(workload, container, scaling, slots, work);
    let repeated = (0..periods).flat_map(|k| {
        let shift = period * u32::try_from(k).unwrap_or(u32::MAX);
        workload.schedule().map(move |t| t + shift)
    });
    let horizon = period * u32::try_from(periods).unwrap_or(u32::MAX);
    let result = simulate_autoscaled(repeated, &simulated, horizon);
    let steady_from = if periods == in_month { Duration::ZERO } else { period * (periods / 2) as u32 };
    let mean = |from: Duration, to: Duration| {
        billed_within(&result.lifetimes, from, to) / to.saturating_sub(from).as_secs_f64().max(f64::MIN_POSITIVE)
    };
    Some(PatternMonth {
        periods: periods as u32,
        period_s,
        steady_from_s: steady_from.as_secs_f64(),
        mean_instances: mean(steady_from, horizon),
        first_period_mean_instances: mean(Duration::ZERO, period),
        peak_instances: result.fleet.in_service_per_second.iter().copied().max().unwrap_or(0),
        requests: result.measurement.requests,
    })
}

/// Adds its [`pattern_month`] to every autoscaled container target of a measured `report` that
/// has none yet (so it can be called after each target), for the cost projection.
pub fn add_pattern_months(workload: &Workload, report: &mut RunReport) {
    let pricing = &report.pricing;
    for target in report.targets.iter_mut().chain(report.repeats.iter_mut().flatten()) {
        let Some(fleet) = target.fleet.as_mut().filter(|f| f.month.is_none() && f.scaling.is_some()) else {
            continue;
        };
        let spec = workload.spec.targets.iter().find_map(|spec| match spec {
            TargetSpec::Container(c) if c.name == target.name => Some(c),
            _ => None,
        });
        if let Some(container) = spec.filter(|_| target.status != TargetStatus::Failed) {
            fleet.month = pattern_month(workload, pricing, container);
        }
    }
}

/// Billed instance-seconds of `lifetimes` within `from..to`: each clipped to the span, a minute
/// at least for one launched and stopped inside it (`cost::billed_instance_seconds`).
fn billed_within(lifetimes: &[(Duration, Option<Duration>)], from: Duration, to: Duration) -> f64 {
    let inside = lifetimes
        .iter()
        .filter(|(launched, stopped)| *launched < to && stopped.is_none_or(|s| s > from))
        .map(|&(launched, stopped)| (launched.saturating_sub(from), stopped.filter(|&s| s < to).map(|s| s - from)));
    crate::cost::billed_instance_seconds(inside, to - from)
}

/// "p50 20.00ms / p99 21.50ms".
fn percentiles(d: &Durations) -> String {
    let us = |d: std::time::Duration| format_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    format!("p50 {} / p99 {}", us(d.median()), us(d.p99()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(text: &str) -> Workload {
        Workload::parse(Path::new("w.toml"), text).unwrap()
    }

    fn container(w: &Workload) -> &ContainerSpec {
        match &w.spec.targets[0] {
            TargetSpec::Container(c) => c,
            other => panic!("{other:?}"),
        }
    }

    /// 0.5 req/s, 4 req/s for four minutes, then 0.5 req/s: ten minutes of it.
    const BURST: &str = r#"
name = "m"
duration = "10m"
[traffic]
pattern = "ramp"
stages = [
  { from = 0.5, to = 0.5, duration = "2m" },
  { from = 4, to = 4, duration = "4m" },
  { from = 0.5, to = 0.5, duration = "4m" },
]
[function]
work = { kind = "sleep", duration = "10ms" }
[[targets]]
name = "svc"
kind = "container"
instances = 1
provision_delay = "0s"
scaling = { min = 1, max = 8, metric = "requests-per-instance", target = 1 }
"#;

    #[test]
    fn a_burst_every_ten_minutes_keeps_the_fleet_out_because_scale_in_needs_fifteen_quiet_minutes() {
        // ECS target tracking scales in after 15 datapoints below the target; between bursts there
        // are 6 quiet minutes, so once scaled out for the first burst the fleet stays out all month.
        let w = workload(BURST);
        let pricing = Pricing::embedded();
        let month = pattern_month(&w, &pricing, container(&w)).unwrap();
        // Poisson arrivals: a minute of the burst averages about 4 per instance, sometimes a little more.
        assert!((4..=5).contains(&month.peak_instances), "{month:?}");
        assert!(month.steady_from_s > 0.0 && month.periods >= 4, "a sample of the month: {month:?}");
        assert!(
            month.mean_instances >= 4.0 && month.mean_instances <= f64::from(month.peak_instances),
            "out all the time once the pattern repeats: {month:?}"
        );
        assert!(
            month.first_period_mean_instances < 3.0,
            "the first period starts at one instance, as the run did: {month:?}"
        );
        assert_eq!(month.requests, u64::from(month.periods) * w.schedule().count() as u64);
    }

    #[test]
    fn a_month_that_fits_is_simulated_whole_and_a_fixed_fleet_has_none() {
        let w = workload(&format!("{BURST}[cost]\nhours_per_month = 1\n"));
        let pricing = Pricing::embedded();
        let month = pattern_month(&w, &pricing, container(&w)).unwrap();
        assert_eq!((month.periods, month.steady_from_s), (6, 0.0), "{month:?}");
        // Starting at one and out from the first burst on: above the first period's mean.
        assert!(
            month.mean_instances > month.first_period_mean_instances + 0.5
                && month.mean_instances < f64::from(month.peak_instances),
            "{month:?}"
        );
        let fixed = workload(&BURST.replace("scaling = ", "# scaling = "));
        assert_eq!(pattern_month(&fixed, &pricing, container(&fixed)), None);
    }
}
