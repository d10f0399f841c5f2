//! The open loop on several threads: thread `k` of `N` sends arrivals `k`, `k + N`, … of the
//! schedule (the traffic's shape at 1/N of its rate, as a shard does across machines) on a
//! current-thread runtime of its own, with its own connections, timer and recorder, so no
//! request crosses a thread and no lock is shared between requests. Their recordings are merged
//! interval by interval afterwards: exact, like a merge of shards (the merged p99 is the p99 of
//! every sample).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::connect::Dest;
use super::open::{self, Tally};
use super::{Arrivals, Live, RequestSet, Schedule, Shared, Timing};
use crate::metrics::Measurement;

/// What every part of one open-loop load shares.
pub(super) struct Parts<'a> {
    pub dest: Arc<Dest>,
    pub timing: &'a Timing,
    pub live: Arc<Live>,
    pub requests: Arc<RequestSet>,
    pub cancel: CancellationToken,
    pub start: Instant,
}

impl Parts<'_> {
    /// Sends `schedule` on `threads` threads (one: on the caller's runtime), each with its share
    /// of the in-flight cap; returns the merged measurement, whether it was interrupted, and the
    /// summed tally.
    ///
    /// # Errors
    /// When a thread or its runtime cannot be started, or the recordings cannot be merged.
    pub async fn open(
        self,
        schedule: &Schedule,
        max_in_flight: usize,
        threads: usize,
    ) -> anyhow::Result<(Measurement, bool, Tally)> {
        // Each thread needs at least one request of the cap.
        let threads = threads.clamp(1, max_in_flight.max(1));
        let parts: Vec<Arc<Shared>> = (0..threads)
            .map(|_| {
                let (live, requests) = (Arc::clone(&self.live), Arc::clone(&self.requests));
                Arc::new(Shared::new(self.start, self.timing, live, requests, self.cancel.clone()))
            })
            .collect();
        if threads == 1 {
            let (interrupted, tally) =
                open::run(Arc::clone(&self.dest), Arc::clone(&parts[0]), schedule(), self.start, max_in_flight).await;
            let end = self.timing.clock.now();
            return Ok((parts[0].take_recorder(end).finish(end), interrupted, tally));
        }
        let mut done = Vec::with_capacity(threads);
        for (k, shared) in parts.iter().enumerate() {
            let arrivals: Arrivals = Box::new(schedule().skip(k).step_by(threads));
            let cap = max_in_flight / threads + usize::from(k < max_in_flight % threads);
            let (dest, shared, start) = (Arc::clone(&self.dest), Arc::clone(shared), self.start);
            let (tell, told) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new().name(format!("coldbench-load-{k}")).spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                let _ = tell.send(runtime.map(|r| r.block_on(open::run(dest, shared, arrivals, start, cap))));
            });
            if let Err(e) = spawned {
                // The threads already started stop at once and are waited for below.
                self.cancel.cancel();
                done.push(Err(anyhow::anyhow!("cannot start generator thread {k} of {threads}: {e}")));
                break;
            }
            done.push(Ok(told));
        }
        let mut interrupted = false;
        let mut tally = Tally::default();
        let mut failure = None;
        for (k, part) in done.into_iter().enumerate() {
            let outcome = match part {
                Ok(told) => told.await.map_err(|_| anyhow::anyhow!("generator thread {k} of {threads} panicked")),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(Ok((stopped, counted))) => {
                    interrupted |= stopped;
                    tally.add(&counted);
                }
                Ok(Err(e)) => failure = failure.or(Some(anyhow::anyhow!("generator thread {k}'s runtime: {e}"))),
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        let end = self.timing.clock.now();
        let measurements: Vec<Measurement> = parts.iter().map(|p| p.take_recorder(end).finish(end)).collect();
        let merged = crate::metrics::merge_measurements(&measurements.iter().collect::<Vec<_>>())
            .context("merging the generator threads' recordings")?;
        Ok((merged, interrupted, tally))
    }
}
