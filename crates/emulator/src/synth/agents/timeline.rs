//! An agent's presence and routing status over a window, derived from its roster and the agent
//! sessions the generated conversations give it, as of the virtual "now".

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::presence::{Activity, RoutingStatus};
use super::roster::{DAY_MS, Roster};
use crate::synth::World;
use crate::synth::codes::{Disconnect, Purpose};
use crate::synth::ids::hash;
use crate::synth::model::{MAX_SPAN_MS, SlotData, slot_of};

/// How long before a called-in conversation the agent goes on queue: none, or the past would
/// change when a call that does not exist yet at "now" is later offered.
pub const CALL_IN_LEAD_MS: i64 = 0;
/// Longest NOT_RESPONDING spell after a missed alert.
pub const MAX_NOT_RESPONDING_MS: i64 = 90_000;

/// One agent session of a conversation: from its first segment to its last, `end` capped at "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handling {
    pub start: i64,
    pub end: i64,
    /// Offered by ACD routing (inbound); agent-dialled outbound calls are not.
    pub routed: bool,
    /// When it ended with an alert the agent let time out (`noAnswerTransfer`), if it did.
    pub missed_at: Option<i64>,
}

/// A status from `start` to `end`; `end` is `None` while the status is still in force at "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span<S> {
    pub start: i64,
    pub end: Option<i64>,
    pub status: S,
}

/// One agent over a window `[from, to)` (cut at "now"): contiguous spans that cover it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentTimeline {
    pub agent: u16,
    pub presence: Vec<Span<Activity>>,
    pub routing: Vec<Span<RoutingStatus>>,
    pub handlings: Vec<Handling>,
}

/// Merged, sorted half-open intervals.
#[derive(Debug, Default)]
struct Union(Vec<(i64, i64)>);

impl Union {
    fn of(mut items: Vec<(i64, i64)>) -> Self {
        items.retain(|(s, e)| s < e);
        items.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(items.len());
        for (s, e) in items {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        Self(out)
    }

    fn contains(&self, t: i64) -> bool {
        let k = self.0.partition_point(|(s, _)| *s <= t);
        k > 0 && t < self.0[k - 1].1
    }

    fn bounds(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().flat_map(|(s, e)| [*s, *e])
    }
}

/// Days of agent sessions kept between queries (about 1 MB a day for the default org).
const CACHED_DAYS: usize = 16;

/// The agent sessions that start on each UTC day, kept for the last few days asked for: a users
/// details query reads days around its interval (a record's true start and end), and the next
/// query usually reads the same days. Stored uncut; "now" is applied as they are read.
#[derive(Default)]
pub struct SessionDays {
    days: Mutex<VecDeque<(i64, DaySessions)>>,
}

/// One UTC day's agent sessions: (agent code, session), whole.
type DaySessions = Arc<Vec<(u16, Handling)>>;

impl SessionDays {
    fn get(&self, world: &World, day: i64) -> DaySessions {
        let lock = || self.days.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, found)) = lock().iter().find(|(d, _)| *d == day) {
            return found.clone();
        }
        let built = Arc::new(sessions_starting_on(world, day));
        let mut days = lock();
        if !days.iter().any(|(d, _)| *d == day) {
            days.push_back((day, built.clone()));
            if days.len() > CACHED_DAYS {
                days.pop_front();
            }
        }
        built
    }
}

/// Every agent session starting on UTC day `day`, whole (no "now").
fn sessions_starting_on(world: &World, day: i64) -> Vec<(u16, Handling)> {
    let (from, to) = (day * DAY_MS, (day + 1) * DAY_MS);
    let mut out = Vec::new();
    let mut data = SlotData::default();
    let mut spans: Vec<(i64, i64)> = Vec::new();
    for slot in slot_of(from - MAX_SPAN_MS)..slot_of(to) {
        world.generator.generate(&world.model, slot, &mut data);
        spans.clear();
        spans.resize(data.sessions.len(), (i64::MAX, i64::MIN));
        for g in &data.segments {
            let span = &mut spans[g.session as usize];
            span.0 = span.0.min(g.start_ms);
            span.1 = span.1.max(g.end_ms);
        }
        for (s, (start, end)) in data.sessions.iter().zip(&spans) {
            if s.purpose != Purpose::Agent || *start < from || *start >= to {
                continue;
            }
            let missed = s.disconnect == Disconnect::NoAnswerTransfer;
            out.push((
                s.user,
                Handling {
                    start: *start,
                    end: *end,
                    routed: s.routed,
                    missed_at: missed.then_some(s.disconnect_at),
                },
            ));
        }
    }
    out
}

/// The agent sessions of `agents` (by agent code) that may touch `[from, to)`, as of `now`.
pub(in crate::synth) fn handlings(
    world: &World,
    agents: &[u16],
    from: i64,
    to: i64,
    now: i64,
) -> Vec<Vec<Handling>> {
    let mut wanted = vec![usize::MAX; world.model.agents.len()];
    for (k, a) in agents.iter().enumerate() {
        wanted[*a as usize] = k;
    }
    let mut out = vec![Vec::new(); agents.len()];
    let reach = from - MAX_NOT_RESPONDING_MS;
    let first_day = (reach - MAX_SPAN_MS).div_euclid(DAY_MS);
    let last_day = (to.min(now + 1) - 1).div_euclid(DAY_MS);
    for day in first_day..=last_day {
        for (agent, h) in world.session_days.get(world, day).iter() {
            let Some(k) = wanted.get(*agent as usize).filter(|k| **k != usize::MAX) else {
                continue;
            };
            if h.start > now || h.start >= to || h.end < reach {
                continue;
            }
            out[*k].push(Handling {
                start: h.start,
                end: h.end.min(now),
                routed: h.routed,
                missed_at: h.missed_at.filter(|at| *at <= now),
            });
        }
    }
    out
}

/// How long an agent stays NOT_RESPONDING after the alert it missed at `at`.
fn not_responding_ms(seed: u64, agent: u16, at: i64) -> i64 {
    15_000 + (hash(&[seed, 0x4e52, agent as u64, at as u64]) % 75_001) as i64
}

/// The agent's timeline over `[from, to)` cut at `now`, from its sessions in that window.
pub fn timeline(
    roster: &Roster,
    seed: u64,
    agent: u16,
    handlings: Vec<Handling>,
    from: i64,
    to: i64,
    now: i64,
) -> AgentTimeline {
    let end = to.min(now);
    let mut timeline = AgentTimeline {
        agent,
        presence: Vec::new(),
        routing: Vec::new(),
        handlings,
    };
    if end <= from {
        return timeline;
    }
    let hs = &timeline.handlings;
    let routed = Union::of(
        hs.iter()
            .filter(|h| h.routed)
            .map(|h| (h.start, h.end))
            .collect(),
    );
    let dialled = Union::of(
        hs.iter()
            .filter(|h| !h.routed)
            .map(|h| (h.start, h.end))
            .collect(),
    );
    let not_responding = Union::of(
        hs.iter()
            .filter_map(|h| h.missed_at)
            .map(|at| (at, at + not_responding_ms(seed, agent, at)))
            .collect(),
    );
    let called_in = Union::of(
        hs.iter()
            .filter(|h| !roster.on_queue_at(agent, h.start))
            .map(|h| (h.start - CALL_IN_LEAD_MS, h.end.max(h.start + 1)))
            .collect(),
    );
    let rostered = roster.changes(agent, from, end);
    let mut points: Vec<i64> = rostered
        .iter()
        .map(|(t, _)| *t)
        .chain(routed.bounds())
        .chain(dialled.bounds())
        .chain(not_responding.bounds())
        .chain(called_in.bounds())
        .filter(|t| *t >= from && *t < end)
        .collect();
    points.push(from);
    points.sort_unstable();
    points.dedup();
    let activity_at = |t: i64| {
        if called_in.contains(t) {
            return Activity::OnQueue;
        }
        let k = rostered.partition_point(|(s, _)| *s <= t);
        rostered[k.saturating_sub(1)].1
    };
    for (k, t) in points.iter().enumerate() {
        let span_end = points.get(k + 1).copied().unwrap_or(end);
        let presence = activity_at(*t);
        let routing = if routed.contains(*t) {
            RoutingStatus::Interacting
        } else if dialled.contains(*t) {
            RoutingStatus::Communicating
        } else if presence != Activity::OnQueue {
            RoutingStatus::OffQueue
        } else if not_responding.contains(*t) {
            RoutingStatus::NotResponding
        } else {
            RoutingStatus::Idle
        };
        push(&mut timeline.presence, *t, span_end, presence);
        push(&mut timeline.routing, *t, span_end, routing);
    }
    if to > now {
        for last in [
            timeline.presence.last_mut().map(|s| &mut s.end),
            timeline.routing.last_mut().map(|s| &mut s.end),
        ]
        .into_iter()
        .flatten()
        {
            *last = None;
        }
    }
    timeline
}

/// Appends `[start, end)` with `status`, extending the last span when the status is unchanged.
fn push<S: PartialEq + Copy>(spans: &mut Vec<Span<S>>, start: i64, end: i64, status: S) {
    match spans.last_mut() {
        Some(last) if last.status == status => last.end = Some(end),
        _ => spans.push(Span {
            start,
            end: Some(end),
            status,
        }),
    }
}

impl<S> Span<S> {
    /// Milliseconds of this span inside `[from, to)`, an open span running to `open_until`.
    pub fn overlap_ms(&self, from: i64, to: i64, open_until: i64) -> i64 {
        let end = self.end.unwrap_or(open_until).min(to);
        (end - self.start.max(from)).max(0)
    }
}
