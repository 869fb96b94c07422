//! The genesys-bi store: one wide table per aggregates dataset with a `<dataset>_kpi` view,
//! directory tables, and the internal tables that make loading exactly-once (window log,
//! watermarks, runs, schema version). SQLite is the embedded default; PostgreSQL implements the
//! same [`Store`] trait.

pub mod days;
pub mod keys;
pub mod read;
pub mod rows;
pub mod schema;
pub mod sqlite;

use genesys::Interval;
use genesys::directory::{Queue, User, WrapupCode};
use jiff::Timestamp;

pub use rows::{AggregateRow, Value, rows_from_response};
pub use schema::TableSpec;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "dataset name `{0}` must be lowercase letters, digits and _, start with a letter, and not be a reserved name"
    )]
    InvalidName(String),
    #[error("dataset `{0}` is not known to the store")]
    UnknownDataset(String),
    #[error("row for {interval} has {got} values, but dataset `{dataset}` has {expected} columns")]
    RowShape {
        dataset: String,
        interval: String,
        got: usize,
        expected: usize,
    },
    #[error("row at {row} lies outside the window {window}")]
    RowOutsideWindow { row: String, window: String },
    #[error("stored value `{value}` is not a valid instant")]
    CorruptInstant { value: String },
    #[error("time zone arithmetic failed: {0}")]
    Time(String),
    #[error(
        "store schema version {found} is newer than this genesys-bi understands ({supported}); upgrade genesys-bi"
    )]
    FutureSchema { found: i64, supported: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct WindowOutcome {
    pub rows_written: usize,
    pub complete_through: Option<Timestamp>,
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub status: String,
    pub windows: u64,
    pub rows: u64,
    pub requests: u64,
    pub error: Option<String>,
}

/// The queue, user and wrap-up code names BI tools show instead of ids.
#[derive(Debug, Clone)]
pub enum Directory<'a> {
    Queues(&'a [Queue]),
    Users(&'a [User]),
    WrapupCodes(&'a [WrapupCode]),
}

pub trait Store: Send + Sync {
    /// Creates the dataset's table and KPI view, or brings them in line with a changed spec.
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange>;
    /// Sets the watermark to `start` if the dataset has none (the backfill start).
    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp>;
    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>>;
    /// Replaces the window's rows, logs it and advances the watermark over the gap-free prefix
    /// of settled windows, all in one transaction.
    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome>;
    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>>;
    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize>;
    fn start_run(&self, command: &str) -> Result<i64>;
    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()>;
    fn dataset_status(&self) -> Result<Vec<DatasetStatus>>;
}
