//! `/healthz`: the process answers. `/readyz`: the store opens and reads.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::problem::Problem;
use crate::state::AppState;

/// The process is up
#[utoipa::path(get, path = "/healthz", security(), responses((status = 200, description = "Up")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The store opens and reads
#[utoipa::path(
    get,
    path = "/readyz",
    security(),
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "The store cannot be read", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let datasets = state
        .read(|c| {
            c.dataset_count()
                .map_err(|e| Problem::unavailable(format!("the store cannot be read: {e}")))
        })
        .await?;
    Ok(Json(json!({"status": "ready", "datasets": datasets})))
}
