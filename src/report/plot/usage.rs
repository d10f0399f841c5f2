//! `usage.svg/png`: each instance's CPU (vCPUs) and memory (MiB) once a second, from its
//! cgroup, one thin line per instance in its target's colour — two panels sharing the time axis.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::{RunReport, UsageSample};

/// The per-instance usage figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage;

impl Figure for Usage {
    fn name(&self) -> &'static str {
        "usage"
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
        let title = format!("CPU and memory per instance — {}", report.workload.name);
        let measured = report.targets.iter().any(|t| t.usage.as_ref().is_some_and(|u| !u.instances.is_empty()));
        if !measured {
            let why = "no instance had a cgroup in this run (resources off or not enforced)";
            root.draw(&Text::new(why, (150, 270), (FONT, 20))).map_err(|e| anyhow!("usage: {e}"))?;
            root.draw(&Text::new(title, (20, 16), (FONT, 24))).map_err(|e| anyhow!("usage: {e}"))?;
            return Ok(());
        }
        let titled = root.titled(&title, (FONT, 24)).map_err(|e| anyhow!("{e}"))?;
        let panels = titled.split_evenly((2, 1));
        let cpu = |s: &UsageSample| s.cpu_vcpus;
        let memory = |s: &UsageSample| s.memory_mib;
        panel(report, &panels[0], "CPU, vCPUs", &cpu, true)?;
        panel(report, &panels[1], "memory, MiB", &memory, false)?;
        Ok(())
    }
}

fn panel<DB: DrawingBackend>(
    report: &RunReport,
    area: &DrawingArea<DB, Shift>,
    label: &str,
    value: &dyn Fn(&UsageSample) -> f64,
    legend: bool,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let samples =
        || report.targets.iter().filter_map(|t| t.usage.as_ref()).flat_map(|u| &u.instances).flat_map(|i| &i.samples);
    let seconds = samples().map(|s| s.t_s).fold(1.0_f64, f64::max);
    let high = samples().map(value).fold(0.0_f64, f64::max);
    let high = if high > 0.0 { high * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..seconds, 0.0..high)
        .map_err(|e| anyhow!("usage axes: {e}"))?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start of each target's load")
        .y_desc(label)
        .y_labels(5)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(|e| anyhow!("usage grid: {e}"))?;
    for (index, target) in report.targets.iter().enumerate() {
        let Some(usage) = target.usage.as_ref().filter(|u| !u.instances.is_empty()) else { continue };
        let color = PALETTE[index % PALETTE.len()];
        // Many instances draw as a band: the thinner and lighter, the more there are.
        let alpha = (1.0 / (usage.instances.len() as f64).sqrt()).clamp(0.25, 1.0);
        for (n, instance) in usage.instances.iter().enumerate() {
            let line: Vec<(f64, f64)> = instance.samples.iter().map(|s| (s.t_s, value(s))).collect();
            let series = chart
                .draw_series(LineSeries::new(line, color.mix(alpha).stroke_width(2)))
                .map_err(|e| anyhow!("usage line: {e}"))?;
            if legend && n == 0 {
                let quota = instance.quota_vcpus.map_or(String::new(), |q| format!(", quota {q:.3} vCPU"));
                series
                    .label(format!("{} ({} instances{quota})", target.name, usage.instances.len()))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
        }
    }
    if legend {
        super::legend(&mut chart, SeriesLabelPosition::UpperRight, 13)?;
    }
    Ok(())
}
