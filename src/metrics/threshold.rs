//! Thresholds, as k6 has them: pass/fail criteria on a run's figures (`p99 < 500ms`,
//! `error_rate < 1%`, `cost_per_month < $50`), for all targets or one. Pure data and its parser;
//! `analysis::thresholds` judges them against a report.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One criterion: `[target:]metric op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// The target it applies to; `None`: every target that has the figure.
    pub target: Option<String>,
    pub metric: Metric,
    pub op: Op,
    /// In the metric's base unit: µs, a share (0–1), US dollars, requests per second.
    pub limit: f64,
}

/// What a threshold looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// A latency percentile (from the intended send time): p50, p90, p99, p99.9, max.
    Latency(Percentile),
    /// Requests that did not end `ok`, of all requests.
    ErrorRate,
    /// Requests answered by a cold start, of all requests.
    ColdShare,
    CostPerMonth,
    CostPerMillion,
    /// Requests ended per second.
    Throughput,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Percentile {
    P50,
    P90,
    P99,
    P999,
    Max,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// Whether `actual` meets the criterion against `limit`.
    pub fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// The metrics' names, as thresholds spell them.
pub const METRICS: &str =
    "p50, p90, p99, p99.9, max, error_rate, cold_share, cost_per_month, cost_per_million, throughput";

impl Metric {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "p50" => Metric::Latency(Percentile::P50),
            "p90" => Metric::Latency(Percentile::P90),
            "p99" => Metric::Latency(Percentile::P99),
            "p99.9" | "p999" => Metric::Latency(Percentile::P999),
            "max" => Metric::Latency(Percentile::Max),
            "error_rate" => Metric::ErrorRate,
            "cold_share" => Metric::ColdShare,
            "cost_per_month" => Metric::CostPerMonth,
            "cost_per_million" => Metric::CostPerMillion,
            "throughput" => Metric::Throughput,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Latency(Percentile::P50) => "p50",
            Metric::Latency(Percentile::P90) => "p90",
            Metric::Latency(Percentile::P99) => "p99",
            Metric::Latency(Percentile::P999) => "p99.9",
            Metric::Latency(Percentile::Max) => "max",
            Metric::ErrorRate => "error_rate",
            Metric::ColdShare => "cold_share",
            Metric::CostPerMonth => "cost_per_month",
            Metric::CostPerMillion => "cost_per_million",
            Metric::Throughput => "throughput",
        }
    }

    /// A value in the metric's base unit, for people: `312ms`, `0.40%`, `$12.50`, `99.5/s`.
    pub fn show(self, value: f64) -> String {
        match self {
            Metric::Latency(_) => crate::units::format_us(value.max(0.0).round() as u64),
            Metric::ErrorRate | Metric::ColdShare => format!("{:.2}%", value * 100.0),
            Metric::CostPerMonth | Metric::CostPerMillion => format!("${value:.2}"),
            Metric::Throughput => crate::units::format_rate(value),
        }
    }

    /// A limit as written: a duration (`500ms`), a percentage or share (`1%`, `0.01`), dollars
    /// (`$50`, `50`), a rate (`100/s`, `100`).
    fn value(self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        let number = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0);
        let value = match self {
            Metric::Latency(_) => humantime::parse_duration(text.trim())
                .map(|d| d.as_secs_f64() * 1e6)
                .map_err(|_| format!("{text:?} is not a duration such as 500ms or 1.5s"))?,
            Metric::ErrorRate | Metric::ColdShare => match text.trim().strip_suffix('%') {
                Some(percent) => number(percent).map(|p| p / 100.0),
                None => number(text).filter(|v| *v <= 1.0),
            }
            .ok_or_else(|| format!("{text:?} is not a percentage such as 1% (or a share such as 0.01)"))?,
            Metric::CostPerMonth | Metric::CostPerMillion => number(text.trim().trim_start_matches('$'))
                .ok_or_else(|| format!("{text:?} is not an amount of dollars such as $50"))?,
            Metric::Throughput => number(text.trim().trim_end_matches("/s"))
                .ok_or_else(|| format!("{text:?} is not a rate such as 100/s"))?,
        };
        Ok(value)
    }
}

impl Threshold {
    /// Parses `[target:]metric op value`, e.g. `p99 < 500ms`, `function:cold_share<=5%`.
    ///
    /// # Errors
    /// Names what is wrong: an unknown metric (listing them), a missing or unknown comparison,
    /// a value in the wrong unit.
    pub fn parse(text: &str) -> Result<Self, String> {
        let at = text.find(['<', '>']).ok_or_else(|| {
            format!("{text:?} has no comparison: write metric < value, e.g. \"p99 < 500ms\" or \"error_rate <= 1%\"")
        })?;
        let (left, right) = text.split_at(at);
        let (op, value) = match right.as_bytes() {
            [b'<', b'=', ..] => (Op::Le, &right[2..]),
            [b'>', b'=', ..] => (Op::Ge, &right[2..]),
            [b'<', ..] => (Op::Lt, &right[1..]),
            _ => (Op::Gt, &right[1..]),
        };
        let left = left.trim();
        let (target, name) = match left.rsplit_once(':') {
            Some((target, name)) if !target.trim().is_empty() => (Some(target.trim().to_string()), name.trim()),
            _ => (None, left),
        };
        let metric =
            Metric::parse(name).ok_or_else(|| format!("{name:?} is not a threshold metric; use one of {METRICS}"))?;
        let limit = metric.value(value)?;
        Ok(Self { target, metric, op, limit })
    }
}

impl fmt::Display for Threshold {
    /// `function: p99 < 500ms`: the criterion as a person reads it (and parses it back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(target) = &self.target {
            write!(f, "{target}: ")?;
        }
        let limit = match self.metric {
            Metric::Latency(_) => {
                let us = self.limit.round() as u64;
                match us {
                    _ if us > 0 && us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
                    _ if us > 0 && us % 1_000 == 0 => format!("{}ms", us / 1_000),
                    _ => format!("{us}us"),
                }
            }
            Metric::ErrorRate | Metric::ColdShare => format!("{}%", self.limit * 100.0),
            Metric::CostPerMonth | Metric::CostPerMillion => format!("${}", self.limit),
            Metric::Throughput => format!("{}/s", self.limit),
        };
        write!(f, "{} {} {limit}", self.metric.name(), self.op.as_str())
    }
}

impl Serialize for Threshold {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Threshold::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// One threshold judged against one target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    pub target: String,
    /// The criterion as written.
    pub threshold: String,
    /// The figure in the metric's base unit (µs, share, dollars, requests per second); absent
    /// when the target has none (then the threshold fails).
    pub actual: Option<f64>,
    /// The figure for people.
    pub shown: String,
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_in_their_units_and_print_back() {
        let t = Threshold::parse("p99 < 500ms").unwrap();
        assert_eq!((t.target, t.metric, t.op, t.limit), (None, Metric::Latency(Percentile::P99), Op::Lt, 500_000.0));
        let t = Threshold::parse("function:cold_share<=5%").unwrap();
        assert_eq!((t.target.as_deref(), t.op, t.limit), (Some("function"), Op::Le, 0.05));
        assert_eq!(Threshold::parse("error_rate < 0.01").unwrap().limit, 0.01);
        assert_eq!(Threshold::parse("cost_per_month < $49.5").unwrap().limit, 49.5);
        assert_eq!(Threshold::parse("throughput >= 100/s").unwrap().op, Op::Ge);
        for text in ["p99 < 500ms", "function: cold_share <= 5%", "cost_per_month < $49.5", "throughput >= 100/s"] {
            let t = Threshold::parse(text).unwrap();
            assert_eq!(Threshold::parse(&t.to_string()).unwrap(), t, "{text} → {t}");
        }
        assert!(Threshold::parse("p98 < 1s").unwrap_err().contains("use one of p50"));
        assert!(Threshold::parse("p99 500ms").unwrap_err().contains("has no comparison"));
        assert!(Threshold::parse("p99 < fast").unwrap_err().contains("not a duration"));
        assert!(Threshold::parse("error_rate < 150").unwrap_err().contains("not a percentage"));
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0) && Op::Le.holds(2.0, 2.0));
    }
}
