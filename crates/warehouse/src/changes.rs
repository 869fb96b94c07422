//! What a window's rewrite changed, for a restatement (a slower re-pull of days Genesys may
//! have corrected): the window's rows are copied aside before they are replaced, and the rows
//! whose key (bucket and dimensions) was added, removed or now holds other values are counted
//! once the new rows are in, all in the write's transaction. The statements are the same on
//! both backends but for placeholders and how the copy ends with the transaction.

use crate::schema::{TableSpec, quote};

/// The copy of the window's rows as they were, on the writer's own connection.
const BEFORE: &str = "restated_before";

/// The statements of one counted rewrite; `start` and `end` are the window's placeholders.
pub(crate) struct ChangeCount {
    /// Makes the (empty) copy: no parameters, which neither backend takes in DDL.
    pub make_before: String,
    /// Before the old rows are deleted: copies them aside (the window's bounds as parameters).
    pub keep_before: String,
    /// Once the new rows are in: the number of keys that differ, one row, one bigint.
    pub count: String,
    /// Ends the copy (SQLite; PostgreSQL drops it at commit).
    pub drop_before: Option<String>,
}

/// PostgreSQL's temporary table goes with the transaction; SQLite's is dropped by hand.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TempTable {
    DroppedAtCommit,
    DroppedByHand,
}

pub(crate) fn statements(
    spec: &TableSpec,
    (start, end): (&str, &str),
    temp: TempTable,
) -> ChangeCount {
    let table = quote(&spec.name);
    let mut columns = vec!["interval_start".to_string(), "interval_end".to_string()];
    let dimensions: Vec<String> = spec.dimension_columns().iter().map(|c| quote(c)).collect();
    columns.extend(dimensions.iter().cloned());
    columns.extend(spec.metric_columns().iter().map(|c| quote(&c.column)));
    let columns = columns.join(", ");
    let mut key = vec!["interval_start".to_string()];
    key.extend(dimensions);
    let key = key.join(", ");
    let window = format!("interval_start >= {start} AND interval_start < {end}");
    let create = match temp {
        TempTable::DroppedAtCommit => format!("CREATE TEMP TABLE {BEFORE} ON COMMIT DROP AS"),
        TempTable::DroppedByHand => format!("CREATE TEMP TABLE {BEFORE} AS"),
    };
    let now = format!("SELECT {columns} FROM {table} WHERE {window}");
    let before = format!("SELECT {columns} FROM {BEFORE}");
    ChangeCount {
        make_before: format!("{create} SELECT {columns} FROM {table} WHERE 1 = 0"),
        keep_before: format!("INSERT INTO {BEFORE} {now}"),
        // A changed row is in both differences under one key: counted once by the UNION.
        count: format!(
            "SELECT count(*) FROM (SELECT {key} FROM ({before} EXCEPT {now}) AS removed \
             UNION SELECT {key} FROM ({now} EXCEPT {before}) AS added) AS changed"
        ),
        drop_before: (temp == TempTable::DroppedByHand).then(|| format!("DROP TABLE {BEFORE}")),
    }
}
