//! Users details against their own aggregates and storage rules: users aggregates equal a
//! recount of the details records clipped to each bucket; the query returns whole records that
//! overlap its interval, each stored on its start and end UTC day (duplicates when both are read,
//! dropped within a page), statuses spanning three days invisible from the middle day, open
//! records without `endTime`, `{"totalHits": 0}` for nothing, and the documented limits.

use std::collections::{BTreeMap, BTreeSet};

use emulator::synth::agents::{UserAggregationQuery, UserDetail, UserDetailsQuery};
use emulator::synth::{ContactCentre, OrgShape};
use genesys::details::PagingSpec;
use jiff::Timestamp;
use proptest::prelude::*;

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

fn ms(raw: &str) -> i64 {
    raw.parse::<Timestamp>().unwrap().as_millisecond()
}

fn interval(from: i64, to: i64) -> String {
    format!("{}/{}", ts(from), ts(to))
}

/// (userId, kind, status, start, end) of every record, end = None while open.
type Row = (String, &'static str, String, i64, Option<i64>);

fn rows(details: &[UserDetail]) -> Vec<Row> {
    let mut out = Vec::new();
    for d in details {
        for p in &d.primary_presence {
            out.push((
                d.user_id.clone(),
                "presence",
                p.organization_presence_id.clone(),
                ms(&p.start_time),
                p.end_time.as_deref().map(ms),
            ));
            out.push((
                d.user_id.clone(),
                "system",
                p.system_presence.clone(),
                ms(&p.start_time),
                p.end_time.as_deref().map(ms),
            ));
        }
        for r in &d.routing_status {
            out.push((
                d.user_id.clone(),
                "routing",
                r.routing_status.clone(),
                ms(&r.start_time),
                r.end_time.as_deref().map(ms),
            ));
        }
    }
    out
}

fn clipped(row: &Row, from: i64, to: i64, now: i64) -> i64 {
    (row.4.unwrap_or(now).min(to) - row.3.max(from)).max(0)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, ..ProptestConfig::default() })]

    #[test]
    fn users_aggregates_equal_a_recount_of_the_details_records_clipped_to_each_bucket(
        seed in 0u64..1_000,
        start_minutes in 0i64..(7 * 24 * 60),
        length_minutes in 30i64..(2 * 24 * 60),
        now_fraction in 0.3f64..1.5,
        granularity in prop::sample::select(vec![None, Some("PT15M"), Some("PT1H"), Some("P1D")]),
        zone in prop::sample::select(vec!["UTC", "Australia/Sydney", "America/New_York"]),
    ) {
        let c = centre(seed);
        let from = MONDAY + start_minutes * 60_000;
        let to = from + length_minutes * 60_000;
        let now = from + ((to - from) as f64 * now_fraction) as i64;
        let details = c.users_details_job(
            &UserDetailsQuery { interval: interval(from, to), ..UserDetailsQuery::default() },
            ts(now),
        ).unwrap();
        let records = rows(&details);
        let aggregates = serde_json::to_value(c.users_aggregate(&UserAggregationQuery {
            interval: interval(from, to),
            granularity: granularity.map(String::from),
            time_zone: Some(zone.into()),
            group_by: vec!["userId".into()],
            metrics: vec!["tSystemPresence".into(), "tOrganizationPresence".into(), "tAgentRoutingStatus".into()],
            ..UserAggregationQuery::default()
        }, ts(now)).unwrap()).unwrap();
        let mut checked = 0;
        for group in aggregates["results"].as_array().unwrap() {
            let user = group["group"]["userId"].as_str().unwrap();
            for bucket in group["data"].as_array().unwrap() {
                let (bs, be) = bucket["interval"].as_str().unwrap().split_once('/').unwrap();
                let (bs, be) = (ms(bs), ms(be));
                let mut recount: BTreeMap<(&str, &str), i64> = BTreeMap::new();
                for r in records.iter().filter(|r| r.0 == user) {
                    let metric = match r.1 { "presence" => "tOrganizationPresence", "system" => "tSystemPresence", _ => "tAgentRoutingStatus" };
                    let ms = clipped(r, bs, be, now);
                    if ms > 0 {
                        *recount.entry((metric, r.2.as_str())).or_default() += ms;
                    }
                }
                let answered: BTreeMap<(&str, &str), i64> = bucket["metrics"].as_array().unwrap().iter()
                    .map(|m| ((m["metric"].as_str().unwrap(), m["qualifier"].as_str().unwrap()), m["stats"]["sum"].as_i64().unwrap()))
                    .collect();
                prop_assert_eq!(&answered, &recount, "user {} bucket {}", user, bucket["interval"]);
                checked += 1;
            }
        }
        prop_assert!(checked > 0);
    }
}

fn query(
    c: &ContactCentre,
    from: i64,
    to: i64,
    now: i64,
    page: Option<(u32, u32)>,
) -> emulator::synth::agents::UserDetailsQueryResponse {
    c.users_details_query(
        &UserDetailsQuery {
            interval: interval(from, to),
            paging: page.map(|(page_size, page_number)| PagingSpec {
                page_size,
                page_number,
            }),
            ..UserDetailsQuery::default()
        },
        ts(now),
    )
    .unwrap()
}

/// Every page of a query, in order.
fn all_pages(c: &ContactCentre, from: i64, to: i64, now: i64, size: u32) -> (Vec<Vec<Row>>, u64) {
    let mut pages = Vec::new();
    let mut total = 0;
    for n in 1.. {
        let page = query(c, from, to, now, Some((size, n)));
        total = page.total_hits.expect("the query always counts its hits");
        if page.user_details.is_empty() {
            break;
        }
        pages.push(rows(&page.user_details));
    }
    (pages, total)
}

#[test]
fn the_query_returns_whole_overlapping_records_stored_on_their_start_and_end_days() {
    let c = centre(21);
    // Tuesday 20:00 to Wednesday 04:00: records crossing midnight are stored on both days.
    let (from, to) = (MONDAY + DAY + 20 * HOUR, MONDAY + 2 * DAY + 4 * HOUR);
    let now = MONDAY + 4 * DAY;
    let (pages, total) = all_pages(&c, from, to, now, 100);
    let listed: Vec<Row> = pages.iter().flatten().cloned().collect();
    let distinct: BTreeSet<Row> = listed.iter().cloned().collect();
    assert!(
        listed.iter().all(|r| r.3 < to && r.4.unwrap_or(now) > from),
        "a record outside the interval"
    );
    assert!(
        listed.iter().any(|r| r.3 < from),
        "no record keeps its true start before the interval"
    );
    // The job (each record once) over the same interval: the query lists exactly the records
    // stored on the days it reads, which here are all of them.
    let job = c
        .users_details_job(
            &UserDetailsQuery {
                interval: interval(from, to),
                ..UserDetailsQuery::default()
            },
            ts(now),
        )
        .unwrap();
    let once: BTreeSet<Row> = rows(&job).into_iter().collect();
    assert_eq!(distinct, once);
    // Records crossing midnight are stored twice; totalHits counts both copies.
    let midnight = MONDAY + 2 * DAY;
    let crossing = once
        .iter()
        .filter(|r| r.1 != "system" && r.3 < midnight && r.4.unwrap() > midnight)
        .count();
    let stored = once.iter().filter(|r| r.1 != "system").count();
    assert!(crossing > 0);
    assert_eq!(total as usize, stored + crossing);
    // Within a page the second copy is dropped: pages are short, not repetitive.
    for page in &pages {
        let unique: BTreeSet<&Row> = page.iter().collect();
        assert_eq!(unique.len(), page.len(), "a page repeats a record");
    }
    let served: usize = pages
        .iter()
        .map(|p| p.iter().filter(|r| r.1 != "system").count())
        .sum();
    assert!(served < total as usize, "no page was short");
}

#[test]
fn a_status_spanning_three_days_is_invisible_from_its_middle_day() {
    // A quiet org: few agents are called in at the weekend.
    let c = ContactCentre::new(
        4,
        &OrgShape {
            queues: 5,
            agents: 60,
            wrapup_codes: 5,
            conversations_per_day: 200,
            late_wrapup_percent: 0,
        },
    );
    // Saturday: agents off all weekend are Offline from Friday to Monday.
    let saturday = MONDAY + 5 * DAY;
    let now = MONDAY + 8 * DAY;
    let whole = c
        .users_details_job(
            &UserDetailsQuery {
                interval: interval(saturday, saturday + DAY),
                ..UserDetailsQuery::default()
            },
            ts(now),
        )
        .unwrap();
    let long: Vec<Row> = rows(&whole)
        .into_iter()
        .filter(|r| r.3 < saturday && r.4.unwrap() > saturday + DAY)
        .collect();
    assert!(!long.is_empty(), "nobody was off all Saturday");
    let (pages, _) = all_pages(&c, saturday, saturday + DAY, now, 100);
    let seen: BTreeSet<Row> = pages.into_iter().flatten().collect();
    for r in &long {
        assert!(
            !seen.contains(r),
            "{r:?} spans Friday to Sunday or later, yet the Saturday query lists it"
        );
    }
}

#[test]
fn open_records_have_no_end_and_nothing_is_total_hits_zero() {
    let c = centre(8);
    let now = MONDAY + 2 * DAY + 10 * HOUR + 123;
    let answer = query(&c, now - HOUR, now + HOUR, now, None);
    let listed = rows(&answer.user_details);
    assert!(
        listed.iter().any(|r| r.4.is_none()),
        "no open record at now"
    );
    assert!(listed.iter().filter(|r| r.4.is_none()).all(|r| r.3 <= now));
    let nothing = query(&c, now + HOUR, now + 2 * HOUR, now, None);
    assert_eq!(
        serde_json::to_value(&nothing).unwrap(),
        serde_json::json!({"totalHits": 0})
    );
}

#[test]
fn intervals_and_paging_are_limited_as_documented() {
    let c = centre(1);
    let now = MONDAY + 60 * DAY;
    let refuse = |q: UserDetailsQuery| c.users_details_query(&q, ts(now)).unwrap_err();
    let eight_days = UserDetailsQuery {
        interval: interval(MONDAY, MONDAY + 8 * DAY),
        ..UserDetailsQuery::default()
    };
    let e = refuse(eight_days.clone());
    assert_eq!(
        (e.status, e.message.as_str()),
        (
            400,
            "You must specify a search interval as part of your query that does not exceed 7 days"
        )
    );
    let filter: genesys::filter::Filter = serde_json::from_value(serde_json::json!(
        {"type": "or", "predicates": [{"dimension": "userId", "value": c.org().users[0].id}]}
    ))
    .unwrap();
    let filtered = UserDetailsQuery {
        user_filters: vec![filter.clone()],
        ..eight_days
    };
    assert!(
        c.validate_users_details(&filtered).is_ok(),
        "31 days are allowed with a filter"
    );
    let e = refuse(UserDetailsQuery {
        interval: interval(MONDAY, MONDAY + 32 * DAY),
        user_filters: vec![filter],
        ..UserDetailsQuery::default()
    });
    assert!(
        e.message.ends_with("does not exceed 31 days"),
        "{}",
        e.message
    );
    let deep = UserDetailsQuery {
        interval: interval(MONDAY, MONDAY + DAY),
        paging: Some(PagingSpec {
            page_size: 100,
            page_number: 1001,
        }),
        ..UserDetailsQuery::default()
    };
    assert!(
        refuse(deep)
            .message
            .starts_with("Pagination may not exceed 100000 results.")
    );
    let bad: genesys::filter::Filter = serde_json::from_value(serde_json::json!(
        {"type": "and", "predicates": [{"dimension": "queueId", "value": "x"}]}
    ))
    .unwrap();
    let e = refuse(UserDetailsQuery {
        interval: interval(MONDAY, MONDAY + DAY),
        routing_status_filters: vec![bad],
        ..UserDetailsQuery::default()
    });
    assert_eq!(e.code, "invalid.value");
}
