//! The emulator's replies against real recorded responses (`tests/fixtures/genesys-recorded`,
//! copied from the shared fixtures with their SOURCES.md): the same keys at every level, the
//! same number kinds (integer vs float) and the same envelopes. Map keys that are data (system
//! presences in `systemToOrganizationMappings`) are compared as one placeholder.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::TestEmulator;

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Int,
    Float,
    Str,
    Bool,
    Null,
    /// The union of the element shapes (None: empty).
    Array(Option<Box<Shape>>),
    Object(BTreeMap<String, Shape>),
}

const DATA_KEYS: &[&str] = &genesys::users_catalog::SYSTEM_PRESENCES;

fn shape(v: &Value) -> Shape {
    match v {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(n) if n.is_f64() => Shape::Float,
        Value::Number(_) => Shape::Int,
        Value::String(_) => Shape::Str,
        Value::Array(items) => Shape::Array(items.iter().map(shape).reduce(merge).map(Box::new)),
        Value::Object(map) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                let key = if DATA_KEYS.contains(&k.as_str()) {
                    "<systemPresence>"
                } else {
                    k
                };
                let s = shape(v);
                let merged = match out.remove(key) {
                    Some(prev) => merge(prev, s),
                    None => s,
                };
                out.insert(key.to_string(), merged);
            }
            Shape::Object(out)
        }
    }
}

/// Union of two shapes: objects merge their keys, arrays their elements.
fn merge(a: Shape, b: Shape) -> Shape {
    match (a, b) {
        (Shape::Object(mut x), Shape::Object(y)) => {
            for (k, v) in y {
                let merged = match x.remove(&k) {
                    Some(prev) => merge(prev, v),
                    None => v,
                };
                x.insert(k, merged);
            }
            Shape::Object(x)
        }
        (Shape::Array(x), Shape::Array(y)) => Shape::Array(match (x, y) {
            (Some(x), Some(y)) => Some(Box::new(merge(*x, *y))),
            (x, y) => x.or(y),
        }),
        (a, b) if a == b => a,
        (a, b) => panic!("mixed shapes in one reply: {a:?} and {b:?}"),
    }
}

fn recorded(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/genesys-recorded")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[tokio::test]
async fn users_aggregates_have_the_recorded_shape() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    // The recorded request: three days, no granularity, by user, both presence metrics.
    let query = json!({
        "interval": "2024-05-06T00:00:00.000Z/2024-05-09T00:00:00.000Z",
        "groupBy": ["userId"],
        "metrics": ["tSystemPresence", "tOrganizationPresence"],
    });
    let response = emu
        .post_json(&token, "/api/v2/analytics/users/aggregates/query", &query)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ours: Value = response.json().await.unwrap();
    let real = recorded("users-aggregates-1.json");
    assert_eq!(shape(&ours), shape(&real), "\nours: {ours:#}");
    // The one bucket is the query interval, echoed with milliseconds.
    assert_eq!(
        ours["results"][0]["data"][0]["interval"],
        "2024-05-06T00:00:00.000Z/2024-05-09T00:00:00.000Z"
    );
}

#[tokio::test]
async fn an_invalid_users_dimension_has_the_recorded_error_envelope() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let query = json!({
        "interval": "2024-05-06T00:00:00.000Z/2024-05-07T00:00:00.000Z",
        "groupBy": ["mediaType"],
        "metrics": ["tSystemPresence"],
    });
    let response = emu
        .post_json(&token, "/api/v2/analytics/users/aggregates/query", &query)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let ours: Value = response.json().await.unwrap();
    let real = recorded("error-400-2.json");
    assert_eq!(shape(&ours), shape(&real), "\nours: {ours:#}");
    assert_eq!(ours["code"], real["code"]);
    let message = ours["message"].as_str().unwrap();
    let tail = real["message"].as_str().unwrap().split_once(']').unwrap().1;
    assert!(message.ends_with(tail), "{message}");
}

#[tokio::test]
async fn users_details_have_the_recorded_shape_and_empty_envelope() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let path = "/api/v2/analytics/users/details/query";
    let query = json!({
        "interval": "2024-05-08T00:00:00.000Z/2024-05-08T06:00:00.000Z",
        "paging": {"pageSize": 100, "pageNumber": 1},
    });
    let ours: Value = emu
        .post_json(&token, path, &query)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shape(&ours),
        shape(&recorded("users-details-1.json")),
        "\nours: {ours:#}"
    );
    // A user with presence records only has no routingStatus key (recorded): keep only a
    // routing status this user does not have in that window (it made no outbound call).
    let presence_only = json!({
        "interval": "2024-05-08T00:00:00.000Z/2024-05-08T06:00:00.000Z",
        "routingStatusFilters": [{"type": "and", "predicates": [{"dimension": "routingStatus", "value": "COMMUNICATING"}]}],
        "userFilters": [{"type": "or", "predicates": [{"dimension": "userId", "value": ours["userDetails"][0]["userId"]}]}],
    });
    let ours: Value = emu
        .post_json(&token, path, &presence_only)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        shape(&ours),
        shape(&recorded("users-details-2.json")),
        "\nours: {ours:#}"
    );
    let future = json!({"interval": "2024-05-11T00:00:00.000Z/2024-05-11T06:00:00.000Z"});
    let ours: Value = emu
        .post_json(&token, path, &future)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ours, recorded("users-details-3.json"));
}

/// The fields of `shape` (an object) that `real` also has, with the same shapes; and the names
/// `ours` has that `real` lacks.
fn unknown_keys(ours: &Shape, real: &Shape) -> Vec<String> {
    let (Shape::Object(ours), Shape::Object(real)) = (ours, real) else {
        panic!("not objects: {ours:?} / {real:?}");
    };
    let mut unknown = Vec::new();
    for (k, v) in ours {
        match real.get(k) {
            None => unknown.push(k.clone()),
            Some(r) if matches!((v, r), (Shape::Object(_), Shape::Object(_))) => {
                unknown.extend(unknown_keys(v, r).into_iter().map(|u| format!("{k}.{u}")));
            }
            Some(r) if matches!((v, r), (Shape::Array(_), Shape::Array(_))) => {
                if let (Shape::Array(Some(a)), Shape::Array(Some(b))) = (v, r) {
                    if matches!((&**a, &**b), (Shape::Object(_), Shape::Object(_))) {
                        unknown
                            .extend(unknown_keys(a, b).into_iter().map(|u| format!("{k}[].{u}")));
                    } else {
                        assert_eq!(a, b, "{k}[]");
                    }
                }
            }
            Some(r) => assert_eq!(v, r, "{k}: number kind or type differs"),
        }
    }
    unknown
}

#[tokio::test]
async fn voice_details_carry_the_recorded_flow_quality_and_edge_fields() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let query = json!({
        "interval": "2024-05-08T08:00:00.000Z/2024-05-08T12:00:00.000Z",
        "paging": {"pageSize": 100, "pageNumber": 1},
    });
    let ours: Value = emu
        .post_json(
            &token,
            "/api/v2/analytics/conversations/details/query",
            &query,
        )
        .await
        .json()
        .await
        .unwrap();
    let real = recorded("details-query-1.json");
    let ivr_real = &real["conversations"][0]["participants"][1]["sessions"][0];
    let conversations = ours["conversations"].as_array().unwrap();
    let mut flows = 0;
    for c in conversations {
        let mut lowest = f64::MAX;
        for p in c["participants"].as_array().unwrap() {
            for s in p["sessions"].as_array().unwrap() {
                for g in s["segments"].as_array().unwrap() {
                    assert_eq!(g["conference"], false, "every segment says conference");
                }
                if s["mediaType"] != "voice" {
                    assert!(s.get("mediaEndpointStats").is_none() && s.get("flow").is_none());
                    continue;
                }
                assert_eq!(s["provider"], "Edge");
                assert!(s["edgeId"].is_string());
                if p["purpose"] == "customer" {
                    assert_eq!(s["recording"], true);
                }
                let stats = s["mediaEndpointStats"].as_array().unwrap();
                let unknown = unknown_keys(
                    &shape(&stats[0]),
                    &shape(&ivr_real["mediaEndpointStats"][0]),
                )
                .into_iter()
                .filter(|k| k != "discardedPackets")
                .collect::<Vec<_>>();
                assert!(
                    unknown.is_empty(),
                    "mediaEndpointStats keys not recorded: {unknown:?}"
                );
                lowest = lowest.min(stats[0]["minMos"].as_f64().unwrap());
                if p["purpose"] == "ivr" {
                    flows += 1;
                    let flow = &s["flow"];
                    assert!(
                        unknown_keys(&shape(flow), &shape(&ivr_real["flow"])).is_empty(),
                        "{flow}"
                    );
                    for key in ["flowName", "flowType", "entryReason", "exitReason"] {
                        assert!(flow[key].is_string(), "flow lacks {key}: {flow}");
                    }
                    if flow["exitReason"] == "TRANSFER" {
                        assert!(flow["transferTargetName"].is_string());
                    }
                }
            }
        }
        if lowest < f64::MAX {
            assert_eq!(c["mediaStatsMinConversationMos"].as_f64(), Some(lowest));
            assert!(c["mediaStatsMinConversationMos"].is_f64());
        }
    }
    assert!(
        flows > 0,
        "no IVR flow in {} conversations",
        conversations.len()
    );
}
