//! What every handler shares: the store's reader and the metrics.

use std::sync::Arc;

use warehouse::read::Connection;
use warehouse::read::Reader;

use crate::metrics::Metrics;
use crate::problem::Problem;

#[derive(Clone)]
pub struct AppState {
    pub reader: Reader,
    pub metrics: Arc<Metrics>,
    /// Rows per row group of Parquet downloads.
    pub parquet_row_group_rows: usize,
}

impl AppState {
    /// Runs blocking store work on a fresh read-only connection, off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let connection = reader
                .connect()
                .map_err(|e| Problem::unavailable(format!("the store cannot be opened: {e}")))?;
            work(&connection)
        })
        .await?
    }
}
