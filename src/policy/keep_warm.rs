//! The keep-warm schedule: when a warmer's rounds of pings fall. One definition for the real
//! pinger and the simulator, so both send the same pings over the same horizon.

use std::time::Duration;

/// `keep_warm = { every, concurrency }`: rounds of `concurrency` simultaneous pings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepWarm {
    pub every: Duration,
    pub concurrency: usize,
}

impl KeepWarm {
    /// Each round's offset from the start: the first at 0 (before the traffic, as if the warmer
    /// had been running all along), then one every `every`, every round before `horizon` (the
    /// workload's duration: the warmer runs while the deployment exists, not only while requests
    /// are in flight).
    pub fn rounds(&self, horizon: Duration) -> impl Iterator<Item = Duration> {
        let every = self.every.max(Duration::from_millis(1));
        (0u32..).map(move |k| every * k).take_while(move |t| t.is_zero() || *t < horizon)
    }

    /// How many pings the schedule sends over `horizon`.
    pub fn pings(&self, horizon: Duration) -> u64 {
        self.rounds(horizon).count() as u64 * self.concurrency as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_start_before_the_traffic_and_stop_before_the_horizon() {
        let k = KeepWarm { every: Duration::from_secs(300), concurrency: 2 };
        let rounds: Vec<u64> = k.rounds(Duration::from_secs(7_200)).map(|d| d.as_secs()).collect();
        assert_eq!(rounds.len(), 24);
        assert_eq!((rounds[0], rounds[23]), (0, 6_900));
        assert_eq!(k.pings(Duration::from_secs(7_200)), 48);
        assert_eq!(k.rounds(Duration::ZERO).count(), 1, "the first round always runs");
    }
}
