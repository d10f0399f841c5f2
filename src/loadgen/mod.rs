//! The load generator: sends requests to a URL open-loop (at intended times) or closed-loop
//! (N connections back to back) and records every request's outcome and timings.
//!
//! It knows only URLs: whatever it learns about cold starts comes back in response headers.

mod client;
mod closed;
mod connect;
mod open;
mod threads;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

pub use crate::http::{RequestSet, RequestTemplate, TemplateError, Transport};
pub use client::{Reply, COLD_HEADER, FUNCTION_ERROR_HEADER, INIT_MS_HEADER};

use crate::metrics::{Measurement, Outcome, Recorder, Sample, INTERVAL};
use crate::time::clock::Clock;

/// Generator lag p99 above which the report says the generator was the bottleneck.
pub const LAG_WARNING: Duration = Duration::from_millis(1);

/// Intended send offsets from the start of the load, in order.
pub type Arrivals = Box<dyn Iterator<Item = Duration> + Send>;

/// Makes the schedule afresh, the same every time: each generator thread takes its part of it.
pub type Schedule = Arc<dyn Fn() -> Arrivals + Send + Sync>;

/// How requests are issued.
pub enum Plan {
    /// Each request at its intended time, whatever earlier responses do; `threads` generator
    /// threads each send every `threads`-th arrival with a `max_in_flight / threads` share of
    /// the cap (one, on the caller's runtime, with a fast-forwarded clock).
    Open { schedule: Schedule, max_in_flight: usize, threads: usize },
    /// `connections` keep-alive connections, each sending when its previous response arrived,
    /// until `duration` passes or `requests` have been sent (whichever comes first).
    Closed { connections: usize, duration: Option<Duration>, requests: Option<u64> },
}

/// How a load keeps time.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Per-request timeout; a request past it ends as `timeout`.
    pub timeout: Duration,
    /// The run's clock (fast-forwarded or real), shared with local targets.
    pub clock: Clock,
    /// Length of one interval of the time series.
    pub interval: Duration,
}

impl Timing {
    /// Real time, one-second intervals.
    pub fn real(timeout: Duration) -> Self {
        Self { timeout, clock: Clock::real(), interval: INTERVAL }
    }
}

/// Counters a progress display can read while the load runs.
#[derive(Debug, Default)]
pub struct Live {
    pub sent: AtomicU64,
    pub done: AtomicU64,
    pub errors: AtomicU64,
    pub in_flight: AtomicU64,
    /// Responses marked cold so far.
    pub cold: AtomicU64,
    /// The p99 of the last whole interval, µs (0 until one is done).
    pub recent_p99_us: AtomicU64,
    /// Where each ended request is also counted for `--metrics`, when it is served.
    pub metrics: Option<crate::metrics::TargetMetrics>,
}

/// What one load produced.
#[derive(Debug)]
pub struct LoadResult {
    pub measurement: Measurement,
    /// The load was stopped by cancellation before its plan was done.
    pub interrupted: bool,
    /// Things the reader must know to trust the numbers (generator lag, in-flight cap).
    pub warnings: Vec<String>,
    /// CPU time of the whole coldbench process during the load, per request.
    pub cpu_us_per_request: Option<f64>,
    /// Requests coldbench could not send within their timeout (counted as `host_error`, with a
    /// warning of their own).
    pub unsent: u64,
}

/// State shared by every request task of one load (of one generator thread's part of it, with
/// a recorder of its own).
struct Shared {
    recorder: Mutex<Recorder>,
    live: Arc<Live>,
    requests: Arc<RequestSet>,
    timeout: Duration,
    clock: Clock,
    cancel: CancellationToken,
    /// Requests on the wire from this part (`live.in_flight` counts every part's).
    in_flight: AtomicU64,
}

impl Shared {
    fn new(
        start: Instant,
        timing: &Timing,
        live: Arc<Live>,
        requests: Arc<RequestSet>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            recorder: Mutex::new(Recorder::with_interval(start, timing.interval)),
            live,
            requests,
            timeout: timing.timeout,
            clock: timing.clock.clone(),
            cancel,
            in_flight: AtomicU64::new(0),
        }
    }

    /// Marks a request as sent now; returns the actual send time.
    fn begin(&self) -> Instant {
        self.live.sent.fetch_add(1, Ordering::Relaxed);
        self.live.in_flight.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.clock.now()
    }

    /// The recorder, taken out once every request has been recorded.
    fn take_recorder(&self, end: Instant) -> Recorder {
        std::mem::replace(&mut *self.recorder.lock().expect("recorder lock"), Recorder::new(end))
    }

    /// Records a finished request that waited `cap_wait` of its lateness on the in-flight cap.
    fn finish(&self, intended: Instant, sent: Instant, cap_wait: Duration, reply: Reply) {
        let end = self.clock.now();
        self.live.in_flight.fetch_sub(1, Ordering::Relaxed);
        let in_flight = self.in_flight.fetch_sub(1, Ordering::Relaxed);
        let sample = Sample {
            latency: end.saturating_duration_since(intended),
            service: end.saturating_duration_since(sent),
            lag: sent.saturating_duration_since(intended).saturating_sub(cap_wait),
            cap_wait,
            outcome: reply.outcome,
            cold: reply.cold,
            init: reply.init,
            cache: reply.cache,
            phases: reply.phases,
        };
        let recent_p99 = {
            let mut recorder = self.recorder.lock().expect("recorder lock");
            recorder.record(&sample, end, in_flight);
            recorder.last_p99_us()
        };
        if let Some(p99) = recent_p99 {
            self.live.recent_p99_us.store(p99, Ordering::Relaxed);
        }
        if reply.cold == Some(true) {
            self.live.cold.fetch_add(1, Ordering::Relaxed);
        }
        self.live.done.fetch_add(1, Ordering::Relaxed);
        if reply.outcome != Outcome::Ok {
            self.live.errors.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(m) = &self.live.metrics {
            m.metrics.request(&m.target, reply.outcome, sample.latency);
        }
    }

    /// One exchange bounded by the per-request timeout and by cancellation.
    async fn exchange<F: std::future::Future<Output = Reply>>(&self, send: F) -> Reply {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Reply::failed(Outcome::Other),
            reply = tokio::time::timeout(self.timeout, send) => {
                reply.unwrap_or(Reply::failed(Outcome::Timeout))
            }
        }
    }
}

/// Drives `requests` with `plan` until the plan is done or `cancel` fires.
///
/// # Errors
/// When the URL's host cannot be resolved, the TLS settings cannot be read, or the first TLS
/// handshake fails (an untrusted certificate: nothing could be measured); failed requests are
/// counted, never errors.
pub async fn drive(
    requests: RequestSet,
    plan: Plan,
    timing: Timing,
    cancel: CancellationToken,
    live: Arc<Live>,
) -> anyhow::Result<LoadResult> {
    let addr = resolve(requests.authority()).await?;
    let dest = Arc::new(connect::Dest::new(addr, &requests)?);
    if dest.is_tls() {
        check_tls(&dest, requests.authority()).await?;
    }
    let cpu_before = process_cpu_time();
    let start = timing.clock.now();
    let requests = Arc::new(requests);
    let (measurement, interrupted, mut warnings, unsent) = match plan {
        Plan::Open { schedule, max_in_flight, threads } => {
            let threads = if timing.clock.is_fast_forward() { 1 } else { threads.max(1) };
            let parts = threads::Parts { dest: Arc::clone(&dest), timing: &timing, live, requests, cancel, start };
            let (measurement, interrupted, tally) = parts.open(&schedule, max_in_flight, threads).await?;
            let unsent = tally.unsent;
            (measurement, interrupted, open::warnings(&tally, max_in_flight, timing.timeout), unsent)
        }
        Plan::Closed { connections, duration, requests: limit } => {
            let shared = Arc::new(Shared::new(start, &timing, live, requests, cancel));
            let deadline = duration.map(|d| start + d);
            let interrupted = closed::run(Arc::clone(&dest), Arc::clone(&shared), connections, deadline, limit).await;
            let end = shared.clock.now();
            // Every request has been recorded by now (the driver waits for them).
            (shared.take_recorder(end).finish(end), interrupted, Vec::new(), 0)
        }
    };
    if let Some(lag) = measurement.lag.as_ref().filter(|l| l.p99_us as u128 > LAG_WARNING.as_micros()) {
        warnings.push(format!(
            "generator lag p99 {:.2} ms (max {:.2} ms): requests left coldbench later than intended, so the load \
             generator, not the target, limited this run; latency still counts from the intended time",
            lag.p99_us as f64 / 1e3,
            lag.max_us as f64 / 1e3
        ));
    }
    if let Some(why) = dest.first_failure().filter(|_| measurement.outcomes.connect_error > 0) {
        let hint = if why == "connection refused" { ": is the server listening on that port?" } else { "" };
        warnings.push(format!(
            "{} request(s) could not connect to {}: {why}{hint}",
            measurement.outcomes.connect_error, dest.addr
        ));
    }
    // A tail made of SYN retries is connect time: say so, with the split's figures.
    warnings.extend(measurement.phases.as_ref().and_then(crate::metrics::PhaseReport::connect_note));
    let cpu_us_per_request = match (cpu_before, process_cpu_time()) {
        (Some(a), Some(b)) if measurement.requests > 0 => {
            Some(b.saturating_sub(a).as_secs_f64() * 1e6 / measurement.requests as f64)
        }
        _ => None,
    };
    Ok(LoadResult { measurement, interrupted, warnings, cpu_us_per_request, unsent })
}

/// One TLS handshake before the load: a certificate that is not trusted would fail every request
/// alike, so it is refused at once with what to do about it. Other failures (a connection refused)
/// are left to the load to count.
async fn check_tls(dest: &connect::Dest, authority: &str) -> anyhow::Result<()> {
    match dest.connect().await {
        Err(connect::ConnectError::Tls(e)) => anyhow::bail!(
            "TLS handshake with {authority} failed: {e}; for a self-signed or private certificate pass --cacert FILE \
             (the CA that signed it; `cacert` in a workload) or --insecure (`insecure = true`) to skip the check"
        ),
        _ => Ok(()),
    }
}

async fn resolve(authority: &str) -> anyhow::Result<std::net::SocketAddr> {
    tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{authority} resolves to no address"))
}

/// User + system CPU time of this process so far.
pub fn process_cpu_time() -> Option<Duration> {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }?;
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}
