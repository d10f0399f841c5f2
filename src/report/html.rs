//! `report.html`: one self-contained page (inline SVG charts, the comparison table, notes; no
//! external assets) that opens in any browser.

use std::fmt::Write;

use super::plot::{
    ChartExporter, CostCurve, Figure, Format, InitHistogram, LatencySpectrum, SideBySide, Timeline, Usage,
};
use super::{comparison_rows, Exporter};
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Writes `report.html`.
pub struct HtmlExporter;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn svg<F: Figure>(figure: F, report: &RunReport, analysis: &Analysis) -> anyhow::Result<String> {
    let bytes = ChartExporter { figure, format: Format::Svg }.serialize(report, analysis)?;
    Ok(String::from_utf8(bytes)?)
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'DejaVu Sans',sans-serif;margin:2rem auto;max-width:1000px;\
color:#222}table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}figure{margin:1.5rem 0}svg{max-width:100%;height:auto}\
.note{color:#555;font-size:.9rem}";

impl Exporter for HtmlExporter {
    fn file_name(&self) -> String {
        "report.html".into()
    }

    fn serialize(&self, report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        let w = &report.workload;
        let mut out = String::new();
        writeln!(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
        writeln!(out, "<title>coldbench: {}</title><style>{STYLE}</style></head><body>", escape(&w.name))?;
        writeln!(out, "<h1>coldbench run: {}</h1>", escape(&w.name))?;
        if !w.description.is_empty() {
            writeln!(out, "<p>{}</p>", escape(&w.description))?;
        }
        writeln!(
            out,
            "<p class=\"note\">Started {} · {} s per target · seed {} · traffic <code>{}</code> · coldbench {}</p>",
            escape(&report.started_at),
            w.duration_s,
            w.seed,
            escape(&serde_json::to_string(&w.traffic)?),
            escape(&report.coldbench_version)
        )?;
        writeln!(out, "<table><tr><th></th>")?;
        for t in &report.targets {
            write!(out, "<th>{}</th>", escape(&t.name))?;
        }
        writeln!(out, "</tr>")?;
        for (label, cells) in comparison_rows(report, analysis) {
            write!(out, "<tr><td>{}</td>", escape(&label))?;
            for cell in cells {
                write!(out, "<td>{}</td>", escape(&cell))?;
            }
            writeln!(out, "</tr>")?;
        }
        writeln!(out, "</table>")?;
        let charts = [
            ("Latency by percentile", svg(LatencySpectrum, report, analysis)?),
            ("Timeline", svg(Timeline, report, analysis)?),
            ("Init durations", svg(InitHistogram, report, analysis)?),
            ("Cost against volume", svg(CostCurve, report, analysis)?),
            ("Side by side", svg(SideBySide, report, analysis)?),
            ("CPU and memory per instance", svg(Usage, report, analysis)?),
        ];
        for (caption, chart) in charts {
            writeln!(out, "<figure>{chart}<figcaption class=\"note\">{caption}</figcaption></figure>")?;
        }
        let notes = super::notes(report, analysis);
        if !notes.is_empty() {
            writeln!(out, "<h2>Notes</h2><ul>")?;
            for note in notes {
                writeln!(out, "<li>{}</li>", escape(&note))?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(
            out,
            "<p class=\"note\">Latency counts from each request's intended send time (coordinated-omission free); \
             percentiles come from HDR histograms (3 significant digits). Costs are monthly projections at this \
             run's average rate. Data: results.json, timeseries.csv, invocations.csv, &lt;target&gt;.hlog.</p>"
        )?;
        writeln!(out, "</body></html>")?;
        Ok(out.into_bytes())
    }
}
