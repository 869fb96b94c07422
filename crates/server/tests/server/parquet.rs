//! `format=parquet` read back by a real reader: pyarrow, through `tests/parquet/read_parquet.py`
//! run by `<repo>/.venv/bin/python` (from `scripts/setup-test-env.sh`; without it these tests
//! fail, on purpose). Each download must hold the NDJSON rows of the same request, value for
//! value and in order, with typed columns named as in the CSV header.

use std::process::Command;

use serde_json::{Map, Value};
use test_support::TestApp;
use test_support::app::{DATASET, assert_problem};
use test_support::external::{repo_root, venv_program};

/// What pyarrow saw in a file.
struct Read {
    /// (name, pyarrow type) per column.
    schema: Vec<(String, String)>,
    row_groups: Vec<u64>,
    rows: Vec<Map<String, Value>>,
}

fn read_with_pyarrow(file: &[u8]) -> Read {
    let python = venv_program("python", "pyarrow");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.parquet");
    std::fs::write(&path, file).unwrap();
    let output = Command::new(python)
        .arg(repo_root().join("tests/parquet/read_parquet.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "read_parquet.py failed (is pyarrow installed? run scripts/setup-test-env.sh):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Value = serde_json::from_slice(&output.stdout).unwrap();
    Read {
        schema: names_and_types(&read["schema"]),
        row_groups: read["row_groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .collect(),
        rows: read["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect(),
    }
}

async fn download(app: &TestApp, query: &str) -> Vec<u8> {
    let response = app
        .get(&format!(
            "/v1/datasets/{DATASET}/rows?{query}&format=parquet"
        ))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/vnd.apache.parquet");
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"{DATASET}.parquet\"")
    );
    response.bytes().await.unwrap().to_vec()
}

async fn ndjson_rows(app: &TestApp, query: &str) -> Vec<Map<String, Value>> {
    let response = app
        .get(&format!(
            "/v1/datasets/{DATASET}/rows?{query}&format=ndjson"
        ))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    let text = response.text().await.unwrap();
    text.lines()
        .map(|line| match serde_json::from_str(line).unwrap() {
            Value::Object(row) => row,
            other => panic!("not a row: {other}"),
        })
        .collect()
}

async fn csv_header(app: &TestApp, query: &str) -> Vec<String> {
    let response = app
        .get(&format!("/v1/datasets/{DATASET}/rows?{query}&format=csv"))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    let text = response.text().await.unwrap();
    let first = text.lines().next().unwrap_or_default();
    first.split(',').map(str::to_string).collect()
}

/// The column types the JSON format declares (`timestamp`, `text`, `integer`, `real`).
async fn declared_types(app: &TestApp, query: &str) -> Vec<(String, String)> {
    let page = app
        .get_json(&format!("/v1/datasets/{DATASET}/rows?{query}&limit=1"))
        .await;
    names_and_types(&page["columns"])
}

/// `[{"name", "type", …}]` → (name, type) pairs.
fn names_and_types(columns: &Value) -> Vec<(String, String)> {
    columns
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = |key: &str| c[key].as_str().unwrap().to_string();
            (text("name"), text("type"))
        })
        .collect()
}

fn arrow_type(declared: &str) -> &'static str {
    match declared {
        "timestamp" => "timestamp[ms, tz=UTC]",
        "text" => "string",
        "integer" => "int64",
        "real" => "double",
        other => panic!("unknown column type {other}"),
    }
}

/// One Parquet value against the NDJSON value of the same cell.
fn same_value(arrow_type: &str, parquet: &Value, json: &Value) -> bool {
    match (arrow_type, parquet, json) {
        (_, Value::Null, Value::Null) => true,
        ("timestamp[ms, tz=UTC]", Value::Number(millis), Value::String(instant)) => {
            let instant: jiff::Timestamp = instant.parse().unwrap();
            millis.as_i64() == Some(instant.as_millisecond())
        }
        ("int64", Value::Number(a), Value::Number(b)) => a.as_i64().is_some() && a == b,
        ("double", Value::Number(a), Value::Number(b)) => {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
        }
        ("string", Value::String(a), Value::String(b)) => a == b,
        _ => false,
    }
}

/// Downloads `query` as Parquet, reads it with pyarrow and checks it against the same request
/// as NDJSON, CSV (header) and JSON (declared types); returns what pyarrow read.
async fn check_against_ndjson(app: &TestApp, query: &str) -> Read {
    let read = read_with_pyarrow(&download(app, query).await);
    let names: Vec<String> = read.schema.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, csv_header(app, query).await, "{query}: column names");
    let declared = declared_types(app, query).await;
    let expected: Vec<(String, String)> = declared
        .iter()
        .map(|(name, kind)| (name.clone(), arrow_type(kind).to_string()))
        .collect();
    assert_eq!(read.schema, expected, "{query}: column types");
    let ndjson = ndjson_rows(app, query).await;
    assert!(!ndjson.is_empty(), "{query}: no rows to compare");
    assert_eq!(read.rows.len(), ndjson.len(), "{query}: row count");
    assert_eq!(
        read.row_groups.iter().sum::<u64>(),
        ndjson.len() as u64,
        "{query}: rows in the row groups"
    );
    for (i, (parquet, json)) in read.rows.iter().zip(&ndjson).enumerate() {
        for (name, kind) in &read.schema {
            let (p, j) = (&parquet[name], &json[name]);
            assert!(
                same_value(kind, p, j),
                "{query}: row {i}, `{name}` ({kind}): parquet {p} vs ndjson {j}"
            );
        }
    }
    read
}

fn type_of<'a>(read: &'a Read, column: &str) -> &'a str {
    read.schema
        .iter()
        .find(|(name, _)| name == column)
        .map(|(_, kind)| kind.as_str())
        .unwrap_or_else(|| panic!("no column `{column}` in {:?}", read.schema))
}

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_rows_read_back_typed_and_equal_to_ndjson() {
    let app = TestApp::spawn().await;
    let read = check_against_ndjson(&app, "").await;
    assert_eq!(type_of(&read, "interval_start"), "timestamp[ms, tz=UTC]");
    assert_eq!(type_of(&read, "interval_end"), "timestamp[ms, tz=UTC]");
    assert_eq!(type_of(&read, "queue_id"), "string");
    assert_eq!(type_of(&read, "media_type"), "string");
    assert_eq!(type_of(&read, "n_offered"), "int64");
    assert_eq!(type_of(&read, "t_handle_sum_ms"), "int64");
    assert_eq!(type_of(&read, "t_handle_avg_ms"), "double");
    assert_eq!(read.row_groups.len(), 1, "one row group below 65 536 rows");
}
}

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_london_rollup_by_queue_reads_back_equal_to_ndjson() {
    let app = TestApp::spawn().await;
    let read = check_against_ndjson(
        &app,
        "granularity=P1D&group_by=queueId&time_zone=Europe/London",
    )
    .await;
    assert_eq!(type_of(&read, "interval_start"), "timestamp[ms, tz=UTC]");
    assert_eq!(type_of(&read, "queue_id"), "string");
    assert_eq!(type_of(&read, "n_offered"), "int64");
    assert!(
        read.schema.iter().all(|(name, _)| name != "media_type"),
        "summed over"
    );
    // The spring-forward day is 23 hours long: its bucket ends 23 h after it starts.
    let day = |row: &Map<String, Value>| {
        let bound = |name: &str| row[name].as_i64().unwrap();
        (bound("interval_end") - bound("interval_start")) / 3_600_000
    };
    assert!(read.rows.iter().any(|row| day(row) == 23));
}
}

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_a_metric_subset_read_back_equal_to_ndjson() {
    let app = TestApp::spawn().await;
    let read =
        check_against_ndjson(&app, "names=true&metrics=nOffered,tHandle,oServiceLevel").await;
    assert_eq!(type_of(&read, "queue_name"), "string");
    assert_eq!(type_of(&read, "n_offered"), "int64");
    assert_eq!(type_of(&read, "t_handle_count"), "int64");
    assert_eq!(type_of(&read, "t_handle_avg_ms"), "double");
    assert_eq!(type_of(&read, "o_service_level_ratio"), "double");
    assert!(
        read.schema
            .iter()
            .all(|(name, _)| !name.starts_with("t_talk")),
        "only the metrics asked for"
    );
    assert!(
        read.rows.iter().all(|row| row["queue_name"].is_string()),
        "every queue has a name"
    );
}
}

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_of_many_row_groups_reads_back_whole_and_in_order() {
    // The raw dataset has some 1 800 rows: 7 full row groups and a partial last one.
    let app = TestApp::spawn_with(|server| server.parquet_row_group_rows(250)).await;
    let read = check_against_ndjson(&app, "").await;
    let (last, full) = read.row_groups.split_last().unwrap();
    assert!(full.len() >= 3, "row groups: {:?}", read.row_groups);
    assert!(full.iter().all(|&n| n == 250), "{:?}", read.row_groups);
    assert!((1..=250).contains(last), "{:?}", read.row_groups);
}
}

/// A store failing mid-download (here a row whose bucket start is no instant, after the first
/// read chunk) must cut the body short: the client sees a failed transfer, and what arrived
/// has no footer, so it is not mistaken for a whole file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_mid_stream_is_a_failed_transfer_not_a_short_file() {
    let app = TestApp::spawn_on_copy_with(|server| server.parquet_row_group_rows(250)).await;
    // The stored days again, four days later, so the rows span two of the server's 2 000-row
    // read chunks; then one bad row among the later ones.
    let added = test_support::store::append_rows_days_later(&app.store, DATASET, 4).unwrap();
    assert!(added > 1_000, "{added} rows added");
    let later: jiff::Timestamp = "2024-04-05T00:00:00Z".parse().unwrap();
    test_support::store::spoil_first_interval_start(&app.store, DATASET, later).unwrap();
    let mut response = app
        .get(&format!("/v1/datasets/{DATASET}/rows?format=parquet"))
        .await;
    assert_eq!(
        response.status(),
        200,
        "the failure comes after the headers"
    );
    let mut received = Vec::new();
    let outcome = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(
        outcome.is_err(),
        "the body ended cleanly after {} bytes",
        received.len()
    );
    assert!(
        received.len() > 4 && received.starts_with(b"PAR1"),
        "row groups were sent before the failure ({} bytes)",
        received.len()
    );
    assert!(!received.ends_with(b"PAR1"), "no footer after a failure");
}

test_support::backend_tests! {
#[tokio::test]
async fn bad_input_is_still_a_problem_not_a_broken_file() {
    let app = TestApp::spawn().await;
    for (query, parameter) in [
        ("format=parquet&granularity=PT7X", "granularity"),
        ("format=parquet&group_by=nope", "group_by"),
        ("format=parquet&cursor=abc", "cursor"),
        ("format=parquet&from=2024-04-02&to=2024-04-01", "to"),
    ] {
        let response = app
            .get(&format!("/v1/datasets/{DATASET}/rows?{query}"))
            .await;
        let problem = assert_problem(response, 400).await;
        assert_eq!(problem["parameter"], parameter, "{query}");
    }
    let response = app.get("/v1/datasets/nope/rows?format=parquet").await;
    assert_problem(response, 404).await;
}
}
