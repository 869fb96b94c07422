//! Typed vs raw JSON parse of a realistic aggregates page, printed as MB/s and rows/s.
//!
//! "typed" is `AggregateQueryResponse::from_json`, what the client decodes pages with (its fast
//! reader, serde where that declines); "typed, serde only" is `serde_json::from_slice` into the
//! same types, the path a page takes when the fast reader declines it.
//!
//! The page is recorded from the emulator's engine (default org: 25 queues, 5 media types):
//! one day at PT15M grouped by queueId and mediaType with twelve metrics.
//! Run: `cargo bench -p genesys --bench parse` (goals: typed >= 0.8x raw and >= 250 MB/s).
//! `PARSE_BENCH_PAGE=<file>` parses a recorded page instead. `PARSE_BENCH_RUNS=<n>` parses it
//! exactly n times each way and prints no timings: for instruction counts, which a busy machine
//! does not disturb (`valgrind --tool=callgrind` on the bench binary; the `parse_typed`,
//! `parse_typed_serde`, `parse_raw` and `parse_scan` functions each hold one parse).

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

/// CPU time this thread has used, from /proc (clock ticks of 10 ms). On a shared, loaded
/// machine wall time overstates the cost; CPU time does not.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

/// Runs `parse` until `budget` is spent; returns the mean wall and CPU time per parse.
fn measure(budget: Duration, mut parse: impl FnMut()) -> Timing {
    parse(); // warm up
    let (started, cpu_started) = (Instant::now(), thread_cpu_time());
    let mut runs = 0u32;
    while started.elapsed() < budget {
        parse();
        runs += 1;
    }
    let cpu = thread_cpu_time()
        .zip(cpu_started)
        .map(|(end, start)| (end - start) / runs);
    Timing {
        wall: started.elapsed() / runs,
        cpu,
    }
}

// One parse each, the drop of what it built included.

#[inline(never)]
fn parse_typed(page: &[u8]) {
    let parsed = AggregateQueryResponse::from_json(black_box(page)).expect("typed");
    black_box(&parsed);
}

#[inline(never)]
fn parse_typed_serde(page: &[u8]) {
    let parsed: AggregateQueryResponse = serde_json::from_slice(black_box(page)).expect("serde");
    black_box(&parsed);
}

#[inline(never)]
fn parse_raw(page: &[u8]) {
    let parsed: serde_json::Value = serde_json::from_slice(black_box(page)).expect("raw");
    black_box(&parsed);
}

#[inline(never)]
fn parse_scan(page: &[u8]) {
    let scanned: serde::de::IgnoredAny = serde_json::from_slice(black_box(page)).expect("scan");
    black_box(scanned);
}

fn main() {
    // PARSE_BENCH_PAGE=<file> measures a page recorded elsewhere (e.g. by tests/sdk/parse_bench.py
    // --record, so the Rust and Python SDK figures come from the same bytes).
    let page = match std::env::var_os("PARSE_BENCH_PAGE") {
        Some(path) => std::fs::read(&path).expect("PARSE_BENCH_PAGE names a readable file"),
        None => record_page(),
    };
    if std::env::var_os("PARSE_BENCH_PEEK").is_some() {
        println!("{}", String::from_utf8_lossy(&page[..page.len().min(1500)]));
    }
    let parsed = AggregateQueryResponse::from_json(&page).expect("typed parse");
    let by_serde: AggregateQueryResponse = serde_json::from_slice(&page).expect("serde parse");
    assert!(parsed == by_serde, "the fast reader and serde disagree");
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

    if let Some(runs) = std::env::var_os("PARSE_BENCH_RUNS") {
        let runs: u32 = runs.to_str().and_then(|r| r.parse().ok()).expect("a count");
        // One way after the other, so that no way inherits another's heap layout.
        for parse in [parse_typed, parse_typed_serde, parse_raw, parse_scan] {
            for _ in 0..runs {
                parse(&page);
            }
        }
        return;
    }

    let budget = Duration::from_secs(3);
    let typed = measure(budget, || parse_typed(&page));
    let typed_serde = measure(budget, || parse_typed_serde(&page));
    let raw = measure(budget, || parse_raw(&page));
    // The parser's floor on this machine: tokenise and validate, build nothing.
    let floor = measure(budget, || parse_scan(&page));
    for (name, timing) in [
        ("typed AggregateQueryResponse", &typed),
        ("typed, serde only", &typed_serde),
        ("raw serde_json::Value", &raw),
        ("scan only (IgnoredAny)", &floor),
    ] {
        let wall = timing.wall.as_secs_f64();
        let cpu = timing.cpu.map(|c| c.as_secs_f64()).filter(|c| *c > 0.0);
        let cpu = cpu.map_or_else(
            || "n/a".to_string(),
            |c| {
                format!(
                    "{:.2} ms/page {:.1} MB/s {:.0} rows/s",
                    c * 1e3,
                    mb / c,
                    rows as f64 / c
                )
            },
        );
        println!(
            "{name:<30} wall {:>7.2} ms/page {:>7.1} MB/s {:>9.0} rows/s | cpu {cpu}",
            wall * 1e3,
            mb / wall,
            rows as f64 / wall,
        );
    }
    let ratio = |raw: Duration, typed: Duration| raw.as_secs_f64() / typed.as_secs_f64();
    println!(
        "typed speed / raw speed (wall): {:.2}x",
        ratio(raw.wall, typed.wall)
    );
    if let (Some(t), Some(r)) = (typed.cpu, raw.cpu) {
        println!("typed speed / raw speed (cpu):  {:.2}x", ratio(r, t));
    }
}
