//! Conversation detail records built from the SAME generated conversations the aggregates count,
//! as of a virtual `now`, plus the synchronous query (paged) and the async job selection.

use genesys::details::{
    Conversation, ConversationQuery, ConversationQueryResponse, Participant, Segment, Session,
    SessionMetric,
};
use genesys::filter::{Filter, Operator, Predicate};
use genesys::interval::write_instant_ms;

use super::codes::{Purpose, SegmentType};
use super::dims::{ABSENT, Vocabulary};
use super::model::{ConvRec, MAX_SPAN_MS, NONE, SessRec, SlotData, slot_of};
use super::query::{bad_request, parse_interval};
use super::{QueryError, World};

const DAY_MS: i64 = 86_400_000;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGING_DEPTH: u64 = 100_000;

/// Conversation-level detail dimensions (`ConversationDetailQueryPredicate`).
const CONVERSATION_DIMENSIONS: &[&str] = &[
    "accessAttribute",
    "conversationEnd",
    "conversationId",
    "conversationInitiator",
    "conversationStart",
    "customerParticipation",
    "divisionId",
    "externalTag",
    "mediaStatsMinConversationMos",
    "originatingDirection",
    "originatingSocialMediaPublic",
];

/// Segment-level detail dimensions (`SegmentDetailQueryPredicate`).
const SEGMENT_DIMENSIONS: &[&str] = &[
    "addressFrom",
    "addressTo",
    "agentAssistantId",
    "agentOwned",
    "ani",
    "authenticated",
    "bargedParticipantId",
    "callbackNumber",
    "callbackScheduledTime",
    "canonicalExternalContactId",
    "cleared",
    "coachedParticipantId",
    "conference",
    "deliveryPushed",
    "deliveryStatus",
    "destinationAddress",
    "destinationConversationId",
    "detectedSpeechEnd",
    "detectedSpeechStart",
    "direction",
    "disconnectType",
    "dnis",
    "edgeId",
    "engagementSource",
    "errorCode",
    "exitReason",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalOrganizationId",
    "flaggedReason",
    "flowId",
    "flowName",
    "flowOutType",
    "flowOutcome",
    "flowOutcomeId",
    "flowOutcomeValue",
    "flowVersion",
    "groupId",
    "journeyActionId",
    "journeyActionMapId",
    "journeyCustomerId",
    "journeyCustomerIdType",
    "journeyCustomerSessionId",
    "journeyCustomerSessionIdType",
    "mediaCount",
    "mediaType",
    "messageType",
    "monitoredParticipantId",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "protocolCallId",
    "provider",
    "purpose",
    "queueId",
    "recording",
    "remote",
    "remoteNameDisplayable",
    "requestedLanguageId",
    "requestedRouting",
    "requestedRoutingSkillId",
    "scoredAgentId",
    "screenMonitoredUserId",
    "screenRecording",
    "scriptId",
    "segmentEnd",
    "segmentType",
    "sessionDnis",
    "sipResponseCode",
    "skillExpressionId",
    "snippetRecording",
    "subject",
    "teamId",
    "transferTargetAddress",
    "transferTargetName",
    "transferType",
    "usedRouting",
    "userId",
    "wrapUpCode",
    "wrapUpNote",
];

/// Builds the detail record of conversation `c` of `slot` as of `now` (None if not started).
pub fn record(vocab: &Vocabulary, slot: &SlotData, c: &ConvRec, now: i64) -> Option<Conversation> {
    build(vocab, slot, c, now, true)
}

/// `with_metrics: false` leaves the session metrics out: enough to evaluate filters that name
/// no metric, at a fraction of the cost.
fn build(
    vocab: &Vocabulary,
    slot: &SlotData,
    c: &ConvRec,
    now: i64,
    with_metrics: bool,
) -> Option<Conversation> {
    if c.start_ms > now {
        return None;
    }
    let (from, to) = c.sessions;
    let participants = (from..to)
        .filter_map(|i| participant(vocab, slot, c, i, now, with_metrics))
        .collect();
    Some(Conversation {
        conversation_id: vocab.conversation_id(c.key),
        conversation_start: format_ms(c.start_ms),
        conversation_end: (c.end_ms <= now).then(|| format_ms(c.end_ms)),
        conversation_initiator: Some(c.initiator.as_str().to_string()),
        originating_direction: Some(c.originating_direction.as_str().to_string()),
        customer_participation: (c.end_ms <= now).then_some(c.customer_participation),
        division_ids: vec![vocab.division_ids[c.division as usize].clone()],
        // Call quality and flows are added to voice records as they are rendered (`voice`).
        media_stats_min_conversation_mos: None,
        media_stats_min_conversation_r_factor: None,
        participants,
    })
}

/// `format_instant` for epoch milliseconds (`genesys::interval::write_instant_ms`): records
/// carry dozens of instants each.
pub fn format_ms(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    write_instant_ms(&mut out, ms);
    String::from_utf8(out).expect("digits and ASCII punctuation")
}

fn participant(
    vocab: &Vocabulary,
    slot: &SlotData,
    c: &ConvRec,
    index: u32,
    now: i64,
    with_metrics: bool,
) -> Option<Participant> {
    let s = &slot.sessions[index as usize];
    let (g0, g1) = c.segments;
    let segments: Vec<Segment> = slot.segments[g0 as usize..g1 as usize]
        .iter()
        .filter(|g| g.session == index && g.start_ms <= now)
        .map(|g| segment(vocab, s, g, now))
        .collect();
    if segments.is_empty() {
        return None;
    }
    let (e0, e1) = if with_metrics { c.emissions } else { (0, 0) };
    let mut metrics: Vec<(i64, SessionMetric)> = slot.emissions[e0 as usize..e1 as usize]
        .iter()
        .filter(|e| e.session == index)
        .map(|e| (slot.emitted_at(e), e))
        .filter(|(at, _)| *at <= now)
        .map(|(at, e)| {
            (
                at,
                SessionMetric {
                    name: e.metric.as_str().to_string(),
                    value: e.value as i64,
                    emit_date: format_ms(at),
                },
            )
        })
        .collect();
    metrics.sort_by_key(|(at, _)| *at);
    let (ani, dnis) = vocab.phones(c, s);
    let phone = |n: u64| (n != ABSENT).then(|| format!("tel:+{n}"));
    let name = vocab.participant_name_code(s);
    let session = Session {
        session_id: vocab.session_id(c.key, s.ordinal),
        media_type: s.media.as_str().to_string(),
        direction: Some(s.direction.as_str().to_string()),
        ani: phone(ani),
        dnis: phone(dnis),
        used_routing: (s.routed && s.purpose == Purpose::Agent).then(|| "Standard".to_string()),
        requested_routings: if s.routed && s.purpose == Purpose::Acd {
            vec!["Standard".into()]
        } else {
            Vec::new()
        },
        metrics: metrics.into_iter().map(|(_, m)| m).collect(),
        flow: None,
        media_endpoint_stats: Vec::new(),
        recording: None,
        provider: None,
        edge_id: None,
        segments,
    };
    Some(Participant {
        participant_id: vocab.participant_id(c.key, s.ordinal),
        participant_name: (name != ABSENT).then(|| vocab.names[name as usize].clone()),
        purpose: s.purpose.as_str().to_string(),
        user_id: (s.user != NONE).then(|| vocab.user_ids[s.user as usize].clone()),
        team_id: (s.user != NONE)
            .then(|| vocab.team_ids[vocab.user_team[s.user as usize] as usize].clone()),
        attributes: Default::default(),
        sessions: vec![session],
    })
}

fn segment(vocab: &Vocabulary, s: &SessRec, g: &super::model::SegRec, now: i64) -> Segment {
    let ended = g.end_ms <= now;
    let wrapup = g.kind == SegmentType::Wrapup && ended && s.wrapup != NONE && s.wrapup_at <= now;
    Segment {
        segment_start: format_ms(g.start_ms),
        segment_end: ended.then(|| format_ms(g.end_ms)),
        segment_type: g.kind.as_str().to_string(),
        queue_id: (s.queue != NONE).then(|| vocab.queue_ids[s.queue as usize].clone()),
        wrap_up_code: wrapup.then(|| vocab.wrapup_ids[s.wrapup as usize].clone()),
        disconnect_type: (g.disconnects && ended).then(|| s.disconnect.as_str().to_string()),
        requested_routing_skill_ids: Vec::new(),
        // Recorded segments always carry it; the synthetic org holds no conferences.
        conference: Some(false),
    }
}

/// Detail filters, validated; evaluated on the built records.
pub struct DetailFilters<'q> {
    conversation: &'q [Filter],
    segment: &'q [Filter],
}

impl<'q> DetailFilters<'q> {
    pub fn new(query: &'q ConversationQuery) -> Result<Self, QueryError> {
        for f in &query.conversation_filters {
            validate(f, CONVERSATION_DIMENSIONS, "conversationFilters", |m| {
                genesys::catalog::is_metric(m) || m == "tConversationDuration"
            })?;
        }
        for f in &query.segment_filters {
            validate(f, SEGMENT_DIMENSIONS, "segmentFilters", |m| {
                m == "tSegmentDuration"
            })?;
        }
        Ok(Self {
            conversation: &query.conversation_filters,
            segment: &query.segment_filters,
        })
    }

    /// Whether a predicate names a session metric (conversation-level metric predicates).
    pub fn needs_metrics(&self) -> bool {
        self.conversation
            .iter()
            .flat_map(Filter::all_predicates)
            .any(|p| p.dimension.is_none() && p.metric.is_some())
    }

    /// Only conversation-level dimension predicates: decidable without building records.
    pub fn conversation_fields_only(&self) -> bool {
        !self.conversation.is_empty() && self.segment.is_empty() && !self.needs_metrics()
    }

    /// [`DetailFilters::matches`] for filters of conversation fields, on the compact record.
    pub fn matches_compact(&self, vocab: &Vocabulary, c: &ConvRec, now: i64) -> bool {
        self.conversation
            .iter()
            .all(|f| f.evaluate(|p| compact_conversation_predicate(vocab, c, now, p)))
    }

    pub fn is_empty(&self) -> bool {
        self.conversation.is_empty() && self.segment.is_empty()
    }

    pub fn matches(&self, c: &Conversation) -> bool {
        self.conversation
            .iter()
            .all(|f| f.evaluate(|p| conversation_predicate(c, p)))
            && self.segment.iter().all(|f| {
                c.participants.iter().any(|p| {
                    p.sessions.iter().any(|s| {
                        s.segments
                            .iter()
                            .any(|g| f.evaluate(|pr| segment_predicate(p, s, g, pr)))
                    })
                })
            })
    }
}

fn validate(
    f: &Filter,
    dims: &[&str],
    field: &str,
    metric_ok: impl Fn(&str) -> bool,
) -> Result<(), QueryError> {
    if f.predicates.is_empty() && f.clauses.is_empty() {
        return Err(bad_request(format!(
            "{field} entries need at least one predicate or clause"
        )));
    }
    for p in f.all_predicates() {
        match (&p.dimension, &p.metric) {
            (Some(d), _) if !dims.contains(&d.as_str()) => {
                return Err(bad_request(format!("Unknown dimension `{d}` in {field}")));
            }
            (None, Some(m)) if !metric_ok(m) => {
                return Err(bad_request(format!("Unknown metric `{m}` in {field}")));
            }
            (None, None) => {
                return Err(bad_request(format!(
                    "{field} predicates need a dimension or a metric"
                )));
            }
            _ => {}
        }
        if p.operator.unwrap_or_default() == Operator::Matches
            && p.value.is_none()
            && p.range.is_none()
        {
            return Err(bad_request(format!(
                "{field} predicate with operator matches needs a value or a range"
            )));
        }
    }
    Ok(())
}

/// Compares an optional field with a predicate (exists / notExists / matches value or range).
fn test(p: &Predicate, field: Option<&str>, number: Option<f64>) -> bool {
    match p.operator.unwrap_or_default() {
        Operator::Exists => field.is_some(),
        Operator::NotExists => field.is_none(),
        Operator::Matches => match (&p.value, &p.range) {
            (Some(v), _) => field == Some(v.as_str()),
            (None, Some(r)) => number.is_some_and(|n| r.contains(n)),
            (None, None) => false,
        },
    }
}

/// The conversation fields of [`record`], read from the compact record (same values).
fn compact_conversation_predicate(
    vocab: &Vocabulary,
    c: &ConvRec,
    now: i64,
    p: &Predicate,
) -> bool {
    let ended = c.end_ms <= now;
    let field: Option<String> = match p.dimension.as_deref().unwrap_or_default() {
        "conversationId" => Some(vocab.conversation_id(c.key)),
        "conversationStart" => Some(format_ms(c.start_ms)),
        "conversationEnd" => ended.then(|| format_ms(c.end_ms)),
        "conversationInitiator" => Some(c.initiator.as_str().to_string()),
        "originatingDirection" => Some(c.originating_direction.as_str().to_string()),
        "customerParticipation" => ended.then(|| c.customer_participation.to_string()),
        "divisionId" => Some(vocab.division_ids[c.division as usize].clone()),
        _ => None,
    };
    test(p, field.as_deref(), None)
}

fn conversation_predicate(c: &Conversation, p: &Predicate) -> bool {
    if let (None, Some(metric)) = (&p.dimension, &p.metric) {
        let values = c
            .participants
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == *metric);
        let mut values = values.map(|m| m.value as f64).peekable();
        return match p.operator.unwrap_or_default() {
            Operator::Exists => values.peek().is_some(),
            Operator::NotExists => values.peek().is_none(),
            Operator::Matches => values.any(|v| p.range.is_some_and(|r| r.contains(v))),
        };
    }
    let participation = c.customer_participation.map(|b| b.to_string());
    let field = match p.dimension.as_deref().unwrap_or_default() {
        "conversationId" => Some(c.conversation_id.as_str()),
        "conversationStart" => Some(c.conversation_start.as_str()),
        "conversationEnd" => c.conversation_end.as_deref(),
        "conversationInitiator" => c.conversation_initiator.as_deref(),
        "originatingDirection" => c.originating_direction.as_deref(),
        "customerParticipation" => participation.as_deref(),
        "divisionId" => {
            return match p.operator.unwrap_or_default() {
                Operator::Exists => !c.division_ids.is_empty(),
                Operator::NotExists => c.division_ids.is_empty(),
                Operator::Matches => c.division_ids.iter().any(|d| Some(d) == p.value.as_ref()),
            };
        }
        _ => None,
    };
    test(p, field, None)
}

fn segment_predicate(part: &Participant, s: &Session, g: &Segment, p: &Predicate) -> bool {
    if p.dimension.is_none() {
        let duration = g
            .segment_end
            .as_deref()
            .and_then(|end| duration_ms(&g.segment_start, end));
        return test(p, duration.map(|_| ""), duration.map(|d| d as f64));
    }
    let routing = s.requested_routings.first().map(String::as_str);
    let field = match p.dimension.as_deref().unwrap_or_default() {
        "ani" => s.ani.as_deref(),
        "dnis" => s.dnis.as_deref(),
        "direction" => s.direction.as_deref(),
        "mediaType" => Some(s.media_type.as_str()),
        "usedRouting" => s.used_routing.as_deref(),
        "requestedRouting" => routing,
        "purpose" => Some(part.purpose.as_str()),
        "participantName" => part.participant_name.as_deref(),
        "userId" => part.user_id.as_deref(),
        "teamId" => part.team_id.as_deref(),
        "queueId" => g.queue_id.as_deref(),
        "wrapUpCode" => g.wrap_up_code.as_deref(),
        "disconnectType" => g.disconnect_type.as_deref(),
        "segmentType" => Some(g.segment_type.as_str()),
        "segmentEnd" => g.segment_end.as_deref(),
        _ => None,
    };
    test(p, field, None)
}

fn duration_ms(start: &str, end: &str) -> Option<i64> {
    let s = start.parse::<jiff::Timestamp>().ok()?;
    let e = end.parse::<jiff::Timestamp>().ok()?;
    Some(e.as_millisecond() - s.as_millisecond())
}

/// Order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Asc,
    Desc,
}

fn order(query: &ConversationQuery) -> Result<(Order, bool), QueryError> {
    let order = match query.order.as_deref() {
        None | Some("asc") | Some("unordered") => Order::Asc,
        Some("desc") => Order::Desc,
        Some(other) => {
            return Err(bad_request(format!(
                "Invalid order `{other}` (asc, desc or unordered)"
            )));
        }
    };
    let by_end = match query.order_by.as_deref() {
        None | Some("conversationStart") | Some("segmentStart") => false,
        Some("conversationEnd") | Some("segmentEnd") => true,
        Some(other) => return Err(bad_request(format!("Invalid orderBy `{other}`"))),
    };
    Ok((order, by_end))
}

/// A matching conversation remembered by position, so pages are rebuilt on demand.
#[derive(Debug, Clone, Copy)]
struct Hit {
    sort: i64,
    key: u64,
    slot: i64,
    index: u32,
}

/// Walks the slots in `slots`, keeping the conversations `keep` accepts and the filters match.
fn collect_hits(
    world: &World,
    slots: std::ops::Range<i64>,
    now: i64,
    filters: &DetailFilters<'_>,
    by_end: bool,
    keep: impl Fn(&ConvRec) -> bool,
) -> Vec<Hit> {
    let mut data = SlotData::default();
    let mut hits = Vec::new();
    for slot in slots {
        world.generator.generate(&world.model, slot, &mut data);
        for (index, c) in data.convs.iter().enumerate() {
            if c.start_ms > now || !keep(c) {
                continue;
            }
            if filters.conversation_fields_only() {
                if !filters.matches_compact(&world.vocab, c, now) {
                    continue;
                }
            } else if !filters.is_empty() {
                let record = build(&world.vocab, &data, c, now, filters.needs_metrics())
                    .expect("started conversations have a record");
                if !filters.matches(&record) {
                    continue;
                }
            }
            let sort = if by_end {
                if c.end_ms <= now { c.end_ms } else { i64::MAX }
            } else {
                c.start_ms
            };
            hits.push(Hit {
                sort,
                key: c.key,
                slot,
                index: index as u32,
            });
        }
    }
    hits
}

fn sort_hits(hits: &mut [Hit], order: Order) {
    hits.sort_unstable_by_key(|h| (h.sort, h.key));
    if order == Order::Desc {
        hits.reverse();
    }
}

fn records(world: &World, hits: &[Hit], now: i64) -> Vec<Conversation> {
    let mut data = SlotData::default();
    let mut current = None;
    hits.iter()
        .map(|h| {
            if current != Some(h.slot) {
                world.generator.generate(&world.model, h.slot, &mut data);
                current = Some(h.slot);
            }
            record(&world.vocab, &data, &data.convs[h.index as usize], now)
                .expect("hits have started")
        })
        .collect()
}

pub fn query(
    world: &World,
    query: &ConversationQuery,
    now: i64,
) -> Result<ConversationQueryResponse, QueryError> {
    let interval = checked_interval(query)?;
    let (page_size, page_number) = paging(query)?;
    let (order, by_end) = order(query)?;
    let filters = DetailFilters::new(query)?;
    let first_day = interval.start.as_millisecond().div_euclid(DAY_MS) * DAY_MS;
    let end_day = (interval.end.as_millisecond() + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS;
    let slots = slot_of(first_day)..slot_of((end_day - 1).min(now)) + 1;
    let mut hits = collect_hits(world, slots, now, &filters, by_end, |c| {
        c.start_ms >= first_day && c.start_ms < end_day
    });
    let total_hits = hits.len() as u64;
    sort_hits(&mut hits, order);
    let skip = (page_number as usize - 1) * page_size as usize;
    let page: Vec<Hit> = hits
        .iter()
        .skip(skip)
        .take(page_size as usize)
        .copied()
        .collect();
    let conversations = (!page.is_empty()).then(|| records(world, &page, now));
    Ok(ConversationQueryResponse {
        conversations,
        total_hits: Some(total_hits),
    })
}

/// The query's interval, refused over 7 days (31 with a filter): the documented limit of the
/// query, held for jobs too (see `genesys::details::limit_days`).
fn checked_interval(query: &ConversationQuery) -> Result<genesys::Interval, QueryError> {
    let interval = parse_interval(&query.interval)?;
    let max_days = genesys::details::limit_days(query.is_filtered());
    if interval.duration_ms() > max_days * DAY_MS {
        return Err(bad_request(format!(
            "You must specify a search interval as part of your query that does not exceed {max_days} days"
        )));
    }
    Ok(interval)
}

fn paging(query: &ConversationQuery) -> Result<(u32, u32), QueryError> {
    let Some(p) = query.paging else {
        return Ok((DEFAULT_PAGE_SIZE, 1));
    };
    if p.page_size == 0 || p.page_size > MAX_PAGE_SIZE {
        return Err(bad_request(format!(
            "paging.pageSize must be between 1 and {MAX_PAGE_SIZE}, got {}",
            p.page_size
        )));
    }
    if p.page_number == 0 {
        return Err(bad_request("paging.pageNumber starts at 1"));
    }
    if p.page_number as u64 * p.page_size as u64 > MAX_PAGING_DEPTH {
        return Err(bad_request("Pagination may not exceed 100000 results."));
    }
    Ok((p.page_size, p.page_number))
}

pub fn job(
    world: &World,
    query: &ConversationQuery,
    now: i64,
    available_until: i64,
) -> Result<Vec<Conversation>, QueryError> {
    let interval = checked_interval(query)?;
    let (order, by_end) = order(query)?;
    let filters = DetailFilters::new(query)?;
    let (a, b) = (
        interval.start.as_millisecond(),
        interval.end.as_millisecond(),
    );
    let horizon = now.min(available_until);
    let day_start = a.div_euclid(DAY_MS) * DAY_MS;
    let same_day_only = query.start_of_day_interval_matching == Some(true);
    let last = (b - 1).min(horizon);
    if last < a - MAX_SPAN_MS {
        return Ok(Vec::new());
    }
    let slots = slot_of(a - MAX_SPAN_MS)..slot_of(last) + 1;
    let mut hits = collect_hits(world, slots, now, &filters, by_end, |c| {
        let active_until = c.end_ms.min(now);
        c.start_ms < b
            && active_until >= a
            && c.start_ms <= available_until
            && (!same_day_only || c.start_ms >= day_start)
    });
    sort_hits(&mut hits, order);
    if let Some(limit) = query.limit {
        hits.truncate(limit as usize);
    }
    Ok(records(world, &hits, now))
}
