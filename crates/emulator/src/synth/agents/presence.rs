//! Presence definitions: the system presences every org has, and the organisation presences
//! (primary ones, one per system presence, plus a few secondaries the synthetic org defines).
//!
//! Ids are derived from the seed. Real orgs seem to share the primary ids (`ccf3c10a-…` is
//! OFFLINE in unrelated captures) but no source says they always do, so the emulator does not
//! reuse them: a client must read the definitions, never hard-code an id.

use genesys::directory::OrganizationPresence;
use serde::Serialize;

use crate::synth::ids::{IdKind, uuid_string};

/// A system presence, spelt as analytics spells it (qualifiers, users details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemPresence {
    Available,
    Away,
    Busy,
    Offline,
    Idle,
    OnQueue,
    Meal,
    Training,
    Meeting,
    Break,
}

impl SystemPresence {
    pub const ALL: [SystemPresence; 10] = [
        Self::Available,
        Self::Away,
        Self::Busy,
        Self::Offline,
        Self::Idle,
        Self::OnQueue,
        Self::Meal,
        Self::Training,
        Self::Meeting,
        Self::Break,
    ];

    /// The analytics spelling: `ON_QUEUE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Away => "AWAY",
            Self::Busy => "BUSY",
            Self::Offline => "OFFLINE",
            Self::Idle => "IDLE",
            Self::OnQueue => "ON_QUEUE",
            Self::Meal => "MEAL",
            Self::Training => "TRAINING",
            Self::Meeting => "MEETING",
            Self::Break => "BREAK",
        }
    }

    pub fn parse(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == wire)
    }

    /// The `/presence/definitions` spelling: `OnQueue`.
    pub fn definition_label(self) -> &'static str {
        match self {
            Self::OnQueue => "OnQueue",
            other => other.legacy_label(),
        }
    }

    /// The legacy `/presencedefinitions` spelling: `On Queue`.
    pub fn legacy_label(self) -> &'static str {
        match self {
            Self::Available => "Available",
            Self::Away => "Away",
            Self::Busy => "Busy",
            Self::Offline => "Offline",
            Self::Idle => "Idle",
            Self::OnQueue => "On Queue",
            Self::Meal => "Meal",
            Self::Training => "Training",
            Self::Meeting => "Meeting",
            Self::Break => "Break",
        }
    }
}

/// An agent's routing status (analytics spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoutingStatus {
    OffQueue,
    Idle,
    Interacting,
    NotResponding,
    Communicating,
}

impl RoutingStatus {
    pub const ALL: [RoutingStatus; 5] = [
        Self::OffQueue,
        Self::Idle,
        Self::Interacting,
        Self::NotResponding,
        Self::Communicating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OffQueue => "OFF_QUEUE",
            Self::Idle => "IDLE",
            Self::Interacting => "INTERACTING",
            Self::NotResponding => "NOT_RESPONDING",
            Self::Communicating => "COMMUNICATING",
        }
    }

    pub fn parse(wire: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == wire)
    }
}

/// What an agent is doing by the roster; each names one organisation presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activity {
    Available,
    Away,
    Busy,
    Offline,
    Idle,
    OnQueue,
    Meal,
    Training,
    Meeting,
    Break,
    /// Secondary of Meal.
    Lunch,
    /// Secondary of Meeting.
    TeamHuddle,
    /// Secondary of Busy: end-of-shift paperwork.
    AdminWork,
}

impl Activity {
    pub const ALL: [Activity; 13] = [
        Self::Available,
        Self::Away,
        Self::Busy,
        Self::Offline,
        Self::Idle,
        Self::OnQueue,
        Self::Meal,
        Self::Training,
        Self::Meeting,
        Self::Break,
        Self::Lunch,
        Self::TeamHuddle,
        Self::AdminWork,
    ];

    pub fn system(self) -> SystemPresence {
        match self {
            Self::Available => SystemPresence::Available,
            Self::Away => SystemPresence::Away,
            Self::Busy | Self::AdminWork => SystemPresence::Busy,
            Self::Offline => SystemPresence::Offline,
            Self::Idle => SystemPresence::Idle,
            Self::OnQueue => SystemPresence::OnQueue,
            Self::Meal | Self::Lunch => SystemPresence::Meal,
            Self::Training => SystemPresence::Training,
            Self::Meeting | Self::TeamHuddle => SystemPresence::Meeting,
            Self::Break => SystemPresence::Break,
        }
    }

    /// A primary definition is the system presence itself; the others are secondaries.
    pub fn is_primary(self) -> bool {
        !matches!(self, Self::Lunch | Self::TeamHuddle | Self::AdminWork)
    }

    fn label(self) -> &'static str {
        match self {
            Self::Lunch => "Lunch",
            Self::TeamHuddle => "Team Huddle",
            Self::AdminWork => "Admin Work",
            other => other.system().legacy_label(),
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|a| *a == self).unwrap_or(0)
    }
}

/// The organisation presence ids of one org.
#[derive(Debug, Clone)]
pub struct Presences {
    ids: Vec<String>,
}

impl Presences {
    pub fn new(seed: u64) -> Self {
        Self {
            ids: Activity::ALL
                .iter()
                .map(|a| uuid_string(seed, IdKind::Presence, a.index() as u64, 0))
                .collect(),
        }
    }

    pub fn id(&self, activity: Activity) -> &str {
        &self.ids[activity.index()]
    }

    pub fn activity_of(&self, id: &str) -> Option<Activity> {
        self.ids
            .iter()
            .position(|i| i == id)
            .map(|i| Activity::ALL[i])
    }

    /// The legacy `GET /api/v2/presencedefinitions` entities, in definition order.
    pub fn legacy_entities(&self) -> Vec<OrganizationPresence> {
        Activity::ALL
            .iter()
            .map(|a| OrganizationPresence {
                id: self.id(*a).to_string(),
                name: Some(a.label().to_string()),
                language_labels: [("en_US".to_string(), a.label().to_string())].into(),
                system_presence: Some(a.system().legacy_label().to_string()),
                deactivated: false,
                primary: a.is_primary(),
                self_uri: Some(format!("/api/v2/presencedefinitions/{}", self.id(*a))),
            })
            .collect()
    }
}

impl Presences {
    /// The `GET /api/v2/presence/definitions` entities: system (primary) and user-defined ones.
    pub fn definitions(&self) -> Vec<PresenceDefinition> {
        Activity::ALL
            .iter()
            .map(|a| PresenceDefinition {
                id: self.id(*a).to_string(),
                name: a.label().to_string(),
                kind: if a.is_primary() { "System" } else { "User" }.to_string(),
                language_labels: [("en_US".to_string(), a.label().to_string())].into(),
                system_presence: a.system().definition_label().to_string(),
                deactivated: false,
                self_uri: format!("/api/v2/presence/definitions/{}", self.id(*a)),
            })
            .collect()
    }
}

/// `OrganizationPresenceDefinition`, as `/api/v2/presence/definitions` returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceDefinition {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub language_labels: std::collections::BTreeMap<String, String>,
    pub system_presence: String,
    pub deactivated: bool,
    pub self_uri: String,
}
