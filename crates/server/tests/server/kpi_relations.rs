//! The star in `$metadata`: every fact set (raw and KPI) has navigation properties with
//! referential constraints to the directory sets, bound in the container; every property is
//! described; the daily sets' `date` is an `Edm.Date` a `$filter` compares with a date; and
//! `$expand` brings the related directory entity, or null.

use std::collections::BTreeMap;

use serde_json::Value;
use test_support::TestApp;

use crate::kpi_feeds::all_rows;
use crate::kpi_store::kpi_store;

const EDM: &str = "http://docs.oasis-open.org/odata/ns/edm";

/// A navigation property: (name, target set, property holding the target's id).
type Navigation = (&'static str, &'static str, &'static str);

/// (set, navigation properties) the metadata must declare.
const STAR: &[(&str, &[Navigation])] = &[
    ("queue_performance", &[("queue", "queues", "queue_id")]),
    ("queue_performance_kpi", &[("queue", "queues", "queue_id")]),
    (
        "queue_performance_daily_kpi",
        &[("queue", "queues", "queue_id")],
    ),
    (
        "agent_performance_daily_kpi",
        &[("user", "users", "user_id")],
    ),
    (
        "wrapup_performance_daily_kpi",
        &[
            ("queue", "queues", "queue_id"),
            ("wrapup_code", "wrapup_codes", "wrap_up_code"),
        ],
    ),
    ("queues", &[]),
];

#[tokio::test]
async fn metadata_declares_the_star_and_describes_every_property() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let text = app.get("/odata/$metadata").await.text().await.unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let types: BTreeMap<&str, roxmltree::Node<'_, '_>> = doc
        .descendants()
        .filter(|n| n.has_tag_name((EDM, "EntityType")))
        .map(|n| (n.attribute("Name").unwrap(), n))
        .collect();
    for set in [
        "queue_performance",
        "queue_performance_kpi",
        "queue_performance_daily_kpi",
        "agent_performance",
        "agent_performance_kpi",
        "agent_performance_daily_kpi",
        "wrapup_performance",
        "wrapup_performance_kpi",
        "wrapup_performance_daily_kpi",
        "queues",
        "users",
        "wrapup_codes",
    ] {
        let entity = types
            .get(set)
            .unwrap_or_else(|| panic!("no entity type {set}"));
        for property in entity
            .children()
            .filter(|n| n.has_tag_name((EDM, "Property")))
        {
            let name = property.attribute("Name").unwrap();
            let description = property
                .children()
                .find(|a| a.attribute("Term") == Some("Core.Description"))
                .and_then(|a| a.attribute("String"));
            assert!(
                description.is_some_and(|d| d.len() > 5),
                "{set}.{name} has no description"
            );
        }
    }
    let date = types["queue_performance_daily_kpi"]
        .children()
        .find(|n| n.attribute("Name") == Some("date"))
        .unwrap();
    assert_eq!(date.attribute("Type"), Some("Edm.Date"));
    assert!(text.contains(r#"<edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/>"#));

    for (set, expected) in STAR {
        let declared: Vec<(String, String, String)> = types[set]
            .children()
            .filter(|n| n.has_tag_name((EDM, "NavigationProperty")))
            .map(|n| {
                let constraint = n
                    .children()
                    .find(|c| c.has_tag_name((EDM, "ReferentialConstraint")))
                    .unwrap();
                assert_eq!(constraint.attribute("ReferencedProperty"), Some("id"));
                (
                    n.attribute("Name").unwrap().to_string(),
                    n.attribute("Type").unwrap().to_string(),
                    constraint.attribute("Property").unwrap().to_string(),
                )
            })
            .collect();
        let wanted: Vec<(String, String, String)> = expected
            .iter()
            .map(|(n, t, p)| (n.to_string(), format!("GenesysBi.{t}"), p.to_string()))
            .collect();
        assert_eq!(declared, wanted, "{set}");
        let container_set = doc
            .descendants()
            .find(|n| n.has_tag_name((EDM, "EntitySet")) && n.attribute("Name") == Some(set))
            .unwrap();
        let bindings: Vec<(&str, &str)> = container_set
            .children()
            .filter(|n| n.has_tag_name((EDM, "NavigationPropertyBinding")))
            .map(|n| (n.attribute("Path").unwrap(), n.attribute("Target").unwrap()))
            .collect();
        let wanted: Vec<(&str, &str)> = expected.iter().map(|(n, t, _)| (*n, *t)).collect();
        assert_eq!(bindings, wanted, "{set}");
    }

    // The service document lists the feeds.
    let service = app.get_json("/odata/").await;
    let names: Vec<&str> = service["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for set in types.keys() {
        assert!(names.contains(set), "{set} missing from {names:?}");
    }
}

#[tokio::test]
async fn expand_brings_each_rows_directory_entity() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let users: BTreeMap<String, (String, Value)> = app
        .table("users")
        .rows()
        .map(|r| {
            let email = r.text("email").map_or(Value::Null, Value::from);
            (
                r.text("id").unwrap().into(),
                (r.text("name").unwrap().into(), email),
            )
        })
        .collect();
    let rows = all_rows(
        &app,
        "/odata/agent_performance_daily_kpi?$expand=user($select=name,email)",
    )
    .await;
    assert!(!rows.is_empty());
    for row in &rows {
        match row["user_id"].as_str() {
            None => assert_eq!(row["user"], Value::Null),
            Some(id) => {
                let (name, email) = &users[id];
                let expected = serde_json::json!({"name": name, "email": email});
                assert_eq!(row["user"], expected, "{row}");
                assert_eq!(row["user_name"], Value::from(name.as_str()));
            }
        }
    }
    // Both of a wrap-up row's relationships, whole, with a $select that leaves their ids out.
    let rows = all_rows(
        &app,
        "/odata/wrapup_performance_daily_kpi?$select=date,handled&$expand=queue,wrapup_code",
    )
    .await;
    for row in &rows {
        let object = row.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["date", "handled", "queue", "wrapup_code"], "{row}");
        for (navigation, fields) in [("queue", 7), ("wrapup_code", 3)] {
            let related = &row[navigation];
            if !related.is_null() {
                assert_eq!(related.as_object().unwrap().len(), fields, "{related}");
            }
        }
    }
    assert!(rows.iter().any(|r| !r["wrapup_code"].is_null()));

    let response = app.get("/odata/queue_performance_kpi?$expand=user").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["target"], "$expand");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("it has: queue"),
        "{body}"
    );
    let response = app
        .get("/odata/queue_performance_kpi?$expand=queue($filter=name%20eq%20'x')")
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_date_filter_selects_that_local_day() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let all = all_rows(&app, "/odata/queue_performance_daily_kpi").await;
    let day = all_rows(
        &app,
        "/odata/queue_performance_daily_kpi?$filter=date%20eq%202024-03-31",
    )
    .await;
    let expected: Vec<&Value> = all.iter().filter(|r| r["date"] == "2024-03-31").collect();
    assert_eq!(day.iter().collect::<Vec<_>>(), expected);
    assert!(!day.is_empty());
    let later = all_rows(
        &app,
        "/odata/queue_performance_daily_kpi?$filter=date%20gt%202024-03-30&$orderby=date%20desc",
    )
    .await;
    assert_eq!(later.len(), expected.len());
    // A date is not compared with a number property, and must be a date.
    for (filter, says) in [
        ("offered%20eq%202024-03-31", "cannot be compared"),
        ("date%20eq%202024-02-30", "is not a Date"),
    ] {
        let path = format!("/odata/queue_performance_daily_kpi?$filter={filter}");
        let response = app.get(&path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["target"], "$filter");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
}
