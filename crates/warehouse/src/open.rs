//! Opening a store from its configuration: the one place a backend is chosen. Callers get the
//! writer side as [`AnyStore`] and the reader side as a [`ReadStore`], and never name a
//! backend type.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use crate::keys::{KeyError, KeyInfo, NewKey};
use crate::leases::{Acquired, Lease, LeaseHolder, LeaseToken};
use crate::postgres::{PostgresConfig, PostgresReader, PostgresStore};
use crate::reader::ReadStore;
use crate::rows::AggregateRow;
use crate::schema::TableSpec;
use crate::sqlite::{SqliteReader, SqliteStore};
use crate::{
    DatasetChange, DatasetStatus, Directory, Result, RunSummary, Store, WindowOutcome,
    WindowRecord, WindowWrite,
};

/// Where the store lives and which backend keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// An embedded SQLite file (created if missing).
    Sqlite(PathBuf),
    /// A schema in a PostgreSQL database (created if missing and the role may).
    Postgres(Box<PostgresConfig>),
}

impl StoreConfig {
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        StoreConfig::Sqlite(path.into())
    }

    pub fn postgres(config: PostgresConfig) -> Self {
        StoreConfig::Postgres(Box::new(config))
    }

    /// The store's file, for a backend that keeps one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            StoreConfig::Sqlite(path) => Some(path),
            StoreConfig::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for StoreConfig {
    /// How messages name the store (never a secret).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreConfig::Sqlite(path) => write!(f, "{}", path.display()),
            StoreConfig::Postgres(config) => write!(f, "{config}"),
        }
    }
}

/// Opens the store for writing, creating it and bringing its schema (API keys included) up to
/// date first.
pub fn open(config: &StoreConfig) -> Result<AnyStore> {
    match config {
        StoreConfig::Sqlite(path) => {
            let store = SqliteStore::open(path)?;
            store.api_keys()?; // makes the key table, so read-only readers find one
            Ok(AnyStore::new(store))
        }
        StoreConfig::Postgres(config) => Ok(AnyStore::new(PostgresStore::open(config)?)),
    }
}

/// Opens the store for the BI server's reads. SQLite's is made and migrated first (by the
/// same process); a PostgreSQL store is read as it is: a read replica must not write, so the
/// sync (or `store copy`) makes and migrates it.
pub fn open_reader(config: &StoreConfig) -> Result<Arc<dyn ReadStore>> {
    match config {
        StoreConfig::Sqlite(path) => {
            drop(open(config)?);
            Ok(Arc::new(SqliteReader::new(path)))
        }
        StoreConfig::Postgres(config) => Ok(Arc::new(PostgresReader::new(config)?)),
    }
}

/// The writer side of any backend, as one type (what the sync engine is generic over).
pub struct AnyStore(Box<dyn Store>);

impl AnyStore {
    pub fn new(store: impl Store + 'static) -> Self {
        Self(Box::new(store))
    }
}

impl Store for AnyStore {
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange> {
        self.0.ensure_dataset(spec)
    }

    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp> {
        self.0.initialize_watermark(dataset, start)
    }

    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>> {
        self.0.watermark(dataset)
    }

    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome> {
        self.0.write_window(write)
    }

    fn write_window_leased(
        &self,
        write: &WindowWrite<'_>,
        lease: &LeaseToken,
    ) -> Result<WindowOutcome> {
        self.0.write_window_leased(write, lease)
    }

    fn acquire_lease(
        &self,
        dataset: &str,
        claimant: &LeaseHolder,
        ttl: std::time::Duration,
    ) -> Result<Acquired> {
        self.0.acquire_lease(dataset, claimant, ttl)
    }

    fn renew_lease(&self, lease: &LeaseToken, ttl: std::time::Duration) -> Result<()> {
        self.0.renew_lease(lease, ttl)
    }

    fn release_lease(&self, lease: &LeaseToken) -> Result<()> {
        self.0.release_lease(lease)
    }

    fn lease_holder(&self, dataset: &str) -> Result<Option<Lease>> {
        self.0.lease_holder(dataset)
    }

    fn write_window_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.0.write_window_pages(write, pages, lease)
    }

    fn write_record_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<crate::RecordPage>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.0.write_record_pages(write, pages, lease)
    }

    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>> {
        self.0.windows(dataset)
    }

    fn open_record_windows(&self, dataset: &str) -> Result<Vec<genesys::Interval>> {
        self.0.open_record_windows(dataset)
    }

    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize> {
        self.0.replace_directory(directory)
    }

    fn start_run(&self, command: &str) -> Result<i64> {
        self.0.start_run(command)
    }

    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()> {
        self.0.finish_run(run_id, summary)
    }

    fn record_restatement(&self, dataset: &str, rows_changed: u64) -> Result<()> {
        self.0.record_restatement(dataset, rows_changed)
    }

    fn dataset_status(&self) -> Result<Vec<DatasetStatus>> {
        self.0.dataset_status()
    }

    fn create_key(&self, name: &str) -> Result<NewKey, KeyError> {
        self.0.create_key(name)
    }

    fn api_keys(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.0.api_keys()
    }

    fn revoke_key(&self, id: i64) -> Result<bool, KeyError> {
        self.0.revoke_key(id)
    }
}
