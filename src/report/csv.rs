//! `timeseries.csv` (one row per second and target) and `invocations.csv` (one row per billing
//! record). Plain CSV: a header line, comma-separated, empty cells for missing values.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::Exporter;
use crate::analysis::Analysis;
use crate::metrics::{BillingRecord, RecordLog, RunReport};

/// Columns of `timeseries.csv`.
pub const TIMESERIES_COLUMNS: &str =
    "target,second,requests,ok,errors,throttled,cold_starts,p50_us,p99_us,max_us,max_in_flight,instances_alive";
/// Columns of `invocations.csv`.
pub const INVOCATIONS_COLUMNS: &str =
    "target,request_id,instance,cold,provisioned,init_ms,duration_ms,billed_ms,memory_mb,max_memory_used_mb,outcome,cpu_ms,throttled_ms";

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

/// `invocations.csv`, written as the run goes: one row per user invocation, appended the moment
/// its billing record is made, so that no record waits in memory (a run of ten million
/// invocations keeps only their summary) and a run that dies keeps every row written so far.
///
/// A write that fails (a full disk) stops the rows, not the run; [`InvocationLog::finish`] says so.
pub struct InvocationLog {
    path: PathBuf,
    state: Mutex<LogState>,
}

struct LogState {
    /// `None` once a write failed.
    writer: Option<BufWriter<File>>,
    failure: Option<String>,
}

impl InvocationLog {
    /// Creates `invocations.csv` in `dir` with its header line.
    ///
    /// # Errors
    /// When the file cannot be created.
    pub fn create(dir: &Path) -> anyhow::Result<Arc<Self>> {
        let path = dir.join("invocations.csv");
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut writer = BufWriter::with_capacity(64 * 1024, file);
        let header = writeln!(writer, "{INVOCATIONS_COLUMNS}");
        let failure = header.err().map(|e| format!("writing {}: {e}", path.display()));
        let writer = failure.is_none().then_some(writer);
        Ok(Arc::new(Self { path, state: Mutex::new(LogState { writer, failure }) }))
    }

    fn with_writer(&self, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(writer) = state.writer.as_mut() {
            if let Err(err) = write(writer) {
                state.failure = Some(format!("writing {}: {err}", self.path.display()));
                state.writer = None;
            }
        }
    }

    /// Pushes the rows written so far to the file (after each target).
    pub fn flush(&self) {
        self.with_writer(|w| w.flush());
    }

    /// Flushes and syncs the file.
    ///
    /// # Errors
    /// When any row could not be written: the file then holds the rows up to the first failure.
    pub fn finish(&self) -> anyhow::Result<()> {
        self.with_writer(|w| w.flush().and_then(|()| w.get_ref().sync_all()));
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &state.failure {
            Some(failure) => anyhow::bail!("{failure} (the rows after it are missing)"),
            None => Ok(()),
        }
    }
}

impl RecordLog for InvocationLog {
    fn record(&self, target: &str, r: &BillingRecord) {
        let outcome = serde_json::to_value(r.outcome).ok();
        self.with_writer(|w| {
            writeln!(
                w,
                "{},{},{},{},{},{},{:.3},{},{},{},{},{},{}",
                target,
                r.request_id,
                r.instance.as_deref().unwrap_or(""),
                r.cold,
                r.provisioned,
                r.init_ms.map_or(String::new(), |v| format!("{v:.3}")),
                r.duration_ms,
                r.billed_ms,
                r.memory_mb,
                r.max_memory_used_mb,
                outcome.as_ref().and_then(serde_json::Value::as_str).unwrap_or(""),
                r.cpu_ms.map_or(String::new(), |v| format!("{v:.3}")),
                r.throttled_ms.map_or(String::new(), |v| format!("{v:.3}"))
            )
        });
    }
}
