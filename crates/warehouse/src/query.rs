//! A store-neutral query over one table (what an OData request asks): a predicate with typed
//! literals, the columns selected, the order, a page, and where the last page ended. The
//! server builds it from the request; each backend renders it (SQLite: `sqlite::render`), so no
//! caller writes SQL and every value stays a bound parameter.

/// A column of the queried table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// The row's own identity in the store (stable while the row is unchanged).
    RowId,
    /// A stored column by name (a validated identifier from the store's own schema).
    Named(String),
}

/// One part of the key rows are resumed by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Column(Column),
    /// A text column, a missing value ordered as the empty text (as the unique index does).
    TextOrEmpty(String),
}

/// A literal value, typed as the request gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Integer(i64),
    Real(f64),
    Instant(jiff::Timestamp),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Column(Column),
    Null,
    Literal(Literal),
}

/// A comparison; `Eq`/`Ne` treat null as a value (`null eq null` is true), as OData does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A case-sensitive text test of a column against a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextTest {
    Contains,
    StartsWith,
    EndsWith,
}

/// A condition on a row, with OData's meaning: a comparison with null is false, not unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Constant(bool),
    Any(Vec<Predicate>),
    All(Vec<Predicate>),
    /// True when the inner predicate is false or unknown.
    Not(Box<Predicate>),
    Compare(Term, Comparison, Term),
    Text(TextTest, Column, String),
    /// A predicate compared with a boolean (`contains(a,'x') eq false`): `equal` for `eq`.
    Is {
        predicate: Box<Predicate>,
        equal: bool,
        value: bool,
    },
}

/// The order of a page's rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    /// By the resume key (the only order a page can resume from by key).
    ByKey,
    /// By these columns (`true`: descending), then by `tie`.
    By(Vec<(Column, bool)>, Column),
}

/// A page of rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub table: String,
    pub filter: Option<Predicate>,
    /// Each selected column and the name it is returned as.
    pub select: Vec<(Column, String)>,
    /// The key rows are resumed by; each row ends with its values, after the selected ones.
    pub resume_key: Vec<KeyPart>,
    /// Only rows after this key (as text values, one per key part).
    pub after: Option<Vec<String>>,
    pub order: Order,
    pub offset: u64,
    pub limit: u64,
}
