//! Interop with Python's official runtime client, `awslambdaric` (reference §4.3), run as an
//! unmodified function by the local runtime. Needs `pip install awslambdaric==4.2.2`, which
//! `.ci/run` does; plain `cargo test` skips these (`#[ignore]`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use coldbench::gateway::Gateway;
use coldbench::runtime::{FunctionConfig, FunctionRuntime};
use common::*;

const HANDLER: &str = r#"
import os
import sys

def handler(event, context):
    kind = event.get("kind")
    if kind == "trace":
        return {"trace": os.environ.get("_X_AMZN_TRACE_ID")}
    if kind == "fail":
        raise ValueError("boom at invoke")
    if kind == "exit":
        sys.exit(42)
    if kind == "context":
        custom = context.client_context.custom if context.client_context else None
        return {
            "request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "function": context.function_name,
            "memory": context.memory_limit_in_mb,
            "custom": custom,
        }
    return {"echo": event}
"#;

/// The real interpreter (not a pyenv shim, which needs the host environment).
fn python() -> String {
    python3().expect("python3, with awslambdaric installed")
}

async fn start(dir: &std::path::Path, handler: &str) -> (FunctionRuntime, Gateway, String) {
    let (tag_key, tag_value) = unique_tag();
    let config = FunctionConfig::new("py", vec![python(), "-m".into(), "awslambdaric".into(), handler.into()])
        .handler(handler)
        .timeout(Duration::from_secs(5))
        .init_timeout(Duration::from_secs(20))
        .env("PYTHONPATH", dir.display().to_string())
        .env(tag_key.clone(), tag_value.clone());
    let runtime = FunctionRuntime::start(config).await.unwrap();
    let gateway = Gateway::start(Arc::new(runtime.clone())).await.unwrap();
    (runtime, gateway, format!("{tag_key}={tag_value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the awslambdaric Python package (installed by .ci/run)"]
async fn awslambdaric_functions_run_unmodified() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.py"), HANDLER).unwrap();
    let (runtime, gateway, tag) = start(dir.path(), "app.handler").await;
    let url = format!("{}2015-03-31/functions/py/invocations", gateway.url());

    let echo = send("POST", &url, &[], r#"{"n":1}"#).await;
    assert_eq!((echo.status, echo.text().as_str()), (200, r#"{"echo": {"n": 1}}"#));
    assert_eq!(echo.header("x-coldbench-cold"), "true");

    let context = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"foo":"bar"}}"#);
    runtime.settled().await;
    let ctx = send("POST", &url, &[("x-amz-client-context", &context)], r#"{"kind":"context"}"#).await;
    let body: serde_json::Value = serde_json::from_slice(&ctx.body).unwrap();
    assert_eq!(body["function"], "py");
    assert_eq!(body["memory"], "128");
    assert_eq!(body["custom"]["foo"], "bar");
    assert_eq!(body["request_id"].as_str().unwrap().len(), 36);
    let remaining = body["remaining_ms"].as_u64().unwrap();
    assert!(remaining > 3_000 && remaining <= 5_000, "deadline = timeout from now: {remaining}");
    assert_eq!(ctx.header("x-coldbench-cold"), "false");

    runtime.settled().await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let traced = send("POST", &url, &[("x-amzn-trace-id", trace)], r#"{"kind":"trace"}"#).await;
    assert_eq!(traced.text(), format!(r#"{{"trace": "{trace}"}}"#), "the caller's trace id, as _X_AMZN_TRACE_ID");

    runtime.settled().await;
    let fail = send("POST", &url, &[], r#"{"kind":"fail"}"#).await;
    assert_eq!(fail.header("x-amz-function-error"), "Unhandled");
    let body: serde_json::Value = serde_json::from_slice(&fail.body).unwrap();
    assert_eq!(
        (body["errorType"].as_str(), body["errorMessage"].as_str()),
        (Some("ValueError"), Some("boom at invoke"))
    );
    // awslambdaric prints the traceback after posting the error and only then calls /next:
    // until it does, the instance is busy and a request would rightly go to a new one.
    runtime.settled().await;
    assert_eq!(send("POST", &url, &[], "{}").await.header("x-coldbench-cold"), "false", "still warm after the error");

    runtime.settled().await;
    let exit = send("POST", &url, &[], r#"{"kind":"exit"}"#).await;
    let body: serde_json::Value = serde_json::from_slice(&exit.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert!(body["errorMessage"].as_str().unwrap().ends_with("exit status 42"), "{body}");
    assert_eq!(send("POST", &url, &[], "{}").await.header("x-coldbench-cold"), "true");

    gateway.stop().await;
    runtime.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(processes_with_env(&tag), Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the awslambdaric Python package (installed by .ci/run)"]
async fn awslambdaric_import_errors_reach_the_caller() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("badimport.py"), "import not_a_module_coldbench\n").unwrap();
    let (runtime, gateway, _) = start(dir.path(), "badimport.handler").await;
    let url = format!("{}2015-03-31/functions/py/invocations", gateway.url());
    let r = send("POST", &url, &[], "{}").await;
    assert_eq!((r.status, r.header("x-amz-function-error").as_str()), (200, "Unhandled"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["errorType"], "Runtime.ImportModuleError");
    assert!(body["errorMessage"].as_str().unwrap().contains("not_a_module_coldbench"), "{body}");
    gateway.stop().await;
    runtime.stop();
}
