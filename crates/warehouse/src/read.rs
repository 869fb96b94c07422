//! What the BI server reads, as values: a dataset as the store knows it, a run, a selection of
//! a dataset's rows (dimensions kept, metrics, filters, rollup) and the columns it gives, and
//! a cell copied out. The reads themselves are a [`crate::ReadSession`]'s. Identifiers in a
//! selection's statement come only from the store's own dataset list (validated names,
//! catalog-derived columns); every value is a bound parameter.

use genesys::catalog::MetricKind;
use jiff::Timestamp;

use crate::Result;
pub use crate::cells::{CellRef, RowRef};
use crate::days::DayGrid;
use crate::render::selection::Expr;
use crate::schema::{MetricColumn, StatField, TableSpec, snake_case};
pub use crate::statement::{Bound, Statement};

/// One dataset as the store knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetInfo {
    /// Its columns and typed definition (kind, granularity, time zone, filter).
    pub spec: TableSpec,
    pub complete_through: Option<Timestamp>,
    /// Counted by [`crate::ReadSession::datasets`] (listings); `None` from
    /// [`crate::ReadSession::dataset`], which skips the count.
    pub rows: Option<u64>,
    pub last_written_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub id: i64,
    pub command: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: crate::RunStatus,
    pub windows: i64,
    pub rows: i64,
    pub requests: i64,
    pub error: Option<String>,
    /// A restatement run's changed rows; null for other runs.
    pub rows_changed: Option<i64>,
}

/// How a column's values are typed in output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Timestamp,
    /// A timestamp that may be null: an open record's end.
    OptionalTimestamp,
    Text,
    Integer,
    Real,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Timestamp | ColumnType::OptionalTimestamp => "timestamp",
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Real => "real",
        }
    }
}

/// One column of a row read, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    pub name: String,
    pub kind: ColumnType,
    /// The dimension or metric (Genesys name) it comes from, if any.
    pub source: Option<String>,
    /// How it is made: `dimension`, `name`, `count`, `sum`, `min`, `max`, `numerator`,
    /// `denominator`, `target`, `average` (sum / count) or `ratio` (numerator / denominator).
    pub role: &'static str,
    /// For an average or ratio: the indices of its numerator and denominator columns in the
    /// same column list (it is `1.0 * numerator / NULLIF(denominator, 0)`).
    pub operands: Option<(usize, usize)>,
    /// What it means, when the column says it itself (a KPI feed's columns, `crate::kpi`).
    pub description: Option<String>,
    pub(crate) expr: Expr,
}

/// What to read from one dataset: all chosen names are checked against the dataset first.
#[derive(Debug, Clone)]
pub struct Selection {
    pub spec: TableSpec,
    /// Dimensions kept (Genesys names, a subset of the dataset's); the others are summed over.
    pub dimensions: Vec<String>,
    /// Metrics kept (Genesys names, a subset of the dataset's).
    pub metrics: Vec<String>,
    /// `(dimension, values)`: a row matches when the dimension has any of the values.
    pub filters: Vec<(String, Vec<String>)>,
    /// Add the queue, user and wrap-up code names next to their ids.
    pub names: bool,
    /// Roll each segment into one bucket; otherwise keep the stored buckets.
    pub rollup: bool,
    /// Whether statements compute the averages and ratios (the default). Without them, rows
    /// read end before those columns (always the last ones), for a reader that derives them
    /// from their [`OutputColumn::operands`] itself, as exports do.
    pub derived_in_sql: bool,
    /// The dataset's local days, when the store keeps a per-day rollup of it.
    pub(crate) days: Option<DayGrid>,
    /// Read as one of the dataset's KPI feeds: its figures (`crate::kpi`) instead of its
    /// stats columns, names always beside the ids. `metrics` then does not apply.
    pub kpi: Option<crate::read_kpi::KpiFeed>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectionError {
    #[error("`{0}` is not a dimension of this dataset (it has: {1})")]
    UnknownDimension(String, String),
    #[error("`{0}` is not a metric of this dataset (it has: {1})")]
    UnknownMetric(String, String),
}

/// Accepts a Genesys name (`queueId`) or its column form (`queue_id`).
fn resolve<'a>(known: &'a [String], asked: &str) -> Option<&'a String> {
    known
        .iter()
        .find(|k| k.as_str() == asked || snake_case(k) == asked)
}

impl Selection {
    /// Everything the dataset has, as stored.
    pub fn all(spec: &TableSpec) -> Self {
        Self {
            spec: spec.clone(),
            dimensions: spec.dimensions.clone(),
            metrics: spec.metrics.clone(),
            filters: Vec::new(),
            names: false,
            rollup: false,
            derived_in_sql: true,
            days: DayGrid::of(spec),
            kpi: None,
        }
    }

    pub fn resolve_dimension(&self, asked: &str) -> Result<String, SelectionError> {
        resolve(&self.spec.dimensions, asked)
            .cloned()
            .ok_or_else(|| {
                SelectionError::UnknownDimension(asked.into(), self.spec.dimensions.join(", "))
            })
    }

    pub fn resolve_metric(&self, asked: &str) -> Result<String, SelectionError> {
        resolve(&self.spec.metrics, asked).cloned().ok_or_else(|| {
            SelectionError::UnknownMetric(asked.into(), self.spec.metrics.join(", "))
        })
    }

    /// The dataset's metric columns of the chosen metrics, in table order.
    fn metric_columns(&self) -> Vec<MetricColumn> {
        self.spec
            .metric_columns()
            .into_iter()
            .filter(|c| self.metrics.contains(&c.metric))
            .collect()
    }

    /// Dimensions in table order (stable output whatever order they were asked in).
    pub(crate) fn kept_dimensions(&self) -> Vec<String> {
        self.spec
            .dimensions
            .iter()
            .filter(|d| self.dimensions.contains(d))
            .cloned()
            .collect()
    }

    /// Stored buckets with every dimension kept: each row is its own group, so rows are read
    /// straight off the table in key-index order, with no grouping or sorting.
    /// A record dataset's rows are always read as stored: leaving a field out only leaves its
    /// column out.
    pub(crate) fn identity(&self) -> bool {
        self.spec.record_kind().is_some()
            || (!self.rollup && self.kept_dimensions().len() == self.spec.dimensions.len())
    }

    pub fn columns(&self) -> Vec<OutputColumn> {
        if let Some(feed) = self.kpi {
            return self.kpi_columns(feed);
        }
        if let Some(record) = self.spec.record_kind() {
            return self.record_columns(record);
        }
        let mut columns = Vec::new();
        let identity = self.identity();
        let (start, end) = if self.rollup {
            (Expr::SegmentBound(1), Expr::SegmentBound(2))
        } else if identity {
            (
                Expr::Instant("interval_start"),
                Expr::Instant("interval_end"),
            )
        } else {
            (Expr::Instant("interval_start"), Expr::LastEnd)
        };
        for (name, expr) in [("interval_start", start), ("interval_end", end)] {
            columns.push(OutputColumn {
                name: name.into(),
                kind: ColumnType::Timestamp,
                source: None,
                role: "interval",
                operands: None,
                description: None,
                expr,
            });
        }
        for dimension in self.kept_dimensions() {
            let column = snake_case(&dimension);
            columns.push(OutputColumn {
                name: column.clone(),
                kind: ColumnType::Text,
                source: Some(dimension.clone()),
                role: "dimension",
                operands: None,
                description: genesys::users_catalog::metric_of_qualifier_dimension(&dimension)
                    .map(|m| format!("The presence definition id of the {m} entry the row holds")),
                expr: Expr::Text(column.clone()),
            });
            if self.names
                && let Some(table) = directory_of(&dimension)
            {
                columns.push(OutputColumn {
                    name: format!("{}_name", column.trim_end_matches("_id")),
                    kind: ColumnType::Text,
                    source: Some(dimension.clone()),
                    role: "name",
                    operands: None,
                    description: None,
                    expr: Expr::DirectoryName {
                        table,
                        column: column.clone(),
                    },
                });
            }
        }
        let metric_columns = self.metric_columns();
        for column in &metric_columns {
            let role = match column.field {
                StatField::Count => "count",
                StatField::Sum => "sum",
                StatField::Numerator => "numerator",
                StatField::Denominator => "denominator",
                StatField::Min => "min",
                StatField::Max => "max",
                StatField::Target => "target",
            };
            let integer = column.sql_type == "INTEGER";
            columns.push(OutputColumn {
                name: column.column.clone(),
                kind: if integer {
                    ColumnType::Integer
                } else {
                    ColumnType::Real
                },
                source: Some(column.metric.clone()),
                role,
                operands: None,
                description: crate::schema::users_column_meaning(column),
                expr: Expr::Metric {
                    column: column.column.clone(),
                    rollup: (!identity).then(|| column.field.rollup()),
                    integer,
                },
            });
        }
        let derived = derived_columns(&metric_columns, identity, &columns);
        columns.extend(derived);
        columns
    }
}

impl Selection {
    /// A record dataset's columns: its start and end, the fields kept (names beside ids if
    /// asked), its measures; every value as stored.
    fn record_columns(&self, record: crate::records::RecordKind) -> Vec<OutputColumn> {
        let column = |name: &str, kind, source: Option<String>, role, description: &str, expr| {
            OutputColumn {
                name: name.to_string(),
                kind,
                source,
                role,
                operands: None,
                description: Some(description.to_string()),
                expr,
            }
        };
        let mut columns = vec![
            column(
                "interval_start",
                ColumnType::Timestamp,
                None,
                "interval",
                "When it started (inclusive), UTC",
                Expr::Instant("interval_start"),
            ),
            column(
                "interval_end",
                ColumnType::OptionalTimestamp,
                None,
                "interval",
                "When it ended (exclusive), UTC; null while it is still open",
                Expr::Instant("interval_end"),
            ),
        ];
        for field in self.kept_dimensions() {
            let name = snake_case(&field);
            let meaning = record.meaning(&name).unwrap_or_default();
            columns.push(column(
                &name,
                ColumnType::Text,
                Some(field.clone()),
                "dimension",
                meaning,
                Expr::Text(name.clone()),
            ));
            if self.names
                && let Some(table) = directory_of(&field)
            {
                let named = crate::kpi::name_column(&name);
                columns.push(column(
                    &named,
                    ColumnType::Text,
                    Some(field.clone()),
                    "name",
                    &format!("The name of {name}, from the directory"),
                    Expr::DirectoryName {
                        table,
                        column: name.clone(),
                    },
                ));
            }
        }
        for measure in self.metric_columns() {
            let meaning = record.meaning(&measure.column).unwrap_or_default();
            let integer = measure.sql_type == "INTEGER";
            columns.push(column(
                &measure.column,
                if integer {
                    ColumnType::Integer
                } else {
                    ColumnType::Real
                },
                Some(measure.metric.clone()),
                "measure",
                meaning,
                Expr::Metric {
                    column: measure.column.clone(),
                    rollup: None,
                    integer,
                },
            ));
        }
        columns
    }
}

fn directory_of(dimension: &str) -> Option<&'static str> {
    crate::kpi::directory_of(dimension).map(|(table, _)| table)
}

/// Averages and ratios, derived from the summed parts (never an average of averages).
fn derived_columns(
    columns: &[MetricColumn],
    identity: bool,
    output: &[OutputColumn],
) -> Vec<OutputColumn> {
    let operands = |numerator: &MetricColumn, denominator: &MetricColumn| {
        let at = |c: &MetricColumn| output.iter().position(|o| o.name == c.column);
        at(numerator).zip(at(denominator))
    };
    let quotient = |numerator: &MetricColumn, denominator: &MetricColumn| Expr::Quotient {
        numerator: numerator.column.clone(),
        denominator: denominator.column.clone(),
        summed: !identity,
    };
    let find = |metric: &str, field: StatField| {
        columns
            .iter()
            .find(|c| c.metric == metric && c.field == field)
    };
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for column in columns {
        let metric = column.metric.as_str();
        if seen.contains(&metric) {
            continue;
        }
        seen.push(metric);
        let base = snake_case(metric);
        if let (Some(sum), Some(count)) =
            (find(metric, StatField::Sum), find(metric, StatField::Count))
        {
            let duration = MetricKind::of(metric) == Some(MetricKind::Duration);
            out.push(OutputColumn {
                name: format!("{base}_avg{}", if duration { "_ms" } else { "" }),
                kind: ColumnType::Real,
                source: Some(metric.to_string()),
                role: "average",
                operands: operands(sum, count),
                description: None,
                expr: quotient(sum, count),
            });
        }
        if let (Some(numerator), Some(denominator)) = (
            find(metric, StatField::Numerator),
            find(metric, StatField::Denominator),
        ) {
            out.push(OutputColumn {
                name: format!("{base}_ratio"),
                kind: ColumnType::Real,
                source: Some(metric.to_string()),
                role: "ratio",
                operands: operands(numerator, denominator),
                description: None,
                expr: quotient(numerator, denominator),
            });
        }
    }
    out
}

/// A row's values, copied out of the store.
pub fn cells(row: &RowRef<'_, '_>) -> Result<Vec<Cell>> {
    (0..row.width())
        .map(|i| row.cell(i).map(Cell::from))
        .collect()
}

/// One value of a row read.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<CellRef<'_>> for Cell {
    fn from(value: CellRef<'_>) -> Self {
        match value {
            CellRef::Null | CellRef::Blob(_) => Cell::Null,
            CellRef::Integer(i) => Cell::Integer(i),
            CellRef::Real(r) => Cell::Real(r),
            CellRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        }
    }
}

impl serde::Serialize for Cell {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_none(),
            Cell::Integer(i) => s.serialize_i64(*i),
            Cell::Real(r) if r.is_finite() => s.serialize_f64(*r),
            Cell::Real(_) => s.serialize_none(),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

impl Cell {
    /// The cell as a store row would hand it.
    pub fn as_cell_ref(&self) -> CellRef<'_> {
        match self {
            Cell::Null => CellRef::Null,
            Cell::Integer(i) => CellRef::Integer(*i),
            Cell::Real(r) => CellRef::Real(*r),
            Cell::Text(t) => CellRef::Text(t.as_bytes()),
        }
    }

    /// The text form CSV uses: empty for null.
    pub fn to_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(r) => r.to_string(),
            Cell::Text(t) => t.clone(),
        }
    }
}
