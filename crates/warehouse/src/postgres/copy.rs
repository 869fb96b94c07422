//! A window's rows into its table by `COPY … FROM STDIN (FORMAT binary)`: each row's cells
//! typed as the table's columns are, encoded here in PostgreSQL's binary copy format and
//! streamed in the transaction in chunks of about [`CHUNK`] bytes.

use std::pin::Pin;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::SinkExt;
use tokio_postgres::{Client, CopyInSink};

use super::instant::Instant;
use super::{Fail, PostgresError};
use crate::records::RecordRow;
use crate::rows::{AggregateRow, Value};
use crate::schema::{TableSpec, day_table, quote};

/// How much encoded data is handed to the connection at a time. tokio-postgres's own
/// `BinaryCopyInWriter` hands it on every 4 kB, each a message through a channel, a wake-up of
/// the connection's task and a socket write: some 1,200 of them for a window of 12,000 rows,
/// about a fifth of the client's profile in `bench/postgres-write.sh`.
const CHUNK: usize = 256 * 1024;

/// `PGCOPY\n\377\r\n\0`, the flags (no OIDs) and the header extension's length (none).
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// The `COPY` of rows into one of a dataset's tables: its statement, and each metric column's
/// name and whether it is a real (`double precision`, else `bigint`).
pub(crate) struct RowCopy {
    sql: String,
    metrics: Vec<(String, bool)>,
}

/// The `COPY` into the dataset's table, its columns in table order.
pub(crate) fn statement(spec: &TableSpec) -> RowCopy {
    statement_into(&spec.name, spec, &[])
}

/// The `COPY` into the dataset's per-day table: the dataset's columns, then `date`.
pub(crate) fn day_statement(spec: &TableSpec) -> RowCopy {
    statement_into(&day_table(&spec.name), spec, &["date"])
}

/// The dataset's columns, then `text` columns `extra`, into `table`.
pub(crate) fn statement_into(table: &str, spec: &TableSpec, extra: &[&str]) -> RowCopy {
    let mut names = vec!["interval_start".to_string(), "interval_end".to_string()];
    names.extend(spec.dimension_columns().iter().map(|d| quote(d)));
    let metrics: Vec<(String, bool)> = (spec.metric_columns().into_iter())
        .map(|c| (c.column, c.sql_type != "INTEGER"))
        .collect();
    names.extend(metrics.iter().map(|(name, _)| quote(name)));
    names.extend(extra.iter().map(|name| quote(name)));
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        quote(table),
        names.join(", ")
    );
    RowCopy { sql, metrics }
}

impl RowCopy {
    /// Starts the `COPY` on `client` (in its transaction).
    pub(crate) async fn start(self, client: &Client) -> Result<CopyWriter, Fail> {
        let sink = client.copy_in(&self.sql).await?;
        let mut buf = BytesMut::with_capacity(CHUNK + CHUNK / 4);
        buf.put_slice(HEADER);
        Ok(CopyWriter {
            sink: Box::pin(sink),
            metrics: self.metrics,
            buf,
        })
    }
}

/// A `COPY` in progress. Dropped without [`CopyWriter::finish`], it is abandoned (CopyFail).
pub(crate) struct CopyWriter {
    sink: Pin<Box<CopyInSink<Bytes>>>,
    metrics: Vec<(String, bool)>,
    buf: BytesMut,
}

impl CopyWriter {
    /// Streams `rows` into the `COPY`, each followed by the text `extra` if given. A row's
    /// values go in as their columns store them (`Value::as_stored`); a real that is not whole
    /// can't go in an integer column and fails the `COPY`.
    pub(crate) async fn rows(
        &mut self,
        rows: &[AggregateRow],
        extra: Option<&str>,
    ) -> Result<(), Fail> {
        for row in rows {
            let fields = 2 + row.group.len() + row.values.len() + usize::from(extra.is_some());
            self.buf
                .put_i16(i16::try_from(fields).map_err(|_| too_wide(fields))?);
            self.instant(Instant(row.interval.start));
            self.instant(Instant(row.interval.end));
            for group in &row.group {
                self.text(group.as_deref())?;
            }
            self.values(&row.values)?;
            if extra.is_some() {
                self.text(extra)?;
            }
            if self.buf.len() >= CHUNK {
                self.sink.send(self.buf.split().freeze()).await?;
            }
        }
        Ok(())
    }

    /// Streams a record dataset's `records` into the `COPY` (an open record's end is null).
    pub(crate) async fn records(&mut self, records: &[RecordRow]) -> Result<(), Fail> {
        for record in records {
            let fields = 2 + record.fields.len() + record.values.len();
            self.buf
                .put_i16(i16::try_from(fields).map_err(|_| too_wide(fields))?);
            self.instant(Instant(record.start));
            match record.end {
                Some(end) => self.instant(Instant(end)),
                None => self.buf.put_i32(-1),
            }
            for field in &record.fields {
                self.text(field.as_deref())?;
            }
            self.values(&record.values)?;
            if self.buf.len() >= CHUNK {
                self.sink.send(self.buf.split().freeze()).await?;
            }
        }
        Ok(())
    }

    /// Ends the `COPY`: the trailer sent, the rows taken.
    pub(crate) async fn finish(mut self) -> Result<u64, Fail> {
        self.buf.put_i16(-1);
        self.sink.send(self.buf.split().freeze()).await?;
        Ok(self.sink.as_mut().finish().await?)
    }

    /// A row's metric values, each as its column stores it.
    fn values(&mut self, values: &[Option<Value>]) -> Result<(), Fail> {
        for (value, (column, real)) in values.iter().zip(&self.metrics) {
            match value.map(|v| v.as_stored(*real)) {
                None => self.buf.put_i32(-1),
                Some(Value::Real(r)) if *real => {
                    self.buf.put_i32(8);
                    self.buf.put_f64(r);
                }
                Some(Value::Int(i)) => {
                    self.buf.put_i32(8);
                    self.buf.put_i64(i);
                }
                Some(Value::Real(r)) => {
                    return Err(Fail::from(PostgresError::Statement(format!(
                        "{r} is not a whole number, as the integer column {column} needs"
                    ))));
                }
            }
        }
        Ok(())
    }

    fn instant(&mut self, at: Instant) {
        self.buf.put_i32(8);
        self.buf.put_i64(at.postgres_microseconds());
    }

    fn text(&mut self, text: Option<&str>) -> Result<(), Fail> {
        match text {
            None => self.buf.put_i32(-1),
            Some(text) => {
                let length = i32::try_from(text.len()).map_err(|_| {
                    Fail::from(PostgresError::Statement(format!(
                        "a text of {} bytes is longer than PostgreSQL takes",
                        text.len()
                    )))
                })?;
                self.buf.put_i32(length);
                self.buf.put_slice(text.as_bytes());
            }
        }
        Ok(())
    }
}

fn too_wide(fields: usize) -> Fail {
    Fail::from(PostgresError::Statement(format!(
        "a row of {fields} columns is wider than PostgreSQL takes"
    )))
}
