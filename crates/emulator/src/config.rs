//! Everything an emulator instance can be told at start-up. Units live in field names.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use jiff::Timestamp;

use crate::faults::FaultConfig;
use crate::synth::OrgShape;

pub const DEFAULT_CLIENT_ID: &str = "genesys-bi-emulator";
pub const DEFAULT_CLIENT_SECRET: &str = "emulator-secret";
pub const DEFAULT_PORT: u16 = 9000;
pub const DEFAULT_SEED: u64 = 42;

/// Start-up settings of one emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub host: IpAddr,
    /// 0 binds any free port.
    pub port: u16,
    /// Seeds both the synthetic contact centre and the fault injector.
    pub seed: u64,
    pub org_shape: OrgShape,
    /// Virtual "now" at start; `None` follows the wall clock.
    pub clock_start: Option<Timestamp>,
    /// Virtual seconds per real second (0 freezes time).
    pub clock_rate: f64,
    /// The default OAuth client: holds every permission.
    pub client_id: String,
    pub client_secret: String,
    /// More OAuth clients, each with only its listed permissions (403 for the rest).
    pub limited_clients: Vec<crate::permissions::LimitedClient>,
    /// Returned as `expires_in`; tokens stop working after it (real time).
    pub token_lifetime: Duration,
    /// Requests per token per fixed 60 s window of real time.
    pub rate_limit_per_minute: u32,
    /// Real time an async job spends QUEUED then PENDING before it is FULFILLED.
    pub job_delay: Duration,
    /// Real time a fulfilled job's results stay readable before it is EXPIRED.
    pub job_expiry: Duration,
    /// How far the details datalake (`dataAvailabilityDate`) lags virtual now.
    pub data_lag: Duration,
    pub faults: FaultConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            seed: DEFAULT_SEED,
            org_shape: OrgShape::default(),
            clock_start: None,
            clock_rate: 1.0,
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            limited_clients: Vec::new(),
            token_lifetime: Duration::from_secs(86_399),
            rate_limit_per_minute: 300,
            job_delay: Duration::from_millis(1_500),
            job_expiry: Duration::from_secs(3_600),
            data_lag: Duration::from_secs(3_600),
            faults: FaultConfig::default(),
        }
    }
}

impl EmulatorConfig {
    /// A config for tests: any free port, small org, no job delay.
    pub fn for_tests() -> Self {
        Self {
            port: 0,
            org_shape: OrgShape {
                queues: 4,
                agents: 12,
                wrapup_codes: 5,
                conversations_per_day: 300,
                late_wrapup_percent: 0,
            },
            job_delay: Duration::ZERO,
            ..Self::default()
        }
    }
}
