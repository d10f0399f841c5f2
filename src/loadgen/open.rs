//! Open loop: a pacer thread releases each request at its intended time; request tasks send it.
//!
//! The pacer is an OS thread with 1 ns timer slack that sleeps until shortly before each send
//! and spins the last few microseconds, because tokio's timer wheel has millisecond granularity.
//! When the in-flight cap binds, arrivals wait; their latency still counts from the intended time.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Semaphore};

use super::client::Pool;
use super::{Arrivals, Shared};

/// Arrivals handed from the pacer to the dispatcher without waiting.
const PACER_QUEUE: usize = 4096;
/// Below this much time to go, the pacer spins instead of sleeping.
const SPIN_BELOW: Duration = Duration::from_micros(40);
/// The pacer wakes at least this often to notice a stop.
const MAX_SLEEP: Duration = Duration::from_millis(50);

/// Runs the schedule; returns whether it was interrupted, and warnings.
pub(super) async fn run(
    addr: SocketAddr,
    shared: Arc<Shared>,
    schedule: Arrivals,
    start: Instant,
    max_in_flight: usize,
) -> (bool, Vec<String>) {
    let (tx, mut rx) = mpsc::channel::<Instant>(PACER_QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let pacer = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("coldbench-pacer".into())
            .spawn(move || pace(schedule, start, &tx, &stop))
            .expect("spawning the pacer thread")
    };
    let slots = Arc::new(Semaphore::new(max_in_flight));
    let pool = Arc::new(Pool::new(addr));
    let mut cap_waits = 0u64;
    let mut interrupted = false;
    loop {
        let intended = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => { interrupted = true; break; }
            next = rx.recv() => match next { Some(t) => t, None => break },
        };
        if slots.available_permits() == 0 {
            cap_waits += 1;
        }
        let permit = tokio::select! {
            biased;
            () = shared.cancel.cancelled() => { interrupted = true; break; }
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (shared, pool) = (Arc::clone(&shared), Arc::clone(&pool));
        tokio::spawn(async move {
            let sent = shared.begin();
            let reply = shared.exchange(pool.send(&shared.template)).await;
            shared.finish(intended, sent, reply);
            drop(permit);
        });
    }
    stop.store(true, Ordering::Relaxed);
    drop(rx);
    let _ = tokio::task::spawn_blocking(move || pacer.join()).await;
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

/// The pacer thread: sends each intended time when it is due.
fn pace(schedule: Arrivals, start: Instant, tx: &mpsc::Sender<Instant>, stop: &AtomicBool) {
    set_fine_timer_slack();
    for offset in schedule {
        let due = start + offset;
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            if now >= due {
                break;
            }
            let remaining = due - now;
            if remaining > SPIN_BELOW {
                std::thread::sleep((remaining - SPIN_BELOW / 2).min(MAX_SLEEP));
            } else {
                std::hint::spin_loop();
            }
        }
        if tx.blocking_send(due).is_err() {
            return;
        }
    }
}

/// Asks Linux to wake this thread's sleeps within 1 ns of the requested time (default 50 µs).
fn set_fine_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an integer argument and affects only the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}
