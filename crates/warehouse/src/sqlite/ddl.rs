//! The DDL of a dataset: its wide table, unique key index and `<dataset>_kpi` view (its
//! figures are `crate::kpi`'s).

use rusqlite::Transaction;

use crate::Result;
use crate::schema::{TableSpec, quote};

/// The table's columns, quoted, in table order: the interval bounds, dimensions, metric columns.
pub(crate) fn column_names(spec: &TableSpec) -> Vec<String> {
    spec.quoted_columns()
}

/// `CREATE TABLE`'s column list for the dataset's table (and its per-day rollup).
pub(crate) fn column_definitions(spec: &TableSpec) -> String {
    // A record still open has no end yet.
    let end = match spec.record_kind() {
        Some(_) => "interval_end TEXT",
        None => "interval_end TEXT NOT NULL",
    };
    let mut columns = vec!["interval_start TEXT NOT NULL".to_string(), end.to_string()];
    columns.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("{} TEXT", quote(c))),
    );
    columns.extend(
        spec.metric_columns()
            .iter()
            .map(|c| format!("{} {}", quote(&c.column), c.sql_type)),
    );
    columns.join(", ")
}

pub(crate) fn create_table(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let table = quote(&spec.name);
    tx.execute_batch(&format!(
        "CREATE TABLE {table} ({});",
        column_definitions(spec)
    ))?;
    let mut key = vec!["interval_start".to_string()];
    key.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("ifnull({}, '')", quote(c))),
    );
    let index = quote(&format!("{}_key", spec.name));
    tx.execute_batch(&format!(
        "CREATE UNIQUE INDEX {index} ON {table} ({});",
        key.join(", ")
    ))?;
    if let Some(open) = crate::records::open_records_index(spec) {
        tx.execute_batch(&open)?;
    }
    create_kpi_view(tx, spec)
}

/// Drops the dataset's table and view (its per-day table is `days::drop`'s).
pub(crate) fn drop_table(tx: &Transaction<'_>, name: &str) -> Result<()> {
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {}; DROP TABLE IF EXISTS {};",
        quote(&format!("{name}_kpi")),
        quote(name)
    ))?;
    Ok(())
}

/// The `SELECT` list of a KPI view over `table` (aliased `t`), `leading` columns after the
/// row id (`render::kpi_view`).
pub(crate) fn kpi_select(spec: &TableSpec, leading: &[&str]) -> String {
    crate::render::kpi_view::kpi_select(&crate::sqlite::render::Sqlite, spec, leading)
}

/// Record datasets have no figures, so no KPI view.
pub(crate) fn create_kpi_view(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    if spec.record_kind().is_some() {
        return Ok(());
    }
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {view}; CREATE VIEW {view} AS SELECT {} FROM {} AS t;",
        kpi_select(spec, &[]),
        quote(&spec.name),
        view = quote(&spec.kpi_view_name()),
    ))?;
    Ok(())
}
