//! The rows endpoint's query parameters: which it reads, their limits, and how the format,
//! page size and column selection are parsed from them.

use warehouse::read::{DatasetInfo, Selection, SelectionError};

use crate::params::{MAX_PAIRS, Params, shown};
use crate::problem::Problem;

/// Every parameter the rows endpoint reads (anything else is refused); the fuzz tests send
/// hostile values in each.
pub const PARAMETERS: &[&str] = &[
    "from",
    "to",
    "granularity",
    "time_zone",
    "group_by",
    "filter",
    "metrics",
    "format",
    "names",
    "limit",
    "cursor",
];

pub(crate) const DEFAULT_LIMIT: u64 = 1_000;
pub(crate) const MAX_LIMIT: u64 = 10_000;
/// The most `filter` values in one request (each is a bound value of an SQL `IN` list):
/// enough for a dashboard's "these few hundred queues", far below SQLite's 32 766 variables.
pub const MAX_FILTER_VALUES: usize = 1_000;
const _: () = assert!(
    MAX_FILTER_VALUES < MAX_PAIRS,
    "filter values must fit in a query"
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Ndjson,
    Parquet,
}

pub(super) fn parse_format(params: &Params) -> Result<Format, Problem> {
    match params.one("format")? {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("ndjson") => Ok(Format::Ndjson),
        Some("parquet") => Ok(Format::Parquet),
        Some(other) => Err(Problem::bad_parameter(
            "format",
            format!("`{}` is not json, csv, ndjson or parquet", shown(other)),
        )),
    }
}

pub(super) fn parse_limit(params: &Params) -> Result<u64, Problem> {
    match params.one("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(Problem::bad_parameter(
                "limit",
                format!(
                    "`{}` is not a whole number from 1 to {MAX_LIMIT}",
                    shown(raw)
                ),
            )),
        },
    }
}

fn bad(name: &'static str) -> impl Fn(SelectionError) -> Problem {
    move |e| Problem::bad_parameter(name, e.to_string())
}

/// The columns and filters `group_by`, `metrics`, `filter` and `names` ask of the dataset.
pub(super) fn selection(info: &DatasetInfo, params: &Params) -> Result<Selection, Problem> {
    let mut selection = Selection::all(&info.spec);
    if let Some(dimensions) = params.list("group_by")? {
        selection.dimensions = dimensions
            .iter()
            .map(|d| selection.resolve_dimension(d).map_err(bad("group_by")))
            .collect::<Result<_, _>>()?;
    }
    if let Some(metrics) = params.list("metrics")? {
        if metrics.is_empty() {
            return Err(Problem::bad_parameter("metrics", "names no metric"));
        }
        selection.metrics = metrics
            .iter()
            .map(|m| selection.resolve_metric(m).map_err(bad("metrics")))
            .collect::<Result<_, _>>()?;
    }
    let filters = params.all("filter");
    if filters.len() > MAX_FILTER_VALUES {
        return Err(Problem::bad_parameter(
            "filter",
            format!(
                "is given {} times; the limit is {MAX_FILTER_VALUES} values",
                filters.len()
            ),
        ));
    }
    for raw in filters {
        let (dimension, value) = raw.split_once('=').ok_or_else(|| {
            Problem::bad_parameter("filter", format!("`{}` is not dimension=value", shown(raw)))
        })?;
        let dimension = selection
            .resolve_dimension(dimension.trim())
            .map_err(bad("filter"))?;
        match selection.filters.iter_mut().find(|(d, _)| *d == dimension) {
            Some((_, values)) => values.push(value.to_string()),
            None => selection.filters.push((dimension, vec![value.to_string()])),
        }
    }
    selection.names = params.flag("names")?;
    Ok(selection)
}
