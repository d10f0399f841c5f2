//! The pool policy's behaviour, clock given by hand.

use super::*;

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn pool(config: PoolConfig) -> Pool {
    Pool::new(config, Duration::ZERO)
}

#[test]
fn sequential_invocations_reuse_one_warm_instance() {
    let mut p = pool(PoolConfig::default());
    assert_eq!(p.acquire(s(0)), Decision::Cold(0));
    assert_eq!(p.release(0, s(1)), None);
    assert_eq!(p.acquire(s(2)), Decision::Warm(0));
    assert_eq!(p.stats().started, 1);
}

#[test]
fn concurrent_invocations_start_cold_instances() {
    let mut p = pool(PoolConfig::default());
    assert_eq!(p.acquire(s(0)), Decision::Cold(0));
    assert_eq!(p.acquire(s(0)), Decision::Cold(1));
    assert_eq!(p.alive(), 2);
    assert_eq!(p.stats().peak_alive, 2);
}

#[test]
fn mru_and_lru_pick_different_idle_instances() {
    for (reuse, expected) in [(Reuse::Mru, 1), (Reuse::Lru, 0)] {
        let mut p = pool(PoolConfig { reuse, ..PoolConfig::default() });
        p.acquire(s(0));
        p.acquire(s(0));
        p.release(0, s(1));
        p.release(1, s(2));
        assert_eq!(p.acquire(s(3)), Decision::Warm(expected), "{reuse:?}");
    }
}

#[test]
fn throttles_exactly_at_the_concurrency_cap() {
    let mut p = pool(PoolConfig { max_concurrency: 3, ..PoolConfig::default() });
    let decisions: Vec<_> = (0..5).map(|_| p.acquire(s(0))).collect();
    assert_eq!(&decisions[..3], &[Decision::Cold(0), Decision::Cold(1), Decision::Cold(2)]);
    assert_eq!(&decisions[3..], &[Decision::Throttle(ThrottleReason::ConcurrencyLimit); 2]);
    assert_eq!(p.stats().throttled, 2);
    p.release(1, s(1));
    assert_eq!(p.acquire(s(1)), Decision::Warm(1));
}

#[test]
fn token_bucket_limits_scale_out_and_refills_continuously() {
    let mut p = pool(PoolConfig { scale_burst: 2, scale_rate_per_s: 0.5, ..PoolConfig::default() });
    assert!(matches!(p.acquire(s(0)), Decision::Cold(_)));
    assert!(matches!(p.acquire(s(0)), Decision::Cold(_)));
    assert_eq!(p.acquire(s(0)), Decision::Throttle(ThrottleReason::ScalingRate));
    // Half a token per second: one more start after 2 s, not after 1 s.
    assert_eq!(p.acquire(s(1)), Decision::Throttle(ThrottleReason::ScalingRate));
    assert!(matches!(p.acquire(s(2)), Decision::Cold(_)));
    assert_eq!(p.acquire(s(2)), Decision::Throttle(ThrottleReason::ScalingRate));
    // Unused rate does not accumulate past the burst.
    assert!(matches!(p.acquire(s(1_000)), Decision::Cold(_)));
    assert!(matches!(p.acquire(s(1_000)), Decision::Cold(_)));
    assert_eq!(p.acquire(s(1_000)), Decision::Throttle(ThrottleReason::ScalingRate));
}

#[test]
fn evicts_at_exactly_keep_alive() {
    let mut p = pool(PoolConfig { keep_alive: KeepAlive::Fixed { idle: s(600) }, ..PoolConfig::default() });
    p.acquire(s(0));
    p.release(0, s(10));
    assert_eq!(p.next_eviction(), Some(s(610)));
    assert!(p.evict(s(610) - Duration::from_nanos(1)).is_empty());
    assert_eq!(p.evict(s(610)), vec![(0, Eviction::Idle)]);
    assert_eq!(p.acquire(s(611)), Decision::Cold(1));
    assert_eq!(p.stats().evicted_idle, 1);
}

#[test]
fn busy_instances_are_never_evicted_for_idleness() {
    let mut p = pool(PoolConfig { keep_alive: KeepAlive::Fixed { idle: s(1) }, ..PoolConfig::default() });
    p.acquire(s(0));
    assert!(p.evict(s(100)).is_empty());
    assert_eq!(p.next_eviction(), None);
}

#[test]
fn instances_are_recycled_after_their_lifetime() {
    let mut p = pool(PoolConfig { max_lifetime: Some(s(7_200)), ..PoolConfig::default() });
    p.acquire(s(0));
    assert_eq!(p.release(0, s(7_000)), None);
    assert_eq!(p.acquire(s(7_100)), Decision::Warm(0));
    // Still busy at 7,200 s; retired as soon as it finishes.
    assert_eq!(p.release(0, s(7_201)), Some(Eviction::Lifetime));
    assert_eq!(p.alive(), 0);
    // An idle one reaching its lifetime before its keep-alive is evicted as such...
    p.acquire(s(7_300));
    p.release(1, s(14_300));
    assert_eq!(p.evict(s(7_300 + 7_200)), vec![(1, Eviction::Lifetime)]);
    // ... and one whose keep-alive ran out first is an idle eviction, however late the call.
    p.acquire(s(20_000));
    p.release(2, s(20_001));
    assert_eq!(p.evict(s(40_000)), vec![(2, Eviction::Idle)]);
}

#[test]
fn lifetime_can_be_off() {
    let mut p = pool(PoolConfig { max_lifetime: None, ..PoolConfig::default() });
    p.acquire(s(0));
    assert_eq!(p.release(0, s(1_000_000)), None);
}

#[test]
fn provisioned_instances_serve_warm_and_are_never_evicted_for_idleness() {
    let mut p = pool(PoolConfig { provisioned: 2, max_lifetime: None, ..PoolConfig::default() });
    let ids = p.start_provisioned(s(0));
    assert_eq!(ids, vec![0, 1]);
    for id in &ids {
        p.release(*id, s(1));
    }
    assert!(p.evict(s(100_000)).is_empty());
    assert!(matches!(p.acquire(s(100_000)), Decision::Warm(_)));
    assert!(matches!(p.acquire(s(100_000)), Decision::Warm(_)));
    assert_eq!(p.acquire(s(100_000)), Decision::Cold(2));
    assert!(p.is_provisioned(0) && !p.is_provisioned(2));
}

#[test]
fn provisioned_instances_serve_before_on_demand_ones_and_are_not_recycled() {
    let mut p = pool(PoolConfig { provisioned: 1, ..PoolConfig::default() });
    let provisioned = p.start_provisioned(s(0))[0];
    p.release(provisioned, s(0));
    // A spill-over on-demand instance becomes idle after the provisioned one (MRU would pick it).
    assert_eq!(p.acquire(s(1)), Decision::Warm(provisioned));
    let on_demand = match p.acquire(s(1)) {
        Decision::Cold(id) => id,
        other => panic!("{other:?}"),
    };
    p.release(provisioned, s(2));
    p.release(on_demand, s(3));
    assert_eq!(p.acquire(s(4)), Decision::Warm(provisioned));
    // Past the 2 h lifetime the on-demand instance is recycled, the provisioned one is not.
    p.release(provisioned, s(5));
    assert_eq!(p.evict(s(7_300)), vec![(on_demand, Eviction::Idle)]);
    assert_eq!(p.acquire(s(9_000)), Decision::Warm(provisioned));
    assert_eq!(p.release(provisioned, s(9_001)), None, "not recycled past the lifetime");
    assert!(p.evict(s(100_000)).is_empty());
}

#[test]
fn jittered_keep_alive_is_seeded_and_within_bounds() {
    let config = PoolConfig {
        keep_alive: KeepAlive::Jittered { idle: s(600), jitter: s(60) },
        seed: 9,
        ..PoolConfig::default()
    };
    let draws = |config: &PoolConfig| {
        let mut p = pool(config.clone());
        (0..20)
            .map(|i| {
                let t = s(i * 10_000);
                p.evict(t);
                let Decision::Cold(id) = p.acquire(t) else { panic!() };
                p.release(id, t);
                p.next_eviction().unwrap() - t
            })
            .collect::<Vec<_>>()
    };
    let a = draws(&config);
    assert_eq!(a, draws(&config));
    assert!(a.iter().all(|d| *d >= s(540) && *d <= s(660)));
    assert!(a.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn the_hybrid_keep_alive_unloads_a_periodic_function_and_prewarms_it_before_it_returns() {
    let mut p = pool(PoolConfig {
        keep_alive: KeepAlive::Hybrid { fallback: s(600) },
        max_lifetime: None,
        ..PoolConfig::default()
    });
    let every = s(900);
    let mut t = Duration::ZERO;
    // Learning: 15-minute gaps outlive the 10-minute fallback, so each arrival is cold.
    for _ in 0..=hybrid::MIN_IDLE_TIMES {
        p.evict(t);
        let Decision::Cold(id) = p.acquire(t) else { panic!("cold while learning at {t:?}") };
        assert_eq!(p.next_prewarm(), None);
        let eviction = p.release(id, t + s(1));
        t += every;
        if eviction.is_some() {
            break;
        }
    }
    // Learned: the instance was unloaded at once and a pre-warm planned at 90 % of the idle
    // times' 5th percentile bin (899 s idle: minute 14, so 12.6 min).
    let planned = p.next_prewarm().expect("a pre-warm is planned");
    assert_eq!(planned, t - every + s(1) + s(756));
    assert_eq!(p.prewarm(planned - s(1)), None, "not due yet");
    let id = p.prewarm(planned).expect("due");
    assert_eq!(p.release(id, planned + s(2)), None);
    // The next arrival finds it warm; counters say what happened.
    assert_eq!(p.acquire(t), Decision::Warm(id));
    assert_eq!(p.stats().prewarmed, 1);
    assert_eq!(p.stats().evicted_idle, u64::from(hybrid::MIN_IDLE_TIMES) + 1);
}

#[test]
fn a_prewarm_is_superseded_by_an_earlier_arrival() {
    let mut p = pool(PoolConfig {
        keep_alive: KeepAlive::Hybrid { fallback: s(60) },
        max_lifetime: None,
        ..PoolConfig::default()
    });
    let mut t = Duration::ZERO;
    while p.next_prewarm().is_none() {
        p.evict(t);
        let (Decision::Cold(id) | Decision::Warm(id)) = p.acquire(t) else { panic!("throttled") };
        p.release(id, t);
        t += s(600);
        assert!(t < s(600 * 20), "the policy never learned");
    }
    let planned = p.next_prewarm().unwrap();
    assert!(matches!(p.acquire(planned - s(30)), Decision::Cold(_)));
    assert_eq!(p.next_prewarm(), None);
    assert_eq!(p.prewarm(planned), None);
}

#[test]
fn a_deploy_stops_idle_environments_drains_busy_ones_and_every_next_invocation_is_cold() {
    let mut p = pool(PoolConfig::default());
    let (a, b) = (p.acquire(s(0)), p.acquire(s(0)));
    let (Decision::Cold(a), Decision::Cold(b)) = (a, b) else { panic!("two cold starts") };
    assert_eq!(p.release(a, s(1)), None, "a is idle, b still busy");
    assert_eq!(p.deploy(s(2)), vec![a], "the idle environment of the old version stops at once");
    assert_eq!(p.draining(), 1, "b finishes its invocation first");
    // New invocations never reach the old version: each starts a new environment.
    let Decision::Cold(c) = p.acquire(s(3)) else { panic!("cold after the deploy") };
    assert_eq!(p.release(b, s(4)), Some(Eviction::Deployed), "b leaves once its invocation ends");
    assert_eq!((p.draining(), p.alive()), (0, 1));
    assert_eq!(p.release(c, s(5)), None);
    assert_eq!(p.acquire(s(6)), Decision::Warm(c), "the new version's environments are reused");
    assert_eq!(p.stats().replaced_by_deploy, 2);
}

#[test]
fn multi_request_instances_fill_after_init_and_idle_when_their_last_request_ends() {
    let mut p = pool(PoolConfig { per_instance: 3, ..PoolConfig::default() });
    assert_eq!(p.acquire(s(0)), Decision::Cold(0));
    // Still in its Init: it takes nothing else yet.
    assert_eq!(p.acquire(s(0)), Decision::Cold(1));
    p.ready(0);
    assert_eq!(p.acquire(s(1)), Decision::Warm(0));
    assert_eq!(p.acquire(s(1)), Decision::Warm(0));
    // Full at three: the next goes to the other one, once it is ready.
    p.ready(1);
    assert_eq!(p.acquire(s(1)), Decision::Warm(1));
    assert_eq!(p.release(0, s(2)), None);
    assert!(!p.is_idle(0), "two of its requests still run");
    assert_eq!(p.acquire(s(2)), Decision::Warm(0), "the oldest with room first");
    for _ in 0..3 {
        p.release(0, s(3));
    }
    assert!(p.is_idle(0));
    assert_eq!(p.idle(), 1);
    assert_eq!(p.stats().started, 2);
    // The busy one fills up (it has two of three), then the idle one takes requests again.
    assert_eq!(p.acquire(s(4)), Decision::Warm(1));
    assert_eq!(p.acquire(s(4)), Decision::Warm(0));
    assert_eq!(p.acquire(s(4)), Decision::Warm(0));
}

#[test]
fn one_request_per_instance_ignores_readiness() {
    let mut p = pool(PoolConfig::default());
    assert_eq!(p.acquire(s(0)), Decision::Cold(0));
    p.ready(0);
    assert_eq!(p.acquire(s(0)), Decision::Cold(1), "busy: classic Lambda serves one at a time");
}

#[test]
fn a_deploy_drains_multi_request_instances() {
    let mut p = pool(PoolConfig { per_instance: 4, ..PoolConfig::default() });
    p.acquire(s(0));
    p.ready(0);
    assert_eq!(p.acquire(s(0)), Decision::Warm(0));
    assert!(p.deploy(s(1)).is_empty(), "busy: it drains");
    assert_eq!(p.acquire(s(1)), Decision::Cold(1), "the new version's instance");
    assert_eq!(p.release(0, s(2)), None, "one request left on the old one");
    assert_eq!(p.acquire(s(2)), Decision::Cold(2), "the old instance takes nothing new");
    assert_eq!(p.release(0, s(3)), Some(Eviction::Deployed));
}

#[test]
fn lifetimes_add_up_instances_from_start_to_stop() {
    let mut p = pool(PoolConfig { keep_alive: KeepAlive::Fixed { idle: s(10) }, ..PoolConfig::default() });
    p.acquire(s(0));
    p.acquire(s(0));
    p.release(0, s(2));
    p.release(1, s(5));
    // Instance 0 is evicted at 12 s; instance 1 still alive at 13 s.
    p.evict(s(13));
    assert_eq!(p.stats().lifetimes, s(12));
    assert_eq!(p.lifetimes_until(s(13)), s(25));
}
