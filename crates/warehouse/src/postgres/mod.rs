//! The PostgreSQL store (#12): the writer ([`PostgresStore`]) over a small connection pool,
//! every window one transaction (rows copied in binary, days rolled up, window logged,
//! watermark moved, lease fenced, generation bumped). Tables, columns and names are SQLite's
//! (`sqlite/`), in real types, so a read is written once per dialect. Each submodule holds
//! one concern; this one holds the pool, the runtime and the [`Store`] impl.

pub mod config;
pub(crate) mod connect;
mod copy;
pub(crate) mod datasets;
mod days;
mod ddl;
mod directories;
pub(crate) mod driver;
pub mod error;
pub mod instant;
pub mod keys;
mod leases;
pub mod migrations;
pub(crate) mod read;
mod read_catalog;
pub(crate) mod read_rows;
mod render;
mod render_bind;
mod runs;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod watermarks;
mod windows;

use std::borrow::Cow;
use std::future::Future;

use jiff::Timestamp;

pub use config::{ConfigError, DEFAULT_SCHEMA, PostgresConfig, SslMode};
pub use error::PostgresError;
pub use read::{PostgresReader, PostgresSession};

use crate::keys::{KeyError, KeyInfo, NewKey};
use crate::leases::{Acquired, Lease, LeaseHolder, LeaseToken};
use crate::rows::AggregateRow;
use crate::schema::{TableSpec, is_reserved, is_valid_identifier};
use crate::{
    DatasetChange, DatasetStatus, Directory, Result, RunSummary, Store, StoreError, WindowOutcome,
    WindowRecord, WindowWrite,
};
use windows::WindowRows;

/// A failure inside the backend: the driver's (told apart with the connection's settings at
/// the boundary, see [`PostgresError::of`]) or the store's own.
#[derive(Debug)]
pub(crate) enum Fail {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(error: tokio_postgres::Error) -> Self {
        Fail::Db(error)
    }
}

impl From<StoreError> for Fail {
    fn from(error: StoreError) -> Self {
        Fail::Store(error)
    }
}

impl From<PostgresError> for Fail {
    fn from(error: PostgresError) -> Self {
        Fail::Store(StoreError::Postgres(error))
    }
}

impl Fail {
    pub(crate) fn into_store(self, config: &PostgresConfig) -> StoreError {
        match self {
            Fail::Db(e) => StoreError::Postgres(PostgresError::of(&e, config)),
            Fail::Store(e) => e,
        }
    }
}

/// The writer side of a PostgreSQL store.
///
/// The store's traits are synchronous (callers run them on blocking threads), the driver is
/// async: the store owns a small runtime of its own (one worker, which drives the pool's
/// connections) and blocks on it per call. Its own, not the caller's `Handle`: the CLI's
/// commands, the sync's blocking threads and plain tests all call it, with or without a
/// runtime of their own, and a write that streams pages must block between pages (on the
/// caller's iterator) outside any `block_on`.
pub struct PostgresStore {
    runtime: connect::OwnRuntime,
    pool: deadpool_postgres::Pool,
    config: PostgresConfig,
}

impl PostgresStore {
    /// Connects, creates the schema if missing (or says which privilege that needs), and
    /// brings the store's tables up to date.
    pub fn open(config: &PostgresConfig) -> Result<Self> {
        let runtime = connect::OwnRuntime::new()?;
        let pool = connect::pool(config)?;
        let store = Self {
            runtime,
            pool,
            config: config.clone(),
        };
        store.run(|| async {
            let mut client = connect::client(&store.pool).await?;
            let tx = client.transaction().await?;
            // The lock first: processes opening a new store at once would otherwise both find
            // the schema missing, and the second CREATE SCHEMA fail on its name.
            connect::ddl_lock(&*tx, config).await?;
            connect::ensure_schema(&*tx, config).await?;
            migrations::migrate(&*tx).await?;
            tx.commit().await?;
            Ok(())
        })?;
        Ok(store)
    }

    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// `work` on the store's runtime, its failure told apart with the connection's settings.
    pub(crate) fn run<T: Send, F>(&self, work: impl FnOnce() -> F + Send) -> Result<T>
    where
        F: Future<Output = Result<T, Fail>>,
    {
        self.runtime
            .block_on_anywhere(work)
            .map_err(|fail| fail.into_store(&self.config))
    }

    /// `work` in one transaction on a pooled connection, committed if it succeeds.
    fn in_transaction<T: Send>(
        &self,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, Fail> + Send,
    ) -> Result<T> {
        self.run(|| async {
            let mut client = connect::client(&self.pool).await?;
            let tx = client.transaction().await?;
            let out = work(&tx).await?;
            tx.commit().await?;
            Ok(out)
        })
    }

    /// `work` on a pooled connection, outside a transaction.
    fn with_client<T: Send>(
        &self,
        work: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, Fail> + Send,
    ) -> Result<T> {
        self.run(|| async {
            let client = connect::client(&self.pool).await?;
            work(&client).await
        })
    }

    /// The store's generation: moves on with every write transaction any process commits.
    pub fn generation(&self) -> Result<i64> {
        self.with_client(async |c| Ok(c.query_one(migrations::GENERATION_SQL, &[]).await?.get(0)))
    }
}

#[cfg(feature = "testing")]
impl PostgresStore {
    /// Drops the store's schema and everything in it: tests' throwaway schemas.
    pub fn drop_schema(config: &PostgresConfig) -> Result<()> {
        let runtime = connect::OwnRuntime::new()?;
        let pool = connect::pool(config)?;
        runtime
            .block_on_anywhere(|| async {
                let client = connect::client(&pool).await?;
                let sql = format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    crate::schema::quote(config.schema())
                );
                client.batch_execute(&sql).await?;
                Ok(())
            })
            .map_err(|fail: Fail| fail.into_store(config))
    }
}

/// A window's rows, all in memory, as its one page: borrowed, not copied.
fn whole<'w>(
    write: &'w WindowWrite<'_>,
) -> impl Iterator<Item = Result<Cow<'w, [AggregateRow]>>> + 'w {
    std::iter::once(Ok(Cow::Borrowed(write.rows)))
}

impl Store for PostgresStore {
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange> {
        if !is_valid_identifier(&spec.name) || is_reserved(&spec.name) {
            return Err(StoreError::InvalidName(spec.name.clone()));
        }
        self.in_transaction(async |tx| {
            connect::ddl_lock(tx, &self.config).await?;
            let change = datasets::ensure(tx, spec).await?;
            migrations::bump_generation(tx).await?;
            Ok(change)
        })
    }

    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp> {
        self.in_transaction(async |tx| {
            let mark = watermarks::initialize(tx, dataset, start).await?;
            migrations::bump_generation(tx).await?;
            Ok(mark)
        })
    }

    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>> {
        self.with_client(async |c| watermarks::read(c, dataset).await)
    }

    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome> {
        windows::write(self, write, WindowRows::Buckets(&mut whole(write)), None)
    }

    fn write_window_leased(
        &self,
        write: &WindowWrite<'_>,
        lease: &LeaseToken,
    ) -> Result<WindowOutcome> {
        windows::write(
            self,
            write,
            WindowRows::Buckets(&mut whole(write)),
            Some(lease),
        )
    }

    fn acquire_lease(
        &self,
        dataset: &str,
        claimant: &LeaseHolder,
        ttl: std::time::Duration,
    ) -> Result<Acquired> {
        let acquired =
            self.in_transaction(async |tx| leases::acquire(tx, dataset, claimant, ttl).await)?;
        if let Acquired::Granted(lease) = &acquired {
            let schema = self.config.schema();
            self.with_client(async |c| leases::end_writes_before(c, schema, lease).await)?;
        }
        Ok(acquired)
    }

    fn renew_lease(&self, lease: &LeaseToken, ttl: std::time::Duration) -> Result<()> {
        self.in_transaction(async |tx| leases::renew(tx, lease, ttl).await)
    }

    fn release_lease(&self, lease: &LeaseToken) -> Result<()> {
        self.in_transaction(async |tx| leases::release(tx, lease).await)
    }

    fn lease_holder(&self, dataset: &str) -> Result<Option<Lease>> {
        self.with_client(async |c| leases::holder(c, dataset).await)
    }

    fn write_window_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        let mut pages = pages.map(|p| p.map(Cow::Owned));
        windows::write(self, write, WindowRows::Buckets(&mut pages), lease)
    }

    fn write_record_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<crate::RecordPage>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        windows::write(self, write, WindowRows::RecordPages(pages), lease)
    }

    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>> {
        self.with_client(async |c| windows::logged(c, dataset).await)
    }

    fn open_record_windows(&self, dataset: &str) -> Result<Vec<genesys::Interval>> {
        self.with_client(async |c| windows::open_record_windows(c, dataset).await)
    }

    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize> {
        self.in_transaction(async |tx| {
            let count = directories::replace(tx, directory).await?;
            migrations::bump_generation(tx).await?;
            Ok(count)
        })
    }

    fn start_run(&self, command: &str) -> Result<i64> {
        self.in_transaction(async |tx| {
            let id = runs::start(tx, command).await?;
            migrations::bump_generation(tx).await?;
            Ok(id)
        })
    }

    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()> {
        self.in_transaction(async |tx| {
            runs::finish(tx, run_id, summary).await?;
            migrations::bump_generation(tx).await
        })
    }

    fn record_restatement(&self, dataset: &str, rows_changed: u64) -> Result<()> {
        self.in_transaction(async |tx| {
            watermarks::record_restatement(tx, dataset, rows_changed).await?;
            migrations::bump_generation(tx).await
        })
    }

    fn dataset_status(&self) -> Result<Vec<DatasetStatus>> {
        self.with_client(async |c| status::all(c).await)
    }

    fn create_key(&self, name: &str) -> Result<NewKey, KeyError> {
        self.keys(async |tx| keys::create(tx, name).await)
    }

    fn api_keys(&self) -> Result<Vec<KeyInfo>, KeyError> {
        self.keys(async |tx| keys::list(tx).await)
    }

    fn revoke_key(&self, id: i64) -> Result<bool, KeyError> {
        self.keys(async |tx| keys::revoke(tx, id).await)
    }
}

impl PostgresStore {
    /// Key administration in one transaction that also bumps the generation (a revoked key
    /// must stop working on every replica at once).
    fn keys<T: Send>(
        &self,
        work: impl AsyncFnOnce(&tokio_postgres::Transaction<'_>) -> Result<T, Fail> + Send,
    ) -> Result<T, KeyError> {
        self.in_transaction(async |tx| {
            let out = work(tx).await?;
            migrations::bump_generation(tx).await?;
            Ok(out)
        })
        .map_err(|e| match e {
            StoreError::Keys(k) => k,
            other => KeyError::Store(Box::new(other)),
        })
    }
}
