//! The real binary against a real emulator process: backfills, crashes, late data, faults.

use std::time::{Duration, Instant};

use test_support::cli::{EmulatorProcess, Workspace};
use test_support::store::{StoredRow, StoredTable};

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
    EmulatorProcess::start(crate::BIN, &args)
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
    let windows = work.table("windows");
    assert_eq!(windows.len(), 14);
    assert!(
        windows.rows().all(|w| w.integer("run_id") == Some(1)),
        "each window names the run that wrote it: {windows:?}"
    );
    work.run_ok(&BACKFILL);
    assert_eq!(work.dump("queue_performance"), first);
}

/// `BACKFILL` with short leases, so a killed backfill's lease lapses soon (see `LEASE_LAPSES`).
const BACKFILL_SHORT_LEASE: [&str; 11] = [
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
    "1500",
];

/// Past `BACKFILL_SHORT_LEASE`'s lease: waited after each kill, so that the resumed backfill
/// writes at once instead of waiting out the killed one's lease, and each kill lands, as before
/// leases, in a backfill at work.
const LEASE_LAPSES: Duration = Duration::from_millis(1_600);

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
            .command(&BACKFILL_SHORT_LEASE)
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
                std::thread::sleep(LEASE_LAPSES);
            }
        }
    }
    crashed.run_ok(&BACKFILL_SHORT_LEASE);
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
        "dataset agent_status_intervals: ok",
        "dataset conversations: ok",
        "dataset segments: ok",
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
    let users = stdout
        .lines()
        .find(|l| l.starts_with("  dataset agent_status:"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        users.contains("missing permission analytics:userAggregate:view"),
        "{users}"
    );
    assert!(stdout.contains("directory queues: ok"), "{stdout}");
    assert!(
        stdout.contains("directory presences: ok"),
        "the presence definitions need no permission: {stdout}"
    );
    for (dataset, permission) in [
        ("agent_status_intervals", "analytics:userDetail:view"),
        ("conversations", "analytics:conversationDetail:view"),
        ("segments", "analytics:conversationDetail:view"),
    ] {
        let line = (stdout.lines())
            .find(|l| l.starts_with(&format!("  dataset {dataset}:")))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(
            line.contains("missing permission") && line.contains(permission),
            "{line}"
        );
    }
    assert!(
        stderr.contains("10 of 14 connection checks failed"),
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

/// `run` paced slowly enough (the client's own budget) to be caught mid-pass.
const SLOW_RUN_CONFIG: &str = "\n[genesys]\nrequests_per_minute = 120\n";

pub(crate) fn sigterm(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM {}", child.id());
}

/// Waits for the process to end, within `limit` (a hung shutdown fails the test, never hangs it).
pub(crate) fn exit_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `table` of the work's store as it is now; empty while the store or the table is not made
/// yet (the process that makes them is being watched).
fn stored(work: &Workspace, table: &str) -> Option<StoredTable> {
    StoredTable::read_if_exists(&work.store(), table).expect("the store reads")
}

/// How many rows of `table` `condition` selects (none while the table is not made yet).
fn count(work: &Workspace, table: &str, condition: impl Fn(&StoredRow<'_>) -> bool) -> usize {
    stored(work, table).map_or(0, |t| t.rows().filter(|r| condition(r)).count())
}

/// The distinct writers of the windows `condition` selects.
fn writers(work: &Workspace, condition: impl Fn(&StoredRow<'_>) -> bool) -> usize {
    let windows = stored(work, "windows");
    let mut writers: Vec<&str> = windows
        .iter()
        .flat_map(|t| t.rows())
        .filter(|r| condition(r))
        .filter_map(|r| r.text("writer"))
        .collect();
    writers.sort_unstable();
    writers.dedup();
    writers.len()
}

fn of_dataset<'a>(name: &'a str) -> impl Fn(&StoredRow<'_>) -> bool + 'a {
    move |r| r.text("dataset") == Some(name)
}

fn windows_logged(work: &Workspace) -> usize {
    count(work, "windows", of_dataset("queue_performance"))
}

/// Every logged window's rows are in the table, and the watermark covers logged windows only.
fn assert_store_consistent(work: &Workspace) {
    let log = work.table("windows");
    let mut windows: Vec<(&str, &str, i64)> = log
        .rows()
        .filter(of_dataset("queue_performance"))
        .map(|w| {
            (
                w.text("window_start").unwrap(),
                w.text("window_end").unwrap(),
                w.integer("rows").unwrap(),
            )
        })
        .collect();
    windows.sort();
    assert!(!windows.is_empty(), "some windows were written");
    let table = work.table("queue_performance");
    let starts: Vec<&str> = table
        .rows()
        .map(|r| r.text("interval_start").unwrap())
        .collect();
    for (start, end, rows) in &windows {
        let stored = starts
            .iter()
            .filter(|s| *start <= **s && **s < *end)
            .count();
        assert_eq!(
            stored as i64, *rows,
            "rows of the logged window {start}/{end}"
        );
    }
    let stray = starts
        .iter()
        .filter(|s| {
            !windows
                .iter()
                .any(|(start, end, _)| start <= *s && *s < end)
        })
        .count();
    assert_eq!(stray, 0, "rows outside every logged window");
    let watermarks = work.table("watermarks");
    let watermark = watermarks
        .rows()
        .find(of_dataset("queue_performance"))
        .and_then(|w| w.text("complete_through"))
        .expect("a watermark");
    let watermark: jiff::Timestamp = watermark.parse().unwrap();
    // The gap-free prefix of logged windows, from the first.
    let mut covered: jiff::Timestamp = windows[0].0.parse().unwrap();
    for (start, end, _) in &windows {
        if start.parse::<jiff::Timestamp>().unwrap() != covered {
            break;
        }
        covered = end.parse().unwrap();
    }
    assert!(
        watermark <= covered,
        "the watermark {watermark} runs past the logged windows (gap-free through {covered})"
    );
}

/// SIGTERM mid-pass: `run` exits 0 saying what it stopped, the run is recorded as
/// interrupted (not left running), the store holds whole windows only, and a following `sync`
/// completes it to the same tables a clean `sync` makes.
#[test]
fn sigterm_stops_a_run_cleanly_and_a_following_sync_completes_it() {
    let emulator = emulator(&[]);
    let reference = Workspace::new(&emulator, CONFIG);
    reference.run_ok(&["sync", "--now", NOW]);

    let work = Workspace::new(&emulator, &format!("{CONFIG}{SLOW_RUN_CONFIG}"));
    let mut run = work
        .command(&["run", "--now", NOW, "--concurrency", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run starts");
    wait_until("a few windows written", Duration::from_secs(60), || {
        windows_logged(&work) >= 3
    });
    assert!(
        windows_logged(&work) < 15,
        "the run must still be in its pass when stopped, or the test proves nothing"
    );
    sigterm(&run);
    let status = exit_within(&mut run, Duration::from_secs(30));
    let output = run.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("run stopped (queue_performance: ") && stdout.contains("abandoned"),
        "says what it stopped: {stdout}"
    );
    assert!(stderr.contains("SIGTERM received"), "{stderr}");

    let runs = work.table("runs");
    assert!(
        runs.rows().all(|r| r.text("status") != Some("running")),
        "no run is left running: {runs:?}"
    );
    assert!(
        runs.rows().any(|r| r.text("status") == Some("interrupted")),
        "the stopped run is recorded as interrupted: {runs:?}"
    );
    assert!(
        windows_logged(&work) < 20,
        "stopped before the pass ended: {} windows",
        windows_logged(&work)
    );
    assert_store_consistent(&work);

    work.run_ok(&["sync", "--now", NOW]);
    assert_store_consistent(&work);
    assert_eq!(
        work.dump("queue_performance"),
        reference.dump("queue_performance")
    );
}

/// A blocking GET on a throwaway runtime: the status and the body.
fn get(url: &str, key: Option<&str>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().get(url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.expect("reachable");
        let status = response.status().as_u16();
        (status, response.text().await.expect("a body"))
    })
}

/// The value of the one sample named exactly `series` (name and labels) in Prometheus text.
fn sample(text: &str, series: &str) -> f64 {
    let values: Vec<f64> = text
        .lines()
        .filter_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
        .collect();
    assert_eq!(values.len(), 1, "one sample of {series} in:\n{text}");
    values[0]
}

/// `run --serve` is the sync and the BI server in one process: the data endpoints answer with
/// a key, `/metrics` shows the server's and the sync's series with the store's numbers, and
/// `--metrics-listen` serves the sync's series (with the lag) without a key. One SIGTERM stops
/// all of it, exit 0.
#[test]
fn run_serve_is_the_sync_and_the_bi_server_in_one_process_with_their_metrics() {
    let emulator = emulator(&[]);
    let work = Workspace::new(&emulator, CONFIG);
    let created = work.run_ok(&["keys", "create", "--name", "grafana"]);
    let key = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();

    let mut run = test_support::cli::Announced::spawn(
        work.command(&[
            "run",
            "--now",
            NOW,
            "--serve",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ]),
        "GENESYS_BI_METRICS_URL",
    );
    let url = run.var("GENESYS_BI_URL").to_string();
    let metrics_url = run.var("GENESYS_BI_METRICS_URL").to_string();
    wait_until("the first pass", Duration::from_secs(60), || {
        count(&work, "runs", |r| {
            r.text("status") == Some("ok") && !r.get("finished_at").is_null()
        }) == 1
    });
    let stored_rows = count(&work, "queue_performance", |_| true);
    assert!(stored_rows > 5_000, "{stored_rows} rows");

    let (status, datasets) = get(&format!("{url}/v1/datasets"), Some(&key));
    assert_eq!(status, 200, "{datasets}");
    assert!(datasets.contains("queue_performance"), "{datasets}");
    assert_eq!(
        get(&format!("{url}/metrics"), None).0,
        401,
        "/metrics needs the key"
    );

    let (status, served) = get(&format!("{url}/metrics"), Some(&key));
    assert_eq!(status, 200);
    let (status, listened) = get(&metrics_url, None);
    assert_eq!(status, 200, "--metrics-listen needs no key");
    for text in [&served, &listened] {
        let windows = sample(
            text,
            "genesys_bi_sync_windows_written_total{dataset=\"queue_performance\"}",
        );
        assert_eq!(
            sample(
                text,
                "genesys_bi_genesys_requests_total{endpoint=\"aggregates_query\",status=\"200\"}"
            ),
            windows,
            "one aggregates query per window written"
        );
        assert!(windows >= 19.0, "{windows} windows");
        assert_eq!(
            sample(
                text,
                "genesys_bi_sync_rows_written_total{dataset=\"queue_performance\"}"
            ),
            stored_rows as f64,
            "rows written equal the store's"
        );
        assert_eq!(
            sample(
                text,
                "genesys_bi_genesys_requests_total{endpoint=\"token\",status=\"200\"}"
            ),
            1.0
        );
        assert!(
            sample(
                text,
                "genesys_bi_genesys_requests_total{endpoint=\"queues\",status=\"200\"}"
            ) >= 1.0
        );
        assert_eq!(
            sample(
                text,
                "genesys_bi_sync_last_run_status{dataset=\"queue_performance\",status=\"ok\"}"
            ),
            1.0
        );
        assert_eq!(sample(text, "genesys_bi_genesys_rate_limited_total"), 0.0);
        assert!(sample(text, "genesys_bi_genesys_budget_wait_seconds_total") >= 0.0);
        let lag = sample(
            text,
            "genesys_bi_watermark_lag_seconds{dataset=\"queue_performance\"}",
        );
        // NOW is in 2024 and the lag is measured from the wall clock: large, never negative.
        assert!(lag > 86_400.0, "lag {lag}");
    }
    assert!(
        served.contains(
            "genesys_bi_http_requests_total{method=\"GET\",route=\"/v1/datasets\",status=\"200\"} 1"
        ),
        "the server's own series: {served}"
    );
    assert_eq!(
        served
            .matches("# TYPE genesys_bi_watermark_lag_seconds")
            .count(),
        1,
        "one lag series, the server's"
    );
    assert_eq!(get(&format!("{metrics_url}/../v1/datasets"), None).0, 404);

    sigterm(run.child());
    let status = exit_within(run.child(), Duration::from_secs(30));
    assert!(status.success(), "{status}");
    wait_until("the closing line", Duration::from_secs(5), || {
        run.later_lines()
            .iter()
            .any(|l| l.starts_with("run stopped between passes"))
    });
    let runs = work.table("runs");
    assert!(
        runs.rows().all(|r| r.text("status") != Some("running")),
        "{runs:?}"
    );
}

/// Ctrl-C (SIGINT) mid-backfill: exit 0 naming what was left, the run recorded as interrupted,
/// whole windows only; the same backfill again finishes the range to the reference tables.
#[test]
fn ctrl_c_stops_a_backfill_cleanly_and_running_it_again_finishes_it() {
    let emulator = emulator(&[]);
    let reference = Workspace::new(&emulator, CONFIG);
    reference.run_ok(&BACKFILL);

    let work = Workspace::new(&emulator, &format!("{CONFIG}{SLOW_RUN_CONFIG}"));
    let mut backfill = work
        .command(&BACKFILL)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("backfill starts");
    wait_until("a few windows written", Duration::from_secs(60), || {
        windows_logged(&work) >= 3
    });
    let status = std::process::Command::new("kill")
        .args(["-INT", &backfill.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let status = exit_within(&mut backfill, Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&backfill.wait_with_output().unwrap().stdout).into_owned();
    assert!(status.success(), "{status}\n{stdout}");
    assert!(
        stdout.contains("backfill stopped (queue_performance: ")
            && stdout.contains("run the same backfill again"),
        "{stdout}"
    );
    assert!(windows_logged(&work) < 14, "stopped before the end");
    let runs = work.table("runs");
    let statuses: Vec<_> = runs.rows().map(|r| r.text("status")).collect();
    assert_eq!(statuses, [Some("interrupted")], "{runs:?}");
    assert_store_consistent(&work);

    work.run_ok(&BACKFILL);
    assert_store_consistent(&work);
    assert_eq!(
        work.dump("queue_performance"),
        reference.dump("queue_performance")
    );
}

/// Writers take turns: per-dataset leases in the store.
mod leases {
    use std::process::{Child, Command, Stdio};

    use super::*;

    fn signal(child: &Child, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {}", child.id());
    }

    fn spawn(work: &Workspace, args: &[&str]) -> Child {
        work.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("genesys-bi starts")
    }

    /// Exit status, stdout and stderr of a process that must end within `limit`.
    fn finish(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String, String) {
        let status = exit_within(&mut child, limit);
        let output = child.wait_with_output().unwrap();
        (
            status,
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    fn with(extra: &[&str]) -> Vec<String> {
        BACKFILL
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    }

    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    /// Today's bug: two of three exited 1 with "database is locked".
    #[test]
    fn three_concurrent_backfills_of_one_dataset_all_succeed_and_equal_a_clean_run() {
        let emulator = emulator(&[]);
        let reference = Workspace::new(&emulator, CONFIG);
        reference.run_ok(&BACKFILL);
        let work = Workspace::new(&emulator, CONFIG);
        let backfills: Vec<Child> = (0..3).map(|_| spawn(&work, &BACKFILL)).collect();
        let mut waited = 0;
        for child in backfills {
            let (status, stdout, stderr) = finish(child, Duration::from_secs(120));
            assert!(status.success(), "{status}\n{stdout}\n{stderr}");
            assert!(!stderr.contains("locked"), "{stderr}");
            if stderr.contains("queue_performance is being synced by pid") {
                assert_eq!(
                    stderr.matches("; waiting").count(),
                    1,
                    "said once: {stderr}"
                );
                waited += 1;
            }
        }
        assert!(
            waited >= 1,
            "the backfills overlapped, or the test proves nothing"
        );
        assert_eq!(
            work.dump("queue_performance"),
            reference.dump("queue_performance")
        );
        assert_eq!(work.dump("windows").len(), reference.dump("windows").len());
        assert_store_consistent(&work);
    }

    /// A killed holder's lease lapses after its TTL and the waiting backfill takes over.
    #[test]
    fn a_waiter_takes_over_the_lease_of_a_killed_holder() {
        let emulator = emulator(&[]);
        let reference = Workspace::new(&emulator, CONFIG);
        reference.run_ok(&BACKFILL);
        let work = Workspace::new(&emulator, &format!("{CONFIG}{SLOW_RUN_CONFIG}"));
        let quick = with(&["--lease-ttl-ms", "1500"]);
        let mut holder = spawn(&work, &args(&quick));
        wait_until("the holder writing", Duration::from_secs(60), || {
            windows_logged(&work) >= 2
        });
        let waiter = spawn(&work, &args(&quick));
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            windows_logged(&work) < 14,
            "the holder must still hold the lease when killed, or the test proves nothing"
        );
        holder.kill().unwrap(); // SIGKILL: its lease is never released
        holder.wait().unwrap();
        let (status, stdout, stderr) = finish(waiter, Duration::from_secs(120));
        assert!(status.success(), "{status}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!(
                "queue_performance is being synced by pid {} on ",
                holder.id()
            )) && stderr.contains("; waiting"),
            "{stderr}"
        );
        assert_eq!(
            work.dump("queue_performance"),
            reference.dump("queue_performance")
        );
        assert_store_consistent(&work);
    }

    /// A holder stopped past its lease is refused at its next write, and says so.
    #[test]
    fn a_holder_stalled_past_its_lease_cannot_write_again() {
        let emulator = emulator(&[]);
        let work = Workspace::new(&emulator, &format!("{CONFIG}{SLOW_RUN_CONFIG}"));
        let quick = with(&["--lease-ttl-ms", "1500"]);
        let holder = spawn(&work, &args(&quick));
        wait_until("the holder writing", Duration::from_secs(60), || {
            windows_logged(&work) >= 2
        });
        signal(&holder, "STOP");
        let written = windows_logged(&work);
        std::thread::sleep(Duration::from_millis(3_000));
        // Meanwhile another writer takes the lapsed lease: `--no-wait` finds it free.
        let output = work
            .command(&args(&with(&["--no-wait", "--lease-ttl-ms", "60000"])))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let after_taker = windows_logged(&work);
        signal(&holder, "CONT");
        let (status, stdout, stderr) = finish(holder, Duration::from_secs(60));
        assert!(!status.success(), "{status}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains("expired or passed to another writer"),
            "{stderr}"
        );
        assert!(written < 14, "stopped mid-backfill");
        // The lease's holder now: the taker.
        let leases = work.table("leases");
        let holder = leases.rows().next().and_then(|l| l.integer("pid"));
        let holder = holder.map(|pid| format!("pid {pid} "));
        let by_holder = count(&work, "windows", |w| {
            holder
                .as_deref()
                .is_some_and(|h| w.text("writer").is_some_and(|writer| writer.starts_with(h)))
        });
        assert_eq!(
            by_holder, after_taker,
            "every window is the taker's, none the stalled holder's"
        );
        assert_store_consistent(&work);
    }

    #[test]
    fn no_wait_exits_3_naming_the_holder() {
        let emulator = emulator(&[]);
        let work = Workspace::new(&emulator, &format!("{CONFIG}{SLOW_RUN_CONFIG}"));
        let holder = spawn(&work, &BACKFILL);
        wait_until("the holder writing", Duration::from_secs(60), || {
            windows_logged(&work) >= 1
        });
        let output = work.command(&args(&with(&["--no-wait"]))).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "queue_performance is being synced by pid {} on ",
                holder.id()
            )) && stderr.contains(" since "),
            "{stderr}"
        );
        let (status, _, stderr) = finish(holder, Duration::from_secs(120));
        assert!(status.success(), "{stderr}");
    }

    const TWO_DATASETS: &str = r#"
[[datasets]]
name = "queue_volume"
metrics = ["nOffered", "nConnected", "tHandle"]
group_by = ["queueId"]
time_zone = "UTC"
backfill_start = "2024-05-01"
"#;

    /// Two `run` processes spread two datasets between them: each takes the one the other
    /// does not hold.
    #[test]
    fn two_runs_share_two_datasets() {
        let emulator = emulator(&[]);
        let work = Workspace::new(
            &emulator,
            &format!("{CONFIG}{TWO_DATASETS}{SLOW_RUN_CONFIG}"),
        );
        let first = spawn(&work, &["run", "--now", NOW]);
        wait_until("the first run writing", Duration::from_secs(60), || {
            windows_logged(&work) >= 1
        });
        let second = spawn(&work, &["run", "--now", NOW]);
        wait_until("both datasets written", Duration::from_secs(120), || {
            count(&work, "windows", of_dataset("queue_volume")) >= 2
        });
        signal(&first, "TERM");
        signal(&second, "TERM");
        let (status1, out1, err1) = finish(first, Duration::from_secs(30));
        let (status2, out2, err2) = finish(second, Duration::from_secs(30));
        assert!(status1.success() && status2.success(), "{err1}\n{err2}");
        assert!(
            out2.contains("queue_performance is being synced by pid")
                && out2.contains("skipped until its next turn"),
            "the second run left the first's dataset to it: {out2}\n{out1}"
        );
        assert_eq!(writers(&work, of_dataset("queue_performance")), 1);
        assert_eq!(writers(&work, |_| true), 2, "each run synced one dataset");
    }
}
