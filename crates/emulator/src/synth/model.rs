//! The compact representation of generated conversations: per 15-minute slot, flat vectors of
//! conversations, sessions (one per participant), segments and metric emissions, with small
//! integer codes instead of strings. Strings only appear when a response is written.

use super::codes::{Direction, Disconnect, Media, Metric, Purpose, SegmentType};

/// Conversations are generated per UTC-aligned slot of this length, from (seed, slot) alone.
pub const SLOT_MS: i64 = 15 * 60_000;
/// No conversation lasts longer, so a query over `[a, b)` needs the slots from `a - MAX_SPAN_MS`.
pub const MAX_SPAN_MS: i64 = 8 * 3_600_000;
/// "No value" for the u16 codes (queue, user, wrap-up).
pub const NONE: u16 = u16::MAX;
/// "Never" for instants that may not happen.
pub const NEVER: i64 = i64::MAX;

/// A conversation key unique across slots: names its ids and its groupBy code.
#[inline]
pub fn conversation_key(slot: i64, index: u32) -> u64 {
    ((slot as u64) << 20) | index as u64
}

#[derive(Debug, Clone)]
pub struct ConvRec {
    pub key: u64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub originating_direction: Direction,
    pub initiator: Purpose,
    pub customer_participation: bool,
    pub division: u16,
    pub first_queue: u16,
    /// When the first queue's session starts (firstQueue is unknown before).
    pub first_queue_at: i64,
    /// The customer's number (voice and callback), digits only.
    pub customer_phone: u64,
    pub sessions: (u32, u32),
    pub segments: (u32, u32),
    pub emissions: (u32, u32),
}

/// One participant with its one session.
#[derive(Debug, Clone)]
pub struct SessRec {
    pub conv: u32,
    /// Order of the participant in the conversation; names participant and session ids.
    pub ordinal: u8,
    pub purpose: Purpose,
    pub media: Media,
    pub direction: Direction,
    pub queue: u16,
    pub user: u16,
    pub wrapup: u16,
    /// When the wrap-up code is chosen (end of after-call work); unknown before.
    pub wrapup_at: i64,
    pub disconnect: Disconnect,
    /// When the disconnect happens (end of the segment carrying it); unknown before.
    pub disconnect_at: i64,
    /// Routed through ACD: `requestedRoutings` on acd sessions, `usedRouting` on agent ones.
    pub routed: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct SegRec {
    pub session: u32,
    pub kind: SegmentType,
    pub start_ms: i64,
    pub end_ms: i64,
    /// This segment carries the session's disconnect type.
    pub disconnects: bool,
}

/// A metric emitted at an instant, on a session. Offsets keep it at 16 bytes.
#[derive(Debug, Clone, Copy)]
pub struct Emission {
    /// Milliseconds after the slot start.
    pub at_offset: u32,
    pub value: u32,
    pub session: u32,
    pub metric: Metric,
}

/// Everything generated for one slot (conversations that START in it).
#[derive(Debug, Clone, Default)]
pub struct SlotData {
    pub slot: i64,
    pub convs: Vec<ConvRec>,
    pub sessions: Vec<SessRec>,
    pub segments: Vec<SegRec>,
    pub emissions: Vec<Emission>,
}

impl SlotData {
    pub fn start_ms(&self) -> i64 {
        self.slot * SLOT_MS
    }

    pub fn clear(&mut self, slot: i64) {
        self.slot = slot;
        self.convs.clear();
        self.sessions.clear();
        self.segments.clear();
        self.emissions.clear();
    }

    #[inline]
    pub fn emitted_at(&self, e: &Emission) -> i64 {
        self.start_ms() + e.at_offset as i64
    }
}

pub fn slot_of(ms: i64) -> i64 {
    ms.div_euclid(SLOT_MS)
}
