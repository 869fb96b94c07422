//! Aggregate rows as the store keeps them: one per (bucket, group), stats laid out in the
//! table's column order.

use genesys::Interval;
use genesys::aggregates::{AggregateQueryResponse, StatisticalSummary};

use crate::schema::{MetricColumn, StatField, TableSpec};

/// A stats value: integers for counts and milliseconds, reals for ratios and targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Real(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    pub interval: Interval,
    /// One per dimension of the spec; `None` where Genesys left the key out of the group.
    pub group: Vec<Option<String>>,
    /// One per metric column of the spec; `None` where the metric had no data.
    pub values: Vec<Option<Value>>,
}

#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("response bucket interval `{value}` is malformed: {reason}")]
    Interval { value: String, reason: String },
}

fn field_value(stats: &StatisticalSummary, column: &MetricColumn) -> Option<Value> {
    let integer = column.sql_type == "INTEGER";
    let number = |v: Option<f64>| {
        v.map(|x| {
            if integer {
                Value::Int(x.round() as i64)
            } else {
                Value::Real(x)
            }
        })
    };
    match column.field {
        StatField::Count => stats.count.map(Value::Int),
        StatField::Sum => number(stats.sum),
        StatField::Min => number(stats.min),
        StatField::Max => number(stats.max),
        StatField::Numerator => number(stats.numerator),
        StatField::Denominator => number(stats.denominator),
        StatField::Target => stats.target.map(Value::Real),
    }
}

/// Flattens a response into rows for `spec`. Metrics not in the spec are ignored.
pub fn rows_from_response(
    spec: &TableSpec,
    response: &AggregateQueryResponse,
) -> Result<Vec<AggregateRow>, RowError> {
    let columns = spec.metric_columns();
    let mut rows = Vec::new();
    for container in &response.results {
        let group: Vec<Option<String>> = spec
            .dimensions
            .iter()
            .map(|d| container.group.get(d).cloned())
            .collect();
        for bucket in &container.data {
            let interval: Interval =
                bucket
                    .interval
                    .parse()
                    .map_err(|e: genesys::interval::IntervalError| RowError::Interval {
                        value: bucket.interval.clone(),
                        reason: e.to_string(),
                    })?;
            let values = columns
                .iter()
                .map(|c| {
                    let data = bucket
                        .metrics
                        .iter()
                        .find(|m| m.metric == c.metric && m.qualifier.is_none());
                    data.and_then(|m| field_value(&m.stats, c))
                })
                .collect();
            rows.push(AggregateRow {
                interval,
                group: group.clone(),
                values,
            });
        }
    }
    Ok(rows)
}
