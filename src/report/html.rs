//! `report.html`: one self-contained page (inline SVG charts, the comparison table, notes; no
//! external assets) that opens in any browser.

use std::fmt::Write;

use super::plot::{
    Breakdown, ChartExporter, CostCurve, Figure, Format, InitHistogram, LatencySpectrum, SideBySide, Timeline, Usage,
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
.note{color:#555;font-size:.9rem}.verdict li{margin:.3rem 0}.caveat{color:#8a4b00}";

/// Where each target's request time went, phase by phase (k6's split), with the connections'
/// counts and, when connects waited for SYN retries, what that means.
fn phases(out: &mut String, report: &RunReport) -> std::fmt::Result {
    let measured: Vec<_> = report.targets.iter().filter_map(|t| Some((t, t.measurement.phases.as_ref()?))).collect();
    if measured.is_empty() {
        return Ok(());
    }
    writeln!(out, "<h2>Where the time went</h2>")?;
    writeln!(
        out,
        "<p class=\"note\">Each request's time split as k6 splits it: connecting and TLS handshaking (new \
         connections only), sending, waiting (time to first byte) and receiving. Latency counts from the intended \
         send time, so it also holds any wait before the request left.</p>"
    )?;
    let us = |s: Option<&crate::metrics::Summary>, f: fn(&crate::metrics::Summary) -> u64| {
        s.map_or("-".to_string(), |s| crate::units::format_us(f(s)))
    };
    for (target, p) in measured {
        writeln!(
            out,
            "<h3>{}</h3><table><tr><th>phase</th><th>requests</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>",
            escape(&target.name)
        )?;
        for (name, summary, _) in p.named() {
            writeln!(
                out,
                "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                summary.map_or(0, |s| s.count),
                us(summary, |s| s.p50_us),
                us(summary, |s| s.p90_us),
                us(summary, |s| s.p99_us),
                us(summary, |s| s.max_us)
            )?;
        }
        writeln!(out, "</table>")?;
        writeln!(
            out,
            "<p class=\"note\">{} new connections, {} requests on reused ones; {} over HTTP/2.</p>",
            p.connections_new, p.connections_reused, p.http2
        )?;
        if let Some(note) = p.connect_note() {
            writeln!(out, "<p>{}</p>", escape(&note))?;
        }
    }
    Ok(())
}

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
        writeln!(out, "<h2>Verdict</h2><ul class=\"verdict\">")?;
        for finding in &analysis.verdict.findings {
            writeln!(out, "<li>{}</li>", escape(finding))?;
        }
        for caveat in &analysis.verdict.caveats {
            writeln!(out, "<li class=\"caveat\"><strong>Caveat:</strong> {}</li>", escape(caveat))?;
        }
        writeln!(out, "</ul>")?;
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
        if !analysis.thresholds.is_empty() {
            writeln!(out, "<h2>Thresholds</h2><ul>")?;
            for line in analysis.threshold_lines() {
                writeln!(out, "<li>{}</li>", escape(&line))?;
            }
            writeln!(out, "</ul>")?;
        }
        phases(&mut out, report)?;
        let charts = [
            ("Latency by percentile", svg(LatencySpectrum, report, analysis)?),
            ("Timeline", svg(Timeline, report, analysis)?),
            ("Init durations", svg(InitHistogram, report, analysis)?),
            ("Cost against volume", svg(CostCurve, report, analysis)?),
            ("Side by side", svg(SideBySide, report, analysis)?),
            ("CPU and memory per instance", svg(Usage, report, analysis)?),
            ("Cold starts, outcomes and cost by line item", svg(Breakdown, report, analysis)?),
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
