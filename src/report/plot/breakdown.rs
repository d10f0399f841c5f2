//! `breakdown.svg/png`: what each target's figures are made of — the share of its requests that
//! met a cold start, its requests by outcome, and its monthly bill by line item. Horizontal bars,
//! one row per target, so names stay legible with many targets.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// The breakdown figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct Breakdown;

/// Colours of the parts of a stacked bar: ok first (green), then the others.
const PARTS: [RGBColor; 8] = [
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// One panel: a title, per target its parts `(label, value)`, the axis unit shown.
struct Panel {
    title: String,
    rows: Vec<(String, Vec<(String, f64)>)>,
    show: fn(f64) -> String,
    /// One part per bar, coloured as its target; otherwise each part as its kind, with a key.
    by_target: bool,
}

fn panels(report: &RunReport, analysis: &Analysis) -> [Panel; 3] {
    let names = || report.targets.iter().map(|t| t.name.clone());
    let cold = Panel {
        title: "requests that met a cold start (%)".into(),
        rows: names()
            .zip(&report.targets)
            .map(|(n, t)| {
                let share = t.measurement.cold as f64 / t.measurement.requests.max(1) as f64 * 100.0;
                (n, vec![("cold".to_string(), share)])
            })
            .collect(),
        show: |v| format!("{v:.1}%"),
        by_target: true,
    };
    let outcomes = Panel {
        title: "requests by outcome (%)".into(),
        rows: names()
            .zip(&report.targets)
            .map(|(n, t)| {
                let m = &t.measurement;
                let total = m.requests.max(1) as f64;
                let mut parts = vec![("ok".to_string(), m.outcomes.ok as f64 / total * 100.0)];
                parts.extend(m.outcomes.error_kinds().into_iter().map(|(k, c)| (k, c as f64 / total * 100.0)));
                (n, parts)
            })
            .collect(),
        show: |v| format!("{v:.0}%"),
        by_target: false,
    };
    let cost = Panel {
        title: "cost per month by line item (USD)".into(),
        rows: names()
            .map(|n| {
                let parts = analysis.cost_of(&n).map_or_else(Vec::new, |c| {
                    c.monthly
                        .items
                        .iter()
                        .filter(|l| l.usd > 0.0)
                        .map(|l| (l.item.label().to_string(), l.usd))
                        .collect()
                });
                (n, parts)
            })
            .collect(),
        show: |v| format!("${v:.2}"),
        by_target: false,
    };
    [cold, outcomes, cost]
}

impl Figure for Breakdown {
    fn name(&self) -> &'static str {
        "breakdown"
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
            .titled(&format!("Cold starts, outcomes and cost per target — {}", report.workload.name), (FONT, 24))
            .map_err(|e| anyhow!("{e}"))?;
        let n = report.targets.len().max(1);
        for (panel, area) in panels(report, analysis).into_iter().zip(titled.split_evenly((3, 1)).iter()) {
            // Every part's label in the order first met: one colour per label across targets.
            let mut labels: Vec<String> = Vec::new();
            for (_, parts) in &panel.rows {
                for (label, _) in parts {
                    if !labels.contains(label) {
                        labels.push(label.clone());
                    }
                }
            }
            let (plot, key) = area.split_horizontally(area.dim_in_pixel().0 * 3 / 4);
            let top = panel.rows.iter().map(|(_, p)| p.iter().map(|(_, v)| v).sum::<f64>()).fold(0.0_f64, f64::max);
            let top = if top > 0.0 { top * 1.15 } else { 1.0 };
            let names: Vec<String> = panel.rows.iter().map(|(name, _)| name.clone()).collect();
            let mut chart = ChartBuilder::on(&plot)
                .caption(&panel.title, (FONT, 16))
                .margin(6)
                .x_label_area_size(22)
                .y_label_area_size(130)
                .build_cartesian_2d(0.0..top, 0.0..n as f64)
                .map_err(|e| anyhow!("{} axes: {e}", panel.title))?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .y_labels(n * 2 + 1)
                .y_label_formatter(&|y| {
                    let slot = y.floor() as usize;
                    // Targets from the top down, as the table lists them.
                    match names.get(n.saturating_sub(slot + 1)) {
                        Some(name) if (y - slot as f64 - 0.5).abs() < 0.01 => {
                            if name.chars().count() > 16 {
                                name.chars().take(15).chain(['…']).collect()
                            } else {
                                name.clone()
                            }
                        }
                        _ => String::new(),
                    }
                })
                .x_labels(6)
                .x_label_formatter(&|v| (panel.show)(*v))
                .label_style((FONT, 12))
                .draw()
                .map_err(|e| anyhow!("{} grid: {e}", panel.title))?;
            for (row, (_, parts)) in panel.rows.iter().enumerate() {
                let y = (n - row - 1) as f64;
                let mut from = 0.0;
                for (label, value) in parts {
                    let i = labels.iter().position(|l| l == label).unwrap_or(0);
                    let color = if panel.by_target { PALETTE[row % PALETTE.len()] } else { PARTS[i % PARTS.len()] };
                    chart
                        .draw_series([Rectangle::new([(from, y + 0.2), (from + value, y + 0.8)], color.filled())])
                        .map_err(|e| anyhow!("{} bar: {e}", panel.title))?;
                    from += value;
                }
                let text = if parts.is_empty() { "-".to_string() } else { (panel.show)(from) };
                chart
                    .draw_series([Text::new(text, (from + top * 0.01, y + 0.3), (FONT, 12))])
                    .map_err(|e| anyhow!("{} total: {e}", panel.title))?;
            }
            if !panel.by_target {
                for (i, label) in labels.iter().enumerate() {
                    let y = 24 + 18 * i as i32;
                    let color = PARTS[i % PARTS.len()];
                    key.draw(&Rectangle::new([(4, y), (16, y + 12)], color.filled()))
                        .map_err(|e| anyhow!("key: {e}"))?;
                    key.draw(&Text::new(label.clone(), (22, y - 1), (FONT, 13))).map_err(|e| anyhow!("key: {e}"))?;
                }
            }
        }
        Ok(())
    }
}
