//! One encoder for every streamed format: store rows in, the bytes of a CSV, NDJSON or
//! Parquet body out.

use warehouse::StoreError;
use warehouse::columnar::ParquetWriter;
use warehouse::read::{Cell, OutputColumn, RowRef};

use super::query::Format;
use super::text_rows::{CsvRows, NdjsonRows};

/// Turns the streamed rows into the bytes of the response body.
pub(super) enum Encoder {
    Csv(CsvRows),
    Ndjson(NdjsonRows),
    Parquet {
        writer: Box<ParquetWriter>,
        pending: Vec<Vec<Cell>>,
    },
}

impl Encoder {
    pub(super) fn new(
        format: Format,
        columns: &[OutputColumn],
        row_group_rows: usize,
    ) -> Result<Self, String> {
        Ok(match format {
            Format::Csv => Encoder::Csv(CsvRows::new(columns)),
            Format::Parquet => Encoder::Parquet {
                writer: Box::new(
                    ParquetWriter::new(columns, row_group_rows).map_err(|e| e.to_string())?,
                ),
                pending: Vec::new(),
            },
            Format::Json | Format::Ndjson => Encoder::Ndjson(NdjsonRows::new(columns)),
        })
    }

    pub(super) fn row(
        &mut self,
        out: &mut Vec<u8>,
        row: &RowRef<'_, '_>,
    ) -> Result<(), StoreError> {
        match self {
            Encoder::Csv(csv) => csv.row(out, row),
            Encoder::Ndjson(ndjson) => ndjson.row(out, row),
            Encoder::Parquet { pending, .. } => {
                pending.push(warehouse::read::cells(row)?);
                Ok(())
            }
        }
    }

    /// After a chunk of rows: Parquet's row groups completed by them.
    pub(super) fn end_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        if let Encoder::Parquet { writer, pending } = self {
            out.extend(
                writer
                    .push(std::mem::take(pending))
                    .map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    /// The bytes that end the body: Parquet's last row group and footer.
    pub(super) fn finish(self) -> Result<Vec<u8>, String> {
        match self {
            Encoder::Parquet { writer, .. } => writer.finish().map_err(|e| e.to_string()),
            Encoder::Csv(_) | Encoder::Ndjson(_) => Ok(Vec::new()),
        }
    }
}
