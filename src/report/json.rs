//! `results.json`: the run report as pretty JSON, with the analysis (costs, break-even) computed
//! for this rendering alongside it (schema in `schema/results.schema.json`). Reading a
//! `results.json` back takes the measurement only; the analysis is derived again.

use serde::Serialize;

use super::Exporter;
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Writes `results.json`.
pub struct JsonExporter;

/// The report's fields, then `analysis`.
#[derive(Serialize)]
struct Rendered<'a> {
    #[serde(flatten)]
    report: &'a RunReport,
    analysis: &'a Analysis,
}

/// The bytes of `results.json` for `report` priced as `analysis` says.
///
/// # Errors
/// When the report cannot be serialized (a non-finite number).
pub fn results_json(report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(&Rendered { report, analysis })?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Exporter for JsonExporter {
    fn file_name(&self) -> String {
        "results.json".into()
    }

    fn serialize(&self, report: &RunReport, analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        results_json(report, analysis)
    }
}
