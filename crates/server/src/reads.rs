//! Reading the store quickly under load. Read-only connections are kept between requests, so
//! their parsed schema and prepared statements survive. A generation number moves whenever any
//! other connection commits (the store's `read_session::generation`, asked of one watcher connection),
//! and the caches are keyed by it, so a cached answer never outlives the data it was made from:
//! a request that starts after a commit always sees the commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};
use warehouse::read::{Connection, Reader};

use crate::problem::Problem;

/// Idle connections kept open; more may be open while requests run.
const MAX_IDLE_CONNECTIONS: usize = 16;
/// How much of the store file pooled connections map (SQLite caps it at its build's limit,
/// 2 GB by default); the kernel's page cache backs it, not the heap.
const MAPPED_BYTES: i64 = 1 << 34;
/// Memory the response cache may hold, bodies and keys together.
const RESPONSE_CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// A body larger than this is served but not kept (one answer must not evict all others).
const LARGEST_CACHED_BODY: usize = 4 * 1024 * 1024;
/// Verified API keys remembered (only keys that verified: a stream of made-up keys costs us a
/// lookup each, never cache memory).
const VERIFIED_KEYS: usize = 1_024;

/// A finished response body and how many rows it holds (for the rows-served counter).
#[derive(Clone)]
pub struct CachedBody {
    pub body: Bytes,
    pub rows: u64,
}

type ResponseKey = (u64, String);

#[derive(Clone)]
struct BodyWeight;

impl Weighter<ResponseKey, CachedBody> for BodyWeight {
    fn weight(&self, key: &ResponseKey, value: &CachedBody) -> u64 {
        (key.1.len() + value.body.len()) as u64
    }
}

pub struct Reads {
    reader: Reader,
    idle: Mutex<Vec<Connection>>,
    watcher: Mutex<Watcher>,
    generation: AtomicU64,
    responses: ResponseCache,
    verified_keys: Cache<(u64, String), ()>,
}

/// The connection that notices other connections' commits, and what it saw last.
struct Watcher {
    connection: Option<Connection>,
    data_version: Option<i64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One shard, half of it for bodies seen once: the defaults (a shard per core and 3% for new
/// entries) leave each shard's probation area smaller than one month's rollup, which then
/// never stays cached.
fn response_cache() -> ResponseCache {
    let options = OptionsBuilder::new()
        .estimated_items_capacity(1_024)
        .weight_capacity(RESPONSE_CACHE_BYTES)
        .shards(1)
        .hot_allocation(0.5)
        .build()
        .expect("every option is set");
    Cache::with_options(
        options,
        BodyWeight,
        DefaultHashBuilder::default(),
        DefaultLifecycle::default(),
    )
}

type ResponseCache = Cache<ResponseKey, CachedBody, BodyWeight>;

impl Reads {
    pub fn new(reader: Reader) -> Self {
        Self {
            reader,
            idle: Mutex::new(Vec::new()),
            watcher: Mutex::new(Watcher {
                connection: None,
                data_version: None,
            }),
            generation: AtomicU64::new(0),
            responses: response_cache(),
            verified_keys: Cache::new(VERIFIED_KEYS),
        }
    }

    /// A read-only connection: an idle one, or a new one. It goes back to the idle ones when
    /// dropped.
    pub fn connection(self: &Arc<Self>) -> Result<PooledConnection, Problem> {
        let idle = lock(&self.idle).pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open_mapped()?,
        };
        Ok(PooledConnection {
            reads: Arc::clone(self),
            connection: Some(connection),
        })
    }

    /// A new read-only connection that maps the file into memory: rollups read the same pages
    /// again and again, and through `read()` each page is copied from the kernel every time.
    fn open_mapped(&self) -> Result<Connection, Problem> {
        let connection = self.unmapped_connection()?;
        warehouse::read_session::map_file(&connection, MAPPED_BYTES)
            .map_err(|e| Problem::unavailable(format!("the store cannot be mapped: {e}")))?;
        Ok(connection)
    }

    /// A new read-only connection without the memory map, for exports: they read each page
    /// once, and mapped pages would count in the server's resident memory.
    pub fn unmapped_connection(&self) -> Result<Connection, Problem> {
        self.reader
            .connect()
            .map_err(|e| Problem::unavailable(format!("the store cannot be opened: {e}")))
    }

    /// The store's generation now: it moves when another connection has committed since the
    /// last look. When the watcher cannot tell, every call is a new generation (nothing cached
    /// is reused), which is slow but never stale.
    pub fn generation(&self) -> u64 {
        let mut watcher = lock(&self.watcher);
        let version = watcher.data_version(&self.reader);
        let changed = match version {
            Some(version) => watcher.data_version.replace(version) != Some(version),
            None => true,
        };
        if changed {
            // Drop what the old generation holds now rather than when it is evicted.
            self.responses.clear();
            self.verified_keys.clear();
            return self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        }
        self.generation.load(Ordering::SeqCst)
    }

    /// The cached body for `key` in this generation, or the one `compute` makes. Concurrent
    /// requests for the same key wait for the first one's answer instead of repeating it.
    pub async fn cached_body<F, Fut>(&self, key: String, compute: F) -> Result<CachedBody, Problem>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedBody, Problem>>,
    {
        let key = (self.generation(), key);
        match self.responses.get_value_or_guard_async(&key).await {
            Ok(hit) => Ok(hit),
            Err(guard) => {
                let fresh = compute().await?;
                if fresh.body.len() <= LARGEST_CACHED_BODY {
                    let _ = guard.insert(fresh.clone());
                }
                Ok(fresh)
            }
        }
    }

    /// Whether `key` verified in this generation (revoking a key is a commit, so it moves on).
    pub fn key_verified(&self, generation: u64, key: &str) -> bool {
        self.verified_keys
            .get(&(generation, key.to_string()))
            .is_some()
    }

    pub fn remember_verified(&self, generation: u64, key: String) {
        self.verified_keys.insert((generation, key), ());
    }
}

impl Watcher {
    /// The store's generation on the watcher connection, (re)opened as needed. A new connection
    /// starts its own count, so the caller sees a change, which is the safe side.
    fn data_version(&mut self, reader: &Reader) -> Option<i64> {
        if self.connection.is_none() {
            self.connection = reader.connect().ok();
        }
        let connection = self.connection.as_ref()?;
        match warehouse::read_session::generation(connection) {
            Ok(version) => Some(version),
            Err(_) => {
                self.connection = None;
                None
            }
        }
    }
}

/// A connection on loan from [`Reads`]; returned to the idle ones on drop.
pub struct PooledConnection {
    reads: Arc<Reads>,
    connection: Option<Connection>,
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.connection.as_ref().expect("present until dropped")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            // Work that began a transaction and returned early must not hand it on to the next
            // request: end it, or close the connection.
            if !warehouse::read_session::end_transaction(&connection) {
                return;
            }
            let mut idle = lock(&self.reads.idle);
            if idle.len() < MAX_IDLE_CONNECTIONS {
                idle.push(connection);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads() -> (tempfile::TempDir, Arc<Reads>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        warehouse::SqliteStore::open(&path).unwrap();
        (dir, Arc::new(Reads::new(Reader::new(&path))))
    }

    #[test]
    fn a_connection_comes_back_without_the_transaction_its_work_left_open() {
        let (_dir, reads) = reads();
        {
            let connection = reads.connection().unwrap();
            warehouse::testing::leave_transaction_open(&connection).unwrap();
        }
        let again = reads.connection().unwrap();
        assert!(again.is_autocommit());
        // A transaction can be begun on it again (opening one fails inside another).
        warehouse::testing::leave_transaction_open(&again).unwrap();
    }

    #[test]
    fn the_generation_moves_only_when_another_connection_commits() {
        let (dir, reads) = reads();
        let first = reads.generation();
        assert_eq!(reads.generation(), first);
        // Another connection commits: the store's own writer records a run.
        let writer = warehouse::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        warehouse::Store::start_run(&writer, "test").unwrap();
        let second = reads.generation();
        assert_ne!(second, first);
        assert_eq!(reads.generation(), second);
    }
}
