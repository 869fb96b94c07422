//! `GET /v1/datasets`: every dataset with its columns, bucket shape and freshness. The body is
//! built from the types below, so `/openapi.json` describes exactly what is sent.

use axum::Json;
use axum::extract::State;
use genesys::interval::format_instant;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use warehouse::KpiFeed;
use warehouse::read::{DatasetInfo, OutputColumn, RunInfo, Selection};

use super::rows;

use crate::problem::Problem;
use crate::state::AppState;

/// The body of `GET /v1/datasets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Datasets {
    pub datasets: Vec<DatasetEntry>,
}

/// One dataset. Fields are in name order, as the body always spelled them.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetEntry {
    /// Every column a row of the dataset has, with its meaning.
    pub columns: Vec<DatasetColumn>,
    /// Everything before this instant is stored and settled.
    #[schema(format = DateTime)]
    pub complete_through: Option<String>,
    /// Genesys dimensions the rows are grouped by.
    pub dimensions: Vec<String>,
    /// Bucket length, ISO-8601 (e.g. PT15M).
    pub granularity: String,
    /// Seconds from complete_through to now.
    pub lag_seconds: Option<f64>,
    /// The store's latest run (of any dataset).
    pub last_run: Option<Run>,
    #[schema(format = DateTime)]
    pub last_written_at: Option<String>,
    pub links: DatasetLinks,
    /// For a KPI feed (`<dataset>_kpi`, `<dataset>_daily_kpi`): the dataset whose stored sums
    /// its figures are computed from.
    pub feed_of: Option<String>,
    /// Genesys metrics kept (for a KPI feed, its dataset's, which its figures are made from).
    pub metrics: Vec<String>,
    pub name: String,
    /// Rows stored.
    pub row_count: Option<u64>,
    /// IANA zone the buckets are cut in.
    pub time_zone: String,
}

/// A column as `/v1/datasets` describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetColumn {
    pub meaning: String,
    pub name: String,
    /// How it is made: dimension, name, count, sum, min, max, numerator, denominator, target,
    /// average or ratio; in a KPI feed also date and kpi (a figure, its formula in `meaning`).
    pub role: &'static str,
    /// The Genesys dimension or metric it comes from.
    pub source: Option<String>,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetLinks {
    /// The dataset's rows endpoint.
    pub rows: String,
}

/// A sync run as the store recorded it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub command: String,
    pub error: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    pub id: i64,
    pub requests: i64,
    pub rows: i64,
    /// A restatement's rows that Genesys had corrected since they were pulled (added, removed
    /// or other values); null for other runs.
    pub rows_changed: Option<i64>,
    #[schema(format = DateTime)]
    pub started_at: String,
    /// running, ok, partial, failed or interrupted.
    pub status: &'static str,
    pub windows: i64,
}

impl From<&RunInfo> for Run {
    fn from(run: &RunInfo) -> Self {
        Run {
            command: run.command.clone(),
            error: run.error.clone(),
            finished_at: run.finished_at.clone(),
            id: run.id,
            requests: run.requests,
            rows: run.rows,
            rows_changed: run.rows_changed,
            started_at: run.started_at.clone(),
            status: run.status.as_str(),
            windows: run.windows,
        }
    }
}

impl From<&OutputColumn> for DatasetColumn {
    fn from(column: &OutputColumn) -> Self {
        DatasetColumn {
            meaning: super::meaning(column),
            name: column.name.clone(),
            role: column.role,
            source: column.source.clone(),
            kind: column.kind.as_str(),
        }
    }
}

fn entry(
    info: &DatasetInfo,
    feed: Option<KpiFeed>,
    last_run: Option<&RunInfo>,
    now: Timestamp,
) -> DatasetEntry {
    let spec = &info.spec;
    let mut selection = Selection::all(spec);
    selection.kpi = feed;
    let (name, granularity, row_count) = match feed {
        None => (
            spec.name.clone(),
            spec.definition.granularity.to_string(),
            info.rows,
        ),
        // One row per stored row.
        Some(KpiFeed::Buckets) => (
            spec.kpi_view_name(),
            spec.definition.granularity.to_string(),
            info.rows,
        ),
        Some(KpiFeed::Days) => (spec.daily_kpi_view_name(), "P1D".to_string(), None),
    };
    DatasetEntry {
        columns: selection.columns().iter().map(Into::into).collect(),
        complete_through: info.complete_through.map(format_instant),
        dimensions: spec.dimensions.clone(),
        feed_of: feed.map(|_| spec.name.clone()),
        granularity,
        lag_seconds: super::lag_seconds(info.complete_through, now),
        last_run: last_run.map(Into::into),
        last_written_at: info.last_written_at.map(format_instant),
        links: DatasetLinks {
            rows: format!("/v1/datasets/{name}/rows"),
        },
        metrics: spec.metrics.clone(),
        name,
        row_count,
        time_zone: spec.definition.time_zone.name().to_string(),
    }
}

/// Every dataset, each followed by its KPI feeds (<dataset>_kpi, <dataset>_daily_kpi): columns with meanings, granularity, time zone, complete_through, last run, row count
#[utoipa::path(
    get,
    path = "/v1/datasets",
    responses((status = 200, description = "Datasets", body = Datasets))
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<Datasets>, Problem> {
    let (datasets, runs) = state
        .read(|c| {
            let mut datasets = Vec::new();
            for info in c.datasets()? {
                let days = rows::feeds::has_days(c, &info)?;
                datasets.push((info, days));
            }
            let runs = c.recent_runs(1)?;
            Ok((datasets, runs))
        })
        .await?;
    let now = Timestamp::now();
    let mut entries = Vec::new();
    for (info, days) in &datasets {
        // Each dataset, then its KPI feeds.
        entries.push(entry(info, None, runs.first(), now));
        if info.spec.has_kpi_feeds() {
            entries.push(entry(info, Some(KpiFeed::Buckets), runs.first(), now));
        }
        if *days {
            entries.push(entry(info, Some(KpiFeed::Days), runs.first(), now));
        }
    }
    let datasets = entries;
    Ok(Json(Datasets { datasets }))
}
