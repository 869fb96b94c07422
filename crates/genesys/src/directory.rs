//! Directory entities (queues, users, wrap-up codes) and the paged listing that carries them.

use serde::{Deserialize, Serialize};

pub const QUEUES_PATH: &str = "/api/v2/routing/queues";
pub const USERS_PATH: &str = "/api/v2/users";
pub const WRAPUP_CODES_PATH: &str = "/api/v2/routing/wrapupcodes";

/// A page of a directory (`…EntityListing`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityListing<T> {
    pub entities: Vec<T>,
    pub page_size: u32,
    pub page_number: u32,
    pub total: u64,
    pub page_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEntityRef {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevel {
    /// Fraction of conversations to answer within `duration_ms`, e.g. 0.8.
    pub percentage: f64,
    pub duration_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaSetting {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerting_timeout_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level: Option<ServiceLevel>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMediaSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<MediaSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback: Option<MediaSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<MediaSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<MediaSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MediaSetting>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<DomainEntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_settings: Option<QueueMediaSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<DomainEntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<DomainEntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapupCode {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division: Option<DomainEntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}
