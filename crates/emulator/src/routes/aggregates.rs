//! Conversation aggregates: the synchronous query and async jobs with cursor-paged results.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genesys::aggregates::{AggregateQueryResponse, AggregationQuery, AsyncAggregateQueryResponse};
use genesys::jobs::AsyncQueryResponse;
use serde::Deserialize;

use super::blocking;
use crate::error::ApiError;
use crate::extract::{GenesysJson, GenesysPath, GenesysQuery};
use crate::jobs::{decode_cursor, encode_cursor, page, results_unavailable, unknown_job};
use crate::state::{AggregateResults, AppState};

/// Groups per results page when the job's query names no `pageSize`.
pub const DEFAULT_JOB_PAGE_SIZE: u32 = 100;

pub async fn query(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<AggregationQuery>,
) -> Result<Json<AggregateQueryResponse>, ApiError> {
    let (centre, now) = (state.centre.clone(), state.clock.now());
    Ok(Json(
        blocking(move || centre.aggregate(&query, now)).await??,
    ))
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
