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
mod lane;
mod merge;
mod page;
mod parquet_writer;
mod prepare;
mod query;
mod text_rows;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub use cache::{cached_json, json_response};
pub use cursor::Position;
pub use export::PARQUET_MEDIA_TYPE;
pub use prepare::{Prepared, prepare};
pub(crate) use query::{DEFAULT_LIMIT, MAX_LIMIT};
pub use query::{Format, MAX_FILTER_VALUES, PARAMETERS};

use crate::gzip;
use crate::params::Params;
/// The query-string limits every data request is held to (`/odata` too), for tests and docs.
pub use crate::params::{MAX_LIST_ITEMS, MAX_PAIRS, MAX_QUERY_BYTES, MAX_VALUE_BYTES};
use crate::problem::Problem;
use crate::state::AppState;

pub async fn rows(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Path(name) = name.map_err(|_| {
        Problem::bad_parameter(
            "name",
            "the dataset name is not UTF-8 text once percent-decoded",
        )
    })?;
    let params = Params::parse(raw.as_deref(), PARAMETERS)?;
    let format = query::parse_format(&params)?;
    let limit = query::parse_limit(&params)?;
    if format != Format::Json && params.one("cursor")?.is_some() {
        return Err(Problem::bad_parameter(
            "cursor",
            "only JSON is paged; CSV, NDJSON and Parquet stream every row",
        ));
    }
    match format {
        Format::Json => {
            let gzip = gzip::accepts_gzip(&headers);
            page::json_page(state, name, params, limit, raw.unwrap_or_default(), gzip).await
        }
        Format::Csv | Format::Ndjson | Format::Parquet => {
            export::stream(state, name, params, format).await
        }
    }
}
