//! Where each request's time went, split as k6 splits it (`docs/reference/
//! web-apps-endpoints-and-scale.md` §2): connecting (TCP), TLS handshaking, sending, waiting
//! (time to first byte) and receiving, each an HDR histogram, with new and reused connections
//! counted. A request on a reused connection has no connecting or TLS time: only new connections
//! pay them, which is what makes a cold path that opens connections visible.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::histogram::{encode, new_histogram, record_us, Summary};

/// A connect this long or longer waited for at least one SYN retry: Linux resends an unanswered
/// SYN after 1 s (then 3 s), which is what a full accept backlog costs a new connection.
pub const SYN_RETRY: Duration = Duration::from_millis(900);

/// How one request's time was spent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// TCP connect, when the request opened a connection.
    pub connecting: Option<Duration>,
    /// TLS handshake, when it opened a TLS connection.
    pub tls: Option<Duration>,
    /// Writing the request, where it can be seen: on HTTP/1.1 (one request at a time on its
    /// connection). On a multiplexed HTTP/2 connection it is part of `waiting`.
    pub sending: Option<Duration>,
    /// Request written → first byte of the response (time to first byte).
    pub waiting: Duration,
    /// First byte → last byte of the response.
    pub receiving: Duration,
    /// Sent over HTTP/2.
    pub http2: bool,
}

impl Phases {
    /// Whether the request went out on a connection opened for it.
    pub fn new_connection(&self) -> bool {
        self.connecting.is_some()
    }
}

/// Collects [`Phases`] into histograms.
#[derive(Debug)]
pub(super) struct PhaseRecorder {
    connecting: Histogram<u64>,
    tls: Histogram<u64>,
    sending: Histogram<u64>,
    waiting: Histogram<u64>,
    receiving: Histogram<u64>,
    new: u64,
    reused: u64,
    slow_connects: u64,
    http2: u64,
}

impl PhaseRecorder {
    pub fn new() -> Self {
        Self {
            connecting: new_histogram(),
            tls: new_histogram(),
            sending: new_histogram(),
            waiting: new_histogram(),
            receiving: new_histogram(),
            new: 0,
            reused: 0,
            slow_connects: 0,
            http2: 0,
        }
    }

    /// Records one request's phases. A connect that failed still counts its time (and as new).
    pub fn record(&mut self, phases: &Phases, answered: bool) {
        match phases.connecting {
            Some(connecting) => {
                self.new += 1;
                record_us(&mut self.connecting, connecting);
                if connecting >= SYN_RETRY {
                    self.slow_connects += 1;
                }
            }
            None => self.reused += 1,
        }
        if let Some(tls) = phases.tls {
            record_us(&mut self.tls, tls);
        }
        self.http2 += u64::from(phases.http2);
        if answered {
            if let Some(sending) = phases.sending {
                record_us(&mut self.sending, sending);
            }
            record_us(&mut self.waiting, phases.waiting);
            record_us(&mut self.receiving, phases.receiving);
        }
    }

    /// The report's view; `None` when no request carried phases (a simulation).
    pub fn finish(&self) -> Option<PhaseReport> {
        (self.new + self.reused > 0).then(|| PhaseReport {
            connections_new: self.new,
            connections_reused: self.reused,
            slow_connects: self.slow_connects,
            http2: self.http2,
            connecting: Summary::of(&self.connecting),
            tls_handshaking: Summary::of(&self.tls),
            sending: Summary::of(&self.sending),
            waiting: Summary::of(&self.waiting),
            receiving: Summary::of(&self.receiving),
            histograms: PhaseHistograms {
                connecting: encode(&self.connecting),
                tls_handshaking: encode(&self.tls),
                sending: encode(&self.sending),
                waiting: encode(&self.waiting),
                receiving: encode(&self.receiving),
            },
        })
    }
}

/// Requests' time split into phases, over a whole load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseReport {
    /// Requests that opened a connection (including connects that failed) ...
    pub connections_new: u64,
    /// ... and requests sent on a kept-alive one.
    pub connections_reused: u64,
    /// Connects that took [`SYN_RETRY`] or longer: their SYN was resent, as when the target's
    /// accept backlog is full.
    pub slow_connects: u64,
    /// Requests sent over HTTP/2 (the rest over HTTP/1.1).
    pub http2: u64,
    pub connecting: Option<Summary>,
    pub tls_handshaking: Option<Summary>,
    pub sending: Option<Summary>,
    /// Time to first byte.
    pub waiting: Option<Summary>,
    pub receiving: Option<Summary>,
    /// Each phase's histogram, encoded as the others are.
    pub histograms: PhaseHistograms,
}

/// The phases' histograms (base64 of compressed HdrHistogram V2).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseHistograms {
    pub connecting: String,
    pub tls_handshaking: String,
    pub sending: String,
    pub waiting: String,
    pub receiving: String,
}

impl PhaseReport {
    /// The phases' names, in request order.
    pub const NAMES: [&'static str; 5] = ["connecting", "TLS handshaking", "sending", "waiting (TTFB)", "receiving"];

    /// The phases by name, in request order, with their summaries and encoded histograms.
    pub fn named(&self) -> [(&'static str, Option<&Summary>, &str); 5] {
        let h = &self.histograms;
        let [c, t, s, w, r] = Self::NAMES;
        [
            (c, self.connecting.as_ref(), h.connecting.as_str()),
            (t, self.tls_handshaking.as_ref(), h.tls_handshaking.as_str()),
            (s, self.sending.as_ref(), h.sending.as_str()),
            (w, self.waiting.as_ref(), h.waiting.as_str()),
            (r, self.receiving.as_ref(), h.receiving.as_str()),
        ]
    }

    /// What the split says about the tail, in words, when connects waited for SYN retries:
    /// their second is connect time, not the target's service time.
    pub fn connect_note(&self) -> Option<String> {
        let connecting = self.connecting.as_ref().filter(|_| self.slow_connects > 0)?;
        Some(format!(
            "{} of {} new connections took ≥ {:.1} s to connect (connect p99 {:.3} s, max {:.3} s): their SYN went \
             unanswered and was resent after 1 s, as when the target's accept backlog is full (a frozen or overloaded \
             server); that second is connect time, not the target's service time, and it is in those requests' latency",
            self.slow_connects,
            self.connections_new,
            SYN_RETRY.as_secs_f64(),
            connecting.p99_us as f64 / 1e6,
            connecting.max_us as f64 / 1e6,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_reused_connections_are_counted_and_slow_connects_named() {
        let mut r = PhaseRecorder::new();
        let ms = Duration::from_millis;
        let fresh = Phases {
            connecting: Some(ms(1)),
            tls: Some(ms(3)),
            sending: Some(ms(0)),
            waiting: ms(5),
            receiving: ms(1),
            http2: false,
        };
        r.record(&fresh, true);
        r.record(&Phases { connecting: None, tls: None, ..fresh }, true);
        r.record(&Phases { connecting: Some(ms(1_020)), tls: None, ..fresh }, true);
        // A connect that failed: its time counts, nothing after it.
        r.record(&Phases { connecting: Some(ms(2)), ..Phases::default() }, false);
        let report = r.finish().unwrap();
        assert_eq!((report.connections_new, report.connections_reused, report.slow_connects), (3, 1, 1));
        assert_eq!(report.connecting.as_ref().unwrap().count, 3);
        assert_eq!(report.tls_handshaking.as_ref().unwrap().count, 1);
        assert_eq!(report.waiting.as_ref().unwrap().count, 3);
        let note = report.connect_note().unwrap();
        assert!(note.starts_with("1 of 3 new connections took ≥ 0.9 s to connect"), "{note}");
        assert!(PhaseRecorder::new().finish().is_none());
    }
}
