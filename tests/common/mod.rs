//! Helpers shared by the integration tests: the binary, temporary workloads, test servers,
//! the results schema, and a /proc scan for leftover processes.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

/// The coldbench binary under test.
pub fn coldbench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_coldbench"))
}

/// Writes a workload file into `dir`.
pub fn write_workload(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The `results.json` of the only run folder under `out`.
pub fn results(out: &Path) -> serde_json::Value {
    let path = results_path(out).expect("a run folder with results.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// What `coldbench run <workload> [--duration D] --quiet --out <out>` does, in process through
/// the library: every target measured in turn (the demo function from the built binary), the
/// run folder written under `out` after each; returns the schema-checked results.json.
pub fn run_json(workload: &Path, duration: Option<std::time::Duration>, out: &Path) -> serde_json::Value {
    let mut workload = coldbench::workload::Workload::load(workload).unwrap();
    if let Some(duration) = duration {
        workload.set_duration(duration, "--duration").unwrap();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let started_at = coldbench::time::utc_now();
        let dir = coldbench::report::ReportDir::create(out, &workload.spec.name, &started_at).unwrap();
        let pricing = coldbench::cost::Pricing::embedded();
        let mut report = coldbench::metrics::RunReport::new(workload.info().unwrap(), started_at, pricing);
        let demo = coldbench::function::DemoFunction::new(env!("CARGO_BIN_EXE_coldbench"));
        let cancel = tokio_util::sync::CancellationToken::new();
        let records = coldbench::report::InvocationLog::create(dir.path()).unwrap();
        let log: std::sync::Arc<dyn coldbench::metrics::RecordLog> = records.clone();
        let options = coldbench::target::Options {
            cancel: &cancel,
            quiet: true,
            log_dir: Some(dir.path()),
            demo: &demo,
            records: Some(&log),
            resources: true,
            metrics: None,
            threads: None,
        };
        let targets = workload.select_targets(&[]).unwrap();
        let save = |report: &mut coldbench::metrics::RunReport| {
            coldbench::simulate::add_pattern_months(&workload, report);
            let analysis = coldbench::analysis::analyse(report, &report.pricing).unwrap();
            dir.write(report, &analysis, &coldbench::report::exporters_for(report)).unwrap();
        };
        coldbench::target::measure_all(&workload, &targets, &mut report, options, save).await;
        records.finish().unwrap();
    });
    let json = results(out);
    assert_valid_results(&json);
    json
}

/// What `coldbench simulate <workload> [--calibrate FILE] --json` prints, computed in process
/// through the library (the schema-checked results.json, with its analysis).
pub fn simulate_json(workload: &Path, calibrate: Option<&Path>) -> serde_json::Value {
    let workload = coldbench::workload::Workload::load(workload).unwrap();
    let pricing = coldbench::cost::Pricing::embedded();
    let results = calibrate.map(|path| coldbench::report::read_results(path).unwrap());
    let calibration =
        calibrate.zip(results.as_ref()).map(|(path, results)| coldbench::simulate::Calibration { path, results });
    let report =
        coldbench::simulate::simulate_workload(&workload, pricing, calibration, "2026-12-01T00:00:00Z").unwrap();
    let analysis = coldbench::analysis::analyse(&report, &report.pricing).unwrap();
    let json = serde_json::from_slice(&coldbench::report::results_json(&report, &analysis).unwrap()).unwrap();
    assert_valid_results(&json);
    json
}

/// The same through the binary, with `extra` options, into `out` (panics with stderr when it
/// fails): the end-to-end check of the command itself.
pub fn simulate_binary_json(workload: &Path, out: &Path, extra: &[&std::ffi::OsStr]) -> serde_json::Value {
    let output =
        coldbench().arg("simulate").arg(workload).args(extra).arg("--out").arg(out).arg("--json").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid_results(&json);
    json
}

/// Path of `results.json` in the only run folder under `out`, if written yet.
pub fn results_path(out: &Path) -> Option<PathBuf> {
    let dirs: Vec<_> = std::fs::read_dir(out).ok()?.filter_map(Result::ok).map(|e| e.path()).collect();
    assert!(dirs.len() <= 1, "one run folder expected, found {dirs:?}");
    let path = dirs.first()?.join("results.json");
    path.exists().then_some(path)
}

/// Panics with every schema violation when `value` does not match `schema/results.schema.json`.
pub fn assert_valid_results(value: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/results.schema.json")).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "results.json does not match the schema:\n{}", errors.join("\n"));
}

/// Asserts that every target's outcome counts add up to its requests, also per interval.
pub fn assert_counts_add_up(results: &serde_json::Value) {
    for target in results["targets"].as_array().unwrap() {
        let m = &target["measurement"];
        let o = &m["outcomes"];
        let by_status = |key: &str| -> u64 {
            o.get(key).and_then(|v| v.as_object()).map_or(0, |m| m.values().map(|v| v.as_u64().unwrap()).sum())
        };
        let http = by_status("http_error") + by_status("balancer_error");
        let total = ["ok", "throttled", "function_error", "timeout", "connect_error", "host_error", "other"]
            .iter()
            .map(|k| o[k].as_u64().unwrap())
            .sum::<u64>()
            + http;
        assert_eq!(total, m["requests"].as_u64().unwrap(), "outcomes of {}", target["name"]);
        let per_interval: u64 =
            m["intervals"].as_array().unwrap().iter().map(|i| i["requests"].as_u64().unwrap()).sum();
        assert_eq!(per_interval, total, "intervals of {}", target["name"]);
    }
}

/// Pids of live processes whose environment contains `needle` (e.g. `TAG=<unique>`).
pub fn processes_with_env(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if pid == std::process::id() {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        let is_zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
            .unwrap_or(true);
        if !is_zombie && environ.split(|b| *b == 0).any(|var| var == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// A unique `COLDBENCH_TEST_TAG=...` marker for tracking the processes one test starts.
pub fn unique_tag() -> (String, String) {
    let value = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    ("COLDBENCH_TEST_TAG".to_string(), value)
}

/// Serves `handler` on 127.0.0.1 (port 0) on the current tokio runtime until the token is cancelled.
pub async fn serve<F, Fut>(handler: F) -> (SocketAddr, CancellationToken)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    tokio::spawn(coldbench::http::serve(listener, coldbench::http::Limits::front_door(), token.clone(), handler));
    (addr, token)
}

/// A loopback port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A response as the tests read it.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

/// Sends one request on a fresh connection and reads the whole response.
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
    use http_body_util::BodyExt;
    let uri: http::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header("host", authority);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender.send_request(request.body(Full::new(body.into())).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
}

/// Whether `python3` runs here; when it does not, says which test skips and why.
pub fn has_python(test: &str) -> bool {
    let ok = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping {test}: it needs python3 on PATH for its test server");
    }
    ok
}

/// `summary.md` of the only run folder under `out`.
pub fn summary(out: &Path) -> String {
    let results = results_path(out).expect("a run folder with results.json");
    std::fs::read_to_string(results.with_file_name("summary.md")).expect("summary.md beside results.json")
}

/// The JSON values of a file written one per line (empty when it does not exist).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// The real path of `python3`'s interpreter (not a pyenv shim, which needs the host's
/// environment), or `None` where there is none.
pub fn python3() -> Option<String> {
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A child process killed if the test fails before it stops it.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `coldbench runtime` started with `args` (stdout read on a thread): the process, the base URL
/// its first line prints, and its other lines once it exits.
pub fn spawn_runtime(args: &[&str]) -> (KillOnDrop, String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader};
    let mut child =
        KillOnDrop(coldbench().arg("runtime").args(args).stdout(std::process::Stdio::piped()).spawn().unwrap());
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let base = first.split_whitespace().last().unwrap().trim_end_matches('/').to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let lines = std::thread::spawn(move || stdout.lines().map_while(Result::ok).collect::<Vec<_>>());
    (child, base, lines)
}
