//! Rows as a Parquet file, written one row group at a time so that a file of any size holds at
//! most one row group in memory. Uses parquet's low-level column writers (no arrow). The one
//! encoder of the product: the server's Parquet downloads and the lake's files both use it.
//!
//! Column types follow [`ColumnType`]: bucket bounds are `INT64 TIMESTAMP(MILLIS, UTC)`
//! (required), dimensions and names `BYTE_ARRAY STRING`, integral metrics `INT64` and
//! fractional ones (averages, ratios, observation stats) `DOUBLE`; all but the bounds optional.
//! A non-finite double is written as null, as JSON shows it.

use std::sync::Arc;

use crate::StoreError;
use crate::derived::{Operand, ratio};
use crate::read::{Cell, CellRef, ColumnType, OutputColumn, RowRef};
use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::types::Type;

/// Why a file could not be written; the stream is then cut short, never closed as if whole.
#[derive(Debug, thiserror::Error)]
pub enum ParquetWriteError {
    #[error("column `{column}`: {problem}")]
    Value { column: String, problem: String },
    #[error("a row has {got} values for {want} columns")]
    Width { got: usize, want: usize },
    #[error("writing Parquet: {0}")]
    Parquet(#[from] ParquetError),
    #[error("writing Parquet: {0}")]
    Io(#[from] std::io::Error),
    #[error("reading the row: {0}")]
    Store(#[from] StoreError),
}

/// The values of one column of the row group being gathered.
enum Values {
    /// Epoch milliseconds; required, so no definition levels.
    Timestamps(Vec<i64>),
    Integers(Vec<i64>),
    Reals(Vec<f64>),
    Texts(Texts),
}

/// A text column's values end to end in one buffer: no allocation per value while rows are
/// gathered; the values handed to the writer are slices of it.
#[derive(Default)]
struct Texts {
    bytes: Vec<u8>,
    /// Where each value ends in `bytes`.
    ends: Vec<usize>,
}

impl Texts {
    /// Adds `text` as stored: UTF-8 (the store writes only `str`), any invalid byte replaced.
    fn push(&mut self, text: &[u8]) {
        match std::str::from_utf8(text) {
            Ok(_) => self.bytes.extend_from_slice(text),
            Err(_) => self
                .bytes
                .extend_from_slice(String::from_utf8_lossy(text).as_bytes()),
        }
        self.ends.push(self.bytes.len());
    }

    /// The values as the writer takes them, sharing one buffer; leaves the column empty.
    fn take(&mut self) -> Vec<ByteArray> {
        let bytes = bytes::Bytes::from(std::mem::take(&mut self.bytes));
        let mut start = 0;
        let values = self
            .ends
            .iter()
            .map(|&end| {
                let value = ByteArray::from(bytes.slice(start..end));
                start = end;
                value
            })
            .collect();
        self.ends.clear();
        values
    }
}

struct ColumnBuffer {
    name: String,
    values: Values,
    /// 1 for a value, 0 for a null (optional columns only).
    definitions: Vec<i16>,
    /// The last instant's text and value (timestamp columns).
    last_instant: Option<(Vec<u8>, i64)>,
    /// A timestamp column that may hold nulls (every other kind may).
    optional_timestamps: bool,
}

impl ColumnBuffer {
    fn new(column: &OutputColumn) -> Self {
        let values = match column.kind {
            ColumnType::Timestamp | ColumnType::OptionalTimestamp => Values::Timestamps(Vec::new()),
            ColumnType::Integer => Values::Integers(Vec::new()),
            ColumnType::Real => Values::Reals(Vec::new()),
            ColumnType::Text => Values::Texts(Texts::default()),
        };
        Self {
            name: column.name.clone(),
            values,
            definitions: Vec::new(),
            last_instant: None,
            optional_timestamps: column.kind == ColumnType::OptionalTimestamp,
        }
    }

    fn reserve(&mut self, rows: usize) {
        match &mut self.values {
            Values::Timestamps(values) | Values::Integers(values) => values.reserve(rows),
            Values::Reals(values) => values.reserve(rows),
            Values::Texts(texts) => texts.ends.reserve(rows),
        }
        if self.has_definitions() {
            self.definitions.reserve(rows);
        }
    }

    /// Whether nulls may fall in the column, so where they fall is written with it.
    fn has_definitions(&self) -> bool {
        self.optional_timestamps || !matches!(self.values, Values::Timestamps(_))
    }

    fn push(&mut self, cell: CellRef<'_>) -> Result<(), ParquetWriteError> {
        let invalid = |problem: String| ParquetWriteError::Value {
            column: self.name.clone(),
            problem,
        };
        let present = match (&mut self.values, cell) {
            (Values::Timestamps(values), CellRef::Text(text)) => {
                let millis = match &self.last_instant {
                    // Rows of one bucket share its bounds: parse each text once.
                    Some((last, millis)) if last.as_slice() == text => *millis,
                    _ => {
                        let shown = String::from_utf8_lossy(text);
                        let instant: jiff::Timestamp = shown
                            .parse()
                            .map_err(|e| invalid(format!("`{shown}` is not an instant: {e}")))?;
                        let millis = instant.as_millisecond();
                        self.last_instant = Some((text.to_vec(), millis));
                        millis
                    }
                };
                values.push(millis);
                if !self.optional_timestamps {
                    return Ok(());
                }
                true
            }
            (Values::Timestamps(_), CellRef::Null) if self.optional_timestamps => false,
            (Values::Timestamps(_), other) => {
                return Err(invalid(format!("{other:?} is not an instant")));
            }
            (_, CellRef::Null | CellRef::Blob(_)) => false,
            (Values::Integers(values), CellRef::Integer(i)) => {
                values.push(i);
                true
            }
            (Values::Reals(values), CellRef::Real(r)) if r.is_finite() => {
                values.push(r);
                true
            }
            (Values::Reals(_), CellRef::Real(_)) => false,
            (Values::Reals(values), CellRef::Integer(i)) => {
                values.push(i as f64);
                true
            }
            (Values::Texts(values), CellRef::Text(text)) => {
                values.push(text);
                true
            }
            (Values::Texts(values), other) => {
                values.push(Cell::from(other).to_text().as_bytes());
                true
            }
            (Values::Integers(_), other) => {
                return Err(invalid(format!("{other:?} is not an integer")));
            }
            (Values::Reals(_), other) => {
                return Err(invalid(format!("{other:?} is not a number")));
            }
        };
        self.definitions.push(i16::from(present));
        Ok(())
    }

    /// Writes the gathered values as this column's chunk of the row group, and empties them.
    fn write(&mut self, mut column: SerializedColumnWriter<'_>) -> Result<(), ParquetWriteError> {
        let definitions = Some(self.definitions.as_slice());
        let timestamp_definitions = definitions.filter(|_| self.optional_timestamps);
        match &mut self.values {
            Values::Timestamps(values) => {
                write_values::<Int64Type>(&mut column, values, timestamp_definitions)?
            }
            Values::Integers(values) => {
                write_values::<Int64Type>(&mut column, values, definitions)?
            }
            Values::Reals(values) => write_values::<DoubleType>(&mut column, values, definitions)?,
            Values::Texts(texts) => {
                write_values::<ByteArrayType>(&mut column, &mut texts.take(), definitions)?
            }
        }
        self.definitions.clear();
        column.close()?;
        Ok(())
    }
}

/// Writes `values` (the non-null ones; `definitions` says where nulls fall) and empties them.
fn write_values<T: DataType>(
    column: &mut SerializedColumnWriter<'_>,
    values: &mut Vec<T::T>,
    definitions: Option<&[i16]>,
) -> Result<(), ParquetError> {
    column.typed::<T>().write_batch(values, definitions, None)?;
    values.clear();
    Ok(())
}

/// The Parquet schema of the output columns, names as in the CSV header.
fn schema(columns: &[OutputColumn]) -> Result<Type, ParquetError> {
    let fields = columns
        .iter()
        .map(|column| {
            let (physical, logical, repetition) = match column.kind {
                ColumnType::Timestamp => (
                    PhysicalType::INT64,
                    Some(LogicalType::timestamp(true, TimeUnit::MILLIS)),
                    Repetition::REQUIRED,
                ),
                ColumnType::OptionalTimestamp => (
                    PhysicalType::INT64,
                    Some(LogicalType::timestamp(true, TimeUnit::MILLIS)),
                    Repetition::OPTIONAL,
                ),
                ColumnType::Integer => (PhysicalType::INT64, None, Repetition::OPTIONAL),
                ColumnType::Real => (PhysicalType::DOUBLE, None, Repetition::OPTIONAL),
                ColumnType::Text => (
                    PhysicalType::BYTE_ARRAY,
                    Some(LogicalType::String),
                    Repetition::OPTIONAL,
                ),
            };
            Type::primitive_type_builder(&column.name, physical)
                .with_logical_type(logical)
                .with_repetition(repetition)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Type::group_type_builder("rows").with_fields(fields).build()
}

/// A Parquet file being written: rows go in, the file's bytes come out as row groups close.
pub struct ParquetWriter {
    file: SerializedFileWriter<Vec<u8>>,
    columns: Vec<ColumnBuffer>,
    /// The averages and ratios at the end of the columns, which a row may leave out: their
    /// numerator and denominator indices (see [`ParquetWriter::push_row`]).
    derived: Vec<(usize, usize)>,
    /// The current row's cells, as operands of the derived columns.
    operands: Vec<Operand>,
    /// Rows gathered for the next row group.
    pending: usize,
    row_group_rows: usize,
}

/// The columns after the stored ones that are derived from them: each an average or ratio
/// whose operands come before all of them. Empty when the columns do not end that way.
fn derived_tail(columns: &[OutputColumn]) -> Vec<(usize, usize)> {
    let derived = columns
        .iter()
        .rev()
        .take_while(|c| c.operands.is_some())
        .count();
    let stored = columns.len() - derived;
    let tail: Vec<(usize, usize)> = columns[stored..]
        .iter()
        .filter_map(|c| c.operands)
        .collect();
    if tail.iter().all(|&(n, d)| n < stored && d < stored) {
        tail
    } else {
        Vec::new()
    }
}

impl ParquetWriter {
    pub fn new(columns: &[OutputColumn], row_group_rows: usize) -> Result<Self, ParquetWriteError> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let file = SerializedFileWriter::new(
            Vec::new(),
            Arc::new(schema(columns)?),
            Arc::new(properties),
        )?;
        let derived = derived_tail(columns);
        Ok(Self {
            file,
            columns: columns.iter().map(ColumnBuffer::new).collect(),
            operands: vec![Operand::Null; columns.len() - derived.len()],
            derived,
            pending: 0,
            row_group_rows: row_group_rows.max(1),
        })
    }

    /// Makes room for `rows` more rows (up to a row group's) in the column buffers, when the
    /// caller knows how many are coming: no buffer then grows and copies itself row by row.
    pub fn reserve(&mut self, rows: usize) {
        let rows = rows.min(self.row_group_rows);
        for buffer in &mut self.columns {
            buffer.reserve(rows);
        }
    }

    /// Adds rows (closing a row group at each `row_group_rows`); returns the bytes written since
    /// the last call, to send on.
    pub fn push(&mut self, rows: Vec<Vec<Cell>>) -> Result<Vec<u8>, ParquetWriteError> {
        for row in rows {
            self.check_width(row.len())?;
            for (buffer, cell) in self.columns.iter_mut().zip(&row) {
                buffer.push(cell.as_cell_ref())?;
            }
            self.row_added()?;
        }
        self.take_bytes()
    }

    /// Adds one row as the store hands it, with no copy of its values; the bytes it completes
    /// wait for [`ParquetWriter::written`]. The row may end before the averages and ratios
    /// (`Selection::derived_in_sql` off): they are then computed from its cells, as SQLite
    /// would ([`crate::derived::ratio`]).
    pub fn push_row(&mut self, row: &RowRef<'_, '_>) -> Result<(), ParquetWriteError> {
        let width = row.width();
        let stored = self.columns.len() - self.derived.len();
        if width == self.columns.len() {
            for (index, buffer) in self.columns.iter_mut().enumerate() {
                buffer.push(row.cell(index)?)?;
            }
        } else if width == stored {
            let (read, derived) = self.columns.split_at_mut(stored);
            for (index, buffer) in read.iter_mut().enumerate() {
                let cell = row.cell(index)?;
                self.operands[index] = Operand::from(cell);
                buffer.push(cell)?;
            }
            for (buffer, &(numerator, denominator)) in derived.iter_mut().zip(&self.derived) {
                let value = ratio(self.operands[numerator], self.operands[denominator]);
                buffer.push(value.map_or(CellRef::Null, CellRef::Real))?;
            }
        } else {
            self.check_width(width)?;
        }
        self.row_added()
    }

    /// The bytes written since the last call (row groups completed), to send on.
    pub fn written(&mut self) -> Result<Vec<u8>, ParquetWriteError> {
        self.take_bytes()
    }

    fn check_width(&self, got: usize) -> Result<(), ParquetWriteError> {
        if got != self.columns.len() {
            return Err(ParquetWriteError::Width {
                got,
                want: self.columns.len(),
            });
        }
        Ok(())
    }

    fn row_added(&mut self) -> Result<(), ParquetWriteError> {
        self.pending += 1;
        if self.pending == self.row_group_rows {
            self.write_row_group()?;
        }
        Ok(())
    }

    /// Writes the last row group and the footer; returns the remaining bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, ParquetWriteError> {
        if self.pending > 0 {
            self.write_row_group()?;
        }
        self.file.finish()?;
        self.take_bytes()
    }

    fn write_row_group(&mut self) -> Result<(), ParquetWriteError> {
        let mut group = self.file.next_row_group()?;
        for buffer in &mut self.columns {
            let column = group
                .next_column()?
                .ok_or_else(|| ParquetError::General("the schema has fewer columns".into()))?;
            buffer.write(column)?;
        }
        group.close()?;
        self.pending = 0;
        Ok(())
    }

    /// The bytes written so far and not yet taken. The writer counts offsets itself, so the
    /// buffer under it can be emptied between writes (as parquet's own async writer does).
    fn take_bytes(&mut self) -> Result<Vec<u8>, ParquetWriteError> {
        self.file.flush()?;
        Ok(std::mem::take(self.file.inner_mut()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TableSpec;
    use crate::read::Selection;
    use bytes::Bytes;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    fn columns() -> Vec<OutputColumn> {
        let spec = TableSpec {
            name: "t".into(),
            dimensions: vec!["queueId".into()],
            metrics: vec!["nOffered".into(), "tHandle".into()],
            definition: crate::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        };
        Selection::all(&spec).columns()
    }

    fn row(i: i64) -> Vec<Cell> {
        let mut row = vec![
            Cell::Text("2024-03-31T00:00:00.000Z".into()),
            Cell::Text("2024-03-31T00:15:00.000Z".into()),
            if i % 3 == 0 {
                Cell::Null
            } else {
                Cell::Text(format!("q{i}"))
            },
            Cell::Integer(i),
        ];
        // t_handle count, sum, min, max, then the average.
        row.extend([Cell::Integer(2), Cell::Integer(i), Cell::Null, Cell::Null]);
        row.push(Cell::Real(i as f64 / 2.0));
        row
    }

    fn write(rows: i64, row_group_rows: usize) -> Vec<u8> {
        let columns = columns();
        let mut writer = ParquetWriter::new(&columns, row_group_rows).unwrap();
        let mut file = Vec::new();
        let all: Vec<_> = (0..rows).map(row).collect();
        for chunk in all.chunks(7) {
            file.extend(writer.push(chunk.to_vec()).unwrap());
        }
        file.extend(writer.finish().unwrap());
        file
    }

    #[test]
    fn rows_read_back_in_order_across_row_groups() {
        let file = write(50, 16);
        let reader = SerializedFileReader::new(Bytes::from(file)).unwrap();
        let sizes: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(sizes, [16, 16, 16, 2]);
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 50);
        for (i, row) in rows.iter().enumerate() {
            let fields: Vec<_> = row.get_column_iter().map(|(_, f)| f.clone()).collect();
            assert_eq!(
                fields[0],
                Field::TimestampMillis(1_711_843_200_000),
                "interval_start"
            );
            let queue = if i % 3 == 0 {
                Field::Null
            } else {
                Field::Str(format!("q{i}"))
            };
            assert_eq!(fields[2], queue);
            assert_eq!(fields[3], Field::Long(i as i64));
            assert_eq!(fields[6], Field::Null);
            assert_eq!(fields[8], Field::Double(i as f64 / 2.0));
        }
    }

    /// The store's row, as a read hands it to a visitor.
    fn with_store_row(cells: &[Cell], each: impl FnOnce(&RowRef<'_, '_>)) {
        use rusqlite::types::Value;
        let values: Vec<Value> = cells
            .iter()
            .map(|cell| match cell {
                Cell::Null => Value::Null,
                Cell::Integer(i) => Value::Integer(*i),
                Cell::Real(r) => Value::Real(*r),
                Cell::Text(t) => Value::Text(t.clone()),
            })
            .collect();
        let marks: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        let mut statement = connection
            .prepare(&format!("SELECT {}", marks.join(", ")))
            .unwrap();
        let mut rows = statement.query(rusqlite::params_from_iter(values)).unwrap();
        each(&RowRef::new(rows.next().unwrap().unwrap()));
    }

    #[test]
    fn rows_pushed_as_the_store_hands_them_make_the_same_file_as_copied_cells() {
        let columns = columns();
        let rows: Vec<_> = (0..40).map(row).collect();
        let mut copied = ParquetWriter::new(&columns, 16).unwrap();
        let mut expected = copied.push(rows.clone()).unwrap();
        expected.extend(copied.finish().unwrap());
        let mut borrowed = ParquetWriter::new(&columns, 16).unwrap();
        for cells in &rows {
            with_store_row(cells, |row| borrowed.push_row(row).unwrap());
        }
        let mut file = borrowed.written().unwrap();
        file.extend(borrowed.finish().unwrap());
        assert_eq!(file, expected);
    }

    #[test]
    fn averages_left_out_of_the_row_are_computed_as_the_store_computes_them() {
        let columns = columns();
        assert_eq!(derived_tail(&columns), [(5, 4)]);
        let rows: Vec<_> = (0..40).map(row).collect();
        let mut whole = ParquetWriter::new(&columns, 16).unwrap();
        let mut expected = whole.push(rows.clone()).unwrap();
        expected.extend(whole.finish().unwrap());
        let mut short = ParquetWriter::new(&columns, 16).unwrap();
        for cells in &rows {
            with_store_row(&cells[..cells.len() - 1], |row| {
                short.push_row(row).unwrap()
            });
        }
        let mut file = short.written().unwrap();
        file.extend(short.finish().unwrap());
        assert_eq!(file, expected);
        // A null or zero count makes a null average, as `NULLIF` does.
        let mut cells = row(3);
        cells[4] = Cell::Integer(0);
        let mut writer = ParquetWriter::new(&columns, 16).unwrap();
        with_store_row(&cells[..cells.len() - 1], |row| {
            writer.push_row(row).unwrap()
        });
        let mut file = writer.written().unwrap();
        file.extend(writer.finish().unwrap());
        let reader = SerializedFileReader::new(Bytes::from(file)).unwrap();
        let read = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
        assert_eq!(read.get_column_iter().nth(8).unwrap().1, &Field::Null);
        // Any other width is refused.
        let mut writer = ParquetWriter::new(&columns, 16).unwrap();
        with_store_row(&row(1)[..5], |row| assert!(writer.push_row(row).is_err()));
    }

    #[test]
    fn an_empty_result_is_a_valid_empty_file() {
        let file = write(0, 16);
        let reader = SerializedFileReader::new(Bytes::from(file)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(
            reader
                .metadata()
                .file_metadata()
                .schema()
                .get_fields()
                .len(),
            9
        );
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_an_error_not_a_file() {
        let mut writer = ParquetWriter::new(&columns(), 16).unwrap();
        let mut bad = row(1);
        bad[0] = Cell::Text("yesterday".into());
        let error = writer.push(vec![bad]).unwrap_err();
        assert!(error.to_string().contains("interval_start"), "{error}");
        let mut bad = row(1);
        bad[3] = Cell::Text("many".into());
        assert!(writer.push(vec![bad]).is_err());
        assert!(writer.push(vec![vec![Cell::Null]]).is_err());
    }
}
