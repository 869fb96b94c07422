//! The `sync` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod config;
mod engine;
mod plan;
mod runner;
