//! Publishing: the windows the store has committed and the lake lacks or holds older (or, for
//! an export, every window of a range) read back from the store, written as day files, and
//! recorded in the manifest, one window at a time. Each file is replaced whole (a rename of a
//! staged file in a folder, one PUT on S3), then the window's files that its new rows no longer
//! fill are removed, then the manifest is replaced: a process killed at any instant leaves the
//! lake with each window's rows in it at most once per reader, and the next catch-up finishes
//! the job, since the manifest only names what was fully written. The store's reads (and the
//! encoding) of the next windows run ahead on blocking threads while a window is written; the
//! writes and the manifest still go one window at a time, in order.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use genesys::Interval;
use jiff::Timestamp;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;
use warehouse::{ReadStore, Store, TableSpec, WindowRecord};

use crate::LakeError;
use crate::encode::{DayFile, encode_window};
use crate::layout::{part_path, staging_path};
use crate::location::LakeLocation;
use crate::manifest::{self, Manifest, PublishedFile, PublishedWindow, Stored};

/// The lake of one configuration: where it is, and the store it publishes from.
pub struct Lake {
    location: LakeLocation,
    objects: Arc<dyn ObjectStore>,
    reader: Arc<dyn ReadStore>,
    /// The datasets published; `None` for all of them.
    datasets: Option<Vec<String>>,
}

/// One window published, as a progress bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub window: Interval,
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
}

/// What a catch-up or an export did to one dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishReport {
    pub dataset: String,
    pub windows: usize,
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
    /// Files removed: a republished window's days it no longer has, windows the store dropped,
    /// and files no manifest names (left by a process killed mid-publish).
    pub removed: usize,
    pub complete_through: Option<Timestamp>,
}

/// What the store says about a dataset, read once per publish.
pub(crate) struct StoreView {
    pub spec: TableSpec,
    pub windows: Vec<WindowRecord>,
    pub watermark: Option<Timestamp>,
}

impl Lake {
    /// Opens the lake's object store; `datasets` limits what is published (`None`: all).
    pub fn open(
        location: LakeLocation,
        reader: Arc<dyn ReadStore>,
        datasets: Option<Vec<String>>,
    ) -> Result<Self, LakeError> {
        Self::open_with(location, reader, datasets, &[])
    }

    /// Like [`Lake::open`], with S3 settings over the environment's (see
    /// [`LakeLocation::open`]).
    pub fn open_with(
        location: LakeLocation,
        reader: Arc<dyn ReadStore>,
        datasets: Option<Vec<String>>,
        s3_settings: &[(&str, &str)],
    ) -> Result<Self, LakeError> {
        let objects = location
            .open(s3_settings)
            .map_err(|source| LakeError::Storage {
                location: location.to_string(),
                source,
            })?;
        Ok(Self {
            location,
            objects,
            reader,
            datasets,
        })
    }

    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    /// Whether the configuration publishes `dataset`.
    pub fn includes(&self, dataset: &str) -> bool {
        self.datasets
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == dataset))
    }

    pub(crate) fn objects(&self) -> &dyn ObjectStore {
        self.objects.as_ref()
    }

    pub(crate) fn storage_error(&self) -> impl Fn(object_store::Error) -> LakeError + '_ {
        |source| LakeError::Storage {
            location: self.location.to_string(),
            source,
        }
    }

    /// Publishes every window the store has and the lake lacks or holds older, drops what the
    /// store no longer has, and sweeps files no manifest names. `fencing` is the token of the
    /// dataset's lease the caller holds: a lake published under a newer one is left alone.
    pub async fn catch_up(
        &self,
        store: Arc<dyn Store>,
        dataset: &str,
        fencing: Option<i64>,
        progress: &dyn Fn(&Published),
    ) -> Result<PublishReport, LakeError> {
        self.publish(store, dataset, fencing, None, progress).await
    }

    /// Publishes again every window the store has that overlaps `range`, whatever the lake
    /// holds (a rewrite of history), then catches up as [`Lake::catch_up`] does.
    pub async fn export(
        &self,
        store: Arc<dyn Store>,
        dataset: &str,
        range: Interval,
        fencing: Option<i64>,
        progress: &dyn Fn(&Published),
    ) -> Result<PublishReport, LakeError> {
        self.publish(store, dataset, fencing, Some(range), progress)
            .await
    }

    /// The windows `catch_up` (no `range`) or `export` would publish now.
    pub async fn pending(
        &self,
        store: Arc<dyn Store>,
        dataset: &str,
        range: Option<Interval>,
    ) -> Result<Vec<Interval>, LakeError> {
        let view = self.view(store, dataset).await?;
        let stored = manifest::load(self.objects(), dataset, self.storage_error()).await?;
        Ok(due(&view.windows, stored.manifest.as_ref(), range))
    }

    async fn publish(
        &self,
        store: Arc<dyn Store>,
        dataset: &str,
        fencing: Option<i64>,
        range: Option<Interval>,
        progress: &dyn Fn(&Published),
    ) -> Result<PublishReport, LakeError> {
        let view = self.view(store, dataset).await?;
        let mut stored = manifest::load(self.objects(), dataset, self.storage_error()).await?;
        let mut manifest = stored
            .manifest
            .clone()
            .unwrap_or_else(|| Manifest::empty(dataset, view.spec.definition.time_zone.name()));
        let token = fencing.unwrap_or(manifest.fencing_token);
        if manifest.fencing_token > token {
            return Err(LakeError::Fenced {
                dataset: dataset.to_string(),
                found: manifest.fencing_token,
                mine: token,
            });
        }
        manifest.fencing_token = token;
        let mut report = PublishReport {
            dataset: dataset.to_string(),
            ..PublishReport::default()
        };
        let due: Vec<&WindowRecord> = due(&view.windows, Some(&manifest), range)
            .into_iter()
            .map(|window| {
                view.windows
                    .iter()
                    .find(|r| r.window.start == window.start)
                    .expect("a due window is one of the store's")
            })
            .collect();
        let mut ahead = ReadAhead::new(self, &view.spec, &due);
        while let Some((record, encoded)) = ahead.next().await {
            let window = record.window;
            let published = self.write_window(&view.spec, record, encoded?).await?;
            let old = manifest.window(window.start).cloned();
            report.removed += self.remove_replaced(old.as_ref(), &published).await?;
            let done = Published {
                window,
                rows: published.rows,
                files: published.files.len(),
                bytes: published.files.iter().map(|f| f.bytes).sum(),
            };
            manifest.record(published);
            self.save(&mut stored, &mut manifest, &view).await?;
            report.windows += 1;
            report.rows += done.rows;
            report.files += done.files;
            report.bytes += done.bytes;
            progress(&done);
        }
        report.removed += self
            .drop_unstored(&mut stored, &mut manifest, &view)
            .await?;
        report.removed += self.sweep(&manifest).await?;
        if stored.manifest.as_ref() != Some(&manifest) {
            self.save(&mut stored, &mut manifest, &view).await?;
        }
        report.complete_through = manifest.complete_through;
        Ok(report)
    }

    async fn view(&self, store: Arc<dyn Store>, dataset: &str) -> Result<StoreView, LakeError> {
        let reader = Arc::clone(&self.reader);
        let name = dataset.to_string();
        blocking(move || {
            let info = reader
                .session()?
                .dataset(&name)?
                .ok_or_else(|| LakeError::UnknownDataset(name.clone()))?;
            Ok(StoreView {
                spec: info.spec,
                windows: store.windows(&name)?,
                watermark: store.watermark(&name)?,
            })
        })
        .await
    }

    /// Reads the window's rows from the store and encodes its day files, on a blocking thread
    /// of its own (the work starts now, whether or not the handle is awaited); `stop` cuts the
    /// read short when the publish no longer wants it.
    fn encode(
        &self,
        spec: &TableSpec,
        record: &WindowRecord,
        stop: Arc<AtomicBool>,
    ) -> JoinHandle<Result<Vec<DayFile>, LakeError>> {
        let (reader, table, window) = (Arc::clone(&self.reader), spec.clone(), record.window);
        let rows = record.rows;
        tokio::task::spawn_blocking(move || {
            let session = reader.export_session()?;
            let zone = table.definition.time_zone.zone().clone();
            encode_window(session.as_ref(), &table, window, rows, &zone, &stop).map_err(|e| match e
            {
                crate::encode::EncodeError::Store(e) => LakeError::Store(e),
                crate::encode::EncodeError::Parquet(source) => LakeError::Encode {
                    dataset: table.name.clone(),
                    source: Box::new(source),
                },
            })
        })
    }

    /// Writes the window's encoded day files into place; the manifest is not yet told.
    async fn write_window(
        &self,
        spec: &TableSpec,
        record: &WindowRecord,
        days: Vec<DayFile>,
    ) -> Result<PublishedWindow, LakeError> {
        let window = record.window;
        let mut files = Vec::with_capacity(days.len());
        for day in days {
            let path = part_path(&spec.name, day.date, window.start);
            let bytes = day.bytes();
            let body: PutPayload = day.parts.into_iter().collect();
            self.replace_file(&spec.name, &path, day.date, window.start, body)
                .await?;
            files.push(PublishedFile {
                path: path.to_string(),
                date: day.date,
                rows: day.rows,
                bytes,
            });
        }
        Ok(PublishedWindow {
            start: window.start,
            end: window.end,
            rows: files.iter().map(|f| f.rows).sum(),
            store_written_at: record.written_at,
            files,
        })
    }

    /// Puts `body` at `path` in one step a reader can't see halfway: one PUT on S3; in a
    /// folder, a staged file under `_genesys_bi` renamed over the old one.
    async fn replace_file(
        &self,
        dataset: &str,
        path: &Path,
        date: jiff::civil::Date,
        window_start: Timestamp,
        body: PutPayload,
    ) -> Result<(), LakeError> {
        let storage = self.storage_error();
        if self.location.stages_files() {
            let staged = staging_path(dataset, date, window_start);
            self.objects.put(&staged, body).await.map_err(&storage)?;
            self.objects.rename(&staged, path).await.map_err(&storage)?;
        } else {
            self.objects.put(path, body).await.map_err(&storage)?;
        }
        Ok(())
    }

    pub(crate) async fn save(
        &self,
        stored: &mut Stored,
        manifest: &mut Manifest,
        view: &StoreView,
    ) -> Result<(), LakeError> {
        manifest.complete_through = lake_watermark(&view.windows, view.watermark, manifest);
        manifest.published_at = Timestamp::now();
        let conditional = !self.location.stages_files();
        stored
            .replace(self.objects(), manifest, conditional, self.storage_error())
            .await
    }
}

/// The store's windows a publish takes: with a `range`, all that overlap it; otherwise those
/// the manifest lacks or holds from an older store write.
fn due(
    windows: &[WindowRecord],
    manifest: Option<&Manifest>,
    range: Option<Interval>,
) -> Vec<Interval> {
    windows
        .iter()
        .filter(|record| match range {
            Some(range) => record.window.start < range.end && record.window.end > range.start,
            None => !is_current(record, manifest),
        })
        .map(|record| record.window)
        .collect()
}

/// Whether the lake holds the window as the store last wrote it.
pub(crate) fn is_current(record: &WindowRecord, manifest: Option<&Manifest>) -> bool {
    manifest
        .and_then(|m| m.window(record.window.start))
        .is_some_and(|w| {
            w.end == record.window.end
                && w.store_written_at == record.written_at
                && w.rows == record.rows
        })
}

/// The end of the gap-free run of windows, from the first, that the lake holds as the store
/// does, not past the store's own watermark.
pub(crate) fn lake_watermark(
    windows: &[WindowRecord],
    store_watermark: Option<Timestamp>,
    manifest: &Manifest,
) -> Option<Timestamp> {
    let limit = store_watermark?;
    let mut reached = None;
    for record in windows {
        if record.window.end > limit || !is_current(record, Some(manifest)) {
            break;
        }
        if reached.is_some_and(|end| end != record.window.start) {
            break;
        }
        reached = Some(record.window.end);
    }
    reached
}

/// At most this many windows are read and encoded at once, ahead of the one being written (its
/// files put, the manifest replaced): the store's reads and the encoding keep both cores of a
/// small machine busy while the lake's writes and fsyncs wait on the disk or the network.
const AHEAD_WINDOWS: usize = 2;
/// A window is read ahead only while the rows of the windows read or being written, its own
/// included, stay under this; a larger window waits until nothing else is, so memory stays that
/// of one large window at a time (encoded, some 120 bytes a row at the width of
/// `agent_performance`, plus the encoder's buffers).
const AHEAD_ROWS: u64 = 200_000;

/// The due windows in order, each read and encoded on a blocking thread ahead of its turn to
/// be written (see [`AHEAD_WINDOWS`], [`AHEAD_ROWS`]). Windows are still written and recorded
/// in the manifest one at a time, in order, exactly as without it: only the store's reads run
/// ahead. Dropped early (an error), it stops the reads still running.
struct ReadAhead<'a> {
    lake: &'a Lake,
    spec: &'a TableSpec,
    due: std::slice::Iter<'a, &'a WindowRecord>,
    running: VecDeque<Encoding<'a>>,
    /// The rows of the window handed out last, while the caller writes it.
    writing: Option<u64>,
    stop: Arc<AtomicBool>,
}

type Encoding<'a> = (
    &'a WindowRecord,
    JoinHandle<Result<Vec<DayFile>, LakeError>>,
);

impl<'a> ReadAhead<'a> {
    fn new(lake: &'a Lake, spec: &'a TableSpec, due: &'a [&'a WindowRecord]) -> Self {
        Self {
            lake,
            spec,
            due: due.iter(),
            running: VecDeque::new(),
            writing: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Starts the reads the limits allow; with nothing else in flight, a window starts
    /// whatever its size.
    fn start(&mut self) {
        while let Some(&record) = self.due.as_slice().first() {
            let running: Vec<u64> = self.running.iter().map(|(r, _)| r.rows).collect();
            if !may_start(self.writing, &running, record.rows) {
                return;
            }
            self.due.next();
            let handle = self.lake.encode(self.spec, record, Arc::clone(&self.stop));
            self.running.push_back((record, handle));
        }
    }

    /// The next window in order with its day files, once read and encoded; the reads after it
    /// go on meanwhile. The window handed out before is taken as written.
    async fn next(&mut self) -> Option<(&'a WindowRecord, Result<Vec<DayFile>, LakeError>)> {
        self.writing = None;
        self.start();
        let (record, handle) = self.running.pop_front()?;
        let encoded = handle
            .await
            .map_err(|e| LakeError::Task(e.to_string()))
            .and_then(|r| r);
        // The windows behind it start now, to be read while this one is written.
        self.writing = Some(record.rows);
        self.start();
        Some((record, encoded))
    }
}

/// Whether a window of `rows` rows may start being read, with a window of `writing` rows being
/// written and windows of `running` rows being read: always when nothing is in flight,
/// otherwise within [`AHEAD_WINDOWS`] and [`AHEAD_ROWS`].
fn may_start(writing: Option<u64>, running: &[u64], rows: u64) -> bool {
    if running.len() >= AHEAD_WINDOWS {
        return false;
    }
    if writing.is_none() && running.is_empty() {
        return true;
    }
    writing.unwrap_or(0) + running.iter().sum::<u64>() + rows <= AHEAD_ROWS
}

impl Drop for ReadAhead<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LakeError> + Send + 'static,
) -> Result<T, LakeError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| LakeError::Task(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_read_ahead_within_the_row_and_window_limits() {
        // Nothing in flight: any window starts, however large.
        assert!(may_start(None, &[], 10 * AHEAD_ROWS));
        // Small windows: up to AHEAD_WINDOWS read while one is written.
        assert!(may_start(Some(7_000), &[7_000], 7_000));
        assert!(!may_start(Some(7_000), &[7_000, 7_000], 7_000));
        // A large window waits for the one being written, then for those being read.
        assert!(!may_start(Some(7_000), &[], AHEAD_ROWS));
        assert!(!may_start(None, &[7_000], AHEAD_ROWS));
        // Nor does anything start beside a large window.
        assert!(!may_start(Some(AHEAD_ROWS), &[], 1));
        assert!(!may_start(None, &[AHEAD_ROWS], 1));
    }
}
