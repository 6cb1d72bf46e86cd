//! Points in time on the command line (`cat --from-time`) and in reports
//! (`info DIR`): RFC 3339 in UTC, or nanoseconds since the Unix epoch.
//!
//! RFC 3339 is parsed by hand: the format is small and fixed, the capture
//! crate's segment names use the same calendar arithmetic, and a parser
//! written for exactly this grammar can say precisely what is wrong with a
//! value (a date crate would add a dependency for one function).

use core::fmt;
use core::str::FromStr;
use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time given on the command line, in nanoseconds since the
/// Unix epoch: `2026-12-02T16:00:00Z` (RFC 3339; fractional seconds up to
/// nanoseconds, `Z` or a numeric offset such as `+01:00`) or an integer of
/// nanoseconds (`1796227200000000000`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeArg {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub nanos: u64,
}

impl TimeArg {
    /// The same point as a [`SystemTime`].
    #[must_use]
    pub fn system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos)
    }
}

impl fmt::Display for TimeArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rfc3339(self.system_time()))
    }
}

impl FromStr for TimeArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u64>()
                .map(|nanos| TimeArg { nanos })
                .map_err(|_| {
                    format!("`{s}` nanoseconds is past what 64 bits hold (the year 2554)")
                });
        }
        parse_rfc3339(s)
            .map(|nanos| TimeArg { nanos })
            .map_err(|why| {
                format!(
                    "`{s}` is not a time: {why}; give RFC 3339 in UTC (2026-12-02T16:00:00Z, \
                 fractional seconds allowed) or nanoseconds since the Unix epoch"
                )
            })
    }
}

/// `t` as RFC 3339 in UTC with nanoseconds: `2026-12-02T16:22:21.500000000Z`
/// (times before 1970 print as 1970).
#[must_use]
pub fn rfc3339(t: SystemTime) -> String {
    // The capture crate's segment-name format, `20261202T162221.500000000Z`,
    // with the separators put in.
    let compact = flatstream_capture::segment::format_utc(t);
    let part = |range: core::ops::Range<usize>| compact.get(range).unwrap_or("");
    format!(
        "{}-{}-{}T{}:{}:{}{}",
        part(0..4),
        part(4..6),
        part(6..8),
        part(9..11),
        part(11..13),
        part(13..15),
        part(15..compact.len()),
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` in nanoseconds since the
/// epoch; the error says what is wrong.
fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let b = s.as_bytes();
    let digits = |range: core::ops::Range<usize>, what: &str| -> Result<u64, String> {
        let text = s
            .get(range.clone())
            .filter(|t| t.len() == range.len() && t.bytes().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| {
                format!(
                    "expected the {what} ({} digits) at character {}",
                    range.len(),
                    range.start + 1
                )
            })?;
        text.parse().map_err(|_| format!("bad {what}"))
    };
    let separator = |at: usize, expected: &[u8], what: &str| -> Result<(), String> {
        match b.get(at) {
            Some(c) if expected.contains(c) => Ok(()),
            _ => Err(format!("expected {what} at character {}", at + 1)),
        }
    };
    let year = digits(0..4, "year")?;
    separator(4, b"-", "`-`")?;
    let month = digits(5..7, "month")?;
    separator(7, b"-", "`-`")?;
    let day = digits(8..10, "day")?;
    separator(10, b"Tt", "`T` between the date and the time")?;
    let hour = digits(11..13, "hour")?;
    separator(13, b":", "`:`")?;
    let minute = digits(14..16, "minutes")?;
    separator(16, b":", "`:`")?;
    let second = digits(17..19, "seconds")?;

    let mut at = 19;
    let mut nanos = 0u64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let fraction = s.get(start..at).unwrap_or("");
        if fraction.is_empty() || fraction.len() > 9 {
            return Err("the fraction of a second needs 1 to 9 digits".to_owned());
        }
        let scale = 10u64.pow(9 - u32::try_from(fraction.len()).unwrap_or(9));
        nanos = fraction
            .parse::<u64>()
            .map_err(|_| "bad fraction".to_owned())?
            * scale;
    }
    let offset_secs: i64 = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() && b.get(at + 3) == Some(&b':') => {
            let hours = digits(at + 1..at + 3, "offset hours")?;
            let minutes = digits(at + 4..at + 6, "offset minutes")?;
            if hours > 23 || minutes > 59 {
                return Err(format!(
                    "offset {} is out of range",
                    s.get(at..).unwrap_or("")
                ));
            }
            let secs = i64::try_from(hours * 3600 + minutes * 60).unwrap_or(0);
            if sign == b'+' { secs } else { -secs }
        }
        _ => {
            return Err(format!(
                "expected `Z` (UTC) or an offset such as `+01:00` at character {}, and nothing after it",
                at + 1
            ));
        }
    };

    if !(1..=12).contains(&month) {
        return Err(format!("month {month} is not 1 to 12"));
    }
    // Four-digit years, two-digit months and days: far inside the types.
    let days = flatstream_capture::segment::days_since_epoch(
        i64::try_from(year).unwrap_or(0),
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
    .ok_or_else(|| format!("{year:04}-{month:02} has no day {day}"))?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "{hour:02}:{minute:02}:{second:02} is not a time of day (leap seconds are not supported)"
        ));
    }
    // Four-digit years and times of day: far inside an i64.
    let clock = i64::try_from(hour * 3600 + minute * 60 + second).unwrap_or(0);
    let local = days * 86_400 + clock;
    let secs = u64::try_from(local - offset_secs)
        .map_err(|_| "times before 1970-01-01T00:00:00Z are not supported".to_owned())?;
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .ok_or_else(|| "past what 64 bits of nanoseconds hold (the year 2554)".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<u64, String> {
        s.parse::<TimeArg>().map(|t| t.nanos)
    }

    #[test]
    fn rfc3339_and_nanoseconds() {
        // 2026-12-02T16:22:21Z, checked with `date -u -d @1796228541`.
        let base = 1_796_228_541 * 1_000_000_000;
        assert_eq!(parse("2026-12-02T16:22:21Z"), Ok(base));
        assert_eq!(parse("2026-12-02t16:22:21z"), Ok(base));
        assert_eq!(parse("2026-12-02T16:22:21.5Z"), Ok(base + 500_000_000));
        assert_eq!(parse("2026-12-02T16:22:21.000000007Z"), Ok(base + 7));
        assert_eq!(parse("2026-12-02T17:22:21+01:00"), Ok(base));
        assert_eq!(parse("2026-12-02T15:52:21-00:30"), Ok(base));
        assert_eq!(parse("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse("2000-02-29T00:00:00Z"),
            Ok(951_782_400 * 1_000_000_000)
        );
        assert_eq!(parse(" 1796228541000000000 "), Ok(base));
        assert_eq!(parse("0"), Ok(0));
        let t = TimeArg {
            nanos: base + 500_000_000,
        };
        assert_eq!(t.to_string(), "2026-12-02T16:22:21.500000000Z");
        assert_eq!(parse(&t.to_string()), Ok(t.nanos));
    }

    #[test]
    fn malformed_times_say_why() {
        for (bad, why) in [
            ("", "expected the year"),
            ("yesterday", "expected the year"),
            ("2026-12-02", "expected `T`"),
            ("2026-12-02 16:00:00Z", "expected `T`"),
            ("2026-12-02T16:00Z", "expected `:` at character 17"),
            ("2026-12-02T16:00:00", "expected `Z`"),
            ("2026-12-02T16:00:00Zjunk", "expected `Z`"),
            ("2026-12-02T16:00:00.Z", "1 to 9 digits"),
            ("2026-12-02T16:00:00.1234567890Z", "1 to 9 digits"),
            ("2026-13-02T16:00:00Z", "month 13"),
            ("2026-02-29T16:00:00Z", "no day 29"),
            ("2026-12-02T24:00:00Z", "not a time of day"),
            ("2026-12-31T23:59:60Z", "leap seconds"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("1970-01-01T00:00:00+00:01", "before 1970"),
            ("2600-01-01T00:00:00Z", "64 bits"),
            ("99999999999999999999", "64 bits"),
            ("2026-12-02T16:00:00+25:00", "out of range"),
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
