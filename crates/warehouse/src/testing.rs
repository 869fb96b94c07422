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

/// A value as the store holds it, read back whole.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Stored {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Stored::Text(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Stored::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// A number of either kind as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Stored::Integer(i) => Some(*i as f64),
            Stored::Real(r) => Some(*r),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Stored::Null)
    }

    /// The store's own order: nulls, then numbers by value, then text, then blobs.
    pub fn store_cmp(&self, other: &Stored) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        fn rank(value: &Stored) -> u8 {
            match value {
                Stored::Null => 0,
                Stored::Integer(_) | Stored::Real(_) => 1,
                Stored::Text(_) => 2,
                Stored::Blob(_) => 3,
            }
        }
        match (self, other) {
            (Stored::Integer(a), Stored::Integer(b)) => a.cmp(b),
            (Stored::Text(a), Stored::Text(b)) => a.cmp(b),
            (Stored::Blob(a), Stored::Blob(b)) => a.cmp(b),
            (a, b) if rank(a) == 1 && rank(b) == 1 => {
                let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                a.partial_cmp(&b).unwrap_or(Ordering::Equal)
            }
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

impl From<rusqlite::types::Value> for Stored {
    fn from(value: rusqlite::types::Value) -> Self {
        use rusqlite::types::Value;
        match value {
            Value::Null => Stored::Null,
            Value::Integer(i) => Stored::Integer(i),
            Value::Real(r) => Stored::Real(r),
            Value::Text(t) => Stored::Text(t),
            Value::Blob(b) => Stored::Blob(b),
        }
    }
}

/// A column of a stored table: its name and its type as the store declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredColumn {
    pub name: String,
    pub declared: String,
}

/// Every row of one table of a store file, read in one snapshot, so that tests can check what
/// was stored (and compare two stores row for row) without holding SQL. Each row carries the
/// key the store serves it under (the OData `id`).
#[derive(Debug, Clone)]
pub struct StoredTable {
    columns: Vec<StoredColumn>,
    rows: Vec<(i64, Vec<Stored>)>,
}

impl StoredTable {
    /// Reads `table` of the store at `path`, waiting up to 5 s for a writer to commit.
    pub fn read(path: &std::path::Path, table: &str) -> Result<Self> {
        Self::read_if_exists(path, table)?
            .ok_or_else(|| crate::StoreError::UnknownDataset(table.to_string()))
    }

    /// Like [`StoredTable::read`], but `None` while the store file or the table does not exist
    /// yet (a process about to create them is being watched).
    pub fn read_if_exists(path: &std::path::Path, table: &str) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        // Opened as the tests' own connections always were (read-write, so SQLite's WAL files
        // can be made if missing), but never creating the store file itself.
        let connection = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let columns = {
            let mut statement =
                connection.prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?;
            statement
                .query_map([table], |r| {
                    Ok(StoredColumn {
                        name: r.get(0)?,
                        declared: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        if columns.is_empty() {
            return Ok(None);
        }
        let mut statement = connection.prepare(&format!(
            "SELECT rowid, * FROM {} ORDER BY rowid",
            quote(table)
        ))?;
        let rows = statement
            .query_map([], |r| {
                let values = (1..=columns.len())
                    .map(|i| r.get::<_, rusqlite::types::Value>(i).map(Stored::from))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((r.get(0)?, values))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(Self { columns, rows }))
    }

    pub fn columns(&self) -> &[StoredColumn] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows in the order they were stored.
    pub fn rows(&self) -> impl Iterator<Item = StoredRow<'_>> {
        self.rows.iter().map(|(key, values)| StoredRow {
            table: self,
            key: *key,
            values,
        })
    }

    /// Every row's values, sorted in the store's order column by column: equal for two stores
    /// that hold the same rows, whatever order they were written in.
    pub fn sorted_values(&self) -> Vec<Vec<Stored>> {
        let mut rows: Vec<Vec<Stored>> = self.rows.iter().map(|(_, v)| v.clone()).collect();
        rows.sort_by(|a, b| {
            a.iter()
                .zip(b)
                .map(|(x, y)| x.store_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        rows
    }

    fn position(&self, column: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.name == column)
            .unwrap_or_else(|| panic!("the table has no column `{column}`"))
    }
}

/// One row of a [`StoredTable`], its values found by column name.
#[derive(Debug, Clone, Copy)]
pub struct StoredRow<'a> {
    table: &'a StoredTable,
    key: i64,
    values: &'a [Stored],
}

impl<'a> StoredRow<'a> {
    /// The key the store serves the row under (the OData `id`).
    pub fn key(&self) -> i64 {
        self.key
    }

    /// The value of `column`; panics naming a column the table does not have.
    pub fn get(&self, column: &str) -> &'a Stored {
        &self.values[self.table.position(column)]
    }

    /// Text, or `None` for NULL; panics on a value of another type, as a typed read fails.
    pub fn text(&self, column: &str) -> Option<&'a str> {
        self.typed(column, "text", Stored::as_str)
    }

    /// An integer, or `None` for NULL; panics on a value of another type.
    pub fn integer(&self, column: &str) -> Option<i64> {
        self.typed(column, "an integer", Stored::as_i64)
    }

    /// A number of either kind as `f64`, or `None` for NULL; panics on text or a blob.
    pub fn number(&self, column: &str) -> Option<f64> {
        self.typed(column, "a number", Stored::as_f64)
    }

    fn typed<T>(
        &self,
        column: &str,
        expected: &str,
        read: impl FnOnce(&'a Stored) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(column);
        if value.is_null() {
            return None;
        }
        let typed = read(value);
        assert!(
            typed.is_some(),
            "`{column}` holds {value:?}, not {expected}"
        );
        typed
    }

    pub fn values(&self) -> &'a [Stored] {
        self.values
    }
}

/// A consistent copy of the store at `from`, written to the new file `to`.
pub fn copy_store(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    let connection = rusqlite::Connection::open(from)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.execute("VACUUM INTO ?1", [to.to_string_lossy()])?;
    Ok(())
}

/// Deletes the rows of `dataset` whose bucket starts in `interval` and inserts them again,
/// unchanged, in one transaction: what a sync rewriting that window does to the rows' keys
/// (new ones, at the table's end). Returns how many rows were rewritten.
pub fn rewrite_rows(
    path: &std::path::Path,
    dataset: &str,
    interval: genesys::Interval,
) -> Result<usize> {
    let mut connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let table = quote(dataset);
    let bounds = [
        genesys::interval::format_instant(interval.start),
        genesys::interval::format_instant(interval.end),
    ];
    let inside = "interval_start >= ?1 AND interval_start < ?2";
    tx.execute(
        &format!("CREATE TEMP TABLE rewritten AS SELECT * FROM {table} WHERE {inside}"),
        rusqlite::params_from_iter(&bounds),
    )?;
    let rows = tx.execute(
        &format!("DELETE FROM {table} WHERE {inside}"),
        rusqlite::params_from_iter(&bounds),
    )?;
    tx.execute_batch(&format!(
        "INSERT INTO {table} SELECT * FROM rewritten; DROP TABLE rewritten;"
    ))?;
    tx.commit()?;
    Ok(rows)
}

/// Appends a copy of every row of `dataset` with its bucket moved `days` later (its daily
/// rollup left as it was). Returns how many rows were added.
pub fn append_rows_days_later(path: &std::path::Path, dataset: &str, days: i64) -> Result<usize> {
    let mut connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let table = quote(dataset);
    let shift = |column: &str| {
        format!("{column} = strftime('%Y-%m-%dT%H:%M:%fZ', {column}, '{days:+} days')")
    };
    tx.execute_batch(&format!(
        "CREATE TEMP TABLE later AS SELECT * FROM {table}; UPDATE later SET {}, {};",
        shift("interval_start"),
        shift("interval_end"),
    ))?;
    let added = tx.execute(&format!("INSERT INTO {table} SELECT * FROM later"), [])?;
    tx.execute_batch("DROP TABLE later")?;
    tx.commit()?;
    Ok(added)
}

/// Spoils the bucket start of the first row of `dataset` (by bucket) starting at or after
/// `from`, so that it is no instant: a store that fails when that row is read.
pub fn spoil_first_interval_start(
    path: &std::path::Path,
    dataset: &str,
    from: jiff::Timestamp,
) -> Result<()> {
    let connection = rusqlite::Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let table = quote(dataset);
    let spoiled = connection.execute(
        &format!(
            "UPDATE {table} SET interval_start = interval_start || 'x'
             WHERE rowid = (SELECT rowid FROM {table} WHERE interval_start >= ?1
                            ORDER BY interval_start LIMIT 1)"
        ),
        [genesys::interval::format_instant(from)],
    )?;
    assert_eq!(spoiled, 1, "a row of `{dataset}` starts at or after {from}");
    Ok(())
}

#[cfg(test)]
mod stored_table_tests {
    use super::*;
    use crate::{
        AggregateRow, DatasetDefinition, SqliteStore, Store, TableSpec, Value, WindowWrite,
    };
    use genesys::Interval;

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    /// A store with dataset `q` (nOffered by queue) and one hour's window of rows `offered`
    /// for queues `a`, `b`, … in that order.
    fn store_with(path: &std::path::Path, offered: &[Option<i64>]) -> SqliteStore {
        let store = SqliteStore::open(path).unwrap();
        store
            .ensure_dataset(&TableSpec {
                name: "q".into(),
                dimensions: vec!["queueId".into()],
                metrics: vec!["nOffered".into()],
                definition: DatasetDefinition::conversation_aggregates("PT1H", "UTC"),
            })
            .unwrap();
        let window = Interval::new(at("2024-05-01T00:00:00Z"), at("2024-05-01T01:00:00Z"));
        let rows: Vec<AggregateRow> = offered
            .iter()
            .enumerate()
            .map(|(i, n)| AggregateRow {
                interval: window,
                group: vec![Some(char::from(b'a' + i as u8).to_string())],
                values: vec![n.map(Value::Int)],
            })
            .collect();
        store
            .write_window(&WindowWrite {
                dataset: "q",
                window,
                rows: &rows,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap();
        store
    }

    #[test]
    fn a_table_reads_back_typed_by_column_with_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        store_with(&path, &[Some(3), None]);
        let table = StoredTable::read(&path, "q").unwrap();
        let names: Vec<&str> = table.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["interval_start", "interval_end", "queue_id", "n_offered"]
        );
        let rows: Vec<_> = table
            .rows()
            .map(|r| (r.key(), r.text("queue_id"), r.integer("n_offered")))
            .collect();
        assert_eq!(rows, [(1, Some("a"), Some(3)), (2, Some("b"), None)]);
        assert!(StoredTable::read(&path, "nope").is_err());
        assert!(
            StoredTable::read_if_exists(&path, "nope")
                .unwrap()
                .is_none()
        );
        let missing = dir.path().join("missing.db");
        assert!(
            StoredTable::read_if_exists(&missing, "q")
                .unwrap()
                .is_none()
        );
        assert!(!missing.exists(), "reading never creates a store");
    }

    #[test]
    #[should_panic(expected = "`queue_id` holds Text(\"a\"), not an integer")]
    fn a_value_read_as_another_type_fails_naming_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        store_with(&path, &[Some(3)]);
        let table = StoredTable::read(&path, "q").unwrap();
        table.rows().next().unwrap().integer("queue_id");
    }

    #[test]
    fn a_rewrite_keeps_the_values_and_gives_new_keys_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        store_with(&path, &[Some(3), Some(1), None]);
        // The next day too, so that the rewritten rows are not the whole table.
        append_rows_days_later(&path, "q", 1).unwrap();
        let before = StoredTable::read(&path, "q").unwrap();
        let hour = Interval::new(at("2024-05-01T00:00:00Z"), at("2024-05-01T01:00:00Z"));
        assert_eq!(rewrite_rows(&path, "q", hour).unwrap(), 3);
        let after = StoredTable::read(&path, "q").unwrap();
        assert_eq!(after.sorted_values(), before.sorted_values());
        let keys = |t: &StoredTable, day: &str| {
            t.rows()
                .filter(|r| r.text("interval_start").unwrap().starts_with(day))
                .map(|r| r.key())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&before, "2024-05-01"), [1, 2, 3]);
        assert_eq!(
            keys(&after, "2024-05-02"),
            [4, 5, 6],
            "the other day is left be"
        );
        assert_eq!(keys(&after, "2024-05-01"), [7, 8, 9]);
    }

    #[test]
    fn copies_and_shifted_rows_and_a_spoiled_instant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        store_with(&path, &[Some(3), Some(1)]);
        let copy = dir.path().join("copy.db");
        copy_store(&path, &copy).unwrap();
        assert_eq!(append_rows_days_later(&copy, "q", 4).unwrap(), 2);
        let shifted = StoredTable::read(&copy, "q").unwrap();
        let starts: Vec<_> = shifted.rows().map(|r| r.text("interval_start")).collect();
        assert_eq!(
            starts,
            [
                Some("2024-05-01T00:00:00.000Z"),
                Some("2024-05-01T00:00:00.000Z"),
                Some("2024-05-05T00:00:00.000Z"),
                Some("2024-05-05T00:00:00.000Z"),
            ]
        );
        assert_eq!(
            StoredTable::read(&path, "q").unwrap().len(),
            2,
            "the copy only"
        );
        spoil_first_interval_start(&copy, "q", at("2024-05-02T00:00:00Z")).unwrap();
        let spoiled = StoredTable::read(&copy, "q").unwrap();
        let spoiled: Vec<_> = spoiled
            .rows()
            .filter_map(|r| r.text("interval_start"))
            .filter(|s| s.ends_with('x'))
            .map(String::from)
            .collect();
        assert_eq!(spoiled, ["2024-05-05T00:00:00.000Zx"]);
    }

    #[test]
    fn sorted_values_follow_the_stores_order() {
        let mut values = vec![
            Stored::Text("b".into()),
            Stored::Real(2.5),
            Stored::Null,
            Stored::Integer(3),
            Stored::Integer(2),
            Stored::Blob(vec![0]),
        ];
        values.sort_by(Stored::store_cmp);
        assert_eq!(
            values,
            [
                Stored::Null,
                Stored::Integer(2),
                Stored::Real(2.5),
                Stored::Integer(3),
                Stored::Text("b".into()),
                Stored::Blob(vec![0]),
            ]
        );
    }
}
