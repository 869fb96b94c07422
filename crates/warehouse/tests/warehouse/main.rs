//! The `warehouse` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod days;
mod kpi;
mod sqlite_store;
