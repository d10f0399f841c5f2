//! Open loop: the dispatcher releases each request at its intended time into a queue; a set of
//! senders, each a long-lived task carrying one exchange at a time, takes them in order.
//!
//! The dispatcher waits on a [`PreciseTimer`] (a timerfd in tokio's reactor), so sends leave within
//! microseconds of their intended time without a pacer thread, and every request already due
//! leaves in the same wake-up. A sender reuses its keep-alive connection from exchange to
//! exchange: there is no task, and no connection, per request.
//!
//! Senders are added only when a request is released and none is free, up to the in-flight cap
//! (`max_in_flight`: requests on the wire at once). Past the cap, requests wait inside coldbench,
//! counted from their intended time, and that wait is the cap's (the target was slower than the
//! arrivals), recorded apart from the generator's own lateness. While coldbench is behind its
//! schedule, no sender is added (see [`Growth`]): more connections would not send faster, and a
//! flood of them is what used to collapse an overloaded run into connections broken on the
//! server's limit and blamed on the target. A request that could not leave within its
//! timeout is not sent: it ends as a `timeout` when the cap held it (the target's slowness) and as
//! a `host_error` when coldbench was too late (its own), so a run ends within its timeout of its
//! schedule, and the generator's overload never reads as target errors.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::client::{Pool, Reply};
use super::connect::Dest;
use super::{Arrivals, Shared};
use crate::metrics::Outcome;
use crate::time::clock::Busy;
use crate::time::timer::PreciseTimer;

/// One released request waiting for a sender.
struct Arrival {
    intended: Instant,
    released: Instant,
    /// Every sender the cap allows was busy when it was released: its wait is the cap's.
    held: bool,
    /// Keeps a fast-forwarded clock from jumping while the request is queued or in flight.
    _busy: Busy,
}

/// The queue between the dispatcher and the senders, with what growing them needs to know.
#[derive(Default)]
struct State {
    waiting: VecDeque<Arrival>,
    /// Senders parked on an empty queue and not yet handed a request.
    idle: usize,
    senders: usize,
    /// Senders started but not yet at the queue: each will take a waiting request.
    starting: usize,
    /// The schedule is done (or cancelled): senders exit once the queue is empty.
    closed: bool,
}

struct Queue {
    state: Mutex<State>,
    ready: Notify,
    cap: usize,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("queue lock")
    }

    /// Queues one request; returns whether a new sender should be started for it (`may_grow`:
    /// whether [`Growth`] allows one now).
    fn push(&self, arrival: Arrival, may_grow: bool) -> bool {
        let mut state = self.lock();
        // A request already has a sender coming when one is starting for each one waiting.
        let uncovered = state.waiting.len() + 1 > state.starting;
        let grow = state.idle == 0 && uncovered && state.senders < self.cap && (may_grow || state.senders == 0);
        if grow {
            state.senders += 1;
            state.starting += 1;
        }
        let held = !grow && state.idle == 0 && state.senders >= self.cap;
        state.waiting.push_back(Arrival { held, ..arrival });
        if state.idle > 0 {
            // Handed over: the woken sender no longer counts as free.
            state.idle -= 1;
            drop(state);
            self.ready.notify_one();
        }
        grow
    }

    /// The next request, or `None` once the queue is closed and empty; `starting` is a new
    /// sender's first call.
    async fn next(&self, starting: &mut bool) -> Option<Arrival> {
        if std::mem::take(starting) {
            self.lock().starting -= 1;
        }
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(arrival) = state.waiting.pop_front() {
                    return Some(arrival);
                }
                if state.closed {
                    return None;
                }
                state.idle += 1;
            }
            notified.await;
        }
    }

    /// No more requests will come; with `drop_waiting`, the queued ones are dropped unsent.
    fn close(&self, drop_waiting: bool) {
        let mut state = self.lock();
        state.closed = true;
        if drop_waiting {
            state.waiting.clear();
        }
        state.idle = 0;
        drop(state);
        self.ready.notify_waiters();
    }
}

/// How fast the senders may grow: not at all while coldbench is behind its own schedule — its
/// dispatcher releasing requests late, or its CPU saturated (more connections would not send
/// faster, and their set-up would slow every request further); otherwise by at most
/// [`GROWTH_PER_WINDOW`] per [`GROWTH_WINDOW`], so that either is seen before a flood of
/// connections is opened.
///
/// The dispatcher's lateness is the signal that holds on any machine: a slow target fills the
/// queue while the dispatcher stays on time, a starved generator makes the dispatcher itself
/// late. The CPU share alone misses a starved generator whose virtual CPUs are stolen by the
/// hypervisor (its process CPU then stays below its share of the wall clock).
struct Growth {
    /// The CPUs this runtime can use at once, and the CPU clock that measures it (the
    /// process's, or the thread's for a current-thread runtime).
    capacity: f64,
    clock: libc::clockid_t,
    window_start: Instant,
    cpu_at_start: Option<Duration>,
    added: usize,
    saturated: bool,
    /// The dispatcher's greatest lateness in this window, and whether it is behind.
    latest: Duration,
    behind: bool,
}

/// How often saturation is judged, and the most senders started per window (6,400 a second:
/// a burst of 64 simultaneous arrivals all get one at once).
const GROWTH_WINDOW: Duration = Duration::from_millis(10);
const GROWTH_PER_WINDOW: usize = 64;
/// The share of its CPUs the process used over a window that counts as saturated, and the share
/// below which it no longer is.
const SATURATED: f64 = 0.8;
const RELIEVED: f64 = 0.6;
/// How late a release makes the dispatcher behind, and how little lateness over a whole window
/// ends that (its usual lateness is tens of microseconds).
const BEHIND: Duration = Duration::from_millis(2);
const CAUGHT_UP: Duration = Duration::from_micros(500);

impl Growth {
    fn new(now: Instant) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let runtime = tokio::runtime::Handle::current();
        // A current-thread runtime (one generator thread of several) is judged by its own thread.
        let own_thread = runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread;
        let capacity = if own_thread { 1.0 } else { cores.min(runtime.metrics().num_workers().max(1)) as f64 };
        let clock = if own_thread { libc::CLOCK_THREAD_CPUTIME_ID } else { libc::CLOCK_PROCESS_CPUTIME_ID };
        Self {
            capacity,
            clock,
            window_start: now,
            cpu_at_start: cpu_time(clock),
            added: 0,
            saturated: false,
            latest: Duration::ZERO,
            behind: false,
        }
    }

    /// Whether one more sender may start now, for a request released `late` after its time.
    fn allows(&mut self, now: Instant, late: Duration) -> bool {
        self.latest = self.latest.max(late);
        let window = now.saturating_duration_since(self.window_start);
        if window >= GROWTH_WINDOW {
            let cpu_now = cpu_time(self.clock);
            if let (Some(before), Some(after)) = (self.cpu_at_start, cpu_now) {
                let used = after.saturating_sub(before).as_secs_f64();
                let share = used / (self.capacity * window.as_secs_f64());
                // Hysteresis: a saturation ends only when the CPU is clearly free again.
                self.saturated = if self.saturated { share >= RELIEVED } else { share >= SATURATED };
            }
            self.behind = if self.behind { self.latest >= CAUGHT_UP } else { self.latest >= BEHIND };
            (self.window_start, self.cpu_at_start, self.added, self.latest) = (now, cpu_now, 0, Duration::ZERO);
        }
        !self.saturated && !self.behind && late < BEHIND && self.added < GROWTH_PER_WINDOW
    }
}

/// CPU time so far on `clock` (of the process or of this thread), from the scheduler's own
/// accounting (exact, unlike `getrusage`'s ticks on some kernels).
fn cpu_time(clock: libc::clockid_t) -> Option<Duration> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass.
    let ok = unsafe { libc::clock_gettime(clock, &mut now) } == 0;
    ok.then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}

/// What the run's senders did that the reader must be told.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Requests the cap held back, and those that timed out waiting on it.
    held: u64,
    held_expired: u64,
    /// Requests coldbench itself could not send within their timeout.
    pub unsent: u64,
}

impl Tally {
    /// Adds another part's tally.
    pub fn add(&mut self, other: &Tally) {
        self.held += other.held;
        self.held_expired += other.held_expired;
        self.unsent += other.unsent;
    }
}

/// Runs the schedule; returns whether it was interrupted and what [`warnings`] tell of it.
pub(super) async fn run(
    dest: Arc<Dest>,
    shared: Arc<Shared>,
    schedule: Arrivals,
    start: Instant,
    max_in_flight: usize,
) -> (bool, Tally) {
    let timer = PreciseTimer::new();
    let queue = Arc::new(Queue { state: Mutex::default(), ready: Notify::new(), cap: max_in_flight.max(1) });
    let pool = Arc::new(Pool::new(dest));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut senders = JoinSet::new();
    let mut interrupted = false;
    let fast_forward = shared.clock.is_fast_forward();
    let mut growth = Growth::new(shared.clock.now());
    for offset in schedule {
        let intended = start + offset;
        let mut now = shared.clock.now();
        if now < intended || fast_forward {
            // With fast-forward, the clock jumps toward `intended` once nothing is in flight.
            let waited = tokio::select! {
                biased;
                () = shared.cancel.cancelled() => { interrupted = true; break; }
                waited = shared.clock.wait_until(intended, |real| wait_until(timer.as_ref().ok(), real)) => waited,
            };
            if waited.is_err() {
                // The timerfd failed (it never does on Linux in practice): fall back to tokio's timer.
                tokio::time::sleep_until(shared.clock.real_instant(intended).into()).await;
            }
            now = shared.clock.now();
        } else if shared.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let arrival = Arrival { intended, released: now, held: false, _busy: shared.clock.busy() };
        if queue.push(arrival, growth.allows(now, now.saturating_duration_since(intended))) {
            growth.added += 1;
            let (queue, shared, pool, tally) =
                (Arc::clone(&queue), Arc::clone(&shared), Arc::clone(&pool), Arc::clone(&tally));
            senders.spawn(send_loop(queue, shared, pool, tally));
        }
    }
    queue.close(interrupted);
    // Cancellation ends every exchange in flight (as `other`); the senders then find the queue
    // closed and empty.
    while senders.join_next().await.is_some() {}
    let tally = std::mem::take(&mut *tally.lock().expect("tally lock"));
    (interrupted, tally)
}

/// One sender: takes queued requests in order and sends each on the pool's connections.
async fn send_loop(queue: Arc<Queue>, shared: Arc<Shared>, pool: Arc<Pool>, tally: Arc<Mutex<Tally>>) {
    let mut starting = true;
    while let Some(arrival) = queue.next(&mut starting).await {
        let sent = shared.begin();
        let waited = sent.saturating_duration_since(arrival.released);
        let cap_wait = if arrival.held { waited } else { Duration::ZERO };
        let late = sent.saturating_duration_since(arrival.intended);
        if late >= shared.timeout {
            // Its answer could only come after its timeout: it is not sent at all.
            let outcome = if arrival.held { Outcome::Timeout } else { Outcome::HostError };
            shared.finish(arrival.intended, sent, cap_wait, Reply::failed(outcome));
            let mut tally = tally.lock().expect("tally lock");
            tally.held += u64::from(arrival.held);
            tally.held_expired += u64::from(arrival.held);
            tally.unsent += u64::from(!arrival.held);
        } else {
            let reply = shared.exchange(pool.send(shared.requests.pick())).await;
            shared.finish(arrival.intended, sent, cap_wait, reply);
            if arrival.held {
                tally.lock().expect("tally lock").held += 1;
            }
        }
    }
}

/// What the reader must be told of a load's (summed) tally under the cap `max_in_flight`.
pub(super) fn warnings(tally: &Tally, max_in_flight: usize, timeout: Duration) -> Vec<String> {
    let mut warnings = Vec::new();
    if tally.held > 0 {
        let expired = match tally.held_expired {
            0 => String::new(),
            n => format!(" ({n} of them waited past their {}s timeout and were not sent)", timeout.as_secs_f64()),
        };
        warnings.push(format!(
            "the in-flight cap ({max_in_flight}) held {} request(s) back{expired}: the target was slower than the \
             arrivals; they waited inside coldbench and the wait counts in their latency (cap_wait), not in the \
             generator's lag; raise load.max_in_flight (--max-in-flight) to offer the full load",
            tally.held
        ));
    }
    if tally.unsent > 0 {
        warnings.push(format!(
            "{} request(s) could not leave coldbench within their {}s timeout: the load generator, not the target, \
             was the bottleneck; they are counted as host_error and were never sent",
            tally.unsent,
            timeout.as_secs_f64()
        ));
    }
    warnings
}

async fn wait_until(timer: Option<&PreciseTimer>, due: Instant) -> std::io::Result<()> {
    match timer {
        Some(timer) => timer.sleep_until(due).await,
        None => Err(std::io::Error::other("no timerfd")),
    }
}
