//! Reads never wait for the sync: while a writer holds an open write transaction, the server
//! answers from the last committed state (WAL), and sees the write once it commits.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use genesys::Interval;
use test_support::TestApp;
use test_support::app::at;
use warehouse::{AggregateRow, SqliteStore, Store, TableSpec, Value, WindowWrite};

fn offered(app_body: &serde_json::Value) -> Vec<i64> {
    app_body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["n_offered"].as_i64().unwrap())
        .collect()
}

/// A store with one dataset `q` (nOffered by queue, PT15M) and one window, 2024-05-01 00:00.
fn one_queue_store(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).unwrap();
    store
        .ensure_dataset(&TableSpec {
            name: "q".into(),
            dimensions: vec!["queueId".into()],
            metrics: vec!["nOffered".into()],
            definition: warehouse::DatasetDefinition::conversation_aggregates("PT15M", "UTC"),
        })
        .unwrap();
    store
}

fn window() -> Interval {
    Interval::new(at("2024-05-01T00:00:00Z"), at("2024-05-01T00:15:00Z"))
}

/// The window's one row: queue `a` offered `offered`.
fn offered_row(offered: i64) -> AggregateRow {
    AggregateRow {
        interval: window(),
        group: vec![Some("a".into())],
        values: vec![Some(Value::Int(offered))],
    }
}

fn window_write(rows: &[AggregateRow]) -> WindowWrite<'_> {
    WindowWrite {
        dataset: "q",
        window: window(),
        rows,
        settled: true,
        run_id: None,
        count_changes: false,
    }
}

/// Writes (or rewrites) the window with queue `a` offered `offered`.
fn write_offered(store: &SqliteStore, offered: i64) {
    store
        .write_window(&window_write(&[offered_row(offered)]))
        .unwrap();
}

#[tokio::test]
async fn an_open_write_transaction_does_not_block_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.db");
    let store = one_queue_store(&path);
    write_offered(&store, 5);
    let app = TestApp::on(path.clone()).await;

    // A sync rewriting the window page by page, with 9 offered: its transaction stays open,
    // the first page written, until the second page is let through (there is none).
    let (first_page_written, written) = mpsc::channel();
    let (let_commit, commit) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let mut pages =
            std::iter::once(Ok(vec![offered_row(9)])).chain(std::iter::from_fn(move || {
                first_page_written.send(()).unwrap();
                commit.recv().unwrap();
                None
            }));
        store
            .write_window_pages(&window_write(&[]), &mut pages, None)
            .unwrap();
    });
    written.recv().unwrap();
    let started = Instant::now();
    let during = app.get_json("/v1/datasets/q/rows").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the read did not wait"
    );
    assert_eq!(offered(&during), [5], "uncommitted data is not served");
    let_commit.send(()).unwrap();
    writer.join().unwrap();
    let after = app.get_json("/v1/datasets/q/rows").await;
    assert_eq!(offered(&after), [9]);
}

/// Answers are cached, but never across a commit: each rewrite of the window, made by another
/// connection, shows in the very next rows page and report, however often they were read.
#[tokio::test]
async fn cached_answers_never_outlive_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let store = one_queue_store(&path);
    let write = |offered: i64| write_offered(&store, offered);
    write(1);
    let app = TestApp::on(path.clone()).await;
    let report = "/v1/report?dataset=q&from=2024-05-01T00:00:00Z&to=2024-05-02T00:00:00Z";
    for offered_now in 2..6 {
        for _ in 0..3 {
            let rows = app.get_json("/v1/datasets/q/rows?granularity=P1D").await;
            assert_eq!(offered(&rows), [offered_now - 1]);
            let figures = app.get_json(report).await;
            assert_eq!(figures["totals"]["offered"], offered_now - 1);
        }
        write(offered_now);
    }
}
