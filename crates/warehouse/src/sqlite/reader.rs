//! The reader side on SQLite: a pool of read-only connections (WAL: they never block the
//! writer) kept between requests, so their parsed schema and prepared statements survive;
//! pooled ones map the file, export ones don't; one watcher connection tells commits apart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};

use crate::keys::KeyInfo;
use crate::query::Query;
use crate::read::{Cell, DatasetInfo, RunInfo, Selection};
use crate::reader::{DeclaredColumn, ReadSession, ReadStore, Visitor};
use crate::schema::TableSpec;
use crate::{Result, StoreError};

use super::reads;

/// Idle connections kept open; more may be open while requests run.
const MAX_IDLE_CONNECTIONS: usize = 16;
/// How much of the store file pooled connections map (SQLite caps it at its build's limit,
/// 2 GB by default); the kernel's page cache backs it, not the heap.
const MAPPED_BYTES: i64 = 1 << 34;
/// How long a read waits for a lock (a checkpoint, a schema change) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read sessions on one SQLite store file.
pub struct SqliteReader {
    path: PathBuf,
    pool: Arc<Pool>,
    watcher: Mutex<Option<Connection>>,
}

struct Pool {
    idle: Mutex<Vec<Connection>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A read-only connection to the store file.
pub(crate) fn connect(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    Ok(connection)
}

impl SqliteReader {
    /// Reads the store at `path` (which [`super::SqliteStore::open`] has made and migrated).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.into(),
            pool: Arc::new(Pool {
                idle: Mutex::new(Vec::new()),
            }),
            watcher: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new read-only connection that maps the file into memory: rollups read the same pages
    /// again and again, and through `read()` each page is copied from the kernel every time.
    fn open_mapped(&self) -> Result<Connection> {
        let connection = connect(&self.path)?;
        connection.pragma_update(None, "mmap_size", MAPPED_BYTES)?;
        Ok(connection)
    }

    /// A pooled connection, as a session (the concrete type, for the backend's own tests).
    pub fn pooled(&self) -> Result<PooledSession> {
        let idle = lock(&self.pool.idle).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open_mapped()?,
        };
        Ok(PooledSession {
            pool: Some(Arc::clone(&self.pool)),
            connection: Some(connection),
        })
    }
}

impl ReadStore for SqliteReader {
    fn session(&self) -> Result<Box<dyn ReadSession>> {
        Ok(Box::new(self.pooled()?))
    }

    /// Not mapped: an export reads each page once, and mapped pages would count in the
    /// server's resident memory. Not pooled either (an export is long; opening is not).
    fn export_session(&self) -> Result<Box<dyn ReadSession>> {
        Ok(Box::new(PooledSession {
            pool: None,
            connection: Some(connect(&self.path)?),
        }))
    }

    /// SQLite's `data_version` on the watcher connection, (re)opened as needed. A reopened
    /// connection starts its own count; the failed call before it answered `None`, which the
    /// caller took as a change, so the new count is never compared with the old.
    fn generation(&self) -> Option<i64> {
        let mut watcher = lock(&self.watcher);
        if watcher.is_none() {
            *watcher = connect(&self.path).ok();
        }
        let version = watcher
            .as_ref()?
            .query_row("PRAGMA data_version", [], |r| r.get(0));
        if version.is_err() {
            *watcher = None;
        }
        version.ok()
    }
}

/// A connection on loan from the pool (or an export's own); back to the idle ones on drop.
pub struct PooledSession {
    pool: Option<Arc<Pool>>,
    connection: Option<Connection>,
}

impl PooledSession {
    fn c(&self) -> &Connection {
        self.connection.as_ref().expect("present until dropped")
    }

    /// Whether the connection is outside any transaction (for the pool's tests).
    pub fn is_idle(&self) -> bool {
        self.c().is_autocommit()
    }
}

impl Drop for PooledSession {
    fn drop(&mut self) {
        let (Some(pool), Some(connection)) = (self.pool.take(), self.connection.take()) else {
            return;
        };
        // Work that began a transaction and returned early must not hand it on to the next
        // request: end it, or close the connection.
        if !connection.is_autocommit() && connection.execute_batch("ROLLBACK").is_err() {
            return;
        }
        let mut idle = lock(&pool.idle);
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
    }
}

impl ReadSession for PooledSession {
    fn datasets(&self) -> Result<Vec<DatasetInfo>> {
        reads::datasets(self.c())
    }

    fn dataset(&self, name: &str) -> Result<Option<DatasetInfo>> {
        reads::dataset(self.c(), name)
    }

    fn recent_runs(&self, limit: usize) -> Result<Vec<RunInfo>> {
        reads::recent_runs(self.c(), limit)
    }

    fn extent(&self, spec: &TableSpec) -> Result<Option<(Timestamp, Timestamp)>> {
        reads::extent(self.c(), spec)
    }

    fn visit_selection(
        &self,
        selection: &Selection,
        segment: (Timestamp, Timestamp),
        offset: u64,
        limit: u64,
        each: &mut Visitor<'_>,
    ) -> Result<u64> {
        reads::visit_selection(self.c(), selection, segment, offset, limit, each)
    }

    fn query_rows(&self, query: &Query) -> Result<Vec<Vec<Cell>>> {
        reads::query_rows(self.c(), query)
    }

    fn query_count(&self, query: &Query) -> Result<i64> {
        reads::query_count(self.c(), query)
    }

    fn directory_columns(&self, table: &str) -> Result<Vec<DeclaredColumn>> {
        reads::table_columns(self.c(), table)
    }

    fn dataset_count(&self) -> Result<i64> {
        Ok(self
            .c()
            .query_row("SELECT count(*) FROM datasets", [], |r| r.get(0))?)
    }

    fn verify_key(&self, presented: &str) -> Result<Option<KeyInfo>> {
        super::keys::verify(self.c(), presented).map_err(StoreError::from)
    }

    fn begin_snapshot(&self) -> Result<()> {
        Ok(self.c().execute_batch("BEGIN")?)
    }

    fn end_snapshot(&self) -> Result<()> {
        Ok(self.c().execute_batch("COMMIT")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    fn reader() -> (tempfile::TempDir, SqliteReader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        super::super::SqliteStore::open(&path).unwrap();
        let reader = SqliteReader::new(&path);
        (dir, reader)
    }

    #[test]
    fn a_connection_comes_back_without_the_transaction_its_work_left_open() {
        let (_dir, reader) = reader();
        {
            let session = reader.pooled().unwrap();
            session.begin_snapshot().unwrap();
        }
        let again = reader.pooled().unwrap();
        assert!(again.is_idle());
        // A snapshot can be begun on it again (beginning one fails inside another).
        again.begin_snapshot().unwrap();
        assert_eq!(
            lock(&reader.pool.idle).len(),
            0,
            "the one connection is on loan"
        );
    }

    #[test]
    fn the_generation_moves_only_when_another_connection_commits() {
        let (dir, reader) = reader();
        let first = reader.generation().expect("the watcher reads");
        assert_eq!(reader.generation(), Some(first));
        let writer = super::super::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        writer.start_run("test").unwrap();
        let second = reader.generation().expect("the watcher reads");
        assert_ne!(second, first);
        assert_eq!(reader.generation(), Some(second));
    }
}
