//! The lake crate's one integration-test binary: a real SQLite store (and the same windows in
//! PostgreSQL) filled through the `Store` API, published to a real folder (and a local S3
//! server), read back by the parquet crate, pyarrow and pyspark.

mod fixture;
mod kill;
mod publish;
mod readers;
mod verify;
