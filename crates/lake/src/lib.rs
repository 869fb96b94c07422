//! The lake: committed windows of the store published as Hive-partitioned Parquet files plus a
//! manifest per dataset, in a local folder or on S3, for Spark, Trino, Athena, Snowflake and
//! DuckDB. The store stays the source of truth: a window is committed to the store first, then
//! read back through the warehouse's read seam and published; the lake never writes the store.
//!
//! Layout: `<dataset>/date=YYYY-MM-DD/part-<window start>.parquet` (the local date of each
//! row's bucket in the dataset's time zone; one deterministic name per window and day, so a
//! republished window replaces its file whole) and `<dataset>/_genesys_bi/manifest.json`
//! (every published window, its files and row counts, the lake's watermark and the fencing
//! token of the lease it was published under). Names starting with `_` are hidden from every
//! engine's partition discovery, so the manifest and staged files are never read as data.

mod cleanup;
mod encode;
mod layout;
mod location;
mod manifest;
mod publish;
mod verify;

pub use layout::{manifest_path, part_path};
pub use location::{LakeLocation, LocationError};
pub use manifest::{Manifest, PublishedFile, PublishedWindow};
pub use publish::{Lake, PublishReport, Published};
pub use verify::{Problem, VerifyReport};

/// Why publishing or checking the lake failed.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("reading the store: {0}")]
    Store(#[from] warehouse::StoreError),
    #[error("dataset `{0}` is not in the store")]
    UnknownDataset(String),
    #[error("encoding Parquet for dataset `{dataset}`: {source}")]
    Encode {
        dataset: String,
        source: Box<warehouse::columnar::ParquetWriteError>,
    },
    #[error("the lake at {location}: {source}")]
    Storage {
        location: String,
        source: object_store::Error,
    },
    #[error("the manifest {path}: {reason}")]
    Manifest { path: String, reason: String },
    /// A writer holding a newer lease published the dataset: this one stops, as its store
    /// writes would be refused.
    #[error(
        "dataset `{dataset}`: the lake was published under lease token {found}, newer than this writer's {mine}; nothing was published"
    )]
    Fenced {
        dataset: String,
        found: i64,
        mine: i64,
    },
    #[error("the lake's worker stopped unexpectedly: {0}")]
    Task(String),
}
