//! Rows out of PostgreSQL: a row's cells typed as the store's ([`CellRef`]), borrowed from the
//! driver's row, and statements whose rows reach a visitor in batches from a server-side
//! cursor, so an export of any size holds one batch at a time.

use deadpool_postgres::ClientWrapper;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

use super::Fail;
use super::read::block_on;
use super::render_bind::parameters;
use crate::cells::{CellRef, RowRef};
use crate::read::{Cell, cells};
use crate::reader::Visitor;
use crate::statement::Statement;
use crate::{Result, StoreError};

/// Rows fetched from a cursor at a time: what a long read holds in memory. A read of no more
/// (a page, or a chunk of the server's exports, 2,000 rows) is one prepared statement.
pub(crate) const FETCH_ROWS: u64 = 2_048;

fn unreadable(row: &Row, index: usize, reason: impl std::fmt::Display) -> StoreError {
    let column = row
        .columns()
        .get(index)
        .map_or_else(|| format!("#{index}"), |c| c.name().to_string());
    StoreError::Postgres(super::PostgresError::Value {
        column,
        value: reason.to_string(),
    })
}

/// The cell at `index`, as the store's reads type it (integers, reals, text, null).
pub(crate) fn cell(row: &Row, index: usize) -> Result<CellRef<'_>> {
    let Some(column) = row.columns().get(index) else {
        return Err(StoreError::from(rusqlite::Error::InvalidColumnIndex(index)));
    };
    let fail = |e: tokio_postgres::Error| unreadable(row, index, e);
    let ty = column.type_();
    Ok(match *ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, CellRef::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, |i| CellRef::Integer(i.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, CellRef::Real),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, |b| CellRef::Integer(b.into())),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => row
            .try_get::<_, Option<&str>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, |t| CellRef::Text(t.as_bytes())),
        Type::BYTEA => row
            .try_get::<_, Option<&[u8]>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, CellRef::Blob),
        _ => return Err(unreadable(row, index, format!("a value of type {ty}"))),
    })
}

/// A statement's rows, all of them in memory (a page whose size the caller bounds).
pub(crate) fn all_rows(client: &Client, statement: &Statement) -> Result<Vec<Row>, Fail> {
    let parameters = parameters(&statement.values);
    Ok(block_on(async {
        let prepared = client.prepare(&statement.sql).await?;
        client.query(&prepared, &parameters).await
    })?)
}

/// A statement's rows copied out.
pub(crate) fn copied_rows(client: &Client, statement: &Statement) -> Result<Vec<Vec<Cell>>, Fail> {
    let rows = all_rows(client, statement)?;
    Ok(rows
        .iter()
        .map(|row| cells(&RowRef::postgres(row)))
        .collect::<Result<_>>()?)
}

/// Hands each row of `statement` to `each` through a server-side cursor named `cursor`, in
/// batches of [`FETCH_ROWS`]; returns how many. The caller's transaction holds the cursor
/// (a cursor lives in one); an error leaves the transaction for the caller to end.
pub(crate) fn visit_by_cursor(
    client: &Client,
    cursor: &str,
    statement: &Statement,
    limit: u64,
    each: &mut Visitor<'_>,
) -> Result<u64, Fail> {
    let parameters = parameters(&statement.values);
    block_on(async {
        let declare = client
            .prepare(&format!(
                "DECLARE {cursor} NO SCROLL CURSOR FOR {}",
                statement.sql
            ))
            .await?;
        client.execute(&declare, &parameters).await
    })?;
    let fetch = format!("FETCH {FETCH_ROWS} FROM {cursor}");
    let mut count = 0;
    loop {
        let batch = block_on(client.query_typed(&fetch, &[]))?;
        for row in &batch {
            each(&RowRef::postgres(row))?;
        }
        count += batch.len() as u64;
        // A short batch is the last; so is the one that reaches the statement's limit.
        if (batch.len() as u64) < FETCH_ROWS || count >= limit {
            break;
        }
    }
    block_on(client.batch_execute(&format!("CLOSE {cursor}")))?;
    Ok(count)
}

/// Hands each row of `statement` (a page the caller bounds) to `each`; returns how many. The
/// statement stays prepared on the connection: a rollup reads one segment after another with
/// the same statement.
pub(crate) fn visit_all(
    client: &ClientWrapper,
    statement: &Statement,
    each: &mut Visitor<'_>,
) -> Result<u64, Fail> {
    let parameters = parameters(&statement.values);
    let rows = block_on(async {
        let prepared = client.prepare_cached(&statement.sql).await?;
        client.query(&prepared, &parameters).await
    })?;
    for row in &rows {
        each(&RowRef::postgres(row))?;
    }
    Ok(rows.len() as u64)
}
