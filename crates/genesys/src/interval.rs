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
    use super::*;

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
