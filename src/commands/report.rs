//! `coldbench report` and `coldbench compare`: everything from results.json files alone.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{CompareArgs, ReportArgs};
use crate::metrics::{RunReport, TargetReport, SCHEMA_VERSION};
use crate::report::{comparison_table, exporters_for, format_us, ReportDir};

/// Reads a results.json.
///
/// # Errors
/// When the file cannot be read, is not a coldbench report, or has another schema version.
pub fn read_results(path: &Path) -> anyhow::Result<RunReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))?;
    let version = value.get("schema_version").and_then(serde_json::Value::as_u64);
    anyhow::ensure!(
        version == Some(u64::from(SCHEMA_VERSION)),
        "{}: schema_version {version:?}, this coldbench reads {SCHEMA_VERSION}",
        path.display()
    );
    serde_json::from_value(value).with_context(|| format!("{}: not a coldbench results.json", path.display()))
}

/// Writes every output next to (or instead into `--out`) and prints the table.
///
/// # Errors
/// An unreadable results.json or an unwritable folder.
pub fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let report = read_results(&args.results)?;
    let folder = match &args.out {
        Some(out) => {
            std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            out.clone()
        }
        None => args.results.parent().map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf),
    };
    ReportDir::existing(&folder).write(&report, &exporters_for(&report))?;
    println!("{}", comparison_table(&report.targets));
    println!("report: {}", folder.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints the two runs side by side, per target present in both.
///
/// # Errors
/// An unreadable results.json, or no target name in common.
pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let before = read_results(&args.before)?;
    let after = read_results(&args.after)?;
    let text = comparison(&before, &after)?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Figures compared: label, value in microseconds or plain, and how to show it.
type Figure = (&'static str, fn(&TargetReport) -> Option<f64>, fn(f64) -> String);

fn figures() -> Vec<Figure> {
    let us = |v: f64| format_us(v.max(0.0) as u64);
    let plain = |v: f64| format!("{v:.0}");
    let rate = |v: f64| format!("{v:.1}/s");
    let money = |v: f64| format!("${v:.2}");
    vec![
        ("requests", |t| Some(t.measurement.requests as f64), plain),
        ("throughput", |t| Some(t.measurement.throughput_rps), rate),
        ("errors", |t| Some(t.measurement.outcomes.errors() as f64), plain),
        ("latency p50", |t| t.measurement.latency.as_ref().map(|s| s.p50_us as f64), us),
        ("latency p90", |t| t.measurement.latency.as_ref().map(|s| s.p90_us as f64), us),
        ("latency p99", |t| t.measurement.latency.as_ref().map(|s| s.p99_us as f64), us),
        ("latency p99.9", |t| t.measurement.latency.as_ref().map(|s| s.p999_us as f64), us),
        ("latency max", |t| t.measurement.latency.as_ref().map(|s| s.max_us as f64), us),
        ("cold starts", |t| Some(t.measurement.cold as f64), plain),
        ("init p50", |t| t.measurement.init.as_ref().map(|s| s.p50_us as f64), us),
        ("cost/month", |t| t.cost.as_ref().map(|c| c.monthly.total), money),
    ]
}

fn comparison(before: &RunReport, after: &RunReport) -> anyhow::Result<String> {
    let mut out = String::new();
    let mut shared = 0;
    for b in &before.targets {
        let Some(a) = after.targets.iter().find(|t| t.name == b.name) else { continue };
        shared += 1;
        writeln!(out, "{} ({})", b.name, b.kind)?;
        writeln!(out, "  {:<14} {:>12} {:>12} {:>12} {:>9}", "", "before", "after", "delta", "change")?;
        for (label, get, show) in figures() {
            let (x, y) = (get(b), get(a));
            let cell = |v: Option<f64>| v.map_or("-".to_string(), show);
            let delta = match (x, y) {
                (Some(x), Some(y)) => {
                    let d = y - x;
                    let sign = if d >= 0.0 { "+" } else { "-" };
                    (
                        format!("{sign}{}", show(d.abs())),
                        if x != 0.0 { format!("{:+.1}%", d / x * 100.0) } else { "-".into() },
                    )
                }
                _ => ("-".to_string(), "-".to_string()),
            };
            writeln!(out, "  {label:<14} {:>12} {:>12} {:>12} {:>9}", cell(x), cell(y), delta.0, delta.1)?;
        }
    }
    anyhow::ensure!(shared > 0, "the two runs have no target name in common");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_schema_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.json");
        std::fs::write(&path, r#"{"schema_version": 99}"#).unwrap();
        let err = read_results(&path).unwrap_err().to_string();
        assert!(err.contains("schema_version Some(99)"), "{err}");
    }
}
