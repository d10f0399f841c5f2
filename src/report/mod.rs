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
mod spectrum;
mod table;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use csv::{InvocationsCsv, TimeseriesCsv};
pub use hlog::HlogExporter;
pub use html::HtmlExporter;
pub use json::{results_json, JsonExporter};
pub use markdown::MarkdownExporter;
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
        vec![Box::new(JsonExporter), Box::new(MarkdownExporter), Box::new(TimeseriesCsv), Box::new(InvocationsCsv)];
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

impl ReportDir {
    /// An existing folder (for re-rendering a report).
    pub fn existing(path: &Path) -> Self {
        Self { path: path.to_path_buf() }
    }

    /// Creates a new, empty run folder under `out` (never reusing an existing one).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn create(out: &Path, workload: &str, timestamp: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        for attempt in 1.. {
            let name = if attempt == 1 {
                format!("{timestamp}-{workload}")
            } else {
                format!("{timestamp}-{workload}-{attempt}")
            };
            let path = out.join(name);
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

    /// Writes every exporter's output, each file replaced atomically (write, then rename).
    ///
    /// # Errors
    /// When an exporter fails or a file cannot be written.
    pub fn write(
        &self,
        report: &RunReport,
        analysis: &Analysis,
        exporters: &[Box<dyn Exporter>],
    ) -> anyhow::Result<()> {
        for exporter in exporters {
            let bytes =
                exporter.serialize(report, analysis).with_context(|| format!("rendering {}", exporter.file_name()))?;
            let target = self.path.join(exporter.file_name());
            let partial = self.path.join(format!(".{}.partial", exporter.file_name()));
            std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
            std::fs::rename(&partial, &target).with_context(|| format!("writing {}", target.display()))?;
        }
        Ok(())
    }
}

/// Instances alive during second `second` of a target: sampled for functions, the instance count
/// for containers, unknown for URLs.
pub fn instances_alive(target: &crate::metrics::TargetReport, second: usize) -> Option<u32> {
    match &target.function {
        Some(f) => f.alive_per_second.get(second).or(f.alive_per_second.last()).copied(),
        None if !target.instances.is_empty() => u32::try_from(target.instances.len()).ok(),
        None => None,
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
