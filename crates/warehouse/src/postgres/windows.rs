//! Writing a window in PostgreSQL, in one transaction: the lease's fencing check, the
//! window's rows deleted and copied in (binary `COPY`, page by page as they arrive), its days
//! rolled up again, the window log and its writer, the watermark moved, the generation bumped.

use std::borrow::Cow;

use genesys::Interval;
use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::connect;
use super::datasets::locked_dataset_spec;
use super::instant::Instant;
use super::migrations::bump_generation;
use super::{Fail, PostgresStore, copy, days, leases, watermarks};
use crate::changes::{self, ChangeCount, TempTable};
use crate::days::{DayGrid, DayTally};
use crate::leases::{LeaseHolder, LeaseToken};
use crate::records::status_copies::{self, CopyMerge};
use crate::records::{RecordPage, check_record, check_replaces, check_rows_fit};
use crate::rows::AggregateRow;
use crate::schema::quote;
use crate::sqlite::insert::check_row;
use crate::{Result, StoreError, WindowOutcome, WindowRecord, WindowWrite};

/// A window's rows, a page at a time: borrowed when the caller holds them all, owned as they
/// arrive when it streams them.
type Pages<'p> = dyn Iterator<Item = Result<Cow<'p, [AggregateRow]>>> + 'p;

/// What a window's write puts in its table.
pub(crate) enum WindowRows<'a, 'p> {
    /// An aggregates dataset's bucket rows, a page at a time.
    Buckets(&'a mut Pages<'p>),
    /// A record dataset's records (`crate::records`), a page at a time.
    RecordPages(&'a mut dyn Iterator<Item = Result<RecordPage>>),
}

/// Writes the window from `rows`, no more than a page of buckets in memory. Any error (a bad
/// row, a page that did not arrive, a lost lease) rolls the transaction back: nothing of the
/// window is written.
pub(crate) fn write(
    store: &PostgresStore,
    write: &WindowWrite<'_>,
    rows: WindowRows<'_, '_>,
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
    let mut records;
    let (first, rows) = match rows {
        WindowRows::Buckets(pages) => (pages.next(), WindowRows::Buckets(pages)),
        WindowRows::RecordPages(pages) => {
            records = crate::first_page_ahead(pages);
            (None, WindowRows::RecordPages(&mut records))
        }
    };
    let mut client = store.run(|| connect::client(&store.pool))?;
    // On an error the dropped `COPY` sends CopyFail and the dropped transaction ROLLBACK,
    // in order, before anything the connection is next asked: it goes back to the pool clean.
    let written = write_on(store, &mut client, write, first, rows, lease);
    match (written, lease) {
        (Err(failed), Some(lease)) => {
            // The server may have ended this session (`bound_by`, `leases::end_writes_before`)
            // while the process was frozen; until its connection task reads that, the pool
            // would take it for open and hand it to the next statement, which then fails with
            // "connection closed" instead of saying the lease moved on.
            drop(deadpool_postgres::Object::take(client));
            match failed {
                StoreError::LeaseLost { .. } => Err(failed),
                failed => Err(lost_lease(store, lease).unwrap_or(failed)),
            }
        }
        (written, _) => written,
    }
}

/// Why a leased write failed, if it was the lease: a write frozen past its lease finds its
/// session ended by the server (`bound_by`), and says the lease moved on, not that the
/// connection closed.
fn lost_lease(store: &PostgresStore, lease: &LeaseToken) -> Option<StoreError> {
    let checked = store.run(|| async {
        let client = connect::client(&store.pool).await?;
        leases::time_left(&**client, lease).await
    });
    checked
        .err()
        .filter(|e| matches!(e, StoreError::LeaseLost { .. }))
}

fn write_on<'p>(
    store: &PostgresStore,
    client: &mut deadpool_postgres::Object,
    write: &WindowWrite<'_>,
    first: Option<Result<Cow<'p, [AggregateRow]>>>,
    rows: WindowRows<'_, 'p>,
    lease: Option<&LeaseToken>,
) -> Result<WindowOutcome> {
    let transaction = store.run(|| async { Ok(client.transaction().await?) })?;
    let tx: &tokio_postgres::Transaction<'_> = &transaction;
    let (spec, counting) = store.run(|| async {
        // Before any lock is taken, so whatever the write holds is bounded by its lease.
        if let Some(lease) = lease {
            bound_by(store, tx, lease).await?;
        }
        // One window write per dataset at a time, as SQLite's single writer has it: two
        // writers replacing the same window would otherwise both find it empty and collide
        // on its key. (Under leases there is one writer per dataset anyway.) The statements
        // of a window's write give their parameters' types, each a round trip, not two.
        let spec = locked_dataset_spec(tx, write.dataset).await?;
        let bounds = [
            (&Instant(write.window.start) as _, Type::TIMESTAMPTZ),
            (&Instant(write.window.end) as _, Type::TIMESTAMPTZ),
        ];
        let counting = write
            .count_changes
            .then(|| changes::statements(&spec, ("$1", "$2"), TempTable::DroppedAtCommit));
        if let Some(counting) = &counting {
            tx.batch_execute(&counting.make_before).await?;
            tx.execute_typed(&counting.keep_before, &bounds).await?;
        }
        tx.execute_typed(
            &format!(
                "DELETE FROM {} WHERE interval_start >= $1 AND interval_start < $2",
                quote(&spec.name)
            ),
            &bounds,
        )
        .await?;
        Ok((spec, counting))
    })?;
    let records = matches!(rows, WindowRows::RecordPages(_));
    check_rows_fit(&spec, records)?;
    // Status intervals come as copies: they go to a table of their own, merged at the end.
    let copies = status_copies::statements(&spec, ("$1", "$2"), TempTable::DroppedAtCommit);
    let copy = match &copies {
        Some(copies) => {
            store.run(|| async { Ok(tx.batch_execute(&copies.make).await?) })?;
            copy::statement_into(status_copies::COPIES, &spec, &[])
        }
        None => copy::statement(&spec),
    };
    let mut copying = store.run(|| copy.start(tx.client()))?;
    // The days the window covers are summed as its pages go by, not read back once written.
    let grid = DayGrid::of(&spec);
    let mut tally = (grid.as_ref())
        .map(|grid| DayTally::new(&spec, grid, write.window))
        .transpose()?;
    let mut rows_written = 0;
    match rows {
        WindowRows::Buckets(pages) => {
            let width = (spec.dimensions.len(), spec.metric_columns().len());
            for page in first.into_iter().chain(pages) {
                let page = page?;
                for row in page.iter() {
                    check_row(&spec, write, row, width)?;
                }
                store.run(|| copying.rows(&page, None))?;
                if let Some(tally) = tally.as_mut() {
                    tally.add(&page);
                }
                rows_written += page.len();
            }
        }
        WindowRows::RecordPages(pages) => {
            for page in pages {
                let page = page?;
                check_replaces(&spec, &page)?;
                if !page.replaces.is_empty() {
                    // The rows an earlier page copied of these records go first: the `COPY`
                    // ends, the delete runs, a new `COPY` takes the rest.
                    let restarted = store.run(|| async {
                        copying.finish().await?;
                        rows_written -= delete_replaced(tx, &spec, write, &page.replaces).await?;
                        copy::statement(&spec).start(tx.client()).await
                    })?;
                    copying = restarted;
                }
                for record in &page.rows {
                    check_record(&spec, write.window, record)?;
                }
                store.run(|| copying.records(&page.rows))?;
                rows_written += page.rows.len();
            }
        }
    }
    let (complete_through, rows_changed) = store.run(|| async {
        copying.finish().await?;
        if let Some(copies) = &copies {
            rows_written = merge_copies(tx, &spec, copies, write).await?;
        }
        let rows_changed = match &counting {
            Some(counting) => Some(count_changes(tx, counting, write).await?),
            None => None,
        };
        if let (Some(grid), Some(tally)) = (&grid, tally) {
            days::refresh(tx, &spec, grid, write.window, tally.finish()).await?;
        }
        let writer = match lease {
            Some(lease) => Some(leases::check(tx, lease).await?),
            None => None,
        };
        log_window(tx, write, rows_written, lease, writer).await?;
        let mark = watermarks::advance(tx, write.dataset).await?;
        bump_generation(tx).await?;
        Ok((mark, rows_changed))
    })?;
    store.run(|| async { Ok(transaction.commit().await?) })?;
    Ok(WindowOutcome {
        rows_written,
        complete_through,
        rows_changed,
    })
}

/// Merges the window's status interval copies into its table (see `status_copies`): how many
/// rows it holds then. Contradicting copies are refused, naming the user.
async fn merge_copies(
    tx: &tokio_postgres::Transaction<'_>,
    spec: &crate::TableSpec,
    copies: &CopyMerge,
    write: &WindowWrite<'_>,
) -> Result<usize, Fail> {
    if let Some(r) = tx.query_opt(&copies.conflict, &[]).await? {
        let key = (r.get(0), r.get(1), r.get::<_, Instant>(2).0);
        let error = status_copies::conflict(&spec.name, key, (r.get(3), r.get(4)));
        return Err(error.into());
    }
    let written = tx.execute(&copies.merge, &[]).await?;
    let bounds = (Instant(write.window.start), Instant(write.window.end));
    if let Some(r) = tx
        .query_opt(&copies.overlap, &[&bounds.0, &bounds.1])
        .await?
    {
        let earlier = (
            r.get::<_, Instant>(2).0,
            r.get::<_, Option<Instant>>(3).map(|end| end.0),
        );
        let later = r.get::<_, Instant>(4).0;
        let error = status_copies::overlap(&spec.name, (r.get(0), r.get(1)), earlier, later);
        return Err(error.into());
    }
    Ok(written as usize)
}

/// Deletes the window's rows of the records `ids`; how many.
async fn delete_replaced(
    tx: &tokio_postgres::Transaction<'_>,
    spec: &crate::TableSpec,
    write: &WindowWrite<'_>,
    ids: &[String],
) -> Result<usize, Fail> {
    let Some(sql) =
        crate::records::replaced_rows_sql(spec, "SELECT unnest($3::text[])", ("$1", "$2"))
    else {
        return Ok(0);
    };
    let deleted = tx
        .execute(
            &sql,
            &[
                &Instant(write.window.start),
                &Instant(write.window.end),
                &ids,
            ],
        )
        .await?;
    Ok(deleted as usize)
}

/// How many rows the rewrite changed (the copy of the old rows goes at commit).
async fn count_changes(
    tx: &impl GenericClient,
    counting: &ChangeCount,
    write: &WindowWrite<'_>,
) -> Result<u64, Fail> {
    let changed: i64 = tx
        .query_one(
            &counting.count,
            &[&Instant(write.window.start), &Instant(write.window.end)],
        )
        .await?
        .get(0);
    Ok(changed as u64)
}

/// Fences a leased write in time as well, so a writer frozen mid-write (a paused VM, SIGSTOP)
/// can't hold the dataset's locks past its lease: the transaction is marked with its lease
/// (the next holder ends it when it takes the lease over, `leases::end_writes_before`), and
/// the server ends it once it has sat idle past what the lease had left. The lease itself is
/// checked again before the commit.
async fn bound_by(
    store: &PostgresStore,
    tx: &impl GenericClient,
    lease: &LeaseToken,
) -> Result<(), Fail> {
    tx.batch_execute(&format!(
        "SET LOCAL application_name = '{}'",
        leases::write_marker(store.config.schema(), lease).replace('\'', "''")
    ))
    .await?;
    let left = leases::time_left(tx, lease).await?;
    tx.batch_execute(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = {}",
        left.max(MIN_IDLE_MS)
    ))
    .await?;
    Ok(())
}

/// The least idle time a leased write is given, however little its lease had left.
const MIN_IDLE_MS: i64 = 1_000;

/// The window log's entry, with who wrote it under which lease (none without one).
async fn log_window(
    tx: &impl GenericClient,
    write: &WindowWrite<'_>,
    rows: usize,
    lease: Option<&LeaseToken>,
    writer: Option<LeaseHolder>,
) -> Result<(), Fail> {
    tx.execute_typed(
        "INSERT INTO windows (dataset, window_start, window_end, rows, settled, run_id, written_at,
             lease_token, writer)
         VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8)
         ON CONFLICT (dataset, window_start) DO UPDATE SET window_end = excluded.window_end,
             rows = excluded.rows, settled = excluded.settled, run_id = excluded.run_id,
             written_at = excluded.written_at, lease_token = excluded.lease_token,
             writer = excluded.writer",
        &[
            (&write.dataset, Type::TEXT),
            (&Instant(write.window.start), Type::TIMESTAMPTZ),
            (&Instant(write.window.end), Type::TIMESTAMPTZ),
            (&(rows as i64), Type::INT8),
            (&write.settled, Type::BOOL),
            (&write.run_id, Type::INT8),
            (&lease.map(|l| l.token), Type::INT8),
            (&writer.map(|w| w.to_string()), Type::TEXT),
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

/// The logged windows of a record dataset holding a record still open, oldest first.
pub(crate) async fn open_record_windows(
    c: &impl GenericClient,
    dataset: &str,
) -> Result<Vec<Interval>, Fail> {
    let spec = super::datasets::dataset_spec(c, dataset).await?;
    if spec.record_kind().is_none() {
        return Ok(Vec::new());
    }
    let rows = c
        .query(&crate::records::open_windows_sql(&spec, "$1"), &[&dataset])
        .await?;
    Ok(rows
        .iter()
        .map(|r| Interval::new(r.get::<_, Instant>(0).0, r.get::<_, Instant>(1).0))
        .collect())
}
