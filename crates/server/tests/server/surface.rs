//! The OpenAPI document (snapshot), /metrics and the status page; the server as a service
//! (`serving`: panics, time-outs, connection limits, HTTPS).

mod serving;

use crate::common::{DATASET, TestApp};

const SNAPSHOT: &str = "tests/snapshots/openapi.json";

test_support::backend_tests! {
#[tokio::test]
/// The served document must equal the committed snapshot; `UPDATE_SNAPSHOTS=1` rewrites it.
async fn openapi_matches_its_snapshot_and_names_every_route() {
    let app = TestApp::spawn().await;
    let served = app.get_json("/openapi.json").await;
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{SNAPSHOT}: {e} (run with UPDATE_SNAPSHOTS=1 to create it)"));
    assert_eq!(
        pretty, committed,
        "OpenAPI changed: review, then UPDATE_SNAPSHOTS=1"
    );
    let paths = served["paths"].as_object().unwrap();
    for route in [
        "/healthz",
        "/readyz",
        "/",
        "/metrics",
        "/openapi.json",
        "/v1/datasets",
        "/v1/datasets/{name}/rows",
        "/v1/report",
        "/odata/",
        "/odata/$metadata",
        "/odata/{set}",
        "/odata/{set}/$count",
    ] {
        assert!(paths.contains_key(route), "{route} is not described");
    }
}
}

test_support::backend_tests! {
#[tokio::test]
/// The other direction: every documented path is routed, so none answers the fallback's
/// "no endpoint" problem (the path parameters filled with a real dataset).
async fn every_documented_path_is_routed() {
    let app = TestApp::spawn().await;
    let served = app.get_json("/openapi.json").await;
    let paths = served["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{paths:?}");
    for path in paths.keys() {
        let concrete = path.replace("{name}", DATASET).replace("{set}", DATASET);
        let response = app.get(&concrete).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("/problems/not-found"),
            "{path} is documented but not routed: {status} {body}"
        );
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn metrics_count_requests_rows_and_watermark_lag() {
    let app = TestApp::spawn().await;
    let body = app
        .get_json(&format!("/v1/datasets/{DATASET}/rows?limit=37"))
        .await;
    assert_eq!(body["rows"].as_array().unwrap().len(), 37);
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(
        "genesys_bi_http_requests_total{method=\"GET\",route=\"/v1/datasets/{name}/rows\",status=\"200\"} 1"
    ), "{text}");
    assert!(
        text.contains("genesys_bi_rows_served_total{dataset=\"queue_performance\"} 37"),
        "{text}"
    );
    let lag_line = text
        .lines()
        .find(|l| l.starts_with("genesys_bi_watermark_lag_seconds{dataset=\"queue_performance\"}"))
        .expect("a lag per dataset");
    let lag: f64 = lag_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(lag > 0.0);
    assert!(text.contains(
        "genesys_bi_http_request_duration_seconds_count{route=\"/v1/datasets/{name}/rows\"} 1"
    ));
}
}

test_support::backend_tests! {
#[tokio::test]
/// Another part of the process (the sync, in `run --serve`) adds its series at each scrape.
async fn metrics_append_the_extra_series_rendered_at_scrape_time() {
    let scrapes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = std::sync::Arc::clone(&scrapes);
    let app = TestApp::spawn_with(move |server| {
        server.with_extra_metrics(move || {
            let n = counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            format!(
                "# TYPE genesys_bi_test_scrapes_total counter\ngenesys_bi_test_scrapes_total {n}\n"
            )
        })
    })
    .await;
    for expected in ["1", "2"] {
        let text = app.get("/metrics").await.text().await.unwrap();
        assert!(
            text.contains("# TYPE genesys_bi_http_requests_total counter"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("genesys_bi_test_scrapes_total {expected}\n")),
            "{text}"
        );
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn status_page_shows_freshness_runs_and_a_chart() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("queue_performance"));
    assert!(
        html.contains("2024-04-02T00:00:00.000Z"),
        "complete_through shown"
    );
    assert!(html.contains("backfill"), "last run shown");
    assert!(html.contains("<svg"));
    assert_eq!(
        html.matches("offered ").count(),
        14,
        "one offered bar per day"
    );
    assert!(!html.contains("<script"));
}
}
