//! What the voice platform adds to detail records, as the recorded real responses show it
//! (`details-query-1.json`): on voice sessions `provider` "Edge" and the `edgeId` that carried
//! the call, `recording` on the customer's side, `mediaEndpointStats` (codec, MOS, R-factor,
//! latency, packets) once the session has ended; the IVR session's `flow` block (flow name and
//! type, entry, exit and transfer target); and on the conversation the lowest MOS and R-factor
//! of its sessions (`mediaStatsMinConversationMos` / `…RFactor`). Values derive from the session
//! id, so they are stable; a session still in progress has no stats yet, an IVR session no exit.

use genesys::details::Conversation;
use serde_json::{Map, Value, json};

use super::ContactCentre;
use super::ids::{IdKind, hash, uuid_string};

/// Edges (media servers) of the synthetic org; each call lands on one.
const EDGES: u64 = 2;
/// Voice media packets per second (20 ms frames).
const PACKETS_PER_SECOND: i64 = 50;

impl ContactCentre {
    /// A detail record as wire JSON, with the voice platform's fields.
    pub fn detail_json(&self, conversation: &Conversation) -> Value {
        let mut value = serde_json::to_value(conversation).unwrap_or(Value::Null);
        let queue_id = first_queue(conversation);
        let queue_name = queue_id.as_deref().and_then(|id| {
            self.org()
                .queues
                .iter()
                .find(|q| q.id == id)
                .map(|q| q.name.clone())
        });
        let mut lowest: Option<(f64, f64)> = None;
        let participants = value["participants"].as_array_mut();
        for p in participants.into_iter().flatten() {
            let purpose = p["purpose"].as_str().unwrap_or_default().to_string();
            for s in p["sessions"].as_array_mut().into_iter().flatten() {
                let Some(session) = s.as_object_mut() else {
                    continue;
                };
                if session.get("mediaType").and_then(Value::as_str) != Some("voice") {
                    continue;
                }
                let key = hash(&[text_hash(session.get("sessionId"))]);
                session.insert("provider".into(), json!("Edge"));
                let edge = uuid_string(self.seed(), IdKind::Edge, key % EDGES, 0);
                session.insert("edgeId".into(), json!(edge));
                if matches!(purpose.as_str(), "customer" | "external") {
                    session.insert("recording".into(), json!(true));
                }
                let (start, end) = span(session);
                if let (Some(start), Some(end)) = (start, end.clone()) {
                    let (stat, mos, r_factor) = endpoint_stat(key, &start, &end);
                    session.insert("mediaEndpointStats".into(), json!([stat]));
                    lowest = Some(match lowest {
                        Some((m, r)) => (m.min(mos), r.min(r_factor)),
                        None => (mos, r_factor),
                    });
                }
                if purpose == "ivr" {
                    let flow = self.ivr_flow(session, end.is_some(), &queue_id, &queue_name);
                    session.insert("flow".into(), Value::Object(flow));
                }
            }
        }
        if let (Some((mos, r_factor)), Some(object)) = (lowest, value.as_object_mut()) {
            object.insert("mediaStatsMinConversationMos".into(), json!(mos));
            object.insert("mediaStatsMinConversationRFactor".into(), json!(r_factor));
        }
        value
    }

    fn ivr_flow(
        &self,
        session: &Map<String, Value>,
        ended: bool,
        queue_id: &Option<String>,
        queue_name: &Option<String>,
    ) -> Map<String, Value> {
        let mut flow = Map::new();
        let dnis = session
            .get("dnis")
            .cloned()
            .unwrap_or_else(|| json!("tel:+18005550100"));
        flow.insert("entryReason".into(), dnis);
        flow.insert("entryType".into(), json!("dnis"));
        flow.insert(
            "flowId".into(),
            json!(uuid_string(self.seed(), IdKind::Flow, 0, 0)),
        );
        flow.insert("flowName".into(), json!("Main Menu"));
        flow.insert("flowType".into(), json!("INBOUNDCALL"));
        flow.insert("flowVersion".into(), json!("12.0"));
        flow.insert("startingLanguage".into(), json!("en-us"));
        if !ended {
            return flow;
        }
        flow.insert("endingLanguage".into(), json!("en-us"));
        let transferred = session
            .get("segments")
            .and_then(Value::as_array)
            .and_then(|segments| segments.last())
            .and_then(|g| g.get("disconnectType"))
            .and_then(Value::as_str)
            == Some("transfer");
        match (transferred, queue_id, queue_name) {
            (true, Some(id), Some(name)) => {
                flow.insert("exitReason".into(), json!("TRANSFER"));
                flow.insert("transferTargetAddress".into(), json!(id));
                flow.insert("transferTargetName".into(), json!(name));
                flow.insert("transferType".into(), json!("ACD"));
            }
            _ => {
                flow.insert("exitReason".into(), json!("DISCONNECT"));
            }
        }
        flow
    }
}

/// The queue the conversation first reached (the first acd participant's segment queue).
fn first_queue(conversation: &Conversation) -> Option<String> {
    conversation
        .participants
        .iter()
        .filter(|p| p.purpose == "acd")
        .flat_map(|p| &p.sessions)
        .flat_map(|s| &s.segments)
        .find_map(|g| g.queue_id.clone())
}

fn text_hash(value: Option<&Value>) -> u64 {
    let text = value.and_then(Value::as_str).unwrap_or_default();
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The session's first segment start and, once ended, its last segment end.
fn span(session: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let segments = session.get("segments").and_then(Value::as_array);
    let first = segments
        .and_then(|s| s.first())
        .and_then(|g| g.get("segmentStart"))
        .and_then(Value::as_str)
        .map(String::from);
    let last = segments
        .and_then(|s| s.last())
        .and_then(|g| g.get("segmentEnd"))
        .and_then(Value::as_str)
        .map(String::from);
    (first, last)
}

/// One endpoint's call quality for the whole session: MOS 3.6–4.9, an R-factor that follows it.
fn endpoint_stat(key: u64, start: &str, end: &str) -> (Value, f64, f64) {
    let ms = |t: &str| {
        t.parse::<jiff::Timestamp>()
            .map_or(0, |t| t.as_millisecond())
    };
    let duration = (ms(end) - ms(start)).max(0);
    let mos = 3.6 + (hash(&[key, 1]) % 1_300_000) as f64 / 1_000_000.0;
    let r_factor = 60.0 + (mos - 3.6) * 25.0 + (hash(&[key, 2]) % 1000) as f64 / 1000.0;
    let mut stat = Map::new();
    stat.insert("codecs".into(), json!(["audio/opus"]));
    let discarded = hash(&[key, 3]).is_multiple_of(4);
    if discarded {
        stat.insert("discardedPackets".into(), json!(hash(&[key, 4]) % 12 + 1));
    }
    stat.insert("eventTime".into(), json!(end));
    stat.insert("maxLatencyMs".into(), json!(20 + hash(&[key, 5]) % 60));
    stat.insert("minMos".into(), json!(mos));
    stat.insert("minRFactor".into(), json!(r_factor));
    stat.insert(
        "receivedPackets".into(),
        json!(duration * PACKETS_PER_SECOND / 1000),
    );
    (Value::Object(stat), mos, r_factor)
}
