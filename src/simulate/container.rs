//! A container target in simulated time: `instances` always-on servers, each serving up to
//! `slots` requests at once; a request that finds every slot busy waits in one shared queue
//! (first come, first served, as a least-outstanding-requests balancer hands it to the first
//! free slot). No cold starts: the instances start before the traffic. What it costs comes from
//! instance hours, as for a measured container target.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Durations;
use crate::metrics::interval_for;
use crate::metrics::{InstanceReport, Measurement, Outcome, Recorder, Sample};

/// What one simulated container target does per request.
#[derive(Clone, Debug)]
pub struct SimulatedContainer {
    pub instances: usize,
    /// Requests one instance serves at once; `None`: as many as arrive (waiting work).
    pub slots: Option<usize>,
    /// Service time of a request once it has a slot.
    pub work: Durations,
    /// The load generator's timeout: a request not answered by then ends as `timeout`.
    pub timeout: Duration,
    /// A request that finds every slot busy is refused (the balancer's 503) instead of queued.
    pub reject: bool,
    pub seed: u64,
}

/// What the simulation of a container target produced.
#[derive(Debug)]
pub struct SimulatedFleet {
    pub measurement: Measurement,
    /// One entry per instance, requests counted as the balancer spread them.
    pub instances: Vec<InstanceReport>,
    /// Requests that waited for a slot.
    pub queued: u64,
}

/// Replays `arrivals` (offsets from 0, in order) through the fleet over `horizon`.
pub fn simulate_container(
    arrivals: impl Iterator<Item = Duration>,
    c: &SimulatedContainer,
    horizon: Duration,
) -> SimulatedFleet {
    let base = Instant::now();
    let mut recorder = Recorder::without_generator(base, interval_for(horizon));
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0xC0_47A1_4E45);
    // When each slot is next free, earliest first: (time, instance).
    let mut free: BinaryHeap<Reverse<(Duration, usize)>> = BinaryHeap::new();
    if let Some(slots) = c.slots {
        for instance in 0..c.instances.max(1) {
            for _ in 0..slots.max(1) {
                free.push(Reverse((Duration::ZERO, instance)));
            }
        }
    }
    // Answers still to come, for the in-flight count.
    let mut in_flight: BinaryHeap<Reverse<Duration>> = BinaryHeap::new();
    let mut served = vec![0u64; c.instances.max(1)];
    let mut queued = 0u64;
    for (n, t) in arrivals.enumerate() {
        while in_flight.peek().is_some_and(|Reverse(done)| *done <= t) {
            in_flight.pop();
        }
        let work = c.work.draw(&mut rng);
        if c.reject && free.peek().is_some_and(|Reverse((at, _))| *at > t) {
            record_refusal(&mut recorder, base, t, &mut in_flight);
            continue;
        }
        let (start, instance) = match free.pop() {
            Some(Reverse((at, instance))) => (at.max(t), instance),
            None => (t, n % served.len()),
        };
        queued += u64::from(start > t);
        let done = start + work;
        if c.slots.is_some() {
            free.push(Reverse((done, instance)));
        }
        served[instance] += 1;
        record_answer(&mut recorder, base, t, work, done, c.timeout, &mut in_flight);
    }
    let instances = served
        .iter()
        .enumerate()
        .map(|(i, &requests)| InstanceReport { id: format!("simulated-{i}"), requests, ..InstanceReport::default() })
        .collect();
    SimulatedFleet { measurement: recorder.finish(base + horizon), instances, queued }
}

/// Records a request refused at `t` by the balancer (every slot busy, `overflow = "reject"`).
pub(super) fn record_refusal(
    recorder: &mut Recorder,
    base: Instant,
    t: Duration,
    in_flight: &mut BinaryHeap<Reverse<Duration>>,
) {
    let sample = Sample {
        latency: Duration::ZERO,
        service: Duration::ZERO,
        lag: Duration::ZERO,
        cap_wait: Duration::ZERO,
        outcome: Outcome::BalancerError(503),
        cold: Some(false),
        init: None,
        cache: None,
        phases: None,
    };
    recorder.record(&sample, base + t, in_flight.len() as u64);
}

/// Records a request that arrived at `t`, worked `work` and was answered at `done` (a timeout
/// past `timeout`); `in_flight` holds the answers still to come.
pub(super) fn record_answer(
    recorder: &mut Recorder,
    base: Instant,
    t: Duration,
    work: Duration,
    done: Duration,
    timeout: Duration,
    in_flight: &mut BinaryHeap<Reverse<Duration>>,
) {
    let waited = done - t;
    let (latency, outcome) = if waited > timeout { (timeout, Outcome::Timeout) } else { (waited, Outcome::Ok) };
    in_flight.push(Reverse(t + latency));
    let sample = Sample {
        latency,
        service: work,
        lag: Duration::ZERO,
        cap_wait: Duration::ZERO,
        outcome,
        cold: Some(false),
        init: None,
        cache: None,
        phases: None,
    };
    recorder.record(&sample, base + t + latency, in_flight.len() as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(instances: usize, slots: Option<usize>, work_ms: u64) -> SimulatedContainer {
        SimulatedContainer {
            instances,
            slots,
            work: Durations::Fixed(Duration::from_millis(work_ms)),
            timeout: Duration::from_secs(30),
            reject: false,
            seed: 1,
        }
    }

    #[test]
    fn with_overflow_reject_a_request_beyond_every_slot_is_refused_at_once() {
        // Ten at once on one instance with two slots: two served, eight refused with a 503.
        let mut c = fleet(1, Some(2), 100);
        c.reject = true;
        let s = simulate_container(std::iter::repeat_n(Duration::ZERO, 10), &c, Duration::from_secs(1));
        let outcomes = &s.measurement.outcomes;
        assert_eq!((outcomes.ok, outcomes.balancer_error.get(&503).copied()), (2, Some(8)), "{outcomes:?}");
        assert_eq!(s.queued, 0);
    }

    #[test]
    fn a_fleet_with_free_slots_answers_in_the_service_time() {
        let arrivals = (0..100).map(|i| Duration::from_millis(i * 100));
        let s = simulate_container(arrivals, &fleet(2, Some(4), 10), Duration::from_secs(10));
        let latency = s.measurement.latency.unwrap();
        assert_eq!((s.measurement.requests, s.queued, s.measurement.outcomes.ok), (100, 0, 100));
        assert!((9_900..=10_100).contains(&latency.p99_us), "{latency:?}");
        assert_eq!((s.measurement.cold, s.measurement.warm), (0, 100), "containers never start cold");
        assert_eq!(s.instances.len(), 2);
        assert_eq!(s.instances.iter().map(|i| i.requests).sum::<u64>(), 100);
    }

    #[test]
    fn requests_beyond_every_slot_queue_and_wait() {
        // Ten at once on one instance with two slots of 100 ms: answers at 100, 200, … 500 ms.
        let s = simulate_container(
            std::iter::repeat_n(Duration::ZERO, 10),
            &fleet(1, Some(2), 100),
            Duration::from_secs(1),
        );
        assert_eq!(s.queued, 8);
        let latency = s.measurement.latency.unwrap();
        assert!((495_000..=505_000).contains(&latency.max_us), "{latency:?}");
        assert!((95_000..=105_000).contains(&latency.min_us), "{latency:?}");
    }

    #[test]
    fn unlimited_slots_never_queue_and_a_timeout_censors_the_wait() {
        let s =
            simulate_container(std::iter::repeat_n(Duration::ZERO, 50), &fleet(1, None, 100), Duration::from_secs(1));
        assert_eq!(s.queued, 0);
        let mut slow = fleet(1, Some(1), 1_000);
        slow.timeout = Duration::from_millis(2_500);
        let s = simulate_container(std::iter::repeat_n(Duration::ZERO, 4), &slow, Duration::from_secs(5));
        assert_eq!((s.measurement.outcomes.ok, s.measurement.outcomes.timeout), (2, 2));
    }
}
