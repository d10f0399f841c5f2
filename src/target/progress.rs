//! Progress bars on stderr while a load runs (off when stderr is not a terminal, or `--quiet`).

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

use crate::loadgen::Live;

/// How often the bar is refreshed.
const TICK: Duration = Duration::from_millis(100);

/// A progress bar fed from the load generator's live counters.
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts a bar labelled `label` when `enabled` and stderr is a terminal. `expected` is the
    /// number of requests the plan is expected to send, when known.
    pub fn start(label: &str, expected: Option<u64>, live: Arc<Live>, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Self { bar: None, ticker: None };
        }
        let bar = match expected {
            Some(n) => ProgressBar::new(n).with_style(
                ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                    .expect("valid template")
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>12} {spinner} {pos} requests {msg} ({elapsed})")
                    .expect("valid template"),
            ),
        };
        bar.set_prefix(label.to_string());
        let ticking = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                ticking.set_position(live.done.load(Ordering::Relaxed));
                ticking.set_message(format!(
                    "errors {} in flight {}",
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
