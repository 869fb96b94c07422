//! Query-string parsing shared by the data endpoints: unknown parameters are refused (a typo
//! must not silently widen a query), repeated ones are kept in order. Query strings are
//! decoded strictly ([`decode_query`], for `/odata` too): text that is not UTF-8, a NUL, or a
//! query past the limits below is refused, naming the parameter, before anything reads it.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::problem::Problem;

/// The longest query string, in bytes as sent (percent-encoded). The longest legitimate one is
/// an OData `$filter` at its own limit (32 KiB of text): an `or` chain of 500 ids is ~35 KB
/// encoded. Below hyper's own cap on a request target (64 KiB, answered with a bare 414), so
/// that a long query gets a 400 naming its longest parameter.
pub const MAX_QUERY_BYTES: usize = 60 * 1024;
/// The most `name=value` pairs in one query: real requests have a dozen, plus one `filter`
/// per value on `/v1` (limited to 1,000 on their own, which this leaves room for).
pub const MAX_PAIRS: usize = 1_100;
/// The longest value of a `/v1` parameter, decoded. The longest legitimate value is a
/// `metrics` list naming every metric of a dataset (under 2 KB even for every metric of the
/// catalog); instants, time zones, granularities, cursors and dimension values are far shorter.
pub const MAX_VALUE_BYTES: usize = 4 * 1024;
/// The most names in one list parameter (`group_by`, `metrics`): more than a dataset has.
pub const MAX_LIST_ITEMS: usize = 256;
/// The most `filter` values in one request (each is a bound value of an SQL `IN` list):
/// enough for a dashboard's "these few hundred queues", far below SQLite's 32 766 variables.
pub const MAX_FILTER_VALUES: usize = 1_000;
const _: () = assert!(
    MAX_FILTER_VALUES < MAX_PAIRS,
    "filter values must fit in a query"
);

/// What a 400 of a `/v1` data endpoint means, its limits included (a unit test holds the
/// numbers to the constants above).
pub const BAD_PARAMETER_DOC: &str = "A parameter is invalid or past a limit (named in `parameter`): query strings hold at most 61440 bytes and 1100 parameters, each value at most 4096 bytes once decoded (UTF-8, no NUL), lists at most 256 names, `filter` at most 1000 values (repeated)";

/// The time range and filter every `/v1` data endpoint reads, as given (checked against the
/// dataset once it is known).
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Start (inclusive): an instant (2024-05-01T00:00:00Z) or a date (local midnight in time_zone). Default: the first stored bucket.
    pub from: Option<String>,
    /// End (exclusive), same forms. Default: the end of the last stored bucket.
    pub to: Option<String>,
    /// IANA time zone for dates in from/to and for calendar buckets. Default: the dataset's.
    pub time_zone: Option<String>,
    /// dimension=value; repeatable (values of one dimension are ORed, dimensions ANDed).
    #[param(required = false, inline)]
    pub filter: Vec<DimensionValue>,
}

/// One `filter` value: a dimension (as the client named it) and the value it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionValue {
    pub dimension: String,
    pub value: String,
}

impl DimensionValue {
    fn parse(raw: &str) -> Result<Self, Problem> {
        let (dimension, value) = raw.split_once('=').ok_or_else(|| {
            Problem::bad_parameter("filter", format!("`{}` is not dimension=value", shown(raw)))
        })?;
        Ok(Self {
            dimension: dimension.trim().to_string(),
            value: value.to_string(),
        })
    }
}

/// On the wire a `filter` value is text holding an `=`.
impl utoipa::PartialSchema for DimensionValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .pattern(Some("="))
            .into()
    }
}

impl utoipa::ToSchema for DimensionValue {}

impl RangeQuery {
    pub fn read(params: &Params) -> Result<Self, Problem> {
        let owned = |value: Option<&str>| value.map(str::to_string);
        let given = params.all("filter");
        if given.len() > MAX_FILTER_VALUES {
            return Err(Problem::bad_parameter(
                "filter",
                format!(
                    "is given {} times; the limit is {MAX_FILTER_VALUES} values",
                    given.len()
                ),
            ));
        }
        let filter = given.map(DimensionValue::parse).collect::<Result<_, _>>()?;
        Ok(Self {
            time_zone: owned(params.one("time_zone")?),
            from: owned(params.one("from")?),
            to: owned(params.one("to")?),
            filter,
        })
    }
}

/// A query string that cannot be read, and the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query string is {length} bytes long; the limit is {MAX_QUERY_BYTES}")]
    TooLong { parameter: String, length: usize },
    #[error("the query string has more than {MAX_PAIRS} parameters (the limit)")]
    TooManyPairs { parameter: String },
    #[error("is not UTF-8 text once percent-decoded")]
    NotUtf8 { parameter: String },
    #[error("contains a NUL character (%00)")]
    Nul { parameter: String },
}

impl QueryError {
    /// The parameter at fault: for a query too long, the longest one.
    pub fn parameter(&self) -> &str {
        match self {
            QueryError::TooLong { parameter, .. }
            | QueryError::TooManyPairs { parameter }
            | QueryError::NotUtf8 { parameter }
            | QueryError::Nul { parameter } => parameter,
        }
    }
}

impl From<QueryError> for Problem {
    fn from(error: QueryError) -> Self {
        Problem::bad_parameter(error.parameter(), error.to_string())
    }
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space, `%XX`
/// a byte (a `%` not followed by two hex digits stays as it is, as browsers do).
fn percent_decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'+', ..) => out.push(b' '),
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 2;
            }
            (other, ..) => out.push(other),
        }
        i += 1;
    }
    out
}

/// A path segment as handlers take it: UTF-8 once percent-decoded, and without a NUL, as
/// query values are ([`decode_query`]): no stored name holds one, and PostgreSQL's text can't
/// even be asked for one. The error says why, after the segment's name.
pub fn path_text(
    path: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<String, &'static str> {
    let axum::extract::Path(text) = path.map_err(|_| "is not UTF-8 text once percent-decoded")?;
    if text.contains('\0') {
        return Err("holds a NUL character");
    }
    Ok(text)
}

/// The pairs of a query string, decoded, in order; refused if too long, with too many pairs,
/// or with a name or value that is not UTF-8 or holds a NUL (where lenient decoding would
/// quietly turn bytes into U+FFFD and query for text nobody sent).
pub fn decode_query(raw: Option<&str>) -> Result<Vec<(String, String)>, QueryError> {
    let raw = raw.unwrap_or("");
    let pieces: Vec<&str> = raw.split('&').filter(|p| !p.is_empty()).collect();
    let name_of = |piece: &str| {
        let name = piece.split_once('=').map_or(piece, |(name, _)| name);
        shown(&String::from_utf8_lossy(&percent_decode(name)))
    };
    if raw.len() > MAX_QUERY_BYTES {
        let longest = pieces.iter().max_by_key(|p| p.len()).copied().unwrap_or("");
        return Err(QueryError::TooLong {
            parameter: name_of(longest),
            length: raw.len(),
        });
    }
    if pieces.len() > MAX_PAIRS {
        return Err(QueryError::TooManyPairs {
            parameter: name_of(pieces[MAX_PAIRS]),
        });
    }
    pieces
        .iter()
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            let text = |part: &str| {
                String::from_utf8(percent_decode(part)).map_err(|_| QueryError::NotUtf8 {
                    parameter: name_of(piece),
                })
            };
            let (name, value) = (text(name)?, text(value)?);
            if name.contains('\0') || value.contains('\0') {
                return Err(QueryError::Nul {
                    parameter: name_of(piece),
                });
            }
            Ok((name, value))
        })
        .collect()
}

pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, Problem> {
        let pairs = decode_query(raw)?;
        if let Some((unknown, _)) = pairs.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(Problem::bad_parameter(
                &shown(unknown),
                format!("unknown parameter (accepted: {})", allowed.join(", ")),
            ));
        }
        if let Some((name, value)) = pairs.iter().find(|(_, v)| v.len() > MAX_VALUE_BYTES) {
            return Err(Problem::bad_parameter(
                name,
                format!(
                    "is {} bytes long; the limit is {MAX_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
        Ok(Self { pairs })
    }

    /// The one value of `name`; given twice is an error.
    pub fn one(&self, name: &str) -> Result<Option<&str>, Problem> {
        let mut values = self.all(name);
        let first = values.next();
        if values.next().is_some() {
            return Err(Problem::bad_parameter(name, "given more than once"));
        }
        Ok(first)
    }

    pub fn all(&self, name: &str) -> std::vec::IntoIter<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .into_iter()
    }

    /// Comma-separated lists, possibly repeated: `a,b` or `x=a&x=b`; at most
    /// [`MAX_LIST_ITEMS`] names.
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>, Problem> {
        let mut found = false;
        let mut items = Vec::new();
        for value in self.all(name) {
            found = true;
            items.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
            if items.len() > MAX_LIST_ITEMS {
                return Err(Problem::bad_parameter(
                    name,
                    format!("names more than {MAX_LIST_ITEMS} items (the limit)"),
                ));
            }
        }
        Ok(found.then_some(items))
    }

    pub fn flag(&self, name: &str) -> Result<bool, Problem> {
        match self.one(name)? {
            None => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some("false" | "0" | "no") => Ok(false),
            Some(other) => Err(Problem::bad_parameter(
                name,
                format!("`{}` is not true or false", shown(other)),
            )),
        }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// An instant (`2024-05-01T00:00:00Z`) or a date (`2024-05-01`: local midnight in `tz`).
pub fn parse_when(name: &str, raw: &str, tz: &TimeZone) -> Result<Timestamp, Problem> {
    if let Ok(instant) = raw.parse::<Timestamp>() {
        return Ok(instant);
    }
    let date: jiff::civil::Date = raw.parse().map_err(|_| {
        Problem::bad_parameter(
            name,
            format!(
                "`{}` is not an instant (2024-05-01T00:00:00Z) or a date (2024-05-01)",
                shown(raw)
            ),
        )
    })?;
    date.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| Problem::bad_parameter(name, e.to_string()))
}

pub fn parse_time_zone(name: &str, raw: &str) -> Result<warehouse::NamedTimeZone, Problem> {
    warehouse::NamedTimeZone::get(raw).map_err(|_| {
        Problem::bad_parameter(name, format!("`{}` is not an IANA time zone", shown(raw)))
    })
}

/// How much of a client's text an error message repeats.
const SHOWN_CHARS: usize = 60;

/// `text` as an error message shows it: cut short when long.
pub fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_limits_are_the_enforced_ones() {
        for (limit, words) in [
            (super::MAX_QUERY_BYTES, "bytes and"),
            (super::MAX_PAIRS, "parameters"),
            (super::MAX_VALUE_BYTES, "bytes once"),
            (super::MAX_LIST_ITEMS, "names"),
            (super::MAX_FILTER_VALUES, "values"),
        ] {
            let phrase = format!("{limit} {words}");
            assert!(super::BAD_PARAMETER_DOC.contains(&phrase), "{phrase}");
        }
    }

    use super::*;

    fn pairs(raw: &str) -> Vec<(String, String)> {
        decode_query(Some(raw)).unwrap()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_string(), value.to_string())
    }

    #[test]
    fn decodes_as_forms_do() {
        assert_eq!(
            pairs("a=1+2&b=%C3%A9&&c&d=%zz%4&e=%"),
            vec![
                pair("a", "1 2"),
                pair("b", "é"),
                pair("c", ""),
                pair("d", "%zz%4"),
                pair("e", "%")
            ]
        );
        assert_eq!(pairs("%24filter=x%3Dy"), vec![pair("$filter", "x=y")]);
        assert!(pairs("").is_empty());
        assert!(decode_query(None).unwrap().is_empty());
    }

    #[test]
    fn bytes_that_are_not_text_are_refused_naming_the_parameter() {
        for (raw, parameter) in [
            ("from=%FF", "from"),
            ("from=2024&to=%C3", "to"),
            ("x%00=1", "x\0"),
            ("time_zone=UTC%00", "time_zone"),
        ] {
            let error = decode_query(Some(raw)).unwrap_err();
            assert_eq!(error.parameter(), parameter, "{raw}: {error}");
        }
        let problem = Problem::from(decode_query(Some("filter=%FF")).unwrap_err());
        assert_eq!(problem.parameter.as_deref(), Some("filter"));
        assert_eq!(problem.status, 400);
    }

    #[test]
    fn length_and_pair_limits_name_a_parameter() {
        let long = format!("from=1&filter={}", "x".repeat(MAX_QUERY_BYTES));
        let error = decode_query(Some(&long)).unwrap_err();
        assert_eq!(error.parameter(), "filter");
        let at_limit = format!("filter={}", "x".repeat(MAX_QUERY_BYTES - "filter=".len()));
        assert!(decode_query(Some(&at_limit)).is_ok());
        let many = vec!["a=1"; MAX_PAIRS].join("&");
        assert_eq!(decode_query(Some(&many)).unwrap().len(), MAX_PAIRS);
        let error = decode_query(Some(&format!("{many}&b=2"))).unwrap_err();
        assert_eq!(error.parameter(), "b");
    }

    #[test]
    fn shown_cuts_long_text_on_a_character_boundary() {
        assert_eq!(shown("short"), "short");
        let cut = shown(&"é".repeat(100));
        assert_eq!(cut.chars().count(), SHOWN_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
