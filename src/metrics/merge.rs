//! Exact merges of measurements: histograms added bucket by bucket (whole-run and interval by
//! interval), counts summed, every summary recomputed from the sums. The merged p99 is the p99
//! of all the samples, not an average of p99s.

use anyhow::Context;
use hdrhistogram::Histogram;

use super::histogram::{decode, encode, new_histogram, Summary};
use super::phases::{PhaseHistograms, PhaseReport};
use super::report::{
    CacheCounts, Histograms, IntervalReport, Measurement, MergedInfo, RunReport, TargetReport, TargetStatus,
};
use super::OutcomeCounts;

/// The sum of encoded histograms; empty strings (a histogram not kept) add nothing.
fn sum<'a>(encoded: impl IntoIterator<Item = &'a str>) -> anyhow::Result<Histogram<u64>> {
    let mut total = new_histogram();
    for text in encoded.into_iter().filter(|t| !t.is_empty()) {
        total.add(decode(text)?).context("adding histograms")?;
    }
    Ok(total)
}

/// An encoding that stays empty where nothing was recorded, as the recorder writes it.
fn encode_kept(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        String::new()
    } else {
        encode(h)
    }
}

/// Measurements of parts of one load (shards sending disjoint parts of its schedule over the
/// same intervals) as one measurement of the whole.
///
/// # Errors
/// When a histogram cannot be decoded, or the parts' intervals have different lengths.
pub fn merge_measurements(parts: &[&Measurement]) -> anyhow::Result<Measurement> {
    let first = parts.first().context("nothing to merge")?;
    let interval_s = first.interval_s();
    if let Some(other) = parts.iter().find(|m| m.intervals.len() > 1 && (m.interval_s() - interval_s).abs() > 1e-9) {
        anyhow::bail!("intervals of {interval_s} s and {} s cannot be merged", other.interval_s());
    }
    let whole = |pick: fn(&Histograms) -> &str| sum(parts.iter().map(|m| pick(&m.histograms)));
    let latency = whole(|h| &h.latency)?;
    let service = whole(|h| &h.service)?;
    let lag = whole(|h| &h.lag)?;
    let cold_latency = whole(|h| &h.cold_latency)?;
    let warm_latency = whole(|h| &h.warm_latency)?;
    let init = whole(|h| &h.init)?;
    let cap_wait = whole(|h| &h.cap_wait)?;
    let mut outcomes = OutcomeCounts::default();
    let mut cache = CacheCounts::default();
    for m in parts {
        outcomes.merge(&m.outcomes);
        cache.hits += m.cache.hits;
        cache.misses += m.cache.misses;
    }
    let elapsed_s = parts.iter().map(|m| m.elapsed_s).fold(0.0, f64::max);
    let requests = outcomes.total();
    let secs = elapsed_s.max(f64::MIN_POSITIVE);
    Ok(Measurement {
        elapsed_s,
        requests,
        throughput_rps: requests as f64 / secs,
        ok_rps: outcomes.ok as f64 / secs,
        latency: Summary::of(&latency),
        service: Summary::of(&service),
        lag: parts.iter().any(|m| m.lag.is_some()).then(|| Summary::of(&lag)).flatten(),
        cap_wait: Summary::of(&cap_wait),
        cold_latency: Summary::of(&cold_latency),
        warm_latency: Summary::of(&warm_latency),
        init: Summary::of(&init),
        phases: merge_phases(parts.iter().filter_map(|m| m.phases.as_ref()))?,
        cold: parts.iter().map(|m| m.cold).sum(),
        warm: parts.iter().map(|m| m.warm).sum(),
        cache,
        histograms: Histograms {
            latency: encode(&latency),
            service: encode(&service),
            lag: encode(&lag),
            cold_latency: encode(&cold_latency),
            warm_latency: encode(&warm_latency),
            init: encode_kept(&init),
            cap_wait: encode_kept(&cap_wait),
        },
        outcomes,
        intervals: merge_intervals(parts, interval_s)?,
    })
}

/// Interval `i` of the merge is interval `i` of every part: counts summed, histograms added.
/// `max_in_flight` is the sum of the parts' maxima (an upper bound: they need not coincide).
fn merge_intervals(parts: &[&Measurement], interval_s: f64) -> anyhow::Result<Vec<IntervalReport>> {
    let length = parts.iter().map(|m| m.intervals.len()).max().unwrap_or(0);
    (0..length)
        .map(|i| {
            let here: Vec<&IntervalReport> = parts.iter().filter_map(|m| m.intervals.get(i)).collect();
            let latency = sum(here.iter().filter_map(|r| r.histogram.as_deref()))?;
            let total = |pick: fn(&IntervalReport) -> u64| here.iter().map(|r| pick(r)).sum::<u64>();
            let summary = Summary::of(&latency);
            Ok(IntervalReport {
                start_s: i as f64 * interval_s,
                requests: total(|r| r.requests),
                ok: total(|r| r.ok),
                errors: total(|r| r.errors),
                throttled: total(|r| r.throttled),
                cold: total(|r| r.cold),
                max_in_flight: total(|r| r.max_in_flight),
                p50_us: summary.as_ref().map(|s| s.p50_us),
                p99_us: summary.as_ref().map(|s| s.p99_us),
                max_us: summary.as_ref().map(|s| s.max_us),
                histogram: summary.is_some().then(|| encode(&latency)),
            })
        })
        .collect()
}

fn merge_phases<'a>(parts: impl Iterator<Item = &'a PhaseReport>) -> anyhow::Result<Option<PhaseReport>> {
    let parts: Vec<&PhaseReport> = parts.collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let phase = |pick: fn(&PhaseHistograms) -> &str| sum(parts.iter().map(|p| pick(&p.histograms)));
    let (connecting, tls, sending, waiting, receiving) = (
        phase(|h| &h.connecting)?,
        phase(|h| &h.tls_handshaking)?,
        phase(|h| &h.sending)?,
        phase(|h| &h.waiting)?,
        phase(|h| &h.receiving)?,
    );
    let count = |pick: fn(&PhaseReport) -> u64| parts.iter().map(|p| pick(p)).sum::<u64>();
    Ok(Some(PhaseReport {
        connections_new: count(|p| p.connections_new),
        connections_reused: count(|p| p.connections_reused),
        slow_connects: count(|p| p.slow_connects),
        http2: count(|p| p.http2),
        connecting: Summary::of(&connecting),
        tls_handshaking: Summary::of(&tls),
        sending: Summary::of(&sending),
        waiting: Summary::of(&waiting),
        receiving: Summary::of(&receiving),
        histograms: PhaseHistograms {
            connecting: encode(&connecting),
            tls_handshaking: encode(&tls),
            sending: encode(&sending),
            waiting: encode(&waiting),
            receiving: encode(&receiving),
        },
    }))
}

/// The shards of one run (`run --shard I/N`, one results.json each, named by `path`) as the
/// report of the whole run; the warnings say what the reader must know about the merge.
///
/// # Errors
/// When a file is not a shard's, the shards do not belong together (another workload, seed,
/// duration or shard count; other targets), one is missing or appears twice — each named.
pub fn merge_shards(shards: &[(String, RunReport)]) -> anyhow::Result<(RunReport, Vec<String>)> {
    let ((first_path, first), _) = shards.split_first().context("no shard to merge")?;
    let info = |path: &str, report: &RunReport| {
        report.shard.clone().with_context(|| {
            format!("{path} is not a shard's results: it has no `shard` (run it with --shard INDEX/COUNT)")
        })
    };
    let base = info(first_path, first)?;
    let mut seen: Vec<Option<&str>> = vec![None; base.count as usize];
    for (path, report) in shards {
        let shard = info(path, report)?;
        let differs = |what: &str, here: String, there: String| {
            anyhow::anyhow!(
                "{path}: {what} {here}, but {first_path} has {what} {there}: these shards are not of one run"
            )
        };
        if shard.count != base.count {
            return Err(differs("shard count", shard.count.to_string(), base.count.to_string()));
        }
        if report.workload.seed != first.workload.seed {
            return Err(differs("seed", report.workload.seed.to_string(), first.workload.seed.to_string()));
        }
        if shard.workload_digest != base.workload_digest || report.workload.name != first.workload.name {
            return Err(differs(
                "workload",
                format!("{:?} (digest {})", report.workload.name, shard.workload_digest),
                format!("{:?} (digest {})", first.workload.name, base.workload_digest),
            ));
        }
        if report.workload.duration_s != first.workload.duration_s {
            return Err(differs(
                "duration",
                format!("{} s", report.workload.duration_s),
                format!("{} s", first.workload.duration_s),
            ));
        }
        let names = |r: &RunReport| r.targets.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", ");
        if names(report) != names(first) {
            return Err(differs("targets", names(report), names(first)));
        }
        if let Some(other) = seen[shard.index as usize].replace(path) {
            anyhow::bail!("shard {}/{} appears twice: {other} and {path}", shard.index, shard.count);
        }
    }
    let missing: Vec<String> =
        seen.iter().enumerate().filter(|(_, p)| p.is_none()).map(|(i, _)| format!("{i}/{}", base.count)).collect();
    if !missing.is_empty() {
        anyhow::bail!("shard {} missing: {} of {} given", missing.join(", "), shards.len(), base.count);
    }
    let mut ordered: Vec<&(String, RunReport)> = shards.iter().collect();
    ordered.sort_by_key(|(_, r)| r.shard.as_ref().map_or(0, |s| s.index));
    let starts: Vec<f64> = ordered.iter().filter_map(|(_, r)| r.shard.as_ref().map(|s| s.started_unix_ms)).collect();
    let spread = starts.iter().copied().fold(f64::MIN, f64::max) - starts.iter().copied().fold(f64::MAX, f64::min);
    let mut warnings = Vec::new();
    if ordered.iter().any(|(_, r)| r.shard.as_ref().is_some_and(|s| s.start_at.is_none())) {
        warnings.push(
            "some shards were not given --start-at: they started when each was launched, so their intervals \
             are aligned by index but not in time"
                .to_string(),
        );
    } else if spread > START_SKEW_WARNING_MS {
        warnings.push(format!(
            "the shards' loads began {spread:.0} ms apart by their own clocks (clock skew, or a late start): \
             interval i of one shard is not exactly interval i of another, so a spike can spread over two"
        ));
    }
    let mut targets = Vec::new();
    for (i, target) in first.targets.iter().enumerate() {
        let parts: Vec<&TargetReport> = ordered.iter().map(|(_, r)| &r.targets[i]).collect();
        targets.push(merge_target(target, &parts)?);
    }
    let mut merged = first.with_targets(targets);
    merged.started_at = ordered.iter().map(|(_, r)| r.started_at.clone()).min().unwrap_or_default();
    merged.shard = None;
    merged.merged =
        Some(MergedInfo { shards: ordered.iter().map(|(p, _)| p.clone()).collect(), start_spread_ms: spread.max(0.0) });
    merged.workload.warnings.extend(warnings.iter().cloned());
    Ok((merged, warnings))
}

/// A clock skew between shards worth a warning: a tenth of a one-second interval.
const START_SKEW_WARNING_MS: f64 = 100.0;

fn merge_target(first: &TargetReport, parts: &[&TargetReport]) -> anyhow::Result<TargetReport> {
    let measurements: Vec<&Measurement> = parts.iter().map(|t| &t.measurement).collect();
    let measurement = merge_measurements(&measurements).with_context(|| format!("merging target {}", first.name))?;
    let status = parts.iter().map(|t| t.status).max_by_key(|s| severity(*s)).unwrap_or(first.status);
    let mut warnings: Vec<String> = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        warnings.extend(part.warnings.iter().map(|w| format!("shard {index}: {w}")));
    }
    let cpu = {
        let (weighted, requests) = parts.iter().fold((0.0, 0u64), |(w, n), t| match t.coldbench_cpu_us_per_request {
            Some(cpu) => (w + cpu * t.measurement.requests as f64, n + t.measurement.requests),
            None => (w, n),
        });
        (requests > 0).then(|| weighted / requests as f64)
    };
    let function = match &first.function {
        Some(function) => {
            let mut function = function.clone();
            for part in &parts[1..] {
                if let Some(other) = &part.function {
                    function.billed_ms_total += other.billed_ms_total;
                    function.stats.instances_started += other.stats.instances_started;
                    function.stats.throttled += other.stats.throttled;
                    function.invocations.merge(&other.invocations).context("adding invocation histograms")?;
                }
            }
            Some(function)
        }
        None => None,
    };
    Ok(TargetReport {
        status,
        error: parts.iter().find_map(|t| t.error.clone()),
        started_at: parts.iter().map(|t| t.started_at.clone()).min().unwrap_or_default(),
        measurement,
        function,
        // Each machine's own: not a property of the merged load.
        host: None,
        usage: None,
        coldbench_cpu_us_per_request: cpu,
        warnings,
        ..first.clone()
    })
}

/// Worse statuses win a merge.
fn severity(status: TargetStatus) -> u8 {
    match status {
        TargetStatus::Complete => 0,
        TargetStatus::Degraded => 1,
        TargetStatus::Interrupted => 2,
        TargetStatus::Failed => 3,
    }
}
