//! The rows both write benchmarks write (`write` into SQLite, `postgres_write`): one day of
//! PT15M buckets × 125 groups (25 queues × 5 media types) of the default queue metrics.

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use warehouse::{AggregateRow, TableSpec, Value};

pub const DAY_MS: i64 = 86_400_000;
const BUCKET_MS: i64 = 900_000;
pub const START: i64 = 1_704_067_200_000;
const MEDIA: [&str; 5] = ["voice", "callback", "chat", "email", "message"];

pub fn spec() -> TableSpec {
    let metrics = genesys::catalog::QUEUE_PERFORMANCE_METRICS;
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: metrics.map(String::from).to_vec(),
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
    }
}

pub fn day_rows(day: i64, columns: usize) -> Vec<AggregateRow> {
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
