//! One window's rows read back from the store (through the read seam, in key order) and encoded
//! as one Parquet file per local day they fall on, with the warehouse's one Parquet encoder.
//! Runs on a blocking thread: store reads are synchronous.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use genesys::Interval;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use warehouse::columnar::{ParquetWriteError, ParquetWriter};
use warehouse::read::{CellRef, Selection};
use warehouse::{ReadSession, StoreError, TableSpec};

/// The most cells a row group gathers before it is written (some 64 MB of values): a million
/// rows of a narrow dataset, fewer of a wide one, so memory stays bounded whatever the width.
const ROW_GROUP_CELLS: usize = 8_000_000;
const ROW_GROUP_ROWS: usize = 1_000_000;
/// Rows between collections of the encoder's completed row groups.
const CHUNK_ROWS: u64 = 4_096;

/// One day's file of a window, encoded.
pub(crate) struct DayFile {
    pub date: Date,
    pub rows: u64,
    /// The file's bytes, in the pieces the encoder gave them (sent as one body, not copied).
    pub parts: Vec<Bytes>,
}

impl DayFile {
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Parquet(#[from] ParquetWriteError),
}

/// Rows per row group for `columns` columns.
pub(crate) fn row_group_rows(columns: usize) -> usize {
    (ROW_GROUP_CELLS / columns.max(1)).clamp(1, ROW_GROUP_ROWS)
}

/// The day's file being written.
struct OpenDay {
    date: Date,
    writer: ParquetWriter,
    rows: u64,
    parts: Vec<Bytes>,
}

impl OpenDay {
    /// Takes the row groups the rows so far completed.
    fn collect(&mut self) -> Result<(), ParquetWriteError> {
        let bytes = self.writer.written()?;
        if !bytes.is_empty() {
            self.parts.push(Bytes::from(bytes));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<DayFile, ParquetWriteError> {
        self.collect()?;
        self.parts.push(Bytes::from(self.writer.finish()?));
        Ok(DayFile {
            date: self.date,
            rows: self.rows,
            parts: self.parts,
        })
    }
}

/// The local date of the bucket starts seen last (rows of one bucket come together).
struct Dates {
    zone: TimeZone,
    last: Option<(Vec<u8>, Date)>,
}

impl Dates {
    fn of(&mut self, cell: CellRef<'_>) -> Result<Date, StoreError> {
        if let (Some((text, date)), CellRef::Text(start)) = (&self.last, cell)
            && text.as_slice() == start
        {
            return Ok(*date);
        }
        let date = local_date(cell, &self.zone)?;
        if let CellRef::Text(start) = cell {
            self.last = Some((start.to_vec(), date));
        }
        Ok(date)
    }
}

/// The window's rows as one file per local day (in `zone`), in the store's key order (bucket
/// start first, so days come one after another). A window without rows has no file. Once
/// `cancelled` is set the read stops (an error) at its next chunk of rows. `rows_hint` is how
/// many rows the store says the window has, to size the buffers (only a hint).
pub(crate) fn encode_window(
    session: &dyn ReadSession,
    spec: &TableSpec,
    window: Interval,
    rows_hint: u64,
    zone: &TimeZone,
    cancelled: &AtomicBool,
) -> Result<Vec<DayFile>, EncodeError> {
    let mut selection = Selection::all(spec);
    // Averages and ratios are computed by the encoder from the cells read, not by the store's
    // statement: the same f64, for less of the store's time.
    selection.derived_in_sql = false;
    let columns = selection.columns();
    let group_rows = row_group_rows(columns.len());
    let mut files = Vec::new();
    let mut open: Option<OpenDay> = None;
    let mut failure: Option<ParquetWriteError> = None;
    let mut dates = Dates {
        zone: zone.clone(),
        last: None,
    };
    selection
        .visit(session, (window.start, window.end), 0, u64::MAX, |row| {
            let date = dates.of(row.cell(0)?)?;
            if open.as_ref().is_some_and(|day| day.date != date) {
                match open.take().map(OpenDay::finish) {
                    Some(Ok(file)) => files.push(file),
                    Some(Err(e)) => return Err(stop(&mut failure, e)),
                    None => {}
                }
            }
            let day = match &mut open {
                Some(day) => day,
                None => {
                    let mut writer = ParquetWriter::new(&columns, group_rows)
                        .map_err(|e| stop(&mut failure, e))?;
                    // The window's rows not yet encoded: what this day can hold at most.
                    let encoded: u64 = files.iter().map(|f: &DayFile| f.rows).sum();
                    writer.reserve(rows_hint.saturating_sub(encoded) as usize);
                    open.insert(OpenDay {
                        date,
                        writer,
                        rows: 0,
                        parts: Vec::new(),
                    })
                }
            };
            day.writer
                .push_row(row)
                .map_err(|e| stop(&mut failure, e))?;
            day.rows += 1;
            if day.rows.is_multiple_of(CHUNK_ROWS) {
                if cancelled.load(Ordering::Relaxed) {
                    return Err(StoreError::PagesStopped(
                        "the publish no longer wants the window".into(),
                    ));
                }
                day.collect().map_err(|e| stop(&mut failure, e))?;
            }
            Ok(())
        })
        .map_err(|e| match failure.take() {
            Some(encoding) => EncodeError::Parquet(encoding),
            None => EncodeError::Store(e),
        })?;
    if let Some(day) = open {
        files.push(day.finish()?);
    }
    Ok(files)
}

/// Keeps the encoder's error to report, and stops the store's read with a placeholder.
fn stop(kept: &mut Option<ParquetWriteError>, error: ParquetWriteError) -> StoreError {
    let message = error.to_string();
    *kept = Some(error);
    StoreError::PagesStopped(message)
}

/// The local date of a bucket start as the store gives it (UTC text).
fn local_date(cell: CellRef<'_>, zone: &TimeZone) -> Result<Date, StoreError> {
    let corrupt = |value: String| StoreError::CorruptInstant { value };
    let text = match cell {
        CellRef::Text(text) => {
            std::str::from_utf8(text).map_err(|_| corrupt(String::from_utf8_lossy(text).into()))?
        }
        other => return Err(corrupt(format!("{other:?}"))),
    };
    let instant: jiff::Timestamp = text.parse().map_err(|_| corrupt(text.to_string()))?;
    Ok(instant.to_zoned_datetime(zone.clone()).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_hold_a_million_rows_or_fewer_of_wide_datasets() {
        assert_eq!(row_group_rows(8), 1_000_000);
        assert_eq!(row_group_rows(80), 100_000);
        assert_eq!(row_group_rows(0), 1_000_000);
    }
}
