//! The same request answered by a server on SQLite and one on PostgreSQL (the same rows,
//! copied in) gives the same bytes: rollups into local days of a zone that is not UTC, the
//! report, OData pages with `$filter`, `$orderby` and `$count`, and a CSV export.

use test_support::app::{Backend, DATASET, TestApp};

/// Both servers on the shared store.
async fn both() -> (TestApp, TestApp) {
    let sqlite = Backend::Sqlite.run(TestApp::spawn()).await;
    let postgres = Backend::Postgres.run(TestApp::spawn()).await;
    assert_eq!(postgres.backend, Backend::Postgres);
    (sqlite, postgres)
}

/// The body of a 200 answer to `path`, as bytes.
async fn body(app: &TestApp, path: &str) -> Vec<u8> {
    let response = app.get(path).await;
    let status = response.status();
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "{:?} GET {path}: {}",
        app.backend,
        String::from_utf8_lossy(&bytes)
    );
    bytes
}

async fn assert_same_bytes(path: &str) -> Vec<u8> {
    let (sqlite, postgres) = both().await;
    let expected = body(&sqlite, path).await;
    let got = body(&postgres, path).await;
    assert!(
        expected == got,
        "GET {path}: PostgreSQL answered\n{}\nSQLite answered\n{}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&expected)
    );
    expected
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn rollups_into_local_days_of_a_zone_not_utc_are_the_same_bytes() {
    for query in [
        "granularity=P1D&time_zone=America/New_York&group_by=queueId&names=true",
        "granularity=P1D&time_zone=Asia/Kolkata&group_by=queueId,mediaType&limit=10000",
        "granularity=PT1H&time_zone=Europe/London&names=true&from=2024-03-30&to=2024-04-01",
        "granularity=P1W&time_zone=Australia/Adelaide",
        "granularity=P1D&time_zone=Europe/London&filter=mediaType=voice&metrics=nOffered,oServiceLevel",
    ] {
        let page = json(&assert_same_bytes(&format!("/v1/datasets/{DATASET}/rows?{query}")).await);
        assert!(
            !page["rows"].as_array().unwrap().is_empty(),
            "{query} selects rows"
        );
    }
}

#[tokio::test]
async fn stored_rows_and_their_pages_are_the_same_bytes() {
    for query in [
        "limit=37",
        "limit=500&metrics=nOffered,tHandle",
        "group_by=queue_id&limit=333",
    ] {
        assert_same_bytes(&format!("/v1/datasets/{DATASET}/rows?{query}")).await;
    }
}

#[tokio::test]
async fn the_report_is_the_same_bytes() {
    let report = json(
        &assert_same_bytes(&format!(
            "/v1/report?dataset={DATASET}&from=2024-03-30T00:00:00Z&to=2024-04-01T00:00:00Z"
        ))
        .await,
    );
    assert!(
        report["totals"]["offered"].as_i64().unwrap() > 0,
        "{report}"
    );
    assert_same_bytes(&format!("/v1/report?dataset={DATASET}")).await;
}

#[tokio::test]
async fn a_csv_export_is_the_same_bytes() {
    let csv = assert_same_bytes(&format!(
        "/v1/datasets/{DATASET}/rows?format=csv&names=true&from=2024-03-29&to=2024-04-02"
    ))
    .await;
    let lines = csv.iter().filter(|b| **b == b'\n').count();
    // More rows than the reader fetches from a cursor at a time: several batches.
    assert!(lines > 1_500, "{lines} lines");
    assert_same_bytes(&format!(
        "/v1/datasets/{DATASET}/rows?format=ndjson&granularity=P1D&time_zone=America/New_York&group_by=queueId"
    ))
    .await;
}
