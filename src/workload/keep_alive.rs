//! `keep_alive`: how long an idle function instance is kept, as the workload file and the
//! command line write it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::HumanDuration;
use crate::lambda;

/// `"10m"` (fixed), `"exponential:10m"` (memoryless, with this mean), `"hybrid"` or
/// `"hybrid:20m"` (the adaptive histogram policy with this fixed fallback; 10 min by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAliveSetting {
    Fixed(Duration),
    Exponential(Duration),
    Hybrid(Duration),
}

impl Default for KeepAliveSetting {
    fn default() -> Self {
        KeepAliveSetting::Fixed(lambda::DEFAULT_KEEP_ALIVE)
    }
}

impl KeepAliveSetting {
    /// Parses a setting; the error says which forms are accepted.
    ///
    /// # Errors
    /// Text that is none of the forms above.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let duration = |d: &str| HumanDuration::parse(d).map(|d| d.0);
        if let Some(rest) = text.strip_prefix("hybrid") {
            return match rest.strip_prefix(':') {
                Some(d) => duration(d).map(KeepAliveSetting::Hybrid),
                None if rest.is_empty() => Ok(KeepAliveSetting::Hybrid(lambda::DEFAULT_KEEP_ALIVE)),
                None => Err("write hybrid or hybrid:<fallback keep-alive>".to_string()),
            };
        }
        if let Some(mean) = text.strip_prefix("exponential:") {
            return duration(mean).map(KeepAliveSetting::Exponential);
        }
        duration(text)
            .map(KeepAliveSetting::Fixed)
            .map_err(|e| format!("{e} (a keep-alive like 10m, exponential:<mean>, hybrid or hybrid:<fallback>)"))
    }
}

impl fmt::Display for KeepAliveSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeepAliveSetting::Fixed(d) => write!(f, "{}", HumanDuration(d)),
            KeepAliveSetting::Exponential(d) => write!(f, "exponential:{}", HumanDuration(d)),
            KeepAliveSetting::Hybrid(d) => write!(f, "hybrid:{}", HumanDuration(d)),
        }
    }
}

impl Serialize for KeepAliveSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeepAliveSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Named here: serde loses the field's name inside a target's tagged enum.
        KeepAliveSetting::parse(&text).map_err(|e| serde::de::Error::custom(format!("keep_alive: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        let min = |m: u64| Duration::from_secs(60 * m);
        for (text, setting) in [
            ("10m", KeepAliveSetting::Fixed(min(10))),
            ("exponential:5m", KeepAliveSetting::Exponential(min(5))),
            ("hybrid", KeepAliveSetting::Hybrid(min(10))),
            ("hybrid:4h", KeepAliveSetting::Hybrid(min(240))),
        ] {
            assert_eq!(KeepAliveSetting::parse(text), Ok(setting), "{text}");
            assert_eq!(KeepAliveSetting::parse(&setting.to_string()), Ok(setting), "{setting}");
        }
        let err = KeepAliveSetting::parse("forever").unwrap_err();
        assert!(err.contains("hybrid"), "{err}");
        assert!(KeepAliveSetting::parse("hybrid-ish").is_err());
    }
}
