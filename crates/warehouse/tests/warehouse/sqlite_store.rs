//! The SQLite store against a real database file: what only SQLite has (its files, pages, WAL
//! readers, stores made by older releases). The store-level suite both backends pass is
//! `store_suite`.

use rusqlite::Connection;

use warehouse::{SqliteStore, Store, WindowWrite};

use crate::store_suite::{MINUTE, claimant, granted, hour, row, spec, window, write};

fn temp_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("store.db")).unwrap();
    (dir, store)
}

fn count_rows(dir: &tempfile::TempDir, sql: &str) -> i64 {
    let c = Connection::open(dir.path().join("store.db")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
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
            count_changes: false,
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
        assert_eq!(schema_version(&path), 5);
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
        assert_eq!(schema_version(&path), 5);
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
        count_changes: false,
    };
    store.write_window_leased(&write, &lease).unwrap();
    drop(store);
    // Opening again finds the columns already there.
    SqliteStore::open(&path).unwrap();
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
