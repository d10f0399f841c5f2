//! What the demo function does: its Init (delay, memory) and the work kinds a request asks for.
//!
//! Both deployment models run exactly this code, so a comparison measures deployment, not code.
//! The work travels with each request as JSON; Init is configured through environment variables
//! because it runs before any request exists.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::workload::HumanDuration;

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
            Work::Cpu { .. } | Work::Alloc { .. } => Duration::from_millis(1),
            Work::Echo { .. } | Work::Fail { .. } | Work::Panic { .. } | Work::Exit { .. } => {
                Duration::from_micros(100)
            }
        }
    }

    /// Whether the work blocks a thread (and so must not run on an async executor thread).
    pub fn is_blocking(&self) -> bool {
        matches!(self, Work::Cpu { .. } | Work::Alloc { .. } | Work::Panic { .. } | Work::Exit { .. })
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
    }
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
    fn work_round_trips_through_the_request_body() {
        let cases = [
            Work::Sleep { duration: HumanDuration(Duration::from_millis(5)) },
            Work::Cpu { duration: None, rounds: Some(10) },
            Work::Alloc { memory_mb: 1 },
            Work::Echo { payload_bytes: 3 },
        ];
        for work in cases {
            assert_eq!(parse_request(&work.request_body()).unwrap(), work);
        }
    }

    #[test]
    fn echo_returns_the_body_and_cpu_counts_rounds() {
        let body = Work::Echo { payload_bytes: 4 }.request_body();
        assert_eq!(perform_blocking(&Work::Echo { payload_bytes: 4 }, &body), body);
        let out = perform_blocking(&Work::Cpu { duration: None, rounds: Some(7) }, b"");
        assert!(String::from_utf8(out).unwrap().contains("\"rounds\":7"));
    }

    #[test]
    fn empty_body_is_default_work_and_garbage_is_an_error() {
        assert_eq!(parse_request(b"").unwrap(), Work::default());
        assert!(parse_request(b"{\"kind\":\"dance\"}").unwrap_err().contains("dance"));
    }
}
