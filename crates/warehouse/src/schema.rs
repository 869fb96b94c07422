//! How an aggregates dataset becomes one wide, BI-friendly table: `interval_start`,
//! `interval_end`, one TEXT column per groupBy dimension, then per metric its stats columns
//! (`n_offered`, `t_handle_sum_ms`, `t_handle_count`, …, `o_service_level_numerator`, …).

use std::fmt;
use std::str::FromStr;

use genesys::catalog::MetricKind;
use genesys::filter::Filter;
use genesys::granularity::Granularity;
use genesys::users_catalog::{self, Qualifiers};
use jiff::tz::TimeZone;

use crate::StoreError;

/// Every kind of dataset this product holds (or will): the store records it per dataset, so a
/// reader knows what the rows are without guessing from the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetKind {
    ConversationAggregates,
    UsersAggregates,
    ConversationDetails,
    /// The drill-down tables of the conversation details: participants, sessions, segments.
    ConversationParticipants,
    ConversationSessions,
    ConversationSegments,
    UsersDetails,
    Directory,
}

impl DatasetKind {
    pub const ALL: [DatasetKind; 8] = [
        DatasetKind::ConversationAggregates,
        DatasetKind::UsersAggregates,
        DatasetKind::ConversationDetails,
        DatasetKind::ConversationParticipants,
        DatasetKind::ConversationSessions,
        DatasetKind::ConversationSegments,
        DatasetKind::UsersDetails,
        DatasetKind::Directory,
    ];

    /// The name stored in `datasets.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::ConversationAggregates => "conversation_aggregates",
            DatasetKind::UsersAggregates => "users_aggregates",
            DatasetKind::ConversationDetails => "conversation_details",
            DatasetKind::ConversationParticipants => "conversation_participants",
            DatasetKind::ConversationSessions => "conversation_sessions",
            DatasetKind::ConversationSegments => "conversation_segments",
            DatasetKind::UsersDetails => "users_details",
            DatasetKind::Directory => "directory",
        }
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DatasetKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        DatasetKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a dataset kind"))
    }
}

/// A time zone together with the IANA name it was asked for by. The name is what Genesys was
/// sent and what the rows were cut in, so it is what identifies the zone: `UTC` and `Etc/UTC`
/// are the same rules but stay distinct names, as they always were.
#[derive(Debug, Clone)]
pub struct NamedTimeZone {
    name: String,
    zone: TimeZone,
}

impl NamedTimeZone {
    /// Resolves an IANA name (`UTC`, `Etc/UTC`, `Europe/London`).
    pub fn get(name: &str) -> Result<Self, String> {
        let zone = genesys::granularity::time_zone(Some(name)).map_err(|e| e.to_string())?;
        Ok(Self {
            name: name.to_string(),
            zone,
        })
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            zone: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

impl PartialEq for NamedTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for NamedTimeZone {}

impl fmt::Display for NamedTimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// Everything besides its columns that gives a dataset's rows their meaning, parsed: the
/// config parses it once, the store records it in typed columns and hands it back typed.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetDefinition {
    pub kind: DatasetKind,
    pub granularity: Granularity,
    pub time_zone: NamedTimeZone,
    pub filter: Option<Filter>,
}

impl DatasetDefinition {
    /// Conversation aggregates in `granularity` buckets cut in `time_zone`, unfiltered.
    pub fn conversation_aggregates(granularity: &str, time_zone: &str) -> Self {
        Self {
            kind: DatasetKind::ConversationAggregates,
            granularity: granularity.parse().expect("a valid granularity"),
            time_zone: NamedTimeZone::get(time_zone).expect("a known time zone"),
            filter: None,
        }
    }

    /// The filter as stored: compact JSON.
    pub fn filter_json(&self) -> Option<String> {
        self.filter
            .as_ref()
            .map(|f| serde_json::to_string(f).expect("filters serialize"))
    }

    /// A stable string of everything that changes the rows' meaning: a change rebuilds the
    /// dataset. The same text stores before the typed columns recorded, so those stores keep
    /// their rows.
    pub fn fingerprint(&self) -> String {
        let kind = match self.kind {
            // The only kind before kinds were recorded: its fingerprint stays as it was.
            DatasetKind::ConversationAggregates => String::new(),
            other => format!(" kind={other}"),
        };
        format!(
            "granularity={} timeZone={} filter={}{kind}",
            self.granularity,
            self.time_zone,
            self.filter_json().unwrap_or_default()
        )
    }

    /// Reads the typed columns of dataset `dataset`; a value that can't be read names the
    /// dataset and the column.
    pub fn from_columns(
        dataset: &str,
        kind: Option<&str>,
        granularity: Option<&str>,
        time_zone: Option<&str>,
        filter: Option<&str>,
    ) -> Result<Self, StoreError> {
        let corrupt = |column: &'static str, value: Option<&str>, reason: String| {
            StoreError::CorruptDefinition {
                dataset: dataset.to_string(),
                column,
                value: value.unwrap_or("NULL").to_string(),
                reason,
            }
        };
        let missing = |column| corrupt(column, None, "it is missing".into());
        let kind = kind
            .ok_or_else(|| missing("kind"))?
            .parse()
            .map_err(|e| corrupt("kind", kind, e))?;
        let granularity = granularity
            .ok_or_else(|| missing("granularity"))?
            .parse()
            .map_err(|e: genesys::granularity::GranularityError| {
                corrupt("granularity", granularity, e.to_string())
            })?;
        let time_zone = NamedTimeZone::get(time_zone.ok_or_else(|| missing("time_zone"))?)
            .map_err(|e| corrupt("time_zone", time_zone, e))?;
        let filter = filter
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt("filter", filter, e.to_string()))?;
        Ok(Self {
            kind,
            granularity,
            time_zone,
            filter,
        })
    }

    /// Parses the string stores recorded before the typed columns
    /// (`granularity=PT15M timeZone=Europe/London filter={…}`); only the schema migration does.
    pub fn from_legacy(dataset: &str, definition: &str) -> Result<Self, StoreError> {
        let value = |key: &str| {
            let rest = definition.split(&format!("{key}=")).nth(1)?;
            // The filter comes last and is JSON that may hold spaces; the others are one word.
            let value = if key == "filter" {
                rest
            } else {
                rest.split_whitespace().next().unwrap_or("")
            };
            Some(value).filter(|v| !v.is_empty())
        };
        let granularity = value("granularity");
        let time_zone = value("timeZone");
        let filter = value("filter");
        let missing = |column: &'static str| StoreError::CorruptDefinition {
            dataset: dataset.to_string(),
            column,
            value: definition.to_string(),
            reason: format!("the stored definition has no {column}"),
        };
        let granularity = granularity.ok_or_else(|| missing("granularity"))?;
        let time_zone = time_zone.ok_or_else(|| missing("time_zone"))?;
        Self::from_columns(
            dataset,
            Some(DatasetKind::ConversationAggregates.as_str()),
            Some(granularity),
            Some(time_zone),
            filter,
        )
    }
}

/// What the store needs to know about an aggregates dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// Dataset name; also the table name. Lowercase letters, digits and `_`, starting with a letter.
    pub name: String,
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
    /// Everything else that changes the meaning of the rows: a change (of its
    /// [`fingerprint`](DatasetDefinition::fingerprint)) rebuilds the dataset.
    pub definition: DatasetDefinition,
}

/// One stats field of a metric and the column that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatField {
    Count,
    Sum,
    Min,
    Max,
    Numerator,
    Denominator,
    Target,
}

impl StatField {
    /// How a column of this field rolls up across buckets or groups: sums and counts add up,
    /// the smallest min and the largest max (and target) survive.
    pub fn rollup(self) -> Rollup {
        match self {
            StatField::Count | StatField::Sum | StatField::Numerator | StatField::Denominator => {
                Rollup::Sum
            }
            StatField::Min => Rollup::Min,
            StatField::Max | StatField::Target => Rollup::Max,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    Sum,
    Min,
    Max,
}

impl Rollup {
    /// The SQL aggregate function that does it.
    pub fn sql_function(self) -> &'static str {
        match self {
            Rollup::Sum => "sum",
            Rollup::Min => "min",
            Rollup::Max => "max",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricColumn {
    pub metric: String,
    /// The metric entry's `qualifier` the column holds (users aggregates' presences and
    /// statuses); `None` for the unqualified entry, and for a metric whose qualifiers are rows.
    pub qualifier: Option<&'static str>,
    pub field: StatField,
    pub column: String,
    pub sql_type: &'static str,
}

/// `queueId` → `queue_id`, `tShortAbandon` → `t_short_abandon`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn stat_fields(metric: &str) -> &'static [StatField] {
    use StatField::*;
    match (MetricKind::of(metric), metric) {
        (_, "oServiceLevel" | "oCallbackServiceLevel") => &[Numerator, Denominator, Target],
        (_, "oServiceTarget") => &[Target],
        (Some(MetricKind::Count), _) => &[Count],
        _ => &[Count, Sum, Min, Max],
    }
}

fn column_name(metric: &str, field: StatField) -> String {
    let base = snake_case(metric);
    let ms = matches!(MetricKind::of(metric), Some(MetricKind::Duration));
    let suffix = match field {
        StatField::Count if MetricKind::of(metric) == Some(MetricKind::Count) => return base,
        StatField::Count => "count",
        StatField::Sum if ms => "sum_ms",
        StatField::Sum => "sum",
        StatField::Min if ms => "min_ms",
        StatField::Min => "min",
        StatField::Max if ms => "max_ms",
        StatField::Max => "max",
        StatField::Numerator => "numerator",
        StatField::Denominator => "denominator",
        StatField::Target => "target",
    };
    format!("{base}_{suffix}")
}

/// A users metric's columns: milliseconds (the entries' `sum`, the only stat Genesys sends for
/// them) per qualifier, or one column when its qualifiers are rows.
fn users_metric_columns(metric: &users_catalog::UsersMetric) -> Vec<MetricColumn> {
    let column = |qualifier, column| MetricColumn {
        metric: metric.name.to_string(),
        qualifier,
        field: StatField::Sum,
        column,
        sql_type: "INTEGER",
    };
    match metric.qualifiers {
        Qualifiers::Columns { stem, values } => values
            .iter()
            .map(|q| column(Some(*q), users_catalog::qualifier_column(stem, q)))
            .collect(),
        Qualifiers::Rows { .. } => {
            let stem = snake_case(metric.name.trim_start_matches('t'));
            vec![column(None, format!("{}_ms", stem.trim_start_matches('_')))]
        }
    }
}

impl TableSpec {
    /// A record dataset of `kind` (`crate::records`): its columns are the kind's.
    pub fn records(name: &str, kind: DatasetKind, time_zone: NamedTimeZone) -> Option<Self> {
        let record = crate::records::RecordKind::of(kind)?;
        Some(Self {
            name: name.to_string(),
            dimensions: record.fields().iter().map(|f| f.to_string()).collect(),
            metrics: record
                .measures()
                .iter()
                .map(|m| m.column.to_string())
                .collect(),
            definition: DatasetDefinition {
                kind,
                // Records have no buckets; windows are local days of `time_zone`.
                granularity: "P1D".parse().expect("a valid granularity"),
                time_zone,
                filter: None,
            },
        })
    }

    /// Whether the dataset has KPI feeds (`<dataset>_kpi`, and `<dataset>_daily_kpi` where it
    /// has local days): aggregates do; records have no figures.
    pub fn has_kpi_feeds(&self) -> bool {
        self.record_kind().is_none()
    }

    /// The kind of record each row is, for a record dataset; `None` for aggregates.
    pub fn record_kind(&self) -> Option<crate::records::RecordKind> {
        crate::records::RecordKind::of(self.definition.kind)
    }

    /// The position of the dimension that holds a metric's qualifiers (users aggregates'
    /// `organizationPresenceId`): each qualified entry of a bucket is then a row of its own.
    pub fn qualifier_dimension(&self) -> Option<(usize, &'static str)> {
        self.dimensions.iter().enumerate().find_map(|(at, d)| {
            users_catalog::metric_of_qualifier_dimension(d).map(|metric| (at, metric))
        })
    }

    pub fn dimension_columns(&self) -> Vec<String> {
        self.dimensions.iter().map(|d| snake_case(d)).collect()
    }

    /// The table's columns in table order, quoted for SQL: the bounds, the dimensions, the
    /// metrics (PostgreSQL's identity `rowid` aside).
    pub(crate) fn quoted_columns(&self) -> Vec<String> {
        let mut names = vec!["interval_start".to_string(), "interval_end".to_string()];
        names.extend(self.dimension_columns().iter().map(|c| quote(c)));
        names.extend(self.metric_columns().iter().map(|c| quote(&c.column)));
        names
    }

    pub fn metric_columns(&self) -> Vec<MetricColumn> {
        if let Some(record) = self.record_kind() {
            return record.metric_columns();
        }
        let mut columns = Vec::new();
        for metric in &self.metrics {
            if let Some(users) = users_catalog::users_metric_info(metric) {
                columns.extend(users_metric_columns(users));
                continue;
            }
            for &field in stat_fields(metric) {
                let sql_type = match field {
                    StatField::Count | StatField::Numerator | StatField::Denominator => "INTEGER",
                    _ if MetricKind::of(metric) == Some(MetricKind::Duration) => "INTEGER",
                    _ => "REAL",
                };
                columns.push(MetricColumn {
                    metric: metric.clone(),
                    qualifier: None,
                    field,
                    column: column_name(metric, field),
                    sql_type,
                });
            }
        }
        columns
    }

    pub fn kpi_view_name(&self) -> String {
        crate::kpi::kpi_name(&self.name)
    }

    /// The per-local-day KPI view, over the per-day table (only a dataset stored in buckets
    /// shorter than a day has one).
    pub fn daily_kpi_view_name(&self) -> String {
        crate::kpi::daily_kpi_name(&self.name)
    }
}

/// Whether a stored metric name is one of the catalogs' (conversation or users aggregates):
/// stored names become column names, so only those may.
pub fn is_known_metric(name: &str) -> bool {
    genesys::catalog::is_metric(name)
        || users_catalog::is_users_metric(name)
        || crate::records::is_record_column(name)
}

/// Whether a stored dimension name is the catalog's, or the column a users metric's qualifiers
/// are kept in (`organizationPresenceId`).
pub fn is_known_dimension(name: &str) -> bool {
    genesys::catalog::is_dimension(name)
        || users_catalog::metric_of_qualifier_dimension(name).is_some()
        || crate::records::is_record_column(name)
}

/// What a users metric's column holds, for people (`$metadata`, `/v1/datasets`).
pub fn users_column_meaning(column: &MetricColumn) -> Option<String> {
    let metric = users_catalog::users_metric_info(&column.metric)?;
    let what = match column.metric.as_str() {
        users_catalog::SYSTEM_PRESENCE => "system presence",
        users_catalog::AGENT_ROUTING_STATUS => "routing status",
        _ => return Some(format!("{} (sum of the bucket, ms)", metric.meaning)),
    };
    let qualifier = column.qualifier?;
    Some(format!(
        "Milliseconds in {what} {qualifier} (the {} entry's sum)",
        column.metric
    ))
}

/// The store's own tables (and every `_kpi` and `_daily_kpi` view and `__daily` table name) are
/// not available as dataset names.
pub const RESERVED_NAMES: &[&str] = &[
    "datasets",
    "windows",
    "watermarks",
    "runs",
    "schema_version",
    "queues",
    "users",
    "wrapup_codes",
    "presences",
    "api_keys",
    "leases",
    "generation",
];

/// What ends the name of a dataset's per-day rollup table.
pub const DAY_TABLE_SUFFIX: &str = "__daily";

/// The per-day rollup table of `dataset`.
pub fn day_table(dataset: &str) -> String {
    format!("{dataset}{DAY_TABLE_SUFFIX}")
}

/// An identifier (a validated dataset name or a catalog-derived column) quoted for SQL.
pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

pub fn is_reserved(name: &str) -> bool {
    // `_daily_kpi` ends with `_kpi` too.
    RESERVED_NAMES.contains(&name)
        || name.ends_with(crate::kpi::KPI_SUFFIX)
        || name.ends_with(DAY_TABLE_SUFFIX)
}

/// Dataset names become SQL identifiers, so only a safe alphabet is accepted.
pub fn is_valid_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 48
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_follow_architecture() {
        let spec = TableSpec {
            name: "queue_performance".into(),
            dimensions: vec!["queueId".into(), "mediaType".into()],
            metrics: vec!["nOffered".into(), "tHandle".into(), "oServiceLevel".into()],
            definition: DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        };
        assert_eq!(spec.dimension_columns(), ["queue_id", "media_type"]);
        let names: Vec<_> = spec
            .metric_columns()
            .into_iter()
            .map(|c| c.column)
            .collect();
        assert_eq!(
            names,
            [
                "n_offered",
                "t_handle_count",
                "t_handle_sum_ms",
                "t_handle_min_ms",
                "t_handle_max_ms",
                "o_service_level_numerator",
                "o_service_level_denominator",
                "o_service_level_target"
            ]
        );
    }

    #[test]
    fn users_metrics_are_milliseconds_per_qualifier() {
        let spec = TableSpec {
            name: "agent_status".into(),
            dimensions: vec!["userId".into()],
            metrics: vec!["tSystemPresence".into(), "tAgentRoutingStatus".into()],
            definition: DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        };
        let columns = spec.metric_columns();
        assert_eq!(columns.len(), 15);
        assert_eq!(columns[0].column, "system_presence_available_ms");
        assert_eq!(columns[0].qualifier, Some("AVAILABLE"));
        assert_eq!(columns[5].column, "system_presence_on_queue_ms");
        assert_eq!(columns[12].column, "routing_status_interacting_ms");
        assert!(
            columns
                .iter()
                .all(|c| c.field == StatField::Sum && c.sql_type == "INTEGER")
        );
        assert_eq!(spec.qualifier_dimension(), None);
        let narrow = TableSpec {
            dimensions: vec!["userId".into(), "organizationPresenceId".into()],
            metrics: vec!["tOrganizationPresence".into()],
            ..spec
        };
        let columns = narrow.metric_columns();
        assert_eq!(columns.len(), 1);
        assert_eq!(columns[0].column, "organization_presence_ms");
        assert_eq!(columns[0].qualifier, None);
        assert_eq!(
            narrow.dimension_columns(),
            ["user_id", "organization_presence_id"]
        );
        assert_eq!(
            narrow.qualifier_dimension(),
            Some((1, "tOrganizationPresence"))
        );
    }

    #[test]
    fn legacy_definitions_parse_and_keep_their_fingerprint() {
        for legacy in [
            "granularity=PT15M timeZone=Europe/London filter=",
            "granularity=PT30M timeZone=UTC filter={\"type\":\"and\",\"predicates\":[{\"dimension\":\"queueId\",\"value\":\"a b\"}]}",
        ] {
            let d = DatasetDefinition::from_legacy("d", legacy).unwrap();
            assert_eq!(d.kind, DatasetKind::ConversationAggregates);
            assert_eq!(d.fingerprint(), legacy);
        }
        let d =
            DatasetDefinition::from_legacy("d", "granularity=PT15M timeZone=Europe/London filter=")
                .unwrap();
        assert_eq!(d.granularity.to_string(), "PT15M");
        assert_eq!(d.time_zone.name(), "Europe/London");
        assert_eq!(d.filter, None);
    }

    #[test]
    fn unreadable_definitions_name_dataset_and_column() {
        let err = DatasetDefinition::from_legacy(
            "sales",
            "granularity=PT15M timeZone=Mars/Olympus filter=",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`sales`") && err.contains("time_zone"),
            "{err}"
        );
        let err = DatasetDefinition::from_legacy("sales", "")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`sales`") && err.contains("granularity"),
            "{err}"
        );
        let err = DatasetDefinition::from_columns(
            "sales",
            Some("cubes"),
            Some("PT15M"),
            Some("UTC"),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`sales`") && err.contains("kind"), "{err}");
        let err = DatasetDefinition::from_columns(
            "sales",
            Some("directory"),
            Some("PT15M"),
            Some("UTC"),
            Some("{"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`sales`") && err.contains("filter"), "{err}");
    }

    #[test]
    fn kinds_round_trip() {
        for kind in DatasetKind::ALL {
            assert_eq!(kind.as_str().parse::<DatasetKind>(), Ok(kind));
        }
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(is_valid_identifier("queue_performance"));
        assert!(!is_valid_identifier("Queue"));
        assert!(!is_valid_identifier("x; drop table y"));
        assert!(!is_valid_identifier("1abc"));
        assert!(is_reserved("queue_performance__daily"));
        assert!(is_reserved("queue_performance_kpi"));
        assert!(is_reserved("queue_performance_daily_kpi"));
        assert!(!is_reserved("queue_daily"));
    }
}
