//! What the host did while a target's load ran, once a second: its CPU, coldbench's process
//! starts, and each instance's CPU and memory from its cgroup, with the CPU the host withheld
//! from them (its own limit: the quotas are caps, not reservations).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::EverySecond;
use crate::cgroup::Reading;
use crate::metrics::{HostReport, InstanceUsage, TargetReport, TargetStatus, UsageReport, UsageSample, UsageSecond};

/// A second in which the host's CPU was at least this busy counts as saturated.
const SATURATED: f64 = 0.9;

/// Samples the host once a second while a load runs.
pub(super) struct HostWatch {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<(Option<HostReport>, Option<UsageReport>)>,
}

impl HostWatch {
    /// Starts sampling the host and the instances of target `name`.
    pub(super) fn start(name: &str) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(sample_host(stop.clone(), InstanceSampler::new(name)));
        Self { stop, task }
    }

    pub(super) async fn finish(self) -> (Option<HostReport>, Option<UsageReport>) {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

async fn sample_host(
    stop: CancellationToken,
    mut instances: InstanceSampler,
) -> (Option<HostReport>, Option<UsageReport>) {
    let Some(first) = crate::host::CpuTimes::now() else {
        // No host counters (not Linux): the instances' cgroups may still be read.
        let mut seconds = EverySecond::start(stop).await;
        while seconds.next().await {
            instances = instances.sample_off_thread().await;
        }
        return (None, instances.finish().map(|(usage, _)| usage));
    };
    let first_spawns = crate::host::spawns();
    let first_refused = crate::host::refused_accepts();
    let (mut last, mut last_spawns) = (first, first_spawns);
    let (mut saturated, mut peak_spawns) = (0.0, 0.0_f64);
    let mut seconds = EverySecond::start(stop).await;
    while seconds.next().await {
        instances = instances.sample_off_thread().await;
        let Some(now) = crate::host::CpuTimes::now() else { break };
        let spawns = crate::host::spawns();
        if let Some(shares) = now.shares_since(&last) {
            // A last, partial second counts for half a second.
            let span = if seconds.stopped { 0.5 } else { 1.0 };
            saturated += if shares.busy >= SATURATED { span } else { 0.0 };
            peak_spawns = peak_spawns.max((spawns - last_spawns) as f64 / span);
        }
        (last, last_spawns) = (now, spawns);
    }
    let usage = instances.finish();
    let Some(whole) = last.shares_since(&first) else { return (None, usage.map(|(u, _)| u)) };
    let bound = usage.as_ref().map(|(_, bound)| *bound).unwrap_or_default();
    let host = HostReport {
        cpu_busy: whole.busy,
        cpu_kernel: whole.kernel,
        saturated_s: saturated,
        spawns: last_spawns - first_spawns,
        peak_spawns_per_s: peak_spawns,
        refused_accepts: crate::host::refused_accepts() - first_refused,
        host_bound_s: bound.seconds,
        peak_busy_quota_vcpus: bound.peak_busy_quota,
        withheld_share: bound.withheld_share,
    };
    (Some(host), usage.map(|(u, _)| u))
}

/// Together, the instances waited at least this many vCPU-seconds in a second for the host's
/// CPUs: the second is host-bound.
const HOST_BOUND: f64 = 0.1;

/// An instance used at least this many vCPUs in a second (or was held back at all): it wanted
/// CPU, and its quota counts towards what the model entitled the instances to at once.
const BUSY: f64 = 0.01;

/// What made seconds host-bound, over the whole load.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct HostBound {
    seconds: f64,
    peak_busy_quota: f64,
    withheld_share: f64,
}

/// Reads one target's instance groups once a second and keeps their differences.
struct InstanceSampler {
    prefix: String,
    started: Instant,
    last_at: Instant,
    last: HashMap<String, Reading>,
    report: UsageReport,
    /// Index of each instance in `report.instances`.
    index: HashMap<String, usize>,
    bound: HostBound,
    used_total: f64,
    withheld_total: f64,
}

impl InstanceSampler {
    /// Instances of target `name` (groups `<name>-<n>.<k>`), with what they had used so far as
    /// the baseline: start-up before the load is not the load's.
    fn new(name: &str) -> Self {
        let prefix = format!("{name}-");
        let last = crate::cgroup::read_groups(&prefix).into_iter().map(|r| (r.id.clone(), r)).collect();
        let now = Instant::now();
        let host_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        Self {
            prefix,
            started: now,
            last_at: now,
            last,
            report: UsageReport { host_cpus, ..UsageReport::default() },
            index: HashMap::new(),
            bound: HostBound::default(),
            used_total: 0.0,
            withheld_total: 0.0,
        }
    }

    /// Samples on a blocking thread: a thousand instances are thousands of small file reads,
    /// which must not hold up the load generator's executor.
    async fn sample_off_thread(mut self) -> Self {
        tokio::task::spawn_blocking(move || {
            self.sample();
            self
        })
        .await
        .expect("sampling does not panic")
    }

    fn sample(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_at).as_secs_f64();
        if dt < 0.05 {
            return;
        }
        let t_s = round(now.duration_since(self.started).as_secs_f64());
        let readings = crate::cgroup::read_groups(&self.prefix);
        let mut second = UsageSecond { t_s, ..UsageSecond::default() };
        for reading in &readings {
            // A group born since the last sample started from nothing.
            let sample = per_second(self.last.get(&reading.id), reading, dt, t_s);
            second.used_vcpus += sample.cpu_vcpus;
            second.withheld_vcpus += sample.withheld_vcpus;
            if sample.cpu_vcpus >= BUSY || sample.throttled > 0.0 || sample.withheld_vcpus > 0.0 {
                second.busy_quota_vcpus += reading.cpus.unwrap_or(0.0);
            }
            let slot = *self.index.entry(reading.id.clone()).or_insert_with(|| {
                self.report.instances.push(InstanceUsage { id: reading.id.clone(), ..InstanceUsage::default() });
                self.report.instances.len() - 1
            });
            let instance = &mut self.report.instances[slot];
            instance.quota_vcpus = reading.cpus;
            instance.samples.push(sample);
        }
        self.last = readings.into_iter().map(|r| (r.id.clone(), r)).collect();
        self.last_at = now;
        if self.index.is_empty() {
            return;
        }
        let span = dt.min(1.0);
        if second.withheld_vcpus >= HOST_BOUND {
            self.bound.seconds += span;
        }
        self.bound.peak_busy_quota = self.bound.peak_busy_quota.max(second.busy_quota_vcpus);
        self.used_total += second.used_vcpus * dt;
        self.withheld_total += second.withheld_vcpus * dt;
        second.used_vcpus = round(second.used_vcpus);
        second.busy_quota_vcpus = round(second.busy_quota_vcpus);
        second.withheld_vcpus = round(second.withheld_vcpus);
        self.report.seconds.push(second);
    }

    /// The samples and what made seconds host-bound; `None` when no instance had a group.
    fn finish(mut self) -> Option<(UsageReport, HostBound)> {
        if self.report.instances.is_empty() {
            return None;
        }
        let wanted = self.used_total + self.withheld_total;
        self.bound.withheld_share = if wanted > 0.0 { self.withheld_total / wanted } else { 0.0 };
        self.bound.peak_busy_quota = round(self.bound.peak_busy_quota);
        Some((self.report, self.bound))
    }
}

/// One instance's second from two readings `dt` seconds apart (no earlier one: a group born
/// since, which started from nothing). What it waited for beyond its quota's throttling was the
/// host's doing, counted within what the quota left unused.
fn per_second(before: Option<&Reading>, now: &Reading, dt: f64, t_s: f64) -> UsageSample {
    let rate = |d: Duration, b: Duration| d.saturating_sub(b).as_secs_f64() / dt;
    let usage = before.map(|b| b.usage).unwrap_or_default();
    let cpu = rate(now.usage.cpu, usage.cpu);
    let throttled = rate(now.usage.throttled, usage.throttled);
    let withheld = match (now.run_delay, before.map_or(Some(Duration::ZERO), |b| b.run_delay)) {
        // Threads that exited took their waits with them: never below zero.
        (Some(n), Some(b)) => (rate(n, b) - throttled).max(0.0),
        _ => 0.0,
    };
    let room = now.cpus.map_or(f64::INFINITY, |q| (q - cpu).max(0.0));
    UsageSample {
        t_s,
        cpu_vcpus: round(cpu),
        throttled: round(throttled.min(1.0)),
        withheld_vcpus: round(withheld.min(room)),
        memory_mib: round(now.memory_bytes as f64 / f64::from(1 << 20)),
    }
}

/// Three decimals are all a chart or a reader needs; they keep `results.json` small.
fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Marks a target degraded when requests failed while the host's CPU was saturated: then the
/// host, not the model, produced them, and the warning says so. (A `host_error` already made it
/// degraded in [`conclude`].)
pub(super) fn judge_host(report: &mut TargetReport) {
    if !matches!(report.status, TargetStatus::Complete | TargetStatus::Degraded) {
        return;
    }
    let m = &report.measurement;
    let failed = m.requests.saturating_sub(m.outcomes.ok + m.outcomes.throttled);
    let Some(host) = report.host else { return };
    if host.refused_accepts > 0 {
        report.status = TargetStatus::Degraded;
        report.warnings.push(format!(
            "coldbench's servers hit the open-file limit {} times while accepting connections (EMFILE; they retry \
             every 5 ms): those clients waited in the accept queue, so timeouts and latency in this run are partly \
             coldbench's own — raise the limit with `ulimit -n`",
            host.refused_accepts
        ));
    }
    if host.saturated_s >= 1.0 && failed > 0 && failed * 100 >= m.requests {
        report.status = TargetStatus::Degraded;
        let throttled = if m.outcomes.throttled > 0 {
            format!(
                ", and {} throttles: slow starts held instances longer, so the concurrency limit came sooner",
                m.outcomes.throttled
            )
        } else {
            String::new()
        };
        report.warnings.push(format!(
            "{failed} of {} requests failed while this host's CPU was saturated (at least {:.0} % busy for {:.0} s, \
             {:.0} % busy on average, {:.0} % of all its CPU time in the kernel; {} process starts, {:.0} per second at \
             the peak): the local host and its process churn produced these errors{throttled} — not the deployment \
             model; the load generator's lag has the same cause. Lower the rate or the churn (a longer keep_alive), \
             or use `coldbench simulate` for this traffic",
            m.requests,
            SATURATED * 100.0,
            host.saturated_s,
            host.cpu_busy * 100.0,
            host.cpu_kernel * 100.0,
            host.spawns,
            host.peak_spawns_per_s
        ));
    }
    if host.host_bound_s >= 1.0 {
        let cpus = report.usage.as_ref().map_or(0, |u| u.host_cpus);
        report.warnings.push(format!(
            "the instances waited for this host's {cpus} CPUs for {:.0} s: in those seconds the busy instances were \
             entitled to up to {:.2} vCPUs together and {:.0} % of the CPU they wanted within their quotas was \
             withheld, so their durations there reflect this host, not the model (quotas are caps, not \
             reservations) — fewer instances at once, smaller sizes, or `coldbench simulate` for this traffic",
            host.host_bound_s,
            host.peak_busy_quota_vcpus,
            host.withheld_share * 100.0
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::TargetKind;
    use crate::target::empty_report;

    fn with_errors(ok: u64, timeout: u64, host: Option<HostReport>) -> TargetReport {
        let mut report = empty_report("f", TargetKind::Function, "", TargetStatus::Complete, None);
        report.measurement.requests = ok + timeout;
        report.measurement.outcomes.ok = ok;
        report.measurement.outcomes.timeout = timeout;
        report.host = host;
        report
    }

    const SATURATED_HOST: HostReport = HostReport {
        cpu_busy: 0.94,
        cpu_kernel: 0.8,
        saturated_s: 150.0,
        spawns: 15_659,
        peak_spawns_per_s: 712.0,
        refused_accepts: 0,
        host_bound_s: 0.0,
        peak_busy_quota_vcpus: 0.0,
        withheld_share: 0.0,
    };

    #[test]
    fn errors_on_a_saturated_host_are_blamed_on_the_host() {
        let mut report = with_errors(900, 100, Some(SATURATED_HOST));
        judge_host(&mut report);
        assert_eq!(report.status, TargetStatus::Degraded);
        let warning = report.warnings.last().unwrap();
        assert!(warning.contains("100 of 1000 requests failed while this host's CPU was saturated"), "{warning}");
        assert!(warning.contains("80 % of all its CPU time in the kernel; 15659 process starts"), "{warning}");
        assert!(warning.contains("not the deployment model"), "{warning}");
    }

    #[test]
    fn connections_coldbench_could_not_accept_degrade_the_run() {
        let idle = HostReport { cpu_busy: 0.2, saturated_s: 0.0, refused_accepts: 37, ..SATURATED_HOST };
        let mut report = with_errors(990, 10, Some(idle));
        judge_host(&mut report);
        assert_eq!(report.status, TargetStatus::Degraded);
        assert!(report.warnings[0].contains("hit the open-file limit 37 times"), "{:?}", report.warnings);
        assert!(report.warnings[0].contains("ulimit -n"), "{:?}", report.warnings);
    }

    #[test]
    fn a_busy_host_without_errors_or_errors_on_an_idle_host_change_nothing() {
        let mut clean = with_errors(1_000, 0, Some(SATURATED_HOST));
        judge_host(&mut clean);
        let idle = HostReport { cpu_busy: 0.2, saturated_s: 0.0, ..SATURATED_HOST };
        let mut slow_target = with_errors(900, 100, Some(idle));
        judge_host(&mut slow_target);
        for report in [clean, slow_target] {
            assert_eq!(report.status, TargetStatus::Complete);
            assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        }
    }

    #[test]
    fn seconds_bound_by_the_host_warn_without_degrading() {
        let bound = HostReport {
            cpu_busy: 0.97,
            host_bound_s: 6.0,
            peak_busy_quota_vcpus: 12.5,
            withheld_share: 0.4,
            ..SATURATED_HOST
        };
        let mut report = with_errors(1_000, 0, Some(bound));
        report.usage = Some(UsageReport { host_cpus: 2, ..UsageReport::default() });
        judge_host(&mut report);
        assert_eq!(report.status, TargetStatus::Complete, "the measurement stands; it describes this host");
        let warning = report.warnings.last().unwrap();
        assert!(warning.starts_with("the instances waited for this host's 2 CPUs for 6 s"), "{warning}");
        assert!(warning.contains("up to 12.50 vCPUs together and 40 % of the CPU"), "{warning}");
    }

    #[test]
    fn an_instances_second_counts_what_the_host_withheld_within_its_quota() {
        let reading = |cpu_ms: u64, throttled_ms: u64, delay_ms: u64| Reading {
            id: "c-0".into(),
            cpus: Some(0.5),
            usage: crate::cgroup::Usage {
                cpu: Duration::from_millis(cpu_ms),
                throttled: Duration::from_millis(throttled_ms),
                ..Default::default()
            },
            memory_bytes: 96 << 20,
            run_delay: Some(Duration::from_millis(delay_ms)),
        };
        // Throttled for 500 ms and waiting 520 ms: the quota's doing, not the host's.
        let quota = per_second(Some(&reading(0, 0, 0)), &reading(480, 500, 520), 1.0, 1.0);
        assert_eq!((quota.cpu_vcpus, quota.throttled, quota.withheld_vcpus, quota.memory_mib), (0.48, 0.5, 0.02, 96.0));
        // Never throttled but waiting 700 ms with 200 ms used: the host withheld what the quota
        // left (0.3 vCPU), not the whole wait (threads wait in parallel).
        let host = per_second(Some(&reading(0, 0, 0)), &reading(200, 0, 700), 1.0, 1.0);
        assert_eq!((host.cpu_vcpus, host.withheld_vcpus), (0.2, 0.3));
        // Threads that exited took their waits with them: never negative.
        let gone = per_second(Some(&reading(0, 0, 900)), &reading(100, 0, 100), 1.0, 1.0);
        assert_eq!(gone.withheld_vcpus, 0.0);
    }
}
