//! The rows endpoint's query parameters: which it reads, their limits, and their parsing into
//! [`ShapeQuery`] (which columns, which buckets) and [`PagingQuery`] (which format, which page);
//! the time range and filter are the shared [`RangeQuery`]. The OpenAPI document describes
//! the parameters from these types.

use serde::Serialize;
use warehouse::read::{DatasetInfo, Selection, SelectionError};

use crate::params::{DimensionValue, Params, shown};
use crate::problem::Problem;

/// Every parameter the rows endpoint reads (anything else is refused); the fuzz tests send
/// hostile values in each. A unit test holds it to the documented parameters.
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

/// How the rows are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(default = "json")]
pub enum Format {
    Json,
    Csv,
    Ndjson,
    Parquet,
}

/// Which columns and buckets a rows (or report) request asks for, as given.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShapeQuery {
    /// Roll the stored buckets up to PT1H, P1D, P7D, P1M… in time_zone. Default: as stored.
    pub granularity: Option<String>,
    /// Comma-separated subset of the dataset's dimensions; the others are summed over. Default: all.
    #[param(value_type = String, required = false)]
    pub group_by: Option<Vec<String>>,
    /// Comma-separated subset of the dataset's metrics (at least one). Default: all.
    #[param(value_type = String, required = false, min_length = 1)]
    pub metrics: Option<Vec<String>>,
    /// true adds queue, user and wrap-up code names next to their ids.
    #[param(required = false, default = false)]
    pub names: bool,
}

impl ShapeQuery {
    pub fn read(params: &Params) -> Result<Self, Problem> {
        Ok(Self {
            group_by: params.list("group_by")?,
            metrics: params.list("metrics")?,
            names: params.flag("names")?,
            granularity: params.one("granularity")?.map(str::to_string),
        })
    }
}

/// How the rows come back: a JSON page (which one, how long) or a whole export.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingQuery {
    /// json (paged); csv, ndjson or parquet (streamed whole; Parquet has typed columns: UTC millisecond timestamps, strings, int64 counts and sums, double averages and ratios).
    #[param(required = false, inline)]
    pub format: Format,
    /// Rows per JSON page (1 to 10000).
    #[param(required = false, minimum = 1, maximum = 10000, default = 1000)]
    pub limit: u64,
    /// Opaque; follow the `next` link.
    pub cursor: Option<String>,
}

impl PagingQuery {
    pub fn read(params: &Params) -> Result<Self, Problem> {
        let paging = Self {
            format: parse_format(params)?,
            limit: parse_limit(params)?,
            cursor: params.one("cursor")?.map(str::to_string),
        };
        if paging.format != Format::Json && paging.cursor.is_some() {
            return Err(Problem::bad_parameter(
                "cursor",
                "only JSON is paged; CSV, NDJSON and Parquet stream every row",
            ));
        }
        Ok(paging)
    }
}

fn parse_format(params: &Params) -> Result<Format, Problem> {
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

fn parse_limit(params: &Params) -> Result<u64, Problem> {
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

/// The columns and filters the shape and `filter` ask of the dataset.
pub(super) fn selection(
    info: &DatasetInfo,
    shape: &ShapeQuery,
    filters: &[DimensionValue],
) -> Result<Selection, Problem> {
    let mut selection = Selection::all(&info.spec);
    if let Some(dimensions) = &shape.group_by {
        selection.dimensions = dimensions
            .iter()
            .map(|d| selection.resolve_dimension(d).map_err(bad("group_by")))
            .collect::<Result<_, _>>()?;
    }
    if let Some(metrics) = &shape.metrics {
        if metrics.is_empty() {
            return Err(Problem::bad_parameter("metrics", "names no metric"));
        }
        selection.metrics = metrics
            .iter()
            .map(|m| selection.resolve_metric(m).map_err(bad("metrics")))
            .collect::<Result<_, _>>()?;
    }
    for DimensionValue { dimension, value } in filters {
        let dimension = selection
            .resolve_dimension(dimension)
            .map_err(bad("filter"))?;
        match selection.filters.iter_mut().find(|(d, _)| *d == dimension) {
            Some((_, values)) => values.push(value.to_string()),
            None => selection.filters.push((dimension, vec![value.to_string()])),
        }
    }
    selection.names = shape.names;
    Ok(selection)
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use crate::params::RangeQuery;

    /// The parameters the endpoint accepts are the ones its document describes.
    #[test]
    fn the_accepted_parameters_are_the_documented_ones() {
        let mut documented: Vec<String> = [
            RangeQuery::into_params(|| None),
            super::ShapeQuery::into_params(|| None),
            super::PagingQuery::into_params(|| None),
        ]
        .into_iter()
        .flatten()
        .map(|p| p.name)
        .collect();
        let mut accepted: Vec<&str> = super::PARAMETERS.to_vec();
        documented.sort();
        accepted.sort();
        assert_eq!(documented, accepted);
    }

    #[test]
    fn the_documented_page_sizes_are_the_enforced_ones() {
        let paging = super::PagingQuery::into_params(|| None);
        let limit =
            serde_json::to_value(paging.iter().find(|p| p.name == "limit").unwrap()).unwrap();
        assert_eq!(limit["schema"]["maximum"], super::MAX_LIMIT);
        assert_eq!(limit["schema"]["default"], super::DEFAULT_LIMIT);
    }
}
