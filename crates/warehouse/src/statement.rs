//! A statement the warehouse rendered (the OData pages, a selection) and its bound values, as
//! data: a backend binds and runs it; no caller holds the backend's types.

/// A value bound to a statement's `?n` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

/// A statement and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<Bound>,
}
