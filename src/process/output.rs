//! A child's output: drained as bytes for the process's whole life, split into lines capped at
//! Lambda's log-event size, the last lines kept for error messages, every line sent to a sink.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::lambda;

/// Where a child's output lines go besides the tail (e.g. a function log).
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Lines of output kept for error messages.
const TAIL_LINES: usize = 20;

/// The last lines a process wrote to stdout and stderr.
#[derive(Debug, Default)]
pub struct Tail {
    pub(super) lines: VecDeque<String>,
    /// Output streams still being read (they reach their end after the process exits).
    pub(super) open: usize,
}

impl Tail {
    pub(super) fn push(&mut self, line: String) {
        if self.lines.len() == TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The kept lines, joined; `(no output)` when there were none.
    pub fn text(&self) -> String {
        if self.lines.is_empty() {
            "(no output)".to_string()
        } else {
            self.lines.iter().cloned().collect::<Vec<_>>().join("\n")
        }
    }
}

/// Drains a process's output for its whole life: bytes, not text, so that no byte it writes can
/// end the reading (and leave the process writing into a closed pipe). Lines are decoded lossily
/// and capped at [`lambda::MAX_LOG_LINE_BYTES`]; a read error or end of file ends the drain.
pub(super) async fn keep_tail(mut stream: impl AsyncRead + Unpin, tail: Arc<Mutex<Tail>>, sink: Option<LineSink>) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut lines = LineSplitter::default();
    let mut emit = |line: String| {
        if let Some(sink) = &sink {
            sink(&line);
        }
        tail.lock().expect("tail lock").push(line);
    };
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => lines.feed(&chunk[..n], &mut emit),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    lines.finish(&mut emit);
    let mut tail = tail.lock().expect("tail lock");
    tail.open = tail.open.saturating_sub(1);
}

/// Splits output into lines of at most [`lambda::MAX_LOG_LINE_BYTES`] (longer ones are cut and
/// marked, as Lambda truncates a log event), decoding invalid UTF-8 as U+FFFD.
#[derive(Default)]
struct LineSplitter {
    line: Vec<u8>,
    truncated: bool,
}

/// Appended to a line cut at the limit.
const TRUNCATED: &str = " [truncated by coldbench: line longer than 256 KiB]";

impl LineSplitter {
    fn feed(&mut self, mut bytes: &[u8], emit: &mut impl FnMut(String)) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let part = &bytes[..newline.unwrap_or(bytes.len())];
            let room = lambda::MAX_LOG_LINE_BYTES - self.line.len();
            self.truncated |= part.len() > room;
            self.line.extend_from_slice(&part[..part.len().min(room)]);
            bytes = &bytes[part.len() + usize::from(newline.is_some())..];
            if newline.is_some() {
                emit(self.take());
            }
        }
    }

    /// The last line, when the output ended without a newline.
    fn finish(&mut self, emit: &mut impl FnMut(String)) {
        if !self.line.is_empty() || self.truncated {
            emit(self.take());
        }
    }

    fn take(&mut self) -> String {
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        let mut line = String::from_utf8_lossy(&self.line).into_owned();
        if std::mem::take(&mut self.truncated) {
            line.push_str(TRUNCATED);
        }
        self.line.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::process::{GroupChild, Placement};

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        let mut lines = LineSplitter::default();
        for chunk in chunks {
            lines.feed(chunk, &mut |l| out.push(l));
        }
        lines.finish(&mut |l| out.push(l));
        out
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily_and_reading_goes_on() {
        assert_eq!(split(&[b"caf\xe9\nnext line\r\n", b"last"]), ["caf\u{fffd}", "next line", "last"]);
        // A multi-byte character split across reads is kept whole.
        assert_eq!(split(&["é".as_bytes()[..1].as_ref(), &"é\n".as_bytes()[1..]]), ["é"]);
    }

    #[test]
    fn a_line_past_the_limit_is_cut_marked_and_the_rest_dropped() {
        let long = vec![b'x'; lambda::MAX_LOG_LINE_BYTES + 10_000];
        let out = split(&[&long[..100_000], &long[100_000..], b"\nafter\n"]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len());
        assert!(out[0].ends_with(TRUNCATED));
        assert_eq!(out[1], "after");
    }

    #[tokio::test]
    async fn a_10_mb_line_without_a_newline_is_kept_only_up_to_the_limit() {
        let seen = Arc::new(Mutex::new(Vec::<usize>::new()));
        let sink = Arc::clone(&seen);
        let sink: LineSink = Arc::new(move |line: &str| sink.lock().unwrap().push(line.len()));
        let script = "head -c 10485760 /dev/zero | tr '\\0' x; printf 'after'".to_string();
        let mut child = GroupChild::spawn_with_sink(
            &["sh".into(), "-c".into(), script],
            &[],
            false,
            Some(sink),
            Placement::default(),
        )
        .unwrap();
        let started = std::time::Instant::now();
        while seen.lock().unwrap().is_empty() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.stop(Duration::from_secs(1)).await;
        // One line, cut at 256 KiB: all coldbench ever held of the 10 MB (the last, unterminated
        // "after" joins it and is past the limit too).
        assert_eq!(*seen.lock().unwrap(), [lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len()]);
        assert!(child.tail().len() <= lambda::MAX_LOG_LINE_BYTES + TRUNCATED.len());
    }
}
