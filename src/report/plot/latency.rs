//! `latency.svg/png`: the latency percentile spectrum per target (cold and warm where split),
//! on a logarithmic "nines" axis up to 99.999 % — the chart wrk2 and HdrHistogram users know.
//!
//! The cold-only and warm-only lines sit where their requests sit among all of the target's:
//! each of their latencies at the percentile it has in the whole distribution, so the cold line
//! covers the tail it makes (say 97–100 %), not the whole axis. The latency axis turns
//! logarithmic when the tail is more than 20 times the median, so the body stays visible.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::{decode, RunReport};

/// The deepest percentile plotted: 99.999 %.
const MAX_NINES: f64 = 5.0;
/// Points per decade of nines.
const STEPS_PER_NINE: u32 = 40;

/// The percentile spectrum figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct LatencySpectrum;

/// One line: a label, (nines, milliseconds) points, and which part of the target it is.
type Series = (String, Vec<(f64, f64)>, Part);

/// All of a target's requests, or its warm or cold ones alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    All,
    Warm,
    Cold,
}

/// The tail-over-median ratio past which the latency axis is logarithmic.
const LOG_AXIS_RATIO: f64 = 20.0;

/// Nines of a quantile (0.99 → 2), capped at the deepest plotted.
fn nines_of(q: f64, deepest: f64) -> f64 {
    if q >= 1.0 {
        deepest
    } else {
        (-(1.0 - q).log10()).clamp(0.0, deepest)
    }
}

/// A part's spectrum placed on its whole target's percentiles: each latency at the share of all
/// the target's requests at or below it.
fn placed_points(part: &str, all: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let (part, all) = (decode(part)?, decode(all)?);
    if part.is_empty() || all.is_empty() {
        return Ok(Vec::new());
    }
    let deepest = (all.len() as f64).log10().min(MAX_NINES);
    let mut points: Vec<(f64, f64)> = spectrum_points_of(&part)
        .into_iter()
        .map(|(_, ms)| {
            let us = (ms * 1e3).round() as u64;
            (nines_of(all.quantile_below(us), deepest), ms)
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    Ok(points)
}

fn spectrum_points(encoded: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    Ok(spectrum_points_of(&decode(encoded)?))
}

fn spectrum_points_of(h: &hdrhistogram::Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    // Stop where the histogram has no more resolution: beyond 1 - 1/count every quantile is the max.
    let deepest = (h.len() as f64).log10().min(MAX_NINES);
    let steps = (deepest * f64::from(STEPS_PER_NINE)).ceil() as u32;
    (0..=steps)
        .map(|i| {
            let nines = (f64::from(i) / f64::from(STEPS_PER_NINE)).min(deepest);
            let q = 1.0 - 10f64.powf(-nines);
            (nines, h.value_at_quantile(q) as f64 / 1e3)
        })
        .collect()
}

fn series(report: &RunReport) -> anyhow::Result<Vec<Series>> {
    let mut out = Vec::new();
    for t in &report.targets {
        let h = &t.measurement.histograms;
        out.push((t.name.clone(), spectrum_points(&h.latency)?, Part::All));
        if t.measurement.cold > 0 && t.measurement.warm > 0 {
            out.push((format!("{} (warm only)", t.name), placed_points(&h.warm_latency, &h.latency)?, Part::Warm));
            out.push((format!("{} (cold only)", t.name), placed_points(&h.cold_latency, &h.latency)?, Part::Cold));
        }
    }
    Ok(out)
}

fn nines_label(x: &f64) -> String {
    let q = 100.0 * (1.0 - 10f64.powf(-x));
    match x.round() as i32 {
        0 => "0%".into(),
        1 => "90%".into(),
        _ => format!("{q:.*}%", (x.round() as usize).saturating_sub(2)),
    }
}

impl Figure for LatencySpectrum {
    fn name(&self) -> &'static str {
        "latency"
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
        let lines = series(report)?;
        let max_ms = lines.iter().flat_map(|(_, p, _)| p.iter().map(|(_, y)| *y)).fold(0.0_f64, f64::max).max(0.001);
        let max_x = lines.iter().flat_map(|(_, p, _)| p.last().map(|(x, _)| *x)).fold(1.0_f64, f64::max).ceil();
        // The smallest median of a target: the body the axis must keep visible.
        let body = lines
            .iter()
            .filter(|(_, _, part)| *part == Part::All)
            .filter_map(|(_, p, _)| p.iter().find(|(x, _)| *x >= 0.3).map(|(_, y)| *y))
            .fold(f64::INFINITY, f64::min);
        let log_axis = body.is_finite() && max_ms / body.max(0.001) > LOG_AXIS_RATIO;
        let caption = format!("Latency by percentile — {}", report.workload.name);
        // One chart, on a logarithmic or a linear latency axis: the same build and mesh either way.
        macro_rules! spectrum {
            ($y:expr, $desc:expr, $labels:expr, $light:expr) => {{
                let mut chart = ChartBuilder::on(root)
                    .caption(caption, (FONT, 26))
                    .margin(16)
                    .margin_right(36)
                    .x_label_area_size(48)
                    .y_label_area_size(72)
                    .build_cartesian_2d(0.0..max_x, $y)
                    .map_err(|e| anyhow!("latency axes: {e}"))?;
                chart
                    .configure_mesh()
                    .x_desc("percentile (log scale of nines)")
                    .y_desc($desc)
                    .x_labels(max_x as usize + 1)
                    .x_label_formatter(&nines_label)
                    .y_label_formatter($labels)
                    .light_line_style($light)
                    .label_style((FONT, 15))
                    .axis_desc_style((FONT, 17))
                    .draw()
                    .map_err(|e| anyhow!("latency grid: {e}"))?;
                draw_lines(&mut chart, lines)?;
                super::legend(&mut chart, SeriesLabelPosition::UpperLeft, 16)?;
            }};
        }
        if log_axis {
            let low = lines.iter().flat_map(|(_, p, _)| p.iter().map(|(_, y)| *y)).fold(f64::INFINITY, f64::min);
            let low = (low * 0.8).max(0.001);
            let desc = "latency (ms, log scale, from intended send time)";
            spectrum!((low..max_ms * 1.3).log_scale(), desc, &log_ms_label, BLACK.mix(0.04));
        } else {
            spectrum!(0.0..max_ms * 1.08, "latency (ms, from intended send time)", &ms_label, BLACK.mix(0.1));
        }
        Ok(())
    }
}

fn ms_label(v: &f64) -> String {
    match *v {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 1.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

/// A log axis labels 1, 2 and 5 of each decade only (every tick labelled reads as a smear).
fn log_ms_label(v: &f64) -> String {
    let mantissa = v / 10f64.powf(v.log10().floor());
    if [1.0, 2.0, 5.0, 10.0].iter().any(|m| (mantissa - m).abs() < 0.02) {
        ms_label(v)
    } else {
        String::new()
    }
}

/// Each target's line solid; where it is split, the whole is a wide pale band with its
/// warm-only line on top of it (so neither hides the other) and its cold-only line dashed, over
/// the tail it covers.
fn draw_lines<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    lines: Vec<Series>,
) -> anyhow::Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let split: Vec<bool> = lines.iter().map(|(_, _, part)| *part != Part::All).collect();
    let mut color_index = 0;
    for (i, (label, points, part)) in lines.into_iter().enumerate() {
        if part == Part::All {
            color_index += 1;
        }
        let color = PALETTE[(color_index.max(1) - 1) % PALETTE.len()];
        let banded = part == Part::All && split.get(i + 1).copied().unwrap_or(false);
        let style = match part {
            Part::All if banded => color.mix(0.3).stroke_width(8),
            Part::All => color.stroke_width(3),
            Part::Warm => color.stroke_width(2),
            Part::Cold => BLACK.mix(0.75).stroke_width(2),
        };
        let drawn = match part {
            Part::All | Part::Warm => chart.draw_series(LineSeries::new(points, style)),
            Part::Cold => chart.draw_series(DashedLineSeries::new(points, 6, 4, style)),
        };
        drawn
            .map_err(|e| anyhow!("latency line {label}: {e}"))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cold_only_line_covers_the_tail_it_makes_not_the_whole_axis() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/verdict/quickstart-measured.json");
        let report = crate::report::read_results(std::path::Path::new(path)).unwrap();
        let t = &report.targets[0];
        let cold_share = t.measurement.cold as f64 / t.measurement.requests as f64;
        let h = &t.measurement.histograms;
        let cold = placed_points(&h.cold_latency, &h.latency).unwrap();
        // 19 of 522 cold (3.6 %): they hold the percentiles from about 96.4 % up.
        let first = 1.0 - 10f64.powf(-cold[0].0);
        assert!(first >= 1.0 - cold_share - 0.01, "the cold line starts at {first}");
        assert!(cold.windows(2).all(|w| w[0].0 <= w[1].0), "in percentile order");
        let warm = placed_points(&h.warm_latency, &h.latency).unwrap();
        assert!(warm[0].0 < 0.1, "the warm line starts at the bottom");
        assert!(
            1.0 - 10f64.powf(-warm.last().unwrap().0) <= 1.0 - cold_share + 0.02,
            "and ends where the cold tail begins"
        );
    }

    #[test]
    fn nines_are_labelled_as_percentiles() {
        let labels: Vec<String> = [0.0, 1.0, 2.0, 3.0, 5.0].iter().map(nines_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.999%"]);
    }
}
