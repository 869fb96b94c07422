//! What a reader does with its connection besides reading rows: watch for other writers'
//! commits, map the file, hold one snapshot across statements, and give a connection back
//! clean. The server calls these, so it never holds the backend's statements itself.

use crate::Result;
use crate::read::Connection;

/// A number that moves whenever another connection has committed (SQLite's `data_version`);
/// comparable only between calls on the same connection.
pub fn generation(c: &Connection) -> Result<i64> {
    Ok(c.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}

/// Lets the connection map up to `bytes` of the store file instead of copying pages.
pub fn map_file(c: &Connection, bytes: i64) -> Result<()> {
    Ok(c.pragma_update(None, "mmap_size", bytes)?)
}

/// Runs `work` inside one read transaction: every statement in it sees the same snapshot.
/// An error from `work` leaves the transaction for [`end_transaction`] to end.
pub fn in_snapshot<T, E: From<crate::StoreError>>(
    c: &Connection,
    work: impl FnOnce(&Connection) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    c.execute_batch("BEGIN").map_err(crate::StoreError::from)?;
    let out = work(c)?;
    c.execute_batch("COMMIT").map_err(crate::StoreError::from)?;
    Ok(out)
}

/// Ends a transaction that work began and left open; `false` if the connection could not be
/// brought back to autocommit (then it should be closed, not reused).
pub fn end_transaction(c: &Connection) -> bool {
    c.is_autocommit() || c.execute_batch("ROLLBACK").is_ok()
}

/// How many datasets the store holds (a cheap proof that it opens and reads).
pub fn dataset_count(c: &Connection) -> Result<i64> {
    Ok(c.query_row("SELECT count(*) FROM datasets", [], |r| r.get(0))?)
}

/// One column of a stored table as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredColumn {
    pub name: String,
    /// The declared type, as written (`INTEGER`, `REAL`, `TEXT`, …).
    pub declared: String,
    pub not_null: bool,
    pub primary_key: bool,
}

/// A table's columns in their order; empty if there is no such table.
pub fn table_columns(c: &Connection, table: &str) -> Result<Vec<DeclaredColumn>> {
    let mut statement =
        c.prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")?;
    let columns = statement
        .query_map([table], |r| {
            Ok(DeclaredColumn {
                name: r.get(0)?,
                declared: r.get(1)?,
                not_null: r.get::<_, i64>(2)? != 0,
                primary_key: r.get::<_, i64>(3)? != 0,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(columns)
}
