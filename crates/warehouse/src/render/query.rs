//! A store-neutral [`Query`] as statements of a [`Dialect`]: the predicate with every literal a
//! bound value, the page resumed after its key, the count of what the filter matches.

use genesys::interval::format_instant;

use super::Dialect;
use crate::query::{Column, Comparison, KeyPart, Literal, Order, Predicate, Query, Term};
use crate::statement::{Bound, Statement};

/// Renders one statement, its values collected in placeholder order.
struct Renderer<'d> {
    dialect: &'d dyn Dialect,
    values: Vec<Bound>,
}

impl Renderer<'_> {
    fn bind(&mut self, value: Bound) -> String {
        let mark = self.dialect.mark(self.values.len() + 1, &value);
        self.values.push(value);
        mark
    }

    /// A value compared with a key part of any type: the backend types it by its use.
    fn bind_untyped(&mut self, value: Bound) -> String {
        self.values.push(value);
        self.dialect.untyped_mark(self.values.len())
    }

    fn column(&self, column: &Column) -> String {
        match column {
            Column::RowId => self.dialect.row_id().into(),
            Column::Named(name) => format!("\"{name}\""),
        }
    }

    /// A column in ORDER BY: the (quoted) table's own, never an output column of that name.
    fn sort_column(&self, table: &str, column: &Column) -> String {
        match column {
            Column::RowId => self.dialect.row_id().into(),
            Column::Named(name) => self.dialect.input_column(table, &format!("\"{name}\"")),
        }
    }

    fn output_column(&self, column: &Column) -> String {
        match column {
            Column::RowId => self.dialect.row_id().into(),
            Column::Named(name) => self.dialect.output_column(&format!("\"{name}\""), name),
        }
    }

    fn key_part(&self, part: &KeyPart) -> String {
        match part {
            KeyPart::Column(c) => self.column(c),
            KeyPart::TextOrEmpty(name) => self.dialect.text_or_empty(&format!("\"{name}\"")),
        }
    }

    /// A key part as rows return it (after the selected columns).
    fn output_key_part(&self, part: &KeyPart) -> String {
        match part {
            KeyPart::Column(c) => self.output_column(c),
            KeyPart::TextOrEmpty(_) => self.key_part(part),
        }
    }

    fn literal(&mut self, value: &Literal) -> String {
        match value {
            Literal::Text(t) => self.bind(Bound::Text(t.clone())),
            Literal::Integer(i) => self.bind(Bound::Integer(*i)),
            Literal::Real(r) => self.bind(Bound::Real(*r)),
            // Bound as its stored text, read as an instant where the backend has a type.
            Literal::Instant(t) => {
                let mark = self.bind(Bound::Text(format_instant(*t)));
                self.dialect.instant(&mark)
            }
        }
    }

    fn term(&mut self, t: &Term) -> String {
        match t {
            Term::Column(c) => self.column(c),
            Term::Null => "NULL".into(),
            Term::Literal(l) => self.literal(l),
        }
    }

    fn comparison(&self, op: Comparison) -> &'static str {
        match op {
            Comparison::Eq => self.dialect.same(true),
            Comparison::Ne => self.dialect.same(false),
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Lt => "<",
            Comparison::Le => "<=",
        }
    }

    /// `a OR b OR c` in one pair of parentheses: flat, so a long chain costs the parser no
    /// nesting (its tree is as deep as the chain either way).
    fn chain(&mut self, terms: &[Predicate], operator: &str) -> String {
        let mut parts: Vec<String> = terms.iter().map(|t| self.predicate(t)).collect();
        if parts.len() == 1 {
            return parts.pop().expect("one term");
        }
        format!("({})", parts.join(operator))
    }

    fn predicate(&mut self, p: &Predicate) -> String {
        let d = self.dialect;
        match p {
            Predicate::Constant(value) => d.truth(*value).into(),
            Predicate::Any(terms) => self.chain(terms, " OR "),
            Predicate::All(terms) => self.chain(terms, " AND "),
            // `IS NOT true` is true for false and unknown, where SQL's NOT keeps unknown. AND
            // and OR need no such care: they are true in SQL exactly when they are in OData.
            Predicate::Not(inner) => {
                format!(
                    "(({}) {} {})",
                    self.predicate(inner),
                    d.same(false),
                    d.truth(true)
                )
            }
            Predicate::Compare(left, op, right) => {
                let l = self.term(left);
                let r = self.term(right);
                format!("{l} {} {r}", self.comparison(*op))
            }
            Predicate::Text(test, c, text) => {
                let property = self.column(c);
                let mark = self.bind(Bound::Text(text.clone()));
                d.text_test(*test, &property, &mark)
            }
            Predicate::Is {
                predicate: inner,
                equal,
                value,
            } => format!(
                "(({}) {} {})",
                self.predicate(inner),
                d.same(*equal),
                d.truth(*value)
            ),
        }
    }

    fn table_and_conditions(&mut self, query: &Query, after: bool) -> String {
        let mut conditions = Vec::new();
        if let Some(filter) = &query.filter {
            conditions.push(format!("({})", self.predicate(filter)));
        }
        if let Some(key) = query.after.as_ref().filter(|_| after) {
            let marks: Vec<String> = key
                .iter()
                .map(|v| self.bind_untyped(Bound::Text(v.clone())))
                .collect();
            conditions.push(format!(
                "({}) > ({})",
                self.resume_key(query).join(", "),
                marks.join(", ")
            ));
        }
        let mut sql = format!("FROM \"{}\"", query.table);
        if !conditions.is_empty() {
            sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
        }
        sql
    }

    fn resume_key(&self, query: &Query) -> Vec<String> {
        query.resume_key.iter().map(|p| self.key_part(p)).collect()
    }
}

/// The predicate as a condition, its values pushed onto `values` in placeholder order.
#[cfg(any(test, feature = "testing"))]
pub(crate) fn predicate(dialect: &dyn Dialect, values: &mut Vec<Bound>, p: &Predicate) -> String {
    let mut renderer = Renderer {
        dialect,
        values: std::mem::take(values),
    };
    let sql = renderer.predicate(p);
    *values = renderer.values;
    sql
}

/// `SELECT count(*)` of the rows the filter matches.
pub(crate) fn count(dialect: &dyn Dialect, query: &Query) -> Statement {
    let mut renderer = Renderer {
        dialect,
        values: Vec::new(),
    };
    let rest = renderer.table_and_conditions(query, false);
    Statement {
        sql: format!("SELECT count(*) {rest}"),
        values: renderer.values,
    }
}

/// The page: selected columns, then the resume key's.
pub(crate) fn rows(dialect: &dyn Dialect, query: &Query) -> Statement {
    let mut r = Renderer {
        dialect,
        values: Vec::new(),
    };
    let from_where = r.table_and_conditions(query, true);
    let mut columns: Vec<String> = query
        .select
        .iter()
        .map(|(c, name)| format!("{} AS \"{name}\"", r.output_column(c)))
        .collect();
    columns.extend(query.resume_key.iter().map(|p| r.output_key_part(p)));
    let table = format!("\"{}\"", query.table);
    let order: Vec<String> = match &query.order {
        Order::ByKey => query
            .resume_key
            .iter()
            .map(|part| match part {
                KeyPart::Column(c) => r.sort_column(&table, c),
                KeyPart::TextOrEmpty(_) => r.key_part(part),
            })
            .map(|k| dialect.sort(&k, false))
            .collect(),
        Order::By(by, tie) => by
            .iter()
            .map(|(c, descending)| dialect.sort(&r.sort_column(&table, c), *descending))
            .chain([dialect.sort(&r.sort_column(&table, tie), false)])
            .collect(),
    };
    let limit_mark = r.bind(Bound::Integer(query.limit.min(i64::MAX as u64) as i64));
    let offset_mark = r.bind(Bound::Integer(query.offset.min(i64::MAX as u64) as i64));
    Statement {
        sql: format!(
            "SELECT {} {from_where} ORDER BY {} LIMIT {limit_mark} OFFSET {offset_mark}",
            columns.join(", "),
            order.join(", ")
        ),
        values: r.values,
    }
}
