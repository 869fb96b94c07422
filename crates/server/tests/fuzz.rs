//! Fuzzing the served OpenAPI document with schemathesis: the server on a filled store, then
//! `.venv/bin/schemathesis run <server>/openapi.json` with the API key; every response must
//! be a non-5xx that conforms to the document. Needs `<repo>/.venv` from
//! `scripts/setup-test-env.sh`; without it this test fails, on purpose.
//! `tests/fuzz/schemathesis.toml` mixes real values (dataset, instants, time zones…) into the
//! generated ones so that requests reach the reading and rollup code, not only the 400s.
//! `FUZZ_SEED=<n>` replays or varies the run (the default seed keeps CI reproducible);
//! `FUZZ_REPORT_DIR=<dir>` keeps the HAR record of every request and response.

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{TestApp, repo_root, venv_program};

/// Examples per operation and phase: about 1500 cases with the default seed, in 1 to 2 minutes.
const MAX_EXAMPLES: &str = "150";
const MIN_CASES: u64 = 1000;
const DEFAULT_SEED: &str = "20240329";
const TIMEOUT: Duration = Duration::from_secs(600);
/// Responses are checked against the document, not only for 5xx. Left out:
/// `positive_data_acceptance`, because a schema-valid string is rarely a valid instant, time
/// zone or dimension filter, so a 400 for it is right.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,negative_data_rejection,\
    missing_required_header,unsupported_method,ignored_auth";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_nor_schema_mismatch() {
    let schemathesis = venv_program("schemathesis", "schemathesis");
    let app = TestApp::spawn().await;
    let output = tempfile::tempdir().unwrap();
    let seed = std::env::var("FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let mut command = Command::new(&schemathesis);
    command
        .arg("--config-file")
        .arg(repo_root().join("tests/fuzz/schemathesis.toml"))
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {}", app.key)])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", &seed])
        .args(["--workers", "2"])
        .args(["--report", "har"])
        .arg("--report-dir")
        .arg(std::env::var_os("FUZZ_REPORT_DIR").unwrap_or_else(|| output.path().into()))
        // Plain text for the assertion message; no telemetry from a test run.
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .current_dir(output.path());
    let run = run_with_timeout(command, output.path(), TIMEOUT).await;
    let explain = || {
        format!(
            "schemathesis (seed {seed}) {}\n--- stdout\n{}\n--- stderr\n{}",
            run.outcome, run.stdout, run.stderr
        )
    };
    assert!(run.succeeded(), "{}", explain());
    let cases = generated_cases(&run.stdout)
        .unwrap_or_else(|| panic!("no `N generated` summary line\n{}", explain()));
    assert!(
        cases >= MIN_CASES,
        "only {cases} cases ran, want >= {MIN_CASES}\n{}",
        explain()
    );
    // Shown with `--nocapture`: the operations, phases and case counts.
    println!("{}", run.stdout);
}

/// The summary line `  1234 generated, 1234 passed` → 1234.
fn generated_cases(stdout: &str) -> Option<u64> {
    stdout.lines().find_map(|line| {
        let (count, rest) = line.trim().split_once(' ')?;
        rest.starts_with("generated").then(|| count.parse().ok())?
    })
}

struct Run {
    outcome: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs the command with its output in files (no pipe to fill up), polling so that the server
/// on this runtime keeps answering; kills it after `timeout`.
async fn run_with_timeout(mut command: Command, dir: &Path, timeout: Duration) -> Run {
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    let mut child: Child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start schemathesis: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > timeout {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let outcome = match status {
        Some(status) => format!("exited with {status} after {:?}", started.elapsed()),
        None => format!("killed after {timeout:?}"),
    };
    Run {
        outcome,
        status,
        stdout: std::fs::read_to_string(&stdout_path).unwrap(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap(),
    }
}
