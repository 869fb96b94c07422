//! Agents with a day: their presences and routing statuses against the rules they must keep
//! with the conversations (routing reaches an agent only on queue, INTERACTING exactly while it
//! handles an ACD conversation, nothing after "now"), on random seeds, windows and "now"s.

use std::collections::BTreeMap;

use emulator::synth::agents::{Activity, AgentTimeline, RoutingStatus, Span};
use emulator::synth::{ContactCentre, OrgShape};
use genesys::details::ConversationQuery;
use jiff::Timestamp;
use proptest::prelude::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Monday 2024-05-06 00:00 UTC.
const MONDAY: i64 = 1_714_953_600_000;

/// Few queues and agents: nights and weekends leave queues without anyone rostered, so the
/// called-in path is exercised too.
fn centre(seed: u64) -> ContactCentre {
    ContactCentre::new(
        seed,
        &OrgShape {
            queues: 5,
            agents: 24,
            wrapup_codes: 5,
            conversations_per_day: 2_000,
            late_wrapup_percent: 0,
        },
    )
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn total<S: PartialEq + Copy>(spans: &[Span<S>], status: S, from: i64, to: i64) -> i64 {
    spans
        .iter()
        .filter(|s| s.status == status)
        .map(|s| s.overlap_ms(from, to, to))
        .sum()
}

fn status_at<S: Copy>(spans: &[Span<S>], t: i64) -> Option<S> {
    spans
        .iter()
        .find(|s| s.start <= t && s.end.is_none_or(|e| t < e))
        .map(|s| s.status)
}

/// Merged union of intervals, clipped to `[from, to)`.
fn union_ms(mut items: Vec<(i64, i64)>, from: i64, to: i64) -> i64 {
    items.sort_unstable();
    let mut total = 0;
    let mut reach = from;
    for (s, e) in items {
        let (s, e) = (s.max(reach), e.min(to));
        if e > s {
            total += e - s;
            reach = e;
        }
    }
    total
}

/// Spans tile `[from, end)` without gaps or overlaps; only the last may be open, and it is open
/// exactly when the window reaches past "now".
fn assert_tiles<S: std::fmt::Debug + PartialEq>(
    spans: &[Span<S>],
    from: i64,
    end: i64,
    open: bool,
) {
    assert!(!spans.is_empty(), "no spans over a non-empty window");
    assert_eq!(spans[0].start, from);
    for pair in spans.windows(2) {
        assert_eq!(pair[0].end, Some(pair[1].start), "gap or overlap: {pair:?}");
        assert_ne!(pair[0].status, pair[1].status, "unmerged: {pair:?}");
    }
    let last = spans.last().unwrap();
    if open {
        assert_eq!(last.end, None, "the span in force at now must be open");
    } else {
        assert_eq!(last.end, Some(end));
    }
}

fn check_rules(t: &AgentTimeline, from: i64, to: i64, now: i64) {
    let end = to.min(now);
    assert_tiles(&t.presence, from, end, to > now);
    assert_tiles(&t.routing, from, end, to > now);
    for h in &t.handlings {
        assert!(h.start <= now, "a session after now exists: {h:?}");
        if h.start >= from && h.start < end {
            assert_eq!(
                status_at(&t.presence, h.start),
                Some(Activity::OnQueue),
                "agent {} was offered a conversation off queue: {h:?}",
                t.agent
            );
        }
    }
    let routed: Vec<(i64, i64)> = t
        .handlings
        .iter()
        .filter(|h| h.routed)
        .map(|h| (h.start, h.end))
        .collect();
    let interacting = total(&t.routing, RoutingStatus::Interacting, from, end);
    assert_eq!(
        interacting,
        union_ms(routed.clone(), from, end),
        "INTERACTING is not exactly the time with an ACD session (agent {})",
        t.agent
    );
    for span in &t.routing {
        let probe = span.start;
        let on_queue = status_at(&t.presence, probe) == Some(Activity::OnQueue);
        let handling = routed.iter().any(|(s, e)| *s <= probe && probe < *e);
        match span.status {
            RoutingStatus::Interacting => assert!(handling, "{span:?}"),
            RoutingStatus::Idle | RoutingStatus::NotResponding => {
                assert!(
                    on_queue && !handling,
                    "{span:?} while off queue or handling"
                )
            }
            RoutingStatus::OffQueue => assert!(!on_queue, "{span:?} while on queue"),
            RoutingStatus::Communicating => assert!(!handling, "{span:?}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn agents_keep_the_rules_with_their_conversations(
        seed in 0u64..1_000,
        start_hour in 0i64..(7 * 24),
        hours in 1i64..30,
        now_after in 0i64..40 * HOUR,
    ) {
        let c = centre(seed);
        let from = MONDAY + start_hour * HOUR;
        let to = from + hours * HOUR;
        let now = from + now_after;
        let timelines = c.agent_timelines(ts(from), ts(to), ts(now));
        prop_assert_eq!(timelines.len(), 24);
        if now <= from {
            prop_assert!(timelines.iter().all(|t| t.presence.is_empty() && t.routing.is_empty()));
            return Ok(());
        }
        for t in &timelines {
            check_rules(t, from, to, now);
        }
        // Deterministic, and the past does not change as "now" moves on: every span closed
        // by the earlier now is unchanged later, the open one keeps its start and status.
        prop_assert_eq!(&timelines, &c.agent_timelines(ts(from), ts(to), ts(now)));
        let later = c.agent_timelines(ts(from), ts(to), ts(now + 2 * HOUR));
        for (early, late) in timelines.iter().zip(&later) {
            let (e, l) = (&early.presence, &late.presence);
            let (closed, open) = e.split_at(e.len() - usize::from(to > now));
            prop_assert_eq!(closed, &l[..closed.len()]);
            if let Some(o) = open.first() {
                prop_assert_eq!(
                    (o.start, o.status),
                    (l[closed.len()].start, l[closed.len()].status)
                );
            }
            let (closed, open) = early.routing.split_at(early.routing.len() - usize::from(to > now));
            prop_assert_eq!(closed, &late.routing[..closed.len()]);
            if let Some(o) = open.first() {
                let l = late.routing[closed.len()];
                prop_assert_eq!((o.start, o.status), (l.start, l.status));
            }
        }
    }
}

#[test]
fn the_default_org_keeps_the_rules_over_a_whole_day() {
    let c = ContactCentre::new(7, &OrgShape::default());
    let (from, to) = (MONDAY + DAY, MONDAY + 2 * DAY);
    let timelines = c.agent_timelines(ts(from), ts(to), ts(to + HOUR));
    let mut sessions = 0;
    for t in &timelines {
        check_rules(t, from, to, to + HOUR);
        sessions += t.handlings.len();
    }
    assert!(
        sessions > 10_000,
        "only {sessions} agent sessions in a Tuesday"
    );
    // Agents work shifts: most are logged out for most of the day, and everyone on shift has
    // breaks, a lunch and on-queue time.
    let on_queue: i64 = timelines
        .iter()
        .map(|t| total(&t.presence, Activity::OnQueue, from, to))
        .sum();
    let offline: i64 = timelines
        .iter()
        .map(|t| total(&t.presence, Activity::Offline, from, to))
        .sum();
    assert!(
        offline > on_queue,
        "offline {offline} ms vs on queue {on_queue} ms"
    );
    for activity in [
        Activity::Break,
        Activity::Lunch,
        Activity::Available,
        Activity::AdminWork,
    ] {
        let ms: i64 = timelines
            .iter()
            .map(|t| total(&t.presence, activity, from, to))
            .sum();
        assert!(ms > 0, "nobody had {activity:?}");
    }
    for status in RoutingStatus::ALL {
        let ms: i64 = timelines
            .iter()
            .map(|t| total(&t.routing, status, from, to))
            .sum();
        assert!(ms > 0, "nobody was {status:?}");
    }
}

/// Per agent and day: INTERACTING time ≥ the talk time of the ACD conversations it handled, read
/// from the details records (the interact segments of its inbound sessions). Talk is counted as
/// time on the clock: the synthetic routing may give an agent a second conversation while it
/// talks (it does not see other slots' conversations), so the sum of tTalk may exceed it.
#[test]
fn interacting_time_covers_the_talk_time_of_each_agents_conversations() {
    let c = centre(11);
    let (from, to) = (MONDAY + 2 * DAY, MONDAY + 3 * DAY);
    let now = to + DAY;
    let query = ConversationQuery {
        interval: format!("{}/{}", ts(from), ts(to)),
        ..ConversationQuery::default()
    };
    let conversations = c.details_job(&query, ts(now), ts(now)).unwrap();
    let mut talk: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let ms = |raw: &str| raw.parse::<Timestamp>().unwrap().as_millisecond();
    for conv in &conversations {
        for p in conv.participants.iter().filter(|p| p.purpose == "agent") {
            let inbound = p
                .sessions
                .iter()
                .filter(|s| s.direction.as_deref() == Some("inbound"));
            for g in inbound
                .flat_map(|s| &s.segments)
                .filter(|g| g.segment_type == "interact")
            {
                let end = g.segment_end.as_deref().expect("closed before now");
                talk.entry(p.user_id.clone().unwrap())
                    .or_default()
                    .push((ms(&g.segment_start), ms(end)));
            }
        }
    }
    assert!(!talk.is_empty());
    let users = &c.org().users;
    for t in c.agent_timelines(ts(from), ts(to), ts(now)) {
        let id = &users[t.agent as usize].id;
        let interacting = total(&t.routing, RoutingStatus::Interacting, from, to);
        let talked = union_ms(talk.remove(id).unwrap_or_default(), from, to);
        assert!(
            interacting >= talked,
            "agent {id}: INTERACTING {interacting} ms < talk {talked} ms"
        );
    }
}
