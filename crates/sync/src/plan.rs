//! Window planning: which intervals a run pulls. Windows sit on a fixed grid in the dataset's
//! time zone (local days, weeks or months), so every run cuts the same windows and the window
//! log lines up across runs; each window holds whole buckets of the granularity.

use std::str::FromStr;

use genesys::granularity::{Buckets, ms_to_timestamp};
use genesys::{Granularity, Interval};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan, ZonedDateTime};

/// The size of one request window: whole local days, or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpan {
    Days(u16),
    Months(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("window `{0}` must be whole days (P1D, P7D, …) or whole months (P1M, …)")]
    WindowShape(String),
    #[error("window {window} is shorter than granularity {granularity}")]
    WindowBelowGranularity { window: String, granularity: String },
    #[error("time arithmetic failed: {0}")]
    Time(String),
}

fn time_error(e: jiff::Error) -> PlanError {
    PlanError::Time(e.to_string())
}

impl FromStr for WindowSpan {
    type Err = PlanError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let shape = || PlanError::WindowShape(raw.to_string());
        let span: Span = raw.trim().parse().map_err(|_| shape())?;
        let no_time = span.get_hours() == 0
            && span.get_minutes() == 0
            && span.get_seconds() == 0
            && span.get_milliseconds() == 0
            && span.get_years() == 0;
        if !no_time || span.is_negative() || span.is_zero() {
            return Err(shape());
        }
        let days = i64::from(span.get_weeks()) * 7 + i64::from(span.get_days());
        match (span.get_months(), days) {
            (0, d) if (1..=366).contains(&d) => Ok(WindowSpan::Days(d as u16)),
            (m, 0) if (1..=12).contains(&m) => Ok(WindowSpan::Months(m as u8)),
            _ => Err(shape()),
        }
    }
}

impl std::fmt::Display for WindowSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowSpan::Days(n) => write!(f, "P{n}D"),
            WindowSpan::Months(n) => write!(f, "P{n}M"),
        }
    }
}

impl WindowSpan {
    /// The default for a granularity: a local day for sub-day buckets, else one bucket.
    pub fn default_for(granularity: &Granularity) -> WindowSpan {
        let span = granularity.span();
        match (
            span.get_months(),
            span.get_weeks(),
            span.get_days(),
            granularity.fixed_ms(),
        ) {
            (m, 0, 0, None) if m > 0 => WindowSpan::Months(m as u8),
            (0, w, d, None) => WindowSpan::Days((w * 7 + d).max(1) as u16),
            _ => WindowSpan::Days(1),
        }
    }

    fn span(self) -> Span {
        match self {
            WindowSpan::Days(n) => i64::from(n).days(),
            WindowSpan::Months(n) => i64::from(n).months(),
        }
    }

    /// The grid start at or before `instant`. Day grids count from Monday 1970-01-05, so a
    /// seven-day window is a Monday-to-Monday week.
    pub fn floor(self, instant: Timestamp, tz: &TimeZone) -> Result<ZonedDateTime, PlanError> {
        let date = instant.to_zoned_datetime(tz.clone()).date();
        let start: Date = match self {
            WindowSpan::Days(n) => {
                let epoch_monday = jiff::civil::date(1970, 1, 5);
                let offset = i64::from(epoch_monday.until(date).map_err(time_error)?.get_days());
                let back = offset.rem_euclid(i64::from(n));
                date.checked_sub(back.days()).map_err(time_error)?
            }
            WindowSpan::Months(n) => {
                let months_since = i64::from(date.year()) * 12 + i64::from(date.month()) - 1;
                let back = months_since.rem_euclid(i64::from(n));
                date.first_of_month()
                    .checked_sub(back.months())
                    .map_err(time_error)?
            }
        };
        start.to_zoned_datetime(tz.clone()).map_err(time_error)
    }

    pub fn next(self, start: &ZonedDateTime) -> Result<ZonedDateTime, PlanError> {
        let next = start.checked_add(self.span()).map_err(time_error)?;
        // Adding days to local midnight lands on local midnight; re-anchor in case midnight was
        // skipped by a DST change on either day.
        next.date()
            .to_zoned_datetime(start.time_zone().clone())
            .map_err(time_error)
    }
}

/// What a run should pull for one dataset.
#[derive(Debug, Clone)]
pub struct PlanRequest<'a> {
    pub window: WindowSpan,
    pub granularity: &'a Granularity,
    pub time_zone: &'a TimeZone,
    /// Pull from here (watermark − lookback, or the backfill start)…
    pub from: Timestamp,
    /// …up to here (now − settle); only whole buckets before it are pulled.
    pub until: Timestamp,
}

/// Contiguous windows on the grid, covering every whole bucket between `from` (floored to the
/// grid) and `until`.
pub fn plan_windows(request: &PlanRequest<'_>) -> Result<Vec<Interval>, PlanError> {
    let mut windows = Vec::new();
    let mut start = request.window.floor(request.from, request.time_zone)?;
    while start.timestamp() < request.until {
        let next = request.window.next(&start)?;
        let end = last_bucket_end(request, &start, &next)?;
        if end > start.timestamp() {
            windows.push(Interval::new(start.timestamp(), end));
        }
        if end < next.timestamp() {
            break;
        }
        start = next;
    }
    Ok(windows)
}

/// The end of the last whole bucket of `[start, next)` that ends at or before `until`.
fn last_bucket_end(
    request: &PlanRequest<'_>,
    start: &ZonedDateTime,
    next: &ZonedDateTime,
) -> Result<Timestamp, PlanError> {
    let window = Interval::new(start.timestamp(), next.timestamp());
    if next.timestamp() <= request.until {
        return Ok(next.timestamp());
    }
    let buckets = Buckets::new(
        window,
        Some(request.granularity),
        request.time_zone,
        1_000_000,
    )
    .map_err(|e| PlanError::Time(e.to_string()))?;
    let until_ms = request.until.as_millisecond();
    let whole = (0..buckets.len())
        .map(|k| buckets.bounds_ms(k).1)
        .take_while(|end| *end <= until_ms)
        .last();
    Ok(whole.map(ms_to_timestamp).unwrap_or(start.timestamp()))
}

/// A window must hold at least one whole bucket.
pub fn check_window(
    window: WindowSpan,
    granularity: &Granularity,
    raw: &str,
) -> Result<(), PlanError> {
    let too_small = || PlanError::WindowBelowGranularity {
        window: raw.to_string(),
        granularity: granularity.to_string(),
    };
    let g = granularity.span();
    let g_days = i64::from(g.get_weeks()) * 7 + i64::from(g.get_days());
    match window {
        WindowSpan::Days(n) if g.get_months() > 0 || g.get_years() > 0 || g_days > i64::from(n) => {
            Err(too_small())
        }
        WindowSpan::Months(n) if g.get_months() > i32::from(n) || g.get_years() > 0 => {
            Err(too_small())
        }
        _ => Ok(()),
    }
}
