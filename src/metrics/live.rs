//! Live metrics in the Prometheus text format (`run --metrics ADDR`, `runtime --metrics ADDR`):
//! what CloudWatch shows of a Lambda function — invocations, errors by kind, throttles,
//! duration — and what it does not (the seed's list): Init durations, cold starts, concurrent
//! executions and memory per instance; and for a container service its instances in service,
//! desired count and scaling events. The same figures as results.json, as they happen.
//!
//! Fed by the runs' own streams: each billing record ([`LiveRecords`], a [`RecordLog`]), each
//! request the load generator ends ([`LiveMetrics::request`]), and samplers of the pool and the
//! fleet. Encoded by the `prometheus-client` crate (OpenMetrics text, which Prometheus scrapes).

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::{BillingRecord, InvocationOutcome, Outcome, RecordLog};

type Labels = Vec<(&'static str, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// Buckets of durations in seconds: 1 ms, 2 ms, … 65.5 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Every live figure of one process, by target; cheap to update from any thread.
#[derive(Debug)]
pub struct LiveMetrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    request_duration: Histograms,
    invocations: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    throttles: Family<Labels, Counter>,
    cold_starts: Family<Labels, Counter>,
    duration: Histograms,
    init: Histograms,
    billed_ms: Family<Labels, Counter>,
    memory: Family<Labels, Gauge>,
    concurrent: Family<Labels, Gauge>,
    instances: Family<Labels, Gauge>,
    desired: Family<Labels, Gauge>,
    scaling: Family<Labels, Counter>,
}

impl Default for LiveMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveMetrics {
    /// Every family registered, none with a value yet.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("coldbench");
        let histograms = || Histograms::new_with_constructor(seconds as fn() -> Histogram);
        let metrics = Self {
            registry: Registry::default(),
            requests: Family::default(),
            request_duration: histograms(),
            invocations: Family::default(),
            errors: Family::default(),
            throttles: Family::default(),
            cold_starts: Family::default(),
            duration: histograms(),
            init: histograms(),
            billed_ms: Family::default(),
            memory: Family::default(),
            concurrent: Family::default(),
            instances: Family::default(),
            desired: Family::default(),
            scaling: Family::default(),
        };
        let r = &mut registry;
        r.register("requests", "Requests the load generator ended, by outcome", metrics.requests.clone());
        r.register(
            "request_duration_seconds",
            "Latency from each request's intended send time (coordinated-omission free)",
            metrics.request_duration.clone(),
        );
        r.register(
            "invocations",
            "Function invocations (throttles excluded, as CloudWatch counts)",
            metrics.invocations.clone(),
        );
        r.register("errors", "Invocations that failed, by kind", metrics.errors.clone());
        r.register("throttles", "Invocations refused for lack of concurrency (429)", metrics.throttles.clone());
        r.register("cold_starts", "Invocations that waited for an Init", metrics.cold_starts.clone());
        r.register("invocation_duration_seconds", "Invocation duration (the REPORT line's)", metrics.duration.clone());
        r.register("init_duration_seconds", "Init duration of the cold starts", metrics.init.clone());
        r.register("billed_milliseconds", "Billed duration", metrics.billed_ms.clone());
        r.register(
            "instance_max_memory_bytes",
            "Peak memory of each function instance so far (the REPORT line's Max Memory Used)",
            metrics.memory.clone(),
        );
        r.register("concurrent_executions", "Invocations running now", metrics.concurrent.clone());
        r.register(
            "instances",
            "Function environments alive, or container instances in service",
            metrics.instances.clone(),
        );
        r.register("desired_instances", "A container service's desired count", metrics.desired.clone());
        r.register(
            "scaling_events",
            "Changes of a container service's desired count, by direction",
            metrics.scaling.clone(),
        );
        Self { registry, ..metrics }
    }

    /// The exposition, as a scrape gets it.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// One request the load generator ended.
    pub fn request(&self, target: &str, outcome: Outcome, latency: std::time::Duration) {
        self.requests.get_or_create(&vec![("target", target.to_string()), ("outcome", outcome.label())]).inc();
        self.request_duration.get_or_create(&target_label(target)).observe(latency.as_secs_f64());
    }

    /// One invocation's billing record.
    pub fn record(&self, target: &str, record: &BillingRecord) {
        let labels = target_label(target);
        if record.outcome == InvocationOutcome::Throttled {
            self.throttles.get_or_create(&labels).inc();
            return;
        }
        self.invocations.get_or_create(&labels).inc();
        if record.outcome != InvocationOutcome::Success {
            let kind = vec![("target", target.to_string()), ("kind", record.outcome.as_str().to_string())];
            self.errors.get_or_create(&kind).inc();
        }
        if record.cold {
            self.cold_starts.get_or_create(&labels).inc();
        }
        if let Some(init) = record.init_ms {
            self.init.get_or_create(&labels).observe(init / 1e3);
        }
        self.duration.get_or_create(&labels).observe(record.duration_ms / 1e3);
        self.billed_ms.get_or_create(&labels).inc_by(record.billed_ms);
        if let Some(instance) = &record.instance {
            let labels = vec![("target", target.to_string()), ("instance", instance.clone())];
            let bytes = i64::try_from(record.max_memory_used_mb.saturating_mul(1 << 20)).unwrap_or(i64::MAX);
            let gauge = self.memory.get_or_create(&labels);
            gauge.set(gauge.get().max(bytes));
        }
    }

    /// A sample of a function's pool: environments alive and invocations running.
    pub fn pool(&self, target: &str, alive: usize, executing: usize) {
        let labels = target_label(target);
        self.instances.get_or_create(&labels).set(i64::try_from(alive).unwrap_or(i64::MAX));
        self.concurrent.get_or_create(&labels).set(i64::try_from(executing).unwrap_or(i64::MAX));
    }

    /// A sample of a container service: instances in service and its desired count.
    pub fn fleet(&self, target: &str, in_service: u32, desired: usize) {
        let labels = target_label(target);
        self.instances.get_or_create(&labels).set(i64::from(in_service));
        self.desired.get_or_create(&labels).set(i64::try_from(desired).unwrap_or(i64::MAX));
    }

    /// A change of a container service's desired count.
    pub fn scaled(&self, target: &str, from: u32, to: u32) {
        let direction = if to > from { "out" } else { "in" };
        self.scaling.get_or_create(&vec![("target", target.to_string()), ("direction", direction.to_string())]).inc();
    }
}

fn target_label(target: &str) -> Labels {
    vec![("target", target.to_string())]
}

/// The live metrics of one target: where its load generator and samplers report.
#[derive(Clone, Debug)]
pub struct TargetMetrics {
    pub metrics: Arc<LiveMetrics>,
    pub target: String,
}

/// A [`RecordLog`] that feeds the live metrics, then passes each record on.
pub struct LiveRecords {
    pub metrics: Arc<LiveMetrics>,
    pub next: Option<Arc<dyn RecordLog>>,
}

impl RecordLog for LiveRecords {
    fn record(&self, target: &str, record: &BillingRecord) {
        self.metrics.record(target, record);
        if let Some(next) = &self.next {
            next.record(target, record);
        }
    }
}
