//! `timeseries.csv` (one row per second and target) and `invocations.csv` (one row per billing
//! record). Plain CSV: a header line, comma-separated, empty cells for missing values.

use std::fmt::Write;

use super::Exporter;
use crate::analysis::Analysis;
use crate::metrics::RunReport;

/// Columns of `timeseries.csv`.
pub const TIMESERIES_COLUMNS: &str =
    "target,second,requests,ok,errors,throttled,cold_starts,p50_us,p99_us,max_us,max_in_flight,instances_alive";
/// Columns of `invocations.csv`.
pub const INVOCATIONS_COLUMNS: &str =
    "target,request_id,instance,cold,provisioned,init_ms,duration_ms,billed_ms,memory_mb,max_memory_used_mb,outcome";

/// Writes `timeseries.csv`.
pub struct TimeseriesCsv;

impl Exporter for TimeseriesCsv {
    fn file_name(&self) -> String {
        "timeseries.csv".into()
    }

    fn serialize(&self, report: &RunReport, _analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        let mut out = format!("{TIMESERIES_COLUMNS}\n");
        let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        for t in &report.targets {
            for (second, i) in t.measurement.intervals.iter().enumerate() {
                let alive = super::instances_alive(t, second).map_or(String::new(), |n| n.to_string());
                writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{},{}",
                    t.name,
                    i.start_s,
                    i.requests,
                    i.ok,
                    i.errors,
                    i.throttled,
                    i.cold,
                    opt(i.p50_us),
                    opt(i.p99_us),
                    opt(i.max_us),
                    i.max_in_flight,
                    alive
                )?;
            }
        }
        Ok(out.into_bytes())
    }
}

/// Writes `invocations.csv`.
pub struct InvocationsCsv;

impl Exporter for InvocationsCsv {
    fn file_name(&self) -> String {
        "invocations.csv".into()
    }

    fn serialize(&self, report: &RunReport, _analysis: &Analysis) -> anyhow::Result<Vec<u8>> {
        let mut out = format!("{INVOCATIONS_COLUMNS}\n");
        for t in &report.targets {
            for r in &t.invocations {
                let outcome = serde_json::to_value(r.outcome)?;
                writeln!(
                    out,
                    "{},{},{},{},{},{},{:.3},{},{},{},{}",
                    t.name,
                    r.request_id,
                    r.instance.as_deref().unwrap_or(""),
                    r.cold,
                    r.provisioned,
                    r.init_ms.map_or(String::new(), |v| format!("{v:.3}")),
                    r.duration_ms,
                    r.billed_ms,
                    r.memory_mb,
                    r.max_memory_used_mb,
                    outcome.as_str().unwrap_or("")
                )?;
            }
        }
        Ok(out.into_bytes())
    }
}
