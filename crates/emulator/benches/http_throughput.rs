//! Prints how fast the emulator answers over real HTTP on this machine: a cheap endpoint
//! (gateway + auth + rate limit + faults overhead), sequential and concurrent, and a one-day
//! aggregate query on the default org. `cargo bench -p emulator --bench http_throughput`.

use std::time::{Duration, Instant};

use emulator::{Emulator, EmulatorConfig};

const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";
const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let config = EmulatorConfig {
        port: 0,
        rate_limit_per_minute: u32::MAX,
        clock_start: Some("2024-05-10T12:00:00Z".parse()?),
        clock_rate: 0.0,
        ..EmulatorConfig::default()
    };
    let handle = Emulator::build(config).await?.spawn();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/oauth/token", handle.base_url()))
        .basic_auth(handle.client_id(), Some(handle.client_secret()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let url = format!("{}{AVAILABILITY}", handle.base_url());

    let n = 5_000;
    let started = Instant::now();
    for _ in 0..n {
        http.get(&url)
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
    }
    report("sequential GET availability", n, started.elapsed());

    let (tasks, per_task) = (16, 1_000);
    let started = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..tasks {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        joins.push(tokio::spawn(async move {
            for _ in 0..per_task {
                http.get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
            }
            Ok::<_, reqwest::Error>(())
        }));
    }
    for join in joins {
        join.await??;
    }
    report(
        "16 concurrent clients GET availability",
        tasks * per_task,
        started.elapsed(),
    );

    let query = serde_json::json!({
        "interval": "2024-05-09T00:00:00Z/2024-05-10T00:00:00Z", "granularity": "PT30M",
        "groupBy": ["queueId", "mediaType"], "metrics": ["nOffered", "tAnswered", "tHandle", "oServiceLevel"],
    });
    let runs = 10;
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..runs {
        let response = http
            .post(format!("{}{AGGREGATES}", handle.base_url()))
            .bearer_auth(&token)
            .json(&query)
            .send()
            .await?;
        bytes = response.error_for_status()?.bytes().await?.len();
    }
    report(
        &format!("aggregate 1 day PT30M by queue+media, default org ({bytes} bytes)"),
        runs,
        started.elapsed(),
    );
    handle.stop().await?;
    Ok(())
}

fn report(what: &str, n: usize, elapsed: Duration) {
    let per_sec = n as f64 / elapsed.as_secs_f64();
    let mean_ms = elapsed.as_secs_f64() * 1_000.0 / n as f64;
    println!(
        "{what}: {n} requests in {:.2} s = {per_sec:.0} req/s, mean {mean_ms:.2} ms",
        elapsed.as_secs_f64()
    );
}
