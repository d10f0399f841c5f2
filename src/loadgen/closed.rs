//! Closed loop: N keep-alive connections, each sending its next request when the previous
//! response has arrived, like wrk. For maximum throughput; latency here is service time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{Reply, Worker};
use super::connect::Dest;
use super::Shared;
use crate::metrics::Outcome;

/// Pause after a failed connection attempt, so a refused port is not hammered in a hot loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(5);

/// Runs `connections` workers until the deadline, the request budget, or cancellation.
/// Returns whether it was interrupted.
pub(super) async fn run(
    dest: Arc<Dest>,
    shared: Arc<Shared>,
    connections: usize,
    deadline: Option<Instant>,
    requests: Option<u64>,
) -> bool {
    let budget = Arc::new(AtomicU64::new(requests.unwrap_or(u64::MAX)));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let (shared, budget, dest) = (Arc::clone(&shared), Arc::clone(&budget), Arc::clone(&dest));
        workers.spawn(async move {
            let mut worker = Worker::new(dest);
            while deadline.is_none_or(|d| shared.clock.now() < d) {
                if budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err() {
                    break;
                }
                let _busy = shared.clock.busy();
                let sent = shared.begin();
                let reply = tokio::time::timeout(shared.timeout, worker.send(shared.requests.pick()))
                    .await
                    .unwrap_or(Reply::failed(Outcome::Timeout));
                shared.finish(sent, sent, Duration::ZERO, reply);
                if reply.outcome == Outcome::ConnectError {
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        });
    }
    // Cancellation is watched here, once, rather than in every request: on Ctrl-C the workers
    // are aborted and each request they had in flight is recorded as `other`.
    let interrupted = tokio::select! {
        biased;
        () = shared.cancel.cancelled() => true,
        () = async { while workers.join_next().await.is_some() {} } => false,
    };
    if interrupted {
        workers.shutdown().await;
        let sent = shared.live.sent.load(Ordering::Relaxed);
        let done = shared.live.done.load(Ordering::Relaxed);
        let now = shared.clock.now();
        for _ in done..sent {
            shared.finish(now, now, Duration::ZERO, Reply::failed(Outcome::Other));
        }
    }
    interrupted
}
