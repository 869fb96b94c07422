//! Relationships: a fact set's navigation properties to the directory sets (`queue_id` →
//! `queues`, `user_id` → `users`, `wrap_up_code` → `wrapup_codes`, `organization_presence_id`
//! → `presences`), declared in `$metadata`
//! with their referential constraints, and `$expand` on them: `$expand=queue` or
//! `$expand=queue($select=name)`. A page's related entities are read in one query per
//! navigation (by the ids on the page), never one per row.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};
use warehouse::ReadSession;
use warehouse::TableSpec;
use warehouse::query::{Column, Comparison, Literal, Order, Predicate, Query, Term};
use warehouse::read::Cell;

use super::{EntitySet, ODataError, Property};
use crate::params::shown;

/// Ids looked up per query: well under SQLite's bound-value limit.
const IDS_PER_QUERY: usize = 500;

/// A navigation property: to one entity of a directory set, by a property holding its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Navigation {
    /// `queue`, `user`, `wrapup_code`.
    pub name: &'static str,
    /// The directory set it leads to.
    pub target: &'static str,
    /// The property holding the related entity's `id` (`queue_id`).
    pub property: String,
}

/// The dataset's relationships: one per dimension with a directory.
pub fn navigation(spec: &TableSpec) -> Vec<Navigation> {
    warehouse::kpi::name_columns(spec)
        .into_iter()
        .map(|column| Navigation {
            name: match column.directory {
                "queues" => "queue",
                "users" => "user",
                "presences" => "presence",
                _ => "wrapup_code",
            },
            target: column.directory,
            property: column.id_column,
        })
        .collect()
}

/// One item of `$expand`: a navigation property, and the properties of it to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expand {
    pub navigation: String,
    /// `None`: all of them.
    pub select: Option<Vec<String>>,
}

/// The top-level comma-separated items (commas inside parentheses belong to an item).
fn items(raw: &str) -> Result<Vec<&str>, ODataError> {
    let (mut depth, mut start, mut out) = (0usize, 0, Vec::new());
    for (i, c) in raw.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| ODataError::bad_option("$expand", "has an unopened )"))?
            }
            ',' if depth == 0 => {
                out.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(ODataError::bad_option("$expand", "has an unclosed ("));
    }
    out.push(&raw[start..]);
    Ok(out)
}

/// Parses `$expand` against the entity set's navigation properties.
pub fn parse(raw: &str, set: &EntitySet) -> Result<Vec<Expand>, ODataError> {
    let mut out: Vec<Expand> = Vec::new();
    for item in items(raw)? {
        let item = item.trim();
        let (name, nested) = match item.split_once('(') {
            Some((name, rest)) => (name.trim(), Some(rest.strip_suffix(')').unwrap_or(rest))),
            None => (item, None),
        };
        let Some(navigation) = set.navigation.iter().find(|n| n.name == name) else {
            let known: Vec<&str> = set.navigation.iter().map(|n| n.name).collect();
            let offered = if known.is_empty() {
                "it has none".to_string()
            } else {
                format!("it has: {}", known.join(", "))
            };
            return Err(ODataError::bad_option(
                "$expand",
                format!(
                    "`{}` is not a navigation property of {} ({offered})",
                    shown(name),
                    set.name
                ),
            ));
        };
        let select = match nested.map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(options) => Some(nested_select(options, navigation)?),
        };
        if out.iter().any(|e| e.navigation == name) {
            return Err(ODataError::bad_option(
                "$expand",
                format!("names `{name}` more than once"),
            ));
        }
        out.push(Expand {
            navigation: name.to_string(),
            select,
        });
    }
    Ok(out)
}

/// `$select=a,b` inside an expanded item (the only nested option offered).
fn nested_select(options: &str, navigation: &Navigation) -> Result<Vec<String>, ODataError> {
    let Some(list) = options.strip_prefix("$select=") else {
        return Err(ODataError::bad_option(
            "$expand",
            format!(
                "`{}`: only $select is offered inside an expanded navigation property",
                shown(options)
            ),
        ));
    };
    let names: Vec<String> = list.split(',').map(|n| n.trim().to_string()).collect();
    if names
        .iter()
        .any(|n| n.is_empty() || n.contains(['(', ')', ';', '$']))
    {
        return Err(ODataError::bad_option(
            "$expand",
            format!(
                "`{}` is not a list of properties of {}",
                shown(list),
                navigation.target
            ),
        ));
    }
    Ok(names)
}

/// The related entities of a page's rows, one JSON value per row and expanded navigation
/// (an entity, or null when the row has no id or the directory doesn't know it). Each row
/// holds the expanded navigations' id properties from `at` on.
pub fn related(
    c: &dyn ReadSession,
    set: &EntitySet,
    expands: &[Expand],
    rows: &[Vec<Cell>],
    at: usize,
) -> Result<Vec<Vec<Value>>, ODataError> {
    let mut found: Vec<HashMap<String, Value>> = Vec::new();
    for (i, expand) in expands.iter().enumerate() {
        let navigation = set
            .navigation
            .iter()
            .find(|n| n.name == expand.navigation)
            .expect("$expand names only the set's navigation properties");
        let ids: BTreeSet<&str> = rows
            .iter()
            .filter_map(|row| match row.get(at + i) {
                Some(Cell::Text(id)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        found.push(entities(c, navigation, expand, ids)?);
    }
    Ok(rows
        .iter()
        .map(|row| {
            (0..expands.len())
                .map(|i| match row.get(at + i) {
                    Some(Cell::Text(id)) => found[i].get(id).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                })
                .collect()
        })
        .collect())
}

/// The directory entities with these ids, as JSON objects by id.
fn entities(
    c: &dyn ReadSession,
    navigation: &Navigation,
    expand: &Expand,
    ids: BTreeSet<&str>,
) -> Result<HashMap<String, Value>, ODataError> {
    let target = EntitySet::from_directory(c, navigation.target)?;
    let selected: Vec<&Property> = match &expand.select {
        None => target.properties.iter().collect(),
        Some(names) => names
            .iter()
            .map(|name| {
                target.property(name).ok_or_else(|| {
                    ODataError::bad_option(
                        "$expand",
                        format!("`{}` is not a property of {}", shown(name), target.name),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let id_column = Column::Named("id".into());
    let mut select: Vec<(Column, String)> = selected
        .iter()
        .map(|p| (p.stored().clone(), p.name.clone()))
        .collect();
    select.push((id_column.clone(), "related_id".into()));
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let matches = chunk
            .iter()
            .map(|id| {
                Predicate::Compare(
                    Term::Column(id_column.clone()),
                    Comparison::Eq,
                    Term::Literal(Literal::Text(id.to_string())),
                )
            })
            .collect();
        let query = Query {
            table: target.table.clone(),
            filter: Some(Predicate::Any(matches)),
            select: select.clone(),
            resume_key: target.resume_key.clone(),
            after: None,
            order: Order::ByKey,
            offset: 0,
            limit: chunk.len() as u64,
        };
        for row in c.query_rows(&query).map_err(ODataError::statement)? {
            let Some(Cell::Text(id)) = row.get(selected.len()) else {
                continue;
            };
            let object: Map<String, Value> = selected
                .iter()
                .zip(&row)
                .map(|(p, cell)| {
                    (
                        p.name.clone(),
                        serde_json::to_value(cell).unwrap_or(Value::Null),
                    )
                })
                .collect();
            out.insert(id.clone(), Value::Object(object));
        }
    }
    Ok(out)
}
