//! ISO-8601 intervals as Genesys writes them: `2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z`.

use std::fmt;
use std::str::FromStr;

use jiff::{Span, Timestamp};

/// A half-open `[start, end)` span of absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalError {
    #[error(
        "interval `{0}` is not `start/end` (ISO-8601, e.g. 2024-05-01T00:00:00Z/2024-05-02T00:00:00Z)"
    )]
    Shape(String),
    #[error("interval endpoint `{value}` is not an ISO-8601 instant with an offset: {reason}")]
    Instant { value: String, reason: String },
    #[error("interval duration `{value}` is not an ISO-8601 duration: {reason}")]
    Duration { value: String, reason: String },
    #[error("interval `{0}` ends before or when it starts")]
    Empty(String),
}

impl Interval {
    pub fn new(start: Timestamp, end: Timestamp) -> Self {
        Self { start, end }
    }

    pub fn contains(&self, instant: Timestamp) -> bool {
        self.start <= instant && instant < self.end
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn duration_ms(&self) -> i64 {
        self.end.as_millisecond() - self.start.as_millisecond()
    }

    /// The interval cut, in order, into pieces of at most `longest_ms` that together cover it
    /// exactly: how a window longer than an API's interval limit is asked for, piece by piece.
    pub fn pieces(&self, longest_ms: i64) -> Vec<Interval> {
        assert!(longest_ms > 0, "pieces of at most {longest_ms} ms");
        let (start, end) = (self.start.as_millisecond(), self.end.as_millisecond());
        (start..end)
            .step_by(longest_ms as usize)
            .map(|from| {
                let to = (from + longest_ms).min(end);
                Interval::new(instant_ms(from), instant_ms(to))
            })
            .collect()
    }
}

fn instant_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("between two instants")
}

/// Genesys prints instants in UTC with millisecond precision.
pub fn format_instant(instant: Timestamp) -> String {
    let utc = instant.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        utc.year(),
        utc.month(),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    )
}

/// [`format_instant`] of an instant given as milliseconds since the Unix epoch, appended to
/// `out` by civil-date arithmetic: without the time-zone machinery behind `format_instant`,
/// which dominated writing the dozens of instants of an emulated record and the two of every
/// row read back from PostgreSQL. Instants before 1970 or after 9999 take `format_instant`.
pub fn write_instant_ms(out: &mut Vec<u8>, ms: i64) {
    const DAY_MS: i64 = 86_400_000;
    /// 10000-01-01T00:00:00Z.
    const YEAR_10000_MS: i64 = 253_402_300_800_000;
    if !(0..YEAR_10000_MS).contains(&ms) {
        // Milliseconds of an instant are in jiff's range; past it, its nearest end.
        let nearest = if ms < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        };
        let at = Timestamp::from_millisecond(ms).unwrap_or(nearest);
        out.extend_from_slice(format_instant(at).as_bytes());
        return;
    }
    let (days, ms_of_day) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, ms_of_day / 3_600_000, 2);
    out.push(b':');
    digits(out, ms_of_day / 60_000 % 60, 2);
    out.push(b':');
    digits(out, ms_of_day / 1000 % 60, 2);
    out.push(b'.');
    digits(out, ms_of_day % 1000, 3);
    out.push(b'Z');
}

/// `value` (non-negative, below 10^`width`, `width` at most 4) in `width` decimal digits,
/// zero-padded.
fn digits(out: &mut Vec<u8>, mut value: i64, width: usize) {
    let mut text = [b'0'; 4];
    for digit in text[..width].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    out.extend_from_slice(&text[..width]);
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn parse_instant(value: &str) -> Result<Timestamp, IntervalError> {
    value
        .trim()
        .parse::<Timestamp>()
        .map_err(|e| IntervalError::Instant {
            value: value.to_string(),
            reason: e.to_string(),
        })
}

fn parse_span(value: &str) -> Result<Span, IntervalError> {
    value
        .trim()
        .parse::<Span>()
        .map_err(|e| IntervalError::Duration {
            value: value.to_string(),
            reason: e.to_string(),
        })
}

fn add_span(
    instant: Timestamp,
    span: Span,
    sign: i8,
    raw: &str,
) -> Result<Timestamp, IntervalError> {
    let span = if sign < 0 { span.negate() } else { span };
    instant
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_add(span)
        .map(|z| z.timestamp())
        .map_err(|e| IntervalError::Duration {
            value: raw.to_string(),
            reason: e.to_string(),
        })
}

impl FromStr for Interval {
    type Err = IntervalError;

    /// Accepts `start/end`, `start/duration` and `duration/end`.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let (left, right) = raw
            .split_once('/')
            .ok_or_else(|| IntervalError::Shape(raw.to_string()))?;
        let (left, right) = (left.trim(), right.trim());
        if left.is_empty() || right.is_empty() {
            return Err(IntervalError::Shape(raw.to_string()));
        }
        let (start, end) = if left.starts_with('P') {
            let end = parse_instant(right)?;
            (add_span(end, parse_span(left)?, -1, left)?, end)
        } else if right.starts_with('P') {
            let start = parse_instant(left)?;
            (start, add_span(start, parse_span(right)?, 1, right)?)
        } else {
            (parse_instant(left)?, parse_instant(right)?)
        };
        if end <= start {
            return Err(IntervalError::Empty(raw.to_string()));
        }
        Ok(Interval { start, end })
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            format_instant(self.start),
            format_instant(self.end)
        )
    }
}

impl serde::Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pieces_cover_the_interval_in_order_none_longer_than_asked() {
        use proptest::prelude::*;
        proptest!(|(start in 0i64..4_000_000_000_000, length in 1i64..100_000_000_000, longest in 1i64..40_000_000_000)| {
            let at = |ms| Timestamp::from_millisecond(ms).unwrap();
            let interval = super::Interval::new(at(start), at(start + length));
            let pieces = interval.pieces(longest);
            prop_assert_eq!(pieces.first().unwrap().start, interval.start);
            prop_assert_eq!(pieces.last().unwrap().end, interval.end);
            for pair in pieces.windows(2) {
                prop_assert_eq!(pair[0].end, pair[1].start);
            }
            for piece in &pieces {
                prop_assert!(piece.duration_ms() > 0 && piece.duration_ms() <= longest);
            }
            prop_assert_eq!(pieces.len() as i64, (length + longest - 1) / longest);
        });
    }

    use super::*;

    fn written_from_ms(ms: i64) -> String {
        let mut out = Vec::new();
        write_instant_ms(&mut out, ms);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn instants_written_from_milliseconds_are_format_instants_at_the_edges() {
        let edges = [
            0,
            999,
            86_399_999,
            951_782_400_000,     // 2000-02-29
            1_709_164_800_123,   // 2024-02-29T00:00:00.123Z
            4_107_542_399_999,   // 2100-02-28T23:59:59.999Z
            253_402_207_200_000, // the last instant jiff has (9999-12-30T22:00:00Z)
            -1,
            -86_400_001,
        ];
        for ms in edges {
            let at = Timestamp::from_millisecond(ms).unwrap();
            assert_eq!(written_from_ms(ms), format_instant(at), "{ms}");
        }
    }

    proptest::proptest! {
        #[test]
        fn instants_written_from_milliseconds_are_format_instants(ms in -377_705_023_201_000_i64..=253_402_207_200_000) {
            let at = Timestamp::from_millisecond(ms).unwrap();
            proptest::prop_assert_eq!(written_from_ms(ms), format_instant(at));
        }
    }

    #[test]
    fn parses_and_prints_genesys_form() {
        let i: Interval = "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z"
            .parse()
            .unwrap();
        assert_eq!(
            i.to_string(),
            "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z"
        );
        assert_eq!(i.duration_ms(), 86_400_000);
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        let i: Interval = "2024-05-01T00:00:00+02:00/2024-05-01T01:00:00+02:00"
            .parse()
            .unwrap();
        assert_eq!(
            i.to_string(),
            "2024-04-30T22:00:00.000Z/2024-04-30T23:00:00.000Z"
        );
    }

    #[test]
    fn duration_forms() {
        let a: Interval = "2024-05-01T00:00:00Z/P1D".parse().unwrap();
        let b: Interval = "PT24H/2024-05-02T00:00:00Z".parse().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(matches!(
            "2024-05-01".parse::<Interval>(),
            Err(IntervalError::Shape(_))
        ));
        assert!(matches!(
            "x/2024-05-01T00:00:00Z".parse::<Interval>(),
            Err(IntervalError::Instant { .. })
        ));
        assert!(matches!(
            "2024-05-02T00:00:00Z/2024-05-01T00:00:00Z".parse::<Interval>(),
            Err(IntervalError::Empty(_))
        ));
        assert!(matches!(
            "2024-05-01T00:00:00/2024-05-02T00:00:00Z".parse::<Interval>(),
            Err(IntervalError::Instant { .. })
        ));
    }
}
