//! The per-dataset manifest, `<dataset>/_genesys_bi/manifest.json`: every window published,
//! its files and row counts, the store write it came from, the lake's own watermark and the
//! lease's fencing token. Replaced whole after each publish: on S3 by a conditional PUT on the
//! version read (two writers never both win), in a folder by an atomic rename.

use jiff::Timestamp;
use jiff::civil::Date;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::LakeError;
use crate::layout::manifest_path;

/// What the lake holds of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// 1: this layout.
    pub format: u32,
    pub dataset: String,
    /// The zone of the `date=` partitions.
    pub time_zone: String,
    /// The lake's watermark: every window before it is in the lake as the store has it, and
    /// the store's own watermark is at or past it. Readers who want only complete days stop
    /// before the local day it falls on.
    pub complete_through: Option<Timestamp>,
    /// The fencing token of the lease the last publish held (0 without one).
    pub fencing_token: i64,
    pub published_at: Timestamp,
    /// In window order.
    pub windows: Vec<PublishedWindow>,
}

/// One window as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedWindow {
    pub start: Timestamp,
    pub end: Timestamp,
    pub rows: u64,
    /// When the store committed the rows published (its window log's time): a window the store
    /// wrote again since is published again.
    pub store_written_at: Timestamp,
    pub files: Vec<PublishedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedFile {
    /// Relative to the lake's root.
    pub path: String,
    pub date: Date,
    pub rows: u64,
    pub bytes: u64,
}

impl Manifest {
    pub fn empty(dataset: &str, time_zone: &str) -> Self {
        Self {
            format: 1,
            dataset: dataset.to_string(),
            time_zone: time_zone.to_string(),
            complete_through: None,
            fencing_token: 0,
            published_at: Timestamp::UNIX_EPOCH,
            windows: Vec::new(),
        }
    }

    pub fn window(&self, start: Timestamp) -> Option<&PublishedWindow> {
        self.windows.iter().find(|w| w.start == start)
    }

    /// Puts `window` in (replacing the one of the same start), keeping window order.
    pub(crate) fn record(&mut self, window: PublishedWindow) {
        self.windows.retain(|w| w.start != window.start);
        let at = self.windows.partition_point(|w| w.start < window.start);
        self.windows.insert(at, window);
    }
}

/// The manifest as read, with the version a conditional replace is made against.
pub(crate) struct Stored {
    pub manifest: Option<Manifest>,
    version: Option<UpdateVersion>,
}

fn invalid(path: &Path, reason: impl ToString) -> LakeError {
    LakeError::Manifest {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

pub(crate) async fn load(
    store: &dyn ObjectStore,
    dataset: &str,
    storage: impl Fn(object_store::Error) -> LakeError,
) -> Result<Stored, LakeError> {
    let path = manifest_path(dataset);
    let got = match store.get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => {
            return Ok(Stored {
                manifest: None,
                version: None,
            });
        }
        Err(e) => return Err(storage(e)),
    };
    let version = UpdateVersion {
        e_tag: got.meta.e_tag.clone(),
        version: got.meta.version.clone(),
    };
    let bytes = got.bytes().await.map_err(&storage)?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, e))?;
    if manifest.dataset != dataset {
        return Err(invalid(
            &path,
            format!("it is the manifest of `{}`", manifest.dataset),
        ));
    }
    Ok(Stored {
        manifest: Some(manifest),
        version: Some(version),
    })
}

impl Stored {
    /// Replaces the manifest with `manifest`, only if it is still the version read (on S3; a
    /// folder has no conditional write, and the dataset's lease keeps its one writer).
    pub(crate) async fn replace(
        &mut self,
        store: &dyn ObjectStore,
        manifest: &Manifest,
        conditional: bool,
        storage: impl Fn(object_store::Error) -> LakeError,
    ) -> Result<(), LakeError> {
        let path = manifest_path(&manifest.dataset);
        let body = serde_json::to_vec_pretty(manifest).map_err(|e| invalid(&path, e))?;
        let mode = match (&self.version, conditional) {
            (_, false) => PutMode::Overwrite,
            (Some(version), true) => PutMode::Update(version.clone()),
            (None, true) => PutMode::Create,
        };
        let put = store
            .put_opts(&path, PutPayload::from(body), PutOptions::from(mode))
            .await
            .map_err(|e| match e {
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. } => invalid(
                    &path,
                    "another writer replaced it meanwhile; nothing more was published",
                ),
                e => storage(e),
            })?;
        self.version = Some(UpdateVersion {
            e_tag: put.e_tag,
            version: put.version,
        });
        self.manifest = Some(manifest.clone());
        Ok(())
    }
}
