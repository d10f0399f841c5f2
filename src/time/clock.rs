//! The run's clock: real monotonic time plus whatever idle time fast-forward has skipped.
//!
//! The load generator, the gateway's backends and the function runtime's pool all read one
//! `Clock`. Work in flight holds a [`Busy`] guard; while none is held and the next thing due
//! (an arrival, or an alarm such as a keep-warm ping) is further away than [`THRESHOLD`], the
//! clock jumps to just before it. Every invocation still runs for real and in real time: only
//! time in which nothing happens is skipped, so keep-alive, maximum lifetime and the scale-out
//! bucket see a day's worth of idle gaps in minutes of real time (DESIGN.md, Time).

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::futures::Notified;
use tokio::sync::{watch, Notify};

/// Idle gaps shorter than this are waited out in real time.
pub const THRESHOLD: Duration = Duration::from_millis(50);

/// A jump stops this long before the next thing due, so that evictions due in the skipped time
/// are carried out (and their processes gone) before it, as they would be in real time.
pub const LEAD: Duration = Duration::from_millis(10);

/// A shared clock; clones read and move the same time.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fast_forward: bool,
    skipped_ns: AtomicU64,
    jumps: AtomicU64,
    busy: AtomicU64,
    alarms: Mutex<BTreeMap<u64, Instant>>,
    next_alarm_id: AtomicU64,
    /// Carries the skipped nanoseconds to sleepers, so they wake earlier after a jump.
    jumped: watch::Sender<u64>,
    /// Woken when the last work in flight ends.
    idle: Notify,
}

/// How much a run was fast-forwarded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub total: Duration,
    pub jumps: u64,
}

impl Clock {
    /// A clock that follows real time only.
    pub fn real() -> Self {
        Self::new(false)
    }

    /// A clock that skips idle time.
    pub fn fast_forward() -> Self {
        Self::new(true)
    }

    /// A clock that skips idle time when `fast_forward` is set.
    pub fn new(fast_forward: bool) -> Self {
        let (jumped, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                fast_forward,
                skipped_ns: AtomicU64::new(0),
                jumps: AtomicU64::new(0),
                busy: AtomicU64::new(0),
                alarms: Mutex::new(BTreeMap::new()),
                next_alarm_id: AtomicU64::new(0),
                jumped,
                idle: Notify::new(),
            }),
        }
    }

    pub fn is_fast_forward(&self) -> bool {
        self.inner.fast_forward
    }

    /// The current time: real time plus the time skipped so far.
    pub fn now(&self) -> Instant {
        Instant::now() + self.skipped_duration()
    }

    fn skipped_duration(&self) -> Duration {
        Duration::from_nanos(self.inner.skipped_ns.load(Ordering::Acquire))
    }

    /// The time skipped so far, and in how many jumps.
    pub fn skipped(&self) -> Skipped {
        Skipped { total: self.skipped_duration(), jumps: self.inner.jumps.load(Ordering::Relaxed) }
    }

    /// The real instant at which this clock will read `due`, if it does not jump before then.
    pub fn real_instant(&self, due: Instant) -> Instant {
        due.checked_sub(self.skipped_duration()).unwrap_or_else(Instant::now)
    }

    /// Marks work in flight until the guard is dropped: the clock does not jump meanwhile.
    pub fn busy(&self) -> Busy {
        self.inner.busy.fetch_add(1, Ordering::AcqRel);
        Busy { clock: self.clone() }
    }

    /// Whether any work is in flight.
    pub fn is_busy(&self) -> bool {
        self.inner.busy.load(Ordering::Acquire) > 0
    }

    /// A future that completes when the last work in flight ends; created (and registered)
    /// before checking [`Clock::is_busy`], it cannot miss that moment.
    pub fn idle(&self) -> Pin<Box<Notified<'_>>> {
        let mut notified = Box::pin(self.inner.idle.notified());
        notified.as_mut().enable();
        notified
    }

    /// Registers a time something else is due at (a ping, say): no jump passes it.
    pub fn alarm(&self) -> Alarm {
        let id = self.inner.next_alarm_id.fetch_add(1, Ordering::Relaxed);
        Alarm { clock: self.clone(), id }
    }

    /// Called by whoever waits for `due` next: when fast-forwarding, nothing is in flight and
    /// both `due` and every alarm are further than [`THRESHOLD`] away, jumps to [`LEAD`] before
    /// the earliest of them. Returns how far it jumped.
    pub fn skip_toward(&self, due: Instant) -> Duration {
        if !self.inner.fast_forward || self.is_busy() {
            return Duration::ZERO;
        }
        let earliest_alarm = self.inner.alarms.lock().expect("alarms lock").values().min().copied();
        let due = earliest_alarm.map_or(due, |alarm| alarm.min(due));
        let now = self.now();
        let gap = due.saturating_duration_since(now);
        if gap <= THRESHOLD {
            return Duration::ZERO;
        }
        let jump = gap - LEAD;
        let ns = u64::try_from(jump.as_nanos()).unwrap_or(u64::MAX);
        let total = self.inner.skipped_ns.fetch_add(ns, Ordering::AcqRel) + ns;
        self.inner.jumps.fetch_add(1, Ordering::Relaxed);
        self.inner.jumped.send_replace(total);
        jump
    }

    /// Sleeps until the clock reads `due` without moving it: only the driver of the traffic
    /// jumps, so a background schedule (keep-warm pings) never runs past the end of the load.
    /// `due` holds an alarm meanwhile, and a jump brings the real wake-up time closer.
    pub async fn sleep_until(&self, due: Instant) {
        self.wait(due, Hold::Alarm, |real| tokio::time::sleep_until(real.into())).await;
    }

    /// Sleeps until the clock reads `due` (or later) without holding it: jumps may pass `due`.
    /// For observers whose rounds change nothing in idle time (the balancer's health checks):
    /// they wake after a jump past `due` rather than stopping the clock at every round.
    pub async fn sleep_past(&self, due: Instant) {
        self.wait(due, Hold::No, |real| tokio::time::sleep_until(real.into())).await;
    }

    /// Waits until the clock reads `due` with `sleep` (which sleeps until a real instant).
    /// When fast-forwarding, `due` holds an alarm meanwhile (no one else's jump passes it), the
    /// clock jumps toward it whenever nothing is in flight, and a jump by anyone else brings the
    /// real wake-up time closer. Returns what `sleep` returned.
    pub async fn wait_until<F, Fut, T>(&self, due: Instant, sleep: F) -> T
    where
        F: Fn(Instant) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.wait(due, Hold::Jump, sleep).await
    }

    async fn wait<F, Fut, T>(&self, due: Instant, hold: Hold, sleep: F) -> T
    where
        F: Fn(Instant) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        if !self.inner.fast_forward {
            return sleep(due).await;
        }
        let skip = hold == Hold::Jump;
        let alarm = self.alarm();
        if hold != Hold::No {
            alarm.set(due);
        }
        let mut jumped = self.inner.jumped.subscribe();
        loop {
            let idle = self.idle();
            if skip {
                self.skip_toward(due);
            }
            jumped.borrow_and_update();
            tokio::select! {
                biased;
                slept = sleep(self.real_instant(due)) => return slept,
                // Work starting and ending meanwhile (a keep-warm round) may make a jump possible.
                () = idle, if skip => {}
                changed = jumped.changed() => if changed.is_err() { return sleep(self.real_instant(due)).await },
            }
        }
    }
}

/// What a waiter does to a fast-forwarded clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    /// Nothing: jumps may pass its time.
    No,
    /// Holds an alarm at its time: no jump passes it.
    Alarm,
    /// Holds an alarm and jumps toward its time whenever nothing is in flight.
    Jump,
}

/// Work in flight; see [`Clock::busy`].
#[derive(Debug)]
pub struct Busy {
    clock: Clock,
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.clock.inner.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.clock.inner.idle.notify_waiters();
        }
    }
}

/// A time something is due at, which jumps do not pass; see [`Clock::alarm`].
#[derive(Debug)]
pub struct Alarm {
    clock: Clock,
    id: u64,
}

impl Alarm {
    /// Sets (or moves) the time this alarm guards.
    pub fn set(&self, due: Instant) {
        self.clock.inner.alarms.lock().expect("alarms lock").insert(self.id, due);
    }

    /// Guards nothing until set again.
    pub fn clear(&self) {
        self.clock.inner.alarms.lock().expect("alarms lock").remove(&self.id);
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.clock.inner.alarms.lock().expect("alarms lock").remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_clock_never_jumps() {
        let clock = Clock::real();
        let due = clock.now() + Duration::from_secs(3_600);
        assert_eq!(clock.skip_toward(due), Duration::ZERO);
        assert_eq!(clock.skipped(), Skipped::default());
    }

    #[test]
    fn jumps_to_just_before_the_next_arrival_when_idle() {
        let clock = Clock::fast_forward();
        let due = clock.now() + Duration::from_secs(3_600);
        let jump = clock.skip_toward(due);
        assert!(jump > Duration::from_secs(3_599) && jump < Duration::from_secs(3_600), "{jump:?}");
        let left = due.saturating_duration_since(clock.now());
        assert!(left <= LEAD && left > Duration::ZERO, "{left:?} left");
        assert_eq!(clock.skipped().jumps, 1);
        // Close to the arrival now: no second jump.
        assert_eq!(clock.skip_toward(due), Duration::ZERO);
    }

    #[test]
    fn never_jumps_while_work_is_in_flight_or_for_short_gaps() {
        let clock = Clock::fast_forward();
        let busy = clock.busy();
        assert_eq!(clock.skip_toward(clock.now() + Duration::from_secs(60)), Duration::ZERO);
        drop(busy);
        assert_eq!(clock.skip_toward(clock.now() + THRESHOLD / 2), Duration::ZERO);
        assert!(clock.skip_toward(clock.now() + Duration::from_secs(60)) > Duration::ZERO);
    }

    #[tokio::test]
    async fn a_passive_sleeper_lets_jumps_pass_and_wakes_after_them() {
        let clock = Clock::fast_forward();
        let due = clock.now() + Duration::from_secs(300);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_past(due).await }
        });
        tokio::task::yield_now().await;
        // It holds no alarm: the jump goes on to the arrival an hour away.
        let jump = clock.skip_toward(clock.now() + Duration::from_secs(3_600));
        assert!(jump > Duration::from_secs(3_599), "{jump:?}");
        tokio::time::timeout(Duration::from_secs(5), sleeper).await.expect("woke after the jump").unwrap();
        assert!(clock.now() >= due);
    }

    #[test]
    fn jumps_stop_before_alarms() {
        let clock = Clock::fast_forward();
        let alarm = clock.alarm();
        let ping = clock.now() + Duration::from_secs(300);
        alarm.set(ping);
        clock.skip_toward(clock.now() + Duration::from_secs(3_600));
        let left = ping.saturating_duration_since(clock.now());
        assert!(left <= LEAD && left > Duration::ZERO, "{left:?} left before the alarm");
        drop(alarm);
        assert!(clock.skip_toward(clock.now() + Duration::from_secs(3_000)) > Duration::from_secs(2_000));
    }

    #[tokio::test]
    async fn waiting_jumps_once_the_work_in_flight_ends() {
        let clock = Clock::fast_forward();
        let busy = clock.busy();
        let due = clock.now() + Duration::from_secs(3_600);
        let waiter = tokio::spawn({
            let clock = clock.clone();
            async move { clock.wait_until(due, |real| tokio::time::sleep_until(real.into())).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(clock.skipped().jumps, 0, "no jump while busy");
        drop(busy);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("jumped once idle").unwrap();
        assert_eq!(clock.skipped().jumps, 1);
        assert!(clock.now() >= due);
    }

    #[tokio::test]
    async fn sleepers_wake_when_a_jump_reaches_their_time() {
        let clock = Clock::fast_forward();
        let due = clock.now() + Duration::from_secs(600);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(due).await }
        });
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(clock.skipped().jumps, 0, "a sleeper does not move the clock itself");
        clock.skip_toward(due + Duration::from_secs(60));
        tokio::time::timeout(Duration::from_secs(5), sleeper).await.expect("woke after the jump").unwrap();
        assert!(clock.now() >= due);
    }
}
