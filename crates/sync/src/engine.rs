//! One dataset's run: ensure its table, plan the windows the watermark and lookback call for,
//! fetch them concurrently under the client's shared budget, and write each in one transaction,
//! page by page as its answer arrives (every mode), the pages of all windows in flight sharing
//! one [`RowBudget`]: memory is bounded by the budget, not by the org.
//!
//! Stopping (SIGTERM, Ctrl-C: [`Engine::stop`]) starts no new window and abandons the fetches
//! in flight (their HTTP requests are dropped, and the pages their windows' writes took so far
//! roll back; an async job already submitted is left to expire on the Genesys side), but a
//! window whose last page was fetched is awaited to its commit: its write runs on a blocking
//! thread (`spawn_blocking`), which no dropped future could interrupt anyway, and its one
//! transaction (rows + window log + watermark) commits whole. Dropping the whole future instead
//! detaches such a write, which still runs to its commit (tokio's runtime waits for blocking
//! tasks when it shuts down); killing the process mid-transaction leaves nothing
//! either, as SQLite rolls the uncommitted transaction back. A killed or stopped run resumes
//! with no gap and no duplicate.

use std::future::Future;
use std::sync::Arc;

use futures_util::StreamExt;
use genesys::Interval;
use genesys::aggregates::AggregationQuery;
use jiff::Timestamp;
use warehouse::{AggregateRow, DatasetChange, LeaseToken, Store, TableSpec, WindowWrite};

pub use crate::config::QueryMode;
use crate::config::{DatasetSpec, DirectoryName};
use crate::metrics::{
    DatasetSkipped, SwitchedToJobs, SyncEvent, SyncMetrics, WindowAbandoned, WindowFailed,
    WindowRefetched, WindowRestated, WindowRewritten, WindowWritten,
};
use crate::plan::{PlanRequest, plan_windows};
use crate::record_pages::{self, RecordSender};
use crate::stop::Stop;
use crate::store_wait::{StoreOutage, StoreWait, Waited};

pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Where aggregates come from: the Genesys client (or anything that answers like it), decoded
/// into the rows of `table`.
pub trait AggregateSource: Send + Sync + 'static {
    /// The synchronous aggregates query.
    fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> impl Future<Output = Result<Vec<AggregateRow>, SourceError>> + Send;

    /// The synchronous query's rows in pages of at most [`PageSender::page_rows`], each handed
    /// to `pages` as the response arrives, so memory holds a page, not the response. A refusal
    /// as too large is [`ResponseTooLarge`], before any page. By default, the whole response.
    fn stream_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
        pages: PageSender,
    ) -> impl Future<Output = Result<(), SourceError>> + Send {
        async move { pages.send(self.fetch_rows(query, table).await?).await }
    }

    /// The same rows through an async aggregates job (submit, wait, page by cursor, delete).
    fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> impl Future<Output = Result<Vec<AggregateRow>, SourceError>> + Send;

    /// The job's rows page by page, each handed to `pages` as soon as it is decoded, so no more
    /// than a page or two of a window is in memory. By default, the whole job as one page.
    fn stream_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
        pages: PageSender,
    ) -> impl Future<Output = Result<(), SourceError>> + Send {
        async move {
            pages
                .send(self.fetch_rows_by_job(query, table).await?)
                .await
        }
    }

    /// The records of a record dataset (`warehouse::records`) that start in `window`, through
    /// the details jobs of `table`'s kind, handed to `pages` a page at a time (the API's data
    /// availability noted before the first). A source without details (a test's fake of
    /// aggregates) refuses.
    fn stream_records(
        &self,
        table: &TableSpec,
        window: Interval,
        pages: RecordSender,
    ) -> impl Future<Output = Result<(), SourceError>> + Send {
        drop(pages);
        let refusal = format!(
            "this source has no {} records for dataset `{}` ({window})",
            table.definition.kind, table.name
        );
        async move { Err(SourceError::from(refusal)) }
    }
}

/// Pages of a window's rows in flight from its fetch to its write. One page queued: a window's
/// fetch runs at most a page ahead of its write.
const PAGES_QUEUED: usize = 1;

/// The most rows in one page handed to a write (fewer when the budget is small; see
/// [`RowBudget::page_rows`]).
const MAX_PAGE_ROWS: usize = 10_000;

/// Rows decoded but not yet written, shared by every window an engine has in flight: a window's
/// fetch waits for room before it hands a page on, and the write gives the room back once it
/// has stored the page. So memory is bounded by the budget (plus a page being decoded per
/// window), however large the org and whatever the concurrency.
#[derive(Clone)]
pub struct RowBudget {
    rows: usize,
    room: Arc<tokio::sync::Semaphore>,
}

impl RowBudget {
    /// Rows at most in flight at once. The default, 50,000 rows (some 20 MB), keeps a backfill
    /// of any org well under 150 MB while pages stay large enough (thousands of rows) that the
    /// store writes at full speed.
    pub const DEFAULT_ROWS: usize = 50_000;

    pub fn new(rows: usize) -> Self {
        let rows = rows.clamp(1, u32::MAX as usize);
        Self {
            rows,
            room: Arc::new(tokio::sync::Semaphore::new(rows)),
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Rows handed to a write and not yet stored.
    pub fn in_flight(&self) -> usize {
        self.rows - self.room.available_permits()
    }

    /// The page size for `windows` windows in flight. Each window holds at most two pages (one
    /// being written, one queued), so with pages of a `2 × windows`-th of the budget, every
    /// window can always get room for its next page: no window waits for room another one
    /// holds while waiting for the store.
    pub fn page_rows(&self, windows: usize) -> usize {
        (self.rows / (2 * windows.max(1))).clamp(1, MAX_PAGE_ROWS)
    }
}

impl Default for RowBudget {
    fn default() -> Self {
        Self::new(Self::DEFAULT_ROWS)
    }
}

/// What the fetch of a window tells its write.
enum PageMessage {
    /// Rows, with the budget's room they take until written.
    Page(Vec<AggregateRow>, tokio::sync::OwnedSemaphorePermit),
    /// Every page was sent: the write may commit.
    End,
}

/// The sending end of a window's pages (see [`AggregateSource::stream_rows`]).
pub struct PageSender {
    channel: tokio::sync::mpsc::Sender<PageMessage>,
    budget: RowBudget,
    page_rows: usize,
    /// Rows handed on so far (the query's size, for `auto` mode's switch to jobs).
    sent: Arc<std::sync::atomic::AtomicUsize>,
}

impl PageSender {
    /// The most rows a page should hold; [`PageSender::send`] cuts larger ones.
    pub fn page_rows(&self) -> usize {
        self.page_rows
    }

    /// Hands decoded rows to the window's write, a page at a time, each waiting while the write
    /// is behind and until the engine's [`RowBudget`] has room for it.
    pub async fn send(&self, mut rows: Vec<AggregateRow>) -> Result<(), SourceError> {
        while rows.len() > self.page_rows {
            let rest = rows.split_off(self.page_rows);
            self.send_page(rows).await?;
            rows = rest;
        }
        self.send_page(rows).await
    }

    async fn send_page(&self, rows: Vec<AggregateRow>) -> Result<(), SourceError> {
        let stopped = || SourceError::from("the window's write stopped taking pages");
        // The queue's slot first, then the room: a window waiting for its write holds no room
        // beyond the pages it already handed on.
        let slot = self.channel.reserve().await.map_err(|_| stopped())?;
        let room = Arc::clone(&self.budget.room)
            .acquire_many_owned(rows.len() as u32)
            .await
            .map_err(|_| stopped())?;
        self.sent
            .fetch_add(rows.len(), std::sync::atomic::Ordering::Relaxed);
        slot.send(PageMessage::Page(rows, room));
        Ok(())
    }
}

/// The receiving end, read on the write's blocking thread: the pages, then the end. A page's
/// room in the budget is given back when the write asks for the next one (it has stored the
/// page by then). A channel that closes without the end (the fetch failed, or was dropped on a
/// stop) is an error, so the write rolls back rather than commit part of a window.
fn received_pages(
    mut pages: tokio::sync::mpsc::Receiver<PageMessage>,
) -> impl Iterator<Item = warehouse::Result<Vec<AggregateRow>>> {
    let mut ended = false;
    let mut written: Option<tokio::sync::OwnedSemaphorePermit> = None;
    std::iter::from_fn(move || {
        drop(written.take());
        if ended {
            return None;
        }
        match pages.blocking_recv() {
            Some(PageMessage::Page(rows, room)) => {
                written = Some(room);
                Some(Ok(rows))
            }
            Some(PageMessage::End) => {
                ended = true;
                None
            }
            None => Some(Err(warehouse::StoreError::PagesStopped(
                "the fetch ended before its last page".to_string(),
            ))),
        }
    })
}

/// A synchronous query the API refused as too large for one response: the window goes to an
/// async job instead.
#[derive(Debug, thiserror::Error)]
#[error("the response is too large for a synchronous query: {0}")]
pub struct ResponseTooLarge(pub String);

/// The API refused the dataset's requests for a permission the OAuth client's role lacks: no
/// window of it can be fetched until the role changes, so the dataset is skipped (the others
/// sync) instead of failing each window.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PermissionMissing(pub String);

/// An answer that broke off after some of its rows were handed on (a connection cut midway):
/// the window's write rolls back and the engine fetches the window again, up to
/// [`WINDOW_ATTEMPTS`] times, since the source cannot resume an answer in the middle.
#[derive(Debug, thiserror::Error)]
#[error("the answer broke off midway: {0}")]
pub struct AnswerInterrupted(pub String);

/// Fetches of one window whose answer broke off midway, before the window fails for this run.
pub const WINDOW_ATTEMPTS: u32 = 4;

/// Told about progress as windows complete (a progress bar, logs, metrics).
pub trait Progress: Send + Sync {
    fn planned(&self, _dataset: &str, _windows: usize) {}
    fn window_written(&self, _dataset: &str, _window: &Interval, _rows: usize) {}
    fn window_failed(&self, _dataset: &str, _window: &Interval, _error: &str) {}
}

/// Reports nothing.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the watermark minus the lookback up to now minus the settle delay.
    Incremental,
    /// An explicit range (still cut at now minus the settle delay).
    Backfill { from: Timestamp, to: Timestamp },
    /// A restatement: what is stored of the last `restate` + `restate_every` again, each
    /// window's changed rows counted (Genesys corrects data once it is 48 hours old and
    /// later): with a restatement every `restate_every`, each bucket is pulled once more after
    /// it is `restate` old. Never past the watermark: what is not stored yet is the
    /// incremental pass's.
    Restate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetReport {
    pub dataset: String,
    pub change: DatasetChange,
    pub windows_planned: usize,
    pub windows_written: usize,
    /// Of those, fetched through async aggregate jobs.
    pub windows_by_job: usize,
    pub rows_written: usize,
    pub failures: Vec<(Interval, String)>,
    pub complete_through: Option<Timestamp>,
    /// Windows left unwritten because a stop was asked for (fetch dropped or never started).
    pub windows_abandoned: usize,
    /// Where the watermark stops short of the range this pass covered: from the watermark to
    /// the next window already stored (or the end of the range). A window that failed, or a
    /// range left out before a backfill's `from`.
    pub gap: Option<Interval>,
    /// Why the dataset was skipped (the API refused it a permission), if it was.
    pub skipped: Option<String>,
    /// A restatement: the rows its windows changed.
    pub rows_changed: Option<u64>,
    /// Record datasets: windows written but not complete yet, because Genesys does not have
    /// all their data yet; the next runs pull them again.
    pub windows_waiting: usize,
}

/// The first stretch after `watermark`, up to `reach`, that no stored window covers.
pub fn first_gap(
    watermark: Option<Timestamp>,
    reach: Option<Timestamp>,
    stored: &[warehouse::WindowRecord],
) -> Option<Interval> {
    let (start, reach) = (watermark?, reach?);
    // A window stored at the watermark that is not final yet (a record dataset's window with
    // a record still open) is no gap: it is there, and pulled again until it is final.
    let end = stored
        .iter()
        .filter(|record| {
            record.window.start > start || (record.window.start == start && !record.settled)
        })
        .map(|record| record.window.start)
        .min()
        .map_or(reach, |next| next.min(reach));
    (end > start).then(|| Interval::new(start, end))
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("dataset `{dataset}`: store: {source}")]
    Store {
        dataset: String,
        source: warehouse::StoreError,
    },
    #[error("dataset `{dataset}`: planning windows: {source}")]
    Plan {
        dataset: String,
        source: crate::plan::PlanError,
    },
    #[error("dataset `{dataset}`: the store task stopped unexpectedly: {reason}")]
    StoreTask { dataset: String, reason: String },
}

pub struct Engine<Src, St> {
    pub source: Arc<Src>,
    pub store: Arc<St>,
    /// Windows fetched at once; the client's rate budget paces them.
    pub concurrency: usize,
    pub progress: Arc<dyn Progress>,
    /// In `auto` mode, a window returning more rows than this sends the rest to async jobs
    /// (one job is one request that pages on the server, instead of one huge response).
    pub job_threshold_rows: usize,
    /// Windows written, failed and abandoned, per dataset (shared with the process's metrics).
    pub metrics: Arc<SyncMetrics>,
    /// Once set, no new window starts and fetches in flight are abandoned; writes commit.
    pub stop: Stop,
    /// Rows decoded and not yet written, shared by all windows in flight. An engine syncs one
    /// dataset at a time (as the runner does): pages are sized for `concurrency` windows.
    pub budget: RowBudget,
    /// The store outage being waited out, if any, shared by every window and pass of the
    /// engine (see [`crate::store_wait`]).
    pub outage: Arc<StoreOutage>,
}

/// Per dataset and run: whether windows go to async jobs now, and the run that writes them.
struct FetchPlan {
    mode: QueryMode,
    use_jobs: std::sync::atomic::AtomicBool,
    /// Set once a window is refused a permission: the dataset's other windows are not fetched.
    forbidden: std::sync::atomic::AtomicBool,
    run_id: Option<i64>,
    /// Every window is written under this lease, when there is one (see [`crate::runner`]).
    lease: Option<LeaseToken>,
    /// A restatement: the rows its windows changed so far (writes count them).
    changed: Option<std::sync::atomic::AtomicU64>,
    /// Record windows written but not final yet.
    waiting: std::sync::atomic::AtomicUsize,
}

impl FetchPlan {
    fn new(mode: QueryMode, run_id: Option<i64>, lease: Option<LeaseToken>) -> Self {
        Self {
            mode,
            use_jobs: std::sync::atomic::AtomicBool::new(mode == QueryMode::Job),
            forbidden: std::sync::atomic::AtomicBool::new(false),
            run_id,
            lease,
            changed: None,
            waiting: Default::default(),
        }
    }

    /// Writes count the rows they change.
    fn counting_changes(self) -> Self {
        Self {
            changed: Some(Default::default()),
            ..self
        }
    }

    fn rows_changed(&self) -> Option<u64> {
        (self.changed.as_ref()).map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn jobs(&self) -> bool {
        self.use_jobs.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn switch_to_jobs(&self, dataset: &str, why: &str, metrics: &SyncMetrics) {
        if self.mode == QueryMode::Auto
            && !self
                .use_jobs
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            SwitchedToJobs {
                dataset,
                reason: why,
            }
            .emit(metrics);
        }
    }
}

impl<Src, St> Engine<Src, St> {
    /// How this engine's work waits out an unavailable store: until a stop, counted in its
    /// metrics.
    pub fn store_wait(&self) -> StoreWait {
        StoreWait::new(
            Arc::clone(&self.outage),
            self.stop.clone(),
            Arc::clone(&self.metrics),
        )
    }
}

impl<Src: AggregateSource, St: Store + 'static> Engine<Src, St> {
    pub fn new(source: Arc<Src>, store: Arc<St>) -> Self {
        Self {
            source,
            store,
            concurrency: 4,
            progress: Arc::new(Silent),
            job_threshold_rows: 200_000,
            metrics: Arc::new(SyncMetrics::default()),
            stop: Stop::never(),
            budget: RowBudget::default(),
            outage: Arc::default(),
        }
    }

    /// Plans without fetching: the windows a run would pull now.
    pub fn plan(
        &self,
        spec: &DatasetSpec,
        now: Timestamp,
        mode: Mode,
    ) -> Result<Vec<Interval>, SyncError> {
        let store_error = |source| SyncError::Store {
            dataset: spec.name.clone(),
            source,
        };
        let until = now.checked_sub(spec.settle).unwrap_or(now);
        let (from, until) = match mode {
            Mode::Incremental => {
                let mark = self.store.watermark(&spec.name).map_err(store_error)?;
                let start = spec.backfill_from(now);
                let from = mark.map_or(start, |m| {
                    m.checked_sub(spec.lookback).unwrap_or(m).max(start)
                });
                (from, until)
            }
            Mode::Backfill { from, to } => (from, to.min(until)),
            Mode::Restate => {
                let mark = self.store.watermark(&spec.name).map_err(store_error)?;
                let start = spec.backfill_from(now);
                let reach = match spec.restate.is_zero() {
                    true => spec.restate,
                    false => spec.restate + spec.restate_every,
                };
                let from = now.checked_sub(reach).unwrap_or(now).max(start);
                (from, mark.map_or(from, |mark| mark.min(until)))
            }
        };
        let request = PlanRequest {
            window: spec.window,
            granularity: &spec.granularity,
            time_zone: spec.time_zone.zone(),
            from,
            until,
        };
        let mut windows = plan_windows(&request).map_err(|source| SyncError::Plan {
            dataset: spec.name.clone(),
            source,
        })?;
        if spec.kind.holds_records() && mode == Mode::Incremental {
            // A record still open (a conversation in progress, an agent's current status) is
            // pulled again with its window, however long ago it started, until it closes.
            let open = self
                .store
                .open_record_windows(&spec.name)
                .map_err(store_error)?;
            let first = windows.first().map(|w| w.start);
            windows.extend(
                open.into_iter()
                    .filter(|w| first.is_none_or(|f| w.start < f)),
            );
            windows.sort_by_key(|w| w.start);
        }
        Ok(windows)
    }

    pub async fn sync_dataset(
        &self,
        spec: &DatasetSpec,
        now: Timestamp,
        mode: Mode,
    ) -> Result<DatasetReport, SyncError> {
        self.sync_dataset_in_run(spec, now, mode, None).await
    }

    /// Like [`Engine::sync_dataset`], logging each window as written by run `run_id`.
    pub async fn sync_dataset_in_run(
        &self,
        spec: &DatasetSpec,
        now: Timestamp,
        mode: Mode,
        run_id: Option<i64>,
    ) -> Result<DatasetReport, SyncError> {
        self.sync_dataset_leased(spec, now, mode, run_id, None)
            .await
    }

    /// Like [`Engine::sync_dataset_in_run`], every window written under `lease`: once the
    /// lease lapses or moves on, the next write is refused and the pass ends with
    /// [`warehouse::StoreError::LeaseLost`]. While the store is unavailable (restarting), each
    /// call to it waits and is made again (see [`crate::store_wait`]); a window whose write it
    /// cut off is fetched and written again whole.
    pub async fn sync_dataset_leased(
        &self,
        spec: &DatasetSpec,
        now: Timestamp,
        mode: Mode,
        run_id: Option<i64>,
        lease: Option<LeaseToken>,
    ) -> Result<DatasetReport, SyncError> {
        let name = spec.name.clone();
        let store_error = |source| SyncError::Store {
            dataset: name.clone(),
            source,
        };
        let waits = self.store_wait();
        let table = spec.table_spec();
        let change = waits
            .retry(&name, async || {
                self.store.ensure_dataset(&table).map_err(store_error)
            })
            .await?;
        let start = match mode {
            Mode::Incremental | Mode::Restate => spec.backfill_from(now),
            Mode::Backfill { from, .. } => from.min(spec.backfill_from(now)),
        };
        let grid_start = spec
            .window
            .floor(start, spec.time_zone.zone())
            .map(|z| z.timestamp())
            .unwrap_or(start);
        waits
            .retry(&name, async || {
                (self.store.initialize_watermark(&spec.name, grid_start)).map_err(store_error)
            })
            .await?;
        let windows = waits
            .retry(&name, async || self.plan(spec, now, mode))
            .await?;
        let reach = windows.iter().map(|window| window.end).max();
        self.progress.planned(&spec.name, windows.len());
        let mut report = DatasetReport {
            dataset: spec.name.clone(),
            change,
            windows_planned: windows.len(),
            windows_written: 0,
            rows_written: 0,
            windows_by_job: 0,
            failures: Vec::new(),
            complete_through: None,
            gap: None,
            windows_abandoned: 0,
            skipped: None,
            rows_changed: None,
            windows_waiting: 0,
        };
        let plan = FetchPlan::new(spec.query_mode, run_id, lease);
        let plan = match mode {
            Mode::Restate => plan.counting_changes(),
            Mode::Incremental | Mode::Backfill { .. } => plan,
        };
        let mut results = futures_util::stream::iter(windows)
            .map(|window| self.pull_window(spec, window, &plan))
            .buffer_unordered(self.concurrency.max(1));
        while let Some((window, outcome)) = results.next().await {
            match outcome {
                Ok((rows, by_job)) => {
                    report.windows_written += 1;
                    report.windows_by_job += usize::from(by_job);
                    report.rows_written += rows;
                    WindowWritten {
                        dataset: &spec.name,
                        window: &window,
                        rows,
                    }
                    .emit(&self.metrics);
                    self.progress.window_written(&spec.name, &window, rows);
                }
                Err(WindowError::Store(e)) => return Err(e),
                // `pull_window` turns `TooLarge` into a job and `Interrupted` into a new fetch
                // or, at the last attempt, `Fetch`: they can't reach here.
                Err(
                    WindowError::Fetch(message)
                    | WindowError::TooLarge(message)
                    | WindowError::Interrupted(message),
                ) => {
                    WindowFailed {
                        dataset: &spec.name,
                        window: &window,
                        error: &message,
                    }
                    .emit(&self.metrics);
                    self.progress.window_failed(&spec.name, &window, &message);
                    report.failures.push((window, message));
                }
                Err(WindowError::Forbidden(reason)) => {
                    if report.skipped.is_none() {
                        DatasetSkipped {
                            dataset: &spec.name,
                            reason: &reason,
                        }
                        .emit(&self.metrics);
                        report.skipped = Some(reason);
                    }
                }
                Err(WindowError::Skipped) => {}
                Err(WindowError::Abandoned) => {
                    WindowAbandoned {
                        dataset: &spec.name,
                        window: &window,
                    }
                    .emit(&self.metrics);
                    report.windows_abandoned += 1;
                }
            }
        }
        report.rows_changed = plan.rows_changed();
        report.windows_waiting = plan.waiting.load(std::sync::atomic::Ordering::Relaxed);
        // A restatement that pulled every window it planned is the dataset's last one.
        let whole = report.failures.is_empty() && report.windows_abandoned == 0;
        if let Some(changed) = report.rows_changed.filter(|_| whole) {
            waits
                .retry(&name, async || {
                    (self.store.record_restatement(&spec.name, changed)).map_err(store_error)
                })
                .await?;
        }
        report.complete_through = waits
            .retry(&name, async || {
                self.store.watermark(&spec.name).map_err(store_error)
            })
            .await?;
        if report.complete_through < reach {
            let stored = waits
                .retry(&name, async || {
                    self.store.windows(&spec.name).map_err(store_error)
                })
                .await?;
            report.gap = first_gap(report.complete_through, reach, &stored);
        }
        Ok(report)
    }

    async fn pull_window(
        &self,
        spec: &DatasetSpec,
        window: Interval,
        plan: &FetchPlan,
    ) -> (Interval, Result<(usize, bool), WindowError>) {
        let outcome = async {
            if self.stop.is_stopped() {
                return Err(WindowError::Abandoned);
            }
            if plan.forbidden.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(WindowError::Skipped);
            }
            if !plan.jobs() && !spec.kind.holds_records() {
                match self
                    .stream_window_again(spec, window, plan, Fetch::Query)
                    .await
                {
                    Err(WindowError::TooLarge(why)) => {
                        plan.switch_to_jobs(&spec.name, &why, &self.metrics)
                    }
                    written => return written.map(|rows| (rows, false)),
                }
            }
            let rows = self
                .stream_window_again(spec, window, plan, Fetch::Job)
                .await?;
            Ok((rows, true))
        }
        .await;
        if matches!(outcome, Err(WindowError::Forbidden(_))) {
            plan.forbidden
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        (window, outcome)
    }

    /// [`Engine::stream_window`], again from the start (a new transaction) while its answer
    /// breaks off midway, up to [`WINDOW_ATTEMPTS`] fetches, and once the store answers again
    /// after it cut the write off (as often as that takes, until a stop).
    async fn stream_window_again(
        &self,
        spec: &DatasetSpec,
        window: Interval,
        plan: &FetchPlan,
        how: Fetch,
    ) -> Result<usize, WindowError> {
        let waits = self.store_wait();
        let mut attempt = 1;
        loop {
            match self.stream_window(spec, window, plan, how).await {
                Ok(rows) => {
                    waits.answered(&spec.name);
                    return Ok(rows);
                }
                Err(WindowError::Store(SyncError::Store { source, .. }))
                    if source.is_unavailable() =>
                {
                    self.wait_to_write_again(&spec.name, &window, &source, &waits)
                        .await?;
                }
                Err(WindowError::Interrupted(why)) if attempt < WINDOW_ATTEMPTS => {
                    WindowRefetched {
                        dataset: &spec.name,
                        window: &window,
                        attempt,
                        reason: &why,
                    }
                    .emit(&self.metrics);
                    let pause = std::time::Duration::from_millis(250 * u64::from(attempt));
                    tokio::select! {
                        biased;
                        () = self.stop.stopped() => return Err(WindowError::Abandoned),
                        () = tokio::time::sleep(pause) => {}
                    }
                    attempt += 1;
                }
                Err(WindowError::Interrupted(why)) => return Err(WindowError::Fetch(why)),
                outcome => return outcome,
            }
        }
    }

    /// The store cut a window's write off (it went down or is restarting): its transaction
    /// died, so nothing of the window was kept. Waits until the store is worth asking again,
    /// for the window to be fetched and written again whole; [`WindowError::Abandoned`] on a
    /// stop.
    async fn wait_to_write_again(
        &self,
        dataset: &str,
        window: &Interval,
        cut_by: &warehouse::StoreError,
        waits: &StoreWait,
    ) -> Result<(), WindowError> {
        WindowRewritten {
            dataset,
            window,
            reason: &cut_by.to_string(),
        }
        .emit(&self.metrics);
        match waits.wait(dataset, cut_by).await {
            Waited::Again => Ok(()),
            Waited::Stopped => Err(WindowError::Abandoned),
        }
    }

    /// Fetches a window and writes its pages as they arrive, in one transaction that commits
    /// only after the last page: a failed or stopped fetch writes nothing. In `auto` mode, a
    /// query answer larger than the job threshold sends the dataset's next windows to jobs, and
    /// one refused as too large is [`WindowError::TooLarge`] (nothing written), for a job.
    async fn stream_window(
        &self,
        spec: &DatasetSpec,
        window: Interval,
        plan: &FetchPlan,
        how: Fetch,
    ) -> Result<usize, WindowError> {
        if spec.kind.holds_records() {
            return self.pull_records(spec, window, plan).await;
        }
        let (run_id, lease) = (plan.run_id, plan.lease.clone());
        let count_changes = plan.changed.is_some();
        let (sender, receiver) = tokio::sync::mpsc::channel(PAGES_QUEUED);
        let store = Arc::clone(&self.store);
        let dataset = spec.name.clone();
        let write = tokio::task::spawn_blocking(move || {
            let write = WindowWrite {
                dataset: &dataset,
                window,
                rows: &[],
                settled: true,
                run_id,
                count_changes,
            };
            store.write_window_pages(&write, &mut received_pages(receiver), lease.as_ref())
        });
        let fetch = async {
            let end = sender.clone();
            let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let pages = PageSender {
                channel: sender,
                page_rows: self.budget.page_rows(self.concurrency),
                budget: self.budget.clone(),
                sent: Arc::clone(&sent),
            };
            let (query, table) = (spec.query(window), spec.table_spec());
            match how {
                Fetch::Query => {
                    self.source.stream_rows(query, &table, pages).await?;
                    let rows = sent.load(std::sync::atomic::Ordering::Relaxed);
                    if rows > self.job_threshold_rows {
                        let why = format!("a window returned {rows} rows");
                        plan.switch_to_jobs(&spec.name, &why, &self.metrics);
                    }
                }
                Fetch::Job => self.source.stream_rows_by_job(query, &table, pages).await?,
            }
            end.send(PageMessage::End)
                .await
                .map_err(|_| SourceError::from("the window's write stopped taking pages"))
        };
        let (fetched, written) = self
            .fetch_then_write(spec, &window, plan, fetch, write)
            .await;
        let write_failed = store_failed(&written);
        match fetched {
            _ if write_failed => written,
            None => Err(WindowError::Abandoned),
            Some(Err(e))
                if how == Fetch::Query
                    && plan.mode == QueryMode::Auto
                    && e.downcast_ref::<ResponseTooLarge>().is_some() =>
            {
                Err(WindowError::TooLarge(e.to_string()))
            }
            Some(Err(e)) => Err(fetch_failure(e)),
            Some(Ok(())) => written,
        }
    }

    /// Runs a window's fetch to its end, or until a stop drops it (and with it the channel of
    /// its pages, so the write rolls back), then awaits the write: the fetch's outcome (`None`
    /// when stopped) and the write's.
    async fn fetch_then_write(
        &self,
        spec: &DatasetSpec,
        window: &Interval,
        plan: &FetchPlan,
        fetch: impl Future<Output = Result<(), SourceError>>,
        write: tokio::task::JoinHandle<warehouse::Result<warehouse::WindowOutcome>>,
    ) -> (Option<Result<(), SourceError>>, Result<usize, WindowError>) {
        let fetched = tokio::select! {
            biased;
            () = self.stop.stopped() => None,
            fetched = fetch => Some(fetched),
        };
        (fetched, self.finish_write(spec, window, plan, write).await)
    }

    /// The window's write as it ended; a restatement's changed rows are counted once it
    /// committed.
    async fn finish_write(
        &self,
        spec: &DatasetSpec,
        window: &Interval,
        plan: &FetchPlan,
        task: tokio::task::JoinHandle<warehouse::Result<warehouse::WindowOutcome>>,
    ) -> Result<usize, WindowError> {
        let outcome = task.await.map_err(|e| {
            WindowError::Store(SyncError::StoreTask {
                dataset: spec.name.clone(),
                reason: e.to_string(),
            })
        })?;
        let outcome = outcome.map_err(|source| {
            WindowError::Store(SyncError::Store {
                dataset: spec.name.clone(),
                source,
            })
        })?;
        if let (Some(changed), Some(total)) = (outcome.rows_changed, &plan.changed) {
            total.fetch_add(changed, std::sync::atomic::Ordering::Relaxed);
            WindowRestated {
                dataset: &spec.name,
                window,
                rows_changed: changed,
            }
            .emit(&self.metrics);
        }
        Ok(outcome.rows_written)
    }

    /// A record dataset's window: its records streamed from a details job into one
    /// transaction, a page at a time; complete once the API has all its data
    /// (`dataAvailabilityDate` past its end).
    async fn pull_records(
        &self,
        spec: &DatasetSpec,
        window: Interval,
        plan: &FetchPlan,
    ) -> Result<usize, WindowError> {
        let table = spec.table_spec();
        let (run_id, lease) = (plan.run_id, plan.lease.clone());
        let count_changes = plan.changed.is_some();
        let (sender, receiver) = tokio::sync::mpsc::channel(PAGES_QUEUED);
        let available: Arc<std::sync::Mutex<Option<Timestamp>>> = Arc::default();
        let complete = {
            let available = Arc::clone(&available);
            move || {
                let at = *available.lock().unwrap_or_else(|p| p.into_inner());
                at.is_some_and(|at| at >= window.end)
            }
        };
        let store = Arc::clone(&self.store);
        let dataset = spec.name.clone();
        let settled_when_written = complete.clone();
        let write = tokio::task::spawn_blocking(move || {
            let mut pages = record_pages::received(receiver);
            // The first page comes with the job's data availability: whether the window is
            // complete, which its log entry records.
            let first = pages.next();
            let write = WindowWrite {
                dataset: &dataset,
                window,
                rows: &[],
                settled: settled_when_written(),
                run_id,
                count_changes,
            };
            let mut pages = first.into_iter().chain(pages);
            store.write_record_pages(&write, &mut pages, lease.as_ref())
        });
        let fetch = async {
            let end = sender.clone();
            let pages = RecordSender::new(sender, Arc::clone(&available));
            self.source.stream_records(&table, window, pages).await?;
            end.send(record_pages::RecordMessage::End)
                .await
                .map_err(|_| SourceError::from("the window's write stopped taking pages"))
        };
        let (fetched, written) = self
            .fetch_then_write(spec, &window, plan, fetch, write)
            .await;
        let rows = match fetched {
            _ if store_failed(&written) => written,
            None => Err(WindowError::Abandoned),
            Some(Err(e)) => Err(fetch_failure(e)),
            Some(Ok(())) => written,
        }?;
        if !complete() {
            plan.waiting
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(rows)
    }
}

/// Whether the store itself failed a window's write (not merely saw its pages stop because
/// the fetch did): that failure comes first.
fn store_failed(written: &Result<usize, WindowError>) -> bool {
    matches!(
        written,
        Err(WindowError::Store(SyncError::Store { source, .. }))
            if !matches!(source, warehouse::StoreError::PagesStopped(_))
    )
}

/// A failed fetch as the window's error: a missing permission skips the dataset, an answer
/// that broke off is fetched again, anything else fails the window for this run.
fn fetch_failure(error: SourceError) -> WindowError {
    if error.downcast_ref::<PermissionMissing>().is_some() {
        WindowError::Forbidden(error.to_string())
    } else if error.downcast_ref::<AnswerInterrupted>().is_some() {
        WindowError::Interrupted(error.to_string())
    } else {
        WindowError::Fetch(error.to_string())
    }
}

/// How a window is fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fetch {
    Query,
    Job,
}

enum WindowError {
    /// `auto` mode: the API refused the query as too large; nothing was written, a job fetches
    /// the window instead.
    TooLarge(String),
    /// The answer broke off midway; nothing was written. Fetched again from the start.
    Interrupted(String),
    /// The window could not be fetched or decoded: skipped this run, retried next run.
    Fetch(String),
    /// The store failed: stop, nothing after it can be trusted.
    Store(SyncError),
    /// A stop was asked for before the window's rows were fetched: nothing of it was written.
    Abandoned,
    /// The API refused a permission the dataset needs: the dataset is skipped.
    Forbidden(String),
    /// Not fetched: another window of the dataset was refused a permission.
    Skipped,
}

/// Where directory entities come from.
pub trait DirectorySource: Send + Sync + 'static {
    fn queues(
        &self,
    ) -> impl Future<Output = Result<Vec<genesys::directory::Queue>, SourceError>> + Send;
    fn users(
        &self,
    ) -> impl Future<Output = Result<Vec<genesys::directory::User>, SourceError>> + Send;
    fn wrapup_codes(
        &self,
    ) -> impl Future<Output = Result<Vec<genesys::directory::WrapupCode>, SourceError>> + Send;
    fn presences(
        &self,
    ) -> impl Future<Output = Result<Vec<genesys::directory::OrganizationPresence>, SourceError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory `{directory}`: fetching failed: {message}")]
    Fetch {
        directory: DirectoryName,
        message: String,
    },
    #[error("directory `{directory}`: store: {source}")]
    Store {
        directory: DirectoryName,
        source: warehouse::StoreError,
    },
}

/// Replaces one directory table with what the source lists now; returns the entity count.
pub async fn sync_directory<D: DirectorySource, St: Store + ?Sized>(
    source: &D,
    store: &St,
    directory: DirectoryName,
) -> Result<usize, DirectoryError> {
    let fetch_error = |e: SourceError| DirectoryError::Fetch {
        directory,
        message: e.to_string(),
    };
    let store_error = |source| DirectoryError::Store { directory, source };
    match directory {
        DirectoryName::Queues => {
            let queues = source.queues().await.map_err(fetch_error)?;
            store
                .replace_directory(warehouse::Directory::Queues(&queues))
                .map_err(store_error)
        }
        DirectoryName::Users => {
            let users = source.users().await.map_err(fetch_error)?;
            store
                .replace_directory(warehouse::Directory::Users(&users))
                .map_err(store_error)
        }
        DirectoryName::WrapupCodes => {
            let codes = source.wrapup_codes().await.map_err(fetch_error)?;
            store
                .replace_directory(warehouse::Directory::WrapupCodes(&codes))
                .map_err(store_error)
        }
        DirectoryName::Presences => {
            let presences = source.presences().await.map_err(fetch_error)?;
            store
                .replace_directory(warehouse::Directory::Presences(&presences))
                .map_err(store_error)
        }
    }
}

/// A source answered in process by a function (the emulator's synthetic centre in tests and
/// benchmarks): the same rows the HTTP path gives, without the network.
pub struct InProcess<F>(pub F);

impl<F> AggregateSource for InProcess<F>
where
    F: Fn(&AggregationQuery) -> Result<genesys::aggregates::AggregateQueryResponse, String>
        + Send
        + Sync
        + 'static,
{
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        let response = (self.0)(&query)?;
        Ok(warehouse::rows_from_response(table, &response)?)
    }

    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &TableSpec,
    ) -> Result<Vec<AggregateRow>, SourceError> {
        self.fetch_rows(query, table).await
    }
}

/// Directories known in advance.
#[derive(Debug, Clone, Default)]
pub struct FixedDirectories {
    pub queues: Vec<genesys::directory::Queue>,
    pub users: Vec<genesys::directory::User>,
    pub wrapup_codes: Vec<genesys::directory::WrapupCode>,
    pub presences: Vec<genesys::directory::OrganizationPresence>,
}

impl DirectorySource for FixedDirectories {
    async fn queues(&self) -> Result<Vec<genesys::directory::Queue>, SourceError> {
        Ok(self.queues.clone())
    }

    async fn users(&self) -> Result<Vec<genesys::directory::User>, SourceError> {
        Ok(self.users.clone())
    }

    async fn wrapup_codes(&self) -> Result<Vec<genesys::directory::WrapupCode>, SourceError> {
        Ok(self.wrapup_codes.clone())
    }

    async fn presences(
        &self,
    ) -> Result<Vec<genesys::directory::OrganizationPresence>, SourceError> {
        Ok(self.presences.clone())
    }
}
