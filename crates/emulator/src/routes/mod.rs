//! Every HTTP route: the Genesys surface behind the gateway middleware, and the admin API under
//! its own prefix with neither auth nor rate limit.

pub mod admin;
pub mod aggregates;
pub mod auth;
pub mod details;
pub mod directory;
pub mod users;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use genesys::aggregates::{AGGREGATES_JOBS_PATH, AGGREGATES_QUERY_PATH};
use genesys::auth::TOKEN_PATH;
use genesys::details::{DETAILS_AVAILABILITY_PATH, DETAILS_JOBS_PATH, DETAILS_QUERY_PATH};
use genesys::directory::{QUEUES_PATH, USERS_PATH, WRAPUP_CODES_PATH};
use genesys::jobs::{AsyncQueryStatus, JobState};

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    let genesys = Router::new()
        .route(TOKEN_PATH, post(auth::token))
        .route(AGGREGATES_QUERY_PATH, post(aggregates::query))
        .route(AGGREGATES_JOBS_PATH, post(aggregates::submit))
        .route(
            &format!("{AGGREGATES_JOBS_PATH}/{{id}}"),
            get(aggregates::status).delete(aggregates::cancel),
        )
        .route(
            &format!("{AGGREGATES_JOBS_PATH}/{{id}}/results"),
            get(aggregates::results),
        )
        .route(DETAILS_QUERY_PATH, post(details::query))
        .route(DETAILS_JOBS_PATH, post(details::submit))
        .route(DETAILS_AVAILABILITY_PATH, get(details::availability))
        .route(
            &format!("{DETAILS_JOBS_PATH}/{{id}}"),
            get(details::status).delete(details::cancel),
        )
        .route(
            &format!("{DETAILS_JOBS_PATH}/{{id}}/results"),
            get(details::results),
        )
        .route(users::USERS_AGGREGATES_QUERY_PATH, post(users::query))
        .route(users::USERS_AGGREGATES_JOBS_PATH, post(users::submit))
        .route(
            &format!("{}/{{id}}", users::USERS_AGGREGATES_JOBS_PATH),
            get(users::status).delete(users::cancel),
        )
        .route(
            &format!("{}/{{id}}/results", users::USERS_AGGREGATES_JOBS_PATH),
            get(users::results),
        )
        .route(users::USERS_DETAILS_QUERY_PATH, post(users::details_query))
        .route(users::USERS_DETAILS_JOBS_PATH, post(users::details_submit))
        .route(
            users::USERS_DETAILS_AVAILABILITY_PATH,
            get(users::details_availability),
        )
        .route(
            &format!("{}/{{id}}", users::USERS_DETAILS_JOBS_PATH),
            get(users::details_status).delete(users::details_cancel),
        )
        .route(
            &format!("{}/{{id}}/results", users::USERS_DETAILS_JOBS_PATH),
            get(users::details_results),
        )
        .route(
            users::PRESENCE_DEFINITIONS_PATH,
            get(users::presence_definitions),
        )
        .route(
            users::PRESENCE_DEFINITIONS_V2_PATH,
            get(users::presence_definitions_v2),
        )
        .route(QUEUES_PATH, get(directory::queues))
        .route(USERS_PATH, get(directory::users))
        .route(WRAPUP_CODES_PATH, get(directory::wrapup_codes))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::gateway::gateway,
        ));
    Router::new()
        .nest(admin::PREFIX, admin::router())
        .merge(genesys)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource was not found.")
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        405,
        "method.not.allowed",
        format!("HTTP method {method} is not supported by this resource."),
    )
}

/// Runs a CPU-heavy analytics call off the async workers; a panic in it is a 500, not a dropped
/// connection.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "Analytics computation panicked.");
        ApiError::internal("The server encountered an internal error.")
    })
}

/// 202 while the job runs, 200 once it has settled (the API documents both).
/// `GET …/jobs/{id}` for either job family.
pub fn job_status<R>(
    jobs: &crate::jobs::JobStore<R>,
    id: &str,
) -> Result<Response, crate::error::ApiError> {
    let view = jobs
        .view(id, std::time::Instant::now())
        .ok_or_else(|| crate::jobs::unknown_job(id))?;
    Ok(job_status_response(view.status))
}

/// `DELETE …/jobs/{id}` for either job family.
pub fn cancel_job<R>(
    jobs: &crate::jobs::JobStore<R>,
    id: &str,
) -> Result<StatusCode, crate::error::ApiError> {
    if jobs.cancel(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(crate::jobs::unknown_job(id))
    }
}

pub fn job_status_response(status: AsyncQueryStatus) -> Response {
    let code = match status.state {
        JobState::Queued | JobState::Pending => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    (code, Json(status)).into_response()
}
