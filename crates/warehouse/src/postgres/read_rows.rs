//! Rows out of PostgreSQL: a row's cells typed as the store's ([`CellRef`]), borrowed from the
//! driver's row (its instants written as the store's text beside it), and statements whose
//! rows reach a visitor as the server sends them, so a read of any size holds a few messages
//! at a time.

use std::ops::Range;
use std::pin::pin;

use futures_util::TryStreamExt;
use genesys::interval::write_instant_ms;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Row};

use super::Fail;
use super::driver::block_on;
use super::instant::Instant;
use super::render_bind::parameters;
use crate::cells::{CellRef, RowRef};
use crate::read::{Cell, cells};
use crate::reader::Visitor;
use crate::statement::{Bound, Statement};
use crate::{Result, StoreError};

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

/// The cell at `index`, as the store's reads type it (integers, reals, text, null); an
/// instant is its text in `instants`.
pub(crate) fn cell<'r>(
    row: &'r Row,
    instants: &'r InstantTexts,
    index: usize,
) -> Result<CellRef<'r>> {
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
        Type::TIMESTAMPTZ => instants.text(index).map_or(CellRef::Null, CellRef::Text),
        Type::BYTEA => row
            .try_get::<_, Option<&[u8]>>(index)
            .map_err(fail)?
            .map_or(CellRef::Null, CellRef::Blob),
        _ => return Err(unreadable(row, index, format!("a value of type {ty}"))),
    })
}

/// The `timestamptz` cells of the row being visited, written as the store's text
/// (`YYYY-MM-DDTHH:MM:SS.mmmZ`, as SQLite keeps them). Reads return instants in PostgreSQL's
/// binary form and the text is written here: `to_char` in the server cost it a third of an
/// export's work, and that server is shared.
#[derive(Default)]
pub(crate) struct InstantTexts {
    /// The statement's instant columns, known from its first row.
    columns: Option<Vec<usize>>,
    text: Vec<u8>,
    /// Where each column's text is in `text`, by column index (`None`: null, or no instant).
    spans: Vec<Option<Range<usize>>>,
}

impl InstantTexts {
    /// Writes the instants of `row` (a row of the statement every earlier one came from).
    pub(crate) fn read(&mut self, row: &Row) -> Result<()> {
        let columns = self.columns.get_or_insert_with(|| {
            let columns = row.columns().iter();
            columns
                .enumerate()
                .filter(|(_, c)| *c.type_() == Type::TIMESTAMPTZ)
                .map(|(i, _)| i)
                .collect()
        });
        if columns.is_empty() {
            return Ok(());
        }
        self.spans.resize(row.len(), None);
        self.text.clear();
        for &index in columns.iter() {
            let instant = row
                .try_get::<_, Option<Instant>>(index)
                .map_err(|e| unreadable(row, index, e))?;
            self.spans[index] = instant.map(|Instant(at)| {
                let start = self.text.len();
                // Floored to the millisecond, as `format_instant` writes it.
                write_instant_ms(&mut self.text, at.as_microsecond().div_euclid(1000));
                start..self.text.len()
            });
        }
        Ok(())
    }

    fn text(&self, index: usize) -> Option<&[u8]> {
        let span = self.spans.get(index)?.clone()?;
        Some(&self.text[span])
    }
}

/// A statement's rows copied out (a page whose size the caller bounds).
pub(crate) fn copied_rows(client: &Client, statement: &Statement) -> Result<Vec<Vec<Cell>>, Fail> {
    let mut rows = Vec::new();
    visit_rows(client, statement, &mut |row| {
        rows.push(cells(row)?);
        Ok(())
    })?;
    Ok(rows)
}

/// The first row's first cell of a statement, an integer (a count).
pub(crate) fn first_integer(client: &Client, statement: &Statement) -> Result<Option<i64>, Fail> {
    let mut first = None;
    visit_rows(client, statement, &mut |row| {
        if first.is_none()
            && let CellRef::Integer(value) = row.cell(0)?
        {
            first = Some(value);
        }
        Ok(())
    })?;
    Ok(first)
}

/// Hands each row of `statement` to `each` as PostgreSQL sends it; returns how many.
fn visit_rows(client: &Client, statement: &Statement, each: &mut Visitor<'_>) -> Result<u64, Fail> {
    let prepared = block_on(client.prepare(&statement.sql))?;
    visit_prepared(client, &prepared, &statement.values, each)
}

/// Hands each row of the `prepared` statement, bound to `values`, to `each` as PostgreSQL
/// sends it; returns how many. The driver reads no further ahead of the visitor than the one
/// batch of messages its channel holds, so a read of any size (an export's chunk, a page)
/// holds that much, and the server computes the next rows while the visitor takes these.
pub(crate) fn visit_prepared(
    client: &Client,
    prepared: &tokio_postgres::Statement,
    values: &[Bound],
    each: &mut Visitor<'_>,
) -> Result<u64, Fail> {
    block_on(async {
        let rows = client.query_raw(prepared, parameters(values)).await?;
        let mut rows = pin!(rows);
        let mut instants = InstantTexts::default();
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            instants.read(&row)?;
            each(&RowRef::postgres(&row, &instants))?;
            count += 1;
        }
        Ok(count)
    })
}
