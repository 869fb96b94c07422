//! Genesys Cloud analytics wire models, shared by the client and the emulator so that the wire
//! format is defined once; the metric and dimension catalog; query validation; and, behind the
//! `client` feature, the API client (OAuth client credentials, regions, the shared rate budget,
//! retries, typed events that log and count). Facts and sources: `shared/docs/genesys-api.md`.
//!
//! It must never know about stores, datasets, watermarks or BI tools.

pub mod aggregates;
pub mod auth;
pub mod catalog;
pub mod details;
pub mod directory;
pub mod error_body;
pub mod filter;
pub mod granularity;
pub mod interval;
pub mod jobs;
pub mod query;
pub mod users_catalog;
pub mod users_details;

pub use granularity::Granularity;
pub use interval::Interval;

#[cfg(feature = "client")]
pub mod client;
