//! `latency.svg/png`: the latency percentile spectrum per target (cold and warm where split),
//! on a logarithmic "nines" axis up to 99.999 % — the chart wrk2 and HdrHistogram users know.

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

/// One line: a label and (nines, milliseconds) points.
type Series = (String, Vec<(f64, f64)>, bool);

fn spectrum_points(encoded: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let h = decode(encoded)?;
    if h.is_empty() {
        return Ok(Vec::new());
    }
    // Stop where the histogram has no more resolution: beyond 1 - 1/count every quantile is the max.
    let deepest = (h.len() as f64).log10().min(MAX_NINES);
    let steps = (deepest * f64::from(STEPS_PER_NINE)).ceil() as u32;
    Ok((0..=steps)
        .map(|i| {
            let nines = (f64::from(i) / f64::from(STEPS_PER_NINE)).min(deepest);
            let q = 1.0 - 10f64.powf(-nines);
            (nines, h.value_at_quantile(q) as f64 / 1e3)
        })
        .collect())
}

fn series(report: &RunReport) -> anyhow::Result<Vec<Series>> {
    let mut out = Vec::new();
    for t in &report.targets {
        out.push((t.name.clone(), spectrum_points(&t.measurement.histograms.latency)?, false));
        if t.measurement.cold > 0 && t.measurement.warm > 0 {
            out.push((
                format!("{} (warm only)", t.name),
                spectrum_points(&t.measurement.histograms.warm_latency)?,
                true,
            ));
            out.push((
                format!("{} (cold only)", t.name),
                spectrum_points(&t.measurement.histograms.cold_latency)?,
                true,
            ));
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
        let mut chart = ChartBuilder::on(root)
            .caption(format!("Latency by percentile — {}", report.workload.name), (FONT, 26))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..max_x, 0.0..max_ms * 1.08)
            .map_err(|e| anyhow!("latency axes: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("percentile (log scale of nines)")
            .y_desc("latency (ms, from intended send time)")
            .x_labels(max_x as usize + 1)
            .x_label_formatter(&nines_label)
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .draw()
            .map_err(|e| anyhow!("latency grid: {e}"))?;
        let mut color_index = 0;
        for (label, points, warm_only) in lines {
            if !warm_only {
                color_index += 1;
            }
            let color = PALETTE[(color_index - 1) % PALETTE.len()];
            let style = match (warm_only, label.ends_with("(cold only)")) {
                (true, true) => color.mix(0.7).stroke_width(2),
                (true, false) => color.mix(0.4).stroke_width(2),
                _ => color.stroke_width(3),
            };
            chart
                .draw_series(LineSeries::new(points, style))
                .map_err(|e| anyhow!("latency line {label}: {e}"))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        super::legend(&mut chart, SeriesLabelPosition::MiddleLeft, 16)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_are_labelled_as_percentiles() {
        let labels: Vec<String> = [0.0, 1.0, 2.0, 3.0, 5.0].iter().map(nines_label).collect();
        assert_eq!(labels, ["0%", "90%", "99%", "99.9%", "99.999%"]);
    }
}
