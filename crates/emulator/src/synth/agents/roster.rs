//! The roster: when each agent is scheduled to work and what it does in its shift, derived from
//! (seed, agent, day) alone in constant time, so nothing is materialised per agent or per day.
//!
//! Agent `i` is a primary member of queue `i mod queues` (see `org`); its round `i / queues`
//! picks its shift start, so each queue's primary members spread over early, day, late and
//! night shifts. About a third of the agents also work a given weekend day. A shift is 8 h 40 min:
//! 10 min Available (logged in), on queue with two breaks, a lunch, sometimes a team huddle,
//! training or a short away, and 10 min of admin work before logging out; Offline in between.

use super::presence::Activity;
use crate::synth::ids::hash;

pub const MINUTE: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
/// Shift start hours (UTC) by round; the spread covers the day and the night.
const SHIFT_HOURS: [i64; 6] = [8, 6, 12, 22, 10, 15];
/// Each shift starts up to this late, per agent and day.
const START_JITTER_MS: i64 = 30 * MINUTE;
/// Interior block boundaries move by up to this either way (blocks are at least 6 min long).
const BOUNDARY_JITTER_MS: i64 = 2 * MINUTE;
/// Most blocks a shift has (including the closing Offline start).
const MAX_BLOCKS: usize = 12;
/// The earliest a shift's first block starts before its nominal start.
const LEAD_MS: i64 = 10 * MINUTE;

/// One working day's blocks: `starts[k]` begins `activities[k]`, which lasts until `starts[k+1]`;
/// the last activity is Offline (logged out).
#[derive(Debug, Clone, Copy)]
pub struct Shift {
    len: usize,
    starts: [i64; MAX_BLOCKS],
    activities: [Activity; MAX_BLOCKS],
}

impl Shift {
    pub fn blocks(&self) -> impl Iterator<Item = (i64, Activity)> + '_ {
        self.starts[..self.len]
            .iter()
            .copied()
            .zip(self.activities[..self.len].iter().copied())
    }

    pub fn start(&self) -> i64 {
        self.starts[0]
    }

    /// When the agent logs out.
    pub fn end(&self) -> i64 {
        self.starts[self.len - 1]
    }

    fn activity_at(&self, t: i64) -> Option<Activity> {
        if t < self.start() || t >= self.end() {
            return None;
        }
        let k = self.starts[..self.len].partition_point(|s| *s <= t) - 1;
        Some(self.activities[k])
    }
}

#[derive(Debug, Clone)]
pub struct Roster {
    seed: u64,
    queues: usize,
}

impl Roster {
    pub fn new(seed: u64, queues: usize) -> Self {
        Self {
            seed,
            queues: queues.max(1),
        }
    }

    /// The shift agent `agent` works on UTC day `day` (days since the epoch), if any.
    pub fn shift(&self, agent: u16, day: i64) -> Option<Shift> {
        let round = agent as usize / self.queues;
        let h = |salt: u64| hash(&[self.seed, 0x054f_573e, agent as u64, day as u64, salt]);
        // 1970-01-01 was a Thursday: weekday 5 and 6 (Monday = 0) are the weekend.
        let weekday = (day + 3).rem_euclid(7);
        if weekday >= 5 && h(0) % 3 != 0 {
            return None;
        }
        let nominal = day * DAY_MS
            + SHIFT_HOURS[round % SHIFT_HOURS.len()] * 60 * MINUTE
            + (h(1) % START_JITTER_MS as u64) as i64;
        let mut shift = Shift {
            len: 0,
            starts: [0; MAX_BLOCKS],
            activities: [Activity::Offline; MAX_BLOCKS],
        };
        let mut push = |minute: i64, activity: Activity| {
            shift.starts[shift.len] = nominal + minute * MINUTE;
            shift.activities[shift.len] = activity;
            shift.len += 1;
        };
        push(-10, Activity::Available);
        push(0, Activity::OnQueue);
        push(120, Activity::Break);
        push(135, Activity::OnQueue);
        push(240, Activity::Lunch);
        push(270, Activity::OnQueue);
        match h(2) % 5 {
            0 => {
                push(300, Activity::TeamHuddle);
                push(345, Activity::OnQueue);
            }
            1 => {
                push(300, Activity::Training);
                push(360, Activity::OnQueue);
            }
            2 => {
                push(330, Activity::Away);
                push(336, Activity::OnQueue);
            }
            _ => {}
        }
        push(390, Activity::Break);
        push(405, Activity::OnQueue);
        push(500, Activity::AdminWork);
        push(510, Activity::Offline);
        // Interior boundaries move a little, so agents of one shift do not switch in lockstep.
        for k in 1..shift.len - 1 {
            let jitter =
                (h(10 + k as u64) % (2 * BOUNDARY_JITTER_MS as u64)) as i64 - BOUNDARY_JITTER_MS;
            shift.starts[k] += jitter;
        }
        Some(shift)
    }

    /// What the roster has the agent doing at `t` (Offline outside its shifts).
    pub fn activity_at(&self, agent: u16, t: i64) -> Activity {
        let day = t.div_euclid(DAY_MS);
        // A night shift started the day before may still run.
        [day, day - 1]
            .into_iter()
            .filter_map(|d| self.shift(agent, d))
            .find_map(|s| s.activity_at(t))
            .unwrap_or(Activity::Offline)
    }

    pub fn on_queue_at(&self, agent: u16, t: i64) -> bool {
        self.activity_at(agent, t) == Activity::OnQueue
    }

    /// Every change of rostered activity in `[from, to)`, with the activity in force at `from`
    /// first (its true start may be earlier), in time order.
    pub fn changes(&self, agent: u16, from: i64, to: i64) -> Vec<(i64, Activity)> {
        let mut out = vec![(from, self.activity_at(agent, from))];
        let first_day = (from - LEAD_MS).div_euclid(DAY_MS) - 1;
        let last_day = to.div_euclid(DAY_MS);
        for day in first_day..=last_day {
            let Some(shift) = self.shift(agent, day) else {
                continue;
            };
            out.extend(shift.blocks().filter(|(s, _)| *s > from && *s < to));
        }
        out
    }
}
