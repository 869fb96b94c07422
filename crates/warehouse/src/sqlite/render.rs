//! A store-neutral [`Query`] as SQLite statements: the predicate with every literal a bound
//! value, the page resumed after its key, the count of what the filter matches.

use genesys::interval::format_instant;

use crate::query::{Column, Comparison, KeyPart, Literal, Order, Predicate, Query, Term, TextTest};
use crate::statement::{Bound, Statement};

fn column(column: &Column) -> String {
    match column {
        Column::RowId => "rowid".into(),
        Column::Named(name) => format!("\"{name}\""),
    }
}

fn key_part(part: &KeyPart) -> String {
    match part {
        KeyPart::Column(c) => column(c),
        KeyPart::TextOrEmpty(name) => format!("ifnull(\"{name}\", '')"),
    }
}

fn bind(values: &mut Vec<Bound>, value: Bound) -> String {
    values.push(value);
    format!("?{}", values.len())
}

fn literal(value: &Literal) -> Bound {
    match value {
        Literal::Text(t) => Bound::Text(t.clone()),
        Literal::Integer(i) => Bound::Integer(*i),
        Literal::Real(r) => Bound::Real(*r),
        // Stored instants are fixed-width UTC text, so text order is time order.
        Literal::Instant(t) => Bound::Text(format_instant(*t)),
    }
}

fn term(values: &mut Vec<Bound>, t: &Term) -> String {
    match t {
        Term::Column(c) => column(c),
        Term::Null => "NULL".into(),
        Term::Literal(l) => bind(values, literal(l)),
    }
}

/// `IS` / `IS NOT` give OData's null semantics (`null eq null` is true).
fn comparison(op: Comparison) -> &'static str {
    match op {
        Comparison::Eq => "IS",
        Comparison::Ne => "IS NOT",
        Comparison::Gt => ">",
        Comparison::Ge => ">=",
        Comparison::Lt => "<",
        Comparison::Le => "<=",
    }
}

/// `a OR b OR c` in one pair of parentheses: flat, so a long chain costs SQLite's parser
/// no nesting (its tree is as deep as the chain either way).
fn chain(values: &mut Vec<Bound>, terms: &[Predicate], operator: &str) -> String {
    let mut parts: Vec<String> = terms.iter().map(|t| predicate(values, t)).collect();
    if parts.len() == 1 {
        return parts.pop().expect("one term");
    }
    format!("({})", parts.join(operator))
}

/// The predicate as a condition, its values pushed onto `values` in placeholder order.
pub fn predicate(values: &mut Vec<Bound>, p: &Predicate) -> String {
    match p {
        Predicate::Constant(true) => "1".into(),
        Predicate::Constant(false) => "0".into(),
        Predicate::Any(terms) => chain(values, terms, " OR "),
        Predicate::All(terms) => chain(values, terms, " AND "),
        // `IS NOT 1` is true for false and unknown, where SQL's NOT keeps unknown. AND and
        // OR need no such care: they are true in SQL exactly when they are in OData.
        Predicate::Not(inner) => format!("(({}) IS NOT 1)", predicate(values, inner)),
        Predicate::Compare(left, op, right) => {
            let l = term(values, left);
            let r = term(values, right);
            format!("{l} {} {r}", comparison(*op))
        }
        Predicate::Text(test, c, text) => {
            let property = column(c);
            let n = bind(values, Bound::Text(text.clone()));
            // instr/substr compare case-sensitively, as OData does (LIKE would not, and
            // would need its wildcards escaped).
            match test {
                TextTest::Contains => format!("instr({property}, {n}) > 0"),
                TextTest::StartsWith => format!("instr({property}, {n}) = 1"),
                TextTest::EndsWith => format!(
                    "(length({n}) = 0 AND {property} IS NOT NULL OR substr({property}, -length({n})) = {n})"
                ),
            }
        }
        Predicate::Is {
            predicate: inner,
            equal,
            value,
        } => format!(
            "(({}) {} {})",
            predicate(values, inner),
            if *equal { "IS" } else { "IS NOT" },
            u8::from(*value)
        ),
    }
}

fn from_where(query: &Query, after: bool) -> Statement {
    let mut values = Vec::new();
    let mut conditions = Vec::new();
    if let Some(filter) = &query.filter {
        conditions.push(format!("({})", predicate(&mut values, filter)));
    }
    if let Some(key) = query.after.as_ref().filter(|_| after) {
        let marks: Vec<String> = key
            .iter()
            .map(|v| bind(&mut values, Bound::Text(v.clone())))
            .collect();
        conditions.push(format!(
            "({}) > ({})",
            resume_key(query).join(", "),
            marks.join(", ")
        ));
    }
    let mut sql = format!("FROM \"{}\"", query.table);
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    Statement { sql, values }
}

fn resume_key(query: &Query) -> Vec<String> {
    query.resume_key.iter().map(key_part).collect()
}

/// `SELECT count(*)` of the rows the filter matches.
pub fn count(query: &Query) -> Statement {
    let rest = from_where(query, false);
    Statement {
        sql: format!("SELECT count(*) {}", rest.sql),
        values: rest.values,
    }
}

/// The page: selected columns, then the resume key's.
pub fn rows(query: &Query) -> Statement {
    let Statement { sql, mut values } = from_where(query, true);
    let mut columns: Vec<String> = query
        .select
        .iter()
        .map(|(c, name)| format!("{} AS \"{name}\"", column(c)))
        .collect();
    columns.extend(resume_key(query));
    let order = match &query.order {
        Order::ByKey => resume_key(query),
        Order::By(by, tie) => by
            .iter()
            .map(|(c, descending)| {
                format!("{} {}", column(c), if *descending { "DESC" } else { "ASC" })
            })
            .chain([column(tie)])
            .collect(),
    };
    let limit_mark = bind(
        &mut values,
        Bound::Integer(query.limit.min(i64::MAX as u64) as i64),
    );
    let offset_mark = bind(
        &mut values,
        Bound::Integer(query.offset.min(i64::MAX as u64) as i64),
    );
    Statement {
        sql: format!(
            "SELECT {} {sql} ORDER BY {} LIMIT {limit_mark} OFFSET {offset_mark}",
            columns.join(", "),
            order.join(", ")
        ),
        values,
    }
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
