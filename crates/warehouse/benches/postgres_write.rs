//! Rows per second written into PostgreSQL by the store, window by window as the sync writes
//! them (binary COPY, day rollups, window log, watermark, generation): run by
//! `bench/postgres-write.sh`, which compares it with `psql \copy` of the same rows. Needs
//! `GENESYS_BI_BENCH_POSTGRES` (a URL with its password) and takes the schema from
//! `GENESYS_BI_BENCH_SCHEMA` (default `bench_write`; the script makes it fresh) and the days from
//! `GENESYS_BI_BENCH_DAYS` (default 365: a year of PT15M buckets × 125 groups).

use std::time::Instant;

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use warehouse::{PostgresConfig, PostgresStore, Store, WindowWrite};

#[path = "common/day_rows.rs"]
mod day_rows;

use day_rows::{DAY_MS, START, day_rows, spec};

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
            count_changes: false,
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
