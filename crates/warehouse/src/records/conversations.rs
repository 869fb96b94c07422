//! Conversation details records as rows: the conversation, each of its participants, each of
//! their sessions and each session's segments (the drill-down tables). A participant's or a
//! session's span is its segments': from the first start to the last end, open while the
//! conversation or any of its segments is.

use genesys::details::{Conversation, Participant, Segment, Session, SessionMetric};
use jiff::Timestamp;

use super::{CONVERSATION_METRICS, RecordKind, RecordRow, Tally};
use crate::rows::Value;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("conversation {conversation}: {field} `{value}` is not an ISO-8601 instant")]
    Instant {
        conversation: String,
        field: &'static str,
        value: String,
    },
}

/// The rows of `kind` one conversation gives: one for `Conversations`, one per participant,
/// session or segment for the drill-down kinds. A participant or session without segments has
/// no span, and no row. Not for status intervals (none).
pub fn conversation_rows(
    kind: RecordKind,
    conversation: &Conversation,
) -> Result<Vec<RecordRow>, RecordError> {
    let parsed = Parsed::new(conversation)?;
    Ok(match kind {
        RecordKind::Conversations => vec![conversation_row(&parsed)],
        RecordKind::Participants => (conversation.participants.iter())
            .filter_map(|p| participant_row(&parsed, p).transpose())
            .collect::<Result<_, _>>()?,
        RecordKind::Sessions => (conversation.participants.iter())
            .flat_map(|p| p.sessions.iter().map(move |s| (p, s)))
            .filter_map(|(p, s)| session_row(&parsed, p, s).transpose())
            .collect::<Result<_, _>>()?,
        RecordKind::Segments => (conversation.participants.iter())
            .flat_map(|p| p.sessions.iter().map(move |s| (p, s)))
            .flat_map(|(p, s)| s.segments.iter().map(move |g| (p, s, g)))
            .map(|(p, s, g)| parsed.segment_row(p, s, g))
            .collect::<Result<_, _>>()?,
        RecordKind::StatusIntervals => Vec::new(),
    })
}

/// A conversation with its own instants read.
struct Parsed<'c> {
    conversation: &'c Conversation,
    start: Timestamp,
    end: Option<Timestamp>,
}

impl<'c> Parsed<'c> {
    fn new(conversation: &'c Conversation) -> Result<Self, RecordError> {
        let start = instant(
            conversation,
            "conversationStart",
            &conversation.conversation_start,
        )?;
        let end = (conversation.conversation_end.as_deref())
            .map(|end| instant(conversation, "conversationEnd", end))
            .transpose()?;
        Ok(Self {
            conversation,
            start,
            end,
        })
    }

    fn id(&self) -> Option<String> {
        Some(self.conversation.conversation_id.clone())
    }

    fn segment_row(
        &self,
        participant: &Participant,
        session: &Session,
        segment: &Segment,
    ) -> Result<RecordRow, RecordError> {
        let start = instant(self.conversation, "segmentStart", &segment.segment_start)?;
        let end = (segment.segment_end.as_deref())
            .map(|end| instant(self.conversation, "segmentEnd", end))
            .transpose()?;
        let duration = end.map(|end| Value::Int(end.as_millisecond() - start.as_millisecond()));
        Ok(RecordRow {
            start,
            end,
            fields: vec![
                self.id(),
                Some(participant.participant_id.clone()),
                Some(session.session_id.clone()),
                Some(participant.purpose.clone()),
                participant.user_id.clone(),
                Some(session.media_type.clone()),
                Some(segment.segment_type.clone()),
                segment.queue_id.clone(),
                segment.wrap_up_code.clone(),
                segment.disconnect_type.clone(),
            ],
            values: vec![
                duration,
                segment.conference.map(|c| Value::Int(i64::from(c))),
            ],
        })
    }

    /// The span of `segments`: the first start, and the last end once the conversation and
    /// every segment ended; `None` without segments. An unreadable instant is an error naming
    /// it, as a segment row's is.
    fn span<'s>(
        &self,
        segments: impl Iterator<Item = &'s Segment>,
    ) -> Result<Option<(Timestamp, Option<Timestamp>)>, RecordError> {
        let (mut first, mut last, mut open) = (None::<Timestamp>, None::<Timestamp>, false);
        for segment in segments {
            let start = instant(self.conversation, "segmentStart", &segment.segment_start)?;
            first = Some(first.map_or(start, |f| f.min(start)));
            match segment.segment_end.as_deref() {
                None => open = true,
                Some(end) => {
                    let end = instant(self.conversation, "segmentEnd", end)?;
                    last = Some(last.map_or(end, |l| l.max(end)));
                }
            }
        }
        let still_open = open || self.end.is_none();
        Ok(first.map(|first| (first, if still_open { None } else { last })))
    }
}

fn instant(
    conversation: &Conversation,
    field: &'static str,
    value: &str,
) -> Result<Timestamp, RecordError> {
    value.parse().map_err(|_| RecordError::Instant {
        conversation: conversation.conversation_id.clone(),
        field,
        value: value.to_string(),
    })
}

/// The measures of `CONVERSATION_METRICS` over these emissions.
fn tallies<'m>(metrics: impl Iterator<Item = &'m SessionMetric> + Clone) -> Vec<Option<Value>> {
    CONVERSATION_METRICS
        .iter()
        .map(|(_, metric, tally)| {
            let emissions = metrics.clone().filter(|m| m.name == *metric);
            let (count, sum) =
                emissions.fold((0i64, 0i64), |(n, total), m| (n + 1, total + m.value));
            match tally {
                Tally::Count => Some(Value::Int(count)),
                Tally::Total => Some(Value::Int(sum)),
                // A duration no session emitted is absent, as Genesys leaves it (not zero), so
                // an average over the column is over the records that had it.
                Tally::Sum => (count > 0).then_some(Value::Int(sum)),
            }
        })
        .collect()
}

fn conversation_row(parsed: &Parsed<'_>) -> RecordRow {
    let conversation = parsed.conversation;
    let sessions =
        || (conversation.participants.iter()).flat_map(|p| p.sessions.iter().map(move |s| (p, s)));
    let media_type = sessions().next().map(|(_, s)| s.media_type.clone());
    // Segments carry their start as text in one format (`…T…Z`, milliseconds): the earliest
    // text is the earliest instant.
    let first_queue = sessions()
        .flat_map(|(_, s)| s.segments.iter())
        .filter(|g| g.queue_id.is_some())
        .min_by(|a, b| a.segment_start.cmp(&b.segment_start))
        .and_then(|g| g.queue_id.clone());
    let agent_segments = || {
        sessions()
            .filter(|(p, _)| p.purpose == "agent")
            .flat_map(|(p, s)| s.segments.iter().map(move |g| (p, g)))
    };
    let last_agent = agent_segments()
        .filter(|(p, _)| p.user_id.is_some())
        .max_by(|a, b| a.1.segment_start.cmp(&b.1.segment_start))
        .and_then(|(p, _)| p.user_id.clone());
    let wrap_up_code = agent_segments()
        .filter(|(_, g)| g.wrap_up_code.is_some())
        .max_by(|a, b| a.1.segment_start.cmp(&b.1.segment_start))
        .and_then(|(_, g)| g.wrap_up_code.clone());
    let mut division_ids = conversation.division_ids.clone();
    division_ids.sort();
    let ivr_flow = sessions()
        .filter(|(p, _)| p.purpose == "ivr")
        .find_map(|(_, s)| s.flow.as_ref());
    let mut values = tallies(sessions().flat_map(|(_, s)| s.metrics.iter()));
    values.extend([
        conversation
            .media_stats_min_conversation_mos
            .map(Value::Real),
        conversation
            .media_stats_min_conversation_r_factor
            .map(Value::Real),
    ]);
    RecordRow {
        start: parsed.start,
        end: parsed.end,
        fields: vec![
            parsed.id(),
            conversation.originating_direction.clone(),
            media_type,
            first_queue,
            last_agent,
            wrap_up_code,
            (!division_ids.is_empty()).then(|| division_ids.join(",")),
            ivr_flow.and_then(|f| f.flow_name.clone()),
            ivr_flow.and_then(|f| f.exit_reason.clone()),
        ],
        values,
    }
}

fn participant_row(
    parsed: &Parsed<'_>,
    participant: &Participant,
) -> Result<Option<RecordRow>, RecordError> {
    let segments = participant.sessions.iter().flat_map(|s| s.segments.iter());
    let Some((start, end)) = parsed.span(segments)? else {
        return Ok(None);
    };
    Ok(Some(RecordRow {
        start,
        end,
        fields: vec![
            parsed.id(),
            Some(participant.participant_id.clone()),
            Some(participant.purpose.clone()),
            participant.user_id.clone(),
            participant.participant_name.clone(),
            participant.team_id.clone(),
        ],
        values: tallies(participant.sessions.iter().flat_map(|s| s.metrics.iter())),
    }))
}

fn session_row(
    parsed: &Parsed<'_>,
    participant: &Participant,
    session: &Session,
) -> Result<Option<RecordRow>, RecordError> {
    let Some((start, end)) = parsed.span(session.segments.iter())? else {
        return Ok(None);
    };
    let flow = session.flow.as_ref();
    let lowest = |stat: fn(&genesys::details::MediaEndpointStat) -> Option<f64>| {
        (session.media_endpoint_stats.iter())
            .filter_map(stat)
            .reduce(f64::min)
            .map(Value::Real)
    };
    let mut values = tallies(session.metrics.iter());
    values.extend([lowest(|s| s.min_mos), lowest(|s| s.min_r_factor)]);
    Ok(Some(RecordRow {
        start,
        end,
        fields: vec![
            parsed.id(),
            Some(participant.participant_id.clone()),
            Some(session.session_id.clone()),
            Some(participant.purpose.clone()),
            participant.user_id.clone(),
            Some(session.media_type.clone()),
            session.direction.clone(),
            session.ani.clone(),
            session.dnis.clone(),
            flow.and_then(|f| f.flow_name.clone()),
            flow.and_then(|f| f.flow_type.clone()),
            flow.and_then(|f| f.exit_reason.clone()),
        ],
        values,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A participant's or session's span is read from its segments: a segment instant that
    /// can't be read fails the conversation, naming it, instead of dropping the row.
    #[test]
    fn an_unreadable_segment_instant_is_an_error_for_every_kind() {
        let segment = Segment {
            segment_start: "yesterday".into(),
            segment_type: "interact".into(),
            ..Segment::default()
        };
        let conversation = Conversation {
            conversation_id: "c1".into(),
            conversation_start: "2024-05-01T08:00:00.000Z".into(),
            participants: vec![Participant {
                participant_id: "p1".into(),
                purpose: "agent".into(),
                sessions: vec![Session {
                    session_id: "s1".into(),
                    media_type: "voice".into(),
                    segments: vec![segment],
                    ..Session::default()
                }],
                ..Participant::default()
            }],
            ..Conversation::default()
        };
        for kind in [
            RecordKind::Participants,
            RecordKind::Sessions,
            RecordKind::Segments,
        ] {
            let error = conversation_rows(kind, &conversation)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("segmentStart `yesterday`"),
                "{kind:?}: {error}"
            );
        }
    }
}
