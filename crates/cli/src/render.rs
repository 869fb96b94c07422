//! Turns an aggregates response into rows for people (table) and programs (csv, json).
//! Nothing is zero-filled; averages are always sum / count, never an average of averages;
//! milliseconds become seconds in the table view only.

use std::io::Write;

use genesys::aggregates::{AggregateQueryResponse, StatisticalSummary};
use genesys::catalog::MetricKind;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

/// One output row: a bucket of one group, with each requested metric's stats if it had data.
#[derive(Debug, Clone)]
pub struct Row {
    pub interval: String,
    pub group: Vec<Option<String>>,
    pub metrics: Vec<Option<StatisticalSummary>>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// Dimensions are the query's groupBy, in order; metrics the query's, in order.
    pub fn from_response(
        response: &AggregateQueryResponse,
        group_by: &[String],
        metrics: &[String],
    ) -> Self {
        let mut rows = Vec::new();
        for container in &response.results {
            let group: Vec<Option<String>> = group_by
                .iter()
                .map(|d| container.group.get(d).cloned())
                .collect();
            for bucket in &container.data {
                let stats = metrics
                    .iter()
                    .map(|m| {
                        bucket
                            .metrics
                            .iter()
                            .find(|d| &d.metric == m)
                            .map(|d| d.stats.clone())
                    })
                    .collect();
                rows.push(Row {
                    interval: bucket.interval.clone(),
                    group: group.clone(),
                    metrics: stats,
                });
            }
        }
        rows.sort_by(|a, b| (&a.interval, &a.group).cmp(&(&b.interval, &b.group)));
        Table {
            dimensions: group_by.to_vec(),
            metrics: metrics.to_vec(),
            rows,
        }
    }

    pub fn write(&self, format: OutputFormat, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            OutputFormat::Table => self.write_table(out),
            OutputFormat::Csv => self.write_csv(out),
            OutputFormat::Json => self.write_json(out),
        }
    }

    fn machine_columns(&self) -> Vec<String> {
        let mut columns = vec!["interval_start".to_string(), "interval_end".to_string()];
        columns.extend(self.dimensions.iter().cloned());
        for metric in &self.metrics {
            columns.extend(
                machine_fields(metric)
                    .iter()
                    .map(|f| format!("{metric}_{f}")),
            );
        }
        columns
    }

    fn machine_values(&self, row: &Row) -> Vec<Option<Value>> {
        let (start, end) = row.interval.split_once('/').unwrap_or((&row.interval, ""));
        let mut values = vec![Some(Value::from(start)), Some(Value::from(end))];
        values.extend(row.group.iter().map(|g| g.clone().map(Value::from)));
        for (metric, stats) in self.metrics.iter().zip(&row.metrics) {
            for field in machine_fields(metric) {
                values.push(stats.as_ref().and_then(|s| machine_value(s, field)));
            }
        }
        values
    }

    fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(self.machine_columns())?;
        for row in &self.rows {
            let cells = self.machine_values(row).into_iter().map(|v| match v {
                None => String::new(),
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
            });
            writer.write_record(cells)?;
        }
        writer.flush()
    }

    fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let columns = self.machine_columns();
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = columns
                    .iter()
                    .cloned()
                    .zip(self.machine_values(row))
                    .filter_map(|(c, v)| v.map(|v| (c, v)))
                    .collect();
                Value::Object(object)
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)
    }

    fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut header = vec!["interval".to_string()];
        header.extend(self.dimensions.iter().cloned());
        for metric in &self.metrics {
            header.extend(table_headings(metric));
        }
        let body: Vec<Vec<String>> = self.rows.iter().map(|row| self.table_cells(row)).collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| {
                body.iter()
                    .map(|r| r[i].len())
                    .chain([header[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            padded.join("  ").trim_end().to_string()
        };
        writeln!(out, "{}", line(&header))?;
        for row in &body {
            writeln!(out, "{}", line(row))?;
        }
        if body.is_empty() {
            writeln!(
                out,
                "(no data: Genesys returns no rows for buckets without activity)"
            )?;
        }
        Ok(())
    }

    fn table_cells(&self, row: &Row) -> Vec<String> {
        let mut cells = vec![row.interval.clone()];
        cells.extend(
            row.group
                .iter()
                .map(|g| g.clone().unwrap_or_else(|| "-".into())),
        );
        for (metric, stats) in self.metrics.iter().zip(&row.metrics) {
            cells.extend(table_values(metric, stats.as_ref()));
        }
        cells
    }
}

/// Which stats a metric family carries, in the order they are printed.
fn machine_fields(metric: &str) -> &'static [&'static str] {
    match (MetricKind::of(metric), metric) {
        (_, "oServiceLevel" | "oCallbackServiceLevel") => {
            &["numerator", "denominator", "ratio", "target"]
        }
        (_, "oServiceTarget") => &["target"],
        (Some(MetricKind::Count), _) => &["count"],
        (Some(MetricKind::Duration), _) => &["count", "sum_ms", "avg_ms", "min_ms", "max_ms"],
        _ => &["count", "sum", "min", "max"],
    }
}

fn machine_value(stats: &StatisticalSummary, field: &str) -> Option<Value> {
    let number = |v: Option<f64>| v.map(Value::from);
    match field {
        "count" => stats.count.map(Value::from),
        "sum" | "sum_ms" => number(stats.sum),
        "min" | "min_ms" => number(stats.min),
        "max" | "max_ms" => number(stats.max),
        "avg_ms" => number(average(stats)),
        "numerator" => number(stats.numerator),
        "denominator" => number(stats.denominator),
        "ratio" => number(ratio(stats)),
        "target" => number(stats.target),
        _ => None,
    }
}

fn average(stats: &StatisticalSummary) -> Option<f64> {
    match (stats.sum, stats.count) {
        (Some(sum), Some(count)) if count > 0 => Some(sum / count as f64),
        _ => None,
    }
}

fn ratio(stats: &StatisticalSummary) -> Option<f64> {
    match (stats.numerator, stats.denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => stats.ratio,
    }
}

fn table_headings(metric: &str) -> Vec<String> {
    match (MetricKind::of(metric), metric) {
        (_, "oServiceLevel" | "oCallbackServiceLevel") => {
            vec![format!("{metric} %"), format!("{metric} n/d")]
        }
        (Some(MetricKind::Count), _) => vec![metric.to_string()],
        (Some(MetricKind::Duration), _) => {
            vec![format!("{metric} count"), format!("{metric} avg s")]
        }
        _ => vec![format!("{metric} count"), format!("{metric} sum")],
    }
}

fn table_values(metric: &str, stats: Option<&StatisticalSummary>) -> Vec<String> {
    let width = table_headings(metric).len();
    let Some(stats) = stats else {
        return vec![String::new(); width];
    };
    let count = stats.count.map(|c| c.to_string()).unwrap_or_default();
    match (MetricKind::of(metric), metric) {
        (_, "oServiceLevel" | "oCallbackServiceLevel") => vec![
            ratio(stats)
                .map(|r| format!("{:.1}", r * 100.0))
                .unwrap_or_default(),
            format!(
                "{}/{}",
                stats.numerator.unwrap_or_default(),
                stats.denominator.unwrap_or_default()
            ),
        ],
        (Some(MetricKind::Count), _) => vec![count],
        (Some(MetricKind::Duration), _) => vec![
            count,
            average(stats)
                .map(|a| format!("{:.1}", a / 1000.0))
                .unwrap_or_default(),
        ],
        _ => vec![count, stats.sum.map(|s| s.to_string()).unwrap_or_default()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response() -> AggregateQueryResponse {
        serde_json::from_value(serde_json::json!({"results": [
            {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"interval": "2024-05-01T00:00:00.000Z/2024-05-01T01:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 3}},
                    {"metric": "tHandle", "stats": {"count": 2, "sum": 3000.0, "min": 1000.0, "max": 2000.0}},
                    {"metric": "oServiceLevel", "stats": {"numerator": 1.0, "denominator": 2.0, "ratio": 0.5, "target": 0.8}}
                ]}]},
            {"group": {"queueId": "q2"}, "data": [
                {"interval": "2024-05-01T00:00:00.000Z/2024-05-01T01:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 1}}]}]}
        ]}))
        .unwrap()
    }

    fn table() -> Table {
        let group_by = ["queueId".to_string(), "mediaType".to_string()];
        let metrics = [
            "nOffered".to_string(),
            "tHandle".to_string(),
            "oServiceLevel".to_string(),
        ];
        Table::from_response(&response(), &group_by, &metrics)
    }

    #[test]
    fn csv_reads_back_with_averages_as_sum_over_count() {
        let mut out = Vec::new();
        table().write(OutputFormat::Csv, &mut out).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let headers = reader.headers().unwrap().clone();
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        let get = |r: &csv::StringRecord, c: &str| {
            r[headers.iter().position(|h| h == c).unwrap()].to_string()
        };
        assert_eq!(get(&records[0], "queueId"), "q1");
        assert_eq!(get(&records[0], "tHandle_avg_ms"), "1500.0");
        assert_eq!(get(&records[0], "oServiceLevel_ratio"), "0.5");
        assert_eq!(
            get(&records[1], "mediaType"),
            "",
            "a group without the key stays empty"
        );
        assert_eq!(get(&records[1], "tHandle_count"), "", "no zero-fill");
    }

    #[test]
    fn table_shows_seconds_and_percentages() {
        let mut out = Vec::new();
        table().write(OutputFormat::Table, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("tHandle avg s"), "{text}");
        assert!(text.contains("1.5"), "{text}");
        assert!(text.contains("50.0"), "{text}");
    }

    #[test]
    fn json_omits_missing_values() {
        let mut out = Vec::new();
        table().write(OutputFormat::Json, &mut out).unwrap();
        let rows: Vec<Map<String, Value>> = serde_json::from_slice(&out).unwrap();
        assert_eq!(rows[0]["nOffered_count"], 3);
        assert!(!rows[1].contains_key("tHandle_count"));
    }
}
