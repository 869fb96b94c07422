//! The per-day rollup table `<dataset>__daily` in PostgreSQL (what it holds: `crate::days`):
//! created, dropped, filled, and rewritten for the days a window overlaps: the days the window
//! covers summed in Rust as its rows were written (`crate::days::DayTally`) and copied in, any
//! other day by PostgreSQL in one `INSERT … SELECT` over the days' bounds.

use genesys::Interval;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::ddl::{create_day_table, table_exists};
use super::instant::Instant;
use super::{Fail, copy};
use crate::days::{DayGrid, Tallied};
use crate::rows::AggregateRow;
use crate::schema::{TableSpec, day_table, quote};

/// Brings the per-day table in line with the dataset: created and filled from the stored rows
/// when the dataset has days to roll up and the table is missing, dropped when it has none.
pub(crate) async fn ensure(tx: &impl GenericClient, spec: &TableSpec) -> Result<(), Fail> {
    let exists = table_exists(tx, &day_table(&spec.name)).await?;
    match (DayGrid::of(spec), exists) {
        (Some(grid), false) => {
            create_day_table(tx, spec).await?;
            fill(tx, spec, &grid).await
        }
        (None, true) => {
            tx.batch_execute(&format!(
                "DROP VIEW IF EXISTS {}; DROP TABLE {};",
                quote(&spec.daily_kpi_view_name()),
                quote(&day_table(&spec.name))
            ))
            .await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Sums every stored day into the (empty) per-day table.
async fn fill(tx: &impl GenericClient, spec: &TableSpec, grid: &DayGrid) -> Result<(), Fail> {
    let row = tx
        .query_one(
            &format!(
                "SELECT min(interval_start), max(interval_start) FROM {}",
                quote(&spec.name)
            ),
            &[],
        )
        .await?;
    let (Some(Instant(first)), Some(Instant(last))) = (
        row.get::<_, Option<Instant>>(0),
        row.get::<_, Option<Instant>>(1),
    ) else {
        return Ok(());
    };
    let last_day = grid.day_of(last)?;
    refresh(
        tx,
        spec,
        grid,
        Interval::new(first, last_day.end),
        Tallied::default(),
    )
    .await
}

/// Rewrites the days `window` overlaps, once the window's rows are in the dataset's table: the
/// days `tallied` summed (from the rows as they were written) copied in, every other day summed
/// by PostgreSQL from the rows stored in the dataset's table.
pub(crate) async fn refresh(
    tx: &impl GenericClient,
    spec: &TableSpec,
    grid: &DayGrid,
    window: Interval,
    tallied: Tallied,
) -> Result<(), Fail> {
    let days = grid.days(window)?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(());
    };
    let table = quote(&day_table(&spec.name));
    tx.execute_typed(
        &format!("DELETE FROM {table} WHERE interval_start >= $1 AND interval_start < $2"),
        &[
            (&Instant(first.start), Type::TIMESTAMPTZ),
            (&Instant(last.end), Type::TIMESTAMPTZ),
        ],
    )
    .await?;
    if !tallied.rows.is_empty() {
        copy_days(tx, spec, grid, &tallied.rows).await?;
    }
    let days: Vec<&Interval> = (days.iter())
        .filter(|d| !tallied.days.contains(d))
        .collect();
    if days.is_empty() {
        return Ok(());
    }
    let starts: Vec<Instant> = days.iter().map(|d| Instant(d.start)).collect();
    let ends: Vec<Instant> = days.iter().map(|d| Instant(d.end)).collect();
    let dates: Vec<String> = days
        .iter()
        .map(|d| grid.date_of(d.start).to_string())
        .collect();
    tx.execute(&sum_days_sql(spec), &[&starts, &ends, &dates])
        .await?;
    Ok(())
}

/// Day rows summed in Rust (days in order) into the per-day table, by binary `COPY`, each
/// with its day's date.
async fn copy_days(
    tx: &impl GenericClient,
    spec: &TableSpec,
    grid: &DayGrid,
    rows: &[AggregateRow],
) -> Result<(), Fail> {
    let mut writer = copy::day_statement(spec).start(tx.client()).await?;
    for day in rows.chunk_by(|a, b| a.interval == b.interval) {
        let date = grid.date_of(day[0].interval.start).to_string();
        writer.rows(day, Some(&date)).await?;
    }
    writer.finish().await?;
    Ok(())
}

/// `INSERT … SELECT` of the days given as three arrays ($1 starts, $2 ends, $3 local dates),
/// rolled up by day and group. A day without rows makes no row. `sum(bigint)` is `numeric`,
/// cast back to the column's `bigint` on insert (an overflow fails the write, as SQLite's
/// `sum` does).
fn sum_days_sql(spec: &TableSpec) -> String {
    let dimensions: Vec<String> = spec.dimension_columns().iter().map(|c| quote(c)).collect();
    let mut names = vec![
        "interval_start".to_string(),
        "interval_end".to_string(),
        "date".to_string(),
    ];
    names.extend(dimensions.iter().cloned());
    let mut select = vec![
        "day.day_start".to_string(),
        "day.day_end".to_string(),
        "day.day_date".to_string(),
    ];
    select.extend(dimensions.iter().map(|d| format!("t.{d}")));
    for column in spec.metric_columns() {
        names.push(quote(&column.column));
        select.push(format!(
            "{}(t.{})",
            column.field.rollup().sql_function(),
            quote(&column.column)
        ));
    }
    let mut group = vec![
        "day.day_start".to_string(),
        "day.day_end".to_string(),
        "day.day_date".to_string(),
    ];
    group.extend(dimensions.iter().map(|d| format!("t.{d}")));
    format!(
        "INSERT INTO {day_table} ({names})
         SELECT {select}
         FROM unnest($1::timestamptz[], $2::timestamptz[], $3::text[]) AS day (day_start, day_end, day_date)
         JOIN {table} AS t ON t.interval_start >= day.day_start AND t.interval_start < day.day_end
         GROUP BY {group}",
        day_table = quote(&day_table(&spec.name)),
        table = quote(&spec.name),
        names = names.join(", "),
        select = select.join(", "),
        group = group.join(", "),
    )
}
