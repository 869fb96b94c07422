//! The OData feed read by real OData v4 client libraries (npm `@odata/client` for queries,
//! `@odata/metadata` for the CSDL), with Basic auth as Power BI's "OData Feed" sends it:
//! `tests/node/odata_client.mjs` runs against a `TestApp` and prints what it got, and every
//! figure is checked here against the rows the store holds. Needs `tests/node/node_modules` from
//! `scripts/setup-test-env.sh`; without it this test fails, on purpose.

use std::time::Duration;

use serde_json::Value;
use test_support::TestApp;
use test_support::app::{DATASET, dataset_edm_type};
use test_support::external::run_node_script;
use test_support::store::{Stored, StoredRow, StoredTable};

const PAGE_SIZE: i64 = 400;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn integers(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_string()
}

/// The ids of the stored rows `condition` selects, in the order they were stored.
fn stored_ids(table: &StoredTable, condition: impl Fn(&StoredRow<'_>) -> bool) -> Vec<i64> {
    table
        .rows()
        .filter(|r| condition(r))
        .map(|r| r.key())
        .collect()
}

/// What SQLite's `sum(column)` gives over the stored rows: an integer if every value is
/// one, a real if any is not, nothing if all are null.
fn stored_sum(table: &StoredTable, column: &str) -> Stored {
    let values: Vec<&Stored> = table
        .rows()
        .map(|r| r.get(column))
        .filter(|v| !v.is_null())
        .collect();
    if values.is_empty() {
        Stored::Null
    } else if let Some(integers) = values
        .iter()
        .map(|v| v.as_i64())
        .collect::<Option<Vec<_>>>()
    {
        Stored::Integer(integers.iter().sum())
    } else {
        Stored::Real(values.iter().map(|v| v.as_f64().expect("a number")).sum())
    }
}

/// The entity set as `@odata/metadata` parsed it: (properties as (name, type, nullable), key).
fn parsed_set(out: &Value, name: &str) -> (Vec<(String, String, bool)>, Vec<String>) {
    let set = out["metadata"]["entitySets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no entity set {name} in the parsed metadata"));
    assert_eq!(set["entityType"], format!("GenesysBi.{name}"));
    let properties = set["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                text(&p["name"]),
                text(&p["type"]),
                p["nullable"].as_bool().unwrap(),
            )
        })
        .collect();
    (properties, strings(&set["key"]))
}

fn check_metadata(app: &TestApp, out: &Value) {
    assert_eq!(out["metadata"]["namespace"], "GenesysBi");
    let names: Vec<String> = out["metadata"]["entitySets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| text(&s["name"]))
        .collect();
    assert_eq!(names, crate::odata::ENTITY_SETS);
    assert_eq!(strings(&out["serviceDocument"]), names);

    // The dataset: a synthetic key `id`, then exactly the table's columns, typed from the store.
    let (properties, key) = parsed_set(out, DATASET);
    assert_eq!(key, ["id"]);
    let mut expected = vec![("id".to_string(), "Edm.Int64".to_string(), false)];
    for (column, declared) in app.table_columns(DATASET) {
        let nullable = !matches!(column.as_str(), "interval_start" | "interval_end");
        let kind = dataset_edm_type(&column, &declared).to_string();
        expected.push((column, kind, nullable));
    }
    assert!(expected.len() > 10);
    assert_eq!(properties, expected);

    // The directories: their own columns, keyed by their natural id.
    for directory in ["queues", "users", "wrapup_codes", "presences"] {
        let (properties, key) = parsed_set(out, directory);
        assert_eq!(key, ["id"], "{directory}");
        let columns: Vec<(String, String)> = properties
            .iter()
            .map(|(name, kind, _)| (name.clone(), kind.clone()))
            .collect();
        let expected: Vec<(String, String)> = app
            .table_columns(directory)
            .into_iter()
            .map(|(name, declared)| {
                let kind = match declared.as_str() {
                    "INTEGER" => "Edm.Int64",
                    "REAL" => "Edm.Double",
                    _ => "Edm.String",
                };
                (name, kind.to_string())
            })
            .collect();
        assert_eq!(columns, expected, "{directory}");
    }
}

fn check_full_read(app: &TestApp, full: &Value) {
    assert_eq!(full["set"], DATASET);
    let table = app.table(DATASET);
    let total = table.len() as i64;
    assert!(total > 3 * PAGE_SIZE, "{total} rows: too few to page");
    assert_eq!(full["rows"], total);
    assert_eq!(full["distinctIds"], total, "a row was served twice");
    assert_eq!(full["missing"], 0, "rows lacking a property");
    assert_eq!(full["typeErrors"], serde_json::json!([]));
    let pages = full["pages"].as_array().unwrap();
    assert_eq!(pages.len() as i64, (total + PAGE_SIZE - 1) / PAGE_SIZE);
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(page["count"], total, "page {i}");
        assert_eq!(page["nextLink"].is_null(), i + 1 == pages.len(), "page {i}");
        assert!(text(&page["context"]).ends_with(&format!("/odata/$metadata#{DATASET}")));
    }
    // The sum and the null count of every numeric property equal the store's.
    let sums = full["sums"].as_object().unwrap();
    assert!(
        ["n_offered", "t_answered_count", "t_handle_sum_ms"]
            .iter()
            .all(|m| sums.contains_key(*m)),
        "{sums:?}"
    );
    for (column, got) in sums {
        match stored_sum(&table, column) {
            Stored::Integer(expected) => {
                assert_eq!(got.as_i64(), Some(expected), "sum of {column}")
            }
            Stored::Real(expected) => {
                let got = got.as_f64().unwrap();
                assert!(
                    (got - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                    "sum of {column}: {got} != {expected}"
                );
            }
            Stored::Null => assert_eq!(got.as_i64(), Some(0), "sum of {column}"),
            other => panic!("sum of {column} is {other:?}"),
        }
    }
    for (column, got) in full["nulls"].as_object().unwrap() {
        // The id is the row's key, never null.
        let expected = if column == "id" {
            0
        } else {
            stored_ids(&table, |r| r.get(column).is_null()).len() as i64
        };
        assert_eq!(got.as_i64(), Some(expected), "nulls in {column}");
    }
    let starts = || table.rows().map(|r| r.text("interval_start").unwrap());
    assert_eq!(full["firstIntervalStart"], starts().min().unwrap());
    assert_eq!(full["lastIntervalStart"], starts().max().unwrap());
}

/// One of the query's parameters, as the script chose it from the data.
fn parameter(query: &Value, name: &str) -> String {
    text(&query["parameters"][name])
}

/// Rows a filter must select: enough that a wrong filter cannot pass by selecting nothing.
fn selective(ids: Vec<i64>) -> Vec<i64> {
    assert!(
        ids.len() > 10,
        "{} rows: the filter is too narrow",
        ids.len()
    );
    ids
}

fn check_queries(app: &TestApp, out: &Value) {
    // The client's filter builder: eq, datetimeoffset'…' ge/lt, contains(…) eq true, with
    // $select, $orderby on two properties, $top 40, $skip 3 and $count.
    let q = &out["builderQuery"];
    let table = app.table(DATASET);
    let (queue, from, to) = (
        parameter(q, "queue"),
        parameter(q, "from"),
        parameter(q, "to"),
    );
    let in_range = |r: &StoredRow<'_>, from: &str, to: &str| {
        let start = r.text("interval_start").unwrap();
        start >= from && start < to
    };
    let chosen = |r: &StoredRow<'_>| {
        r.text("queue_id") == Some(queue.as_str())
            && in_range(r, &from, &to)
            && r.text("media_type").is_some_and(|m| m.contains("oi"))
    };
    // ORDER BY n_offered DESC (nulls last), interval_start, id; LIMIT 40 OFFSET 3.
    let mut ordered: Vec<StoredRow<'_>> = table.rows().filter(chosen).collect();
    let count = ordered.len() as i64;
    ordered.sort_by(|a, b| {
        (b.integer("n_offered").cmp(&a.integer("n_offered")))
            .then_with(|| a.text("interval_start").cmp(&b.text("interval_start")))
            .then_with(|| a.key().cmp(&b.key()))
    });
    let expected = selective(ordered.iter().skip(3).take(40).map(|r| r.key()).collect());
    assert_eq!(integers(&q["ids"]), expected, "{}", q["query"]);
    assert_eq!(q["count"], count);
    assert_eq!(q["pages"], 1);
    let mut columns = strings(&q["columns"]);
    columns.sort();
    assert_eq!(
        columns,
        [
            "id",
            "interval_start",
            "media_type",
            "n_offered",
            "queue_id"
        ]
    );
    assert_eq!(q["typeErrors"], serde_json::json!([]));
    for row in q["rows"].as_array().unwrap() {
        assert_eq!(row["queue_id"], q["parameters"]["queue"]);
        assert!(text(&row["media_type"]).contains("oi"));
    }

    // A filter written as OData v4 text: bare DateTimeOffset literals, startswith, or, not.
    let q = &out["textQuery"];
    let (prefix, from, to) = (
        parameter(q, "prefix"),
        parameter(q, "from"),
        parameter(q, "to"),
    );
    let expected = selective(stored_ids(&table, |r| {
        let first_two = |q: &str| q.chars().take(2).collect::<String>();
        r.text("queue_id").map(first_two) == Some(prefix.clone())
            && in_range(r, &from, &to)
            && (r.integer("n_offered").is_some_and(|n| n > 2)
                || r.text("media_type") == Some("email"))
            && r.text("media_type") != Some("callback")
    }));
    assert_eq!(integers(&q["ids"]), expected, "{}", q["filter"]);
    assert_eq!(q["count"], expected.len() as i64);
    assert_eq!(q["typeErrors"], serde_json::json!([]));

    // The EntitySet API: count() and query() with $top; and the /$count segment, as text.
    let api = &out["entitySetApi"];
    let voice = stored_ids(&table, |r| r.text("media_type") == Some("voice")).len() as i64;
    assert_eq!(api["voiceCount"], voice);
    assert_eq!(api["segmentCount"], voice.to_string());
    let mut first_ids = stored_ids(&table, |_| true);
    first_ids.truncate(5);
    assert_eq!(integers(&api["firstPageIds"]), first_ids);

    // The directories, first page and $count.
    for directory in ["queues", "users", "wrapup_codes", "presences"] {
        let read = &out["others"][directory];
        let stored = app.table(directory).len() as i64;
        assert!(stored > 0, "{directory}");
        assert_eq!(read["count"], stored, "{directory}");
        assert_eq!(read["firstPage"], stored.min(PAGE_SIZE), "{directory}");
        assert_eq!(read["typeErrors"], serde_json::json!([]), "{directory}");
    }
}

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_odata_client_reads_exactly_what_the_store_holds() {
    let app = TestApp::spawn().await;
    let page_size = PAGE_SIZE.to_string();
    let out = run_node_script(
        "odata_client.mjs",
        &[
            &app.url("/odata"),
            &app.key,
            "--set",
            DATASET,
            "--page-size",
            &page_size,
        ],
        Duration::from_secs(120),
    )
    .await;

    check_metadata(&app, &out);
    check_full_read(&app, &out["full"]);
    check_queries(&app, &out);
    crate::odata_client_kpi::check_relations(&out);
    crate::odata_client_kpi::check_expanded(&app, &out);

    // A wrong key is refused, with the Basic challenge a BI tool answers with its prompt.
    let wrong = &out["wrongKey"];
    assert_eq!(wrong["refused"], true, "{wrong}");
    assert_eq!(wrong["status"], 401, "{wrong}");
    assert!(text(&wrong["wwwAuthenticate"]).starts_with("Basic"));

    // Every exchange: only this server, OData-Version 4.0 and the minimal-metadata JSON type on
    // every success, the page size preference applied on every entity set read.
    let exchanges = out["exchanges"].as_array().unwrap();
    assert!(exchanges.len() > 10);
    for exchange in exchanges {
        let url = text(&exchange["url"]);
        assert!(url.starts_with(&app.url("/odata/")), "{exchange}");
        if exchange["status"] != 200 {
            assert_eq!(exchange["status"], 401, "{exchange}");
            continue;
        }
        assert_eq!(exchange["odataVersion"], "4.0", "{exchange}");
        let content_type = text(&exchange["contentType"]);
        if url.ends_with("/$metadata") {
            assert_eq!(content_type, "application/xml");
        } else if url.contains("/$count") {
            assert_eq!(content_type, "text/plain; charset=utf-8");
        } else {
            assert_eq!(content_type, "application/json;odata.metadata=minimal");
        }
        if url.contains(&format!("/odata/{DATASET}")) && !url.contains("/$count") {
            assert_eq!(
                exchange["preferenceApplied"],
                format!("odata.maxpagesize={PAGE_SIZE}"),
                "{exchange}"
            );
        }
    }
}
}
