//! `@timestamp` as Logstash writes it: RFC 3339 / ISO-8601 to milliseconds.
//!
//! `check` replays logs on their own time, so it reads each event's
//! `@timestamp`. The accepted forms are the ones log shippers produce:
//! `2026-11-20T09:00:01Z`, `2026-11-20T09:00:01.666Z`,
//! `2026-11-20T09:00:01.666666+09:00`, `+0900`, a space or lower-case `t`
//! between date and time; without an offset the time is taken as UTC.
//! Fractions past milliseconds are cut, not rounded. The date arithmetic is a
//! dozen lines (days-from-civil), so no date library is pulled in for it.

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp, or `None` if
/// `text` is not one.
pub fn parse_millis(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    // YYYY-MM-DD?HH:MM:SS is 19 bytes.
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    // 60 is a leap second; it is folded onto the next second.
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0;
    if let Some((b'.' | b',', fraction)) = rest.split_first() {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, c) in fraction[..n.min(3)].iter().enumerate() {
            millis += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &fraction[n..];
    }
    let offset_minutes = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?)
                }
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(secs * 1000 + millis)
}

/// A run of ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, the inverse of `slack_alert_render::human::civil_from_days`).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use slack_alert_render::human::civil_from_days;

    #[test]
    fn the_forms_shippers_write() {
        // 2026-11-20T09:00:01Z
        let base = 1_795_165_201_000;
        assert_eq!(parse_millis("2026-11-20T09:00:01Z"), Some(base));
        assert_eq!(parse_millis("2026-11-20T09:00:01.666Z"), Some(base + 666));
        assert_eq!(parse_millis("2026-11-20T09:00:01.6Z"), Some(base + 600));
        assert_eq!(
            parse_millis("2026-11-20T09:00:01.666999999Z"),
            Some(base + 666)
        );
        assert_eq!(parse_millis("2026-11-20t09:00:01,5z"), Some(base + 500));
        assert_eq!(parse_millis("2026-11-20 09:00:01"), Some(base));
        assert_eq!(parse_millis("2026-11-20T18:00:01+09:00"), Some(base));
        assert_eq!(parse_millis("2026-11-20T18:00:01+0900"), Some(base));
        assert_eq!(parse_millis("2026-11-20T18:00:01+09"), Some(base));
        assert_eq!(parse_millis("2026-11-20T03:30:01.000-05:30"), Some(base));
        assert_eq!(parse_millis(" 1970-01-01T00:00:00Z "), Some(0));
        assert_eq!(parse_millis("1969-12-31T23:59:59.5Z"), Some(-500));
        assert_eq!(
            parse_millis("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2026-11-20",
            "2026-11-20T09:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-20T24:00:00Z",
            "2026-11-20T09:60:00Z",
            "2026-11-20T09:00:01.Z",
            "2026-11-20T09:00:01ZZ",
            "2026-11-20T09:00:01+9",
            "2026-11-20T09:00:01+24:00",
            "2026-11-20X09:00:01Z",
            "２026-11-20T09:00:01Z",
            "2026-11-20T09:00:01 UTC",
        ] {
            assert_eq!(parse_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        for d in -800_000..800_000i64 {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(day)), d);
        }
    }
}
