//! Agents with a day: the roster (shifts, breaks, logins and logouts), their presences and
//! routing statuses, consistent with the conversations the generator gives them.
//!
//! Rules (property-tested in `tests/emulator/synth_agents.rs`):
//! - routing reaches an agent only while its presence is On Queue: the generator picks a queue
//!   member the roster has on queue at the alert (or, for outbound, at the dial); when no member
//!   is, the drawn member is called in and its presence is On Queue from a minute before that
//!   conversation to its end;
//! - INTERACTING exactly while the agent has an ACD (routed) session in progress, alert through
//!   after-call work, even when its presence has moved on (Break while INTERACTING is real);
//! - COMMUNICATING while it has only a non-ACD session in progress (the agent-dialled outbound
//!   calls);
//! - NOT_RESPONDING after an alert it let time out, for 15–90 s, while still On Queue;
//! - otherwise IDLE when On Queue, OFF_QUEUE when not;
//! - nothing after the virtual "now" exists: the interval in force at "now" is open.
//!
//! The roster is computed in constant time per (agent, day) and the conversations per slot, so a
//! day is derived on demand and only the agents and days asked for are ever held.
//!
//! Not modelled (conservative choices where the API document gives no source): the system
//! presence IDLE (automatic inactivity) never occurs; every org presence is active.

pub mod aggregate;
pub mod aggregate_table;
pub mod details;
pub mod presence;
pub mod roster;
pub mod timeline;

pub use aggregate::UserAggregationQuery;
pub use aggregate_table::UserAggregateTable;
// The wire models are the client's, so both sides share one definition.
pub use genesys::users_details::{
    AsyncUserDetailsQueryResponse, UserDetail, UserDetailsQuery, UserDetailsQueryResponse,
};
pub use presence::{Activity, PresenceDefinition, Presences, RoutingStatus, SystemPresence};
pub use roster::Roster;
pub use timeline::{AgentTimeline, Handling, Span};
