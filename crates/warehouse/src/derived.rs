//! Averages and ratios (`1.0 * a / NULLIF(b, 0)` in the statement), computed from a row's
//! already-read cells instead of by SQLite: an export reads tens of millions of rows, and the
//! expressions cost more in SQLite's virtual machine than the division here. The result is the
//! f64 SQLite gives, bit for bit: the same operations in the same order (the server's
//! `derived` tests check it against the store). Used by the server's CSV/NDJSON rows and by
//! the Parquet encoder ([`crate::columnar`]).

use crate::read::CellRef;

/// A cell as an operand of the division.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Operand {
    #[default]
    Null,
    Integer(i64),
    Real(f64),
    /// Text or a blob, which the store never writes in a metric column: treated as null.
    Other,
}

impl From<CellRef<'_>> for Operand {
    #[inline]
    fn from(value: CellRef<'_>) -> Self {
        match value {
            CellRef::Null => Operand::Null,
            CellRef::Integer(i) => Operand::Integer(i),
            CellRef::Real(r) => Operand::Real(r),
            CellRef::Text(_) | CellRef::Blob(_) => Operand::Other,
        }
    }
}

impl Operand {
    pub(crate) fn real(self) -> Option<f64> {
        match self {
            // SQLite converts with C's `(double)` cast: round to nearest, as `as` does.
            Operand::Integer(i) => Some(i as f64),
            Operand::Real(r) => Some(r),
            Operand::Null | Operand::Other => None,
        }
    }
}

/// `1.0 * numerator / NULLIF(denominator, 0)` as SQLite evaluates it: null when either is null
/// or the denominator is zero; `1.0 *` makes the division real; a NaN result is null.
pub fn ratio(numerator: Operand, denominator: Operand) -> Option<f64> {
    let denominator = denominator.real()?;
    if denominator == 0.0 {
        return None;
    }
    let quotient = (1.0 * numerator.real()?) / denominator;
    (!quotient.is_nan()).then_some(quotient)
}
