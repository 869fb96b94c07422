//! kill -9 at random instants of a publisher rewriting the whole lake in a loop: after each
//! kill, a reader of the plain partitions sees every file whole and every row exactly once,
//! with the store's day sums; the next catch-up leaves a lake that verifies clean.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use genesys::Interval;
use warehouse::{SqliteStore, StoreConfig};

use crate::fixture::*;

const CHILD_STORE: &str = "LAKE_TEST_CHILD_STORE";
const CHILD_FOLDER: &str = "LAKE_TEST_CHILD_FOLDER";
const KILLS: usize = 12;

/// Not a test: the publisher the test below starts and kills, in a process of its own (this
/// test binary again). Without the test's variables it has nothing to publish and returns.
#[tokio::test]
#[ignore = "the child process of kill::every_window_is_seen_once_after_each_kill_9"]
async fn publisher_child() {
    let (Ok(store), Ok(folder)) = (std::env::var(CHILD_STORE), std::env::var(CHILD_FOLDER)) else {
        return;
    };
    let config = StoreConfig::sqlite(&store);
    let writer = std::sync::Arc::new(SqliteStore::open(std::path::Path::new(&store)).unwrap());
    let reader = warehouse::open_reader(&config).unwrap();
    let lake = lake::Lake::open(
        lake::LakeLocation::Local(PathBuf::from(folder)),
        reader,
        None,
    )
    .unwrap();
    let all = Interval::new(window(0).start, window(WINDOWS - 1).end);
    loop {
        lake.export(writer.clone(), DATASET, all, None, &no_progress)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn every_window_is_seen_once_after_each_kill_9() {
    let fixture = Fixture::new();
    let lake = fixture.lake();
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let expected = read_lake(&fixture.folder());
    assert_eq!(expected.day_sums, fixture.day_sums());
    let mut rng = fastrand_delays();
    for kill in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "kill::publisher_child", "--ignored", "--quiet"])
            .env(CHILD_STORE, fixture.config.file().unwrap())
            .env(CHILD_FOLDER, fixture.folder())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(rng.next().unwrap()).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "the publisher ended by itself"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let seen = read_lake(&fixture.folder());
        assert_eq!(seen.day_sums, expected.day_sums, "after kill {kill}");
        assert_eq!(
            seen.keys, expected.keys,
            "after kill {kill}: a row missing or twice"
        );
    }
    lake.catch_up(fixture.writer(), DATASET, None, &no_progress)
        .await
        .unwrap();
    let report = lake.verify(fixture.writer(), DATASET).await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);
}

/// Kill delays from 30 ms to 600 ms: some land before the first publish, most within one.
fn fastrand_delays() -> impl Iterator<Item = Duration> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    std::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Some(Duration::from_millis(30 + state % 570))
    })
}
