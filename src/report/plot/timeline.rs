//! `timeline.svg/png`: per second and target, latency p50 and p99 (cold starts and deploys
//! marked), throughput, instances alive (scaling decisions marked), and asynchronous events
//! queued when there were any — panels sharing the time axis, in seconds, minutes, hours or
//! days as the run's span needs, with the key in a column of its own beside them (a legend
//! inside a panel covers its data).

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
        let (titled, key) = titled.split_horizontally(titled.dim_in_pixel().0.saturating_sub(KEY_WIDTH));
        draw_key(report, &key)?;
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
        let time = TimeAxis::for_span(seconds);
        latency_panel(report, &panels[0], time)?;
        // Sparse traffic reads per minute (0.05/s is 3/min).
        let peak_rps = report
            .targets
            .iter()
            .flat_map(|t| t.measurement.intervals.iter().map(move |i| i.requests as f64 / t.measurement.interval_s()))
            .fold(0.0_f64, f64::max);
        let (per, rate_label) =
            if peak_rps > 0.0 && peak_rps < 1.0 { (60.0, "requests / min") } else { (1.0, "requests / s") };
        let throughput = |t: &crate::metrics::TargetReport| -> Vec<(f64, f64)> {
            let length = t.measurement.interval_s();
            t.measurement.intervals.iter().map(|i| (i.start_s, i.requests as f64 / length * per)).collect()
        };
        simple_panel(report, &panels[1], time, rate_label, &throughput)?;
        let alive = |t: &crate::metrics::TargetReport| -> Vec<(f64, f64)> {
            t.measurement
                .intervals
                .iter()
                .enumerate()
                .filter_map(|(s, i)| super::super::instances_alive(t, s).map(|n| (i.start_s, f64::from(n))))
                .collect()
        };
        simple_panel(report, &panels[2], time, INSTANCES, &alive)?;
        if events {
            simple_panel(report, &panels[3], time, "events queued", &queued)?;
        }
        Ok(())
    }
}

/// Width of the key column, in pixels.
const KEY_WIDTH: u32 = 200;

/// The time axis in the unit a reader wants for the run's span.
#[derive(Clone, Copy, Debug)]
struct TimeAxis {
    /// Seconds per unit.
    unit: f64,
    name: &'static str,
    /// The span, in units.
    span: f64,
}

impl TimeAxis {
    fn for_span(seconds: f64) -> Self {
        let (unit, name) = match seconds {
            s if s <= 180.0 => (1.0, "seconds"),
            s if s <= 3.0 * 3600.0 => (60.0, "minutes"),
            s if s <= 3.0 * 86_400.0 => (3600.0, "hours"),
            _ => (86_400.0, "days"),
        };
        Self { unit, name, span: seconds / unit }
    }

    /// A point at `seconds` on this axis.
    fn at(self, seconds: f64) -> f64 {
        seconds / self.unit
    }

    fn description(self) -> String {
        format!("{} since the target's load started", self.name)
    }
}

/// The key: each target's colour and lines, and the marks the panels use.
fn draw_key<DB: DrawingBackend>(report: &RunReport, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e| anyhow!("timeline key: {e}");
    let mut y = 36;
    for (index, t) in report.targets.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let name: String =
            if t.name.chars().count() > 20 { t.name.chars().take(19).chain(['…']).collect() } else { t.name.clone() };
        area.draw(&PathElement::new(vec![(8, y + 8), (28, y + 8)], color.stroke_width(3))).map_err(err)?;
        area.draw(&Text::new(name, (34, y), (FONT, 14))).map_err(err)?;
        y += 18;
        area.draw(&PathElement::new(vec![(14, y + 7), (28, y + 7)], color.mix(0.5).stroke_width(2))).map_err(err)?;
        area.draw(&Text::new("p99 (p50: solid)", (34, y), (FONT, 12))).map_err(err)?;
        y += 22;
    }
    y += 6;
    let marks: [(bool, &str); 3] = [
        (report.targets.iter().any(|t| t.measurement.cold > 0), "▲ cold starts (at the max)"),
        (report.targets.iter().any(|t| t.fleet.as_ref().is_some_and(|f| !f.events.is_empty())), "○ scaling decision"),
        (report.targets.iter().any(|t| t.deploy.is_some()), "| deploy began, done"),
    ];
    for (_, text) in marks.iter().filter(|(shown, _)| *shown) {
        area.draw(&Text::new(*text, (8, y), (FONT, 12))).map_err(err)?;
        y += 18;
    }
    Ok(())
}

fn latency_panel<DB: DrawingBackend>(
    report: &RunReport,
    area: &DrawingArea<DB, Shift>,
    time: TimeAxis,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let values = report
        .targets
        .iter()
        // The cold-start marks sit at their interval's max: the axis holds them too.
        .flat_map(|t| {
            t.measurement.intervals.iter().flat_map(|i| [i.p50_us, i.p99_us, i.max_us.filter(|_| i.cold > 0)])
        })
        .flatten()
        .map(|us| us as f64 / 1e3);
    let (low, high) = values.fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = if high > 0.0 { ((low * 0.8).max(0.001), high * 1.25) } else { (0.1, 10.0) };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..time.span, (low..high).log_scale())
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
        let p50: Vec<(f64, f64)> = t
            .measurement
            .intervals
            .iter()
            .filter_map(|i| i.p50_us.map(|v| (time.at(i.start_s), v as f64 / 1e3)))
            .collect();
        let p99: Vec<(f64, f64)> = t
            .measurement
            .intervals
            .iter()
            .filter_map(|i| i.p99_us.map(|v| (time.at(i.start_s), v as f64 / 1e3)))
            .collect();
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
            .filter_map(|i| i.max_us.map(|v| (time.at(i.start_s), v as f64 / 1e3)))
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
        let marks: Vec<f64> = std::iter::once(deploy.at_s).chain(deploy.done_s).map(|s| time.at(s)).collect();
        chart
            .draw_series(marks.into_iter().map(|x| PathElement::new(vec![(x, low), (x, high)], color.stroke_width(1))))
            .map_err(|e| anyhow!("deploy marks: {e}"))?
            .label(format!("{} deploy (began, done)", t.name))
            .legend(move |(x, y)| PathElement::new(vec![(x + 10, y - 6), (x + 10, y + 6)], color.stroke_width(1)));
    }
    Ok(())
}

/// Each autoscaling decision, drawn on the instances panel at its new desired count.
fn scaling_marks<DB: DrawingBackend>(
    report: &RunReport,
    time: TimeAxis,
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
            .draw_series(
                events.iter().map(|e| Circle::new((time.at(e.at_s), f64::from(e.to)), 4, color.stroke_width(2))),
            )
            .map_err(|e| anyhow!("scaling marks: {e}"))?
            .label(format!("{} scaling decision (new desired count)", t.name))
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.stroke_width(2)));
    }
    Ok(())
}

fn simple_panel<DB: DrawingBackend>(
    report: &RunReport,
    area: &DrawingArea<DB, Shift>,
    time: TimeAxis,
    label: &str,
    points: &dyn Fn(&crate::metrics::TargetReport) -> Vec<(f64, f64)>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let all: Vec<Vec<(f64, f64)>> =
        report.targets.iter().map(|t| points(t).into_iter().map(|(x, y)| (time.at(x), y)).collect()).collect();
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
        .build_cartesian_2d(0.0..time.span, 0.0..high)
        .map_err(|e| anyhow!("{label} axes: {e}"))?;
    chart
        .configure_mesh()
        .y_desc(label)
        .y_labels(if whole { (high.ceil() as usize + 1).clamp(2, 10) } else { 5 })
        .x_desc(time.description())
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
        scaling_marks(report, time, &mut chart)?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_read_in_minutes_hours_or_days() {
        let names: Vec<&str> =
            [40.0, 600.0, 8.0 * 3600.0, 30.0 * 86_400.0].iter().map(|s| TimeAxis::for_span(*s).name).collect();
        assert_eq!(names, ["seconds", "minutes", "hours", "days"]);
        let hours = TimeAxis::for_span(8.0 * 3600.0);
        assert_eq!((hours.span, hours.at(5400.0)), (8.0, 1.5));
    }
}
