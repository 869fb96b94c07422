//! The KPI feeds, in one place: `<dataset>_kpi` (the stored buckets) and `<dataset>_daily_kpi`
//! (one row per local day and group, from the `<dataset>__daily` table), their columns, what
//! each means and the formula that makes it. Every backend's DDL renders its views from here,
//! and the BI server describes them from here, so a figure is defined once.
//!
//! Every figure is computed from sums and counts (never an average of averages): a row of
//! either relation holds the sums of its bucket or day, and a reader rolling rows up further
//! sums the same stored columns. Averages are in seconds, rates and service level fractions.

use crate::derived::{Operand, ratio};
use crate::render::Dialect;
use crate::schema::TableSpec;

/// What ends the name of a dataset's KPI relation at its stored granularity.
pub const KPI_SUFFIX: &str = "_kpi";
/// What ends the name of a dataset's per-local-day KPI relation.
pub const DAILY_KPI_SUFFIX: &str = "_daily_kpi";

/// `<dataset>_kpi`.
pub fn kpi_name(dataset: &str) -> String {
    format!("{dataset}{KPI_SUFFIX}")
}

/// `<dataset>_daily_kpi`.
pub fn daily_kpi_name(dataset: &str) -> String {
    format!("{dataset}{DAILY_KPI_SUFFIX}")
}

/// Two datasets whose KPI relations would share a name: `a`'s daily one and `a_daily`'s
/// (`a_daily_kpi` both). Returns the other name `dataset` clashes with, if `known` holds it.
pub fn clashing_name<'a>(
    dataset: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let longer = format!("{dataset}_daily");
    let shorter = dataset.strip_suffix("_daily");
    known
        .into_iter()
        .find(|other| *other == longer || Some(*other) == shorter)
        .map(str::to_string)
}

/// The refusal of `dataset`, whose KPI feeds would share a name with dataset `other`'s.
pub(crate) fn name_clash(dataset: &str, other: String) -> crate::StoreError {
    let base = if other.len() < dataset.len() {
        other.as_str()
    } else {
        dataset
    };
    crate::StoreError::KpiNameClash {
        feed: daily_kpi_name(base),
        dataset: dataset.to_string(),
        other,
    }
}

/// How a figure is made from a row's stored columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    /// A count, as stored: `column`.
    Count(String),
    /// A fraction: `1.0 * numerator / NULLIF(denominator, 0)` (null when nothing was counted).
    Ratio {
        numerator: String,
        denominator: String,
    },
    /// An average in seconds: `1.0 * sum_ms / NULLIF(count, 0) / 1000.0`. Divided by 1000 last,
    /// so it is exactly `/v1/report`'s `avg_*_ms` (sum / count) divided by 1000.
    Seconds { sum_ms: String, count: String },
    /// Milliseconds in hours: `(a + b …) / 3600000.0`, an absent column counting as none (the
    /// users aggregates leave out a status an agent was never in).
    Hours(Vec<String>),
    /// A share of time: `(part …) / NULLIF(whole …, 0)`, absent columns counting as none.
    Share {
        part: Vec<String>,
        whole: Vec<String>,
    },
}

/// Milliseconds in an hour.
const HOUR_MS: &str = "3600000";

/// SQL's `a + b`: whole numbers stay whole unless the sum overflows, then it is real; null
/// makes null.
fn sql_add(a: Operand, b: Operand) -> Operand {
    match (a, b) {
        (Operand::Integer(x), Operand::Integer(y)) => x
            .checked_add(y)
            .map_or(Operand::Real(x as f64 + y as f64), Operand::Integer),
        (x, y) => match (x.real(), y.real()) {
            (Some(x), Some(y)) => Operand::Real(x + y),
            _ => Operand::Null,
        },
    }
}

/// Columns of milliseconds added up, an absent one as zero, parenthesised for any operator.
fn total(d_operand: &dyn Fn(&str) -> String, columns: &[String]) -> String {
    let parts: Vec<String> = columns
        .iter()
        .map(|c| format!("coalesce({}, 0)", d_operand(c)))
        .collect();
    format!("({})", parts.join(" + "))
}

/// The same sum for people: `a + b`, parenthesised when there are several.
fn total_text(columns: &[String]) -> String {
    match columns {
        [one] => one.clone(),
        many => format!("({})", many.join(" + ")),
    }
}

impl Formula {
    /// The stored columns it reads, in order.
    pub fn operands(&self) -> Vec<&str> {
        match self {
            Formula::Count(column) => vec![column],
            Formula::Ratio {
                numerator,
                denominator,
            } => vec![numerator, denominator],
            Formula::Seconds { sum_ms, count } => vec![sum_ms, count],
            Formula::Hours(columns) => columns.iter().map(String::as_str).collect(),
            Formula::Share { part, whole } => {
                part.iter().chain(whole).map(String::as_str).collect()
            }
        }
    }

    /// Whether the figure is a whole number (a count) rather than a real.
    pub fn is_integer(&self) -> bool {
        matches!(self, Formula::Count(_))
    }

    /// The formula as SQLite's SQL, each operand read by `operand` (quoted as stored, or
    /// summed).
    pub fn sql(&self, operand: impl Fn(&str) -> String) -> String {
        self.render(&crate::sqlite::render::Sqlite, operand)
    }

    /// The formula as SQL of dialect `d`: each ratio a quotient in double precision, so every
    /// backend gives the same doubles (the division by 1000 last, as `/v1/report` does).
    pub(crate) fn render(&self, d: &dyn Dialect, operand: impl Fn(&str) -> String) -> String {
        match self {
            Formula::Count(column) => operand(column),
            Formula::Ratio {
                numerator,
                denominator,
            } => d.quotient(&operand(numerator), &operand(denominator)),
            Formula::Seconds { sum_ms, count } => {
                format!("{} / 1000.0", d.quotient(&operand(sum_ms), &operand(count)))
            }
            Formula::Hours(columns) => d.quotient(&total(&operand, columns), HOUR_MS),
            Formula::Share { part, whole } => {
                d.quotient(&total(&operand, part), &total(&operand, whole))
            }
        }
    }

    /// The figure from its operands' values (`value` gives a column's), as its SQL computes
    /// it, bit for bit: `/v1/report` figures its sums this way, so a report and a `_kpi` feed
    /// can't disagree on what a figure means.
    pub fn evaluate(&self, value: impl Fn(&str) -> Operand) -> Option<f64> {
        // `coalesce(a, 0) + coalesce(b, 0) …`, left to right.
        let total = |columns: &[String]| {
            columns.iter().fold(Operand::Integer(0), |sum, c| {
                let term = match value(c) {
                    Operand::Null => Operand::Integer(0),
                    term => term,
                };
                sql_add(sum, term)
            })
        };
        match self {
            Formula::Count(column) => value(column).real(),
            Formula::Ratio {
                numerator,
                denominator,
            } => ratio(value(numerator), value(denominator)),
            Formula::Seconds { sum_ms, count } => {
                ratio(value(sum_ms), value(count)).map(|seconds| seconds / 1000.0)
            }
            Formula::Hours(columns) => ratio(total(columns), Operand::Integer(3_600_000)),
            Formula::Share { part, whole } => ratio(total(part), total(whole)),
        }
    }

    /// The formula for people: `t_handle_sum_ms / t_handle_count / 1000`.
    pub fn text(&self) -> String {
        match self {
            Formula::Count(column) => column.clone(),
            Formula::Ratio {
                numerator,
                denominator,
            } => format!("{numerator} / {denominator}"),
            Formula::Seconds { sum_ms, count } => format!("{sum_ms} / {count} / 1000"),
            Formula::Hours(columns) => format!("{} / {HOUR_MS}", total_text(columns)),
            Formula::Share { part, whole } => {
                format!("{} / {}", total_text(part), total_text(whole))
            }
        }
    }
}

/// One figure of a KPI relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub name: String,
    pub formula: Formula,
    /// What it means, with its formula: the column's description in `$metadata`.
    pub meaning: String,
}

impl Figure {
    /// A figure whose meaning ends with its formula: `meaning (formula).`
    fn new(name: &str, formula: Formula, meaning: &str) -> Self {
        let meaning = format!("{meaning} ({}).", formula.text());
        Self {
            name: name.to_string(),
            formula,
            meaning,
        }
    }
}

/// The name column a dimension gets from its directory, beside its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameColumn {
    /// The dimension's column (`queue_id`).
    pub id_column: String,
    /// The name's column (`queue_name`).
    pub name: String,
    /// The directory table whose `name` it is, by `id`.
    pub directory: &'static str,
    /// What the directory holds, for its meaning (`queue`).
    pub noun: &'static str,
}

/// The directory a dimension's ids are kept in, and what it holds.
pub fn directory_of(dimension: &str) -> Option<(&'static str, &'static str)> {
    match dimension {
        "queueId" => Some(("queues", "queue")),
        "userId" => Some(("users", "agent")),
        "wrapUpCode" => Some(("wrapup_codes", "wrap-up code")),
        genesys::users_catalog::ORGANIZATION_PRESENCE_ID => Some(("presences", "presence")),
        _ => None,
    }
}

/// The name column of a dimension column (`queue_id` → `queue_name`, `wrap_up_code` →
/// `wrap_up_code_name`).
pub fn name_column(id_column: &str) -> String {
    format!("{}_name", id_column.trim_end_matches("_id"))
}

/// The dataset's dimensions that have a directory, with their name columns, in table order.
pub fn name_columns(spec: &TableSpec) -> Vec<NameColumn> {
    spec.dimensions
        .iter()
        .zip(spec.dimension_columns())
        .filter_map(|(dimension, column)| {
            let (directory, noun) = directory_of(dimension)?;
            Some(NameColumn {
                name: name_column(&column),
                id_column: column,
                directory,
                noun,
            })
        })
        .collect()
}

/// The counts: (metric, stored column, figure, meaning).
const COUNTS: &[(&str, &str, &str, &str)] = &[
    ("nOffered", "n_offered", "offered", "Conversations offered"),
    (
        "nConnected",
        "n_connected",
        "connected",
        "Conversations connected",
    ),
    (
        "tAnswered",
        "t_answered_count",
        "answered",
        "Conversations answered",
    ),
    (
        "tAbandon",
        "t_abandon_count",
        "abandoned",
        "Conversations abandoned while waiting",
    ),
    (
        "tHandle",
        "t_handle_count",
        "handled",
        "Conversations handled",
    ),
    (
        "nTransferred",
        "n_transferred",
        "transferred",
        "Conversations transferred",
    ),
];

/// The averages: (metric, column stem, figure, meaning).
const AVERAGES: &[(&str, &str, &str, &str)] = &[
    (
        "tAnswered",
        "t_answered",
        "avg_speed_of_answer_s",
        "Average speed of answer, in seconds",
    ),
    (
        "tHandle",
        "t_handle",
        "avg_handle_s",
        "Average handle time (talk, hold and after-call work), in seconds",
    ),
    (
        "tTalk",
        "t_talk",
        "avg_talk_s",
        "Average talk time, in seconds",
    ),
    (
        "tHeld",
        "t_held",
        "avg_hold_s",
        "Average hold time, in seconds",
    ),
    (
        "tAcw",
        "t_acw",
        "avg_acw_s",
        "Average after-call work, in seconds",
    ),
    (
        "tWait",
        "t_wait",
        "avg_wait_s",
        "Average wait in queue, in seconds",
    ),
    (
        "tAlert",
        "t_alert",
        "avg_alert_s",
        "Average time alerting before answer, in seconds",
    ),
    (
        "tAbandon",
        "t_abandon",
        "avg_abandon_wait_s",
        "Average wait before abandoning, in seconds",
    ),
];

/// The figures a dataset's KPI relations hold, in column order: counts, rates, averages,
/// service level, agent time; each only when the dataset keeps the metrics it is made from.
pub fn figures(spec: &TableSpec) -> Vec<Figure> {
    let has = |metric: &str| spec.metrics.iter().any(|m| m == metric);
    let mut out = Vec::new();
    let mut push = |name: &str, formula: Formula, meaning: &str| {
        out.push(Figure::new(name, formula, meaning));
    };
    for (metric, column, name, meaning) in COUNTS {
        if has(metric) {
            push(name, Formula::Count(column.to_string()), meaning);
        }
    }
    let rates = [
        (
            "tAnswered",
            "t_answered_count",
            "answer_rate",
            "Share of offered conversations answered",
        ),
        (
            "tAbandon",
            "t_abandon_count",
            "abandon_rate",
            "Share of offered conversations abandoned",
        ),
    ];
    for (metric, numerator, name, meaning) in rates {
        if has("nOffered") && has(metric) {
            let formula = Formula::Ratio {
                numerator: numerator.into(),
                denominator: "n_offered".into(),
            };
            push(name, formula, &format!("{meaning}, a fraction from 0 to 1"));
        }
    }
    for (metric, stem, name, meaning) in AVERAGES {
        if has(metric) {
            let formula = Formula::Seconds {
                sum_ms: format!("{stem}_sum_ms"),
                count: format!("{stem}_count"),
            };
            push(name, formula, meaning);
        }
    }
    if has("oServiceLevel") {
        let formula = Formula::Ratio {
            numerator: "o_service_level_numerator".into(),
            denominator: "o_service_level_denominator".into(),
        };
        push(
            "service_level",
            formula,
            "Service level: share of conversations answered within the queue's target, a fraction from 0 to 1",
        );
    }
    out.extend(agent_figures(spec));
    out
}

/// An agent's time, from the users aggregates' presence and routing status columns: hours in
/// each, and the shares contact centres run on. Each from summed milliseconds.
fn agent_figures(spec: &TableSpec) -> Vec<Figure> {
    use genesys::users_catalog::{
        AGENT_ROUTING_STATUS, ORGANIZATION_PRESENCE, SYSTEM_PRESENCE, SYSTEM_PRESENCES,
    };
    let has = |metric: &str| spec.metrics.iter().any(|m| m == metric);
    let presence = |q: &str| genesys::users_catalog::qualifier_column("system_presence", q);
    let routing = |q: &str| genesys::users_catalog::qualifier_column("routing_status", q);
    let logged_in: Vec<String> = SYSTEM_PRESENCES
        .iter()
        .filter(|q| **q != "OFFLINE")
        .map(|q| presence(q))
        .collect();
    let mut out = Vec::new();
    let mut push = |name: &str, formula: Formula, meaning: &str| {
        out.push(Figure::new(name, formula, meaning));
    };
    if has(SYSTEM_PRESENCE) {
        push(
            "logged_in_hours",
            Formula::Hours(logged_in.clone()),
            "Hours logged in: in any system presence but Offline",
        );
        push(
            "on_queue_hours",
            Formula::Hours(vec![presence("ON_QUEUE")]),
            "Hours on queue (system presence On Queue)",
        );
        push(
            "utilization",
            Formula::Share {
                part: vec![presence("ON_QUEUE")],
                whole: logged_in,
            },
            "Utilisation: share of logged-in time on queue, a fraction from 0 to 1",
        );
    }
    if has(AGENT_ROUTING_STATUS) {
        let (interacting, idle) = (routing("INTERACTING"), routing("IDLE"));
        push(
            "interacting_hours",
            Formula::Hours(vec![interacting.clone()]),
            "Hours interacting (routing status Interacting: handling conversations)",
        );
        push(
            "idle_hours",
            Formula::Hours(vec![idle.clone()]),
            "Hours idle on queue, waiting for a conversation (routing status Idle)",
        );
        push(
            "not_responding_hours",
            Formula::Hours(vec![routing("NOT_RESPONDING")]),
            "Hours not responding: alerted and did not answer (routing status Not Responding)",
        );
        push(
            "occupancy",
            Formula::Share {
                part: vec![interacting.clone()],
                whole: vec![interacting, idle],
            },
            "Occupancy: share of routable time spent interacting, a fraction from 0 to 1",
        );
    }
    if has(ORGANIZATION_PRESENCE) {
        push(
            "presence_hours",
            Formula::Hours(vec!["organization_presence_ms".into()]),
            "Hours in the organisation presence",
        );
    }
    out
}

/// The meanings of the columns every KPI relation has besides its figures.
pub mod meaning {
    pub const ID: &str = "Row id (a row of the dataset's stored buckets, or of its per-day table).";
    pub const DATE: &str = "The local day, in the dataset's time zone.";
    pub const INTERVAL_START: &str = "Start of the bucket (inclusive), UTC.";
    pub const INTERVAL_END: &str = "End of the bucket (exclusive), UTC.";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatasetDefinition;

    fn spec(metrics: &[&str], dimensions: &[&str]) -> TableSpec {
        TableSpec {
            name: "q".into(),
            dimensions: dimensions.iter().map(|d| d.to_string()).collect(),
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
            definition: DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        }
    }

    #[test]
    fn figures_need_every_metric_they_are_made_from() {
        let names = |s: &TableSpec| figures(s).into_iter().map(|f| f.name).collect::<Vec<_>>();
        assert_eq!(
            names(&spec(
                &["nOffered", "tAnswered", "tHandle", "oServiceLevel"],
                &[]
            )),
            [
                "offered",
                "answered",
                "handled",
                "answer_rate",
                "avg_speed_of_answer_s",
                "avg_handle_s",
                "service_level"
            ]
        );
        // No offered count: no rates.
        assert_eq!(
            names(&spec(&["tAnswered"], &[])),
            ["answered", "avg_speed_of_answer_s"]
        );
    }

    /// What the report computes from sums is what SQLite's statement computes, bit for bit,
    /// for every figure: with nulls, zeros, and integers past what an f64 holds exactly.
    #[test]
    fn a_figure_evaluated_from_sums_is_its_sql_bit_for_bit() {
        let spec = spec(
            &[
                "nOffered",
                "tAnswered",
                "tAbandon",
                "tHandle",
                "oServiceLevel",
                "tSystemPresence",
                "tAgentRoutingStatus",
            ],
            &["userId"],
        );
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let samples: [fn(usize) -> Option<i64>; 5] = [
            |_| None,
            |_| Some(0),
            |i| Some(1 + i as i64 * 7),
            |i| Some(900_000 - i as i64 * 3_001),
            |i| Some((1 << 53) + 1 + i as i64),
        ];
        for figure in figures(&spec) {
            let operands = figure.formula.operands();
            for sample in samples {
                for mix in 0..samples.len() {
                    // Each operand its own value; some mixes null out or zero single operands.
                    let value = |name: &str| {
                        let at = operands.iter().position(|o| *o == name).unwrap();
                        let pick = if at % samples.len() == mix {
                            samples[mix]
                        } else {
                            sample
                        };
                        pick(at)
                    };
                    let sql = figure.formula.sql(|column| match value(column) {
                        Some(v) => v.to_string(),
                        None => "NULL".into(),
                    });
                    let stored: Option<f64> = c
                        .query_row(&format!("SELECT {sql}"), [], |r| r.get(0))
                        .unwrap();
                    let evaluated = figure
                        .formula
                        .evaluate(|column| value(column).map_or(Operand::Null, Operand::Integer));
                    assert_eq!(
                        evaluated.map(f64::to_bits),
                        stored.map(f64::to_bits),
                        "{}: {sql}",
                        figure.name
                    );
                }
            }
        }
    }

    #[test]
    fn formulas_read_sums_and_say_so() {
        let handle = figures(&spec(&["tHandle"], &[])).pop().unwrap();
        assert_eq!(
            handle.formula.sql(|c| format!("sum({c})")),
            "1.0 * sum(t_handle_sum_ms) / NULLIF(sum(t_handle_count), 0) / 1000.0"
        );
        assert!(
            handle
                .meaning
                .ends_with("(t_handle_sum_ms / t_handle_count / 1000).")
        );
    }

    #[test]
    fn agent_time_figures_add_milliseconds_and_count_absent_statuses_as_none() {
        let figures = figures(&spec(
            &["tSystemPresence", "tAgentRoutingStatus"],
            &["userId"],
        ));
        let names: Vec<_> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "logged_in_hours",
                "on_queue_hours",
                "utilization",
                "interacting_hours",
                "idle_hours",
                "not_responding_hours",
                "occupancy"
            ]
        );
        let occupancy = &figures[6];
        assert_eq!(
            occupancy.formula.sql(|c| format!("sum({c})")),
            "1.0 * (coalesce(sum(routing_status_interacting_ms), 0)) / NULLIF((coalesce(sum(routing_status_interacting_ms), 0) + coalesce(sum(routing_status_idle_ms), 0)), 0)"
        );
        assert!(occupancy.meaning.ends_with(
            "(routing_status_interacting_ms / (routing_status_interacting_ms + routing_status_idle_ms))."
        ));
        assert_eq!(
            figures[1].formula.sql(|c| c.to_string()),
            "1.0 * (coalesce(system_presence_on_queue_ms, 0)) / NULLIF(3600000, 0)"
        );
        assert!(
            !figures[0]
                .formula
                .operands()
                .contains(&"system_presence_offline_ms")
        );
        assert_eq!(figures[0].formula.operands().len(), 9);
    }

    #[test]
    fn names_sit_beside_the_dimensions_that_have_a_directory() {
        let columns = name_columns(&spec(
            &[],
            &["queueId", "mediaType", "userId", "wrapUpCode"],
        ));
        let pairs: Vec<_> = columns
            .iter()
            .map(|c| (c.id_column.as_str(), c.name.as_str(), c.directory))
            .collect();
        assert_eq!(
            pairs,
            [
                ("queue_id", "queue_name", "queues"),
                ("user_id", "user_name", "users"),
                ("wrap_up_code", "wrap_up_code_name", "wrapup_codes")
            ]
        );
    }

    #[test]
    fn a_dataset_and_its_daily_namesake_clash() {
        assert_eq!(clashing_name("a", ["b", "a_daily"]), Some("a_daily".into()));
        assert_eq!(clashing_name("a_daily", ["a"]), Some("a".into()));
        assert_eq!(clashing_name("a", ["a_dailyx", "daily"]), None);
    }
}
