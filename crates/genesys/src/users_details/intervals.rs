//! Users details records as status intervals for storage: one per (user, kind, start), with the
//! copies Genesys returns merged into one.
//!
//! Genesys stores a record on the UTC day it starts and on the day it ends, so a query reading
//! both days returns it twice, on one page or on two (each copy is the whole record, not a piece
//! cut at midnight: the document calls the second copy "redundant"). Pages read minutes apart, or
//! a query and a job, may also hold one copy taken while the status was in force (no `endTime`)
//! and one taken after it closed: the closed copy is the later one, so its end wins.
//!
//! [`merge`] is a join: the result depends only on the set of copies, never on their order or on
//! how they were dealt into pages, and merging a merged result again changes nothing, so pages
//! can be merged as they arrive. It never makes up an end: a status no copy closed stays open.
//! [`check_timeline`] then refuses a result that contradicts itself (a status starting while
//! another of the same kind is still in force), which [`status_intervals`] does for a whole
//! answer; it is kept apart from the merge because a copy read later can settle what an earlier
//! page alone could not (an open copy whose closed copy is on a later page).

use jiff::Timestamp;

use super::UserDetail;

/// Presence and routing status are independent timelines of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusKind {
    Presence,
    Routing,
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Presence => "presence",
            StatusKind::Routing => "routing",
        }
    }
}

impl std::fmt::Display for StatusKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a user was in: a presence (system and organisation presence) or a routing status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Presence {
        system_presence: String,
        organization_presence_id: String,
    },
    Routing {
        routing_status: String,
    },
}

impl Status {
    pub fn kind(&self) -> StatusKind {
        match self {
            Status::Presence { .. } => StatusKind::Presence,
            Status::Routing { .. } => StatusKind::Routing,
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Presence {
                system_presence,
                organization_presence_id,
            } => write!(f, "{system_presence} ({organization_presence_id})"),
            Status::Routing { routing_status } => f.write_str(routing_status),
        }
    }
}

/// A user's status over `[start, end)`; `end` is `None` while it is still in force.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusInterval {
    pub user_id: String,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub status: Status,
}

impl StatusInterval {
    pub fn kind(&self) -> StatusKind {
        self.status.kind()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusIntervalError {
    #[error("user {user_id}: {field} `{value}` is not an ISO-8601 instant: {reason}")]
    Time {
        user_id: String,
        field: String,
        value: String,
        reason: String,
    },
    #[error("user {user_id}: {field} ends at {end}, before it starts at {start}")]
    EndsBeforeStart {
        user_id: String,
        field: String,
        start: Timestamp,
        end: Timestamp,
    },
    #[error(
        "user {}: two {} records start at {} with different statuses, {} and {}",
        first.user_id, first.kind(), first.start, first.status, second.status
    )]
    Conflict {
        first: Box<StatusInterval>,
        second: Box<StatusInterval>,
    },
    #[error(
        "user {}: {} {} from {} {} overlaps {} from {}",
        earlier.user_id,
        earlier.kind(),
        earlier.status,
        earlier.start,
        earlier.end.map_or("still open".to_string(), |end| format!("to {end}")),
        later.status,
        later.start
    )]
    Overlap {
        earlier: Box<StatusInterval>,
        later: Box<StatusInterval>,
    },
}

/// Every record of `details` (any pages, any order), merged: sorted by user, kind and start.
pub fn status_intervals<'a>(
    details: impl IntoIterator<Item = &'a UserDetail>,
) -> Result<Vec<StatusInterval>, StatusIntervalError> {
    let mut copies = Vec::new();
    for detail in details {
        copies.extend(typed_records(detail)?);
    }
    let merged = merge(copies)?;
    check_timeline(&merged)?;
    Ok(merged)
}

/// The records of one detail, typed, one interval per record (copies not merged yet).
pub fn typed_records(detail: &UserDetail) -> Result<Vec<StatusInterval>, StatusIntervalError> {
    let presences = detail.primary_presence.iter().enumerate().map(|(i, r)| {
        let status = Status::Presence {
            system_presence: r.system_presence.clone(),
            organization_presence_id: r.organization_presence_id.clone(),
        };
        let field = || format!("primaryPresence[{i}]");
        typed(detail, field, &r.start_time, r.end_time.as_deref(), status)
    });
    let routing = detail.routing_status.iter().enumerate().map(|(i, r)| {
        let status = Status::Routing {
            routing_status: r.routing_status.clone(),
        };
        let field = || format!("routingStatus[{i}]");
        typed(detail, field, &r.start_time, r.end_time.as_deref(), status)
    });
    presences.chain(routing).collect()
}

fn typed(
    detail: &UserDetail,
    field: impl Fn() -> String,
    start: &str,
    end: Option<&str>,
    status: Status,
) -> Result<StatusInterval, StatusIntervalError> {
    let instant = |name: &str, value: &str| {
        value
            .parse::<Timestamp>()
            .map_err(|e| StatusIntervalError::Time {
                user_id: detail.user_id.clone(),
                field: format!("{}.{name}", field()),
                value: value.to_string(),
                reason: e.to_string(),
            })
    };
    let start = instant("startTime", start)?;
    let end = end.map(|end| instant("endTime", end)).transpose()?;
    if let Some(end) = end.filter(|end| *end < start) {
        return Err(StatusIntervalError::EndsBeforeStart {
            user_id: detail.user_id.clone(),
            field: field(),
            start,
            end,
        });
    }
    Ok(StatusInterval {
        user_id: detail.user_id.clone(),
        start,
        end,
        status,
    })
}

/// Merges copies of records into one interval per (user, kind, start), sorted by user, kind and
/// start; see the module notes. Two copies from one start with different statuses are refused.
pub fn merge(
    copies: impl IntoIterator<Item = StatusInterval>,
) -> Result<Vec<StatusInterval>, StatusIntervalError> {
    let mut copies: Vec<StatusInterval> = copies.into_iter().collect();
    // A total order, so that even the error named for contradictory copies is always the same.
    copies.sort_by(|a, b| {
        (&a.user_id, a.kind(), a.start, &a.status, a.end).cmp(&(
            &b.user_id,
            b.kind(),
            b.start,
            &b.status,
            b.end,
        ))
    });
    let mut merged: Vec<StatusInterval> = Vec::with_capacity(copies.len());
    for copy in copies {
        match merged.last_mut() {
            Some(known) if key(known) == key(&copy) => {
                if known.status != copy.status {
                    return Err(StatusIntervalError::Conflict {
                        first: Box::new(known.clone()),
                        second: Box::new(copy),
                    });
                }
                known.end = latest_known_end(known.end, copy.end);
            }
            _ => merged.push(copy),
        }
    }
    Ok(merged)
}

fn key(interval: &StatusInterval) -> (&str, StatusKind, Timestamp) {
    (&interval.user_id, interval.kind(), interval.start)
}

/// Two copies of one record: a closed copy was taken after an open one, so its end wins.
fn latest_known_end(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    // `None < Some(_)`: the maximum is the latest end any copy knows of, open only if none
    // knows one (two different ends cannot both be true; the later is the fresher reading).
    a.max(b)
}

/// Checks that merged intervals tell one story per user and kind: each ends no later than the
/// next one starts, so none is open while a later one has begun.
pub fn check_timeline(intervals: &[StatusInterval]) -> Result<(), StatusIntervalError> {
    let mut ordered: Vec<&StatusInterval> = intervals.iter().collect();
    ordered.sort_by(|a, b| key(a).cmp(&key(b)));
    for pair in ordered.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        if (&earlier.user_id, earlier.kind()) != (&later.user_id, later.kind()) {
            continue;
        }
        if earlier.end.is_none_or(|end| end > later.start) || earlier.start == later.start {
            return Err(StatusIntervalError::Overlap {
                earlier: Box::new(earlier.clone()),
                later: Box::new(later.clone()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users_details::{PresenceRecord, RoutingStatusRecord, UserDetailsQueryResponse};

    fn ts(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn routing(user: &str, start: &str, end: Option<&str>, status: &str) -> StatusInterval {
        StatusInterval {
            user_id: user.into(),
            start: ts(start),
            end: end.map(ts),
            status: Status::Routing {
                routing_status: status.into(),
            },
        }
    }

    /// A real answer kept beside the emulator's tests (`tests/fixtures/genesys-recorded`).
    fn recorded(name: &str) -> UserDetailsQueryResponse {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../emulator/tests/fixtures/genesys-recorded")
            .join(name);
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    #[test]
    fn recorded_answers_read_including_the_empty_one_without_user_details() {
        let empty = recorded("users-details-3.json");
        assert_eq!((empty.user_details.len(), empty.total_hits), (0, Some(0)));
        let presence_only = recorded("users-details-2.json");
        let intervals = status_intervals(&presence_only.user_details).unwrap();
        assert_eq!(intervals.len(), 1);
        assert_eq!(intervals[0].kind(), StatusKind::Presence);
    }

    #[test]
    fn the_recorded_answer_becomes_one_presence_and_one_routing_interval() {
        let response = recorded("users-details-1.json");
        let intervals = status_intervals(&response.user_details).unwrap();
        let kinds: Vec<_> = intervals.iter().map(StatusInterval::kind).collect();
        assert_eq!(kinds, [StatusKind::Presence, StatusKind::Routing]);
        assert_eq!(intervals[0].start, ts("2025-08-16T00:05:00.604Z"));
        assert_eq!(intervals[0].end, Some(ts("2025-08-18T15:58:06.305Z")));
        assert_eq!(
            intervals[0].status,
            Status::Presence {
                system_presence: "OFFLINE".into(),
                organization_presence_id: "ccf3c10a-aa2c-4845-8e8d-f59fa48c58e5".into()
            }
        );
    }

    #[test]
    fn a_copy_closed_later_closes_the_open_one_and_nothing_else_invents_an_end() {
        let open = routing("u", "2024-05-09T10:00:00Z", None, "IDLE");
        let closed = routing(
            "u",
            "2024-05-09T10:00:00Z",
            Some("2024-05-09T10:05:00Z"),
            "IDLE",
        );
        let expected = vec![closed.clone()];
        assert_eq!(merge([open.clone(), closed.clone()]).unwrap(), expected);
        assert_eq!(merge([closed, open.clone()]).unwrap(), expected);
        assert_eq!(merge([open.clone(), open.clone()]).unwrap(), [open]);
    }

    #[test]
    fn a_status_followed_by_another_at_once_stays_two() {
        let first = routing(
            "u",
            "2024-05-08T22:00:00Z",
            Some("2024-05-09T00:00:00Z"),
            "IDLE",
        );
        let next = routing("u", "2024-05-09T00:00:00Z", None, "IDLE");
        let merged = merge([next.clone(), first.clone()]).unwrap();
        assert_eq!(merged, [first, next]);
        check_timeline(&merged).unwrap();
    }

    #[test]
    fn contradictions_are_refused_naming_both_records() {
        let idle = routing("u", "2024-05-09T10:00:00Z", None, "IDLE");
        let busy = routing("u", "2024-05-09T10:00:00Z", None, "INTERACTING");
        let err = merge([busy.clone(), idle.clone()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user u: two routing records start at 2024-05-09T10:00:00Z with different \
             statuses, IDLE and INTERACTING"
        );
        let later = routing("u", "2024-05-09T11:00:00Z", None, "INTERACTING");
        let merged = merge([idle, later]).unwrap();
        let err = check_timeline(&merged).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user u: routing IDLE from 2024-05-09T10:00:00Z still open overlaps INTERACTING \
             from 2024-05-09T11:00:00Z"
        );
    }

    #[test]
    fn unreadable_or_backwards_times_name_the_record() {
        let detail = UserDetail {
            user_id: "u-7".into(),
            primary_presence: vec![PresenceRecord {
                start_time: "2024-05-09T10:00:00Z".into(),
                end_time: Some("soon".into()),
                system_presence: "AVAILABLE".into(),
                organization_presence_id: "p".into(),
            }],
            routing_status: vec![RoutingStatusRecord {
                start_time: "2024-05-09T10:00:00Z".into(),
                end_time: Some("2024-05-09T09:00:00Z".into()),
                routing_status: "IDLE".into(),
            }],
        };
        let err = typed_records(&detail).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("user u-7: primaryPresence[0].endTime `soon`"),
            "{err}"
        );
        let routing_only = UserDetail {
            primary_presence: Vec::new(),
            ..detail
        };
        let err = typed_records(&routing_only).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user u-7: routingStatus[0] ends at 2024-05-09T09:00:00Z, before it starts at \
             2024-05-09T10:00:00Z"
        );
    }
}

#[cfg(test)]
mod props;
