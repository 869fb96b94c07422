//! System query options (`$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`,
//! `$skiptoken`, `$format`) and the SQL statement they become. Custom options (no `$`) are
//! ignored, as OData allows; unknown system options are refused.

use rusqlite::types::Value as SqlValue;

use super::{EntitySet, ODataError, Property, filter};

const OPTIONS: &[&str] = &[
    "$select",
    "$filter",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$skiptoken",
    "$format",
];

/// The options of one request, checked against its entity set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The properties to return, in the order asked; `None` is all of them.
    pub select: Option<Vec<String>>,
    pub filter: Option<String>,
    /// `(property, descending)`, most significant first.
    pub orderby: Vec<(String, bool)>,
    pub top: Option<u64>,
    pub skip: u64,
    pub count: bool,
    /// Rows of this query already served on earlier pages.
    pub skiptoken: u64,
    /// Every option as sent (custom ones included), to rebuild the next page's link.
    pub raw: Vec<(String, String)>,
}

fn whole(option: &str, raw: &str) -> Result<u64, ODataError> {
    raw.trim()
        .parse::<u64>()
        .map_err(|_| ODataError::bad_option(option, format!("`{raw}` is not a whole number")))
}

fn property<'a>(set: &'a EntitySet, option: &str, name: &str) -> Result<&'a Property, ODataError> {
    set.property(name).ok_or_else(|| {
        ODataError::bad_option(
            option,
            format!("`{name}` is not a property of {}", set.name),
        )
    })
}

fn parse_select(set: &EntitySet, raw: &str) -> Result<Option<Vec<String>>, ODataError> {
    let items: Vec<&str> = raw.split(',').map(str::trim).collect();
    if items.contains(&"*") {
        return Ok(None);
    }
    let mut names = Vec::new();
    for item in items {
        let name = property(set, "$select", item)?.name.clone();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(Some(names))
}

fn parse_orderby(set: &EntitySet, raw: &str) -> Result<Vec<(String, bool)>, ODataError> {
    raw.split(',')
        .map(|item| {
            let mut words = item.split_whitespace();
            let name = words
                .next()
                .ok_or_else(|| ODataError::bad_option("$orderby", "names an empty property"))?;
            let descending = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(ODataError::bad_option(
                        "$orderby",
                        format!("`{other}` is not asc or desc"),
                    ));
                }
            };
            if let Some(extra) = words.next() {
                return Err(ODataError::bad_option(
                    "$orderby",
                    format!("unexpected `{extra}`"),
                ));
            }
            Ok((property(set, "$orderby", name)?.name.clone(), descending))
        })
        .collect()
}

impl Options {
    pub fn parse(raw: Option<&str>, set: &EntitySet) -> Result<Self, ODataError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut options = Options {
            raw: pairs.clone(),
            ..Options::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in &pairs {
            if !key.starts_with('$') {
                continue;
            }
            let Some(&option) = OPTIONS.iter().find(|o| **o == key.as_str()) else {
                return Err(ODataError::bad_option(
                    key,
                    format!("is not supported (supported: {})", OPTIONS.join(", ")),
                ));
            };
            if seen.contains(&option) {
                return Err(ODataError::bad_option(option, "is given more than once"));
            }
            seen.push(option);
            match option {
                "$select" => options.select = parse_select(set, value)?,
                "$filter" => {
                    // Parsed here so errors are reported before any read.
                    filter::to_sql(value, set, &mut Vec::new())
                        .map_err(|e| ODataError::bad_option("$filter", e))?;
                    options.filter = Some(value.clone());
                }
                "$orderby" => options.orderby = parse_orderby(set, value)?,
                "$top" => options.top = Some(whole(option, value)?),
                "$skip" => options.skip = whole(option, value)?,
                "$skiptoken" => options.skiptoken = whole(option, value)?,
                "$count" => {
                    options.count = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(ODataError::bad_option(
                                "$count",
                                format!("`{other}` is not true or false"),
                            ));
                        }
                    }
                }
                _ => {
                    if !value.starts_with("json") && !value.starts_with("application/json") {
                        return Err(ODataError::bad_option(
                            "$format",
                            format!("`{value}` is not offered; only json is"),
                        ));
                    }
                }
            }
        }
        Ok(options)
    }

    /// The properties returned, in output order.
    pub fn selected<'a>(&self, set: &'a EntitySet) -> Vec<&'a Property> {
        match &self.select {
            None => set.properties.iter().collect(),
            Some(names) => names.iter().filter_map(|n| set.property(n)).collect(),
        }
    }
}

/// A statement and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<SqlValue>,
}

fn from_where(set: &EntitySet, options: &Options) -> Result<Statement, ODataError> {
    let mut values = Vec::new();
    let mut sql = format!("FROM \"{}\"", set.table);
    if let Some(raw) = &options.filter {
        let condition = filter::to_sql(raw, set, &mut values)
            .map_err(|e| ODataError::bad_option("$filter", e))?;
        sql.push_str(&format!(" WHERE {condition}"));
    }
    Ok(Statement { sql, values })
}

/// How many rows match `$filter` (for `$count`, ignoring paging).
pub fn count_statement(set: &EntitySet, options: &Options) -> Result<Statement, ODataError> {
    let rest = from_where(set, options)?;
    Ok(Statement {
        sql: format!("SELECT count(*) {}", rest.sql),
        values: rest.values,
    })
}

/// The rows `[offset, offset + limit)` of the query, in `$orderby` order then key order (so
/// pages never overlap or leave gaps).
pub fn rows_statement(
    set: &EntitySet,
    options: &Options,
    offset: u64,
    limit: u64,
) -> Result<Statement, ODataError> {
    let Statement { sql, mut values } = from_where(set, options)?;
    let columns: Vec<String> = options
        .selected(set)
        .iter()
        .map(|p| format!("{} AS \"{}\"", p.sql(), p.name))
        .collect();
    let mut order: Vec<String> = options
        .orderby
        .iter()
        .filter_map(|(name, descending)| {
            let p = set.property(name)?;
            Some(format!(
                "{} {}",
                p.sql(),
                if *descending { "DESC" } else { "ASC" }
            ))
        })
        .collect();
    order.push(set.key_property().sql().to_string());
    values.push(SqlValue::Integer(limit.min(i64::MAX as u64) as i64));
    let limit_mark = values.len();
    values.push(SqlValue::Integer(offset.min(i64::MAX as u64) as i64));
    let offset_mark = values.len();
    Ok(Statement {
        sql: format!(
            "SELECT {} {sql} ORDER BY {} LIMIT ?{limit_mark} OFFSET ?{offset_mark}",
            columns.join(", "),
            order.join(", ")
        ),
        values,
    })
}
