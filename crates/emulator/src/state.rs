//! The shared state of one running emulator.

use std::sync::Arc;

use genesys::aggregates::AggregateDataContainer;
use genesys::details::Conversation;
use jiff::{SignedDuration, Timestamp};

use crate::clock::VirtualClock;
use crate::config::EmulatorConfig;
use crate::events::Counters;
use crate::faults::FaultInjector;
use crate::jobs::JobStore;
use crate::ratelimit::RateLimiter;
use crate::synth::ContactCentre;
use crate::tokens::TokenStore;

/// An aggregates job's results: one paging unit per group, `page_size` groups per page.
pub struct AggregateResults {
    pub groups: Vec<AggregateDataContainer>,
    pub page_size: usize,
}

/// A details job's results: the conversations and the datalake date they were cut at.
pub struct DetailsResults {
    pub conversations: Vec<Conversation>,
    pub data_availability: Timestamp,
}

/// A users aggregates job's results: the table, paged by `page_size` users.
/// A users aggregates job's results: its query as of its submission, each page computed when
/// asked for (`ContactCentre::users_aggregate_page`).
pub struct UserAggregateResults {
    pub query: crate::synth::agents::UserAggregationQuery,
    pub now: Timestamp,
    /// Groups of the answer (agents kept, or one when not by user): what the cursor counts.
    pub groups: usize,
    pub page_size: usize,
}

/// A users details job's results: one detail per record, and the datalake date they were cut at.
pub struct UserDetailsResults {
    pub details: Vec<crate::synth::agents::UserDetail>,
    pub data_availability: Timestamp,
}

pub struct AppState {
    pub config: EmulatorConfig,
    pub clock: VirtualClock,
    pub centre: Arc<ContactCentre>,
    pub tokens: TokenStore,
    pub limiter: RateLimiter,
    pub faults: FaultInjector,
    pub counters: Counters,
    pub aggregate_jobs: Arc<JobStore<AggregateResults>>,
    pub details_jobs: Arc<JobStore<DetailsResults>>,
    pub user_aggregate_jobs: Arc<JobStore<UserAggregateResults>>,
    pub user_details_jobs: Arc<JobStore<UserDetailsResults>>,
}

impl AppState {
    pub fn new(config: EmulatorConfig, centre: ContactCentre) -> Self {
        let clock = match config.clock_start {
            Some(start) => VirtualClock::starting_at(start, config.clock_rate),
            None => VirtualClock::starting_at(Timestamp::now(), config.clock_rate),
        };
        Self {
            clock,
            centre: Arc::new(centre),
            tokens: TokenStore::new(config.token_lifetime),
            limiter: RateLimiter::new(config.rate_limit_per_minute),
            faults: FaultInjector::new(config.seed, config.faults.clone()),
            counters: Counters::default(),
            aggregate_jobs: Arc::new(JobStore::new(config.job_delay, config.job_expiry)),
            details_jobs: Arc::new(JobStore::new(config.job_delay, config.job_expiry)),
            user_aggregate_jobs: Arc::new(JobStore::new(config.job_delay, config.job_expiry)),
            user_details_jobs: Arc::new(JobStore::new(config.job_delay, config.job_expiry)),
            config,
        }
    }

    /// The details datalake's `dataAvailabilityDate`: virtual now minus the configured lag.
    pub fn data_availability(&self) -> Timestamp {
        let lag = SignedDuration::try_from(self.config.data_lag).unwrap_or(SignedDuration::MAX);
        let now = self.clock.now();
        now.saturating_sub(lag).unwrap_or(now)
    }
}
