//! Test helpers for every crate of the workspace, so that each crate's one test binary says
//! `test_support::TestApp::spawn()` instead of keeping its own copy: a [`TestEmulator`] on port 0,
//! the Genesys client pointed at it, the BI server over a filled store ([`TestApp`]), what a
//! store holds (`warehouse::testing`, no SQL in the tests), the real binary in a scratch folder
//! ([`cli::Workspace`]), the external programs some tests drive, and logs.
//!
//! A dev-dependency only; never a dependency of a library or the binary. It must not hold
//! SQL or a database driver: stores are read and changed through `warehouse`.

pub mod emulator;
pub mod external;
pub mod logs;

#[cfg(feature = "client")]
pub mod client;

#[cfg(feature = "app")]
pub mod app;
#[cfg(feature = "app")]
pub mod cli;
#[cfg(feature = "postgres")]
pub mod postgres;

pub use emulator::TestEmulator;

#[cfg(feature = "app")]
pub use app::TestApp;
/// What a store holds, read without SQL: tables, rows and values; copies and rewrites.
#[cfg(feature = "app")]
pub use warehouse::testing as store;
