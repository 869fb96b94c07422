//! Running a statement the warehouse rendered for a reader (the OData pages), with its values
//! bound: the caller holds the statement as data and never the backend's types.

use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::Result;
use crate::cells::RowRef;
use crate::read::{Cell, Connection, cells};

/// A value bound to a statement's `?n` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

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

/// A statement and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<Bound>,
}

impl Statement {
    /// Hands each row to `each`, as the store gives it; returns how many.
    pub fn visit(
        &self,
        c: &Connection,
        mut each: impl FnMut(&RowRef<'_, '_>) -> Result<()>,
    ) -> Result<u64> {
        let mut prepared = c.prepare(&self.sql)?;
        let mut rows = prepared.query(rusqlite::params_from_iter(self.values.iter()))?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            each(&RowRef::new(row))?;
            count += 1;
        }
        Ok(count)
    }

    /// Every row, copied out.
    pub fn rows(&self, c: &Connection) -> Result<Vec<Vec<Cell>>> {
        let mut out = Vec::new();
        self.visit(c, |row| {
            out.push(cells(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first cell of the only row, as an integer (a count).
    pub fn count(&self, c: &Connection) -> Result<i64> {
        Ok(c.query_row(
            &self.sql,
            rusqlite::params_from_iter(self.values.iter()),
            |r| r.get(0),
        )?)
    }
}
