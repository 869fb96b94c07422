//! Reading the store quickly under load: read sessions come from the store (which pools what
//! it can), and answers are cached by the store's generation, a number that moves whenever
//! another process commits, so a cached answer never outlives the data it was made from: a
//! request that starts after a commit always sees the commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};
use warehouse::{ReadSession, ReadStore};

use crate::problem::Problem;

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
    store: Arc<dyn ReadStore>,
    /// The store's generation last seen (`None`: it could not tell).
    seen: Mutex<Option<i64>>,
    generation: AtomicU64,
    responses: ResponseCache,
    verified_keys: Cache<(u64, String), ()>,
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
    pub fn new(store: Arc<dyn ReadStore>) -> Self {
        Self {
            store,
            seen: Mutex::new(None),
            generation: AtomicU64::new(0),
            responses: response_cache(),
            verified_keys: Cache::new(VERIFIED_KEYS),
        }
    }

    /// A session for a request's reads (blocking: call it off the async threads).
    pub fn session(&self) -> Result<Box<dyn ReadSession>, Problem> {
        self.store
            .session()
            .map_err(|e| Problem::unavailable(format!("the store cannot be opened: {e}")))
    }

    /// A session for one export, which reads each page once.
    pub fn export_session(&self) -> Result<Box<dyn ReadSession>, Problem> {
        self.store
            .export_session()
            .map_err(|e| Problem::unavailable(format!("the store cannot be opened: {e}")))
    }

    /// The store's generation now: it moves when another process has committed since the
    /// last look. When the store cannot tell, every call is a new generation (nothing cached
    /// is reused), which is slow but never stale.
    pub fn generation(&self) -> u64 {
        let mut seen = lock(&self.seen);
        let now = self.store.generation();
        let changed = now.is_none() || *seen != now;
        *seen = now;
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

#[cfg(test)]
mod tests {
    use super::*;
    use warehouse::{Store, StoreConfig};

    /// A store that answers the generations it is given, in turn.
    struct Generations(Mutex<Vec<Option<i64>>>);

    impl ReadStore for Generations {
        fn session(&self) -> warehouse::Result<Box<dyn ReadSession>> {
            unreachable!("no reads here")
        }

        fn export_session(&self) -> warehouse::Result<Box<dyn ReadSession>> {
            unreachable!("no reads here")
        }

        fn generation(&self) -> Option<i64> {
            lock(&self.0).remove(0)
        }
    }

    #[test]
    fn the_generation_moves_only_when_another_connection_commits() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::sqlite(dir.path().join("s.db"));
        let reads = Reads::new(warehouse::open_reader(&config).unwrap());
        let first = reads.generation();
        assert_eq!(reads.generation(), first);
        // Another connection commits: the store's own writer records a run.
        let writer = warehouse::open(&config).unwrap();
        writer.start_run("test").unwrap();
        let second = reads.generation();
        assert_ne!(second, first);
        assert_eq!(reads.generation(), second);
    }

    #[test]
    fn a_store_that_cannot_tell_is_a_new_generation_every_time_and_after() {
        let answers = [Some(7), Some(7), None, Some(7), Some(7), None, None];
        let store = Generations(Mutex::new(answers.to_vec()));
        let reads = Reads::new(Arc::new(store));
        let seen: Vec<u64> = answers.iter().map(|_| reads.generation()).collect();
        // The same number before and after "can't tell" is still a change after it.
        assert_eq!(seen, vec![1, 1, 2, 3, 3, 4, 5]);
    }
}
