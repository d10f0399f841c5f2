//! Reading trace files into arrival processes: timestamp lists and the Azure Functions layout.
//!
//! Parsing only; placing the requests in time is `arrival.rs`'s job.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::arrival::ArrivalProcess;
use super::spec::Spread;

/// A trace file that cannot be used: the file, the line when there is one, and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {problem}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct TraceError {
    pub path: PathBuf,
    /// 1-based.
    pub line: Option<usize>,
    pub problem: String,
}

impl TraceError {
    fn new(path: &Path, line: Option<usize>, problem: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), line, problem: problem.into() }
    }

    fn unreadable(path: &Path, e: &std::io::Error) -> Self {
        Self::new(path, None, format!("cannot read the trace: {e}"))
    }
}

/// Minutes in the Azure Functions trace's day.
const AZURE_MINUTES: usize = 1440;

/// Reads a file of send offsets in seconds, one per line (first column of a CSV; a header and
/// `#` comments are skipped).
///
/// # Errors
/// Names the file and line of the first value that is not a non-negative number.
pub fn read_timestamps(path: &Path) -> Result<ArrivalProcess, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|e| TraceError::unreadable(path, &e))?;
    let mut times = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let field = line.split(',').next().unwrap_or("").trim();
        if field.is_empty() || field.starts_with('#') {
            continue;
        }
        match field.parse::<f64>() {
            Ok(t) if t.is_finite() && t >= 0.0 => times.push(Duration::from_secs_f64(t)),
            Ok(t) => {
                return Err(TraceError::new(
                    path,
                    Some(number + 1),
                    format!("timestamp must be 0 or more seconds, got {t}"),
                ))
            }
            Err(_) if times.is_empty() && number == 0 => {} // header line
            Err(_) => {
                return Err(TraceError::new(path, Some(number + 1), format!("not a timestamp in seconds: {field:?}")))
            }
        }
    }
    if times.is_empty() {
        return Err(TraceError::new(path, None, "the trace has no timestamps"));
    }
    times.sort();
    Ok(ArrivalProcess::Timestamps(Arc::new(times)))
}

/// One function's row of an Azure Functions trace.
#[derive(Clone, Debug, PartialEq)]
pub struct AzureFunction {
    /// `HashOwner/HashApp/HashFunction` (whichever columns the file has).
    pub name: String,
    /// The `Trigger` column, when present.
    pub trigger: String,
    pub arrivals: ArrivalProcess,
}

/// The time a trace covers: its longest row of per-minute counts.
pub fn span(rows: &[AzureFunction]) -> std::time::Duration {
    let minutes = rows
        .iter()
        .filter_map(|r| match &r.arrivals {
            ArrivalProcess::PerMinute { counts, .. } => Some(counts.len()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    std::time::Duration::from_secs(60 * minutes as u64)
}

/// Reads one function's per-minute invocation counts from an Azure Functions trace CSV
/// (`HashOwner,HashApp,HashFunction,Trigger,1,...,1440`).
///
/// # Errors
/// Names the file, and the line or column that is missing or malformed.
pub fn read_azure(path: &Path, function: Option<&str>, spread: Spread) -> Result<ArrivalProcess, TraceError> {
    let mut found = None;
    read_azure_rows(path, spread, |hash, row| {
        if function.is_none_or(|f| hash == Some(f)) {
            found = Some(row.arrivals);
            return false;
        }
        true
    })?;
    found.ok_or_else(|| match function {
        Some(f) => TraceError::new(path, None, format!("no row with HashFunction {f:?}")),
        None => TraceError::new(path, None, "the trace has a header but no rows"),
    })
}

/// Reads every function of an Azure Functions trace CSV, in file order.
///
/// # Errors
/// Names the file, and the line or column that is missing or malformed.
pub fn read_azure_all(path: &Path, spread: Spread) -> Result<Vec<AzureFunction>, TraceError> {
    let mut all = Vec::new();
    read_azure_rows(path, spread, |_, row| {
        all.push(row);
        true
    })?;
    if all.is_empty() {
        return Err(TraceError::new(path, None, "the trace has a header but no rows"));
    }
    Ok(all)
}

/// Calls `each` with every row (and its `HashFunction`) until it returns false.
fn read_azure_rows(
    path: &Path,
    spread: Spread,
    mut each: impl FnMut(Option<&str>, AzureFunction) -> bool,
) -> Result<(), TraceError> {
    let text = std::fs::read_to_string(path).map_err(|e| TraceError::unreadable(path, &e))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| TraceError::new(path, None, "the trace is empty"))?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let minute_columns: Vec<usize> = (1..=AZURE_MINUTES)
        .map(|m| {
            let name = m.to_string();
            columns.iter().position(|c| *c == name).ok_or_else(|| {
                TraceError::new(
                    path,
                    Some(1),
                    format!("header has no column {name:?} (the Azure layout has columns 1..1440)"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let column = |name: &str| columns.iter().position(|c| *c == name);
    let hash_column = column("HashFunction");
    let name_columns: Vec<usize> = ["HashOwner", "HashApp", "HashFunction"].iter().filter_map(|c| column(c)).collect();
    let trigger_column = column("Trigger");
    for (number, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let counts = minute_columns
            .iter()
            .enumerate()
            .map(|(minute, &col)| {
                let cell = cells.get(col).copied().unwrap_or("");
                cell.parse::<u64>().map_err(|_| {
                    TraceError::new(
                        path,
                        Some(number + 1),
                        format!("minute {}: not a whole count: {cell:?}", minute + 1),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cell = |col: usize| cells.get(col).copied().unwrap_or("");
        let row = AzureFunction {
            name: if name_columns.is_empty() {
                format!("line {}", number + 1)
            } else {
                name_columns.iter().map(|&c| cell(c)).collect::<Vec<_>>().join("/")
            },
            trigger: trigger_column.map_or(String::new(), |c| cell(c).to_string()),
            arrivals: ArrivalProcess::PerMinute { counts: Arc::new(counts), spread },
        };
        if !each(hash_column.map(cell), row) {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    #[test]
    fn timestamps_skip_header_and_sort() {
        let f = file("t_seconds\n0.5\n0.1\n# comment\n2\n");
        let ArrivalProcess::Timestamps(times) = read_timestamps(f.path()).unwrap() else { panic!() };
        assert_eq!(*times, [100, 500, 2000].map(Duration::from_millis));
    }

    #[test]
    fn bad_timestamp_names_the_line() {
        let f = file("0.1\nsoon\n");
        let err = read_timestamps(f.path()).unwrap_err();
        assert_eq!((err.line, err.problem.as_str()), (Some(2), "not a timestamp in seconds: \"soon\""));
        assert!(err.to_string().ends_with(":2: not a timestamp in seconds: \"soon\""), "{err}");
    }

    fn azure_header() -> String {
        let minutes: Vec<String> = (1..=1440).map(|m| m.to_string()).collect();
        format!("HashOwner,HashApp,HashFunction,Trigger,{}\n", minutes.join(","))
    }

    fn azure_row(hash: &str, first: u64) -> String {
        let mut counts = vec!["0".to_string(); 1440];
        counts[0] = first.to_string();
        format!("o,a,{hash},http,{}\n", counts.join(","))
    }

    #[test]
    fn azure_selects_a_row_by_function_hash() {
        let f = file(&(azure_header() + &azure_row("f1", 3) + &azure_row("f2", 7)));
        let ArrivalProcess::PerMinute { counts, .. } = read_azure(f.path(), Some("f2"), Spread::Even).unwrap() else {
            panic!()
        };
        assert_eq!(counts.len(), 1440);
        assert_eq!(counts[0], 7);
        assert!(read_azure(f.path(), Some("nope"), Spread::Even).unwrap_err().problem.contains("\"nope\""));
    }

    #[test]
    fn azure_without_minute_columns_is_an_error() {
        let f = file("HashFunction,1,2\nx,1,2\n");
        assert!(read_azure(f.path(), None, Spread::Even).unwrap_err().problem.contains("no column \"3\""));
    }
}
