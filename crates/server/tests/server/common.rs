//! The helpers are test-support's; `surface` and `fuzz` still name them through here.

pub use test_support::app::{DATASET, TestApp, assert_problem};
pub use test_support::external;
