//! Writing a window in PostgreSQL, in one transaction: the lease's fencing check, the
//! window's rows deleted and copied in (binary `COPY`, page by page as they arrive), its days
//! rolled up again, the window log and its writer, the watermark moved, the generation bumped.

use genesys::Interval;
use tokio_postgres::GenericClient;
use tokio_postgres::binary_copy::BinaryCopyInWriter;

use super::connect;
use super::datasets::dataset_spec;
use super::instant::Instant;
use super::migrations::bump_generation;
use super::{Fail, PostgresStore, copy, days, leases, watermarks};
use crate::days::DayGrid;
use crate::leases::{LeaseHolder, LeaseToken};
use crate::rows::AggregateRow;
use crate::schema::quote;
use crate::sqlite::insert::check_row;
use crate::{Result, StoreError, WindowOutcome, WindowRecord, WindowWrite};

type Pages<'p> = dyn Iterator<Item = Result<Vec<AggregateRow>>> + 'p;

/// Writes the window from `pages`, no more than a page in memory. Any error (a bad row, a page
/// that did not arrive, a lost lease) rolls the transaction back: nothing of the window is
/// written.
pub(crate) fn write(
    store: &PostgresStore,
    write: &WindowWrite<'_>,
    pages: &mut Pages<'_>,
    lease: Option<&LeaseToken>,
) -> Result<WindowOutcome> {
    if let Some(lease) = lease.filter(|l| l.dataset != write.dataset) {
        return Err(StoreError::LeaseLost {
            dataset: write.dataset.to_string(),
            token: lease.token,
            now_held_by: None,
        });
    }
    // The first page (an async job's wait comes before it) is awaited before a connection is
    // taken, so the pool is not held while a job runs.
    let first = pages.next();
    let mut client = store.run(|| connect::client(&store.pool))?;
    // On an error the dropped `COPY` sends CopyFail and the dropped transaction ROLLBACK,
    // in order, before anything the connection is next asked: it goes back to the pool clean.
    write_on(
        store,
        &mut client,
        write,
        first.into_iter().chain(pages),
        lease,
    )
}

fn write_on(
    store: &PostgresStore,
    client: &mut deadpool_postgres::Object,
    write: &WindowWrite<'_>,
    pages: impl Iterator<Item = Result<Vec<AggregateRow>>>,
    lease: Option<&LeaseToken>,
) -> Result<WindowOutcome> {
    let transaction = store.run(|| async { Ok(client.transaction().await?) })?;
    let tx: &tokio_postgres::Transaction<'_> = &transaction;
    let (writer, spec) = store.run(|| async {
        // One window write per dataset at a time, as SQLite's single writer has it: two
        // writers replacing the same window would otherwise both find it empty and collide
        // on its key. (Under leases there is one writer per dataset anyway.)
        tx.execute(
            "SELECT 1 FROM datasets WHERE name = $1 FOR UPDATE",
            &[&write.dataset],
        )
        .await?;
        let writer = match lease {
            Some(lease) => Some(leases::check(tx, lease).await?),
            None => None,
        };
        let spec = dataset_spec(tx, write.dataset).await?;
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE interval_start >= $1 AND interval_start < $2",
                quote(&spec.name)
            ),
            &[&Instant(write.window.start), &Instant(write.window.end)],
        )
        .await?;
        Ok((writer, spec))
    })?;
    let (sql, types) = copy::statement(&spec);
    let sink = store.run(|| async { Ok(tx.copy_in(&sql).await?) })?;
    let mut copying = Box::pin(BinaryCopyInWriter::new(sink, &types));
    let width = (
        spec.dimensions.len(),
        types.len() - 2 - spec.dimensions.len(),
    );
    let mut rows_written = 0;
    for page in pages {
        let page = page?;
        for row in &page {
            check_row(&spec, write, row, width)?;
        }
        store.run(|| copy::rows(copying.as_mut(), &page))?;
        rows_written += page.len();
    }
    let complete_through = store.run(|| async {
        copying.as_mut().finish().await?;
        if let Some(grid) = DayGrid::of(&spec) {
            days::refresh(tx, &spec, &grid, write.window).await?;
        }
        log_window(tx, write, rows_written, lease, writer).await?;
        let mark = watermarks::advance(tx, write.dataset).await?;
        bump_generation(tx).await?;
        Ok(mark)
    })?;
    store.run(|| async { Ok(transaction.commit().await?) })?;
    Ok(WindowOutcome {
        rows_written,
        complete_through,
    })
}

/// The window log's entry, with who wrote it under which lease (none without one).
async fn log_window(
    tx: &impl GenericClient,
    write: &WindowWrite<'_>,
    rows: usize,
    lease: Option<&LeaseToken>,
    writer: Option<LeaseHolder>,
) -> Result<(), Fail> {
    tx.execute(
        "INSERT INTO windows (dataset, window_start, window_end, rows, settled, run_id, written_at,
             lease_token, writer)
         VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8)
         ON CONFLICT (dataset, window_start) DO UPDATE SET window_end = excluded.window_end,
             rows = excluded.rows, settled = excluded.settled, run_id = excluded.run_id,
             written_at = excluded.written_at, lease_token = excluded.lease_token,
             writer = excluded.writer",
        &[
            &write.dataset,
            &Instant(write.window.start),
            &Instant(write.window.end),
            &(rows as i64),
            &write.settled,
            &write.run_id,
            &lease.map(|l| l.token),
            &writer.map(|w| w.to_string()),
        ],
    )
    .await?;
    Ok(())
}

/// The window log of a dataset, oldest window first.
pub(crate) async fn logged(
    c: &impl GenericClient,
    dataset: &str,
) -> Result<Vec<WindowRecord>, Fail> {
    let rows = c
        .query(
            "SELECT window_start, window_end, rows, settled, written_at FROM windows
             WHERE dataset = $1 ORDER BY window_start",
            &[&dataset],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| WindowRecord {
            window: Interval::new(r.get::<_, Instant>(0).0, r.get::<_, Instant>(1).0),
            rows: r.get::<_, i64>(2) as u64,
            settled: r.get(3),
            written_at: r.get::<_, Instant>(4).0,
        })
        .collect())
}
