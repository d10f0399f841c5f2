//! Human-readable durations (`"150ms"`, `"10m"`) for workload files and the function's wire format.
//!
//! A thin newtype over [`std::time::Duration`] so serde reads and writes the same strings a person
//! types; it does no arithmetic of its own.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A [`Duration`] that is written and read as a human string such as `"250ms"` or `"1h 30m"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// Parses `"10s"`, `"1.5s"`, `"250ms"`, `"2h 5m"`, `"0s"`.
    ///
    /// # Errors
    /// Returns a message naming the text when it is not a duration with units.
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if let Some(seconds) = parse_fractional_seconds(trimmed) {
            return Ok(Self(seconds));
        }
        humantime::parse_duration(trimmed)
            .map(Self)
            .map_err(|err| format!("invalid duration {text:?} ({err}); write it like \"250ms\", \"10s\" or \"5m\""))
    }
}

/// `humantime` rejects `"1.5s"`; accept a decimal number of seconds or milliseconds as well.
fn parse_fractional_seconds(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    if !number.contains('.') {
        return None;
    }
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value * scale))
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::units::format_duration(self.0))
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(HumanDuration::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(HumanDuration::parse("1.5s").unwrap().0, Duration::from_millis(1500));
        assert_eq!(HumanDuration::parse("2m").unwrap().0, Duration::from_secs(120));
        assert_eq!(HumanDuration::parse("0s").unwrap().0, Duration::ZERO);
    }

    #[test]
    fn rejects_numbers_without_units_and_names_the_text() {
        let err = HumanDuration::parse("ten").unwrap_err();
        assert!(err.contains("\"ten\""), "{err}");
        assert!(HumanDuration::parse("10").is_err());
        assert!(HumanDuration::parse("-1s").is_err());
    }

    #[test]
    fn round_trips_through_display() {
        for text in ["5ms", "1s 500ms", "10m", "0s"] {
            let d = HumanDuration::parse(text).unwrap();
            assert_eq!(HumanDuration::parse(&d.to_string()).unwrap(), d);
        }
    }
}
