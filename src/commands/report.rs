//! `coldbench report` and `coldbench compare`: everything from results.json files alone.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::analysis::analyse;
use crate::cli::{CompareArgs, ReportArgs};
use crate::report::{comparison_table, exporters_for, read_results, ReportDir};

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
    super::print_verdict(&analysis);
    println!("{}", comparison_table(&report, &analysis));
    super::print_thresholds(&analysis);
    println!("report: {}", folder.display());
    Ok(if analysis.thresholds_failed() { ExitCode::from(super::EXIT_THRESHOLDS_FAILED) } else { ExitCode::SUCCESS })
}

/// Prints the two runs side by side, per target present in both (`--json`: as JSON).
///
/// # Errors
/// An unreadable results.json, or no target name in common.
pub fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let before = read_results(&args.before)?;
    let after = read_results(&args.after)?;
    let mut comparison = crate::analysis::compare(&before, &after)?;
    anyhow::ensure!(
        !comparison.targets.is_empty(),
        "{} and {} have no target name in common",
        args.before.display(),
        args.after.display()
    );
    comparison.judge(&args.fail_if);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&comparison)?);
    } else {
        print!("{}", comparison.to_text());
    }
    Ok(if comparison.failed() { ExitCode::from(super::EXIT_THRESHOLDS_FAILED) } else { ExitCode::SUCCESS })
}
