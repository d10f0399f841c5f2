//! `timeline.svg/png`: per second and target, latency p50 and p99 (cold starts and deploys
//! marked), throughput, instances alive (scaling decisions marked), and asynchronous events
//! queued when there were any — panels sharing the time axis.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// The instances panel's label; its panel also marks the scaling decisions.
const INSTANCES: &str = "instances alive";

/// The timeline figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timeline;

impl Figure for Timeline {
    fn name(&self) -> &'static str {
        "timeline"
    }

    fn draw<DB: DrawingBackend>(
        &self,
        report: &RunReport,
        _analysis: &Analysis,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let titled =
            root.titled(&format!("Timeline — {}", report.workload.name), (FONT, 24)).map_err(|e| anyhow!("{e}"))?;
        // Asynchronous invocations get a fourth panel: their queue, which runs on past the load.
        let events = report.targets.iter().any(|t| t.function.as_ref().is_some_and(|f| f.events.is_some()));
        let panels = titled.split_evenly((if events { 4 } else { 3 }, 1));
        let queued = |t: &crate::metrics::TargetReport| -> Vec<(f64, f64)> {
            let length = t.measurement.interval_s();
            let depth = t.function.as_ref().and_then(|f| f.events.as_ref()).map(|e| e.depth_per_second.as_slice());
            depth.unwrap_or_default().iter().enumerate().map(|(i, n)| (i as f64 * length, f64::from(*n))).collect()
        };
        // Simulated and fast-forwarded runs use intervals longer than a second.
        let seconds = report
            .targets
            .iter()
            .filter_map(|t| t.measurement.intervals.last().map(|i| i.start_s + t.measurement.interval_s()))
            .chain(report.targets.iter().filter_map(|t| queued(t).last().map(|(s, _)| s + t.measurement.interval_s())))
            .fold(1.0_f64, f64::max);
        latency_panel(report, &panels[0], seconds)?;
        let throughput = |t: &crate::metrics::TargetReport| -> Vec<(f64, f64)> {
            let length = t.measurement.interval_s();
            t.measurement.intervals.iter().map(|i| (i.start_s, i.requests as f64 / length)).collect()
        };
        simple_panel(report, &panels[1], seconds, "requests / s", &throughput)?;
        let alive = |t: &crate::metrics::TargetReport| -> Vec<(f64, f64)> {
            t.measurement
                .intervals
                .iter()
                .enumerate()
                .filter_map(|(s, i)| super::super::instances_alive(t, s).map(|n| (i.start_s, f64::from(n))))
                .collect()
        };
        simple_panel(report, &panels[2], seconds, INSTANCES, &alive)?;
        if events {
            simple_panel(report, &panels[3], seconds, "events queued", &queued)?;
        }
        Ok(())
    }
}

fn latency_panel<DB: DrawingBackend>(
    report: &RunReport,
    area: &DrawingArea<DB, Shift>,
    seconds: f64,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let values = report
        .targets
        .iter()
        .flat_map(|t| t.measurement.intervals.iter().flat_map(|i| [i.p50_us, i.p99_us]))
        .flatten()
        .map(|us| us as f64 / 1e3);
    let (low, high) = values.fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = if high > 0.0 { ((low * 0.8).max(0.001), high * 1.25) } else { (0.1, 10.0) };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..seconds, (low..high).log_scale())
        .map_err(|e| anyhow!("timeline axes: {e}"))?;
    chart
        .configure_mesh()
        .y_desc("latency ms (log)")
        .y_labels(4)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .y_label_formatter(&|v| format!("{v:.1}"))
        .draw()
        .map_err(|e| anyhow!("timeline grid: {e}"))?;
    for (index, t) in report.targets.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let intervals = t.measurement.intervals.len();
        let p50: Vec<(f64, f64)> =
            t.measurement.intervals.iter().filter_map(|i| i.p50_us.map(|v| (i.start_s, v as f64 / 1e3))).collect();
        let p99: Vec<(f64, f64)> =
            t.measurement.intervals.iter().filter_map(|i| i.p99_us.map(|v| (i.start_s, v as f64 / 1e3))).collect();
        chart
            .draw_series(LineSeries::new(p50, color.stroke_width(line_width(intervals))))
            .map_err(|e| anyhow!("p50 line: {e}"))?
            .label(format!("{} p50", t.name))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(p99, color.mix(0.5).stroke_width(line_width(intervals))))
            .map_err(|e| anyhow!("p99 line: {e}"))?
            .label(format!("{} p99", t.name))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.mix(0.5).stroke_width(2)));
        let cold: Vec<(f64, f64)> = t
            .measurement
            .intervals
            .iter()
            .filter(|i| i.cold > 0)
            .filter_map(|i| i.max_us.map(|v| (i.start_s, v as f64 / 1e3)))
            .collect();
        if !cold.is_empty() {
            chart
                .draw_series(cold.into_iter().map(|p| TriangleMarker::new(p, 7, color.filled())))
                .map_err(|e| anyhow!("cold markers: {e}"))?
                .label(format!("{} cold starts (at the second's max)", t.name))
                .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 6, color.filled()));
        }
    }
    // Deploys: a line where each began and one where it was done.
    for (index, t) in report.targets.iter().enumerate() {
        let Some(deploy) = &t.deploy else { continue };
        let color = PALETTE[index % PALETTE.len()];
        let marks: Vec<f64> = std::iter::once(deploy.at_s).chain(deploy.done_s).collect();
        chart
            .draw_series(marks.into_iter().map(|x| PathElement::new(vec![(x, low), (x, high)], color.stroke_width(1))))
            .map_err(|e| anyhow!("deploy marks: {e}"))?
            .label(format!("{} deploy (began, done)", t.name))
            .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], color.stroke_width(1)));
    }
    super::legend(&mut chart, SeriesLabelPosition::UpperRight, 12)?;
    Ok(())
}

/// Each autoscaling decision, drawn on the instances panel at its new desired count.
fn scaling_marks<DB: DrawingBackend>(
    report: &RunReport,
    chart: &mut ChartContext<
        '_,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    for (index, t) in report.targets.iter().enumerate() {
        let events = t.fleet.as_ref().map(|f| f.events.as_slice()).unwrap_or_default();
        if events.is_empty() {
            continue;
        }
        let color = PALETTE[index % PALETTE.len()];
        chart
            .draw_series(events.iter().map(|e| Circle::new((e.at_s, f64::from(e.to)), 4, color.stroke_width(2))))
            .map_err(|e| anyhow!("scaling marks: {e}"))?
            .label(format!("{} scaling decision (new desired count)", t.name))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.stroke_width(2)));
    }
    Ok(())
}

fn simple_panel<DB: DrawingBackend>(
    report: &RunReport,
    area: &DrawingArea<DB, Shift>,
    seconds: f64,
    label: &str,
    points: &dyn Fn(&crate::metrics::TargetReport) -> Vec<(f64, f64)>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let all: Vec<Vec<(f64, f64)>> = report.targets.iter().map(points).collect();
    let peak = all.iter().flatten().map(|(_, y)| *y).fold(0.0_f64, f64::max);
    let high = if peak > 0.0 { peak * 1.15 } else { 1.0 };
    // Whole counts get whole labels; rates below a few per second (sparse traffic over long
    // intervals) need decimals, or every label reads 0 or 1.
    let whole = all.iter().flatten().all(|(_, y)| y.fract() == 0.0);
    let decimals = if whole || high >= 20.0 {
        0
    } else if high >= 2.0 {
        1
    } else {
        2
    };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..seconds, 0.0..high)
        .map_err(|e| anyhow!("{label} axes: {e}"))?;
    chart
        .configure_mesh()
        .y_desc(label)
        .y_labels(if whole { (high.ceil() as usize + 1).clamp(2, 10) } else { 5 })
        .x_desc("seconds since the target's load started")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .y_label_formatter(&|v| {
            // A whole-count axis labels whole counts only (a tick at 0.5 would read "0").
            if decimals == 0 && (v - v.round()).abs() > 1e-9 {
                String::new()
            } else {
                format!("{v:.decimals$}")
            }
        })
        .draw()
        .map_err(|e| anyhow!("{label} grid: {e}"))?;
    for (index, (t, series)) in report.targets.iter().zip(all).enumerate() {
        // A target without this figure (a URL's instances, a synchronous target's queue) gets
        // no line and no legend entry; the others keep their colours.
        if series.is_empty() {
            continue;
        }
        let color = PALETTE[index % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(series, color.stroke_width(line_width(t.measurement.intervals.len()))))
            .map_err(|e| anyhow!("{label} line: {e}"))?
            .label(t.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    if label == INSTANCES {
        scaling_marks(report, &mut chart)?;
    }
    super::legend(&mut chart, SeriesLabelPosition::UpperRight, 12)?;
    Ok(())
}

/// Lines 2 px wide read best, but plotters joins wide segments with miters: a dense zigzag (a
/// long run's many intervals) grows spikes far outside the panel. Dense series get 1 px lines.
fn line_width(points: usize) -> u32 {
    if points > 200 {
        1
    } else {
        2
    }
}
