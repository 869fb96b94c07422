//! System query options (`$select`, `$filter`, `$orderby`, `$top`, `$skip`, `$count`,
//! `$skiptoken`, `$format`, `$expand`) and the store-neutral query they become. Custom options (no `$`) are
//! ignored, as OData allows; unknown system options are refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use warehouse::query::{Column, Order, Query};

use super::expand::{self, Expand};
use super::{EntitySet, ODataError, Property, filter};
use crate::params::{decode_query, shown};

/// The most properties `$select` may name: more than any entity type has (a dataset has its
/// bounds, dimensions and a few columns per metric).
pub const MAX_SELECT_ITEMS: usize = 512;
/// The most sort keys in `$orderby`: a report sorts by a handful; each one is an ORDER BY term.
pub const MAX_ORDERBY_ITEMS: usize = 32;
/// The longest `$skiptoken`: ours carry a count and a resume key (a bucket start and a few
/// dimension ids), a few hundred bytes once encoded.
pub const MAX_SKIPTOKEN_BYTES: usize = 8 * 1024;

const OPTIONS: &[&str] = &[
    "$select",
    "$filter",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$skiptoken",
    "$format",
    "$expand",
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
    /// Where the previous page ended.
    pub skiptoken: Option<SkipToken>,
    /// The navigation properties whose related entities each row carries.
    pub expand: Vec<Expand>,
    /// Every option as sent (custom ones included), to rebuild the next page's link.
    pub raw: Vec<(String, String)>,
}

/// What a `$skiptoken` carries: the rows of the query already served and, for a query in the
/// entity set's own order, the resume key of the last one (the next page starts after it, so a
/// sync rewriting rows between two pages neither repeats nor skips a bucket and group).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkipToken {
    #[serde(rename = "n")]
    pub served: u64,
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<String>>,
}

impl SkipToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a token serializes"))
    }

    fn decode(raw: &str, set: &EntitySet, by_key: bool) -> Result<Self, ODataError> {
        let invalid = || {
            ODataError::bad_option(
                "$skiptoken",
                "is not a token of this service; follow @odata.nextLink as given",
            )
        };
        if raw.len() > MAX_SKIPTOKEN_BYTES {
            return Err(ODataError::bad_option(
                "$skiptoken",
                format!(
                    "is {} bytes long; the limit is {MAX_SKIPTOKEN_BYTES}",
                    raw.len()
                ),
            ));
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
        let token: SkipToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        // A key exactly when the query is in the set's own order, as its nextLink was made.
        match (&token.after, by_key) {
            (Some(key), true) if key.len() == set.resume_key.len() => Ok(token),
            (None, false) => Ok(token),
            _ => Err(invalid()),
        }
    }
}

/// `$top` and `$skip`: any whole number that fits 64 bits (statements bind at most SQLite's
/// largest integer, which is "all" for `$top` and "past the end" for `$skip` anyway).
fn whole(option: &str, raw: &str) -> Result<u64, ODataError> {
    raw.trim().parse::<u64>().map_err(|_| {
        ODataError::bad_option(
            option,
            format!(
                "`{}` is not a whole number from 0 to {}",
                shown(raw),
                u64::MAX
            ),
        )
    })
}

fn property<'a>(set: &'a EntitySet, option: &str, name: &str) -> Result<&'a Property, ODataError> {
    set.property(name).ok_or_else(|| {
        ODataError::bad_option(
            option,
            format!("`{}` is not a property of {}", shown(name), set.name),
        )
    })
}

/// The comma-separated items of `raw`, refused past `limit`.
fn items<'a>(option: &str, raw: &'a str, limit: usize) -> Result<Vec<&'a str>, ODataError> {
    let items: Vec<&str> = raw.split(',').collect();
    if items.len() > limit {
        return Err(ODataError::bad_option(
            option,
            format!("has {} items; the limit is {limit}", items.len()),
        ));
    }
    Ok(items)
}

fn parse_select(set: &EntitySet, raw: &str) -> Result<Option<Vec<String>>, ODataError> {
    let items: Vec<&str> = items("$select", raw, MAX_SELECT_ITEMS)?
        .into_iter()
        .map(str::trim)
        .collect();
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
    items("$orderby", raw, MAX_ORDERBY_ITEMS)?
        .into_iter()
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
                        format!("`{}` is not asc or desc", shown(other)),
                    ));
                }
            };
            if let Some(extra) = words.next() {
                return Err(ODataError::bad_option(
                    "$orderby",
                    format!("unexpected `{}`", shown(extra)),
                ));
            }
            Ok((property(set, "$orderby", name)?.name.clone(), descending))
        })
        .collect()
}

impl Options {
    pub fn parse(raw: Option<&str>, set: &EntitySet) -> Result<Self, ODataError> {
        let pairs = decode_query(raw).map_err(|e| ODataError::bad_option(e.parameter(), &e))?;
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
                    &shown(key),
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
                    filter::parse(value, set).map_err(|e| ODataError::bad_option("$filter", e))?;
                    options.filter = Some(value.clone());
                }
                "$orderby" => options.orderby = parse_orderby(set, value)?,
                "$top" => options.top = Some(whole(option, value)?),
                "$skip" => options.skip = whole(option, value)?,
                // Read once every other option is: whether it carries a key depends on them.
                "$skiptoken" => {}
                "$expand" => options.expand = expand::parse(value, set)?,
                "$count" => {
                    options.count = match value.as_str() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(ODataError::bad_option(
                                "$count",
                                format!("`{}` is not true or false", shown(other)),
                            ));
                        }
                    }
                }
                _ => {
                    if !value.starts_with("json") && !value.starts_with("application/json") {
                        return Err(ODataError::bad_option(
                            "$format",
                            format!("`{}` is not offered; only json is", shown(value)),
                        ));
                    }
                }
            }
        }
        if let Some((_, raw)) = pairs.iter().find(|(k, _)| k == "$skiptoken") {
            let by_key = options.resumes_by_key();
            options.skiptoken = Some(SkipToken::decode(raw, set, by_key)?);
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

    /// Rows already served on earlier pages.
    pub fn served(&self) -> u64 {
        self.skiptoken.as_ref().map_or(0, |t| t.served)
    }

    /// Pages in the entity set's own order resume after a key; pages in a `$orderby` order
    /// count the rows served (the order's values may tie and change between pages).
    pub fn resumes_by_key(&self) -> bool {
        self.orderby.is_empty()
    }
}

/// The page the options ask for: at most `limit` rows, in `$orderby` order then key order from
/// row `offset`, or, without `$orderby`, in the entity set's own order after the skiptoken's
/// key (skipping `offset` rows on the first page only). Each row holds the selected
/// properties, then the id of each expanded navigation, then its resume key's values. Its
/// count ignores the page.
pub fn query(
    set: &EntitySet,
    options: &Options,
    offset: u64,
    limit: u64,
) -> Result<Query, ODataError> {
    let filter = options
        .filter
        .as_deref()
        .map(|raw| filter::parse(raw, set).map_err(|e| ODataError::bad_option("$filter", e)))
        .transpose()?;
    let after = options
        .skiptoken
        .as_ref()
        .and_then(|t| t.after.clone())
        .filter(|_| options.resumes_by_key());
    let mut select: Vec<_> = options
        .selected(set)
        .iter()
        .map(|p| (p.stored().clone(), p.name.clone()))
        .collect();
    // The expanded navigations' ids, after the selected properties (see `expand::related`).
    for (i, expanded) in options.expand.iter().enumerate() {
        let navigation = set
            .navigation
            .iter()
            .find(|n| n.name == expanded.navigation)
            .expect("$expand names only the set's navigation properties");
        select.push((
            Column::Named(navigation.property.clone()),
            format!("expanded_{i}"),
        ));
    }
    let order = if options.resumes_by_key() {
        Order::ByKey
    } else {
        let by = options
            .orderby
            .iter()
            .filter_map(|(name, descending)| {
                Some((set.property(name)?.stored().clone(), *descending))
            })
            .collect();
        Order::By(by, set.key_property().stored().clone())
    };
    Ok(Query {
        table: set.table.clone(),
        filter,
        select,
        resume_key: set.resume_key.clone(),
        after,
        order,
        offset,
        limit,
    })
}
