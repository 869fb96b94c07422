//! Averages and ratios computed from a row's already-read cells instead of by SQLite: the
//! warehouse's [`warehouse::derived`] (shared with the Parquet encoder), tested here against
//! the store's own arithmetic.

pub use warehouse::derived::{Operand, ratio};

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
