//! The `genesys` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod client_auth;
mod client_faults;
mod client_local;
mod client_paging;
mod client_rate;
mod client_retry;
mod client_streamed;
mod client_users_details;
