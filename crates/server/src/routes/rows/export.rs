//! `format=csv|ndjson|parquet`: every row streamed as one body with bounded memory, read by
//! [`Lane`]s (two for text, one for the one Parquet file) and merged back in bucket order.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::lane::Lane;
use super::merge::Merge;
use super::prepare::prepare;
use super::query::Format;
use super::text_rows::CsvRows;
use crate::params::Params;
use crate::problem::Problem;
use crate::state::AppState;

/// The registered media type of Parquet files.
pub const PARQUET_MEDIA_TYPE: &str = "application/vnd.apache.parquet";

/// The body of `format=parquet`, as the document describes it: a binary file.
pub struct ParquetFile;

impl utoipa::PartialSchema for ParquetFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for ParquetFile {}

/// Text exports split the segments over this many blocking threads, each with its own
/// connection and encoder, and the body takes their bytes back in segment order: reading and
/// encoding a row costs more than sending it, so this is where a second core helps.
const TEXT_EXPORT_LANES: usize = 2;

pub(super) async fn stream(
    state: AppState,
    name: String,
    params: Params,
    format: Format,
) -> Result<Response, Problem> {
    // Resolve first, so bad input is still a 400 problem and not a broken stream.
    let prepared = {
        let name = name.clone();
        state.read(move |c| prepare(c, &name, &params)).await?
    };
    let lanes = match format {
        // One writer makes the one Parquet file.
        Format::Parquet => 1,
        Format::Csv | Format::Ndjson | Format::Json => TEXT_EXPORT_LANES,
    };
    let head = match format {
        Format::Csv => {
            let mut header = Vec::new();
            CsvRows::new(&prepared.selection.columns()).header(&mut header);
            Some(Bytes::from(header))
        }
        _ => None,
    };
    let dataset = prepared.name.clone();
    let segments = prepared.occupied().len();
    let lane = Lane {
        prepared: Arc::new(prepared),
        reads: state.reads.clone(),
        metrics: state.metrics.clone(),
        name,
        format,
        row_group_rows: state.parquet_row_group_rows,
        chunk_rows: state.stream_chunk_rows,
        lanes,
    };
    let receivers = (0..lanes)
        .map(|index| {
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            let lane = lane.clone();
            tokio::task::spawn_blocking(move || lane.run(index, &sender));
            receiver
        })
        .collect();
    let merge = Merge::new(head, receivers, segments);
    let stream = futures_util::stream::unfold(merge, |mut merge| async move {
        merge.next().await.map(|item| (item, merge))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(format)),
    );
    if format == Format::Parquet {
        // Dataset names are `[a-z][a-z0-9_]*`, so the header value is always valid.
        let disposition = format!("attachment; filename=\"{dataset}.parquet\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Parquet => PARQUET_MEDIA_TYPE,
        Format::Json | Format::Ndjson => "application/x-ndjson",
    }
}
