//! `$filter` → a store-neutral [`Predicate`] (typed literals, resolved columns) that the
//! warehouse renders for its store. The grammar is the OData v4 subset
//! BI tools send: `eq ne gt ge lt le`, `and or not`, parentheses, `contains`, `startswith`,
//! `endswith` (alone, or compared with `true`/`false`), and string, number, boolean, `null`,
//! DateTimeOffset and Date literals. Properties are resolved against the entity type; anything else is a
//! parse error naming the problem.
//!
//! Two spellings from older clients are accepted too, because real OData v4 clients still send
//! them: a DateTimeOffset literal in the OData v2/v3 form `datetimeoffset'2024-05-01T00:00:00Z'`
//! (the `@odata/client` filter builder writes dates so), and a boolean function compared with a
//! boolean, `contains(name,'x') eq true` (how that builder, and v3-era tools, write functions).

use jiff::Timestamp;
use warehouse::query::{Column, Comparison, Literal, Predicate, Term, TextTest};

use super::{EdmType, EntitySet};
use crate::params::shown;

/// The longest `$filter` text, in bytes. An `or` chain of [`MAX_TERMS`] comparisons of a
/// property with a 36-character id (what Power Query sends for `List.Contains` over a few
/// hundred queues) is about 30 KB; much more text than that is not a filter a person or a BI
/// tool wrote.
pub const MAX_LENGTH: usize = 32 * 1024;
/// The deepest nesting of parentheses and `not`s. Each level costs the parser a few stack
/// frames and the SQL two levels of SQLite's expression tree (limited to 1000); BI tools nest
/// a handful of levels (one per folded filter step), so 64 is generous and far from either.
pub const MAX_DEPTH: usize = 64;
/// The most terms (comparisons, function calls, `true`/`false`). A chain of n terms is an
/// SQLite expression n deep, so with [`MAX_DEPTH`] this stays well under SQLite's limit of
/// 1000; 500 covers the `or` chains tools send for "one of these few hundred ids".
pub const MAX_TERMS: usize = 500;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(message.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Number(String),
    Instant(String),
    Open,
    Close,
    Comma,
}

fn is_instant(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return fail("a string literal is not closed with '"),
                        // '' is an escaped quote inside a string literal.
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            text.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(text));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if word.eq_ignore_ascii_case("datetimeoffset") && chars.get(i) == Some(&'\'') {
                    // datetimeoffset'…': the instant is the text between the quotes.
                    let Some(length) = chars[i + 1..].iter().position(|c| *c == '\'') else {
                        return fail("a datetimeoffset'…' literal is not closed with '");
                    };
                    tokens.push(Token::Instant(
                        chars[i + 1..i + 1 + length].iter().collect(),
                    ));
                    i += length + 2;
                    continue;
                }
                let first = word.chars().next().unwrap_or(' ');
                tokens.push(if is_instant(&word) {
                    Token::Instant(word)
                } else if first.is_ascii_digit() || first == '-' || first == '.' {
                    Token::Number(word)
                } else if first.is_ascii_alphabetic() || first == '_' {
                    Token::Ident(word)
                } else {
                    return fail(format!("unexpected `{}`", shown(&word)));
                });
            }
        }
    }
    Ok(tokens)
}

fn comparison(word: &str) -> Option<Comparison> {
    Some(match word {
        "eq" => Comparison::Eq,
        "ne" => Comparison::Ne,
        "gt" => Comparison::Gt,
        "ge" => Comparison::Ge,
        "lt" => Comparison::Lt,
        "le" => Comparison::Le,
        _ => return None,
    })
}

/// A value in a comparison: a property or a literal.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Property(String, EdmType),
    Null,
    Bool(bool),
    Text(String),
    Integer(i64),
    Real(f64),
    Instant(Timestamp),
    /// An Edm.Date literal (`2024-05-01`), compared with a Date property as its text.
    Date(jiff::civil::Date),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    set: &'a EntitySet,
    /// Parentheses and `not`s open around the current position: checked before each recursion,
    /// so no input can make the parser recurse deeper than [`MAX_DEPTH`].
    depth: usize,
    terms: usize,
}

/// Parses `input` against `set`.
pub fn parse(input: &str, set: &EntitySet) -> Result<Predicate, FilterError> {
    if input.len() > MAX_LENGTH {
        return fail(format!(
            "is {} bytes long; the limit is {MAX_LENGTH}",
            input.len()
        ));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return fail("is empty");
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        set,
        depth: 0,
        terms: 0,
    };
    let predicate = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(predicate),
        Some(token) => fail(format!(
            "unexpected {} after a complete expression",
            describe(token)
        )),
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ident(w) | Token::Number(w) | Token::Instant(w) => format!("`{}`", shown(w)),
        Token::Str(s) => format!("'{}'", shown(s)),
        Token::Open => "`(`".into(),
        Token::Close => "`)`".into(),
        Token::Comma => "`,`".into(),
    }
}

/// One term as itself, several as one flat chain (rendered without nesting).
fn chain(mut terms: Vec<Predicate>, all: fn(Vec<Predicate>) -> Predicate) -> Predicate {
    if terms.len() == 1 {
        return terms.pop().expect("one term");
    }
    all(terms)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token.ok_or_else(|| FilterError("ends too early".into()))
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(w)) if w == word) {
            self.at += 1;
            return true;
        }
        false
    }

    fn expect(&mut self, wanted: Token) -> Result<(), FilterError> {
        let token = self.next()?;
        if token == wanted {
            Ok(())
        } else {
            fail(format!(
                "expected {} but found {}",
                describe(&wanted),
                describe(&token)
            ))
        }
    }

    /// One more level of nesting, refused past [`MAX_DEPTH`]: called before recursing.
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!(
                "nests parentheses and `not` more than {MAX_DEPTH} deep (the limit)"
            ));
        }
        Ok(())
    }

    /// One more term, refused past [`MAX_TERMS`].
    fn term(&mut self) -> Result<(), FilterError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return fail(format!(
                "has more than {MAX_TERMS} terms (comparisons, function calls, true/false; the limit)"
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Predicate, FilterError> {
        let mut terms = vec![self.and()?];
        while self.keyword("or") {
            terms.push(self.and()?);
        }
        Ok(chain(terms, Predicate::Any))
    }

    fn and(&mut self) -> Result<Predicate, FilterError> {
        let mut terms = vec![self.unary()?];
        while self.keyword("and") {
            terms.push(self.unary()?);
        }
        Ok(chain(terms, Predicate::All))
    }

    fn unary(&mut self) -> Result<Predicate, FilterError> {
        if self.keyword("not") {
            self.enter()?;
            // OData treats a comparison with null as false, so its negation is true (the
            // predicate's `Not` keeps that meaning).
            let negated = Predicate::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(negated);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Predicate, FilterError> {
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            self.enter()?;
            let inner = self.or()?;
            self.expect(Token::Close)?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.term()?;
        if let Some(Token::Ident(word)) = self.peek()
            && self.tokens.get(self.at + 1) == Some(&Token::Open)
            && self.set.property(word).is_none()
        {
            let function = word.clone();
            self.at += 2;
            let call = self.function(&function)?;
            return Ok(self.compared_with_boolean(call));
        }
        let left = self.operand()?;
        let Some(Token::Ident(word)) = self.peek().cloned() else {
            return match left {
                Operand::Bool(value) => Ok(Predicate::Constant(value)),
                _ => fail("expected a comparison such as `name eq 'x'`"),
            };
        };
        let Some(op) = comparison(&word) else {
            return fail(format!(
                "`{}` is not a supported operator (eq, ne, gt, ge, lt, le, and, or, not)",
                shown(&word)
            ));
        };
        self.at += 1;
        let right = self.operand()?;
        self.comparison(left, op, right)
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        Ok(match self.next()? {
            Token::Str(s) => Operand::Text(s),
            Token::Instant(raw) => Operand::Instant(parse_instant(&raw)?),
            Token::Number(raw) if is_date(&raw) => Operand::Date(parse_date(&raw)?),
            Token::Number(raw) => parse_number(&raw)?,
            Token::Ident(word) => match word.as_str() {
                "null" => Operand::Null,
                "true" => Operand::Bool(true),
                "false" => Operand::Bool(false),
                _ => match self.set.property(&word) {
                    Some(p) => Operand::Property(p.name.clone(), p.kind),
                    None => {
                        return fail(format!(
                            "`{}` is not a property of {}",
                            shown(&word),
                            self.set.name
                        ));
                    }
                },
            },
            other => {
                return fail(format!(
                    "expected a property or a value, found {}",
                    describe(&other)
                ));
            }
        })
    }

    fn property_column(&self, name: &str) -> Column {
        self.set
            .property(name)
            .map(|p| p.stored().clone())
            .expect("operands only name known properties")
    }

    /// An operand compared with a value of type `other` (its type is checked).
    fn operand_term(
        &mut self,
        operand: &Operand,
        other: Option<EdmType>,
    ) -> Result<Term, FilterError> {
        let mismatch = |what: &str| {
            FilterError(format!(
                "{what} cannot be compared with a {} property",
                other.map_or("?", EdmType::name)
            ))
        };
        Ok(match operand {
            Operand::Property(name, _) => Term::Column(self.property_column(name)),
            Operand::Null => Term::Null,
            Operand::Bool(_) => return Err(mismatch("a boolean")),
            Operand::Text(s) => match other {
                Some(EdmType::String) | None => Term::Literal(Literal::Text(s.clone())),
                _ => return Err(mismatch("a string")),
            },
            Operand::Integer(n) => match other {
                Some(t) if t.is_numeric() => Term::Literal(Literal::Integer(*n)),
                _ => return Err(mismatch("a number")),
            },
            Operand::Real(r) => match other {
                Some(t) if t.is_numeric() => Term::Literal(Literal::Real(*r)),
                _ => return Err(mismatch("a number")),
            },
            Operand::Instant(t) => match other {
                Some(EdmType::DateTimeOffset) => Term::Literal(Literal::Instant(*t)),
                _ => return Err(mismatch("a DateTimeOffset")),
            },
            Operand::Date(d) => match other {
                Some(EdmType::Date) => Term::Literal(Literal::Text(d.to_string())),
                _ => return Err(mismatch("a Date")),
            },
        })
    }

    fn comparison(
        &mut self,
        left: Operand,
        op: Comparison,
        right: Operand,
    ) -> Result<Predicate, FilterError> {
        let kind = |o: &Operand| match o {
            Operand::Property(_, k) => Some(*k),
            _ => None,
        };
        let (lk, rk) = (kind(&left), kind(&right));
        if lk.is_none() && rk.is_none() {
            return fail("a comparison needs a property on one side");
        }
        if let (Some(a), Some(b)) = (lk, rk)
            && a != b
            && !(a.is_numeric() && b.is_numeric())
        {
            return fail(format!("cannot compare {} with {}", a.name(), b.name()));
        }
        let is_null = |o: &Operand| *o == Operand::Null;
        if (is_null(&left) || is_null(&right)) && !matches!(op, Comparison::Eq | Comparison::Ne) {
            return fail("null can only be compared with eq or ne");
        }
        let l = self.operand_term(&left, rk)?;
        let r = self.operand_term(&right, lk)?;
        Ok(Predicate::Compare(l, op, r))
    }

    /// `call eq true`, `call ne false`… after a boolean function, or the call alone. OData's
    /// rules hold when the function is null (a null argument): `eq` is then false, `ne` true.
    fn compared_with_boolean(&mut self, call: Predicate) -> Predicate {
        let word = |t: Option<&Token>| match t {
            Some(Token::Ident(w)) => Some(w.clone()),
            _ => None,
        };
        let (op, value) = (word(self.peek()), word(self.tokens.get(self.at + 1)));
        let (Some(op), Some(value)) = (op, value) else {
            return call;
        };
        let value = match value.as_str() {
            "true" => true,
            "false" => false,
            _ => return call,
        };
        let equal = match op.as_str() {
            "eq" => true,
            "ne" => false,
            _ => return call,
        };
        self.at += 2;
        Predicate::Is {
            predicate: Box::new(call),
            equal,
            value,
        }
    }

    fn function(&mut self, name: &str) -> Result<Predicate, FilterError> {
        if !matches!(name, "contains" | "startswith" | "endswith") {
            return fail(format!(
                "`{}()` is not supported (contains, startswith, endswith are)",
                shown(name)
            ));
        }
        let property = match self.operand()? {
            Operand::Property(p, EdmType::String) => self.property_column(&p),
            Operand::Property(p, kind) => {
                return fail(format!(
                    "{name}() needs a string property; `{p}` is {}",
                    kind.name()
                ));
            }
            _ => return fail(format!("{name}() takes a property first")),
        };
        self.expect(Token::Comma)?;
        let Token::Str(text) = self.next()? else {
            return fail(format!("{name}() takes a string literal second"));
        };
        self.expect(Token::Close)?;
        let test = match name {
            "contains" => TextTest::Contains,
            "startswith" => TextTest::StartsWith,
            _ => TextTest::EndsWith,
        };
        // Compared case-sensitively, as OData does.
        Ok(Predicate::Text(test, property, text))
    }
}

/// `2024-05-01`: an Edm.Date literal (a number never has a `-` after its first digit).
fn is_date(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-'
}

fn parse_date(raw: &str) -> Result<jiff::civil::Date, FilterError> {
    raw.parse()
        .map_err(|_| FilterError(format!("`{}` is not a Date like 2024-05-01", shown(raw))))
}

fn parse_instant(raw: &str) -> Result<Timestamp, FilterError> {
    let instant: Timestamp = raw.parse().map_err(|_| {
        FilterError(format!(
            "`{}` is not a DateTimeOffset like 2024-05-01T00:00:00Z",
            shown(raw)
        ))
    })?;
    if instant.subsec_nanosecond() % 1_000_000 != 0 {
        return fail(format!(
            "`{}`: instants are stored to the millisecond",
            shown(raw)
        ));
    }
    Ok(instant)
}

fn parse_number(raw: &str) -> Result<Operand, FilterError> {
    if let Ok(n) = raw.parse::<i64>() {
        return Ok(Operand::Integer(n));
    }
    let trimmed = raw.trim_end_matches(['d', 'D', 'm', 'M', 'f', 'F']);
    match trimmed.parse::<f64>() {
        Ok(r) if r.is_finite() => Ok(Operand::Real(r)),
        _ => fail(format!("`{}` is not a number", shown(raw))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::{EdmType, EntitySet, Property};
    use warehouse::query::KeyPart;
    use warehouse::query::{Literal, Predicate, Term, TextTest};
    use warehouse::read::Bound as SqlValue;
    use warehouse::testing::ScratchTable;

    fn set() -> EntitySet {
        EntitySet {
            name: "t".into(),
            table: "t".into(),
            key: "id".into(),
            properties: vec![
                Property::column("id", EdmType::Int64, false),
                Property::column("interval_start", EdmType::DateTimeOffset, false),
                Property::column("queue_id", EdmType::String, true),
                Property::column("n_offered", EdmType::Int64, true),
            ],
            resume_key: vec![KeyPart::Column(Column::Named("id".into()))],
            navigation: Vec::new(),
        }
    }

    fn parsed(input: &str) -> Result<Predicate, FilterError> {
        parse(input, &set())
    }

    fn named(column: &str) -> Term {
        Term::Column(Column::Named(column.into()))
    }

    fn instant(text: &str) -> Term {
        Term::Literal(Literal::Instant(text.parse().unwrap()))
    }

    #[test]
    fn precedence_and_binding() {
        let p = parsed("queue_id eq 'a''b' or n_offered gt 3 and not (n_offered le 10)").unwrap();
        let integer = |i| Term::Literal(Literal::Integer(i));
        assert_eq!(
            p,
            Predicate::Any(vec![
                Predicate::Compare(
                    named("queue_id"),
                    Comparison::Eq,
                    Term::Literal(Literal::Text("a'b".into()))
                ),
                Predicate::All(vec![
                    Predicate::Compare(named("n_offered"), Comparison::Gt, integer(3)),
                    Predicate::Not(Box::new(Predicate::Compare(
                        named("n_offered"),
                        Comparison::Le,
                        integer(10)
                    ))),
                ]),
            ])
        );
    }

    #[test]
    fn instants_are_bound_in_stored_form() {
        // The instant itself; its stored spelling is the warehouse's to render (query.rs tests).
        let p = parsed("interval_start ge 2024-05-01T02:00:00+02:00").unwrap();
        assert_eq!(
            p,
            Predicate::Compare(
                named("interval_start"),
                Comparison::Ge,
                instant("2024-05-01T00:00:00Z")
            )
        );
    }

    #[test]
    fn older_clients_spellings_are_accepted() {
        // @odata/client's filter builder: v2-style typed instants (URL-decoded by then) and
        // functions compared with true.
        let p = parsed(
            "interval_start ge datetimeoffset'2024-05-01T00:00:00.000Z' and contains(queue_id,'a') eq true",
        )
        .unwrap();
        let text = |test, value: &str| {
            Box::new(Predicate::Text(
                test,
                Column::Named("queue_id".into()),
                value.into(),
            ))
        };
        assert_eq!(
            p,
            Predicate::All(vec![
                Predicate::Compare(
                    named("interval_start"),
                    Comparison::Ge,
                    instant("2024-05-01T00:00:00Z")
                ),
                Predicate::Is {
                    predicate: text(TextTest::Contains, "a"),
                    equal: true,
                    value: true
                },
            ])
        );
        let p =
            parsed("startswith(queue_id,'a') ne false or endswith(queue_id,'b') eq false").unwrap();
        assert_eq!(
            p,
            Predicate::Any(vec![
                Predicate::Is {
                    predicate: text(TextTest::StartsWith, "a"),
                    equal: false,
                    value: false
                },
                Predicate::Is {
                    predicate: text(TextTest::EndsWith, "b"),
                    equal: true,
                    value: false
                },
            ])
        );
        for (input, needle) in [
            (
                "interval_start ge datetimeoffset'2024-05-01T00:00:00Z",
                "not closed",
            ),
            (
                "interval_start ge datetimeoffset'yesterday'",
                "not a DateTimeOffset",
            ),
            ("contains(queue_id,'a') eq 1", "unexpected"),
        ] {
            let error = parsed(input).unwrap_err().0;
            assert!(error.contains(needle), "{input}: {error}");
        }
    }

    #[test]
    fn refusals_say_why() {
        for (input, needle) in [
            ("nope eq 1", "not a property"),
            ("queue_id eq 1", "cannot be compared"),
            ("n_offered add 1", "not a supported operator"),
            ("queue_id eq 'x", "not closed"),
            ("(queue_id eq 'x'", "ends too early"),
            ("tolower(queue_id) eq 'x'", "not supported"),
            ("n_offered gt null", "null"),
            ("", "empty"),
            ("queue_id eq 'x' 'y'", "unexpected"),
            ("queue_id; DROP TABLE t", "not a property"),
        ] {
            let error = parsed(input).unwrap_err().0;
            assert!(error.contains(needle), "{input}: {error}");
        }
    }

    /// Whether the store runs `predicate` on a table of `set()`'s columns without complaint.
    fn runs_in_the_store(predicate: &Predicate) -> Result<Vec<i64>, warehouse::StoreError> {
        ScratchTable::new(&["interval_start", "queue_id", "n_offered"])?.ids_matching(predicate)
    }

    /// Parsed, and run by the store without complaint.
    fn accepted(input: &str) {
        let predicate = parsed(input).unwrap_or_else(|e| panic!("refused: {e}"));
        runs_in_the_store(&predicate).unwrap_or_else(|e| panic!("store: {e}"));
    }

    fn refused(input: &str, needle: &str) {
        let error = parsed(input).unwrap_err().0;
        assert!(error.contains(needle), "{error}");
    }

    fn id_chain(terms: usize, joiner: &str) -> String {
        (0..terms)
            .map(|i| format!("queue_id eq '{:036}'", i))
            .collect::<Vec<_>>()
            .join(joiner)
    }

    #[test]
    fn nesting_is_limited_before_it_recurses() {
        let nested = |n: usize| format!("{}n_offered eq 1{}", "(".repeat(n), ")".repeat(n));
        accepted(&nested(MAX_DEPTH));
        refused(&nested(MAX_DEPTH + 1), "deep");
        let nots = |n: usize| format!("{}n_offered eq 1", "not ".repeat(n));
        accepted(&nots(MAX_DEPTH));
        refused(&nots(MAX_DEPTH + 1), "deep");
        // Far past the limit: refused, not a stack overflow.
        refused(&nested(10_000), "deep");
        refused(&nots(5_000), "deep");
        // Depth is what is open at once: many groups side by side are fine.
        accepted(&vec!["(n_offered eq 1)"; 400].join(" and "));
    }

    #[test]
    fn terms_are_limited_and_a_full_chain_runs_in_sqlite() {
        accepted(&id_chain(MAX_TERMS, " or "));
        accepted(&id_chain(MAX_TERMS, " and "));
        refused(&id_chain(MAX_TERMS + 1, " or "), "terms");
        // Parenthesised one step at a time, as a tool folding one filter at a time writes.
        let mut left_deep = "n_offered eq 0".to_string();
        for i in 1..MAX_DEPTH {
            left_deep = format!("({left_deep} or n_offered eq {i})");
        }
        accepted(&left_deep);
        // The worst SQLite sees: the deepest nesting around the longest chain, mixed.
        let chain = (0..MAX_TERMS - 1)
            .map(|i| format!("queue_id eq '{i}'"))
            .collect::<Vec<_>>()
            .join(" or ");
        let half = MAX_DEPTH / 2;
        accepted(&format!(
            "{}{}({chain}) and contains(queue_id,'x'){}",
            "not ".repeat(half),
            "(".repeat(half - 1),
            ")".repeat(half - 1)
        ));
    }

    #[test]
    fn length_is_limited() {
        let padded = |length: usize| {
            let head = "queue_id eq '";
            format!("{head}{}'", "x".repeat(length - head.len() - 1))
        };
        assert_eq!(padded(MAX_LENGTH).len(), MAX_LENGTH);
        accepted(&padded(MAX_LENGTH));
        refused(&padded(MAX_LENGTH + 1), "limit is 32768");
    }

    #[test]
    fn messages_show_only_the_start_of_long_words() {
        let error = parsed(&format!("{} eq 1", "y".repeat(10_000)))
            .unwrap_err()
            .0;
        assert!(error.len() < 200, "{error}");
    }

    /// A filter as a tree, written out as OData text and evaluated with OData's null rules.
    #[derive(Debug, Clone)]
    enum Expr {
        Text(Comparison, Option<String>),
        Number(Comparison, Option<i64>),
        Contains(String),
        StartsWith(String),
        /// `startswith(s, v) eq|ne true|false` (only Eq and Ne are generated).
        StartsWithIs(String, Comparison, bool),
        Not(Box<Expr>),
        And(Box<Expr>, Box<Expr>),
        Or(Box<Expr>, Box<Expr>),
    }

    type Row = (Option<String>, Option<i64>);

    fn word(op: Comparison) -> &'static str {
        match op {
            Comparison::Eq => "eq",
            Comparison::Ne => "ne",
            Comparison::Gt => "gt",
            Comparison::Ge => "ge",
            Comparison::Lt => "lt",
            Comparison::Le => "le",
        }
    }

    /// OData text; string literals have their quotes doubled.
    fn odata(e: &Expr) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let text = |v: &Option<String>| v.as_deref().map_or("null".into(), quote);
        match e {
            Expr::Text(op, v) => format!("s {} {}", word(*op), text(v)),
            Expr::Number(op, v) => format!(
                "n {} {}",
                word(*op),
                v.map_or("null".into(), |n| n.to_string())
            ),
            Expr::Contains(v) => format!("contains(s, {})", quote(v)),
            Expr::StartsWith(v) => format!("startswith(s, {})", quote(v)),
            Expr::StartsWithIs(v, op, b) => {
                format!("startswith(s, {}) {} {b}", quote(v), word(*op))
            }
            Expr::Not(a) => format!("not ({})", odata(a)),
            Expr::And(a, b) => format!("({}) and ({})", odata(a), odata(b)),
            Expr::Or(a, b) => format!("({}) or ({})", odata(a), odata(b)),
        }
    }

    fn compare<T: PartialOrd>(op: Comparison, a: Option<&T>, b: Option<&T>) -> bool {
        match (op, a, b) {
            (Comparison::Eq, a, b) => a == b,
            (Comparison::Ne, a, b) => a != b,
            // Relational operators are false when either side is null.
            (_, None, _) | (_, _, None) => false,
            (Comparison::Gt, Some(a), Some(b)) => a > b,
            (Comparison::Ge, Some(a), Some(b)) => a >= b,
            (Comparison::Lt, Some(a), Some(b)) => a < b,
            (Comparison::Le, Some(a), Some(b)) => a <= b,
        }
    }

    fn eval(e: &Expr, row: &Row) -> bool {
        match e {
            Expr::Text(op, v) => compare(*op, row.0.as_ref(), v.as_ref()),
            Expr::Number(op, v) => compare(*op, row.1.as_ref(), v.as_ref()),
            Expr::Contains(v) => row.0.as_ref().is_some_and(|s| s.contains(v.as_str())),
            Expr::StartsWith(v) => row.0.as_ref().is_some_and(|s| s.starts_with(v.as_str())),
            Expr::StartsWithIs(v, op, b) => {
                // The function is null on a null string; eq/ne treat null as a value.
                let result = row.0.as_ref().map(|s| s.starts_with(v.as_str()));
                compare(*op, result.as_ref(), Some(b))
            }
            Expr::Not(a) => !eval(a, row),
            Expr::And(a, b) => eval(a, row) && eval(b, row),
            Expr::Or(a, b) => eval(a, row) || eval(b, row),
        }
    }

    fn op() -> impl Strategy<Value = Comparison> {
        prop_oneof![
            Just(Comparison::Eq),
            Just(Comparison::Ne),
            Just(Comparison::Gt),
            Just(Comparison::Ge),
            Just(Comparison::Lt),
            Just(Comparison::Le),
        ]
    }

    /// null is compared only with eq/ne (the parser refuses the rest, tested above).
    fn null_safe(op: Comparison, is_null: bool) -> Comparison {
        if is_null && !matches!(op, Comparison::Eq | Comparison::Ne) {
            Comparison::Ne
        } else {
            op
        }
    }

    fn expr() -> impl Strategy<Value = Expr> {
        let text = "[ab']{0,2}";
        let leaf = prop_oneof![
            (op(), proptest::option::of(text))
                .prop_map(|(o, v)| Expr::Text(null_safe(o, v.is_none()), v)),
            (op(), proptest::option::of(-2i64..3))
                .prop_map(|(o, v)| Expr::Number(null_safe(o, v.is_none()), v)),
            text.prop_map(Expr::Contains),
            text.prop_map(Expr::StartsWith),
            (text, any::<bool>(), any::<bool>()).prop_map(|(v, eq, b)| Expr::StartsWithIs(
                v,
                if eq { Comparison::Eq } else { Comparison::Ne },
                b
            )),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|a| Expr::Not(Box::new(a))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    use proptest::prelude::*;

    proptest! {
        /// Any filter selects in SQLite exactly the rows OData's rules select.
        #[test]
        fn sql_selects_what_odata_means(
            rows in proptest::collection::vec(
                (proptest::option::of("[ab']{0,3}"), proptest::option::of(-2i64..3)), 0..12),
            e in expr(),
        ) {
            let set = EntitySet {
                name: "t".into(),
                table: "t".into(),
                key: "id".into(),
                properties: vec![
                    Property::column("id", EdmType::Int64, false),
                    Property::column("s", EdmType::String, true),
                    Property::column("n", EdmType::Int64, true),
                ],
                resume_key: vec![KeyPart::Column(Column::Named("id".into()))],
                navigation: Vec::new(),
            };
            let predicate = parse(&odata(&e), &set).unwrap();
            let table = ScratchTable::new(&["s", "n"]).unwrap();
            for (i, row) in rows.iter().enumerate() {
                let s = row.0.clone().map_or(SqlValue::Null, SqlValue::Text);
                let n = row.1.map_or(SqlValue::Null, SqlValue::Integer);
                table.insert(i as i64, vec![s, n]).unwrap();
            }
            let got = table.ids_matching(&predicate).unwrap();
            let expected: Vec<i64> = rows
                .iter()
                .enumerate()
                .filter(|(_, row)| eval(&e, row))
                .map(|(i, _)| i as i64)
                .collect();
            prop_assert_eq!(got, expected, "{:?}", predicate);
        }

        /// Arbitrary text never panics the parser, and whatever it accepts the store runs.
        #[test]
        fn any_text_is_parsed_or_refused(input in "[a-z_ ()',0-9.:TZ-]{0,40}") {
            if let Ok(predicate) = parsed(&input) {
                let ran = runs_in_the_store(&predicate);
                prop_assert!(ran.is_ok(), "{:?}: {:?}", predicate, ran);
            }
        }
    }
}
