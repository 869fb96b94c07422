//! Users aggregates (the query and its async jobs) and the presence definitions they refer to.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use genesys::details::DataAvailabilityResponse;
use genesys::directory::EntityListing;
use genesys::interval::format_instant;
use genesys::jobs::AsyncQueryResponse;
use serde::Deserialize;

use super::blocking;
use super::directory::{PageParams, listing};
use crate::error::ApiError;
use crate::extract::{GenesysJson, GenesysPath, GenesysQuery};
use crate::jobs::{decode_cursor, encode_cursor, results_unavailable, unknown_job};
use crate::state::{AppState, UserAggregateResults, UserDetailsResults};
use crate::synth::agents::{
    AsyncUserDetailsQueryResponse, PresenceDefinition, UserAggregationQuery, UserDetail,
    UserDetailsQuery, UserDetailsQueryResponse,
};

pub const USERS_AGGREGATES_QUERY_PATH: &str = "/api/v2/analytics/users/aggregates/query";
pub const USERS_AGGREGATES_JOBS_PATH: &str = "/api/v2/analytics/users/aggregates/jobs";
pub use genesys::directory::PRESENCE_DEFINITIONS_PATH;
pub use genesys::users_details::{
    USERS_DETAILS_AVAILABILITY_PATH, USERS_DETAILS_JOBS_PATH, USERS_DETAILS_QUERY_PATH,
};
pub const PRESENCE_DEFINITIONS_V2_PATH: &str = "/api/v2/presence/definitions";

/// Users per results page when the job names no `pageSize`.
pub const DEFAULT_JOB_PAGE_SIZE: u32 = 100;

pub async fn query(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<UserAggregationQuery>,
) -> Result<Response, ApiError> {
    let (centre, now) = (state.centre.clone(), state.clock.now());
    let body = blocking(move || {
        let table = centre.users_aggregate(&query, now)?;
        serde_json::to_vec(&table).map_err(|e| crate::synth::QueryError {
            status: 500,
            code: "internal.server.error",
            message: format!("The answer could not be written: {e}"),
        })
    })
    .await??;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

pub async fn submit(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<UserAggregationQuery>,
) -> Result<Response, ApiError> {
    if query.page_size == Some(0) {
        return Err(ApiError::bad_request("pageSize must be at least 1."));
    }
    let centre = state.centre.clone();
    let validated = query.clone();
    let groups = blocking(move || centre.users_aggregate_groups(&validated)).await??;
    let now = state.clock.now();
    let job_id = state.user_aggregate_jobs.submit(now);
    let page_size = query.page_size.unwrap_or(DEFAULT_JOB_PAGE_SIZE) as usize;
    let results = UserAggregateResults {
        query,
        now,
        groups,
        page_size,
    };
    state.user_aggregate_jobs.complete(&job_id, Ok(results));
    Ok((StatusCode::ACCEPTED, Json(AsyncQueryResponse { job_id })).into_response())
}

pub async fn status(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<Response, ApiError> {
    super::job_status(&state.user_aggregate_jobs, &id)
}

pub async fn cancel(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<StatusCode, ApiError> {
    super::cancel_job(&state.user_aggregate_jobs, &id)
}

#[derive(Debug, Deserialize)]
pub struct ResultsParams {
    cursor: Option<String>,
}

/// A results page: `pageSize` users with their buckets, the mappings of those users, and a
/// `cursor` unless it is the last page.
pub async fn results(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
    GenesysQuery(params): GenesysQuery<ResultsParams>,
) -> Result<Response, ApiError> {
    let view = state
        .user_aggregate_jobs
        .view(&id, Instant::now())
        .ok_or_else(|| unknown_job(&id))?;
    let done = view
        .results
        .ok_or_else(|| results_unavailable(&view.status))?;
    let groups = done.groups;
    let offset = decode_cursor(&id, params.cursor.as_deref(), groups)?;
    let size = done.page_size.max(1);
    let next = (offset.saturating_add(size) < groups).then(|| offset + size);
    let (centre, query, now) = (state.centre.clone(), done.query.clone(), done.now);
    let cursor = next.map(|n| encode_cursor(&id, n));
    let body = blocking(move || {
        let table = centre.users_aggregate_page(&query, now, offset, size)?;
        let page = table.page(0, table.group_count(), cursor);
        serde_json::to_vec(&page).map_err(|e| crate::synth::QueryError {
            status: 500,
            code: "internal.server.error",
            message: format!("The page could not be written: {e}"),
        })
    })
    .await??;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// The legacy, paged listing of organisation presences (no permission needed, as documented).
pub async fn presence_definitions(
    State(state): State<Arc<AppState>>,
    GenesysQuery(params): GenesysQuery<PageParams>,
) -> Result<Json<EntityListing<genesys::directory::OrganizationPresence>>, ApiError> {
    listing(
        &state.centre.presence_definitions(),
        PRESENCE_DEFINITIONS_PATH,
        &params,
    )
    .map(Json)
}

/// Records per users details job page when the request names no `pageSize`, and the most it may.
pub const DEFAULT_DETAILS_PAGE_SIZE: usize = 100;
pub const MAX_DETAILS_PAGE_SIZE: usize = 1000;

pub async fn details_query(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<UserDetailsQuery>,
) -> Result<Json<UserDetailsQueryResponse>, ApiError> {
    let (centre, now) = (state.centre.clone(), state.clock.now());
    Ok(Json(
        blocking(move || centre.users_details_query(&query, now)).await??,
    ))
}

pub async fn details_submit(
    State(state): State<Arc<AppState>>,
    GenesysJson(query): GenesysJson<UserDetailsQuery>,
) -> Result<Response, ApiError> {
    let available = state.data_availability();
    state.centre.validate_users_details(&query)?;
    let job_id = state.user_details_jobs.submit(state.clock.now());
    let (centre, jobs, id) = (
        state.centre.clone(),
        state.user_details_jobs.clone(),
        job_id.clone(),
    );
    tokio::spawn(async move {
        let outcome = match blocking(move || centre.users_details_job(&query, available)).await {
            Ok(Ok(details)) => Ok(UserDetailsResults {
                details,
                data_availability: available,
            }),
            Ok(Err(e)) => Err(e.message),
            Err(e) => Err(e.body.message),
        };
        jobs.complete(&id, outcome);
    });
    Ok((StatusCode::ACCEPTED, Json(AsyncQueryResponse { job_id })).into_response())
}

pub async fn details_status(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<Response, ApiError> {
    super::job_status(&state.user_details_jobs, &id)
}

pub async fn details_cancel(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
) -> Result<StatusCode, ApiError> {
    super::cancel_job(&state.user_details_jobs, &id)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsResultsParams {
    cursor: Option<String>,
    page_size: Option<usize>,
}

/// A results page: `pageSize` records, grouped by user, with the datalake date.
pub async fn details_results(
    State(state): State<Arc<AppState>>,
    GenesysPath(id): GenesysPath<String>,
    GenesysQuery(params): GenesysQuery<DetailsResultsParams>,
) -> Result<Json<AsyncUserDetailsQueryResponse>, ApiError> {
    let size = params.page_size.unwrap_or(DEFAULT_DETAILS_PAGE_SIZE);
    if !(1..=MAX_DETAILS_PAGE_SIZE).contains(&size) {
        return Err(ApiError::bad_request(format!(
            "pageSize must be between 1 and {MAX_DETAILS_PAGE_SIZE}, not {size}."
        )));
    }
    let view = state
        .user_details_jobs
        .view(&id, Instant::now())
        .ok_or_else(|| unknown_job(&id))?;
    let done = view
        .results
        .ok_or_else(|| results_unavailable(&view.status))?;
    let offset = decode_cursor(&id, params.cursor.as_deref(), done.details.len())?;
    let end = offset.saturating_add(size).min(done.details.len());
    Ok(Json(AsyncUserDetailsQueryResponse {
        user_details: regroup(&done.details[offset..end]),
        cursor: (end < done.details.len()).then(|| encode_cursor(&id, end)),
        data_availability_date: Some(format_instant(done.data_availability)),
    }))
}

/// One detail per user (first appearance first) from one-record details.
fn regroup(records: &[UserDetail]) -> Vec<UserDetail> {
    let mut out: Vec<UserDetail> = Vec::new();
    for r in records {
        match out.iter_mut().find(|d| d.user_id == r.user_id) {
            Some(d) => {
                d.primary_presence
                    .extend(r.primary_presence.iter().cloned());
                d.routing_status.extend(r.routing_status.iter().cloned());
            }
            None => out.push(r.clone()),
        }
    }
    out
}

pub async fn details_availability(
    State(state): State<Arc<AppState>>,
) -> Json<DataAvailabilityResponse> {
    Json(DataAvailabilityResponse {
        data_availability_date: format_instant(state.data_availability()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionParams {
    deactivated: Option<String>,
    #[serde(rename = "divisionId")]
    _division_id: Option<String>,
    #[serde(rename = "localeCode")]
    _locale_code: Option<String>,
}

/// `OrganizationPresenceDefinitionEntityListing`: unpaged, the active definitions by default.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionListing {
    total: usize,
    entities: Vec<PresenceDefinition>,
    self_uri: String,
}

/// The newer presence definitions listing (`type` System/User, `OnQueue` spelling). Every
/// synthetic definition is active, so `deactivated=true` lists none.
pub async fn presence_definitions_v2(
    State(state): State<Arc<AppState>>,
    GenesysQuery(params): GenesysQuery<DefinitionParams>,
) -> Result<Json<DefinitionListing>, ApiError> {
    let deactivated = match params.deactivated.as_deref().map(str::to_ascii_lowercase) {
        None => false,
        Some(v) if v == "false" => false,
        Some(v) if v == "true" => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "deactivated must be TRUE or FALSE, not `{other}`."
            )));
        }
    };
    let entities: Vec<PresenceDefinition> = state
        .centre
        .presence_definitions_v2()
        .into_iter()
        .filter(|d| d.deactivated == deactivated)
        .collect();
    Ok(Json(DefinitionListing {
        total: entities.len(),
        entities,
        self_uri: PRESENCE_DEFINITIONS_V2_PATH.to_string(),
    }))
}
