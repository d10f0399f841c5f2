//! HDR histogram helpers: the one way coldbench builds, summarises and encodes histograms.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Significant digits kept by every histogram.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// A new auto-resizing histogram of microseconds with three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is a valid histogram");
    h.auto(true);
    h
}

/// Records a duration in microseconds (at least 1 µs, so a sub-microsecond sample is not lost
/// below the histogram's lowest bucket).
pub fn record_us(h: &mut Histogram<u64>, d: std::time::Duration) {
    let us = d.as_secs().saturating_mul(1_000_000).saturating_add(u64::from(d.subsec_micros())).max(1);
    h.record(us).expect("auto-resizing histograms accept any value");
}

/// Encodes a histogram as base64 of the compressed HdrHistogram V2 format (what `.hlog` files hold).
pub fn encode(h: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut bytes).expect("serializing to memory cannot fail");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes what [`encode`] wrote.
///
/// # Errors
/// When the text is not base64 of a V2 (compressed or not) histogram.
pub fn decode(text: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
    let mut h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow::anyhow!("not an HdrHistogram: {e:?}"))?;
    h.auto(true);
    Ok(h)
}

/// The numbers a report shows for one distribution, in microseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub min_us: u64,
    pub mean_us: f64,
    pub stdev_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Summary {
    /// Summarises a histogram; `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| Self {
            count: h.len(),
            min_us: h.min(),
            mean_us: h.mean(),
            stdev_us: h.stdev(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn encode_decode_round_trip_keeps_every_count() {
        let mut h = new_histogram();
        for us in [1, 10, 100, 1_000, 1_000_000, 60_000_000] {
            record_us(&mut h, Duration::from_micros(us));
        }
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(Summary::of(&back).unwrap().count, 6);
    }

    #[test]
    fn empty_histogram_has_no_summary() {
        assert!(Summary::of(&new_histogram()).is_none());
    }
}

/// Serde for a histogram field as [`encode`]d text: `#[serde(with = "histogram::encoded")]`.
pub mod encoded {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the histogram as base64 of compressed HdrHistogram V2.
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(h: &Histogram<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::encode(h))
    }

    /// Reads what [`serialize`] wrote.
    ///
    /// # Errors
    /// When the text is not an encoded histogram.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Histogram<u64>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::decode(&text).map_err(serde::de::Error::custom)
    }
}
