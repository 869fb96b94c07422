//! The synthetic contact centre and the analytics computed over it.
//!
//! INTERFACE CONTRACT: the HTTP layer calls [`ContactCentre`]'s methods.
//!
//! How it works:
//! - `org`: divisions, 25 queues (media, service levels, members), teams, 200 agents and 30
//!   wrap-up codes, all with ids derived from the seed.
//! - `generate`: the conversations STARTING in each 15-minute UTC slot come from (seed, slot)
//!   alone, so any interval is produced on demand, in any order. Each conversation is written as
//!   sessions (one per participant: customer/external, ivr, acd, agent), segments and metric
//!   emissions, each emission at the instant its event happens. No conversation lasts longer
//!   than [`MAX_SPAN_MS`], so a query over `[a, b)` generates the slots of `[a - MAX_SPAN_MS, b)`.
//! - `aggregate`: buckets every emission at or before `now` by its emit instant, groups by
//!   small integer codes (`dims`, the one list of carried dimensions) and keeps compact cells;
//!   strings are written only for the response (`table`).
//! - `details`: the same generated conversations as detail records, as of `now`: open segments
//!   have no `segmentEnd`, wrap-up codes and disconnect types appear once known; `voice` adds
//!   what the voice platform records (edge, call quality, the IVR flow block).
//! - `agents`: each agent's day (roster, presences, routing statuses) derived on demand and
//!   consistent with the conversations routed to it; users aggregates and users details over it.
//!
//! Modelling choices a reader should know: `tAnswered` (agent session) and `tWait`/`tAcd`
//! (acd session) all measure queue entry → answer; every abandon emits `tAbandon`, those under
//! [`SHORT_ABANDON_MS`] also `tShortAbandon` and stay out of `oServiceLevel`; an agent session's
//! wrap-up code and a session's disconnect type are dimensions only once they have happened; the
//! detail records also list `tWait` and `oServiceLevel` (0 or 1) among the acd session metrics.

use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};
use genesys::details::{Conversation, ConversationQuery, ConversationQueryResponse};
use genesys::directory::{Queue, User, WrapupCode};
use jiff::Timestamp;

pub mod agents;
mod aggregate;
mod codes;
mod details;
mod dims;
mod fxhash;
mod generate;
mod ids;
mod model;
mod org;
mod query;
mod table;
mod voice;

use codes::Media;
use dims::Vocabulary;
use generate::Generator;
use org::OrgModel;

pub use generate::SHORT_ABANDON_MS;
pub use model::{MAX_SPAN_MS, SLOT_MS};
pub use query::{MAX_AGGREGATE_DAYS, MAX_BUCKETS};
pub use table::AggregateTable;

/// Every dimension the synthetic data can carry (others are valid but never present).
pub fn carried_dimensions() -> impl Iterator<Item = &'static str> {
    dims::CARRIED.iter().map(|(name, _)| *name)
}

/// Every metric the synthetic data emits (others are valid but never present).
pub fn emitted_metrics() -> impl Iterator<Item = &'static str> {
    codes::Metric::ALL.iter().map(|m| m.as_str())
}

/// Size of the synthetic organisation.
#[derive(Debug, Clone)]
pub struct OrgShape {
    pub queues: usize,
    pub agents: usize,
    pub wrapup_codes: usize,
    /// Mean conversations per day across the org (weekly and daily seasonality around it).
    pub conversations_per_day: u32,
    /// Percent of wrap-up codes Genesys' nightly reprocessing fills in late: 48 to 72 hours
    /// after the wrap-up ended instead of at once (a restatement, see the README).
    pub late_wrapup_percent: u8,
}

impl Default for OrgShape {
    fn default() -> Self {
        Self {
            queues: 25,
            agents: 200,
            wrapup_codes: 30,
            conversations_per_day: 20_000,
            late_wrapup_percent: 0,
        }
    }
}

/// A query the API refuses: becomes the Genesys `ErrorBody` with this status and code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

/// The directories of the synthetic organisation.
#[derive(Debug, Clone, Default)]
pub struct Org {
    pub queues: Vec<Queue>,
    pub users: Vec<User>,
    pub wrapup_codes: Vec<WrapupCode>,
}

/// Everything analytics knows about the synthetic contact centre. Deterministic from the seed.
pub struct ContactCentre {
    org: Org,
    world: World,
}

/// What the engines read: the org model, its vocabulary and the conversation generator.
struct World {
    seed: u64,
    presences: agents::Presences,
    session_days: agents::timeline::SessionDays,
    model: OrgModel,
    vocab: Vocabulary,
    generator: Generator,
    /// Service-level target per (queue, media) in parts per million.
    target_ppm: Vec<[u32; 5]>,
}

impl World {
    fn roster(&self) -> &agents::Roster {
        &self.generator.roster
    }

    #[inline]
    fn target_ppm(&self, queue: u16, media: Media) -> u32 {
        self.target_ppm
            .get(queue as usize)
            .map_or(0, |t| t[media as usize])
    }
}

impl ContactCentre {
    pub fn new(seed: u64, shape: &OrgShape) -> Self {
        let model = OrgModel::generate(seed, shape);
        let target_ppm = model
            .queues
            .iter()
            .map(|q| {
                std::array::from_fn(|m| (q.service_level(Media::ALL[m]).0 * 1e6).round() as u32)
            })
            .collect();
        let world = World {
            seed,
            presences: agents::Presences::new(seed),
            session_days: Default::default(),
            vocab: Vocabulary::new(seed, &model),
            generator: Generator::new(seed, &model, shape),
            target_ppm,
            model,
        };
        Self {
            org: world.model.directories(),
            world,
        }
    }

    pub fn org(&self) -> &Org {
        &self.org
    }

    fn seed(&self) -> u64 {
        self.world.seed
    }

    /// `POST …/aggregates/query` as of virtual `now`: metrics emitted at or before `now` only.
    pub fn aggregate(
        &self,
        query: &AggregationQuery,
        now: Timestamp,
    ) -> Result<AggregateQueryResponse, QueryError> {
        Ok(self.aggregate_table(query, now)?.into_response())
    }

    /// Like [`ContactCentre::aggregate`], in compact form: serialise it (it writes the same JSON)
    /// to answer large queries without building the response tree.
    pub fn aggregate_table(
        &self,
        query: &AggregationQuery,
        now: Timestamp,
    ) -> Result<AggregateTable, QueryError> {
        let plan = query::plan(query, &self.world.vocab)?;
        Ok(aggregate::run(&self.world, &plan, now.as_millisecond()))
    }

    /// Validation alone (for async job creation, which must refuse a bad query at once).
    pub fn validate_aggregate(&self, query: &AggregationQuery) -> Result<(), QueryError> {
        query::plan(query, &self.world.vocab).map(|_| ())
    }

    /// `POST …/details/query`: conversations that started on a day touched by the interval, paged.
    pub fn details_query(
        &self,
        query: &ConversationQuery,
        now: Timestamp,
    ) -> Result<ConversationQueryResponse, QueryError> {
        details::query(&self.world, query, now.as_millisecond())
    }

    /// Async details job: every matching conversation with activity in the interval, as of `now`,
    /// none after `available_until` (the datalake's `dataAvailabilityDate`); the caller pages.
    pub fn details_job(
        &self,
        query: &ConversationQuery,
        now: Timestamp,
        available_until: Timestamp,
    ) -> Result<Vec<Conversation>, QueryError> {
        details::job(
            &self.world,
            query,
            now.as_millisecond(),
            available_until.as_millisecond(),
        )
    }

    /// The organisation presences (`GET /api/v2/presencedefinitions`).
    pub fn presence_definitions(&self) -> Vec<genesys::directory::OrganizationPresence> {
        self.world.presences.legacy_entities()
    }

    /// `POST …/users/details/query` as of virtual `now`.
    pub fn users_details_query(
        &self,
        query: &agents::UserDetailsQuery,
        now: Timestamp,
    ) -> Result<agents::UserDetailsQueryResponse, QueryError> {
        agents::details::query(&self.world, query, now.as_millisecond())
    }

    /// A users details job: each record overlapping the interval once (one `UserDetail` per
    /// record, in order), as of `available_until` (the datalake's `dataAvailabilityDate`).
    pub fn users_details_job(
        &self,
        query: &agents::UserDetailsQuery,
        available_until: Timestamp,
    ) -> Result<Vec<agents::UserDetail>, QueryError> {
        agents::details::job(&self.world, query, available_until.as_millisecond())
    }

    /// Validation alone (a users details job refuses a bad query at once).
    pub fn validate_users_details(
        &self,
        query: &agents::UserDetailsQuery,
    ) -> Result<(), QueryError> {
        agents::details::validate(query)
    }

    /// The presence definitions (`GET /api/v2/presence/definitions`).
    pub fn presence_definitions_v2(&self) -> Vec<agents::PresenceDefinition> {
        self.world.presences.definitions()
    }

    /// The organisation presence id of an activity.
    pub fn presence_id(&self, activity: agents::Activity) -> &str {
        self.world.presences.id(activity)
    }

    /// `POST …/users/aggregates/query` as of virtual `now`.
    pub fn users_aggregate(
        &self,
        query: &agents::UserAggregationQuery,
        now: Timestamp,
    ) -> Result<agents::UserAggregateTable, QueryError> {
        let plan = agents::aggregate::plan(query, &self.world)?;
        plan.check_size()?;
        Ok(agents::aggregate::run(
            &self.world,
            &plan,
            now.as_millisecond(),
        ))
    }

    /// A users aggregates job's groups (validating its query: a job refuses a bad query at
    /// once); each results page is then [`ContactCentre::users_aggregate_page`].
    pub fn users_aggregate_groups(
        &self,
        query: &agents::UserAggregationQuery,
    ) -> Result<usize, QueryError> {
        agents::aggregate::plan(query, &self.world).map(|plan| plan.groups())
    }

    /// The users aggregates of the groups `[from, from + count)` of the query's answer, as of
    /// `now`: a job's results page, computed when asked for, so a job over many agents holds
    /// one page at a time.
    pub fn users_aggregate_page(
        &self,
        query: &agents::UserAggregationQuery,
        now: Timestamp,
        from: usize,
        count: usize,
    ) -> Result<agents::UserAggregateTable, QueryError> {
        let plan = agents::aggregate::plan(query, &self.world)?.slice(from, count);
        Ok(agents::aggregate::run(
            &self.world,
            &plan,
            now.as_millisecond(),
        ))
    }

    /// Every agent's presence and routing status over `[from, to)` as of `now` (spans cut at
    /// `from`; the one in force at `now` open), with the agent sessions that made them.
    pub fn agent_timelines(
        &self,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Vec<agents::AgentTimeline> {
        let (from, to, now) = (
            from.as_millisecond(),
            to.as_millisecond(),
            now.as_millisecond(),
        );
        let all: Vec<u16> = (0..self.world.model.agents.len() as u16).collect();
        let sessions = agents::timeline::handlings(&self.world, &all, from, to, now);
        all.iter()
            .zip(sessions)
            .map(|(a, hs)| {
                agents::timeline::timeline(
                    self.world.roster(),
                    self.world.seed,
                    *a,
                    hs,
                    from,
                    to,
                    now,
                )
            })
            .collect()
    }

    /// What the roster alone has agent `agent` (org order) doing at `at`.
    pub fn rostered_activity(&self, agent: u16, at: Timestamp) -> agents::Activity {
        self.world.roster().activity_at(agent, at.as_millisecond())
    }

    /// Number of conversations starting in the UTC slot holding `at` (for benchmarks and tests).
    pub fn conversations_in_slot(&self, at: Timestamp) -> usize {
        let mut data = model::SlotData::default();
        let slot = model::slot_of(at.as_millisecond());
        self.world
            .generator
            .generate(&self.world.model, slot, &mut data);
        data.convs.len()
    }

    /// Generates every slot of `[start, end)` and returns the number of metric emissions (a
    /// benchmark hook: the cost of producing the raw data, without any query).
    pub fn generate_emissions(&self, start: Timestamp, end: Timestamp) -> usize {
        let mut data = model::SlotData::default();
        let slots =
            model::slot_of(start.as_millisecond())..model::slot_of(end.as_millisecond() - 1) + 1;
        slots
            .map(|slot| {
                self.world
                    .generator
                    .generate(&self.world.model, slot, &mut data);
                data.emissions.len()
            })
            .sum()
    }
}
