//! The `cli` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod common;
mod demo_cmd;
mod emulator_cmd;
mod sdk_conformance;
mod serve_cmd;
mod sync_e2e;
