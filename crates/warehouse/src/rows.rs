//! Aggregate rows as the store keeps them: one per (bucket, group), stats laid out in the
//! table's column order. The groups come typed from `genesys` (which alone reads the JSON);
//! this module only maps their values to columns.

use genesys::Interval;
use genesys::aggregates::{AggregateDataContainer, AggregateQueryResponse, StatisticalSummary};

use crate::schema::{MetricColumn, StatField, TableSpec};

/// A stats value: integers for counts and milliseconds, reals for ratios and targets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Real(f64),
}

impl Value {
    /// The value as a column stores it, SQLite's column affinities made explicit (PostgreSQL's
    /// `COPY` follows them): an integer in a `REAL` column is a real; a whole real in an
    /// `INTEGER` column an integer. Any other real stays one, which an `INTEGER` column of
    /// PostgreSQL refuses.
    pub(crate) fn as_stored(self, real: bool) -> Value {
        match self {
            Value::Int(i) if real => Value::Real(i as f64),
            Value::Real(r) if !real && r.fract() == 0.0 && r.abs() < 9.2e18 => Value::Int(r as i64),
            other => other,
        }
    }
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

/// One bucket of one group as a row: each column from its metric's unqualified stats.
fn bucket_row<'m>(
    columns: &[MetricColumn],
    interval: &str,
    group: &[Option<String>],
    stats_of: impl Fn(&str) -> Option<&'m StatisticalSummary>,
) -> Result<AggregateRow, RowError> {
    let interval: Interval = interval
        .parse()
        .map_err(|e: genesys::interval::IntervalError| RowError::Interval {
            value: interval.to_string(),
            reason: e.to_string(),
        })?;
    let values = columns
        .iter()
        .map(|c| stats_of(&c.metric).and_then(|stats| field_value(stats, c)))
        .collect();
    Ok(AggregateRow {
        interval,
        group: group.to_vec(),
        values,
    })
}

/// Flattens a response into rows for `spec`. Metrics not in the spec are ignored.
pub fn rows_from_response(
    spec: &TableSpec,
    response: &AggregateQueryResponse,
) -> Result<Vec<AggregateRow>, RowError> {
    let rows = GroupRows::new(spec);
    let mut out = Vec::new();
    for group in &response.results {
        rows.append(group, &mut out)?;
    }
    Ok(out)
}

/// Maps decoded result groups (see `genesys::aggregates::PageDecoder`) to rows of one table:
/// each bucket of a group is a row, each column from its metric's unqualified stats.
pub struct GroupRows<'s> {
    spec: &'s TableSpec,
    columns: Vec<MetricColumn>,
}

impl<'s> GroupRows<'s> {
    pub fn new(spec: &'s TableSpec) -> Self {
        Self {
            spec,
            columns: spec.metric_columns(),
        }
    }

    /// Appends the group's rows to `out`, one per bucket.
    pub fn append(
        &self,
        container: &AggregateDataContainer,
        out: &mut Vec<AggregateRow>,
    ) -> Result<(), RowError> {
        let group: Vec<Option<String>> = self
            .spec
            .dimensions
            .iter()
            .map(|d| container.group.get(d).cloned())
            .collect();
        out.reserve(container.data.len());
        for bucket in &container.data {
            let stats_of = |metric: &str| {
                let data = bucket
                    .metrics
                    .iter()
                    .find(|m| m.metric == metric && m.qualifier.is_none());
                data.map(|m| &m.stats)
            };
            out.push(bucket_row(
                &self.columns,
                &bucket.interval,
                &group,
                stats_of,
            )?);
        }
        Ok(())
    }
}
