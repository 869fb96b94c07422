//! Conversation details: the synchronous query, async jobs (results paged by `cursor` +
//! `pageSize`, `dataAvailabilityDate` on every page) and the datalake availability date.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genesys::details::{ConversationQuery, ConversationQueryResponse, DataAvailabilityResponse};
use genesys::interval::format_instant;
use genesys::jobs::AsyncQueryResponse;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::blocking;
use crate::error::ApiError;
use crate::extract::{GenesysJson, GenesysPath, GenesysQuery};
use crate::jobs::{decode_cursor, encode_cursor, page, results_unavailable, unknown_job};
use crate::state::{AppState, DetailsResults};

/// Conversations per results page when the request names no `pageSize`.
pub const DEFAULT_RESULTS_PAGE_SIZE: u32 = 1_000;
pub const MAX_RESULTS_PAGE_SIZE: u32 = 10_000;

pub async fn query(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<ConversationQuery>,
) -> Result<Json<Value>, ApiError> {
    let (centre, now) = (state.centre.clone(), state.clock.now());
    let answer = blocking(move || {
        centre.details_query(&query, now).map(|response| {
            let ConversationQueryResponse {
                conversations,
                total_hits,
            } = response;
            let mut body = Map::new();
            if let Some(conversations) = conversations {
                let records = conversations.iter().map(|c| centre.detail_json(c));
                body.insert("conversations".into(), Value::Array(records.collect()));
            }
            if let Some(total) = total_hits {
                body.insert("totalHits".into(), Value::from(total));
            }
            Value::Object(body)
        })
    })
    .await??;
    Ok(Json(answer))
}

/// Computes the job's conversations before answering, so a bad query is refused with 400 at once
/// (there is no separate validation for details); readiness still follows the job delay.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<ConversationQuery>,
) -> Result<Response, ApiError> {
    let (centre, now, available) = (
        state.centre.clone(),
        state.clock.now(),
        state.data_availability(),
    );
    let limit = query.limit;
    let mut conversations = blocking(move || centre.details_job(&query, now, available)).await??;
    if let Some(limit) = limit {
        conversations.truncate(limit as usize);
    }
    let job_id = state.details_jobs.submit(now);
    state.details_jobs.complete(
        &job_id,
        Ok(DetailsResults {
            conversations,
            data_availability: available,
        }),
    );
    Ok((StatusCode::ACCEPTED, Json(AsyncQueryResponse { job_id })).into_response())
}

pub async fn availability(State(state): State<Arc<AppState>>) -> Json<DataAvailabilityResponse> {
    Json(DataAvailabilityResponse {
        data_availability_date: format_instant(state.data_availability()),
    })
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<Response, ApiError> {
    super::job_status(&state.details_jobs, &id)
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<StatusCode, ApiError> {
    super::cancel_job(&state.details_jobs, &id)
}

#[derive(Debug, Deserialize)]
pub struct ResultsParams {
    cursor: Option<String>,
    #[serde(rename = "pageSize")]
    page_size: Option<u32>,
}

pub async fn results(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
    GenesysQuery(params): GenesysQuery<ResultsParams>,
) -> Result<Json<Value>, ApiError> {
    let size = params.page_size.unwrap_or(DEFAULT_RESULTS_PAGE_SIZE);
    if !(1..=MAX_RESULTS_PAGE_SIZE).contains(&size) {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {MAX_RESULTS_PAGE_SIZE}."
        )));
    }
    let view = state
        .details_jobs
        .view(&id, Instant::now())
        .ok_or_else(|| unknown_job(&id))?;
    let done = view
        .results
        .ok_or_else(|| results_unavailable(&view.status))?;
    let offset = decode_cursor(&id, params.cursor.as_deref(), done.conversations.len())?;
    let (conversations, next) = page(&done.conversations, offset, size as usize);
    let mut body = Map::new();
    if !conversations.is_empty() {
        let records = conversations.iter().map(|c| state.centre.detail_json(c));
        body.insert("conversations".into(), Value::Array(records.collect()));
    }
    if let Some(next) = next {
        body.insert("cursor".into(), Value::from(encode_cursor(&id, next)));
    }
    body.insert(
        "dataAvailabilityDate".into(),
        Value::from(format_instant(done.data_availability)),
    );
    Ok(Json(Value::Object(body)))
}
