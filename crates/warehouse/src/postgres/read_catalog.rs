//! The reads about the store rather than a dataset's rows, on one PostgreSQL connection:
//! datasets and their progress, recent runs, a dataset's extent, a directory's declared
//! columns (in SQLite's words, so the OData feed types them the same), whether a per-day
//! rollup exists.

use jiff::Timestamp;
use tokio_postgres::Client;

use super::Fail;
use super::datasets::dataset_spec;
use super::driver::block_on;
use super::instant::Instant;
use super::render::INSTANT_FORMAT;
use crate::read::{DatasetInfo, RunInfo};
use crate::reader::DeclaredColumn;
use crate::schema::{TableSpec, day_table, is_valid_identifier, quote};
use crate::{RunStatus, StoreError};

/// One dataset: its spec, checked as SQLite's reader checks it, its watermark and last write,
/// and its row count when `count` (a scan of its key index, so only listings ask).
fn info(c: &Client, name: String, count: bool) -> Result<DatasetInfo, Fail> {
    if !is_valid_identifier(&name) {
        return Err(StoreError::InvalidName(name).into());
    }
    let spec = block_on(dataset_spec(c, &name))?;
    // They become column names: only catalog names may (the sync checked them; so do we).
    if let Some(bad) = spec
        .dimensions
        .iter()
        .find(|d| !crate::schema::is_known_dimension(d))
        .or_else(|| {
            spec.metrics
                .iter()
                .find(|m| !crate::schema::is_known_metric(m))
        })
    {
        return Err(StoreError::InvalidName(format!("{name}.{bad}")).into());
    }
    let rows = if count {
        let sql = format!("SELECT count(*) FROM {}", quote(&name));
        let counted: i64 = block_on(c.query_one(&sql, &[]))?.get(0);
        Some(counted as u64)
    } else {
        None
    };
    let progress = block_on(c.query_one(
        "SELECT (SELECT complete_through FROM watermarks WHERE dataset = $1),
                (SELECT max(written_at) FROM windows WHERE dataset = $1)",
        &[&name],
    ))?;
    Ok(DatasetInfo {
        spec,
        complete_through: progress.get::<_, Option<Instant>>(0).map(|i| i.0),
        rows,
        last_written_at: progress.get::<_, Option<Instant>>(1).map(|i| i.0),
    })
}

/// Every dataset, by name, with its row count.
pub(crate) fn datasets(c: &Client) -> Result<Vec<DatasetInfo>, Fail> {
    let names = block_on(c.query("SELECT name FROM datasets ORDER BY name", &[]))?;
    names.iter().map(|row| info(c, row.get(0), true)).collect()
}

/// One dataset without its row count, if the store has it.
pub(crate) fn dataset(c: &Client, name: &str) -> Result<Option<DatasetInfo>, Fail> {
    let found = block_on(c.query_opt("SELECT name FROM datasets WHERE name = $1", &[&name]))?;
    found.map(|row| info(c, row.get(0), false)).transpose()
}

/// The most recent runs, newest first; instants as SQLite's text.
pub(crate) fn recent_runs(c: &Client, limit: usize) -> Result<Vec<RunInfo>, Fail> {
    let sql = format!(
        "SELECT id, command, to_char(started_at AT TIME ZONE 'UTC', {INSTANT_FORMAT}),
                to_char(finished_at AT TIME ZONE 'UTC', {INSTANT_FORMAT}),
                status, windows, rows, requests, error, rows_changed
         FROM runs ORDER BY id DESC LIMIT $1"
    );
    let rows = block_on(c.query(&sql, &[&(limit as i64)]))?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let word: String = r.get(4);
            let status = RunStatus::parse(&word).ok_or(StoreError::CorruptRunStatus {
                run: id,
                value: word,
            })?;
            Ok(RunInfo {
                id,
                command: r.get(1),
                started_at: r.get(2),
                finished_at: r.get(3),
                status,
                windows: r.get(5),
                rows: r.get(6),
                requests: r.get(7),
                error: r.get(8),
                rows_changed: r.get(9),
            })
        })
        .collect()
}

/// The first bucket start and last bucket end stored, both from the key index.
pub(crate) fn extent(c: &Client, spec: &TableSpec) -> Result<Option<(Timestamp, Timestamp)>, Fail> {
    let row = block_on(c.query_one(&crate::records::extent_sql(spec), &[]))?;
    let start = row.get::<_, Option<Instant>>(0).map(|i| i.0);
    let end = (row.get::<_, Option<Instant>>(1)).map(|i| crate::records::extent_end(spec, i.0));
    Ok(start.zip(end))
}

/// Whether the store has the dataset's per-day table.
pub(crate) fn has_day_table(c: &Client, dataset: &str) -> Result<bool, Fail> {
    let row = block_on(c.query_one(
        "SELECT to_regclass(quote_ident($1)) IS NOT NULL",
        &[&day_table(dataset)],
    ))?;
    Ok(row.get(0))
}

/// SQLite's word for a column type, as the OData feed reads declared types.
fn declared(postgres_type: &str) -> &'static str {
    match postgres_type {
        "bigint" | "integer" | "smallint" | "boolean" => "INTEGER",
        "double precision" | "real" => "REAL",
        _ => "TEXT",
    }
}

/// A table's columns in their order; empty if there is no such table.
pub(crate) fn table_columns(c: &Client, table: &str) -> Result<Vec<DeclaredColumn>, Fail> {
    let rows = block_on(c.query(
        "SELECT a.attname::text, format_type(a.atttypid, NULL), a.attnotnull,
                EXISTS (SELECT 1 FROM pg_index i
                        WHERE i.indrelid = a.attrelid AND i.indisprimary
                          AND a.attnum = ANY (i.indkey))
         FROM pg_attribute a
         WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
        &[&table],
    ))?;
    Ok(rows
        .iter()
        .map(|r| DeclaredColumn {
            name: r.get(0),
            declared: declared(r.get(1)).to_string(),
            not_null: r.get(2),
            primary_key: r.get(3),
        })
        .collect())
}

/// How many datasets the store holds.
pub(crate) fn dataset_count(c: &Client) -> Result<i64, Fail> {
    Ok(block_on(c.query_one("SELECT count(*) FROM datasets", &[]))?.get(0))
}
