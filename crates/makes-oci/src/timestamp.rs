//! ISO-8601 timestamps of the image spec (`created`, `mtime`) turned into Unix seconds, without a
//! time-zone library: dockerTools takes `YYYY-MM-DDTHH:MM:SS`, optional fractional seconds, and
//! `Z` or a `±HH:MM` offset.

use crate::error::OciError;

/// Parses `value` (the spec's `field`) into seconds since the Unix epoch. Times before the epoch
/// are rejected: tar headers hold unsigned times.
pub(crate) fn parse_iso8601(field: &'static str, value: &str) -> Result<u64, OciError> {
    let fail = |reason| OciError::InvalidTimestamp {
        field,
        value: value.to_string(),
        reason,
    };
    let b = value.as_bytes();
    if b.len() < 19 {
        return Err(fail("too short"));
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, OciError> {
        let s = &b[range];
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return Err(fail("expected digits"));
        }
        Ok(s.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(fail("no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(fail("no such time of day"));
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(fail("expected digits after '.'"));
        }
        rest = &rest[1 + digits..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(fail("expected an offset ±HH:MM"));
            }
            let h = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let m = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return Err(fail("expected Z or an offset ±HH:MM at the end")),
    };
    let secs =
        days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).map_err(|_| fail("before 1970"))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_instants() {
        let p = |s| parse_iso8601("mtime", s).expect(s);
        assert_eq!(p("1970-01-01T00:00:00Z"), 0);
        assert_eq!(p("1970-01-01T00:00:01Z"), 1);
        assert_eq!(p("2000-03-01T00:00:00Z"), 951868800);
        assert_eq!(p("2026-01-19T10:30:00Z"), 1768818600);
        assert_eq!(p("2026-01-19T11:30:00+01:00"), 1768818600);
        assert_eq!(p("2026-01-19T10:30:00.123456Z"), 1768818600);
        assert_eq!(p("2024-02-29T12:00:00-02:30"), 1709217000);
    }

    #[test]
    fn rejects_malformed_or_early() {
        for bad in [
            "",
            "now",
            "1970-01-01",
            "1970-01-01T00:00:00",
            "1970-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+0100",
            "1970-01-01T24:00:00Z",
        ] {
            assert!(parse_iso8601("mtime", bad).is_err(), "{bad}");
        }
    }
}
