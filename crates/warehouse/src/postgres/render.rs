//! PostgreSQL's spelling of the store-neutral reads (see `crate::render`): `$n` placeholders
//! typed by their value, `IS [NOT] DISTINCT FROM` for null-safe equality, `TRUE`/`FALSE`,
//! instants (`timestamptz`) returned as SQLite's stored text, integer sums cast back from
//! `numeric`, quotients in double precision, and nulls sorted where SQLite sorts them. Text
//! columns are `COLLATE "C"` (`postgres::ddl`), so text orders bytewise, as in SQLite.

use crate::query::{Query, TextTest};
use crate::render::{self, Dialect};
use crate::statement::{Bound, Statement};

/// The PostgreSQL dialect.
pub(crate) struct Postgres;

/// The columns the store keeps as `timestamptz`: returned as SQLite's text for them.
const INSTANT_COLUMNS: [&str; 2] = ["interval_start", "interval_end"];

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as `genesys::interval::format_instant` writes and SQLite keeps.
pub(crate) const INSTANT_FORMAT: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"#;

impl Dialect for Postgres {
    fn mark(&self, n: usize, bound: &Bound) -> String {
        match bound {
            Bound::Null => format!("${n}"),
            Bound::Integer(_) => format!("${n}::bigint"),
            Bound::Real(_) => format!("${n}::double precision"),
            Bound::Text(_) => format!("${n}::text"),
        }
    }

    fn untyped_mark(&self, n: usize) -> String {
        format!("${n}")
    }

    fn instant(&self, mark: &str) -> String {
        format!("{mark}::timestamptz")
    }

    fn instant_text(&self, expression: &str) -> String {
        format!("to_char(({expression}) AT TIME ZONE 'UTC', {INSTANT_FORMAT})")
    }

    /// The `timestamptz` itself, in binary: the reader writes its text
    /// (`read_rows::InstantTexts`), which `to_char` made at a third of an export's cost in the
    /// server.
    fn instant_cell(&self, expression: &str) -> String {
        expression.into()
    }

    fn text_or_empty(&self, quoted: &str) -> String {
        format!("coalesce({quoted}, '')")
    }

    /// SQLite's implicit row id, an explicit column here (`store copy` keeps SQLite's).
    fn row_id(&self) -> &'static str {
        "rowid"
    }

    /// `sum(bigint)` is a `numeric`; SQLite's is an integer.
    fn integer_aggregate(&self, function: &str, quoted: &str) -> String {
        format!("{function}({quoted})::bigint")
    }

    /// In double precision, as SQLite's `1.0 * n / d` is: the same doubles.
    fn quotient(&self, numerator: &str, denominator: &str) -> String {
        format!("{numerator}::double precision / NULLIF({denominator}::double precision, 0)")
    }

    /// PostgreSQL sorts nulls last ascending; SQLite first.
    fn sort(&self, expression: &str, descending: bool) -> String {
        if descending {
            format!("{expression} DESC NULLS LAST")
        } else {
            format!("{expression} NULLS FIRST")
        }
    }

    fn truth(&self, value: bool) -> &'static str {
        if value { "TRUE" } else { "FALSE" }
    }

    fn same(&self, equal: bool) -> &'static str {
        if equal {
            "IS NOT DISTINCT FROM"
        } else {
            "IS DISTINCT FROM"
        }
    }

    /// strpos/right count characters and compare exactly, as SQLite's instr/substr do.
    fn text_test(&self, test: TextTest, property: &str, n: &str) -> String {
        match test {
            TextTest::Contains => format!("strpos({property}, {n}) > 0"),
            TextTest::StartsWith => format!("strpos({property}, {n}) = 1"),
            TextTest::EndsWith => format!(
                "(length({n}) = 0 AND {property} IS NOT NULL OR right({property}, length({n})) = {n})"
            ),
        }
    }

    /// Qualified: PostgreSQL's ORDER BY takes a bare name for the output column first, and an
    /// instant's output column is its text.
    fn input_column(&self, table: &str, quoted: &str) -> String {
        format!("{table}.{quoted}")
    }

    fn output_column(&self, quoted: &str, name: &str) -> String {
        if INSTANT_COLUMNS.contains(&name) {
            self.instant_text(quoted)
        } else {
            quoted.into()
        }
    }
}

/// `SELECT count(*)` of the rows the filter matches.
pub(crate) fn count(query: &Query) -> Statement {
    render::query::count(&Postgres, query)
}

/// The page: selected columns, then the resume key's.
pub(crate) fn rows(query: &Query) -> Statement {
    render::query::rows(&Postgres, query)
}
