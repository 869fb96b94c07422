//! Typed vs raw JSON parse of a realistic aggregates page, printed as MB/s and rows/s.
//!
//! The page is recorded from the emulator's engine (default org: 25 queues, 5 media types):
//! one day at PT15M grouped by queueId and mediaType with twelve metrics.
//! Run: `cargo bench -p genesys --bench parse` (goals: typed >= 0.8x raw and >= 250 MB/s).

use std::hint::black_box;
use std::time::{Duration, Instant};

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::{AggregateQueryResponse, AggregationQuery};

const METRICS: [&str; 12] = [
    "nOffered",
    "nConnected",
    "nTransferred",
    "tAnswered",
    "tAbandon",
    "tHandle",
    "tTalk",
    "tAcw",
    "tHeld",
    "tAlert",
    "tAcd",
    "oServiceLevel",
];

fn record_page() -> Vec<u8> {
    let centre = ContactCentre::new(42, &OrgShape::default());
    let query = AggregationQuery {
        interval: "2024-05-06T00:00:00.000Z/2024-05-07T00:00:00.000Z".into(),
        granularity: Some("PT15M".into()),
        group_by: vec!["queueId".into(), "mediaType".into()],
        metrics: METRICS.map(String::from).to_vec(),
        ..AggregationQuery::default()
    };
    let now = "2024-05-08T00:00:00Z".parse().expect("instant");
    let response = centre
        .aggregate(&query, now)
        .expect("the emulator answers the query");
    serde_json::to_vec(&response).expect("serializes")
}

/// Runs `parse` until `budget` is spent; returns the mean time per parse.
fn measure(budget: Duration, mut parse: impl FnMut()) -> Duration {
    parse(); // warm up
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget {
        parse();
        runs += 1;
    }
    started.elapsed() / runs
}

fn main() {
    let page = record_page();
    let parsed: AggregateQueryResponse = serde_json::from_slice(&page).expect("typed parse");
    let rows: usize = parsed.results.iter().map(|g| g.data.len()).sum();
    let metric_values: usize = parsed
        .results
        .iter()
        .flat_map(|g| &g.data)
        .map(|d| d.metrics.len())
        .sum();
    let mb = page.len() as f64 / 1e6;
    println!(
        "page: {:.2} MB, {} groups, {rows} rows (group x interval), {metric_values} metric stats",
        mb,
        parsed.results.len()
    );

    let budget = Duration::from_secs(3);
    let typed = measure(budget, || {
        black_box(
            serde_json::from_slice::<AggregateQueryResponse>(black_box(&page)).expect("typed"),
        );
    });
    let raw = measure(budget, || {
        black_box(serde_json::from_slice::<serde_json::Value>(black_box(&page)).expect("raw"));
    });
    for (name, per_parse) in [
        ("typed AggregateQueryResponse", typed),
        ("raw serde_json::Value", raw),
    ] {
        let secs = per_parse.as_secs_f64();
        println!(
            "{name:<30} {:>8.2} ms/page {:>8.1} MB/s {:>12.0} rows/s",
            secs * 1e3,
            mb / secs,
            rows as f64 / secs
        );
    }
    println!(
        "typed speed / raw speed: {:.2}x",
        raw.as_secs_f64() / typed.as_secs_f64()
    );
}
