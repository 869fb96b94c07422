//! Writing a window: its rows replaced, its days rolled up again, the window log and its
//! writer, and the watermark moved, all in one transaction (the lease's fencing check first).

use genesys::Interval;
use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::datasets::dataset_spec;
use super::days::{self, DayGrid};
use super::ddl::column_names;
use super::insert::{bind_cells, check_row, in_key_order, insert_by_bucket};
use super::watermarks::advance_watermark;
use super::{SqliteStore, leases, now_text, parse_instant, write_transaction};
use crate::changes::{self, ChangeCount, TempTable};
use crate::leases::{LeaseHolder, LeaseToken};
use crate::records::status_copies::{self, CopyMerge};
use crate::records::{RecordPage, check_record, check_replaces, check_rows_fit};
use crate::rows::AggregateRow;
use crate::schema::{TableSpec, quote};
use crate::{Result, WindowOutcome, WindowRecord, WindowWrite};

/// Deletes the rows that start in the window.
fn delete_window_rows(tx: &Transaction<'_>, table: &str, write: &WindowWrite<'_>) -> Result<()> {
    tx.execute(
        &format!("DELETE FROM {table} WHERE interval_start >= ?1 AND interval_start < ?2"),
        params![
            format_instant(write.window.start),
            format_instant(write.window.end)
        ],
    )?;
    Ok(())
}

fn replace_rows(tx: &Transaction<'_>, spec: &TableSpec, write: &WindowWrite<'_>) -> Result<usize> {
    check_rows_fit(spec, false)?;
    let table = quote(&spec.name);
    delete_window_rows(tx, &table, write)?;
    let width = (spec.dimensions.len(), spec.metric_columns().len());
    let names = column_names(spec);
    for row in write.rows {
        check_row(spec, write, row, width)?;
    }
    let rows = in_key_order(write.rows);
    insert_by_bucket(tx, &table, &names, &rows)?;
    if let Some(grid) = DayGrid::of(spec) {
        days::refresh(tx, spec, &names, &grid, write.window, &rows)?;
    }
    Ok(write.rows.len())
}

/// Replaces the window's rows with `pages`, inserted one page at a time as they arrive, so no
/// more than a page is held in memory; the window's days are then summed by SQLite from the
/// rows written. Any error (a bad row, a page that did not arrive) leaves the transaction to
/// roll back: nothing of the window is written.
fn replace_rows_by_page(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    write: &WindowWrite<'_>,
    pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
) -> Result<usize> {
    check_rows_fit(spec, false)?;
    let table = quote(&spec.name);
    delete_window_rows(tx, &table, write)?;
    let width = (spec.dimensions.len(), spec.metric_columns().len());
    let names = column_names(spec);
    let mut written = 0;
    for page in pages {
        let page = page?;
        for row in &page {
            check_row(spec, write, row, width)?;
        }
        insert_by_bucket(tx, &table, &names, &in_key_order(&page))?;
        written += page.len();
    }
    if let Some(grid) = DayGrid::of(spec) {
        days::refresh_from_table(tx, spec, &grid, write.window)?;
    }
    Ok(written)
}

/// Replaces the records that start in the window with those of `pages`, one prepared
/// statement, a page at a time; a page that holds records again first deletes what earlier pages
/// wrote of them.
fn replace_record_pages(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    write: &WindowWrite<'_>,
    pages: &mut dyn Iterator<Item = Result<RecordPage>>,
) -> Result<usize> {
    check_rows_fit(spec, true)?;
    let table = quote(&spec.name);
    delete_window_rows(tx, &table, write)?;
    let bounds = (
        format_instant(write.window.start),
        format_instant(write.window.end),
    );
    // Status intervals come as copies: they go to a table of their own, merged at the end.
    let copies = status_copies::statements(spec, ("?1", "?2"), TempTable::DroppedByHand);
    if let Some(copies) = &copies {
        tx.execute_batch(&copies.make)?;
    }
    let into = match copies {
        Some(_) => status_copies::COPIES.to_string(),
        None => table,
    };
    let names = column_names(spec);
    let marks: Vec<String> = (1..=names.len()).map(|n| format!("?{n}")).collect();
    let insert_sql = format!(
        "INSERT OR FAIL INTO {into} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    );
    let mut written = 0;
    for page in pages {
        let page = page?;
        check_replaces(spec, &page)?;
        for ids in page.replaces.chunks(REPLACED_PER_STATEMENT) {
            let marks: Vec<String> = (3..3 + ids.len()).map(|n| format!("?{n}")).collect();
            let Some(sql) =
                crate::records::replaced_rows_sql(spec, &marks.join(", "), ("?1", "?2"))
            else {
                continue;
            };
            let mut values: Vec<&dyn rusqlite::ToSql> = vec![&bounds.0, &bounds.1];
            values.extend(ids.iter().map(|id| id as &dyn rusqlite::ToSql));
            written -= tx.execute(&sql, values.as_slice())?;
        }
        let mut insert = tx.prepare_cached(&insert_sql)?;
        for row in &page.rows {
            check_record(spec, write.window, row)?;
            insert.raw_bind_parameter(1, format_instant(row.start))?;
            insert.raw_bind_parameter(2, row.end.map(format_instant))?;
            bind_cells(&mut insert, 3, &row.fields, &row.values)?;
            insert.raw_execute()?;
        }
        written += page.rows.len();
    }
    match &copies {
        Some(copies) => merge_copies(tx, spec, copies, &bounds),
        None => Ok(written),
    }
}

/// Merges the window's status interval copies into its table (see `status_copies`): how many
/// rows it holds then. Contradicting copies are refused, naming the user.
fn merge_copies(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    copies: &CopyMerge,
    bounds: &(String, String),
) -> Result<usize> {
    let conflict = tx
        .query_row(&copies.conflict, [], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get::<_, String>(2)?),
                (r.get(3)?, r.get(4)?),
            ))
        })
        .optional()?;
    if let Some(((user, kind, start), statuses)) = conflict {
        let key = (user, kind, parse_instant(start)?);
        return Err(status_copies::conflict(&spec.name, key, statuses));
    }
    let written = tx.execute(&copies.merge, [])?;
    if let Some(drop) = &copies.drop {
        tx.execute_batch(drop)?;
    }
    let overlap = tx
        .query_row(&copies.overlap, params![bounds.0, bounds.1], |r| {
            Ok((
                (r.get(0)?, r.get(1)?),
                (r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?),
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?;
    if let Some((who, (earlier_start, earlier_end), later_start)) = overlap {
        let earlier = (
            parse_instant(earlier_start)?,
            earlier_end.map(parse_instant).transpose()?,
        );
        let later = parse_instant(later_start)?;
        return Err(status_copies::overlap(&spec.name, who, earlier, later));
    }
    Ok(written)
}

/// Records replaced per statement: well under SQLite's bound parameters.
const REPLACED_PER_STATEMENT: usize = 500;

fn log_window_rows(tx: &Transaction<'_>, write: &WindowWrite<'_>, rows: usize) -> Result<()> {
    tx.execute(
        "INSERT INTO windows (dataset, window_start, window_end, rows, settled, run_id, written_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (dataset, window_start) DO UPDATE SET window_end = excluded.window_end, rows = excluded.rows,
             settled = excluded.settled, run_id = excluded.run_id, written_at = excluded.written_at",
        params![
            write.dataset,
            format_instant(write.window.start),
            format_instant(write.window.end),
            rows as i64,
            write.settled,
            write.run_id,
            now_text()
        ],
    )?;
    Ok(())
}

impl SqliteStore {
    /// One window in one transaction; under a lease, the fencing check comes first, inside it.
    pub(crate) fn write_window_in(
        &self,
        write: &WindowWrite<'_>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.write_window_with(write, lease, |tx, spec| replace_rows(tx, spec, write))
    }

    /// A record dataset's window in one transaction, its pages written as they arrive (the
    /// first awaited before the writer is taken, as [`SqliteStore::write_window_by_page`]).
    pub(crate) fn write_records_in(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<RecordPage>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        if let Some(lease) = lease.filter(|l| l.dataset != write.dataset) {
            return Err(crate::StoreError::LeaseLost {
                dataset: write.dataset.to_string(),
                token: lease.token,
                now_held_by: None,
            });
        }
        let mut pages = crate::first_page_ahead(pages);
        self.write_window_with(write, lease, |tx, spec| {
            replace_record_pages(tx, spec, write, &mut pages)
        })
    }

    /// One window in one transaction: the fencing check first, then `rows` writes the rows
    /// (returning how many), then the log, the writer and the watermark.
    fn write_window_with(
        &self,
        write: &WindowWrite<'_>,
        lease: Option<&LeaseToken>,
        rows: impl FnOnce(&Transaction<'_>, &TableSpec) -> Result<usize>,
    ) -> Result<WindowOutcome> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let writer = match lease {
                Some(lease) => Some(leases::check(&tx, lease, Timestamp::now())?),
                None => None,
            };
            let spec = dataset_spec(&tx, write.dataset)?;
            let counting = write
                .count_changes
                .then(|| changes::statements(&spec, ("?1", "?2"), TempTable::DroppedByHand));
            let bounds = (
                format_instant(write.window.start),
                format_instant(write.window.end),
            );
            if let Some(counting) = &counting {
                tx.execute_batch(&counting.make_before)?;
                tx.execute(&counting.keep_before, params![bounds.0, bounds.1])?;
            }
            let rows_written = rows(&tx, &spec)?;
            let rows_changed = match &counting {
                Some(counting) => Some(count_changes(&tx, counting, &bounds)?),
                None => None,
            };
            log_window_rows(&tx, write, rows_written)?;
            record_writer(&tx, write, lease, writer)?;
            let complete_through = advance_watermark(&tx, write.dataset)?;
            tx.commit()?;
            Ok(WindowOutcome {
                rows_written,
                complete_through,
                rows_changed,
            })
        })
    }
}

/// How many rows the rewrite changed; the copy of the old rows goes with the count.
fn count_changes(
    tx: &Transaction<'_>,
    counting: &ChangeCount,
    (start, end): &(String, String),
) -> Result<u64> {
    let changed: i64 = tx.query_row(&counting.count, params![start, end], |r| r.get(0))?;
    if let Some(drop) = &counting.drop_before {
        tx.execute_batch(drop)?;
    }
    Ok(changed as u64)
}

/// The window log's note of who wrote the window under which lease (none without one).
fn record_writer(
    tx: &Transaction<'_>,
    write: &WindowWrite<'_>,
    lease: Option<&LeaseToken>,
    writer: Option<LeaseHolder>,
) -> Result<()> {
    tx.execute(
        "UPDATE windows SET lease_token = ?3, writer = ?4 WHERE dataset = ?1 AND window_start = ?2",
        params![
            write.dataset,
            format_instant(write.window.start),
            lease.map(|l| l.token),
            writer.map(|w| w.to_string())
        ],
    )?;
    Ok(())
}

impl SqliteStore {
    /// The rows arrive as `pages` and are written as they come.
    pub(crate) fn write_window_by_page(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        let mut pages = crate::first_page_ahead(pages);
        self.write_window_with(write, lease, |tx, spec| {
            replace_rows_by_page(tx, spec, write, &mut pages)
        })
    }
}

/// The window log of a dataset, oldest window first.
pub(crate) fn logged(c: &Connection, dataset: &str) -> Result<Vec<WindowRecord>> {
    let mut statement = c.prepare(
        "SELECT window_start, window_end, rows, settled, written_at FROM windows
         WHERE dataset = ?1 ORDER BY window_start",
    )?;
    let raw = statement
        .query_map([dataset], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(start, end, rows, settled, written_at)| {
            Ok(WindowRecord {
                window: Interval::new(parse_instant(start)?, parse_instant(end)?),
                rows: rows as u64,
                settled,
                written_at: parse_instant(written_at)?,
            })
        })
        .collect()
}

/// The logged windows of a record dataset holding a record still open, oldest first.
pub(crate) fn open_record_windows(c: &mut Connection, dataset: &str) -> Result<Vec<Interval>> {
    let tx = c.transaction()?;
    let spec = dataset_spec(&tx, dataset)?;
    if spec.record_kind().is_none() {
        return Ok(Vec::new());
    }
    let mut statement = tx.prepare(&crate::records::open_windows_sql(&spec, "?1"))?;
    let raw = statement
        .query_map([dataset], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(start, end)| Ok(Interval::new(parse_instant(start)?, parse_instant(end)?)))
        .collect()
}
