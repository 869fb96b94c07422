//! `GET /v1/report`: the figures people read for a range — offered, answered, abandoned,
//! average handle/talk/wait/ACW (sum / count) and service level (numerator / denominator) —
//! in total and per queue, with `complete_through` so a reader knows whether they are final.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use genesys::interval::format_instant;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use warehouse::read::{Cell, OutputColumn};

use crate::gzip;
use crate::params::Params;
use crate::params::{BAD_PARAMETER_DOC, RangeQuery};
use crate::problem::Problem;
use crate::reads::CachedBody;
use crate::routes::openapi::URI_TOO_LONG;
use crate::routes::rows::{cached_json, prepare};
use crate::state::AppState;

const PARAMETERS: &[&str] = &["dataset", "from", "to", "time_zone", "filter"];
const METRICS: &[&str] = &[
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tHandle",
    "tTalk",
    "tWait",
    "tAcw",
    "oServiceLevel",
];
/// Queues (or other groups) reported at most.
const MAX_GROUPS: u64 = 10_000;

/// (figure, column of the rolled-up row it is read from)
const FIGURES: &[(&str, &str)] = &[
    ("offered", "n_offered"),
    ("answered", "t_answered_count"),
    ("abandoned", "t_abandon_count"),
    ("avg_handle_ms", "t_handle_avg_ms"),
    ("avg_talk_ms", "t_talk_avg_ms"),
    ("avg_wait_ms", "t_wait_avg_ms"),
    ("avg_acw_ms", "t_acw_avg_ms"),
    ("service_level", "o_service_level_ratio"),
    ("service_level_numerator", "o_service_level_numerator"),
    ("service_level_denominator", "o_service_level_denominator"),
];

fn figures(columns: &[OutputColumn], row: &[Cell], keep: &[&str]) -> Value {
    let cell = |name: &str| {
        columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| row.get(i))
    };
    let mut out = Map::new();
    for name in keep {
        if let Some(value) = cell(name) {
            out.insert(name.to_string(), json!(value));
        }
    }
    for (figure, column) in FIGURES {
        out.insert(
            figure.to_string(),
            cell(column).map_or(Value::Null, |v| json!(v)),
        );
    }
    let number = |name: &str| match cell(name) {
        Some(Cell::Integer(i)) => Some(*i as f64),
        Some(Cell::Real(r)) => Some(*r),
        _ => None,
    };
    let rate = |part: &str| match (number(part), number("n_offered")) {
        (Some(p), Some(o)) if o > 0.0 => json!(p / o),
        _ => Value::Null,
    };
    out.insert("answer_rate".into(), rate("t_answered_count"));
    out.insert("abandon_rate".into(), rate("t_abandon_count"));
    Value::Object(out)
}

/// Totals and per-queue figures for a range, with complete_through
#[utoipa::path(
    get,
    path = "/v1/report",
    params(("dataset" = String, Query), RangeQuery),
    responses(
        (status = 200, description = "Report", body = Report),
        (status = 400, description = BAD_PARAMETER_DOC, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dataset", body = Problem, content_type = "application/problem+json"),
        (status = 414, description = URI_TOO_LONG),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let params = Params::parse(raw.as_deref(), PARAMETERS)?;
    let dataset = params
        .one("dataset")?
        .ok_or_else(|| Problem::bad_parameter("dataset", "is required"))?
        .to_string();
    let key = format!("report?{}", raw.unwrap_or_default());
    let reads = state.reads.clone();
    let (_, response) = cached_json(&reads, key, gzip::accepts_gzip(&headers), || async move {
        let body = compute(&state, dataset, params).await?;
        Ok(CachedBody {
            body: Bytes::from(body.to_string()),
            rows: 0,
        })
    })
    .await?;
    Ok(response)
}

async fn compute(state: &AppState, dataset: String, params: Params) -> Result<Value, Problem> {
    state
        .read(move |c| {
            let mut prepared = prepare(c, &dataset, &params)?;
            let spec = prepared.info.spec.clone();
            prepared.selection.metrics = METRICS
                .iter()
                .filter(|m| spec.metrics.iter().any(|x| x == *m))
                .map(|m| m.to_string())
                .collect();
            let (start, end) = match (prepared.segments.len(), prepared.segments.is_empty()) {
                (_, true) => (None, None),
                (n, false) => (
                    Some(prepared.segments.bounds(0).0),
                    Some(prepared.segments.bounds(n - 1).1),
                ),
            };
            // One bucket over the whole range: totals, then per queue.
            let range = (start, end);
            prepared.selection.rollup = true;
            prepared.selection.names = true;
            let read_all = |selection: &warehouse::read::Selection| -> Result<_, Problem> {
                match range {
                    (Some(s), Some(e)) => Ok(selection.read(c, (s, e), 0, MAX_GROUPS)?),
                    _ => Ok(Vec::new()),
                }
            };
            prepared.selection.dimensions = Vec::new();
            let total_columns = prepared.selection.columns();
            let totals = read_all(&prepared.selection)?;
            let has_queue = spec.dimensions.iter().any(|d| d == "queueId");
            let mut groups = Vec::new();
            if has_queue {
                prepared.selection.dimensions = vec!["queueId".into()];
                let columns = prepared.selection.columns();
                for row in read_all(&prepared.selection)? {
                    groups.push(figures(&columns, &row, &["queue_id", "queue_name"]));
                }
            }
            let complete_through = prepared.info.complete_through;
            let is_final = match (complete_through, end) {
                (Some(mark), Some(end)) => end <= mark,
                _ => false,
            };
            Ok(json!({
                "dataset": spec.name,
                "from": start.map(format_instant),
                "to": end.map(format_instant),
                "complete_through": complete_through.map(format_instant),
                "final": is_final,
                "totals": totals.first().map_or_else(
                    || figures(&[], &[], &[]),
                    |row| figures(&total_columns, row, &[]),
                ),
                "groups": groups,
            }))
        })
        .await
}

/// The body of `GET /v1/report` (built by `report::report`).
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
pub struct Report {
    dataset: String,
    from: Option<String>,
    to: Option<String>,
    complete_through: Option<String>,
    /// to <= complete_through: the figures will not change
    #[schema(rename = "final")]
    is_final: bool,
    totals: Figures,
    groups: Vec<Figures>,
}

#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "describes a body its handler builds as JSON by hand"
)]
struct Figures {
    offered: Option<i64>,
    answered: Option<i64>,
    abandoned: Option<i64>,
    avg_handle_ms: Option<f64>,
    avg_talk_ms: Option<f64>,
    avg_wait_ms: Option<f64>,
    avg_acw_ms: Option<f64>,
    service_level: Option<f64>,
    answer_rate: Option<f64>,
    abandon_rate: Option<f64>,
}
