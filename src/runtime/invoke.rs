//! One invocation through its lifecycle: pick or start an instance, wait for Init, hand the
//! event to `/next`, wait for the answer under the timeout, and turn every fault into the
//! caller-visible result AWS Lambda gives (reference §6), with a billing record each time.

use std::process::ExitStatus;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use rand::Rng;
use tokio::sync::oneshot;

use super::api::{Event, RuntimeReply};
use super::billing::{end_line, init_report_line, init_start_line, report_line, start_line, Tail};
use super::faults::{describe_exit, diagnose, error_body, strip_error_cause};
use super::instance::{FunctionInstance, InitEnd, NextEnd};
use super::Inner;
use crate::lambda::{billed_ms, MAX_PAYLOAD_BYTES};
use crate::metrics::{BillingRecord, InvocationOutcome};
use crate::policy::{Decision, InstanceId, ThrottleReason};

/// What the caller of an invocation gets.
#[derive(Debug)]
pub enum Invoked {
    /// The runtime posted a response.
    Success { body: Bytes, content_type: Option<HeaderValue>, record: BillingRecord },
    /// The function failed (handler error, timeout, crash, Init failure, oversize response):
    /// Lambda answers these with `X-Amz-Function-Error: Unhandled` and this body.
    FunctionError { body: Bytes, record: BillingRecord },
    /// Refused before reaching an instance.
    Throttled { reason: ThrottleReason, record: BillingRecord },
    /// coldbench could not start an instance for lack of its own or the host's resources:
    /// `cause` says which and how to fix it. Not the function's failure.
    HostError { cause: &'static str, record: BillingRecord },
}

impl Invoked {
    /// The invocation's billing record.
    pub fn record(&self) -> &BillingRecord {
        match self {
            Invoked::Success { record, .. }
            | Invoked::FunctionError { record, .. }
            | Invoked::Throttled { record, .. }
            | Invoked::HostError { record, .. } => record,
        }
    }
}

/// What the caller sent along with the payload.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// JSON for `Lambda-Runtime-Client-Context` (decoded from `X-Amz-Client-Context`).
    pub client_context: Option<String>,
    /// `X-Amzn-Trace-Id`, passed on to the runtime.
    pub trace_id: Option<String>,
}

/// Whose invocation it is, which says where its final record goes.
pub(super) enum Purpose {
    /// The user's: summed, and its record written to the run's log (and sent to whoever waits
    /// for the invocation's end, if anyone does).
    User(Option<oneshot::Sender<BillingRecord>>),
    /// The platform's (a keep-warm ping): the record goes back to whoever waits for it.
    Ping(oneshot::Sender<BillingRecord>),
}

/// Runs one invocation. The caller gets its answer as soon as the runtime posts it; the
/// invocation itself (its Duration, END and REPORT lines, billing) lasts until the runtime calls
/// `/next` again, as on Lambda, and only then is the instance idle.
/// `tail`, when given, receives the invocation's log lines.
pub(super) async fn invoke(
    inner: &Arc<Inner>,
    request_id: String,
    payload: Bytes,
    caller: Caller,
    tail: Option<Tail>,
    purpose: Purpose,
) -> Invoked {
    let (invoked, answered) = run(inner, request_id, payload, caller, tail).await;
    match answered {
        None => inner.settle(invoked.record().clone(), purpose),
        // One of several invocations on its instance: it ends with its answer (the next `/next`
        // may be another worker's), and its slot is free before the caller hears back.
        Some(Answered { ended, outcome, at, .. }) if inner.config.pool.per_instance > 1 => {
            let record = finish(inner, &ended, at.saturating_duration_since(ended.taken_at), outcome);
            inner.release(ended.instance.id);
            inner.settle(record, purpose);
        }
        Some(answered) => {
            inner.finishing.fetch_add(1, Ordering::Relaxed);
            inner.pending.send_modify(|n| *n += 1);
            // The invocation goes on: a fast-forwarded clock must not skip over it.
            let busy = inner.config.clock.busy();
            let inner = Arc::clone(inner);
            tokio::spawn(async move {
                let _busy = busy;
                let record = until_next(&inner, answered).await;
                inner.settle(record, purpose);
                inner.pending.send_modify(|n| *n -= 1);
            });
        }
    }
    invoked
}

/// An invocation whose runtime has answered and not yet called `/next`.
struct Answered {
    ended: Ended,
    outcome: InvocationOutcome,
    /// The instance's `/next` count when it took the invocation.
    ready_before: u64,
    /// When the runtime posted the answer.
    at: Instant,
}

/// Carries the invocation to its answer; `Some` when the runtime answered and the invocation
/// goes on until `/next`, `None` when its record is already final.
async fn run(
    inner: &Arc<Inner>,
    request_id: String,
    payload: Bytes,
    caller: Caller,
    tail: Option<Tail>,
) -> (Invoked, Option<Answered>) {
    // An instance that died while idle never took the event: it belongs to nobody, and the
    // event goes to another instance (a fresh one if none is idle), as on Lambda.
    let mut attempts = 0;
    let (instance, cold, init, reply_rx, taken_at, started) = loop {
        attempts += 1;
        let (instance, cold) = match acquire(inner, &request_id).await {
            Ok(found) => found,
            Err(invoked) => return (*invoked, None),
        };
        let (mut instance, mut init, mut reinit_at) = (instance, None, None);
        if cold {
            let limit = inner.init_limit(instance.provisioned);
            match instance.wait_initialized(instance.spawned_at + limit).await {
                InitEnd::Ready(took) => {
                    init = Some(took);
                    inner.pool.lock().expect("pool lock").ready(instance.id);
                }
                InitEnd::TimedOut if !instance.provisioned => {
                    match reinit(inner, &instance, &request_id, &tail).await {
                        Ok(fresh) => {
                            reinit_at = Some(fresh.spawned_at);
                            instance = fresh;
                        }
                        Err(invoked) => return (*invoked, None),
                    }
                }
                failed => return (init_failed(inner, &instance, &request_id, failed, "init").await, None),
            }
        }
        // After an Init retried in the invocation, the invocation began with that retry.
        let budget = inner.config.timeout.saturating_sub(reinit_at.map_or(Duration::ZERO, |at| at.elapsed()));
        let (taken_tx, taken_rx) = oneshot::channel();
        let (reply_tx, reply_rx) = oneshot::channel();
        let event = Event {
            request_id: request_id.clone(),
            payload: payload.clone(),
            client_context: caller.client_context.clone(),
            trace_id: caller.trace_id.clone(),
            budget,
            taken: taken_tx,
            reply: reply_tx,
        };
        if let Some(tail) = &tail {
            instance.capture(tail);
        }
        let delivered = instance.deliver(event).await;
        let sent_at = Instant::now();
        let ended = |taken_at| Ended {
            used_before: instance.usage(),
            instance: Arc::clone(&instance),
            request_id: request_id.clone(),
            cold,
            init,
            taken_at,
            tail: tail.clone(),
        };
        tokio::select! {
            biased;
            taken = taken_rx, if delivered => {
                let taken_at = reinit_at.unwrap_or_else(|| taken.unwrap_or_else(|_| Instant::now()));
                break (Arc::clone(&instance), cold, init, reply_rx, taken_at, reinit_at.is_some());
            }
            status = instance.exited() => {
                if attempts < MAX_ATTEMPTS {
                    died_idle(inner, &instance, status);
                    continue;
                }
                return (crashed(inner, &ended(Instant::now()), status), None);
            }
            () = tokio::time::sleep_until((sent_at + budget).into()) => {
                return (timed_out_invocation(inner, &ended(reinit_at.unwrap_or(sent_at))), None);
            }
        }
    };
    if !started {
        log(inner, tail.as_ref(), &start_line(&request_id));
    }
    let timeout = inner.config.timeout;
    let ready_before = instance.ready_count();
    let used_before = instance.usage();
    let ended = Ended { instance: Arc::clone(&instance), request_id, cold, init, taken_at, used_before, tail };
    tokio::select! {
        biased;
        reply = reply_rx => match reply {
            Ok(reply) => {
                let (invoked, outcome, at) = answered(inner, &ended, reply);
                (invoked, Some(Answered { ended, outcome, ready_before, at }))
            }
            Err(_) => (crashed(inner, &ended, instance.exited().await), None),
        },
        status = instance.exited() => (crashed(inner, &ended, status), None),
        () = tokio::time::sleep_until((taken_at + timeout).into()) => (timed_out_invocation(inner, &ended), None),
    }
}

/// Waits for the end of an answered invocation — the runtime's next `/next`, its exit, or the
/// function timeout — and makes its final record. Work after `/response` (a flush, a callback,
/// a background task awaited) counts in Duration and billing, as on Lambda.
async fn until_next(inner: &Arc<Inner>, answered: Answered) -> BillingRecord {
    let Answered { ended, outcome, ready_before, .. } = answered;
    let deadline = ended.taken_at + inner.config.timeout;
    match ended.instance.wait_next(ready_before, deadline).await {
        // The runtime's `/next` has already returned the instance to the pool (`Inner::spawn`).
        NextEnd::Ready(at) => finish(inner, &ended, at.saturating_duration_since(ended.taken_at), outcome),
        NextEnd::Exited(status) => {
            inner.finishing.fetch_sub(1, Ordering::Relaxed);
            let record = finish(inner, &ended, ended.taken_at.elapsed(), outcome);
            died_idle(inner, &ended.instance, status);
            record
        }
        NextEnd::TimedOut => {
            inner.finishing.fetch_sub(1, Ordering::Relaxed);
            time_out(inner, &ended, outcome)
        }
    }
}

/// Instances an invocation tries before a death is blamed on it: each one that dies without
/// taking the event is discarded and the next one tried.
const MAX_ATTEMPTS: u32 = 3;

/// An instance that exited while it had no invocation: discarded, logged and counted; no
/// caller is told, since none was being served.
fn died_idle(inner: &Arc<Inner>, instance: &FunctionInstance, status: ExitStatus) {
    inner.died_idle.fetch_add(1, Ordering::Relaxed);
    inner.log(&format!(
        "coldbench: instance {} exited while idle ({}); it is discarded and the next invocation goes elsewhere",
        instance.name,
        describe_exit(status)
    ));
    discard(inner, instance.id);
}

/// Finds an idle instance or starts one; `Err` carries a throttle or a failed start.
async fn acquire(inner: &Arc<Inner>, request_id: &str) -> Result<(Arc<FunctionInstance>, bool), Box<Invoked>> {
    // The eviction tick may not have run since the clock last jumped.
    inner.evict_expired();
    let finishing = inner.finishing.load(Ordering::Relaxed) > 0;
    if finishing {
        inner.arrived_while_finishing.fetch_add(1, Ordering::Relaxed);
    }
    let decision = inner.pool.lock().expect("pool lock").acquire(inner.now());
    inner.follow_prewarm();
    match decision {
        Decision::Throttle(reason) => {
            let record = record(inner, request_id, None, false, None, Duration::ZERO, InvocationOutcome::Throttled);
            Err(Box::new(Invoked::Throttled { reason, record }))
        }
        Decision::Warm(id) => {
            let found = inner.instances.lock().expect("instances lock").get(&id).cloned();
            let instance = found.ok_or_else(|| Box::new(lost_instance(inner, id, request_id)))?;
            instance.thaw();
            Ok((instance, false))
        }
        Decision::Cold(id) => {
            // The race a sequential caller can lose: its next request came before the
            // instance that answered it called `/next`, so it starts another (counted).
            if finishing {
                inner.cold_while_finishing.fetch_add(1, Ordering::Relaxed);
            }
            let (provisioned, platform) = {
                let pool = inner.pool.lock().expect("pool lock");
                (pool.is_provisioned(id), inner.config.pool.platform_overhead_of(id))
            };
            // Placement, code download and micro-VM start: before Init, so the caller waits for
            // it but Init Duration and billing do not count it.
            crate::time::timer::sleep_precisely(platform).await;
            inner.log(&init_start_line(&inner.config.region));
            match inner.spawn(id, provisioned).await {
                Ok(instance) => Ok((inner.adopt(id, instance), true)),
                Err(err) => {
                    inner.pool.lock().expect("pool lock").discard(id);
                    Err(Box::new(start_failed(inner, request_id, &err)))
                }
            }
        }
    }
}

/// Lambda's answer to an on-demand Init past its limit: the environment is reset and Init retried
/// at the first invocation, under the function timeout (reference `lambda-and-container-model.md`,
/// "init timeout"). The retry is a fresh start of the runtime in the same place — no new
/// platform time, no second INIT_START — and belongs to the invocation: its Duration runs from
/// here, and its REPORT carries no Init Duration. `Err` when the retry fails too: past the
/// function timeout that is the invocation's timeout, with Lambda's message.
async fn reinit(
    inner: &Arc<Inner>,
    timed_out: &FunctionInstance,
    request_id: &str,
    tail: &Option<Tail>,
) -> Result<Arc<FunctionInstance>, Box<Invoked>> {
    inner.log(&init_report_line(timed_out.spawned_at.elapsed(), "init", Some(InitEnd::TimedOut.status())));
    log(inner, tail.as_ref(), &start_line(request_id));
    let id = timed_out.id;
    let fresh = match inner.spawn(id, timed_out.provisioned).await {
        Ok(fresh) => inner.adopt(id, fresh),
        Err(err) => {
            inner.pool.lock().expect("pool lock").discard(id);
            inner.forget(id);
            return Err(Box::new(start_failed(inner, request_id, &err)));
        }
    };
    let started = fresh.spawned_at;
    match fresh.wait_initialized(started + inner.config.timeout).await {
        InitEnd::Ready(_) => {
            inner.pool.lock().expect("pool lock").ready(id);
            Ok(fresh)
        }
        InitEnd::TimedOut => {
            inner.log(&init_report_line(started.elapsed(), "invoke", Some(InitEnd::TimedOut.status())));
            inner
                .init_failure
                .lock()
                .expect("init failure lock")
                .get_or_insert_with(|| diagnose(inner, &fresh, &InitEnd::TimedOut));
            let ended = Ended {
                used_before: fresh.usage(),
                instance: fresh,
                request_id: request_id.to_string(),
                cold: true,
                init: None,
                taken_at: started,
                tail: tail.clone(),
            };
            Err(Box::new(timed_out_invocation(inner, &ended)))
        }
        failed => Err(Box::new(init_failed(inner, &fresh, request_id, failed, "invoke").await)),
    }
}

/// An instance coldbench could not start: the host's limit, or a command that cannot run.
fn start_failed(inner: &Arc<Inner>, request_id: &str, err: &std::io::Error) -> Invoked {
    if let Some(cause) = crate::process::host_limit(err) {
        inner.log(&format!("coldbench: cannot start an instance: {cause}"));
        let record = record(inner, request_id, None, true, None, Duration::ZERO, InvocationOutcome::HostError);
        return Invoked::HostError { cause, record };
    }
    let message = format!("RequestId: {request_id} Error: cannot start the function: {err}");
    let body = error_body("Runtime.InvalidEntrypoint", &message);
    let record = record(inner, request_id, None, true, None, Duration::ZERO, InvocationOutcome::InitError);
    Invoked::FunctionError { body, record }
}

/// The pool named an instance that is already gone (it died between two invocations).
fn lost_instance(inner: &Arc<Inner>, id: InstanceId, request_id: &str) -> Invoked {
    inner.pool.lock().expect("pool lock").discard(id);
    let message = format!("RequestId: {request_id} Error: Runtime exited without providing a reason");
    let record = record(inner, request_id, None, false, None, Duration::ZERO, InvocationOutcome::Crash);
    Invoked::FunctionError { body: error_body("Runtime.ExitError", &message), record }
}

/// What every ending needs to know about the invocation.
struct Ended {
    instance: Arc<FunctionInstance>,
    request_id: String,
    cold: bool,
    init: Option<Duration>,
    taken_at: Instant,
    /// The instance's cgroup counters when it took the invocation.
    used_before: Option<crate::cgroup::Usage>,
    /// Where its log lines go besides the function's log, when the caller asked for them.
    tail: Option<Tail>,
}

/// A failed Init, in the Init phase or retried in the invocation (`phase`, as INIT_REPORT names it).
async fn init_failed(
    inner: &Arc<Inner>,
    instance: &Arc<FunctionInstance>,
    request_id: &str,
    end: InitEnd,
    phase: &str,
) -> Invoked {
    // Its last lines may still be in the pipe: the diagnosis quotes them.
    if matches!(end, InitEnd::Exited(_)) {
        instance.output_drained(Duration::from_millis(500)).await;
    }
    inner.log(&init_report_line(instance.spawned_at.elapsed(), phase, Some(end.status())));
    discard(inner, instance.id);
    inner.init_failure.lock().expect("init failure lock").get_or_insert_with(|| diagnose(inner, instance, &end));
    let init = Some(instance.spawned_at.elapsed());
    let body = match end {
        InitEnd::Failed { body, .. } if !body.is_empty() => body,
        InitEnd::Failed { error_type, .. } => {
            error_body(error_type.as_deref().unwrap_or("Runtime.Unknown"), "Init error without a body")
        }
        InitEnd::Exited(status) => error_body(
            "Runtime.ExitError",
            &format!("RequestId: {request_id} Error: Runtime exited with error: {}", describe_exit(status)),
        ),
        InitEnd::TimedOut | InitEnd::Ready(_) => error_body(
            "Sandbox.Timedout",
            &format!(
                "RequestId: {request_id} Error: Init timed out after {:.2} seconds",
                inner.init_limit(instance.provisioned).as_secs_f64()
            ),
        ),
    };
    let record = record(inner, request_id, Some(instance), true, init, Duration::ZERO, InvocationOutcome::InitError);
    Invoked::FunctionError { body, record }
}

/// What the caller gets when the runtime answers, and the outcome the final record will carry.
fn answered(inner: &Arc<Inner>, ended: &Ended, reply: RuntimeReply) -> (Invoked, InvocationOutcome, Instant) {
    let (at, outcome) = match &reply {
        RuntimeReply::Response { at, .. } => (*at, InvocationOutcome::Success),
        RuntimeReply::Error { at, .. } => (*at, InvocationOutcome::HandlerError),
        RuntimeReply::TooLarge { at, .. } => (*at, InvocationOutcome::ResponseTooLarge),
    };
    // The caller's view: Duration so far. The record is made again at `/next`.
    let record = record(
        inner,
        &ended.request_id,
        Some(&ended.instance),
        ended.cold,
        ended.init,
        at.saturating_duration_since(ended.taken_at),
        outcome,
    );
    let invoked = match reply {
        RuntimeReply::Response { body, content_type, .. } => Invoked::Success { body, content_type, record },
        RuntimeReply::Error { body, .. } => Invoked::FunctionError { body: strip_error_cause(body), record },
        RuntimeReply::TooLarge { size, .. } => {
            let message = format!(
                "Response payload size ({size} bytes) exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            );
            Invoked::FunctionError { body: error_body("Function.ResponseSizeTooLarge", &message), record }
        }
    };
    (invoked, outcome, at)
}

fn crashed(inner: &Arc<Inner>, ended: &Ended, status: ExitStatus) -> Invoked {
    discard(inner, ended.instance.id);
    let record = finish(inner, ended, ended.taken_at.elapsed(), InvocationOutcome::Crash);
    let message = match status.code() {
        Some(0) => format!("RequestId: {} Error: Runtime exited without providing a reason", ended.request_id),
        _ => format!("RequestId: {} Error: Runtime exited with error: {}", ended.request_id, describe_exit(status)),
    };
    Invoked::FunctionError { body: error_body("Runtime.ExitError", &message), record }
}

/// Ends an invocation at its function timeout: kills and discards the instance, bills the
/// timeout, and logs Lambda's line after the REPORT.
fn time_out(inner: &Arc<Inner>, ended: &Ended, outcome: InvocationOutcome) -> BillingRecord {
    ended.instance.kill();
    let record = finish(inner, ended, inner.config.timeout, outcome);
    discard(inner, ended.instance.id);
    let seconds = inner.config.timeout.as_secs_f64();
    let line = format!("{} {} Task timed out after {seconds:.2} seconds", crate::time::utc_now(), ended.request_id);
    log(inner, ended.tail.as_ref(), &line);
    record
}

fn timed_out_invocation(inner: &Arc<Inner>, ended: &Ended) -> Invoked {
    let record = time_out(inner, ended, InvocationOutcome::Timeout);
    let seconds = inner.config.timeout.as_secs_f64();
    let message = format!("RequestId: {} Error: Task timed out after {seconds:.2} seconds", ended.request_id);
    Invoked::FunctionError { body: error_body("Sandbox.Timedout", &message), record }
}

/// Builds, logs (END + REPORT) and stores the record of an invocation that reached an instance.
fn finish(inner: &Arc<Inner>, ended: &Ended, duration: Duration, outcome: InvocationOutcome) -> BillingRecord {
    let init = ended.init.filter(|_| ended.cold);
    let mut record = record(inner, &ended.request_id, Some(&ended.instance), ended.cold, init, duration, outcome);
    if let (Some(before), Some(after)) = (ended.used_before, ended.instance.usage()) {
        record.cpu_ms = Some(after.cpu.saturating_sub(before.cpu).as_secs_f64() * 1e3);
        record.throttled_ms = Some(after.throttled.saturating_sub(before.throttled).as_secs_f64() * 1e3);
    }
    log(inner, ended.tail.as_ref(), &end_line(&ended.request_id));
    log(inner, ended.tail.as_ref(), &report_line(&record));
    if let Some(tail) = &ended.tail {
        ended.instance.release_capture(tail);
    }
    record
}

/// Writes one of an invocation's platform lines to the function's log and its tail.
fn log(inner: &Inner, tail: Option<&Tail>, line: &str) {
    inner.log(line);
    if let Some(tail) = tail {
        tail.push(line);
    }
}

fn record(
    inner: &Arc<Inner>,
    request_id: &str,
    instance: Option<&Arc<FunctionInstance>>,
    cold: bool,
    init: Option<Duration>,
    duration: Duration,
    outcome: InvocationOutcome,
) -> BillingRecord {
    let config = &inner.config;
    BillingRecord {
        request_id: request_id.to_string(),
        instance: instance.map(|i| i.name.clone()),
        cold,
        provisioned: instance.is_some_and(|i| i.provisioned),
        init_ms: init.map(|d| d.as_secs_f64() * 1e3),
        duration_ms: duration.as_secs_f64() * 1e3,
        // Nothing ran: a throttle, or an instance coldbench could not start, bills nothing.
        billed_ms: if matches!(outcome, InvocationOutcome::Throttled | InvocationOutcome::HostError) {
            0
        } else {
            billed_ms(duration, init, config.billing)
        },
        memory_mb: config.memory_mb,
        max_memory_used_mb: instance.map_or(0, |i| i.max_memory_used_mb()),
        outcome,
        cpu_ms: None,
        throttled_ms: None,
    }
}

fn discard(inner: &Arc<Inner>, id: InstanceId) {
    inner.pool.lock().expect("pool lock").discard(id);
    inner.forget(id);
}

/// A random UUID (version 4) as Lambda request ids are.
pub(super) fn new_request_id() -> String {
    let mut bytes: [u8; 16] = rand::rng().random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_version_4_uuids() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_request_id());
    }
}
