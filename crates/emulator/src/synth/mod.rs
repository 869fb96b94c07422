//! The synthetic contact centre and the analytics computed over it.
//!
//! INTERFACE CONTRACT (the HTTP layer calls exactly this; the bodies are being written now).

use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};
use genesys::details::{Conversation, ConversationQuery, ConversationQueryResponse};
use genesys::directory::{Queue, User, WrapupCode};
use jiff::Timestamp;

mod codes;
mod ids;
mod org;

use org::OrgModel;

/// Size of the synthetic organisation.
#[derive(Debug, Clone)]
pub struct OrgShape {
    pub queues: usize,
    pub agents: usize,
    pub wrapup_codes: usize,
    /// Mean conversations per day across the org (weekly and daily seasonality around it).
    pub conversations_per_day: u32,
}

impl Default for OrgShape {
    fn default() -> Self {
        Self {
            queues: 25,
            agents: 200,
            wrapup_codes: 30,
            conversations_per_day: 20_000,
        }
    }
}

/// A query the API refuses: becomes the Genesys `ErrorBody` with this status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// The directories of the synthetic organisation.
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub queues: Vec<Queue>,
    pub users: Vec<User>,
    pub wrapup_codes: Vec<WrapupCode>,
}

/// Everything analytics knows about the synthetic contact centre. Deterministic from the seed.
pub struct ContactCentre {
    org: Org,
    #[allow(dead_code)]
    model: OrgModel,
    #[allow(dead_code)]
    seed: u64,
    #[allow(dead_code)]
    shape: OrgShape,
}

impl ContactCentre {
    pub fn new(seed: u64, shape: &OrgShape) -> Self {
        let model = OrgModel::generate(seed, shape);
        Self {
            org: model.directories(),
            model,
            seed,
            shape: shape.clone(),
        }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    /// `POST …/aggregates/query` as of virtual `now`: metrics emitted at or before `now` only.
    pub fn aggregate(
        &self,
        _query: &AggregationQuery,
        _now: Timestamp,
    ) -> Result<AggregateQueryResponse, QueryError> {
        unimplemented!("being written")
    }

    /// Validation alone (for async job creation, which must refuse a bad query at once).
    pub fn validate_aggregate(&self, _query: &AggregationQuery) -> Result<(), QueryError> {
        unimplemented!("being written")
    }

    /// `POST …/details/query`: conversations that started on a day touched by the interval, paged.
    pub fn details_query(
        &self,
        _query: &ConversationQuery,
        _now: Timestamp,
    ) -> Result<ConversationQueryResponse, QueryError> {
        unimplemented!("being written")
    }

    /// Async details job: every matching conversation with activity in the interval, as of `now`,
    /// none after `available_until` (the datalake's `dataAvailabilityDate`); the caller pages.
    pub fn details_job(
        &self,
        _query: &ConversationQuery,
        _now: Timestamp,
        _available_until: Timestamp,
    ) -> Result<Vec<Conversation>, QueryError> {
        unimplemented!("being written")
    }
}
