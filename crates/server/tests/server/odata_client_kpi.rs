//! What `tests/node/odata_client.mjs` (npm `@odata/client` and `@odata/metadata`) read of the
//! KPI feeds and relationships, checked against the store: the navigation properties and their
//! referential constraints as the metadata library parsed them, a description on every
//! property, and the daily KPI feed read whole with `$expand=queue`. Called by
//! `odata_client.rs`'s test, which runs the script once.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use test_support::TestApp;
use test_support::app::DATASET;

/// Every entity set of the dataset (raw and KPI) leads to `queues` by `queue_id`; every
/// property of every set is described.
pub fn check_relations(out: &Value) {
    let sets = out["metadata"]["entitySets"].as_array().unwrap();
    let set = |name: &str| {
        sets.iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no entity set {name}"))
    };
    let to_queues = json!([{
        "name": "queue",
        "type": "GenesysBi.queues",
        "constraints": [{"property": "queue_id", "referencedProperty": "id"}],
    }]);
    for name in [
        DATASET.to_string(),
        format!("{DATASET}_kpi"),
        format!("{DATASET}_daily_kpi"),
    ] {
        assert_eq!(set(&name)["navigation"], to_queues, "{name}");
    }
    assert_eq!(set("queues")["navigation"], json!([]));
    // The feeds' first pages hold values of the types declared (`date` an Edm.Date).
    for name in [format!("{DATASET}_kpi"), format!("{DATASET}_daily_kpi")] {
        let read = &out["others"][&name];
        assert_eq!(read["typeErrors"], json!([]), "{name}: {read}");
        assert!(read["firstPage"].as_u64().unwrap() > 0, "{name}");
    }
    for s in sets {
        for p in s["properties"].as_array().unwrap() {
            let description = p["description"].as_str().unwrap_or_default();
            assert!(
                description.len() > 5,
                "{}.{} undescribed",
                s["name"],
                p["name"]
            );
        }
    }
}

/// The daily KPI feed, every page, each row with its queue expanded from the directory.
pub fn check_expanded(app: &TestApp, out: &Value) {
    let expanded = &out["expanded"];
    assert_eq!(expanded["set"], format!("{DATASET}_daily_kpi"));
    assert_eq!(
        expanded["typeErrors"],
        json!([]),
        "{}",
        expanded["typeErrors"]
    );
    let rows = expanded["rows"].as_array().unwrap();
    let stored = app.table(&format!("{DATASET}__daily")).len();
    assert_eq!(rows.len(), stored);
    assert_eq!(expanded["count"], json!(stored));
    let queues: BTreeMap<String, String> = app
        .table("queues")
        .rows()
        .map(|r| (r.text("id").unwrap().into(), r.text("name").unwrap().into()))
        .collect();
    let mut related = 0;
    for row in rows {
        let Some(id) = row["queue_id"].as_str() else {
            assert_eq!(row["queue"], Value::Null, "{row}");
            continue;
        };
        let queue = &row["queue"];
        assert_eq!(queue["id"], json!(id), "{row}");
        assert_eq!(queue["name"], json!(queues[id]), "{row}");
        assert_eq!(row["queue_name"], queue["name"], "{row}");
        // The whole directory entity: every column of `queues`.
        assert_eq!(
            queue.as_object().unwrap().len(),
            app.table_columns("queues").len()
        );
        related += 1;
    }
    assert!(related > 0);
}
