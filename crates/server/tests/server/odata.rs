//! OData v4 at `/odata` over real HTTP: the service document and CSDL parse, `$filter` results
//! equal the same conditions written by hand in Rust over the rows the store holds, paging via `@odata.nextLink` covers every row
//! exactly once, `$count`, `$select`, `$orderby`/`$top`/`$skip`, OData 400s, and auth.

use base64::Engine as _;
use serde_json::Value;
use test_support::TestApp;
use test_support::app::{DATASET, dataset_edm_type};
use test_support::store::StoredRow;

/// The entity sets of the shared store: its dataset, the dataset's KPI feeds, the directories.
pub const ENTITY_SETS: [&str; 7] = [
    DATASET,
    "queue_performance_kpi",
    "queue_performance_daily_kpi",
    "queues",
    "users",
    "wrapup_codes",
    "presences",
];

async fn odata(app: &TestApp, path: &str, page_size: Option<u64>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path)).bearer_auth(&app.key);
    if let Some(n) = page_size {
        request = request.header("Prefer", format!("odata.maxpagesize={n}"));
    }
    request.send().await.unwrap()
}

async fn odata_json(app: &TestApp, path: &str, page_size: Option<u64>) -> Value {
    let response = odata(app, path, page_size).await;
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(response.headers()["odata-version"], "4.0");
    assert!(content_type(&response).starts_with("application/json;odata.metadata=minimal"));
    response.json().await.unwrap()
}

fn content_type(response: &reqwest::Response) -> &str {
    response.headers()["content-type"].to_str().unwrap()
}

/// Every page from `first` on, following `@odata.nextLink` (absolute links, as served).
async fn all_pages(app: &TestApp, first: &str, page_size: u64) -> (Vec<Value>, Vec<Value>) {
    let mut rows = Vec::new();
    let mut pages = Vec::new();
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let path = path.strip_prefix(&app.address).unwrap_or(&path).to_string();
        let mut body = odata_json(app, &path, Some(page_size)).await;
        let value = body["value"].as_array().unwrap().clone();
        assert!(value.len() as u64 <= page_size, "{} rows", value.len());
        rows.extend(value);
        next = body["@odata.nextLink"].as_str().map(String::from);
        assert!(pages.len() < 200, "nextLink does not end: {next:?}");
        body["value"] = Value::Null;
        pages.push(body);
    }
    (rows, pages)
}

fn ids(rows: &[Value]) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids
}

/// The ids of the stored rows `condition` selects, ascending.
fn stored_ids(app: &TestApp, condition: impl Fn(&StoredRow<'_>) -> bool) -> Vec<i64> {
    let table = app.table(DATASET);
    let mut ids: Vec<i64> = table
        .rows()
        .filter(|r| condition(r))
        .map(|r| r.key())
        .collect();
    ids.sort_unstable();
    ids
}

/// SQL's `LIKE '%part%'` for ASCII text: a match that ignores case.
fn like_contains(text: Option<&str>, part: &str) -> bool {
    text.is_some_and(|t| t.to_ascii_lowercase().contains(part))
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The least queue id stored.
fn some_queue(app: &TestApp) -> String {
    let table = app.table(DATASET);
    table
        .rows()
        .filter_map(|r| r.text("queue_id"))
        .min()
        .expect("a row with a queue")
        .to_string()
}

test_support::backend_tests! {
#[tokio::test]
async fn service_document_lists_datasets_and_directories() {
    let app = TestApp::spawn().await;
    for path in ["/odata/", "/odata"] {
        let body = odata_json(&app, path, None).await;
        assert!(
            body["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with("/odata/$metadata")
        );
        let names: Vec<&str> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                assert_eq!(s["kind"], "EntitySet");
                assert_eq!(s["url"], s["name"]);
                s["name"].as_str().unwrap()
            })
            .collect();
        assert_eq!(names, ENTITY_SETS);
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn metadata_is_csdl_with_a_key_and_typed_properties_per_set() {
    let app = TestApp::spawn().await;
    let response = odata(&app, "/odata/$metadata", None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["odata-version"], "4.0");
    assert_eq!(response.headers()["content-type"], "application/xml");
    let xml = response.text().await.unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "Edmx");
    assert_eq!(root.attribute("Version"), Some("4.0"));
    let schema = root
        .descendants()
        .find(|n| n.has_tag_name("Schema"))
        .unwrap();
    let namespace = schema.attribute("Namespace").unwrap();
    let types: Vec<_> = schema
        .children()
        .filter(|n| n.has_tag_name("EntityType"))
        .collect();
    let sets: Vec<_> = schema
        .descendants()
        .filter(|n| n.has_tag_name("EntitySet"))
        .collect();
    assert_eq!(types.len(), ENTITY_SETS.len());
    assert_eq!(sets.len(), ENTITY_SETS.len());
    for entity in &types {
        let name = entity.attribute("Name").unwrap();
        let key = entity
            .descendants()
            .find(|n| n.has_tag_name("PropertyRef"))
            .and_then(|n| n.attribute("Name"))
            .unwrap_or_else(|| panic!("{name} has no key"));
        let key_property = entity
            .children()
            .find(|n| n.has_tag_name("Property") && n.attribute("Name") == Some(key))
            .unwrap_or_else(|| panic!("{name}'s key {key} is not a property"));
        assert_eq!(key_property.attribute("Nullable"), Some("false"));
        assert!(
            sets.iter()
                .any(|s| s.attribute("EntityType") == Some(format!("{namespace}.{name}").as_str())),
            "{name} has no entity set"
        );
    }
    let dataset = types
        .iter()
        .find(|t| t.attribute("Name") == Some(DATASET))
        .unwrap();
    let type_of = |property: &str| {
        dataset
            .children()
            .find(|n| n.attribute("Name") == Some(property))
            .and_then(|n| n.attribute("Type"))
            .unwrap_or_else(|| panic!("no property {property}"))
            .to_string()
    };
    // The types must be what the store holds: check every column against its declared type.
    let columns = app.table_columns(DATASET);
    assert!(columns.len() > 10);
    for (column, declared) in &columns {
        assert_eq!(
            type_of(column),
            dataset_edm_type(column, declared),
            "{column}"
        );
    }
    assert_eq!(type_of("id"), "Edm.Int64");
}
}

test_support::backend_tests! {
#[tokio::test]
async fn filters_select_the_rows_their_conditions_select() {
    let app = TestApp::spawn().await;
    let queue = some_queue(&app);
    let prefix = &queue[..2];
    type Condition<'a> = Box<dyn Fn(&StoredRow<'_>) -> bool + 'a>;
    let start = |r: &StoredRow<'_>| r.text("interval_start").unwrap().to_string();
    let queue_is = |r: &StoredRow<'_>| r.text("queue_id") == Some(queue.as_str());
    let offered = |r: &StoredRow<'_>| r.integer("n_offered");
    let prefixed = |r: &StoredRow<'_>| r.text("queue_id").map(|q| q.starts_with(prefix));
    let cases: Vec<(String, Condition<'_>)> = vec![
        (
            format!(
                "queue_id eq '{queue}' and interval_start ge 2024-03-30T00:00:00Z and interval_start lt 2024-03-31T00:00:00Z"
            ),
            Box::new(|r| {
                queue_is(r)
                    && start(r).as_str() >= "2024-03-30T00:00:00.000Z"
                    && start(r).as_str() < "2024-03-31T00:00:00.000Z"
            }),
        ),
        (
            "(n_offered gt 5 or media_type eq 'email') and not startswith(queue_id, 'zz')".into(),
            Box::new(|r| {
                (offered(r).is_some_and(|n| n > 5) || r.text("media_type") == Some("email"))
                    && r.text("queue_id").is_none_or(|q| !q.starts_with("zz"))
            }),
        ),
        (
            format!("not (queue_id ne '{queue}') or n_offered le 1"),
            Box::new(|r| queue_is(r) || offered(r).is_some_and(|n| n <= 1)),
        ),
        (
            format!(
                "startswith(queue_id, '{prefix}') and contains(media_type, 'oi') and n_offered ne null"
            ),
            Box::new(|r| {
                prefixed(r) == Some(true)
                    && like_contains(r.text("media_type"), "oi")
                    && offered(r).is_some()
            }),
        ),
        (
            "not (n_offered gt 3) and interval_end le 2024-03-29T12:00:00+01:00".into(),
            Box::new(|r| {
                offered(r).is_none_or(|n| n <= 3)
                    && r.text("interval_end").unwrap() <= "2024-03-29T11:00:00.000Z"
            }),
        ),
        (
            "t_handle_sum_ms ge 100000.5 and media_type ne null".into(),
            Box::new(|r| {
                r.number("t_handle_sum_ms").is_some_and(|t| t >= 100000.5)
                    && r.text("media_type").is_some()
            }),
        ),
        // As @odata/client's filter builder writes them (regression: both were 400s): a v2-style
        // typed instant and a boolean function compared with a boolean.
        (
            format!(
                "interval_start ge datetimeoffset'2024-03-30T00:00:00.000Z' and contains(media_type,'oi') eq true and startswith(queue_id,'{prefix}') ne false"
            ),
            Box::new(|r| {
                start(r).as_str() >= "2024-03-30T00:00:00.000Z"
                    && like_contains(r.text("media_type"), "oi")
                    && prefixed(r) != Some(false)
            }),
        ),
        (
            "endswith(media_type,'ail') eq false and n_offered gt 0".into(),
            Box::new(|r| {
                r.text("media_type")
                    .is_some_and(|m| !m.to_ascii_lowercase().ends_with("ail"))
                    && offered(r).is_some_and(|n| n > 0)
            }),
        ),
    ];
    for (filter, condition) in cases {
        let expected = stored_ids(&app, condition);
        assert!(!expected.is_empty(), "{filter} selects nothing");
        let path = format!("/odata/{DATASET}?$select=id&$filter={}", encode(&filter));
        let (rows, _) = all_pages(&app, &path, 5_000).await;
        assert_eq!(ids(&rows), expected, "{filter}");
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn next_links_page_through_every_row_exactly_once_with_the_count() {
    let app = TestApp::spawn().await;
    let total = app.table(DATASET).len() as i64;
    assert!(total > 1_500, "{total} rows");
    let path = format!(
        "/odata/{DATASET}?$count=true&$orderby={}",
        encode("queue_id desc,interval_start")
    );
    let response = odata(&app, &path, Some(700)).await;
    assert_eq!(
        response.headers()["preference-applied"],
        "odata.maxpagesize=700"
    );
    let (rows, pages) = all_pages(&app, &path, 700).await;
    assert_eq!(pages.len() as i64, (total + 699) / 700);
    for page in &pages {
        assert_eq!(page["@odata.count"], total);
        assert!(
            page["@odata.context"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/odata/$metadata#{DATASET}"))
        );
    }
    let got = ids(&rows);
    let mut unique = got.clone();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "a row was served twice");
    assert_eq!(got, stored_ids(&app, |_| true));
    // The order asked for holds across page boundaries.
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["queue_id"].as_str().unwrap_or("").to_string(),
                r["interval_start"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for pair in keys.windows(2) {
        assert!(
            pair[0].0 > pair[1].0 || (pair[0].0 == pair[1].0 && pair[0].1 <= pair[1].1),
            "{pair:?}"
        );
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn top_skip_and_orderby_match_the_stored_order_even_across_pages() {
    let app = TestApp::spawn().await;
    // ORDER BY n_offered DESC (nulls last), interval_start, id; LIMIT 1200 OFFSET 15.
    let table = app.table(DATASET);
    let mut rows: Vec<_> = table.rows().collect();
    rows.sort_by(|a, b| {
        (b.integer("n_offered").cmp(&a.integer("n_offered")))
            .then_with(|| a.text("interval_start").cmp(&b.text("interval_start")))
            .then_with(|| a.key().cmp(&b.key()))
    });
    let expected: Vec<i64> = rows.iter().skip(15).take(1200).map(|r| r.key()).collect();
    let path = format!(
        "/odata/{DATASET}?$top=1200&$skip=15&$select=id,n_offered&$orderby={}",
        encode("n_offered desc,interval_start asc")
    );
    let (rows, pages) = all_pages(&app, &path, 500).await;
    assert_eq!(pages.len(), 3, "500 + 500 + 200");
    let got: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
    let first = rows[0].as_object().unwrap();
    assert_eq!(first.len(), 2, "only the selected properties: {first:?}");
    assert!(
        pages[0]["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with(&format!("#{DATASET}(id,n_offered)"))
    );
}
}

test_support::backend_tests! {
#[tokio::test]
async fn count_with_a_filter_is_the_stored_count() {
    let app = TestApp::spawn().await;
    let queue = some_queue(&app);
    let expected = stored_ids(&app, |r| r.text("queue_id") == Some(queue.as_str())).len();
    let body = odata_json(
        &app,
        &format!(
            "/odata/{DATASET}?$count=true&$top=3&$filter={}",
            encode(&format!("queue_id eq '{queue}'"))
        ),
        None,
    )
    .await;
    assert_eq!(body["@odata.count"], expected as i64);
    assert_eq!(body["value"].as_array().unwrap().len(), 3);
    assert!(body.get("@odata.nextLink").is_none(), "$top is met");
}
}

test_support::backend_tests! {
#[tokio::test]
/// Power Query folds `Table.RowCount` of an OData feed into `GET …/{set}/$count` (regression:
/// it was a 404): plain text, `$filter` applied, `$top`/`$skip` not.
async fn the_count_segment_is_the_filtered_count_as_text() {
    let app = TestApp::spawn().await;
    let queue = some_queue(&app);
    let expected = stored_ids(&app, |r| r.text("queue_id") == Some(queue.as_str())).len();
    let path = format!(
        "/odata/{DATASET}/$count?$top=2&$skip=1&$filter={}",
        encode(&format!("queue_id eq '{queue}'"))
    );
    let response = odata(&app, &path, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["odata-version"], "4.0");
    assert!(content_type(&response).starts_with("text/plain"));
    assert_eq!(response.text().await.unwrap(), expected.to_string());
    let all = odata(&app, "/odata/users/$count", None).await;
    let stored = app.table("users").len() as i64;
    assert_eq!(all.text().await.unwrap(), stored.to_string());
    assert_odata_error(&app, "/odata/nope/$count", 404, "nope").await;
    assert_odata_error(
        &app,
        &format!("/odata/{DATASET}/$count?$filter=nope%20eq%201"),
        400,
        "$filter",
    )
    .await;
}
}

test_support::backend_tests! {
#[tokio::test]
async fn directories_are_entity_sets_too() {
    let app = TestApp::spawn().await;
    let queues = app.table("queues");
    let mut named: Vec<(&str, &str)> = queues
        .rows()
        .map(|q| (q.text("id").unwrap(), q.text("name").unwrap()))
        .filter(|(_, name)| name.contains('a'))
        .collect();
    named.sort();
    let names: Vec<&str> = named.into_iter().map(|(_, name)| name).collect();
    assert!(!names.is_empty());
    let body = odata_json(
        &app,
        &format!(
            "/odata/queues?$orderby=id&$filter={}",
            encode("contains(name, 'a')")
        ),
        None,
    )
    .await;
    let got: Vec<&str> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, names);
    let users = odata_json(&app, "/odata/users?$count=true&$top=1", None).await;
    let stored = app.table("users").len() as i64;
    assert_eq!(users["@odata.count"], stored);
}
}

async fn assert_odata_error(app: &TestApp, path: &str, status: u16, names: &str) {
    let response = odata(app, path, None).await;
    assert_eq!(response.status(), status, "{path}");
    assert_eq!(response.headers()["odata-version"], "4.0");
    let body: Value = response.json().await.unwrap();
    let error = &body["error"];
    assert!(error["code"].is_string(), "{body}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains(names), "{path}: {message}");
}

test_support::backend_tests! {
#[tokio::test]
async fn bad_options_are_400s_naming_the_option() {
    let app = TestApp::spawn().await;
    let set = format!("/odata/{DATASET}");
    for (query, option) in [
        (format!("$filter={}", encode("nope eq 1")), "$filter"),
        (format!("$filter={}", encode("queue_id eq 3")), "$filter"),
        (format!("$filter={}", encode("n_offered gt")), "$filter"),
        (
            format!("$filter={}", encode("year(interval_start) eq 2024")),
            "$filter",
        ),
        (
            format!(
                "$filter={}",
                encode("interval_start ge 2024-13-01T00:00:00Z")
            ),
            "$filter",
        ),
        ("$orderby=nope".into(), "$orderby"),
        (format!("$orderby={}", encode("id sideways")), "$orderby"),
        ("$select=id,nope".into(), "$select"),
        ("$top=-1".into(), "$top"),
        ("$skip=x".into(), "$skip"),
        ("$count=maybe".into(), "$count"),
        ("$expand=queues".into(), "$expand"),
        ("$top=1&$top=2".into(), "$top"),
        ("$format=xml".into(), "$format"),
    ] {
        assert_odata_error(&app, &format!("{set}?{query}"), 400, option).await;
    }
    assert_odata_error(&app, "/odata/nope", 404, "nope").await;
    // Huge offsets are just past the end, not an overflow.
    let far = odata_json(&app, &format!("{set}?$skip={}", u64::MAX), None).await;
    assert_eq!(far["value"], serde_json::json!([]));
    assert!(far.get("@odata.nextLink").is_none());
    // Skiptokens come only from nextLinks.
    for token in ["12", "eyJuIjoxfQ", "eyJuIjoxLCJrIjpbImEiXX0", "%%%"] {
        assert_odata_error(
            &app,
            &format!("{set}?$skiptoken={token}"),
            400,
            "$skiptoken",
        )
        .await;
    }
}
}

/// (interval_start, queue_id, media_type) of each row served.
fn natural_keys(rows: &[Value]) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    let mut keys: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                text(&r["interval_start"]),
                text(&r["queue_id"]),
                text(&r["media_type"]),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_sync_rewriting_rows_between_pages_neither_repeats_nor_skips_one() {
    let app = TestApp::spawn_on_copy().await;
    let table = app.table(DATASET);
    let mut expected: Vec<(String, String, String)> = table
        .rows()
        .map(|r| {
            let text = |column| r.text(column).unwrap_or_default().to_string();
            (text("interval_start"), text("queue_id"), text("media_type"))
        })
        .collect();
    expected.sort();
    let mut days: Vec<String> = expected.iter().map(|k| k.0[..10].to_string()).collect();
    days.dedup();
    assert!(days.len() >= 3, "{days:?}");
    // A window rewritten as the sync rewrites one: its rows deleted and inserted again, with
    // new row ids (appended at the table's end).
    let rewrite = |day: &str| {
        let midnight: jiff::Timestamp = format!("{day}T00:00:00Z").parse().unwrap();
        let utc_day =
            genesys::Interval::new(midnight, midnight + jiff::SignedDuration::from_hours(24));
        let rewritten = test_support::store::rewrite_rows(&app.store, DATASET, utc_day).unwrap();
        assert!(rewritten > 0, "{day}");
    };
    let page_size = 700;
    let mut rows = Vec::new();
    let mut next = Some(format!("/odata/{DATASET}"));
    let mut pages = 0;
    while let Some(link) = next {
        let path = link.strip_prefix(&app.address).unwrap_or(&link);
        let body = odata_json(&app, path, Some(page_size)).await;
        rows.extend(body["value"].as_array().unwrap().iter().cloned());
        next = body["@odata.nextLink"].as_str().map(String::from);
        pages += 1;
        if pages == 1 {
            // One day already served and one not reached yet, both rewritten.
            rewrite(&days[0]);
            rewrite(&days[days.len() - 1]);
        }
        assert!(pages < 200, "nextLink does not end");
    }
    assert!(pages > 2);
    assert_eq!(natural_keys(&rows), expected);
}

test_support::backend_tests! {
#[tokio::test]
async fn the_key_is_required_and_basic_with_the_key_as_password_works() {
    let app = TestApp::spawn().await;
    let path = format!("/odata/{DATASET}?$top=1");
    let anonymous = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app
        .client
        .get(app.url("/odata/$metadata"))
        .basic_auth("powerbi", Some("not-a-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let basic = app
        .client
        .get(app.url(&path))
        .header(
            "Authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("powerbi:{}", app.key))
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    let body: Value = basic.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
}
}

mod limits {
    //! Hostile `$filter`s and other options: refused with a 400 that names the option and the
    //! limit, and the server keeps answering.

    use super::*;

    /// `text` cut to a readable length for assertion messages.
    fn short(text: &str) -> String {
        text.chars().take(120).collect()
    }

    /// The OData error for `query` on the dataset's entity set (or its `/$count`).
    async fn refused(app: &TestApp, segment: &str, query: &str) -> String {
        let path = format!("/odata/{DATASET}{segment}?{query}");
        let response = odata(app, &path, None).await;
        assert_eq!(response.status(), 400, "{}", short(&path));
        assert_eq!(response.headers()["odata-version"], "4.0");
        let body: Value = response.json().await.unwrap();
        body["error"]["message"].as_str().unwrap().to_string()
    }

    async fn accepted(app: &TestApp, query: &str) {
        let path = format!("/odata/{DATASET}?{query}");
        let response = odata(app, &path, Some(1)).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{}: {}", short(&path), short(&body));
    }

    /// The server still answers after a hostile request (it was not aborted).
    async fn assert_alive(app: &TestApp) {
        accepted(app, "$top=1").await;
    }

    fn filter(text: &str) -> String {
        format!("$filter={}", encode(text))
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn thousands_of_nested_parentheses_are_a_400_not_a_crash() {
        let app = TestApp::spawn().await;
        let deep = format!("{}true{}", "(".repeat(5_000), ")".repeat(5_000));
        for segment in ["", "/$count"] {
            let message = refused(&app, segment, &filter(&deep)).await;
            assert!(
                message.starts_with("$filter") && message.contains("nest"),
                "{message}"
            );
            assert_alive(&app).await;
        }
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn a_long_chain_of_nots_is_a_400_naming_the_filter() {
        let app = TestApp::spawn().await;
        let nots = format!("{}true", "not ".repeat(1_500));
        let message = refused(&app, "", &filter(&nots)).await;
        assert!(message.starts_with("$filter"), "{message}");
        assert_alive(&app).await;
    }
    }

    fn nested(depth: usize) -> String {
        format!("{}n_offered ge 0{}", "(".repeat(depth), ")".repeat(depth))
    }

    /// `queue_id eq '…'` `terms` times, joined by `or`: what a tool sends for "one of these".
    fn one_of(terms: usize) -> String {
        (0..terms)
            .map(|i| format!("queue_id eq '{i:036}'"))
            .collect::<Vec<_>>()
            .join(" or ")
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn each_filter_limit_accepts_its_limit_and_refuses_one_more() {
        use server::odata::filter::{MAX_DEPTH, MAX_LENGTH, MAX_TERMS};
        let app = TestApp::spawn().await;
        accepted(&app, &filter(&nested(MAX_DEPTH))).await;
        let message = refused(&app, "", &filter(&nested(MAX_DEPTH + 1))).await;
        assert!(message.contains(&format!("{MAX_DEPTH} deep")), "{message}");
        let nots = |n: usize| format!("{}n_offered ge 0", "not ".repeat(n));
        accepted(&app, &filter(&nots(MAX_DEPTH))).await;
        refused(&app, "", &filter(&nots(MAX_DEPTH + 1))).await;

        accepted(&app, &filter(&one_of(MAX_TERMS))).await;
        let message = refused(&app, "/$count", &filter(&one_of(MAX_TERMS + 1))).await;
        assert!(message.contains(&format!("{MAX_TERMS} terms")), "{message}");

        let padded = |length: usize| {
            let head = "queue_id eq '";
            format!("{head}{}'", "q".repeat(length - head.len() - 1))
        };
        accepted(&app, &filter(&padded(MAX_LENGTH))).await;
        let message = refused(&app, "", &filter(&padded(MAX_LENGTH + 1))).await;
        assert!(
            message.contains(&format!("limit is {MAX_LENGTH}")),
            "{message}"
        );
        assert_alive(&app).await;
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn list_token_and_number_limits_accept_the_limit_and_refuse_past_it() {
        use server::odata::query::{MAX_ORDERBY_ITEMS, MAX_SELECT_ITEMS, MAX_SKIPTOKEN_BYTES};
        let app = TestApp::spawn().await;
        let list = |n: usize| vec!["id"; n].join(",");
        accepted(&app, &format!("$select={}", list(MAX_SELECT_ITEMS))).await;
        let message = refused(&app, "", &format!("$select={}", list(MAX_SELECT_ITEMS + 1))).await;
        assert!(
            message.starts_with("$select") && message.contains("limit"),
            "{message}"
        );
        accepted(&app, &format!("$orderby={}", list(MAX_ORDERBY_ITEMS))).await;
        let message = refused(
            &app,
            "",
            &format!("$orderby={}", list(MAX_ORDERBY_ITEMS + 1)),
        )
        .await;
        assert!(
            message.starts_with("$orderby") && message.contains("limit"),
            "{message}"
        );

        // A token of this service (a count, in `$orderby` order) padded to the limit with
        // JSON's own whitespace.
        let token = |length: usize| {
            let bytes = length * 3 / 4;
            let json = format!("{{\"n\":1{}}}", " ".repeat(bytes - 7));
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        };
        assert_eq!(token(MAX_SKIPTOKEN_BYTES).len(), MAX_SKIPTOKEN_BYTES);
        accepted(
            &app,
            &format!("$orderby=id&$skiptoken={}", token(MAX_SKIPTOKEN_BYTES)),
        )
        .await;
        let long = token(MAX_SKIPTOKEN_BYTES + 4);
        let message = refused(&app, "", &format!("$orderby=id&$skiptoken={long}")).await;
        assert!(
            message.starts_with("$skiptoken") && message.contains("limit"),
            "{message}"
        );

        accepted(&app, &format!("$top={}&$skip={}", u64::MAX, u64::MAX)).await;
        for option in ["$top", "$skip"] {
            let message = refused(&app, "", &format!("{option}=18446744073709551616")).await;
            assert!(message.starts_with(option), "{message}");
            let message = refused(&app, "", &format!("{option}={}", "9".repeat(5_000))).await;
            assert!(message.len() < 200, "{message}");
        }
        assert_alive(&app).await;
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn bad_bytes_and_repeated_options_are_400s_naming_the_option() {
        let app = TestApp::spawn().await;
        for (query, option) in [
            ("$filter=queue_id%20eq%20%27%FF%27", "$filter"),
            ("$filter=queue_id%20eq%20%27%00%27", "$filter"),
            ("$select=id%C3", "$select"),
            ("$orderby=id%00", "$orderby"),
            ("$skiptoken=%FF", "$skiptoken"),
            ("%FF=1", "\u{FFFD}"),
            ("custom=%00", "custom"),
            ("$filter=true&$filter=false", "$filter"),
            ("$count=true&$count=true", "$count"),
            ("$skip=1&$skip=2", "$skip"),
            ("$orderby=id&$orderby=id%20desc", "$orderby"),
        ] {
            for segment in ["", "/$count"] {
                let message = refused(&app, segment, query).await;
                assert!(message.starts_with(option), "{query}: {message}");
            }
        }
        assert_alive(&app).await;
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn a_set_name_that_is_not_text_is_a_400() {
        let app = TestApp::spawn().await;
        for path in ["/odata/%FF", "/odata/%FF/$count"] {
            let response = odata(&app, path, None).await;
            assert_eq!(response.status(), 400, "{path}");
            assert_eq!(response.headers()["odata-version"], "4.0");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["target"], "set", "{body}");
        }
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn a_query_too_long_or_with_too_many_parameters_is_a_400() {
        use server::routes::rows::{MAX_PAIRS, MAX_QUERY_BYTES};
        let app = TestApp::spawn().await;
        let custom = |n: usize| {
            (0..n)
                .map(|i| format!("c{i}=1"))
                .collect::<Vec<_>>()
                .join("&")
        };
        accepted(&app, &custom(MAX_PAIRS)).await;
        let message = refused(&app, "", &custom(MAX_PAIRS + 1)).await;
        assert!(
            message.contains(&format!("{MAX_PAIRS} parameters")),
            "{message}"
        );
        let long = format!("$filter={}", "%20".repeat(MAX_QUERY_BYTES / 3));
        assert!(long.len() > MAX_QUERY_BYTES);
        let head = "$filter=n_offered%20ge%200&pad=";
        let full = format!("{head}{}", "p".repeat(MAX_QUERY_BYTES - head.len()));
        accepted(&app, &full).await;
        let message = refused(&app, "", &long).await;
        assert!(
            message.starts_with("$filter") && message.contains("limit"),
            "{message}"
        );
        assert_alive(&app).await;
    }
    }
}

/// As Power BI and Excel ask (`Accept-Encoding: gzip, deflate`), with Basic auth, undecoded.
async fn odata_as_power_bi(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut request = client
        .get(app.url(path))
        .basic_auth("power-bi", Some(&app.key));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap()
}

test_support::backend_tests! {
#[tokio::test]
async fn feeds_are_gzipped_when_the_client_accepts_it_and_read_the_same() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    let page = format!("/odata/{DATASET}?$top=5000");
    for path in [
        "/odata/",
        "/odata/$metadata",
        page.as_str(),
        "/odata/queues",
    ] {
        let plain = odata_as_power_bi(&app, path, None).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        assert_eq!(plain.headers()["vary"], "accept-encoding");
        let plain = plain.bytes().await.unwrap();

        let zipped = odata_as_power_bi(&app, path, Some("gzip, deflate")).await;
        assert_eq!(zipped.status(), 200, "{path}");
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(zipped.headers()["odata-version"], "4.0");
        let zipped = zipped.bytes().await.unwrap();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, plain, "{path}");
        eprintln!(
            "{path}: {} bytes, {} gzipped ({:.1}x smaller)",
            plain.len(),
            zipped.len(),
            plain.len() as f64 / zipped.len() as f64
        );
        if path == page {
            // A page of quarter hours is repetitive text: it shrinks several times over.
            assert!(zipped.len() * 5 < plain.len(), "{path}: {}", zipped.len());
        }

        let refused = odata_as_power_bi(&app, path, Some("gzip;q=0, identity")).await;
        assert!(refused.headers().get("content-encoding").is_none());
        assert_eq!(refused.bytes().await.unwrap(), plain, "{path}");
    }
    // An error is compressed too, and still reads as OData's error body.
    let zipped = odata_as_power_bi(&app, "/odata/no_such_set", Some("gzip")).await;
    assert_eq!(zipped.status(), 404);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
}
}

test_support::backend_tests! {
#[tokio::test]
async fn a_name_holding_a_nul_is_a_400_naming_it_on_either_store() {
    let app = TestApp::spawn().await;
    for path in [
        "/odata/%00",
        "/odata/queue%00performance/$count",
        "/v1/datasets/%00/rows",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains("holds a NUL character"), "{path}: {body}");
    }
}
}
