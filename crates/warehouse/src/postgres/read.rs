//! The reader side on PostgreSQL: pooled connections that never write (each session is read
//! only, and opening the reader migrates nothing: a read replica must not write), sessions
//! whose reads run on the caller's thread, rows streamed to the visitor as the server sends
//! them, and the store's generation read from its one row.

use std::cell::{Cell as Flag, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool};
use genesys::interval::format_instant;
use jiff::Timestamp;

use super::connect::{self, OwnRuntime};
use super::driver::{Driver, Driving, block_on};
use super::migrations::GENERATION_SQL;
use super::read_rows::{copied_rows, first_integer, visit_prepared};
use super::render::{self, Postgres};
use super::{Fail, PostgresConfig, PostgresError, keys, read_catalog as catalog};
use crate::keys::KeyInfo;
use crate::query::Query;
use crate::read::{Cell, DatasetInfo, RunInfo, Selection};
use crate::reader::{DeclaredColumn, ReadSession, ReadStore, Visitor};
use crate::schema::{TableSpec, day_table};
use crate::statement::{Bound, Statement};
use crate::{QueryTooComplex, Result, StoreError};

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

    /// A connection of its own, outside the pool, read only, and driven by the thread that
    /// reads from it ([`Driver`]); its socket is the runtime's to watch.
    fn own(&self) -> Result<Connection> {
        let (client, task) = self
            .runtime
            .block_on_anywhere(|| connect::unpooled(&self.config))
            .map_err(|fail| self.error(fail))?;
        let driver = Arc::new(Driver::new(task));
        let _driving = Driving::new(Some(&driver));
        read_only(&client).map_err(|fail| self.error(fail))?;
        Ok(Connection::Own {
            client,
            driver,
            statements: RefCell::new(HashMap::new()),
        })
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

/// A session's connection: pooled, or an export's own.
enum Connection {
    Pooled(Object),
    Own {
        client: tokio_postgres::Client,
        driver: Arc<Driver>,
        /// The statements prepared on it, by text: an export reads chunk after chunk with one.
        statements: RefCell<HashMap<String, tokio_postgres::Statement>>,
    },
}

impl Connection {
    fn client(&self) -> &tokio_postgres::Client {
        match self {
            Connection::Pooled(object) => object,
            Connection::Own { client, .. } => client,
        }
    }

    /// The connection's driver, when its reads drive it.
    fn driver(&self) -> Option<&Arc<Driver>> {
        match self {
            Connection::Pooled(_) => None,
            Connection::Own { driver, .. } => Some(driver),
        }
    }

    /// `sql` prepared once per connection (the pool keeps a pooled connection's statements).
    fn prepared(&self, sql: &str) -> Result<tokio_postgres::Statement, Fail> {
        match self {
            Connection::Pooled(object) => Ok(block_on(object.prepare_cached(sql))?),
            Connection::Own {
                client, statements, ..
            } => {
                if let Some(known) = statements.borrow().get(sql) {
                    return Ok(known.clone());
                }
                let prepared = block_on(client.prepare(sql))?;
                statements
                    .borrow_mut()
                    .insert(sql.to_string(), prepared.clone());
                Ok(prepared)
            }
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
            day_tables: RefCell::new(HashMap::new()),
        }
    }
}

impl ReadStore for PostgresReader {
    fn session(&self) -> Result<Box<dyn ReadSession>> {
        let connection = Connection::Pooled(self.shared.pooled()?);
        Ok(Box::new(self.open_session(connection)))
    }

    /// A connection of its own, not pooled: an export is long (opening is not), and its
    /// lanes must never wait for one another's turn at the pool.
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
    /// Whether each dataset asked about has its per-day table, as first read: a rollup asks
    /// for every segment, and a round trip each was a third of an uncached month's time. A
    /// session is one request's; a table made meanwhile is seen by the next.
    day_tables: RefCell<HashMap<String, bool>>,
}

/// A snapshot: every read until COMMIT sees the same data, and none may write.
const BEGIN: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

impl PostgresSession {
    fn connection(&self) -> &Connection {
        self.client.as_ref().expect("present until dropped")
    }

    /// `read` on the session's connection (driving it, if it is the session's own).
    fn run<T>(&self, read: impl FnOnce(&tokio_postgres::Client) -> Result<T, Fail>) -> Result<T> {
        let connection = self.connection();
        let _driving = Driving::new(connection.driver());
        read(connection.client()).map_err(|fail| self.shared.error(fail))
    }

    /// The table a segment is read from, as `sqlite::reads` chooses it.
    fn table_for(&self, selection: &Selection, segment: (Timestamp, Timestamp)) -> Result<String> {
        if selection.rollup
            && let Some(grid) = &selection.days
            && grid.starts_day(segment.0)
            && grid.starts_day(segment.1)
            && self.has_day_table(&selection.spec.name)?
        {
            return Ok(day_table(&selection.spec.name));
        }
        Ok(selection.spec.name.clone())
    }

    fn has_day_table(&self, dataset: &str) -> Result<bool> {
        if let Some(known) = self.day_tables.borrow().get(dataset) {
            return Ok(*known);
        }
        let exists = self.run(|c| catalog::has_day_table(c, dataset))?;
        self.day_tables
            .borrow_mut()
            .insert(dataset.to_string(), exists);
        Ok(exists)
    }
}

impl Drop for PostgresSession {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Work that began a snapshot and returned early must not hand it on to the next
        // request: end it, or close the connection instead of pooling it.
        let _driving = Driving::new(client.driver());
        if self.snapshot.get()
            && block_on(client.client().batch_execute("ROLLBACK")).is_err()
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

    /// One prepared statement whatever the limit, its rows streamed to `each` (no cursor, so
    /// no transaction and no round trips per batch).
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
        let connection = self.connection();
        self.run(|c| {
            let prepared = connection.prepared(&statement.sql)?;
            visit_prepared(c, &prepared, &statement.values, each)
        })
    }

    fn query_rows(&self, query: &Query) -> Result<Vec<Vec<Cell>>> {
        self.run(|c| copied_rows(c, &render::rows(query)))
    }

    fn query_count(&self, query: &Query) -> Result<i64> {
        let statement = render::count(query);
        self.run(|c| {
            first_integer(c, &statement)?.ok_or_else(|| {
                Fail::from(PostgresError::Statement("count(*) gave no integer".into()))
            })
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
