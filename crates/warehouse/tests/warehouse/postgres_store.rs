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
        count_changes: false,
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
    let error = PostgresStore::open(&config).err().unwrap();
    assert!(error.is_unavailable(), "worth waiting for: {error}");
    let error = error.to_string();
    assert!(
        error.contains("127.0.0.1:1") && error.contains("unreachable"),
        "{error}"
    );
}

/// A fault of the caller's (here a refused password) is not an outage: waiting won't fix it.
#[test]
fn a_refused_password_is_not_worth_waiting_for() {
    let pg = TestPostgres::schema();
    let url = pg.url_without_password();
    let wrong =
        warehouse::PostgresConfig::parse(&url, pg.name(), Some("not-the-password"), None).unwrap();
    let error = PostgresStore::open(&wrong).err().unwrap();
    assert!(!error.is_unavailable(), "{error}");
}

/// A store that never had an API key has no `api_keys` table: its copy carries the rest, the
/// daily KPI view of the copy holds the local dates SQLite's does, and the copy is analyzed.
#[test]
fn a_store_without_keys_copies_with_its_daily_kpi_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let sqlite = warehouse::SqliteStore::open(&path).unwrap();
    let daily = TableSpec {
        definition: DatasetDefinition::conversation_aggregates("PT1H", "Asia/Kolkata"),
        ..spec()
    };
    sqlite.ensure_dataset(&daily).unwrap();
    let rows: Vec<AggregateRow> = (0..30).map(|k| row(k, "q1")).collect();
    sqlite
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: Interval::new(ms_to_timestamp(BASE), ms_to_timestamp(BASE + 30 * HOUR)),
            rows: &rows,
            settled: true,
            run_id: None,
            count_changes: false,
        })
        .unwrap();
    drop(sqlite);
    let pg = TestPostgres::schema();
    let report = warehouse::store_copy::sqlite_to_postgres(&path, pg.config()).unwrap();
    assert!(
        report.tables.iter().all(|(table, _)| table != "api_keys"),
        "{report:?}"
    );
    let rows_of = |table: &str| {
        report
            .tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
    };
    assert_eq!(rows_of("queue_performance"), Some(30));
    // 2024-05-01T00:00Z is 05:30 in Kolkata: 30 hours touch the 1st and the 2nd there.
    assert_eq!(rows_of("queue_performance__daily"), Some(2));
    let days = pg.dump("queue_performance__daily");
    let dates: Vec<Option<&str>> = days.iter().map(|r| r.last().unwrap().as_str()).collect();
    assert_eq!(dates, [Some("2024-05-01"), Some("2024-05-02")]);
    // The copy is analyzed: the first reads are planned with statistics.
    for table in ["queue_performance", "queue_performance__daily", "windows"] {
        let analyzed = warehouse::postgres::testing::analyzed(pg.config(), table).unwrap();
        assert!(analyzed, "{table}");
    }
}

/// Replicas that start together open one new schema at the same instant: each waits for the
/// others' schema and tables instead of failing on the schema's name.
#[test]
fn a_new_schema_opened_by_several_at_once_opens_for_all() {
    for round in 0..10 {
        let pg = TestPostgres::schema();
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (config, start) = (pg.config().clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    PostgresStore::open(&config).map(drop)
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

/// A window of three pages written under `lease`, held inside its transaction (holding the
/// dataset's lock) while `meanwhile` runs between its second page and its last.
fn write_held_mid_transaction(
    store: &PostgresStore,
    lease: &warehouse::LeaseToken,
    meanwhile: impl FnOnce(),
) -> warehouse::Result<warehouse::WindowOutcome> {
    let write = WindowWrite {
        dataset: "queue_performance",
        window: hour(0),
        rows: &[],
        settled: true,
        run_id: None,
        count_changes: false,
    };
    let (pages, arriving) = std::sync::mpsc::sync_channel::<warehouse::Result<_>>(0);
    std::thread::scope(|scope| {
        let writing = scope
            .spawn(|| store.write_window_pages(&write, &mut arriving.into_iter(), Some(lease)));
        // A rendezvous: the second page is taken only once the first is copied in, so the
        // writer now waits for the third inside its transaction.
        pages.send(Ok(vec![row(0, "q1")])).unwrap();
        pages.send(Ok(vec![row(0, "q2")])).unwrap();
        meanwhile();
        // The writer wakes with its last page.
        pages.send(Ok(vec![row(0, "q3")])).unwrap();
        drop(pages);
        writing.join().unwrap()
    })
}

/// A writer frozen mid-window (a paused VM, SIGSTOP) past its lease: the next holder ends its
/// session, and when it wakes its write is refused as the lease's, not as a closed connection,
/// nothing of the window is kept, and the frozen writer's store goes on working.
#[test]
fn a_write_frozen_past_its_lease_is_refused_when_it_wakes_and_its_store_goes_on() {
    use crate::store_suite::{claimant, granted};
    use std::time::Duration;
    use warehouse::StoreError;

    let pg = TestPostgres::schema();
    let frozen = pg.open();
    frozen.ensure_dataset(&spec()).unwrap();
    let ttl = Duration::from_millis(300);
    let lease = granted(
        frozen
            .acquire_lease("queue_performance", &claimant(1), ttl)
            .unwrap(),
    );
    let refused = write_held_mid_transaction(&frozen, &lease, || {
        std::thread::sleep(ttl * 2);
        let taker = pg.open();
        let taken = granted(
            taker
                .acquire_lease("queue_performance", &claimant(2), ttl * 100)
                .unwrap(),
        );
        assert!(taken.token > lease.token);
    })
    .unwrap_err();
    assert!(
        matches!(refused, StoreError::LeaseLost { .. }),
        "refused as: {refused}"
    );
    assert!(frozen.windows("queue_performance").unwrap().is_empty());
    frozen.release_lease(&lease).unwrap();
    assert_eq!(
        frozen
            .lease_holder("queue_performance")
            .unwrap()
            .map(|l| l.holder),
        Some(claimant(2))
    );
}

/// Leases are a store's own: a lease taken on a dataset in another schema of the same database
/// (a second deployment, a test beside this one) never ends this store's writes to its dataset
/// of the same name.
#[test]
fn a_lease_in_another_schema_leaves_this_stores_writes_alone() {
    use crate::store_suite::{claimant, granted};
    use std::time::Duration;

    let (here, elsewhere) = (TestPostgres::schema(), TestPostgres::schema());
    let (writer, other) = (here.open(), elsewhere.open());
    writer.ensure_dataset(&spec()).unwrap();
    let minute = Duration::from_secs(60);
    let lease = granted(
        writer
            .acquire_lease("queue_performance", &claimant(1), minute)
            .unwrap(),
    );
    // The other store's lease on its `queue_performance` passes this one's token, as a
    // takeover here would, while this store's write is mid-transaction.
    let written = write_held_mid_transaction(&writer, &lease, || {
        let mut token = 0;
        while token <= lease.token {
            let taken = granted(
                other
                    .acquire_lease("queue_performance", &claimant(2), minute)
                    .unwrap(),
            );
            other.release_lease(&taken).unwrap();
            token = taken.token;
        }
    });
    assert_eq!(written.unwrap().rows_written, 3);
    assert_eq!(writer.windows("queue_performance").unwrap().len(), 1);
}
