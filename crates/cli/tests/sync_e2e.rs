//! The real binary against a real emulator process: backfills, crashes, late data, faults.

mod common;

use std::time::{Duration, Instant};

use common::{EmulatorProcess, Workspace};

const NOW: &str = "2024-05-20T12:00:00Z";

/// A small, fast synthetic centre frozen at NOW, with a generous rate limit.
fn emulator(extra: &[&str]) -> EmulatorProcess {
    let mut args = vec![
        "--clock",
        NOW,
        "--clock-rate",
        "0",
        "--conversations-per-day",
        "4000",
        "--rate-limit-per-minute",
        "100000",
        "--seed",
        "5",
    ];
    args.extend_from_slice(extra);
    EmulatorProcess::start(&args)
}

const CONFIG: &str = r#"
[store]
sqlite = "store.db"

[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "nConnected", "tAnswered", "tAbandon", "tShortAbandon", "tWait", "tTalk", "tHeld", "tAcw", "tHandle", "nTransferred", "oServiceLevel"]
group_by = ["queueId", "mediaType"]
time_zone = "Europe/London"
backfill_start = "2024-05-01"
"#;

const BACKFILL: [&str; 9] = [
    "backfill",
    "--dataset",
    "queue_performance",
    "--from",
    "2024-05-01",
    "--to",
    "2024-05-15",
    "--now",
    NOW,
];

fn aggregate_requests(emulator: &EmulatorProcess) -> u64 {
    let counters = emulator.counters();
    counters["requests"]["/api/v2/analytics/conversations/aggregates/query"]
        .as_object()
        .map(|by_status| by_status.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0)
}

#[test]
fn a_backfill_sends_exactly_the_planned_requests_and_rerunning_it_changes_nothing() {
    let emulator = emulator(&[]);
    let work = Workspace::new(&emulator, CONFIG);
    let output = work.run_ok(&BACKFILL);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("queue_performance: 14 of 14 windows written"),
        "{text}"
    );
    assert_eq!(
        aggregate_requests(&emulator),
        14,
        "one request per window, nothing more"
    );
    let first = work.dump("queue_performance");
    assert!(first.len() > 5_000, "{} rows", first.len());
    let windows = work.dump("windows");
    assert_eq!(windows.len(), 14);
    assert!(
        windows.iter().all(|w| w[5] == "Integer(1)"),
        "each window names the run that wrote it: {windows:?}"
    );
    work.run_ok(&BACKFILL);
    assert_eq!(work.dump("queue_performance"), first);
}

/// SIGKILL the backfill at random instants, resume each time: the tables end equal to those of
/// an uninterrupted run, row for row.
#[test]
fn killing_a_backfill_at_random_instants_loses_and_duplicates_nothing() {
    let emulator = emulator(&[]);
    let reference = Workspace::new(&emulator, CONFIG);
    let started = Instant::now();
    reference.run_ok(&BACKFILL);
    let full_run = started.elapsed();
    let expected = reference.dump("queue_performance");

    let crashed = Workspace::new(&emulator, CONFIG);
    let mut rng = fastrand::Rng::with_seed(2024);
    let mut kills = 0;
    let mut finished_early = 0;
    while kills < 20 {
        let mut child = crashed
            .command(&BACKFILL)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay = full_run.mul_f64(rng.f64() * 0.6);
        std::thread::sleep(delay.max(Duration::from_millis(20)));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "a resumed backfill failed: {status}");
                finished_early += 1;
                assert!(
                    finished_early < 10,
                    "the backfill keeps finishing before the kill; the test proves nothing"
                );
            }
            None => {
                child.kill().unwrap(); // SIGKILL: no chance to clean up
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    crashed.run_ok(&BACKFILL);
    assert_eq!(
        crashed.dump("queue_performance"),
        expected,
        "after {kills} kills"
    );
    assert_eq!(
        crashed.dump("windows").len(),
        reference.dump("windows").len()
    );
}

/// Retries, re-logins and 429 pauses under a storm of faults give the same tables.
#[test]
fn a_fault_storm_gives_identical_tables() {
    let calm = emulator(&[]);
    let reference = Workspace::new(&calm, CONFIG);
    reference.run_ok(&BACKFILL);

    let storm = emulator(&[
        "--fault-rate-5xx",
        "0.2",
        "--fault-rate-truncate",
        "0.05",
        "--fault-rate-reset",
        "0.05",
        "--revoke-tokens-every-secs",
        "2",
    ]);
    let work = Workspace::new(&storm, CONFIG);
    let config = format!(
        "{CONFIG}\n[genesys]\nbackoff_min_ms = 20\nbackoff_max_ms = 200\nmax_attempts = 12\n"
    );
    std::fs::write(work.path().join("genesys-bi.toml"), config).unwrap();
    work.run_ok(&BACKFILL);
    let faults = storm.counters()["faultsInjected"].clone();
    assert!(
        faults.as_object().is_some_and(|f| !f.is_empty()),
        "faults were injected: {faults}"
    );
    assert_eq!(
        work.dump("queue_performance"),
        reference.dump("queue_performance")
    );
}

/// The same windows through async aggregate jobs (submit, poll, cursor pages, delete) give the
/// same tables as through synchronous queries.
#[test]
fn a_backfill_through_async_jobs_equals_one_through_queries() {
    let emulator = emulator(&["--job-delay-ms", "100"]);
    let by_query = Workspace::new(&emulator, CONFIG);
    by_query.run_ok(&BACKFILL);
    let by_job = Workspace::new(
        &emulator,
        &CONFIG.replace("backfill_start", "query_mode = \"job\"\nbackfill_start"),
    );
    let output = by_job.run_ok(&BACKFILL);
    assert!(String::from_utf8_lossy(&output.stdout).contains("14 of 14 windows written"));
    let jobs = &emulator.counters()["requests"]["/api/v2/analytics/conversations/aggregates/jobs"];
    assert_eq!(jobs["202"], 14, "one job per window: {jobs}");
    assert_eq!(
        by_job.dump("queue_performance"),
        by_query.dump("queue_performance")
    );
}
