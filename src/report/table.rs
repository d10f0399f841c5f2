//! The comparison table: one column per target, one row per figure; rendered for the terminal
//! here and as Markdown by `markdown.rs`.

use crate::analysis::{Analysis, TargetCost};
use crate::cost::CostItem;
use crate::metrics::{RunReport, Summary, TargetReport};
use crate::units::{format_span, format_us};

/// Labelled rows of cells, one cell per target.
pub type Rows = Vec<(String, Vec<String>)>;

/// Renders the targets side by side for a terminal.
pub fn comparison_table(report: &RunReport, analysis: &Analysis) -> String {
    render(&report.targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), &comparison_rows(report, analysis))
}

/// The figures compared, as rows.
pub fn comparison_rows(report: &RunReport, analysis: &Analysis) -> Rows {
    let targets = &report.targets;
    let cost = |t: &TargetReport| -> Option<&TargetCost> { analysis.cost_of(&t.name) };
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, f: &dyn Fn(&TargetReport) -> String| {
        rows.push((label.to_string(), targets.iter().map(f).collect()));
    };
    row("kind", &|t| t.kind.to_string());
    row("status", &|t| t.status.as_str().to_string());
    row("requests", &|t| t.measurement.requests.to_string());
    row("ok", &|t| t.measurement.outcomes.ok.to_string());
    row("errors", &|t| error_cell(t));
    row("throughput", &|t| crate::units::format_rate(t.measurement.throughput_rps));
    let pct = |s: &Option<Summary>, f: fn(&Summary) -> u64| s.as_ref().map_or("-".to_string(), |s| format_us(f(s)));
    row("latency p50", &|t| pct(&t.measurement.latency, |s| s.p50_us));
    row("latency p90", &|t| pct(&t.measurement.latency, |s| s.p90_us));
    row("latency p99", &|t| pct(&t.measurement.latency, |s| s.p99_us));
    row("latency p99.9", &|t| pct(&t.measurement.latency, |s| s.p999_us));
    row("latency max", &|t| pct(&t.measurement.latency, |s| s.max_us));
    row("cold starts", &|t| cold_cell(t));
    let pair = |s: &Option<Summary>| {
        s.as_ref().map_or("-".to_string(), |s| format!("{} / {}", format_us(s.p50_us), format_us(s.p99_us)))
    };
    row("cold p50 / p99", &|t| pair(&t.measurement.cold_latency));
    row("warm p50 / p99", &|t| pair(&t.measurement.warm_latency));
    row("init p50 / p99", &|t| match (&t.measurement.init, events_of(t)) {
        // Asynchronous: the invocations' own Init durations (the 202 carries none).
        (None, Some(_)) => pair(&t.function.as_ref().and_then(|f| Summary::of(&f.invocations.init_us))),
        (init, _) => pair(init),
    });
    row("throttled", &|t| t.measurement.outcomes.throttled.to_string());
    if targets.iter().any(|t| !t.measurement.cache.is_empty()) {
        row("cache hit ratio", &|t| {
            let c = t.measurement.cache;
            c.hit_ratio().map_or("-".to_string(), |r| format!("{:.1} % of {}", r * 100.0, c.hits + c.misses))
        });
    }
    if targets.iter().any(|t| t.function.as_ref().is_some_and(|f| !f.invocations.cpu_us.is_empty())) {
        row("CPU per invocation p50 / p99", &|t| {
            t.function
                .as_ref()
                .and_then(|f| Summary::of(&f.invocations.cpu_us))
                .map_or("-".to_string(), |s| format!("{} / {}", format_us(s.p50_us), format_us(s.p99_us)))
        });
        row("CPU-throttled share", &|t| {
            t.function
                .as_ref()
                .and_then(|f| f.invocations.throttled_share())
                .map_or("-".to_string(), |share| format!("{:.1} %", share * 100.0))
        });
    }
    if targets.iter().any(|t| t.function.is_some() || t.usage.is_some()) {
        row("peak memory", &|t| match (&t.function, &t.usage) {
            (Some(f), _) => format!("{} of {} MB", f.invocations.max_memory_used_mb, f.memory_mb),
            // An always-on instance's, sampled once a second.
            (None, Some(u)) => {
                let peak = u.instances.iter().flat_map(|i| &i.samples).map(|s| s.memory_mib).fold(0.0, f64::max);
                format!("{peak:.0} MiB (sampled)")
            }
            (None, None) => "-".to_string(),
        });
    }
    if targets.iter().any(|t| t.resources.is_some()) {
        row("resources", &|t| t.resources.clone().unwrap_or_else(|| "-".to_string()));
    }
    if targets.iter().any(|t| t.usage.is_some()) {
        // Seconds the host's CPUs, not the instances' quotas, set their speed.
        row("host-bound seconds", &|t| match (t.host, &t.usage) {
            // A woken thread always waits a little for a CPU: the share matters only when seconds
            // were bound by it.
            (Some(h), Some(_)) if h.host_bound_s > 0.0 => {
                format!("{:.0} s ({:.0} % of wanted CPU withheld)", h.host_bound_s, h.withheld_share * 100.0)
            }
            (Some(_), Some(_)) => "0 s".to_string(),
            _ => "-".to_string(),
        });
    }
    row("instances started/evicted/peak", &|t| function_instances_cell(t));
    row("instances (startup)", &|t| instances_cell(t));
    if targets.iter().any(|t| t.fleet.as_ref().is_some_and(|f| f.scaling.is_some())) {
        row("scaling events (out / in)", &|t| {
            t.fleet.as_ref().filter(|f| f.scaling.is_some()).map_or("-".to_string(), |f| {
                let out = f.events.iter().filter(|e| e.to > e.from).count();
                format!("{out} / {}", f.events.len() - out)
            })
        });
        row("instances in service min / max", &|t| {
            let series = t.fleet.as_ref().filter(|f| f.scaling.is_some()).map(|f| &f.in_service_per_second);
            match series.and_then(|s| Some((s.iter().min()?, s.iter().max()?))) {
                Some((low, high)) => format!("{low} / {high}"),
                None => "-".to_string(),
            }
        });
    }
    if targets.iter().any(|t| t.fleet.as_ref().is_some_and(|f| f.failures > 0)) {
        row("instance failures / replacements", &|t| {
            t.fleet.as_ref().map_or("-".to_string(), |f| {
                format!("{} / {} ({} below capacity)", f.failures, f.replacements, format_span(f.below_capacity_s))
            })
        });
    }
    if targets.iter().any(|t| t.deploy.is_some()) {
        row("deploy: time to deploy", &|t| {
            t.deploy.as_ref().map_or("-".to_string(), |d| match d.time_to_deploy_s {
                Some(took) => format!("{} from {:.1} s, {} replaced", format_span(took), d.at_s, d.replaced),
                None => format!("not done by the end (from {:.1} s)", d.at_s),
            })
        });
        row("deploy window: errors, cold, p99", &|t| {
            t.deploy.as_ref().and_then(|d| d.window.as_ref()).map_or("-".to_string(), |w| {
                let p99 = w.p99_us.map_or("-".to_string(), format_us);
                format!("{} of {}, {} cold, {p99} ({:.0}–{:.0} s)", w.errors, w.requests, w.cold, w.from_s, w.to_s)
            })
        });
    }
    row("generator lag p99", &|t| pct(&t.measurement.lag, |s| s.p99_us));
    if targets.iter().any(|t| t.measurement.phases.is_some()) {
        // k6's split of each request's time: only new connections pay connecting and TLS.
        for (i, name) in crate::metrics::PhaseReport::NAMES.iter().enumerate() {
            row(&format!("{name} p50 / p99"), &|t| {
                t.measurement.phases.as_ref().map_or("-".to_string(), |p| pair(&p.named()[i].1.cloned()))
            });
        }
        row("connections new / reused", &|t| {
            t.measurement.phases.as_ref().map_or("-".to_string(), |p| {
                let http = if p.http2 > 0 { format!(", HTTP/2 {}", p.http2) } else { String::new() };
                format!("{} / {}{http}", p.connections_new, p.connections_reused)
            })
        });
    }
    if targets.iter().any(|t| t.function.as_ref().is_some_and(|f| f.keep_warm.is_some())) {
        row("keep-warm pings (cold)", &|t| {
            t.function.as_ref().and_then(|f| f.keep_warm).map_or("-".to_string(), |k| {
                format!("{} ({}), {} every {}", k.pings, k.cold, k.concurrency, format_span(k.every_s))
            })
        });
        row("keep-warm cost/month", &|t| {
            cost(t)
                .map(|c| c.monthly.get(CostItem::KeepWarm))
                .filter(|usd| *usd > 0.0)
                .map_or("-".to_string(), format_money)
        });
    }
    if targets.iter().any(|t| t.function.as_ref().is_some_and(|f| f.events.is_some())) {
        row("async events ok/failed/expired/unfinished", &|t| {
            events_of(t).map_or("-".to_string(), |e| {
                format!("{} / {} / {} / {} of {}", e.succeeded, e.failed, e.expired, e.unfinished, e.accepted)
            })
        });
        row("async retries (requeued)", &|t| {
            events_of(t).map_or("-".to_string(), |e| format!("{} ({})", e.retries, e.requeued))
        });
        row("async enqueue to done p50 / p99", &|t| {
            events_of(t)
                .and_then(|e| Summary::of(&e.end_to_end_us))
                .map_or("-".to_string(), |s| format!("{} / {}", format_us(s.p50_us), format_us(s.p99_us)))
        });
        row("async queue peak (oldest event)", &|t| {
            events_of(t).map_or("-".to_string(), |e| {
                let depth = e.depth_per_second.iter().max().copied().unwrap_or(0);
                let oldest = e.oldest_age_ms_per_second.iter().max().copied().unwrap_or(0);
                format!("{depth} ({})", format_span(oldest as f64 / 1e3))
            })
        });
    }
    if targets.iter().any(|t| t.function.as_ref().is_some_and(|f| f.provisioned > 0)) {
        row("provisioned cost/month", &|t| {
            cost(t)
                .map(|c| c.monthly.get(CostItem::Provisioned))
                .filter(|usd| *usd > 0.0)
                .map_or("-".to_string(), |usd| format!("${usd:.2}"))
        });
    }
    row("cost/month at this rate", &|t| cost(t).map_or("-".to_string(), |c| format!("${:.2}", c.monthly.total)));
    row("cost per 1M requests", &|t| {
        cost(t).and_then(|c| c.per_million).map_or("-".to_string(), |v| format!("${v:.3}"))
    });
    repeat_rows(report, analysis, &mut rows);
    rows
}

/// With `--repeat N`: each headline figure's median over the runs, its 95 % interval and range.
fn repeat_rows(report: &RunReport, analysis: &Analysis, rows: &mut Rows) {
    use crate::analysis::{RepeatSummary, Spread};
    let Some(runs) = analysis.repeats.iter().map(|r| r.runs).max() else {
        return;
    };
    rows.push((format!("over {runs} runs: median [95 % CI] (min–max)"), vec![String::new(); report.targets.len()]));
    let ms = |v: f64| if v.is_finite() { format_us((v * 1e3).round() as u64) } else { "-".to_string() };
    let pct = |v: f64| format!("{:.2}%", v * 100.0);
    let usd = |v: f64| format!("${v:.2}");
    let rps = crate::units::format_rate;
    type Figure<'a> = (&'a str, fn(&RepeatSummary) -> Option<&Spread>, &'a dyn Fn(f64) -> String);
    let figures: [Figure; 6] = [
        ("  latency p50", |r| Some(&r.p50_ms), &ms),
        ("  latency p99", |r| Some(&r.p99_ms), &ms),
        ("  throughput", |r| Some(&r.throughput_rps), &rps),
        ("  error rate", |r| Some(&r.error_rate), &pct),
        ("  cold-start share", |r| Some(&r.cold_share), &pct),
        ("  cost/month", |r| r.cost_per_month.as_ref(), &usd),
    ];
    for (label, figure, show) in figures {
        let cells = report
            .targets
            .iter()
            .map(|t| {
                let spread = analysis.repeats.iter().find(|r| r.target == t.name).and_then(figure);
                spread.map_or("-".to_string(), |s| {
                    format!(
                        "{} [{}–{}] ({}–{})",
                        show(s.median),
                        show(s.ci95[0].max(0.0)),
                        show(s.ci95[1]),
                        show(s.min),
                        show(s.max)
                    )
                })
            })
            .collect();
        rows.push((label.to_string(), cells));
    }
}

fn events_of(t: &TargetReport) -> Option<&crate::metrics::EventReport> {
    t.function.as_ref().and_then(|f| f.events.as_ref())
}

fn error_cell(t: &TargetReport) -> String {
    let kinds = t.measurement.outcomes.error_kinds();
    if kinds.is_empty() {
        return "0".to_string();
    }
    kinds.iter().map(|(label, n)| format!("{n} {label}")).collect::<Vec<_>>().join(", ")
}

fn cold_cell(t: &TargetReport) -> String {
    let m = &t.measurement;
    if m.cold + m.warm == 0 {
        // Asynchronous invocations answer 202 before any instance runs them: their cold starts
        // are the invocations' own.
        return match t.function.as_ref().map(|f| &f.invocations).filter(|i| i.invocations > 0 && events_of(t).is_some())
        {
            Some(i) => format!("{} ({:.1}%) of invocations", i.cold, 100.0 * i.cold as f64 / i.invocations as f64),
            None => "-".to_string(),
        };
    }
    format!("{} ({:.1}%)", m.cold, 100.0 * m.cold as f64 / (m.cold + m.warm) as f64)
}

fn function_instances_cell(t: &TargetReport) -> String {
    t.function.as_ref().map_or("-".to_string(), |f| {
        let s = f.stats;
        format!("{} / {} / {}", s.instances_started, s.evicted_idle + s.evicted_lifetime, s.peak_instances)
    })
}

fn instances_cell(t: &TargetReport) -> String {
    let slowest =
        t.instances.iter().map(|i| i.startup_ms).fold(None, |max: Option<f64>, ms| Some(max.map_or(ms, |m| m.max(ms))));
    match slowest {
        Some(ms) => format!("{} (max {})", t.instances.len(), format_us((ms * 1e3) as u64)),
        None => "-".to_string(),
    }
}

fn render(headers: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let label_width = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            rows.iter()
                .map(|(_, cells)| cells[i].chars().count())
                .chain([headers[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("{:label_width$}", "");
    for (header, width) in headers.iter().zip(&widths) {
        out.push_str(&format!("  {header:>width$}"));
    }
    out.push('\n');
    for (label, cells) in rows {
        out.push_str(&format!("{label:label_width$}"));
        for (cell, width) in cells.iter().zip(&widths) {
            out.push_str(&format!("  {cell:>width$}"));
        }
        out.push('\n');
    }
    out
}

/// Dollars, with enough digits that a small amount does not read as zero.
fn format_money(v: f64) -> String {
    if v > 0.0 && v < 0.01 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(crate::units::format_count(5_000_000.0), "5,000,000");
        assert_eq!(crate::units::format_count(150.0), "150");
    }
}
