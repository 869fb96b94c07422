//! The `server` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod auth;
mod backends;
mod common;
mod connect;
mod fuzz;
mod isolation;
mod kpi_feeds;
mod kpi_relations;
mod kpi_store;
mod kpi_v1;
mod odata;
mod odata_client;
mod odata_client_kpi;
mod odata_python;
mod parquet;
mod records;
mod rollup_prop;
mod rows;
mod status_page_browser;
mod surface;
