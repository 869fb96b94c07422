//! Fuzzing the served OpenAPI document with schemathesis: the server on a filled store, then
//! `.venv/bin/schemathesis run <server>/openapi.json` with the API key; every response must
//! be a non-5xx that conforms to the document. Needs `<repo>/.venv` from
//! `scripts/setup-test-env.sh`; without it this test fails, on purpose.
//! `tests/fuzz/schemathesis.toml` mixes real values (dataset, instants, time zones…) into the
//! generated ones so that requests reach the reading and rollup code, not only the 400s, and
//! hostile ones far deeper and longer than generated strings (its dictionaries are written by
//! `tests/fuzz/make_dicts.py` into the run's temporary folder).
//! `FUZZ_MAX_EXAMPLES=<n>` runs longer (the nightly habit, see `tests/fuzz/README.md`).
//! `FUZZ_SEED=<n>` replays or varies the run (the default seed keeps CI reproducible);
//! `FUZZ_REPORT_DIR=<dir>` keeps the HAR record of every request and response.
//!
//! [`hostile`] is the other half: structured property tests that send each parser hostile
//! input over HTTP (deep nesting, long chains, huge numbers, invalid UTF-8 and NUL in every
//! parameter, very long values, repeated and conflicting parameters) and want a 2xx or 4xx for
//! every one, a body read to its end, and a server still alive. `FUZZ_CASES=<n>` runs more.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::TestApp;
use crate::common::external::{repo_root, run_with_timeout, venv_program};

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

test_support::backend_tests! {
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_nor_schema_mismatch() {
    let schemathesis = venv_schemathesis();
    let app = TestApp::spawn().await;
    let output = tempfile::tempdir().unwrap();
    let seed = std::env::var("FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let max_examples = std::env::var("FUZZ_MAX_EXAMPLES").unwrap_or_else(|_| MAX_EXAMPLES.into());
    let config = write_config(output.path());
    let mut command = Command::new(&schemathesis);
    command
        .arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {}", app.key)])
        .args(["--checks", CHECKS])
        .args(["--max-examples", &max_examples])
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
}

fn venv_schemathesis() -> PathBuf {
    venv_program("schemathesis", "schemathesis")
}

/// `schemathesis.toml` copied into `dir`, with the dictionaries it names written next to it.
fn write_config(dir: &Path) -> PathBuf {
    let fuzz = repo_root().join("tests/fuzz");
    let written = Command::new(venv_program("python", "python"))
        .arg(fuzz.join("make_dicts.py"))
        .arg(dir)
        .status()
        .unwrap();
    assert!(written.success(), "tests/fuzz/make_dicts.py failed");
    let config = dir.join("schemathesis.toml");
    std::fs::copy(fuzz.join("schemathesis.toml"), &config).unwrap();
    config
}

/// The summary line `  1234 generated, 1234 passed` → 1234.
fn generated_cases(stdout: &str) -> Option<u64> {
    stdout.lines().find_map(|line| {
        let (count, rest) = line.trim().split_once(' ')?;
        rest.starts_with("generated").then(|| count.parse().ok())?
    })
}

mod hostile {
    //! Hostile input for every parser, over HTTP against one server on the filled store.

    use std::sync::OnceLock;

    use proptest::prelude::*;
    use proptest::test_runner::{Config, FileFailurePersistence};

    use test_support::app::Backend;

    use crate::common::{DATASET, TestApp};

    /// Cases per test when `FUZZ_CASES` is not set: a few seconds each in a debug build.
    const DEFAULT_CASES: u32 = 200;

    fn config() -> Config {
        let cases = std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DEFAULT_CASES);
        Config {
            cases,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..Config::default()
        }
    }

    /// One runtime and one server per backend for every case (and every test) of this
    /// module: each case is sent to both.
    fn target() -> &'static (tokio::runtime::Runtime, [TestApp; 2]) {
        static TARGET: OnceLock<(tokio::runtime::Runtime, [TestApp; 2])> = OnceLock::new();
        TARGET.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let apps = Backend::ALL.map(|backend| runtime.block_on(backend.run(TestApp::spawn())));
            (runtime, apps)
        })
    }

    /// Pieces real clients send, so that hostile input also reaches deeper code.
    const REAL: &[&str] = &[
        DATASET,
        "queues",
        "users",
        "nOffered",
        "tHandle,tAnswered",
        "queueId",
        "mediaType",
        "queueId=x",
        "2024-03-30",
        "2024-03-31T00:30:00Z",
        "PT1H",
        "P1D",
        "Europe/London",
        "csv",
        "ndjson",
        "parquet",
        "json",
        "true",
        "1",
        "id",
        "id desc",
        "n_offered gt 3",
        "contains(queue_id,'a') eq true",
        "interval_start ge 2024-03-30T00:00:00Z",
        "eyJuIjoxfQ",
    ];

    /// Bytes of one hostile value.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let text = |s: String| s.into_bytes();
        prop_oneof![
            prop::sample::select(REAL).prop_map(|s| s.as_bytes().to_vec()),
            // Deep nesting, of parentheses and of `not`.
            (0usize..12_000).prop_map(move |n| text(format!(
                "{}true{}",
                "(".repeat(n),
                ")".repeat(n)
            ))),
            (0usize..12_000).prop_map(move |n| text(format!("{}true", "(".repeat(n)))),
            (0usize..3_000).prop_map(move |n| text(format!("{}true", "not ".repeat(n)))),
            // Long and/or chains.
            (0usize..1_500, any::<bool>()).prop_map(move |(n, or)| {
                let joiner = if or { " or " } else { " and " };
                text(vec!["n_offered eq 1"; n.max(1)].join(joiner))
            }),
            // Huge and odd numbers.
            prop::sample::select(
                &[
                    "18446744073709551616",
                    "-9223372036854775809",
                    "1e99999",
                    "NaN",
                    "-0",
                    "0x10",
                    "99999-12-31",
                    "P99999999999999999999D",
                    "PT0S",
                ][..]
            )
            .prop_map(|s| s.as_bytes().to_vec()),
            (1usize..5_000).prop_map(move |n| text("9".repeat(n))),
            // Bytes that are not UTF-8, and NULs.
            prop::collection::vec(
                prop::sample::select(&[0xFFu8, 0xFE, 0xC3, 0xED, 0x80, 0x00][..]),
                1..6
            ),
            // Very long values.
            (1usize..70_000).prop_map(move |n| text("a".repeat(n))),
            // Anything at all, short.
            prop::collection::vec(any::<u8>(), 0..40),
            "[a-z_ ()',0-9.:TZ$=&%+-]{0,60}".prop_map(text),
        ]
    }

    /// A value: one to three pieces end to end.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(piece(), 1..4).prop_map(|pieces| pieces.concat())
    }

    /// Every byte but the unreserved ones as `%XX`: the server sees exactly these bytes.
    fn encode(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (*b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// Query text sent as it is: broken escapes, empty pairs, an overlong UTF-8 encoding, a
    /// lone surrogate.
    const RAW: &[&str] = &[
        "%",
        "%%41",
        "%G1",
        "&&",
        "==&=",
        "a=%",
        "%2",
        "+++",
        "%E2%82",
        "%ED%A0%80",
        "%C0%AF",
        "$filter",
        "$filter=",
        "=",
    ];

    /// A query of `names` (repeated and conflicting ones included) with hostile values, and
    /// now and then a name that is itself hostile.
    fn query(names: &'static [&'static str]) -> impl Strategy<Value = String> {
        let name = prop_oneof![
            8 => prop::sample::select(names).prop_map(|n| n.as_bytes().to_vec()),
            1 => value(),
        ];
        let pairs = prop::collection::vec((name, value(), any::<bool>()), 0..6);
        (pairs, prop::option::of(prop::sample::select(RAW))).prop_map(|(pairs, raw)| {
            let mut parts = Vec::new();
            for (name, value, twice) in pairs {
                let part = format!("{}={}", encode(&name), encode(&value));
                if twice {
                    parts.push(part.clone());
                }
                parts.push(part);
            }
            parts.extend(raw.map(String::from));
            parts.join("&")
        })
    }

    /// A path segment: the real name most of the time, else hostile bytes.
    fn segment(real: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(real).prop_map(String::from),
            1 => value().prop_map(|v| encode(&v[..v.len().min(2_000)])),
        ]
    }

    /// The longest request target the client can send (the `http` crate's limit, which hyper
    /// also applies on the server side with a 414): longer ones are cut there, which leaves
    /// a broken `%` escape now and then, hostile too.
    const MAX_TARGET: usize = 65_000;

    /// GETs `path`; the answer must be a 2xx or 4xx with a body that reads to its end, and
    /// the server must still answer `/healthz` after it.
    fn survives(path: &str, prefer: Option<String>) -> Result<(), TestCaseError> {
        let (runtime, apps) = target();
        apps.iter()
            .try_for_each(|app| survives_on(runtime, app, path, prefer.clone()))
    }

    fn survives_on(
        runtime: &tokio::runtime::Runtime,
        app: &TestApp,
        path: &str,
        prefer: Option<String>,
    ) -> Result<(), TestCaseError> {
        let path = &path[..path.len().min(MAX_TARGET)];
        let shown = format!(
            "{:?} {}",
            app.backend,
            path.chars().take(200).collect::<String>()
        );
        runtime.block_on(async {
            let mut request = app.client.get(app.url(path)).bearer_auth(&app.key);
            if let Some(prefer) = prefer {
                request = request.header("Prefer", prefer);
            }
            let response = request
                .send()
                .await
                .map_err(|e| TestCaseError::fail(format!("{shown}: no answer: {e}")))?;
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let body = response
                .bytes()
                .await
                .map_err(|e| TestCaseError::fail(format!("{shown}: body cut short: {e}")))?;
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            prop_assert!(
                status.is_success() || status.is_client_error(),
                "{shown}: {status} {text}"
            );
            if status.is_client_error() {
                prop_assert!(
                    explains(path, &content_type, &body),
                    "{shown}: {status} {content_type} {text}"
                );
            }
            let health = app.get("/healthz").await;
            prop_assert_eq!(health.status(), 200, "/healthz after {}", shown);
            Ok(())
        })
    }

    /// A refusal says why in the API's own form: an OData error under `/odata`, a problem
    /// (RFC 9457) elsewhere.
    fn explains(path: &str, content_type: &str, body: &[u8]) -> bool {
        let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
            return false;
        };
        if path.starts_with("/odata") {
            content_type.starts_with("application/json;odata.metadata=minimal")
                && body["error"]["message"].is_string()
        } else {
            content_type == "application/problem+json" && body["detail"].is_string()
        }
    }

    const ROWS: &[&str] = server::routes::rows::PARAMETERS;
    const REPORT: &[&str] = &["dataset", "from", "to", "time_zone", "filter"];
    const ODATA: &[&str] = &[
        "$filter",
        "$orderby",
        "$select",
        "$top",
        "$skip",
        "$count",
        "$skiptoken",
        "$format",
        "$expand",
        "custom",
    ];
    const SETS: &[&str] = &[DATASET, "queues", "users", "wrapup_codes", "presences"];

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn rows_parameters(name in segment(&[DATASET]), query in query(ROWS)) {
            survives(&format!("/v1/datasets/{name}/rows?{query}"), None)?;
        }

        #[test]
        fn report_parameters(query in query(REPORT)) {
            survives(&format!("/v1/report?{query}"), None)?;
        }

        #[test]
        fn datasets_and_metadata_ignore_or_refuse_any_query(
            query in query(ODATA),
            metadata in any::<bool>(),
        ) {
            let path = if metadata { "/odata/$metadata" } else { "/v1/datasets" };
            survives(&format!("{path}?{query}"), None)?;
        }

        #[test]
        fn odata_options(
            set in segment(SETS),
            query in query(ODATA),
            count_segment in any::<bool>(),
            prefer in prop::option::of("odata\\.maxpagesize=[0-9-]{0,25}"),
        ) {
            let count = if count_segment { "/$count" } else { "" };
            survives(&format!("/odata/{set}{count}?{query}"), prefer)?;
        }
    }
}
