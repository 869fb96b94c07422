//! The `cli` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

/// The binary under test (only this crate's tests know its path).
const BIN: &str = env!("CARGO_BIN_EXE_genesys-bi");

mod agent_status_cmd;
mod connect_cmd;
mod demo_cmd;
mod emulator_cmd;
mod lake_cmd;
mod postgres_bi_reader;
mod postgres_cmd;
mod postgres_replicas;
mod postgres_restart;
mod records_cmd;
mod restate_cmd;
mod sdk_conformance;
mod serve_cmd;
mod store_copy_cmd;
mod sync_e2e;
