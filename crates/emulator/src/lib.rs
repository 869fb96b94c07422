//! A faithful local Genesys Cloud: a synthetic contact centre generated deterministically from a
//! seed, served through the same HTTP endpoints, bodies, status codes, rate limits and faults as
//! the real analytics API, on a virtual clock.
//!
//! Start one in-process with [`server::Emulator::build`] then [`server::Emulator::spawn`] (or
//! `run_until_stopped`); the admin API lives under `/_emulator/`.
//!
//! Only the `genesys-bi` binary (`emulator`, `demo`) and tests may use it; it must never be a
//! dependency of the product's sync, store or server.

pub mod clock;
pub mod config;
mod connection_abort;
pub mod error;
pub mod events;
pub mod extract;
pub mod faults;
pub mod gateway;
mod ids;
pub mod jobs;
pub mod permissions;
pub mod ratelimit;
pub mod routes;
pub mod server;
pub mod state;
pub mod synth;
pub mod tokens;

pub use config::EmulatorConfig;
pub use server::{Emulator, EmulatorError, EmulatorHandle};
