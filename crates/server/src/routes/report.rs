//! `GET /v1/report`: the figures people read for a range — offered, answered, abandoned,
//! average handle/talk/wait/ACW (sum / count) and service level (numerator / denominator);
//! for an agent status dataset, hours on queue, interacting and idle, occupancy and
//! utilisation (from summed milliseconds) — in total and per queue (or, for a dataset grouped
//! by agent and not by queue, per agent), with `complete_through` so a reader knows whether
//! they are final.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use genesys::interval::format_instant;
use genesys::users_catalog::{AGENT_ROUTING_STATUS, SYSTEM_PRESENCE};
use serde::Serialize;
use utoipa::ToSchema;
use warehouse::derived::Operand;
use warehouse::kpi::Figure;
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
    SYSTEM_PRESENCE,
    AGENT_ROUTING_STATUS,
];
/// Queues (or agents) reported at most; a range with more is refused, never cut short.
const MAX_GROUPS: u64 = 50_000;

/// The body of `GET /v1/report`. Fields are in name order, as the body always spelled them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Report {
    #[schema(format = DateTime)]
    pub complete_through: Option<String>,
    pub dataset: String,
    /// to <= complete_through: the figures will not change.
    #[serde(rename = "final")]
    #[schema(rename = "final")]
    pub is_final: bool,
    /// The range's start (inclusive), whole stored buckets.
    #[schema(format = DateTime)]
    pub from: Option<String>,
    /// One per queue, when the dataset is grouped by queue; else one per agent, when it is
    /// grouped by agent.
    pub groups: Vec<Figures>,
    /// The range's end (exclusive).
    #[schema(format = DateTime)]
    pub to: Option<String>,
    pub totals: Figures,
}

/// The contact-centre figures of a range, summed before any average or ratio is taken.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Figures {
    /// abandoned / offered.
    pub abandon_rate: Option<f64>,
    pub abandoned: Option<i64>,
    /// answered / offered.
    pub answer_rate: Option<f64>,
    pub answered: Option<i64>,
    pub avg_acw_ms: Option<f64>,
    pub avg_handle_ms: Option<f64>,
    pub avg_talk_ms: Option<f64>,
    pub avg_wait_ms: Option<f64>,
    pub offered: Option<i64>,
    /// A group's queue (absent from the totals; null for conversations without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub queue_id: Option<Option<String>>,
    /// The queue's name from the directory, when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub queue_name: Option<Option<String>>,
    pub service_level: Option<f64>,
    pub service_level_denominator: Option<i64>,
    pub service_level_numerator: Option<i64>,
    /// A group's agent, for a dataset grouped by agent and not by queue (absent otherwise;
    /// null for rows without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub user_id: Option<Option<String>>,
    /// The agent's name from the directory, when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub user_name: Option<Option<String>>,
    /// Agent time, for a dataset of users aggregates (absent otherwise).
    #[serde(flatten)]
    pub agent: AgentTime,
}

/// An agent status dataset's figures, each from the range's summed milliseconds (a status
/// never entered counts as none), as its `_kpi` feeds compute them.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct AgentTime {
    /// Hours in any system presence but Offline (with tSystemPresence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logged_in_hours: Option<f64>,
    /// Hours in system presence On Queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_queue_hours: Option<f64>,
    /// on queue / logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
    /// Hours in routing status Interacting (with tAgentRoutingStatus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interacting_hours: Option<f64>,
    /// Hours in routing status Idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_hours: Option<f64>,
    /// interacting / (interacting + idle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<f64>,
}

/// A rolled-up row's cells, found by column name.
struct Named<'a> {
    columns: &'a [OutputColumn],
    row: &'a [Cell],
}

impl Named<'_> {
    fn cell(&self, name: &str) -> Option<&Cell> {
        let i = self.columns.iter().position(|c| c.name == name)?;
        self.row.get(i)
    }

    fn integer(&self, name: &str) -> Option<i64> {
        match self.cell(name)? {
            Cell::Integer(i) => Some(*i),
            _ => None,
        }
    }

    fn real(&self, name: &str) -> Option<f64> {
        match self.cell(name)? {
            Cell::Real(r) => Some(*r),
            Cell::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    fn operand(&self, name: &str) -> Operand {
        match self.cell(name) {
            Some(Cell::Integer(i)) => Operand::Integer(*i),
            Some(Cell::Real(r)) => Operand::Real(*r),
            _ => Operand::Null,
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.cell(name)? {
            Cell::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// `part` / offered, when anything was offered.
    fn rate(&self, part: &str) -> Option<f64> {
        match (self.real(part), self.real("n_offered")) {
            (Some(p), Some(offered)) if offered > 0.0 => Some(p / offered),
            _ => None,
        }
    }
}

/// The agent figures from the range's sums, each by the formula its `_kpi` feed uses.
fn agent_time(named: &Named<'_>, formulas: &[Figure]) -> AgentTime {
    let figure = |name: &str| {
        let figure = formulas.iter().find(|f| f.name == name)?;
        figure.formula.evaluate(|column| named.operand(column))
    };
    AgentTime {
        logged_in_hours: figure("logged_in_hours"),
        on_queue_hours: figure("on_queue_hours"),
        utilization: figure("utilization"),
        interacting_hours: figure("interacting_hours"),
        idle_hours: figure("idle_hours"),
        occupancy: figure("occupancy"),
    }
}

/// Which dimension the report's groups are by: the queue, else (for a dataset grouped by
/// agent and not by queue) the agent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupBy {
    Totals,
    Queue,
    Agent,
}

impl GroupBy {
    fn of(spec: &warehouse::TableSpec) -> Self {
        let has = |d: &str| spec.dimensions.iter().any(|x| x == d);
        match (has("queueId"), has("userId")) {
            (true, _) => GroupBy::Queue,
            (false, true) => GroupBy::Agent,
            (false, false) => GroupBy::Totals,
        }
    }

    fn dimension(self) -> Option<&'static str> {
        match self {
            GroupBy::Totals => None,
            GroupBy::Queue => Some("queueId"),
            GroupBy::Agent => Some("userId"),
        }
    }
}

fn figures(columns: &[OutputColumn], row: &[Cell], group: GroupBy, formulas: &[Figure]) -> Figures {
    let named = Named { columns, row };
    let (with_queue, with_agent) = (group == GroupBy::Queue, group == GroupBy::Agent);
    Figures {
        abandon_rate: named.rate("t_abandon_count"),
        abandoned: named.integer("t_abandon_count"),
        answer_rate: named.rate("t_answered_count"),
        answered: named.integer("t_answered_count"),
        avg_acw_ms: named.real("t_acw_avg_ms"),
        avg_handle_ms: named.real("t_handle_avg_ms"),
        avg_talk_ms: named.real("t_talk_avg_ms"),
        avg_wait_ms: named.real("t_wait_avg_ms"),
        offered: named.integer("n_offered"),
        queue_id: with_queue.then(|| named.text("queue_id")),
        queue_name: with_queue.then(|| named.text("queue_name")),
        service_level: named.real("o_service_level_ratio"),
        service_level_denominator: named.integer("o_service_level_denominator"),
        service_level_numerator: named.integer("o_service_level_numerator"),
        user_id: with_agent.then(|| named.text("user_id")),
        user_name: with_agent.then(|| named.text("user_name")),
        agent: agent_time(&named, formulas),
    }
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
            body: Bytes::from(
                serde_json::to_vec(&body).map_err(|e| Problem::internal(e.to_string()))?,
            ),
            rows: 0,
        })
    })
    .await?;
    Ok(response)
}

async fn compute(state: &AppState, dataset: String, params: Params) -> Result<Report, Problem> {
    state
        .read(move |c| {
            let mut prepared = prepare(c, &dataset, &params)?;
            if prepared.selection.kpi.is_some() {
                return Err(Problem::bad_parameter(
                    "dataset",
                    format!(
                        "`{dataset}` is a KPI feed; the report sums a dataset's stats (dataset={})",
                        prepared.info.spec.name
                    ),
                ));
            }
            let spec = prepared.info.spec.clone();
            if let Some(records) = spec.record_kind() {
                return Err(Problem::bad_parameter(
                    "dataset",
                    format!(
                        "`{dataset}` holds {}, one row each; the report sums an aggregates dataset's stats (queue_performance, agent_performance, agent_status, …)",
                        records.plural()
                    ),
                ));
            }
            let formulas = warehouse::kpi::figures(&spec);
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
                    (Some(s), Some(e)) => Ok(selection.read(c, (s, e), 0, MAX_GROUPS + 1)?),
                    _ => Ok(Vec::new()),
                }
            };
            prepared.selection.dimensions = Vec::new();
            let total_columns = prepared.selection.columns();
            let totals = read_all(&prepared.selection)?;
            let group_by = GroupBy::of(&spec);
            let mut groups = Vec::new();
            if let Some(dimension) = group_by.dimension() {
                prepared.selection.dimensions = vec![dimension.into()];
                let columns = prepared.selection.columns();
                let rows = read_all(&prepared.selection)?;
                if rows.len() as u64 > MAX_GROUPS {
                    return Err(Problem::bad_parameter(
                        "dataset",
                        format!(
                            "`{}` has more than {MAX_GROUPS} groups by {dimension} in the range, more than a report lists; read /v1/datasets/{}/rows?group_by={dimension} instead",
                            spec.name, spec.name
                        ),
                    ));
                }
                for row in rows {
                    groups.push(figures(&columns, &row, group_by, &formulas));
                }
            }
            let complete_through = prepared.info.complete_through;
            let is_final = match (complete_through, end) {
                (Some(mark), Some(end)) => end <= mark,
                _ => false,
            };
            Ok(Report {
                complete_through: complete_through.map(format_instant),
                dataset: spec.name,
                is_final,
                from: start.map(format_instant),
                groups,
                to: end.map(format_instant),
                totals: totals.first().map_or_else(Figures::default, |row| {
                    figures(&total_columns, row, GroupBy::Totals, &formulas)
                }),
            })
        })
        .await
}
