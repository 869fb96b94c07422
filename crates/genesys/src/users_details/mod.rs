//! Users details: each user's presence (`primaryPresence`) and routing status (`routingStatus`)
//! records, from the synchronous query, async jobs and the datalake availability date. Facts and
//! sources: `shared/docs/genesys-users-and-details-api.md` §2.
//!
//! Records are whole: one that began before the interval keeps its true `startTime`, one still in
//! force has no `endTime`. Genesys stores a record on the UTC day it starts and on the day it
//! ends, so a query reading both days may return it twice ([`intervals`] merges the copies), and
//! an empty answer is `{"totalHits": 0}` with no `userDetails` key (read here as no records).

pub mod intervals;
pub mod limits;

use serde::{Deserialize, Serialize};

use crate::details::PagingSpec;
use crate::filter::Filter;

pub use intervals::{Status, StatusInterval, StatusIntervalError, StatusKind};
pub use limits::{IntervalLimitError, MAX_DAYS_FILTERED, MAX_DAYS_UNFILTERED};

/// The deepest the synchronous query pages ("Pagination may not exceed 100000 results."); the
/// document assumes the conversation details cap for users details (inferred).
pub const MAX_QUERY_RESULTS: u64 = 100_000;

pub const USERS_DETAILS_QUERY_PATH: &str = "/api/v2/analytics/users/details/query";
pub const USERS_DETAILS_JOBS_PATH: &str = "/api/v2/analytics/users/details/jobs";
pub const USERS_DETAILS_AVAILABILITY_PATH: &str =
    "/api/v2/analytics/users/details/jobs/availability";

/// Body of the synchronous query (`UserDetailsQuery`: `paging`, aggregations) and of an async
/// job (`AsyncUserDetailsQuery`: `limit` instead).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailsQuery {
    pub interval: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_filters: Vec<Filter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence_filters: Vec<Filter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_status_filters: Vec<Filter>,
    /// `asc` (the default), `desc` or `unordered`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence_aggregations: Vec<QueryAggregation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_status_aggregations: Vec<QueryAggregation>,
}

impl UserDetailsQuery {
    /// Whether any filter is given: it raises the interval limit from 7 to 31 days.
    pub fn is_filtered(&self) -> bool {
        !(self.user_filters.is_empty()
            && self.presence_filters.is_empty()
            && self.routing_status_filters.is_empty())
    }
}

/// `AnalyticsQueryAggregation`: counts alongside the records; "does not function as a filter".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryAggregation {
    /// `termFrequency` or `numericRange`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<AggregationRange>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AggregationRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
}

/// The synchronous query's answer (`AnalyticsUserDetailsQueryResponse`). `total_hits` counts
/// stored copies, so it is approximate: a page may hold fewer records than its size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetailsQueryResponse {
    /// Absent (not `[]`) when nothing matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_details: Vec<UserDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_hits: Option<u64>,
}

/// One results page of a job (`AnalyticsUserDetailsAsyncQueryResponse`); `cursor` is absent on
/// the last page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncUserDetailsQueryResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_details: Vec<UserDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// "Data available up to at least this datetime": later records are silently absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_availability_date: Option<String>,
}

/// `AnalyticsUserDetail`: one user's records on a page (a user may recur on later pages).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub primary_presence: Vec<PresenceRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_status: Vec<RoutingStatusRecord>,
}

impl UserDetail {
    /// Presence and routing records together.
    pub fn record_count(&self) -> usize {
        self.primary_presence.len() + self.routing_status.len()
    }
}

/// `AnalyticsUserPresenceRecord`. Times are `yyyy-MM-ddTHH:mm:ss[.mmm]Z`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceRecord {
    pub start_time: String,
    /// Absent while the presence is still in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `AVAILABLE`, `ON_QUEUE`, `OFFLINE`, …
    pub system_presence: String,
    pub organization_presence_id: String,
}

/// `AnalyticsRoutingStatusRecord`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingStatusRecord {
    pub start_time: String,
    /// Absent while the status is still in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// `OFF_QUEUE`, `IDLE`, `INTERACTING`, `NOT_RESPONDING` or `COMMUNICATING`.
    pub routing_status: String,
}
