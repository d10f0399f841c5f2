//! Time: the run's clock (real time plus skipped idle time), a precise timer, and UTC now.
//!
//! The ground floor: nothing here knows about targets, requests or reports.

pub mod clock;
pub mod timer;

pub use clock::Clock;

/// UTC now as RFC 3339 with seconds, e.g. `2026-11-27T15:43:00Z`.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
