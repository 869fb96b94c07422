//! Names of every conversation-aggregates metric and dimension (from the SDK enums; see
//! genesys-api.md §2.5 and §2.6). No endpoint lists them, so they are compiled in.

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
}

/// Every conversation-aggregates metric, sorted.
pub const METRICS: &[&str] = &[
    "nAgentDeclined",
    "nAlertExpired",
    "nBlindTransferred",
    "nBotInteractions",
    "nCallbackAttempts",
    "nCallbackOverSla",
    "nCallbackScheduled",
    "nCfcOffered",
    "nCobrowseSessions",
    "nConnected",
    "nConsult",
    "nConsultTransferred",
    "nConversations",
    "nError",
    "nOffered",
    "nOutbound",
    "nOutboundAbandoned",
    "nOutboundAttempted",
    "nOutboundConnected",
    "nOverSla",
    "nStateTransitionError",
    "nTakeover",
    "nTransferred",
    "oAudioMessageCount",
    "oCallbackServiceLevel",
    "oExternalAudioMessageCount",
    "oExternalMediaCount",
    "oMediaCount",
    "oMessageCount",
    "oMessageSegmentCount",
    "oMessageTurn",
    "oServiceLevel",
    "oServiceTarget",
    "oSkillExpressionApplications",
    "tAbandon",
    "tAcd",
    "tActiveCallback",
    "tActiveCallbackComplete",
    "tAcw",
    "tAgentResponseTime",
    "tAgentVideoConnected",
    "tAlert",
    "tAnswered",
    "tAverageAgentResponseTime",
    "tAverageCustomerResponseTime",
    "tBarging",
    "tCallbackAbandon",
    "tCallbackConnect",
    "tCallbackNotReached",
    "tCallbackVirtualWait",
    "tCfcAbandon",
    "tCfcAcd",
    "tCfcAnswered",
    "tCfcFlowOut",
    "tCoaching",
    "tCoachingComplete",
    "tConnected",
    "tContacting",
    "tDialing",
    "tFirstConnect",
    "tFirstDial",
    "tFirstEngagement",
    "tFirstResponse",
    "tFlowOut",
    "tHandle",
    "tHeld",
    "tHeldComplete",
    "tIvr",
    "tMonitoring",
    "tMonitoringComplete",
    "tNotResponding",
    "tPark",
    "tParkComplete",
    "tScreenMonitoring",
    "tShortAbandon",
    "tSnippetRecord",
    "tTalk",
    "tTalkComplete",
    "tTransmitting",
    "tUserResponseTime",
    "tVoicemail",
    "tWait",
];

/// Every conversation-aggregates dimension (groupBy and filter), sorted.
pub const DIMENSIONS: &[&str] = &[
    "activeRouting",
    "activeSkillId",
    "addressFrom",
    "addressTo",
    "agentAssistantId",
    "agentBullseyeRing",
    "agentOwned",
    "agentRank",
    "agentScore",
    "ani",
    "assignerId",
    "authenticated",
    "canonicalExternalContactId",
    "conversationId",
    "conversationInitiator",
    "convertedFrom",
    "convertedTo",
    "customerParticipation",
    "deliveryStatus",
    "destinationAddress",
    "direction",
    "disconnectType",
    "divisionId",
    "dnis",
    "edgeId",
    "eligibleAgentCount",
    "errorCode",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalMediaCount",
    "externalOrganizationId",
    "externalTag",
    "firstQueue",
    "flaggedReason",
    "flowInType",
    "flowOutType",
    "groupId",
    "interactionType",
    "journeyActionId",
    "journeyActionMapId",
    "journeyActionMapVersion",
    "journeyCustomerId",
    "journeyCustomerIdType",
    "journeyCustomerSessionId",
    "journeyCustomerSessionIdType",
    "knowledgeBaseId",
    "mediaCount",
    "mediaType",
    "messageType",
    "originatingDirection",
    "originatingSocialMediaPublic",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "peerId",
    "proposedAgentId",
    "provider",
    "purpose",
    "queueId",
    "remote",
    "removedSkillId",
    "requestedLanguageId",
    "requestedRouting",
    "requestedRoutingSkillId",
    "roomId",
    "routingPriority",
    "routingRing",
    "routingRule",
    "routingRuleType",
    "scoredAgentId",
    "selectedAgentId",
    "selectedAgentRank",
    "selfServed",
    "sessionDnis",
    "sessionId",
    "skillExpressionId",
    "stationId",
    "teamId",
    "usedRouting",
    "userId",
    "videoPresent",
    "waitingInteractionCount",
    "wrapUpCode",
];

pub fn is_metric(name: &str) -> bool {
    METRICS.binary_search(&name).is_ok()
}

pub fn is_dimension(name: &str) -> bool {
    DIMENSIONS.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_complete_and_sorted() {
        assert_eq!(METRICS.len(), 82);
        assert_eq!(DIMENSIONS.len(), 84);
        assert!(METRICS.windows(2).all(|w| w[0] < w[1]));
        assert!(DIMENSIONS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_metric("tAnswered") && !is_metric("nAnswered"));
        assert!(is_dimension("queueId") && !is_dimension("queue"));
    }
}
