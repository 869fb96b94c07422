//! `lake verify`: the manifest, the files and the store checked against each other. Every
//! window the store has is in the manifest as the store last wrote it; every file the manifest
//! names is there and holds the rows it says (read from its Parquet footer); no data file is
//! outside the manifest; no window is in the lake that the store lacks.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::TryStreamExt;
use genesys::Interval;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::file::reader::{FileReader, SerializedFileReader};
use warehouse::Store;

use crate::layout::{dataset_prefix, is_part_file};
use crate::manifest;
use crate::publish::is_current;
use crate::{Lake, LakeError};

/// One disagreement between the store, the manifest and the files.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("window {0} is in the store but not in the lake")]
    Unpublished(Interval),
    #[error("window {0} was written to the store again after it was published")]
    Outdated(Interval),
    #[error("window {0} is in the lake but not in the store")]
    NotInStore(Interval),
    #[error("{path} is in the manifest but missing")]
    MissingFile { path: String },
    #[error("{path} holds {found} rows; the manifest says {listed}")]
    RowCount {
        path: String,
        listed: u64,
        found: u64,
    },
    #[error("{path} can't be read as Parquet: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path} is a data file no manifest entry names")]
    Orphan { path: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    pub dataset: String,
    pub windows: usize,
    pub files: usize,
    pub rows: u64,
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Lake {
    pub async fn verify(
        &self,
        store: Arc<dyn Store>,
        dataset: &str,
    ) -> Result<VerifyReport, LakeError> {
        let name = dataset.to_string();
        let windows = tokio::task::spawn_blocking(move || store.windows(&name))
            .await
            .map_err(|e| LakeError::Task(e.to_string()))??;
        let stored = manifest::load(self.objects(), dataset, self.storage_error()).await?;
        let manifest = stored.manifest;
        let mut report = VerifyReport {
            dataset: dataset.to_string(),
            windows: windows.len(),
            files: 0,
            rows: 0,
            problems: Vec::new(),
        };
        for record in &windows {
            let listed = manifest
                .as_ref()
                .and_then(|m| m.window(record.window.start));
            match listed {
                None => report.problems.push(Problem::Unpublished(record.window)),
                Some(_) if !is_current(record, manifest.as_ref()) => {
                    report.problems.push(Problem::Outdated(record.window));
                }
                Some(_) => {}
            }
        }
        let starts: BTreeSet<_> = windows.iter().map(|r| r.window.start).collect();
        let published = manifest.iter().flat_map(|m| &m.windows);
        for window in published.clone() {
            if !starts.contains(&window.start) {
                let interval = Interval::new(window.start, window.end);
                report.problems.push(Problem::NotInStore(interval));
            }
            for file in &window.files {
                report.files += 1;
                report.rows += file.rows;
                if let Some(problem) = self.check_file(&file.path, file.rows).await? {
                    report.problems.push(problem);
                }
            }
        }
        let named: BTreeSet<&str> = published
            .flat_map(|w| &w.files)
            .map(|f| f.path.as_str())
            .collect();
        let listed: Vec<_> = self
            .objects()
            .list(Some(&dataset_prefix(dataset)))
            .try_collect()
            .await
            .map_err(self.storage_error())?;
        for meta in listed {
            if is_part_file(dataset, &meta.location) && !named.contains(meta.location.as_ref()) {
                report.problems.push(Problem::Orphan {
                    path: meta.location.to_string(),
                });
            }
        }
        Ok(report)
    }

    /// The file's problem, if it is missing, unreadable or holds another row count.
    async fn check_file(&self, path: &str, listed: u64) -> Result<Option<Problem>, LakeError> {
        let got = match self.objects().get(&Path::from(path)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Ok(Some(Problem::MissingFile {
                    path: path.to_string(),
                }));
            }
            Err(e) => return Err(self.storage_error()(e)),
        };
        let bytes = got.bytes().await.map_err(self.storage_error())?;
        let found = match SerializedFileReader::new(bytes) {
            Ok(reader) => reader.metadata().file_metadata().num_rows() as u64,
            Err(e) => {
                return Ok(Some(Problem::Unreadable {
                    path: path.to_string(),
                    reason: e.to_string(),
                }));
            }
        };
        Ok((found != listed).then(|| Problem::RowCount {
            path: path.to_string(),
            listed,
            found,
        }))
    }
}
