//! Reports: exporters turn a `RunReport` into bytes; `ReportDir` alone decides where they go.
//!
//! Exporters never open files, so a run can write after each target and a later
//! `coldbench report` can re-render from `results.json`.

mod csv;
mod hlog;
mod html;
mod json;
mod markdown;
pub mod plot;
mod replay;
mod spectrum;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use csv::{InvocationLog, TimeseriesCsv};
pub use hlog::HlogExporter;
pub use html::HtmlExporter;
pub use json::{results_json, JsonExporter};
pub use markdown::MarkdownExporter;
pub use replay::replay_markdown;
pub use spectrum::spectrum;
pub use table::{comparison_rows, comparison_table, Rows};

use crate::analysis::Analysis;
use crate::metrics::RunReport;
use crate::units::{format_count, format_span};

/// Turns a run report into the bytes of one output file.
pub trait Exporter {
    /// The file name inside the run's folder.
    fn file_name(&self) -> String;
    /// The file's contents.
    ///
    /// # Errors
    /// When the report cannot be rendered in this format.
    fn serialize(&self, report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>>;
}

/// Every output a run folder holds for `report`: results.json, summary.md, the CSVs, and one
/// `.hlog` per target.
pub fn exporters_for(report: &RunReport) -> Vec<Box<dyn Exporter>> {
    let mut all: Vec<Box<dyn Exporter>> =
        vec![Box::new(JsonExporter), Box::new(MarkdownExporter), Box::new(TimeseriesCsv)];
    for target in &report.targets {
        all.push(Box::new(HlogExporter { target: target.name.clone() }));
    }
    all.extend(plot::all_charts());
    all.push(Box::new(HtmlExporter));
    all
}

/// The folder of one run: `<out>/<UTC timestamp>-<workload>/`.
#[derive(Debug, Clone)]
pub struct ReportDir {
    path: PathBuf,
}

/// `2026-11-27T15:43:00Z` → `20261127T154300Z`: sortable and safe in file names.
fn folder_timestamp(rfc3339: &str) -> String {
    rfc3339.chars().filter(|c| *c != '-' && *c != ':').collect()
}

/// Reads a results.json.
///
/// # Errors
/// When the file cannot be read, is not a coldbench report, or has another schema version.
pub fn read_results(path: &Path) -> anyhow::Result<RunReport> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a coldbench results.json (not JSON)", path.display()))?;
    let version = value.get("schema_version").and_then(serde_json::Value::as_u64);
    anyhow::ensure!(
        version == Some(u64::from(crate::metrics::SCHEMA_VERSION)),
        "{}: {}, and this coldbench reads schema_version {}",
        path.display(),
        version.map_or("no schema_version".to_string(), |v| format!("schema_version {v}")),
        crate::metrics::SCHEMA_VERSION
    );
    serde_json::from_value(value).with_context(|| format!("{}: not a coldbench results.json", path.display()))
}

impl ReportDir {
    /// An existing folder (for re-rendering a report).
    pub fn existing(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    /// Creates a new, empty folder `<timestamp>-<name>` under `out` for a run started at
    /// `started_at` (RFC 3339), never reusing an existing one.
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create(out: &Path, name: &str, started_at: &str) -> anyhow::Result<Self> {
        let timestamp = folder_timestamp(started_at);
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        for attempt in 1.. {
            let folder =
                if attempt == 1 { format!("{timestamp}-{name}") } else { format!("{timestamp}-{name}-{attempt}") };
            let path = out.join(folder);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        unreachable!("the loop returns")
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes every exporter's output, each file replaced atomically (written to a `.partial`
    /// file, synced to disk, then renamed). A file that cannot be written leaves no `.partial`
    /// behind and does not stop the others: `results.json` comes first, so the measurement is
    /// saved whenever anything can be.
    ///
    /// # Errors
    /// The files that could not be rendered or written, each with its reason.
    pub fn write(
        &self,
        report: &RunReport,
        analysis: &Analysis,
        exporters: &[Box<dyn Exporter>],
    ) -> anyhow::Result<()> {
        let mut failed = Vec::new();
        for exporter in exporters {
            if let Err(err) = self.write_one(exporter.as_ref(), report, analysis) {
                failed.push(format!("{err:#}"));
            }
        }
        anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
        Ok(())
    }

    fn write_one(&self, exporter: &dyn Exporter, report: &RunReport, analysis: &Analysis) -> anyhow::Result<()> {
        use std::io::Write as _;
        let bytes =
            exporter.serialize(report, analysis).with_context(|| format!("rendering {}", exporter.file_name()))?;
        let target = self.path.join(exporter.file_name());
        let partial = self.path.join(format!(".{}.partial", exporter.file_name()));
        let written = std::fs::File::create(&partial)
            .and_then(|mut file| file.write_all(&bytes).and_then(|()| file.sync_all()))
            .and_then(|()| std::fs::rename(&partial, &target));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(err).with_context(|| format!("writing {}", target.display()));
        }
        Ok(())
    }
}

/// Instances alive during second `second` of a target: sampled for functions, the instance count
/// for containers, unknown for URLs.
pub fn instances_alive(target: &crate::metrics::TargetReport, second: usize) -> Option<u32> {
    match &target.function {
        Some(f) => f.alive_per_second.get(second).or(f.alive_per_second.last()).copied(),
        None => match &target.fleet {
            Some(fleet) if !fleet.in_service_per_second.is_empty() => {
                let per_interval = (target.measurement.interval_s().round() as usize).max(1);
                let series = &fleet.in_service_per_second;
                series.get(second * per_interval).or(series.last()).copied()
            }
            _ if !target.instances.is_empty() => u32::try_from(target.instances.len()).ok(),
            _ => None,
        },
    }
}

/// Everything the Notes of a report list: how time was kept, failures, warnings, targets left
/// unpriced.
pub fn notes(report: &RunReport, analysis: &Analysis) -> Vec<String> {
    time_notes(report)
        .into_iter()
        .chain(report.targets.iter().flat_map(|t| {
            let error = t.error.iter().map(move |e| format!("{} failed: {e}", t.name));
            error.chain(t.warnings.iter().map(move |w| format!("{}: {w}", t.name)))
        }))
        .chain(report.workload.warnings.iter().cloned())
        .chain(analysis.notes())
        .collect()
}

/// What a reader must know about time in this report: simulated, or fast-forwarded and by how much.
pub fn time_notes(report: &RunReport) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(sim) = &report.simulation {
        notes.push(format!(
            "simulated, not measured: {} of traffic per target in {} of real time ({} invocations, {} per second); \
             durations from {}",
            format_span(sim.simulated_s),
            format_span(sim.wall_s),
            format_count(sim.invocations as f64),
            format_count(sim.invocations_per_wall_second),
            sim.durations
        ));
    }
    for t in &report.targets {
        if let Some(ff) = &t.fast_forward {
            notes.push(format!(
                "{}: fast-forwarded: {} of simulated time in {} of real time ({} of idle time skipped in {} jumps); \
                 every invocation ran for real",
                t.name,
                format_span(ff.simulated_s),
                format_span(ff.real_s),
                format_span(ff.skipped_s),
                ff.jumps
            ));
        }
    }
    notes
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
        assert!(err.contains(": schema_version 99, and this coldbench reads schema_version 2"), "{err}");
        assert!(!err.contains("Some("), "{err}");
    }

    #[test]
    fn folders_are_named_by_a_sortable_timestamp_and_never_reused() {
        let out = tempfile::tempdir().unwrap();
        let first = ReportDir::create(out.path(), "w", "2026-11-27T15:43:00Z").unwrap();
        let second = ReportDir::create(out.path(), "w", "2026-11-27T15:43:00Z").unwrap();
        assert_eq!(first.path().file_name().unwrap(), "20261127T154300Z-w");
        assert_eq!(second.path().file_name().unwrap(), "20261127T154300Z-w-2");
    }
}
