//! The `warehouse` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod backends;
mod days;
mod kpi;
mod postgres_store;
mod sqlite_store;
mod store_suite;
