//! A faithful local Genesys Cloud: a synthetic contact centre generated deterministically from a
//! seed, served through the same HTTP endpoints, bodies, status codes, rate limits and faults as
//! the real analytics API, on a virtual clock.

pub mod clock;
pub mod synth;
