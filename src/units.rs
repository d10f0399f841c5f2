//! Numbers for people: microseconds, counts with separators, spans of time.
//!
//! Shared by every layer that writes words (analysis bases, reports, the terminal).

/// Formats microseconds for people: `850µs`, `12.3ms`, `1.25s`.
pub fn format_us(us: u64) -> String {
    match us {
        0..1_000 => format!("{us}µs"),
        1_000..1_000_000 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.3}s", us as f64 / 1e6),
    }
}

/// Whole numbers with thousands separators: `5000000.0` → `5,000,000`.
pub fn format_count(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate for people, in the unit that keeps it readable: `52.2/s`, `3.5/min` for a sparse run,
/// `4.2/h` for a sparser one (100 requests a day are 0.0/s, but 4.2/h).
pub fn format_rate(per_second: f64) -> String {
    if per_second == 0.0 || per_second >= 1.0 {
        format!("{per_second:.1}/s")
    } else if per_second * 60.0 >= 1.0 {
        format!("{:.1}/min", per_second * 60.0)
    } else {
        format!("{:.1}/h", per_second * 3600.0)
    }
}

/// A span of time for people: "1d 2h 5m", "3m 20s", "4.25 s".
pub fn format_span(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.2} s");
    }
    let total = seconds.round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60);
    let parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..(first + 3).min(4)].iter().map(|(n, unit)| format!("{n}{unit}")).collect::<Vec<_>>().join(" ")
}

/// A duration as the workload file writes it: `10m`, `1h 30m`, `250ms`, `0s`.
pub fn format_duration(d: std::time::Duration) -> String {
    if d.is_zero() {
        return "0s".to_string();
    }
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_microseconds_read_naturally() {
        assert_eq!(format_count(5_000_000.0), "5,000,000");
        assert_eq!(format_us(850), "850µs");
        assert_eq!(format_us(12_345), "12.35ms");
    }

    #[test]
    fn sparse_rates_read_per_minute_or_per_hour() {
        assert_eq!(format_rate(52.2), "52.2/s");
        assert_eq!(format_rate(0.05), "3.0/min");
        assert_eq!(format_rate(1_500.0 / 86_400.0), "1.0/min");
        assert_eq!(format_rate(100.0 / 86_400.0), "4.2/h");
        assert_eq!(format_rate(0.0), "0.0/s");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(format_span(4.254), "4.25 s");
        assert_eq!(format_span(200.0), "3m 20s");
        assert_eq!(format_span(86_400.0 + 7_500.0), "1d 2h 5m");
        assert_eq!(format_span(30.0 * 86_400.0), "30d 0h 0m");
    }
}
