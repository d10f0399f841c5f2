//! `<target>.hlog`: the HdrHistogram interval log (the text format HdrHistogram's
//! `HistogramLogWriter` writes and every HdrHistogram implementation reads): one line per
//! second with the interval's latency histogram, base64 of the compressed V2 encoding.

use std::fmt::Write;

use super::Exporter;
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Writes one target's interval log.
pub struct HlogExporter {
    pub target: String,
}

impl Exporter for HlogExporter {
    fn file_name(&self) -> String {
        format!("{}.hlog", self.target)
    }

    fn serialize(&self, report: &RunReport, _analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        let target = report
            .targets
            .iter()
            .find(|t| t.name == self.target)
            .ok_or_else(|| anyhow::anyhow!("no target {:?} in the report", self.target))?;
        let start = humantime::parse_rfc3339(&target.started_at)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        let mut out = String::new();
        writeln!(out, "#[coldbench {} latency of target {} in microseconds]", report.coldbench_version, target.name)?;
        writeln!(out, "#[Histogram log format version 1.3]")?;
        writeln!(out, "#[StartTime: {start:.3} (seconds since epoch), {}]", target.started_at)?;
        writeln!(out, "#[BaseTime: {start:.3} (seconds since epoch)]")?;
        writeln!(out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"")?;
        let intervals = &target.measurement.intervals;
        let length = match intervals.as_slice() {
            [first, second, ..] => second.start_s - first.start_s,
            _ => 1.0,
        };
        for interval in intervals {
            if let (Some(histogram), Some(max_us)) = (&interval.histogram, interval.max_us) {
                // Interval_Max in milliseconds, as HdrHistogram's writer scales µs values.
                writeln!(out, "{:.3},{length:.3},{:.3},{histogram}", interval.start_s, max_us as f64 / 1e3)?;
            }
        }
        Ok(out.into_bytes())
    }
}
