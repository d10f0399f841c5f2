//! How long and how much a run or simulation may be: refused before anything starts.

use super::ArrivalProcess;

/// The longest horizon a run or simulation takes: ten years.
const MAX_HORIZON: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 86_400);
/// The most requests one target's schedule may hold: at the load generator's ~100k a second
/// that is almost three hours of sending; a simulation of more is a cost question (`coldbench
/// cost`) or a trace replay, not a run.
const MAX_REQUESTS: f64 = 1e9;

/// Refuses a horizon of zero or of more than ten years.
pub(super) fn check_horizon(horizon: std::time::Duration) -> Result<(), String> {
    if horizon.is_zero() {
        return Err("must be greater than 0".into());
    }
    if horizon > MAX_HORIZON {
        return Err(format!("must be at most 10 years (3650d), got {}", super::HumanDuration(horizon)));
    }
    Ok(())
}

/// Refuses traffic that holds more than [`MAX_REQUESTS`] over the horizon (`rate = 1e9` for a
/// second would run for hours before saying anything).
pub(super) fn check_volume(horizon: std::time::Duration, arrivals: &ArrivalProcess) -> Result<(), String> {
    let expected = arrivals.expected_requests(horizon);
    if expected > MAX_REQUESTS {
        return Err(format!(
            "the traffic holds about {} requests over {}, more than {} a target can send or simulate; shorten the \
             duration or lower the rate (coldbench cost prices a volume without running it)",
            crate::units::format_count(expected),
            super::HumanDuration(horizon),
            crate::units::format_count(MAX_REQUESTS)
        ));
    }
    Ok(())
}
