//! Requests the workload chooses reach the targets as written: a container (a plain HTTP server),
//! a function behind a function URL and one behind the Invoke API, both unmodified Runtime API
//! programs. The programs are small Python scripts on the standard library, run from the
//! workload's folder by a relative path (the default working directory); without `python3` the
//! test says so and skips.

mod common;

use common::*;

/// Records each request as a JSON line (method, path, headers, body) in `$RECORD`.
const SERVER: &str = r#"
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Recorder(BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode()
        line = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with open(os.environ["RECORD"], "a") as f:
            f.write(json.dumps(line) + "\n")
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    do_GET = do_PUT = do_POST = answer
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Recorder).serve_forever()
"#;

/// A Runtime API loop that records each event, one per line, in `$RECORD`.
const RUNTIME: &str = r#"
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    with open(os.environ["RECORD"], "a") as f:
        f.write(json.dumps(event) + "\n")
    answer = json.dumps({"statusCode": 200, "body": "ok"}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=answer, method="POST")).read()
"#;

#[test]
fn a_request_template_with_a_path_headers_and_a_file_body_reaches_containers_and_functions_as_written() {
    let Some(python) = python3() else {
        eprintln!("skipped: no python3 on this machine to run the recording server and runtime");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("server.py"), SERVER).unwrap();
    std::fs::write(app.join("runtime.py"), RUNTIME).unwrap();
    std::fs::write(dir.path().join("order.json"), "{\"order\": 42, \"items\": [\"tea\"]}").unwrap();
    let record = |name: &str| dir.path().join(format!("{name}.jsonl"));
    let workload = write_workload(
        dir.path(),
        "w.toml",
        &format!(
            r#"
name = "requests"
duration = "2s"
[traffic]
pattern = "constant"
rate = 4

[[requests]]
method = "PUT"
path = "/orders/42"
query = {{ expand = "items lines" }}
headers = {{ x-team = "blue", content-type = "application/json" }}
body_file = "order.json"

[[targets]]
name = "svc"
kind = "container"
cwd = "app"
command = ["{python}", "server.py"]
env = {{ RECORD = "{svc}" }}
health_check = {{ enabled = false }}

[[targets]]
name = "url"
kind = "function"
event = "http"
cwd = "app"
command = ["{python}", "runtime.py"]
env = {{ RECORD = "{url}" }}

[[targets]]
name = "invoke"
kind = "function"
command = ["{python}", "app/runtime.py"]
env = {{ RECORD = "{invoke}" }}
requests = [{{ body_file = "order.json", headers = {{ x-team = "green" }} }}]
"#,
            svc = record("svc").display(),
            url = record("url").display(),
            invoke = record("invoke").display(),
        ),
    );
    let json = run_json(&workload, None, &dir.path().join("out"));
    assert_counts_add_up(&json);
    for target in json["targets"].as_array().unwrap() {
        assert_eq!(target["measurement"]["outcomes"]["ok"].as_u64(), Some(8), "{}: {target}", target["name"]);
    }
    let body = "{\"order\": 42, \"items\": [\"tea\"]}";
    // The report says what each target was sent.
    let sent = &json["workload"]["requests"];
    assert_eq!(sent["svc"][0], "PUT /orders/42?expand=items%20lines (body 31 B)", "{sent}");
    assert_eq!(sent["invoke"][0], "POST (the Invoke API) (body 31 B)", "{sent}");
    // The container's server sees the request itself.
    let seen = json_lines(&record("svc"));
    assert_eq!(seen.len(), 8, "{seen:?}");
    for r in &seen {
        assert_eq!((r["method"].as_str(), r["path"].as_str()), (Some("PUT"), Some("/orders/42?expand=items%20lines")));
        assert_eq!(r["headers"]["x-team"], "blue");
        assert_eq!(r["body"], body);
    }
    // A function URL turns it into a payload 2.0 event (the body as text: its content type is JSON).
    let events = json_lines(&record("url"));
    assert_eq!(events.len(), 8, "{events:?}");
    for e in &events {
        assert_eq!(e["requestContext"]["http"]["method"], "PUT");
        assert_eq!(
            (e["rawPath"].as_str(), e["rawQueryString"].as_str()),
            (Some("/orders/42"), Some("expand=items%20lines"))
        );
        assert_eq!(e["headers"]["x-team"], "blue");
        assert_eq!(e["body"], body);
    }
    // Through the Invoke API the body is the event.
    let events = json_lines(&record("invoke"));
    assert_eq!(events.len(), 8, "{events:?}");
    assert!(events.iter().all(|e| e["order"] == 42 && e["items"][0] == "tea"), "{events:?}");
}
