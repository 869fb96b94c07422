//! Property tests of the merge: from a true timeline per user and kind, the copies Genesys could
//! return (each record once per UTC day it starts or ends on, copies taken while the status was
//! still in force, repeats), shuffled and dealt into pages, always merge back to that timeline.

use jiff::Timestamp;
use proptest::prelude::*;

use super::{Status, StatusInterval, check_timeline, merge};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Monday 2024-05-06 00:00 UTC.
const MONDAY: i64 = 1_714_953_600_000;

const PRESENCES: [(&str, &str); 4] = [
    ("AVAILABLE", "6a3af858"),
    ("ON_QUEUE", "e08eaf1b"),
    ("BREAK", "227b37e2"),
    ("OFFLINE", "ccf3c10a"),
];
const ROUTING: [&str; 4] = ["IDLE", "INTERACTING", "OFF_QUEUE", "NOT_RESPONDING"];

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn status(presence: bool, index: usize) -> Status {
    if presence {
        let (system, id) = PRESENCES[index % 4];
        Status::Presence {
            system_presence: system.into(),
            organization_presence_id: id.into(),
        }
    } else {
        Status::Routing {
            routing_status: ROUTING[index % 4].into(),
        }
    }
}

/// One span of a true timeline, as generated: the gap before it, its length (0 = ends at the
/// next UTC midnight), a status step (never 0, so neighbours differ), and the stale copies taken
/// of it while it was in force.
#[derive(Debug, Clone)]
struct SpanPlan {
    gap_ms: i64,
    length_ms: i64,
    status_step: usize,
    stale_copies: usize,
}

fn span_plan() -> impl Strategy<Value = SpanPlan> {
    (
        prop_oneof![3 => Just(0i64), 1 => 1i64..(6 * HOUR)],
        prop_oneof![1 => Just(0i64), 6 => 1i64..(60 * HOUR)],
        1usize..4,
        0usize..3,
    )
        .prop_map(|(gap_ms, length_ms, status_step, stale_copies)| SpanPlan {
            gap_ms,
            length_ms,
            status_step,
            stale_copies,
        })
}

/// A user's timeline of one kind: its spans, and whether the last is still open.
#[derive(Debug, Clone)]
struct TimelinePlan {
    user: usize,
    presence: bool,
    offset_ms: i64,
    spans: Vec<SpanPlan>,
    last_open: bool,
}

fn timeline_plan() -> impl Strategy<Value = TimelinePlan> {
    (
        0usize..3,
        any::<bool>(),
        0i64..(2 * DAY),
        prop::collection::vec(span_plan(), 1..7),
        any::<bool>(),
    )
        .prop_map(
            |(user, presence, offset_ms, spans, last_open)| TimelinePlan {
                user,
                presence,
                offset_ms,
                spans,
                last_open,
            },
        )
}

/// The true intervals of a plan and every copy of them.
fn realise(plan: &TimelinePlan, now: i64) -> (Vec<StatusInterval>, Vec<StatusInterval>) {
    let user_id = format!("u-{}", plan.user);
    let (mut truth, mut copies) = (Vec::new(), Vec::new());
    let (mut at, mut index) = (MONDAY + plan.offset_ms, 0);
    for (n, span) in plan.spans.iter().enumerate() {
        let start = at + span.gap_ms;
        let end = match span.length_ms {
            0 => (start.div_euclid(DAY) + 1) * DAY,
            length => start + length,
        };
        let open = plan.last_open && n + 1 == plan.spans.len();
        index += span.status_step;
        let interval = StatusInterval {
            user_id: user_id.clone(),
            start: ts(start),
            end: (!open).then(|| ts(end)),
            status: status(plan.presence, index),
        };
        // Stored on its start day and on its end day (an open one: on today's).
        let end_day = interval
            .end
            .map_or(now, Timestamp::as_millisecond)
            .div_euclid(DAY);
        let stored_days = if end_day == start.div_euclid(DAY) {
            1
        } else {
            2
        };
        copies.extend(std::iter::repeat_n(interval.clone(), stored_days));
        let stale = StatusInterval {
            end: None,
            ..interval.clone()
        };
        copies.extend(std::iter::repeat_n(stale, span.stale_copies));
        truth.push(interval);
        at = end;
    }
    (truth, copies)
}

/// A deterministic shuffle (Fisher–Yates on a small LCG), so proptest can shrink the seed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

fn sorted(mut intervals: Vec<StatusInterval>) -> Vec<StatusInterval> {
    intervals.sort_by(|a, b| (&a.user_id, a.kind(), a.start).cmp(&(&b.user_id, b.kind(), b.start)));
    intervals
}

/// The length of the union of `intervals`, open ones running to `now`.
fn covered_ms(intervals: &[StatusInterval], now: i64) -> i64 {
    let mut spans: Vec<(String, super::StatusKind, i64, i64)> = intervals
        .iter()
        .map(|i| {
            let end = i.end.map_or(now, Timestamp::as_millisecond);
            (i.user_id.clone(), i.kind(), i.start.as_millisecond(), end)
        })
        .collect();
    spans.sort();
    let mut total = 0;
    let mut current: Option<(String, super::StatusKind, i64, i64)> = None;
    for (user, kind, start, end) in spans {
        match &mut current {
            Some((u, k, _, e)) if *u == user && *k == kind && start <= *e => *e = (*e).max(end),
            _ => {
                if let Some((_, _, s, e)) = current.take() {
                    total += e - s;
                }
                current = Some((user, kind, start, end));
            }
        }
    }
    total + current.map_or(0, |(_, _, s, e)| e - s)
}

/// One timeline per (user, kind): plans naming the same pair keep the first.
fn distinct(plans: Vec<TimelinePlan>) -> Vec<TimelinePlan> {
    let mut seen = std::collections::HashSet::new();
    plans
        .into_iter()
        .filter(|p| seen.insert((p.user, p.presence)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn copies_in_any_order_and_pages_merge_back_to_the_true_timeline(
        plans in prop::collection::vec(timeline_plan(), 1..5).prop_map(distinct),
        seed in any::<u64>(),
        page_sizes in prop::collection::vec(1usize..12, 1..20),
    ) {
        let now = MONDAY + 40 * DAY;
        let (mut truth, mut copies) = (Vec::new(), Vec::new());
        for plan in &plans {
            let (t, c) = realise(plan, now);
            truth.extend(t);
            copies.extend(c);
        }
        let truth = sorted(truth);
        shuffle(&mut copies, seed);

        let merged = merge(copies.clone()).unwrap();
        prop_assert_eq!(&merged, &truth);
        check_timeline(&merged).unwrap();

        // No two intervals of one user and kind overlap or repeat.
        for pair in merged.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if (&a.user_id, a.kind()) == (&b.user_id, b.kind()) {
                prop_assert!(a.start < b.start, "{:?} repeats {:?}", b, a);
                prop_assert!(a.end.is_some_and(|end| end <= b.start), "{:?} overlaps {:?}", a, b);
            }
        }

        // Merging page by page, as pages arrive, gives the same.
        let mut pages = Vec::new();
        let mut rest = copies.as_slice();
        for size in page_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (page, later) = rest.split_at((*size).min(rest.len()));
            pages.push(page.to_vec());
            rest = later;
        }
        let mut running = Vec::new();
        for page in &pages {
            running = merge(running.into_iter().chain(page.iter().cloned())).unwrap();
        }
        prop_assert_eq!(&running, &merged);

        // Idempotent: a merged result, alone or twice over, merges to itself.
        prop_assert_eq!(&merge(merged.clone()).unwrap(), &merged);
        prop_assert_eq!(&merge(merged.iter().chain(&merged).cloned()).unwrap(), &merged);

        // The time covered by the copies still true when read (all but the stale open ones) is
        // the time the result covers, each instant once.
        let still_open = |c: &StatusInterval| truth.iter().any(|t| t.end.is_none() && t.user_id == c.user_id && t.start == c.start && t.kind() == c.kind());
        let faithful: Vec<StatusInterval> = copies
            .iter()
            .filter(|c| c.end.is_some() || still_open(c))
            .cloned()
            .collect();
        prop_assert_eq!(covered_ms(&faithful, now), covered_ms(&merged, now));
        let summed: i64 = merged
            .iter()
            .map(|i| i.end.map_or(now, Timestamp::as_millisecond) - i.start.as_millisecond())
            .sum();
        prop_assert_eq!(summed, covered_ms(&merged, now));
    }
}
