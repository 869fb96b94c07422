//! SQLite's spelling of the store-neutral reads (see `crate::render`): `?n` placeholders,
//! `IS` for null-safe equality, 1 and 0 for truth, instants kept as their stored text (whose
//! text order is time order), `ifnull` as the unique index has it.

use crate::query::{Query, TextTest};
use crate::render::{self, Dialect};
use crate::statement::{Bound, Statement};

/// The SQLite dialect.
pub(crate) struct Sqlite;

impl Dialect for Sqlite {
    fn mark(&self, n: usize, _: &Bound) -> String {
        format!("?{n}")
    }

    fn untyped_mark(&self, n: usize) -> String {
        format!("?{n}")
    }

    /// Stored instants are fixed-width UTC text, so text order is time order.
    fn instant(&self, mark: &str) -> String {
        mark.into()
    }

    fn instant_text(&self, expression: &str) -> String {
        expression.into()
    }

    /// Already the stored text.
    fn instant_cell(&self, expression: &str) -> String {
        expression.into()
    }

    fn text_or_empty(&self, quoted: &str) -> String {
        format!("ifnull({quoted}, '')")
    }

    fn row_id(&self) -> &'static str {
        "rowid"
    }

    /// SQLite's `sum` of integers is an integer already.
    fn integer_aggregate(&self, function: &str, quoted: &str) -> String {
        format!("{function}({quoted})")
    }

    fn quotient(&self, numerator: &str, denominator: &str) -> String {
        format!("1.0 * {numerator} / NULLIF({denominator}, 0)")
    }

    /// SQLite sorts nulls first ascending and last descending, as callers expect.
    fn sort(&self, expression: &str, descending: bool) -> String {
        if descending {
            format!("{expression} DESC")
        } else {
            expression.into()
        }
    }

    fn truth(&self, value: bool) -> &'static str {
        if value { "1" } else { "0" }
    }

    /// `IS` / `IS NOT` give OData's null semantics (`null eq null` is true).
    fn same(&self, equal: bool) -> &'static str {
        if equal { "IS" } else { "IS NOT" }
    }

    /// instr/substr compare case-sensitively, as OData does (LIKE would not, and would need
    /// its wildcards escaped).
    fn text_test(&self, test: TextTest, property: &str, n: &str) -> String {
        match test {
            TextTest::Contains => format!("instr({property}, {n}) > 0"),
            TextTest::StartsWith => format!("instr({property}, {n}) = 1"),
            TextTest::EndsWith => format!(
                "(length({n}) = 0 AND {property} IS NOT NULL OR substr({property}, -length({n})) = {n})"
            ),
        }
    }

    /// An output column never shadows a table's in SQLite's ORDER BY here: the names agree.
    fn input_column(&self, _table: &str, quoted: &str) -> String {
        quoted.into()
    }

    fn output_column(&self, quoted: &str, _name: &str) -> String {
        quoted.into()
    }
}

/// The predicate as a condition, its values pushed onto `values` in placeholder order.
#[cfg(any(test, feature = "testing"))]
pub fn predicate(values: &mut Vec<Bound>, p: &crate::query::Predicate) -> String {
    render::query::predicate(&Sqlite, values, p)
}

/// `SELECT count(*)` of the rows the filter matches.
pub fn count(query: &Query) -> Statement {
    render::query::count(&Sqlite, query)
}

/// The page: selected columns, then the resume key's.
pub fn rows(query: &Query) -> Statement {
    render::query::rows(&Sqlite, query)
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use rusqlite::Connection;

    use super::*;
    use crate::query::*;
    use crate::read::Cell;
    use crate::sqlite::reads::{query_count, query_rows};

    /// Five rows: ids 1–5, a group `g` (one missing) and a number `n`.
    fn table() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, g TEXT, n INTEGER);
             INSERT INTO t VALUES (1, 'b', 10), (2, NULL, 20), (3, 'a', 30), (4, 'b', NULL), (5, 'a''x', 50);",
        )
        .unwrap();
        c
    }

    fn named(name: &str) -> Column {
        Column::Named(name.into())
    }

    fn page(filter: Option<Predicate>, order: Order, after: Option<Vec<String>>) -> Query {
        Query {
            table: "t".into(),
            filter,
            select: vec![(named("id"), "key".into())],
            resume_key: vec![
                KeyPart::TextOrEmpty("g".into()),
                KeyPart::Column(named("id")),
            ],
            after,
            order,
            offset: 0,
            limit: 10,
        }
    }

    fn ids(c: &Connection, query: &Query) -> Vec<i64> {
        query_rows(c, query)
            .unwrap()
            .into_iter()
            .map(|row| match row[0] {
                Cell::Integer(id) => id,
                ref other => panic!("id {other:?}"),
            })
            .collect()
    }

    #[test]
    fn pages_resume_after_the_key_with_a_missing_text_as_empty() {
        let c = table();
        let all = page(None, Order::ByKey, None);
        assert_eq!(ids(&c, &all), vec![2, 3, 5, 1, 4]);
        // Each row ends with its resume key, after the selected column.
        assert_eq!(
            query_rows(&c, &all).unwrap()[0],
            vec![
                Cell::Integer(2),
                Cell::Text(String::new()),
                Cell::Integer(2)
            ]
        );
        let rest = page(None, Order::ByKey, Some(vec!["a".into(), "3".into()]));
        assert_eq!(ids(&c, &rest), vec![5, 1, 4]);
        // The count ignores where the page resumes and its size.
        assert_eq!(query_count(&c, &Query { limit: 1, ..rest }).unwrap(), 5);
    }

    #[test]
    fn predicates_keep_odata_meaning_for_null() {
        let c = table();
        let filtered = |p: Predicate| ids(&c, &page(Some(p), Order::By(vec![], named("id")), None));
        let n_is = |op, value| {
            Predicate::Compare(
                Term::Column(named("n")),
                op,
                Term::Literal(Literal::Integer(value)),
            )
        };
        // A comparison with null is false, so its negation holds for the null row.
        assert_eq!(
            filtered(Predicate::Not(Box::new(n_is(Comparison::Gt, 15)))),
            vec![1, 4]
        );
        assert_eq!(
            filtered(Predicate::Compare(
                Term::Column(named("g")),
                Comparison::Eq,
                Term::Null
            )),
            vec![2]
        );
        assert_eq!(
            filtered(Predicate::Any(vec![
                n_is(Comparison::Le, 10),
                n_is(Comparison::Ge, 50)
            ])),
            vec![1, 5]
        );
        assert_eq!(
            filtered(Predicate::All(vec![
                n_is(Comparison::Ne, 10),
                Predicate::Text(TextTest::StartsWith, named("g"), "b".into()),
            ])),
            vec![4]
        );
        // Text tests are case-sensitive and treat a quote as a character.
        assert_eq!(
            filtered(Predicate::Text(TextTest::EndsWith, named("g"), "'x".into())),
            vec![5]
        );
        assert_eq!(
            filtered(Predicate::Text(TextTest::Contains, named("g"), "B".into())),
            Vec::<i64>::new()
        );
        // `contains(g,'b') eq false`: false for the null row too, as OData has it.
        assert_eq!(
            filtered(Predicate::Is {
                predicate: Box::new(Predicate::Text(TextTest::Contains, named("g"), "b".into())),
                equal: true,
                value: false,
            }),
            vec![3, 5]
        );
        assert_eq!(filtered(Predicate::Constant(false)), Vec::<i64>::new());
    }

    #[test]
    fn an_order_breaks_ties_by_its_tie_column_and_pages_by_offset() {
        let c = table();
        let by_group = Order::By(vec![(named("g"), true)], named("id"));
        assert_eq!(
            ids(&c, &page(None, by_group.clone(), None)),
            vec![1, 4, 5, 3, 2]
        );
        let second = Query {
            offset: 1,
            limit: 2,
            ..page(None, by_group, None)
        };
        assert_eq!(ids(&c, &second), vec![4, 5]);
    }

    #[test]
    fn instants_are_bound_in_their_stored_form() {
        let instant: Timestamp = "2024-05-01T02:00:00+02:00".parse().unwrap();
        let mut values = Vec::new();
        let sql = super::predicate(
            &mut values,
            &Predicate::Compare(
                Term::Column(named("interval_start")),
                Comparison::Ge,
                Term::Literal(Literal::Instant(instant)),
            ),
        );
        assert_eq!(sql, "\"interval_start\" >= ?1");
        assert_eq!(values, vec![Bound::Text("2024-05-01T00:00:00.000Z".into())]);
    }
}
