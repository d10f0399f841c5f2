//! What the demo function does: its Init (delay, memory) and the work kinds a request asks for.
//!
//! Both deployment models run exactly this code, so a comparison measures deployment, not code.
//! The work travels with each request as JSON; Init is configured through environment variables
//! because it runs before any request exists.

use std::time::{Duration, Instant};

use crate::workload::{HumanDuration, Init, Work, ENV_INIT_DELAY, ENV_INIT_MEMORY_MB};

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
    fn echo_returns_the_body_and_cpu_counts_rounds() {
        let body = Work::Echo { payload_bytes: 4 }.request_body();
        assert_eq!(perform_blocking(&Work::Echo { payload_bytes: 4 }, &body), body);
        let out = perform_blocking(&Work::Cpu { duration: None, rounds: Some(7) }, b"");
        assert!(String::from_utf8(out).unwrap().contains("\"rounds\":7"));
    }
}
