//! The DDL of a dataset in PostgreSQL: its wide table (`timestamptz` bounds, `text COLLATE "C"`
//! dimensions so they order as SQLite's do, `bigint` counts and sums, `double precision`
//! ratios), its unique key, its `<dataset>_kpi` view and its `<dataset>__daily` table. The
//! names are SQLite's, column for column, so a read is written once per dialect.

use tokio_postgres::GenericClient;

use super::Fail;
use crate::schema::{TableSpec, day_table, quote};

/// PostgreSQL's type for a metric column of SQLite type `sql_type`.
pub(crate) fn metric_type(sql_type: &str) -> &'static str {
    match sql_type {
        "INTEGER" => "bigint",
        _ => "double precision",
    }
}

/// `CREATE TABLE`'s column list for the dataset's table (and its per-day rollup).
pub(crate) fn column_definitions(spec: &TableSpec) -> String {
    let mut columns = vec![
        "interval_start timestamptz NOT NULL".to_string(),
        "interval_end timestamptz NOT NULL".to_string(),
    ];
    columns.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("{} text COLLATE \"C\"", quote(c))),
    );
    columns.extend(
        spec.metric_columns()
            .iter()
            .map(|c| format!("{} {}", quote(&c.column), metric_type(c.sql_type))),
    );
    columns.join(", ")
}

pub(crate) async fn create_table(tx: &impl GenericClient, spec: &TableSpec) -> Result<(), Fail> {
    let table = quote(&spec.name);
    let mut key = vec!["interval_start".to_string()];
    key.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("coalesce({}, '')", quote(c))),
    );
    tx.batch_execute(&format!(
        "CREATE TABLE {table} ({columns});
         CREATE UNIQUE INDEX {index} ON {table} ({key});",
        columns = column_definitions(spec),
        index = quote(&format!("{}_key", spec.name)),
        key = key.join(", "),
    ))
    .await?;
    create_kpi_view(tx, spec).await
}

/// Drops the dataset's table, view and per-day table.
pub(crate) async fn drop_table(tx: &impl GenericClient, name: &str) -> Result<(), Fail> {
    tx.batch_execute(&format!(
        "DROP VIEW IF EXISTS {}; DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
        quote(&format!("{name}_kpi")),
        quote(name),
        quote(&day_table(name)),
    ))
    .await?;
    Ok(())
}

/// The figures people read, as SQLite's view has them (`sqlite::ddl`), in double precision:
/// PostgreSQL would make `1.0 * bigint` a `numeric`, where SQLite gives a real.
fn kpi_expressions(spec: &TableSpec) -> Vec<String> {
    let has = |m: &str| spec.metrics.iter().any(|x| x == m);
    let mut out = Vec::new();
    if has("nOffered") {
        out.push("n_offered AS offered".to_string());
    }
    if has("tAnswered") {
        out.push("t_answered_count AS answered".to_string());
    }
    if has("tAbandon") {
        out.push("t_abandon_count AS abandoned".to_string());
    }
    let ratio = |numerator: &str, denominator: &str, alias: &str| {
        format!("{numerator}::double precision / NULLIF({denominator}, 0) AS {alias}")
    };
    if has("nOffered") && has("tAnswered") {
        out.push(ratio("t_answered_count", "n_offered", "answer_rate"));
    }
    if has("nOffered") && has("tAbandon") {
        out.push(ratio("t_abandon_count", "n_offered", "abandon_rate"));
    }
    let averages = [
        ("tAnswered", "t_answered", "avg_speed_of_answer_s"),
        ("tHandle", "t_handle", "avg_handle_s"),
        ("tTalk", "t_talk", "avg_talk_s"),
        ("tHeld", "t_held", "avg_hold_s"),
        ("tAcw", "t_acw", "avg_acw_s"),
        ("tWait", "t_wait", "avg_wait_s"),
        ("tAbandon", "t_abandon", "avg_abandon_wait_s"),
    ];
    for (metric, column, alias) in averages {
        if has(metric) {
            // SQLite's order of operations (sum / 1000.0, then / count): the same doubles.
            out.push(format!(
                "{column}_sum_ms::double precision / 1000.0::double precision / NULLIF({column}_count, 0) AS {alias}"
            ));
        }
    }
    if has("oServiceLevel") {
        out.push(ratio(
            "o_service_level_numerator",
            "o_service_level_denominator",
            "service_level",
        ));
    }
    out
}

pub(crate) async fn create_kpi_view(tx: &impl GenericClient, spec: &TableSpec) -> Result<(), Fail> {
    let mut select = vec!["interval_start".to_string(), "interval_end".to_string()];
    select.extend(spec.dimension_columns().iter().map(|c| quote(c)));
    select.extend(kpi_expressions(spec));
    tx.batch_execute(&format!(
        "DROP VIEW IF EXISTS {view}; CREATE VIEW {view} AS SELECT {} FROM {};",
        select.join(", "),
        quote(&spec.name),
        view = quote(&spec.kpi_view_name()),
    ))
    .await?;
    Ok(())
}

/// Whether the store has this table (in its own schema).
pub(crate) async fn table_exists(c: &impl GenericClient, table: &str) -> Result<bool, Fail> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1)",
            &[&table],
        )
        .await?;
    Ok(row.get(0))
}

/// Creates the per-day rollup table (what it holds: `crate::days`).
pub(crate) async fn create_day_table(
    tx: &impl GenericClient,
    spec: &TableSpec,
) -> Result<(), Fail> {
    let name = day_table(&spec.name);
    tx.batch_execute(&format!(
        "CREATE TABLE {table} ({columns}); CREATE INDEX {index} ON {table} (interval_start);",
        table = quote(&name),
        columns = column_definitions(spec),
        index = quote(&format!("{name}_start")),
    ))
    .await?;
    Ok(())
}
