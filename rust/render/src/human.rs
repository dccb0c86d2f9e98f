//! Numbers, durations and times written for people.
//!
//! Alerts are read at a glance, often on a phone: `1,234` rather than `1234`,
//! `5m` rather than `300s`, and a UTC clock time rather than an epoch. The
//! date arithmetic is done here (civil-from-days) to keep the crate free of a
//! date library for the sake of three formatting functions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `1234567` as `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    // The first group takes the 1 to 3 digits left over; the rest are 3 each.
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        r => r,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    out
}

/// `n` followed by `one` or `many`, e.g. `1 time`, `1,234 times`.
pub fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// A duration in its largest whole units: `5m`, `1h30m`, `45s`, `2d`,
/// `250ms`. Units below the second are shown only for sub-second durations.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.subsec_millis());
    }
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

/// The UTC wall-clock time of `t` as `HH:MM:SS`.
pub fn utc_time(t: SystemTime) -> String {
    let (_, secs_of_day) = split_days(unix_secs(t));
    format!(
        "{:02}:{:02}:{:02}",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// The UTC date and time of `t` as `YYYY-MM-DD HH:MM:SS`.
pub fn utc_date_time(t: SystemTime) -> String {
    let (days, _) = split_days(unix_secs(t));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {}", utc_time(t))
}

/// Whole seconds since the Unix epoch, rounded down (also before 1970).
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            -secs - i64::from(d.subsec_nanos() > 0)
        }
    }
}

/// Days since the epoch and seconds into that day.
fn split_days(secs: i64) -> (i64, i64) {
    (secs.div_euclid(86_400), secs.rem_euclid(86_400))
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are within u32 by the bounds noted above.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(count_of(1, "time", "times"), "1 time");
        assert_eq!(count_of(2000, "time", "times"), "2,000 times");
    }

    #[test]
    fn durations_use_the_largest_units() {
        assert_eq!(duration(Duration::from_secs(300)), "5m");
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(duration(Duration::from_secs(3600)), "1h");
        assert_eq!(duration(Duration::from_secs(172_800)), "2d");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
        assert_eq!(duration(Duration::ZERO), "0ms");
    }

    #[test]
    fn utc_times_and_dates() {
        assert_eq!(utc_time(at(0)), "00:00:00");
        assert_eq!(utc_date_time(at(0)), "1970-01-01 00:00:00");
        // 2024-05-01T14:03:07Z
        assert_eq!(utc_date_time(at(1_714_572_187)), "2024-05-01 14:03:07");
        assert_eq!(
            utc_time(at(1_714_572_187) + Duration::from_millis(999)),
            "14:03:07"
        );
        // Leap day and end of year.
        assert_eq!(utc_date_time(at(1_709_164_800)), "2024-02-29 00:00:00");
        assert_eq!(utc_date_time(at(1_735_689_599)), "2024-12-31 23:59:59");
        // Before the epoch rounds down.
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(utc_date_time(before), "1969-12-31 23:59:59");
    }

    #[test]
    fn civil_from_days_round_trips_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        // Consecutive days always advance the date by one.
        let mut prev = civil_from_days(-800);
        for d in -799..20_000 {
            let next = civil_from_days(d);
            assert!(next > prev, "{d}: {prev:?} -> {next:?}");
            assert!((1..=31).contains(&next.2) && (1..=12).contains(&next.1));
            prev = next;
        }
    }
}
