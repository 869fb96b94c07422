//! The genesys-bi store: one wide table per aggregates dataset with a `<dataset>_kpi` view and a
//! `<dataset>__daily` table with its `<dataset>_daily_kpi` view (the KPI feeds, [`kpi`]),
//! directory tables, API keys, and the internal tables that make loading exactly-once (window
//! log, watermarks, runs, leases, schema version). The seam every other crate sees is two
//! traits: the writer side [`Store`] (the sync and the cli) and the reader side
//! [`ReadStore`]/[`ReadSession`] (the BI server), opened from a [`StoreConfig`] by [`open`].
//! SQLite, embedded (module `sqlite`), is the default backend; PostgreSQL (module `postgres`)
//! the one for teams and several replicas.
//!
//! Every SQL statement of the product lives in this crate. It must never parse Genesys JSON
//! (it takes typed records from `genesys`), know HTTP, or depend on `sync` or `server`.

pub mod cells;
mod changes;
pub mod columnar;
pub mod days;
pub mod derived;
mod fnv;
pub mod keys;
pub mod kpi;
pub mod leases;
mod open;
pub mod postgres;
pub mod query;
pub mod read;
mod read_kpi;
pub mod reader;
pub mod records;
mod render;
pub mod rows;
pub mod schema;
pub mod sqlite;
pub mod statement;
pub mod store_copy;
#[cfg(feature = "testing")]
pub mod testing;

use genesys::Interval;
use genesys::directory::{OrganizationPresence, Queue, User, WrapupCode};
use jiff::Timestamp;

pub use keys::{KeyError, KeyInfo, NewKey};
pub use leases::{Acquired, Lease, LeaseHolder, LeaseToken};
pub use open::{AnyStore, StoreConfig, open, open_reader};
pub use postgres::{PostgresConfig, PostgresError, PostgresReader, PostgresStore};
pub use read_kpi::KpiFeed;
pub use reader::{ReadSession, ReadStore};
pub use records::{RecordKind, RecordPage, RecordRow};
pub use rows::{AggregateRow, GroupRows, Value, rows_from_response};
pub use schema::{DatasetDefinition, DatasetKind, NamedTimeZone, TableSpec};
pub use sqlite::{SqliteReader, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] postgres::PostgresError),
    #[error("API keys: {0}")]
    Keys(#[from] keys::KeyError),
    /// SQLite refused a statement for its size or shape (see [`QueryTooComplex`]): the request
    /// behind it asked too much, which is the client's to fix, not a failure of the store.
    #[error("{0}")]
    QueryTooComplex(#[from] QueryTooComplex),
    #[error(
        "dataset name `{0}` must be lowercase letters, digits and _, start with a letter, and not be a reserved name"
    )]
    InvalidName(String),
    /// Two datasets whose KPI feeds would share a name (`a`'s daily one and `a_daily`'s).
    #[error(
        "dataset `{dataset}` can't be kept beside dataset `{other}`: both would have a KPI feed named `{feed}`; rename one of them"
    )]
    KpiNameClash {
        dataset: String,
        other: String,
        feed: String,
    },
    #[error("dataset `{0}` is not known to the store")]
    UnknownDataset(String),
    #[error("row for {interval} has {got} values, but dataset `{dataset}` has {expected} columns")]
    RowShape {
        dataset: String,
        interval: String,
        got: usize,
        expected: usize,
    },
    /// Records written to an aggregates dataset, or bucket rows to a record dataset.
    #[error("dataset `{dataset}` holds {holds}, not {given}")]
    WrongRows {
        dataset: String,
        holds: &'static str,
        given: &'static str,
    },
    #[error("row at {row} lies outside the window {window}")]
    RowOutsideWindow { row: String, window: String },
    #[error("stored value `{value}` is not a valid instant")]
    CorruptInstant { value: String },
    #[error("run {run}: stored status `{value}` is not one genesys-bi writes")]
    CorruptRunStatus { run: i64, value: String },
    #[error("dataset `{dataset}`: stored {column} `{value}` can't be read: {reason}")]
    CorruptDefinition {
        dataset: String,
        column: &'static str,
        value: String,
        reason: String,
    },
    /// A window's rows stopped arriving (the fetch failed or was stopped) while it was written.
    #[error("the window's rows stopped arriving: {0}")]
    PagesStopped(String),
    /// A details job's records of one window contradict each other (nothing was written).
    #[error("dataset `{dataset}`: the details job's records contradict each other: {detail}")]
    RecordsContradict { dataset: String, detail: String },
    #[error("time zone arithmetic failed: {0}")]
    Time(String),
    #[error(
        "store schema version {found} is newer than this genesys-bi understands ({supported}); upgrade genesys-bi"
    )]
    FutureSchema { found: i64, supported: i64 },
    /// The writer's lease lapsed or passed to another writer: the write was refused whole, so
    /// a holder that stalled past its lease never writes over the one that took over.
    #[error(
        "the lease on dataset `{dataset}` (token {token}) expired or passed to another writer{}; nothing was written",
        now_held_by.as_ref().map(|h| format!(" (now held by {h})")).unwrap_or_default()
    )]
    LeaseLost {
        dataset: String,
        token: i64,
        now_held_by: Option<String>,
    },
}

impl StoreError {
    /// Whether the store is out of reach for now (down, restarting, the connection to it cut),
    /// so that the same call made again once it is back may well succeed. This is the one
    /// place that tells such an outage from a fault: callers that wait (the sync) ask it, and
    /// fail at once on anything else. An embedded SQLite store is never out of reach.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Postgres(e) if e.is_transient())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A statement SQLite refused because of its size or shape, not because of the data or the
/// file: an expression tree past SQLite's depth limit, too many bound values, its parser's
/// stack, a LIKE pattern too complex, a string too big. What a request's filters become can
/// hit these, so callers answer them as a bad request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the query is too large or too complex for the store ({reason})")]
pub struct QueryTooComplex {
    /// SQLite's own message, without the statement.
    pub reason: String,
}

/// The starts of SQLite's messages for statements refused by size or shape.
const TOO_COMPLEX: &[&str] = &[
    "Expression tree is too large",
    "too many SQL variables",
    "variable number must be between",
    "parser stack overflow",
    "LIKE or GLOB pattern too complex",
    "string or blob too big",
    "too many arguments on function",
    "too many terms in",
    "too many columns",
];

impl QueryTooComplex {
    /// Whether SQLite refused a statement by its size or shape, and why.
    pub fn of(error: &rusqlite::Error) -> Option<Self> {
        let message = match error {
            rusqlite::Error::SqlInputError { msg, .. } => msg.as_str(),
            rusqlite::Error::SqliteFailure(failure, message) => {
                if failure.code == rusqlite::ErrorCode::TooBig {
                    return Some(Self {
                        reason: "string or blob too big".into(),
                    });
                }
                message.as_deref()?
            }
            _ => return None,
        };
        TOO_COMPLEX
            .iter()
            .any(|start| message.starts_with(start))
            .then(|| Self {
                reason: message.to_string(),
            })
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match QueryTooComplex::of(&error) {
            Some(too_complex) => StoreError::QueryTooComplex(too_complex),
            None => StoreError::Sqlite(error),
        }
    }
}

/// What `ensure_dataset` did, so the caller can say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetChange {
    Created,
    Unchanged,
    /// Metric columns added or dropped in place; added ones need their history pulled again.
    Migrated {
        added: Vec<String>,
        dropped: Vec<String>,
    },
    /// Dimensions or definition changed: the table was emptied and its history must be re-pulled.
    Rebuilt {
        reason: String,
    },
}

/// One window's worth of rows, written atomically with its log entry and the watermark.
#[derive(Debug, Clone)]
pub struct WindowWrite<'a> {
    pub dataset: &'a str,
    pub window: Interval,
    pub rows: &'a [AggregateRow],
    /// The window ended at least the settle delay before it was pulled: it may count toward
    /// the watermark.
    pub settled: bool,
    pub run_id: Option<i64>,
    /// Count the rows the write changes ([`WindowOutcome::rows_changed`]): a restatement's
    /// re-pull, which says how much of what was stored Genesys corrected. Costs a copy and a
    /// comparison of the window's rows, so ordinary writes don't.
    pub count_changes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowOutcome {
    pub rows_written: usize,
    pub complete_through: Option<Timestamp>,
    /// With [`WindowWrite::count_changes`]: the rows (keys: bucket and dimensions) the write
    /// added, removed or gave other values.
    pub rows_changed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowRecord {
    pub window: Interval,
    pub rows: u64,
    pub settled: bool,
    pub written_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStatus {
    pub name: String,
    pub complete_through: Option<Timestamp>,
    pub rows: u64,
    pub windows: u64,
    pub last_written_at: Option<Timestamp>,
    /// The last restatement: when it ended and the rows it changed.
    pub restated: Option<(Timestamp, u64)>,
}

/// Where a run stands; stored in `runs.status` as [`RunStatus::as_str`] says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunStatus {
    /// Started, not finished (or its process died before it could say).
    Running,
    /// Every planned window written.
    #[default]
    Ok,
    /// Some windows failed; the next run retries them.
    Partial,
    /// The run stopped on an error (the store, the plan, a lost lease).
    Failed,
    /// Stopped by SIGTERM or Ctrl-C: windows in flight abandoned, nothing half-written.
    Interrupted,
}

impl RunStatus {
    /// How a run can end.
    pub const FINISHED: [RunStatus; 4] = [
        RunStatus::Ok,
        RunStatus::Partial,
        RunStatus::Failed,
        RunStatus::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// The stored word back; `None` for a word no genesys-bi writes.
    pub fn parse(word: &str) -> Option<Self> {
        [RunStatus::Running]
            .into_iter()
            .chain(Self::FINISHED)
            .find(|status| status.as_str() == word)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub status: RunStatus,
    pub windows: u64,
    pub rows: u64,
    pub requests: u64,
    pub error: Option<String>,
    /// A restatement run: the rows its re-pull changed (`None` for other runs).
    pub rows_changed: Option<u64>,
}

/// The queue, user, wrap-up code and presence names BI tools show instead of ids.
#[derive(Debug, Clone)]
pub enum Directory<'a> {
    Queues(&'a [Queue]),
    Users(&'a [User]),
    WrapupCodes(&'a [WrapupCode]),
    Presences(&'a [OrganizationPresence]),
}

/// The writer side of the seam: everything the sync and the cli write (datasets, windows whole
/// or page by page, watermarks, leases, runs, directories, keys). A backend implements it
/// (see CONTRIBUTING.md, "Adding a backend"); callers hold it as [`AnyStore`].
pub trait Store: Send + Sync {
    /// Creates the dataset's table and KPI view, or brings them in line with a changed spec.
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange>;
    /// Sets the watermark to `start` if the dataset has none (the backfill start).
    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp>;
    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>>;
    /// Replaces the window's rows, logs it and advances the watermark over the gap-free prefix
    /// of settled windows, all in one transaction.
    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome>;
    /// Like [`Store::write_window`], under `lease`: refused with [`StoreError::LeaseLost`],
    /// inside the window's transaction, unless `lease` is the dataset's lease in force. The
    /// window log records the token and its holder.
    fn write_window_leased(
        &self,
        write: &WindowWrite<'_>,
        lease: &LeaseToken,
    ) -> Result<WindowOutcome>;
    /// Takes the dataset's lease for `ttl` if it is free or has lapsed, with a token greater
    /// than any before it; otherwise says who holds it.
    fn acquire_lease(
        &self,
        dataset: &str,
        claimant: &LeaseHolder,
        ttl: std::time::Duration,
    ) -> Result<Acquired>;
    /// Extends the lease to `ttl` from now; [`StoreError::LeaseLost`] if it lapsed or moved on.
    fn renew_lease(&self, lease: &LeaseToken, ttl: std::time::Duration) -> Result<()>;
    /// Ends the lease now if it is still this one's (a lapsed or taken-over lease is left be).
    fn release_lease(&self, lease: &LeaseToken) -> Result<()>;
    /// The dataset's lease in force, if any.
    fn lease_holder(&self, dataset: &str) -> Result<Option<Lease>>;
    /// Like [`Store::write_window`], but the rows (`write.rows` is ignored) arrive as `pages`
    /// and are written as they come, so memory is bounded by a page, not by the window. A page
    /// that is an error abandons the window: nothing of it is written and the error is returned.
    /// Under `lease` as [`Store::write_window_leased`] says.
    fn write_window_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome>;
    /// Like [`Store::write_window_leased`] for a record dataset ([`records`]): the records that
    /// start in the window are replaced by `rows` (`write.rows` is ignored), so a record
    /// pulled again is kept once, as last pulled. Refused for an aggregates dataset.
    fn write_record_window(
        &self,
        write: &WindowWrite<'_>,
        rows: &[RecordRow],
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        let page = RecordPage {
            rows: rows.to_vec(),
            replaces: Vec::new(),
        };
        self.write_record_pages(write, &mut std::iter::once(Ok(page)), lease)
    }
    /// Like [`Store::write_record_window`], the records arriving as `pages` and written as
    /// they come, so memory holds a page, not the window; a page's
    /// [`RecordPage::replaces`] replaces what earlier pages wrote of those records. A page that
    /// is an error abandons the window: nothing of it is written.
    fn write_record_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<RecordPage>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome>;
    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>>;
    /// The logged windows of a record dataset holding a record still open (none for an
    /// aggregates dataset): they are pulled again until their records close.
    fn open_record_windows(&self, dataset: &str) -> Result<Vec<Interval>>;
    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize>;
    fn start_run(&self, command: &str) -> Result<i64>;
    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()>;
    /// Notes that a restatement of `dataset` ended now, having changed `rows_changed` rows.
    fn record_restatement(&self, dataset: &str, rows_changed: u64) -> Result<()>;
    fn dataset_status(&self) -> Result<Vec<DatasetStatus>>;
    /// A new API key for the BI server; its secret is in the answer and nowhere else.
    fn create_key(&self, name: &str) -> Result<NewKey, KeyError>;
    /// Every API key, revoked ones too (never their secrets).
    fn api_keys(&self) -> Result<Vec<KeyInfo>, KeyError>;
    /// Revokes a key; whether it was live until now.
    fn revoke_key(&self, id: i64) -> Result<bool, KeyError>;
}

/// `pages` with its first page taken now: a window's write awaits it (an async job's wait
/// comes before it) before it takes the writer or a connection, so other writes are not held
/// up while a job runs. Once the first is missing, the rest is not asked for.
pub(crate) fn first_page_ahead<'a, T>(
    pages: &'a mut dyn Iterator<Item = T>,
) -> impl Iterator<Item = T> + 'a {
    let first = pages.next();
    let rest = first.is_some().then_some(pages);
    first.into_iter().chain(rest.into_iter().flatten())
}

#[cfg(test)]
mod too_complex_tests {
    use super::*;

    /// What preparing `sql` on an empty in-memory database gives, as a store error.
    fn prepared(sql: &str) -> StoreError {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.prepare(sql)
            .map(drop)
            .map_err(StoreError::from)
            .unwrap_err()
    }

    #[test]
    fn statements_refused_for_their_shape_are_told_apart() {
        let deep = format!("SELECT {}1", "NOT ".repeat(1_100));
        let variables = format!("SELECT 1 WHERE 1 IN ({})", vec!["?"; 40_000].join(","));
        let numbered = "SELECT ?40000";
        for sql in [deep.as_str(), &variables, numbered] {
            match prepared(sql) {
                StoreError::QueryTooComplex(e) => assert!(!e.reason.is_empty()),
                other => panic!(
                    "{}",
                    other.to_string().chars().take(200).collect::<String>()
                ),
            }
        }
        // A like pattern past SQLite's length limit fails when stepped, not prepared.
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let pattern = "%".repeat(60_000);
        let error: StoreError = c
            .query_row("SELECT 'a' LIKE ?1", [pattern], |r| r.get::<_, i64>(0))
            .unwrap_err()
            .into();
        assert!(
            matches!(error, StoreError::QueryTooComplex(_)),
            "{}",
            error.to_string().chars().take(200).collect::<String>()
        );
    }

    #[test]
    fn other_errors_stay_store_errors() {
        assert!(matches!(
            prepared("SELECT nope FROM nowhere"),
            StoreError::Sqlite(_)
        ));
        assert!(matches!(prepared("SELEC 1"), StoreError::Sqlite(_)));
    }
}

#[cfg(test)]
mod run_status_tests {
    use super::RunStatus;

    #[test]
    fn every_status_reads_back_as_written_and_nothing_else_does() {
        for status in std::iter::once(RunStatus::Running).chain(RunStatus::FINISHED) {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunStatus::parse("OK"), None);
        assert_eq!(RunStatus::parse(""), None);
    }
}
