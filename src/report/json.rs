//! `results.json`: the run report as pretty JSON (schema in `schema/results.schema.json`).

use super::Exporter;
use crate::metrics::RunReport;

/// Writes `results.json`.
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> String {
        "results.json".into()
    }

    fn serialize(&self, report: &RunReport) -> anyhow::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(report)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
