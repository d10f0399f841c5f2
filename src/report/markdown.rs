//! `summary.md`: the comparison table and the run's facts as Markdown, for PRs and wikis.

use std::fmt::Write;

use super::{comparison_rows, Exporter};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Writes `summary.md`.
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> String {
        "summary.md".into()
    }

    fn serialize(&self, report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        let w = &report.workload;
        let mut out = String::new();
        writeln!(out, "# coldbench run: {}\n", w.name)?;
        if !w.description.is_empty() {
            writeln!(out, "{}\n", w.description)?;
        }
        writeln!(
            out,
            "Started {} · {} s per target · seed {} · traffic `{}` · coldbench {}\n",
            report.started_at,
            w.duration_s,
            w.seed,
            serde_json::to_string(&w.traffic)?,
            report.coldbench_version
        )?;
        writeln!(out, "## Verdict\n")?;
        for finding in &analysis.verdict.findings {
            writeln!(out, "- {finding}")?;
        }
        for caveat in &analysis.verdict.caveats {
            writeln!(out, "- *Caveat:* {caveat}")?;
        }
        writeln!(out)?;
        let names: Vec<&str> = report.targets.iter().map(|t| t.name.as_str()).collect();
        writeln!(out, "| | {} |", names.join(" | "))?;
        writeln!(out, "|---|{}", "---:|".repeat(names.len()))?;
        for (label, cells) in comparison_rows(report, analysis) {
            writeln!(out, "| {label} | {} |", cells.join(" | "))?;
        }
        if !analysis.thresholds.is_empty() {
            writeln!(out, "\n## Thresholds\n")?;
            for line in analysis.threshold_lines() {
                writeln!(out, "- {line}")?;
            }
        }
        let notes = super::notes(report, analysis);
        if !notes.is_empty() {
            writeln!(out, "\n## Notes\n")?;
            for note in notes {
                writeln!(out, "- {note}")?;
            }
        }
        writeln!(
            out,
            "\nLatency is measured from each request's intended send time (coordinated-omission free); \
             percentiles come from HDR histograms (3 significant digits). Costs are monthly projections \
             at this run's average rate."
        )?;
        Ok(out.into_bytes())
    }
}
