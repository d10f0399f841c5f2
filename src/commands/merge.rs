//! `coldbench merge`: the shards of one run (`run --shard I/N`) as one report.

use std::process::ExitCode;

use anyhow::Context;

use crate::analysis::analyse;
use crate::cli::MergeArgs;
use crate::report::{comparison_table, exporters_for, read_results, ReportDir};

/// Checks that the shards belong together, merges them and writes the merged report.
///
/// # Errors
/// An unreadable results.json, shards that are not of one run (named), or an unwritable folder.
pub fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let shards = args
        .shards
        .iter()
        .map(|path| Ok((path.display().to_string(), read_results(path)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (report, warnings) = crate::metrics::merge_shards(&shards)?;
    for warning in &warnings {
        crate::term::warning(warning);
    }
    let analysis = analyse(&report, &report.pricing).context("pricing the merged run")?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    ReportDir::existing(&args.out).write(&report, &analysis, &exporters_for(&report))?;
    if args.json {
        println!(
            "{}",
            std::fs::read_to_string(args.out.join("results.json")).context("reading the merged results.json")?
        );
    } else {
        super::print_verdict(&analysis);
        println!("{}", comparison_table(&report, &analysis));
        super::print_thresholds(&analysis);
        println!("merged {} shards: {}", shards.len(), args.out.display());
    }
    Ok(if analysis.thresholds_failed() { ExitCode::from(super::EXIT_THRESHOLDS_FAILED) } else { ExitCode::SUCCESS })
}
