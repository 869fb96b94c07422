//! What every handler shares: the store's reads (sessions, caches) and the metrics.

use std::sync::Arc;

use tokio::sync::Semaphore;

use warehouse::{ReadSession, ReadStore};

use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::reads::Reads;

#[derive(Clone)]
pub struct AppState {
    pub reads: Arc<Reads>,
    pub metrics: Arc<Metrics>,
    /// Rows per row group of Parquet downloads.
    pub parquet_row_group_rows: usize,
    /// Rows read per statement by exports.
    pub stream_chunk_rows: u64,
    /// Appended to `/metrics` (the sync's series when it runs in the same process).
    pub extra_metrics: Option<crate::metrics::ExtraMetrics>,
    /// `https` when this server speaks TLS itself, else `http` (connection files name it).
    pub scheme: &'static str,
    /// Reads running at once: they are CPU work, so more than a few per core only interleave
    /// (every one finishes late) and each holds a connection's cache and a body in memory.
    reads_running: Arc<Semaphore>,
}

/// Rows per row group for downloads: about 0.5 KiB a row of a wide dataset buffered, so some
/// tens of MiB per download at most, and row groups large enough for readers to skip by.
pub const PARQUET_ROW_GROUP_ROWS: usize = 65_536;
/// Rows read per statement while streaming; with the channel's few slots, this bounds memory.
pub const STREAM_CHUNK_ROWS: u64 = 2_000;

/// Reads allowed to run at once per core (one computing while another waits on the disk).
const READS_PER_CORE: usize = 2;

impl AppState {
    pub fn new(store: Arc<dyn ReadStore>) -> Self {
        Self {
            reads: Arc::new(Reads::new(store)),
            metrics: Arc::new(Metrics::default()),
            parquet_row_group_rows: PARQUET_ROW_GROUP_ROWS,
            stream_chunk_rows: STREAM_CHUNK_ROWS,
            extra_metrics: None,
            scheme: "http",
            reads_running: Arc::new(Semaphore::new(
                READS_PER_CORE * std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }

    /// Runs blocking store work in a read session, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn ReadSession) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let permit = Arc::clone(&self.reads_running)
            .acquire_owned()
            .await
            .map_err(Problem::internal)?;
        let reads = Arc::clone(&self.reads);
        tokio::task::spawn_blocking(move || {
            let _running = permit;
            let session = reads.session()?;
            work(&*session)
        })
        .await?
    }
}
