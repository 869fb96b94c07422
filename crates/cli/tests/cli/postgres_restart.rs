//! PostgreSQL restarted (`pg_ctl restart -m fast`, on a cluster of the test's own) in the
//! middle of a `run`: the run waits for it, saying what it waits for, writes again whole the
//! windows whose writes the restart cut off, and finishes; the store then equals a clean run's.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::cli::Workspace;
use test_support::postgres::{TestCluster, TestPostgres};

use crate::postgres_cmd::{NOW, emulator};

/// Four months of daily windows (one request each): at the pace below, a pass of some 12 s
/// that writes a window every 100 ms or so, so a restart in its middle meets writes.
const DATASET: &str = r#"
[[datasets]]
name = "queue_volume"
metrics = ["nOffered", "nConnected", "tHandle"]
group_by = ["queueId"]
time_zone = "UTC"
backfill_start = "2024-01-20"
"#;

const TABLES: [&str; 2] = ["queue_volume", "queue_volume__daily"];

fn paced(requests_per_minute: u32) -> String {
    format!("\n[genesys]\nrequests_per_minute = {requests_per_minute}\n")
}

/// The run's `runs` rows that have ended, as (status, error).
fn ended_runs(pg: &TestPostgres) -> Vec<(String, String)> {
    let runs = warehouse::postgres::testing::sorted_values(pg.config(), "runs").unwrap_or_default();
    // id, command, started_at, finished_at, status, windows, rows, requests, error
    runs.iter()
        .map(|run| {
            let text = |i: usize| run[i].as_str().unwrap_or_default().to_string();
            (text(4), text(8))
        })
        .filter(|(status, _)| status != "running")
        .collect()
}

/// Windows logged so far (none before the store's tables exist).
fn windows_logged(pg: &TestPostgres) -> usize {
    warehouse::postgres::testing::sorted_values(pg.config(), "windows").map_or(0, |w| w.len())
}

fn stderr_of(log: &std::path::Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Waits for `done`, checking every 50 ms that `run` still runs and that its pass has not
/// failed (`run` says so on stderr and leaves the dataset to its next turn, a quarter of an
/// hour later); panics with its stderr.
fn until(run: &mut Child, log: &std::path::Path, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done() {
        if let Some(status) = run.try_wait().unwrap() {
            panic!(
                "the run ended ({status}) before {what}:\n{}",
                stderr_of(log)
            );
        }
        let stderr = stderr_of(log);
        assert!(
            !stderr
                .lines()
                .any(|line| line.starts_with("queue_volume: ")),
            "the pass failed before {what}:\n{stderr}"
        );
        assert!(
            Instant::now() < deadline,
            "no {what} within 90 s:\n{stderr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_waits_out_a_postgres_restart_and_ends_equal_to_a_clean_run() {
    let emulator = emulator();
    let reference = Workspace::new(
        &emulator,
        &format!("[store]\nsqlite = \"store.db\"\n{DATASET}{}", paced(6_000)),
    );
    reference.run_ok(&["sync", "--now", NOW]);
    let planned = reference.dump("windows").len();

    let cluster = TestCluster::start();
    let pg = cluster.schema();
    let work = Workspace::new(
        &emulator,
        &format!(
            "[store]\npostgres = \"{}\"\nschema = \"{}\"\n{DATASET}{}",
            pg.url_without_password(),
            pg.name(),
            paced(600)
        ),
    );
    let log = work.path().join("run.stderr");
    let mut run = work
        .command(&["run", "--now", NOW])
        .env("GENESYS_BI_POSTGRES_PASSWORD", pg.password())
        // The sync's info lines too: they say which windows' writes were cut off.
        .env("RUST_LOG", "warn,sync=info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("genesys-bi run starts");

    until(&mut run, &log, "15 windows written", || {
        windows_logged(&pg) >= 15
    });
    // Down for two seconds: some 20 of the paced windows meet it, whatever the machine's load.
    cluster.restart_after(Duration::from_secs(2));
    let written_before = windows_logged(&pg);
    assert!(
        written_before < planned,
        "the restart came after the last of {planned} windows: not mid-pass"
    );

    until(&mut run, &log, "the run's pass ended", || {
        !ended_runs(&pg).is_empty()
    });
    let status = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = run.wait().unwrap();
    let stderr = stderr_of(&log);
    assert!(exit.success(), "{exit}:\n{stderr}");
    assert_eq!(
        ended_runs(&pg),
        [("ok".to_string(), String::new())],
        "{stderr}"
    );

    let waiting = format!(
        "Waiting for the store: PostgreSQL at 127.0.0.1:{} ",
        cluster.port()
    );
    let wait_line = stderr
        .lines()
        .find(|line| line.contains(&waiting))
        .unwrap_or_else(|| panic!("no line says what the run waits for:\n{stderr}"));
    assert!(wait_line.contains("next attempt in "), "{wait_line}");
    assert!(!wait_line.contains(&pg.password()), "{wait_line}");
    assert!(
        stderr.contains("cut the window's write off"),
        "no window's write was interrupted by the restart:\n{stderr}"
    );
    assert!(stderr.contains("The store answers again"), "{stderr}");

    assert_eq!(windows_logged(&pg), planned, "{stderr}");
    for table in TABLES {
        assert_eq!(pg.dump(table), reference.dump(table), "{table}");
    }
}
