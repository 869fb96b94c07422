//! The `emulator` crate's integration tests, one binary: each test binary links the whole
//! workspace, and linking dominates a build on two cores. Each module is one former binary.

mod http_admin;
mod http_auth;
mod http_directories;
mod http_faults;
mod http_jobs;
mod http_limits;
mod http_users;
mod http_users_details;
mod recorded_shapes;
mod synth_agents;
mod synth_aggregates;
mod synth_org;
mod synth_queries;
mod synth_restatement;
mod synth_users_aggregates;
mod synth_users_details;
