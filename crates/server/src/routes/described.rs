//! The OpenAPI operations of handlers whose modules were being changed elsewhere when the
//! document moved to utoipa (`status`, `datasets`, `report`, `odata::routes`): each function
//! here is the served handler, forwarding unchanged, with the operation the `#[utoipa::path]`
//! would carry there; move each attribute onto its handler when its module is next edited.
//! The bodies those handlers build by hand are described here as types for the same reason.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{Html, Response};
use serde_json::Value;
use utoipa::ToSchema;

use super::openapi::URI_TOO_LONG;
use super::rows::Column;
use crate::odata::ODataError;
use crate::params::{BAD_PARAMETER_DOC, RangeQuery};
use crate::problem::Problem;
use crate::state::AppState;

/// Status page for people: freshness, lag, last runs, offered vs answered per day
#[utoipa::path(
    get,
    path = "/",
    responses((status = 200, description = "HTML", content_type = "text/html"))
)]
pub async fn status(state: State<AppState>) -> Result<Html<String>, Problem> {
    super::status::status(state).await
}

/// Every dataset: columns with meanings, granularity, time zone, complete_through, last run, row count
#[utoipa::path(
    get,
    path = "/v1/datasets",
    responses((status = 200, description = "Datasets", body = Datasets))
)]
pub async fn datasets(state: State<AppState>) -> Result<Json<Value>, Problem> {
    super::datasets::list(state).await
}

/// Totals and per-queue figures for a range, with complete_through
#[utoipa::path(
    get,
    path = "/v1/report",
    params(("dataset" = String, Query), RangeQuery),
    responses(
        (status = 200, description = "Report", body = Report),
        (status = 400, description = BAD_PARAMETER_DOC, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn report(
    state: State<AppState>,
    query: RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    super::report::report(state, query, headers).await
}

/// OData v4 service document (Power BI / Excel "OData Feed": Basic auth, key as password): an entity set per dataset and per directory
#[utoipa::path(
    get,
    path = "/odata/",
    responses((status = 200, description = "Service document", content_type = "application/json;odata.metadata=minimal"))
)]
pub async fn odata_service_document(
    state: State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ODataError> {
    crate::odata::routes::service_document(state, headers).await
}

/// OData v4 CSDL (EDMX 4.0): one keyed entity type per entity set
#[utoipa::path(
    get,
    path = "/odata/$metadata",
    responses((status = 200, description = "CSDL XML", content_type = "application/xml"))
)]
pub async fn odata_metadata(state: State<AppState>) -> Result<Response, ODataError> {
    crate::odata::routes::metadata(state).await
}

/// What a 400 of an OData entity set means.
const ODATA_BAD_OPTION: &str =
    "A query option is invalid: OData error body {\"error\":{\"code\",\"message\",\"target\"}}";
const ODATA_NO_SET: &str = "No such entity set (OData error body)";
/// The OData option limits, as `odata::filter` and `odata::query` enforce them (a unit test
/// holds the numbers to their constants).
const ODATA_FILTER: &str = "eq ne gt ge lt le, and or not, parentheses, contains/startswith/endswith; at most 32768 bytes, 64 levels of parentheses and not, 500 terms.";
const ODATA_SELECT: &str = "Comma-separated properties, or *; at most 512.";
const ODATA_ORDERBY: &str = "Comma-separated `property [asc|desc]`; at most 32.";
const ODATA_SKIPTOKEN: &str = "Opaque, from @odata.nextLink; at most 8192 bytes.";

/// An OData v4 entity set: $select, $filter, $orderby, $top, $skip, $count, paged by @odata.nextLink (at most 5000 rows a page; Prefer: odata.maxpagesize for fewer)
#[utoipa::path(
    get,
    path = "/odata/{set}",
    params(
        ("set" = String, Path, description = "A dataset or directory (queues, users, wrapup_codes)"),
        ("$filter" = Option<String>, Query, description = ODATA_FILTER),
        ("$select" = Option<String>, Query, description = ODATA_SELECT),
        ("$orderby" = Option<String>, Query, description = ODATA_ORDERBY),
        ("$top" = Option<u64>, Query, description = "Rows at most."),
        ("$skip" = Option<u64>, Query, description = "Rows skipped first."),
        ("$count" = Option<bool>, Query, description = "true adds @odata.count."),
        ("$skiptoken" = Option<String>, Query, description = ODATA_SKIPTOKEN),
        ("$format" = Option<String>, Query, description = "json (the only format)."),
    ),
    responses(
        (status = 200, description = "A page of entities", content_type = "application/json;odata.metadata=minimal"),
        (status = 400, description = ODATA_BAD_OPTION),
        (status = 404, description = ODATA_NO_SET),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn odata_entity_set_rows(
    state: State<AppState>,
    name: Result<Path<String>, PathRejection>,
    query: RawQuery,
    headers: HeaderMap,
) -> Result<Response, ODataError> {
    crate::odata::routes::entity_set_rows(state, name, query, headers).await
}

/// How many entities of an OData v4 entity set match $filter, as plain text ($top and $skip do not apply)
#[utoipa::path(
    get,
    path = "/odata/{set}/$count",
    params(
        ("set" = String, Path, description = "A dataset or directory (queues, users, wrapup_codes)"),
        ("$filter" = Option<String>, Query, description = ODATA_FILTER),
        ("$select" = Option<String>, Query, description = ODATA_SELECT),
        ("$orderby" = Option<String>, Query, description = ODATA_ORDERBY),
        ("$top" = Option<u64>, Query, description = "Rows at most."),
        ("$skip" = Option<u64>, Query, description = "Rows skipped first."),
        ("$count" = Option<bool>, Query, description = "true adds @odata.count."),
        ("$skiptoken" = Option<String>, Query, description = ODATA_SKIPTOKEN),
        ("$format" = Option<String>, Query, description = "json (the only format)."),
    ),
    responses(
        (status = 200, description = "The count", body = inline(EntityCount), content_type = "text/plain; charset=utf-8"),
        (status = 400, description = ODATA_BAD_OPTION),
        (status = 404, description = ODATA_NO_SET),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn odata_entity_set_count(
    state: State<AppState>,
    name: Result<Path<String>, PathRejection>,
    query: RawQuery,
) -> Result<Response, ODataError> {
    crate::odata::routes::entity_set_count(state, name, query).await
}

/// The body of `GET /odata/{set}/$count`: the count in decimal digits.
#[derive(ToSchema)]
#[schema(pattern = "^[0-9]+$")]
#[expect(dead_code, reason = "describes a body its handler writes as text")]
struct EntityCount(String);

/// The body of `GET /v1/datasets` (built by `datasets::list`).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
pub struct Datasets {
    datasets: Vec<DatasetEntry>,
}

#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
struct DatasetEntry {
    name: String,
    granularity: Option<String>,
    time_zone: Option<String>,
    #[schema(format = DateTime)]
    complete_through: Option<String>,
    lag_seconds: Option<f64>,
    row_count: i64,
    #[schema(value_type = Option<Object>)]
    last_run: Option<()>,
    columns: Vec<Column>,
}

/// The body of `GET /v1/report` (built by `report::report`).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
pub struct Report {
    dataset: String,
    from: Option<String>,
    to: Option<String>,
    complete_through: Option<String>,
    /// to <= complete_through: the figures will not change
    #[schema(rename = "final")]
    is_final: bool,
    totals: Figures,
    groups: Vec<Figures>,
}

#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
struct Figures {
    offered: Option<i64>,
    answered: Option<i64>,
    abandoned: Option<i64>,
    avg_handle_ms: Option<f64>,
    avg_talk_ms: Option<f64>,
    avg_wait_ms: Option<f64>,
    avg_acw_ms: Option<f64>,
    service_level: Option<f64>,
    answer_rate: Option<f64>,
    abandon_rate: Option<f64>,
}

#[cfg(test)]
mod tests {
    use crate::odata::filter::{MAX_DEPTH, MAX_LENGTH, MAX_TERMS};
    use crate::odata::query::{MAX_ORDERBY_ITEMS, MAX_SELECT_ITEMS, MAX_SKIPTOKEN_BYTES};

    #[test]
    fn the_documented_odata_limits_are_the_enforced_ones() {
        for (text, phrase) in [
            (super::ODATA_FILTER, format!("at most {MAX_LENGTH} bytes")),
            (super::ODATA_FILTER, format!("{MAX_DEPTH} levels")),
            (super::ODATA_FILTER, format!("{MAX_TERMS} terms")),
            (super::ODATA_SELECT, format!("at most {MAX_SELECT_ITEMS}.")),
            (
                super::ODATA_ORDERBY,
                format!("at most {MAX_ORDERBY_ITEMS}."),
            ),
            (
                super::ODATA_SKIPTOKEN,
                format!("at most {MAX_SKIPTOKEN_BYTES} bytes"),
            ),
        ] {
            assert!(text.contains(&phrase), "{text} lacks {phrase}");
        }
    }
}
