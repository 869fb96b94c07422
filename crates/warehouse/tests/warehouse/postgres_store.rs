//! The PostgreSQL store against the test run's throwaway server: schema, migrations, a first
//! window. (The store-level suite runs on both backends in `store_suite`.)

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use test_support::postgres::TestPostgres;
use warehouse::{
    AggregateRow, DatasetChange, DatasetDefinition, PostgresStore, Store, TableSpec, Value,
    WindowWrite,
};

const HOUR: i64 = 3_600_000;
const BASE: i64 = 1_714_521_600_000; // 2024-05-01T00:00:00Z

fn spec() -> TableSpec {
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec!["nOffered".into(), "tHandle".into(), "oServiceLevel".into()],
        definition: DatasetDefinition::conversation_aggregates("PT1H", "UTC"),
    }
}

fn hour(k: i64) -> Interval {
    Interval::new(
        ms_to_timestamp(BASE + k * HOUR),
        ms_to_timestamp(BASE + (k + 1) * HOUR),
    )
}

fn row(k: i64, queue: &str) -> AggregateRow {
    let int = |v: i64| Some(Value::Int(v));
    AggregateRow {
        interval: hour(k),
        group: vec![Some(queue.into()), None],
        values: vec![
            int(5),
            int(2),
            int(4000),
            int(1000),
            int(3000),
            int(3),
            int(5),
            Some(Value::Real(0.8)),
        ],
    }
}

#[test]
fn a_new_schema_is_made_and_a_window_written_once() {
    let pg = TestPostgres::schema();
    let store = pg.open();
    assert_eq!(
        store.ensure_dataset(&spec()).unwrap(),
        DatasetChange::Created
    );
    assert_eq!(
        store.ensure_dataset(&spec()).unwrap(),
        DatasetChange::Unchanged
    );
    // A second process opening the same schema finds it made.
    let again = PostgresStore::open(pg.config()).unwrap();
    let before = again.generation().unwrap();
    let start = ms_to_timestamp(BASE);
    store
        .initialize_watermark("queue_performance", start)
        .unwrap();
    let rows = [row(0, "q1"), row(0, "q2"), row(1, "q1")];
    let write = WindowWrite {
        dataset: "queue_performance",
        window: Interval::new(start, ms_to_timestamp(BASE + 2 * HOUR)),
        rows: &rows,
        settled: true,
        run_id: None,
    };
    let outcome = store.write_window(&write).unwrap();
    assert_eq!(outcome.rows_written, 3);
    assert_eq!(outcome.complete_through, Some(write.window.end));
    // Written again, the window replaces its rows.
    store.write_window(&write).unwrap();
    let status = again.dataset_status().unwrap();
    assert_eq!(status[0].rows, 3);
    assert_eq!(status[0].windows, 1);
    assert!(again.generation().unwrap() >= before + 2);
    assert_eq!(again.windows("queue_performance").unwrap()[0].rows, 3);
}

#[test]
fn an_unreachable_server_names_host_and_port() {
    let pg = TestPostgres::schema();
    let url = "postgres://nobody@127.0.0.1:1/db";
    let config = warehouse::PostgresConfig::parse(url, pg.name(), Some("x"), None).unwrap();
    let error = PostgresStore::open(&config).err().unwrap().to_string();
    assert!(
        error.contains("127.0.0.1:1") && error.contains("unreachable"),
        "{error}"
    );
}
