//! `init.svg/png`: the distribution of Init durations over a run's cold starts, per function target.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Bars in the histogram.
const BINS: usize = 20;

/// An Init duration in milliseconds and how many cold starts had it.
type InitCount = (f64, u64);

/// The Init-duration histogram figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitHistogram;

impl Figure for InitHistogram {
    fn name(&self) -> &'static str {
        "init"
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
        // Per target: (Init in ms, how many cold starts had it), from its summed records.
        let inits: Vec<(usize, &str, Vec<InitCount>)> = report
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                let init = &t.function.as_ref()?.invocations.init_us;
                let values = init.iter_recorded().map(|v| (v.value_iterated_to() as f64 / 1e3, v.count_at_value()));
                Some((i, t.name.as_str(), values.collect::<Vec<_>>()))
            })
            .filter(|(_, _, v)| !v.is_empty())
            .collect();
        let title = format!("Init duration of cold starts — {}", report.workload.name);
        if inits.is_empty() {
            root.draw(&Text::new("no cold starts in this run", (360, 270), (FONT, 22)))
                .map_err(|e| anyhow!("init: {e}"))?;
            root.draw(&Text::new(title, (20, 16), (FONT, 24))).map_err(|e| anyhow!("init: {e}"))?;
            return Ok(());
        }
        let low = inits.iter().flat_map(|(_, _, v)| v.iter().map(|(ms, _)| *ms)).fold(f64::MAX, f64::min);
        let high = inits.iter().flat_map(|(_, _, v)| v.iter().map(|(ms, _)| *ms)).fold(0.0_f64, f64::max);
        let (low, width) =
            if high > low { (low, (high - low) / BINS as f64 * 1.0001) } else { (low - 0.5, 1.0 / BINS as f64) };
        let counts: Vec<(usize, &str, Vec<u32>)> = inits
            .iter()
            .map(|(i, name, values)| {
                let mut bins = vec![0u32; BINS];
                for (ms, n) in values {
                    let bin = &mut bins[(((ms - low) / width) as usize).min(BINS - 1)];
                    *bin = bin.saturating_add(u32::try_from(*n).unwrap_or(u32::MAX));
                }
                (*i, *name, bins)
            })
            .collect();
        let top = counts.iter().flat_map(|(_, _, b)| b.iter().copied()).max().unwrap_or(1);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(low..low + width * BINS as f64, 0u32..top + 1)
            .map_err(|e| anyhow!("init axes: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("Init duration (ms): spawn → first /next")
            .y_desc("cold starts")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .x_label_formatter(&|v| format!("{v:.1}"))
            .draw()
            .map_err(|e| anyhow!("init grid: {e}"))?;
        let share = counts.len() as f64;
        for (slot, (index, name, bins)) in counts.into_iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let bars = bins.into_iter().enumerate().filter(|(_, c)| *c > 0).map(move |(b, c)| {
                let x0 = low + width * (b as f64 + slot as f64 / share);
                Rectangle::new([(x0, 0), (x0 + width / share * 0.9, c)], color.mix(0.8).filled())
            });
            chart
                .draw_series(bars)
                .map_err(|e| anyhow!("init bars: {e}"))?
                .label(name.to_string())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        }
        super::legend(&mut chart, SeriesLabelPosition::UpperRight, 15)?;
        Ok(())
    }
}
