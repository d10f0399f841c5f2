//! A deterministic fake target, in process: the gateway in front of a backend that answers at
//! once from a script (which invocations are cold, their Init and duration, which fail), with
//! billing records as a function would have. It lets the whole pipeline — load generator,
//! recorder, analysis, exporters — be tested without processes or sleeps.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::{Endpoint, Part, Run, StartError, Target};
use crate::gateway::{Backend, Gateway, Invocation, InvocationRecord, InvokeFuture, Served};
use crate::http::RequestTemplate;
use crate::lambda::{billed_ms, BillingMode, EventShape};
use crate::metrics::{BillingRecord, FunctionReport, FunctionStats, InvocationOutcome, InvocationSummary};
use crate::metrics::{RecordLog, TargetKind};

/// What the fake does with the n-th invocation (counting from 0).
#[derive(Clone, Debug, PartialEq)]
pub struct FakeScript {
    /// Every `cold_every`-th invocation starts an instance (0: only the first does).
    pub cold_every: u64,
    /// Init of a cold invocation, as reported (not slept).
    pub init: Duration,
    /// Each invocation's duration, as reported and billed (not slept).
    pub duration: Duration,
    /// Every `fail_every`-th invocation answers 500 (0: none fails).
    pub fail_every: u64,
    pub memory_mb: u32,
}

impl Default for FakeScript {
    fn default() -> Self {
        Self {
            cold_every: 0,
            init: Duration::from_millis(200),
            duration: Duration::from_millis(10),
            fail_every: 0,
            memory_mb: crate::lambda::DEFAULT_MEMORY_MB,
        }
    }
}

/// A scripted function-like target.
pub struct FakeTarget {
    name: String,
    backend: Arc<FakeBackend>,
    gateway: Option<Gateway>,
}

impl FakeTarget {
    pub fn new(name: &str, script: FakeScript) -> Self {
        let backend =
            Arc::new(FakeBackend { name: name.to_string(), script, tally: Mutex::default(), log: Mutex::default() });
        Self { name: name.to_string(), backend, gateway: None }
    }
}

struct FakeBackend {
    name: String,
    script: FakeScript,
    tally: Mutex<Tally>,
    /// The run's record log, while the target runs.
    log: Mutex<Option<Arc<dyn RecordLog>>>,
}

/// Every invocation's record so far, summed, and how many instances the cold ones started.
#[derive(Default)]
struct Tally {
    summary: InvocationSummary,
    instances: usize,
}

impl FakeBackend {
    fn serve(&self) -> Served {
        let s = &self.script;
        let mut tally = self.tally.lock().expect("tally lock");
        let n = tally.summary.invocations;
        let cold = n == 0 || (s.cold_every > 0 && n % s.cold_every == 0);
        let fails = s.fail_every > 0 && (n + 1) % s.fail_every == 0;
        let init = cold.then_some(s.init);
        tally.instances += usize::from(cold);
        let instance = format!("fake-{}", tally.instances);
        let billed = billed_ms(s.duration, init, BillingMode::Standard);
        let record = BillingRecord {
            request_id: format!("fake-request-{n}"),
            instance: Some(instance.clone()),
            cold,
            provisioned: false,
            init_ms: init.map(|d| d.as_secs_f64() * 1e3),
            duration_ms: s.duration.as_secs_f64() * 1e3,
            billed_ms: billed,
            memory_mb: s.memory_mb,
            max_memory_used_mb: 0,
            outcome: if fails { InvocationOutcome::HandlerError } else { InvocationOutcome::Success },
            cpu_ms: None,
            throttled_ms: None,
        };
        tally.summary.add(&record);
        drop(tally);
        if let Some(log) = &*self.log.lock().expect("log lock") {
            log.record(&self.name, &record);
        }
        let (status, body) =
            if fails { (StatusCode::INTERNAL_SERVER_ERROR, "scripted failure") } else { (StatusCode::OK, "{}") };
        let mut response = Response::new(Bytes::from_static(body.as_bytes()));
        *response.status_mut() = status;
        let record = InvocationRecord { instance, cold, init, duration: s.duration, billed_ms: Some(billed) };
        Served { response, record: Some(record) }
    }
}

impl Backend for FakeBackend {
    fn invoke(&self, _invocation: Invocation) -> InvokeFuture<'_> {
        Box::pin(std::future::ready(self.serve()))
    }
}

impl Target for FakeTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Function
    }

    async fn start(&mut self, run: &Run<'_>) -> Result<Endpoint, StartError> {
        self.backend.log.lock().expect("log lock").clone_from(&run.options.records.cloned());
        let gateway = Gateway::start(Arc::clone(&self.backend) as _)
            .await
            .map_err(|e| StartError::Failed(format!("cannot start the gateway: {e}")))?;
        let url = gateway.url();
        self.gateway = Some(gateway);
        let template =
            RequestTemplate::new("POST", &url, &BTreeMap::new(), Bytes::new()).expect("the gateway URL is valid");
        Ok(Endpoint { url, requests: crate::http::RequestSet::one(template) })
    }

    async fn stop(&mut self, _run: &Run<'_>) -> Part {
        if let Some(gateway) = self.gateway.take() {
            gateway.stop().await;
        }
        let tally = std::mem::take(&mut *self.backend.tally.lock().expect("tally lock"));
        self.backend.log.lock().expect("log lock").take();
        let (invocations, started) = (tally.summary, tally.instances as u64);
        let function = FunctionReport {
            memory_mb: self.backend.script.memory_mb,
            timeout_ms: crate::lambda::DEFAULT_TIMEOUT.as_millis() as u64,
            event: EventShape::Invoke,
            billing: BillingMode::Standard,
            provisioned: 0,
            concurrency_per_instance: 1,
            stats: FunctionStats {
                instances_started: started,
                peak_instances: usize::from(started > 0),
                ..FunctionStats::default()
            },
            billed_ms_total: invocations.billed_ms_total,
            invocations,
            alive_per_second: Vec::new(),
            keep_warm: None,
            events: None,
        };
        Part { function: Some(function), ..Part::default() }
    }
}
