//! `store copy`: an embedded SQLite store copied into a PostgreSQL one, so a user who started
//! with the demo keeps history and keys: every dataset's table (row ids too, which the OData
//! feed shows) and per-day table, the directories, watermarks, window log, runs and API keys
//! (their hashes: the same keys keep working). One transaction; each dataset's rows, log and
//! watermark, and each run and key, replace the destination's, so running it again is
//! harmless. Datasets the destination has and the source doesn't are left alone.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::postgres::driver::block_on;
use crate::postgres::{Fail, PostgresConfig, PostgresStore, connect, datasets, migrations};
use crate::schema::{TableSpec, day_table, quote};
use crate::statement::Bound;
use crate::{Result, StoreError};

/// What a copy wrote: each table and its rows, in the order copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub datasets: Vec<String>,
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// Copies the SQLite store at `from` into the PostgreSQL store `to` (made and migrated first
/// if it is new).
pub fn sqlite_to_postgres(from: &Path, to: &PostgresConfig) -> Result<CopyReport> {
    // Brings the source up to this version's schema (as any genesys-bi opening it would) and
    // the destination into being; then the source is only read.
    drop(crate::SqliteStore::open(from)?);
    drop(PostgresStore::open(to)?);
    let source = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let specs: Vec<TableSpec> = crate::sqlite::reads::datasets(&source)?
        .into_iter()
        .map(|info| info.spec)
        .collect();
    let runtime = connect::OwnRuntime::new()?;
    let pool = connect::pool(to)?;
    let mut client = runtime
        .block_on_anywhere(|| connect::client(&pool))
        .map_err(|fail| fail.into_store(to))?;
    copy_all(&source, &mut client, to, &specs).map_err(|fail| fail.into_store(to))
}

fn copy_all(
    source: &Connection,
    client: &mut tokio_postgres::Client,
    config: &PostgresConfig,
    specs: &[TableSpec],
) -> Result<CopyReport, Fail> {
    let tx = block_on(client.transaction())?;
    block_on(connect::ddl_lock(&tx, config))?;
    let mut report = CopyReport::default();
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    for spec in specs {
        block_on(datasets::ensure(&tx, spec))?;
        for table in [spec.name.clone(), day_table(&spec.name)] {
            if has_table(source, &table)? && pg_has_table(&tx, &table)? {
                block_on(tx.batch_execute(&format!("DELETE FROM {}", quote(&table))))?;
                let rows = copy_table(source, &tx, &table, None)?;
                report.tables.push((table, rows));
            }
        }
        report.datasets.push(spec.name.clone());
    }
    for table in ["windows", "watermarks"] {
        block_on(tx.execute(
            &format!("DELETE FROM {table} WHERE dataset = ANY ($1)"),
            &[&names],
        ))?;
        let rows = copy_table(source, &tx, table, Some(("dataset", &names)))?;
        report.tables.push((table.into(), rows));
    }
    for table in ["runs", "api_keys"] {
        // A store that never had a key has no `api_keys` table (made with the first key).
        if !has_table(source, table)? {
            continue;
        }
        let ids = source_ids(source, table)?;
        block_on(tx.execute(&format!("DELETE FROM {table} WHERE id = ANY ($1)"), &[&ids]))?;
        let rows = copy_table(source, &tx, table, None)?;
        report.tables.push((table.into(), rows));
    }
    for table in ["queues", "users", "wrapup_codes", "presences"] {
        // A store last opened before presences were kept has no such table.
        if !has_table(source, table)? {
            continue;
        }
        block_on(tx.batch_execute(&format!("DELETE FROM {table}")))?;
        let rows = copy_table(source, &tx, table, None)?;
        report.tables.push((table.into(), rows));
    }
    // Identities go on after the ids copied in, so new rows never take one again.
    let mut identities = vec![("runs".to_string(), "id"), ("api_keys".to_string(), "id")];
    for spec in specs {
        identities.push((spec.name.clone(), "rowid"));
        if pg_has_table(&tx, &day_table(&spec.name))? {
            identities.push((day_table(&spec.name), "rowid"));
        }
    }
    for (table, column) in identities {
        advance_identity(&tx, &table, column)?;
    }
    block_on(migrations::bump_generation(&tx))?;
    block_on(tx.commit())?;
    analyze(client, &report)?;
    Ok(report)
}

/// Planner statistics for what was copied: without them PostgreSQL plans the first reads of a
/// copied store blind, until autovacuum gets round to its tables.
fn analyze(client: &tokio_postgres::Client, report: &CopyReport) -> Result<(), Fail> {
    for (table, _) in &report.tables {
        block_on(client.batch_execute(&format!("ANALYZE {}", quote(table))))?;
    }
    Ok(())
}

fn has_table(source: &Connection, table: &str) -> Result<bool, Fail> {
    let found: i64 = source
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .map_err(StoreError::from)?;
    Ok(found > 0)
}

fn pg_has_table(c: &impl tokio_postgres::GenericClient, table: &str) -> Result<bool, Fail> {
    let row = block_on(c.query_one("SELECT to_regclass(quote_ident($1)) IS NOT NULL", &[&table]))?;
    Ok(row.get(0))
}

fn source_ids(source: &Connection, table: &str) -> Result<Vec<i64>, Fail> {
    let mut statement = source
        .prepare(&format!("SELECT id FROM {table}"))
        .map_err(StoreError::from)?;
    let ids = statement
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<i64>>>())
        .map_err(StoreError::from)?;
    Ok(ids)
}

/// The destination table's columns and their types, in order.
fn pg_columns(
    c: &impl tokio_postgres::GenericClient,
    table: &str,
) -> Result<Vec<(String, Type)>, Fail> {
    let rows = block_on(c.query(
        "SELECT attname::text, atttypid FROM pg_attribute
         WHERE attrelid = to_regclass(quote_ident($1)) AND attnum > 0 AND NOT attisdropped
         ORDER BY attnum",
        &[&table],
    ))?;
    rows.iter()
        .map(|r| {
            let oid: u32 = r.get(1);
            let ty = Type::from_oid(oid).ok_or_else(|| {
                Fail::from(crate::PostgresError::Statement(format!(
                    "column {table}.{} has a type genesys-bi does not write",
                    r.get::<_, String>(0)
                )))
            })?;
            Ok((r.get(0), ty))
        })
        .collect()
}

/// Copies the source table's rows (those whose `filter` column is one of its values) into
/// the destination's table of the same name, column by column as the destination has them,
/// by binary `COPY`; returns how many.
fn copy_table(
    source: &Connection,
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    filter: Option<(&str, &[String])>,
) -> Result<u64, Fail> {
    let columns = pg_columns(tx, table)?;
    let names: Vec<String> = columns.iter().map(|(name, _)| quote(name)).collect();
    let types: Vec<Type> = columns.iter().map(|(_, ty)| ty.clone()).collect();
    let mut select = format!("SELECT {} FROM {}", names.join(", "), quote(table));
    let mut values: Vec<String> = Vec::new();
    if let Some((column, wanted)) = filter {
        let marks: Vec<String> = (1..=wanted.len()).map(|i| format!("?{i}")).collect();
        select.push_str(&format!(
            " WHERE {} IN ({})",
            quote(column),
            marks.join(", ")
        ));
        values.extend(wanted.iter().cloned());
    }
    let sink = block_on(tx.copy_in(&format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        quote(table),
        names.join(", ")
    )))?;
    let writer = BinaryCopyInWriter::new(sink, &types);
    let mut writer = std::pin::pin!(writer);
    let mut statement = source.prepare(&select).map_err(StoreError::from)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values.iter()))
        .map_err(StoreError::from)?;
    let mut row_values: Vec<Bound> = Vec::with_capacity(columns.len());
    while let Some(row) = rows.next().map_err(StoreError::from)? {
        row_values.clear();
        for index in 0..columns.len() {
            row_values.push(bound(row.get_ref(index).map_err(StoreError::from)?));
        }
        let parameters: Vec<&(dyn ToSql + Sync)> = row_values
            .iter()
            .map(|v| v as &(dyn ToSql + Sync))
            .collect();
        block_on(writer.as_mut().write(&parameters))?;
    }
    Ok(block_on(writer.finish())?)
}

fn bound(value: ValueRef<'_>) -> Bound {
    match value {
        ValueRef::Null | ValueRef::Blob(_) => Bound::Null,
        ValueRef::Integer(i) => Bound::Integer(i),
        ValueRef::Real(r) => Bound::Real(r),
        ValueRef::Text(t) => Bound::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Moves the identity of `table.column` past the largest value stored.
fn advance_identity(
    tx: &tokio_postgres::Transaction<'_>,
    table: &str,
    column: &str,
) -> Result<(), Fail> {
    let has_column = block_on(tx.query_one(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = to_regclass(quote_ident($1)) AND attname = $2
                          AND attidentity <> '' AND NOT attisdropped)",
        &[&table, &column],
    ))?
    .get::<_, bool>(0);
    if has_column {
        let table = quote(table);
        block_on(tx.batch_execute(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                           coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
        )))?;
    }
    Ok(())
}
