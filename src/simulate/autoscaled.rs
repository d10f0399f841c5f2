//! An autoscaled container fleet in simulated time: instances of `slots` concurrent requests
//! each, a shared first-come queue in front of them, and the fleet's size following
//! `policy::scaling` — the same [`Scaler`] and [`Launches`] a real fleet uses — sampled once a
//! second. A launched instance takes the provision delay, then its start-up time, before it
//! takes requests; one scaled in takes no new requests and leaves once its last one is answered.
//! Instance-seconds (launch to stop, at least a minute each, as Fargate bills) are what it costs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::Durations;
use crate::metrics::{interval_for, FleetReport, InstanceReport, Measurement, Recorder, ScalingEventReport};
use crate::policy::scaling::{Launches, Scaler, ScalingConfig, ScalingMetric};

/// An autoscaled container target to simulate.
#[derive(Clone, Debug)]
pub struct AutoscaledContainer {
    /// Instances at the start (ready before the traffic, as a service's desired count is).
    pub initial: u32,
    pub scaling: ScalingConfig,
    /// Requests one instance serves at once; `None`: as many as arrive (waiting work).
    pub slots: Option<usize>,
    /// The platform's launches: the provision delay and launch limit ...
    pub launches: Launches,
    /// ... then the instance's start-up until it passes its readiness check.
    pub startup: Duration,
    pub work: Durations,
    /// A request that finds every slot busy is refused (the balancer's 503) instead of queued.
    pub reject: bool,
    /// The load generator's timeout: a request not answered by then ends as `timeout`.
    pub timeout: Duration,
    pub seed: u64,
}

/// What the simulation of an autoscaled fleet produced.
#[derive(Debug)]
pub struct AutoscaledFleet {
    pub measurement: Measurement,
    pub instances: Vec<InstanceReport>,
    /// As a real fleet reports it: decisions, instances in service each second, and the billed
    /// instance time (launch to stop, at least a minute each).
    pub fleet: FleetReport,
    /// Requests that waited for a slot.
    pub queued: u64,
    /// Each instance's launch and, if it stopped before the horizon, its stop.
    pub lifetimes: Vec<(Duration, Option<Duration>)>,
}

#[derive(Clone, Debug)]
struct Simulated {
    launched: Duration,
    ready: Duration,
    /// When it stopped taking requests (scaled in), if it did.
    retired: Option<Duration>,
    /// When its last request is answered.
    busy_until: Duration,
    requests: u64,
}

/// The fleet's state as time advances.
struct Fleet<'a> {
    c: &'a AutoscaledContainer,
    scaler: Scaler,
    launches: Launches,
    instances: Vec<Simulated>,
    /// The indices of the instances not retired, in launch order (a month's simulation retires
    /// thousands: they stay in `instances` for the bill, out of every per-request loop).
    alive: Vec<usize>,
    /// When each slot is next free: (time, instance); entries of retired instances are skipped.
    free: BinaryHeap<Reverse<(Duration, usize)>>,
    /// Answers still to come, for the concurrency metric.
    in_flight: BinaryHeap<Reverse<Duration>>,
    arrivals_this_second: u32,
    serving_per_second: Vec<u32>,
    /// The next whole second to sample.
    next_tick: Duration,
    /// Round robin without slot limits.
    turn: usize,
}

impl Fleet<'_> {
    fn launch(&mut self, at: Duration, ready: Duration) {
        let index = self.instances.len();
        self.instances.push(Simulated { launched: at, ready, retired: None, busy_until: ready, requests: 0 });
        self.alive.push(index);
        for _ in 0..self.c.slots.unwrap_or(0) {
            self.free.push(Reverse((ready, index)));
        }
    }

    fn serving(&self, at: Duration) -> u32 {
        self.alive.iter().filter(|&&i| self.instances[i].ready <= at).count() as u32
    }

    /// Samples the metric and lets the scaler decide, once a second up to `t`.
    fn advance(&mut self, t: Duration) {
        while self.next_tick <= t {
            let now = self.next_tick;
            while self.in_flight.peek().is_some_and(|Reverse(done)| *done <= now) {
                self.in_flight.pop();
            }
            let serving = self.serving(now);
            let per_instance = |n: f64| if serving == 0 { 0.0 } else { n / f64::from(serving) };
            let metric = match self.c.scaling.metric {
                ScalingMetric::RequestsPerInstance => per_instance(f64::from(self.arrivals_this_second)),
                ScalingMetric::Concurrency => per_instance(self.in_flight.len() as f64),
                // Simulated CPU: the share of the serving instances' slots in use (CPU-bound work has
                // a slot per vCPU), at most all of them: requests queued beyond the slots use no
                // CPU, as a real instance's utilisation stops at 100 %; waiting work without a
                // slot limit uses none.
                ScalingMetric::Cpu => match self.c.slots {
                    Some(slots) => (100.0 * per_instance(self.in_flight.len() as f64) / slots.max(1) as f64).min(100.0),
                    None => 0.0,
                },
            };
            self.arrivals_this_second = 0;
            if serving > 0 {
                self.scaler.observe(now, metric, serving);
            }
            self.follow(now);
            self.serving_per_second.push(self.serving(now));
            self.next_tick += Duration::from_secs(1);
        }
    }

    /// Launches or retires instances toward the desired count.
    fn follow(&mut self, now: Duration) {
        // Never below one instance: a fleet scaled to zero would leave requests nowhere to go.
        let desired = (self.scaler.desired() as usize).max(1);
        while self.alive.len() < desired {
            let Some(process_start) = self.launches.launch(now) else { break };
            self.launch(now, process_start + self.c.startup);
        }
        // Scale-in takes the newest first (those still starting, then the youngest).
        while self.alive.len() > desired {
            let index = self.alive.pop().expect("more alive than desired");
            self.instances[index].retired = Some(now);
        }
    }

    /// Where a request arriving at `t` goes: (when it can start, which instance) — the earliest
    /// free slot of an instance in service, or without slot limits the next instance in service
    /// round robin (the first to be ready, while none is).
    fn slot(&mut self, t: Duration) -> (Duration, usize) {
        if self.c.slots.is_none() {
            let ready = self.alive.iter().filter(|&&i| self.instances[i].ready <= t).count();
            self.turn += 1;
            return match self
                .alive
                .iter()
                .copied()
                .filter(|&i| self.instances[i].ready <= t)
                .nth(self.turn % ready.max(1))
            {
                Some(index) => (t, index),
                None => {
                    let first =
                        self.alive.iter().copied().min_by_key(|&i| self.instances[i].ready).expect("one is alive");
                    (self.instances[first].ready, first)
                }
            };
        }
        loop {
            let Reverse((at, index)) = self.free.pop().expect("at least one instance is always alive");
            // A retired instance takes nothing new (it retired at a tick before this request).
            if self.instances[index].retired.is_none() {
                return (at, index);
            }
        }
    }
}

/// Replays `arrivals` (offsets from 0, in order) through the autoscaled fleet over `horizon`.
pub fn simulate_autoscaled(
    arrivals: impl Iterator<Item = Duration>,
    c: &AutoscaledContainer,
    horizon: Duration,
) -> AutoscaledFleet {
    let base = Instant::now();
    let mut recorder = Recorder::without_generator(base, interval_for(horizon));
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0x005C_A1ED);
    let scaler = Scaler::new(c.scaling.clone(), c.initial, Duration::ZERO);
    let mut fleet = Fleet {
        c,
        launches: c.launches.clone(),
        instances: Vec::new(),
        alive: Vec::new(),
        free: BinaryHeap::new(),
        in_flight: BinaryHeap::new(),
        arrivals_this_second: 0,
        serving_per_second: Vec::new(),
        next_tick: Duration::from_secs(1),
        turn: 0,
        scaler,
    };
    for _ in 0..fleet.scaler.desired().max(1) {
        fleet.launch(Duration::ZERO, Duration::ZERO);
    }
    let mut queued = 0u64;
    for t in arrivals {
        fleet.advance(t);
        fleet.arrivals_this_second += 1;
        let work = c.work.draw(&mut rng);
        let (free_at, index) = fleet.slot(t);
        if c.reject && c.slots.is_some() && free_at > t {
            fleet.free.push(Reverse((free_at, index)));
            super::container::record_refusal(&mut recorder, base, t, &mut fleet.in_flight);
            continue;
        }
        let start = free_at.max(t);
        queued += u64::from(start > t);
        let done = start + work;
        if c.slots.is_some() {
            fleet.free.push(Reverse((done, index)));
        }
        let instance = &mut fleet.instances[index];
        instance.requests += 1;
        instance.busy_until = instance.busy_until.max(done);
        super::container::record_answer(&mut recorder, base, t, work, done, c.timeout, &mut fleet.in_flight);
    }
    fleet.advance(horizon);
    let lifetimes: Vec<(Duration, Option<Duration>)> = fleet
        .instances
        .iter()
        .map(|i| (i.launched, i.retired.map(|retired| retired.max(i.busy_until.min(horizon)))))
        .collect();
    let instance_seconds = lifetimes
        .iter()
        .map(|(launched, stopped)| stopped.unwrap_or(horizon).saturating_sub(*launched).as_secs_f64())
        .sum();
    let billed_instance_seconds = crate::cost::billed_instance_seconds(lifetimes.iter().copied(), horizon);
    let instances = fleet
        .instances
        .iter()
        .enumerate()
        .map(|(n, i)| InstanceReport {
            id: format!("simulated-{n}"),
            startup_ms: i.ready.saturating_sub(i.launched).as_secs_f64() * 1e3,
            requests: i.requests,
            ..InstanceReport::default()
        })
        .collect();
    let events = fleet.scaler.events().iter().map(|e| ScalingEventReport {
        at_s: e.at.as_secs_f64(),
        from: e.from,
        to: e.to,
        metric: e.metric,
    });
    let report = FleetReport {
        desired: fleet.scaler.desired() as usize,
        events: events.collect(),
        in_service_per_second: fleet.serving_per_second,
        instance_seconds,
        billed_instance_seconds,
        provision_delay_s: c.launches.provision_delay().as_secs_f64(),
        ..FleetReport::default()
    };
    AutoscaledFleet { measurement: recorder.finish(base + horizon), instances, fleet: report, queued, lifetimes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::scaling::Policy;

    fn fleet(policy: Policy, provision_delay_s: u64) -> AutoscaledContainer {
        AutoscaledContainer {
            initial: 1,
            scaling: ScalingConfig {
                min: 1,
                max: 10,
                metric: ScalingMetric::RequestsPerInstance,
                target: 10.0,
                policy,
            },
            slots: Some(4),
            launches: Launches::fargate(Duration::from_secs(provision_delay_s), Duration::ZERO),
            startup: Duration::from_millis(500),
            work: Durations::Fixed(Duration::from_millis(100)),
            timeout: Duration::from_secs(30),
            reject: false,
            seed: 1,
        }
    }

    /// `rate` requests a second, evenly spaced, for `seconds`.
    fn steady(rate: u64, seconds: u64) -> impl Iterator<Item = Duration> {
        (0..rate * seconds).map(move |i| Duration::from_secs_f64(i as f64 / rate as f64))
    }

    #[test]
    fn a_burst_waits_for_three_datapoints_and_the_provision_delay_then_the_fleet_catches_up() {
        // 35 req/s against 10 per instance on one instance of 4 × 100 ms slots (40 req/s at most).
        let c = fleet(Policy::target_tracking(), 60);
        let s = simulate_autoscaled(steady(35, 600), &c, Duration::from_secs(600));
        let out = s.fleet.events.first().expect("a scale-out");
        assert_eq!((out.at_s, out.from, out.to), (180.0, 1, 4), "{:?}", s.fleet.events);
        // Launched at 180 s, serving after the 60 s provision delay and 0.5 s start-up.
        assert_eq!(s.fleet.in_service_per_second[239], 1, "second 240 still one instance");
        assert_eq!(s.fleet.in_service_per_second[241], 4);
        assert_eq!(s.measurement.requests, 21_000);
        assert!(s.fleet.instance_seconds > 600.0 + 3.0 * 359.0, "{}", s.fleet.instance_seconds);
    }

    #[test]
    fn saturated_cpu_reads_at_most_100_percent_so_target_tracking_at_50_only_doubles() {
        // 200 req/s of 100 ms on 4 slots: 5 times what one instance can take, queued. Its CPU
        // reads 100 %, not 500 %: the first decision asks for 2, not 10.
        let mut c = fleet(Policy::hpa(), 30);
        c.scaling.metric = ScalingMetric::Cpu;
        c.scaling.target = 50.0;
        let s = simulate_autoscaled(steady(200, 20), &c, Duration::from_secs(20));
        let first = s.fleet.events.first().expect("it scales out");
        assert_eq!((first.from, first.to), (1, 2), "{:?}", s.fleet.events);
        assert!(first.metric <= 100.0, "{:?}", s.fleet.events);
    }

    #[test]
    fn a_saturated_instance_queues_until_help_arrives() {
        // 60 req/s on 4 slots of 100 ms (40 req/s): the queue grows until the scale-out serves.
        let c = fleet(Policy::hpa(), 30);
        let s = simulate_autoscaled(steady(60, 120), &c, Duration::from_secs(120));
        assert!(s.queued > 1_000, "{}", s.queued);
        let first = s.fleet.events.first().expect("the HPA scales out at its first sync");
        assert_eq!(first.at_s, 15.0);
        let latency = s.measurement.latency.unwrap();
        assert!(latency.max_us > 5_000_000, "requests waited seconds for the new instances: {latency:?}");
        assert!(*s.fleet.in_service_per_second.last().unwrap() >= 6, "{:?}", s.fleet.events);
    }

    #[test]
    fn scaled_in_instances_finish_their_requests_and_stop_taking_new_ones() {
        let c = AutoscaledContainer { initial: 5, ..fleet(Policy::target_tracking(), 0) };
        // 5 req/s: far under 10 per instance on 5 instances; after 15 datapoints, scale in to 1.
        let s = simulate_autoscaled(steady(5, 1_200), &c, Duration::from_secs(1_200));
        let scale_in = s.fleet.events.iter().find(|e| e.to < e.from).expect("a scale-in");
        assert_eq!(scale_in.at_s, 900.0);
        assert_eq!(scale_in.to, 1);
        assert_eq!(s.fleet.in_service_per_second[1_199], 1);
        assert_eq!(s.measurement.outcomes.ok, 6_000, "nothing lost on the way down");
    }

    #[test]
    fn without_slot_limits_requests_spread_over_the_instances_in_service() {
        let c = AutoscaledContainer { slots: None, initial: 2, ..fleet(Policy::hpa(), 10) };
        // 200 req/s for a minute against 10 per instance: the HPA adds instances every 15 s.
        let s = simulate_autoscaled(steady(200, 60), &c, Duration::from_secs(60));
        assert_eq!((s.queued, s.measurement.outcomes.ok), (0, 12_000), "nothing waits without slot limits");
        let served: Vec<u64> = s.instances.iter().map(|i| i.requests).collect();
        assert!(served[0] > 0 && served[1] > 0 && served.len() > 2, "{served:?}");
        let later: u64 = served[2..].iter().sum();
        assert!(later > 0, "launched instances took requests once ready: {served:?}");
        assert_eq!(s.fleet.events.first().map(|e| e.at_s), Some(15.0));
    }
}
