//! Serving speed over real HTTP on 127.0.0.1: a two-week, 25-queue PT15M dataset read as CSV,
//! NDJSON and JSON pages, rolled up to London days, and reported. Prints figures; asserts
//! nothing about time.

use std::path::Path;
use std::time::Instant;

use genesys::Interval;
use jiff::{SignedDuration, Timestamp};
use server::{Server, ServerConfig};
use warehouse::{AggregateRow, SqliteStore, Store, TableSpec, Value, WindowWrite};

const DAYS: i64 = 14;
const QUEUES: usize = 25;
const MEDIA: [&str; 2] = ["voice", "chat"];
const METRICS: [&str; 12] = genesys::catalog::QUEUE_PERFORMANCE_METRICS;

fn fill(path: &Path) -> usize {
    let store = SqliteStore::open(path).unwrap();
    let spec = TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: METRICS.iter().map(|m| m.to_string()).collect(),
        definition: "granularity=PT15M timeZone=Europe/London filter=".into(),
    };
    store.ensure_dataset(&spec).unwrap();
    let width = spec.metric_columns().len();
    let start: Timestamp = "2024-03-25T00:00:00Z".parse().unwrap();
    let mut total = 0;
    for day in 0..DAYS {
        let day_start = start + SignedDuration::from_hours(24 * day);
        let mut rows = Vec::new();
        for bucket in 0..96 {
            let s = day_start + SignedDuration::from_mins(15 * bucket);
            let interval = Interval::new(s, s + SignedDuration::from_mins(15));
            for q in 0..QUEUES {
                for media in MEDIA {
                    let seed = (day * 96 + bucket) * 31 + q as i64;
                    rows.push(AggregateRow {
                        interval,
                        group: vec![Some(format!("queue-{q:02}")), Some(media.into())],
                        values: (0..width)
                            .map(|i| Some(Value::Int((seed * 7 + i as i64 * 13) % 5_000)))
                            .collect(),
                    });
                }
            }
        }
        total += rows.len();
        store
            .write_window(&WindowWrite {
                dataset: "queue_performance",
                window: Interval::new(day_start, day_start + SignedDuration::from_hours(24)),
                rows: &rows,
                settled: true,
                run_id: None,
            })
            .unwrap();
    }
    total
}

async fn timed(client: &reqwest::Client, key: &str, url: String, label: &str) {
    let started = Instant::now();
    let response = client.get(&url).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body = response.bytes().await.unwrap();
    let elapsed = started.elapsed();
    let lines = body.iter().filter(|b| **b == b'\n').count();
    println!(
        "{label:<44} {:>8.1} ms  {:>9} bytes  {:>7} lines  {:>8.0} lines/s",
        elapsed.as_secs_f64() * 1e3,
        body.len(),
        lines,
        lines as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let started = Instant::now();
    let rows = fill(&path);
    println!(
        "filled {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = Server::build(ServerConfig {
            store: path.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
        })
        .await
        .unwrap();
        let base = format!("http://127.0.0.1:{}", server.port());
        tokio::spawn(server.run_until_stopped());
        let admin = warehouse::keys::open_admin(&path).unwrap();
        let key = warehouse::keys::create(&admin, "bench").unwrap().secret;
        let client = reqwest::Client::new();
        let rows = format!("{base}/v1/datasets/queue_performance/rows");
        timed(
            &client,
            &key,
            format!("{rows}?format=csv"),
            "csv, every row",
        )
        .await;
        timed(
            &client,
            &key,
            format!("{rows}?format=ndjson"),
            "ndjson, every row",
        )
        .await;
        timed(
            &client,
            &key,
            format!("{rows}?limit=10000"),
            "json, first page of 10000",
        )
        .await;
        timed(
            &client,
            &key,
            format!("{rows}?format=csv&granularity=P1D&time_zone=Europe/London&group_by=queueId"),
            "csv, P1D London by queue",
        )
        .await;
        timed(
            &client,
            &key,
            format!("{rows}?format=csv&granularity=PT1H&names=true"),
            "csv, PT1H with names",
        )
        .await;
        timed(
            &client,
            &key,
            format!("{base}/v1/report?dataset=queue_performance"),
            "report, whole range",
        )
        .await;
    });
}
