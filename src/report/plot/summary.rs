//! `summary.svg/png`: p50, p99 and cost per million requests side by side, one bar per target.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::{RunReport, TargetReport};

/// The side-by-side figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct SideBySide;

type Measure = (&'static str, fn(&TargetReport, &Analysis) -> Option<f64>, fn(f64) -> String);

fn measures() -> [Measure; 3] {
    [
        (
            "latency p50 (ms)",
            |t, _| t.measurement.latency.as_ref().map(|s| s.p50_us as f64 / 1e3),
            |v| format!("{v:.2}"),
        ),
        (
            "latency p99 (ms)",
            |t, _| t.measurement.latency.as_ref().map(|s| s.p99_us as f64 / 1e3),
            |v| format!("{v:.1}"),
        ),
        ("cost per 1M requests (USD)", |t, a| a.cost_of(&t.name).and_then(|c| c.per_million), |v| format!("${v:.3}")),
    ]
}

/// Rows the name strip needs for the report's targets.
fn legend_rows(report: &RunReport) -> u32 {
    super::strip_rows(report.targets.iter().map(|t| t.name.as_str())) as u32
}

impl Figure for SideBySide {
    fn name(&self) -> &'static str {
        "summary"
    }

    fn draw<DB: DrawingBackend>(
        &self,
        report: &RunReport,
        analysis: &Analysis,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<()>
    where
        DB::ErrorType: 'static,
    {
        let titled = root
            .titled(&format!("p50, p99 and cost per target — {}", report.workload.name), (FONT, 24))
            .map_err(|e| anyhow!("{e}"))?;
        // The targets' names in a strip of their own below the panels: under each bar they
        // collide as soon as there are four or more.
        let (area, strip) =
            titled.split_vertically(titled.dim_in_pixel().1.saturating_sub(22 * legend_rows(report) + 8));
        super::name_strip(&strip, report.targets.iter().map(|t| t.name.as_str()))?;
        let panels = area.split_evenly((1, 3));
        let n = report.targets.len().max(1);
        let crowded = n >= 4;
        for ((label, get, show), panel) in measures().into_iter().zip(panels.iter()) {
            let values: Vec<Option<f64>> = report.targets.iter().map(|t| get(t, analysis)).collect();
            let top = values.iter().flatten().copied().fold(0.0_f64, f64::max).max(1e-6) * 1.25;
            let mut chart = ChartBuilder::on(panel)
                .caption(label, (FONT, 17))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0.0..n as f64, 0.0..top)
                .map_err(|e| anyhow!("{label} axes: {e}"))?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_label_formatter(&|v| format!("{v:.2}"))
                .label_style((FONT, 13))
                .draw()
                .map_err(|e| anyhow!("{label} grid: {e}"))?;
            for (index, value) in values.iter().enumerate() {
                let Some(v) = *value else { continue };
                let color = PALETTE[index % PALETTE.len()];
                let x = index as f64;
                chart
                    .draw_series([Rectangle::new([(x + 0.15, 0.0), (x + 0.85, v)], color.filled())])
                    .map_err(|e| anyhow!("{label} bar: {e}"))?;
                // Many narrow bars: the value reads upwards above its bar, not across its neighbours.
                let text = if crowded {
                    Text::new(
                        show(v),
                        (x + 0.35, v + top * 0.02),
                        (FONT, 12).into_font().transform(FontTransform::Rotate270),
                    )
                } else {
                    Text::new(show(v), (x + 0.2, v + top * 0.03), (FONT, 13).into_font())
                };
                chart.draw_series([text]).map_err(|e| anyhow!("{label} value: {e}"))?;
            }
        }
        Ok(())
    }
}
