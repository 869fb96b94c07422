//! Directory entities (queues, users, wrap-up codes, presence definitions) and the paged
//! listing that carries them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const QUEUES_PATH: &str = "/api/v2/routing/queues";
pub const USERS_PATH: &str = "/api/v2/users";
pub const WRAPUP_CODES_PATH: &str = "/api/v2/routing/wrapupcodes";
/// The organisation's presences, paged; documented as needing no permission (and deprecated
/// for `/api/v2/presence/definitions`, which needs one and does not page).
pub const PRESENCE_DEFINITIONS_PATH: &str = "/api/v2/presencedefinitions";

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

/// `OrganizationPresence` as the paged listing returns it: the system presences (`primary`)
/// and the org's own secondaries, which `tOrganizationPresence` qualifiers name by `id`.
/// Real payloads carry `languageLabels` and no `name` (genesys-users-and-details-api.md §3).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationPresence {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub language_labels: BTreeMap<String, String>,
    /// The system presence it belongs to, in the legacy spelling (`On Queue`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_presence: Option<String>,
    #[serde(default)]
    pub deactivated: bool,
    #[serde(default)]
    pub primary: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

impl OrganizationPresence {
    /// What people call it: its `name`, else its `en_US` label, else its first label.
    pub fn label(&self) -> Option<&str> {
        self.name
            .as_deref()
            .or_else(|| self.language_labels.get("en_US").map(String::as_str))
            .or_else(|| self.language_labels.values().next().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presence_is_called_by_its_name_or_its_label() {
        let real = r#"{"id":"e08eaf1b","languageLabels":{"en_US":"On Queue"},"systemPresence":"On Queue","deactivated":false,"primary":true}"#;
        let presence: OrganizationPresence = serde_json::from_str(real).unwrap();
        assert_eq!(presence.label(), Some("On Queue"));
        assert!(presence.primary && presence.name.is_none());
        let named = OrganizationPresence {
            name: Some("Lunch".into()),
            ..presence
        };
        assert_eq!(named.label(), Some("Lunch"));
    }
}
