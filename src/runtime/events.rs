//! Asynchronous invocations (`X-Amz-Invocation-Type: Event`): Lambda's internal queue in front of
//! the function. The caller gets 202 at once; the event is invoked, retried after a function
//! error (twice by default: one minute, then two minutes later), requeued with backoff after a
//! throttle or a failure of coldbench's own (1 s doubling to 5 min; these do not use up retries),
//! and dropped once older than the maximum event age (lambda-and-container-model.md §1, "async
//! invoke"). Every delay runs on the run's clock, so a fast-forwarded run skips it. Each attempt
//! is an invocation like any other — billed, logged, recorded — under the event's one request id.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::invoke::{self, Caller, Invoked, Purpose};
use super::Inner;
use crate::lambda::{async_requeue_delay, async_retry_delay};
use crate::metrics::EventReport;

/// The queue; [`dispatch`] runs its events.
pub(super) struct EventQueue {
    state: Mutex<State>,
    /// Woken when an event is accepted: it may be due before whatever the dispatcher waits for.
    accepted: Notify,
    /// Events accepted and not yet done (waiting, or running).
    pending: watch::Sender<usize>,
    /// Set once the load has ended: waiting for a retry may then skip idle time itself.
    draining: CancellationToken,
}

struct State {
    /// Events waiting, by when they are due (and order of acceptance).
    waiting: BTreeMap<(Instant, u64), Queued>,
    /// When each event not yet done was accepted, by order of acceptance.
    accepted_at: BTreeMap<u64, Instant>,
    next_seq: u64,
    report: EventReport,
    /// The queue's depth and oldest age over time, once a target asks for them.
    series: Option<Series>,
}

/// The depth and oldest event's age per interval of a time series, noted at every change (a
/// sampler could miss a whole fast-forwarded drain between two of its ticks).
struct Series {
    origin: Instant,
    interval: Duration,
    depth: Vec<u32>,
    oldest_ms: Vec<u64>,
    /// The depth, and when the oldest event was accepted, since the last change.
    last: (u32, Option<Instant>),
}

impl Series {
    /// Brings the series up to `now`: intervals without a change carry the last depth, and the
    /// oldest event's age at their end.
    fn catch_up(&mut self, now: Instant) -> usize {
        let index = (now.saturating_duration_since(self.origin).as_nanos() / self.interval.as_nanos().max(1)) as usize;
        while self.depth.len() <= index {
            let end = self.origin + self.interval * (self.depth.len() as u32 + 1);
            let (depth, oldest) = self.last;
            self.depth.push(depth);
            self.oldest_ms.push(oldest.map_or(0, |at| end.min(now).saturating_duration_since(at).as_millis() as u64));
        }
        index
    }

    /// Notes the state after a change at `now`.
    fn note(&mut self, now: Instant, depth: u32, oldest: Option<Instant>) {
        let index = self.catch_up(now);
        self.depth[index] = self.depth[index].max(depth);
        let age = oldest.map_or(0, |at| now.saturating_duration_since(at).as_millis() as u64);
        self.oldest_ms[index] = self.oldest_ms[index].max(age);
        self.last = (depth, oldest);
    }
}

impl State {
    fn note(&mut self, now: Instant) {
        let depth = u32::try_from(self.accepted_at.len()).unwrap_or(u32::MAX);
        let oldest = self.accepted_at.values().next().copied();
        if let Some(series) = &mut self.series {
            series.note(now, depth, oldest);
        }
    }
}

struct Queued {
    seq: u64,
    request_id: String,
    payload: Bytes,
    caller: Caller,
    accepted: Instant,
    /// Retries after a function error so far, and requeues after a throttle or host error.
    retries: u32,
    requeues: u32,
    /// Why this attempt is not the first (counted when it runs: a dropped one never does).
    again: Option<Again>,
}

#[derive(Clone, Copy)]
enum Again {
    Retry,
    Requeue,
}

/// How an event ended.
enum Done {
    Succeeded,
    Failed,
    Expired,
}

impl EventQueue {
    pub(super) fn new(max_retry_attempts: u32, max_event_age: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                waiting: BTreeMap::new(),
                accepted_at: BTreeMap::new(),
                next_seq: 0,
                report: EventReport::new(max_retry_attempts, max_event_age),
                series: None,
            }),
            accepted: Notify::new(),
            pending: watch::Sender::new(0),
            draining: CancellationToken::new(),
        }
    }

    /// Accepts an event at `now`; returns its request id (every attempt uses it).
    pub(super) fn accept(&self, payload: Bytes, caller: Caller, now: Instant) -> String {
        let request_id = invoke::new_request_id();
        {
            let mut state = self.state.lock().expect("event queue lock");
            let seq = state.next_seq;
            state.next_seq += 1;
            state.report.accepted += 1;
            state.accepted_at.insert(seq, now);
            let request_id = request_id.clone();
            let event =
                Queued { seq, request_id, payload, caller, accepted: now, retries: 0, requeues: 0, again: None };
            state.waiting.insert((now, seq), event);
            state.note(now);
        }
        self.pending.send_modify(|n| *n += 1);
        self.accepted.notify_one();
        request_id
    }

    /// Events accepted and not yet done, and the age of the oldest of them.
    pub(super) fn depth(&self, now: Instant) -> (usize, Duration) {
        let state = self.state.lock().expect("event queue lock");
        let oldest = state.accepted_at.values().next().map_or(Duration::ZERO, |at| now.saturating_duration_since(*at));
        (state.accepted_at.len(), oldest)
    }

    /// Keeps the depth and oldest age per `interval` from `origin` on (a run's time series).
    pub(super) fn track(&self, origin: Instant, interval: Duration) {
        let series = Series { origin, interval, depth: Vec::new(), oldest_ms: Vec::new(), last: (0, None) };
        self.state.lock().expect("event queue lock").series = Some(series);
    }

    /// What happened to the events up to `now`; those not yet done count as unfinished.
    pub(super) fn report(&self, now: Instant) -> Option<EventReport> {
        let mut state = self.state.lock().expect("event queue lock");
        let mut report = state.report.clone();
        report.unfinished = state.accepted_at.len() as u64;
        if let Some(series) = &mut state.series {
            series.catch_up(now);
            report.depth_per_second = series.depth.clone();
            report.oldest_age_ms_per_second = series.oldest_ms.clone();
        }
        (report.accepted > 0).then_some(report)
    }

    /// Lets the dispatcher skip idle time toward the next retry, and waits until every event is
    /// done or `cancel` fires.
    pub(super) async fn drain(&self, cancel: &CancellationToken) {
        self.draining.cancel();
        let mut pending = self.pending.subscribe();
        tokio::select! {
            _ = pending.wait_for(|n| *n == 0) => {}
            () = cancel.cancelled() => {}
        }
    }

    /// Takes every event due at `now`; returns them and when the next one is due.
    fn take_due(&self, now: Instant) -> (Vec<Queued>, Option<Instant>) {
        let mut state = self.state.lock().expect("event queue lock");
        let mut due = Vec::new();
        while let Some(entry) = state.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        (due, state.waiting.keys().next().map(|(at, _)| *at))
    }

    /// Puts an event back, due at `at`.
    fn requeue(&self, event: Queued, at: Instant) {
        self.state.lock().expect("event queue lock").waiting.insert((at, event.seq), event);
        self.accepted.notify_one();
    }

    fn done(&self, event: &Queued, how: Done, now: Instant) {
        {
            let mut state = self.state.lock().expect("event queue lock");
            state.accepted_at.remove(&event.seq);
            state.note(now);
            let report = &mut state.report;
            match how {
                Done::Succeeded => report.succeeded += 1,
                Done::Failed => report.failed += 1,
                Done::Expired => report.expired += 1,
            }
            if !matches!(how, Done::Expired) {
                crate::metrics::record_us(&mut report.end_to_end_us, now.saturating_duration_since(event.accepted));
            }
        }
        self.pending.send_modify(|n| *n -= 1);
    }

    fn count(&self, count: impl FnOnce(&mut EventReport)) {
        count(&mut self.state.lock().expect("event queue lock").report);
    }
}

/// Runs the queue's events as they fall due, until the runtime stops.
pub(super) async fn dispatch(inner: Arc<Inner>) {
    let queue = &inner.events;
    let clock = inner.config.clock.clone();
    loop {
        let accepted = queue.accepted.notified();
        tokio::pin!(accepted);
        accepted.as_mut().enable();
        let (due, next) = queue.take_due(clock.now());
        for event in due {
            // The clock does not jump while an attempt runs.
            let busy = clock.busy();
            let inner = Arc::clone(&inner);
            tokio::spawn(async move {
                let _busy = busy;
                attempt(&inner, event).await;
            });
        }
        let draining = queue.draining.is_cancelled();
        let wait_for_next = async {
            match next {
                // While the load runs, its driver owns the clock's jumps (the wait holds an alarm,
                // so none passes the retry); after it, the queue jumps over idle time itself.
                Some(at) if draining => clock.wait_until(at, |real| tokio::time::sleep_until(real.into())).await,
                Some(at) => clock.sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = inner.shutdown.cancelled() => return,
            () = &mut accepted => {}
            () = wait_for_next => {}
            () = queue.draining.cancelled(), if !draining => {}
        }
    }
}

/// One attempt at an event: dropped when too old, else invoked, then done, retried or requeued.
async fn attempt(inner: &Arc<Inner>, mut event: Queued) {
    let queue = &inner.events;
    let clock = &inner.config.clock;
    let max_age = inner.config.max_event_age;
    if clock.now().saturating_duration_since(event.accepted) > max_age {
        inner.log(&format!(
            "coldbench: event {} dropped: older than its maximum event age of {} s",
            event.request_id,
            max_age.as_secs_f64()
        ));
        queue.done(&event, Done::Expired, clock.now());
        return;
    }
    match event.again.take() {
        Some(Again::Retry) => queue.count(|r| r.retries += 1),
        Some(Again::Requeue) => queue.count(|r| r.requeued += 1),
        None => {}
    }
    let (request_id, payload, caller) = (event.request_id.clone(), event.payload.clone(), event.caller.clone());
    let invoked = invoke::invoke(inner, request_id, payload, caller, None, Purpose::User(None)).await;
    let now = clock.now();
    let delay = match invoked {
        Invoked::Success { .. } => return queue.done(&event, Done::Succeeded, now),
        Invoked::FunctionError { .. } if event.retries >= inner.config.async_retries => {
            return queue.done(&event, Done::Failed, now);
        }
        Invoked::FunctionError { .. } => {
            event.retries += 1;
            event.again = Some(Again::Retry);
            async_retry_delay(event.retries)
        }
        Invoked::Throttled { .. } | Invoked::HostError { .. } => {
            event.requeues += 1;
            event.again = Some(Again::Requeue);
            async_requeue_delay(event.requeues - 1)
        }
    };
    // An event that would be too old by then is dropped when it is, not at its retry.
    let expires = event.accepted + max_age + Duration::from_millis(1);
    let at = (now + delay).min(expires);
    queue.requeue(event, at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_carries_the_depth_over_quiet_intervals_and_ages_the_oldest_event() {
        let origin = Instant::now();
        let s = |n: u64| origin + Duration::from_secs(n);
        let mut series = Series {
            origin,
            interval: Duration::from_secs(1),
            depth: Vec::new(),
            oldest_ms: Vec::new(),
            last: (0, None),
        };
        series.note(s(0), 1, Some(s(0)));
        series.note(s(0) + Duration::from_millis(500), 2, Some(s(0)));
        // Nothing changes for three seconds; then the oldest is done.
        series.note(s(4), 1, Some(s(3)));
        series.catch_up(s(5));
        assert_eq!(series.depth, [2, 2, 2, 2, 2, 1]);
        assert_eq!(series.oldest_ms, [500, 2_000, 3_000, 4_000, 4_000, 2_000]);
    }
}
