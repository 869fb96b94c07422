//! The interval limits of users details, checked before any request so that a window too long
//! fails at once, naming the interval, instead of costing a request and a 400.
//!
//! "Intervals are limited to a duration not to exceed 7 days if you provide no filters and 31
//! days if you do provide filters" (developer center, users details query); the same body shape
//! is a job's, and the emulator refuses jobs by the same rule.

use crate::interval::{Interval, IntervalError};

use super::UserDetailsQuery;

pub const MAX_DAYS_UNFILTERED: i64 = 7;
pub const MAX_DAYS_FILTERED: i64 = 31;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntervalLimitError {
    #[error("users details interval `{interval}` cannot be read: {source}")]
    Unreadable {
        interval: String,
        #[source]
        source: IntervalError,
    },
    #[error(
        "users details interval `{interval}` lasts {:.2} days, over the {limit_days}-day limit \
         of a query {}; split it into windows of at most {limit_days} days",
        *duration_ms as f64 / DAY_MS as f64,
        if *filtered { "with filters" } else { "without filters (31 days with one)" }
    )]
    TooLong {
        interval: String,
        duration_ms: i64,
        limit_days: i64,
        filtered: bool,
    },
}

/// The longest interval Genesys accepts, in days.
pub fn limit_days(filtered: bool) -> i64 {
    if filtered {
        MAX_DAYS_FILTERED
    } else {
        MAX_DAYS_UNFILTERED
    }
}

impl UserDetailsQuery {
    /// The query's interval, if it is readable and within the documented limit.
    pub fn checked_interval(&self) -> Result<Interval, IntervalLimitError> {
        let interval: Interval =
            self.interval
                .parse()
                .map_err(|source| IntervalLimitError::Unreadable {
                    interval: self.interval.clone(),
                    source,
                })?;
        let filtered = self.is_filtered();
        let limit_days = limit_days(filtered);
        if interval.duration_ms() > limit_days * DAY_MS {
            return Err(IntervalLimitError::TooLong {
                interval: self.interval.clone(),
                duration_ms: interval.duration_ms(),
                limit_days,
                filtered,
            });
        }
        Ok(interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    fn query(interval: &str, filtered: bool) -> UserDetailsQuery {
        let filter: Filter = serde_json::from_value(serde_json::json!(
            {"type": "or", "predicates": [{"dimension": "userId", "value": "u-1"}]}
        ))
        .unwrap();
        UserDetailsQuery {
            interval: interval.into(),
            user_filters: if filtered { vec![filter] } else { Vec::new() },
            ..UserDetailsQuery::default()
        }
    }

    #[test]
    fn seven_days_without_filters_and_thirty_one_with_are_the_most() {
        let week = "2024-05-01T00:00:00.000Z/2024-05-08T00:00:00.000Z";
        assert!(query(week, false).checked_interval().is_ok());
        let over_a_week = "2024-05-01T00:00:00.000Z/2024-05-08T00:00:00.001Z";
        let err = query(over_a_week, false).checked_interval().unwrap_err();
        assert!(
            matches!(
                err,
                IntervalLimitError::TooLong {
                    limit_days: 7,
                    filtered: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(over_a_week), "{err}");
        assert!(query(over_a_week, true).checked_interval().is_ok());
        let month = "2024-05-01T00:00:00.000Z/2024-06-01T00:00:00.000Z";
        assert!(query(month, true).checked_interval().is_ok());
        let over_a_month = "2024-05-01T00:00:00.000Z/2024-06-01T00:00:01.000Z";
        let err = query(over_a_month, true).checked_interval().unwrap_err();
        assert!(
            matches!(
                err,
                IntervalLimitError::TooLong {
                    limit_days: 31,
                    filtered: true,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_unreadable_interval_is_named() {
        let err = query("yesterday", false).checked_interval().unwrap_err();
        assert!(matches!(err, IntervalLimitError::Unreadable { .. }));
        assert!(err.to_string().contains("`yesterday`"), "{err}");
    }
}
