//! The DDL of a dataset: its wide table, unique key index and `<dataset>_kpi` view.

use rusqlite::Transaction;

use crate::Result;
use crate::schema::{TableSpec, quote};

/// The table's columns, quoted, in table order: the interval bounds, dimensions, metric columns.
pub(crate) fn column_names(spec: &TableSpec) -> Vec<String> {
    let mut names = vec!["interval_start".to_string(), "interval_end".to_string()];
    names.extend(spec.dimension_columns().iter().map(|c| quote(c)));
    names.extend(spec.metric_columns().iter().map(|c| quote(&c.column)));
    names
}

/// `CREATE TABLE`'s column list for the dataset's table (and its per-day rollup).
pub(crate) fn column_definitions(spec: &TableSpec) -> String {
    let mut columns = vec![
        "interval_start TEXT NOT NULL".to_string(),
        "interval_end TEXT NOT NULL".to_string(),
    ];
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

/// The figures people read, derived from sums and counts (never an average of averages).
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
    if has("nOffered") && has("tAnswered") {
        out.push("1.0 * t_answered_count / NULLIF(n_offered, 0) AS answer_rate".to_string());
    }
    if has("nOffered") && has("tAbandon") {
        out.push("1.0 * t_abandon_count / NULLIF(n_offered, 0) AS abandon_rate".to_string());
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
            out.push(format!(
                "{column}_sum_ms / 1000.0 / NULLIF({column}_count, 0) AS {alias}"
            ));
        }
    }
    if has("oServiceLevel") {
        out.push(
            "1.0 * o_service_level_numerator / NULLIF(o_service_level_denominator, 0) AS service_level".to_string(),
        );
    }
    out
}

pub(crate) fn create_kpi_view(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let mut select = vec!["interval_start".to_string(), "interval_end".to_string()];
    select.extend(spec.dimension_columns().iter().map(|c| quote(c)));
    select.extend(kpi_expressions(spec));
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {view}; CREATE VIEW {view} AS SELECT {} FROM {};",
        select.join(", "),
        quote(&spec.name),
        view = quote(&spec.kpi_view_name()),
    ))?;
    Ok(())
}
