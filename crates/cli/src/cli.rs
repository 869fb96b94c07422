//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use jiff::Timestamp;

#[derive(Debug, Parser)]
#[command(
    name = "genesys-bi",
    version,
    about = "Genesys Cloud contact-centre analytics for BI tools"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local Genesys Cloud emulator: synthetic contact centre, same endpoints, rate
    /// limits and injected faults.
    ///
    /// Prints GENESYS_API_BASE, GENESYS_LOGIN_BASE, GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and
    /// GENESYS_EMULATOR_ADMIN lines to stdout, then serves until Ctrl-C. Control the clock and
    /// faults at runtime through the admin API (GET/PUT /_emulator/clock, /_emulator/faults,
    /// GET /_emulator/counters, POST /_emulator/revoke-tokens).
    Emulator(EmulatorArgs),
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = emulator::config::DEFAULT_PORT)]
    pub port: u16,

    /// Seed of the synthetic data and of the fault sequence (same seed, same run).
    #[arg(long, default_value_t = emulator::config::DEFAULT_SEED)]
    pub seed: u64,

    /// Virtual "now" at start, RFC 3339 (e.g. 2024-05-10T12:00:00Z); default: the wall clock.
    #[arg(long, value_name = "INSTANT")]
    pub clock: Option<Timestamp>,

    /// Virtual seconds per real second (0 freezes time, 60 runs a minute per second).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub clock_rate: f64,

    /// OAuth client id the emulator accepts.
    #[arg(long, default_value = emulator::config::DEFAULT_CLIENT_ID)]
    pub client_id: String,

    /// OAuth client secret the emulator accepts (a local fake, printed at start).
    #[arg(long, default_value = emulator::config::DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,

    /// Access token lifetime, returned as `expires_in`.
    #[arg(long, default_value_t = 86_399)]
    pub token_lifetime_secs: u64,

    /// Requests per token per minute before 429.
    #[arg(long, default_value_t = 300)]
    pub rate_limit_per_minute: u32,

    /// Time an async job spends QUEUED/PENDING before FULFILLED.
    #[arg(long, default_value_t = 1_500)]
    pub job_delay_ms: u64,

    /// Time a fulfilled job's results stay readable before EXPIRED.
    #[arg(long, default_value_t = 3_600)]
    pub job_expiry_secs: u64,

    /// How far the details datalake (`dataAvailabilityDate`) lags virtual now.
    #[arg(long, default_value_t = 3_600)]
    pub data_lag_secs: u64,

    /// Synthetic org: number of queues.
    #[arg(long, default_value_t = 25)]
    pub queues: usize,

    /// Synthetic org: number of agents.
    #[arg(long, default_value_t = 200)]
    pub agents: usize,

    /// Synthetic org: number of wrap-up codes.
    #[arg(long, default_value_t = 30)]
    pub wrapup_codes: usize,

    /// Synthetic org: mean conversations per day.
    #[arg(long, default_value_t = 20_000)]
    pub conversations_per_day: u32,

    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Seeded random faults (probabilities per request, 0..=1).
#[derive(Debug, Args)]
#[command(next_help_heading = "Fault injection")]
pub struct FaultArgs {
    /// Rate of 500/502/503/504 answers (spread evenly over the four).
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_5xx: f64,

    /// Rate of connections dropped without a response.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_reset: f64,

    /// Rate of bodies cut short of their declared Content-Length.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_truncate: f64,

    /// Rate of daily-limit style 429s with a long Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_long_429: f64,

    /// Retry-After of those long 429s.
    #[arg(long, default_value_t = 3_600)]
    pub long_retry_after_secs: u64,

    /// Rate of slow replies.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_slow: f64,

    /// Delay of a slow reply.
    #[arg(long, default_value_t = 2_000)]
    pub slow_delay_ms: u64,

    /// Rate of requests that first revoke every live token.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate_revoke: f64,

    /// Revoke every live token each N seconds.
    #[arg(long, value_name = "N")]
    pub revoke_tokens_every_secs: Option<u64>,
}
