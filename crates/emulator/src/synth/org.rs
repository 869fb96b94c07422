//! The synthetic organisation: divisions, queues (with media, service levels and members),
//! teams, agents and wrap-up codes; the internal model plus the directory entities served.

use genesys::directory::{
    DomainEntityRef, MediaSetting, Queue, QueueMediaSettings, ServiceLevel, User, WrapupCode,
};

use super::codes::Media;
use super::ids::{IdKind, hash, uuid_string};
use super::{Org, OrgShape};

const DIVISIONS: &[&str] = &["Home", "Sales", "Customer Service", "Back Office"];

/// Queue name, division index, media with weights, outbound share (per mille).
type QueueTemplate = (&'static str, usize, &'static [(Media, u32)], u32);

const QUEUE_TEMPLATES: &[QueueTemplate] = &[
    ("Billing", 2, &[(Media::Voice, 9), (Media::Callback, 1)], 20),
    ("Billing Chat", 2, &[(Media::Chat, 1)], 0),
    ("Sales EN", 1, &[(Media::Voice, 1)], 80),
    ("Sales FR", 1, &[(Media::Voice, 1)], 60),
    ("Sales Chat", 1, &[(Media::Chat, 1)], 0),
    (
        "Tech Support Tier 1",
        2,
        &[(Media::Voice, 8), (Media::Callback, 2)],
        10,
    ),
    ("Tech Support Tier 2", 2, &[(Media::Voice, 1)], 30),
    ("Tech Support Email", 3, &[(Media::Email, 1)], 0),
    (
        "Customer Care",
        2,
        &[(Media::Voice, 8), (Media::Callback, 2)],
        20,
    ),
    ("Customer Care Messaging", 2, &[(Media::Message, 1)], 0),
    ("Retentions", 1, &[(Media::Voice, 1)], 150),
    ("Collections", 3, &[(Media::Voice, 1)], 700),
    ("Returns", 3, &[(Media::Voice, 1)], 20),
    ("Returns Email", 3, &[(Media::Email, 1)], 0),
    ("Orders", 1, &[(Media::Voice, 1)], 30),
    ("Orders Chat", 1, &[(Media::Chat, 1)], 0),
    ("Accounts", 0, &[(Media::Voice, 1)], 20),
    ("Fraud", 0, &[(Media::Voice, 1)], 100),
    (
        "VIP Line",
        0,
        &[(Media::Voice, 7), (Media::Callback, 3)],
        50,
    ),
    ("Partner Desk", 3, &[(Media::Email, 1)], 0),
    ("Social Care", 2, &[(Media::Message, 1)], 0),
    ("Claims", 3, &[(Media::Voice, 1)], 40),
    ("Claims Email", 3, &[(Media::Email, 1)], 0),
    (
        "Onboarding",
        0,
        &[(Media::Voice, 6), (Media::Callback, 4)],
        60,
    ),
    ("Outbound Sales", 1, &[(Media::Voice, 1)], 950),
];

const TEAMS: &[&str] = &[
    "Aurora", "Borealis", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbour", "Indigo",
    "Juniper", "Kestrel", "Lumen",
];

const FIRST_NAMES: &[&str] = &[
    "Ava", "Ben", "Chloe", "Daniel", "Elena", "Farid", "Grace", "Hugo", "Isla", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olivia", "Pavel", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ivanova",
    "Jensen", "Kowalski", "Lopez", "Murphy", "Nakamura", "O'Brien", "Patel", "Rossi", "Schmidt",
    "Tanaka", "Urban", "Varga", "Walsh", "Young", "Zhang",
];

const WRAPUP_CODES: &[&str] = &[
    "Resolved",
    "Resolved - First Contact",
    "Escalated",
    "Callback Requested",
    "Payment Taken",
    "Payment Plan",
    "Refund Issued",
    "Order Placed",
    "Order Changed",
    "Order Cancelled",
    "Sale",
    "No Sale",
    "Quote Sent",
    "Technical Fix",
    "Ticket Raised",
    "Transferred",
    "Wrong Department",
    "Complaint",
    "Compliment",
    "Account Updated",
    "Password Reset",
    "Fraud Reported",
    "Claim Opened",
    "Claim Updated",
    "Information Given",
    "No Answer",
    "Voicemail Left",
    "Customer Hung Up",
    "Follow-up Needed",
    "Other",
];

/// Most queues, agents or wrap-up codes an org may have (they are u16 codes internally).
pub const MAX_ENTITIES: usize = 60_000;

#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct QueueModel {
    pub id: String,
    pub name: String,
    pub division: u16,
    /// Relative share of the org's traffic.
    pub weight: u32,
    pub media_weights: Vec<(Media, u32)>,
    pub outbound_per_mille: u32,
    pub members: Vec<u16>,
    /// Service level per media: (target fraction, threshold ms).
    pub service_level: [(f64, i64); 5],
}

impl QueueModel {
    pub fn service_level(&self, media: Media) -> (f64, i64) {
        self.service_level[media as usize]
    }

    pub fn handles(&self, media: Media) -> bool {
        self.media_weights.iter().any(|(m, _)| *m == media)
    }
}

#[derive(Debug, Clone)]
pub struct AgentModel {
    pub id: String,
    pub name: String,
    pub email: String,
    pub team: u16,
    pub division: u16,
}

/// The organisation as the generator sees it: indices everywhere, strings kept for output.
#[derive(Debug, Clone)]
pub struct OrgModel {
    pub divisions: Vec<Named>,
    pub queues: Vec<QueueModel>,
    pub teams: Vec<Named>,
    pub agents: Vec<AgentModel>,
    pub wrapups: Vec<Named>,
}

fn default_service_level(media: Media, strict: bool) -> (f64, i64) {
    let target = if strict { 0.9 } else { 0.8 };
    match media {
        Media::Voice => (target, 20_000),
        Media::Callback => (target, 900_000),
        Media::Chat => (target, 60_000),
        Media::Message => (target, 300_000),
        Media::Email => (target, 4 * 3_600_000),
    }
}

fn numbered(base: &str, round: usize) -> String {
    if round == 0 {
        base.to_string()
    } else {
        format!("{base} {}", round + 1)
    }
}

impl OrgModel {
    pub fn generate(seed: u64, shape: &OrgShape) -> Self {
        let mut rng = fastrand::Rng::with_seed(hash(&[seed, 0x0_4c_61]));
        let divisions = DIVISIONS
            .iter()
            .enumerate()
            .map(|(i, n)| Named {
                id: uuid_string(seed, IdKind::Division, i as u64, 0),
                name: n.to_string(),
            })
            .collect();
        let queues = (0..shape.queues)
            .map(|i| Self::queue(seed, i, &mut rng))
            .collect::<Vec<_>>();
        let teams = TEAMS
            .iter()
            .enumerate()
            .map(|(i, n)| Named {
                id: uuid_string(seed, IdKind::Team, i as u64, 0),
                name: format!("Team {n}"),
            })
            .collect();
        let wrapups = (0..shape.wrapup_codes.min(MAX_ENTITIES))
            .map(|i| Named {
                id: uuid_string(seed, IdKind::Wrapup, i as u64, 0),
                name: numbered(WRAPUP_CODES[i % WRAPUP_CODES.len()], i / WRAPUP_CODES.len()),
            })
            .collect();
        let mut org = OrgModel {
            divisions,
            queues,
            teams,
            agents: Vec::new(),
            wrapups,
        };
        // Indices are u16 with u16::MAX meaning "none".
        org.add_agents(seed, shape.agents.min(MAX_ENTITIES), &mut rng);
        org
    }

    fn queue(seed: u64, i: usize, rng: &mut fastrand::Rng) -> QueueModel {
        let (name, division, media, outbound) = QUEUE_TEMPLATES[i % QUEUE_TEMPLATES.len()];
        let strict = name.starts_with("VIP") || name.starts_with("Fraud");
        let mut service_level = [(0.8, 20_000); 5];
        for m in Media::ALL {
            service_level[*m as usize] = default_service_level(*m, strict);
        }
        QueueModel {
            id: uuid_string(seed, IdKind::Queue, i as u64, 0),
            name: numbered(name, i / QUEUE_TEMPLATES.len()),
            division: division as u16,
            weight: rng.u32(2..12),
            media_weights: media.to_vec(),
            outbound_per_mille: outbound,
            members: Vec::new(),
            service_level,
        }
    }

    /// Every agent joins a primary queue (round robin, so no queue is empty) and 1–3 more.
    fn add_agents(&mut self, seed: u64, count: usize, rng: &mut fastrand::Rng) {
        let queue_count = self.queues.len();
        for i in 0..count {
            let first = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.usize(..LAST_NAMES.len())];
            let primary = if queue_count == 0 {
                None
            } else {
                Some(i % queue_count)
            };
            let division = primary.map_or(0, |q| self.queues[q].division);
            let email_local =
                format!("{}.{}{}", first, last.replace('\'', ""), i + 1).to_lowercase();
            self.agents.push(AgentModel {
                id: uuid_string(seed, IdKind::User, i as u64, 0),
                name: format!("{first} {last}"),
                email: format!("{email_local}@example.com"),
                team: (i % self.teams.len()) as u16,
                division,
            });
            let Some(primary) = primary else { continue };
            self.queues[primary].members.push(i as u16);
            for _ in 0..rng.usize(1..4) {
                let q = rng.usize(..queue_count);
                if !self.queues[q].members.contains(&(i as u16)) {
                    self.queues[q].members.push(i as u16);
                }
            }
        }
    }

    /// The directory entities the HTTP layer serves.
    pub fn directories(&self) -> Org {
        Org {
            queues: self.queues.iter().map(|q| self.queue_entity(q)).collect(),
            users: self.agents.iter().map(|a| self.user_entity(a)).collect(),
            wrapup_codes: self
                .wrapups
                .iter()
                .map(|w| WrapupCode {
                    id: w.id.clone(),
                    name: w.name.clone(),
                    division: Some(self.division_ref(0)),
                    date_created: Some("2023-01-09T10:00:00.000Z".into()),
                    self_uri: Some(format!("/api/v2/routing/wrapupcodes/{}", w.id)),
                })
                .collect(),
        }
    }

    fn division_ref(&self, index: u16) -> DomainEntityRef {
        let d = &self.divisions[index as usize];
        DomainEntityRef {
            id: d.id.clone(),
            name: Some(d.name.clone()),
            self_uri: Some(format!("/api/v2/authorization/divisions/{}", d.id)),
        }
    }

    fn queue_entity(&self, q: &QueueModel) -> Queue {
        let setting = |media: Media| {
            q.handles(media).then(|| {
                let (percentage, duration_ms) = q.service_level(media);
                MediaSetting {
                    alerting_timeout_seconds: Some(if matches!(media, Media::Email) {
                        300
                    } else {
                        8
                    }),
                    service_level: Some(ServiceLevel {
                        percentage,
                        duration_ms,
                    }),
                }
            })
        };
        Queue {
            id: q.id.clone(),
            name: q.name.clone(),
            description: Some(format!("{} queue", q.name)),
            division: Some(self.division_ref(q.division)),
            media_settings: Some(QueueMediaSettings {
                call: setting(Media::Voice),
                callback: setting(Media::Callback),
                chat: setting(Media::Chat),
                email: setting(Media::Email),
                message: setting(Media::Message),
            }),
            member_count: Some(q.members.len() as u32),
            date_created: Some("2023-01-09T10:00:00.000Z".into()),
            self_uri: Some(format!("/api/v2/routing/queues/{}", q.id)),
        }
    }

    fn user_entity(&self, a: &AgentModel) -> User {
        let team = &self.teams[a.team as usize];
        User {
            id: a.id.clone(),
            name: a.name.clone(),
            email: Some(a.email.clone()),
            username: Some(a.email.clone()),
            state: Some("active".into()),
            title: Some("Contact Centre Agent".into()),
            department: Some(self.divisions[a.division as usize].name.clone()),
            division: Some(self.division_ref(a.division)),
            team: Some(DomainEntityRef {
                id: team.id.clone(),
                name: Some(team.name.clone()),
                self_uri: Some(format!("/api/v2/teams/{}", team.id)),
            }),
            version: Some(1),
            self_uri: Some(format!("/api/v2/users/{}", a.id)),
        }
    }
}
