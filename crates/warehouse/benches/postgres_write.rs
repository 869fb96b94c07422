//! Rows per second written into PostgreSQL by the store, window by window as the sync writes
//! them (binary COPY, day rollups, window log, watermark, generation): run by
//! `bench/postgres-write.sh`, which compares it with `psql \copy` of the same rows. Needs
//! `GENESYS_BI_BENCH_POSTGRES` (a URL with its password) and takes the schema from
//! `GENESYS_BI_BENCH_SCHEMA` (default `bench_write`; the script makes it fresh) and the days from
//! `GENESYS_BI_BENCH_DAYS` (default 365: a year of PT15M buckets × 125 groups).

use std::time::Instant;

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use warehouse::{
    AggregateRow, PostgresConfig, PostgresStore, Store, TableSpec, Value, WindowWrite,
};

const DAY_MS: i64 = 86_400_000;
const BUCKET_MS: i64 = 900_000;
const START: i64 = 1_704_067_200_000;
const MEDIA: [&str; 5] = ["voice", "callback", "chat", "email", "message"];

fn spec() -> TableSpec {
    let metrics = genesys::catalog::QUEUE_PERFORMANCE_METRICS;
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: metrics.map(String::from).to_vec(),
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
    }
}

fn day_rows(day: i64, columns: usize) -> Vec<AggregateRow> {
    let mut rows = Vec::with_capacity(96 * 125);
    for bucket in 0..96 {
        let start = START + day * DAY_MS + bucket * BUCKET_MS;
        let interval = Interval::new(ms_to_timestamp(start), ms_to_timestamp(start + BUCKET_MS));
        for queue in 0..25 {
            for media in MEDIA {
                let values = (0..columns)
                    .map(|c| Some(Value::Int((bucket * 31 + queue * 7 + c as i64) % 1000)))
                    .collect();
                rows.push(AggregateRow {
                    interval,
                    group: vec![Some(format!("queue-{queue:02}")), Some(media.to_string())],
                    values,
                });
            }
        }
    }
    rows
}

fn main() {
    let Ok(url) = std::env::var("GENESYS_BI_BENCH_POSTGRES") else {
        eprintln!("GENESYS_BI_BENCH_POSTGRES is not set: run bench/postgres-write.sh");
        return;
    };
    let schema = std::env::var("GENESYS_BI_BENCH_SCHEMA").unwrap_or_else(|_| "bench_write".into());
    let days: i64 = std::env::var("GENESYS_BI_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(365);
    let config = PostgresConfig::parse(&url, &schema, None, None).expect("a usable URL");
    let store = PostgresStore::open(&config).expect("open store");
    let spec = spec();
    store.ensure_dataset(&spec).expect("dataset");
    let columns = spec.metric_columns().len();
    let mut rows = 0usize;
    let mut elapsed = std::time::Duration::ZERO;
    for day in 0..days {
        // Made outside the timing: what is measured is the store's write, as the sync's.
        let day_rows = day_rows(day, columns);
        let start = START + day * DAY_MS;
        let write = WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(ms_to_timestamp(start), ms_to_timestamp(start + DAY_MS)),
            rows: &day_rows,
            settled: true,
            run_id: None,
        };
        let started = Instant::now();
        rows += store.write_window(&write).expect("write").rows_written;
        elapsed += started.elapsed();
    }
    println!(
        "postgres write: {rows} rows ({} columns) in {:.3} s = {:.0} rows/s ({days} windows of one day)",
        2 + 2 + columns,
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
    );
    println!("rows={rows} seconds={:.6}", elapsed.as_secs_f64());
}
