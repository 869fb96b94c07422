//! Property: rolling PT15M rows up to P1D in Europe/London over HTTP equals summing the raw
//! rows per local day (DST days of 23 and 25 hours included): sums and counts add, minimums
//! take the least, maximums the greatest.

use std::collections::BTreeMap;

use genesys::Interval;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use test_support::TestApp;
use test_support::app::{Backend, at};
use warehouse::{AggregateRow, SqliteStore, Store, TableSpec, Value, WindowWrite};

/// Three London days around each 2024 clock change: 24 h, 23 h, 24 h and 24 h, 25 h, 24 h.
const RANGES: [(&str, &str); 2] = [
    ("2024-03-30T00:00:00Z", "2024-04-01T23:00:00Z"),
    ("2024-10-26T23:00:00Z", "2024-10-29T00:00:00Z"),
];
const QUEUES: [&str; 2] = ["q-a", "q-b"];

/// Per bucket and queue: absent, or (offered, handle count, handle sum, spread of min/max).
type Cell = Option<(i64, i64, i64, i64)>;

#[derive(Debug, Default, PartialEq)]
struct Day {
    offered: i64,
    count: i64,
    sum: i64,
    min: Option<i64>,
    max: Option<i64>,
}

/// Stored in UTC, London days are summed from the stored rows; stored in London, they are read
/// from the store's per-day rollup.
fn spec(stored_zone: &str) -> TableSpec {
    TableSpec {
        name: "prop".into(),
        dimensions: vec!["queueId".into()],
        metrics: vec!["nOffered".into(), "tHandle".into()],
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", stored_zone),
    }
}

fn rows(start: Timestamp, cells: &[[Cell; 2]]) -> Vec<AggregateRow> {
    let mut rows = Vec::new();
    for (i, bucket) in cells.iter().enumerate() {
        let s = start + SignedDuration::from_mins(15 * i as i64);
        let interval = Interval::new(s, s + SignedDuration::from_mins(15));
        for (queue, cell) in QUEUES.iter().zip(bucket) {
            if let Some((offered, count, sum, spread)) = *cell {
                let min = sum / count.max(1) - spread;
                rows.push(AggregateRow {
                    interval,
                    group: vec![Some(queue.to_string())],
                    values: vec![
                        Some(Value::Int(offered)),
                        Some(Value::Int(count)),
                        Some(Value::Int(sum)),
                        Some(Value::Int(min)),
                        Some(Value::Int(min + 2 * spread)),
                    ],
                });
            }
        }
    }
    rows
}

/// The expected figures: raw rows summed per (local date, queue) with no server code involved.
fn by_local_day(rows: &[AggregateRow]) -> BTreeMap<(String, String), Day> {
    let tz = TimeZone::get("Europe/London").unwrap();
    let mut days: BTreeMap<(String, String), Day> = BTreeMap::new();
    for row in rows {
        let date = row
            .interval
            .start
            .to_zoned_datetime(tz.clone())
            .date()
            .to_string();
        let queue = row.group[0].clone().unwrap();
        let day = days.entry((date, queue)).or_default();
        let int = |i: usize| match row.values[i] {
            Some(Value::Int(v)) => v,
            _ => unreachable!("every generated value is an integer"),
        };
        day.offered += int(0);
        day.count += int(1);
        day.sum += int(2);
        day.min = Some(day.min.map_or(int(3), |m| m.min(int(3))));
        day.max = Some(day.max.map_or(int(4), |m| m.max(int(4))));
    }
    days
}

fn served(body: &serde_json::Value) -> BTreeMap<(String, String), Day> {
    let tz = TimeZone::get("Europe/London").unwrap();
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let start: Timestamp = r["interval_start"].as_str().unwrap().parse().unwrap();
            let date = start.to_zoned_datetime(tz.clone()).date().to_string();
            let day = Day {
                offered: r["n_offered"].as_i64().unwrap(),
                count: r["t_handle_count"].as_i64().unwrap(),
                sum: r["t_handle_sum_ms"].as_i64().unwrap(),
                min: r["t_handle_min_ms"].as_i64(),
                max: r["t_handle_max_ms"].as_i64(),
            };
            ((date, r["queue_id"].as_str().unwrap().to_string()), day)
        })
        .collect()
}

fn cell() -> impl Strategy<Value = Cell> {
    prop::option::weighted(0.6, (0i64..40, 1i64..30, 0i64..3_000_000, 0i64..5_000))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn london_daily_rollup_equals_sums_per_local_day(
        autumn in any::<bool>(),
        stored_in_london in any::<bool>(),
        split in 0usize..292,
        cells in prop::collection::vec([cell(), cell()], 292),
    ) {
        let (from, to) = RANGES[usize::from(autumn)];
        let (start, end) = (at(from), at(to));
        let buckets = (end.duration_since(start).as_mins() / 15) as usize;
        let rows = rows(start, &cells[..buckets.min(cells.len())]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .ensure_dataset(&spec(if stored_in_london { "Europe/London" } else { "UTC" }))
            .unwrap();
        // Two windows cut at any bucket, so a day may be written in two parts.
        let cut = (start + SignedDuration::from_mins(15 * split as i64)).min(end);
        for window in [Interval::new(start, cut), Interval::new(cut, end)] {
            let part: Vec<AggregateRow> =
                rows.iter().filter(|r| window.contains(r.interval.start)).cloned().collect();
            store
                .write_window(&WindowWrite {
                    dataset: "prop",
                    window,
                    rows: &part,
                    settled: true,
                    run_id: None,
                    count_changes: false,
                })
                .unwrap();
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The same store served from each backend (PostgreSQL's a copy of it): both answers
        // are the sums per local day.
        let bodies: Vec<serde_json::Value> = Backend::ALL
            .into_iter()
            .map(|backend| runtime.block_on(backend.run(async {
                let app = TestApp::on(path.clone()).await;
                app.get_json(&format!(
                    "/v1/datasets/prop/rows?granularity=P1D&time_zone=Europe/London&group_by=queueId&from={from}&to={to}&limit=10000"
                ))
                .await
            })))
            .collect();
        prop_assert_eq!(&bodies[0], &bodies[1]);
        let body = &bodies[0];
        prop_assert_eq!(served(body), by_local_day(&rows));
        let lengths: Vec<i64> = body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s: Timestamp = r["interval_start"].as_str().unwrap().parse().unwrap();
                let e: Timestamp = r["interval_end"].as_str().unwrap().parse().unwrap();
                e.duration_since(s).as_hours()
            })
            .collect();
        prop_assert!(lengths.iter().all(|h| [23, 24, 25].contains(h)), "{lengths:?}");
    }
}
