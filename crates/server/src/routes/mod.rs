//! The HTTP surface, one module per endpoint family.

pub mod connect;
pub mod datasets;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod report;
pub mod rows;
pub mod status;

/// Seconds from `mark` to `now`, if there is a mark.
pub fn lag_seconds(mark: Option<jiff::Timestamp>, now: jiff::Timestamp) -> Option<f64> {
    mark.map(|m| now.duration_since(m).as_secs_f64())
}

/// A column's meaning for people, from the catalog.
pub fn meaning(column: &warehouse::read::OutputColumn) -> String {
    if let Some(description) = &column.description {
        return description.clone();
    }
    let Some(source) = column.source.as_deref() else {
        return match column.name.as_str() {
            "interval_start" => "Bucket start (inclusive), UTC".into(),
            _ => "Bucket end (exclusive), UTC".into(),
        };
    };
    if let Some(dimension) = genesys::catalog::dimension_info(source) {
        return match column.role {
            "name" => format!("{} name", dimension.meaning),
            _ => dimension.meaning.to_string(),
        };
    }
    let metric = genesys::catalog::metric_info(source)
        .map(|m| m.meaning)
        .unwrap_or(source);
    let part = match column.role {
        "count" if source.starts_with('n') => return metric.to_string(),
        "count" => "count",
        "sum" => "sum",
        "min" => "minimum",
        "max" => "maximum",
        "numerator" => "numerator",
        "denominator" => "denominator",
        "target" => "target",
        "average" => "average: sum / count",
        "ratio" => "ratio: numerator / denominator",
        other => other,
    };
    let unit = if source.starts_with('t') && column.role != "count" {
        ", ms"
    } else {
        ""
    };
    format!("{metric} ({part}{unit})")
}
