//! A record dataset as BI tools read it, on both backends: rows by their start, an open
//! record's end empty (CSV), null (OData, Parquet); no rollups and no KPI feeds.

use jiff::Timestamp;
use test_support::app::TestApp;
use warehouse::{DatasetKind, NamedTimeZone, RecordRow, Store, TableSpec, Value, WindowWrite};

const DATASET: &str = "agent_status_intervals";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A user's routing status or presence from `start` to `end` (`None`: still in force).
fn status(user: &str, start: &str, end: Option<&str>, routing: Option<&str>) -> RecordRow {
    let (start, end) = (at(start), end.map(at));
    let presence = routing.is_none();
    RecordRow {
        start,
        end,
        fields: vec![
            Some(user.into()),
            Some(if presence { "presence" } else { "routing" }.into()),
            presence.then(|| "AVAILABLE".into()),
            presence.then(|| "available-id".into()),
            routing.map(String::from),
        ],
        values: vec![end.map(|end| Value::Int(end.as_millisecond() - start.as_millisecond()))],
    }
}

/// A server on a copy of the shared store, with a day of status intervals written into it.
async fn app_with_status_intervals() -> TestApp {
    let app = TestApp::spawn_on_copy().await;
    let store = app.writer();
    let spec =
        TableSpec::records(DATASET, DatasetKind::UsersDetails, NamedTimeZone::utc()).unwrap();
    store.ensure_dataset(&spec).unwrap();
    let day = genesys::Interval::new(at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"));
    store.initialize_watermark(DATASET, day.start).unwrap();
    let rows = [
        status(
            "u1",
            "2024-05-01T08:00:00Z",
            Some("2024-05-01T08:30:00Z"),
            Some("IDLE"),
        ),
        status("u1", "2024-05-01T08:30:00Z", None, Some("INTERACTING")),
        status(
            "u2",
            "2024-05-01T09:00:00Z",
            Some("2024-05-01T10:00:00Z"),
            None,
        ),
    ];
    let write = WindowWrite {
        dataset: DATASET,
        window: day,
        rows: &[],
        settled: false,
        run_id: None,
        count_changes: false,
    };
    store.write_record_window(&write, &rows, None).unwrap();
    app
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

test_support::backend_tests! {
#[tokio::test]
async fn records_are_served_by_their_start_with_an_open_end_left_empty() {
    let app = app_with_status_intervals().await;
    let (status, csv) = text(&app, &format!("/v1/datasets/{DATASET}/rows?format=csv")).await;
    assert_eq!(status, 200, "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["interval_start", "interval_end", "user_id", "status_kind", "system_presence",
         "organization_presence_id", "routing_status", "duration_ms"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["2024-05-01T08:00:00.000Z", "2024-05-01T08:30:00.000Z", "u1", "routing", "", "", "IDLE", "1800000"],
            ["2024-05-01T08:30:00.000Z", "", "u1", "routing", "", "", "INTERACTING", ""],
            ["2024-05-01T09:00:00.000Z", "2024-05-01T10:00:00.000Z", "u2", "presence", "AVAILABLE", "available-id", "", "3600000"],
        ]
    );
    // From and to choose records by their start; filters take any text column.
    let page = app
        .get_json(&format!("/v1/datasets/{DATASET}/rows?from=2024-05-01T08:15:00Z&filter=user_id=u1"))
        .await;
    let served = page["rows"].as_array().unwrap();
    assert_eq!(served.len(), 1, "{page}");
    assert!(served[0][1].is_null(), "an open record's end is null: {page}");

    let (status, refusal) =
        text(&app, &format!("/v1/datasets/{DATASET}/rows?granularity=P1D")).await;
    assert_eq!(status, 400, "{refusal}");
    assert!(refusal.contains("granularity") && refusal.contains("status intervals"), "{refusal}");
    let (status, refusal) = text(&app, &format!("/v1/report?dataset={DATASET}")).await;
    assert_eq!(status, 400, "{refusal}");

    // No KPI feeds: records have no figures.
    let listed = app.get_json("/v1/datasets").await;
    let names: Vec<&str> = (listed["datasets"].as_array().unwrap().iter())
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&DATASET) && !names.contains(&"agent_status_intervals_kpi"), "{names:?}");
    let (status, _) = text(&app, &format!("/v1/datasets/{DATASET}_kpi/rows")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn odata_and_parquet_give_an_open_records_end_as_null() {
    let app = app_with_status_intervals().await;
    let feed = app.get_json(&format!("/odata/{DATASET}?$orderby=interval_start")).await;
    let values = feed["value"].as_array().unwrap();
    assert_eq!(values.len(), 3, "{feed}");
    assert!(values[1]["interval_end"].is_null(), "{feed}");
    assert_eq!(values[2]["system_presence"], "AVAILABLE");
    let metadata = app.get("/odata/$metadata").await.text().await.unwrap();
    assert!(!metadata.contains("agent_status_intervals_kpi"), "no KPI set for records");
    let (status, _) = text(&app, &format!("/odata/{DATASET}_kpi")).await;
    assert_eq!(status, 404);

    let bytes = app
        .get(&format!("/v1/datasets/{DATASET}/rows?format=parquet"))
        .await
        .bytes()
        .await
        .unwrap();
    let file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut &file, &bytes).unwrap();
    let reader = ::parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    let ends: Vec<::parquet::record::Field> = ::parquet::file::reader::FileReader::get_row_iter(&reader, None)
        .unwrap()
        .map(|row| row.unwrap().get_column_iter().nth(1).unwrap().1.clone())
        .collect();
    assert_eq!(ends.len(), 3);
    assert!(matches!(ends[0], ::parquet::record::Field::TimestampMillis(_)), "{ends:?}");
    assert_eq!(ends[1], ::parquet::record::Field::Null, "an open record's end");
}
}
