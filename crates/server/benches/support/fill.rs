//! A synthetic PT15M `queue_performance` store of a chosen size, written through the real
//! warehouse (one transaction per day, as the sync writes), for the serving benchmarks.

use std::path::Path;

use genesys::Interval;
use jiff::{SignedDuration, Timestamp};
use warehouse::{AggregateRow, SqliteStore, Store, TableSpec, Value, WindowWrite};

pub const DATASET: &str = "queue_performance";
pub const MEDIA: [&str; 5] = ["voice", "chat", "email", "message", "callback"];
pub const FIRST_DAY: &str = "2024-01-01T00:00:00Z";

pub struct Shape {
    pub days: i64,
    pub queues: usize,
    pub media: usize,
}

impl Shape {
    #[allow(dead_code)] // used by the fill_store example, not by every bench
    pub fn rows(&self) -> usize {
        self.days as usize * 96 * self.queues * self.media
    }
}

/// Writes `shape` into a new store at `path`, calling `progress` with the rows written so far.
pub fn fill(path: &Path, shape: &Shape, mut progress: impl FnMut(usize)) -> usize {
    let store = SqliteStore::open(path).unwrap();
    let spec = TableSpec {
        name: DATASET.into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: genesys::catalog::QUEUE_PERFORMANCE_METRICS
            .iter()
            .map(|m| m.to_string())
            .collect(),
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
    };
    store.ensure_dataset(&spec).unwrap();
    let width = spec.metric_columns().len();
    let start: Timestamp = FIRST_DAY.parse().unwrap();
    let mut total = 0;
    for day in 0..shape.days {
        let day_start = start + SignedDuration::from_hours(24 * day);
        let mut rows = Vec::with_capacity(96 * shape.queues * shape.media);
        for bucket in 0..96 {
            let s = day_start + SignedDuration::from_mins(15 * bucket);
            let interval = Interval::new(s, s + SignedDuration::from_mins(15));
            for q in 0..shape.queues {
                for media in &MEDIA[..shape.media] {
                    let seed = (day * 96 + bucket) * 31 + q as i64;
                    rows.push(AggregateRow {
                        interval,
                        group: vec![Some(format!("queue-{q:03}")), Some((*media).into())],
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
                dataset: DATASET,
                window: Interval::new(day_start, day_start + SignedDuration::from_hours(24)),
                rows: &rows,
                settled: true,
                run_id: None,
                count_changes: false,
            })
            .unwrap();
        progress(total);
    }
    total
}
