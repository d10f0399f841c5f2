//! `cost.svg/png`: monthly cost against monthly requests (log-log) for every target with a cost
//! projection, the break-even volume and this run's volume marked.

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, FONT, PALETTE};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// The cost-versus-volume figure.
#[derive(Clone, Copy, Debug, Default)]
pub struct CostCurve;

const LOW: f64 = 1e4;
const HIGH: f64 = 1e10;

fn volume_label(v: &f64) -> String {
    match *v {
        v if v >= 1e9 => format!("{:.0}B", v / 1e9),
        v if v >= 1e6 => format!("{:.0}M", v / 1e6),
        v if v >= 1e3 => format!("{:.0}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

/// A dollar tick with the digits it needs: `$0.002`, `$0.05`, `$3`, `$1,500`.
fn usd_tick(v: &f64) -> String {
    match *v {
        v if v >= 1.0 => format!("${}", crate::units::format_count(v)),
        v if v > 0.0 => {
            let decimals = ((-v.log10()).ceil() as usize).max(2);
            format!("${v:.decimals$}")
        }
        _ => "$0".into(),
    }
}

impl Figure for CostCurve {
    fn name(&self) -> &'static str {
        "cost"
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
        let costed: Vec<_> = report
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| analysis.cost_of(&t.name).map(|c| (i, t, c)))
            .collect();
        let title = format!("Monthly cost vs monthly requests — {}", report.workload.name);
        if costed.is_empty() {
            root.draw(&Text::new("no cost projection in this run", (330, 270), (FONT, 22)))
                .map_err(|e| anyhow!("cost: {e}"))?;
            root.draw(&Text::new(title, (20, 16), (FONT, 24))).map_err(|e| anyhow!("cost: {e}"))?;
            return Ok(());
        }
        let at = |fixed: f64, per: f64, n: f64| fixed + per * n;
        let top = costed.iter().map(|(_, _, c)| at(c.fixed_monthly, c.per_request, HIGH)).fold(1.0_f64, f64::max) * 2.0;
        // Down to the cheapest line's cost at the lowest volume, so no line is clipped flat.
        let bottom = costed
            .iter()
            .map(|(_, _, c)| at(c.fixed_monthly, c.per_request, LOW))
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let bottom = if bottom.is_finite() { bottom / 2.0 } else { 0.01 }.max(1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d((LOW..HIGH).log_scale(), (bottom..top).log_scale())
            .map_err(|e| anyhow!("cost axes: {e}"))?;
        chart
            .configure_mesh()
            .x_desc("requests per month (log)")
            .y_desc("USD per month (log)")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_labels(12)
            .x_label_formatter(&volume_label)
            .y_label_formatter(&usd_tick)
            .draw()
            .map_err(|e| anyhow!("cost grid: {e}"))?;
        for (index, target, cost) in &costed {
            let color = PALETTE[index % PALETTE.len()];
            let points: Vec<(f64, f64)> = (0..=60)
                .map(|i| LOW * (HIGH / LOW).powf(f64::from(i) / 60.0))
                .map(|n| (n, at(cost.fixed_monthly, cost.per_request, n).max(bottom)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(|e| anyhow!("cost line: {e}"))?
                .label(format!("{} ({})", target.name, target.kind))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
            if let Some(n) = cost.break_even_requests_per_month.filter(|n| (LOW..HIGH).contains(n)) {
                let y = at(cost.fixed_monthly, cost.per_request, n);
                chart
                    .draw_series([Circle::new((n, y), 7, BLACK.filled())])
                    .map_err(|e| anyhow!("break-even: {e}"))?
                    .label(format!("break-even: {} requests/month", volume_label(&n)))
                    .legend(|(x, y)| Circle::new((x + 12, y), 5, BLACK.filled()));
            }
        }
        let volume = costed[0].2.requests_per_month.clamp(LOW, HIGH);
        chart
            .draw_series(LineSeries::new(
                [(volume, bottom * 1.01), (volume, top * 0.99)],
                BLACK.mix(0.6).stroke_width(2),
            ))
            .map_err(|e| anyhow!("run volume: {e}"))?
            .label(format!("this run's rate: {} requests/month", volume_label(&volume)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.mix(0.6).stroke_width(2)));
        super::legend(&mut chart, SeriesLabelPosition::UpperLeft, 15)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_dollar_ticks_keep_their_digits() {
        let ticks: Vec<String> = [0.002, 0.05, 0.5, 3.0, 1500.0].iter().map(usd_tick).collect();
        assert_eq!(ticks, ["$0.002", "$0.05", "$0.50", "$3", "$1,500"]);
    }
}
