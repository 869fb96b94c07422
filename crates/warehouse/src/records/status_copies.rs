//! Status intervals arrive as copies: Genesys stores a user's status record on each UTC day it
//! touches, so a window read from a details job may hold a record twice, on one page or on two,
//! and a copy taken while the status was in force (no end) beside one taken after it closed.
//! Holding the window to merge them would hold every agent's day: memory that grows with the
//! org. So the pages go, as they come, to a temporary table on the writer's connection (the
//! server keeps it on disk past a small cache), and the window is merged from it by the store
//! in the window's transaction:
//!
//! 1. two copies of one (user, kind, start) with different statuses are refused ([`conflict`]);
//! 2. one row per (user, kind, start) goes into the table, the copy with the latest end (a
//!    closed copy was read after an open one; none is made up: a status no copy closed stays
//!    open);
//! 3. a window whose statuses overlap (one starting while another of the user's same kind is
//!    in force) is refused ([`overlap`]).
//!
//! The statements are the same on both backends but for placeholders and how the temporary
//! table ends with the transaction.

use jiff::Timestamp;

use crate::changes::TempTable;
use crate::schema::{TableSpec, quote};

/// The copies of the window's status intervals, on the writer's own connection.
pub(crate) const COPIES: &str = "status_copies";

/// What names one status record (with its start): copies share these and the start.
const KEY: &str = "user_id, status_kind";

/// The statements merging a window's copies; `start` and `end` are the window's placeholders.
pub(crate) struct CopyMerge {
    /// Makes the (empty) table of copies, its columns the dataset's.
    pub make: String,
    /// One (user, kind, start) held with two statuses, if any: user, kind, start, the two
    /// statuses as text.
    pub conflict: String,
    /// Inserts one row per record into the dataset's table, the copy with the latest end.
    pub merge: String,
    /// Two of a user's statuses of one kind that overlap in the window, if any: user, kind,
    /// the earlier's start and end (null: open), the later's start.
    pub overlap: String,
    /// Ends the table of copies (SQLite; PostgreSQL drops it at commit).
    pub drop: Option<String>,
}

/// The merge of `spec`'s copies, if its records come as copies (status intervals only).
pub(crate) fn statements(
    spec: &TableSpec,
    (start, end): (&str, &str),
    temp: TempTable,
) -> Option<CopyMerge> {
    if spec.record_kind()? != super::RecordKind::StatusIntervals {
        return None;
    }
    let table = quote(&spec.name);
    let columns = spec.quoted_columns().join(", ");
    let create = match temp {
        TempTable::DroppedAtCommit => format!("CREATE TEMP TABLE {COPIES} ON COMMIT DROP AS"),
        TempTable::DroppedByHand => format!("CREATE TEMP TABLE {COPIES} AS"),
    };
    // What a user was in, as people read it: `ROUTING_STATUS` or `PRESENCE (org presence id)`.
    let status = "coalesce(routing_status, \
                  system_presence || ' (' || coalesce(organization_presence_id, '') || ')', '')";
    Some(CopyMerge {
        make: format!("{create} SELECT {columns} FROM {table} WHERE 1 = 0"),
        conflict: format!(
            "SELECT user_id, status_kind, interval_start, min({status}), max({status}) \
             FROM {COPIES} GROUP BY {KEY}, interval_start \
             HAVING count(DISTINCT {status}) > 1 ORDER BY {KEY}, interval_start LIMIT 1"
        ),
        // Non-null ends first, the latest first: the copy kept. Partitioned by the start
        // first, so the rows come out in the order of the table's key index.
        merge: format!(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM \
             (SELECT {columns}, row_number() OVER (PARTITION BY interval_start, {KEY} \
                 ORDER BY interval_end IS NULL, interval_end DESC) AS copy FROM {COPIES}) AS copies \
             WHERE copy = 1"
        ),
        overlap: format!(
            "SELECT user_id, status_kind, earlier_start, earlier_end, interval_start FROM \
             (SELECT user_id, status_kind, interval_start, \
                 lag(interval_start) OVER timeline AS earlier_start, \
                 lag(interval_end) OVER timeline AS earlier_end \
              FROM {table} WHERE interval_start >= {start} AND interval_start < {end} \
              WINDOW timeline AS (PARTITION BY {KEY} ORDER BY interval_start)) AS timelines \
             WHERE earlier_start IS NOT NULL \
                 AND (earlier_end IS NULL OR earlier_end > interval_start) \
             ORDER BY {KEY}, interval_start LIMIT 1"
        ),
        drop: (temp == TempTable::DroppedByHand).then(|| format!("DROP TABLE {COPIES}")),
    })
}

/// A row of [`CopyMerge::conflict`], as the error names it.
pub(crate) fn conflict(
    dataset: &str,
    (user, kind, start): (String, String, Timestamp),
    (first, second): (String, String),
) -> crate::StoreError {
    crate::StoreError::RecordsContradict {
        dataset: dataset.to_string(),
        detail: format!(
            "user {user}: two {kind} records start at {start} with different statuses, {first} and {second}"
        ),
    }
}

/// A row of [`CopyMerge::overlap`], as the error names it.
pub(crate) fn overlap(
    dataset: &str,
    (user, kind): (String, String),
    (earlier_start, earlier_end): (Timestamp, Option<Timestamp>),
    later_start: Timestamp,
) -> crate::StoreError {
    let ends = earlier_end.map_or("is still open".to_string(), |end| format!("ends at {end}"));
    crate::StoreError::RecordsContradict {
        dataset: dataset.to_string(),
        detail: format!(
            "user {user}: the {kind} status from {earlier_start} {ends}, after the next one starts at {later_start}"
        ),
    }
}
