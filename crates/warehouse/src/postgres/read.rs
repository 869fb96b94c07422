//! The reader side on PostgreSQL: pooled connections that never write (each session is read
//! only, and opening the reader migrates nothing: a read replica must not write), sessions
//! whose reads run on the caller's thread, exports streamed from a server-side cursor, and
//! the store's generation read from its one row.

use std::cell::Cell as Flag;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use deadpool_postgres::{ClientWrapper, Object, Pool};
use genesys::interval::format_instant;
use jiff::Timestamp;

use super::connect::{self, OwnRuntime};
use super::migrations::GENERATION_SQL;
use super::read_rows::{FETCH_ROWS, copied_rows, visit_all, visit_by_cursor};
use super::render::{self, Postgres};
use super::{Fail, PostgresConfig, PostgresError, keys, read_catalog as catalog};
use crate::keys::KeyInfo;
use crate::query::Query;
use crate::read::{Cell, DatasetInfo, RunInfo, Selection};
use crate::reader::{DeclaredColumn, ReadSession, ReadStore, Visitor};
use crate::schema::{TableSpec, day_table};
use crate::statement::{Bound, Statement};
use crate::{QueryTooComplex, Result, StoreError};

/// Wakes the thread that blocks on a future.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` to its end on this thread. The driver's requests need no runtime (the
/// reader's own runtime drives the connections), so a read runs where it is called, a visitor
/// and borrowed values with it, without crossing threads per row.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut context) {
            return out;
        }
        std::thread::park();
    }
}

/// What the reader and its sessions share: the runtime driving the connections and the pool.
struct Shared {
    runtime: OwnRuntime,
    pool: Pool,
    config: PostgresConfig,
}

impl Shared {
    /// A driver failure told apart with the connection's settings; a statement PostgreSQL
    /// refused for its size or shape (class 54, program limits) is the request's to fix.
    fn error(&self, fail: Fail) -> StoreError {
        if let Fail::Db(error) = &fail
            && let Some(db) = error.as_db_error()
            && db.code().code().starts_with("54")
        {
            return StoreError::QueryTooComplex(QueryTooComplex {
                reason: db.message().to_string(),
            });
        }
        fail.into_store(&self.config)
    }

    /// A pooled connection; connecting (when the pool has none idle) runs on the runtime. A
    /// new one is made read only first.
    fn pooled(&self) -> Result<Object> {
        let client = self
            .runtime
            .block_on_anywhere(|| connect::client(&self.pool))
            .map_err(|fail| self.error(fail))?;
        if Object::metrics(&client).recycle_count == 0 {
            read_only(&client).map_err(|fail| self.error(fail))?;
        }
        Ok(client)
    }

    /// A connection of its own, outside the shared pool (in a pool of one, made for it), read
    /// only.
    fn own(&self) -> Result<Connection> {
        let pool = connect::pool(&self.config)?;
        let client = self
            .runtime
            .block_on_anywhere(|| connect::client(&pool))
            .map_err(|fail| self.error(fail))?;
        read_only(&client).map_err(|fail| self.error(fail))?;
        Ok(Connection::Own(client))
    }
}

/// Every transaction of the connection's session read only: a reader never writes, whatever
/// role it connects as (a replica's may be allowed to).
fn read_only(client: &tokio_postgres::Client) -> Result<(), Fail> {
    Ok(block_on(client.batch_execute(
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    ))?)
}

/// Sessions beyond this many wait for one to end; PostgreSQL's own default allows 100
/// connections in all, which the sync and other replicas share.
const POOL_SIZE: usize = 16;

/// A session's connection: pooled, or an export's own (its pool of one may go: the
/// connection stays until the session drops it).
enum Connection {
    Pooled(Object),
    Own(Object),
}

impl std::ops::Deref for Connection {
    type Target = ClientWrapper;

    fn deref(&self) -> &ClientWrapper {
        match self {
            Connection::Pooled(object) | Connection::Own(object) => object,
        }
    }
}

/// Read sessions on one PostgreSQL store.
pub struct PostgresReader {
    shared: Arc<Shared>,
    /// The connection the generation is read on, kept between calls.
    watcher: Mutex<Option<Object>>,
}

impl PostgresReader {
    /// Reads the store `config` names, as it is: nothing is created or migrated.
    pub fn new(config: &PostgresConfig) -> Result<Self> {
        let pool = connect::pool(config)?;
        pool.resize(POOL_SIZE);
        Ok(Self {
            shared: Arc::new(Shared {
                runtime: OwnRuntime::new()?,
                pool,
                config: config.clone(),
            }),
            watcher: Mutex::new(None),
        })
    }

    fn open_session(&self, connection: Connection) -> PostgresSession {
        PostgresSession {
            shared: Arc::clone(&self.shared),
            client: Some(connection),
            snapshot: Flag::new(false),
            cursors: Flag::new(0),
        }
    }
}

impl ReadStore for PostgresReader {
    fn session(&self) -> Result<Box<dyn ReadSession>> {
        let connection = Connection::Pooled(self.shared.pooled()?);
        Ok(Box::new(self.open_session(connection)))
    }

    /// A connection of its own, not pooled: an export is long (opening is not), and its
    /// lanes must never wait for one another's turn at the pool. Its rows come from a cursor,
    /// a batch at a time.
    fn export_session(&self) -> Result<Box<dyn ReadSession>> {
        let connection = self.shared.own()?;
        Ok(Box::new(self.open_session(connection)))
    }

    /// The generation row every write transaction bumps (one read by primary key). A failed
    /// read drops the watcher connection and answers `None`, which callers take as a change.
    fn generation(&self) -> Option<i64> {
        let mut watcher = self.watcher.lock().unwrap_or_else(PoisonError::into_inner);
        if watcher.is_none() {
            *watcher = self.shared.pooled().ok();
        }
        let read = block_on(watcher.as_ref()?.query_one(GENERATION_SQL, &[]));
        match read {
            Ok(row) => Some(row.get(0)),
            Err(_) => {
                *watcher = None;
                None
            }
        }
    }
}

/// A pooled connection on loan; back to the pool on drop, outside any transaction.
pub struct PostgresSession {
    shared: Arc<Shared>,
    client: Option<Connection>,
    /// Inside [`ReadSession::begin_snapshot`]'s transaction.
    snapshot: Flag<bool>,
    /// Cursors declared, for a name no open one has.
    cursors: Flag<u64>,
}

/// A snapshot: every read until COMMIT sees the same data, and none may write.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

impl PostgresSession {
    fn c(&self) -> &ClientWrapper {
        self.client.as_ref().expect("present until dropped")
    }

    fn run<T>(&self, read: impl FnOnce(&tokio_postgres::Client) -> Result<T, Fail>) -> Result<T> {
        read(self.c()).map_err(|fail| self.shared.error(fail))
    }

    /// `read` inside the session's snapshot, or a transaction of its own that ends with it.
    fn in_transaction<T>(
        &self,
        read: impl FnOnce(&tokio_postgres::Client) -> Result<T, Fail>,
    ) -> Result<T> {
        if self.snapshot.get() {
            return self.run(read);
        }
        self.run(|c| {
            block_on(c.batch_execute(BEGIN))?;
            match read(c) {
                Ok(out) => {
                    block_on(c.batch_execute("COMMIT"))?;
                    Ok(out)
                }
                Err(fail) => {
                    // The read's own error is the one to tell; a failed rollback leaves the
                    // connection mid-transaction, which the pool's check then discards.
                    let _ = block_on(c.batch_execute("ROLLBACK"));
                    Err(fail)
                }
            }
        })
    }

    /// The table a segment is read from, as `sqlite::reads` chooses it.
    fn table_for(&self, selection: &Selection, segment: (Timestamp, Timestamp)) -> Result<String> {
        if selection.rollup
            && let Some(grid) = &selection.days
            && grid.starts_day(segment.0)
            && grid.starts_day(segment.1)
            && self.run(|c| catalog::has_day_table(c, &selection.spec.name))?
        {
            return Ok(day_table(&selection.spec.name));
        }
        Ok(selection.spec.name.clone())
    }
}

impl Drop for PostgresSession {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Work that began a snapshot and returned early must not hand it on to the next
        // request: end it, or close the connection instead of pooling it.
        if self.snapshot.get()
            && block_on(client.batch_execute("ROLLBACK")).is_err()
            && let Connection::Pooled(object) = client
        {
            drop(Object::take(object));
        }
    }
}

impl ReadSession for PostgresSession {
    fn datasets(&self) -> Result<Vec<DatasetInfo>> {
        self.run(catalog::datasets)
    }

    fn dataset(&self, name: &str) -> Result<Option<DatasetInfo>> {
        self.run(|c| catalog::dataset(c, name))
    }

    fn recent_runs(&self, limit: usize) -> Result<Vec<RunInfo>> {
        self.run(|c| catalog::recent_runs(c, limit))
    }

    fn extent(&self, spec: &TableSpec) -> Result<Option<(Timestamp, Timestamp)>> {
        self.run(|c| catalog::extent(c, spec))
    }

    /// At most [`FETCH_ROWS`] rows (a page, an export's chunk) in one prepared statement;
    /// more from a cursor, a batch at a time.
    fn visit_selection(
        &self,
        selection: &Selection,
        segment: (Timestamp, Timestamp),
        offset: u64,
        limit: u64,
        each: &mut Visitor<'_>,
    ) -> Result<u64> {
        let mut values = vec![
            Bound::Text(format_instant(segment.0)),
            Bound::Text(format_instant(segment.1)),
        ];
        let table = self.table_for(selection, segment)?;
        let sql = selection.sql(&Postgres, &table, &mut values);
        let n = values.len();
        values[n - 2] = Bound::Integer(limit.min(i64::MAX as u64) as i64);
        values[n - 1] = Bound::Integer(offset.min(i64::MAX as u64) as i64);
        let statement = Statement { sql, values };
        if limit <= FETCH_ROWS {
            return visit_all(self.c(), &statement, each).map_err(|fail| self.shared.error(fail));
        }
        let cursor = format!(
            "genesys_bi_rows_{}",
            self.cursors.replace(self.cursors.get() + 1)
        );
        self.in_transaction(|c| visit_by_cursor(c, &cursor, &statement, limit, each))
    }

    fn query_rows(&self, query: &Query) -> Result<Vec<Vec<Cell>>> {
        self.run(|c| copied_rows(c, &render::rows(query)))
    }

    fn query_count(&self, query: &Query) -> Result<i64> {
        let statement = render::count(query);
        self.run(|c| {
            let rows = super::read_rows::all_rows(c, &statement)?;
            let row = rows.first().ok_or_else(|| {
                Fail::from(PostgresError::Statement("count(*) gave no row".into()))
            })?;
            Ok(row.get(0))
        })
    }

    fn directory_columns(&self, table: &str) -> Result<Vec<DeclaredColumn>> {
        self.run(|c| catalog::table_columns(c, table))
    }

    fn dataset_count(&self) -> Result<i64> {
        self.run(catalog::dataset_count)
    }

    fn verify_key(&self, presented: &str) -> Result<Option<KeyInfo>> {
        self.run(|c| Ok(block_on(keys::verify(c, presented))?))
    }

    fn begin_snapshot(&self) -> Result<()> {
        self.run(|c| Ok(block_on(c.batch_execute(BEGIN))?))?;
        self.snapshot.set(true);
        Ok(())
    }

    fn end_snapshot(&self) -> Result<()> {
        self.run(|c| Ok(block_on(c.batch_execute("COMMIT"))?))?;
        self.snapshot.set(false);
        Ok(())
    }
}
