//! The `server` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod auth;
mod backends;
mod common;
mod fuzz;
mod isolation;
mod odata;
mod odata_client;
mod parquet;
mod rollup_prop;
mod rows;
mod status_page_browser;
mod surface;
