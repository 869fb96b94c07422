//! The result of an aggregate query in compact form: groups with their (bucket, cells) rows.
//! It serialises straight to the API's JSON (no intermediate response tree, so a year of PT15M
//! stays small) or converts into the shared wire type `AggregateQueryResponse`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use genesys::aggregates::{
    AggregateDataContainer, AggregateMetricData, AggregateQueryResponse, AggregateViewData,
    StatisticalResponse, StatisticalSummary,
};
use genesys::catalog::MetricKind;
use genesys::granularity::Buckets;
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::codes::Metric;
use super::query::Plan;

/// Statistics of one metric (or view) in one (group, bucket). For oServiceLevel `sum` is the
/// numerator, `count` the denominator and `min`/`max` the targets seen, in parts per million.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cell {
    pub count: u32,
    pub min: u32,
    pub max: u32,
    pub sum: u64,
}

impl Cell {
    pub const EMPTY: Cell = Cell {
        count: 0,
        min: u32::MAX,
        max: 0,
        sum: 0,
    };

    #[inline]
    pub fn add(&mut self, value: u32, low: u32, high: u32) {
        self.count += 1;
        self.sum += value as u64;
        self.min = self.min.min(low);
        self.max = self.max.max(high);
    }

    pub fn merge(&mut self, other: &Cell) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// One group: its dimension values and its rows (bucket, index of the first cell), by bucket.
pub(super) struct TableGroup {
    pub group: BTreeMap<String, String>,
    pub rows: Vec<(u32, u32)>,
}

/// A computed aggregate result. `serde_json::to_writer(w, &table)` writes exactly the JSON of
/// the equivalent `AggregateQueryResponse`.
pub struct AggregateTable {
    metrics: Vec<(String, Option<Metric>)>,
    views: Vec<String>,
    buckets: Buckets,
    labels: Vec<OnceLock<String>>,
    groups: Vec<TableGroup>,
    cells: Vec<Cell>,
}

/// Below this many rows a second thread costs more than it saves.
const PARALLEL_ROWS: usize = 2_000;

impl AggregateTable {
    pub(super) fn new(plan: &Plan, groups: Vec<TableGroup>, cells: Vec<Cell>) -> Self {
        let mut table = AggregateTable {
            metrics: plan
                .metrics
                .iter()
                .map(|m| (m.name.clone(), m.emitted))
                .collect(),
            views: plan.views.iter().map(|v| v.name.clone()).collect(),
            labels: (0..plan.buckets.len()).map(|_| OnceLock::new()).collect(),
            buckets: plan.buckets.clone(),
            groups: Vec::new(),
            cells,
        };
        table.groups = groups
            .into_iter()
            .filter_map(|mut g| {
                g.rows
                    .retain(|(_, base)| table.answers(table.row_cells(*base)));
                (!g.rows.is_empty()).then_some(g)
            })
            .collect();
        table
    }

    /// Whether a row has anything to answer: output is sparse, so a bucket whose only metric
    /// is left out (an oServiceTarget over mixed targets) is left out, and a group with no
    /// bucket left with it.
    fn answers(&self, cells: &[Cell]) -> bool {
        self.metric_stats(cells).next().is_some() || self.view_stats(cells).next().is_some()
    }

    /// Number of groups (`results` entries).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Number of (group, bucket) rows (`data` entries).
    pub fn rows(&self) -> usize {
        self.groups.iter().map(|g| g.rows.len()).sum()
    }

    fn width(&self) -> usize {
        self.metrics.len() + self.views.len()
    }

    fn label(&self, bucket: u32) -> &str {
        self.labels[bucket as usize]
            .get_or_init(|| self.buckets.interval(bucket as usize).to_string())
    }

    fn row_cells(&self, base: u32) -> &[Cell] {
        &self.cells[base as usize..base as usize + self.width()]
    }

    fn metric_stats(&self, cells: &[Cell]) -> impl Iterator<Item = (&str, StatisticalSummary)> {
        self.metrics
            .iter()
            .zip(cells)
            .filter(|((_, code), c)| c.count > 0 && observed(*code, c))
            .map(|((name, code), c)| (name.as_str(), summary(name, *code, c)))
    }

    fn view_stats<'a>(
        &'a self,
        cells: &'a [Cell],
    ) -> impl Iterator<Item = (&'a str, StatisticalSummary)> {
        self.views
            .iter()
            .zip(&cells[self.metrics.len()..])
            .filter(|(_, c)| c.count > 0)
            .map(|(name, c)| {
                (
                    name.as_str(),
                    StatisticalSummary {
                        count: Some(c.count as i64),
                        ..StatisticalSummary::default()
                    },
                )
            })
    }

    fn container(&self, g: &TableGroup) -> AggregateDataContainer {
        let data = g
            .rows
            .iter()
            .map(|(bucket, base)| {
                let cells = self.row_cells(*base);
                StatisticalResponse {
                    interval: self.label(*bucket).to_string(),
                    metrics: self
                        .metric_stats(cells)
                        .map(|(metric, stats)| AggregateMetricData {
                            metric: metric.into(),
                            qualifier: None,
                            stats,
                        })
                        .collect(),
                    views: self
                        .view_stats(cells)
                        .map(|(name, stats)| AggregateViewData {
                            name: name.to_string(),
                            stats,
                        })
                        .collect(),
                }
            })
            .collect();
        AggregateDataContainer {
            group: g.group.clone(),
            data,
        }
    }

    /// The shared wire type, built over the available cores for large results.
    pub fn into_response(self) -> AggregateQueryResponse {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if threads < 2 || self.rows() < PARALLEL_ROWS || self.groups.len() < 2 {
            return AggregateQueryResponse {
                results: self.groups.iter().map(|g| self.container(g)).collect(),
            };
        }
        let chunk = self.groups.len().div_ceil(threads);
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .groups
                .chunks(chunk)
                .map(|groups| {
                    let table = &self;
                    scope.spawn(move || {
                        groups
                            .iter()
                            .map(|g| table.container(g))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("response worker panicked"))
                .collect()
        });
        AggregateQueryResponse { results }
    }
}

/// Whether a metric has a value to answer: an oServiceTarget only where every offer in the
/// group and bucket had the same target (a group mixing queues has no one target; what
/// Genesys answers then is undocumented, so the emulator leaves it out).
fn observed(code: Option<Metric>, cell: &Cell) -> bool {
    code != Some(Metric::OServiceTarget) || cell.min == cell.max
}

fn summary(name: &str, code: Option<Metric>, cell: &Cell) -> StatisticalSummary {
    let count = Some(cell.count as i64);
    if code == Some(Metric::OServiceTarget) {
        // As real orgs send it: `{current}` only (shared/fixtures/genesys-recorded).
        return StatisticalSummary {
            current: Some(cell.min as f64 / 1e6),
            ..StatisticalSummary::default()
        };
    }
    if code == Some(Metric::OServiceLevel) {
        let target = (cell.min == cell.max).then(|| cell.min as f64 / 1e6);
        return StatisticalSummary {
            ratio: Some(cell.sum as f64 / cell.count as f64),
            numerator: Some(cell.sum as f64),
            denominator: Some(cell.count as f64),
            target,
            ..StatisticalSummary::default()
        };
    }
    match MetricKind::of(name) {
        Some(MetricKind::Count) => StatisticalSummary {
            count,
            ..StatisticalSummary::default()
        },
        _ => StatisticalSummary {
            max: Some(cell.max as f64),
            min: Some(cell.min as f64),
            count,
            sum: Some(cell.sum as f64),
            ..StatisticalSummary::default()
        },
    }
}

// Streaming serialisation: the same field names, order and omissions as the wire types.

impl Serialize for AggregateTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("AggregateQueryResponse", 1)?;
        if self.groups.is_empty() {
            out.skip_field("results")?;
        } else {
            out.serialize_field("results", &Groups(self))?;
        }
        out.end()
    }
}

struct Groups<'a>(&'a AggregateTable);

impl Serialize for Groups<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.groups.len()))?;
        for g in &self.0.groups {
            seq.serialize_element(&Container(self.0, g))?;
        }
        seq.end()
    }
}

struct Container<'a>(&'a AggregateTable, &'a TableGroup);

impl Serialize for Container<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("AggregateDataContainer", 2)?;
        out.serialize_field("group", &self.1.group)?;
        out.serialize_field("data", &Rows(self.0, &self.1.rows))?;
        out.end()
    }
}

struct Rows<'a>(&'a AggregateTable, &'a [(u32, u32)]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.1.len()))?;
        for (bucket, base) in self.1 {
            seq.serialize_element(&Row(self.0, *bucket, self.0.row_cells(*base)))?;
        }
        seq.end()
    }
}

struct Row<'a>(&'a AggregateTable, u32, &'a [Cell]);

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Row(table, bucket, cells) = *self;
        let metrics: Vec<MetricOut<'_>> = table
            .metric_stats(cells)
            .map(|(metric, stats)| MetricOut { metric, stats })
            .collect();
        let views: Vec<ViewOut<'_>> = table
            .view_stats(cells)
            .map(|(name, stats)| ViewOut { name, stats })
            .collect();
        let mut out = s.serialize_struct("StatisticalResponse", 3)?;
        out.serialize_field("interval", table.label(bucket))?;
        if metrics.is_empty() {
            out.skip_field("metrics")?;
        } else {
            out.serialize_field("metrics", &metrics)?;
        }
        if views.is_empty() {
            out.skip_field("views")?;
        } else {
            out.serialize_field("views", &views)?;
        }
        out.end()
    }
}

#[derive(Serialize)]
struct MetricOut<'a> {
    metric: &'a str,
    stats: StatisticalSummary,
}

#[derive(Serialize)]
struct ViewOut<'a> {
    name: &'a str,
    stats: StatisticalSummary,
}
