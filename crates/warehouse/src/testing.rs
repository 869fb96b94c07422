//! For other crates' tests: what a value, a row or a store-neutral predicate means in the store,
//! asked without their holding SQL or a driver. Built only with the `testing` feature, which
//! only dev-dependencies turn on.

use crate::Result;
use crate::cells::{CellRef, RowRef};
use crate::query::Predicate;
use crate::reader::ReadSession;
use crate::schema::quote;
use crate::sqlite::reads::visit_statement;
use crate::sqlite::render;
use crate::statement::{Bound, Statement};
use rusqlite::Connection;

/// An in-memory table with an integer `id` and untyped columns, to run predicates against.
pub struct ScratchTable {
    connection: Connection,
    columns: usize,
}

impl ScratchTable {
    /// The table `t (id, columns…)`; the columns take values of any type, as SQLite's do.
    pub fn new(columns: &[&str]) -> Result<Self> {
        let connection = Connection::open_in_memory()?;
        let list: String = columns.iter().map(|c| format!(", {}", quote(c))).collect();
        connection.execute_batch(&format!("CREATE TABLE t (id INTEGER{list})"))?;
        Ok(Self {
            connection,
            columns: columns.len(),
        })
    }

    /// One row: its id and a value per column, in order.
    pub fn insert(&self, id: i64, values: Vec<Bound>) -> Result<()> {
        assert_eq!(values.len(), self.columns, "one value per column");
        let marks: String = (0..values.len()).map(|i| format!(", ?{}", i + 2)).collect();
        let values = std::iter::once(Bound::Integer(id)).chain(values);
        self.connection.execute(
            &format!("INSERT INTO t VALUES (?1{marks})"),
            rusqlite::params_from_iter(values),
        )?;
        Ok(())
    }

    /// The ids of the rows `predicate` selects, ascending, as the store renders and runs it.
    pub fn ids_matching(&self, predicate: &Predicate) -> Result<Vec<i64>> {
        let mut values = Vec::new();
        let condition = render::predicate(&mut values, predicate);
        let statement = Statement {
            sql: format!("SELECT id FROM t WHERE {condition} ORDER BY id"),
            values,
        };
        let mut ids = Vec::new();
        visit_statement(&self.connection, &statement, |row| {
            if let CellRef::Integer(id) = row.cell(0)? {
                ids.push(id);
            }
            Ok(())
        })?;
        Ok(ids)
    }
}

/// A ratio as the `<dataset>_kpi` views compute it: `1.0 * numerator / NULLIF(denominator, 0)`.
pub fn kpi_ratio(numerator: Bound, denominator: Bound) -> Result<Option<f64>> {
    let connection = Connection::open_in_memory()?;
    Ok(connection.query_row(
        "SELECT 1.0 * ?1 / NULLIF(?2, 0)",
        rusqlite::params_from_iter([numerator, denominator]),
        |r| r.get(0),
    )?)
}

/// Rows of the given values, handed over one by one as the store hands over any read.
pub fn visit_values(rows: &[Vec<Bound>], mut each: impl FnMut(&RowRef<'_, '_>)) -> Result<()> {
    let mut values = Vec::new();
    let selects: Vec<String> = rows
        .iter()
        .map(|row| {
            let marks: Vec<String> = row
                .iter()
                .map(|value| {
                    values.push(value.clone());
                    format!("?{}", values.len())
                })
                .collect();
            format!("SELECT {}", marks.join(", "))
        })
        .collect();
    let statement = Statement {
        sql: selects.join(" UNION ALL "),
        values,
    };
    visit_statement(&Connection::open_in_memory()?, &statement, |row| {
        each(row);
        Ok(())
    })?;
    Ok(())
}

/// How the store fails a statement whose expression is nested past its depth limit.
pub fn too_deep_statement_error() -> crate::StoreError {
    let statement = Statement {
        sql: format!("SELECT {}1", "NOT ".repeat(1_100)),
        values: Vec::new(),
    };
    match Connection::open_in_memory() {
        Ok(connection) => visit_statement(&connection, &statement, |_| Ok(()))
            .expect_err("nested past SQLite's limit"),
        Err(error) => error.into(),
    }
}

/// Leaves a snapshot (a read transaction) open on `session`, as an interrupted read can.
pub fn leave_transaction_open(session: &dyn ReadSession) -> Result<()> {
    session.begin_snapshot()
}
