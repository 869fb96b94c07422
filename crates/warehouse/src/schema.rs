//! How an aggregates dataset becomes one wide, BI-friendly table: `interval_start`,
//! `interval_end`, one TEXT column per groupBy dimension, then per metric its stats columns
//! (`n_offered`, `t_handle_sum_ms`, `t_handle_count`, …, `o_service_level_numerator`, …).

use genesys::catalog::MetricKind;

/// What the store needs to know about an aggregates dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Dataset name; also the table name. Lowercase letters, digits and `_`, starting with a letter.
    pub name: String,
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
    /// Everything else that changes the meaning of the rows (granularity, time zone, filter…),
    /// as a stable string: a change rebuilds the dataset.
    pub definition: String,
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

impl TableSpec {
    pub fn dimension_columns(&self) -> Vec<String> {
        self.dimensions.iter().map(|d| snake_case(d)).collect()
    }

    pub fn metric_columns(&self) -> Vec<MetricColumn> {
        let mut columns = Vec::new();
        for metric in &self.metrics {
            for &field in stat_fields(metric) {
                let sql_type = match field {
                    StatField::Count | StatField::Numerator | StatField::Denominator => "INTEGER",
                    _ if MetricKind::of(metric) == Some(MetricKind::Duration) => "INTEGER",
                    _ => "REAL",
                };
                columns.push(MetricColumn {
                    metric: metric.clone(),
                    field,
                    column: column_name(metric, field),
                    sql_type,
                });
            }
        }
        columns
    }

    pub fn kpi_view_name(&self) -> String {
        format!("{}_kpi", self.name)
    }

    /// The value of `key` in the definition the sync records
    /// (`granularity=PT15M timeZone=Europe/London filter=…`).
    pub fn definition_value(&self, key: &str) -> Option<String> {
        self.definition
            .split_whitespace()
            .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
            .filter(|v| !v.is_empty())
            .map(String::from)
    }
}

/// The store's own tables (and every `_kpi` view and `__daily` table name) are not available as
/// dataset names.
pub const RESERVED_NAMES: &[&str] = &[
    "datasets",
    "windows",
    "watermarks",
    "runs",
    "schema_version",
    "queues",
    "users",
    "wrapup_codes",
    "api_keys",
];

pub fn is_reserved(name: &str) -> bool {
    RESERVED_NAMES.contains(&name)
        || name.ends_with("_kpi")
        || name.ends_with(crate::days::DAY_TABLE_SUFFIX)
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
            definition: String::new(),
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
    fn definition_values() {
        let spec = |definition: &str| TableSpec {
            name: "d".into(),
            dimensions: vec![],
            metrics: vec![],
            definition: definition.into(),
        };
        let d = spec("granularity=PT15M timeZone=Europe/London filter=");
        assert_eq!(d.definition_value("granularity").as_deref(), Some("PT15M"));
        assert_eq!(
            d.definition_value("timeZone").as_deref(),
            Some("Europe/London")
        );
        assert_eq!(d.definition_value("filter"), None);
        assert_eq!(spec("").definition_value("granularity"), None);
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(is_valid_identifier("queue_performance"));
        assert!(!is_valid_identifier("Queue"));
        assert!(!is_valid_identifier("x; drop table y"));
        assert!(!is_valid_identifier("1abc"));
        assert!(is_reserved("queue_performance__daily"));
        assert!(is_reserved("queue_performance_kpi"));
        assert!(!is_reserved("queue_daily"));
    }
}
