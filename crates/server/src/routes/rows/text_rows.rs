//! Rows as CSV or NDJSON text, written from the store's row straight into the output buffer: no
//! string per cell and no JSON object per row, because an export writes tens of millions of
//! cells.

use warehouse::StoreError;
use warehouse::read::{CellRef, OutputColumn, RowRef};

use crate::derived::{Operand, ratio};

/// A row's cells in column order. A statement may end before the averages and ratios (see
/// `Selection::derived_in_sql`); those are then computed from the cells read.
struct Cells {
    /// For each column, the numerator and denominator it is derived from, if it is derived.
    operands: Vec<Option<(usize, usize)>>,
    /// The current row's cells, as operands.
    read: Vec<Operand>,
}

/// A column's name and, if it is derived, its operands' indices.
type Column<'a> = (&'a str, Option<(usize, usize)>);

fn parts(columns: &[OutputColumn]) -> impl Iterator<Item = Column<'_>> {
    columns.iter().map(|c| (c.name.as_str(), c.operands))
}

impl Cells {
    fn new(operands: Vec<Option<(usize, usize)>>) -> Self {
        Self {
            read: vec![Operand::Null; operands.len()],
            operands,
        }
    }

    fn width(&self) -> usize {
        self.operands.len()
    }

    /// Hands each cell to `each` with its column index, in order.
    fn each<'r>(
        &mut self,
        row: &RowRef<'r, '_>,
        mut each: impl FnMut(usize, CellRef<'r>),
    ) -> Result<(), StoreError> {
        let read = row.width().min(self.width());
        for i in 0..read {
            let value = row.cell(i)?;
            self.read[i] = Operand::from(value);
            each(i, value);
        }
        for i in read..self.width() {
            let (numerator, denominator) = self.operands[i]
                .filter(|(n, d)| *n < read && *d < read)
                .ok_or_else(|| row.missing(i))?;
            let value = ratio(self.read[numerator], self.read[denominator]);
            each(i, value.map_or(CellRef::Null, CellRef::Real));
        }
        Ok(())
    }
}

/// CSV (RFC 4180: quoted only when a field needs it); nulls are empty fields.
pub struct CsvRows {
    header: Vec<u8>,
    cells: Cells,
}

impl CsvRows {
    pub fn new(columns: &[OutputColumn]) -> Self {
        Self::from_parts(parts(columns))
    }

    fn from_parts<'a>(columns: impl IntoIterator<Item = Column<'a>>) -> Self {
        let mut header = Vec::new();
        let mut operands = Vec::new();
        for (i, (name, derived)) in columns.into_iter().enumerate() {
            if i > 0 {
                header.push(b',');
            }
            csv_text(&mut header, name.as_bytes());
            operands.push(derived);
        }
        header.push(b'\n');
        Self {
            header,
            cells: Cells::new(operands),
        }
    }

    pub fn header(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header);
    }

    pub fn row(&mut self, out: &mut Vec<u8>, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        self.cells.each(row, |i, value| {
            if i > 0 {
                out.push(b',');
            }
            match value {
                CellRef::Null | CellRef::Blob(_) => {}
                CellRef::Integer(value) => integer(out, value),
                CellRef::Real(value) => real(out, value),
                CellRef::Text(text) => csv_text(out, text),
            }
        })?;
        out.push(b'\n');
        Ok(())
    }
}

/// JSON objects (one per line for NDJSON), keys in column order; non-finite reals are null, as in JSON pages.
pub struct NdjsonRows {
    /// `{"name":` for the first column, `,"name":` for the others.
    keys: Vec<Vec<u8>>,
    cells: Cells,
}

impl NdjsonRows {
    pub fn new(columns: &[OutputColumn]) -> Self {
        Self::from_parts(parts(columns))
    }

    fn from_parts<'a>(columns: impl IntoIterator<Item = Column<'a>>) -> Self {
        let mut keys = Vec::new();
        let mut operands = Vec::new();
        for (i, (name, derived)) in columns.into_iter().enumerate() {
            let mut key = vec![if i == 0 { b'{' } else { b',' }];
            json_text(&mut key, name);
            key.push(b':');
            keys.push(key);
            operands.push(derived);
        }
        Self {
            keys,
            cells: Cells::new(operands),
        }
    }

    /// The row as an NDJSON line.
    pub fn row(&mut self, out: &mut Vec<u8>, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        self.object(out, row)?;
        out.push(b'\n');
        Ok(())
    }

    /// The row as a JSON object.
    pub fn object(&mut self, out: &mut Vec<u8>, row: &RowRef<'_, '_>) -> Result<(), StoreError> {
        if self.keys.is_empty() {
            out.push(b'{');
        }
        let keys = &self.keys;
        self.cells.each(row, |i, value| {
            out.extend_from_slice(&keys[i]);
            match value {
                CellRef::Null | CellRef::Blob(_) => out.extend_from_slice(b"null"),
                CellRef::Integer(value) => integer(out, value),
                CellRef::Real(value) if value.is_finite() => real(out, value),
                CellRef::Real(_) => out.extend_from_slice(b"null"),
                CellRef::Text(text) => json_bytes(out, text),
            }
        })?;
        out.push(b'}');
        Ok(())
    }
}

fn integer(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// The shortest text that reads back as the same f64 (what JSON pages print too), in ryu's
/// spelling: zmij is about twice as fast and prints the same digits, but writes a positive
/// exponent as `e+21` where ryu (and every export so far) wrote `e21`.
fn real(out: &mut Vec<u8>, value: f64) {
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format(value).as_bytes();
    // Only an exponent has a sign after the first byte, and it is at most `e+308`.
    let tail = text.len().saturating_sub(4).max(1);
    match text[tail..].iter().position(|b| *b == b'+') {
        Some(plus) => {
            out.extend_from_slice(&text[..tail + plus]);
            out.extend_from_slice(&text[tail + plus + 1..]);
        }
        None => out.extend_from_slice(text),
    }
}

fn csv_text(out: &mut Vec<u8>, text: &[u8]) {
    if !text
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        out.extend_from_slice(text);
        return;
    }
    out.push(b'"');
    for part in text.split_inclusive(|b| *b == b'"') {
        out.extend_from_slice(part);
        if part.ends_with(b"\"") {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

fn json_text(out: &mut Vec<u8>, text: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// A cell's text as a JSON string (invalid UTF-8 replaced). Ids, codes and timestamps are
/// printable ASCII with nothing to escape, which is copied as it is: what serde_json writes too.
fn json_bytes(out: &mut Vec<u8>, text: &[u8]) {
    if text
        .iter()
        .all(|b| matches!(b, b' '..=b'~') && !matches!(b, b'"' | b'\\'))
    {
        out.push(b'"');
        out.extend_from_slice(text);
        out.push(b'"');
    } else {
        json_text(out, &String::from_utf8_lossy(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two rows as the store hands them over: text needing quotes and escapes, extreme
    /// integers, reals (one not finite), nulls.
    fn with_rows(each: impl FnMut(&RowRef<'_, '_>)) {
        use warehouse::read::Bound;
        let rows = [
            vec![
                Bound::Text("plain".into()),
                Bound::Integer(-42),
                Bound::Real(0.1 + 0.2),
                Bound::Null,
            ],
            vec![
                Bound::Text("comma, \"quote\"\nline".into()),
                Bound::Integer(i64::MAX),
                Bound::Real(f64::INFINITY),
                Bound::Real(1e21),
            ],
        ];
        warehouse::testing::visit_values(&rows, each).unwrap();
    }

    #[test]
    fn csv_reads_back_with_a_csv_parser() {
        let mut encoder = CsvRows::from_parts(["a", "b,c", "d", "e"].map(|n| (n, None)));
        let mut out = Vec::new();
        encoder.header(&mut out);
        with_rows(|row| encoder.row(&mut out, row).unwrap());
        let mut reader = csv::Reader::from_reader(out.as_slice());
        assert_eq!(reader.headers().unwrap(), vec!["a", "b,c", "d", "e"]);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records[0], vec!["plain", "-42", "0.30000000000000004", ""]);
        assert_eq!(
            records[1],
            vec![
                "comma, \"quote\"\nline",
                "9223372036854775807",
                "inf",
                "1e21"
            ]
        );
    }

    #[test]
    fn ndjson_lines_equal_serde_json_objects() {
        let mut encoder = NdjsonRows::from_parts(["a", "b\"", "d", "e"].map(|n| (n, None)));
        let mut out = Vec::new();
        with_rows(|row| encoder.row(&mut out, row).unwrap());
        let lines: Vec<serde_json::Value> = out
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(
            lines[0],
            serde_json::json!({"a": "plain", "b\"": -42, "d": 0.30000000000000004, "e": null})
        );
        assert_eq!(
            lines[1],
            serde_json::json!({"a": "comma, \"quote\"\nline", "b\"": i64::MAX, "d": null, "e": 1e21})
        );
    }

    fn ryu_text(value: f64) -> String {
        ryu::Buffer::new().format(value).to_string()
    }

    fn our_text(value: f64) -> String {
        let mut out = Vec::new();
        real(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn reals_are_spelled_as_ryu_spells_them() {
        for value in [
            0.0,
            -0.0,
            1.0,
            481.0,
            0.1,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1.1666666666666667,
            123456789012345680.0,
            -1.5e300,
            2.5e-300,
        ] {
            assert_eq!(our_text(value), ryu_text(value), "{value:e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_real_is_spelled_as_ryu_spells_it(bits in proptest::prelude::any::<u64>()) {
            let value = f64::from_bits(bits);
            proptest::prop_assert_eq!(our_text(value), ryu_text(value));
        }

        #[test]
        fn quotients_are_spelled_as_ryu_spells_them(a in -10_000_000_000_i64..10_000_000_000, b in 1_i64..1_000_000) {
            let value = a as f64 / b as f64;
            proptest::prop_assert_eq!(our_text(value), ryu_text(value));
        }
    }

    proptest::proptest! {
        #[test]
        fn cell_text_is_the_json_string_serde_json_writes(
            text in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            ascii in "[ -~]{0,40}",
        ) {
            for bytes in [text.as_slice(), ascii.as_bytes()] {
                let mut ours = Vec::new();
                json_bytes(&mut ours, bytes);
                let theirs = serde_json::to_vec(&String::from_utf8_lossy(bytes)).unwrap();
                proptest::prop_assert_eq!(ours, theirs);
            }
        }
    }
}
