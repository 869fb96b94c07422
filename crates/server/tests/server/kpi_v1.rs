//! The KPI feeds as `/v1` datasets: `/v1/datasets` lists each dataset's `_kpi` and `_daily_kpi`
//! feeds with their columns' meanings; their rows (JSON pages, CSV) equal `/v1/report` for the
//! same day, also rolled up over a dimension (figures from sums, never averages of averages);
//! parameters that do not apply to a feed are refused, naming them.

use std::collections::BTreeMap;

use serde_json::Value;
use test_support::TestApp;
use test_support::app::assert_problem;

use crate::kpi_feeds::{assert_reported, day_after, report_groups};
use crate::kpi_store::{DATES, kpi_store};

/// Every row of a `/v1` rows request, following `next`.
async fn v1_rows(app: &TestApp, first: &str) -> (Value, Vec<Value>) {
    let mut page = app.get_json(first).await;
    let mut rows: Vec<Value> = page["rows"].as_array().unwrap().clone();
    let head = page.clone();
    while let Some(next) = page["next"].as_str().map(String::from) {
        page = app.get_json(&next).await;
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
    }
    (head, rows)
}

#[tokio::test]
async fn the_daily_feed_over_v1_equals_the_report_for_each_day() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let (page, rows) = v1_rows(
        &app,
        "/v1/datasets/queue_performance_daily_kpi/rows?limit=7",
    )
    .await;
    assert_eq!(page["dataset"], "queue_performance_daily_kpi");
    assert_eq!(page["granularity"], "P1D");
    let mut by_day: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for row in &rows {
        let key = (
            row["date"].as_str().unwrap().to_string(),
            row["media_type"].as_str().unwrap().to_string(),
        );
        by_day.entry(key).or_default().push(row);
    }
    let dates: std::collections::BTreeSet<&str> = by_day.keys().map(|(d, _)| d.as_str()).collect();
    assert_eq!(dates.into_iter().collect::<Vec<_>>(), DATES);
    for ((date, medium), rows) in by_day {
        let groups = report_groups(&app, &date, &day_after(&date), &medium).await;
        assert_eq!(rows.len(), groups.len(), "{date} {medium}");
        for row in rows {
            let queue = row["queue_id"].as_str().map(String::from);
            assert_reported(row, &groups[&queue], &format!("/v1 {date} {medium}"));
        }
    }
    // The same rows as CSV: a header with the feed's columns, one line per row.
    let csv = app
        .get("/v1/datasets/queue_performance_daily_kpi/rows?format=csv")
        .await
        .text()
        .await
        .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    for column in [
        "date",
        "queue_id",
        "queue_name",
        "offered",
        "avg_handle_s",
        "service_level",
    ] {
        assert!(header.contains(&column), "{header:?}");
    }
    assert_eq!(lines.count(), rows.len());
}

#[tokio::test]
async fn a_feed_rolled_up_over_a_dimension_is_computed_from_sums() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    // Per day and queue, every media type together: the report without a filter.
    let (_, rows) = v1_rows(
        &app,
        "/v1/datasets/queue_performance_kpi/rows?granularity=P1D&group_by=queueId&limit=10000",
    )
    .await;
    for date in DATES {
        let path = format!(
            "/v1/report?dataset=queue_performance&from={date}&to={}",
            day_after(date)
        );
        let report = app.get_json(&path).await;
        let groups = report["groups"].as_array().unwrap();
        let start = report["from"].as_str().unwrap();
        let feed: Vec<&Value> = rows
            .iter()
            .filter(|r| r["interval_start"] == start)
            .collect();
        assert_eq!(feed.len(), groups.len(), "{date}");
        for group in groups {
            let row = feed
                .iter()
                .find(|r| r["queue_id"] == group["queue_id"])
                .unwrap_or_else(|| panic!("{date}: no row for {}", group["queue_id"]));
            assert!(row.get("media_type").is_none());
            assert_reported(row, group, &format!("rolled up {date}"));
        }
    }
}

#[tokio::test]
async fn feeds_are_listed_with_meanings_and_refuse_what_does_not_apply() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let list = app.get_json("/v1/datasets").await;
    let entries = list["datasets"].as_array().unwrap();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed"))
    };
    for dataset in [
        "queue_performance",
        "agent_performance",
        "wrapup_performance",
    ] {
        assert_eq!(entry(dataset)["feed_of"], Value::Null);
        for feed in [format!("{dataset}_kpi"), format!("{dataset}_daily_kpi")] {
            let e = entry(&feed);
            assert_eq!(e["feed_of"], dataset);
            assert_eq!(e["links"]["rows"], format!("/v1/datasets/{feed}/rows"));
            for column in e["columns"].as_array().unwrap() {
                let meaning = column["meaning"].as_str().unwrap();
                assert!(
                    !meaning.is_empty(),
                    "{feed}.{} has no meaning",
                    column["name"]
                );
            }
        }
    }
    let daily = entry("queue_performance_daily_kpi");
    assert_eq!(daily["granularity"], "P1D");
    let handle = daily["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "avg_handle_s")
        .unwrap();
    assert!(
        handle["meaning"]
            .as_str()
            .unwrap()
            .contains("t_handle_sum_ms / t_handle_count / 1000"),
        "{handle}"
    );

    for (path, parameter) in [
        (
            "/v1/datasets/queue_performance_kpi/rows?metrics=nOffered",
            "metrics",
        ),
        (
            "/v1/datasets/queue_performance_daily_kpi/rows?granularity=PT1H",
            "granularity",
        ),
        (
            "/v1/datasets/queue_performance_daily_kpi/rows?time_zone=UTC",
            "time_zone",
        ),
        ("/v1/report?dataset=queue_performance_daily_kpi", "dataset"),
    ] {
        let problem = assert_problem(app.get(path).await, 400).await;
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
    }
    assert_problem(app.get("/v1/datasets/nothing_kpi/rows").await, 404).await;
}
