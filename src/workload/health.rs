//! A container target's `health_check = { … }`: the load balancer's checks of each instance, with
//! an ALB target group's defaults and ranges (`docs/reference/resources-and-autoscaling.md` §4,
//! elasticloadbalancing target-group-health-checks).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::HumanDuration;

/// How the balancer checks an instance: `GET path` every `interval`, an answer within `timeout`
/// whose status `matcher` accepts passing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// `false`: no checks; an instance is in service once it accepts connections.
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_path")]
    pub path: String,
    /// ALB's `HealthCheckIntervalSeconds`: 30 s, 5 s to 300 s.
    #[serde(default = "default_interval")]
    pub interval: HumanDuration,
    /// ALB's `HealthCheckTimeoutSeconds`: 5 s, 2 s to 120 s, shorter than the interval.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Consecutive passes that bring an unhealthy instance back: 5, 2 to 10.
    #[serde(default = "default_healthy")]
    pub healthy_threshold: u32,
    /// Consecutive failures that take an instance out of service: 2, 2 to 10.
    #[serde(default = "default_unhealthy")]
    pub unhealthy_threshold: u32,
    /// The statuses that pass, in ALB's syntax: `"200"`, `"200,202"`, `"200-299"` (200 to 499).
    #[serde(default = "default_matcher")]
    pub matcher: String,
}

impl Default for HealthCheckSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            path: default_path(),
            interval: default_interval(),
            timeout: default_timeout(),
            healthy_threshold: default_healthy(),
            unhealthy_threshold: default_unhealthy(),
            matcher: default_matcher(),
        }
    }
}

impl HealthCheckSpec {
    /// Refuses values outside ALB's ranges, with the field (`path`, `interval`, …) and why.
    ///
    /// # Errors
    /// `(field, message)` for the first bad setting.
    pub fn check(&self) -> Result<(), (String, String)> {
        let bad = |field: &str, message: String| Err((field.to_string(), message));
        if !self.path.starts_with('/') || self.path.len() > 1024 || self.path.parse::<http::Uri>().is_err() {
            return bad("path", format!("must be a path from / (at most 1,024 characters), got {:?}", self.path));
        }
        let seconds = |d: Duration| d.as_secs_f64();
        if !(5.0..=300.0).contains(&seconds(self.interval.0)) {
            return bad("interval", format!("must be 5s to 300s (an ALB's range), got {}", self.interval));
        }
        if !(2.0..=120.0).contains(&seconds(self.timeout.0)) {
            return bad("timeout", format!("must be 2s to 120s (an ALB's range), got {}", self.timeout));
        }
        if self.timeout.0 >= self.interval.0 {
            return bad("timeout", format!("must be shorter than interval ({}), got {}", self.interval, self.timeout));
        }
        for (field, n) in
            [("healthy_threshold", self.healthy_threshold), ("unhealthy_threshold", self.unhealthy_threshold)]
        {
            if !(2..=10).contains(&n) {
                return bad(field, format!("must be 2 to 10 (an ALB's range), got {n}"));
            }
        }
        parse_matcher(&self.matcher).map(|_| ()).map_err(|m| ("matcher".to_string(), m))
    }

    /// The statuses that pass, as inclusive ranges.
    pub fn statuses(&self) -> Vec<(u16, u16)> {
        parse_matcher(&self.matcher).unwrap_or_default()
    }
}

/// `"200"`, `"200,202"`, `"200-299"`: ALB's `HttpCode`, each code 200 to 499.
fn parse_matcher(text: &str) -> Result<Vec<(u16, u16)>, String> {
    status_ranges(text, 200..=499, "ALB's matcher: \"200\", \"200,202\" or \"200-299\"")
}

/// Status codes and inclusive ranges, comma-separated (`"500,502-504"`), each within `allowed`;
/// an error names the bad part, the allowed span and `hint`.
///
/// # Errors
/// A part that is not a status within `allowed`, or a range from high to low.
pub fn status_ranges(
    text: &str,
    allowed: std::ops::RangeInclusive<u16>,
    hint: &str,
) -> Result<Vec<(u16, u16)>, String> {
    let code = |s: &str| -> Result<u16, String> {
        match s.trim().parse::<u16>() {
            Ok(c) if allowed.contains(&c) => Ok(c),
            _ => {
                Err(format!("{s:?} in {text:?} is not a status from {} to {} ({hint})", allowed.start(), allowed.end()))
            }
        }
    };
    text.split(',')
        .map(|part| match part.split_once('-') {
            Some((low, high)) => {
                let (low, high) = (code(low)?, code(high)?);
                if low > high {
                    return Err(format!("{part:?} in {text:?} is a range from high to low"));
                }
                Ok((low, high))
            }
            None => code(part).map(|c| (c, c)),
        })
        .collect()
}

fn yes() -> bool {
    true
}
fn default_path() -> String {
    "/".into()
}
fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}
fn default_healthy() -> u32 {
    5
}
fn default_unhealthy() -> u32 {
    2
}
fn default_matcher() -> String {
    "200".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_albs_and_the_matcher_reads_albs_syntax() {
        let spec = HealthCheckSpec::default();
        assert_eq!((spec.interval.0.as_secs(), spec.timeout.0.as_secs()), (30, 5));
        assert_eq!((spec.healthy_threshold, spec.unhealthy_threshold), (5, 2));
        assert_eq!(spec.statuses(), [(200, 200)]);
        assert_eq!(parse_matcher("200,202-204").unwrap(), [(200, 200), (202, 204)]);
        assert!(spec.check().is_ok());
    }

    #[test]
    fn values_outside_albs_ranges_name_their_field() {
        let with = |f: &dyn Fn(&mut HealthCheckSpec)| {
            let mut spec = HealthCheckSpec::default();
            f(&mut spec);
            spec.check().unwrap_err()
        };
        assert_eq!(with(&|s| s.interval = HumanDuration(Duration::from_secs(1))).0, "interval");
        assert_eq!(with(&|s| s.timeout = HumanDuration(Duration::from_secs(30))).0, "timeout");
        assert_eq!(with(&|s| s.unhealthy_threshold = 1).0, "unhealthy_threshold");
        assert_eq!(with(&|s| s.path = "health".into()).0, "path");
        let (field, message) = with(&|s| s.matcher = "200-600".into());
        assert_eq!(field, "matcher");
        assert!(message.contains("\"600\""), "{message}");
        assert_eq!(with(&|s| s.matcher = "299-200".into()).0, "matcher");
    }
}
