//! A [`Selection`] as a statement of a [`Dialect`]: its columns (stored, rolled up over the
//! groups it keeps, or derived), the segment and filters, the groups and their order, a page.

use super::Dialect;
use crate::kpi::Formula;
use crate::read::Selection;
use crate::schema::{Rollup, quote, snake_case};
use crate::statement::Bound;

/// How an output column of a selection is computed, whatever the dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// The segment's start (1) or end (2), as bound: a rolled-up row spans the segment.
    SegmentBound(usize),
    /// A stored instant column.
    Instant(&'static str),
    /// The last bucket end of a group.
    LastEnd,
    /// A stored text column (a dimension).
    Text(String),
    /// The directory name of the id in `column`.
    DirectoryName { table: &'static str, column: String },
    /// A metric column as stored, or rolled up over the group.
    Metric {
        column: String,
        rollup: Option<Rollup>,
        integer: bool,
    },
    /// `numerator / denominator` over the group (their totals when rolled up).
    Quotient {
        numerator: String,
        denominator: String,
        summed: bool,
    },
    /// A KPI figure (`crate::kpi`) of the stored columns, or of their sums over the group.
    Figure { formula: Formula, summed: bool },
    /// A per-day row's local date; a group's (all its rows have the same date).
    DayDate { grouped: bool },
}

impl Expr {
    pub(crate) fn render(&self, d: &dyn Dialect) -> String {
        match self {
            Expr::SegmentBound(n) => d.instant_cell(&d.instant(&d.untyped_mark(*n))),
            Expr::Instant(column) => d.instant_cell(column),
            Expr::LastEnd => d.instant_cell("max(interval_end)"),
            Expr::Text(column) => quote(column),
            Expr::DirectoryName { table, column } => {
                format!("(SELECT name FROM {table} WHERE id = {})", quote(column))
            }
            Expr::Metric {
                column,
                rollup: None,
                ..
            } => quote(column),
            Expr::Metric {
                column,
                rollup: Some(rollup),
                integer: true,
            } => d.integer_aggregate(rollup.sql_function(), &quote(column)),
            Expr::Metric {
                column,
                rollup: Some(rollup),
                integer: false,
            } => format!("{}({})", rollup.sql_function(), quote(column)),
            Expr::Quotient {
                numerator,
                denominator,
                summed,
            } => {
                let total = |column: &str| {
                    if *summed {
                        format!("sum({})", quote(column))
                    } else {
                        quote(column)
                    }
                };
                d.quotient(&total(numerator), &total(denominator))
            }
            Expr::Figure { formula, summed } => formula.render(d, |column| {
                if *summed {
                    d.integer_aggregate("sum", &quote(column))
                } else {
                    quote(column)
                }
            }),
            Expr::DayDate { grouped: false } => "date".into(),
            Expr::DayDate { grouped: true } => "max(date)".into(),
        }
    }
}

impl Selection {
    fn where_clause(&self, d: &dyn Dialect, values: &mut Vec<Bound>) -> String {
        let (start, end) = (d.untyped_mark(1), d.untyped_mark(2));
        let mut clauses = vec![format!(
            "interval_start >= {} AND interval_start < {}",
            d.instant(&start),
            d.instant(&end)
        )];
        for (dimension, wanted) in &self.filters {
            let mut marks = Vec::new();
            for value in wanted {
                let value = Bound::Text(value.clone());
                marks.push(d.mark(values.len() + 1, &value));
                values.push(value);
            }
            clauses.push(format!(
                "{} IN ({})",
                quote(&snake_case(dimension)),
                marks.join(", ")
            ));
        }
        clauses.join(" AND ")
    }

    /// The statement reading the selection from `table` (the dataset's, or its per-day
    /// rollup): `values` holds the segment's bounds (the first two placeholders, as their
    /// stored text) and gets the filters' values, then two placeholders for the limit and
    /// offset, last.
    pub(crate) fn sql(&self, d: &dyn Dialect, table: &str, values: &mut Vec<Bound>) -> String {
        let columns = self.columns();
        let select: Vec<String> = columns
            .iter()
            .filter(|c| self.derived_in_sql || c.operands.is_none())
            .map(|c| format!("{} AS {}", c.expr.render(d), quote(&c.name)))
            .collect();
        let where_clause = self.where_clause(d, values);
        let quoted = quote(table);
        let mut keys: Vec<String> = if self.rollup {
            Vec::new()
        } else {
            vec![d.input_column(&quoted, "interval_start")]
        };
        keys.extend(
            self.kept_dimensions()
                .iter()
                .map(|dimension| d.input_column(&quoted, &quote(&snake_case(dimension)))),
        );
        let (group, order) = if self.identity() {
            // The order of the table's unique key index (a missing text as ''), so the store
            // walks the index instead of sorting.
            let mut index_order = vec![d.input_column(&quoted, "interval_start")];
            index_order.extend(
                self.spec
                    .dimension_columns()
                    .iter()
                    .map(|c| d.text_or_empty(&quote(c))),
            );
            (
                String::new(),
                format!(" ORDER BY {}", index_order.join(", ")),
            )
        } else if keys.is_empty() {
            (" HAVING count(*) > 0".to_string(), String::new())
        } else {
            let order: Vec<String> = keys.iter().map(|k| d.sort(k, false)).collect();
            (
                format!(" GROUP BY {}", keys.join(", ")),
                format!(" ORDER BY {}", order.join(", ")),
            )
        };
        values.push(Bound::Null);
        let limit = d.untyped_mark(values.len());
        values.push(Bound::Null);
        let offset = d.untyped_mark(values.len());
        format!(
            "SELECT {} FROM {quoted} WHERE {where_clause}{group}{order} LIMIT {limit} OFFSET {offset}",
            select.join(", "),
        )
    }
}
