//! Monthly cost projected from a run: each target's bill if this workload's average rate ran
//! all month, using what was measured (billed durations of function targets, instance counts of
//! container targets), and the break-even volume between the function and the always-on option.

use serde::{Deserialize, Serialize};

use crate::cost::{
    break_even_requests, container_monthly, function_monthly, managed_instances_monthly, per_million, CostItem,
    CostSettings, FunctionUsage, MonthlyCost, Pricing,
};
use crate::metrics::{FleetReport, PatternMonth, RunReport, TargetKind, TargetReport, TargetStatus};
use crate::units::format_span;

/// One target's projected month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetCost {
    pub requests_per_month: f64,
    pub monthly: MonthlyCost,
    pub per_million: Option<f64>,
    /// How the figure was reached, in words.
    pub basis: String,
    /// The bill's shape for charts: `fixed + per_request × N` (free tier left out).
    #[serde(default)]
    pub fixed_monthly: f64,
    #[serde(default)]
    pub per_request: f64,
    /// For function targets: the monthly volume where it costs as much as the run's container
    /// target (or one `instance` when the run has none).
    pub break_even_requests_per_month: Option<f64>,
}

/// Projects every function and container target of `report` that served requests; `None` for
/// URL targets and for targets that failed or served nothing.
///
/// The rate is the target's requests over the time its traffic covered: the workload's duration
/// for a complete target, the elapsed time for an interrupted one (its schedule stopped early).
pub(super) fn project(
    report: &RunReport,
    pricing: &Pricing,
    settings: &CostSettings,
    hours: f64,
) -> Vec<Option<TargetCost>> {
    let priced = |t: &TargetReport| t.status != TargetStatus::Failed && t.measurement.requests > 0;
    let covered = |t: &TargetReport| match t.status {
        TargetStatus::Interrupted => t.measurement.elapsed_s,
        _ => report.workload.duration_s,
    };
    let always_on = report
        .targets
        .iter()
        .find(|t| t.kind == TargetKind::Container && priced(t))
        .map(|t| running_instances(t, covered(t)));
    let always_on_total = container_cost(pricing, settings, always_on.unwrap_or(1.0), hours).total;
    report
        .targets
        .iter()
        .map(|target| {
            if !priced(target) {
                return None;
            }
            let covered_s = covered(target);
            let requests_per_month =
                target.measurement.requests as f64 / covered_s.max(f64::MIN_POSITIVE) * hours * 3600.0;
            match target.kind {
                TargetKind::Function if target.function.as_ref().is_some_and(|f| f.concurrency_per_instance > 1) => {
                    managed_instances_cost(pricing, settings, target, requests_per_month, covered_s, hours)
                }
                // A deployed function bills as the local one does: its records are the platform's.
                TargetKind::Function | TargetKind::Lambda => {
                    function_cost(pricing, settings, target, requests_per_month, hours, always_on_total)
                }
                TargetKind::Container => {
                    let count = running_instances(target, covered_s);
                    let mut monthly = container_cost(pricing, settings, count, hours);
                    // Unlimited burstable instances pay for the credits they spent beyond their
                    // balance: this run's surplus, at this run's rate for the month.
                    let surplus: f64 =
                        target.instances.iter().filter_map(|i| i.credits.as_ref()).map(|c| c.surplus).sum();
                    let burst = settings.instance_size(pricing).ok().and_then(|s| s.burst);
                    if let Some(burst) = burst.filter(|_| surplus > 0.0) {
                        let per_month =
                            surplus / 60.0 * burst.surplus_vcpu_hourly * hours * 3600.0 / covered_s.max(1.0);
                        monthly = monthly.with(CostItem::CpuCredits, per_month);
                    }
                    Some(TargetCost {
                        requests_per_month,
                        per_million: per_million(monthly.total, requests_per_month),
                        fixed_monthly: monthly.total,
                        per_request: 0.0,
                        monthly,
                        basis: always_on_basis(
                            settings,
                            count,
                            target.fleet.as_ref().and_then(|f| f.month.as_ref()),
                            hours,
                        ),
                        break_even_requests_per_month: None,
                    })
                }
                TargetKind::Url => None,
            }
        })
        .collect()
}

/// The instances an always-on target is priced for, on average over the month: a fixed fleet,
/// its desired count (the service replaces any that die: a death is not part of the month's
/// pattern); an autoscaled one, the mean of its month of the pattern through the simulator
/// (`simulate::pattern_month`), or without one (a report from before it) its billed
/// instance-seconds per second of the run — the sum of what ran, a minute at least for each
/// short-lived instance; without a fleet report (older results), those still running at the
/// end; at least a tenth.
fn running_instances(target: &TargetReport, covered_s: f64) -> f64 {
    match &target.fleet {
        Some(FleetReport { scaling: Some(_), month: Some(month), .. }) => month.mean_instances.max(0.1),
        Some(fleet) if fleet.billed_instance_seconds > 0.0 && fleet.scaling.is_some() => {
            (fleet.billed_instance_seconds / covered_s.max(1.0)).max(0.1)
        }
        Some(fleet) => fleet.desired.max(1) as f64,
        None => target.instances.iter().filter(|i| i.died_after_s.is_none()).count().max(1) as f64,
    }
}

/// `instances` (a mean, perhaps fractional) always-on instances of the settings' type (checked
/// to be in the catalog): compute and public addresses scale with the count, the balancer not.
fn container_cost(pricing: &Pricing, settings: &CostSettings, instances: f64, hours: f64) -> MonthlyCost {
    let one = container_monthly(pricing, &settings.always_on(1), settings.front_door, settings.public_ipv4, hours)
        .expect("analyse checks the instance type first");
    MonthlyCost::of(one.items.iter().map(|line| match line.item {
        CostItem::Compute | CostItem::PublicIpv4 => (line.item, line.usd * instances),
        _ => (line.item, line.usd),
    }))
}

/// "2 × EC2 t3.micro always on", or for an autoscaled fleet "a mean of 2.37 × EC2 t3.micro" and
/// where the mean comes from (its month of the pattern, or the run's instance-seconds).
fn always_on_basis(settings: &CostSettings, instances: f64, month: Option<&PatternMonth>, hours: f64) -> String {
    let one = settings.always_on(1).to_string();
    let kind = one.trim_start_matches("1 × ");
    match month {
        Some(m) => format!(
            "a mean of {instances:.2} × {kind}: the traffic's {} pattern repeated through the simulator ({} periods \
             back to back, the mean {}; the first period alone, as the run, {:.2}; billed per second, 1 min minimum \
             each), {hours} h",
            format_span(m.period_s),
            m.periods,
            if m.steady_from_s > 0.0 { "of the later half" } else { "of the whole month" },
            m.first_period_mean_instances
        ),
        None if instances.fract() == 0.0 => format!("{} always on, {hours} h", settings.always_on(instances as u32)),
        None => format!(
            "a mean of {instances:.2} × {kind} (billed instance-seconds of the run, 1 min minimum each), {hours} h"
        ),
    }
}

/// A function of multi-request environments, priced as Lambda Managed Instances: its requests,
/// and the EC2 capacity its environments took over the run (their lifetimes per second of the
/// run, the pattern repeated all month) on the cost settings' instance type.
fn managed_instances_cost(
    pricing: &Pricing,
    settings: &CostSettings,
    target: &TargetReport,
    requests_per_month: f64,
    covered_s: f64,
    hours: f64,
) -> Option<TargetCost> {
    let function = target.function.as_ref()?;
    let environments = function.stats.instance_seconds / covered_s.max(f64::MIN_POSITIVE);
    let (memory_mb, instance, door) = (function.memory_mb, settings.instance(), settings.front_door);
    let at = |n: f64| managed_instances_monthly(pricing, n, environments, memory_mb, instance, door, hours).ok();
    let monthly = at(requests_per_month)?;
    let fixed_monthly = at(0.0)?.total;
    Some(TargetCost {
        requests_per_month,
        per_million: per_million(monthly.total, requests_per_month),
        fixed_monthly,
        per_request: (at(1e6)?.total - fixed_monthly) / 1e6,
        monthly,
        basis: format!(
            "Lambda Managed Instances: a mean of {environments:.2} environments of {memory_mb} MB ({} requests \
             each at most) on EC2 {instance} capacity, its on-demand price for their share of its memory + {:.0} % \
             management fee, and ${:.2} per million requests, {hours} h",
            function.concurrency_per_instance,
            crate::lambda::MANAGED_INSTANCES_FEE * 100.0,
            pricing.lambda.request_per_million
        ),
        break_even_requests_per_month: None,
    })
}

fn function_cost(
    pricing: &Pricing,
    settings: &CostSettings,
    target: &TargetReport,
    requests_per_month: f64,
    hours: f64,
    container_total: f64,
) -> Option<TargetCost> {
    let function = target.function.as_ref()?;
    // Measured runs sum every billing record; simulated ones keep only the total.
    let records = &function.invocations;
    let served = target.measurement.requests.saturating_sub(target.measurement.outcomes.throttled);
    let mean_billed_s = if records.billed > 0 {
        records.billed_ms_total as f64 / records.billed as f64 / 1e3
    } else if served > 0 {
        function.billed_ms_total as f64 / served as f64 / 1e3
    } else {
        0.0
    };
    // Asynchronous retries bill the function again for the same request.
    let attempts = function.events.as_ref().filter(|e| e.accepted > 0 && records.billed > 0);
    let invocations_per_request = attempts.map_or(1.0, |e| (records.billed as f64 / e.accepted as f64).max(1.0));
    let usage = FunctionUsage {
        requests_per_month,
        invocations_per_request,
        billed_seconds: mean_billed_s,
        memory_mb: function.memory_mb,
        arch: settings.arch,
        front_door: settings.front_door,
        free_tier: settings.free_tier,
        provisioned: function.provisioned as u32,
        pings_per_month: function
            .keep_warm
            .map_or(0.0, |k| hours * 3600.0 / k.every_s.max(f64::MIN_POSITIVE) * k.concurrency as f64),
        ping_billed_seconds: function
            .keep_warm
            .filter(|k| k.pings > 0)
            .map_or(0.0, |k| k.billed_ms_total as f64 / k.pings as f64 / 1e3),
    };
    let monthly = function_monthly(pricing, &usage, hours);
    let paid = FunctionUsage { free_tier: false, ..usage.clone() };
    let at = |n: f64| function_monthly(pricing, &FunctionUsage { requests_per_month: n, ..paid.clone() }, hours).total;
    let fixed_monthly = at(0.0);
    Some(TargetCost {
        fixed_monthly,
        per_request: (at(1e6) - fixed_monthly) / 1e6,
        requests_per_month,
        per_million: per_million(monthly.total, requests_per_month),
        monthly,
        basis: format!(
            "{} MB, {:.2} ms mean billed duration over {} invocations (cold starts' Init included)",
            function.memory_mb,
            mean_billed_s * 1e3,
            if records.billed == 0 { served } else { records.billed }
        ) + &attempts.map_or(String::new(), |_| {
            format!("; {invocations_per_request:.2} invocations per asynchronous request (retries)")
        }) + &function.keep_warm.map_or(String::new(), |k| {
            format!(
                "; keep-warm: {} pings/month ({} every {}), {:.2} ms mean billed",
                crate::units::format_count(usage.pings_per_month),
                k.concurrency,
                crate::units::format_span(k.every_s),
                usage.ping_billed_seconds * 1e3
            )
        }),
        break_even_requests_per_month: break_even_requests(pricing, &usage, container_total, hours),
    })
}
