//! The HDR percentile spectrum as text, in the layout of HdrHistogram's
//! `outputPercentileDistribution` (what wrk2 prints and HdrHistogram's plotter reads).

use std::fmt::Write;

use hdrhistogram::Histogram;

/// Quantile steps per halving of the remaining tail.
const TICKS_PER_HALF: u32 = 5;

/// Renders a histogram of microseconds with values in milliseconds.
pub fn spectrum(h: &Histogram<u64>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:>12} {:>14} {:>10} {:>14}\n", "Value(ms)", "Percentile", "TotalCount", "1/(1-Percentile)");
    for step in h.iter_quantiles(TICKS_PER_HALF) {
        let quantile = step.quantile_iterated_to();
        let value_ms = h.highest_equivalent(step.value_iterated_to()) as f64 / 1e3;
        let inverse = if quantile < 1.0 { format!("{:14.2}", 1.0 / (1.0 - quantile)) } else { String::new() };
        let _ = writeln!(out, "{value_ms:12.3} {quantile:14.12} {:10} {inverse}", step.count_since_last_iteration());
    }
    if !h.is_empty() {
        let _ = writeln!(
            out,
            "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]",
            h.mean() / 1e3,
            h.stdev() / 1e3,
            h.max() as f64 / 1e3,
            h.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectrum_ends_at_the_maximum_and_counts_everything() {
        let mut h = crate::metrics::new_histogram();
        for us in 1..=1000 {
            h.record(us).unwrap();
        }
        let text = spectrum(&h);
        let rows: Vec<&str> =
            text.lines().filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains("Value")).collect();
        assert!(rows.last().unwrap().contains("1.000000000000"), "{text}");
        let counted: u64 = rows.iter().map(|r| r.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap()).sum();
        assert_eq!(counted, 1000);
        assert!(text.contains("Total count    =         1000"));
    }
}
