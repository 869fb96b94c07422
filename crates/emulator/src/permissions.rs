//! Permissions: what each endpoint requires (genesys-api.md §7.2 for analytics; the queue and
//! wrap-up code listings need their routing view permissions, the user list none) and the OAuth
//! clients that hold only some of them, so a client's missing permission answers 403 the way
//! Genesys does.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use genesys::aggregates::{AGGREGATES_JOBS_PATH, AGGREGATES_QUERY_PATH};
use genesys::details::{DETAILS_AVAILABILITY_PATH, DETAILS_JOBS_PATH, DETAILS_QUERY_PATH};
use genesys::directory::{QUEUES_PATH, WRAPUP_CODES_PATH};

use crate::error::ApiError;
use crate::routes::users::{
    PRESENCE_DEFINITIONS_V2_PATH, USERS_AGGREGATES_JOBS_PATH, USERS_AGGREGATES_QUERY_PATH,
    USERS_DETAILS_JOBS_PATH, USERS_DETAILS_QUERY_PATH,
};

pub const CONVERSATION_AGGREGATE_VIEW: &str = "analytics:conversationAggregate:view";
pub const CONVERSATION_DETAIL_VIEW: &str = "analytics:conversationDetail:view";
pub const AGENT_CONVERSATION_DETAIL_VIEW: &str = "analytics:agentConversationDetail:view";
pub const USER_AGGREGATE_VIEW: &str = "analytics:userAggregate:view";
pub const USER_DETAIL_VIEW: &str = "analytics:userDetail:view";
pub const PRESENCE_DEFINITION_VIEW: &str = "presence:presenceDefinition:view";
pub const QUEUE_VIEW: &str = "routing:queue:view";
pub const WRAPUP_CODE_VIEW: &str = "routing:wrapupCode:view";

/// An OAuth client the emulator accepts besides the default one, holding only `permissions`.
#[derive(Clone, PartialEq, Eq)]
pub struct LimitedClient {
    pub client_id: String,
    pub client_secret: String,
    pub permissions: Vec<String>,
}

impl fmt::Debug for LimitedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("permissions", &self.permissions)
            .finish()
    }
}

/// `ID:SECRET:PERMISSION,PERMISSION…` (an empty list grants nothing).
impl FromStr for LimitedClient {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let mut parts = raw.splitn(3, ':');
        let (Some(id), Some(secret), Some(permissions)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(
                "expected ID:SECRET:PERMISSION,PERMISSION… (permissions may be empty)".into(),
            );
        };
        if id.is_empty() || secret.is_empty() {
            return Err("the client id and the secret must not be empty".into());
        }
        Ok(Self {
            client_id: id.to_string(),
            client_secret: secret.to_string(),
            permissions: permissions
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        })
    }
}

/// What a token may do: everything (the default client), or a list.
#[derive(Debug, Clone, Default)]
pub enum Grant {
    #[default]
    Everything,
    Only(Arc<[String]>),
}

impl Grant {
    fn holds(&self, permission: &str) -> bool {
        match self {
            Grant::Everything => true,
            Grant::Only(list) => list.iter().any(|p| p == permission),
        }
    }
}

/// The permissions an endpoint asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    All(&'static [&'static str]),
    Any(&'static [&'static str]),
}

/// The requirement of a matched route (`/api/v2/…/jobs/{id}` as axum names it).
pub fn required(route: &str) -> Option<Requirement> {
    const DETAILS: Requirement =
        Requirement::Any(&[CONVERSATION_DETAIL_VIEW, AGENT_CONVERSATION_DETAIL_VIEW]);
    let under = |base: &str| route == base || route.starts_with(&format!("{base}/"));
    Some(match route {
        r if r == AGGREGATES_QUERY_PATH || under(AGGREGATES_JOBS_PATH) => {
            Requirement::All(&[CONVERSATION_AGGREGATE_VIEW])
        }
        r if r == DETAILS_AVAILABILITY_PATH => Requirement::All(&[CONVERSATION_DETAIL_VIEW]),
        r if r == DETAILS_QUERY_PATH || under(DETAILS_JOBS_PATH) => DETAILS,
        r if r == USERS_AGGREGATES_QUERY_PATH || under(USERS_AGGREGATES_JOBS_PATH) => {
            Requirement::All(&[USER_AGGREGATE_VIEW])
        }
        r if r == USERS_DETAILS_QUERY_PATH || under(USERS_DETAILS_JOBS_PATH) => {
            Requirement::All(&[USER_DETAIL_VIEW])
        }
        r if r == PRESENCE_DEFINITIONS_V2_PATH => Requirement::All(&[PRESENCE_DEFINITION_VIEW]),
        r if r == QUEUES_PATH => Requirement::All(&[QUEUE_VIEW]),
        r if r == WRAPUP_CODES_PATH => Requirement::All(&[WRAPUP_CODE_VIEW]),
        _ => return None,
    })
}

/// `Ok` when `grant` meets `requirement`, else Genesys' 403 listing what is missing.
pub fn check(grant: &Grant, requirement: Requirement) -> Result<(), ApiError> {
    match requirement {
        Requirement::All(needed) => {
            let missing: Vec<&str> = needed.iter().copied().filter(|p| !grant.holds(p)).collect();
            if missing.is_empty() {
                return Ok(());
            }
            Err(ApiError::new(
                403,
                "missing.permissions",
                format!(
                    "Unable to perform the requested action. You are missing the following permission(s): {}",
                    missing.join(", ")
                ),
            ))
        }
        Requirement::Any(options) => {
            if options.iter().any(|p| grant.holds(p)) {
                return Ok(());
            }
            Err(ApiError::new(
                403,
                "missing.any.permissions",
                format!(
                    "Unable to perform the requested action. You must have at least one of the following permissions assigned: {}",
                    options.join(", ")
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_limited_client() {
        let client: LimitedClient = "reader:s3cret:routing:queue:view, routing:wrapupCode:view"
            .parse()
            .unwrap();
        assert_eq!(client.client_id, "reader");
        assert_eq!(client.client_secret, "s3cret");
        assert_eq!(client.permissions, [QUEUE_VIEW, WRAPUP_CODE_VIEW]);
        let none: LimitedClient = "nobody:pw:".parse().unwrap();
        assert!(none.permissions.is_empty());
        assert!("only-an-id".parse::<LimitedClient>().is_err());
        assert!(!format!("{client:?}").contains("s3cret"));
    }

    #[test]
    fn every_analytics_and_directory_route_requires_its_permission() {
        let grant = Grant::Only(Arc::from(vec![QUEUE_VIEW.to_string()]));
        assert!(check(&grant, required(QUEUES_PATH).unwrap()).is_ok());
        let refused = check(&grant, required(AGGREGATES_QUERY_PATH).unwrap()).unwrap_err();
        assert_eq!(refused.status(), 403);
        assert_eq!(refused.body.code, "missing.permissions");
        assert!(refused.body.message.contains(CONVERSATION_AGGREGATE_VIEW));
        let job = format!("{AGGREGATES_JOBS_PATH}/{{id}}/results");
        assert_eq!(
            required(&job),
            Some(Requirement::All(&[CONVERSATION_AGGREGATE_VIEW]))
        );
        let details = check(&grant, required(DETAILS_QUERY_PATH).unwrap()).unwrap_err();
        assert_eq!(details.body.code, "missing.any.permissions");
        assert!(check(&Grant::Everything, required(QUEUES_PATH).unwrap()).is_ok());
        assert_eq!(
            required(genesys::directory::USERS_PATH),
            None,
            "the user list needs none"
        );
        assert_eq!(required("/oauth/token"), None);
    }
}
