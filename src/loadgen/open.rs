//! Open loop: the dispatcher releases each request at its intended time; request tasks send it.
//!
//! The dispatcher waits on a [`PreciseTimer`] (a timerfd in tokio's reactor), so sends leave within
//! microseconds of their intended time without a pacer thread. When the in-flight cap binds,
//! arrivals wait; their latency still counts from the intended time.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use super::client::Pool;
use super::connect::Dest;
use super::{Arrivals, Shared};
use crate::time::timer::PreciseTimer;

/// Runs the schedule; returns whether it was interrupted, and warnings.
pub(super) async fn run(
    dest: Arc<Dest>,
    shared: Arc<Shared>,
    schedule: Arrivals,
    start: Instant,
    max_in_flight: usize,
) -> (bool, Vec<String>) {
    let timer = PreciseTimer::new();
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let pool = Arc::new(Pool::new(dest));
    let mut cap_waits = 0u64;
    let mut interrupted = false;
    for offset in schedule {
        let intended = start + offset;
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
        if slots.available_permits() == 0 {
            cap_waits += 1;
        }
        let permit = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => { interrupted = true; break; }
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        // Taken here, not in the task: the clock must not jump before the task has started.
        let busy = shared.clock.busy();
        let (shared, pool) = (Arc::clone(&shared), Arc::clone(&pool));
        tokio::spawn(async move {
            let sent = shared.begin();
            let reply = shared.exchange(pool.send(shared.requests.pick())).await;
            shared.finish(intended, sent, reply);
            drop((busy, permit));
        });
    }
    // Every request task holds a slot until it has recorded: taking them all means all are done.
    let _all = slots.acquire_many(max_in_flight as u32).await.expect("the semaphore is never closed");
    let mut warnings = Vec::new();
    if cap_waits > 0 {
        warnings.push(format!(
            "the in-flight cap ({max_in_flight}) was reached {cap_waits} time(s): those requests waited inside \
             coldbench, and the wait counts in their latency; raise load.max_in_flight to offer the full load"
        ));
    }
    (interrupted, warnings)
}

async fn wait_until(timer: Option<&PreciseTimer>, due: Instant) -> std::io::Result<()> {
    match timer {
        Some(timer) => timer.sleep_until(due).await,
        None => Err(std::io::Error::other("no timerfd")),
    }
}
