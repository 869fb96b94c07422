//! Conversation aggregates: `POST /api/v2/analytics/conversations/aggregates/query` and the
//! async jobs under `/aggregates/jobs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::filter::{Filter, NumericRange};

pub const AGGREGATES_QUERY_PATH: &str = "/api/v2/analytics/conversations/aggregates/query";
pub const AGGREGATES_JOBS_PATH: &str = "/api/v2/analytics/conversations/aggregates/jobs";
/// User aggregates (time in routing status / presence): the same query and response shapes,
/// metrics `tAgentRoutingStatus`, `tOrganizationPresence`, `tSystemPresence` with a `qualifier`
/// per status, groupBy `userId` (genesys-api.md §4).
pub const USERS_AGGREGATES_QUERY_PATH: &str = "/api/v2/analytics/users/aggregates/query";

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<AggregateMetricData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<AggregateViewData>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AggregateMetricData {
    pub metric: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<String>,
    pub stats: StatisticalSummary,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AggregateViewData {
    pub name: String,
    pub stats: StatisticalSummary,
}

/// Every stats key Genesys may send; all optional. Unknown keys are ignored, not fatal.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatisticalSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_negative: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count_positive: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerator: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculated_metric_value: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_metrics_and_stats_keys_pass_through() {
        let page = br#"{"results":[{"group":{"queueId":"q1","newDimension":"x"},"data":[{
            "interval":"2024-05-01T00:00:00.000Z/2024-05-01T00:15:00.000Z",
            "metrics":[{"metric":"tFutureMetric","stats":{"max":5,"min":1,"count":2,"sum":6,"p50":3}},
                       {"metric":"oServiceLevel","stats":{"ratio":0.5,"numerator":1,"denominator":2,"target":0.8}}],
            "someNewField":true}]}],"anotherNewField":1}"#;
        let parsed: AggregateQueryResponse = serde_json::from_slice(page).unwrap();
        let data = &parsed.results[0].data[0];
        assert_eq!(parsed.results[0].group["newDimension"], "x");
        assert_eq!(data.metrics[0].metric, "tFutureMetric");
        assert_eq!(
            (data.metrics[0].stats.count, data.metrics[0].stats.sum),
            (Some(2), Some(6.0))
        );
        assert_eq!(data.metrics[1].stats.ratio, Some(0.5));
    }
}
