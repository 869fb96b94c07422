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
    let columns = spec.metric_columns();
    let mut rows = Vec::new();
    for container in &response.results {
        let group: Vec<Option<String>> = spec
            .dimensions
            .iter()
            .map(|d| container.group.get(d).cloned())
            .collect();
        for bucket in &container.data {
            let stats_of = |metric: &str| {
                let data = bucket
                    .metrics
                    .iter()
                    .find(|m| m.metric == metric && m.qualifier.is_none());
                data.map(|m| &m.stats)
            };
            rows.push(bucket_row(&columns, &bucket.interval, &group, stats_of)?);
        }
    }
    Ok(rows)
}

/// Decodes an aggregates response body straight into rows, one group at a time, so a large page
/// never exists as a whole typed response: memory is the body plus the rows.
pub fn rows_from_json(
    spec: &TableSpec,
    body: &[u8],
) -> Result<Vec<AggregateRow>, serde_json::Error> {
    let columns = spec.metric_columns();
    let mut rows = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let sink = PageSink {
        spec,
        columns: &columns,
        rows: &mut rows,
    };
    serde::de::DeserializeSeed::deserialize(sink, &mut deserializer)?;
    deserializer.end()?;
    Ok(rows)
}

#[derive(serde::Deserialize)]
struct BorrowedContainer<'a> {
    #[serde(borrow, default)]
    group: std::collections::BTreeMap<&'a str, std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    data: Vec<BorrowedBucket<'a>>,
}

#[derive(serde::Deserialize)]
struct BorrowedBucket<'a> {
    #[serde(borrow)]
    interval: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    metrics: Vec<BorrowedMetric<'a>>,
}

#[derive(serde::Deserialize)]
struct BorrowedMetric<'a> {
    #[serde(borrow)]
    metric: std::borrow::Cow<'a, str>,
    #[serde(default)]
    qualifier: Option<serde::de::IgnoredAny>,
    stats: StatisticalSummary,
}

struct PageSink<'s> {
    spec: &'s TableSpec,
    columns: &'s [MetricColumn],
    rows: &'s mut Vec<AggregateRow>,
}

impl<'de> serde::de::DeserializeSeed<'de> for PageSink<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for PageSink<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an aggregates response object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let PageSink {
            spec,
            columns,
            rows,
        } = self;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "results" {
                map.next_value_seed(ResultsSink {
                    spec,
                    columns,
                    rows: &mut *rows,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ResultsSink<'s> {
    spec: &'s TableSpec,
    columns: &'s [MetricColumn],
    rows: &'s mut Vec<AggregateRow>,
}

impl<'de> serde::de::DeserializeSeed<'de> for ResultsSink<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ResultsSink<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of result groups")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(container) = seq.next_element::<BorrowedContainer<'de>>()? {
            let group: Vec<Option<String>> = self
                .spec
                .dimensions
                .iter()
                .map(|d| container.group.get(d.as_str()).map(|v| v.to_string()))
                .collect();
            for bucket in &container.data {
                let stats_of = |metric: &str| {
                    let data = bucket
                        .metrics
                        .iter()
                        .find(|m| m.metric == metric && m.qualifier.is_none());
                    data.map(|m| &m.stats)
                };
                let row = bucket_row(self.columns, &bucket.interval, &group, stats_of)
                    .map_err(serde::de::Error::custom)?;
                self.rows.push(row);
            }
        }
        Ok(())
    }
}
