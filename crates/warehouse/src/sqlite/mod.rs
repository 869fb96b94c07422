//! The embedded SQLite store: the writer ([`SqliteStore`], one connection, WAL mode so readers
//! never block it; every window one transaction) and the reader ([`SqliteReader`], pooled
//! read-only connections). Identifiers come only from validated dataset names and
//! catalog-derived column names; values are always bound parameters. Each submodule holds one
//! concern; this one holds the connection and the [`Store`] impl that routes to them.

mod datasets;
pub(crate) mod days;
pub(crate) mod ddl;
mod directories;
pub(crate) mod insert;
pub mod keys;
mod leases;
mod migrations;
mod reader;
pub(crate) mod reads;
pub(crate) mod render;
mod runs;
mod status;
mod watermarks;
mod windows;

use std::path::Path;
use std::sync::Mutex;

use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::keys::{KeyError, KeyInfo, NewKey};
use crate::leases::{Acquired, Lease, LeaseHolder, LeaseToken};
use crate::rows::AggregateRow;
use crate::schema::{TableSpec, is_reserved, is_valid_identifier};
use crate::{
    DatasetChange, DatasetStatus, Directory, Result, RunSummary, Store, StoreError, WindowOutcome,
    WindowRecord, WindowWrite,
};

pub use reader::{PooledSession, SqliteReader};

/// The page size of a new store file. Bigger than SQLite's 4 KiB default: a window write
/// appends megabytes, and every page costs a WAL frame, two write calls and a checkpoint copy;
/// at 32 KiB that is an eighth of the calls. (16 KiB wrote ~9% fewer rows per second once each
/// window also rewrites its days' rollup; a small incremental commit's WAL grows by a few
/// pages either way.) An existing file keeps the size it was made with (changing it takes a
/// `VACUUM` outside WAL mode); every size reads and writes the same.
pub const PAGE_SIZE: i64 = 32_768;

/// Sets the page size a store file gets if this connection creates it (a no-op on an existing
/// file); must come before anything writes, WAL mode included.
pub(crate) fn set_page_size(connection: &Connection) -> rusqlite::Result<()> {
    connection.pragma_update(None, "page_size", PAGE_SIZE)
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
}

pub(crate) fn now_text() -> String {
    format_instant(Timestamp::now())
}

pub(crate) fn parse_instant(value: String) -> Result<Timestamp> {
    value
        .parse()
        .map_err(|_| StoreError::CorruptInstant { value })
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let connection = Connection::open(path)?;
        Self::with_connection(connection)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut connection: Connection) -> Result<Self> {
        // Before anything touches the file: writers in other processes take turns, waiting up
        // to this long for one another instead of failing with "database is locked".
        connection.busy_timeout(BUSY_TIMEOUT)?;
        set_page_size(&connection)?;
        use_wal(&connection)?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache keeps a window's index pages in memory while it is replaced.
        connection.pragma_update(None, "cache_size", -16_384)?;
        // The writer's temporary tables (a window's status interval copies, a restatement's
        // old rows) can be a whole large window: on disk past their own small cache, not in
        // memory as this SQLite build would keep them.
        connection.pragma_update(None, "temp_store", "FILE")?;
        // Each dataset keeps one INSERT per chunk size prepared (see `CHUNK_SIZES`).
        connection.set_prepared_statement_cache_capacity(64);
        migrations::migrate(&mut connection)?;
        Ok(Self {
            writer: Mutex::new(connection),
        })
    }

    pub(crate) fn with_writer<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut connection = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut connection)
    }

    /// `work` in one immediate write transaction, committed if it succeeds.
    fn in_transaction<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let out = work(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

/// Opens a write transaction that takes the write lock at once. A deferred one that reads
/// first cannot wait for another process's writer when it upgrades (SQLite answers BUSY at
/// once to avoid a deadlock); an immediate one waits its turn under the busy timeout.
pub(crate) fn write_transaction(c: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
}

impl Store for SqliteStore {
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange> {
        if !is_valid_identifier(&spec.name) || is_reserved(&spec.name) {
            return Err(StoreError::InvalidName(spec.name.clone()));
        }
        self.in_transaction(|tx| datasets::ensure(tx, spec))
    }

    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp> {
        self.in_transaction(|tx| watermarks::initialize(tx, dataset, start))
    }

    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>> {
        self.with_writer(|c| watermarks::read(c, dataset))
    }

    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome> {
        self.write_window_in(write, None)
    }

    fn write_window_leased(
        &self,
        write: &WindowWrite<'_>,
        lease: &LeaseToken,
    ) -> Result<WindowOutcome> {
        if lease.dataset != write.dataset {
            return Err(StoreError::LeaseLost {
                dataset: write.dataset.to_string(),
                token: lease.token,
                now_held_by: None,
            });
        }
        self.write_window_in(write, Some(lease))
    }

    fn acquire_lease(
        &self,
        dataset: &str,
        claimant: &LeaseHolder,
        ttl: std::time::Duration,
    ) -> Result<Acquired> {
        self.in_transaction(|tx| leases::acquire(tx, dataset, claimant, ttl, Timestamp::now()))
    }

    fn renew_lease(&self, lease: &LeaseToken, ttl: std::time::Duration) -> Result<()> {
        self.in_transaction(|tx| leases::renew(tx, lease, ttl, Timestamp::now()))
    }

    fn release_lease(&self, lease: &LeaseToken) -> Result<()> {
        self.in_transaction(|tx| leases::release(tx, lease, Timestamp::now()))
    }

    fn lease_holder(&self, dataset: &str) -> Result<Option<Lease>> {
        self.with_writer(|c| leases::holder(c, dataset, Timestamp::now()))
    }

    fn write_window_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.write_window_by_page(write, pages, lease)
    }

    fn write_record_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<crate::RecordPage>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.write_records_in(write, pages, lease)
    }

    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>> {
        self.with_writer(|c| windows::logged(c, dataset))
    }

    fn open_record_windows(&self, dataset: &str) -> Result<Vec<genesys::Interval>> {
        self.with_writer(|c| windows::open_record_windows(c, dataset))
    }

    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize> {
        self.in_transaction(|tx| directories::replace(tx, directory))
    }

    fn start_run(&self, command: &str) -> Result<i64> {
        self.with_writer(|c| runs::start(c, command))
    }

    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()> {
        self.with_writer(|c| runs::finish(c, run_id, summary))
    }

    fn record_restatement(&self, dataset: &str, rows_changed: u64) -> Result<()> {
        self.with_writer(|c| watermarks::record_restatement(c, dataset, rows_changed))
    }

    fn dataset_status(&self) -> Result<Vec<DatasetStatus>> {
        self.with_writer(|c| status::all(c))
    }

    fn create_key(&self, name: &str) -> Result<NewKey, KeyError> {
        self.with_keys(|c| keys::create(c, name))
    }

    fn api_keys(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.with_keys(keys::list)
    }

    fn revoke_key(&self, id: i64) -> Result<bool, KeyError> {
        self.with_keys(|c| keys::revoke(c, id))
    }
}

impl SqliteStore {
    /// Key administration on the writer, the key table made first if missing.
    fn with_keys<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, KeyError>,
    ) -> Result<T, KeyError> {
        let mut connection = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let connection: &mut Connection = &mut connection;
        keys::ensure_schema(connection)?;
        work(connection)
    }
}

/// How long a writer waits for another process's write before "database is locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Switches the file to WAL. A new file's switch needs it alone, and SQLite answers "locked" at
/// once then instead of waiting (the busy timeout does not cover it), as processes that start
/// together find: so it is tried again, for as long as the busy timeout.
fn use_wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return done,
        }
    }
}
