//! Prometheus text exposition, hand-rolled: a few counters and one histogram need no crate.
//! Labels are bounded: routes are the router's templates, datasets the store's own names.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    total: u64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    rows: BTreeMap<String, u64>,
}

/// Series another part of the process renders (the sync's, in `genesys-bi run --serve`),
/// appended to `/metrics` at scrape time. The server knows nothing of what they count.
pub type ExtraMetrics = std::sync::Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    fn with<T>(&self, work: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        work(&mut inner)
    }

    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.with(|m| {
            *m.requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
            let h = m.latency.entry(route.to_string()).or_default();
            if h.counts.is_empty() {
                h.counts = vec![0; BUCKETS.len()];
            }
            let seconds = elapsed.as_secs_f64();
            for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
            h.sum += seconds;
            h.total += 1;
        });
    }

    pub fn rows_served(&self, dataset: &str, rows: u64) {
        self.with(|m| *m.rows.entry(dataset.to_string()).or_default() += rows);
    }

    /// The text format; `lags` are seconds from each dataset's watermark to now.
    pub fn render(&self, lags: &[(String, Option<f64>)]) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP genesys_bi_http_requests_total HTTP requests answered.\n");
            out.push_str("# TYPE genesys_bi_http_requests_total counter\n");
            for ((method, route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "genesys_bi_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
            out.push_str(
                "# HELP genesys_bi_http_request_duration_seconds Time to answer (streamed bodies: to the first byte).\n",
            );
            out.push_str("# TYPE genesys_bi_http_request_duration_seconds histogram\n");
            for (route, h) in &m.latency {
                let route = escape(route);
                for (count, bound) in h.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "genesys_bi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "genesys_bi_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.total
                );
                let _ = writeln!(
                    out,
                    "genesys_bi_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "genesys_bi_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.total
                );
            }
            out.push_str("# HELP genesys_bi_rows_served_total Data rows sent to clients.\n");
            out.push_str("# TYPE genesys_bi_rows_served_total counter\n");
            for (dataset, n) in &m.rows {
                let _ = writeln!(
                    out,
                    "genesys_bi_rows_served_total{{dataset=\"{}\"}} {n}",
                    escape(dataset)
                );
            }
        });
        out.push_str(
            "# HELP genesys_bi_watermark_lag_seconds Now minus the dataset's complete_through.\n",
        );
        out.push_str("# TYPE genesys_bi_watermark_lag_seconds gauge\n");
        for (dataset, lag) in lags {
            if let Some(lag) = lag {
                let _ = writeln!(
                    out,
                    "genesys_bi_watermark_lag_seconds{{dataset=\"{}\"}} {lag}",
                    escape(dataset)
                );
            }
        }
        out
    }
}
