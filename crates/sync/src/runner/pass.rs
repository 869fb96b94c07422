//! One pass over datasets: each under its lease, the whole pass recorded as one run with a
//! typed status, and the directories refreshed on request. With a lake, each dataset's
//! committed windows are published to it after its sync, still under its lease (the engine's
//! exactly-once writes are untouched: the lake reads what the store committed).

use std::sync::Arc;

use genesys::client::GenesysClient;
use jiff::Timestamp;
use warehouse::{RunStatus, RunSummary, Store, StoreError};

use super::schedule::PassEnd;
use super::turns::{Busy, Turn, Turns, take_turn};
use crate::config::{DatasetSpec, DirectoryName};
use crate::engine::{
    AggregateSource, DatasetReport, DirectoryError, DirectorySource, Engine, Mode, SyncError,
    sync_directory,
};
use crate::metrics::{LakePublished, RunFinished, SyncEvent, SyncExporter, SyncMetrics};
use crate::stop::Stop;
use crate::store_wait::StoreWait;

/// Requests sent so far, for the run's record.
pub trait CountsRequests {
    fn requests_sent(&self) -> u64;
}

impl CountsRequests for GenesysClient {
    fn requests_sent(&self) -> u64 {
        self.counters().requests_sent
    }
}

/// Told what a pass did, for the commands to print; the pass itself only records and counts.
pub trait PassObserver: Send + Sync {
    /// Another process holds the dataset, and the pass waits for it (said once per wait).
    fn waiting(&self, _busy: &Busy) {}
    /// A dataset's pass ended (written, partial or interrupted).
    fn dataset_done(&self, _report: &DatasetReport, _spec: &DatasetSpec) {}
    /// Another held dataset was skipped too (the first one skipped is the pass's error).
    fn also_skipped(&self, _busy: &Busy) {}
    /// A directory was replaced with `entries` entities.
    fn directory_done(&self, _directory: DirectoryName, _entries: usize) {}
    /// A dataset's windows were published to the lake.
    fn published(&self, _report: &lake::PublishReport) {}
}

/// Tells nobody.
pub struct Quiet;
impl PassObserver for Quiet {}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// Another process holds a dataset and the pass does not wait (`run`, `--no-wait`).
    #[error("{0}")]
    Busy(#[from] Busy),
    #[error(
        "{failed} window(s) failed; their watermarks stay before them and the next run retries them"
    )]
    WindowsFailed { failed: usize },
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("recording the run: {0}")]
    Run(#[from] StoreError),
    /// The store has the windows; the lake does not yet: the next pass publishes them.
    #[error("dataset `{dataset}`: publishing to the lake: {source}")]
    Lake {
        dataset: String,
        // Boxed: a lake error holds a store error, and this enum travels in every Result.
        source: Box<lake::LakeError>,
    },
}

/// Syncs datasets with an [`Engine`], taking turns with other processes.
pub struct Pass<Src, St> {
    engine: Engine<Src, St>,
    turns: Turns,
    observer: Arc<dyn PassObserver>,
    lake: Option<Arc<lake::Lake>>,
}

impl<Src, St> Pass<Src, St>
where
    Src: AggregateSource + DirectorySource + CountsRequests,
    St: Store + 'static,
{
    /// Waits for datasets other processes hold (60 s leases) and tells nobody, until told
    /// otherwise.
    pub fn new(engine: Engine<Src, St>) -> Self {
        Self {
            engine,
            turns: Turns::default(),
            observer: Arc::new(Quiet),
            lake: None,
        }
    }

    /// Publishes each dataset the lake takes after its sync (see [`lake::Lake::catch_up`]).
    pub fn publishing_to(mut self, lake: Option<Arc<lake::Lake>>) -> Self {
        self.lake = lake;
        self
    }

    /// How this pass shares datasets with other processes.
    pub fn taking_turns(mut self, turns: Turns) -> Self {
        self.turns = turns;
        self
    }

    pub fn observed_by(mut self, observer: Arc<dyn PassObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Stops starting windows once `stop` is set; see [`crate::engine`] for what happens to the
    /// windows in flight.
    pub fn stopping_on(mut self, stop: Stop) -> Self {
        self.engine.stop = stop;
        self
    }

    pub fn stop(&self) -> &Stop {
        &self.engine.stop
    }

    pub fn metrics(&self) -> &Arc<SyncMetrics> {
        &self.engine.metrics
    }

    /// How the pass waits out an unavailable store (see [`crate::store_wait`]).
    fn store_wait(&self) -> StoreWait {
        self.engine.store_wait()
    }

    /// Replaces each directory's table with what the source lists now.
    pub async fn directories(&self, names: &[DirectoryName]) -> Result<(), PassError> {
        for &name in names {
            let count = sync_directory(
                self.engine.source.as_ref(),
                self.engine.store.as_ref(),
                name,
            )
            .await?;
            self.observer.directory_done(name, count);
        }
        Ok(())
    }

    /// The directories, unless a stop comes first: dropping a fetch is harmless, and each
    /// directory is replaced in one transaction. `false` when stopped.
    pub async fn directories_unless_stopped(
        &self,
        names: &[DirectoryName],
    ) -> Result<bool, PassError> {
        tokio::select! {
            biased;
            () = self.stop().stopped() => Ok(false),
            done = self.directories(names) => done.map(|()| true),
        }
    }

    /// Runs the datasets, each under its lease, records the run as `command`, and fails if any
    /// window failed. A stop ends the run early, recorded as `interrupted`: not a failure. A
    /// dataset another process holds is waited for, or skipped (see [`Turns`]); with
    /// [`super::WhenHeld::Skip`], the pass fails with [`PassError::Busy`] after running the
    /// others. No run is recorded until a dataset gets its turn.
    pub async fn datasets(
        &self,
        command: &str,
        specs: &[DatasetSpec],
        now: Timestamp,
        mode: Mode,
    ) -> Result<PassEnd, PassError> {
        let mut record = RunRecord::new(self.engine.source.requests_sent());
        let mut skipped = Vec::new();
        let waits = self.store_wait();
        for (done, spec) in specs.iter().enumerate() {
            let turn = waits
                .retry(&spec.name, async || {
                    let on_wait = |b: &Busy| self.observer.waiting(b);
                    take_turn(
                        &self.engine.store,
                        &spec.name,
                        &self.turns,
                        self.stop(),
                        on_wait,
                    )
                    .await
                })
                .await?;
            let held = match turn {
                Turn::Mine(held) => held,
                Turn::Busy(busy) => {
                    skipped.push(busy);
                    continue;
                }
                Turn::Stopped => {
                    record.end = PassEnd::Stopped {
                        left: not_started(&specs[done..]),
                    };
                    break;
                }
            };
            let run_id = record.started(self, &spec.name, command).await?;
            let synced = self
                .engine
                .sync_dataset_leased(spec, now, mode, Some(run_id), Some(held.token().clone()))
                .await
                .map_err(PassError::from);
            let synced = match synced {
                Ok(report) => self.publish(report, held.token()).await,
                Err(e) => Err(e),
            };
            let released = held.release_waiting(&waits).await;
            let report = match synced {
                Ok(report) => {
                    released?;
                    report
                }
                Err(e) => {
                    // The pass's own failure is what the user must read; a store that failed
                    // it (a lost lease, a closed session) may well fail these too.
                    if let Err(also) = released {
                        tracing::warn!(dataset = %spec.name, error = %also, "Could not release the dataset's lease; it lapses by its TTL.");
                    }
                    self.finished(&spec.name, RunStatus::Failed);
                    record.summary.error = Some(e.to_string());
                    if let Err(also) = record.finish(self, RunStatus::Failed).await {
                        tracing::warn!(dataset = %spec.name, error = %also, "Could not record the failed run.");
                    }
                    return Err(e);
                }
            };
            self.observer.dataset_done(&report, spec);
            record.add(&report);
            let status = dataset_status(&report);
            self.finished(&spec.name, status);
            if status == RunStatus::Interrupted {
                let mut left = interrupted(&report);
                if done + 1 < specs.len() {
                    left = format!("{left}; {}", not_started(&specs[done + 1..]));
                }
                record.end = PassEnd::Stopped { left };
                break;
            }
        }
        let ran = record.id.is_some();
        let end = record.close(self).await?;
        let mut skipped = skipped.into_iter();
        match skipped.next() {
            // A pass stopped before any dataset got its turn has nothing to say about them.
            Some(_) if !ran && end != PassEnd::Finished => Ok(end),
            // The first is the error; the others are told.
            Some(busy) => {
                for other in skipped {
                    self.observer.also_skipped(&other);
                }
                Err(busy.into())
            }
            None => Ok(end),
        }
    }

    /// Publishes what the dataset's sync committed (every window the lake lacks or holds older,
    /// so a pass killed before its publish is caught up by the next), under the pass's lease.
    /// A stopped pass (before or during the publish) leaves it to the next one.
    async fn publish(
        &self,
        report: DatasetReport,
        lease: &warehouse::LeaseToken,
    ) -> Result<DatasetReport, PassError> {
        let Some(lake) = &self.lake else {
            return Ok(report);
        };
        if !lake.includes(&report.dataset) || dataset_status(&report) == RunStatus::Interrupted {
            return Ok(report);
        }
        let store = Arc::clone(&self.engine.store) as Arc<dyn Store>;
        // A stop drops the publish wherever it is: each file lands whole or not at all, and the
        // manifest names only what landed, so the next pass picks up where this one stopped.
        let published = tokio::select! {
            biased;
            () = self.stop().stopped() => return Ok(report),
            published = lake.catch_up(store, &report.dataset, Some(lease.token), &|_| {}) => published,
        }
        .map_err(|source| PassError::Lake {
            dataset: report.dataset.clone(),
            source: Box::new(source),
        })?;
        LakePublished {
            dataset: &report.dataset,
            windows: published.windows,
            rows: published.rows,
            lake: &lake.location().to_string(),
        }
        .emit(self.metrics());
        self.observer.published(&published);
        Ok(report)
    }

    fn finished(&self, dataset: &str, status: RunStatus) {
        RunFinished { dataset, status }.emit(self.metrics());
    }
}

impl<St> Pass<GenesysClient, St> {
    /// The client's and the sync's counters, rendered as Prometheus text at each scrape.
    pub fn exporter(&self) -> SyncExporter {
        SyncExporter {
            client: self.engine.source.as_ref().clone(),
            metrics: Arc::clone(&self.engine.metrics),
        }
    }
}

/// The run a pass records: started when the first dataset gets its turn, finished once.
struct RunRecord {
    id: Option<i64>,
    requests_before: u64,
    summary: RunSummary,
    failed_windows: usize,
    end: PassEnd,
    /// The dataset whose turn came last: the one a wait to record the run is counted for.
    dataset: String,
}

impl RunRecord {
    fn new(requests_before: u64) -> Self {
        Self {
            id: None,
            requests_before,
            summary: RunSummary::default(),
            failed_windows: 0,
            end: PassEnd::Finished,
            dataset: String::new(),
        }
    }

    async fn started<Src, St: Store>(
        &mut self,
        pass: &Pass<Src, St>,
        dataset: &str,
        command: &str,
    ) -> Result<i64, StoreError> {
        self.dataset = dataset.to_string();
        if let Some(id) = self.id {
            return Ok(id);
        }
        let store = &pass.engine.store;
        let id = (pass.engine.store_wait())
            .retry(dataset, async || store.start_run(command))
            .await?;
        Ok(*self.id.insert(id))
    }

    fn add(&mut self, report: &DatasetReport) {
        self.summary.windows += report.windows_written as u64;
        self.summary.rows += report.rows_written as u64;
        if let Some(changed) = report.rows_changed {
            *self.summary.rows_changed.get_or_insert(0) += changed;
        }
        self.failed_windows += report.failures.len();
    }

    async fn finish<Src, St>(
        &mut self,
        pass: &Pass<Src, St>,
        status: RunStatus,
    ) -> Result<(), PassError>
    where
        Src: CountsRequests,
        St: Store,
    {
        let Some(id) = self.id else { return Ok(()) };
        self.summary.status = status;
        self.summary.requests = pass.engine.source.requests_sent() - self.requests_before;
        let (store, summary) = (&pass.engine.store, &self.summary);
        (pass.engine.store_wait())
            .retry(&self.dataset, async || store.finish_run(id, summary))
            .await?;
        Ok(())
    }

    /// Records how the pass ended; a pass with failed windows is an error once recorded.
    async fn close<Src, St>(mut self, pass: &Pass<Src, St>) -> Result<PassEnd, PassError>
    where
        Src: CountsRequests,
        St: Store,
    {
        let status = match (&self.end, self.failed_windows) {
            (PassEnd::Stopped { left }, _) => {
                self.summary.error = Some(format!("stopped by a signal; {left}"));
                RunStatus::Interrupted
            }
            (PassEnd::Finished, 0) => RunStatus::Ok,
            (PassEnd::Finished, failed) => {
                self.summary.error = Some(format!("{failed} window(s) failed"));
                RunStatus::Partial
            }
        };
        self.finish(pass, status).await?;
        match status {
            RunStatus::Partial => Err(PassError::WindowsFailed {
                failed: self.failed_windows,
            }),
            _ => Ok(self.end),
        }
    }
}

fn dataset_status(report: &DatasetReport) -> RunStatus {
    if report.windows_abandoned > 0 {
        RunStatus::Interrupted
    } else if report.failures.is_empty() && report.skipped.is_none() {
        RunStatus::Ok
    } else {
        RunStatus::Partial
    }
}

fn not_started(specs: &[DatasetSpec]) -> String {
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    format!("not started: {}", names.join(", "))
}

fn interrupted(report: &DatasetReport) -> String {
    format!(
        "{}: {} of {} windows written, {} abandoned before their write (none half-written)",
        report.dataset, report.windows_written, report.windows_planned, report.windows_abandoned
    )
}
