//! Users aggregates (`POST /api/v2/analytics/users/aggregates/query` and its jobs): the time
//! each user spent in each system presence, organisation presence and routing status, per
//! bucket, as the sum of its status intervals clipped to the bucket.
//!
//! Wire shape (recorded response `users-aggregates-1.json`): `systemToOrganizationMappings`
//! first, then `results[{group:{userId}, data:[{interval, metrics:[{metric, qualifier,
//! stats:{sum}}]}]}]`; `stats` holds only an integer `sum`; a (metric, qualifier) with no time,
//! a bucket with no metric and a user with no bucket are absent, never zero.

use genesys::Interval;
use genesys::filter::{Filter, FilterType, Operator, Predicate};
use genesys::granularity::{Buckets, time_zone};
use serde::{Deserialize, Serialize};

use super::aggregate_table::UserAggregateTable;
use super::presence::{Activity, RoutingStatus, SystemPresence};
use super::roster::DAY_MS;
use super::timeline::{handlings, timeline};
use crate::synth::query::{MAX_BUCKETS, bad_request, parse_interval};
use crate::synth::{QueryError, World};

/// Most userId predicates one query may hold (documented by Genesys).
pub const MAX_USER_PREDICATES: usize = 100;
/// Most (user, bucket) cells one synchronous answer may hold. Genesys documents no limit; this
/// keeps the emulator's memory bounded (200 users × 31 days of PT1H fit; PT15M over a day for
/// 5,000 users does not). Larger is refused as `response.entity.too.large`, the API's code for
/// an answer too large to send at once (genesys-api.md §5), which a client answers with a job:
/// a job computes each results page for its own users, so it has no such limit.
pub const MAX_USER_CELLS: usize = 250_000;

pub(super) const SYSTEM_SLOTS: usize = SystemPresence::ALL.len();
pub(super) const ROUTING_SLOTS: usize = RoutingStatus::ALL.len();
pub(super) const SLOTS: usize = SYSTEM_SLOTS + ROUTING_SLOTS + Activity::ALL.len();

/// Body of the query (`UserAggregationQuery`) and of a job (`UserAsyncAggregationQuery`, which
/// adds `pageSize`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAggregationQuery {
    pub interval: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flatten_multivalued_dimensions: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_time_dimension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserMetric {
    SystemPresence,
    OrganizationPresence,
    AgentRoutingStatus,
}

impl UserMetric {
    pub const ALL: [UserMetric; 3] = [
        Self::SystemPresence,
        Self::OrganizationPresence,
        Self::AgentRoutingStatus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SystemPresence => "tSystemPresence",
            Self::OrganizationPresence => "tOrganizationPresence",
            Self::AgentRoutingStatus => "tAgentRoutingStatus",
        }
    }

    pub(super) fn slots(self) -> std::ops::Range<usize> {
        match self {
            Self::SystemPresence => 0..SYSTEM_SLOTS,
            Self::AgentRoutingStatus => SYSTEM_SLOTS..SYSTEM_SLOTS + ROUTING_SLOTS,
            Self::OrganizationPresence => SYSTEM_SLOTS + ROUTING_SLOTS..SLOTS,
        }
    }
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

/// A validated users aggregate query.
#[derive(Debug, Clone)]
pub struct UserPlan {
    pub interval: Interval,
    pub buckets: Buckets,
    pub by_user: bool,
    pub metrics: Vec<UserMetric>,
    /// The agents the filter keeps, in org order.
    pub agents: Vec<u16>,
}

pub(in crate::synth) fn plan(
    query: &UserAggregationQuery,
    world: &World,
) -> Result<UserPlan, QueryError> {
    let interval = parse_interval(&query.interval)?;
    if query.metrics.is_empty() {
        return Err(bad_request(
            "metrics is required and must name at least one of tSystemPresence, tOrganizationPresence, tAgentRoutingStatus",
        ));
    }
    let mut metrics = Vec::new();
    for name in &query.metrics {
        let metric = UserMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .ok_or_else(|| {
                invalid_value(
                    name,
                    "UserAggregateMetric",
                    "tAgentRoutingStatus, tOrganizationPresence, tSystemPresence",
                )
            })?;
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    }
    for dimension in &query.group_by {
        if dimension != "userId" {
            return Err(invalid_value(dimension, "UserAggregateDimension", "userId"));
        }
    }
    if !query.views.is_empty() {
        return Err(bad_request(
            "views are not supported by the emulator's users aggregates; leave views out",
        ));
    }
    if let Some(other) = query
        .alternate_time_dimension
        .as_deref()
        .filter(|d| *d != "eventTime")
    {
        return Err(invalid_value(
            other,
            "UserAggregateAlternateTimeDimension",
            "eventTime",
        ));
    }
    let granularity = query
        .granularity
        .as_deref()
        .map(|g| {
            g.parse::<genesys::Granularity>()
                .map_err(|e| bad_request(format!("Invalid granularity `{g}`: {e}")))
        })
        .transpose()?;
    let tz = time_zone(query.time_zone.as_deref())
        .map_err(|e| bad_request(format!("Invalid timeZone: {e}")))?;
    let buckets = Buckets::new(interval, granularity.as_ref(), &tz, MAX_BUCKETS)
        .map_err(|e| bad_request(format!("Invalid granularity: {e}")))?;
    let agents = match &query.filter {
        Some(filter) => filtered_agents(filter, world)?,
        None => (0..world.model.agents.len() as u16).collect(),
    };
    let by_user = !query.group_by.is_empty();
    Ok(UserPlan {
        interval,
        buckets,
        by_user,
        metrics,
        agents,
    })
}

fn filtered_agents(filter: &Filter, world: &World) -> Result<Vec<u16>, QueryError> {
    if filter.predicates.is_empty() && filter.clauses.is_empty() {
        return Err(bad_request("filter needs at least one predicate or clause"));
    }
    let all_predicates = filter
        .predicates
        .iter()
        .chain(filter.clauses.iter().flat_map(|c| c.predicates.iter()));
    let mut count = 0;
    for p in all_predicates {
        validate_predicate(p)?;
        count += 1;
    }
    if count > MAX_USER_PREDICATES {
        return Err(bad_request(format!(
            "A single query may contain no more than {MAX_USER_PREDICATES} userId predicates; this one has {count}"
        )));
    }
    let keep = |id: &str| {
        let one = |p: &Predicate| match p.operator.unwrap_or_default() {
            Operator::Matches => p.value.as_deref() == Some(id),
            Operator::Exists => true,
            Operator::NotExists => false,
        };
        let combine = |kind: FilterType, mut items: Box<dyn Iterator<Item = bool> + '_>| match kind
        {
            FilterType::And => items.all(|b| b),
            FilterType::Or => items.any(|b| b),
        };
        let clauses = filter
            .clauses
            .iter()
            .map(|c| combine(c.kind, Box::new(c.predicates.iter().map(one))));
        combine(
            filter.kind,
            Box::new(filter.predicates.iter().map(one).chain(clauses)),
        )
    };
    Ok(world
        .model
        .agents
        .iter()
        .enumerate()
        .filter(|(_, a)| keep(&a.id))
        .map(|(i, _)| i as u16)
        .collect())
}

fn validate_predicate(p: &Predicate) -> Result<(), QueryError> {
    if let Some(kind) = p.kind.as_deref().filter(|k| *k != "dimension") {
        return Err(invalid_value(
            kind,
            "UserAggregateQueryPredicateType",
            "dimension",
        ));
    }
    let dimension = p
        .dimension
        .as_deref()
        .ok_or_else(|| bad_request("filter predicate needs a dimension (userId)"))?;
    if dimension != "userId" {
        return Err(invalid_value(dimension, "UserAggregateDimension", "userId"));
    }
    if p.operator.unwrap_or_default() == Operator::Matches && p.value.is_none() {
        return Err(bad_request(
            "filter predicate on userId with operator matches needs a value",
        ));
    }
    Ok(())
}

impl UserPlan {
    /// The answer's groups: one per agent kept, or one for all of them.
    pub fn groups(&self) -> usize {
        if self.by_user { self.agents.len() } else { 1 }
    }

    /// Refuses an answer too large to send at once, as the API does (a job pages it instead).
    pub(in crate::synth) fn check_size(&self) -> Result<(), QueryError> {
        let (groups, buckets) = (self.groups(), self.buckets.len());
        if groups.saturating_mul(buckets) <= MAX_USER_CELLS {
            return Ok(());
        }
        Err(QueryError {
            status: 400,
            code: "response.entity.too.large",
            message: format!(
                "The answer would hold {groups} users × {buckets} buckets, more than the emulator's {MAX_USER_CELLS} for one response; use an async job, or query fewer users, a shorter interval or a coarser granularity"
            ),
        })
    }

    /// The plan for the agents `[from, from + count)` of this one (the whole plan when it is
    /// not by user): one results page of a job.
    pub(in crate::synth) fn slice(mut self, from: usize, count: usize) -> Self {
        if self.by_user {
            let to = from.saturating_add(count).min(self.agents.len());
            self.agents = self.agents[from.min(to)..to].to_vec();
        }
        self
    }
}

pub(in crate::synth) fn run(world: &World, plan: &UserPlan, now: i64) -> UserAggregateTable {
    let bucket_count = plan.buckets.len();
    let groups = if plan.by_user { plan.agents.len() } else { 1 };
    let mut cells = vec![[0i64; SLOTS]; groups * bucket_count];
    let start = plan.interval.start.as_millisecond();
    let end = plan.interval.end.as_millisecond().min(now);
    // One UTC day at a time: only that day's sessions are held.
    let mut from = start;
    while from < end {
        let to = ((from.div_euclid(DAY_MS) + 1) * DAY_MS).min(end);
        let sessions = handlings(world, &plan.agents, from, to, now);
        for (k, (agent, hs)) in plan.agents.iter().zip(sessions).enumerate() {
            let t = timeline(world.roster(), world.seed, *agent, hs, from, to, now);
            let group = if plan.by_user { k } else { 0 };
            let row = &mut cells[group * bucket_count..(group + 1) * bucket_count];
            for span in &t.presence {
                add(
                    &plan.buckets,
                    row,
                    span.start,
                    span.end.unwrap_or(to),
                    |slots| {
                        slots[span.status.system() as usize] += 1;
                        slots[SYSTEM_SLOTS + ROUTING_SLOTS + activity_index(span.status)] += 1;
                    },
                );
            }
            for span in &t.routing {
                add(
                    &plan.buckets,
                    row,
                    span.start,
                    span.end.unwrap_or(to),
                    |slots| {
                        slots[SYSTEM_SLOTS + span.status as usize] += 1;
                    },
                );
            }
        }
        from = to;
    }
    let groups: Vec<Option<String>> = if plan.by_user {
        plan.agents
            .iter()
            .map(|a| Some(world.model.agents[*a as usize].id.clone()))
            .collect()
    } else {
        vec![None]
    };
    let mut table = UserAggregateTable {
        buckets: plan.buckets.clone(),
        metrics: plan.metrics.clone(),
        groups,
        cells,
        org_presence_ids: Activity::ALL
            .iter()
            .map(|a| world.presences.id(*a).to_string())
            .collect(),
        non_empty: Vec::new(),
    };
    table.non_empty = (0..table.groups.len())
        .filter(|g| (0..bucket_count).any(|b| table.has_metrics(*g, b)))
        .collect();
    table
}

fn activity_index(a: Activity) -> usize {
    Activity::ALL.iter().position(|x| *x == a).unwrap_or(0)
}

/// Adds `[start, end)` clipped to each bucket it overlaps: `mark` names the slots (with a 1),
/// each of which then gains the overlap in milliseconds.
fn add(
    buckets: &Buckets,
    row: &mut [[i64; SLOTS]],
    start: i64,
    end: i64,
    mark: impl Fn(&mut [i64; SLOTS]),
) {
    let mut which = [0i64; SLOTS];
    mark(&mut which);
    let Some(mut b) = buckets.index_of(start) else {
        return;
    };
    while b < buckets.len() {
        let (bs, be) = buckets.bounds_ms(b);
        if bs >= end {
            break;
        }
        let ms = end.min(be) - start.max(bs);
        if ms > 0 {
            for (cell, w) in row[b].iter_mut().zip(which) {
                *cell += ms * w;
            }
        }
        b += 1;
    }
}
