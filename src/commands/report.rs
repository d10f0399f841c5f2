//! `coldbench report` and `coldbench compare`: everything from results.json files alone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::analysis::analyse;
use crate::cli::{CompareArgs, ReportArgs};
use crate::metrics::{RunReport, SCHEMA_VERSION};
use crate::report::{comparison_table, exporters_for, ReportDir};

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
    let pricing = match &args.pricing {
        Some(path) => crate::cost::Pricing::load(path)?,
        None => report.pricing.clone(),
    };
    let analysis = analyse(&report, &pricing).with_context(|| format!("pricing {}", args.results.display()))?;
    let folder = match &args.out {
        Some(out) => {
            std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
            out.clone()
        }
        None => args.results.parent().map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf),
    };
    ReportDir::existing(&folder).write(&report, &analysis, &exporters_for(&report))?;
    println!("{}", comparison_table(&report, &analysis));
    for line in analysis.break_even_lines() {
        println!("{line}");
    }
    println!("report: {}", folder.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints the two runs side by side, per target present in both (`--json`: as JSON).
///
/// # Errors
/// An unreadable results.json, or no target name in common.
pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let before = read_results(&args.before)?;
    let after = read_results(&args.after)?;
    let comparison = crate::analysis::compare(&before, &after)?;
    anyhow::ensure!(
        !comparison.targets.is_empty(),
        "{} and {} have no target name in common",
        args.before.display(),
        args.after.display()
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", comparison.to_text());
    }
    Ok(ExitCode::SUCCESS)
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
