//! A window's rows into its table by `COPY … FROM STDIN (FORMAT binary)`: each row's cells
//! typed as the table's columns are, encoded once, streamed in the transaction.

use std::error::Error;
use std::pin::Pin;

use bytes::BytesMut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::Fail;
use super::instant::Instant;
use crate::rows::{AggregateRow, Value};
use crate::schema::{TableSpec, day_table, quote};

/// The `COPY` statement for the dataset's table and the columns' types, in table order.
pub(crate) fn statement(spec: &TableSpec) -> (String, Vec<Type>) {
    statement_into(&spec.name, spec, &[])
}

/// The `COPY` statement for the dataset's per-day table: the dataset's columns, then `date`.
pub(crate) fn day_statement(spec: &TableSpec) -> (String, Vec<Type>) {
    statement_into(&day_table(&spec.name), spec, &["date"])
}

/// The dataset's columns, then `text` columns `extra`, into `table`.
fn statement_into(table: &str, spec: &TableSpec, extra: &[&str]) -> (String, Vec<Type>) {
    let mut names = vec!["interval_start".to_string(), "interval_end".to_string()];
    let mut types = vec![Type::TIMESTAMPTZ, Type::TIMESTAMPTZ];
    for dimension in spec.dimension_columns() {
        names.push(quote(&dimension));
        types.push(Type::TEXT);
    }
    for column in spec.metric_columns() {
        names.push(quote(&column.column));
        types.push(if column.sql_type == "INTEGER" {
            Type::INT8
        } else {
            Type::FLOAT8
        });
    }
    for name in extra {
        names.push(quote(name));
        types.push(Type::TEXT);
    }
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        quote(table),
        names.join(", ")
    );
    (sql, types)
}

/// One cell of a row as its column takes it.
#[derive(Debug)]
enum Cell<'a> {
    Instant(Instant),
    Text(Option<&'a str>),
    Value(Option<Value>),
}

impl ToSql for Cell<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Cell::Instant(at) => at.to_sql(ty, out),
            Cell::Text(text) => text.to_sql(ty, out),
            Cell::Value(None) => Ok(IsNull::Yes),
            // As the column stores it; a real that is not whole can't go in an integer column.
            Cell::Value(Some(value)) => match value.as_stored(*ty == Type::FLOAT8) {
                Value::Real(r) if *ty == Type::FLOAT8 => r.to_sql(ty, out),
                Value::Int(i) => i.to_sql(ty, out),
                Value::Real(r) => {
                    Err(format!("{r} is not a whole number, as the integer column needs").into())
                }
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Streams `rows` into the `COPY` in progress.
pub(crate) async fn rows(
    writer: Pin<&mut BinaryCopyInWriter>,
    rows: &[AggregateRow],
) -> Result<(), Fail> {
    rows_with(writer, rows, None).await
}

/// Streams `rows` into the `COPY` in progress, each followed by the text `extra` if given.
pub(crate) async fn rows_with(
    mut writer: Pin<&mut BinaryCopyInWriter>,
    rows: &[AggregateRow],
    extra: Option<&str>,
) -> Result<(), Fail> {
    let mut cells: Vec<Cell<'_>> = Vec::new();
    for row in rows {
        cells.clear();
        cells.push(Cell::Instant(Instant(row.interval.start)));
        cells.push(Cell::Instant(Instant(row.interval.end)));
        cells.extend(row.group.iter().map(|g| Cell::Text(g.as_deref())));
        cells.extend(row.values.iter().map(|v| Cell::Value(*v)));
        cells.extend(extra.map(|e| Cell::Text(Some(e))));
        writer.as_mut().write_raw(cells.iter()).await?;
    }
    Ok(())
}
