//! The dimensions the synthetic data carries (the ONE list), how each is read from an emission's
//! context as a small integer code, and how a code is written out as the API's string.

use super::codes::{Direction, Disconnect, Media, Purpose};
use super::ids::{IdKind, uuid_string};
use super::model::{ConvRec, NONE, SessRec};
use super::org::OrgModel;

/// "No value": the dimension is absent for this emission (group without the key).
pub const ABSENT: u64 = u64::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    // Conversation level.
    ConversationId,
    ConversationInitiator,
    CustomerParticipation,
    DivisionId,
    FirstQueue,
    OriginatingDirection,
    // Participant level.
    Purpose,
    UserId,
    TeamId,
    ParticipantName,
    // Session level.
    MediaType,
    Direction,
    Ani,
    Dnis,
    SessionId,
    RequestedRouting,
    UsedRouting,
    // Segment level.
    QueueId,
    WrapUpCode,
    DisconnectType,
}

/// Every catalog dimension the data carries. Others are valid but never present.
pub const CARRIED: &[(&str, Dim)] = &[
    ("conversationId", Dim::ConversationId),
    ("conversationInitiator", Dim::ConversationInitiator),
    ("customerParticipation", Dim::CustomerParticipation),
    ("divisionId", Dim::DivisionId),
    ("firstQueue", Dim::FirstQueue),
    ("originatingDirection", Dim::OriginatingDirection),
    ("purpose", Dim::Purpose),
    ("userId", Dim::UserId),
    ("teamId", Dim::TeamId),
    ("participantName", Dim::ParticipantName),
    ("mediaType", Dim::MediaType),
    ("direction", Dim::Direction),
    ("ani", Dim::Ani),
    ("dnis", Dim::Dnis),
    ("sessionId", Dim::SessionId),
    ("requestedRouting", Dim::RequestedRouting),
    ("usedRouting", Dim::UsedRouting),
    ("queueId", Dim::QueueId),
    ("wrapUpCode", Dim::WrapUpCode),
    ("disconnectType", Dim::DisconnectType),
];

pub fn carried(name: &str) -> Option<Dim> {
    CARRIED.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// The routing method every routed session uses.
const STANDARD_ROUTING: &str = "Standard";
const IVR_NAME: &str = "Main IVR";
/// Queue phone lines are this base plus the queue index.
const LINE_BASE: u64 = 18_005_550_000;

/// Strings for codes: ids, names and numbers of the synthetic org.
pub struct Vocabulary {
    seed: u64,
    pub division_ids: Vec<String>,
    pub queue_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub team_ids: Vec<String>,
    pub wrapup_ids: Vec<String>,
    pub user_team: Vec<u16>,
    /// Participant names (deduplicated: two agents may share a name).
    pub names: Vec<String>,
    pub queue_name: Vec<u32>,
    pub user_name: Vec<u32>,
    pub ivr_name: u32,
}

impl Vocabulary {
    pub fn new(seed: u64, org: &OrgModel) -> Self {
        let mut names: Vec<String> = Vec::new();
        let mut intern = |n: &str| match names.iter().position(|x| x == n) {
            Some(i) => i as u32,
            None => {
                names.push(n.to_string());
                (names.len() - 1) as u32
            }
        };
        let queue_name = org.queues.iter().map(|q| intern(&q.name)).collect();
        let user_name = org.agents.iter().map(|a| intern(&a.name)).collect();
        let ivr_name = intern(IVR_NAME);
        Self {
            seed,
            division_ids: org.divisions.iter().map(|d| d.id.clone()).collect(),
            queue_ids: org.queues.iter().map(|q| q.id.clone()).collect(),
            user_ids: org.agents.iter().map(|a| a.id.clone()).collect(),
            team_ids: org.teams.iter().map(|t| t.id.clone()).collect(),
            wrapup_ids: org.wrapups.iter().map(|w| w.id.clone()).collect(),
            user_team: org.agents.iter().map(|a| a.team).collect(),
            names,
            queue_name,
            user_name,
            ivr_name,
        }
    }

    pub fn conversation_id(&self, key: u64) -> String {
        uuid_string(self.seed, IdKind::Conversation, key, 0)
    }

    pub fn participant_id(&self, key: u64, ordinal: u8) -> String {
        uuid_string(self.seed, IdKind::Participant, key, ordinal as u64)
    }

    pub fn session_id(&self, key: u64, ordinal: u8) -> String {
        uuid_string(self.seed, IdKind::Session, key, ordinal as u64)
    }

    pub fn participant_name_code(&self, s: &SessRec) -> u64 {
        match s.purpose {
            Purpose::Acd if s.queue != NONE => self.queue_name[s.queue as usize] as u64,
            Purpose::Agent if s.user != NONE => self.user_name[s.user as usize] as u64,
            Purpose::Ivr => self.ivr_name as u64,
            _ => ABSENT,
        }
    }

    /// (ani, dnis) as phone numbers, for voice and callback only.
    pub fn phones(&self, c: &ConvRec, s: &SessRec) -> (u64, u64) {
        if !matches!(s.media, Media::Voice | Media::Callback) {
            return (ABSENT, ABSENT);
        }
        let line = LINE_BASE + c.first_queue as u64;
        match c.originating_direction {
            Direction::Inbound => (c.customer_phone, line),
            Direction::Outbound => (line, c.customer_phone),
        }
    }

    /// The code of a dimension for an emission on session `s` of conversation `c`, as of `now`.
    #[inline]
    pub fn value(&self, dim: Dim, c: &ConvRec, s: &SessRec, now: i64) -> u64 {
        let opt16 = |v: u16| if v == NONE { ABSENT } else { v as u64 };
        match dim {
            Dim::ConversationId => c.key,
            Dim::ConversationInitiator => c.initiator as u64,
            Dim::CustomerParticipation if c.end_ms <= now => c.customer_participation as u64,
            Dim::CustomerParticipation => ABSENT,
            Dim::DivisionId => c.division as u64,
            Dim::FirstQueue if c.first_queue_at <= now => c.first_queue as u64,
            Dim::FirstQueue => ABSENT,
            Dim::OriginatingDirection => c.originating_direction as u64,
            Dim::Purpose => s.purpose as u64,
            Dim::UserId => opt16(s.user),
            Dim::TeamId if s.user != NONE => self.user_team[s.user as usize] as u64,
            Dim::TeamId => ABSENT,
            Dim::ParticipantName => self.participant_name_code(s),
            Dim::MediaType => s.media as u64,
            Dim::Direction => s.direction as u64,
            Dim::Ani => self.phones(c, s).0,
            Dim::Dnis => self.phones(c, s).1,
            Dim::SessionId => (c.key << 8) | s.ordinal as u64,
            Dim::RequestedRouting if s.routed && s.purpose == Purpose::Acd => 0,
            Dim::UsedRouting if s.routed && s.purpose == Purpose::Agent => 0,
            Dim::RequestedRouting | Dim::UsedRouting => ABSENT,
            Dim::QueueId => opt16(s.queue),
            Dim::WrapUpCode if s.wrapup_at <= now => opt16(s.wrapup),
            Dim::WrapUpCode => ABSENT,
            Dim::DisconnectType if s.disconnect_at <= now => s.disconnect as u64,
            Dim::DisconnectType => ABSENT,
        }
    }

    /// The API string of a code (never called with ABSENT).
    pub fn render(&self, dim: Dim, code: u64) -> String {
        let i = code as usize;
        match dim {
            Dim::ConversationId => self.conversation_id(code),
            Dim::SessionId => self.session_id(code >> 8, (code & 0xFF) as u8),
            Dim::ConversationInitiator | Dim::Purpose => {
                Purpose::from_index(code).as_str().to_string()
            }
            Dim::CustomerParticipation => (code == 1).to_string(),
            Dim::DivisionId => self.division_ids[i].clone(),
            Dim::FirstQueue | Dim::QueueId => self.queue_ids[i].clone(),
            Dim::OriginatingDirection | Dim::Direction => {
                Direction::from_index(code).as_str().to_string()
            }
            Dim::UserId => self.user_ids[i].clone(),
            Dim::TeamId => self.team_ids[i].clone(),
            Dim::ParticipantName => self.names[i].clone(),
            Dim::MediaType => Media::from_index(code).as_str().to_string(),
            Dim::Ani | Dim::Dnis => format!("tel:+{code}"),
            Dim::RequestedRouting | Dim::UsedRouting => STANDARD_ROUTING.to_string(),
            Dim::WrapUpCode => self.wrapup_ids[i].clone(),
            Dim::DisconnectType => Disconnect::from_index(code).as_str().to_string(),
        }
    }

    /// The code a filter value names; `None` when no data can carry it. Ids that are derived
    /// from hashes (conversation and session ids) are compared as strings instead.
    pub fn parse(&self, dim: Dim, value: &str) -> Option<u64> {
        let position = |list: &[String]| list.iter().position(|x| x == value).map(|i| i as u64);
        match dim {
            Dim::ConversationId | Dim::SessionId => None,
            Dim::ConversationInitiator | Dim::Purpose => Purpose::parse(value).map(|p| p as u64),
            Dim::CustomerParticipation => value.parse::<bool>().ok().map(u64::from),
            Dim::DivisionId => position(&self.division_ids),
            Dim::FirstQueue | Dim::QueueId => position(&self.queue_ids),
            Dim::OriginatingDirection | Dim::Direction => Direction::parse(value).map(|d| d as u64),
            Dim::UserId => position(&self.user_ids),
            Dim::TeamId => position(&self.team_ids),
            Dim::ParticipantName => position(&self.names),
            Dim::MediaType => Media::parse(value).map(|m| m as u64),
            Dim::Ani | Dim::Dnis => value.strip_prefix("tel:+").and_then(|n| n.parse().ok()),
            Dim::RequestedRouting | Dim::UsedRouting => (value == STANDARD_ROUTING).then_some(0),
            Dim::WrapUpCode => position(&self.wrapup_ids),
            Dim::DisconnectType => Disconnect::parse(value).map(|d| d as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_carried_dimension_is_in_the_catalog() {
        for (name, _) in CARRIED {
            assert!(genesys::catalog::is_dimension(name), "{name}");
        }
    }
}
