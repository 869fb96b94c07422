//! Aggregates against an independent brute-force recomputation from the DETAILS records: the
//! test walks the JSON record tree (conversation → participants → sessions → metrics with their
//! emitDate), derives each dimension from the record fields, buckets by its own calendar walk in
//! the query time zone and compares every statistic. Plus DST and late-data behaviour.

use std::collections::BTreeMap;

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};
use genesys::details::ConversationQuery;
use genesys::filter::{Clause, Filter, FilterType, Operator, Predicate};
use jiff::{Span, Timestamp, ToSpan};
use proptest::prelude::*;
use serde_json::Value;

/// A small org keeps debug-mode runs quick.
fn small_centre(seed: u64) -> ContactCentre {
    ContactCentre::new(
        seed,
        &OrgShape {
            conversations_per_day: 1_500,
            ..OrgShape::default()
        },
    )
}

const METRIC_POOL: &[&str] = &[
    "nConversations",
    "nOffered",
    "tAcd",
    "tWait",
    "tAbandon",
    "tShortAbandon",
    "oServiceLevel",
    "nOverSla",
    "tAnswered",
    "tAlert",
    "tNotResponding",
    "nAlertExpired",
    "nAgentDeclined",
    "nConnected",
    "tConnected",
    "tTalk",
    "tTalkComplete",
    "tHeld",
    "tHeldComplete",
    "tAcw",
    "tHandle",
    "nTransferred",
    "nBlindTransferred",
    "nConsult",
    "nConsultTransferred",
    "tIvr",
    "nOutbound",
    "nOutboundAttempted",
    "nOutboundConnected",
    "tDialing",
    "tContacting",
    "tVoicemail",
    "oServiceTarget",
];

const DIMENSION_POOL: &[&str] = &[
    "queueId",
    "mediaType",
    "userId",
    "wrapUpCode",
    "disconnectType",
    "purpose",
    "direction",
    "originatingDirection",
    "divisionId",
    "teamId",
    "participantName",
    "requestedRouting",
    "usedRouting",
    "firstQueue",
    "customerParticipation",
    "conversationInitiator",
    "ani",
    "dnis",
    "sessionId",
    "conversationId",
    "externalTag",
];

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Stats {
    count: i64,
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    target: Option<f64>,
}

type Table = BTreeMap<(BTreeMap<String, String>, String, String), Stats>;

fn table_of(response: &AggregateQueryResponse) -> Table {
    let mut table = Table::new();
    for r in &response.results {
        assert!(!r.data.is_empty(), "sparse output: no group without data");
        for d in &r.data {
            assert!(
                !d.metrics.is_empty() || !d.views.is_empty(),
                "sparse output: no empty bucket"
            );
            for m in &d.metrics {
                let s = &m.stats;
                let stats = if m.metric == "oServiceTarget" {
                    // `{current}` only, as real orgs send it.
                    assert_eq!(
                        (s.count, s.sum, s.target, s.ratio),
                        (None, None, None, None)
                    );
                    Stats {
                        target: Some(s.current.unwrap()),
                        ..Stats::default()
                    }
                } else if m.metric == "oServiceLevel" {
                    let (num, den) = (s.numerator.unwrap(), s.denominator.unwrap());
                    assert!((s.ratio.unwrap() - num / den).abs() < 1e-9);
                    Stats {
                        count: den as i64,
                        sum: num,
                        target: s.target,
                        ..Stats::default()
                    }
                } else if m.metric.starts_with('n') {
                    assert!(s.sum.is_none() && s.max.is_none());
                    Stats {
                        count: s.count.unwrap(),
                        sum: s.count.unwrap() as f64,
                        ..Stats::default()
                    }
                } else {
                    Stats {
                        count: s.count.unwrap(),
                        sum: s.sum.unwrap(),
                        min: s.min,
                        max: s.max,
                        target: None,
                    }
                };
                let previous = table.insert(
                    (r.group.clone(), d.interval.clone(), m.metric.to_string()),
                    stats,
                );
                assert!(previous.is_none(), "duplicate group/interval/metric");
            }
        }
    }
    table
}

/// Bucket bounds by walking the calendar in the zone from the interval start.
fn bucket_bounds(
    start: Timestamp,
    end: Timestamp,
    granularity: Option<&str>,
    tz: &str,
) -> Vec<(Timestamp, Timestamp)> {
    let Some(g) = granularity else {
        return vec![(start, end)];
    };
    let span: Span = g.parse().unwrap();
    let zone = jiff::tz::TimeZone::get(tz).unwrap();
    let origin = start.to_zoned_datetime(zone);
    let mut bounds = Vec::new();
    let mut from = start;
    for k in 1.. {
        let next = origin
            .checked_add(span.checked_mul(k).unwrap())
            .unwrap()
            .timestamp();
        let to = next.min(end);
        bounds.push((from, to));
        if next >= end {
            break;
        }
        from = next;
    }
    bounds
}

fn interval_string(a: Timestamp, b: Timestamp) -> String {
    let f = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    format!("{}/{}", f(a), f(b))
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Dimension values of one session, derived from the record fields alone.
fn session_dimensions(
    conversation: &Value,
    participant: &Value,
    session: &Value,
) -> BTreeMap<&'static str, String> {
    let mut d = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            d.insert(k, v);
        }
    };
    put("conversationId", str_of(conversation, "conversationId"));
    put(
        "conversationInitiator",
        str_of(conversation, "conversationInitiator"),
    );
    put(
        "originatingDirection",
        str_of(conversation, "originatingDirection"),
    );
    put(
        "customerParticipation",
        str_of(conversation, "customerParticipation"),
    );
    put(
        "divisionId",
        conversation["divisionIds"]
            .get(0)
            .and_then(|v| v.as_str())
            .map(String::from),
    );
    let first_queue = conversation["participants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["sessions"].as_array().unwrap())
        .flat_map(|s| s["segments"].as_array().unwrap())
        .find_map(|g| str_of(g, "queueId"));
    put("firstQueue", first_queue);
    put("purpose", str_of(participant, "purpose"));
    put("userId", str_of(participant, "userId"));
    put("teamId", str_of(participant, "teamId"));
    put("participantName", str_of(participant, "participantName"));
    put("mediaType", str_of(session, "mediaType"));
    put("direction", str_of(session, "direction"));
    put("ani", str_of(session, "ani"));
    put("dnis", str_of(session, "dnis"));
    put("sessionId", str_of(session, "sessionId"));
    put("usedRouting", str_of(session, "usedRouting"));
    put(
        "requestedRouting",
        session
            .get("requestedRoutings")
            .and_then(|r| r.get(0))
            .and_then(|v| v.as_str())
            .map(String::from),
    );
    let segments = session["segments"].as_array().unwrap();
    for key in ["queueId", "wrapUpCode", "disconnectType"] {
        put(key, segments.iter().find_map(|g| str_of(g, key)));
    }
    d
}

fn predicate_holds(dims: &BTreeMap<&'static str, String>, p: &Predicate) -> bool {
    let value = dims.get(p.dimension.as_deref().unwrap());
    match p.operator.unwrap_or_default() {
        Operator::Exists => value.is_some(),
        Operator::NotExists => value.is_none(),
        Operator::Matches => value.is_some_and(|v| Some(v) == p.value.as_ref()),
    }
}

/// Service-level target of a queue for a media type, from the queue directory.
fn targets(cc: &ContactCentre) -> BTreeMap<(String, String), f64> {
    let mut t = BTreeMap::new();
    for q in &cc.org().queues {
        let s = q.media_settings.as_ref().unwrap();
        for (media, setting) in [
            ("voice", &s.call),
            ("callback", &s.callback),
            ("chat", &s.chat),
            ("email", &s.email),
            ("message", &s.message),
        ] {
            if let Some(level) = setting.as_ref().and_then(|m| m.service_level.as_ref()) {
                t.insert((q.id.clone(), media.to_string()), level.percentage);
            }
        }
    }
    t
}

fn brute_force(cc: &ContactCentre, q: &AggregationQuery, now: Timestamp) -> Table {
    let interval: genesys::Interval = q.interval.parse().unwrap();
    let job = ConversationQuery {
        interval: q.interval.clone(),
        ..ConversationQuery::default()
    };
    let conversations = cc.details_job(&job, now, now).unwrap();
    let conversations = serde_json::to_value(&conversations).unwrap();
    let bounds = bucket_bounds(
        interval.start,
        interval.end,
        q.granularity.as_deref(),
        q.time_zone.as_deref().unwrap_or("UTC"),
    );
    let targets = targets(cc);
    let mut table = Table::new();
    let mut target_seen: BTreeMap<(BTreeMap<String, String>, String), Vec<f64>> = BTreeMap::new();
    // Each offer observes its queue's target in its bucket (oServiceTarget).
    let mut offered_targets: BTreeMap<(BTreeMap<String, String>, String), Vec<f64>> =
        BTreeMap::new();
    let wants_target = q.metrics.iter().any(|m| m == "oServiceTarget");
    for c in conversations.as_array().unwrap() {
        for p in c["participants"].as_array().unwrap() {
            for s in p["sessions"].as_array().unwrap() {
                let dims = session_dimensions(c, p, s);
                if let Some(f) = &q.filter
                    && !f.evaluate(|p| predicate_holds(&dims, p))
                {
                    continue;
                }
                let group: BTreeMap<String, String> = q
                    .group_by
                    .iter()
                    .filter_map(|g| dims.get(g.as_str()).map(|v| (g.clone(), v.clone())))
                    .collect();
                for m in s["metrics"].as_array().into_iter().flatten() {
                    let name = m["name"].as_str().unwrap();
                    if wants_target && name == "nOffered" {
                        let at: Timestamp = m["emitDate"].as_str().unwrap().parse().unwrap();
                        if let Some((a, b)) = bounds.iter().find(|(a, b)| *a <= at && at < *b) {
                            let t = targets[&(dims["queueId"].clone(), dims["mediaType"].clone())];
                            offered_targets
                                .entry((group.clone(), interval_string(*a, *b)))
                                .or_default()
                                .push(t);
                        }
                    }
                    if !q.metrics.iter().any(|x| x == name) {
                        continue;
                    }
                    let at: Timestamp = m["emitDate"].as_str().unwrap().parse().unwrap();
                    assert!(at <= now, "details never show the future");
                    let Some((a, b)) = bounds.iter().find(|(a, b)| *a <= at && at < *b) else {
                        continue;
                    };
                    let value = m["value"].as_i64().unwrap() as f64;
                    let key = (group.clone(), interval_string(*a, *b), name.to_string());
                    let e = table.entry(key).or_default();
                    e.count += 1;
                    e.sum += value;
                    if name.starts_with('t') {
                        e.min = Some(e.min.map_or(value, |x| x.min(value)));
                        e.max = Some(e.max.map_or(value, |x| x.max(value)));
                    }
                    if name == "oServiceLevel" {
                        let t = targets[&(dims["queueId"].clone(), dims["mediaType"].clone())];
                        target_seen
                            .entry((group.clone(), interval_string(*a, *b)))
                            .or_default()
                            .push(t);
                    }
                }
            }
        }
    }
    for ((group, interval), seen) in target_seen {
        let e = table
            .get_mut(&(group, interval, "oServiceLevel".to_string()))
            .unwrap();
        e.target = seen.iter().all(|t| *t == seen[0]).then_some(seen[0]);
    }
    for ((group, interval), seen) in offered_targets {
        // A group mixing targets has no one target: left out.
        if seen.iter().all(|t| *t == seen[0]) {
            let stats = Stats {
                target: Some(seen[0]),
                ..Stats::default()
            };
            table.insert((group, interval, "oServiceTarget".to_string()), stats);
        }
    }
    table
}

fn assert_tables_equal(engine: &Table, brute: &Table) {
    let missing: Vec<_> = brute
        .keys()
        .filter(|k| !engine.contains_key(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = engine
        .keys()
        .filter(|k| !brute.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from engine: {missing:?}\nextra in engine: {extra:?}"
    );
    for (k, v) in engine {
        assert_eq!(v, &brute[k], "{k:?}");
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn query(
    interval: &str,
    granularity: Option<&str>,
    tz: Option<&str>,
    group_by: &[&str],
    metrics: &[&str],
) -> AggregationQuery {
    AggregationQuery {
        interval: interval.to_string(),
        granularity: granularity.map(String::from),
        time_zone: tz.map(String::from),
        group_by: group_by.iter().map(|s| s.to_string()).collect(),
        metrics: metrics.iter().map(|s| s.to_string()).collect(),
        ..AggregationQuery::default()
    }
}

fn filter_strategy(queue_ids: Vec<String>) -> impl Strategy<Value = Option<Filter>> {
    let media = prop::sample::select(vec!["voice", "chat", "email", "message", "callback"]);
    let queue = prop::sample::select(queue_ids);
    let dim = prop::sample::select(DIMENSION_POOL.to_vec());
    prop_oneof![
        2 => Just(None),
        1 => media.clone().prop_map(|m| Some(Filter::and(vec![Predicate::dimension_matches("mediaType", m)]))),
        1 => (media.clone(), media).prop_map(|(a, b)| Some(Filter {
            kind: FilterType::And,
            clauses: vec![Clause { kind: FilterType::Or, predicates: vec![
                Predicate::dimension_matches("mediaType", a), Predicate::dimension_matches("mediaType", b)] }],
            predicates: vec![Predicate::dimension_exists("queueId")],
        })),
        1 => queue.prop_map(|q| Some(Filter::or(vec![
            Predicate::dimension_matches("queueId", &q), Predicate::dimension_matches("purpose", "ivr")]))),
        1 => (dim, any::<bool>()).prop_map(|(d, exists)| Some(Filter::and(vec![Predicate {
            dimension: Some(d.to_string()),
            operator: Some(if exists { Operator::Exists } else { Operator::NotExists }),
            ..Predicate::default()
        }]))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn aggregates_equal_a_recount_of_the_details(
        start_quarter in 0i64..(60 * 96),
        length_quarters in 4i64..(2 * 96),
        granularity in prop::sample::select(vec![None, Some("PT15M"), Some("PT30M"), Some("PT1H"), Some("PT6H"), Some("P1D"), Some("P7D"), Some("P1M")]),
        tz in prop::sample::select(vec!["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]),
        group_by in prop::sample::subsequence(DIMENSION_POOL.to_vec(), 0..=3),
        metrics in prop::sample::subsequence(METRIC_POOL.to_vec(), 1..=10),
        filter in filter_strategy(small_centre(11).org().queues.iter().map(|q| q.id.clone()).collect()),
        now_fraction in prop::sample::select(vec![0.3, 0.7, 1.0, 9.0]),
    ) {
        let cc = small_centre(11);
        let base = ts("2024-02-20T00:00:00Z");
        let start = base + (start_quarter * 15).minutes();
        let end = start + (length_quarters * 15).minutes();
        let interval = interval_string(start, end);
        let now_ms = start.as_millisecond() + ((end.as_millisecond() - start.as_millisecond()) as f64 * now_fraction) as i64;
        let now = Timestamp::from_millisecond(now_ms).unwrap();
        let mut q = query(&interval, granularity, Some(tz), &group_by, &metrics);
        q.filter = filter;
        let engine = table_of(&cc.aggregate(&q, now).unwrap());
        let brute = brute_force(&cc, &q, now);
        assert_tables_equal(&engine, &brute);
    }
}

#[test]
fn the_pools_cover_everything_the_data_carries() {
    for m in emulator::synth::emitted_metrics() {
        assert!(
            METRIC_POOL.contains(&m),
            "{m} missing from the property test's metric pool"
        );
    }
    let untested = ["conversationId", "sessionId", "dnis"];
    for d in emulator::synth::carried_dimensions() {
        assert!(
            DIMENSION_POOL.contains(&d) || untested.contains(&d),
            "{d} missing from the dimension pool"
        );
    }
}

#[test]
fn there_is_data_to_compare() {
    // Guards the property test against passing vacuously on an empty centre.
    let cc = small_centre(11);
    let q = query(
        "2024-02-20T08:00:00Z/2024-02-20T12:00:00Z",
        Some("PT1H"),
        None,
        &["queueId"],
        METRIC_POOL,
    );
    let table = table_of(&cc.aggregate(&q, ts("2024-03-01T00:00:00Z")).unwrap());
    assert!(table.len() > 100, "{} rows", table.len());
    let metrics: std::collections::BTreeSet<_> = table.keys().map(|(_, _, m)| m.as_str()).collect();
    for m in [
        "nOffered",
        "oServiceTarget",
        "tAnswered",
        "tAbandon",
        "tHeld",
        "tAcw",
        "tHandle",
        "oServiceLevel",
        "nTransferred",
        "tIvr",
        "nOutboundConnected",
    ] {
        assert!(metrics.contains(m), "{m} never emitted");
    }
    assert!(!metrics.contains("tVoicemail"));
    assert_tables_equal(&table, &brute_force(&cc, &q, ts("2024-03-01T00:00:00Z")));
}

fn intervals_of(response: &AggregateQueryResponse) -> std::collections::BTreeSet<String> {
    response
        .results
        .iter()
        .flat_map(|r| r.data.iter().map(|d| d.interval.clone()))
        .collect()
}

#[test]
fn london_day_buckets_follow_local_midnight_across_spring_forward() {
    let cc = small_centre(5);
    let q = query(
        "2024-03-30T00:00:00Z/2024-04-01T23:00:00Z",
        Some("P1D"),
        Some("Europe/London"),
        &[],
        &["nOffered", "tHandle"],
    );
    let now = ts("2024-05-01T00:00:00Z");
    let response = cc.aggregate(&q, now).unwrap();
    let expected = [
        "2024-03-30T00:00:00.000Z/2024-03-31T00:00:00.000Z",
        "2024-03-31T00:00:00.000Z/2024-03-31T23:00:00.000Z",
        "2024-03-31T23:00:00.000Z/2024-04-01T23:00:00.000Z",
    ];
    assert_eq!(
        intervals_of(&response).into_iter().collect::<Vec<_>>(),
        expected
    );
    assert_tables_equal(&table_of(&response), &brute_force(&cc, &q, now));
    // The 23-hour day has exactly 23 hourly buckets, and they add up to the day.
    let hourly = query(
        "2024-03-31T00:00:00Z/2024-03-31T23:00:00Z",
        Some("PT1H"),
        Some("Europe/London"),
        &[],
        &["nOffered"],
    );
    // At full size even the night hours carry traffic: the 23-hour day has 23 hourly buckets.
    let full = ContactCentre::new(5, &OrgShape::default());
    assert_eq!(
        intervals_of(&full.aggregate(&hourly, now).unwrap()).len(),
        23
    );
    let hourly = cc.aggregate(&hourly, now).unwrap();
    let total = |r: &AggregateQueryResponse, bucket: Option<&str>| -> i64 {
        r.results
            .iter()
            .flat_map(|x| &x.data)
            .filter(|d| bucket.is_none_or(|b| d.interval == b))
            .flat_map(|d| &d.metrics)
            .filter(|m| m.metric == "nOffered")
            .map(|m| m.stats.count.unwrap())
            .sum()
    };
    assert_eq!(total(&hourly, None), total(&response, Some(expected[1])));
}

#[test]
fn new_york_fall_back_day_has_25_hours_of_data() {
    let cc = small_centre(6);
    let q = query(
        "2024-11-02T04:00:00Z/2024-11-05T05:00:00Z",
        Some("P1D"),
        Some("America/New_York"),
        &["mediaType"],
        &["nOffered", "tTalk"],
    );
    let now = ts("2024-12-01T00:00:00Z");
    let response = cc.aggregate(&q, now).unwrap();
    let intervals = intervals_of(&response);
    assert!(
        intervals.contains("2024-11-03T04:00:00.000Z/2024-11-04T05:00:00.000Z"),
        "{intervals:?}"
    );
    assert!(
        intervals.contains("2024-11-04T05:00:00.000Z/2024-11-05T05:00:00.000Z"),
        "{intervals:?}"
    );
    assert_tables_equal(&table_of(&response), &brute_force(&cc, &q, now));
    let hourly = query(
        "2024-11-03T04:00:00Z/2024-11-04T05:00:00Z",
        Some("PT1H"),
        Some("America/New_York"),
        &[],
        &["nOffered"],
    );
    // At full size even the night hours carry traffic: the 25-hour day has 25 hourly buckets.
    let full = ContactCentre::new(6, &OrgShape::default());
    assert_eq!(
        intervals_of(&full.aggregate(&hourly, now).unwrap()).len(),
        25
    );
    assert_tables_equal(
        &table_of(&cc.aggregate(&hourly, now).unwrap()),
        &brute_force(&cc, &hourly, now),
    );
}

#[test]
fn late_data_grows_until_every_conversation_has_ended() {
    let cc = small_centre(8);
    let metrics = [
        "nOffered",
        "tAnswered",
        "tAbandon",
        "tTalk",
        "tAcw",
        "tHandle",
        "oServiceLevel",
    ];
    let q = query(
        "2024-05-06T10:00:00Z/2024-05-06T11:00:00Z",
        None,
        None,
        &["queueId", "mediaType"],
        &metrics,
    );
    let nows = [
        "2024-05-06T10:30:00Z",
        "2024-05-06T11:00:00Z",
        "2024-05-06T12:00:00Z",
        "2024-05-06T19:00:00Z",
        "2024-05-07T12:00:00Z",
    ];
    let tables: Vec<Table> = nows
        .iter()
        .map(|n| table_of(&cc.aggregate(&q, ts(n)).unwrap()))
        .collect();
    for pair in tables.windows(2) {
        for (key, earlier) in &pair[0] {
            let later = pair[1]
                .get(key)
                .unwrap_or_else(|| panic!("{key:?} vanished"));
            assert!(
                later.count >= earlier.count && later.sum >= earlier.sum,
                "{key:?} shrank"
            );
        }
    }
    let grew = tables[0]
        .iter()
        .any(|(k, v)| tables[2].get(k).is_some_and(|l| l.count > v.count));
    assert!(grew, "buckets still receiving data must grow between polls");
    // After the longest possible conversation, the bucket is final.
    assert_eq!(tables[3], tables[4]);
    let final_now = ts("2024-05-06T11:00:00Z") + emulator::synth::MAX_SPAN_MS.milliseconds();
    assert_eq!(table_of(&cc.aggregate(&q, final_now).unwrap()), tables[4]);
}

#[test]
fn full_size_quarter_hours_match_the_details() {
    // Large enough to run the multi-threaded accumulation and response paths.
    let cc = ContactCentre::new(9, &OrgShape::default());
    let q = query(
        "2024-07-01T00:00:00Z/2024-07-02T06:00:00Z",
        Some("PT15M"),
        Some("Europe/London"),
        &["queueId", "mediaType"],
        &[
            "nOffered",
            "tAnswered",
            "tAbandon",
            "tHandle",
            "oServiceLevel",
        ],
    );
    let now = ts("2024-07-02T18:00:00Z");
    let engine = table_of(&cc.aggregate(&q, now).unwrap());
    // More than 2,000 (group, bucket) rows: the response is built on several threads too.
    let rows: std::collections::BTreeSet<_> = engine.keys().map(|(g, i, _)| (g, i)).collect();
    assert!(rows.len() > 2_000, "{} rows", rows.len());
    assert_tables_equal(&engine, &brute_force(&cc, &q, now));
}

#[test]
fn filters_on_hashed_ids_match_one_conversation() {
    let cc = small_centre(12);
    let now = ts("2024-03-01T00:00:00Z");
    let interval = "2024-02-21T09:00:00Z/2024-02-21T10:00:00Z";
    let job = ConversationQuery {
        interval: interval.into(),
        ..ConversationQuery::default()
    };
    let conversations = cc.details_job(&job, now, now).unwrap();
    let target = &conversations[conversations.len() / 2];
    let session = target.participants[0].sessions[0].session_id.clone();
    for (dimension, value) in [
        ("conversationId", target.conversation_id.clone()),
        ("sessionId", session),
    ] {
        let mut q = query(
            interval,
            None,
            None,
            &["conversationId", "sessionId"],
            METRIC_POOL,
        );
        q.filter = Some(Filter::and(vec![Predicate::dimension_matches(
            dimension, &value,
        )]));
        let engine = table_of(&cc.aggregate(&q, now).unwrap());
        assert!(!engine.is_empty(), "{dimension}");
        assert!(engine.keys().all(|(g, _, _)| g[dimension] == value));
        assert_tables_equal(&engine, &brute_force(&cc, &q, now));
    }
}
