//! What the bundled demo function is asked to do: its Init (delay, memory) and the work kinds a
//! request carries. Plain descriptions, read from the workload; `function` performs them.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HumanDuration;

/// Environment variable carrying the Init delay (a human duration such as `"200ms"`).
pub const ENV_INIT_DELAY: &str = "COLDBENCH_INIT_DELAY";
/// Environment variable carrying how many MiB Init touches.
pub const ENV_INIT_MEMORY_MB: &str = "COLDBENCH_INIT_MEMORY_MB";

/// The function's start-up work: models loading dependencies and warming caches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Init {
    /// Time spent before the function is ready.
    #[serde(default)]
    pub delay: HumanDuration,
    /// MiB of memory allocated and touched during Init, and kept for the instance's lifetime.
    #[serde(default)]
    pub memory_mb: u64,
}

impl Init {
    /// The environment variables that carry this Init to a function process.
    pub fn to_env(&self) -> Vec<(String, String)> {
        vec![
            (ENV_INIT_DELAY.to_string(), self.delay.to_string()),
            (ENV_INIT_MEMORY_MB.to_string(), self.memory_mb.to_string()),
        ]
    }
}

/// One request's work, chosen by the workload and carried in the request body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Work {
    /// Wait without using CPU (an I/O-bound handler).
    Sleep { duration: HumanDuration },
    /// Hash in a loop for a duration or a number of rounds (a CPU-bound handler).
    Cpu {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<HumanDuration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rounds: Option<u64>,
    },
    /// Allocate and touch memory, then free it.
    Alloc { memory_mb: u64 },
    /// Return the request body unchanged; the workload chooses its size.
    Echo {
        #[serde(default)]
        payload_bytes: usize,
    },
    /// Fault injection: the handler returns an error (HTTP mode: status 500).
    Fail {
        #[serde(default = "default_failure")]
        message: String,
    },
    /// Fault injection: the handler panics.
    Panic {
        #[serde(default = "default_failure")]
        message: String,
    },
    /// Fault injection: the process exits with `code` in the middle of the request.
    Exit { code: i32 },
    /// Look a key up in the instance's own cache (state per instance, kept while it lives).
    Cache(CacheWork),
}

/// The `cache` work kind: each request draws a key from a Zipf distribution over `keys` (rank 1
/// the most popular), looks it up in an LRU of `capacity` entries held by the instance, and
/// costs `hit` or `miss` (then the key is stored). An instance draws its keys with `seed` mixed
/// with its own identity, so runs repeat and instances differ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheWork {
    pub keys: u64,
    pub capacity: usize,
    /// The Zipf exponent: 0 draws every key alike; about 1 is typical of web caches.
    #[serde(default = "default_zipf")]
    pub zipf: f64,
    pub hit: HumanDuration,
    pub miss: HumanDuration,
    /// How a hit or miss costs its time: `sleep` (waiting on a store) or `cpu` (computing).
    #[serde(default)]
    pub cost: CacheCost,
    /// Default: the workload's seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// How the `cache` work spends a hit's or a miss's time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheCost {
    #[default]
    Sleep,
    Cpu,
}

fn default_zipf() -> f64 {
    1.0
}

fn default_failure() -> String {
    "handler failed on purpose".to_string()
}

impl Default for Work {
    fn default() -> Self {
        Work::Sleep { duration: HumanDuration(Duration::from_millis(1)) }
    }
}

impl Work {
    /// The request body that asks the demo function for this work.
    pub fn request_body(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).expect("work serializes to JSON");
        if let Work::Echo { payload_bytes } = self {
            value["payload"] = serde_json::Value::String("x".repeat(*payload_bytes));
        }
        serde_json::to_vec(&value).expect("JSON value serializes")
    }

    /// How long the work nominally takes, for the simulator: the duration it is given, else a
    /// small nominal cost.
    pub fn nominal_duration(&self) -> Duration {
        match self {
            Work::Sleep { duration } | Work::Cpu { duration: Some(duration), .. } => duration.0,
            // Unused: `simulate` takes cache work only calibrated from a measured run.
            Work::Cache(cache) => cache.miss.0,
            Work::Cpu { .. } | Work::Alloc { .. } => Duration::from_millis(1),
            Work::Echo { .. } | Work::Fail { .. } | Work::Panic { .. } | Work::Exit { .. } => {
                Duration::from_micros(100)
            }
        }
    }
}

/// Parses a request body into work. An empty body means the default work.
///
/// # Errors
/// Returns serde's message when the body is not a work request.
pub fn parse_request(body: &[u8]) -> Result<Work, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Work::default());
    }
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if let Some(object) = value.as_object_mut() {
        object.remove("payload");
    }
    serde_json::from_value(value).map_err(|e| format!("body is not a work request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_round_trips_through_the_request_body() {
        let cases = [
            Work::Sleep { duration: HumanDuration(Duration::from_millis(5)) },
            Work::Cpu { duration: None, rounds: Some(10) },
            Work::Alloc { memory_mb: 1 },
            Work::Echo { payload_bytes: 3 },
            Work::Cache(CacheWork {
                keys: 100,
                capacity: 10,
                zipf: 1.1,
                hit: HumanDuration(Duration::from_millis(1)),
                miss: HumanDuration(Duration::from_millis(20)),
                cost: CacheCost::Cpu,
                seed: Some(7),
            }),
        ];
        for work in cases {
            assert_eq!(parse_request(&work.request_body()).unwrap(), work);
        }
    }

    #[test]
    fn empty_body_is_default_work_and_garbage_is_an_error() {
        assert_eq!(parse_request(b"").unwrap(), Work::default());
        assert!(parse_request(b"{\"kind\":\"dance\"}").unwrap_err().contains("dance"));
    }
}
