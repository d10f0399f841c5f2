//! Lambda mode of the demo function: a real Runtime API client built on the official
//! `lambda_runtime` crate, running the same Init and work code as the HTTP mode.
//!
//! Handles both event shapes: a raw Invoke API event (the work itself) and a function URL
//! payload format 2.0 event (the work in `body`), answering the latter with a response object.

use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

use super::work::perform_blocking;
use crate::workload::{parse_request, Init, Work};

/// The `source` of a keep-warm ping event: `{"source": "coldbench.keep-warm"}`.
pub const KEEP_WARM_SOURCE: &str = "coldbench.keep-warm";

/// Fault injection: post this message to `/runtime/init/error`, then exit 1 (as `awslambdaric` does).
pub const ENV_INIT_ERROR: &str = "COLDBENCH_INIT_ERROR";
/// Fault injection: exit with this code during Init, before the first `/next`.
pub const ENV_INIT_EXIT: &str = "COLDBENCH_INIT_EXIT";

/// Runs Init, then serves invocations from `AWS_LAMBDA_RUNTIME_API` until the process is stopped.
///
/// # Errors
/// When the Init settings or the Lambda environment are invalid, or the Runtime API fails.
pub async fn serve_lambda() -> anyhow::Result<()> {
    let init = Init::from_env()?;
    // Init runs before the first `/next`, on this thread: nothing else can happen yet anyway.
    let _kept = init.perform();
    if let Ok(code) = std::env::var(ENV_INIT_EXIT) {
        std::process::exit(code.parse().with_context(|| format!("{ENV_INIT_EXIT}: not an exit code"))?);
    }
    if let Ok(message) = std::env::var(ENV_INIT_ERROR) {
        post_init_error(&message).await?;
        std::process::exit(1);
    }
    // Several workers polling `/next` when the environment takes several requests at once
    // (`AWS_LAMBDA_MAX_CONCURRENCY`); one otherwise.
    lambda_runtime::run_concurrent(service_fn(handle)).await.map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("source").and_then(Value::as_str) == Some(KEEP_WARM_SOURCE) {
        // A warmer's ping: answer at once, as warmed handlers do, without the request's work.
        return Ok(json!({ "warm": true }));
    }
    let is_url_event = payload.pointer("/requestContext/http/method").is_some();
    let body: Vec<u8> = if is_url_event {
        let text = payload.get("body").and_then(Value::as_str).unwrap_or("");
        if payload.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
            base64::engine::general_purpose::STANDARD.decode(text)?
        } else {
            text.as_bytes().to_vec()
        }
    } else {
        serde_json::to_vec(&payload)?
    };
    let work = parse_request(&body).map_err(Error::from)?;
    if let Work::Cache(cache) = &work {
        // Only a function URL's response has headers to say hit or miss in; the body says it too.
        let lookup = cache.serve().await?;
        let body = String::from_utf8_lossy(&lookup.body()).into_owned();
        if is_url_event {
            let headers = json!({ "content-type": "application/json", crate::http::CACHE_HEADER: lookup.verdict() });
            return Ok(json!({ "statusCode": 200, "headers": headers, "body": body }));
        }
        return Ok(serde_json::from_str(&body)?);
    }
    let output = run(work, body).await?;
    if is_url_event {
        let text = String::from_utf8_lossy(&output).into_owned();
        return Ok(json!({ "statusCode": 200, "headers": { "content-type": "application/json" }, "body": text }));
    }
    Ok(serde_json::from_slice(&output).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&output).into_owned())))
}

async fn run(work: Work, body: Vec<u8>) -> Result<Vec<u8>, Error> {
    match work {
        Work::Sleep { duration } => {
            crate::time::timer::sleep_precisely(duration.0).await;
            Ok(b"{\"ok\":true}".to_vec())
        }
        Work::Echo { .. } => Ok(body),
        Work::Fail { message } => Err(message.into()),
        // Panic on the handler's own task so `lambda_runtime` reports it as it reports panics.
        Work::Panic { message } => panic!("{message}"),
        blocking => Ok(tokio::task::spawn_blocking(move || perform_blocking(&blocking, &body)).await?),
    }
}

/// Posts `/runtime/init/error` the way `awslambdaric` does (error-type header, JSON body).
async fn post_init_error(message: &str) -> anyhow::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").context("AWS_LAMBDA_RUNTIME_API is not set")?;
    let addr = tokio::net::lookup_host(&api).await?.next().context("AWS_LAMBDA_RUNTIME_API has no address")?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let body = json!({ "errorMessage": message, "errorType": "Runtime.InitError", "requestId": "", "stackTrace": [] });
    let request = http::Request::post("/2018-06-01/runtime/init/error")
        .header(http::header::HOST, api.as_str())
        .header("lambda-runtime-function-error-type", "Runtime.InitError")
        .body(http_body_util::Full::new(bytes::Bytes::from(body.to_string())))?;
    let response = tokio::time::timeout(Duration::from_secs(5), sender.send_request(request)).await??;
    anyhow::ensure!(response.status() == 202, "/init/error answered {}", response.status());
    Ok(())
}
