//! ISO-8601 bucket durations (`PT15M`, `PT1H`, `P1D`, `P7D`, `P1M`, …) and the buckets they lay
//! over an interval. Calendar units are cut in an IANA time zone, so a `P1D` bucket on a DST day
//! spans 23 or 25 hours.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan, Unit};

use crate::interval::Interval;

#[derive(Debug, Clone, Copy)]
pub struct Granularity {
    span: Span,
    raw_fixed_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GranularityError {
    #[error("granularity `{value}` is not an ISO-8601 duration: {reason}")]
    Syntax { value: String, reason: String },
    #[error("granularity `{0}` must be positive")]
    NotPositive(String),
    #[error("granularity `{0}` is below one minute")]
    TooSmall(String),
    #[error("time zone `{0}` is not a known IANA time zone")]
    TimeZone(String),
    #[error("interval {interval} with granularity {granularity} makes more than {max} buckets")]
    TooManyBuckets {
        interval: String,
        granularity: String,
        max: usize,
    },
    #[error("bucket arithmetic overflowed: {0}")]
    Overflow(String),
}

impl PartialEq for Granularity {
    fn eq(&self, other: &Self) -> bool {
        self.span.fieldwise() == other.span.fieldwise()
    }
}

impl Granularity {
    pub fn span(&self) -> Span {
        self.span
    }

    /// Milliseconds for granularities without calendar units (days, weeks, months, years).
    pub fn fixed_ms(&self) -> Option<i64> {
        self.raw_fixed_ms
    }

    pub fn minutes(n: i64) -> Self {
        let span = n.minutes();
        Self {
            span,
            raw_fixed_ms: Some(n * 60_000),
        }
    }
}

fn fixed_millis(span: &Span) -> Option<i64> {
    let calendar = span.get_years() != 0
        || span.get_months() != 0
        || span.get_weeks() != 0
        || span.get_days() != 0;
    if calendar {
        return None;
    }
    span.total(Unit::Millisecond)
        .ok()
        .map(|ms| ms.round() as i64)
}

impl FromStr for Granularity {
    type Err = GranularityError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        if !raw.trim().starts_with('P') {
            let reason = "expected ISO-8601 form such as PT15M, PT1H, P1D or P1M".to_string();
            return Err(GranularityError::Syntax {
                value: raw.to_string(),
                reason,
            });
        }
        let span: Span = raw
            .trim()
            .parse()
            .map_err(|e: jiff::Error| GranularityError::Syntax {
                value: raw.to_string(),
                reason: e.to_string(),
            })?;
        if span.is_negative() || span.is_zero() {
            return Err(GranularityError::NotPositive(raw.to_string()));
        }
        let raw_fixed_ms = fixed_millis(&span);
        if matches!(raw_fixed_ms, Some(ms) if ms < 60_000) {
            return Err(GranularityError::TooSmall(raw.to_string()));
        }
        Ok(Self { span, raw_fixed_ms })
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.span)
    }
}

impl serde::Serialize for Granularity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.span)
    }
}

impl<'de> serde::Deserialize<'de> for Granularity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Resolves an IANA name (`UTC`, `Etc/UTC`, `Europe/London`); `None` means UTC, as in Genesys.
pub fn time_zone(name: Option<&str>) -> Result<TimeZone, GranularityError> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(n) if n.eq_ignore_ascii_case("UTC") || n == "Z" => Ok(TimeZone::UTC),
        Some(n) => TimeZone::get(n).map_err(|_| GranularityError::TimeZone(n.to_string())),
    }
}

/// The buckets a granularity lays over an interval: anchored at the interval start, stepped in
/// the time zone, the last one cut at the interval end. Without a granularity, one bucket.
#[derive(Debug, Clone)]
pub enum Buckets {
    Fixed {
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    },
    /// Boundaries in epoch milliseconds: bucket `i` is `[bounds[i], bounds[i + 1])`.
    Calendar { bounds: Vec<i64> },
}

impl Buckets {
    pub fn new(
        interval: Interval,
        granularity: Option<&Granularity>,
        tz: &TimeZone,
        max_buckets: usize,
    ) -> Result<Self, GranularityError> {
        let start_ms = interval.start.as_millisecond();
        let end_ms = interval.end.as_millisecond();
        let too_many = || GranularityError::TooManyBuckets {
            interval: interval.to_string(),
            granularity: granularity.map(|g| g.span.to_string()).unwrap_or_default(),
            max: max_buckets,
        };
        let Some(granularity) = granularity else {
            return Ok(Buckets::Fixed {
                start_ms,
                end_ms,
                step_ms: end_ms - start_ms,
            });
        };
        if let Some(step_ms) = granularity.fixed_ms() {
            let count = (end_ms - start_ms + step_ms - 1) / step_ms;
            if count as usize > max_buckets {
                return Err(too_many());
            }
            return Ok(Buckets::Fixed {
                start_ms,
                end_ms,
                step_ms,
            });
        }
        let origin = interval.start.to_zoned_datetime(tz.clone());
        let mut bounds = vec![start_ms];
        let mut k: i64 = 1;
        loop {
            let step = granularity
                .span
                .checked_mul(k)
                .map_err(|e| GranularityError::Overflow(e.to_string()))?;
            let next = origin
                .checked_add(step)
                .map_err(|e| GranularityError::Overflow(e.to_string()))?;
            let next_ms = next.timestamp().as_millisecond();
            if next_ms >= end_ms {
                bounds.push(end_ms);
                break;
            }
            bounds.push(next_ms);
            if bounds.len() > max_buckets {
                return Err(too_many());
            }
            k += 1;
        }
        Ok(Buckets::Calendar { bounds })
    }

    pub fn len(&self) -> usize {
        match self {
            Buckets::Fixed {
                start_ms,
                end_ms,
                step_ms,
            } => ((end_ms - start_ms + step_ms - 1) / step_ms) as usize,
            Buckets::Calendar { bounds } => bounds.len() - 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bucket holding an instant, if the instant lies in the interval.
    #[inline]
    pub fn index_of(&self, at_ms: i64) -> Option<usize> {
        match self {
            Buckets::Fixed {
                start_ms,
                end_ms,
                step_ms,
            } => (at_ms >= *start_ms && at_ms < *end_ms)
                .then(|| ((at_ms - start_ms) / step_ms) as usize),
            Buckets::Calendar { bounds } => {
                if at_ms < bounds[0] || at_ms >= *bounds.last().expect("bounds never empty") {
                    return None;
                }
                Some(bounds.partition_point(|b| *b <= at_ms) - 1)
            }
        }
    }

    pub fn bounds_ms(&self, index: usize) -> (i64, i64) {
        match self {
            Buckets::Fixed {
                start_ms,
                end_ms,
                step_ms,
            } => {
                let s = start_ms + step_ms * index as i64;
                (s, (s + step_ms).min(*end_ms))
            }
            Buckets::Calendar { bounds } => (bounds[index], bounds[index + 1]),
        }
    }

    pub fn interval(&self, index: usize) -> Interval {
        let (s, e) = self.bounds_ms(index);
        Interval::new(ms_to_timestamp(s), ms_to_timestamp(e))
    }
}

pub fn ms_to_timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).expect("epoch milliseconds within jiff's range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(interval: &str, g: &str, tz: &str) -> Vec<String> {
        let i: Interval = interval.parse().unwrap();
        let g: Granularity = g.parse().unwrap();
        let b = Buckets::new(i, Some(&g), &time_zone(Some(tz)).unwrap(), 100_000).unwrap();
        (0..b.len()).map(|k| b.interval(k).to_string()).collect()
    }

    #[test]
    fn parses_genesys_granularities() {
        for g in [
            "PT15M", "PT30M", "PT1H", "P1D", "P7D", "P1W", "P1M", "P1DT12H",
        ] {
            g.parse::<Granularity>()
                .unwrap_or_else(|e| panic!("{g}: {e}"));
        }
        assert_eq!(
            "PT15M".parse::<Granularity>().unwrap().fixed_ms(),
            Some(900_000)
        );
        assert_eq!("P1D".parse::<Granularity>().unwrap().fixed_ms(), None);
        assert!("PT0M".parse::<Granularity>().is_err());
        assert!("PT10S".parse::<Granularity>().is_err());
        assert!("15 minutes".parse::<Granularity>().is_err());
    }

    #[test]
    fn london_spring_forward_day_has_23_hours() {
        let b = buckets(
            "2024-03-30T00:00:00Z/2024-04-01T23:00:00Z",
            "P1D",
            "Europe/London",
        );
        assert_eq!(
            b,
            [
                "2024-03-30T00:00:00.000Z/2024-03-31T00:00:00.000Z",
                "2024-03-31T00:00:00.000Z/2024-03-31T23:00:00.000Z",
                "2024-03-31T23:00:00.000Z/2024-04-01T23:00:00.000Z",
            ]
        );
    }

    #[test]
    fn new_york_fall_back_day_has_25_hours() {
        let b = buckets(
            "2024-11-03T04:00:00Z/2024-11-04T05:00:00Z",
            "P1D",
            "America/New_York",
        );
        assert_eq!(b, ["2024-11-03T04:00:00.000Z/2024-11-04T05:00:00.000Z"]);
    }

    #[test]
    fn last_bucket_is_cut_at_interval_end() {
        let b = buckets("2024-05-01T00:00:00Z/2024-05-01T00:40:00Z", "PT15M", "UTC");
        assert_eq!(
            b.last().unwrap(),
            "2024-05-01T00:30:00.000Z/2024-05-01T00:40:00.000Z"
        );
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn index_of_matches_bounds() {
        let i: Interval = "2024-03-01T00:00:00Z/2024-04-30T23:00:00Z".parse().unwrap();
        let g: Granularity = "P1M".parse().unwrap();
        let b = Buckets::new(
            i,
            Some(&g),
            &time_zone(Some("Europe/London")).unwrap(),
            1000,
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        for k in 0..b.len() {
            let (s, e) = b.bounds_ms(k);
            assert_eq!(b.index_of(s), Some(k));
            assert_eq!(b.index_of(e - 1), Some(k));
        }
        assert_eq!(b.index_of(i.end.as_millisecond()), None);
    }
}
