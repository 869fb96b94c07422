//! The KPI feeds over real HTTP: `<dataset>_daily_kpi` and `<dataset>_kpi` of the queue dataset
//! equal `/v1/report` for the same day or bucket, figure for figure; the agent and wrap-up
//! feeds equal sums of the stored rows computed here; names come from the directories;
//! `$metadata` declares the relationships and describes every property; `$expand` and
//! `$filter` on `date` work.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use test_support::TestApp;
use test_support::store::StoredRow;

use crate::kpi_store::{DATES, kpi_store};

async fn app() -> TestApp {
    TestApp::on(kpi_store().to_path_buf()).await
}

/// Every row of an entity set query, page by page (`Prefer: odata.maxpagesize=200`).
pub async fn all_rows(app: &TestApp, first: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut next = Some(app.url(first));
    while let Some(url) = next {
        let response = app
            .client
            .get(&url)
            .bearer_auth(&app.key)
            .header("Prefer", "odata.maxpagesize=200")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "GET {url}");
        let body: Value = response.json().await.unwrap();
        rows.extend(body["value"].as_array().unwrap().iter().cloned());
        next = body["@odata.nextLink"].as_str().map(String::from);
    }
    rows
}

fn london_date(instant: &str) -> String {
    let at: Timestamp = instant.parse().unwrap();
    at.to_zoned_datetime(TimeZone::get("Europe/London").unwrap())
        .date()
        .to_string()
}

pub fn day_after(date: &str) -> String {
    let day: jiff::civil::Date = date.parse().unwrap();
    day.tomorrow().unwrap().to_string()
}

/// The report's figures next to the feed's: (feed figure, report field, scale). Averages are
/// milliseconds in the report and seconds in the feed.
const REPORTED: &[(&str, &str, f64)] = &[
    ("offered", "offered", 1.0),
    ("answered", "answered", 1.0),
    ("abandoned", "abandoned", 1.0),
    ("answer_rate", "answer_rate", 1.0),
    ("abandon_rate", "abandon_rate", 1.0),
    ("avg_handle_s", "avg_handle_ms", 1000.0),
    ("avg_talk_s", "avg_talk_ms", 1000.0),
    ("avg_wait_s", "avg_wait_ms", 1000.0),
    ("avg_acw_s", "avg_acw_ms", 1000.0),
    ("service_level", "service_level", 1.0),
];

/// Asserts two JSON values are the same: the same text, or numbers that are the same `f64`.
/// The server writes each `f64` exactly (shortest round-trip digits), but serde_json's default
/// parser may land one ulp off, so two numbers may differ by that one ulp and no more.
pub fn assert_same(got: &Value, expected: &Value, context: &str) {
    match (got.as_f64(), expected.as_f64()) {
        (Some(a), Some(b)) if got.is_f64() || expected.is_f64() => {
            let ulps = (a.to_bits() as i64 - b.to_bits() as i64).abs();
            assert!(
                a.signum() == b.signum() && ulps <= 1,
                "{context}: {got} is not {expected}"
            );
        }
        _ => assert_eq!(got, expected, "{context}"),
    }
}

/// Asserts a feed row holds a report group's figures (an average is the report's divided by
/// 1000, the same division the feed makes last, so the same `f64`).
pub fn assert_reported(row: &Value, group: &Value, context: &str) {
    assert_eq!(row["queue_name"], group["queue_name"], "{context}");
    for (figure, field, scale) in REPORTED {
        let expected = &group[*field];
        let got = &row[*figure];
        let expected = match expected.as_f64() {
            Some(value) if *scale != 1.0 => Value::from(value / scale),
            _ => expected.clone(),
        };
        assert_same(got, &expected, &format!("{figure} of {context}"));
    }
}

/// The report's groups (per queue) for a range and media type, by queue id.
pub async fn report_groups(
    app: &TestApp,
    from: &str,
    to: &str,
    media: &str,
) -> BTreeMap<Option<String>, Value> {
    let path = format!(
        "/v1/report?dataset=queue_performance&from={from}&to={to}&filter=mediaType%3D{media}"
    );
    let report = app.get_json(&path).await;
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["queue_id"].as_str().map(String::from), g.clone()))
        .collect()
}

#[tokio::test]
async fn the_queue_daily_kpi_feed_equals_the_report_for_each_day() {
    let app = app().await;
    let rows = all_rows(&app, "/odata/queue_performance_daily_kpi").await;
    let dates: BTreeSet<&str> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    assert_eq!(dates.into_iter().collect::<Vec<_>>(), DATES);
    let media: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["media_type"].as_str().unwrap())
        .collect();
    assert!(!media.is_empty());
    let mut compared = 0;
    for date in DATES {
        for medium in &media {
            let groups = report_groups(&app, date, &day_after(date), medium).await;
            let feed: Vec<&Value> = rows
                .iter()
                .filter(|r| r["date"] == date && r["media_type"] == *medium)
                .collect();
            assert_eq!(feed.len(), groups.len(), "{date} {medium}");
            for row in feed {
                let queue = row["queue_id"].as_str().map(String::from);
                let group = &groups[&queue];
                assert_reported(row, group, &format!("{date} {medium} {queue:?}"));
                // The day's bounds are its local midnights, UTC.
                assert_eq!(london_date(row["interval_start"].as_str().unwrap()), date);
                compared += 1;
            }
        }
    }
    assert!(compared >= 10, "only {compared} rows compared");
}

#[tokio::test]
async fn the_queue_kpi_feed_equals_the_report_for_each_bucket() {
    let app = app().await;
    // Four quarter hours of the (23-hour) 31st, at midday.
    let rows = all_rows(
        &app,
        "/odata/queue_performance_kpi?$filter=interval_start%20ge%202024-03-31T11:00:00Z%20and%20interval_start%20lt%202024-03-31T12:00:00Z",
    )
    .await;
    let buckets: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["interval_start"].as_str().unwrap().to_string(),
                r["interval_end"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(buckets.len(), 4, "{buckets:?}");
    for (start, end) in &buckets {
        let in_bucket: Vec<&Value> = rows
            .iter()
            .filter(|r| r["interval_start"] == *start)
            .collect();
        let media: BTreeSet<&str> = in_bucket
            .iter()
            .map(|r| r["media_type"].as_str().unwrap())
            .collect();
        for medium in media {
            let groups = report_groups(&app, start, end, medium).await;
            let feed: Vec<&&Value> = in_bucket
                .iter()
                .filter(|r| r["media_type"] == medium)
                .collect();
            assert_eq!(feed.len(), groups.len(), "{start} {medium}");
            for row in feed {
                let queue = row["queue_id"].as_str().map(String::from);
                assert_reported(row, &groups[&queue], &format!("{start} {medium} {queue:?}"));
            }
        }
    }
}

/// How a feed's figure is made from the stored columns, written out here independently.
enum Expected {
    Count(&'static str),
    Seconds(&'static str),
}

const AGENT_FIGURES: &[(&str, Expected)] = &[
    ("connected", Expected::Count("n_connected")),
    ("answered", Expected::Count("t_answered_count")),
    ("handled", Expected::Count("t_handle_count")),
    ("transferred", Expected::Count("n_transferred")),
    ("avg_speed_of_answer_s", Expected::Seconds("t_answered")),
    ("avg_handle_s", Expected::Seconds("t_handle")),
    ("avg_talk_s", Expected::Seconds("t_talk")),
    ("avg_hold_s", Expected::Seconds("t_held")),
    ("avg_acw_s", Expected::Seconds("t_acw")),
    ("avg_alert_s", Expected::Seconds("t_alert")),
];

const WRAPUP_FIGURES: &[(&str, Expected)] = &[
    ("handled", Expected::Count("t_handle_count")),
    ("avg_handle_s", Expected::Seconds("t_handle")),
    ("avg_talk_s", Expected::Seconds("t_talk")),
    ("avg_acw_s", Expected::Seconds("t_acw")),
];

/// The stored columns a figure list reads.
fn operand_columns(figures: &[(&str, Expected)]) -> Vec<String> {
    let all = figures.iter().flat_map(|(_, e)| match e {
        Expected::Count(c) => vec![c.to_string()],
        Expected::Seconds(stem) => vec![format!("{stem}_sum_ms"), format!("{stem}_count")],
    });
    all.collect::<BTreeSet<_>>().into_iter().collect()
}

/// A figure from summed columns, as JSON (null where nothing was counted).
fn figure(expected: &Expected, sums: &BTreeMap<String, Option<i64>>) -> Value {
    match expected {
        Expected::Count(c) => sums[*c].map_or(Value::Null, Value::from),
        Expected::Seconds(stem) => {
            match (
                sums[&format!("{stem}_sum_ms")],
                sums[&format!("{stem}_count")],
            ) {
                (Some(sum), Some(count)) if count != 0 => {
                    Value::from(1.0 * sum as f64 / count as f64 / 1000.0)
                }
                _ => Value::Null,
            }
        }
    }
}

/// A row's dimension values.
type Group = Vec<Option<String>>;
/// Stored columns' sums, by column.
type Sums = BTreeMap<String, Option<i64>>;

/// SQL's `sum`: null when every value is null.
fn add(total: Option<i64>, value: Option<i64>) -> Option<i64> {
    match (total, value) {
        (None, v) | (v, None) => v,
        (Some(a), Some(b)) => Some(a + b),
    }
}

/// The directory's names by id.
fn names(app: &TestApp, directory: &str) -> BTreeMap<String, String> {
    app.table(directory)
        .rows()
        .map(|r| {
            (
                r.text("id").unwrap().to_string(),
                r.text("name").unwrap().to_string(),
            )
        })
        .collect()
}

/// Checks a dataset's daily feed against sums of its stored rows per local day and group, and
/// its bucket feed against each stored row; `dimensions` are (id column, name column, directory).
async fn check_against_stored(
    app: &TestApp,
    dataset: &str,
    dimensions: &[(&str, Option<(&str, &str)>)],
    figures: &[(&str, Expected)],
) {
    let columns = operand_columns(figures);
    let table = app.table(dataset);
    let group_of = |r: &StoredRow<'_>| -> Vec<Option<String>> {
        dimensions
            .iter()
            .map(|(c, _)| r.text(c).map(String::from))
            .collect()
    };
    let mut days: BTreeMap<(String, Group), Sums> = BTreeMap::new();
    for r in table.rows() {
        let date = london_date(r.text("interval_start").unwrap());
        let sums = days.entry((date, group_of(&r))).or_default();
        for c in &columns {
            let total = sums.entry(c.clone()).or_insert(None);
            *total = add(*total, r.integer(c));
        }
    }
    let directories: BTreeMap<&str, BTreeMap<String, String>> = dimensions
        .iter()
        .filter_map(|(_, n)| *n)
        .map(|(_, d)| (d, names(app, d)))
        .collect();
    let check_names = |row: &Value, context: &str| {
        for (id_column, name) in dimensions {
            let Some((name_column, directory)) = name else {
                continue;
            };
            let expected = row[*id_column]
                .as_str()
                .and_then(|id| directories[directory].get(id));
            assert_eq!(
                row[*name_column].as_str(),
                expected.map(String::as_str),
                "{context}"
            );
        }
    };

    let daily = all_rows(app, &format!("/odata/{dataset}_daily_kpi")).await;
    assert_eq!(
        daily.len(),
        days.len(),
        "{dataset}: one row per local day and group"
    );
    for row in &daily {
        let group: Vec<Option<String>> = dimensions
            .iter()
            .map(|(c, _)| row[*c].as_str().map(String::from))
            .collect();
        let key = (row["date"].as_str().unwrap().to_string(), group);
        let sums = &days[&key];
        for (name, expected) in figures {
            let context = format!("{dataset} {key:?} {name}");
            assert_same(&row[*name], &figure(expected, sums), &context);
        }
        check_names(row, dataset);
    }

    // The bucket feed: each row is a stored row's figures, under the stored row's id.
    let buckets = all_rows(app, &format!("/odata/{dataset}_kpi")).await;
    assert_eq!(buckets.len(), table.len());
    let stored: BTreeMap<i64, StoredRow<'_>> = table.rows().map(|r| (r.key(), r)).collect();
    for row in &buckets {
        let r = &stored[&row["id"].as_i64().unwrap()];
        let sums: BTreeMap<String, Option<i64>> =
            columns.iter().map(|c| (c.clone(), r.integer(c))).collect();
        for (name, expected) in figures {
            let context = format!("{dataset} row {} {name}", r.key());
            assert_same(&row[*name], &figure(expected, &sums), &context);
        }
        check_names(row, dataset);
    }
}

#[tokio::test]
async fn the_agent_and_wrapup_feeds_equal_sums_of_the_stored_rows() {
    let app = app().await;
    check_against_stored(
        &app,
        "agent_performance",
        &[
            ("user_id", Some(("user_name", "users"))),
            ("media_type", None),
        ],
        AGENT_FIGURES,
    )
    .await;
    check_against_stored(
        &app,
        "wrapup_performance",
        &[
            ("queue_id", Some(("queue_name", "queues"))),
            ("wrap_up_code", Some(("wrap_up_code_name", "wrapup_codes"))),
        ],
        WRAPUP_FIGURES,
    )
    .await;
}
