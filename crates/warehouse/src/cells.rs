//! A row as the store hands it to a reader: typed cells borrowed from the statement's current
//! row, so a caller (an export writing tens of millions of cells) never sees the backend's own
//! row type and pays no copy or allocation per cell.

use crate::StoreError;
use crate::postgres::read_rows::InstantTexts;

/// One cell, borrowed from the row it was read from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    /// UTF-8 text as stored (the store writes only text it was given as `str`).
    Text(&'a [u8]),
    /// Bytes the store never writes in a dataset; readers treat them as no value.
    Blob(&'a [u8]),
}

impl<'a> From<rusqlite::types::ValueRef<'a>> for CellRef<'a> {
    #[inline]
    fn from(value: rusqlite::types::ValueRef<'a>) -> Self {
        use rusqlite::types::ValueRef;
        match value {
            ValueRef::Null => CellRef::Null,
            ValueRef::Integer(i) => CellRef::Integer(i),
            ValueRef::Real(r) => CellRef::Real(r),
            ValueRef::Text(t) => CellRef::Text(t),
            ValueRef::Blob(b) => CellRef::Blob(b),
        }
    }
}

/// The statement's current row. Valid only while the visitor it was handed to runs.
pub struct RowRef<'r, 's> {
    row: Backend<'r, 's>,
}

/// The row as its backend holds it.
enum Backend<'r, 's> {
    Sqlite(&'r rusqlite::Row<'s>),
    /// The driver's row, and its instants as text.
    Postgres(&'r tokio_postgres::Row, &'r InstantTexts),
}

impl<'r, 's> RowRef<'r, 's> {
    pub(crate) fn new(row: &'r rusqlite::Row<'s>) -> Self {
        Self {
            row: Backend::Sqlite(row),
        }
    }

    pub(crate) fn postgres(row: &'r tokio_postgres::Row, instants: &'r InstantTexts) -> Self {
        Self {
            row: Backend::Postgres(row, instants),
        }
    }

    /// How many cells the row has.
    #[inline]
    pub fn width(&self) -> usize {
        match self.row {
            Backend::Sqlite(row) => row.as_ref().column_count(),
            Backend::Postgres(row, _) => row.len(),
        }
    }

    /// The cell at `index` (from 0); an index past the row's width is an error.
    #[inline]
    pub fn cell(&self, index: usize) -> Result<CellRef<'r>, StoreError> {
        match self.row {
            Backend::Sqlite(row) => row
                .get_ref(index)
                .map(CellRef::from)
                .map_err(StoreError::from),
            Backend::Postgres(row, instants) => {
                crate::postgres::read_rows::cell(row, instants, index)
            }
        }
    }

    /// The error of asking for a cell the row does not have.
    pub fn missing(&self, index: usize) -> StoreError {
        StoreError::from(rusqlite::Error::InvalidColumnIndex(index))
    }
}
