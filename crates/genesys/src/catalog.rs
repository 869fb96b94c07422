//! The catalog of every conversation-aggregates metric and dimension, compiled in from the SDK
//! enums (genesys-api.md §2.5, §2.6): no endpoint lists them. Queries are validated here before
//! any request, with "did you mean" suggestions.

/// What a metric counts, told by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `n*`: a count; stats `{count}`.
    Count,
    /// `t*`: a duration in milliseconds; stats `{max, min, count, sum}`.
    Duration,
    /// `o*`: an observation or ratio; stats depend on the metric.
    Observation,
}

impl MetricKind {
    pub fn of(metric: &str) -> Option<MetricKind> {
        match metric.as_bytes().first() {
            Some(b'n') => Some(MetricKind::Count),
            Some(b't') => Some(MetricKind::Duration),
            Some(b'o') => Some(MetricKind::Observation),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Count => "count",
            MetricKind::Duration => "duration",
            MetricKind::Observation => "observation",
        }
    }
}

impl std::str::FromStr for MetricKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "count" => Ok(MetricKind::Count),
            "duration" => Ok(MetricKind::Duration),
            "observation" => Ok(MetricKind::Observation),
            other => Err(format!(
                "unknown metric kind `{other}` (expected count, duration or observation)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Count,
    Milliseconds,
    /// numerator / denominator
    Ratio,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Milliseconds => "ms",
            Unit::Ratio => "ratio",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub meaning: &'static str,
}

impl Metric {
    pub fn kind(&self) -> MetricKind {
        MetricKind::of(self.name).expect("catalog names start with n, t or o")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    pub name: &'static str,
    pub meaning: &'static str,
    /// Allowed in `groupBy` (every dimension may be filtered on).
    pub groupable: bool,
}

const fn metric(name: &'static str, unit: Unit, meaning: &'static str) -> Metric {
    Metric {
        name,
        unit,
        meaning,
    }
}

const fn dimension(name: &'static str, meaning: &'static str) -> Dimension {
    Dimension {
        name,
        meaning,
        groupable: true,
    }
}

/// Every conversation-aggregates metric, sorted by name.
pub const METRIC_CATALOG: &[Metric] = &[
    metric("nAgentDeclined", Unit::Count, "Alerts an agent declined"),
    metric(
        "nAlertExpired",
        Unit::Count,
        "Alerts that timed out without an answer",
    ),
    metric(
        "nBlindTransferred",
        Unit::Count,
        "Interactions blind-transferred by an agent",
    ),
    metric(
        "nBotInteractions",
        Unit::Count,
        "Interactions handled by a bot",
    ),
    metric("nCallbackAttempts", Unit::Count, "Callback dial attempts"),
    metric(
        "nCallbackOverSla",
        Unit::Count,
        "Callbacks not completed within their service level",
    ),
    metric("nCallbackScheduled", Unit::Count, "Callbacks scheduled"),
    metric(
        "nCfcOffered",
        Unit::Count,
        "Interactions offered to a callback-from-customer queue",
    ),
    metric(
        "nCobrowseSessions",
        Unit::Count,
        "Co-browse sessions started",
    ),
    metric(
        "nConnected",
        Unit::Count,
        "Interactions connected to an agent or flow",
    ),
    metric("nConsult", Unit::Count, "Consultations started"),
    metric(
        "nConsultTransferred",
        Unit::Count,
        "Interactions transferred after a consult",
    ),
    metric("nConversations", Unit::Count, "Conversations started"),
    metric("nError", Unit::Count, "Interactions that ended in an error"),
    metric("nOffered", Unit::Count, "Interactions offered to a queue"),
    metric("nOutbound", Unit::Count, "Outbound interactions placed"),
    metric(
        "nOutboundAbandoned",
        Unit::Count,
        "Outbound calls abandoned by the system",
    ),
    metric("nOutboundAttempted", Unit::Count, "Outbound dial attempts"),
    metric(
        "nOutboundConnected",
        Unit::Count,
        "Outbound attempts that connected",
    ),
    metric(
        "nOverSla",
        Unit::Count,
        "Interactions answered or abandoned after the service-level threshold",
    ),
    metric(
        "nStateTransitionError",
        Unit::Count,
        "Failed routing state transitions",
    ),
    metric(
        "nTakeover",
        Unit::Count,
        "Interactions taken over from a bot or another agent",
    ),
    metric("nTransferred", Unit::Count, "Interactions transferred"),
    metric(
        "oAudioMessageCount",
        Unit::Count,
        "Audio messages exchanged",
    ),
    metric(
        "oCallbackServiceLevel",
        Unit::Ratio,
        "Callback service level (numerator/denominator)",
    ),
    metric(
        "oExternalAudioMessageCount",
        Unit::Count,
        "Audio messages sent by the external party",
    ),
    metric(
        "oExternalMediaCount",
        Unit::Count,
        "Media attachments sent by the external party",
    ),
    metric("oMediaCount", Unit::Count, "Media attachments exchanged"),
    metric("oMessageCount", Unit::Count, "Messages exchanged"),
    metric(
        "oMessageSegmentCount",
        Unit::Count,
        "SMS segments exchanged",
    ),
    metric(
        "oMessageTurn",
        Unit::Count,
        "Message turns between customer and agent",
    ),
    metric(
        "oServiceLevel",
        Unit::Ratio,
        "Service level: answered within threshold over offered (numerator/denominator)",
    ),
    metric(
        "oServiceTarget",
        Unit::Ratio,
        "The queue's service-level target",
    ),
    metric(
        "oSkillExpressionApplications",
        Unit::Count,
        "Skill expressions applied while routing",
    ),
    metric(
        "tAbandon",
        Unit::Milliseconds,
        "Time waited before abandoning the queue",
    ),
    metric("tAcd", Unit::Milliseconds, "Time spent in the queue (ACD)"),
    metric(
        "tActiveCallback",
        Unit::Milliseconds,
        "Time an agent spent on an active callback",
    ),
    metric(
        "tActiveCallbackComplete",
        Unit::Milliseconds,
        "Active callback time, emitted when the callback completes",
    ),
    metric("tAcw", Unit::Milliseconds, "After-call work time"),
    metric(
        "tAgentResponseTime",
        Unit::Milliseconds,
        "Agent response time in messaging",
    ),
    metric(
        "tAgentVideoConnected",
        Unit::Milliseconds,
        "Time the agent's video was connected",
    ),
    metric(
        "tAlert",
        Unit::Milliseconds,
        "Time an interaction alerted an agent",
    ),
    metric(
        "tAnswered",
        Unit::Milliseconds,
        "Time waited in queue before an answer (count = answered)",
    ),
    metric(
        "tAverageAgentResponseTime",
        Unit::Milliseconds,
        "Average agent response time in messaging",
    ),
    metric(
        "tAverageCustomerResponseTime",
        Unit::Milliseconds,
        "Average customer response time in messaging",
    ),
    metric(
        "tBarging",
        Unit::Milliseconds,
        "Time a supervisor barged in",
    ),
    metric(
        "tCallbackAbandon",
        Unit::Milliseconds,
        "Time before a callback was abandoned",
    ),
    metric(
        "tCallbackConnect",
        Unit::Milliseconds,
        "Time to connect a callback",
    ),
    metric(
        "tCallbackNotReached",
        Unit::Milliseconds,
        "Time spent on callbacks that did not reach the customer",
    ),
    metric(
        "tCallbackVirtualWait",
        Unit::Milliseconds,
        "Virtual wait time of callbacks",
    ),
    metric(
        "tCfcAbandon",
        Unit::Milliseconds,
        "Time before abandoning a callback-from-customer queue",
    ),
    metric(
        "tCfcAcd",
        Unit::Milliseconds,
        "Time in a callback-from-customer queue",
    ),
    metric(
        "tCfcAnswered",
        Unit::Milliseconds,
        "Time before answer in a callback-from-customer queue",
    ),
    metric(
        "tCfcFlowOut",
        Unit::Milliseconds,
        "Time before flowing out of a callback-from-customer queue",
    ),
    metric("tCoaching", Unit::Milliseconds, "Time a supervisor coached"),
    metric(
        "tCoachingComplete",
        Unit::Milliseconds,
        "Coaching time, emitted when coaching completes",
    ),
    metric("tConnected", Unit::Milliseconds, "Time connected"),
    metric(
        "tContacting",
        Unit::Milliseconds,
        "Time spent contacting (outbound)",
    ),
    metric(
        "tDialing",
        Unit::Milliseconds,
        "Time spent dialing (outbound)",
    ),
    metric(
        "tFirstConnect",
        Unit::Milliseconds,
        "Time to the first connection",
    ),
    metric("tFirstDial", Unit::Milliseconds, "Time to the first dial"),
    metric(
        "tFirstEngagement",
        Unit::Milliseconds,
        "Time to the first agent engagement",
    ),
    metric(
        "tFirstResponse",
        Unit::Milliseconds,
        "Time to the first agent response",
    ),
    metric(
        "tFlowOut",
        Unit::Milliseconds,
        "Time in queue before flowing out",
    ),
    metric(
        "tHandle",
        Unit::Milliseconds,
        "Handle time: talk + hold + after-call work",
    ),
    metric("tHeld", Unit::Milliseconds, "Time on hold"),
    metric(
        "tHeldComplete",
        Unit::Milliseconds,
        "Hold time, emitted when the interaction completes",
    ),
    metric("tIvr", Unit::Milliseconds, "Time spent in the IVR"),
    metric(
        "tMonitoring",
        Unit::Milliseconds,
        "Time a supervisor monitored",
    ),
    metric(
        "tMonitoringComplete",
        Unit::Milliseconds,
        "Monitoring time, emitted when monitoring completes",
    ),
    metric(
        "tNotResponding",
        Unit::Milliseconds,
        "Time an alert went unanswered",
    ),
    metric("tPark", Unit::Milliseconds, "Time parked"),
    metric(
        "tParkComplete",
        Unit::Milliseconds,
        "Park time, emitted when the interaction completes",
    ),
    metric(
        "tScreenMonitoring",
        Unit::Milliseconds,
        "Time a supervisor monitored the screen",
    ),
    metric(
        "tShortAbandon",
        Unit::Milliseconds,
        "Time before an abandon within the short-abandon threshold",
    ),
    metric(
        "tSnippetRecord",
        Unit::Milliseconds,
        "Time recording snippets",
    ),
    metric("tTalk", Unit::Milliseconds, "Talk time"),
    metric(
        "tTalkComplete",
        Unit::Milliseconds,
        "Talk time, emitted when the interaction completes",
    ),
    metric(
        "tTransmitting",
        Unit::Milliseconds,
        "Time transmitting (fax, email)",
    ),
    metric(
        "tUserResponseTime",
        Unit::Milliseconds,
        "User response time",
    ),
    metric("tVoicemail", Unit::Milliseconds, "Time in voicemail"),
    metric(
        "tWait",
        Unit::Milliseconds,
        "Time waited in queue, answered or abandoned",
    ),
];

/// Every conversation-aggregates dimension, sorted by name.
pub const DIMENSION_CATALOG: &[Dimension] = &[
    dimension(
        "activeRouting",
        "Routing method active when the interaction was routed",
    ),
    dimension("activeSkillId", "Skill active while routing"),
    dimension("addressFrom", "Address the interaction came from"),
    dimension("addressTo", "Address the interaction went to"),
    dimension("agentAssistantId", "Agent assistant used"),
    dimension("agentBullseyeRing", "Bullseye ring the agent was in"),
    dimension("agentOwned", "Whether the interaction was agent-owned"),
    dimension("agentRank", "Agent rank in predictive routing"),
    dimension("agentScore", "Agent score in predictive routing"),
    dimension("ani", "Caller number (ANI)"),
    dimension("assignerId", "Who assigned the interaction"),
    dimension("authenticated", "Whether the customer was authenticated"),
    Dimension {
        name: "canonicalExternalContactId",
        meaning: "Canonical external contact",
        groupable: false,
    },
    dimension("conversationId", "Conversation"),
    dimension("conversationInitiator", "Who started the conversation"),
    dimension("convertedFrom", "Media type converted from"),
    dimension("convertedTo", "Media type converted to"),
    dimension("customerParticipation", "Whether a customer took part"),
    dimension("deliveryStatus", "Message delivery status"),
    dimension("destinationAddress", "Destination address"),
    dimension("direction", "Session direction (inbound, outbound)"),
    dimension("disconnectType", "How the session disconnected"),
    dimension("divisionId", "Division"),
    dimension("dnis", "Dialled number (DNIS)"),
    dimension("edgeId", "Edge that handled the call"),
    dimension("eligibleAgentCount", "Agents eligible when routed"),
    dimension("errorCode", "Error code"),
    dimension("extendedDeliveryStatus", "Extended message delivery status"),
    dimension("externalContactId", "External contact"),
    dimension(
        "externalMediaCount",
        "Media attachments from the external party",
    ),
    dimension("externalOrganizationId", "External organization"),
    dimension("externalTag", "External tag"),
    dimension(
        "firstQueue",
        "Whether this was the conversation's first queue",
    ),
    dimension("flaggedReason", "Why the interaction was flagged"),
    dimension("flowInType", "Flow type the interaction came in through"),
    dimension("flowOutType", "Flow type the interaction left to"),
    dimension("groupId", "Group"),
    dimension("interactionType", "Interaction type"),
    dimension("journeyActionId", "Journey action"),
    dimension("journeyActionMapId", "Journey action map"),
    dimension("journeyActionMapVersion", "Journey action map version"),
    dimension("journeyCustomerId", "Journey customer"),
    dimension("journeyCustomerIdType", "Journey customer id type"),
    dimension("journeyCustomerSessionId", "Journey customer session"),
    dimension(
        "journeyCustomerSessionIdType",
        "Journey customer session id type",
    ),
    dimension("knowledgeBaseId", "Knowledge base"),
    dimension("mediaCount", "Media attachments"),
    dimension(
        "mediaType",
        "Media type (voice, callback, chat, email, message, ...)",
    ),
    dimension("messageType", "Message channel type"),
    dimension(
        "originatingDirection",
        "Direction of the conversation's first session",
    ),
    dimension(
        "originatingSocialMediaPublic",
        "Whether it originated from public social media",
    ),
    dimension("outboundCampaignId", "Outbound campaign"),
    dimension("outboundContactId", "Outbound contact"),
    dimension("outboundContactListId", "Outbound contact list"),
    dimension("participantName", "Participant name"),
    dimension("peerId", "Peer session"),
    dimension("proposedAgentId", "Agent proposed by routing"),
    dimension("provider", "Provider"),
    dimension(
        "purpose",
        "Participant purpose (customer, acd, agent, ivr, ...)",
    ),
    dimension("queueId", "Queue"),
    dimension("remote", "Remote party"),
    dimension("removedSkillId", "Skill removed while routing"),
    dimension("requestedLanguageId", "Requested language"),
    dimension("requestedRouting", "Requested routing method"),
    dimension("requestedRoutingSkillId", "Requested routing skill"),
    dimension("roomId", "Chat room"),
    dimension("routingPriority", "Routing priority"),
    dimension("routingRing", "Routing ring"),
    dimension("routingRule", "Routing rule"),
    dimension("routingRuleType", "Routing rule type"),
    dimension("scoredAgentId", "Agent scored by predictive routing"),
    dimension("selectedAgentId", "Agent selected by routing"),
    dimension("selectedAgentRank", "Rank of the selected agent"),
    dimension("selfServed", "Whether the conversation was self-served"),
    dimension("sessionDnis", "Session DNIS"),
    dimension("sessionId", "Session"),
    dimension("skillExpressionId", "Skill expression"),
    dimension("stationId", "Station"),
    dimension("teamId", "Team"),
    dimension("usedRouting", "Routing method used"),
    dimension("userId", "User (agent)"),
    dimension("videoPresent", "Whether video was present"),
    dimension(
        "waitingInteractionCount",
        "Interactions waiting when routed",
    ),
    dimension("wrapUpCode", "Wrap-up code"),
];

/// Every conversation-aggregates metric name, sorted: the catalog's own names, so the two
/// lists can never disagree.
pub const METRICS: &[&str] = &metric_names::<{ METRIC_CATALOG.len() }>();

/// Every conversation-aggregates dimension name, sorted (the catalog's own).
pub const DIMENSIONS: &[&str] = &dimension_names::<{ DIMENSION_CATALOG.len() }>();

// Two functions, not one generic one: a const fn cannot call a closure to pick the name.
const fn metric_names<const N: usize>() -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = METRIC_CATALOG[i].name;
        i += 1;
    }
    names
}

const fn dimension_names<const N: usize>() -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = DIMENSION_CATALOG[i].name;
        i += 1;
    }
    names
}

/// The queue figures most contact centres read: offered, answered, abandoned, wait, talk, hold,
/// after-call work, handle, transfers and service level.
pub const QUEUE_PERFORMANCE_METRICS: [&str; 12] = [
    "nOffered",
    "nConnected",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tWait",
    "tTalk",
    "tHeld",
    "tAcw",
    "tHandle",
    "nTransferred",
    "oServiceLevel",
];

pub fn metric_info(name: &str) -> Option<&'static Metric> {
    METRIC_CATALOG
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METRIC_CATALOG[i])
}

pub fn dimension_info(name: &str) -> Option<&'static Dimension> {
    DIMENSION_CATALOG
        .binary_search_by(|d| d.name.cmp(name))
        .ok()
        .map(|i| &DIMENSION_CATALOG[i])
}

pub fn is_metric(name: &str) -> bool {
    metric_info(name).is_some()
}

pub fn is_dimension(name: &str) -> bool {
    dimension_info(name).is_some()
}

/// The closest known names to a misspelt one: those at the smallest edit distance (at most three).
pub fn suggest<'a>(unknown: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let needle = unknown.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .map(|k| (edit_distance(&needle, &k.to_ascii_lowercase()), k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .collect();
    scored.sort();
    let best = scored.first().map(|(d, _)| *d).unwrap_or_default();
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(3)
        .map(|(_, k)| k)
        .collect()
}

pub fn suggest_metric(unknown: &str) -> Vec<&'static str> {
    suggest(unknown, METRICS.iter().copied())
}

pub fn suggest_dimension(unknown: &str) -> Vec<&'static str> {
    suggest(unknown, DIMENSIONS.iter().copied())
}

/// Levenshtein distance; names are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_complete_and_sorted() {
        assert_eq!(METRIC_CATALOG.len(), 82);
        assert_eq!(DIMENSION_CATALOG.len(), 84);
        assert!(METRIC_CATALOG.windows(2).all(|w| w[0].name < w[1].name));
        assert!(DIMENSION_CATALOG.windows(2).all(|w| w[0].name < w[1].name));
        let names: Vec<_> = METRIC_CATALOG.iter().map(|m| m.name).collect();
        assert_eq!(names, METRICS);
        let names: Vec<_> = DIMENSION_CATALOG.iter().map(|d| d.name).collect();
        assert_eq!(names, DIMENSIONS);
        assert!(is_metric("tAnswered") && !is_metric("nAnswered"));
        assert!(is_dimension("queueId") && !is_dimension("queue"));
        assert_eq!(DIMENSION_CATALOG.iter().filter(|d| d.groupable).count(), 83);
    }

    #[test]
    fn units_follow_prefixes() {
        for m in METRIC_CATALOG {
            match m.kind() {
                MetricKind::Count => assert_eq!(m.unit, Unit::Count, "{}", m.name),
                MetricKind::Duration => assert_eq!(m.unit, Unit::Milliseconds, "{}", m.name),
                MetricKind::Observation => assert_ne!(m.unit, Unit::Milliseconds, "{}", m.name),
            }
            assert!(!m.meaning.is_empty());
        }
    }

    #[test]
    fn suggestions_find_near_misses() {
        assert_eq!(suggest_metric("nAnswered").first(), Some(&"tAnswered"));
        assert_eq!(suggest_metric("toffered"), vec!["nOffered"]);
        assert_eq!(suggest_dimension("queueid").first(), Some(&"queueId"));
        assert_eq!(suggest_dimension("wrapupcode").first(), Some(&"wrapUpCode"));
        assert!(suggest_metric("completely-unrelated").is_empty());
    }
}
