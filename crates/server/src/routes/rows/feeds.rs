//! The KPI feeds as `/v1` datasets: `<dataset>_kpi` and `<dataset>_daily_kpi` name their
//! dataset read through a [`KpiFeed`] selection. A daily feed reads whole local days of the
//! dataset's own time zone (its rows are the per-day table's), so its range is widened to
//! whole days and its granularity and time zone are the dataset's days.

use jiff::Timestamp;
use warehouse::days::DayGrid;
use warehouse::kpi::{DAILY_KPI_SUFFIX, KPI_SUFFIX};
use warehouse::read::DatasetInfo;
use warehouse::{KpiFeed, ReadSession};

use crate::problem::Problem;

/// The dataset `name` reads and, for a KPI feed, which one; `None` if there is no such name.
pub fn resolve(
    c: &dyn ReadSession,
    name: &str,
) -> Result<Option<(DatasetInfo, Option<KpiFeed>)>, Problem> {
    if let Some(info) = c.dataset(name)? {
        return Ok(Some((info, None)));
    }
    if let Some(base) = name.strip_suffix(DAILY_KPI_SUFFIX)
        && let Some(info) = c.dataset(base)?
        && has_days(c, &info)?
    {
        return Ok(Some((info, Some(KpiFeed::Days))));
    }
    if let Some(base) = name.strip_suffix(KPI_SUFFIX)
        && let Some(info) = c.dataset(base)?
        && info.spec.has_kpi_feeds()
    {
        return Ok(Some((info, Some(KpiFeed::Buckets))));
    }
    Ok(None)
}

/// Whether the dataset has its daily KPI feed: a per-day table and its view (with `date`).
pub fn has_days(c: &dyn ReadSession, info: &DatasetInfo) -> Result<bool, Problem> {
    if DayGrid::of(&info.spec).is_none() {
        return Ok(false);
    }
    let columns = c.directory_columns(&info.spec.daily_kpi_view_name())?;
    Ok(columns.iter().any(|c| c.name == "date"))
}

/// The local days of a daily feed's dataset.
pub fn grid(info: &DatasetInfo) -> Result<DayGrid, Problem> {
    DayGrid::of(&info.spec).ok_or_else(|| Problem::internal("a daily feed without local days"))
}

/// `at` moved back to the start of its local day.
pub fn day_start(grid: &DayGrid, at: Timestamp) -> Result<Timestamp, Problem> {
    Ok(grid.day_of(at).map_err(Problem::internal)?.start)
}

/// `at`, or the end of its local day when it falls inside one.
pub fn day_end(grid: &DayGrid, at: Timestamp) -> Result<Timestamp, Problem> {
    if grid.starts_day(at) {
        return Ok(at);
    }
    Ok(grid.day_of(at).map_err(Problem::internal)?.end)
}
