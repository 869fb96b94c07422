//! Users aggregates against a recount of the agents' status intervals clipped to each bucket,
//! on random seeds, windows, "now"s, zones and granularities; one group without groupBy; the
//! userId filter; nothing after "now".

use std::collections::BTreeMap;

use emulator::synth::agents::{AgentTimeline, RoutingStatus, UserAggregationQuery};
use emulator::synth::{ContactCentre, OrgShape};
use jiff::Timestamp;
use proptest::prelude::*;
use serde_json::Value;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Monday 2024-05-06 00:00 UTC.
const MONDAY: i64 = 1_714_953_600_000;

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

fn users_aggregate(c: &ContactCentre, query: &UserAggregationQuery, now: i64) -> Value {
    let table = c.users_aggregate(query, ts(now)).expect("a valid query");
    serde_json::to_value(&table).unwrap()
}

fn interval_ms(raw: &str) -> (i64, i64) {
    let (a, b) = raw.split_once('/').unwrap();
    (
        a.parse::<Timestamp>().unwrap().as_millisecond(),
        b.parse::<Timestamp>().unwrap().as_millisecond(),
    )
}

/// What one user's spans give for (metric, qualifier) inside `[from, to)`.
fn recount(
    c: &ContactCentre,
    t: &AgentTimeline,
    metric: &str,
    qualifier: &str,
    from: i64,
    to: i64,
    now: i64,
) -> i64 {
    match metric {
        "tAgentRoutingStatus" => t
            .routing
            .iter()
            .filter(|s| s.status.as_str() == qualifier)
            .map(|s| s.overlap_ms(from, to, now))
            .sum(),
        "tSystemPresence" => t
            .presence
            .iter()
            .filter(|s| s.status.system().as_str() == qualifier)
            .map(|s| s.overlap_ms(from, to, now))
            .sum(),
        "tOrganizationPresence" => t
            .presence
            .iter()
            .filter(|s| c.presence_id(s.status) == qualifier)
            .map(|s| s.overlap_ms(from, to, now))
            .sum(),
        other => panic!("unexpected metric {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn users_aggregates_equal_a_recount_of_the_intervals_clipped_to_each_bucket(
        seed in 0u64..1_000,
        start_minutes in 0i64..(7 * 24 * 60),
        length_minutes in 30i64..(3 * 24 * 60),
        now_fraction in 0.2f64..1.5,
        granularity in prop::sample::select(vec![None, Some("PT15M"), Some("PT30M"), Some("PT1H"), Some("P1D")]),
        zone in prop::sample::select(vec!["UTC", "Australia/Sydney", "America/New_York", "Asia/Kolkata"]),
    ) {
        let c = centre(seed);
        let from = MONDAY + start_minutes * 60_000;
        let to = from + length_minutes * 60_000;
        let now = from + ((to - from) as f64 * now_fraction) as i64;
        let query = UserAggregationQuery {
            interval: format!("{}/{}", ts(from), ts(to)),
            granularity: granularity.map(String::from),
            time_zone: Some(zone.into()),
            group_by: vec!["userId".into()],
            metrics: vec!["tSystemPresence".into(), "tOrganizationPresence".into(), "tAgentRoutingStatus".into()],
            ..UserAggregationQuery::default()
        };
        let answer = users_aggregate(&c, &query, now);
        let timelines = c.agent_timelines(ts(from), ts(to), ts(now));
        let users = &c.org().users;
        let by_id: BTreeMap<&str, &AgentTimeline> =
            timelines.iter().map(|t| (users[t.agent as usize].id.as_str(), t)).collect();
        let mut totals: BTreeMap<(String, String, String), i64> = BTreeMap::new();
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        prop_assert_eq!(results.len(), users.len(), "every user has some status in any window before now");
        for group in &results {
            let user = group["group"]["userId"].as_str().unwrap();
            let t = by_id[user];
            for bucket in group["data"].as_array().unwrap() {
                let (bs, be) = interval_ms(bucket["interval"].as_str().unwrap());
                prop_assert!(bs >= from && be <= to && bs < now);
                let mut system = BTreeMap::<String, i64>::new();
                let mut org = BTreeMap::<String, i64>::new();
                for m in bucket["metrics"].as_array().unwrap() {
                    let (metric, qualifier) = (m["metric"].as_str().unwrap(), m["qualifier"].as_str().unwrap());
                    let sum = m["stats"]["sum"].as_i64().expect("an integer sum");
                    prop_assert!(sum > 0, "zero sums are absent, not written");
                    prop_assert_eq!(m["stats"].as_object().unwrap().len(), 1, "stats hold only sum");
                    prop_assert_eq!(sum, recount(&c, t, metric, qualifier, bs, be, now), "{} {} {}", user, metric, qualifier);
                    *totals.entry((user.into(), metric.into(), qualifier.into())).or_default() += sum;
                    match metric {
                        "tSystemPresence" => *system.entry(qualifier.into()).or_default() += sum,
                        "tOrganizationPresence" => {
                            let mapped = answer["systemToOrganizationMappings"].as_object().unwrap()
                                .iter()
                                .find(|(_, ids)| ids.as_array().unwrap().iter().any(|i| i == qualifier))
                                .map(|(s, _)| s.clone())
                                .expect("every organisation presence is mapped");
                            *org.entry(mapped).or_default() += sum;
                        }
                        _ => {}
                    }
                }
                prop_assert_eq!(system, org, "organisation presences add up to their system presence");
            }
        }
        // Nothing is missed: the buckets add up to the whole window.
        for t in &timelines {
            let user = users[t.agent as usize].id.as_str();
            for status in RoutingStatus::ALL {
                let whole = recount(&c, t, "tAgentRoutingStatus", status.as_str(), from, to, now);
                let answered = totals.get(&(user.into(), "tAgentRoutingStatus".into(), status.as_str().into())).copied().unwrap_or(0);
                prop_assert_eq!(whole, answered, "{} {}", user, status.as_str());
            }
        }
    }
}

#[test]
fn without_group_by_one_group_sums_every_user_and_a_filter_keeps_only_its_users() {
    let c = centre(3);
    let (from, to) = (MONDAY + DAY, MONDAY + DAY + 6 * HOUR);
    let now = to + HOUR;
    let users = &c.org().users;
    let mut query = UserAggregationQuery {
        interval: format!("{}/{}", ts(from), ts(to)),
        metrics: vec!["tAgentRoutingStatus".into()],
        ..UserAggregationQuery::default()
    };
    let all = users_aggregate(&c, &query, now);
    let results = all["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["group"], serde_json::json!({}));
    assert!(
        all.get("systemToOrganizationMappings").is_none(),
        "no presence metric, no mappings"
    );
    let sum: i64 = results[0]["data"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["stats"]["sum"].as_i64().unwrap())
        .sum();
    assert_eq!(
        sum,
        6 * HOUR * users.len() as i64,
        "every user is in exactly one status at a time"
    );
    query.group_by = vec!["userId".into()];
    query.filter = Some(
        serde_json::from_value(serde_json::json!({"type": "or", "predicates": [
            {"dimension": "userId", "value": users[2].id},
            {"dimension": "userId", "value": users[5].id},
        ]}))
        .unwrap(),
    );
    let filtered = users_aggregate(&c, &query, now);
    let ids: Vec<&str> = filtered["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"]["userId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [users[2].id.as_str(), users[5].id.as_str()]);
}

#[test]
fn nothing_exists_after_now() {
    let c = centre(5);
    let now = MONDAY + 10 * HOUR;
    let query = UserAggregationQuery {
        interval: format!("{}/{}", ts(now), ts(now + DAY)),
        group_by: vec!["userId".into()],
        metrics: vec!["tSystemPresence".into()],
        ..UserAggregationQuery::default()
    };
    assert_eq!(users_aggregate(&c, &query, now), serde_json::json!({}));
    for t in c.agent_timelines(ts(now - HOUR), ts(now + HOUR), ts(now)) {
        assert!(t.handlings.iter().all(|h| h.start <= now && h.end <= now));
    }
}
