//! The store-neutral reads ([`crate::query::Query`], [`crate::read::Selection`]) rendered as SQL
//! once, for every backend: a [`Dialect`] spells only what differs between them (placeholders,
//! null-safe equality, booleans, text tests, how instants and integer sums come back, where
//! nulls sort), so both backends answer the same query with the same rows in the same order.

pub(crate) mod kpi_view;
pub(crate) mod query;
pub(crate) mod selection;

use crate::query::TextTest;
use crate::statement::Bound;

/// How one backend spells the parts of a read that differ between SQL dialects. Expressions
/// given and returned are SQL text built only from trusted identifiers and placeholders.
pub(crate) trait Dialect {
    /// The placeholder of the `n`-th bound value (from 1), as a value of `bound`'s type.
    fn mark(&self, n: usize, bound: &Bound) -> String;
    /// The placeholder of the `n`-th bound value, typed by where it is used (a resume key's
    /// text compared with a column of any type).
    fn untyped_mark(&self, n: usize) -> String;
    /// A placeholder bound to an instant's stored text, as an instant to compare columns with.
    fn instant(&self, mark: &str) -> String;
    /// A stored instant (a column or an aggregate of one) as its stored text,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn instant_text(&self, expression: &str) -> String;
    /// A stored instant (or [`Dialect::instant`]) as a selection's rows return it, for the
    /// backend's reader to hand on as its stored text.
    fn instant_cell(&self, expression: &str) -> String;
    /// A text column with a missing value as the empty text (the unique index's form).
    fn text_or_empty(&self, quoted: &str) -> String;
    /// The rows' own identity.
    fn row_id(&self) -> &'static str;
    /// An aggregate (`sum`, `min`, `max`) of an integer column, as an integer.
    fn integer_aggregate(&self, function: &str, quoted: &str) -> String;
    /// `numerator / denominator` as a real, null when the denominator is 0.
    fn quotient(&self, numerator: &str, denominator: &str) -> String;
    /// A sort key: nulls first when ascending and last when descending, as SQLite sorts.
    fn sort(&self, expression: &str, descending: bool) -> String;
    /// The constant true or false.
    fn truth(&self, value: bool) -> &'static str;
    /// Null-safe (in)equality: null equals null, as OData has it.
    fn same(&self, equal: bool) -> &'static str;
    /// A case-sensitive test of `property` against the text bound at `mark`.
    fn text_test(&self, test: TextTest, property: &str, mark: &str) -> String;
    /// A column of `table` where an output column of the same name would be taken instead
    /// (ORDER BY).
    fn input_column(&self, table: &str, quoted: &str) -> String;
    /// A stored column as the rows return it (instants as their stored text).
    fn output_column(&self, quoted: &str, name: &str) -> String;
}
