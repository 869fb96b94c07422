//! Averages and ratios (`1.0 * a / NULLIF(b, 0)` in the statement), computed from a row's
//! already-read cells instead of by SQLite: an export reads tens of millions of rows, and the
//! expressions cost more in SQLite's virtual machine than the division here. The result is the
//! f64 SQLite gives, bit for bit: the same operations in the same order.

use warehouse::read::CellRef;

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
    fn real(self) -> Option<f64> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use warehouse::read::Bound;

    /// What the store's KPI views compute for the same operands.
    fn in_the_store(numerator: Operand, denominator: Operand) -> Option<f64> {
        let value = |o: Operand| match o {
            Operand::Null | Operand::Other => Bound::Null,
            Operand::Integer(i) => Bound::Integer(i),
            Operand::Real(r) => Bound::Real(r),
        };
        warehouse::testing::kpi_ratio(value(numerator), value(denominator)).unwrap()
    }

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            Just(Operand::Null),
            Just(Operand::Integer(0)),
            Just(Operand::Real(0.0)),
            Just(Operand::Real(-0.0)),
            Just(Operand::Integer(i64::MIN)),
            Just(Operand::Integer(i64::MAX)),
            (-1_000_000_i64..1_000_000).prop_map(Operand::Integer),
            any::<i64>().prop_map(Operand::Integer),
            // Finite reals only: SQLite stores a NaN as null.
            any::<f64>()
                .prop_filter("finite", |r| r.is_finite())
                .prop_map(Operand::Real),
            Just(Operand::Real(f64::INFINITY)),
        ]
    }

    proptest! {
        #[test]
        fn equals_the_stores_kpi_views_bit_for_bit(numerator in operand(), denominator in operand()) {
            let ours = ratio(numerator, denominator);
            let theirs = in_the_store(numerator, denominator);
            prop_assert_eq!(ours.map(f64::to_bits), theirs.map(f64::to_bits));
        }
    }
}
