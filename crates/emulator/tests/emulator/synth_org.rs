//! The synthetic organisation's directories: shape, determinism, referential integrity.

use emulator::synth::{ContactCentre, OrgShape};

#[test]
fn default_org_has_the_requested_shape() {
    let cc = ContactCentre::new(42, &OrgShape::default());
    let org = cc.org();
    assert_eq!(org.queues.len(), 25);
    assert_eq!(org.users.len(), 200);
    assert_eq!(org.wrapup_codes.len(), 30);
    assert!(org.queues.iter().any(|q| q.name == "Tech Support Tier 2"));
    for q in &org.queues {
        let settings = q.media_settings.as_ref().expect("media settings");
        let levels: Vec<_> = [
            &settings.call,
            &settings.callback,
            &settings.chat,
            &settings.email,
            &settings.message,
        ]
        .into_iter()
        .flatten()
        .filter_map(|m| m.service_level.as_ref())
        .collect();
        assert!(!levels.is_empty(), "{} has no service level", q.name);
        assert!(
            levels
                .iter()
                .all(|l| l.percentage > 0.0 && l.percentage <= 1.0 && l.duration_ms > 0)
        );
        assert!(q.member_count.unwrap() >= 1);
        assert!(q.division.as_ref().is_some_and(|d| d.name.is_some()));
    }
    for u in &org.users {
        assert!(u.email.as_ref().is_some_and(|e| e.contains('@')));
        assert!(u.team.is_some() && u.division.is_some());
    }
}

#[test]
fn ids_are_unique_uuids() {
    let cc = ContactCentre::new(7, &OrgShape::default());
    let org = cc.org();
    let mut ids: Vec<&str> = org.queues.iter().map(|q| q.id.as_str()).collect();
    ids.extend(org.users.iter().map(|u| u.id.as_str()));
    ids.extend(org.wrapup_codes.iter().map(|w| w.id.as_str()));
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
}

#[test]
fn same_seed_same_org_other_seed_other_org() {
    let a = ContactCentre::new(1, &OrgShape::default());
    let b = ContactCentre::new(1, &OrgShape::default());
    let c = ContactCentre::new(2, &OrgShape::default());
    assert_eq!(a.org().queues, b.org().queues);
    assert_eq!(a.org().users, b.org().users);
    assert_ne!(a.org().queues[0].id, c.org().queues[0].id);
}

#[test]
fn larger_shapes_get_numbered_names() {
    let shape = OrgShape {
        queues: 30,
        agents: 10,
        wrapup_codes: 35,
        ..OrgShape::default()
    };
    let cc = ContactCentre::new(3, &shape);
    assert_eq!(cc.org().queues.len(), 30);
    assert_eq!(cc.org().queues[25].name, "Billing 2");
    assert_eq!(cc.org().users.len(), 10);
}

#[test]
fn degenerate_shapes_produce_no_traffic_but_never_panic() {
    use genesys::aggregates::AggregationQuery;
    use genesys::details::ConversationQuery;
    let now: jiff::Timestamp = "2024-06-01T00:00:00Z".parse().unwrap();
    let query = AggregationQuery {
        interval: "2024-05-06T00:00:00Z/2024-05-07T00:00:00Z".into(),
        group_by: vec!["queueId".into()],
        metrics: vec!["nOffered".into(), "tHandle".into()],
        ..AggregationQuery::default()
    };
    let details = ConversationQuery {
        interval: query.interval.clone(),
        ..ConversationQuery::default()
    };
    for shape in [
        OrgShape {
            queues: 0,
            ..OrgShape::default()
        },
        OrgShape {
            agents: 0,
            ..OrgShape::default()
        },
        OrgShape {
            wrapup_codes: 0,
            ..OrgShape::default()
        },
        OrgShape {
            conversations_per_day: 0,
            ..OrgShape::default()
        },
        OrgShape {
            queues: 25,
            agents: 3,
            wrapup_codes: 1,
            conversations_per_day: 500,
            late_wrapup_percent: 0,
        },
    ] {
        let cc = ContactCentre::new(1, &shape);
        let r = cc.aggregate(&query, now).unwrap();
        let d = cc.details_query(&details, now).unwrap();
        let has_traffic = shape.queues > 0 && shape.agents > 0 && shape.conversations_per_day > 0;
        assert_eq!(!r.results.is_empty(), has_traffic, "{shape:?}");
        assert_eq!(d.total_hits.unwrap() > 0, has_traffic, "{shape:?}");
        if shape.agents == 3 {
            // Only the staffed queues receive conversations.
            let staffed = cc
                .org()
                .queues
                .iter()
                .filter(|q| q.member_count.unwrap_or(0) > 0)
                .count();
            assert!(r.results.len() <= staffed);
        }
    }
}

#[test]
fn centre_and_table_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<ContactCentre>();
    shared::<emulator::synth::AggregateTable>();
}
