//! `/healthz`: the process answers. `/readyz`: the store opens and reads.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::problem::Problem;
use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let datasets = state
        .read(|c| {
            c.dataset_count()
                .map_err(|e| Problem::unavailable(format!("the store cannot be read: {e}")))
        })
        .await?;
    Ok(Json(json!({"status": "ready", "datasets": datasets})))
}
