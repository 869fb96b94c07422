//! One export thread: reads its share of the segments in chunks on its own session,
//! encodes them, and hands the bytes to the body, never holding more than a chunk.

use std::sync::Arc;

use axum::body::Bytes;
use genesys::interval::format_instant;
use jiff::Timestamp;
use warehouse::StoreError;
use warehouse::read::{CellRef, RowRef};

use super::encoder::Encoder;
use super::merge::{Piece, PieceSender};
use super::prepare::Prepared;
use super::query::Format;
use crate::metrics::Metrics;
use crate::reads::Reads;

/// One export thread: every `lanes`-th occupied segment from its index on.
#[derive(Clone)]
pub(super) struct Lane {
    pub(super) prepared: Arc<Prepared>,
    pub(super) reads: Arc<Reads>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) name: String,
    pub(super) format: Format,
    pub(super) row_group_rows: usize,
    pub(super) chunk_rows: u64,
    pub(super) lanes: usize,
}

impl Lane {
    pub(super) fn run(&self, index: usize, sender: &PieceSender) {
        if let Err(error) = self.produce(index, sender) {
            tracing::error!(error = %error, "Streaming rows failed; the response is cut short.");
            // A failed send means the client is gone: there is no one left to cut short.
            let _ = sender.blocking_send(Err(error));
        }
    }

    fn produce(&self, index: usize, sender: &PieceSender) -> Result<(), String> {
        let send = |piece: Piece| sender.blocking_send(Ok(piece)).is_ok();
        let session = self.reads.export_session().map_err(|p| p.detail)?;
        let mut selection = self.prepared.selection.clone();
        // Parquet's writer takes whole rows of cells; the text encoders derive the averages
        // and ratios themselves, cheaper than the statement does.
        selection.derived_in_sql = self.format == Format::Parquet;
        let columns = selection.columns();
        let mut encoder = Encoder::new(self.format, &columns, self.row_group_rows)?;
        // Chunks of a dataset are about the same size: starting each buffer at the largest so
        // far (and a little more) spares the copies of growing it.
        let mut capacity = 0;
        for segment in self.prepared.occupied().skip(index).step_by(self.lanes) {
            let (mut start, end) = self.prepared.segments.bounds(segment);
            let mut offset = 0;
            loop {
                let mut out = Vec::with_capacity(capacity);
                let mut last = LastStart::default();
                let count = selection
                    .visit(&*session, (start, end), offset, self.chunk_rows, |row| {
                        encoder.row(&mut out, row)?;
                        if !selection.rollup {
                            last.see(row)?;
                        }
                        Ok(())
                    })
                    .map_err(|e| e.to_string())?;
                encoder.end_chunk(&mut out)?;
                if self.format != Format::Parquet {
                    // (Parquet's chunks are mostly empty, and now and then a whole row group.)
                    capacity = capacity.max(out.len() + out.len() / 16);
                }
                self.metrics.rows_served(&self.name, count);
                // The statement is finished: waiting on a slow client holds no transaction.
                if !out.is_empty() && !send(Piece::Bytes(Bytes::from(out))) {
                    return Ok(()); // the client went away
                }
                if count < self.chunk_rows {
                    break;
                }
                // The next chunk starts at the last row's bucket, past the rows of it already
                // read: a small offset, where counting from the segment's start would make
                // SQLite step over every row read so far again.
                match last.start() {
                    Some(next) if next > start => (start, offset) = (next, last.rows),
                    _ => offset += count,
                }
            }
            if !send(Piece::SegmentDone) {
                return Ok(());
            }
        }
        // Only a lane that read every row sends its end (Parquet's footer); an error before
        // this cuts the body short, so the client sees a failed transfer.
        let tail = encoder.finish()?;
        if !tail.is_empty() {
            send(Piece::Bytes(Bytes::from(tail)));
        }
        Ok(())
    }
}

/// The last bucket start (a row's first cell) of a chunk's rows, and how many rows in a row
/// ended with it. Rows come in bucket order unless rolled up, and a bucket's rows (groups) all
/// share its start, so those rows are exactly the chunk's rows from that start on.
#[derive(Default)]
struct LastStart {
    text: Vec<u8>,
    rows: u64,
}

impl LastStart {
    fn see(&mut self, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        let CellRef::Text(text) = row.cell(0)? else {
            self.text.clear();
            self.rows = 0;
            return Ok(());
        };
        if text == self.text.as_slice() {
            self.rows += 1;
        } else {
            self.text.clear();
            self.text.extend_from_slice(text);
            self.rows = 1;
        }
        Ok(())
    }

    /// The start, if stored as the statement's own bounds are written: then `interval_start >=`
    /// it selects exactly the rows from it on.
    fn start(&self) -> Option<Timestamp> {
        let text = std::str::from_utf8(&self.text).ok()?;
        let start: Timestamp = text.parse().ok()?;
        (format_instant(start) == text).then_some(start)
    }
}
