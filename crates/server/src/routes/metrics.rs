//! `GET /metrics`: Prometheus text (requests, latencies, rows served, watermark lag), then the
//! series another part of the process adds (the sync's, when it runs alongside).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

use crate::problem::Problem;
use crate::state::AppState;

/// Prometheus metrics: requests, latencies, rows served, watermark lag
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "Prometheus text", content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, Problem> {
    let datasets = state.read(|c| Ok(c.datasets()?)).await?;
    let now = Timestamp::now();
    let lags: Vec<(String, Option<f64>)> = datasets
        .iter()
        .map(|d| {
            (
                d.spec.name.clone(),
                super::lag_seconds(d.complete_through, now),
            )
        })
        .collect();
    let mut text = state.metrics.render(&lags);
    if let Some(extra) = &state.extra_metrics {
        text.push_str(&extra());
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
