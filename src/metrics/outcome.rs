//! The one outcome every request ends in, and their counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How one request ended. Every request sent ends in exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A response with status below 400 and no function error.
    Ok,
    /// A response with a 4xx/5xx status other than 429.
    HttpError(u16),
    /// The load balancer's own answer, not the target's: 502 (the instance broke the exchange or
    /// sent an invalid response), 503 (no instance in service, or every one at its
    /// `max_concurrency` with `overflow = "reject"`), 504 (no answer within the idle timeout). Recognised by the balancer's `Server` header, as ALB's are (`awselb/2.0`).
    BalancerError(u16),
    /// HTTP 429: the platform refused the request (throttled).
    Throttled,
    /// The response carries `X-Amz-Function-Error`: the function itself failed.
    FunctionError,
    /// No complete response within the per-request timeout.
    Timeout,
    /// The TCP connection could not be made.
    ConnectError,
    /// coldbench itself, or the host, failed the request: its own open-file limit, a process it
    /// could not start for lack of resources. Not the target's doing.
    HostError,
    /// Anything else: the connection broke mid-request, a malformed response, or the run was
    /// interrupted while the request was in flight.
    Other,
}

impl Outcome {
    /// The outcome as a metric label: results.json's key, with the status for HTTP errors
    /// (`ok`, `http_503`, `balancer_502`, `throttled`, `function_error`, …).
    pub fn label(self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::HttpError(status) => format!("http_{status}"),
            Outcome::BalancerError(status) => format!("balancer_{status}"),
            Outcome::Throttled => "throttled".into(),
            Outcome::FunctionError => "function_error".into(),
            Outcome::Timeout => "timeout".into(),
            Outcome::ConnectError => "connect_error".into(),
            Outcome::HostError => "host_error".into(),
            Outcome::Other => "other".into(),
        }
    }

    /// Whether a response was received (its latency is meaningful).
    pub fn has_response(self) -> bool {
        matches!(
            self,
            Outcome::Ok
                | Outcome::HttpError(_)
                | Outcome::BalancerError(_)
                | Outcome::Throttled
                | Outcome::FunctionError
        )
    }
}

/// Counts per outcome; [`OutcomeCounts::total`] always equals the requests sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub ok: u64,
    /// HTTP errors by status code.
    pub http_error: BTreeMap<u16, u64>,
    /// The load balancer's own error answers by status code (502, 503, 504).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub balancer_error: BTreeMap<u16, u64>,
    pub throttled: u64,
    pub function_error: u64,
    pub timeout: u64,
    pub connect_error: u64,
    /// Failed by coldbench's own limits or the host's, not by the target.
    #[serde(default)]
    pub host_error: u64,
    pub other: u64,
}

impl OutcomeCounts {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::HttpError(status) => *self.http_error.entry(status).or_default() += 1,
            Outcome::BalancerError(status) => *self.balancer_error.entry(status).or_default() += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::FunctionError => self.function_error += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::ConnectError => self.connect_error += 1,
            Outcome::HostError => self.host_error += 1,
            Outcome::Other => self.other += 1,
        }
    }

    /// Requests that did not end `ok`.
    pub fn errors(&self) -> u64 {
        self.total() - self.ok
    }

    /// All requests counted.
    pub fn total(&self) -> u64 {
        self.ok
            + self.http_error.values().sum::<u64>()
            + self.balancer_error.values().sum::<u64>()
            + self.throttled
            + self.function_error
            + self.timeout
            + self.connect_error
            + self.host_error
            + self.other
    }

    /// Adds another set of counts into this one.
    pub fn merge(&mut self, other: &OutcomeCounts) {
        self.ok += other.ok;
        for (status, n) in &other.http_error {
            *self.http_error.entry(*status).or_default() += n;
        }
        for (status, n) in &other.balancer_error {
            *self.balancer_error.entry(*status).or_default() += n;
        }
        self.throttled += other.throttled;
        self.function_error += other.function_error;
        self.timeout += other.timeout;
        self.connect_error += other.connect_error;
        self.host_error += other.host_error;
        self.other += other.other;
    }

    /// Non-zero error kinds as `(label, count)`, for tables.
    pub fn error_kinds(&self) -> Vec<(String, u64)> {
        let mut kinds: Vec<(String, u64)> = self.http_error.iter().map(|(s, n)| (format!("http {s}"), *n)).collect();
        kinds.extend(self.balancer_error.iter().map(|(s, n)| (balancer_label(*s), *n)));
        for (label, n) in [
            ("throttled", self.throttled),
            ("function error", self.function_error),
            ("timeout", self.timeout),
            ("connect error", self.connect_error),
            ("host error (coldbench's own limits)", self.host_error),
            ("other", self.other),
        ] {
            if n > 0 {
                kinds.push((label.to_string(), n));
            }
        }
        kinds
    }
}

/// "balancer 503 (no instance in service or free)", for tables.
fn balancer_label(status: u16) -> String {
    let why = match status {
        502 => " (broken or invalid response)",
        503 => " (no instance in service or free)",
        504 => " (idle timeout)",
        _ => "",
    };
    format!("balancer {status}{why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_is_counted_once() {
        let mut counts = OutcomeCounts::default();
        let all = [
            Outcome::Ok,
            Outcome::HttpError(500),
            Outcome::HttpError(500),
            Outcome::HttpError(404),
            Outcome::BalancerError(502),
            Outcome::Throttled,
            Outcome::FunctionError,
            Outcome::Timeout,
            Outcome::ConnectError,
            Outcome::HostError,
            Outcome::Other,
        ];
        for o in all {
            counts.add(o);
        }
        assert_eq!(counts.total(), all.len() as u64);
        assert_eq!(counts.errors(), all.len() as u64 - 1);
        assert_eq!(counts.http_error[&500], 2);
        assert_eq!(counts.error_kinds().len(), 9);
        assert_eq!(counts.error_kinds()[2], ("balancer 502 (broken or invalid response)".to_string(), 1));
    }
}
