//! What every handler shares: the store's reads (pooled connections, caches) and the metrics.

use std::sync::Arc;

use warehouse::read::Connection;
use warehouse::read::Reader;

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
}

impl AppState {
    pub fn new(reader: Reader) -> Self {
        Self {
            reads: Arc::new(Reads::new(reader)),
            metrics: Arc::new(Metrics::default()),
            parquet_row_group_rows: crate::parquet_writer::ROW_GROUP_ROWS,
            stream_chunk_rows: crate::routes::rows::STREAM_CHUNK,
        }
    }

    /// Runs blocking store work on a pooled read-only connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let reads = Arc::clone(&self.reads);
        tokio::task::spawn_blocking(move || {
            let connection = reads.connection()?;
            work(&connection)
        })
        .await?
    }
}
