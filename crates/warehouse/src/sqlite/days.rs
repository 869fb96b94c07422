//! The per-day rollup table `<dataset>__daily` in SQLite (what it holds: `crate::days`):
//! created, dropped, filled, and rewritten for the days a window overlaps; with its
//! `<dataset>_daily_kpi` view. Besides the dataset table's columns it has `date`, the local
//! date of the day (SQLite knows no time zones, so it is computed here and stored).

use genesys::Interval;
use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::ddl::{column_definitions, column_names, kpi_select};
use super::insert::insert_by_bucket;
pub(crate) use crate::days::DayGrid;
use crate::days::sum_days;
use crate::rows::AggregateRow;
use crate::schema::{Rollup, TableSpec, day_table, quote};
use crate::{Result, StoreError};

/// Whether the store has the dataset's per-day table (a store written before it existed has
/// none until the sync next opens the dataset).
pub fn exists(c: &Connection, dataset: &str) -> Result<bool> {
    let found = c
        .prepare_cached("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .query_row([day_table(dataset)], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

pub(crate) fn create(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let name = day_table(&spec.name);
    tx.execute_batch(&format!(
        "CREATE TABLE {table} ({columns}, date TEXT); CREATE INDEX {index} ON {table} (interval_start);",
        table = quote(&name),
        columns = column_definitions(spec),
        index = quote(&format!("{name}_start")),
    ))?;
    create_kpi_view(tx, spec)
}

/// `<dataset>_daily_kpi`: the figures of `crate::kpi` per local day and group, with the date.
/// Not made when another dataset's `_kpi` view already has its name (a store made before the
/// two names were refused together keeps that dataset's view).
pub(crate) fn create_kpi_view(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let view = spec.daily_kpi_view_name();
    let taken: Option<String> = tx
        .prepare_cached("SELECT type FROM sqlite_master WHERE name = ?1 AND type <> 'view'")?
        .query_row([&view], |r| r.get(0))
        .optional()?;
    if taken.is_some() || has_daily_namesake(tx, spec)? {
        return Ok(());
    }
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {view}; CREATE VIEW {view} AS SELECT {} FROM {} AS t;",
        kpi_select(spec, &["date"]),
        quote(&day_table(&spec.name)),
        view = quote(&view),
    ))?;
    Ok(())
}

/// Whether the store holds a dataset `<dataset>_daily`, whose `_kpi` view has the name this
/// dataset's daily view would have.
fn has_daily_namesake(tx: &Transaction<'_>, spec: &TableSpec) -> Result<bool> {
    let found = tx
        .prepare_cached("SELECT 1 FROM datasets WHERE name = ?1")?
        .query_row([format!("{}_daily", spec.name)], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// Drops the `<dataset>_daily_kpi` view (before its table's columns change).
pub(crate) fn drop_kpi_view(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    if !has_daily_namesake(tx, spec)? {
        tx.execute_batch(&format!(
            "DROP VIEW IF EXISTS {};",
            quote(&spec.daily_kpi_view_name())
        ))?;
    }
    Ok(())
}

pub(crate) fn drop(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    drop_kpi_view(tx, spec)?;
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS {};",
        quote(&day_table(&spec.name))
    ))?;
    Ok(())
}

/// Version 4 of the store, for one dataset's existing per-day table: its `date` column, filled
/// day by day, and its `_daily_kpi` view.
pub(crate) fn add_dates(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let Some(grid) = DayGrid::of(spec) else {
        return Ok(());
    };
    let table = quote(&day_table(&spec.name));
    tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN date TEXT;"))?;
    let starts: Vec<String> = tx
        .prepare(&format!("SELECT DISTINCT interval_start FROM {table}"))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for start in starts {
        let at = start
            .parse::<Timestamp>()
            .map_err(|_| StoreError::CorruptInstant {
                value: start.clone(),
            })?;
        stamp_date(tx, spec, &grid, at)?;
    }
    create_kpi_view(tx, spec)
}

/// Writes the local date on the per-day rows of the day starting at `start`.
fn stamp_date(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    grid: &DayGrid,
    start: Timestamp,
) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE {} SET date = ?1 WHERE interval_start = ?2",
        quote(&day_table(&spec.name))
    ))?
    .execute(params![
        grid.date_of(start).to_string(),
        format_instant(start)
    ])?;
    Ok(())
}

/// Brings the per-day table in line with the dataset: created and filled from the stored rows
/// when the dataset has days to roll up and the table is missing, dropped when it has none.
pub(crate) fn ensure(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    match (DayGrid::of(spec), exists(tx, &spec.name)?) {
        (Some(grid), false) => {
            create(tx, spec)?;
            fill(tx, spec, &grid)
        }
        (None, true) => drop(tx, spec),
        _ => Ok(()),
    }
}

/// Sums every stored day into the (empty) per-day table.
fn fill(tx: &Transaction<'_>, spec: &TableSpec, grid: &DayGrid) -> Result<()> {
    let (first, last): (Option<String>, Option<String>) = tx.query_row(
        &format!(
            "SELECT min(interval_start), max(interval_start) FROM {}",
            quote(&spec.name)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    let instant = |value: String| {
        value
            .parse::<Timestamp>()
            .map_err(|_| StoreError::CorruptInstant { value })
    };
    let (first, last) = (instant(first)?, instant(last)?);
    let last_day = grid.day_of(last)?;
    for day in grid.days(Interval::new(first, last_day.end))? {
        sum_day_in_sql(tx, spec, grid, day)?;
    }
    Ok(())
}

/// Rewrites the days `window` overlaps, once the window's rows are in the dataset's table. A day
/// the window covers is summed here from `rows` (the window's rows, in key order); a day it
/// only overlaps may hold stored rows from outside the window, so SQLite sums that one.
pub(crate) fn refresh(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    names: &[String],
    grid: &DayGrid,
    window: Interval,
    rows: &[&AggregateRow],
) -> Result<()> {
    let days = grid.days(window)?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let table = quote(&day_table(&spec.name));
    tx.prepare_cached(&format!(
        "DELETE FROM {table} WHERE interval_start >= ?1 AND interval_start < ?2"
    ))?
    .execute(params![
        format_instant(first.start),
        format_instant(last.end)
    ])?;
    let (whole, partial): (Vec<Interval>, Vec<Interval>) = days
        .iter()
        .partition(|day| window.start <= day.start && day.end <= window.end);
    let rollups: Vec<Rollup> = spec
        .metric_columns()
        .iter()
        .map(|c| c.field.rollup())
        .collect();
    let summed = sum_days(&rollups, grid, &whole, rows)?;
    let summed_rows: Vec<&AggregateRow> = summed.rows.iter().collect();
    insert_by_bucket(tx, &table, names, &summed_rows)?;
    for day in whole.iter().filter(|d| !summed.overflowed.contains(d)) {
        stamp_date(tx, spec, grid, day.start)?;
    }
    for day in partial.iter().chain(&summed.overflowed) {
        sum_day_in_sql(tx, spec, grid, *day)?;
    }
    Ok(())
}

/// Rewrites the days `window` overlaps from the rows stored in the dataset's table, every day
/// summed by SQLite: for a window written page by page, whose rows are never all in memory.
pub(crate) fn refresh_from_table(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    grid: &DayGrid,
    window: Interval,
) -> Result<()> {
    let days = grid.days(window)?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    tx.prepare_cached(&format!(
        "DELETE FROM {} WHERE interval_start >= ?1 AND interval_start < ?2",
        quote(&day_table(&spec.name))
    ))?
    .execute(params![
        format_instant(first.start),
        format_instant(last.end)
    ])?;
    for day in &days {
        sum_day_in_sql(tx, spec, grid, *day)?;
    }
    Ok(())
}

/// `INSERT … SELECT` of one day's rows, rolled up by group, with the day's date.
fn sum_day_in_sql(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    grid: &DayGrid,
    day: Interval,
) -> Result<()> {
    let dimensions: Vec<String> = spec.dimension_columns().iter().map(|c| quote(c)).collect();
    let metrics = spec.metric_columns();
    let mut names = column_names(spec);
    names.push("date".into());
    let mut select = vec!["?1".to_string(), "?2".to_string()];
    select.extend(dimensions.iter().cloned());
    select.extend(
        metrics
            .iter()
            .map(|c| format!("{}({})", c.field.rollup().sql_function(), quote(&c.column))),
    );
    select.push("?3".into());
    // Without dimensions an aggregate makes one row even from no rows.
    let group = if dimensions.is_empty() {
        " HAVING count(*) > 0".to_string()
    } else {
        format!(" GROUP BY {}", dimensions.join(", "))
    };
    tx.prepare_cached(&format!(
        "INSERT INTO {} ({}) SELECT {} FROM {} WHERE interval_start >= ?1 AND interval_start < ?2{group}",
        quote(&day_table(&spec.name)),
        names.join(", "),
        select.join(", "),
        quote(&spec.name),
    ))?
    .execute(params![
        format_instant(day.start),
        format_instant(day.end),
        grid.date_of(day.start).to_string()
    ])?;
    Ok(())
}
