//! Rows and rollups over HTTP equal sums computed here from the rows the store holds; CSV and
//! NDJSON carry the same rows as JSON; bad input is a 400 naming the parameter.

use std::collections::BTreeMap;
use test_support::TestApp;
use test_support::app::{DATASET, assert_problem, at};

use jiff::tz::TimeZone;
use serde_json::Value;
use test_support::store::{Stored, StoredRow};
use warehouse::statement::Bound;

/// SQL's `sum`: nothing if every value is missing.
fn sum(values: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    values.into_iter().flatten().reduce(|a, b| a + b)
}

/// SQL's `min` and `max`: nothing if every value is missing.
fn least(values: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    values.into_iter().flatten().min()
}

fn greatest(values: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    values.into_iter().flatten().max()
}

/// Whether the row's bucket starts in `[from, to)` (instants as stored text).
fn starts_within(row: &StoredRow<'_>, from: &str, to: &str) -> bool {
    let start = row.text("interval_start").unwrap();
    start >= from && start < to
}

/// Every page of a JSON rows query, following `next`.
async fn all_pages(app: &TestApp, first: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut next = Some(first.to_string());
    while let Some(path) = next {
        let body = app.get_json(&path).await;
        rows.extend(body["rows"].as_array().unwrap().iter().cloned());
        next = body["next"].as_str().map(String::from);
        pages += 1;
    }
    (rows, pages)
}

/// (interval_start, queue_id, media_type, n_offered, t_handle_sum_ms)
type Stored5 = (
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

test_support::backend_tests! {
#[tokio::test]
async fn stored_rows_page_through_every_row_once() {
    let app = TestApp::spawn().await;
    let path = format!("/v1/datasets/{DATASET}/rows?limit=700&metrics=nOffered,tHandle");
    let (rows, pages) = all_pages(&app, &path).await;
    let table = app.table(DATASET);
    let mut expected: Vec<Stored5> = table
        .rows()
        .map(|r| {
            (
                r.text("interval_start").unwrap().to_string(),
                r.text("queue_id").map(String::from),
                r.text("media_type").map(String::from),
                r.integer("n_offered"),
                r.integer("t_handle_sum_ms"),
            )
        })
        .collect();
    // By bucket, queue and media type (nulls first), as the rows are served.
    expected.sort();
    assert!(expected.len() > 1_500, "{} rows stored", expected.len());
    assert!(pages >= expected.len() / 700, "{pages} pages");
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["interval_start"].as_str().unwrap().to_string(),
                r["queue_id"].as_str().map(String::from),
                r["media_type"].as_str().map(String::from),
                r["n_offered"].as_i64(),
                r["t_handle_sum_ms"].as_i64(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    assert!(
        rows[0].get("t_abandon_count").is_none(),
        "only the metrics asked for"
    );
    assert!(rows[0].get("t_handle_avg_ms").is_some());
}
}

fn local_day(date: &str) -> jiff::Timestamp {
    let tz = TimeZone::get("Europe/London").unwrap();
    date.parse::<jiff::civil::Date>()
        .unwrap()
        .to_zoned_datetime(tz)
        .unwrap()
        .timestamp()
}

type DayQueue = (
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

test_support::backend_tests! {
#[tokio::test]
async fn daily_rollup_in_london_equals_the_stored_sums_per_local_day() {
    let app = TestApp::spawn().await;
    let body = app
        .get_json(&format!(
            "/v1/datasets/{DATASET}/rows?from=2024-03-29&to=2024-04-01&granularity=P1D&time_zone=Europe/London&group_by=queueId&limit=10000"
        ))
        .await;
    assert!(body["next"].is_null());
    let rows = body["rows"].as_array().unwrap();
    let days = ["2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01"];
    let table = app.table(DATASET);
    let mut compared = 0;
    for pair in days.windows(2) {
        let (start, end) = (local_day(pair[0]), local_day(pair[1]));
        let (s, e) = (
            genesys::interval::format_instant(start),
            genesys::interval::format_instant(end),
        );
        // GROUP BY queue_id (the rows without a queue first), summed over the local day.
        let mut by_queue: BTreeMap<Option<&str>, Vec<StoredRow<'_>>> = BTreeMap::new();
        for row in table.rows().filter(|r| starts_within(r, &s, &e)) {
            by_queue.entry(row.text("queue_id")).or_default().push(row);
        }
        let expected: Vec<DayQueue> = by_queue
            .into_iter()
            .map(|(queue, rows)| {
                let column = |name: &str| rows.iter().map(|r| r.integer(name)).collect::<Vec<_>>();
                (
                    queue.unwrap_or_default().to_string(),
                    sum(column("n_offered")),
                    sum(column("t_answered_count")),
                    sum(column("t_handle_sum_ms")),
                    sum(column("t_handle_count")),
                    least(column("t_handle_min_ms")),
                    greatest(column("t_handle_max_ms")),
                    sum(column("o_service_level_numerator")),
                    sum(column("o_service_level_denominator")),
                )
            })
            .collect();
        let got: Vec<DayQueue> = rows
            .iter()
            .filter(|r| r["interval_start"] == s.as_str())
            .map(|r| {
                assert_eq!(r["interval_end"], e.as_str());
                (
                    r["queue_id"].as_str().unwrap_or_default().to_string(),
                    r["n_offered"].as_i64(),
                    r["t_answered_count"].as_i64(),
                    r["t_handle_sum_ms"].as_i64(),
                    r["t_handle_count"].as_i64(),
                    r["t_handle_min_ms"].as_i64(),
                    r["t_handle_max_ms"].as_i64(),
                    r["o_service_level_numerator"].as_i64(),
                    r["o_service_level_denominator"].as_i64(),
                )
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "day {}", pair[0]);
        for r in rows.iter().filter(|r| r["interval_start"] == s.as_str()) {
            if let (Some(sum), Some(count)) =
                (r["t_handle_sum_ms"].as_f64(), r["t_handle_count"].as_f64())
            {
                let avg = r["t_handle_avg_ms"].as_f64().unwrap();
                assert!((avg - sum / count).abs() < 1e-6, "average is sum / count");
            }
        }
        compared += got.len();
    }
    assert_eq!(compared, rows.len(), "no row outside the three local days");
    let dst = rows
        .iter()
        .find(|r| r["interval_start"] == "2024-03-31T00:00:00.000Z")
        .unwrap();
    assert_eq!(
        dst["interval_end"], "2024-03-31T23:00:00.000Z",
        "a 23-hour day"
    );
}
}

fn same_cell(csv: &str, json: &Value) -> bool {
    match json {
        Value::Null => csv.is_empty(),
        Value::String(s) => s == csv,
        // serde_json's default float parsing may be off by an ulp, so not bit-for-bit.
        Value::Number(n) => match (csv.parse::<f64>(), n.as_f64()) {
            (Ok(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs().max(1.0),
            _ => false,
        },
        _ => false,
    }
}

test_support::backend_tests! {
#[tokio::test]
async fn csv_and_ndjson_carry_the_json_rows() {
    let app = TestApp::spawn().await;
    let query = "granularity=PT1H&names=true&filter=mediaType=voice&from=2024-03-30&to=2024-03-31";
    let (json_rows, _) = all_pages(
        &app,
        &format!("/v1/datasets/{DATASET}/rows?{query}&limit=100"),
    )
    .await;
    assert!(json_rows.len() > 24, "{}", json_rows.len());
    assert!(json_rows.iter().all(|r| r["media_type"] == "voice"));
    assert!(
        json_rows.iter().all(|r| r["queue_name"].is_string()),
        "names joined"
    );

    let csv_response = app
        .get(&format!("/v1/datasets/{DATASET}/rows?{query}&format=csv"))
        .await;
    assert_eq!(csv_response.status(), 200);
    assert_eq!(
        csv_response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let text = csv_response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), json_rows.len());
    for (record, row) in records.iter().zip(&json_rows) {
        let object = row.as_object().unwrap();
        assert_eq!(header.len(), object.len());
        for (name, field) in header.iter().zip(record.iter()) {
            assert!(
                same_cell(field, &object[name]),
                "{name}: csv `{field}` vs json {}",
                object[name]
            );
        }
    }

    let ndjson = app
        .get(&format!(
            "/v1/datasets/{DATASET}/rows?{query}&format=ndjson"
        ))
        .await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = ndjson
        .text()
        .await
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, json_rows);
}
}

test_support::backend_tests! {
#[tokio::test]
/// An export cut into chunks of a few rows (each chunk resumes at its last row's bucket) has the
/// bytes of one read whole, for stored rows, grouped rows and rollups, in both text formats;
/// and its averages and ratios (derived outside SQLite) equal the JSON page's.
async fn exports_in_small_chunks_have_the_bytes_of_whole_reads() {
    let whole = TestApp::spawn().await;
    let chunked = TestApp::spawn_with(|server| server.stream_chunk_rows(7)).await;
    for query in [
        "from=2024-03-29&to=2024-03-31",
        "from=2024-03-29&to=2024-03-31&group_by=queueId",
        "from=2024-03-29&to=2024-03-31&granularity=PT1H&names=true",
        "granularity=P1D",
    ] {
        for format in ["csv", "ndjson"] {
            let path = format!("/v1/datasets/{DATASET}/rows?{query}&format={format}");
            let expected = whole.get(&path).await.text().await.unwrap();
            let got = chunked.get(&path).await.text().await.unwrap();
            assert!(expected.lines().count() > 20, "{query}: {expected}");
            assert!(
                got == expected,
                "{query} as {format}: the chunked export differs"
            );
        }
    }
    // Through CSV text and `str::parse` (correctly rounded, unlike serde_json's default).
    let csv = whole
        .get(&format!(
            "/v1/datasets/{DATASET}/rows?from=2024-03-30&to=2024-03-31&format=csv"
        ))
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "t_handle_avg_ms")
        .unwrap();
    let ours: Vec<Option<f64>> = reader
        .records()
        .map(|r| r.unwrap()[column].parse().ok())
        .collect();
    // The ratio as the store's KPI views compute it, row by row in the export's order.
    let table = whole.table(DATASET);
    let mut day: Vec<StoredRow<'_>> = table
        .rows()
        .filter(|r| starts_within(r, "2024-03-30", "2024-03-31"))
        .collect();
    let order = |r: &StoredRow<'_>| {
        let text = |column| r.text(column).unwrap_or_default().to_string();
        (text("interval_start"), text("queue_id"), text("media_type"))
    };
    day.sort_by_key(order);
    let bound = |value: &Stored| match value {
        Stored::Null => Bound::Null,
        Stored::Integer(i) => Bound::Integer(*i),
        other => panic!("not an integer: {other:?}"),
    };
    let by_the_store: Vec<Option<f64>> = day
        .iter()
        .map(|r| {
            warehouse::testing::kpi_ratio(
                bound(r.get("t_handle_sum_ms")),
                bound(r.get("t_handle_count")),
            )
            .unwrap()
        })
        .collect();
    assert!(by_the_store.iter().any(Option::is_some), "{by_the_store:?}");
    let bits = |values: &[Option<f64>]| -> Vec<Option<u64>> {
        values.iter().map(|v| v.map(f64::to_bits)).collect()
    };
    assert_eq!(bits(&ours), bits(&by_the_store));
}
}

test_support::backend_tests! {
#[tokio::test]
async fn bad_input_is_a_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let rows = format!("/v1/datasets/{DATASET}/rows");
    let cases = [
        ("granularity=PT7M", "granularity"),
        ("granularity=soon", "granularity"),
        ("group_by=queueId,skill", "group_by"),
        ("metrics=nOffered,nBogus", "metrics"),
        ("filter=queueId", "filter"),
        ("filter=team=x", "filter"),
        ("from=yesterday", "from"),
        ("from=2024-04-01&to=2024-03-30", "to"),
        ("time_zone=Mars/Olympus", "time_zone"),
        ("format=xml", "format"),
        ("limit=0", "limit"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("names=maybe", "names"),
        ("colour=blue", "colour"),
        ("format=csv&cursor=x", "cursor"),
    ];
    for (query, parameter) in cases {
        let body = assert_problem(app.get(&format!("{rows}?{query}")).await, 400).await;
        assert_eq!(body["parameter"], parameter, "{query}: {body}");
    }
    let body = assert_problem(app.get("/v1/report").await, 400).await;
    assert_eq!(body["parameter"], "dataset");
    assert_problem(app.get("/v1/datasets/nope/rows").await, 404).await;
    assert_problem(app.get("/v1/report?dataset=nope").await, 404).await;
    assert_problem(app.get("/v1/datasets/x%22%3B%20drop/rows").await, 404).await;
}
}

test_support::backend_tests! {
#[tokio::test]
async fn report_figures_equal_the_stored_sums() {
    let app = TestApp::spawn().await;
    let body = app
        .get_json("/v1/report?dataset=queue_performance&from=2024-03-30T00:00:00Z&to=2024-03-31T00:00:00Z")
        .await;
    let table = app.table(DATASET);
    // The figures over the day, of one queue or all: sums, and sums divided.
    let expected = |queue: Option<&str>| -> (i64, i64, i64, f64, f64, f64) {
        let rows: Vec<StoredRow<'_>> = table
            .rows()
            .filter(|r| starts_within(r, "2024-03-30T00:00:00.000Z", "2024-03-31T00:00:00.000Z"))
            .filter(|r| queue.is_none() || r.text("queue_id") == queue)
            .collect();
        let total = |column: &str| sum(rows.iter().map(|r| r.integer(column))).unwrap();
        let ratio = |numerator: &str, denominator: &str| {
            total(numerator) as f64 / total(denominator) as f64
        };
        (
            total("n_offered"),
            total("t_answered_count"),
            total("t_abandon_count"),
            ratio("t_handle_sum_ms", "t_handle_count"),
            ratio("t_wait_sum_ms", "t_wait_count"),
            ratio("o_service_level_numerator", "o_service_level_denominator"),
        )
    };
    let check = |figures: &Value, want: (i64, i64, i64, f64, f64, f64)| {
        assert_eq!(figures["offered"], want.0);
        assert_eq!(figures["answered"], want.1);
        assert_eq!(figures["abandoned"], want.2);
        assert!((figures["avg_handle_ms"].as_f64().unwrap() - want.3).abs() < 1e-6);
        assert!((figures["avg_wait_ms"].as_f64().unwrap() - want.4).abs() < 1e-6);
        assert!((figures["service_level"].as_f64().unwrap() - want.5).abs() < 1e-9);
    };
    check(&body["totals"], expected(None));
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 6, "one per queue");
    for group in groups {
        let queue = group["queue_id"].as_str().unwrap();
        assert!(group["queue_name"].is_string());
        check(group, expected(Some(queue)));
    }
    assert_eq!(body["complete_through"], "2024-04-02T00:00:00.000Z");
    assert_eq!(body["final"], true);
    let open = app
        .get_json("/v1/report?dataset=queue_performance&from=2024-04-01&to=2024-04-03")
        .await;
    assert_eq!(
        open["final"], false,
        "a range past the watermark is not final"
    );
}
}

test_support::backend_tests! {
#[tokio::test]
async fn datasets_describe_columns_and_freshness() {
    let app = TestApp::spawn().await;
    let body = app.get_json("/v1/datasets").await;
    let dataset = &body["datasets"][0];
    assert_eq!(dataset["name"], DATASET);
    assert_eq!(dataset["granularity"], "PT15M");
    assert_eq!(dataset["time_zone"], "Europe/London");
    assert_eq!(dataset["complete_through"], "2024-04-02T00:00:00.000Z");
    assert_eq!(dataset["row_count"], app.table(DATASET).len());
    assert_eq!(dataset["last_run"]["status"], "ok");
    let columns = dataset["columns"].as_array().unwrap();
    let column = |name: &str| columns.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(column("queue_id")["meaning"], "Queue");
    assert_eq!(column("n_offered")["type"], "integer");
    assert_eq!(
        column("n_offered")["meaning"],
        "Interactions offered to a queue"
    );
    assert!(
        column("t_handle_sum_ms")["meaning"]
            .as_str()
            .unwrap()
            .contains("sum, ms")
    );
    assert!(
        column("o_service_level_ratio")["meaning"]
            .as_str()
            .unwrap()
            .contains("numerator / denominator")
    );
    assert_eq!(
        at("2024-04-02T00:00:00Z").to_string(),
        "2024-04-02T00:00:00Z"
    );
}
}

/// (interval_start, queue_id, offered, longest handle)
type QueueBucket = (String, Option<String>, Option<i64>, Option<i64>);

test_support::backend_tests! {
#[tokio::test]
async fn stored_buckets_grouped_by_fewer_dimensions_sum_the_others() {
    let app = TestApp::spawn().await;
    let (rows, _) = all_pages(
        &app,
        &format!(
            "/v1/datasets/{DATASET}/rows?group_by=queue_id&from=2024-03-30&to=2024-03-31&limit=333"
        ),
    )
    .await;
    // GROUP BY interval_start, queue_id over the day: offered summed, the longest handle.
    let table = app.table(DATASET);
    let mut buckets: BTreeMap<(String, Option<String>), Vec<StoredRow<'_>>> = BTreeMap::new();
    for row in table
        .rows()
        .filter(|r| starts_within(r, "2024-03-30T00:00:00.000Z", "2024-03-31T00:00:00.000Z"))
    {
        let key = (
            row.text("interval_start").unwrap().to_string(),
            row.text("queue_id").map(String::from),
        );
        buckets.entry(key).or_default().push(row);
    }
    let expected: Vec<QueueBucket> = buckets
        .into_iter()
        .map(|((start, queue), rows)| {
            (
                start,
                queue,
                sum(rows.iter().map(|r| r.integer("n_offered"))),
                greatest(rows.iter().map(|r| r.integer("t_handle_max_ms"))),
            )
        })
        .collect();
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            assert!(r.get("media_type").is_none(), "summed over media");
            (
                r["interval_start"].as_str().unwrap().to_string(),
                r["queue_id"].as_str().map(String::from),
                r["n_offered"].as_i64(),
                r["t_handle_max_ms"].as_i64(),
            )
        })
        .collect();
    assert!(expected.len() > 96, "{}", expected.len());
    assert_eq!(got, expected);
}
}

test_support::backend_tests! {
#[tokio::test]
/// Found by schemathesis (a 10 s request): a range reaching decades before and after the
/// stored data, rolled up to PT12H, has ~44 000 buckets, nearly all empty, that must be skipped, not
/// queried one by one. Paged in small pages, it yields exactly the rows of the stored range.
async fn a_range_far_wider_than_the_store_pages_the_same_rows() {
    let app = TestApp::spawn().await;
    let query = "granularity=PT12H&time_zone=Etc/GMT%2B12&group_by=mediaType&metrics=nOffered";
    let wide = format!("/v1/datasets/{DATASET}/rows?{query}&from=1970-01-01&to=2030-01-01&limit=7");
    let narrow = format!("/v1/datasets/{DATASET}/rows?{query}&from=2024-03-28&to=2024-04-03");
    let (wide_rows, pages) = all_pages(&app, &wide).await;
    let (narrow_rows, _) = all_pages(&app, &narrow).await;
    assert!(narrow_rows.len() > 7, "{} rows", narrow_rows.len());
    assert!(pages >= narrow_rows.len() / 7, "{pages} pages");
    assert_eq!(wide_rows, narrow_rows);
}
}

/// The raw response to `path` with `Accept-Encoding` as given (no transparent decoding).
async fn get_encoded(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let mut request = client.get(app.url(path)).bearer_auth(&app.key);
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

test_support::backend_tests! {
#[tokio::test]
async fn json_answers_are_gzipped_for_clients_that_accept_it() {
    let app = TestApp::spawn().await;
    let paths = [
        format!("/v1/datasets/{DATASET}/rows?granularity=P1D&group_by=queueId&limit=10000"),
        format!("/v1/report?dataset={DATASET}&from=2024-03-29&to=2024-04-01"),
    ];
    for path in &paths {
        let plain = get_encoded(&app, path, None).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(plain.headers().get("content-encoding").is_none());
        assert_eq!(plain.headers()["vary"], "accept-encoding");
        let plain = plain.bytes().await.unwrap();
        // Twice: computed (or taken from the plain answer) and compressed, then from the cache.
        for _ in 0..2 {
            let zipped = get_encoded(&app, path, Some("br;q=1.0, gzip;q=0.8")).await;
            assert_eq!(zipped.status(), 200);
            assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
            assert_eq!(zipped.headers()["vary"], "accept-encoding");
            let zipped = zipped.bytes().await.unwrap();
            assert!(
                zipped.len() < plain.len(),
                "{path}: {} >= {}",
                zipped.len(),
                plain.len()
            );
            assert_eq!(gunzip(&zipped), plain, "{path}");
        }
        let refused = get_encoded(&app, path, Some("gzip;q=0, identity")).await;
        assert!(refused.headers().get("content-encoding").is_none());
        assert_eq!(refused.bytes().await.unwrap(), plain);
    }
    // reqwest's own transparent gzip reads the same JSON.
    let json = app.get_json(&paths[0]).await;
    assert!(!json["rows"].as_array().unwrap().is_empty());
}
}

mod limits {
    //! Every `/v1` parameter has limits; past them, a 400 problem naming the parameter.

    use super::*;
    use server::routes::rows::{
        MAX_FILTER_VALUES, MAX_LIST_ITEMS, MAX_PAIRS, MAX_QUERY_BYTES, MAX_VALUE_BYTES,
    };

    fn rows(query: &str) -> String {
        format!("/v1/datasets/{DATASET}/rows?{query}")
    }

    async fn ok(app: &TestApp, path: &str) {
        let response = app.get(path).await;
        let status = response.status();
        assert_eq!(status, 200, "{}", &path[..path.len().min(120)]);
    }

    /// The 400's named parameter and detail.
    async fn refused(app: &TestApp, path: &str) -> (String, String) {
        let body = assert_problem(app.get(path).await, 400).await;
        let text = |field: &str| body[field].as_str().unwrap_or_default().to_string();
        (text("parameter"), text("detail"))
    }

    fn repeated(name: &str, value: &str, n: usize) -> String {
        vec![format!("{name}={value}"); n].join("&")
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn filter_values_lists_and_value_lengths_accept_the_limit_and_refuse_past_it() {
        let app = TestApp::spawn().await;
        // `filter` values are bound values of one IN list each.
        let filters = |n: usize| {
            (0..n)
                .map(|i| format!("filter=queueId={i:036}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert!(filters(MAX_FILTER_VALUES + 1).len() < MAX_QUERY_BYTES);
        ok(&app, &rows(&filters(MAX_FILTER_VALUES))).await;
        let (parameter, detail) = refused(&app, &rows(&filters(MAX_FILTER_VALUES + 1))).await;
        assert_eq!(parameter, "filter");
        assert!(
            detail.contains(&format!("limit is {MAX_FILTER_VALUES}")),
            "{detail}"
        );

        let names = |n: usize| vec!["nOffered"; n].join(",");
        ok(&app, &rows(&format!("metrics={}", names(MAX_LIST_ITEMS)))).await;
        let (parameter, detail) = refused(
            &app,
            &rows(&format!("metrics={}", names(MAX_LIST_ITEMS + 1))),
        )
        .await;
        assert_eq!(parameter, "metrics");
        assert!(detail.contains("limit"), "{detail}");
        let dimensions = |n: usize| vec!["queueId"; n].join(",");
        ok(
            &app,
            &rows(&format!("group_by={}", dimensions(MAX_LIST_ITEMS))),
        )
        .await;
        let (parameter, _) = refused(
            &app,
            &rows(&format!("group_by={}", dimensions(MAX_LIST_ITEMS + 1))),
        )
        .await;
        assert_eq!(parameter, "group_by");

        let value = |length: usize| format!("queueId={}", "v".repeat(length - "queueId=".len()));
        ok(&app, &rows(&format!("filter={}", value(MAX_VALUE_BYTES)))).await;
        let (parameter, detail) = refused(
            &app,
            &rows(&format!("filter={}", value(MAX_VALUE_BYTES + 1))),
        )
        .await;
        assert_eq!(parameter, "filter");
        assert!(
            detail.contains(&format!("limit is {MAX_VALUE_BYTES}")),
            "{detail}"
        );
        for name in [
            "from",
            "to",
            "time_zone",
            "granularity",
            "cursor",
            "format",
            "limit",
        ] {
            let path = rows(&format!("{name}={}", "9".repeat(MAX_VALUE_BYTES + 1)));
            let (parameter, detail) = refused(&app, &path).await;
            assert_eq!(parameter, name, "{detail}");
        }
        ok(&app, "/healthz").await;
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn the_query_string_and_its_parameter_count_are_limited() {
        let app = TestApp::spawn().await;
        // Each parameter within its own limits, together at the pair limit, then one more.
        let pairs = |n: usize| {
            let filters = repeated("filter", "queueId=q", MAX_FILTER_VALUES);
            format!(
                "{filters}&{}",
                repeated("group_by", "queueId", n - MAX_FILTER_VALUES)
            )
        };
        ok(&app, &rows(&pairs(MAX_PAIRS))).await;
        let (parameter, detail) = refused(&app, &rows(&pairs(MAX_PAIRS + 1))).await;
        assert_eq!(parameter, "group_by");
        assert!(
            detail.contains(&format!("{MAX_PAIRS} parameters")),
            "{detail}"
        );
        let long = rows(&format!(
            "filter=queueId={}",
            "%41".repeat(MAX_QUERY_BYTES / 3)
        ));
        let (parameter, detail) = refused(&app, &long).await;
        assert_eq!(parameter, "filter");
        assert!(detail.contains("limit"), "{detail}");
        let report = format!(
            "/v1/report?dataset={DATASET}&filter=queueId={}",
            "%41".repeat(MAX_QUERY_BYTES / 3)
        );
        let (parameter, _) = refused(&app, &report).await;
        assert_eq!(parameter, "filter");
    }
    }

    test_support::backend_tests! {
    #[tokio::test]
    async fn bad_bytes_huge_numbers_and_repeats_are_400s_naming_the_parameter() {
        let app = TestApp::spawn().await;
        let report = |query: &str| format!("/v1/report?dataset={DATASET}&{query}");
        let cases = [
            (rows("from=2024-04-01%FF"), "from"),
            (rows("time_zone=Europe%2FLondon%00"), "time_zone"),
            (rows("filter=queueId=%FF%FE"), "filter"),
            (rows("filter=queueId=%00"), "filter"),
            (rows("group_by=queueId%C3"), "group_by"),
            (rows("metrics=nOffered%00"), "metrics"),
            (rows("cursor=%FF"), "cursor"),
            (rows("limit=%00"), "limit"),
            (rows("limit=99999999999999999999999999"), "limit"),
            (rows("limit=-1"), "limit"),
            (rows("from=99999-01-01"), "from"),
            (rows("granularity=P99999999999999999999D"), "granularity"),
            (rows("granularity=PT1H&granularity=P1D"), "granularity"),
            (rows("time_zone=UTC&time_zone=UTC"), "time_zone"),
            (rows("format=csv&format=json"), "format"),
            (rows("names=true&names=false"), "names"),
            (rows("limit=1&limit=1"), "limit"),
            (report("dataset=x"), "dataset"),
            (report("from=%FF"), "from"),
            (report("filter=queueId%00=a"), "filter"),
            ("/v1/report?dataset=%FF".to_string(), "dataset"),
            ("/v1/datasets/%FF/rows".to_string(), "name"),
        ];
        for (path, parameter) in cases {
            let (named, detail) = refused(&app, &path).await;
            assert_eq!(named, parameter, "{path}: {detail}");
            assert!(detail.len() < 300, "{detail}");
        }
        ok(&app, "/healthz").await;
    }
    }
}

/// A store written by the release before typed dataset definitions (schema 1, the definition a
/// string): `crates/warehouse/tests/fixtures/README.md` says how it was made, and the answers
/// beside it are what that release's server said over it.
mod legacy_store {
    use std::io::Read;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use emulator::synth::{ContactCentre, OrgShape};
    use genesys::aggregates::AggregationQuery;
    use serde_json::Value;
    use sync::config::Config;
    use sync::engine::{Engine, InProcess, Mode};
    use warehouse::{DatasetChange, SqliteStore};

    use super::{TestApp, at};

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../warehouse/tests/fixtures")
    }

    fn unpack_legacy_store(dir: &Path) -> PathBuf {
        let packed = std::fs::File::open(fixtures().join("legacy-v1.db.gz")).unwrap();
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(packed)
            .read_to_end(&mut bytes)
            .unwrap();
        let path = dir.join("legacy.db");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn answer_before(name: &str) -> Value {
        let path = fixtures().join(format!("legacy-v1-answers/{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn a_store_from_before_typed_definitions_migrates_in_place_and_answers_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let store = unpack_legacy_store(dir.path());
        let app = TestApp::on(store.clone()).await;

        let datasets = app.table("datasets");
        let stored = datasets
            .rows()
            .find(|r| r.text("name") == Some("voice_queues"))
            .expect("voice_queues is stored");
        let column = |name: &str| stored.text(name).unwrap().to_string();
        let (kind, granularity, time_zone, filter) = (
            column("kind"),
            column("granularity"),
            column("time_zone"),
            column("filter"),
        );
        assert_eq!(
            (kind.as_str(), granularity.as_str(), time_zone.as_str()),
            ("conversation_aggregates", "PT1H", "Europe/London")
        );
        let filter: genesys::filter::Filter = serde_json::from_str(&filter).unwrap();
        assert_eq!(filter.clauses[0].predicates.len(), 2, "{filter:?}");

        for (name, query) in [
            ("stored", ""),
            ("p1d", "?granularity=P1D"),
            ("p1d_utc", "?granularity=P1D&time_zone=UTC"),
            ("pt2h", "?granularity=PT2H"),
        ] {
            let now = app
                .get_json(&format!("/v1/datasets/voice_queues/rows{query}"))
                .await;
            assert_eq!(now, answer_before(name), "rows{query}");
        }

        // A sync with the same configuration carries on: the dataset is unchanged (its
        // fingerprint still matches), the old rows stay and the next day is added.
        let before = app.table("voice_queues").len();
        let config = std::fs::read_to_string(fixtures().join("legacy-v1.toml")).unwrap();
        let spec = Config::parse(&config, Path::new("legacy-v1.toml"))
            .unwrap()
            .dataset_specs()
            .unwrap()
            .remove(0);
        let shape = OrgShape {
            queues: 3,
            agents: 6,
            wrapup_codes: 2,
            conversations_per_day: 300,
            late_wrapup_percent: 0,
        };
        let centre = ContactCentre::new(42, &shape);
        let source = Arc::new(InProcess(move |q: &AggregationQuery| {
            centre
                .aggregate(q, at("2024-05-12T00:00:00Z"))
                .map_err(|e| e.message)
        }));
        let writer = Arc::new(SqliteStore::open(&store).unwrap());
        let report = Engine::new(source, writer)
            .sync_dataset(
                &spec,
                at("2024-05-12T00:00:00Z"),
                Mode::Backfill {
                    from: at("2024-05-09T23:00:00Z"),
                    to: at("2024-05-10T23:00:00Z"),
                },
            )
            .await
            .unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.change, DatasetChange::Unchanged);
        assert!(report.rows_written > 0);
        let after = app.table("voice_queues").len();
        assert_eq!(after, before + report.rows_written);
        let listing = app.get_json("/v1/datasets").await;
        let dataset = &listing["datasets"][0];
        assert_eq!(dataset["name"], "voice_queues");
        assert_eq!(dataset["time_zone"], "Europe/London");
        assert_eq!(dataset["granularity"], "PT1H");
    }
}
