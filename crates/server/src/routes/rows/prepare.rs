//! A rows (or report) request resolved against its dataset: the selection, the time range in
//! the asked time zone, and the segments (stored or rolled-up buckets) it is read in.

use genesys::granularity::Granularity;
use jiff::Timestamp;
use warehouse::KpiFeed;
use warehouse::ReadSession;
use warehouse::read::{DatasetInfo, Selection};

use super::feeds;
use super::query::{ShapeQuery, selection};
use crate::params::{Params, RangeQuery, parse_time_zone, parse_when};
use crate::problem::Problem;
use crate::rollup::{self, Segments};

/// Everything a rows request resolved to, checked against the dataset.
pub struct Prepared {
    /// What the request named: the dataset, or one of its KPI feeds.
    pub name: String,
    pub info: DatasetInfo,
    pub selection: Selection,
    pub segments: Segments,
    pub granularity: Option<String>,
    pub time_zone: String,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// The stored rows' bounds (first bucket start, last bucket end), if any rows are stored.
    pub extent: Option<(Timestamp, Timestamp)>,
}

impl Prepared {
    /// The segments that can hold rows: those overlapping the stored extent. A range reaching
    /// far past the stored data (`from=1970-01-01` in PT12H is ~40 000 segments) must not cost
    /// one query per empty segment.
    pub(super) fn occupied(&self) -> std::ops::Range<usize> {
        let Some((first, last)) = self.extent else {
            return 0..0;
        };
        let n = self.segments.len();
        let start = count_leading(n, |i| self.segments.bounds(i).1 <= first);
        let end = count_leading(n, |i| self.segments.bounds(i).0 < last);
        start..end.max(start)
    }
}

/// How many of `0..n` satisfy `holds`, for a predicate true on a prefix (binary search).
fn count_leading(n: usize, holds: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, n);
    while low < high {
        let middle = low + (high - low) / 2;
        if holds(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Resolves a rows (or report) request against the dataset; runs on a store connection.
pub fn prepare(c: &dyn ReadSession, name: &str, params: &Params) -> Result<Prepared, Problem> {
    let (info, feed) = feeds::resolve(c, name)?.ok_or_else(|| Problem::unknown_dataset(name))?;
    let shape = ShapeQuery::read(params)?;
    let range = RangeQuery::read(params)?;
    if feed.is_some() && shape.metrics.is_some() {
        return Err(Problem::bad_parameter(
            "metrics",
            format!(
                "a KPI feed has its own figures; `metrics` chooses stats of a dataset (read /v1/datasets/{}/rows)",
                info.spec.name
            ),
        ));
    }
    let days = match feed {
        Some(KpiFeed::Days) => Some(daily_feed_checks(&info, &shape, &range)?),
        _ => None,
    };
    let mut selection = selection(&info, &shape, &range.filter)?;
    selection.kpi = feed;
    let stored_tz = &info.spec.definition.time_zone;
    let time_zone = match &range.time_zone {
        Some(raw) => parse_time_zone("time_zone", raw)?,
        None => stored_tz.clone(),
    };
    let tz = time_zone.zone().clone();
    let from = range
        .from
        .as_deref()
        .map(|raw| parse_when("from", raw, &tz))
        .transpose()?;
    let to = range
        .to
        .as_deref()
        .map(|raw| parse_when("to", raw, &tz))
        .transpose()?;
    // A daily feed reads whole local days.
    let (from, to) = match &days {
        Some(grid) => (
            from.map(|at| feeds::day_start(grid, at)).transpose()?,
            to.map(|at| feeds::day_end(grid, at)).transpose()?,
        ),
        None => (from, to),
    };
    let extent = c.extent(&info.spec)?;
    let (start, end) = match (from.or(extent.map(|e| e.0)), to.or(extent.map(|e| e.1))) {
        // The stored extent starts at its first bucket, which need not start a day.
        (Some(start), Some(end)) => match &days {
            Some(grid) if start < end => {
                (feeds::day_start(grid, start)?, feeds::day_end(grid, end)?)
            }
            _ => (start, end),
        },
        // Nothing stored and no range asked: no rows.
        _ => (Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH),
    };
    if from.is_some() && to.is_some() && end <= start {
        return Err(Problem::bad_parameter("to", "must be later than `from`"));
    }
    if let (Some(records), Some(asked)) = (info.spec.record_kind(), &shape.granularity) {
        return Err(Problem::bad_parameter(
            "granularity",
            format!(
                "`{}`: `{name}` holds {}, one row each, with no buckets to roll up; choose them by their start with from and to (an aggregates dataset rolls up)",
                crate::params::shown(asked),
                records.plural()
            ),
        ));
    }
    let granularity = match &days {
        Some(_) => Some("P1D"),
        None => shape.granularity.as_deref(),
    };
    let requested = granularity
        .map(|raw| {
            raw.parse::<Granularity>()
                .map_err(|e| Problem::bad_parameter("granularity", e.to_string()))
        })
        .transpose()?;
    let stored = &info.spec.definition.granularity;
    let rollup_to = match &requested {
        None => None,
        Some(r) => rollup::needs_rollup(stored, stored_tz, r, &time_zone)
            .map_err(|e| Problem::bad_parameter("granularity", e))?
            .then_some(*r),
    };
    let segments = if end <= start {
        rollup::stored(start, start)?
    } else {
        match &rollup_to {
            Some(g) => rollup::rolled_up(start, end, g, &tz)?,
            None => rollup::stored(start, end)?,
        }
    };
    selection.rollup = segments.rollup;
    Ok(Prepared {
        name: name.to_string(),
        granularity: Some(requested.unwrap_or(*stored).to_string()),
        time_zone: time_zone.name().to_string(),
        info,
        selection,
        segments,
        from,
        to,
        extent,
    })
}

/// A daily feed's days are the dataset's: any other granularity or time zone is refused,
/// naming the parameter. Returns the days.
fn daily_feed_checks(
    info: &DatasetInfo,
    shape: &ShapeQuery,
    range: &RangeQuery,
) -> Result<warehouse::days::DayGrid, Problem> {
    if let Some(asked) = shape.granularity.as_deref().filter(|g| *g != "P1D") {
        return Err(Problem::bad_parameter(
            "granularity",
            format!(
                "`{}`: a daily KPI feed has one row per local day; read /v1/datasets/{}_kpi/rows to roll up otherwise",
                crate::params::shown(asked),
                info.spec.name
            ),
        ));
    }
    let zone = info.spec.definition.time_zone.name();
    if let Some(asked) = range.time_zone.as_deref().filter(|z| *z != zone) {
        return Err(Problem::bad_parameter(
            "time_zone",
            format!(
                "`{}`: a daily KPI feed's days are the dataset's, in {zone}",
                crate::params::shown(asked)
            ),
        ));
    }
    feeds::grid(info)
}
