//! Determinism, bad input (400, never a panic) and the details query/job contract.

use emulator::synth::{ContactCentre, OrgShape, QueryError};
use genesys::aggregates::{AggregationQuery, AggregationView};
use genesys::details::{ConversationQuery, PagingSpec};
use genesys::filter::{Filter, NumericRange, Predicate};
use jiff::Timestamp;

fn centre(seed: u64) -> ContactCentre {
    ContactCentre::new(
        seed,
        &OrgShape {
            conversations_per_day: 2_000,
            ..OrgShape::default()
        },
    )
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2024-06-01T00:00:00Z";

fn aggregate_query() -> AggregationQuery {
    AggregationQuery {
        interval: "2024-05-06T08:00:00Z/2024-05-06T12:00:00Z".into(),
        granularity: Some("PT30M".into()),
        group_by: vec!["queueId".into(), "mediaType".into()],
        metrics: vec![
            "nOffered".into(),
            "tAnswered".into(),
            "tHandle".into(),
            "oServiceLevel".into(),
        ],
        ..AggregationQuery::default()
    }
}

#[test]
fn same_seed_same_results_other_seed_other_results() {
    let q = aggregate_query();
    let a = centre(1).aggregate(&q, ts(NOW)).unwrap();
    let b = centre(1).aggregate(&q, ts(NOW)).unwrap();
    let c = centre(2).aggregate(&q, ts(NOW)).unwrap();
    assert!(!a.results.is_empty());
    assert_eq!(a, b);
    assert_ne!(a, c);
    let d = ConversationQuery {
        interval: "2024-05-06T08:00:00Z/2024-05-06T09:00:00Z".into(),
        ..ConversationQuery::default()
    };
    assert_eq!(
        centre(1).details_query(&d, ts(NOW)).unwrap(),
        centre(1).details_query(&d, ts(NOW)).unwrap()
    );
    assert_ne!(
        centre(1).details_query(&d, ts(NOW)).unwrap(),
        centre(2).details_query(&d, ts(NOW)).unwrap()
    );
}

#[test]
fn slots_are_generated_independently_of_query_order() {
    let cc = centre(3);
    let mut q = aggregate_query();
    let late_first = cc.aggregate(
        &AggregationQuery {
            interval: "2024-05-07T00:00:00Z/2024-05-08T00:00:00Z".into(),
            ..q.clone()
        },
        ts(NOW),
    );
    assert!(late_first.is_ok());
    let first = cc.aggregate(&q, ts(NOW)).unwrap();
    q.granularity = Some("PT30M".into());
    assert_eq!(first, centre(3).aggregate(&q, ts(NOW)).unwrap());
}

fn assert_bad(result: Result<impl std::fmt::Debug, QueryError>, needle: &str) {
    let err = result.expect_err("must be refused");
    assert_eq!(err.status, 400);
    assert_eq!(err.code, "bad.request");
    assert!(
        err.message.contains(needle),
        "`{}` should mention `{needle}`",
        err.message
    );
}

#[test]
fn bad_aggregate_queries_are_400_with_a_clear_message() {
    let cc = centre(1);
    let now = ts(NOW);
    let with = |f: &dyn Fn(&mut AggregationQuery)| {
        let mut q = aggregate_query();
        f(&mut q);
        q
    };
    let cases: Vec<(AggregationQuery, &str)> = vec![
        (with(&|q| q.metrics = vec!["nAnswered".into()]), "nAnswered"),
        (with(&|q| q.metrics.clear()), "metrics"),
        (with(&|q| q.interval.clear()), "interval"),
        (
            with(&|q| q.interval = "2024-05-06/2024-05-07".into()),
            "interval",
        ),
        (
            with(&|q| q.interval = "2024-05-07T00:00:00Z/2024-05-06T00:00:00Z".into()),
            "interval",
        ),
        (
            with(&|q| q.granularity = Some("15 minutes".into())),
            "granularity",
        ),
        (
            with(&|q| q.granularity = Some("PT10S".into())),
            "granularity",
        ),
        (
            with(&|q| q.time_zone = Some("Mars/Olympus_Mons".into())),
            "Mars/Olympus_Mons",
        ),
        (with(&|q| q.group_by = vec!["queue".into()]), "queue"),
        (
            with(&|q| q.alternate_time_dimension = Some("segmentStart".into())),
            "alternateTimeDimension",
        ),
        (with(&|q| q.query_type = Some("top".into())), "queryType"),
        (
            with(&|q| q.interval = "2020-01-01T00:00:00Z/2024-01-01T00:00:00Z".into()),
            "smaller intervals",
        ),
        (
            with(&|q| {
                q.filter = Some(Filter::and(vec![Predicate::dimension_matches(
                    "queueName",
                    "x",
                )]))
            }),
            "queueName",
        ),
        (
            with(&|q| {
                q.filter = Some(Filter::and(vec![Predicate {
                    value: Some("x".into()),
                    ..Predicate::default()
                }]))
            }),
            "dimension",
        ),
        (with(&|q| q.filter = Some(Filter::and(vec![]))), "filter"),
        (
            with(&|q| {
                q.interval = "2024-01-01T00:00:00Z/2025-01-01T00:00:00Z".into();
                q.granularity = Some("PT1M".into());
            }),
            "buckets",
        ),
        (
            with(&|q| {
                q.views = vec![AggregationView {
                    target: "tHandle".into(),
                    name: "tTalk".into(),
                    function: "rangeBound".into(),
                    range: None,
                }]
            }),
            "tTalk",
        ),
    ];
    for (q, needle) in cases {
        assert_bad(cc.validate_aggregate(&q), needle);
        assert_bad(cc.aggregate(&q, now), needle);
    }
}

#[test]
fn valid_but_uncarried_dimension_yields_groups_without_the_key() {
    let cc = centre(1);
    let mut q = aggregate_query();
    q.group_by = vec!["queueId".into(), "externalTag".into()];
    let r = cc.aggregate(&q, ts(NOW)).unwrap();
    assert!(!r.results.is_empty());
    assert!(
        r.results
            .iter()
            .all(|g| g.group.contains_key("queueId") && !g.group.contains_key("externalTag"))
    );
    q.filter = Some(Filter::and(vec![Predicate::dimension_exists(
        "externalTag",
    )]));
    assert!(cc.aggregate(&q, ts(NOW)).unwrap().results.is_empty());
}

#[test]
fn views_count_observations_in_range() {
    let cc = centre(1);
    let mut q = aggregate_query();
    q.group_by.clear();
    q.granularity = None;
    let range = NumericRange {
        lt: Some(20_000.0),
        ..NumericRange::default()
    };
    q.views = vec![AggregationView {
        target: "tAnswered".into(),
        name: "answeredUnder20s".into(),
        function: "rangeBound".into(),
        range: Some(range),
    }];
    let r = cc.aggregate(&q, ts(NOW)).unwrap();
    let data = &r.results[0].data[0];
    let answered = data
        .metrics
        .iter()
        .find(|m| m.metric == "tAnswered")
        .unwrap()
        .stats
        .count
        .unwrap();
    let within = data.views[0].stats.count.unwrap();
    assert!(within > 0 && within < answered, "{within} of {answered}");
}

fn details(interval: &str) -> ConversationQuery {
    ConversationQuery {
        interval: interval.into(),
        ..ConversationQuery::default()
    }
}

#[test]
fn bad_details_queries_are_400() {
    let cc = centre(1);
    let now = ts(NOW);
    let filtered = |interval| ConversationQuery {
        conversation_filters: vec![
            serde_json::from_value(serde_json::json!({
                "type": "and",
                "predicates": [{"dimension": "originatingDirection", "value": "inbound"}]
            }))
            .unwrap(),
        ],
        ..details(interval)
    };
    let long = filtered("2024-01-01T00:00:00Z/2024-02-02T00:00:00Z");
    assert_bad(cc.details_query(&long, now), "does not exceed 31 days");
    assert_bad(cc.details_job(&long, now, now), "does not exceed 31 days");
    // Without a filter the limit is 7 days, for jobs as for queries.
    let week_and_a_bit = details("2024-05-01T00:00:00Z/2024-05-08T00:00:01Z");
    assert_bad(
        cc.details_query(&week_and_a_bit, now),
        "does not exceed 7 days",
    );
    assert_bad(
        cc.details_job(&week_and_a_bit, now, now),
        "does not exceed 7 days",
    );
    let week = details("2024-05-01T00:00:00Z/2024-05-08T00:00:00Z");
    assert!(cc.details_job(&week, now, now).is_ok());
    let paged = |size, number| ConversationQuery {
        paging: Some(PagingSpec {
            page_size: size,
            page_number: number,
        }),
        ..details("2024-05-06T00:00:00Z/2024-05-07T00:00:00Z")
    };
    assert_bad(cc.details_query(&paged(101, 1), now), "pageSize");
    assert_bad(
        cc.details_query(&paged(100, 1001), now),
        "Pagination may not exceed 100000 results.",
    );
    assert_bad(cc.details_query(&details(""), now), "interval");
    let unknown = ConversationQuery {
        segment_filters: vec![Filter::and(vec![Predicate::dimension_matches(
            "queue", "x",
        )])],
        ..details("2024-05-06T00:00:00Z/2024-05-07T00:00:00Z")
    };
    assert_bad(cc.details_query(&unknown, now), "queue");
    assert_bad(cc.details_job(&unknown, now, now), "queue");
    // Jobs are held to the same limits (the sources quote them for the query only: the
    // conservative reading, which the sync meets by reading a long window in pieces).
    assert_bad(
        cc.details_job(
            &details("2024-01-01T00:00:00Z/2024-02-02T00:00:00Z"),
            ts("2024-01-01T06:00:00Z"),
            ts("2024-01-01T06:00:00Z"),
        ),
        "does not exceed 7 days",
    );
}

#[test]
fn details_query_pages_through_the_days_touched() {
    let cc = centre(4);
    let now = ts(NOW);
    let base = details("2024-05-06T10:00:00Z/2024-05-06T11:00:00Z");
    let first = cc.details_query(&base, now).unwrap();
    let total = first.total_hits.unwrap() as usize;
    assert!(total > 1_000, "the whole UTC day is searched: {total}");
    assert_eq!(first.conversations.as_ref().unwrap().len(), 25);
    let mut seen = Vec::new();
    for page in 1.. {
        let q = ConversationQuery {
            paging: Some(PagingSpec {
                page_size: 100,
                page_number: page,
            }),
            ..base.clone()
        };
        let r = cc.details_query(&q, now).unwrap();
        let Some(conversations) = r.conversations else {
            break;
        };
        seen.extend(
            conversations
                .into_iter()
                .map(|c| (c.conversation_start, c.conversation_id)),
        );
    }
    assert_eq!(seen.len(), total);
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "ascending by conversationStart"
    );
    assert!(
        seen.iter()
            .all(|(start, _)| start.starts_with("2024-05-06"))
    );
    let desc = ConversationQuery {
        order: Some("desc".into()),
        ..base.clone()
    };
    let r = cc.details_query(&desc, now).unwrap();
    assert_eq!(
        r.conversations.unwrap()[0].conversation_id,
        seen.last().unwrap().1
    );
}

#[test]
fn details_filters_select_conversations_and_segments() {
    let cc = centre(4);
    let now = ts(NOW);
    let queue = cc.org().queues[0].id.clone();
    let q = ConversationQuery {
        conversation_filters: vec![Filter::and(vec![Predicate::dimension_matches(
            "originatingDirection",
            "inbound",
        )])],
        segment_filters: vec![Filter::and(vec![
            Predicate::dimension_matches("queueId", &queue),
            Predicate::dimension_matches("segmentType", "wrapup"),
        ])],
        paging: Some(PagingSpec {
            page_size: 100,
            page_number: 1,
        }),
        ..details("2024-05-06T00:00:00Z/2024-05-07T00:00:00Z")
    };
    let r = cc.details_query(&q, now).unwrap();
    let conversations = r.conversations.unwrap();
    assert!(!conversations.is_empty());
    for c in conversations {
        assert_eq!(c.originating_direction.as_deref(), Some("inbound"));
        let wrapped_in_queue = c
            .participants
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .any(|g| g.queue_id.as_deref() == Some(queue.as_str()) && g.segment_type == "wrapup");
        assert!(wrapped_in_queue);
    }
}

#[test]
fn in_progress_conversations_show_only_the_past() {
    let cc = centre(4);
    let now = ts("2024-05-06T10:30:00Z");
    let q = details("2024-05-06T10:00:00Z/2024-05-06T10:30:00Z");
    let conversations = cc.details_job(&q, now, now).unwrap();
    assert!(!conversations.is_empty());
    let ongoing: Vec<_> = conversations
        .iter()
        .filter(|c| c.conversation_end.is_none())
        .collect();
    assert!(
        !ongoing.is_empty(),
        "some conversations are still in progress at now"
    );
    for c in &conversations {
        assert!(c.conversation_start.as_str() <= "2024-05-06T10:30:00.000Z");
        for s in c.participants.iter().flat_map(|p| &p.sessions) {
            assert!(
                s.metrics
                    .iter()
                    .all(|m| m.emit_date.as_str() <= "2024-05-06T10:30:00.000Z")
            );
            for g in &s.segments {
                assert!(
                    g.segment_end
                        .as_deref()
                        .is_none_or(|e| e <= "2024-05-06T10:30:00.000Z")
                );
            }
        }
    }
    for c in ongoing {
        let open = c
            .participants
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .any(|g| g.segment_end.is_none());
        assert!(open, "an ongoing conversation has an open segment");
    }
    // The datalake cut: nothing started after available_until.
    let cut = ts("2024-05-06T10:10:00Z");
    let limited = cc.details_job(&q, now, cut).unwrap();
    assert!(limited.len() < conversations.len());
    assert!(
        limited
            .iter()
            .all(|c| c.conversation_start.as_str() <= "2024-05-06T10:10:00.000Z")
    );
}

#[test]
fn compact_table_serialises_exactly_like_the_response() {
    let cc = centre(1);
    let mut with_views = aggregate_query();
    with_views.views = vec![AggregationView {
        target: "tHandle".into(),
        name: "longHandle".into(),
        function: "rangeBound".into(),
        range: Some(NumericRange {
            gte: Some(600_000.0),
            ..NumericRange::default()
        }),
    }];
    let mut empty = aggregate_query();
    empty.metrics = vec!["tVoicemail".into()];
    let mut day = aggregate_query();
    day.interval = "2024-05-05T00:00:00Z/2024-05-08T00:00:00Z".into();
    day.granularity = Some("PT15M".into());
    day.time_zone = Some("Europe/London".into());
    for q in [aggregate_query(), with_views, empty, day] {
        let table = cc.aggregate_table(&q, ts(NOW)).unwrap();
        let streamed: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec(&table).unwrap()).unwrap();
        let rows = table.rows();
        let response = table.into_response();
        assert_eq!(
            rows,
            response.results.iter().map(|r| r.data.len()).sum::<usize>()
        );
        assert_eq!(streamed, serde_json::to_value(&response).unwrap());
        assert_eq!(response, cc.aggregate(&q, ts(NOW)).unwrap());
    }
}

#[test]
fn details_metric_predicates_filter_on_session_metrics() {
    let cc = centre(4);
    let now = ts(NOW);
    let held = Predicate {
        metric: Some("tHeld".into()),
        operator: Some(genesys::filter::Operator::Exists),
        ..Predicate::default()
    };
    let long_talk = Predicate {
        metric: Some("tTalk".into()),
        range: Some(NumericRange {
            gte: Some(600_000.0),
            ..NumericRange::default()
        }),
        ..Predicate::default()
    };
    let q = ConversationQuery {
        conversation_filters: vec![Filter::and(vec![held, long_talk])],
        paging: Some(PagingSpec {
            page_size: 100,
            page_number: 1,
        }),
        ..details("2024-05-06T00:00:00Z/2024-05-07T00:00:00Z")
    };
    let r = cc.details_query(&q, now).unwrap();
    let all = cc
        .details_query(&details("2024-05-06T00:00:00Z/2024-05-07T00:00:00Z"), now)
        .unwrap();
    let conversations = r.conversations.unwrap();
    assert!(!conversations.is_empty() && r.total_hits < all.total_hits);
    for c in conversations {
        let metrics: Vec<_> = c
            .participants
            .iter()
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.metrics)
            .collect();
        assert!(metrics.iter().any(|m| m.name == "tHeld"));
        assert!(
            metrics
                .iter()
                .any(|m| m.name == "tTalk" && m.value >= 600_000)
        );
    }
}

#[test]
fn conversation_filters_agree_with_the_records() {
    use genesys::filter::{Clause, FilterType, Operator};
    let cc = centre(5);
    let now = ts("2024-05-06T12:00:00Z");
    let interval = "2024-05-06T00:00:00Z/2024-05-07T00:00:00Z";
    let all = cc.details_job(&details(interval), now, now).unwrap();
    let division = cc.org().queues[3].division.as_ref().unwrap().id.clone();
    let ended = Predicate {
        dimension: Some("conversationEnd".into()),
        operator: Some(Operator::Exists),
        ..Predicate::default()
    };
    let filter = Filter {
        kind: FilterType::And,
        predicates: vec![ended],
        clauses: vec![Clause {
            kind: FilterType::Or,
            predicates: vec![
                Predicate::dimension_matches("originatingDirection", "outbound"),
                Predicate::dimension_matches("divisionId", &division),
                Predicate::dimension_matches("customerParticipation", "false"),
            ],
        }],
    };
    let expected: Vec<_> = all
        .iter()
        .filter(|c| {
            c.conversation_end.is_some()
                && (c.originating_direction.as_deref() == Some("outbound")
                    || c.division_ids.contains(&division)
                    || c.customer_participation == Some(false))
        })
        .map(|c| c.conversation_id.clone())
        .collect();
    let q = ConversationQuery {
        conversation_filters: vec![filter],
        ..details(interval)
    };
    let got: Vec<_> = cc
        .details_job(&q, now, now)
        .unwrap()
        .into_iter()
        .map(|c| c.conversation_id)
        .collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(got, expected);
    let by_id = ConversationQuery {
        conversation_filters: vec![Filter::and(vec![Predicate::dimension_matches(
            "conversationId",
            &expected[0],
        )])],
        ..details(interval)
    };
    assert_eq!(cc.details_query(&by_id, now).unwrap().total_hits, Some(1));
}
