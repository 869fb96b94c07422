//! `genesys-bi emulator --port 0` announces itself on stdout and serves the Genesys API.

use std::process::Command;

use test_support::cli::EmulatorProcess;

const LINES: [&str; 5] = [
    "GENESYS_API_BASE",
    "GENESYS_LOGIN_BASE",
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_EMULATOR_ADMIN",
];

fn start(extra: &[&str]) -> EmulatorProcess {
    let mut args = vec!["--queues", "3", "--agents", "5", "--wrapup-codes", "2"];
    args.extend_from_slice(extra);
    EmulatorProcess::start(crate::BIN, &args)
}

#[tokio::test]
async fn prints_the_machine_readable_lines_and_serves() {
    let emulator = start(&["--clock", "2024-05-10T12:00:00Z", "--clock-rate", "0"]);
    let (human, announced) = emulator.lines().split_first().unwrap();
    assert!(human.contains("emulator"), "{human}");
    let keys: Vec<&str> = announced
        .iter()
        .map(|l| l.split_once('=').unwrap().0)
        .collect();
    assert_eq!(keys, LINES);
    let value = |key: &str| emulator.var(key).to_string();
    let base = value("GENESYS_API_BASE");
    assert!(
        base.starts_with("http://127.0.0.1:") && !base.ends_with(":0"),
        "{base}"
    );
    assert_eq!(value("GENESYS_LOGIN_BASE"), base);
    assert_eq!(value("GENESYS_CLIENT_ID"), "genesys-bi-emulator");
    assert_eq!(value("GENESYS_CLIENT_SECRET"), "emulator-secret");
    assert_eq!(value("GENESYS_EMULATOR_ADMIN"), format!("{base}/_emulator"));

    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{}/oauth/token", value("GENESYS_LOGIN_BASE")))
        .basic_auth(
            value("GENESYS_CLIENT_ID"),
            Some(value("GENESYS_CLIENT_SECRET")),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    let token = token["access_token"].as_str().expect("access_token");
    let queues: serde_json::Value = http
        .get(format!("{base}/api/v2/routing/queues"))
        .bearer_auth(token)
        .send()
        .await
        .expect("queues request")
        .json()
        .await
        .expect("queues json");
    assert_eq!(queues["total"], 3);
    let clock: serde_json::Value = http
        .get(format!("{}/clock", value("GENESYS_EMULATOR_ADMIN")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["now"], "2024-05-10T12:00:00.000Z");
}

#[test]
fn custom_credentials_are_announced() {
    let emulator = start(&["--client-id", "me", "--client-secret", "s3cret"]);
    assert_eq!(emulator.var("GENESYS_CLIENT_ID"), "me");
    assert_eq!(emulator.var("GENESYS_CLIENT_SECRET"), "s3cret");
}

#[test]
fn invalid_fault_rates_fail_with_a_clear_error() {
    let output = Command::new(crate::BIN)
        .args(["emulator", "--port", "0", "--fault-rate-reset", "2"])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("connectionReset"), "{stderr}");
}

#[test]
fn a_busy_port_fails_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(crate::BIN)
        .args(["emulator", "--port", &port])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot bind") && stderr.contains(&port),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing announced on failure");
}
