//! Serving speed over real HTTP on 127.0.0.1: a two-week, 25-queue PT15M dataset read as CSV,
//! NDJSON and JSON pages, rolled up to London days, and reported. Prints figures; asserts
//! nothing about time.

#[path = "support/fill.rs"]
mod fill;

use std::time::Instant;

use server::{Server, ServerConfig};

/// Two weeks of 25 queues on voice and chat.
const SHAPE: fill::Shape = fill::Shape {
    days: 14,
    queues: 25,
    media: 2,
};

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
    let rows = fill::fill(&path, &SHAPE, |_| {});
    println!(
        "filled {rows} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = Server::build(ServerConfig {
            store: warehouse::StoreConfig::sqlite(&path),
            listen: "127.0.0.1:0".parse().unwrap(),
        })
        .await
        .unwrap();
        let base = format!("http://127.0.0.1:{}", server.port());
        tokio::spawn(server.run_until_stopped());
        let admin = warehouse::sqlite::keys::open_admin(&path).unwrap();
        let key = warehouse::sqlite::keys::create(&admin, "bench")
            .unwrap()
            .secret;
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
