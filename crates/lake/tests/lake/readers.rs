//! Real readers of the lake: pyspark's partition discovery over the folder, and pyarrow's
//! dataset API over S3 (moto's server, started once by scripts/test.sh, or by the test itself
//! when run alone). Each sees per-day sums equal to the store's day table, and every row once.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use lake::LakeLocation;
use test_support::external::{repo_root, run_with_timeout, venv_program};

use crate::fixture::*;

/// Where scripts/test.sh says its moto server listens.
const S3_ENDPOINT_VAR: &str = "GENESYS_BI_TEST_S3_ENDPOINT";
const S3_CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
];

/// Runs tests/lake/read_lake.py and returns what it printed.
async fn read_lake_with(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(venv_program("python", "tests/lake/requirements.txt"));
    command
        .arg(repo_root().join("tests/lake/read_lake.py"))
        .args(args)
        .envs(env.iter().copied());
    let run = run_with_timeout(command, dir.path(), Duration::from_secs(300)).await;
    assert!(run.succeeded(), "{}", run.explain("read_lake.py"));
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn sums_seen(seen: &serde_json::Value) -> BTreeMap<String, i64> {
    seen["day_sums"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(day, sum)| (day.clone(), sum.as_i64().unwrap()))
        .collect()
}

fn sums_stored(fixture: &Fixture) -> BTreeMap<String, i64> {
    fixture
        .day_sums()
        .into_iter()
        .map(|(day, sum)| (day.to_string(), sum))
        .collect()
}

/// A store whose lake was published, then one window written again and published again.
async fn published(fixture: &Fixture, lake: &lake::Lake) {
    lake.catch_up(fixture.writer(), DATASET, Some(1), &no_progress)
        .await
        .unwrap();
    fixture.write(window(3), &rows(window(3), 4));
    let again = lake
        .catch_up(fixture.writer(), DATASET, Some(1), &no_progress)
        .await
        .unwrap();
    assert_eq!(again.windows, 1);
}

#[tokio::test]
async fn pyspark_discovers_the_day_partitions_and_sums_them_as_the_store_does() {
    let fixture = Fixture::new();
    published(&fixture, &fixture.lake()).await;
    let folder = fixture.folder();
    let seen = read_lake_with(&["spark", folder.to_str().unwrap(), DATASET], &[]).await;
    assert_eq!(sums_seen(&seen), sums_stored(&fixture), "{seen}");
    assert_eq!(seen["duplicate_keys"], 0, "{seen}");
    assert_eq!(seen["rows"], WINDOWS * 24 * 6, "{seen}");
    let types = &seen["types"];
    assert_eq!(types["date"], "date", "partition discovery: {seen}");
    assert_eq!(types["interval_start"], "timestamp", "{seen}");
    assert_eq!(types["n_offered"], "bigint", "{seen}");
    assert_eq!(types["queue_id"], "string", "{seen}");
    assert_eq!(types["t_handle_avg_ms"], "double", "{seen}");
}

/// moto's S3 server: scripts/test.sh's, or one of this test's own, stopped when dropped.
struct S3Server {
    endpoint: String,
    own: Option<Child>,
}

impl S3Server {
    fn start() -> Self {
        if let Ok(endpoint) = std::env::var(S3_ENDPOINT_VAR) {
            return Self {
                endpoint,
                own: None,
            };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(venv_program("moto_server", "tests/lake/requirements.txt"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            own: Some(child),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.own {
            // Already gone is fine: the test is over either way.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn pyarrow_reads_the_same_lake_from_s3_with_the_same_sums() {
    let s3 = S3Server::start();
    let bucket = format!("lake-{}", std::process::id());
    read_lake_with(
        &["make-bucket", &bucket, "--endpoint", &s3.endpoint],
        &S3_CREDENTIALS,
    )
    .await;
    let fixture = Fixture::new();
    let location =
        LakeLocation::parse(&format!("s3://{bucket}/genesys-bi"), Some(&s3.endpoint)).unwrap();
    let settings = [
        ("aws_access_key_id", "testing"),
        ("aws_secret_access_key", "testing"),
        ("aws_region", "us-east-1"),
    ];
    let lake = fixture.lake_with(location, &settings);
    published(&fixture, &lake).await;
    let report = lake.verify(fixture.writer(), DATASET).await.unwrap();
    assert!(report.is_consistent(), "{:?}", report.problems);

    let uri = format!("s3://{bucket}/genesys-bi");
    let seen = read_lake_with(
        &["pyarrow", &uri, DATASET, "--endpoint", &s3.endpoint],
        &S3_CREDENTIALS,
    )
    .await;
    assert_eq!(sums_seen(&seen), sums_stored(&fixture), "{seen}");
    assert_eq!(seen["duplicate_keys"], 0, "{seen}");
    assert_eq!(seen["rows"], WINDOWS * 24 * 6, "{seen}");
    assert_eq!(
        seen["types"]["interval_start"], "timestamp[ms, tz=UTC]",
        "{seen}"
    );
}
