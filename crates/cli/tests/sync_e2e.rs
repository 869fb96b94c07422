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

/// The three default datasets and directories, against the emulator's credentials.
const DEFAULTS: &str = "[store]\nsqlite = \"store.db\"\n";

fn check_connection(workspace: &Workspace, env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = workspace
        .command(&["check-config", "--connect"])
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn check_config_without_connect_does_not_claim_the_credentials_work() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    let output = workspace
        .command(&["check-config"])
        .env("GENESYS_CLIENT_SECRET", "wrong")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("config is valid"), "{stdout}");
    assert!(stdout.contains("run with --connect"), "{stdout}");
}

#[test]
fn check_config_connect_passes_with_every_permission() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    let (code, stdout, stderr) = check_connection(&workspace, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for line in [
        "dataset queue_performance: ok",
        "dataset agent_performance: ok",
        "dataset wrapup_performance: ok",
        "directory queues: ok",
        "directory users: ok",
        "directory wrapup_codes: ok",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
}

#[test]
fn check_config_connect_names_the_missing_permission() {
    let emulator = emulator(&[
        "--limited-client",
        "directories-only:pw:routing:queue:view,routing:wrapupCode:view",
    ]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    let (code, stdout, stderr) = check_connection(
        &workspace,
        &[
            ("GENESYS_CLIENT_ID", "directories-only"),
            ("GENESYS_CLIENT_SECRET", "pw"),
        ],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let dataset = stdout
        .lines()
        .find(|l| l.starts_with("  dataset queue_performance:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        dataset.contains("missing permission analytics:conversationAggregate:view"),
        "{dataset}"
    );
    assert!(stdout.contains("directory queues: ok"), "{stdout}");
    assert!(
        stderr.contains("3 of 6 connection checks failed"),
        "{stderr}"
    );
}

#[test]
fn check_config_connect_says_the_login_was_refused_without_the_secret() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    let secret = "a-wrong-secret-never-printed";
    let (code, stdout, stderr) = check_connection(&workspace, &[("GENESYS_CLIENT_SECRET", secret)]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let login_host = emulator.var("GENESYS_LOGIN_BASE");
    assert!(
        stdout.contains(&format!("login: login refused at {login_host}")),
        "{stdout}"
    );
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
}

#[test]
fn check_config_connect_names_a_closed_port_at_once() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    // Bound then dropped: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let (code, stdout, stderr) = check_connection(
        &workspace,
        &[("GENESYS_API_BASE", &base), ("GENESYS_LOGIN_BASE", &base)],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("unreachable: {base}")) && stdout.contains("refused"),
        "{stdout}"
    );
}

#[test]
fn check_config_connect_gives_up_on_a_silent_host_after_one_try() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, DEFAULTS);
    // Accepts connections and never answers; counts them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    std::thread::spawn({
        let accepted = accepted.clone();
        move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        }
    });
    let started = Instant::now();
    let (code, stdout, stderr) = check_connection(
        &workspace,
        &[("GENESYS_API_BASE", &base), ("GENESYS_LOGIN_BASE", &base)],
    );
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("unreachable: {base}")) && stdout.contains("timed out"),
        "{stdout}"
    );
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one attempt, no retries"
    );
    // The promise to the operator: an answer in about ten seconds, not minutes of retries.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_backfill_that_leaves_a_gap_names_it_and_the_command_that_fills_it() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, CONFIG);
    // The dataset's history starts 2024-05-01 (London); this backfill starts later.
    let later = workspace.run_ok(&[
        "backfill",
        "--dataset",
        "queue_performance",
        "--from",
        "2024-05-10",
        "--to",
        "2024-05-15",
        "--now",
        NOW,
    ]);
    let stdout = String::from_utf8(later.stdout).unwrap();
    assert!(
        stdout.contains("5 of 5 windows written")
            && stdout.contains("complete through 2024-04-30T23:00:00.000Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "gap: nothing is stored from 2024-04-30T23:00:00.000Z to 2024-05-09T23:00:00.000Z"
        ),
        "{stdout}"
    );
    let fill = "genesys-bi backfill --dataset queue_performance --from 2024-05-01 --to 2024-05-10";
    assert!(stdout.contains(fill), "{stdout}");

    let mut args: Vec<&str> = fill.split(' ').skip(1).collect();
    args.extend(["--now", NOW]);
    let filled = String::from_utf8(workspace.run_ok(&args).stdout).unwrap();
    assert!(
        filled.contains("complete through 2024-05-14T23:00:00.000Z") && !filled.contains("gap:"),
        "{filled}"
    );
}

#[test]
fn the_suggested_command_names_the_config_file_when_it_is_not_found_by_default() {
    let emulator = emulator(&[]);
    let workspace = Workspace::new(&emulator, CONFIG);
    let file = workspace.path().join("genesys-bi.toml");
    let elsewhere = tempfile::tempdir().unwrap();
    let output = workspace
        .command(&[
            "backfill",
            "--config",
            file.to_str().unwrap(),
            "--dataset",
            "queue_performance",
            "--from",
            "2024-05-10",
            "--to",
            "2024-05-11",
            "--now",
            NOW,
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let named = std::fs::canonicalize(&file).unwrap();
    let fill = format!(
        "genesys-bi backfill --config {} --dataset queue_performance --from 2024-05-01 --to 2024-05-10",
        named.display()
    );
    assert!(stdout.contains(&fill), "{stdout}");
    let mut args: Vec<&str> = fill.split(' ').skip(1).collect();
    args.extend(["--now", NOW]);
    let filled = workspace
        .command(&args)
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let filled = String::from_utf8(filled.stdout).unwrap();
    assert!(
        filled.contains("complete through 2024-05-10T23:00:00.000Z") && !filled.contains("gap:"),
        "{filled}"
    );
}
