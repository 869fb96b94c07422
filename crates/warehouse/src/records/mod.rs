//! Record datasets: one row per Genesys record (a user's status interval, a conversation), not
//! per bucket. Their tables keep the aggregates tables' shape so every read, export, OData
//! feed and lake file serves them the same way: `interval_start` is the record's start,
//! `interval_end` its end (null while the record is still open), then text columns (its ids
//! and attributes, filterable like dimensions) and number columns (its measures). The columns
//! are fixed by the record's kind, not configured.
//!
//! A window of a record dataset holds the records that start in it: the window's write
//! replaces exactly those, so a record pulled again (still open, or corrected by Genesys) is
//! replaced, never kept twice, and one that vanished from Genesys vanishes from the store.

mod conversations;
pub(crate) mod status_copies;

use genesys::users_details::intervals::{Status, StatusInterval};
use jiff::Timestamp;

use crate::rows::Value;
use crate::schema::{DatasetKind, MetricColumn, StatField};

pub use conversations::{RecordError, conversation_rows};

/// The kinds of record a dataset can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// Users details: one row per presence or routing status interval of a user.
    StatusIntervals,
    /// Conversation details: one row per conversation.
    Conversations,
    /// Conversation details: one row per participant of a conversation.
    Participants,
    /// Conversation details: one row per session of a participant.
    Sessions,
    /// Conversation details: one row per segment of a session.
    Segments,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        RecordKind::StatusIntervals,
        RecordKind::Conversations,
        RecordKind::Participants,
        RecordKind::Sessions,
        RecordKind::Segments,
    ];
}

/// One number column of a record table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub column: &'static str,
    pub meaning: &'static str,
    /// A real (call quality), not an integer (counts and milliseconds).
    pub real: bool,
}

const STATUS_FIELDS: &[&str] = &[
    "userId",
    "statusKind",
    "systemPresence",
    "organizationPresenceId",
    "routingStatus",
];

const STATUS_MEASURES: &[Measure] = &[Measure {
    column: "duration_ms",
    meaning: "How long the status lasted, in ms (end - start); null while it is still in force",
    real: false,
}];

const PARTICIPANT_FIELDS: &[&str] = &[
    "conversationId",
    "participantId",
    "purpose",
    "userId",
    "participantName",
    "teamId",
];

const SESSION_FIELDS: &[&str] = &[
    "conversationId",
    "participantId",
    "sessionId",
    "purpose",
    "userId",
    "mediaType",
    "direction",
    "ani",
    "dnis",
    "flowName",
    "flowType",
    "exitReason",
];

const SEGMENT_FIELDS: &[&str] = &[
    "conversationId",
    "participantId",
    "sessionId",
    "purpose",
    "userId",
    "mediaType",
    "segmentType",
    "queueId",
    "wrapUpCode",
    "disconnectType",
];

const SEGMENT_MEASURES: &[Measure] = &[
    Measure {
        column: "duration_ms",
        meaning: "How long the segment lasted, in ms (end - start); null while it is open",
        real: false,
    },
    Measure {
        column: "conference",
        meaning: "1 if the segment was part of a conference, 0 if not",
        real: false,
    },
];

const CONVERSATION_FIELDS: &[&str] = &[
    "conversationId",
    "originatingDirection",
    "mediaType",
    "queueId",
    "userId",
    "wrapUpCode",
    "divisionIds",
    "ivrFlowName",
    "ivrExitReason",
];

/// A conversation's measures: each the count or the sum of one session metric over all its
/// sessions, as the conversation aggregates count them (aggregates bucket the same emissions
/// by their emit date).
const CONVERSATION_METRICS: &[(Measure, &str, Tally)] = &[
    (
        measure("offered", "Times it was offered to a queue (nOffered)"),
        "nOffered",
        Tally::Count,
    ),
    (
        measure("answered", "Times an agent answered it (tAnswered count)"),
        "tAnswered",
        Tally::Count,
    ),
    (
        measure(
            "abandoned",
            "Times it was abandoned in queue (tAbandon count)",
        ),
        "tAbandon",
        Tally::Count,
    ),
    (
        measure("transferred", "Times it was transferred (nTransferred)"),
        "nTransferred",
        Tally::Total,
    ),
    (
        measure(
            "answer_ms",
            "Time in queue before an answer (tAnswered sum), ms",
        ),
        "tAnswered",
        Tally::Sum,
    ),
    (
        measure("wait_ms", "Time waiting in queue (tWait sum), ms"),
        "tWait",
        Tally::Sum,
    ),
    (
        measure(
            "abandon_ms",
            "Time in queue before abandoning (tAbandon sum), ms",
        ),
        "tAbandon",
        Tally::Sum,
    ),
    (
        measure("talk_ms", "Agent talk time (tTalk sum), ms"),
        "tTalk",
        Tally::Sum,
    ),
    (
        measure("hold_ms", "Time on hold (tHeld sum), ms"),
        "tHeld",
        Tally::Sum,
    ),
    (
        measure("acw_ms", "After-call work (tAcw sum), ms"),
        "tAcw",
        Tally::Sum,
    ),
    (
        measure(
            "handle_ms",
            "Handle time: talk + hold + ACW (tHandle sum), ms",
        ),
        "tHandle",
        Tally::Sum,
    ),
];

const fn measure(column: &'static str, meaning: &'static str) -> Measure {
    Measure {
        column,
        meaning,
        real: false,
    }
}

/// A conversation's (or session's) call quality, the lowest any of its voice endpoints measured.
pub(crate) const QUALITY_MEASURES: &[Measure] = &[
    Measure {
        column: "min_mos",
        meaning: "The lowest MOS measured on its voice endpoints (1 to 5; mediaStatsMinConversationMos)",
        real: true,
    },
    Measure {
        column: "min_r_factor",
        meaning: "The lowest R-factor measured on its voice endpoints (0 to 100)",
        real: true,
    },
];

/// How a conversation measure is made of its session metric's emissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    /// How many there were (0 if none).
    Count,
    /// Their values added up (0 if none): for a count metric (`n*`).
    Total,
    /// Their values added up; absent if none (a duration the conversation never had).
    Sum,
}

impl RecordKind {
    /// The record kind a dataset of `kind` holds, if it holds records.
    pub fn of(kind: DatasetKind) -> Option<Self> {
        match kind {
            DatasetKind::UsersDetails => Some(RecordKind::StatusIntervals),
            DatasetKind::ConversationDetails => Some(RecordKind::Conversations),
            DatasetKind::ConversationParticipants => Some(RecordKind::Participants),
            DatasetKind::ConversationSessions => Some(RecordKind::Sessions),
            DatasetKind::ConversationSegments => Some(RecordKind::Segments),
            _ => None,
        }
    }

    /// What its rows are, for people.
    pub fn plural(self) -> &'static str {
        match self {
            RecordKind::StatusIntervals => "status intervals",
            RecordKind::Conversations => "conversations",
            RecordKind::Participants => "conversation participants",
            RecordKind::Sessions => "conversation sessions",
            RecordKind::Segments => "conversation segments",
        }
    }

    /// The record's text fields (Genesys names; their columns are the snake-case forms).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            RecordKind::StatusIntervals => STATUS_FIELDS,
            RecordKind::Conversations => CONVERSATION_FIELDS,
            RecordKind::Participants => PARTICIPANT_FIELDS,
            RecordKind::Sessions => SESSION_FIELDS,
            RecordKind::Segments => SEGMENT_FIELDS,
        }
    }

    /// The record's number columns, in table order.
    pub fn measures(self) -> Vec<Measure> {
        match self {
            RecordKind::StatusIntervals => STATUS_MEASURES.to_vec(),
            RecordKind::Participants => CONVERSATION_METRICS.iter().map(|(m, _, _)| *m).collect(),
            RecordKind::Conversations | RecordKind::Sessions => (CONVERSATION_METRICS.iter())
                .map(|(m, _, _)| *m)
                .chain(QUALITY_MEASURES.iter().copied())
                .collect(),
            RecordKind::Segments => SEGMENT_MEASURES.to_vec(),
        }
    }

    /// The measures as the table's metric columns (integers, not rolled up: every read of a
    /// record dataset reads its rows as stored).
    pub fn metric_columns(self) -> Vec<MetricColumn> {
        self.measures()
            .into_iter()
            .map(|m| MetricColumn {
                metric: m.column.to_string(),
                qualifier: None,
                field: StatField::Sum,
                column: m.column.to_string(),
                sql_type: if m.real { "REAL" } else { "INTEGER" },
            })
            .collect()
    }

    /// What a column means, for people (`$metadata`, `/v1/datasets`).
    pub fn meaning(self, column: &str) -> Option<&'static str> {
        let measure = self.measures().into_iter().find(|m| m.column == column);
        if let Some(measure) = measure {
            return Some(measure.meaning);
        }
        Some(match (self, column) {
            (_, "user_id") if self == RecordKind::StatusIntervals => "The user (agent) id",
            (RecordKind::StatusIntervals, "status_kind") => {
                "`presence` (system_presence and organization_presence_id are set) or `routing` (routing_status is)"
            }
            (RecordKind::StatusIntervals, "system_presence") => {
                "The system presence (AVAILABLE, AWAY, BUSY, OFFLINE, IDLE, ON_QUEUE, MEAL, MEETING, TRAINING, BREAK)"
            }
            (RecordKind::StatusIntervals, "organization_presence_id") => {
                "The organisation presence definition id (names in the presences directory)"
            }
            (RecordKind::StatusIntervals, "routing_status") => {
                "The routing status (OFF_QUEUE, IDLE, INTERACTING, NOT_RESPONDING, COMMUNICATING)"
            }
            (RecordKind::Conversations, "conversation_id") => "The conversation id",
            (RecordKind::Conversations, "originating_direction") => {
                "Who started it: inbound or outbound"
            }
            (RecordKind::Conversations, "media_type") => "The first session's media type",
            (RecordKind::Conversations, "queue_id") => "The first queue it entered",
            (RecordKind::Conversations, "user_id") => "The last agent that handled it",
            (RecordKind::Conversations, "wrap_up_code") => "The last wrap-up code an agent gave it",
            (RecordKind::Conversations, "division_ids") => "Its divisions, comma-separated",
            (RecordKind::Conversations, "ivr_flow_name") => "The IVR flow it ran first, if any",
            (RecordKind::Conversations, "ivr_exit_reason") => {
                "Why it left that IVR flow (TRANSFER, DISCONNECT, …), once it did"
            }
            (_, "flow_name") => "The flow the session ran (IVR and in-queue flows)",
            (_, "flow_type") => "The flow's type (INBOUNDCALL, INQUEUECALL, …)",
            (_, "exit_reason") => "Why the session left its flow, once it did",
            (_, "conversation_id") => "The conversation it belongs to",
            (_, "participant_id") => "The participant id",
            (_, "session_id") => "The session id",
            (_, "purpose") => "The participant's purpose (customer, agent, acd, ivr, external, …)",
            (_, "user_id") => "The user (agent) the participant is, if any",
            (_, "participant_name") => "The participant's name as Genesys shows it",
            (_, "team_id") => "The agent's team id",
            (_, "media_type") => {
                "The session's media type (voice, chat, email, message, callback, …)"
            }
            (_, "direction") => "The session's direction (inbound or outbound)",
            (_, "ani") => "The calling address (ANI)",
            (_, "dnis") => "The called address (DNIS)",
            (_, "segment_type") => "The segment's type (alert, interact, hold, wrapup, ivr, …)",
            (_, "queue_id") => "The queue the segment was in, if any",
            (_, "wrap_up_code") => "The wrap-up code given in the segment, if any",
            (_, "disconnect_type") => {
                "How the segment ended (client, endpoint, transfer, …), once it did"
            }
            _ => return None,
        })
    }
}

/// Whether `name` is a field or measure of some record kind (stored names become columns, so
/// only known ones may).
pub fn is_record_column(name: &str) -> bool {
    RecordKind::ALL.into_iter().any(|kind| {
        kind.fields().contains(&name) || kind.measures().iter().any(|m| m.column == name)
    })
}

/// A page of a record dataset's window, as it arrives from its details job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordPage {
    pub rows: Vec<RecordRow>,
    /// Records (conversation ids) this page holds again: a job's pages may repeat one, and the
    /// rows an earlier page wrote of it are replaced by this page's.
    pub replaces: Vec<String>,
}

impl RecordKind {
    /// The text column that names the record a row belongs to, for [`RecordPage::replaces`]:
    /// the conversation for the conversation kinds; none for status intervals (their copies
    /// are merged by their start, see `status_copies`).
    pub fn record_id_column(self) -> Option<&'static str> {
        match self {
            RecordKind::StatusIntervals => None,
            _ => Some("conversation_id"),
        }
    }
}

/// The statement deleting, from a record dataset's window (`?1`/`?2` or `$1`/`$2`), the rows of
/// the records a page replaces (`ids`: their placeholders). `None` for a kind whose rows are
/// never replaced by page.
pub(crate) fn replaced_rows_sql(
    spec: &crate::TableSpec,
    ids: &str,
    (start, end): (&str, &str),
) -> Option<String> {
    let column = spec.record_kind()?.record_id_column()?;
    Some(format!(
        "DELETE FROM {} WHERE interval_start >= {start} AND interval_start < {end} AND {} IN ({ids})",
        crate::schema::quote(&spec.name),
        crate::schema::quote(column)
    ))
}

/// Refuses a page that replaces records of a kind whose rows are never replaced by page.
pub(crate) fn check_replaces(spec: &crate::TableSpec, page: &RecordPage) -> crate::Result<()> {
    let replaceable = spec
        .record_kind()
        .and_then(RecordKind::record_id_column)
        .is_some();
    if page.replaces.is_empty() || replaceable {
        return Ok(());
    }
    Err(crate::StoreError::WrongRows {
        dataset: spec.name.clone(),
        holds: "status intervals merged by their start",
        given: "a page replacing records",
    })
}

/// One record as a row of its table.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub start: Timestamp,
    /// `None` while the record is still open.
    pub end: Option<Timestamp>,
    /// One per field of the kind.
    pub fields: Vec<Option<String>>,
    /// One per measure of the kind.
    pub values: Vec<Option<Value>>,
}

/// A status interval as a row of `agent_status_intervals`.
pub fn status_interval_row(interval: &StatusInterval) -> RecordRow {
    let (kind, system, organization, routing) = match &interval.status {
        Status::Presence {
            system_presence,
            organization_presence_id,
        } => (
            "presence",
            Some(system_presence.clone()),
            Some(organization_presence_id.clone()),
            None,
        ),
        Status::Routing { routing_status } => ("routing", None, None, Some(routing_status.clone())),
    };
    let duration = interval
        .end
        .map(|end| Value::Int(end.as_millisecond() - interval.start.as_millisecond()));
    RecordRow {
        start: interval.start,
        end: interval.end,
        fields: vec![
            Some(interval.user_id.clone()),
            Some(kind.to_string()),
            system,
            organization,
            routing,
        ],
        values: vec![duration],
    }
}

/// Refuses a write of records to an aggregates dataset (`records: true`), or of bucket rows to
/// a record dataset.
pub(crate) fn check_rows_fit(spec: &crate::TableSpec, records: bool) -> crate::Result<()> {
    if spec.record_kind().is_some() == records {
        return Ok(());
    }
    let (holds, given) = match records {
        true => ("aggregate buckets", "records"),
        false => ("records", "aggregate buckets"),
    };
    Err(crate::StoreError::WrongRows {
        dataset: spec.name.clone(),
        holds,
        given,
    })
}

/// Refuses a record of the wrong width, or one that does not start in the window.
pub(crate) fn check_record(
    spec: &crate::TableSpec,
    window: genesys::Interval,
    row: &RecordRow,
) -> crate::Result<()> {
    let (fields, values) = (spec.dimensions.len(), spec.metrics.len());
    let shown = || {
        let end = row.end.map_or("(open)".to_string(), |end| end.to_string());
        format!("{}/{end}", row.start)
    };
    if row.fields.len() != fields || row.values.len() != values {
        return Err(crate::StoreError::RowShape {
            dataset: spec.name.clone(),
            interval: shown(),
            got: row.fields.len() + row.values.len(),
            expected: fields + values,
        });
    }
    if !window.contains(row.start) {
        return Err(crate::StoreError::RowOutsideWindow {
            row: shown(),
            window: window.to_string(),
        });
    }
    Ok(())
}

/// The statement of a dataset's stored extent, both from the key index: the first row's start,
/// and the end of the last bucket (all rows of a bucket share it; `max(interval_end)` would
/// read every row) or, for records, the last record's start (an open record has no end).
pub(crate) fn extent_sql(spec: &crate::TableSpec) -> String {
    let table = crate::schema::quote(&spec.name);
    let last = match spec.record_kind() {
        Some(_) => format!("SELECT max(interval_start) FROM {table}"),
        None => format!(
            "SELECT max(interval_end) FROM {table} WHERE interval_start = (SELECT max(interval_start) FROM {table})"
        ),
    };
    format!("SELECT (SELECT min(interval_start) FROM {table}), ({last})")
}

/// The extent's end from what [`extent_sql`] read: for records, just after the last start (a
/// read of `interval_start < end` then takes the last record).
pub(crate) fn extent_end(spec: &crate::TableSpec, last: Timestamp) -> Timestamp {
    match spec.record_kind() {
        Some(_) => last + jiff::SignedDuration::from_millis(1),
        None => last,
    }
}

/// The index of a record table's open records (no end yet), so finding them reads them alone.
pub(crate) fn open_records_index(spec: &crate::TableSpec) -> Option<String> {
    spec.record_kind()?;
    let table = crate::schema::quote(&spec.name);
    let index = crate::schema::quote(&format!("{}_open", spec.name));
    Some(format!(
        "CREATE INDEX {index} ON {table} (interval_start) WHERE interval_end IS NULL"
    ))
}

/// The logged windows of a record dataset that hold a record still open, oldest first; `mark`
/// is the placeholder of the dataset's name. Their bounds are read as the window log stores
/// them.
pub(crate) fn open_windows_sql(spec: &crate::TableSpec, mark: &str) -> String {
    let table = crate::schema::quote(&spec.name);
    format!(
        "SELECT DISTINCT w.window_start, w.window_end FROM {table} AS r \
         JOIN windows AS w ON w.dataset = {mark} \
             AND r.interval_start >= w.window_start AND r.interval_start < w.window_end \
         WHERE r.interval_end IS NULL ORDER BY w.window_start"
    )
}
