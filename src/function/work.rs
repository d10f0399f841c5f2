//! What the demo function does: its Init (delay, memory) and the work kinds a request asks for.
//!
//! Both deployment models run exactly this code, so a comparison measures deployment, not code.
//! The work travels with each request as JSON; Init is configured through environment variables
//! because it runs before any request exists.

use std::time::{Duration, Instant};

use std::num::NonZeroUsize;
use std::sync::Mutex;

use rand::SeedableRng;
use rand_distr::Distribution;

use crate::workload::{CacheCost, CacheWork, HumanDuration, Init, Work, ENV_INIT_DELAY, ENV_INIT_MEMORY_MB};

impl Init {
    /// Reads the Init from the process environment; missing variables mean no Init work.
    ///
    /// # Errors
    /// Names the variable whose value cannot be parsed.
    pub fn from_env() -> anyhow::Result<Self> {
        let delay = match std::env::var(ENV_INIT_DELAY) {
            Ok(text) => HumanDuration::parse(&text).map_err(|e| anyhow::anyhow!("{ENV_INIT_DELAY}: {e}"))?,
            Err(_) => HumanDuration::default(),
        };
        let memory_mb = match std::env::var(ENV_INIT_MEMORY_MB) {
            Ok(text) => text
                .parse()
                .map_err(|_| anyhow::anyhow!("{ENV_INIT_MEMORY_MB}: not a whole number of MiB: {text:?}"))?,
            Err(_) => 0,
        };
        Ok(Self { delay, memory_mb })
    }

    /// Runs Init and returns the memory it keeps alive.
    pub fn perform(&self) -> Vec<u8> {
        std::thread::sleep(self.delay.0);
        touch_memory(self.memory_mb)
    }
}

/// Does blocking work on the current thread and returns the response body.
/// `Sleep` is done with a thread sleep here; async callers should sleep themselves instead.
pub fn perform_blocking(work: &Work, request_body: &[u8]) -> Vec<u8> {
    match work {
        Work::Sleep { duration } => {
            std::thread::sleep(duration.0);
            b"{\"ok\":true}".to_vec()
        }
        Work::Cpu { duration, rounds } => {
            let (digest, done) = hash_rounds(duration.map(|d| d.0), *rounds);
            format!("{{\"ok\":true,\"rounds\":{done},\"digest\":\"{digest:016x}\"}}").into_bytes()
        }
        Work::Alloc { memory_mb } => {
            let touched = touch_memory(*memory_mb);
            let sum: u64 = touched.iter().step_by(PAGE).map(|&b| u64::from(b)).sum();
            format!("{{\"ok\":true,\"touched_mb\":{memory_mb},\"check\":{sum}}}").into_bytes()
        }
        Work::Echo { .. } => request_body.to_vec(),
        Work::Fail { message } => format!("{{\"error\":{}}}", serde_json::Value::from(message.as_str())).into_bytes(),
        Work::Panic { message } => panic!("{message}"),
        Work::Exit { code } => std::process::exit(*code),
        Work::Cache(cache) => {
            let lookup = cache.look_up();
            spend_blocking(cache.cost, lookup.cost);
            lookup.body()
        }
    }
}

/// One request of the `cache` work: its key, whether the instance had it, and its cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub key: u64,
    pub hit: bool,
    pub cost: Duration,
}

impl Lookup {
    /// The response body.
    pub fn body(&self) -> Vec<u8> {
        format!("{{\"ok\":true,\"key\":{},\"cache\":\"{}\"}}", self.key, self.verdict()).into_bytes()
    }

    /// `hit` or `miss`, as the `x-coldbench-cache` header says it.
    pub fn verdict(&self) -> &'static str {
        if self.hit {
            "hit"
        } else {
            "miss"
        }
    }
}

/// An instance's cache: its key stream and its LRU, made at its first cache request.
struct InstanceCache {
    work: CacheWork,
    keys: rand_distr::Zipf<f64>,
    rng: rand_chacha::ChaCha8Rng,
    lru: lru::LruCache<u64, ()>,
}

/// This process's cache: one per instance, as a server's in-process cache is.
static CACHE: Mutex<Option<InstanceCache>> = Mutex::new(None);

/// Spends a cache lookup's time on this thread.
fn spend_blocking(cost: CacheCost, time: Duration) {
    match cost {
        CacheCost::Sleep => std::thread::sleep(time),
        CacheCost::Cpu => drop(hash_rounds(Some(time), None)),
    }
}

impl CacheWork {
    /// Serves one request: the lookup, then its time, waited without a thread (`sleep`) or
    /// computed on a blocking thread (`cpu`).
    ///
    /// # Errors
    /// When the blocking thread panicked.
    pub async fn serve(&self) -> Result<Lookup, tokio::task::JoinError> {
        let lookup = self.look_up();
        match self.cost {
            CacheCost::Sleep => crate::time::timer::sleep_precisely(lookup.cost).await,
            CacheCost::Cpu => tokio::task::spawn_blocking(move || spend_blocking(CacheCost::Cpu, lookup.cost)).await?,
        }
        Ok(lookup)
    }

    /// Draws this request's key and looks it up in the instance's cache, storing it on a miss.
    /// A request with other settings than the cache was made with starts a new, empty one.
    pub fn look_up(&self) -> Lookup {
        let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.as_ref().is_none_or(|c| c.work != *self) {
            *cache = Some(InstanceCache::new(self));
        }
        let cache = cache.as_mut().expect("made above");
        let key = cache.keys.sample(&mut cache.rng) as u64;
        let hit = cache.lru.get(&key).is_some();
        if !hit {
            cache.lru.put(key, ());
        }
        Lookup { key, hit, cost: if hit { self.hit.0 } else { self.miss.0 } }
    }
}

impl InstanceCache {
    fn new(work: &CacheWork) -> Self {
        // Validation keeps keys ≥ 1, capacity ≥ 1 and the exponent finite and ≥ 0.
        let keys = rand_distr::Zipf::new(work.keys as f64, work.zipf).expect("validated Zipf parameters");
        let seed = work.seed.unwrap_or(0) ^ mix(instance_identity());
        Self {
            work: work.clone(),
            keys,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(seed),
            lru: lru::LruCache::new(NonZeroUsize::new(work.capacity).unwrap_or(NonZeroUsize::MIN)),
        }
    }
}

/// What tells this instance from the others, hashed: a container instance's
/// `COLDBENCH_INSTANCE`, a function instance's log stream (one per execution environment, as
/// on Lambda), else the process id.
fn instance_identity() -> u64 {
    let name = std::env::var("COLDBENCH_INSTANCE")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_STREAM_NAME"))
        .unwrap_or_else(|_| std::process::id().to_string());
    let mut hasher = fnv::FnvHasher::default();
    std::hash::Hasher::write(&mut hasher, name.as_bytes());
    std::hash::Hasher::finish(&hasher)
}

const PAGE: usize = 4096;

/// Allocates `mb` MiB and writes one byte per page so the memory is really resident.
pub fn touch_memory(mb: u64) -> Vec<u8> {
    let len = usize::try_from(mb).unwrap_or(usize::MAX / 2).saturating_mul(1 << 20);
    let mut buffer = vec![0u8; len];
    for (i, byte) in buffer.iter_mut().enumerate().step_by(PAGE) {
        *byte = (i / PAGE) as u8 | 1;
    }
    std::hint::black_box(&buffer);
    buffer
}

/// Rounds checked between clock reads when hashing for a duration.
const ROUNDS_PER_CLOCK_READ: u64 = 1024;
/// Rounds done when neither a duration nor a count is given.
const DEFAULT_ROUNDS: u64 = 100_000;

/// Mixes a 64-bit state (splitmix64 finalizer) until the duration passes or the rounds are done.
fn hash_rounds(duration: Option<Duration>, rounds: Option<u64>) -> (u64, u64) {
    let started = Instant::now();
    let limit = rounds.unwrap_or(if duration.is_some() { u64::MAX } else { DEFAULT_ROUNDS });
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut done = 0u64;
    while done < limit {
        state = mix(state.wrapping_add(done));
        done += 1;
        if done % ROUNDS_PER_CLOCK_READ == 0 && duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    (std::hint::black_box(state), done)
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_hits_the_popular_keys_it_holds_and_forgets_the_least_recent() {
        let work = |capacity: usize, zipf: f64| CacheWork {
            keys: 1_000,
            capacity,
            zipf,
            hit: HumanDuration(Duration::from_millis(1)),
            miss: HumanDuration(Duration::from_millis(30)),
            cost: CacheCost::Sleep,
            seed: Some(5),
        };
        let ratio = |w: &CacheWork| {
            let lookups: Vec<Lookup> = (0..5_000).map(|_| w.look_up()).collect();
            assert!(lookups.iter().all(|l| (1..=1_000).contains(&l.key)), "keys are ranks 1..=1000");
            assert!(lookups.iter().all(|l| l.cost == if l.hit { w.hit.0 } else { w.miss.0 }));
            lookups.iter().filter(|l| l.hit).count() as f64 / lookups.len() as f64
        };
        // One test owns the process's cache: each setting starts an empty one.
        let (skewed, uniform, tiny) = (ratio(&work(100, 1.0)), ratio(&work(100, 0.0)), ratio(&work(1, 1.0)));
        // Zipf(1) over 1,000 keys: the top 100 draw about 0.69 of requests, of which an LRU of 100
        // keeps most (about 0.56–0.6 seen: the seed mixes in the test process's id, so each run
        // draws differently); uniform, a tenth.
        assert!((0.5..0.8).contains(&skewed), "{skewed}");
        assert!((0.05..0.15).contains(&uniform), "{uniform}");
        assert!(tiny < 0.2, "one entry holds only the last key: {tiny}");
        let first = work(100, 1.0).look_up();
        assert!(!first.hit, "a new cache starts empty");
        assert_eq!(
            String::from_utf8(first.body()).unwrap(),
            format!("{{\"ok\":true,\"key\":{},\"cache\":\"{}\"}}", first.key, first.verdict())
        );
    }

    #[test]
    fn echo_returns_the_body_and_cpu_counts_rounds() {
        let body = Work::Echo { payload_bytes: 4 }.request_body();
        assert_eq!(perform_blocking(&Work::Echo { payload_bytes: 4 }, &body), body);
        let out = perform_blocking(&Work::Cpu { duration: None, rounds: Some(7) }, b"");
        assert!(String::from_utf8(out).unwrap().contains("\"rounds\":7"));
    }
}
