//! The SQLite store against a real database file.

use genesys::Interval;
use genesys::granularity::ms_to_timestamp;
use jiff::Timestamp;
use proptest::prelude::*;
use rusqlite::Connection;
use std::time::Duration;

use warehouse::{
    Acquired, AggregateRow, DatasetChange, LeaseHolder, LeaseToken, SqliteStore, Store, StoreError,
    TableSpec, Value, WindowWrite,
};

const HOUR: i64 = 3_600_000;
const BASE: i64 = 1_714_521_600_000; // 2024-05-01T00:00:00Z

fn spec() -> TableSpec {
    TableSpec {
        name: "queue_performance".into(),
        dimensions: vec!["queueId".into(), "mediaType".into()],
        metrics: vec![
            "nOffered".into(),
            "tAnswered".into(),
            "tHandle".into(),
            "oServiceLevel".into(),
        ],
        definition: warehouse::DatasetDefinition::conversation_aggregates("PT1H", "UTC"),
    }
}

fn hour(k: i64) -> Interval {
    Interval::new(
        ms_to_timestamp(BASE + k * HOUR),
        ms_to_timestamp(BASE + (k + 1) * HOUR),
    )
}

fn window(from: i64, to: i64) -> Interval {
    Interval::new(
        ms_to_timestamp(BASE + from * HOUR),
        ms_to_timestamp(BASE + to * HOUR),
    )
}

fn row(k: i64, queue: &str, offered: i64) -> AggregateRow {
    let answered = offered - 1;
    let int = |v: i64| Some(Value::Int(v));
    AggregateRow {
        interval: hour(k),
        group: vec![Some(queue.into()), Some("voice".into())],
        values: vec![
            int(offered),
            // tAnswered: count, sum, min, max
            int(answered),
            int(1000 * answered),
            int(10),
            int(20),
            // tHandle: count, sum, min, max
            int(2),
            int(4000),
            int(1000),
            int(3000),
            // oServiceLevel: numerator, denominator, target
            int(offered - 2),
            int(offered),
            Some(Value::Real(0.8)),
        ],
    }
}

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    (dir, store)
}

fn write(
    store: &SqliteStore,
    w: Interval,
    rows: &[AggregateRow],
    settled: bool,
) -> Option<Timestamp> {
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: w,
            rows,
            settled,
            run_id: None,
        })
        .unwrap()
        .complete_through
}

fn count_rows(dir: &tempfile::TempDir, sql: &str) -> i64 {
    let c = Connection::open(dir.path().join("store.db")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_window_is_replaced_not_duplicated() {
    let (dir, store) = temp_store();
    assert_eq!(
        store.ensure_dataset(&spec()).unwrap(),
        DatasetChange::Created
    );
    let rows = [row(0, "q1", 5), row(0, "q2", 3), row(1, "q1", 4)];
    write(&store, window(0, 2), &rows, true);
    write(&store, window(0, 2), &rows[..2], true);
    assert_eq!(
        count_rows(&dir, "SELECT count(*) FROM queue_performance"),
        2
    );
    assert_eq!(
        count_rows(&dir, "SELECT sum(n_offered) FROM queue_performance"),
        8
    );
}

#[test]
fn kpi_view_divides_sums_by_counts() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    write(&store, window(0, 1), &[row(0, "q1", 5)], true);
    let c = Connection::open(dir.path().join("store.db")).unwrap();
    let (rate, handle, sl): (f64, f64, f64) = c
        .query_row(
            "SELECT answer_rate, avg_handle_s, service_level FROM queue_performance_kpi",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(rate, 4.0 / 5.0);
    assert_eq!(handle, 2.0);
    assert_eq!(sl, 3.0 / 5.0);
}

#[test]
fn the_watermark_moves_over_the_gap_free_settled_prefix_only() {
    let (_dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    assert_eq!(
        store
            .initialize_watermark("queue_performance", hour(0).start)
            .unwrap(),
        hour(0).start
    );
    assert_eq!(
        write(&store, window(1, 2), &[], true),
        Some(hour(0).start),
        "gap before it"
    );
    assert_eq!(
        write(&store, window(0, 1), &[], true),
        Some(hour(1).end),
        "gap filled: both count"
    );
    assert_eq!(
        write(&store, window(2, 3), &[], false),
        Some(hour(1).end),
        "unsettled does not count"
    );
    assert_eq!(write(&store, window(2, 3), &[], true), Some(hour(2).end));
    assert_eq!(
        store
            .initialize_watermark("queue_performance", hour(0).start)
            .unwrap(),
        hour(2).end,
        "kept"
    );
}

#[test]
fn a_bad_row_rolls_the_whole_window_back() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    store
        .initialize_watermark("queue_performance", hour(0).start)
        .unwrap();
    write(&store, window(0, 1), &[row(0, "q1", 5)], true);
    let outside = [row(0, "q2", 7), row(5, "q1", 1)];
    let err = store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: window(0, 1),
            rows: &outside,
            settled: true,
            run_id: None,
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::RowOutsideWindow { .. }), "{err}");
    assert_eq!(
        count_rows(&dir, "SELECT sum(n_offered) FROM queue_performance"),
        5,
        "old rows kept"
    );
}

#[test]
fn changing_group_by_rebuilds_and_adding_metrics_migrates() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    store
        .initialize_watermark("queue_performance", hour(0).start)
        .unwrap();
    write(&store, window(0, 1), &[row(0, "q1", 5)], true);
    assert_eq!(
        store.ensure_dataset(&spec()).unwrap(),
        DatasetChange::Unchanged
    );

    let mut more = spec();
    more.metrics.push("tTalk".into());
    let change = store.ensure_dataset(&more).unwrap();
    assert_eq!(
        change,
        DatasetChange::Migrated {
            added: vec!["tTalk".into()],
            dropped: vec![]
        }
    );
    assert_eq!(
        store.watermark("queue_performance").unwrap(),
        None,
        "history must be re-pulled"
    );
    assert_eq!(
        count_rows(&dir, "SELECT count(t_talk_sum_ms) FROM queue_performance"),
        0
    );

    let mut regrouped = more.clone();
    regrouped.dimensions = vec!["queueId".into()];
    assert!(matches!(
        store.ensure_dataset(&regrouped).unwrap(),
        DatasetChange::Rebuilt { .. }
    ));
    assert_eq!(
        count_rows(&dir, "SELECT count(*) FROM queue_performance"),
        0
    );
}

#[test]
fn dataset_names_cannot_inject_sql() {
    let (_dir, store) = temp_store();
    for name in ["x\"; DROP TABLE runs; --", "windows", "Queue", "a_kpi"] {
        let bad = TableSpec {
            name: name.into(),
            ..spec()
        };
        assert!(
            matches!(store.ensure_dataset(&bad), Err(StoreError::InvalidName(_))),
            "{name}"
        );
    }
}

#[test]
fn readers_are_not_blocked_by_an_open_write() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    write(&store, window(0, 1), &[row(0, "q1", 5)], true);
    let writer = Connection::open(dir.path().join("store.db")).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM queue_performance;")
        .unwrap();
    assert_eq!(
        count_rows(&dir, "SELECT count(*) FROM queue_performance"),
        1,
        "reader sees the last commit"
    );
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn status_reports_rows_windows_and_watermark() {
    let (_dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    store
        .initialize_watermark("queue_performance", hour(0).start)
        .unwrap();
    write(
        &store,
        window(0, 2),
        &[row(0, "q1", 5), row(1, "q1", 2)],
        true,
    );
    let status = store.dataset_status().unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!((status[0].rows, status[0].windows), (2, 1));
    assert_eq!(status[0].complete_through, Some(hour(1).end));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Whatever order windows land in, the watermark is the end of the longest run of settled
    /// windows starting at the backfill start.
    #[test]
    fn watermark_is_the_settled_prefix(order in Just((0..8i64).collect::<Vec<_>>()).prop_shuffle(),
                                       settled in proptest::collection::vec(any::<bool>(), 8)) {
        let store = SqliteStore::open_in_memory().unwrap();
        store.ensure_dataset(&spec()).unwrap();
        store.initialize_watermark("queue_performance", hour(0).start).unwrap();
        let mut written = [false; 8];
        for &k in &order {
            let mark = write(&store, hour(k), &[], settled[k as usize]);
            written[k as usize] = true;
            let prefix = (0..8).take_while(|&i| written[i] && settled[i]).count() as i64;
            prop_assert_eq!(mark, Some(hour(0).start + jiff::SignedDuration::from_hours(prefix)));
        }
    }
}

#[test]
fn a_regrown_partial_window_still_moves_the_watermark() {
    let (_dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    store
        .initialize_watermark("queue_performance", hour(0).start)
        .unwrap();
    assert_eq!(
        write(&store, window(0, 3), &[], true),
        Some(hour(2).end),
        "today so far"
    );
    assert_eq!(
        write(&store, window(0, 5), &[], true),
        Some(hour(4).end),
        "same day, later: same window key"
    );
}

#[test]
fn streaming_decode_equals_the_typed_path() {
    let body = serde_json::json!({"results": [
        {"group": {"queueId": "q1", "mediaType": "voice", "extra": "x"}, "data": [
            {"interval": "2024-05-01T00:00:00.000Z/2024-05-01T01:00:00.000Z", "metrics": [
                {"metric": "nOffered", "stats": {"count": 3}},
                {"metric": "tHandle", "stats": {"count": 2, "sum": 3000.0, "min": 1000.0, "max": 2000.0, "p99": 5}},
                {"metric": "tHandle", "qualifier": "x", "stats": {"count": 99}},
                {"metric": "oServiceLevel", "stats": {"numerator": 1.0, "denominator": 2.0, "ratio": 0.5, "target": 0.8}},
                {"metric": "nSomethingNew", "stats": {"count": 1, "brandNew": 4}}
            ], "views": []}]},
        {"group": {"queueId": "q2"}, "data": [
            {"interval": "2024-05-01T01:00:00.000Z/2024-05-01T02:00:00.000Z", "metrics": [
                {"metric": "tAnswered", "stats": {"count": 1, "sum": 10.0, "min": 10.0, "max": 10.0}}]}]}
    ], "somethingElse": {"a": [1, 2]}});
    let bytes = serde_json::to_vec(&body).unwrap();
    let typed: genesys::aggregates::AggregateQueryResponse =
        serde_json::from_slice(&bytes).unwrap();
    let expected = warehouse::rows_from_response(&spec(), &typed).unwrap();
    for piece in [1, 7, bytes.len()] {
        let streamed = streamed_rows(&bytes, piece).unwrap();
        assert_eq!(streamed, expected, "pieces of {piece} bytes");
    }
    assert_eq!(expected.len(), 2);
    assert!(
        streamed_rows(
            b"{\"results\": [{\"group\": {}, \"data\": [{\"interval\": \"nope\"}]}]}",
            16
        )
        .is_err()
    );
    assert!(streamed_rows(b"{\"results\": [", 4).is_err(), "truncated");
}

/// A body read as the sync reads a response: `piece` bytes at a time through genesys's decoder,
/// each group mapped to rows as soon as it is whole.
fn streamed_rows(
    body: &[u8],
    piece: usize,
) -> Result<Vec<warehouse::AggregateRow>, Box<dyn std::error::Error>> {
    let spec = spec();
    let mapper = warehouse::GroupRows::new(&spec);
    let mut decoder = genesys::aggregates::PageDecoder::new();
    let mut rows = Vec::new();
    for chunk in body.chunks(piece) {
        decoder.push(chunk);
        while let Some(group) = decoder.next_group()? {
            mapper.append(&group, &mut rows)?;
        }
    }
    decoder.finish()?;
    Ok(rows)
}

/// Every stored row as `(bucket start, queue, media, n_offered)`, in key order.
fn stored(dir: &tempfile::TempDir) -> Vec<(String, Option<String>, Option<String>, i64)> {
    let c = Connection::open(dir.path().join("store.db")).unwrap();
    let mut statement = c
        .prepare(
            "SELECT interval_start, queue_id, media_type, n_offered FROM queue_performance
             ORDER BY interval_start, ifnull(queue_id, ''), ifnull(media_type, '')",
        )
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn expected(rows: &[AggregateRow]) -> Vec<(String, Option<String>, Option<String>, i64)> {
    let mut out: Vec<_> = rows
        .iter()
        .map(|r| {
            let Some(Value::Int(offered)) = r.values[0] else {
                unreachable!()
            };
            (
                genesys::interval::format_instant(r.interval.start),
                r.group[0].clone(),
                r.group[1].clone(),
                offered,
            )
        })
        .collect();
    out.sort_by(|a, b| {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        (&a.0, text(&a.1), text(&a.2)).cmp(&(&b.0, text(&b.1), text(&b.2)))
    });
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Rows in any order, buckets of any size (the store writes a bucket with statements of
    /// several sizes), missing dimensions included: the window holds exactly the rows written,
    /// and writing it again replaces them exactly.
    #[test]
    fn any_order_and_bucket_size_is_stored_exactly(
        sizes in proptest::collection::vec(0usize..80, 1..4),
        missing in proptest::collection::vec(any::<bool>(), 80),
        seed in any::<u64>(),
    ) {
        let (dir, store) = temp_store();
        store.ensure_dataset(&spec()).unwrap();
        let mut rows = Vec::new();
        for (k, &n) in sizes.iter().enumerate() {
            for (q, &lacks_media) in missing.iter().take(n).enumerate() {
                let mut r = row(k as i64, &format!("q{q:02}"), (k * 100 + q) as i64);
                if lacks_media {
                    // A group without the media type; `q` keeps the key unique.
                    r.group[1] = None;
                }
                rows.push(r);
            }
        }
        // Genesys order (group by group), shuffled, or as built.
        match seed % 3 {
            0 => rows.sort_by(|a, b| a.group.cmp(&b.group)),
            1 => {
                let mut state = seed;
                for i in (1..rows.len()).rev() {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    rows.swap(i, (state >> 33) as usize % (i + 1));
                }
            }
            _ => {}
        }
        let w = window(0, sizes.len() as i64);
        write(&store, w, &rows, true);
        prop_assert_eq!(stored(&dir), expected(&rows));
        let fewer = &rows[..rows.len() / 2];
        write(&store, w, fewer, true);
        prop_assert_eq!(stored(&dir), expected(fewer));
    }
}

#[test]
fn a_duplicate_key_fails_the_window_and_keeps_what_was_there() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    let first: Vec<_> = (0..40).map(|q| row(0, &format!("q{q:02}"), 1)).collect();
    write(&store, window(0, 1), &first, true);
    // Enough rows for several statements, the duplicate in a later one.
    let mut again: Vec<_> = (0..40).map(|q| row(0, &format!("q{q:02}"), 2)).collect();
    again.push(row(0, "q39", 3));
    let err = store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: window(0, 1),
            rows: &again,
            settled: true,
            run_id: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(
        count_rows(&dir, "SELECT sum(n_offered) FROM queue_performance"),
        40,
        "the earlier rows, not a part of the failed write"
    );
    assert_eq!(store.windows("queue_performance").unwrap()[0].rows, 40);
}

#[test]
fn new_files_get_large_pages_and_old_ones_keep_theirs() {
    let page_size = |path: &std::path::Path| -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    SqliteStore::open(&fresh).unwrap();
    assert_eq!(page_size(&fresh), warehouse::sqlite::PAGE_SIZE);
    let keys_first = dir.path().join("keys-first.db");
    warehouse::sqlite::keys::open_admin(&keys_first).unwrap();
    assert_eq!(page_size(&keys_first), warehouse::sqlite::PAGE_SIZE);

    // A store made before the page size was set: SQLite's 4 KiB default, in WAL mode.
    let old = dir.path().join("old.db");
    {
        let c = Connection::open(&old).unwrap();
        c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;")
            .unwrap();
    }
    let store = SqliteStore::open(&old).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    let rows: Vec<_> = (0..50).map(|q| row(0, &format!("q{q:02}"), 1)).collect();
    let w = window(0, 1);
    store
        .write_window(&WindowWrite {
            dataset: "queue_performance",
            window: w,
            rows: &rows,
            settled: true,
            run_id: None,
        })
        .unwrap();
    drop(store);
    assert_eq!(page_size(&old), 4096);
    let c = Connection::open(&old).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM queue_performance", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 50);
}

/// The store the release before typed definitions wrote (see `fixtures/README.md`).
mod legacy_store {
    use std::io::Read;
    use std::path::{Path, PathBuf};

    use rusqlite::Connection;
    use warehouse::{DatasetKind, ReadStore, SqliteReader, SqliteStore};

    fn unpack(dir: &Path) -> PathBuf {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/legacy-v1.db.gz");
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(fixture).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        let path = dir.join("legacy.db");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn schema_version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn opens_and_reads_the_typed_definition() {
        let dir = tempfile::tempdir().unwrap();
        let path = unpack(dir.path());
        assert_eq!(schema_version(&path), 1);
        SqliteStore::open(&path).unwrap();
        assert_eq!(schema_version(&path), 4);
        let info = SqliteReader::new(&path)
            .session()
            .unwrap()
            .dataset("voice_queues")
            .unwrap()
            .unwrap();
        let definition = &info.spec.definition;
        assert_eq!(definition.kind, DatasetKind::ConversationAggregates);
        assert_eq!(definition.granularity.to_string(), "PT1H");
        assert_eq!(definition.time_zone.name(), "Europe/London");
        assert!(definition.filter.is_some());
        // Opening again is a no-op.
        SqliteStore::open(&path).unwrap();
        assert_eq!(schema_version(&path), 4);
    }

    #[test]
    fn an_unreadable_old_definition_refuses_the_open_naming_dataset_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = unpack(dir.path());
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE datasets SET definition = 'granularity=PT1H timeZone=Mars/Olympus filter='",
                [],
            )
            .unwrap();
        let err = SqliteStore::open(&path)
            .err()
            .expect("the open fails")
            .to_string();
        assert!(
            err.contains("`voice_queues`") && err.contains("time_zone"),
            "{err}"
        );
        assert!(err.contains("Mars/Olympus"), "{err}");
        assert_eq!(
            schema_version(&path),
            1,
            "a failed upgrade leaves the store as it was"
        );
    }

    #[test]
    fn an_unreadable_typed_column_is_an_error_naming_it_not_a_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let path = unpack(dir.path());
        SqliteStore::open(&path).unwrap();
        let c = Connection::open(&path).unwrap();
        c.execute("UPDATE datasets SET granularity = 'fortnightly'", [])
            .unwrap();
        let session = SqliteReader::new(&path).session().unwrap();
        let err = session.dataset("voice_queues").unwrap_err().to_string();
        assert!(
            err.contains("`voice_queues`") && err.contains("granularity"),
            "{err}"
        );
        let err = session.datasets().unwrap_err().to_string();
        assert!(err.contains("granularity `fortnightly`"), "{err}");
    }

    #[test]
    fn unreadable_stored_column_names_are_an_error_naming_them_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = unpack(dir.path());
        let store = SqliteStore::open(&path).unwrap();
        let spec = SqliteReader::new(&path)
            .session()
            .unwrap()
            .dataset("voice_queues")
            .unwrap()
            .unwrap()
            .spec;
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE datasets SET metrics = 'nOffered,tHandle'", [])
            .unwrap();
        let err = SqliteReader::new(&path)
            .session()
            .unwrap()
            .dataset("voice_queues")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`voice_queues`") && err.contains("metrics `nOffered,tHandle`"),
            "{err}"
        );
        // The writer refuses too, instead of migrating the table as if it had no metrics.
        let err = warehouse::Store::ensure_dataset(&store, &spec)
            .unwrap_err()
            .to_string();
        assert!(err.contains("metrics `nOffered,tHandle`"), "{err}");
    }
}

fn claimant(pid: u32) -> LeaseHolder {
    LeaseHolder {
        pid,
        host: "host-a".into(),
    }
}

fn granted(acquired: Acquired) -> LeaseToken {
    match acquired {
        Acquired::Granted(token) => token,
        Acquired::HeldBy(lease) => panic!("expected the lease, but {} holds it", lease.holder),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn a_lease_is_held_by_one_writer_until_released_and_its_token_grows() {
    let (_dir, store) = temp_store();
    let first = granted(
        store
            .acquire_lease("queue_performance", &claimant(1), MINUTE)
            .unwrap(),
    );
    match store
        .acquire_lease("queue_performance", &claimant(2), MINUTE)
        .unwrap()
    {
        Acquired::HeldBy(lease) => {
            assert_eq!(lease.holder, claimant(1));
            assert_eq!(lease.token, first.token);
            assert!(lease.expires > lease.acquired);
        }
        Acquired::Granted(_) => panic!("two writers held one dataset"),
    }
    // Another dataset is free: different datasets sync in parallel.
    granted(
        store
            .acquire_lease("agent_performance", &claimant(2), MINUTE)
            .unwrap(),
    );
    store.renew_lease(&first, MINUTE).unwrap();
    store.release_lease(&first).unwrap();
    assert_eq!(store.lease_holder("queue_performance").unwrap(), None);
    let second = granted(
        store
            .acquire_lease("queue_performance", &claimant(2), MINUTE)
            .unwrap(),
    );
    assert!(second.token > first.token);
    // The old holder can neither renew nor release the new holder's lease.
    assert!(matches!(
        store.renew_lease(&first, MINUTE),
        Err(StoreError::LeaseLost { .. })
    ));
    store.release_lease(&first).unwrap();
    assert_eq!(
        store
            .lease_holder("queue_performance")
            .unwrap()
            .map(|l| l.token),
        Some(second.token)
    );
}

#[test]
fn a_lapsed_lease_is_taken_over_and_cannot_be_renewed() {
    let (_dir, store) = temp_store();
    let stalled = granted(
        store
            .acquire_lease("queue_performance", &claimant(1), Duration::from_millis(30))
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(60));
    assert!(matches!(
        store.renew_lease(&stalled, MINUTE),
        Err(StoreError::LeaseLost { .. })
    ));
    let next = granted(
        store
            .acquire_lease("queue_performance", &claimant(2), MINUTE)
            .unwrap(),
    );
    assert_eq!(next.token, stalled.token + 1);
}

#[test]
fn a_write_under_a_lapsed_or_taken_lease_is_refused_whole() {
    let (dir, store) = temp_store();
    store.ensure_dataset(&spec()).unwrap();
    let lapsing = granted(
        store
            .acquire_lease("queue_performance", &claimant(1), Duration::from_millis(30))
            .unwrap(),
    );
    let rows = [row(0, "q1", 5)];
    let write = WindowWrite {
        dataset: "queue_performance",
        window: hour(0),
        rows: &rows,
        settled: true,
        run_id: None,
    };
    store.write_window_leased(&write, &lapsing).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    let refused = store.write_window_leased(&write, &lapsing).unwrap_err();
    assert!(matches!(refused, StoreError::LeaseLost { .. }), "{refused}");
    let taker = granted(
        store
            .acquire_lease("queue_performance", &claimant(2), MINUTE)
            .unwrap(),
    );
    let later = [row(1, "q1", 7)];
    let stale = WindowWrite {
        window: hour(1),
        rows: &later,
        ..write.clone()
    };
    let refused = store.write_window_leased(&stale, &lapsing).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("now held by pid 2 on host host-a"),
        "{refused}"
    );
    assert_eq!(
        count_rows(&dir, "SELECT count(*) FROM queue_performance"),
        1
    );
    // A lease for another dataset does not let a writer in either.
    let other = granted(
        store
            .acquire_lease("agent_performance", &claimant(1), MINUTE)
            .unwrap(),
    );
    assert!(store.write_window_leased(&stale, &other).is_err());
    store.write_window_leased(&stale, &taker).unwrap();
    let c = Connection::open(dir.path().join("store.db")).unwrap();
    let logged: Vec<(String, i64, String)> = c
        .prepare("SELECT window_start, lease_token, writer FROM windows ORDER BY window_start")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].1, lapsing.token);
    assert_eq!(logged[0].2, "pid 1 on host host-a");
    assert_eq!(logged[1].1, taker.token);
    assert_eq!(logged[1].2, "pid 2 on host host-a");
}

#[test]
fn writers_on_separate_connections_take_turns_instead_of_failing_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    SqliteStore::open(&path).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = SqliteStore::open(&path).unwrap();
                for k in 0..15 {
                    store.ensure_dataset(&spec())?;
                    store.watermark("queue_performance")?;
                    store.initialize_watermark("queue_performance", hour(0).start)?;
                    let rows = [row(k, "q1", 5 + w)];
                    store.write_window(&WindowWrite {
                        dataset: "queue_performance",
                        window: hour(k),
                        rows: &rows,
                        settled: true,
                        run_id: None,
                    })?;
                    store.acquire_lease("queue_performance", &claimant(w as u32), MINUTE)?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap().unwrap();
    }
    assert_eq!(
        count_rows(&dir, "SELECT count(*) FROM queue_performance"),
        15
    );
}

#[test]
fn a_store_made_before_leases_gains_them_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1);
             CREATE TABLE windows (dataset TEXT NOT NULL, window_start TEXT NOT NULL,
                 window_end TEXT NOT NULL, rows INTEGER NOT NULL, settled INTEGER NOT NULL,
                 run_id INTEGER, written_at TEXT NOT NULL, PRIMARY KEY (dataset, window_start));",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    store.ensure_dataset(&spec()).unwrap();
    let lease = granted(
        store
            .acquire_lease("queue_performance", &claimant(1), MINUTE)
            .unwrap(),
    );
    let rows = [row(0, "q1", 5)];
    let write = WindowWrite {
        dataset: "queue_performance",
        window: hour(0),
        rows: &rows,
        settled: true,
        run_id: None,
    };
    store.write_window_leased(&write, &lease).unwrap();
    drop(store);
    // Opening again finds the columns already there.
    SqliteStore::open(&path).unwrap();
}

#[derive(Debug, Clone)]
enum LeaseStep {
    /// Claimant asks; a zero TTL lapses at once, as a stalled holder's lease would.
    Acquire { claimant: u32, lapses: bool },
    /// The holder of the most recent grant lets go.
    Release,
}

fn lease_step() -> impl Strategy<Value = LeaseStep> {
    prop_oneof![
        (0u32..3, any::<bool>())
            .prop_map(|(claimant, lapses)| LeaseStep::Acquire { claimant, lapses }),
        Just(LeaseStep::Release),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever order writers ask, let go and stall in: a lease is granted only when none is in
    /// force, each grant's token is greater than every token before it, and only the latest
    /// grant's token can write.
    #[test]
    fn tokens_only_grow_and_only_the_latest_grant_writes(
        steps in proptest::collection::vec(lease_step(), 1..24)
    ) {
        let (_dir, store) = temp_store();
        store.ensure_dataset(&spec()).unwrap();
        let mut latest: Option<(LeaseToken, bool)> = None;
        let mut tokens = Vec::new();
        for step in steps {
            match step {
                LeaseStep::Acquire { claimant: who, lapses } => {
                    let ttl = if lapses { Duration::ZERO } else { MINUTE };
                    let in_force = matches!(latest, Some((_, false)));
                    match store.acquire_lease("queue_performance", &claimant(who), ttl).unwrap() {
                        Acquired::Granted(token) => {
                            prop_assert!(!in_force, "granted while a lease was in force");
                            prop_assert!(tokens.iter().all(|&t| t < token.token));
                            tokens.push(token.token);
                            latest = Some((token, lapses));
                        }
                        Acquired::HeldBy(lease) => {
                            prop_assert!(in_force);
                            prop_assert_eq!(Some(lease.token), latest.as_ref().map(|(t, _)| t.token));
                        }
                    }
                }
                LeaseStep::Release => {
                    if let Some((token, _)) = latest.take() {
                        store.release_lease(&token).unwrap();
                        latest = Some((token, true));
                    }
                }
            }
            let rows = [row(0, "q1", 5)];
            let write = WindowWrite {
                dataset: "queue_performance",
                window: hour(0),
                rows: &rows,
                settled: true,
                run_id: None,
            };
            for &t in &tokens {
                let token = LeaseToken { dataset: "queue_performance".into(), token: t };
                let may_write = matches!(&latest, Some((l, false)) if l.token == t);
                prop_assert_eq!(store.write_window_leased(&write, &token).is_ok(), may_write);
            }
        }
    }
}

/// Processes that start together (three backfills at once) open one new store file at the same
/// instant: each waits for the others' schema instead of failing with "database is locked".
#[test]
fn a_new_store_opened_by_several_connections_at_once_opens_for_all() {
    for round in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.db");
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    SqliteStore::open(&path).map(drop)
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}
