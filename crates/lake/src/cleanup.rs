//! Removing what a publish left behind: a republished window's files on days it no longer
//! has, the files of windows the store dropped (a dataset rebuilt), and data files no manifest
//! names (a process killed between a file's write and the manifest's). Each runs after the
//! files that replace them are in place, so a reader never loses rows it should see.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use jiff::Timestamp;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::layout::{dataset_prefix, is_part_file};
use crate::manifest::{Manifest, PublishedWindow, Stored};
use crate::publish::StoreView;
use crate::{Lake, LakeError};

impl Lake {
    /// Removes the files of the window's previous publish that the new one did not replace.
    pub(crate) async fn remove_replaced(
        &self,
        old: Option<&PublishedWindow>,
        new: &PublishedWindow,
    ) -> Result<usize, LakeError> {
        let kept: BTreeSet<&str> = new.files.iter().map(|f| f.path.as_str()).collect();
        let gone = old
            .into_iter()
            .flat_map(|w| &w.files)
            .filter(|f| !kept.contains(f.path.as_str()))
            .map(|f| Path::from(f.path.as_str()));
        self.remove(gone).await
    }

    /// Drops from the lake the windows the store no longer has (a dataset rebuilt).
    pub(crate) async fn drop_unstored(
        &self,
        stored: &mut Stored,
        manifest: &mut Manifest,
        view: &StoreView,
    ) -> Result<usize, LakeError> {
        let starts: BTreeSet<Timestamp> = view.windows.iter().map(|r| r.window.start).collect();
        let (kept, dropped): (Vec<_>, Vec<_>) = std::mem::take(&mut manifest.windows)
            .into_iter()
            .partition(|w| starts.contains(&w.start));
        manifest.windows = kept;
        if dropped.is_empty() {
            return Ok(0);
        }
        // The manifest first: a file it no longer names is swept later if this stops here.
        self.save(stored, manifest, view).await?;
        let files = dropped
            .iter()
            .flat_map(|w| &w.files)
            .map(|f| Path::from(f.path.as_str()));
        self.remove(files).await
    }

    /// Removes the dataset's data files no manifest entry names.
    pub(crate) async fn sweep(&self, manifest: &Manifest) -> Result<usize, LakeError> {
        let named: BTreeSet<&str> = manifest
            .windows
            .iter()
            .flat_map(|w| &w.files)
            .map(|f| f.path.as_str())
            .collect();
        let listed: Vec<_> = self
            .objects()
            .list(Some(&dataset_prefix(&manifest.dataset)))
            .try_collect()
            .await
            .map_err(self.storage_error())?;
        let orphans = listed
            .into_iter()
            .map(|meta| meta.location)
            .filter(|path| is_part_file(&manifest.dataset, path))
            .filter(|path| !named.contains(path.as_ref()));
        self.remove(orphans).await
    }

    async fn remove(&self, paths: impl Iterator<Item = Path>) -> Result<usize, LakeError> {
        let mut removed = 0;
        for path in paths {
            match self.objects().delete(&path).await {
                // Already gone (a previous attempt removed it): what was wanted.
                Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
                Err(e) => return Err(self.storage_error()(e)),
            }
        }
        Ok(removed)
    }
}
