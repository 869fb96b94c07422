//! Conversation aggregates: the synchronous query and async jobs with cursor-paged results.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genesys::aggregates::{AggregationQuery, AsyncAggregateQueryResponse};
use genesys::jobs::AsyncQueryResponse;
use serde::Deserialize;

use super::blocking;
use crate::error::ApiError;
use crate::extract::{GenesysJson, GenesysPath, GenesysQuery};
use crate::jobs::{decode_cursor, encode_cursor, page, results_unavailable, unknown_job};
use crate::state::{AggregateResults, AppState};

/// Groups per results page when the job's query names no `pageSize`.
pub const DEFAULT_JOB_PAGE_SIZE: u32 = 100;

/// Bytes of the answer written before they are sent; a few of these are in flight at once.
const ANSWER_CHUNK_BYTES: usize = 64 * 1024;

/// The answer is computed in its compact form and written to the connection as it is
/// serialised, so the emulator holds the table, never the response tree or its whole text:
/// an org of tens of thousands of agents fits in memory.
pub async fn query(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<AggregationQuery>,
) -> Result<Response, ApiError> {
    let (centre, now) = (state.centre.clone(), state.clock.now());
    let table = blocking(move || centre.aggregate_table(&query, now)).await??;
    Ok(stream_json(table))
}

/// Sends `answer` as JSON written chunk by chunk while it is serialised (off the async
/// workers): the emulator never holds the whole text.
pub fn stream_json<T: serde::Serialize + Send + 'static>(answer: T) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut out = ChunkWriter {
            sender,
            chunk: Vec::with_capacity(ANSWER_CHUNK_BYTES),
        };
        // A client that went away ends the writing; there is no one left to tell.
        let written = serde_json::to_writer(&mut out, &answer).map_err(std::io::Error::from);
        if written.and_then(|()| out.send()).is_err() {
            tracing::debug!("An answer was left unsent: the client went away.");
        }
    });
    let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((Ok::<_, std::io::Error>(chunk), receiver))
    });
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// Collects serialised bytes into chunks for the connection, waiting while it is behind.
struct ChunkWriter {
    sender: tokio::sync::mpsc::Sender<axum::body::Bytes>,
    chunk: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(ANSWER_CHUNK_BYTES));
        self.sender
            .blocking_send(full.into())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= ANSWER_CHUNK_BYTES {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<AggregationQuery>,
) -> Result<Response, ApiError> {
    if query.page_size == Some(0) {
        return Err(ApiError::bad_request("pageSize must be at least 1."));
    }
    let centre = state.centre.clone();
    let validated = query.clone();
    blocking(move || centre.validate_aggregate(&validated)).await??;
    let now = state.clock.now();
    let job_id = state.aggregate_jobs.submit(now);
    let (centre, jobs, id) = (
        state.centre.clone(),
        state.aggregate_jobs.clone(),
        job_id.clone(),
    );
    let page_size = query.page_size.unwrap_or(DEFAULT_JOB_PAGE_SIZE) as usize;
    tokio::spawn(async move {
        let outcome = match blocking(move || centre.aggregate(&query, now)).await {
            Ok(Ok(response)) => Ok(AggregateResults {
                groups: response.results,
                page_size,
            }),
            Ok(Err(e)) => Err(e.message),
            Err(e) => Err(e.body.message),
        };
        jobs.complete(&id, outcome);
    });
    Ok((StatusCode::ACCEPTED, Json(AsyncQueryResponse { job_id })).into_response())
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<Response, ApiError> {
    super::job_status(&state.aggregate_jobs, &id)
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<StatusCode, ApiError> {
    super::cancel_job(&state.aggregate_jobs, &id)
}

#[derive(Debug, Deserialize)]
pub struct ResultsParams {
    cursor: Option<String>,
}

pub async fn results(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
    GenesysQuery(params): GenesysQuery<ResultsParams>,
) -> Result<Json<AsyncAggregateQueryResponse>, ApiError> {
    let view = state
        .aggregate_jobs
        .view(&id, Instant::now())
        .ok_or_else(|| unknown_job(&id))?;
    let done = view
        .results
        .ok_or_else(|| results_unavailable(&view.status))?;
    let offset = decode_cursor(&id, params.cursor.as_deref(), done.groups.len())?;
    let (results, next) = page(&done.groups, offset, done.page_size);
    Ok(Json(AsyncAggregateQueryResponse {
        results,
        cursor: next.map(|n| encode_cursor(&id, n)),
    }))
}
