//! Conversation aggregates: `POST /api/v2/analytics/conversations/aggregates/query` and the
//! async jobs under `/aggregates/jobs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::filter::{Filter, NumericRange};

mod decoder;
mod fast;
mod metric_name;
mod wire;

pub use decoder::{PageDecoder, PageEnd};
pub use metric_name::MetricName;
use wire::{StatKey, StatValue, metrics_in_place};

pub const AGGREGATES_QUERY_PATH: &str = "/api/v2/analytics/conversations/aggregates/query";
pub const AGGREGATES_JOBS_PATH: &str = "/api/v2/analytics/conversations/aggregates/jobs";
/// User aggregates (time in routing status / presence): the same query and response shapes,
/// metrics `tAgentRoutingStatus`, `tOrganizationPresence`, `tSystemPresence` with a `qualifier`
/// per status, groupBy `userId` (genesys-api.md §4).
pub const USERS_AGGREGATES_QUERY_PATH: &str = "/api/v2/analytics/users/aggregates/query";
/// The users aggregates' async jobs (preview in the SDK; genesys-users-and-details-api.md §1.1).
pub const USERS_AGGREGATES_JOBS_PATH: &str = "/api/v2/analytics/users/aggregates/jobs";

/// Which aggregates API a query goes to: both take [`AggregationQuery`] and answer
/// [`AggregateQueryResponse`] (users entries carry a `qualifier` per presence or status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregatesFamily {
    Conversations,
    Users,
}

impl AggregatesFamily {
    pub fn query_path(self) -> &'static str {
        match self {
            AggregatesFamily::Conversations => AGGREGATES_QUERY_PATH,
            AggregatesFamily::Users => USERS_AGGREGATES_QUERY_PATH,
        }
    }

    pub fn jobs_path(self) -> &'static str {
        match self {
            AggregatesFamily::Conversations => AGGREGATES_JOBS_PATH,
            AggregatesFamily::Users => USERS_AGGREGATES_JOBS_PATH,
        }
    }

    /// What its answers are, for messages.
    pub fn what(self) -> &'static str {
        match self {
            AggregatesFamily::Conversations => "conversation aggregates",
            AggregatesFamily::Users => "user aggregates",
        }
    }

    /// Checks a query against this family's catalog before any request.
    pub fn validate(
        self,
        query: &AggregationQuery,
    ) -> Result<(), crate::query::QueryValidationError> {
        match self {
            AggregatesFamily::Conversations => crate::query::validate(query),
            AggregatesFamily::Users => crate::query::validate_users(query),
        }
    }
}

/// The request body (`ConversationAggregationQuery`; with `page_size` it is the async job body;
/// `UserAggregationQuery` is the same shape with fewer fields used).
/// Strings stay strings on the wire so that a server can answer bad values with the API's own 400.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationQuery {
    pub interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flatten_multivalued_dimensions: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<AggregationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternate_time_dimension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Async jobs only: rows (groups) per results page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// A derived histogram metric: counts of `target` observations inside `range`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregationView {
    pub target: String,
    pub name: String,
    pub function: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<NumericRange>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AggregateQueryResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<AggregateDataContainer>,
}

impl AggregateQueryResponse {
    /// Decodes a whole response body. The same value as `serde_json::from_slice`, errors
    /// included, several times faster on the shape Genesys sends (see [`PageDecoder`], which
    /// reads a body as it arrives instead).
    pub fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        match decoder::whole_page(body, PageDecoder::new()) {
            Ok((results, _)) => Ok(Self { results }),
            Err(_) => serde_json::from_slice(body),
        }
    }
}

impl AsyncAggregateQueryResponse {
    /// Decodes a results page; as [`AggregateQueryResponse::from_json`].
    pub fn from_json(body: &[u8]) -> serde_json::Result<Self> {
        let page = decoder::whole_page(body, PageDecoder::new())
            .and_then(|(results, end)| Ok((results, end.cursor()?)));
        match page {
            Ok((results, cursor)) => Ok(Self { results, cursor }),
            Err(_) => serde_json::from_slice(body),
        }
    }
}

/// One page of async aggregate job results; `cursor` is present while more pages follow.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AsyncAggregateQueryResponse {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<AggregateDataContainer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AggregateDataContainer {
    #[serde(default)]
    pub group: BTreeMap<String, String>,
    #[serde(default)]
    pub data: Vec<StatisticalResponse>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatisticalResponse {
    pub interval: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "metrics_in_place"
    )]
    pub metrics: Vec<AggregateMetricData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<AggregateViewData>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AggregateMetricData {
    pub metric: MetricName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    pub stats: StatisticalSummary,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AggregateViewData {
    pub name: String,
    pub stats: StatisticalSummary,
}

/// Every stats key Genesys documents, all optional, plus whatever else it sends: a key this
/// type does not know (or a value that does not fit its field, such as a fractional `p95`)
/// is kept in `other` and written back on serialization, never dropped and never fatal.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatisticalSummary {
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub count: Option<i64>,
    pub count_negative: Option<i64>,
    pub count_positive: Option<i64>,
    pub sum: Option<f64>,
    pub current: Option<f64>,
    pub ratio: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub target: Option<f64>,
    pub p95: Option<i64>,
    pub p99: Option<i64>,
    pub calculated_metric_value: Option<i64>,
    /// Stats keys not listed above, in the order Genesys sent them; usually empty.
    pub other: Vec<(String, serde_json::Value)>,
}

#[cfg(test)]
mod tests;
