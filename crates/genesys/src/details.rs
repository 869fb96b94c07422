//! Conversation details: the synchronous query, async jobs, availability, and the record tree
//! conversation → participants → sessions → segments and metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::filter::Filter;

pub const DETAILS_QUERY_PATH: &str = "/api/v2/analytics/conversations/details/query";
pub const DETAILS_JOBS_PATH: &str = "/api/v2/analytics/conversations/details/jobs";
pub const DETAILS_AVAILABILITY_PATH: &str =
    "/api/v2/analytics/conversations/details/jobs/availability";

/// Body of the synchronous query (`ConversationQuery`) and, with `limit` and
/// `start_of_day_interval_matching`, of an async job (`AsyncConversationQuery`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    pub interval: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversation_filters: Vec<Filter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_filters: Vec<Filter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<PagingSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_of_day_interval_matching: Option<bool>,
}

/// Conversation details intervals have users details' limits: "You must specify a search
/// interval as part of your query that does not exceed 7 days" without filters, 31 with one.
/// The sources quote them for the query; jobs are held to them too (the conservative reading),
/// so a longer window is asked for in pieces.
pub use crate::users_details::limits::{MAX_DAYS_FILTERED, MAX_DAYS_UNFILTERED, limit_days};

impl ConversationQuery {
    /// Whether it filters conversations or segments (its interval may be longer then).
    pub fn is_filtered(&self) -> bool {
        !self.conversation_filters.is_empty() || !self.segment_filters.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PagingSpec {
    pub page_size: u32,
    pub page_number: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQueryResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<Conversation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_hits: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncConversationQueryResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<Conversation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_availability_date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataAvailabilityResponse {
    pub data_availability_date: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub conversation_id: String,
    pub conversation_start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_initiator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub originating_direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_participation: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub division_ids: Vec<String>,
    /// The lowest MOS any voice session measured (a real, 1 to 5); absent without voice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_stats_min_conversation_mos: Option<f64>,
    /// The lowest R-factor any voice session measured (a real, 0 to 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_stats_min_conversation_r_factor: Option<f64>,
    #[serde(default)]
    pub participants: Vec<Participant>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub participant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_name: Option<String>,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Participant data; only async job results carry it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub sessions: Vec<Session>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub session_id: String,
    pub media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ani: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_routing: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_routings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<SessionMetric>,
    /// The IVR or in-queue flow the session ran (flow sessions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    /// Call quality per media endpoint, once measured (voice only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_endpoint_stats: Vec<MediaEndpointStat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    #[serde(default)]
    pub segments: Vec<Segment>,
}

/// `AnalyticsFlow`: the flow a session ran, how it entered and why it left.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    pub flow_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_target_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_target_address: Option<String>,
}

/// `AnalyticsMediaEndpointStat`: one endpoint's call quality (MOS and R-factor are reals).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaEndpointStat {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codecs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_mos: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_r_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_latency_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_packets: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discarded_packets: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
}

/// One metric emission: `value` in ms for `t*`, a count for `n*`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMetric {
    pub name: String,
    pub value: i64,
    pub emit_date: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub segment_start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_end: Option<String>,
    pub segment_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_up_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_routing_skill_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference: Option<bool>,
}
