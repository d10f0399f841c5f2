//! The `lambda` target against `coldbench runtime` as its endpoint (never AWS): every request
//! signed with SigV4 (checked here by signing the captured request again with the same key),
//! and the cold/warm split read from each answer's log tail equal to the runtime's own REPORT
//! lines. A capture proxy between the two keeps what was sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};

const KEY_ID: &str = "AKIDCOLDBENCHTEST";
const SECRET: &str = "c29tZSBzZWNyZXQga2V5IGZvciB0ZXN0cw";

/// `coldbench runtime` serving the demo function as `fn`; its base URL and its stdout's lines.
fn runtime() -> (KillOnDrop, String, std::thread::JoinHandle<Vec<String>>) {
    spawn_runtime(&["--port", "0", "--name", "fn", "--memory-mb", "1769"])
}

/// A request as the proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: http::Method,
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
}

/// Forwards everything to `upstream`, keeping each request; with `deny_configuration`, answers
/// configuration requests as AWS does a caller without `lambda:GetFunctionConfiguration`.
async fn capture(
    upstream: String,
    deny_configuration: bool,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<Seen>>>, tokio_util::sync::CancellationToken) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let kept = Arc::clone(&seen);
    let client =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Full<Bytes>>();
    let (addr, stop) = serve(move |request: http::Request<hyper::body::Incoming>| {
        let (kept, client, upstream) = (Arc::clone(&kept), client.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            kept.lock().unwrap().push(Seen {
                method: parts.method.clone(),
                uri: parts.uri.clone(),
                headers: parts.headers.clone(),
                body: body.clone(),
            });
            if deny_configuration && parts.uri.path().ends_with("/configuration") {
                let mut denied = http::Response::new(Full::new(Bytes::from(r#"{"Message":"not authorized"}"#)));
                *denied.status_mut() = http::StatusCode::FORBIDDEN;
                denied
                    .headers_mut()
                    .insert("x-amzn-errortype", http::HeaderValue::from_static("AccessDeniedException"));
                return Ok(denied);
            }
            let mut forward = http::Request::new(Full::new(body));
            *forward.method_mut() = parts.method;
            *forward.uri_mut() = format!("{upstream}{}", parts.uri.path_and_query().unwrap()).parse().unwrap();
            *forward.headers_mut() = parts.headers;
            let answer = client.request(forward).await.unwrap();
            let (parts, body) = answer.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            Ok(http::Response::from_parts(parts, Full::new(body)))
        }
    })
    .await;
    (addr, seen, stop)
}

fn workload(dir: &std::path::Path, endpoint: &str, extra: &str, traffic: &str) -> std::path::PathBuf {
    write_workload(
        dir,
        "w.toml",
        &format!(
            r#"
name = "cloud"
duration = "3s"
[traffic]
{traffic}
[function]
work = {{ kind = "sleep", duration = "300ms" }}
[[targets]]
name = "deployed"
kind = "lambda"
function = "fn"
region = "us-east-1"
endpoint_url = "{endpoint}"
{extra}
"#
        ),
    )
}

fn run(workload: &std::path::Path, out: &std::path::Path) -> serde_json::Value {
    let output = coldbench()
        .args(["run", "--quiet", "--json", "--out"])
        .arg(out)
        .arg(workload)
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_valid_results(&json);
    assert_counts_add_up(&json);
    json
}

/// The signature `seen` should carry, signed again here with `secret` at its own `X-Amz-Date`.
fn signature_of(seen: &Seen, secret: &str, signed_headers: &str) -> String {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let date = seen.headers["x-amz-date"].to_str().unwrap();
    let time = parse_amz_date(date);
    let identity = aws_credential_types::Credentials::new(KEY_ID, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("lambda")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let names: Vec<&str> = signed_headers.split(';').collect();
    let headers: Vec<(&str, &str)> = seen
        .headers
        .iter()
        .filter(|(k, _)| {
            names.contains(&k.as_str()) && k.as_str() != "x-amz-date" && k.as_str() != "x-amz-content-sha256"
        })
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
        .collect();
    let host = seen.headers["host"].to_str().unwrap();
    let url = format!("http://{host}{}", seen.uri.path_and_query().unwrap());
    let signable =
        SignableRequest::new(seen.method.as_str(), &url, headers.into_iter(), SignableBody::Bytes(&seen.body)).unwrap();
    let (_, signature) = sign(signable, &params).unwrap().into_parts();
    signature
}

/// `20261203T150405Z` (SigV4's date) as a time.
fn parse_amz_date(d: &str) -> SystemTime {
    let rfc3339 = format!("{}-{}-{}T{}:{}:{}Z", &d[0..4], &d[4..6], &d[6..8], &d[9..11], &d[11..13], &d[13..15]);
    humantime::parse_rfc3339(&rfc3339).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_invoke_api_target_reads_cold_and_warm_from_the_log_tails() {
    let (child, base, lines) = runtime();
    let (addr, seen, stop) = capture(base, false).await;
    let dir = tempfile::tempdir().unwrap();
    // Five a second of 300 ms each: a few environments start, then serve warm.
    let w = workload(dir.path(), &format!("http://{addr}"), "", "pattern = \"constant\"\nrate = 5");
    let json = run(&w, &dir.path().join("out"));
    stop.cancel();
    drop(child);
    let target = &json["targets"][0];
    assert_eq!(target["kind"], "lambda");
    let m = &target["measurement"];
    assert_eq!(m["outcomes"]["ok"].as_u64(), Some(15), "{m}");
    // The runtime's own records: a REPORT line per invocation, Init Duration on the cold ones.
    let lines = lines.join().unwrap();
    let reports: Vec<&String> = lines.iter().filter(|l| l.starts_with("REPORT RequestId: ")).collect();
    let cold = reports.iter().filter(|l| l.contains("Init Duration")).count() as u64;
    assert_eq!(reports.len(), 15, "{lines:?}");
    assert!((1..15).contains(&cold), "some cold, some warm: {cold}");
    assert_eq!((m["cold"].as_u64(), m["warm"].as_u64()), (Some(cold), Some(15 - cold)), "{m}");
    let function = &target["function"];
    assert_eq!(function["invocations"]["cold"].as_u64(), Some(cold));
    assert_eq!(function["memory_mb"].as_u64(), Some(1769), "from the function's configuration and REPORT lines");
    assert!(json["analysis"]["targets"][0]["cost"]["monthly"]["total"].as_f64().unwrap() > 0.0, "priced as a function");

    // Every request was signed: AWS4-HMAC-SHA256 for lambda in us-east-1, a signature that the
    // same key reproduces and another key does not.
    let seen = seen.lock().unwrap().clone();
    let invokes: Vec<&Seen> = seen.iter().filter(|s| s.uri.path().ends_with("/invocations")).collect();
    assert_eq!(invokes.len(), 15);
    assert!(seen.iter().any(|s| s.method == http::Method::GET && s.uri.path().ends_with("/configuration")));
    for s in invokes {
        assert_eq!(s.headers["x-amz-log-type"], "Tail");
        let auth = s.headers["authorization"].to_str().unwrap();
        let date = s.headers["x-amz-date"].to_str().unwrap();
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").unwrap_or_else(|| panic!("{auth}"));
        let fields: Vec<&str> = rest.split(", ").collect();
        let credential = format!("Credential={KEY_ID}/{}/us-east-1/lambda/aws4_request", &date[..8]);
        assert_eq!(fields[0], credential, "{auth}");
        let signed = fields[1].strip_prefix("SignedHeaders=").unwrap();
        assert!(signed.split(';').any(|h| h == "host") && signed.split(';').any(|h| h == "x-amz-date"), "{auth}");
        let signature = fields[2].strip_prefix("Signature=").unwrap();
        assert!(signature.len() == 64 && signature.chars().all(|c| c.is_ascii_hexdigit()), "{auth}");
        assert_eq!(signature_of(s, SECRET, signed), signature, "verifies with the same key");
        assert_ne!(signature_of(s, "another secret", signed), signature);
    }

    // The same code as a local function target, compared with the deployed one.
    let local = write_workload(
        dir.path(),
        "local.toml",
        &std::fs::read_to_string(&w)
            .unwrap()
            .replace("kind = \"lambda\"", "kind = \"function\"\nmemory_mb = 1769")
            .lines()
            .filter(|l| !["function =", "region =", "endpoint_url ="].iter().any(|k| l.starts_with(k)))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let local = run(&local, &dir.path().join("local"));
    let (a, b) = (dir.path().join("local.json"), dir.path().join("cloud.json"));
    std::fs::write(&a, local.to_string()).unwrap();
    std::fs::write(&b, json.to_string()).unwrap();
    let compared = coldbench().arg("compare").args([&a, &b]).output().unwrap();
    let text = String::from_utf8_lossy(&compared.stdout);
    assert!(compared.status.success(), "{text}{}", String::from_utf8_lossy(&compared.stderr));
    assert!(text.contains("the local function model against the deployed function (the after run)"), "{text}");
    assert!(text.contains("cold starts") && text.contains("billed ms per invocation"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_cold_starts_update_the_configuration_after_each_invocation() {
    let (child, base, lines) = runtime();
    let (addr, seen, stop) = capture(base, false).await;
    let dir = tempfile::tempdir().unwrap();
    // One a second: each update is done long before the next invocation.
    let w =
        workload(dir.path(), &format!("http://{addr}"), "force_cold_starts = true", "pattern = \"constant\"\nrate = 1");
    let json = run(&w, &dir.path().join("out"));
    stop.cancel();
    drop(child);
    let m = &json["targets"][0]["measurement"];
    assert_eq!((m["outcomes"]["ok"].as_u64(), m["cold"].as_u64()), (Some(3), Some(3)), "every one cold: {m}");
    let lines = lines.join().unwrap();
    let cold = lines.iter().filter(|l| l.starts_with("REPORT") && l.contains("Init Duration")).count();
    assert_eq!(cold, 3, "{lines:?}");
    let updates = seen.lock().unwrap().iter().filter(|s| s.method == http::Method::PUT).count();
    assert!(updates >= 3, "one before the first and one after each: {updates}");
    let warnings = json["targets"][0]["warnings"].as_array().unwrap();
    assert!(
        !warnings.iter().any(|w| w.as_str().unwrap().contains("waited for the configuration update")),
        "{warnings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_may_only_invoke_still_measures_with_memory_from_the_reports() {
    let (child, base, _lines) = runtime();
    let (addr, _seen, stop) = capture(base, true).await;
    let dir = tempfile::tempdir().unwrap();
    let w = workload(dir.path(), &format!("http://{addr}"), "", "pattern = \"constant\"\nrate = 2");
    let json = run(&w, &dir.path().join("out"));
    stop.cancel();
    drop(child);
    let target = &json["targets"][0];
    assert_eq!(target["measurement"]["outcomes"]["ok"].as_u64(), Some(6));
    assert_eq!(target["function"]["memory_mb"].as_u64(), Some(1769), "from the REPORT lines");
    let warnings = target["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().contains("cannot read the function's configuration")),
        "{warnings:?}"
    );
}
