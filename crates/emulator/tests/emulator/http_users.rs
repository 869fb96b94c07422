//! Users aggregates and presence definitions over real HTTP: the query, its async jobs with
//! cursor paging over users, the 400s Genesys gives (`invalid.value`, too many userId
//! predicates), the permission, and the presence definitions listing that needs none.

use std::collections::HashSet;

use genesys::jobs::{AsyncQueryResponse, AsyncQueryStatus, JobState};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::TestEmulator;
use test_support::emulator::expect_error;

const QUERY: &str = "/api/v2/analytics/users/aggregates/query";
const JOBS: &str = "/api/v2/analytics/users/aggregates/jobs";
const PRESENCES: &str = "/api/v2/presencedefinitions";

fn day_query() -> Value {
    json!({
        "interval": "2024-05-08T00:00:00.000Z/2024-05-09T00:00:00.000Z",
        "granularity": "PT1H",
        "timeZone": "UTC",
        "groupBy": ["userId"],
        "metrics": ["tSystemPresence", "tOrganizationPresence", "tAgentRoutingStatus"],
    })
}

#[tokio::test]
async fn the_query_answers_every_user_with_sum_only_stats_and_mappings() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let response = emu.post_json(&token, QUERY, &day_query()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["results", "systemToOrganizationMappings"]);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 12, "every user of the test org");
    let mapped: HashSet<&str> = body["systemToOrganizationMappings"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ids| ids.as_array().unwrap())
        .map(|id| id.as_str().unwrap())
        .collect();
    for group in results {
        assert_eq!(group["group"].as_object().unwrap().len(), 1);
        let buckets = group["data"].as_array().unwrap();
        assert_eq!(buckets.len(), 24, "PT1H over a past day");
        for bucket in buckets {
            let metrics = bucket["metrics"].as_array().unwrap();
            let presence: i64 = metrics
                .iter()
                .filter(|m| m["metric"] == "tSystemPresence")
                .map(|m| m["stats"]["sum"].as_i64().unwrap())
                .sum();
            assert_eq!(
                presence, 3_600_000,
                "one system presence at a time, all hour long"
            );
            for m in metrics
                .iter()
                .filter(|m| m["metric"] == "tOrganizationPresence")
            {
                assert!(mapped.contains(m["qualifier"].as_str().unwrap()));
            }
        }
    }
}

#[tokio::test]
async fn a_job_pages_users_by_cursor_each_exactly_once() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let mut body = day_query();
    body["pageSize"] = json!(5);
    let submitted = emu.post_json(&token, JOBS, &body).await;
    assert_eq!(submitted.status(), StatusCode::ACCEPTED);
    let id = submitted.json::<AsyncQueryResponse>().await.unwrap().job_id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status: AsyncQueryStatus = emu
            .get(&token, &format!("{JOBS}/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if status.state == JobState::Fulfilled {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "job never settled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{JOBS}/{id}/results?cursor={c}"),
            None => format!("{JOBS}/{id}/results"),
        };
        let page: Value = emu.get(&token, &path).await.json().await.unwrap();
        pages += 1;
        assert!(page["systemToOrganizationMappings"].is_object());
        for group in page["results"].as_array().unwrap() {
            seen.push(group["group"]["userId"].as_str().unwrap().to_string());
        }
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3, "12 users, 5 a page");
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (12, 12));
    let deleted = emu
        .http
        .delete(emu.url(&format!("{JOBS}/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn refusals_name_the_field_and_value_as_genesys_does() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let mut by_queue = day_query();
    by_queue["groupBy"] = json!(["queueId"]);
    let body = expect_error(
        emu.post_json(&token, QUERY, &by_queue).await,
        400,
        "invalid.value",
    )
    .await;
    assert_eq!(
        body.message,
        "Value [queueId] is not valid for field type [UserAggregateDimension]. Allowable values are: userId"
    );
    let mut unknown = day_query();
    unknown["metrics"] = json!(["tHandle"]);
    let body = expect_error(
        emu.post_json(&token, QUERY, &unknown).await,
        400,
        "invalid.value",
    )
    .await;
    assert!(body.message.contains("[tHandle]"), "{}", body.message);
    let mut crowded = day_query();
    let predicates: Vec<Value> = (0..101)
        .map(
            |i| json!({"dimension": "userId", "value": format!("00000000-0000-4000-8000-{i:012}")}),
        )
        .collect();
    crowded["filter"] = json!({"type": "or", "predicates": predicates});
    let body = expect_error(
        emu.post_json(&token, QUERY, &crowded).await,
        400,
        "bad.request",
    )
    .await;
    assert!(
        body.message.contains("100 userId predicates"),
        "{}",
        body.message
    );
    let job = expect_error(
        emu.post_json(&token, JOBS, &by_queue).await,
        400,
        "invalid.value",
    )
    .await;
    assert!(job.message.contains("UserAggregateDimension"));
}

#[tokio::test]
async fn users_aggregates_need_their_permission_and_presence_definitions_none() {
    let emu = TestEmulator::spawn_with(|config| {
        config.limited_clients = vec!["nothing:pw:".parse().unwrap()];
    })
    .await;
    let token = emu
        .http
        .post(emu.url("/oauth/token"))
        .basic_auth("nothing", Some("pw"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = expect_error(
        emu.post_json(&token, QUERY, &day_query()).await,
        403,
        "missing.permissions",
    )
    .await;
    assert!(
        body.message.ends_with(": analytics:userAggregate:view"),
        "{}",
        body.message
    );
    expect_error(
        emu.post_json(&token, JOBS, &day_query()).await,
        403,
        "missing.permissions",
    )
    .await;
    let listing = emu.get(&token, PRESENCES).await;
    assert_eq!(listing.status(), StatusCode::OK);
    let newer = expect_error(
        emu.get(&token, PRESENCE_DEFINITIONS).await,
        403,
        "missing.permissions",
    )
    .await;
    assert!(
        newer
            .message
            .ends_with(": presence:presenceDefinition:view"),
        "{}",
        newer.message
    );
}

const PRESENCE_DEFINITIONS: &str = "/api/v2/presence/definitions";

#[tokio::test]
async fn the_newer_presence_definitions_list_the_same_ids_typed_and_unpaged() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let legacy: Value = emu.get(&token, PRESENCES).await.json().await.unwrap();
    let newer: Value = emu
        .get(&token, PRESENCE_DEFINITIONS)
        .await
        .json()
        .await
        .unwrap();
    let keys: Vec<&String> = newer.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["entities", "selfUri", "total"], "no paging fields");
    let entities = newer["entities"].as_array().unwrap();
    assert_eq!(newer["total"], entities.len());
    for e in entities {
        let twin = legacy["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == e["id"])
            .expect("the same ids in both listings");
        let kind = if twin["primary"] == true {
            "System"
        } else {
            "User"
        };
        assert_eq!(e["type"], kind);
        let spelled = twin["systemPresence"].as_str().unwrap().replace(' ', "");
        assert_eq!(
            e["systemPresence"],
            spelled.as_str(),
            "`On Queue` is `OnQueue` here"
        );
    }
    let deactivated: Value = emu
        .get(&token, &format!("{PRESENCE_DEFINITIONS}?deactivated=TRUE"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(deactivated["total"], 0);
}

#[tokio::test]
async fn presence_definitions_list_primaries_and_secondaries_in_the_legacy_spelling() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let page: Value = emu
        .get(&token, &format!("{PRESENCES}?pageSize=25"))
        .await
        .json()
        .await
        .unwrap();
    let entities = page["entities"].as_array().unwrap();
    assert_eq!(page["total"], entities.len());
    let ids: HashSet<&str> = entities.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), entities.len());
    let on_queue = entities
        .iter()
        .find(|e| e["systemPresence"] == "On Queue")
        .expect("the legacy spelling `On Queue`");
    assert_eq!(on_queue["primary"], true);
    assert_eq!(on_queue["languageLabels"]["en_US"], "On Queue");
    let secondaries: Vec<&Value> = entities.iter().filter(|e| e["primary"] == false).collect();
    assert!(!secondaries.is_empty());
    for s in secondaries {
        let parent = entities
            .iter()
            .find(|e| e["primary"] == true && e["systemPresence"] == s["systemPresence"]);
        assert!(parent.is_some(), "secondary {s} has no primary");
    }
    // Every presence id a users aggregate mentions is defined here.
    let answer: Value = emu
        .post_json(&token, QUERY, &day_query())
        .await
        .json()
        .await
        .unwrap();
    for ids_of in answer["systemToOrganizationMappings"]
        .as_object()
        .unwrap()
        .values()
    {
        for id in ids_of.as_array().unwrap() {
            assert!(
                ids.contains(id.as_str().unwrap()),
                "{id} is not a presence definition"
            );
        }
    }
}
