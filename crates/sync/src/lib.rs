//! Datasets → window plans → fetch → write. Watermarks make loading incremental and
//! exactly-once: every window is written in one transaction and re-pulling one is harmless.
//! Also the configuration file (`config`, `server_settings`), the stop signal and the sync's
//! metrics.
//!
//! It must never hold SQL text or a database driver (the store is `warehouse`'s), nor serve HTTP.

pub mod config;
pub mod engine;
pub mod faults;
pub mod genesys_source;
mod iso_duration;
pub mod lake_config;
pub mod metrics;
pub mod plan;
pub mod record_pages;
mod record_source;
pub mod runner;
pub mod server_settings;
pub mod stop;
pub mod store_wait;
