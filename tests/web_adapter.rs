//! A web app as a function behind coldbench's Lambda Web Adapter (`adapter = "web"`): the same
//! unchanged server as a container target and as a function, Init ending at its readiness check.

mod common;

use common::*;

#[test]
fn the_demo_server_runs_unchanged_as_a_container_and_as_a_web_function_with_cold_starts() {
    let dir = tempfile::tempdir().unwrap();
    let workload = write_workload(
        dir.path(),
        "w.toml",
        r#"
name = "web"
duration = "2s"
[traffic]
pattern = "constant"
rate = 10
[function]
work = { kind = "echo", payload_bytes = 64 }
[[targets]]
name = "container"
kind = "container"
[[targets]]
name = "function"
kind = "function"
adapter = "web"
event = "http"
"#,
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let (container, function) = (&json["targets"][0], &json["targets"][1]);
    for target in [container, function] {
        assert_eq!(target["measurement"]["outcomes"]["ok"].as_u64(), Some(20), "{}: {target}", target["name"]);
    }
    let m = &function["measurement"];
    let cold = m["cold"].as_u64().unwrap();
    assert!(cold >= 1, "the first request of each environment is cold: {m}");
    assert_eq!(function["function"]["invocations"]["cold"].as_u64(), Some(cold));
    let init = function["function"]["invocations"]["init_us"].as_str().unwrap_or("");
    assert!(!init.is_empty(), "Init measured, up to the readiness check: {}", function["function"]["invocations"]);
}

/// Records each request (method, path, the adapter's context headers) in `$RECORD`; answers
/// `/fail` with 500, `/ready` with 200 once it has been asked 3 times, everything else 200.
const APP: &str = r#"
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
asked = {"ready": 0}

class App(BaseHTTPRequestHandler):
    def do_GET(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        h = {k.lower(): v for k, v in self.headers.items()}
        line = {"path": self.path, "lambda": "x-amzn-lambda-context" in h, "request": "x-amzn-request-context" in h}
        with open(os.environ["RECORD"], "a") as f:
            f.write(json.dumps(line) + "\n")
        status = 200
        if self.path == "/ready":
            asked["ready"] += 1
            status = 200 if asked["ready"] >= 3 else 503
        elif self.path == "/fail":
            status = 500
        body = json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
"#;

#[test]
fn readiness_on_a_custom_path_ends_init_and_error_statuses_are_function_errors() {
    let Some(python) = python3() else {
        eprintln!("skipped: no python3 on this machine to run the web app");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), APP).unwrap();
    let record = |name: &str| dir.path().join(format!("{name}.jsonl"));
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "web"
duration = "2s"
[traffic]
pattern = "constant"
rate = 4
[[requests]]
path = "/orders"
weight = 3
[[requests]]
path = "/fail"
[[targets]]
name = "container"
kind = "container"
command = ["{python}", "app.py"]
env = {{ RECORD = "{container}" }}
health_check = {{ path = "/orders" }}
[[targets]]
name = "function"
kind = "function"
adapter = "web"
event = "http"
command = ["{python}", "app.py"]
env = {{ RECORD = "{function}", AWS_LWA_READINESS_CHECK_PATH = "/ready", AWS_LWA_READINESS_CHECK_HEALTHY_STATUS = "200", AWS_LWA_ERROR_STATUS_CODES = "500-599" }}
"#,
            container = record("container").display(),
            function = record("function").display(),
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let outcomes = |t: &serde_json::Value| t["measurement"]["outcomes"].clone();
    let (container, function) = (outcomes(&json["targets"][0]), outcomes(&json["targets"][1]));
    let fails = container["http_error"]["500"].as_u64().unwrap_or(0);
    assert!(fails > 0 && container["ok"].as_u64().unwrap() + fails == 8, "the app's 500s: {container}");
    // The same requests, function errors: a function URL answers one with 502, as Lambda does, and
    // the billing records say the runtime posted /error.
    assert_eq!(function["http_error"]["502"].as_u64(), Some(fails), "{function}");
    assert_eq!(function["ok"], container["ok"], "{function} vs {container}");
    let run = results_path(&dir.path().join("out")).unwrap();
    let csv = std::fs::read_to_string(run.with_file_name("invocations.csv")).unwrap();
    let errors = csv.lines().filter(|l| l.starts_with("function,") && l.contains(",handler_error,")).count();
    assert_eq!(errors as u64, fails, "{csv}");
    // Each environment's Init asked /ready until it answered 200 (the third time); only then did
    // requests arrive, each with the adapter's two context headers.
    let seen = json_lines(&record("function"));
    let first = seen.iter().position(|r| r["path"] != "/ready").expect("requests after readiness");
    assert!(first >= 3 && seen[..first].iter().all(|r| r["path"] == "/ready"), "{seen:?}");
    let requests: Vec<&serde_json::Value> = seen.iter().filter(|r| r["path"] != "/ready").collect();
    assert_eq!(requests.len(), 8);
    assert!(requests.iter().all(|r| r["lambda"] == true && r["request"] == true), "{requests:?}");
}

/// Sleeps a second per request and records, per process, how many requests it had in flight at
/// the most (`{"pid": …, "peak": …}` lines in `$RECORD`, one per request).
const SLOW_APP: &str = r#"
import json, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
lock = threading.Lock()
state = {"now": 0, "peak": 0}

class App(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/":
            self.reply(200)
            return
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(1.0)
        with lock:
            state["now"] -= 1
            line = {"pid": os.getpid(), "peak": state["peak"]}
        with open(os.environ["RECORD"], "a") as f:
            f.write(json.dumps(line) + "\n")
        self.reply(200)
    def reply(self, status):
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), App).serve_forever()
"#;

#[test]
fn concurrency_per_instance_serves_that_many_requests_on_one_instance_at_once() {
    let Some(python) = python3() else {
        eprintln!("skipped: no python3 on this machine to run the web app");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), SLOW_APP).unwrap();
    let record = dir.path().join("seen.jsonl");
    // 8 requests a second of a second each: 8 in flight once the first environments are up (a
    // whole vCPU each, so that their Init is short beside the gap between arrivals).
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "multi"
duration = "3s"
[traffic]
pattern = "constant"
rate = 8
[[requests]]
path = "/work"
[[targets]]
name = "function"
kind = "function"
adapter = "web"
event = "http"
concurrency_per_instance = 4
memory_mb = 1769
command = ["{python}", "app.py"]
env = {{ RECORD = "{record}" }}
"#,
            record = record.display(),
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    let target = &json["targets"][0];
    assert_eq!(target["measurement"]["outcomes"]["ok"].as_u64(), Some(24), "{}", target["measurement"]);
    let seen = json_lines(&record);
    assert_eq!(seen.len(), 24);
    let peak = seen.iter().map(|r| r["peak"].as_u64().unwrap()).max().unwrap();
    assert_eq!(peak, 4, "an environment serves 4 requests at once, never more: {seen:?}");
    let function = &target["function"];
    assert_eq!(function["concurrency_per_instance"].as_u64(), Some(4));
    let started = function["stats"]["instances_started"].as_u64().unwrap();
    let cold = target["measurement"]["cold"].as_u64().unwrap();
    assert_eq!(cold, started, "one cold start per environment: {function}");
    // One request per environment would need 8 at once; 4 per environment needs 2, plus those
    // started while the first ones were still in their Init.
    assert!(started < 8, "environments shared: {started} started");
    let pids: std::collections::BTreeSet<u64> = seen.iter().map(|r| r["pid"].as_u64().unwrap()).collect();
    assert!(pids.len() as u64 <= started, "{pids:?}");
    // Priced as Lambda Managed Instances: environment capacity, not each request's duration.
    assert!(function["stats"]["instance_seconds"].as_f64().unwrap() > 0.0, "{function}");
    let cost = &json["analysis"]["targets"][0]["cost"];
    assert!(cost["basis"].as_str().unwrap().starts_with("Lambda Managed Instances"), "{cost}");
    let item = |name: &str| {
        let items = cost["monthly"]["items"].as_array().unwrap();
        items.iter().find(|i| i["item"] == name).map_or(0.0, |i| i["usd"].as_f64().unwrap())
    };
    assert!(item("compute") > 0.0, "{cost}");
    assert!((item("management_fee") - 0.15 * item("compute")).abs() < 1e-9, "{cost}");
}
