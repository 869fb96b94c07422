//! The reads the server makes, on one SQLite connection: datasets and runs, a dataset's extent,
//! a selection's rows (from the per-day rollup when it can), OData statements, a directory's
//! declared columns. Every statement runs to its end before a read returns.

use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params_from_iter};

use super::datasets::{DEFINITION_COLUMNS, definition_from_row, stored_names};
use super::days;
use super::render;
use super::status::{progress_of, status_of};
use crate::cells::RowRef;
use crate::query::Query;
use crate::read::{Cell, DatasetInfo, RunInfo, Selection, cells};
use crate::reader::{DeclaredColumn, Visitor};
use crate::schema::{DatasetDefinition, TableSpec, day_table, is_valid_identifier};
use crate::statement::{Bound, Statement};
use crate::{Result, RunStatus, StoreError};

impl ToSql for Bound {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Bound::Null => ValueRef::Null,
            Bound::Integer(i) => ValueRef::Integer(*i),
            Bound::Real(r) => ValueRef::Real(*r),
            Bound::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

fn instant(value: Option<String>) -> Result<Option<Timestamp>> {
    value
        .map(|v| {
            v.parse()
                .map_err(|_| StoreError::CorruptInstant { value: v })
        })
        .transpose()
}

/// Whether a dataset read counts the dataset's rows: exact, but a scan of its whole key index,
/// so only listings do; a query only needs the dataset's shape and watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowCount {
    Count,
    Skip,
}

fn info_from_row(c: &Connection, row: DatasetRow, count: RowCount) -> Result<DatasetInfo> {
    let (name, definition, dimensions, metrics) = row;
    let definition = definition?;
    if !is_valid_identifier(&name) {
        return Err(StoreError::InvalidName(name));
    }
    let rows = match count {
        RowCount::Count => Some(status_of(c, name.clone())?.rows),
        RowCount::Skip => None,
    };
    let status = progress_of(c, &name)?;
    let dimensions = stored_names(&name, "dimensions", &dimensions)?;
    let metrics = stored_names(&name, "metrics", &metrics)?;
    // They become column names: only catalog names may (the sync checked them; so do we).
    if let Some(bad) = dimensions
        .iter()
        .find(|d| !crate::schema::is_known_dimension(d))
        .or_else(|| metrics.iter().find(|m| !crate::schema::is_known_metric(m)))
    {
        return Err(StoreError::InvalidName(format!("{name}.{bad}")));
    }
    let spec = TableSpec {
        name,
        dimensions,
        metrics,
        definition,
    };
    Ok(DatasetInfo {
        spec,
        complete_through: status.complete_through,
        rows,
        last_written_at: status.last_written_at,
    })
}

/// A dataset's name, typed definition (or why it can't be read), dimensions and metrics.
type DatasetRow = (String, Result<DatasetDefinition>, String, String);

fn dataset_columns() -> String {
    format!("SELECT name, dimensions, metrics, {DEFINITION_COLUMNS} FROM datasets")
}

fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DatasetRow> {
    let name: String = r.get(0)?;
    let definition = definition_from_row(&name, r, 3);
    Ok((name, definition, r.get(1)?, r.get(2)?))
}

pub(crate) fn datasets(c: &Connection) -> Result<Vec<DatasetInfo>> {
    let raw = c
        .prepare(&format!("{} ORDER BY name", dataset_columns()))?
        .query_map([], dataset_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|row| info_from_row(c, row, RowCount::Count))
        .collect()
}

pub(crate) fn dataset(c: &Connection, name: &str) -> Result<Option<DatasetInfo>> {
    let raw = c
        .query_row(
            &format!("{} WHERE name = ?1", dataset_columns()),
            [name],
            dataset_row,
        )
        .optional()?;
    raw.map(|row| info_from_row(c, row, RowCount::Skip))
        .transpose()
}

/// The most recent runs, newest first.
pub(crate) fn recent_runs(c: &Connection, limit: usize) -> Result<Vec<RunInfo>> {
    let mut statement = c.prepare(
        "SELECT id, command, started_at, finished_at, status, windows, rows, requests, error,
                rows_changed
         FROM runs ORDER BY id DESC LIMIT ?1",
    )?;
    let runs: Vec<(RunInfo, String)> = statement
        .query_map([limit as i64], |r| {
            let run = RunInfo {
                id: r.get(0)?,
                command: r.get(1)?,
                started_at: r.get(2)?,
                finished_at: r.get(3)?,
                status: RunStatus::Running,
                windows: r.get(5)?,
                rows: r.get(6)?,
                requests: r.get(7)?,
                error: r.get(8)?,
                rows_changed: r.get(9)?,
            };
            Ok((run, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    runs.into_iter()
        .map(|(run, word)| match RunStatus::parse(&word) {
            Some(status) => Ok(RunInfo { status, ..run }),
            None => Err(StoreError::CorruptRunStatus {
                run: run.id,
                value: word,
            }),
        })
        .collect()
}

/// The first bucket start and last bucket end stored, if any row is.
pub(crate) fn extent(c: &Connection, spec: &TableSpec) -> Result<Option<(Timestamp, Timestamp)>> {
    let (start, end): (Option<String>, Option<String>) =
        c.query_row(&crate::records::extent_sql(spec), [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let end = instant(end)?.map(|end| crate::records::extent_end(spec, end));
    Ok(instant(start)?.zip(end))
}

/// The table a segment is read from: a rolled-up segment of whole local days (in the
/// dataset's time zone) reads the per-day rollup when the store has one, with the same
/// result from one row per day and group.
fn table_for(
    c: &Connection,
    selection: &Selection,
    segment: (Timestamp, Timestamp),
) -> Result<String> {
    if selection.rollup
        && let Some(grid) = &selection.days
        && grid.starts_day(segment.0)
        && grid.starts_day(segment.1)
        && days::exists(c, &selection.spec.name)?
    {
        return Ok(day_table(&selection.spec.name));
    }
    Ok(selection.spec.name.clone())
}

/// Up to `limit` rows of the selection over the segment `[start, end)`, skipping the first
/// `offset`, each handed to `each` as SQLite gives it; returns how many.
pub(crate) fn visit_selection(
    c: &Connection,
    selection: &Selection,
    segment: (Timestamp, Timestamp),
    offset: u64,
    limit: u64,
    each: &mut Visitor<'_>,
) -> Result<u64> {
    let mut values = vec![
        Bound::Text(format_instant(segment.0)),
        Bound::Text(format_instant(segment.1)),
    ];
    let table = table_for(c, selection, segment)?;
    let sql = selection.sql(&render::Sqlite, &table, &mut values);
    let n = values.len();
    values[n - 2] = Bound::Integer(limit.min(i64::MAX as u64) as i64);
    values[n - 1] = Bound::Integer(offset.min(i64::MAX as u64) as i64);
    let mut statement = c.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(values.iter()))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(&RowRef::new(row))?;
        count += 1;
    }
    Ok(count)
}

/// Hands each row of a rendered statement to `each`; returns how many.
pub(crate) fn visit_statement(
    c: &Connection,
    statement: &Statement,
    mut each: impl FnMut(&RowRef<'_, '_>) -> Result<()>,
) -> Result<u64> {
    let mut prepared = c.prepare(&statement.sql)?;
    let mut rows = prepared.query(params_from_iter(statement.values.iter()))?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        each(&RowRef::new(row))?;
        count += 1;
    }
    Ok(count)
}

/// The rows an OData query selects, copied out.
pub(crate) fn query_rows(c: &Connection, query: &Query) -> Result<Vec<Vec<Cell>>> {
    let mut out = Vec::new();
    visit_statement(c, &render::rows(query), |row| {
        out.push(cells(row)?);
        Ok(())
    })?;
    Ok(out)
}

/// How many rows the OData query's filter matches.
pub(crate) fn query_count(c: &Connection, query: &Query) -> Result<i64> {
    let statement = render::count(query);
    Ok(c.query_row(
        &statement.sql,
        params_from_iter(statement.values.iter()),
        |r| r.get(0),
    )?)
}

/// A table's columns in their order; empty if there is no such table.
pub(crate) fn table_columns(c: &Connection, table: &str) -> Result<Vec<DeclaredColumn>> {
    let mut statement =
        c.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = statement
        .query_map([table], |r| {
            Ok(DeclaredColumn {
                name: r.get(0)?,
                declared: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                primary_key: r.get::<_, i64>(3)? != 0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(columns)
}
