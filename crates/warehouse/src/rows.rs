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
        // Real orgs answer oServiceTarget with `{current}` (shared/fixtures/genesys-recorded,
        // SOURCES.md); the SDK's `target` is kept for a server that sends that instead.
        StatField::Target if column.metric == "oServiceTarget" => {
            stats.current.or(stats.target).map(Value::Real)
        }
        StatField::Target => stats.target.map(Value::Real),
    }
}

/// One bucket of one group as a row: each column from the stats `stats_of` finds for it.
fn bucket_row<'m>(
    columns: &[MetricColumn],
    interval: &str,
    group: &[Option<String>],
    stats_of: impl Fn(&MetricColumn) -> Option<&'m StatisticalSummary>,
) -> Result<AggregateRow, RowError> {
    let interval: Interval = interval
        .parse()
        .map_err(|e: genesys::interval::IntervalError| RowError::Interval {
            value: interval.to_string(),
            reason: e.to_string(),
        })?;
    let values = columns
        .iter()
        .map(|c| stats_of(c).and_then(|stats| field_value(stats, c)))
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
/// each bucket of a group is a row, each column from its metric's entry with the column's
/// qualifier; where a dimension holds a metric's qualifiers, each qualified entry is a row.
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
        if let Some((at, metric)) = self.spec.qualifier_dimension() {
            return self.append_qualified_rows(container, group, at, metric, out);
        }
        out.reserve(container.data.len());
        for bucket in &container.data {
            let stats_of = |column: &MetricColumn| {
                let data = bucket.metrics.iter().find(|m| {
                    m.metric == column.metric.as_str() && m.qualifier.as_deref() == column.qualifier
                });
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

    /// One row per qualified entry of `metric` in each bucket, its qualifier in dimension `at`.
    fn append_qualified_rows(
        &self,
        container: &AggregateDataContainer,
        mut group: Vec<Option<String>>,
        at: usize,
        metric: &str,
        out: &mut Vec<AggregateRow>,
    ) -> Result<(), RowError> {
        for bucket in &container.data {
            let entries = bucket.metrics.iter().filter(|m| m.metric == metric);
            for entry in entries {
                group[at] = entry.qualifier.clone();
                let stats_of = |column: &MetricColumn| {
                    (column.metric.as_str() == metric).then_some(&entry.stats)
                };
                out.push(bucket_row(
                    &self.columns,
                    &bucket.interval,
                    &group,
                    stats_of,
                )?);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::DatasetDefinition;

    /// The recorded real answer's voice group (shared/fixtures/genesys-recorded,
    /// aggregates-query-1.json): `oServiceTarget` carries `{current}`, `oServiceLevel` its
    /// `{ratio, numerator, denominator, target}`.
    const RECORDED: &str = r#"{"results":[{"group":{"mediaType":"voice","queueId":"q"},
        "data":[{"interval":"2025-03-01T00:00:00.000Z/2025-03-12T23:59:59.999Z","metrics":[
        {"metric":"oServiceTarget","stats":{"current":0.8}},
        {"metric":"oServiceLevel","stats":{"ratio":0.5,"numerator":1,"denominator":2,"target":0.8}}]}]}]}"#;

    #[test]
    fn the_service_target_is_read_from_current_as_real_orgs_send_it() {
        let spec = TableSpec {
            name: "q".into(),
            dimensions: vec!["queueId".into()],
            metrics: vec!["oServiceTarget".into(), "oServiceLevel".into()],
            definition: DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        };
        let response = AggregateQueryResponse::from_json(RECORDED.as_bytes()).unwrap();
        let rows = rows_from_response(&spec, &response).unwrap();
        let columns: Vec<_> = spec
            .metric_columns()
            .into_iter()
            .map(|c| c.column)
            .collect();
        assert_eq!(columns[0], "o_service_target_target");
        assert_eq!(
            rows[0].values,
            [
                Some(Value::Real(0.8)),
                Some(Value::Int(1)),
                Some(Value::Int(2)),
                Some(Value::Real(0.8))
            ]
        );
    }
}
