//! Users details (`POST /api/v2/analytics/users/details/query` and its jobs): each user's
//! presence and routing status records, whole (a record that began days before the interval
//! keeps its true `startTime`; one still in force at "now" has no `endTime`).
//!
//! Storage as the API describes it, with the emulator's conservative readings (marked *):
//! - a record is stored on the UTC day it starts and on the UTC day it ends (*an open record on
//!   its start day and on today's*); the query reads the days its interval touches, in storage
//!   order (day, start, user), and returns the records of those days that overlap the interval;
//! - a record whose both days the query reads comes twice from storage; a page drops the second
//!   copy when both fall in it (so pages can be short), *but not when they fall in different
//!   pages: clients must dedupe by (userId, startTime, status)*; `totalHits` counts the stored
//!   copies, so it is approximate;
//! - *a record spanning three or more days is invisible to a query touching only its middle days*;
//! - intervals are limited to 7 days without filters, 31 with any; `pageSize` at most 100
//!   (*the conversation details cap*) and paging at most 100 000 results deep (*likewise*);
//! - an empty answer is `{"totalHits": 0}` with no `userDetails` key (recorded);
//! - *jobs return every record overlapping the interval once, as of the `dataAvailabilityDate`
//!   (later data silently absent, as observed in production).*

use std::collections::BTreeMap;

use genesys::details::PagingSpec;
use genesys::filter::{Filter, FilterType, Operator, Predicate};
use genesys::interval::format_instant;
use genesys::users_details::{
    PresenceRecord, RoutingStatusRecord, UserDetail, UserDetailsQuery, UserDetailsQueryResponse,
};

use super::presence::{Activity, RoutingStatus};
use super::roster::DAY_MS;
use super::timeline::{handlings, timeline};
use crate::synth::query::{bad_request, parse_interval};
use crate::synth::{QueryError, World};

/// The longest a status lasts in the synthetic org is under 3 days (a weekend off); records
/// overlapping an interval are found by deriving this much around it.
pub const LOOKAROUND_MS: i64 = 4 * DAY_MS;
pub use genesys::users_details::{MAX_DAYS_FILTERED, MAX_DAYS_UNFILTERED};
pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const MAX_PAGING_DEPTH: u64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Status {
    Presence(Activity),
    Routing(RoutingStatus),
}

/// One whole record of one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Record {
    start: i64,
    agent: u16,
    status: Status,
    end: Option<i64>,
}

fn invalid_value(value: &str, field_type: &str, allowed: &str) -> QueryError {
    QueryError {
        status: 400,
        code: "invalid.value",
        message: format!(
            "Value [{value}] is not valid for field type [{field_type}]. Allowable values are: {allowed}"
        ),
    }
}

struct Plan {
    start: i64,
    end: i64,
    descending: bool,
}

fn plan(query: &UserDetailsQuery) -> Result<Plan, QueryError> {
    let interval = parse_interval(&query.interval)?;
    let max_days = genesys::users_details::limits::limit_days(query.is_filtered());
    if interval.duration_ms() > max_days * DAY_MS {
        return Err(bad_request(format!(
            "You must specify a search interval as part of your query that does not exceed {max_days} days"
        )));
    }
    let checks: [(&[Filter], &str, &[&str]); 3] = [
        (&query.user_filters, "UserDetailQueryDimension", &["userId"]),
        (
            &query.presence_filters,
            "PresenceDetailQueryDimension",
            &["organizationPresenceId", "systemPresence"],
        ),
        (
            &query.routing_status_filters,
            "RoutingStatusDetailQueryDimension",
            &["routingStatus"],
        ),
    ];
    for (filters, field_type, allowed) in checks {
        for p in filters.iter().flat_map(predicates) {
            let dimension = p.dimension.as_deref().unwrap_or_default();
            if !allowed.contains(&dimension) {
                return Err(invalid_value(dimension, field_type, &allowed.join(", ")));
            }
        }
    }
    if !(query.presence_aggregations.is_empty() && query.routing_status_aggregations.is_empty()) {
        return Err(bad_request(
            "presenceAggregations and routingStatusAggregations are not supported by the emulator; leave them out",
        ));
    }
    let descending = match query.order.as_deref() {
        None | Some("asc") | Some("unordered") => false,
        Some("desc") => true,
        Some(other) => return Err(invalid_value(other, "SortOrder", "asc, desc, unordered")),
    };
    Ok(Plan {
        start: interval.start.as_millisecond(),
        end: interval.end.as_millisecond(),
        descending,
    })
}

fn predicates(f: &Filter) -> impl Iterator<Item = &Predicate> {
    f.predicates
        .iter()
        .chain(f.clauses.iter().flat_map(|c| c.predicates.iter()))
}

/// Whether every filter of `filters` keeps a record with these dimension values.
fn keeps(filters: &[Filter], value_of: impl Fn(&str) -> Option<String>) -> bool {
    let one = |p: &Predicate| {
        let value = p.dimension.as_deref().and_then(&value_of);
        match p.operator.unwrap_or_default() {
            Operator::Matches => value.is_some() && value.as_deref() == p.value.as_deref(),
            Operator::Exists => value.is_some(),
            Operator::NotExists => value.is_none(),
        }
    };
    let combine = |kind: FilterType, mut items: Box<dyn Iterator<Item = bool> + '_>| match kind {
        FilterType::And => items.all(|b| b),
        FilterType::Or => items.any(|b| b),
    };
    filters.iter().all(|f| {
        let clauses = f
            .clauses
            .iter()
            .map(|c| combine(c.kind, Box::new(c.predicates.iter().map(one))));
        combine(
            f.kind,
            Box::new(f.predicates.iter().map(one).chain(clauses)),
        )
    })
}

pub(in crate::synth) fn validate(query: &UserDetailsQuery) -> Result<(), QueryError> {
    plan(query).map(|_| ())
}

/// Every record of the agents the filters keep that overlaps `[start, end)`, as of `now`.
fn records(world: &World, query: &UserDetailsQuery, start: i64, end: i64, now: i64) -> Vec<Record> {
    let agents: Vec<u16> = (0..world.model.agents.len() as u16)
        .filter(|a| {
            let id = &world.model.agents[*a as usize].id;
            keeps(&query.user_filters, |d| (d == "userId").then(|| id.clone()))
        })
        .collect();
    let (from, to) = (start - LOOKAROUND_MS, end + LOOKAROUND_MS);
    if start >= now {
        return Vec::new();
    }
    let sessions = handlings(world, &agents, from, to, now);
    let mut out = Vec::new();
    for (agent, hs) in agents.iter().zip(sessions) {
        let t = timeline(world.roster(), world.seed, *agent, hs, from, to, now);
        let overlaps = |s: i64, e: Option<i64>| s < end && e.unwrap_or(now) > start;
        for span in t.presence.iter().filter(|s| overlaps(s.start, s.end)) {
            let id = world.presences.id(span.status);
            let kept = keeps(&query.presence_filters, |d| match d {
                "systemPresence" => Some(span.status.system().as_str().to_string()),
                "organizationPresenceId" => Some(id.to_string()),
                _ => None,
            });
            if kept {
                out.push(Record {
                    start: span.start,
                    agent: *agent,
                    status: Status::Presence(span.status),
                    end: span.end,
                });
            }
        }
        for span in t.routing.iter().filter(|s| overlaps(s.start, s.end)) {
            let kept = keeps(&query.routing_status_filters, |d| {
                (d == "routingStatus").then(|| span.status.as_str().to_string())
            });
            if kept {
                out.push(Record {
                    start: span.start,
                    agent: *agent,
                    status: Status::Routing(span.status),
                    end: span.end,
                });
            }
        }
    }
    out
}

/// `POST …/users/details/query` as of `now`.
pub(in crate::synth) fn query(
    world: &World,
    query: &UserDetailsQuery,
    now: i64,
) -> Result<UserDetailsQueryResponse, QueryError> {
    let plan = plan(query)?;
    let paging = query.paging.unwrap_or(PagingSpec {
        page_size: DEFAULT_PAGE_SIZE,
        page_number: 1,
    });
    if !(1..=MAX_PAGE_SIZE).contains(&paging.page_size) || paging.page_number == 0 {
        return Err(bad_request(format!(
            "paging.pageSize must be between 1 and {MAX_PAGE_SIZE} and paging.pageNumber at least 1"
        )));
    }
    if u64::from(paging.page_size) * u64::from(paging.page_number) > MAX_PAGING_DEPTH {
        return Err(bad_request(format!(
            "Pagination may not exceed {MAX_PAGING_DEPTH} results.\n\nTip: When extracting large chunks of data, query smaller intervals or use the asynchronous jobs endpoint."
        )));
    }
    let found = records(world, query, plan.start, plan.end, now);
    // Storage: one copy on each UTC day a record starts or ends (an open one: today), read for
    // the days the interval touches.
    let (first_day, last_day) = (
        plan.start.div_euclid(DAY_MS),
        (plan.end - 1).div_euclid(DAY_MS),
    );
    let mut stored: Vec<(i64, &Record)> = found
        .iter()
        .flat_map(|r| {
            let end_day = r.end.unwrap_or(now).div_euclid(DAY_MS);
            let start_day = r.start.div_euclid(DAY_MS);
            let days = if end_day == start_day {
                vec![start_day]
            } else {
                vec![start_day, end_day]
            };
            days.into_iter()
                .filter(|d| (first_day..=last_day).contains(d))
                .map(move |d| (d, r))
        })
        .collect();
    stored.sort_by_key(|(day, r)| (*day, r.start, r.agent, r.status));
    if plan.descending {
        stored.reverse();
    }
    let total_hits = stored.len() as u64;
    let from = (paging.page_number as usize - 1) * paging.page_size as usize;
    let page = stored
        .iter()
        .skip(from)
        .take(paging.page_size as usize)
        .map(|(_, r)| *r);
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Record> = page.filter(|r| seen.insert(**r)).collect();
    Ok(UserDetailsQueryResponse {
        user_details: details_of(world, &unique),
        total_hits: Some(total_hits),
    })
}

/// A users details job: every record overlapping the interval once, in order, as of
/// `available_until` (the datalake's date), at most `limit`.
pub(in crate::synth) fn job(
    world: &World,
    query: &UserDetailsQuery,
    available_until: i64,
) -> Result<Vec<UserDetail>, QueryError> {
    let plan = plan(query)?;
    let mut found = records(world, query, plan.start, plan.end, available_until);
    found.sort();
    if plan.descending {
        found.reverse();
    }
    if let Some(limit) = query.limit {
        found.truncate(limit as usize);
    }
    // One detail per user and record keeps paging by record simple: the HTTP layer regroups.
    Ok(found.iter().flat_map(|r| details_of(world, &[r])).collect())
}

/// Groups records by user, in order of first appearance.
fn details_of(world: &World, records: &[&Record]) -> Vec<UserDetail> {
    let mut order: Vec<u16> = Vec::new();
    let mut by_agent: BTreeMap<u16, UserDetail> = BTreeMap::new();
    for r in records {
        let detail = by_agent.entry(r.agent).or_insert_with(|| {
            order.push(r.agent);
            UserDetail {
                user_id: world.model.agents[r.agent as usize].id.clone(),
                ..UserDetail::default()
            }
        });
        let start_time = format_instant(genesys::granularity::ms_to_timestamp(r.start));
        let end_time = r
            .end
            .map(|e| format_instant(genesys::granularity::ms_to_timestamp(e)));
        match r.status {
            Status::Presence(a) => detail.primary_presence.push(PresenceRecord {
                start_time,
                end_time,
                system_presence: a.system().as_str().to_string(),
                organization_presence_id: world.presences.id(a).to_string(),
            }),
            Status::Routing(s) => detail.routing_status.push(RoutingStatusRecord {
                start_time,
                end_time,
                routing_status: s.as_str().to_string(),
            }),
        }
    }
    order
        .into_iter()
        .filter_map(|a| by_agent.remove(&a))
        .collect()
}
