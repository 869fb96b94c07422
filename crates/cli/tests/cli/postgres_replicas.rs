//! Several `genesys-bi run` processes on one PostgreSQL store: the datasets spread across
//! them by the leases, a killed replica's taken over, a stalled one fenced off.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::cli::Workspace;
use test_support::postgres::TestPostgres;

use crate::postgres_cmd::{NOW, emulator};

const THREE_DATASETS: &str = r#"
[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "nConnected", "tAnswered", "tAbandon", "tHandle", "oServiceLevel"]
group_by = ["queueId", "mediaType"]
time_zone = "Europe/London"
backfill_start = "2024-05-01"

[[datasets]]
name = "queue_volume"
metrics = ["nOffered", "nConnected", "tHandle"]
group_by = ["queueId"]
time_zone = "UTC"
backfill_start = "2024-05-01"

[[datasets]]
name = "media_volume"
metrics = ["nOffered", "tTalk"]
group_by = ["mediaType"]
time_zone = "UTC"
backfill_start = "2024-05-05"
"#;

/// Each replica's Genesys budget, so the work takes long enough to be interrupted.
const PACED: &str = "\n[genesys]\nrequests_per_minute = 240\n";

const NAMES: [&str; 3] = ["queue_performance", "queue_volume", "media_volume"];

fn config(pg: &TestPostgres) -> String {
    format!(
        "[store]\npostgres = \"{}\"\nschema = \"{}\"\n{THREE_DATASETS}{PACED}",
        pg.url_without_password(),
        pg.name()
    )
}

/// A running `genesys-bi`, its stderr going to a file: a pipe nobody reads while the test
/// waits would fill and stall the process it is meant to watch.
struct Replica {
    child: Child,
    log: std::path::PathBuf,
}

impl Replica {
    /// Waits for the process to end: whether it succeeded, and what it said on stderr.
    fn finish(mut self) -> (bool, String) {
        let status = self.child.wait().unwrap();
        (
            status.success(),
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

fn spawn(work: &Workspace, pg: &TestPostgres, args: &[&str]) -> Replica {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = work.path().join(format!("replica-{n}.stderr"));
    let child = work
        .command(args)
        .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("genesys-bi starts");
    Replica { child, log }
}

fn signal(replica: &Replica, name: &str) {
    let child = &replica.child;
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{name} {}", child.id());
}

const RUN: [&str; 5] = ["run", "--now", NOW, "--lease-ttl-ms", "1500"];

/// One `sync` to the end, as a clean single process would leave the store.
fn sync_to_the_end(work: &Workspace, pg: &TestPostgres) {
    let output = work
        .command(&["sync", "--now", NOW, "--lease-ttl-ms", "1500"])
        .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The window log's `(dataset, lease token) → writers`: a token is one holder's, so a
/// window written under it by anyone else is a window written by two replicas at once.
fn writers_per_token(pg: &TestPostgres) -> BTreeMap<(String, i64), Vec<String>> {
    let mut by_token: BTreeMap<(String, i64), Vec<String>> = BTreeMap::new();
    for window in pg.dump("windows") {
        // dataset, window_start, window_end, rows, settled, run_id, written_at, lease_token, writer
        let dataset = window[0].as_str().unwrap().to_string();
        let (Some(token), Some(writer)) = (window[7].as_i64(), window[8].as_str()) else {
            continue;
        };
        let writers = by_token.entry((dataset, token)).or_default();
        if !writers.iter().any(|w| w == writer) {
            writers.push(writer.to_string());
        }
    }
    by_token
}

/// 3 replicas × 3 datasets on one database, a random replica SIGKILLed every second or
/// two for a bounded period and restarted: the tables end equal to a clean single-process
/// sync into SQLite, row for row, and no lease token wrote for two replicas.
#[test]
fn three_replicas_killed_at_random_end_equal_to_a_clean_run() {
    let emulator = emulator();
    let reference = Workspace::new(
        &emulator,
        &format!("[store]\nsqlite = \"store.db\"\n{THREE_DATASETS}"),
    );
    reference.run_ok(&["sync", "--now", NOW]);

    let pg = TestPostgres::schema();
    let work = Workspace::new(&emulator, &config(&pg));
    let mut replicas: Vec<Replica> = (0..3).map(|_| spawn(&work, &pg, &RUN)).collect();
    let mut rng = fastrand::Rng::with_seed(12);
    let chaos = Instant::now();
    let mut kills = 0;
    while chaos.elapsed() < Duration::from_secs(25) {
        std::thread::sleep(Duration::from_millis(rng.u64(700..2_000)));
        let victim = rng.usize(..replicas.len());
        if let Some(status) = replicas[victim].child.try_wait().unwrap() {
            let log = std::fs::read_to_string(&replicas[victim].log).unwrap_or_default();
            panic!("a replica exited by itself: {status}: {log}");
        }
        replicas[victim].child.kill().unwrap(); // SIGKILL: its leases are never released
        replicas[victim].child.wait().unwrap();
        kills += 1;
        replicas[victim] = spawn(&work, &pg, &RUN);
    }
    for replica in &replicas {
        signal(replica, "TERM");
    }
    for replica in replicas {
        let (_, stderr) = replica.finish();
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let written_by_replicas = pg.dump("windows").len();
    assert!(written_by_replicas > 0, "the replicas wrote nothing");
    sync_to_the_end(&work, &pg);
    for name in NAMES {
        assert_eq!(
            pg.dump(name),
            reference.dump(name),
            "{name} after {kills} kills"
        );
    }
    for ((dataset, token), writers) in writers_per_token(&pg) {
        assert_eq!(writers.len(), 1, "{dataset} token {token}: {writers:?}");
    }
}

/// A replica stopped past its lease, then continued: its next write is refused by the
/// fencing token, and what it wrote before is kept.
#[test]
fn a_replica_stopped_past_its_lease_is_fenced_off() {
    let emulator = emulator();
    let pg = TestPostgres::schema();
    let work = Workspace::new(&emulator, &config(&pg));
    let backfill = [
        "backfill",
        "--dataset",
        "queue_performance",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-15",
        "--now",
        NOW,
        "--lease-ttl-ms",
        "3000",
    ];
    let mut holder = spawn(&work, &pg, &backfill);
    let deadline = Instant::now() + Duration::from_secs(120);
    let logged = || {
        let windows = warehouse::postgres::testing::sorted_values(pg.config(), "windows");
        windows.map(|w| w.len()).unwrap_or(0)
    };
    while logged() < 2 {
        if let Some(status) = holder.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(&holder.log).unwrap_or_default();
            panic!("the holder ended before writing twice: {status}: {log}");
        }
        assert!(Instant::now() < deadline, "the holder never wrote");
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&holder, "STOP");
    let before = pg.dump("windows");
    // Past the holder's 3 s lease, which it can't renew while stopped.
    std::thread::sleep(Duration::from_millis(4_500));
    let mut taker: Vec<&str> = backfill[..9].to_vec();
    taker.extend(["--no-wait", "--lease-ttl-ms", "60000"]);
    let output = work
        .command(&taker)
        .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the taker: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    signal(&holder, "CONT");
    let (succeeded, stderr) = holder.finish();
    assert!(!succeeded, "{stderr}");
    assert!(
        stderr.contains("expired or passed to another writer"),
        "{stderr}"
    );
    assert!(before.len() < 14, "stopped mid-backfill");
    let after = pg.dump("windows");
    assert_eq!(after.len(), 14, "the taker wrote every window");
    let stalled = format!("pid {} ", output_pid(&before));
    assert!(
        after
            .iter()
            .all(|w| !w[8].as_str().unwrap_or("").starts_with(&stalled)),
        "every window is the taker's now"
    );
}

/// The writer's pid of the first logged window.
fn output_pid(windows: &[Vec<warehouse::testing::Stored>]) -> String {
    let writer = windows[0][8]
        .as_str()
        .expect("a leased write names its writer");
    writer
        .strip_prefix("pid ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string()
}
