//! What the sync counts, and the Prometheus text of it and of the Genesys client's counters.
//! Like the client's events, each sync event is one type that both logs and counts, so a log
//! line and its counter never drift apart. Labels are bounded: dataset names come from the
//! config (validated identifiers), endpoints from the client's fixed list.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use genesys::Interval;
use genesys::client::{CountersSnapshot, EndpointCount, GenesysClient};
use jiff::Timestamp;

/// How a run of a dataset ended; the `runs` table and the metrics say the same words.
pub use warehouse::RunStatus;

#[derive(Debug, Default, Clone)]
struct DatasetCounts {
    windows_written: u64,
    rows_written: u64,
    windows_failed: u64,
    windows_abandoned: u64,
    windows_refetched: u64,
    skips_for_permission: u64,
    switches_to_jobs: u64,
    lake_windows_published: u64,
    lake_rows_published: u64,
    store_waits: u64,
    windows_rewritten: u64,
    windows_restated: u64,
    rows_restated: u64,
    last_run: Option<(RunStatus, Timestamp)>,
}

/// A per-dataset counter: its name, its help text and how to read it.
type Series = (&'static str, &'static str, fn(&DatasetCounts) -> u64);

/// The sync's counters, per dataset; shared by every pass of a process.
#[derive(Debug, Default)]
pub struct SyncMetrics {
    datasets: Mutex<BTreeMap<String, DatasetCounts>>,
}

impl SyncMetrics {
    fn count(&self, dataset: &str, work: impl FnOnce(&mut DatasetCounts)) {
        let mut datasets = self
            .datasets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match datasets.get_mut(dataset) {
            Some(counts) => work(counts),
            None => work(datasets.entry(dataset.to_string()).or_default()),
        }
    }

    fn snapshot(&self) -> BTreeMap<String, DatasetCounts> {
        self.datasets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Appends the sync's series (windows, rows, last run per dataset).
    pub fn render(&self, out: &mut String) {
        let datasets = self.snapshot();
        let series: [Series; 13] = [
            (
                "genesys_bi_sync_windows_written_total",
                "Windows written to the store (each in one transaction).",
                |c| c.windows_written,
            ),
            (
                "genesys_bi_sync_rows_written_total",
                "Rows written to the store by those windows.",
                |c| c.rows_written,
            ),
            (
                "genesys_bi_sync_windows_failed_total",
                "Windows that could not be fetched; the watermark stays before them and the next run retries them.",
                |c| c.windows_failed,
            ),
            (
                "genesys_bi_sync_windows_abandoned_total",
                "Windows left unwritten because the process was asked to stop.",
                |c| c.windows_abandoned,
            ),
            (
                "genesys_bi_sync_windows_refetched_total",
                "Windows fetched again from the start because their answer broke off midway (a cut connection).",
                |c| c.windows_refetched,
            ),
            (
                "genesys_bi_sync_skips_for_permission_total",
                "Passes that skipped the dataset because the API refused a permission its endpoint needs (the OAuth client's role lacks it).",
                |c| c.skips_for_permission,
            ),
            (
                "genesys_bi_sync_switches_to_jobs_total",
                "Passes in `auto` mode that moved the rest of their windows to async aggregate jobs.",
                |c| c.switches_to_jobs,
            ),
            (
                "genesys_bi_sync_store_waits_total",
                "Pauses before asking the store again because it was unavailable (down, restarting, the connection cut).",
                |c| c.store_waits,
            ),
            (
                "genesys_bi_sync_windows_rewritten_total",
                "Windows whose write the store's unavailability rolled back, written again whole once it answered.",
                |c| c.windows_rewritten,
            ),
            (
                "genesys_bi_sync_windows_restated_total",
                "Windows pulled again by a restatement (Genesys corrects data once it is 48 hours old and later).",
                |c| c.windows_restated,
            ),
            (
                "genesys_bi_sync_rows_restated_total",
                "Rows those restatements changed: added, removed or given other values.",
                |c| c.rows_restated,
            ),
            (
                "genesys_bi_lake_windows_published_total",
                "Windows published to the Parquet lake after the store committed them.",
                |c| c.lake_windows_published,
            ),
            (
                "genesys_bi_lake_rows_published_total",
                "Rows in those windows' Parquet files.",
                |c| c.lake_rows_published,
            ),
        ];
        for (name, help, value) in series {
            header(out, name, help, "counter");
            for (dataset, counts) in &datasets {
                let _ = writeln!(
                    out,
                    "{name}{{dataset=\"{}\"}} {}",
                    escape(dataset),
                    value(counts)
                );
            }
        }
        header(
            out,
            "genesys_bi_sync_last_run_status",
            "How the dataset's last run in this process ended: 1 for its status, 0 for the others.",
            "gauge",
        );
        for (dataset, counts) in &datasets {
            if let Some((last, _)) = counts.last_run {
                for status in RunStatus::FINISHED {
                    let _ = writeln!(
                        out,
                        "genesys_bi_sync_last_run_status{{dataset=\"{}\",status=\"{}\"}} {}",
                        escape(dataset),
                        status.as_str(),
                        u8::from(status == last)
                    );
                }
            }
        }
        header(
            out,
            "genesys_bi_sync_last_run_end_timestamp_seconds",
            "When the dataset's last run in this process ended (Unix time).",
            "gauge",
        );
        for (dataset, counts) in &datasets {
            if let Some((_, ended)) = counts.last_run {
                let _ = writeln!(
                    out,
                    "genesys_bi_sync_last_run_end_timestamp_seconds{{dataset=\"{}\"}} {}",
                    escape(dataset),
                    ended.as_second()
                );
            }
        }
    }
}

/// One sync event: logs and counts.
pub trait SyncEvent {
    fn emit(self, metrics: &SyncMetrics);
}

pub struct WindowWritten<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
    pub rows: usize,
}

impl SyncEvent for WindowWritten<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::debug!(dataset = self.dataset, window = %self.window, rows = self.rows, "Wrote a window.");
        metrics.count(self.dataset, |c| {
            c.windows_written += 1;
            c.rows_written += self.rows as u64;
        });
    }
}

pub struct WindowFailed<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
    pub error: &'a str,
}

impl SyncEvent for WindowFailed<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::warn!(dataset = self.dataset, window = %self.window, error = self.error, "Window failed; the watermark stays before it.");
        metrics.count(self.dataset, |c| c.windows_failed += 1);
    }
}

pub struct WindowAbandoned<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
}

impl SyncEvent for WindowAbandoned<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::debug!(dataset = self.dataset, window = %self.window, "Stopping: window abandoned before its write.");
        metrics.count(self.dataset, |c| c.windows_abandoned += 1);
    }
}

/// The API refused the dataset a permission: the pass skips it and syncs the others.
pub struct DatasetSkipped<'a> {
    pub dataset: &'a str,
    pub reason: &'a str,
}

impl SyncEvent for DatasetSkipped<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::warn!(
            dataset = self.dataset,
            reason = self.reason,
            "Skipping the dataset: the OAuth client's role lacks a permission it needs."
        );
        metrics.count(self.dataset, |c| c.skips_for_permission += 1);
    }
}

/// A window's answer broke off midway: its write rolled back, and it is fetched again.
pub struct WindowRefetched<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
    /// The fetch that broke off (1 for the first).
    pub attempt: u32,
    pub reason: &'a str,
}

impl SyncEvent for WindowRefetched<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::info!(
            dataset = self.dataset,
            window = %self.window,
            attempt = self.attempt,
            reason = self.reason,
            "Fetching the window again: its answer broke off midway."
        );
        metrics.count(self.dataset, |c| c.windows_refetched += 1);
    }
}

/// The store is unavailable (down, restarting, the connection cut): the pass pauses before
/// asking it again. Logged once per pause, as the line that tells the user what it waits for.
pub struct StoreUnavailable<'a> {
    pub dataset: &'a str,
    /// Names the store (host and port) and why it is unavailable; never a password.
    pub error: &'a warehouse::StoreError,
    /// This outage's pauses so far, this one included.
    pub nth: u32,
    pub pause: std::time::Duration,
}

impl SyncEvent for StoreUnavailable<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::warn!(
            dataset = self.dataset,
            "Waiting for the store: {}; next attempt in {} (pause {})",
            self.error,
            seconds(self.pause),
            self.nth
        );
        metrics.count(self.dataset, |c| c.store_waits += 1);
    }
}

/// The store answers again after an outage: the pass goes on where it was. Logged only (the
/// pauses are what is counted).
pub struct StoreBack<'a> {
    pub dataset: &'a str,
    pub after: std::time::Duration,
    pub pauses: u32,
}

impl SyncEvent for StoreBack<'_> {
    fn emit(self, _metrics: &SyncMetrics) {
        tracing::warn!(
            dataset = self.dataset,
            "The store answers again after {} ({} pause(s)); resuming.",
            seconds(self.after),
            self.pauses
        );
    }
}

/// A window's write was rolled back because the store became unavailable: once it answers,
/// the window is fetched and written again whole.
pub struct WindowRewritten<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
    pub reason: &'a str,
}

impl SyncEvent for WindowRewritten<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::info!(
            dataset = self.dataset,
            window = %self.window,
            reason = self.reason,
            "The store cut the window's write off; nothing of it was kept, and it is written again whole once the store answers (unless a stop comes first)."
        );
        metrics.count(self.dataset, |c| c.windows_rewritten += 1);
    }
}

/// A restatement wrote a window again; `rows_changed` of its rows differ from what was stored.
pub struct WindowRestated<'a> {
    pub dataset: &'a str,
    pub window: &'a Interval,
    pub rows_changed: u64,
}

impl SyncEvent for WindowRestated<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        if self.rows_changed > 0 {
            tracing::info!(
                dataset = self.dataset,
                window = %self.window,
                rows_changed = self.rows_changed,
                "A restatement changed stored rows: Genesys corrected the window since it was pulled."
            );
        }
        metrics.count(self.dataset, |c| {
            c.windows_restated += 1;
            c.rows_restated += self.rows_changed;
        });
    }
}

/// `3.5 s`.
fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// A dataset's new windows published to the lake (once per dataset and pass).
pub struct LakePublished<'a> {
    pub dataset: &'a str,
    pub windows: usize,
    pub rows: u64,
    /// Where the lake is, as messages name it (never a credential).
    pub lake: &'a str,
}

impl SyncEvent for LakePublished<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::info!(
            dataset = self.dataset,
            windows = self.windows,
            rows = self.rows,
            lake = self.lake,
            "Published the dataset's new windows to the lake."
        );
        metrics.count(self.dataset, |c| {
            c.lake_windows_published += self.windows as u64;
            c.lake_rows_published += self.rows;
        });
    }
}

/// `auto` mode found a window too large for the synchronous query: the rest of the pass goes
/// through async aggregate jobs.
pub struct SwitchedToJobs<'a> {
    pub dataset: &'a str,
    pub reason: &'a str,
}

impl SyncEvent for SwitchedToJobs<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::info!(
            dataset = self.dataset,
            reason = self.reason,
            "Switching the dataset's windows to async aggregate jobs."
        );
        metrics.count(self.dataset, |c| c.switches_to_jobs += 1);
    }
}

pub struct RunFinished<'a> {
    pub dataset: &'a str,
    pub status: RunStatus,
}

impl SyncEvent for RunFinished<'_> {
    fn emit(self, metrics: &SyncMetrics) {
        tracing::info!(
            dataset = self.dataset,
            status = self.status.as_str(),
            "Dataset run finished."
        );
        let now = Timestamp::now();
        metrics.count(self.dataset, |c| c.last_run = Some((self.status, now)));
    }
}

/// The Genesys client's series: requests by endpoint and answer, 429s, retries, budget waits.
pub fn render_client(
    out: &mut String,
    totals: &CountersSnapshot,
    by_endpoint: &[EndpointCount],
    budget_per_minute: u32,
) {
    header(
        out,
        "genesys_bi_genesys_requests_total",
        "Requests to Genesys Cloud by endpoint and answer (HTTP status, or no_response), retries and logins included.",
        "counter",
    );
    for count in by_endpoint {
        let _ = writeln!(
            out,
            "genesys_bi_genesys_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}",
            count.endpoint.label(),
            count.answer,
            count.requests
        );
    }
    let totals_series = [
        (
            "genesys_bi_genesys_rate_limited_total",
            "429 answers from Genesys Cloud; each pauses the whole rate budget for its Retry-After.",
            totals.rate_limited,
        ),
        (
            "genesys_bi_genesys_retries_total",
            "Requests retried (5xx, transport failures, cut bodies, 429s, re-logins).",
            totals.retries,
        ),
        (
            "genesys_bi_genesys_token_refreshes_total",
            "Access tokens obtained.",
            totals.tokens_refreshed,
        ),
    ];
    for (name, help, value) in totals_series {
        header(out, name, help, "counter");
        let _ = writeln!(out, "{name} {value}");
    }
    header(
        out,
        "genesys_bi_genesys_budget_wait_seconds_total",
        "Seconds requests waited for the shared rate budget (its pace and 429 pauses), summed over requests.",
        "counter",
    );
    let _ = writeln!(
        out,
        "genesys_bi_genesys_budget_wait_seconds_total {}",
        totals.budget_wait.as_secs_f64()
    );
    header(
        out,
        "genesys_bi_genesys_budget_requests_per_minute",
        "The rate budget's current pace (lowered when Genesys reports a lower limit).",
        "gauge",
    );
    let _ = writeln!(
        out,
        "genesys_bi_genesys_budget_requests_per_minute {budget_per_minute}"
    );
}

/// Now minus each dataset's `complete_through`, read from the store at scrape time. The BI
/// server renders the same series from its own reads; a process without one uses this.
pub fn render_watermark_lag(
    out: &mut String,
    marks: &[(String, Option<Timestamp>)],
    now: Timestamp,
) {
    header(
        out,
        "genesys_bi_watermark_lag_seconds",
        "Now minus the dataset's complete_through.",
        "gauge",
    );
    for (dataset, mark) in marks {
        if let Some(mark) = mark {
            let lag = now.duration_since(*mark).as_secs_f64();
            let _ = writeln!(
                out,
                "genesys_bi_watermark_lag_seconds{{dataset=\"{}\"}} {lag}",
                escape(dataset)
            );
        }
    }
}

/// The sync side of a process's metrics: the client's counters and the sync's.
#[derive(Debug, Clone)]
pub struct SyncExporter {
    pub client: GenesysClient,
    pub metrics: Arc<SyncMetrics>,
}

impl SyncExporter {
    pub fn render(&self) -> String {
        let mut out = String::new();
        render_client(
            &mut out,
            &self.client.counters(),
            &self.client.requests_by_endpoint(),
            self.client.budget().per_minute(),
        );
        self.metrics.render(&mut out);
        out
    }
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Interval {
        "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z"
            .parse()
            .unwrap()
    }

    #[test]
    fn events_count_per_dataset_and_render_as_prometheus_text() {
        let metrics = SyncMetrics::default();
        let window = window();
        for rows in [10, 32] {
            WindowWritten {
                dataset: "queue_performance",
                window: &window,
                rows,
            }
            .emit(&metrics);
        }
        WindowFailed {
            dataset: "queue_performance",
            window: &window,
            error: "boom",
        }
        .emit(&metrics);
        WindowRefetched {
            dataset: "queue_performance",
            window: &window,
            attempt: 1,
            reason: "connection reset",
        }
        .emit(&metrics);
        SwitchedToJobs {
            dataset: "agent_performance",
            reason: "a window returned 250000 rows",
        }
        .emit(&metrics);
        RunFinished {
            dataset: "queue_performance",
            status: RunStatus::Partial,
        }
        .emit(&metrics);
        LakePublished {
            dataset: "queue_performance",
            windows: 3,
            rows: 40,
            lake: "s3://bi/genesys",
        }
        .emit(&metrics);
        let mut out = String::new();
        metrics.render(&mut out);
        for line in [
            "genesys_bi_sync_windows_written_total{dataset=\"queue_performance\"} 2",
            "genesys_bi_sync_rows_written_total{dataset=\"queue_performance\"} 42",
            "genesys_bi_sync_windows_failed_total{dataset=\"queue_performance\"} 1",
            "genesys_bi_sync_windows_abandoned_total{dataset=\"queue_performance\"} 0",
            "genesys_bi_sync_windows_refetched_total{dataset=\"queue_performance\"} 1",
            "genesys_bi_sync_switches_to_jobs_total{dataset=\"agent_performance\"} 1",
            "genesys_bi_sync_switches_to_jobs_total{dataset=\"queue_performance\"} 0",
            "genesys_bi_lake_windows_published_total{dataset=\"queue_performance\"} 3",
            "genesys_bi_lake_rows_published_total{dataset=\"queue_performance\"} 40",
            "genesys_bi_sync_last_run_status{dataset=\"queue_performance\",status=\"partial\"} 1",
            "genesys_bi_sync_last_run_status{dataset=\"queue_performance\",status=\"ok\"} 0",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing in:\n{out}");
        }
    }

    #[test]
    fn lag_is_seconds_from_the_watermark_and_absent_without_one() {
        let now: Timestamp = "2024-05-02T01:00:00Z".parse().unwrap();
        let marks = vec![
            (
                "a".to_string(),
                Some("2024-05-02T00:00:00Z".parse().unwrap()),
            ),
            ("b".to_string(), None),
        ];
        let mut out = String::new();
        render_watermark_lag(&mut out, &marks, now);
        assert!(
            out.contains("genesys_bi_watermark_lag_seconds{dataset=\"a\"} 3600\n"),
            "{out}"
        );
        assert!(!out.contains("dataset=\"b\""), "{out}");
    }
}
