//! Progress bars on stderr while a load runs (off when stderr is not a terminal, or `--quiet`):
//! the requests done against the schedule, the achieved rate against the scheduled one, elapsed
//! and ETA, the last second's p99, cold starts and errors so far. A load of a known duration
//! without a known count (a closed loop with `-d`) gets a bar of its time, not a spinner.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

use crate::loadgen::Live;
use crate::units::{format_rate, format_us};

/// How often the bar is refreshed.
const TICK: Duration = Duration::from_millis(100);

/// What a load is planned to be, as far as it is known before it starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Planned {
    /// Requests the schedule sends.
    pub requests: Option<u64>,
    /// How long the load runs.
    pub duration: Option<Duration>,
}

/// A progress bar fed from the load generator's live counters.
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a bar labelled `label` when `enabled` and stderr is a terminal.
    pub fn start(label: &str, planned: Planned, live: Arc<Live>, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Self { bar: None, ticker: None };
        }
        let scheduled = match (planned.requests, planned.duration) {
            (Some(n), Some(d)) if !d.is_zero() => Some(n as f64 / d.as_secs_f64()),
            _ => None,
        };
        let by_time = planned.requests.is_none() && planned.duration.is_some();
        let bar = match (planned.requests, planned.duration) {
            (Some(n), _) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:24}] {pos}/{len} {msg} ({elapsed}, ETA {eta})")
                    .expect("valid template")
                    .progress_chars("=> "),
            ),
            (None, Some(d)) => ProgressBar::new(d.as_millis() as u64).with_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:24}] {msg} ({elapsed} of {len_s})")
                    .expect("valid template")
                    .with_key("len_s", move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}s", state.len().unwrap_or(0) / 1000);
                    })
                    .progress_chars("=> "),
            ),
            (None, None) => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>12} {spinner} {msg} ({elapsed})").expect("valid template"),
            ),
        };
        bar.set_prefix(label.to_string());
        let ticking = bar.clone();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                let done = live.done.load(Ordering::Relaxed);
                let elapsed = started.elapsed().as_secs_f64();
                ticking.set_position(if by_time { (elapsed * 1e3) as u64 } else { done });
                let achieved = if elapsed > 0.0 { format_rate(done as f64 / elapsed) } else { "-".into() };
                let rate = match scheduled {
                    Some(s) => format!("{achieved} of {}", format_rate(s)),
                    None => achieved,
                };
                let p99 = match live.recent_p99_us.load(Ordering::Relaxed) {
                    0 => "-".to_string(),
                    us => format_us(us),
                };
                let count =
                    if by_time || planned.requests.is_none() { format!("{done} done, ") } else { String::new() };
                ticking.set_message(format!(
                    "{count}{rate} · p99 {p99} · cold {} · errors {} · in flight {}",
                    live.cold.load(Ordering::Relaxed),
                    live.errors.load(Ordering::Relaxed),
                    live.in_flight.load(Ordering::Relaxed)
                ));
                tokio::time::sleep(TICK).await;
            }
        });
        Self { bar: Some(bar), ticker: Some(ticker) }
    }

    /// Removes the bar.
    pub fn finish(self) {
        if let Some(ticker) = self.ticker {
            ticker.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
