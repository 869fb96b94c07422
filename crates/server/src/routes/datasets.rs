//! `GET /v1/datasets`: every dataset with its columns, bucket shape and freshness.

use axum::Json;
use axum::extract::State;
use genesys::interval::format_instant;
use jiff::Timestamp;
use serde_json::{Value, json};
use warehouse::read::{DatasetInfo, RunInfo, Selection};

use crate::problem::Problem;
use crate::state::AppState;

pub fn run_json(run: &RunInfo) -> Value {
    json!({
        "id": run.id,
        "command": run.command,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "status": run.status.as_str(),
        "windows": run.windows,
        "rows": run.rows,
        "requests": run.requests,
        "error": run.error,
    })
}

fn dataset_json(info: &DatasetInfo, last_run: Option<&RunInfo>, now: Timestamp) -> Value {
    let columns: Vec<Value> = Selection::all(&info.spec)
        .columns()
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind.as_str(),
                "role": c.role,
                "source": c.source,
                "meaning": super::meaning(c),
            })
        })
        .collect();
    json!({
        "name": info.spec.name,
        "granularity": info.spec.definition.granularity.to_string(),
        "time_zone": info.spec.definition.time_zone.name(),
        "dimensions": info.spec.dimensions,
        "metrics": info.spec.metrics,
        "complete_through": info.complete_through.map(format_instant),
        "lag_seconds": super::lag_seconds(info.complete_through, now),
        "last_written_at": info.last_written_at.map(format_instant),
        "last_run": last_run.map(run_json),
        "row_count": info.rows,
        "columns": columns,
        "links": {"rows": format!("/v1/datasets/{}/rows", info.spec.name)},
    })
}

pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, Problem> {
    let (datasets, runs) = state
        .read(|c| {
            let datasets = c.datasets()?;
            let runs = c.recent_runs(1)?;
            Ok((datasets, runs))
        })
        .await?;
    let now = Timestamp::now();
    let items: Vec<Value> = datasets
        .iter()
        .map(|d| dataset_json(d, runs.first(), now))
        .collect();
    Ok(Json(json!({"datasets": items})))
}
