//! A `lambda` target: a function deployed on AWS, measured through its Invoke API.
//!
//! The load generator sends each request to a local gateway whose backend signs it with SigV4
//! and forwards it (`crate::cloud`); every invocation asks for its log's tail, and its REPORT line
//! — the platform's own — says whether it was cold, its Init Duration, Duration, billed duration
//! and memory. Those records are summed and logged as a local function's are, so the report, the
//! cost model, `simulate --calibrate` and `compare` treat both alike: the check that the local
//! model matches the cloud. Forced cold starts, when asked, follow lambda-perf.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use super::{Endpoint, Part, Run, StartError, Target};
use crate::cloud::{HttpsClient, LambdaFunction, Lookup};
use crate::gateway::{Backend, Gateway, Invocation, InvocationRecord, InvokeFuture, Served};
use crate::http::RequestTemplate;
use crate::lambda::{BillingMode, EventShape, ReportLine};
use crate::metrics::{
    BillingRecord, FunctionReport, FunctionStats, InvocationOutcome, InvocationSummary, RecordLog, TargetKind,
};
use crate::workload::LambdaSpec;

/// The environment variable a forced cold start changes (lambda-perf's method).
pub const FORCE_COLD_VARIABLE: &str = "COLDBENCH_FORCE_COLD_START";

/// A deployed function, measured as it is.
pub struct LambdaTarget<'a> {
    spec: &'a LambdaSpec,
    running: Option<(Gateway, Arc<Cloud>)>,
    warnings: Vec<String>,
}

impl<'a> LambdaTarget<'a> {
    pub fn new(spec: &'a LambdaSpec) -> Self {
        Self { spec, running: None, warnings: Vec::new() }
    }
}

impl Target for LambdaTarget<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Lambda
    }

    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError> {
        let s = self.spec;
        let failed = |e: anyhow::Error| StartError::Failed(format!("{e:#}"));
        let var = |name: &str| std::env::var(name).ok();
        let lookup = Lookup { var: &var, profile: s.profile.as_deref() };
        let function = LambdaFunction::resolve(
            &s.function,
            s.qualifier.as_deref(),
            s.region.as_deref(),
            s.endpoint_url.as_deref(),
            &lookup,
        )
        .map_err(failed)?;
        let client = crate::cloud::https_client().map_err(failed)?;
        // Its settings, and a check that the function exists and the credentials are accepted. A
        // caller allowed to invoke but not to read the configuration still measures (memory from
        // the REPORT lines), unless it must update it.
        let mut warnings = Vec::new();
        let configuration = match configuration(&client, &function, None).await {
            Ok(configuration) => configuration,
            Err(e) if e.to_string().contains("AccessDeniedException") && !s.force_cold_starts => {
                warnings.push(format!(
                    "cannot read the function's configuration ({e:#}): its timeout is unknown (0 in the report)"
                ));
                Value::Null
            }
            Err(e) => {
                return Err(StartError::Failed(format!(
                    "{} ({}, credentials from {}): {e:#}",
                    function.function, function.endpoint, function.keys.source
                )))
            }
        };
        let cloud = Arc::new_cyclic(|me| Cloud {
            me: me.clone(),
            target: s.name.clone(),
            memory_mb: AtomicU32::new(configuration["MemorySize"].as_u64().unwrap_or(0) as u32),
            timeout_ms: configuration["Timeout"].as_u64().map_or(0, |s| s * 1_000),
            force_cold: s.force_cold_starts.then(|| ForceCold {
                turn: Arc::new(tokio::sync::Mutex::new(())),
                count: AtomicU64::new(0),
                waited: AtomicU64::new(0),
                failed: Mutex::new(None),
            }),
            function,
            client,
            records: run.options.records.cloned(),
            summary: Mutex::new(InvocationSummary::default()),
            unreported: AtomicU64::new(0),
        });
        if cloud.force_cold.is_some() {
            // The first invocation is cold too, as each one after it.
            cloud.force_cold_start().await.map_err(failed)?;
        }
        let gateway = Gateway::start(Arc::clone(&cloud) as Arc<dyn Backend>)
            .await
            .map_err(|e| StartError::Failed(format!("cannot start the gateway: {e}")))?;
        let url = format!("{}{}", gateway.url().trim_end_matches('/'), EventShape::Invoke.path(&s.name));
        let headers = std::collections::BTreeMap::from([("content-type".to_string(), "application/json".to_string())]);
        let default = RequestTemplate::new("POST", &url, &headers, run.workload.spec.function.work.request_body())
            .expect("the gateway URL and fixed headers are valid");
        let requests = super::request_set(run.workload, &s.name, default, |r| {
            RequestTemplate::new("POST", &url, &super::merged(&headers, &r.headers), r.body.clone().unwrap_or_default())
        });
        self.running = Some((gateway, cloud));
        self.warnings = warnings;
        Ok(Endpoint { url, requests })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        let Some((gateway, cloud)) = self.running.take() else { return Part::default() };
        gateway.stop().await;
        // The last forced update, if one is still on its way.
        if let Some(force) = &cloud.force_cold {
            let _ = force.turn.lock().await;
        }
        let invocations = std::mem::take(&mut *cloud.summary.lock().expect("summary lock"));
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.push(
            "a deployed function's latency includes coldbench's local signing hop (its gateway) and the network to \
             the endpoint; the phases (connect, TLS, …) are that hop's, the Invoke API's round trip is in `waiting`"
                .to_string(),
        );
        let unreported = cloud.unreported.load(Ordering::Relaxed);
        if unreported > 0 {
            warnings.push(format!(
                "{unreported} answer(s) carried no REPORT line in X-Amz-Log-Result (a throttle, an error before the \
                 function ran, or a log tail cut short): they are not in the cold/warm split or the billing records"
            ));
        }
        if let Some(force) = &cloud.force_cold {
            let waited = force.waited.load(Ordering::Relaxed);
            if waited > 0 {
                warnings.push(format!(
                    "{waited} request(s) waited for the configuration update that forces their cold start (one \
                     invocation at a time; the update follows each one): their latency includes that wait — send \
                     them further apart"
                ));
            }
            if let Some(error) = force.failed.lock().expect("failed lock").take() {
                warnings.push(format!("a forced cold start failed, so an invocation may have been warm: {error}"));
            }
        }
        let memory_mb = cloud.memory_mb.load(Ordering::Relaxed);
        let stats = FunctionStats { instances_started: invocations.cold, ..FunctionStats::default() };
        let function = FunctionReport {
            memory_mb,
            timeout_ms: cloud.timeout_ms,
            event: EventShape::Invoke,
            billing: BillingMode::Standard,
            provisioned: 0,
            concurrency_per_instance: 1,
            stats,
            billed_ms_total: invocations.billed_ms_total,
            invocations,
            alive_per_second: Vec::new(),
            keep_warm: None,
            events: None,
        };
        Part { function: Some(function), warnings, ..Part::default() }
    }
}

/// The backend behind the target's gateway: signs, forwards, reads the REPORT line.
struct Cloud {
    /// Itself, for the update that follows a forced cold invocation.
    me: std::sync::Weak<Cloud>,
    target: String,
    function: LambdaFunction,
    client: HttpsClient,
    /// The function's memory: its configuration's, then what REPORT lines say.
    memory_mb: AtomicU32,
    timeout_ms: u64,
    force_cold: Option<ForceCold>,
    records: Option<Arc<dyn RecordLog>>,
    summary: Mutex<InvocationSummary>,
    /// Answers without a REPORT line.
    unreported: AtomicU64,
}

/// Forced cold starts: one invocation at a time, each followed by the configuration update that
/// sends the next one to a new environment.
struct ForceCold {
    /// Held from an invocation until the update after it is done.
    turn: Arc<tokio::sync::Mutex<()>>,
    count: AtomicU64,
    /// Invocations that found the previous update still running.
    waited: AtomicU64,
    failed: Mutex<Option<String>>,
}

impl Cloud {
    /// Changes one environment variable (keeping the others), as lambda-perf does, and waits
    /// until the update is done.
    async fn force_cold_start(&self) -> anyhow::Result<()> {
        let Some(force) = &self.force_cold else { return Ok(()) };
        let current = configuration(&self.client, &self.function, None).await?;
        let mut variables = current.pointer("/Environment/Variables").cloned().unwrap_or_else(|| json!({}));
        let n = force.count.fetch_add(1, Ordering::Relaxed);
        variables[FORCE_COLD_VARIABLE] = Value::String(n.to_string());
        let mut status =
            configuration(&self.client, &self.function, Some(&json!({ "Environment": { "Variables": variables } })))
                .await?;
        // An update is applied asynchronously: the function takes invocations again when done.
        for _ in 0..600 {
            match status["LastUpdateStatus"].as_str() {
                Some("InProgress") => {}
                Some("Failed") => anyhow::bail!("the update failed: {}", status["LastUpdateStatusReason"]),
                _ => return Ok(()),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            status = configuration(&self.client, &self.function, None).await?;
        }
        anyhow::bail!("the update was still in progress after 5 minutes")
    }

    async fn serve(&self, invocation: Invocation) -> Served {
        let turn = match &self.force_cold {
            Some(force) => Some(match Arc::clone(&force.turn).try_lock_owned() {
                Ok(turn) => turn,
                Err(_) => {
                    force.waited.fetch_add(1, Ordering::Relaxed);
                    Arc::clone(&force.turn).lock_owned().await
                }
            }),
            None => None,
        };
        let served = self.forward(invocation).await;
        if let (Some(turn), Some(cloud)) = (turn, self.me.upgrade()) {
            // After the answer, not before it: the update is not this request's latency.
            tokio::spawn(async move {
                if let Err(e) = cloud.force_cold_start().await {
                    let failed = &cloud.force_cold.as_ref().expect("forcing").failed;
                    failed.lock().expect("failed lock").get_or_insert_with(|| format!("{e:#}"));
                }
                drop(turn);
            });
        }
        served
    }

    async fn forward(&self, invocation: Invocation) -> Served {
        // The caller's own Invoke API headers (a client context, a trace id) go along, signed.
        let mut extra = http::HeaderMap::new();
        for name in ["x-amz-client-context", "x-amzn-trace-id"] {
            if let Some(value) = invocation.headers.get(name) {
                extra.insert(name, value.clone());
            }
        }
        let request = match self.function.invoke_request(invocation.body, &extra, SystemTime::now()) {
            Ok(request) => request,
            Err(e) => return unreachable(&format!("cannot sign the request: {e:#}")),
        };
        let answer = match crate::cloud::send(&self.client, request).await {
            Ok(answer) => answer,
            Err(e) => {
                return unreachable(&format!("the Invoke API at {} did not answer: {e:#}", self.function.endpoint))
            }
        };
        let mut response = Response::new(answer.body);
        *response.status_mut() = answer.status;
        // Lambda's headers, not whatever else the endpoint adds (a local runtime's own marks).
        for name in [
            "content-type",
            "x-amz-function-error",
            "x-amzn-requestid",
            "x-amz-executed-version",
            "x-amzn-errortype",
            "retry-after",
        ] {
            if let Some(value) = answer.headers.get(name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        let Some(report) = answer.report else {
            self.unreported.fetch_add(1, Ordering::Relaxed);
            return Served { response, record: None };
        };
        let outcome = if answer.headers.contains_key("x-amz-function-error") {
            InvocationOutcome::HandlerError
        } else {
            InvocationOutcome::Success
        };
        self.record(&report, outcome);
        let record = InvocationRecord {
            instance: self.function.function.clone(),
            cold: report.init_ms.is_some(),
            init: report.init_ms.map(|ms| Duration::from_secs_f64(ms / 1e3)),
            duration: Duration::from_secs_f64(report.duration_ms / 1e3),
            billed_ms: Some(report.billed_ms),
        };
        Served { response, record: Some(record) }
    }

    /// Sums and logs the platform's record of one invocation.
    fn record(&self, report: &ReportLine, outcome: InvocationOutcome) {
        if report.memory_mb > 0 {
            self.memory_mb.store(report.memory_mb, Ordering::Relaxed);
        }
        let record = BillingRecord {
            request_id: report.request_id.clone(),
            instance: None,
            cold: report.init_ms.is_some(),
            provisioned: false,
            init_ms: report.init_ms,
            duration_ms: report.duration_ms,
            billed_ms: report.billed_ms,
            memory_mb: report.memory_mb,
            max_memory_used_mb: report.max_memory_used_mb,
            outcome,
            cpu_ms: None,
            throttled_ms: None,
        };
        self.summary.lock().expect("summary lock").add(&record);
        if let Some(log) = &self.records {
            log.record(&self.target, &record);
        }
    }
}

impl Backend for Cloud {
    fn invoke(&self, invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(self.serve(invocation))
    }
}

/// The gateway's answer when the endpoint could not be reached: a balancer's 502.
fn unreachable(message: &str) -> Served {
    let mut response = Response::new(Bytes::from(format!("{message}\n")));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response.headers_mut().insert(http::header::SERVER, HeaderValue::from_static(crate::http::BALANCER_SERVER));
    Served { response, record: None }
}

/// `GetFunctionConfiguration`, or `UpdateFunctionConfiguration` with `update`.
async fn configuration(
    client: &HttpsClient,
    function: &LambdaFunction,
    update: Option<&Value>,
) -> anyhow::Result<Value> {
    let answer = crate::cloud::send(client, function.configuration_request(update)?).await?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    anyhow::ensure!(
        answer.status.is_success(),
        "{} {}: {}",
        answer.status,
        answer.headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or(""),
        body.get("message").or_else(|| body.get("Message")).and_then(Value::as_str).unwrap_or("")
    );
    Ok(body)
}
