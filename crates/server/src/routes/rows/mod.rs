//! `GET /v1/datasets/{name}/rows`: a dataset's rows, optionally rolled up to coarser buckets in
//! any time zone, grouped by a subset of its dimensions, filtered, in JSON pages (opaque
//! cursor, `next` link), or streamed whole as CSV, NDJSON or Parquet with bounded memory.
//!
//! The handler parses the query ([`query`]), then answers a JSON page ([`page`], through the
//! response [`cache`]) or an export ([`export`]: [`lane`]s of [`encoder`]s, [`merge`]d).

mod cache;
mod cursor;
mod encoder;
mod export;
pub mod feeds;
mod lane;
mod merge;
mod page;
mod prepare;
mod query;
mod text_rows;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub use cache::{cached_json, json_response};
pub use cursor::Position;
pub use export::{PARQUET_MEDIA_TYPE, ParquetFile};
pub use page::{Column, ColumnKind, RowsPage};
pub use prepare::{Prepared, prepare};
pub use query::{Format, PARAMETERS, PagingQuery, ShapeQuery};

use crate::gzip;
use crate::params::{BAD_PARAMETER_DOC, Params, RangeQuery};
/// The query-string limits every data request is held to (`/odata` too), for tests and docs.
pub use crate::params::{
    MAX_FILTER_VALUES, MAX_LIST_ITEMS, MAX_PAIRS, MAX_QUERY_BYTES, MAX_VALUE_BYTES,
};
use crate::problem::Problem;
use crate::routes::openapi::URI_TOO_LONG;
use crate::state::AppState;

/// A dataset's rows, optionally rolled up (sums of sums and counts, min of mins, max of maxes; averages and ratios derived afterwards)
#[utoipa::path(
    get,
    path = "/v1/datasets/{name}/rows",
    params(("name" = String, Path), RangeQuery, ShapeQuery, PagingQuery),
    responses(
        (status = 200, description = "Rows", content(
            (RowsPage = "application/json"),
            ("text/csv"),
            ("application/x-ndjson"),
            (inline(ParquetFile) = "application/vnd.apache.parquet"),
        )),
        (status = 400, description = BAD_PARAMETER_DOC, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn rows(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let name = crate::params::path_text(name)
        .map_err(|why| Problem::bad_parameter("name", format!("the dataset name {why}")))?;
    let params = Params::parse(raw.as_deref(), PARAMETERS)?;
    let paging = PagingQuery::read(&params)?;
    match paging.format {
        Format::Json => {
            let gzip = gzip::accepts_gzip(&headers);
            let query = raw.unwrap_or_default();
            page::json_page(state, name, params, paging, query, gzip).await
        }
        Format::Csv | Format::Ndjson | Format::Parquet => {
            export::stream(state, name, params, paging.format).await
        }
    }
}
