//! The status page `/` rendered by a real browser: Debian's headless Chromium, driven by
//! playwright-core from `tests/node/status_page.mjs`, logs in with the API key as a person
//! does (401 challenge, Basic) and reports what it shows. Checked here: every dataset of the
//! store with its freshness and lag, the last runs with a failed run's long error (wrapped, not
//! widening the page), the chart visible with both series and one bar per day whose values are
//! the store's daily sums, and nothing else loaded or failing (no console error, no request to
//! another origin). Needs `tests/node/node_modules` and `/usr/bin/chromium` from
//! `scripts/setup-test-env.sh`; without them this test fails, on purpose.
//! `STATUS_PAGE_SCREENSHOT=<file.png>` keeps the full-page screenshot.

use std::path::PathBuf;
use std::time::Duration;

use genesys::interval::format_instant;
use serde_json::Value;
use test_support::TestApp;
use test_support::app::DATASET;
use test_support::external::{CHROMIUM, installed, run_node_script};
use warehouse::Store;

/// A failed run's error: long, and with a 200-character word no line break can split.
fn long_error() -> String {
    format!(
        "window 2024-03-30T00:00:00.000Z..2024-03-31T00:00:00.000Z failed after 5 retries: HTTP 503 \
         Service Unavailable; body: {}",
        "x".repeat(200)
    )
}

/// A copy of the shared store with one more run, failed with a long error.
async fn store_with_a_failed_run(dir: &std::path::Path) -> PathBuf {
    let path = test_support::app::copy_of_shared_store(dir);
    let store = warehouse::SqliteStore::open(&path).unwrap();
    let run = store.start_run("sync").unwrap();
    store
        .finish_run(
            run,
            &warehouse::RunSummary {
                status: warehouse::RunStatus::Failed,
                windows: 1,
                rows: 0,
                requests: 6,
                error: Some(long_error()),
                rows_changed: None,
            },
        )
        .unwrap();
    path
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// (offered, answered) in the store for one local day of the dataset's time zone.
fn daily_sums(app: &TestApp, date: &str, time_zone: &str) -> (i64, i64) {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap();
    let midnight = |day: jiff::civil::Date| {
        day.to_zoned_datetime(tz.clone())
            .and_then(|z| z.start_of_day())
            .unwrap()
    };
    let day: jiff::civil::Date = date.parse().unwrap();
    let (start, end) = (midnight(day), midnight(day.tomorrow().unwrap()));
    let (start, end) = (
        format_instant(start.timestamp()),
        format_instant(end.timestamp()),
    );
    let table = app.table(DATASET);
    let day: Vec<_> = table
        .rows()
        .filter(|r| {
            let bucket = r.text("interval_start").unwrap();
            bucket >= start.as_str() && bucket < end.as_str()
        })
        .collect();
    let total = |column: &str| day.iter().filter_map(|r| r.integer(column)).sum::<i64>();
    (total("n_offered"), total("t_answered_count"))
}

fn check_datasets(page: &Value, datasets: &Value) {
    let shown = page["datasets"].as_array().expect("a datasets table");
    // The page lists the datasets, not their KPI feeds (which `/v1/datasets` lists too).
    let stored: Vec<&Value> = datasets["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["feed_of"].is_null())
        .collect();
    let names: Vec<&str> = shown.iter().map(|d| text(&d["dataset"])).collect();
    let expected: Vec<&str> = stored.iter().map(|d| text(&d["name"])).collect();
    assert!(!expected.is_empty());
    assert_eq!(names, expected);
    for (row, info) in shown.iter().zip(stored) {
        assert_eq!(row["complete through"], info["complete_through"], "{row}");
        assert_eq!(row["granularity"], info["granularity"], "{row}");
        assert_eq!(row["time zone"], info["time_zone"], "{row}");
        assert_eq!(row["rows"], info["row_count"].to_string(), "{row}");
        // The lag as people read it: hours up to two days, then days, to one decimal.
        let lag = text(&row["lag"]);
        let (number, unit) = lag.split_once(' ').unwrap_or_else(|| panic!("lag {lag}"));
        let seconds = info["lag_seconds"].as_f64().unwrap();
        let expected = match unit {
            "h" => seconds / 3600.0,
            "d" => seconds / 86400.0,
            other => panic!("lag unit {other}"),
        };
        assert_eq!(unit == "d", seconds >= 48.0 * 3600.0, "{lag}");
        let number: f64 = number.parse().unwrap();
        assert!((number - expected).abs() < 0.2, "{lag} vs {seconds} s");
    }
}

fn check_chart(app: &TestApp, page: &Value, time_zone: &str) {
    let chart = &page["chart"];
    assert!(chart.is_object(), "no chart: {page}");
    assert_eq!(chart["id"], "daily-chart");
    let box_ = &chart["box"];
    assert!(
        box_["width"].as_f64().unwrap() > 300.0 && box_["height"].as_f64().unwrap() > 100.0,
        "the chart is not visible: {box_}"
    );
    assert!(
        text(&page["chartCaption"]).ends_with(DATASET),
        "{}",
        page["chartCaption"]
    );
    let series = chart["series"].as_array().unwrap();
    let names: Vec<&str> = series.iter().map(|s| text(&s["name"])).collect();
    assert_eq!(names, ["offered", "answered"]);
    let legend: Vec<&str> = chart["legend"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(legend, ["Offered", "Answered"]);
    assert_ne!(series[0]["fill"], series[1]["fill"], "same colour twice");
    let dates: Vec<&str> = series[0]["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(dates.len(), 14, "one bar per day for 14 days");
    for s in series {
        assert_eq!(s["bars"], 14, "{s}");
        assert_eq!(s["dates"].as_array().unwrap().len(), 14);
        assert_eq!(s["dates"], series[0]["dates"]);
    }
    // Each bar's value is the store's sum for that local day; days with data have a visible bar.
    let mut days_with_data = 0;
    for (i, date) in dates.iter().enumerate() {
        let (offered, answered) = daily_sums(app, date, time_zone);
        assert_eq!(series[0]["values"][i], offered, "offered on {date}");
        assert_eq!(series[1]["values"][i], answered, "answered on {date}");
        days_with_data += i64::from(offered > 0);
    }
    assert!(days_with_data >= 4, "{days_with_data} days with data");
    assert_eq!(series[0]["nonZeroBars"], days_with_data);
    assert!(series[1]["nonZeroBars"].as_i64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_datasets_runs_and_the_chart_with_nothing_failing() {
    installed(CHROMIUM.into(), "it installs Debian's chromium");
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::on(store_with_a_failed_run(dir.path()).await).await;
    let screenshot = std::env::var_os("STATUS_PAGE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("status.png"));
    let page = run_node_script(
        "status_page.mjs",
        &[&app.url("/"), &app.key, screenshot.to_str().unwrap()],
        Duration::from_secs(120),
    )
    .await;

    assert_eq!(page["status"], 200, "{page}");
    assert_eq!(page["title"], "genesys-bi status");
    let datasets = app.get_json("/v1/datasets").await;
    check_datasets(&page, &datasets);
    let time_zone = text(&datasets["datasets"][0]["time_zone"]).to_string();
    check_chart(&app, &page, &time_zone);

    // The last runs, newest first: the failed one with its whole error.
    let runs = page["runs"].as_array().expect("a runs table");
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["error"], long_error());
    assert!(runs.iter().any(|r| r["command"] == "backfill"));

    // Nothing failed and nothing came from elsewhere; nothing is wider than the window.
    for problem in [
        "consoleErrors",
        "pageErrors",
        "failedRequests",
        "httpErrors",
        "externalRequests",
    ] {
        assert_eq!(page[problem], serde_json::json!([]), "{problem}: {page}");
    }
    assert_eq!(page["requests"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["horizontalScroll"], false, "{page}");
    assert_eq!(page["overflowing"], serde_json::json!([]), "{page}");

    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
