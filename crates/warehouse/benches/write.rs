//! Rows per second written into SQLite: `cargo bench -p warehouse --bench write`.
//! One day of PT15M buckets × 125 groups (25 queues × 5 media types) per window, the 12
//! default queue metrics, written window by window as the sync does.

use std::time::Instant;

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use warehouse::{AggregateRow, SqliteStore, Store, WindowWrite};

#[path = "common/day_rows.rs"]
mod day_rows;

use day_rows::{DAY_MS, START, day_rows, spec};

fn main() {
    let dir = std::env::temp_dir().join(format!("genesys-bi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open(&dir.join("bench.db")).expect("open store");
    let spec = spec();
    store.ensure_dataset(&spec).expect("dataset");
    let columns = spec.metric_columns().len();
    let days = 30;
    let prepared: Vec<Vec<AggregateRow>> = (0..days).map(|d| day_rows(d, columns)).collect();
    let started = Instant::now();
    let mut rows = 0usize;
    for (day, day_rows) in prepared.iter().enumerate() {
        let start = START + day as i64 * DAY_MS;
        let window = Interval::new(ms_to_timestamp(start), ms_to_timestamp(start + DAY_MS));
        let write = WindowWrite {
            dataset: "queue_performance",
            window,
            rows: day_rows,
            settled: true,
            run_id: None,
            count_changes: false,
        };
        rows += store.write_window(&write).expect("write").rows_written;
    }
    let elapsed = started.elapsed();
    println!(
        "sqlite write: {rows} rows ({} columns) in {:.3} s = {:.0} rows/s ({} windows of one day)",
        2 + 2 + columns,
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64(),
        days
    );
    let started = Instant::now();
    let window = Interval::new(ms_to_timestamp(START), ms_to_timestamp(START + DAY_MS));
    let write = WindowWrite {
        dataset: "queue_performance",
        window,
        rows: &prepared[0],
        settled: true,
        run_id: None,
        count_changes: false,
    };
    store.write_window(&write).expect("rewrite");
    println!(
        "sqlite rewrite of one window (delete + insert {} rows): {:.1} ms",
        prepared[0].len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
