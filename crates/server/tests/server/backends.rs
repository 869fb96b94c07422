//! The same request answered by a server on SQLite and one on PostgreSQL (the same rows,
//! copied in) gives the same bytes: rollups into local days of a zone that is not UTC, the
//! report, OData pages with `$filter`, `$orderby` and `$count`, a CSV export, and the KPI
//! feeds (their views on PostgreSQL: names, dates, figures).

use test_support::app::{Backend, DATASET, TestApp};

/// Both servers on the shared store.
async fn both() -> (TestApp, TestApp) {
    let sqlite = Backend::Sqlite.run(TestApp::spawn()).await;
    let postgres = Backend::Postgres.run(TestApp::spawn()).await;
    assert_eq!(postgres.backend, Backend::Postgres);
    (sqlite, postgres)
}

/// The body of a 200 answer to `path`, as bytes, the server's own address in it (OData's
/// context and next links) written as `http://server`: two servers listen on two ports.
async fn body(app: &TestApp, path: &str) -> Vec<u8> {
    // Small OData pages, so the feed pages by next links.
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(&app.key)
        .header("Prefer", "odata.maxpagesize=300")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "{:?} GET {path}: {}",
        app.backend,
        String::from_utf8_lossy(&bytes)
    );
    match String::from_utf8(bytes) {
        Ok(text) => text.replace(&app.address, "http://server").into_bytes(),
        Err(binary) => binary.into_bytes(),
    }
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
async fn odata_pages_with_filter_orderby_and_count_are_the_same_bytes() {
    for query in [
        "$count=true&$top=50&$filter=n_offered%20gt%203%20and%20media_type%20eq%20'voice'",
        "$count=true&$orderby=n_offered%20desc,queue_id&$top=40&$skip=10",
        "$filter=interval_start%20ge%202024-03-31T00:00:00Z%20and%20not%20contains(queue_id,'a')&$orderby=interval_start%20desc&$top=25",
        "$select=id,interval_start,queue_id,t_handle_sum_ms&$filter=endswith(media_type,'ice')%20or%20t_handle_sum_ms%20eq%20null&$top=30",
        "$top=700",
    ] {
        let page = json(&assert_same_bytes(&format!("/odata/{DATASET}?{query}")).await);
        assert!(
            !page["value"].as_array().unwrap().is_empty(),
            "{query}: {page}"
        );
    }
    // The next page (resumed after the key of the last row served), and the count alone.
    let first = json(&assert_same_bytes(&format!("/odata/{DATASET}")).await);
    let next = first["@odata.nextLink"].as_str().expect("a next page");
    let next = next.split_once("/odata/").unwrap().1;
    assert_same_bytes(&format!("/odata/{next}")).await;
    assert_same_bytes(&format!(
        "/odata/{DATASET}/$count?$filter=queue_id%20ne%20null%20and%20n_offered%20le%205"
    ))
    .await;
    for set in ["queues", "users", "wrapup_codes", "presences"] {
        assert_same_bytes(&format!("/odata/{set}?$count=true&$orderby=name%20desc")).await;
    }
    assert_same_bytes("/odata/$metadata").await;
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

#[tokio::test]
async fn the_kpi_feeds_are_the_same_bytes() {
    for path in [
        format!("/odata/{DATASET}_kpi?$count=true&$orderby=service_level%20desc,id&$top=120"),
        format!(
            "/odata/{DATASET}_daily_kpi?$filter=date%20eq%202024-03-31%20and%20offered%20gt%200&$expand=queue"
        ),
        format!("/odata/{DATASET}_daily_kpi?$orderby=date%20desc,queue_name&$top=40"),
        format!("/v1/datasets/{DATASET}_daily_kpi/rows?limit=500"),
        format!("/v1/datasets/{DATASET}_daily_kpi/rows?format=csv&group_by=queueId"),
        format!(
            "/v1/datasets/{DATASET}_kpi/rows?granularity=P1D&time_zone=America/New_York&group_by=queueId&limit=10000"
        ),
    ] {
        let body = assert_same_bytes(&path).await;
        assert!(
            body.len() > 200,
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// A store of `buckets` quarter hours of `queues` queues (one row each, some values missing).
fn many_rows_store(path: &std::path::Path, buckets: i64, queues: usize) {
    use genesys::Interval;
    use jiff::SignedDuration;
    use warehouse::{AggregateRow, Store, TableSpec, Value, WindowWrite};
    let store = warehouse::SqliteStore::open(path).unwrap();
    let spec = TableSpec {
        name: "many".into(),
        dimensions: vec!["queueId".into()],
        metrics: vec!["nOffered".into(), "tHandle".into()],
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
    };
    store.ensure_dataset(&spec).unwrap();
    let start: jiff::Timestamp = "2024-03-30T00:00:00Z".parse().unwrap();
    let end = start + SignedDuration::from_mins(15 * buckets);
    let mut rows = Vec::new();
    for bucket in 0..buckets {
        let s = start + SignedDuration::from_mins(15 * bucket);
        for queue in 0..queues {
            let n = bucket * 7 + queue as i64;
            let some = |v: i64| (n % 5 != 0).then_some(Value::Int(v));
            rows.push(AggregateRow {
                interval: Interval::new(s, s + SignedDuration::from_mins(15)),
                group: vec![(queue != 0 || bucket % 3 != 0).then(|| format!("q-{queue:02}"))],
                values: vec![
                    some(n % 13),
                    some(n % 3),
                    some(n * 1_000),
                    some(n),
                    some(n + 9),
                ],
            });
        }
    }
    store
        .write_window(&WindowWrite {
            dataset: "many",
            window: Interval::new(start, end),
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        })
        .unwrap();
}

#[tokio::test]
async fn a_read_of_more_rows_than_a_cursor_batch_gives_every_row_as_sqlite_does() {
    use warehouse::read::Selection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.db");
    // 7,680 rows, a missing queue among them: many of the PostgreSQL driver's batches of
    // messages, streamed.
    many_rows_store(&path, 4 * 96, 20);
    let apps = [
        Backend::Sqlite.run(TestApp::on(path.clone())).await,
        Backend::Postgres.run(TestApp::on(path.clone())).await,
    ];
    let segment = (
        "2024-03-29T00:00:00Z".parse().unwrap(),
        "2024-04-05T00:00:00Z".parse().unwrap(),
    );
    let mut read = Vec::new();
    for app in &apps {
        let store = warehouse::open_reader(&app.config).unwrap();
        let session = store.export_session().unwrap();
        let spec = session.dataset("many").unwrap().expect("copied").spec;
        // Everything as stored, and a rollup by queue of the whole segment.
        let stored = Selection::all(&spec)
            .read(&*session, segment, 0, u64::MAX)
            .unwrap();
        let mut by_queue = Selection::all(&spec);
        by_queue.rollup = true;
        let rolled = by_queue.read(&*session, segment, 0, u64::MAX).unwrap();
        read.push((stored, rolled));
    }
    assert_eq!(read[0].0.len(), 4 * 96 * 20);
    assert_eq!(read[0].1.len(), 21, "20 queues and the missing one");
    assert!(read[0] == read[1], "PostgreSQL read other rows than SQLite");
    // And over HTTP, in the server's own chunks.
    let path = "/v1/datasets/many/rows?format=csv&from=2024-03-29&to=2024-04-05";
    assert_eq!(body(&apps[0], path).await, body(&apps[1], path).await);
}
