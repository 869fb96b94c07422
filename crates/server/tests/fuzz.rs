//! Fuzzing the served OpenAPI document with schemathesis: the server on a filled store, then
//! `.venv/bin/schemathesis run <server>/openapi.json` with the API key; every response must
//! be a non-5xx that conforms to the document. Needs `<repo>/.venv` from
//! `scripts/setup-test-env.sh`; without it this test fails, on purpose.
//! `tests/fuzz/schemathesis.toml` mixes real values (dataset, instants, time zones…) into the
//! generated ones so that requests reach the reading and rollup code, not only the 400s.
//! `FUZZ_SEED=<n>` replays or varies the run (the default seed keeps CI reproducible);
//! `FUZZ_REPORT_DIR=<dir>` keeps the HAR record of every request and response.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::TestApp;
use common::external::{repo_root, run_with_timeout, venv_program};

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
    let schemathesis = venv_schemathesis();
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
    let explain = || run.explain(&format!("schemathesis (seed {seed})"));
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

fn venv_schemathesis() -> PathBuf {
    venv_program("schemathesis", "schemathesis")
}

/// The summary line `  1234 generated, 1234 passed` → 1234.
fn generated_cases(stdout: &str) -> Option<u64> {
    stdout.lines().find_map(|line| {
        let (count, rest) = line.trim().split_once(' ')?;
        rest.starts_with("generated").then(|| count.parse().ok())?
    })
}
