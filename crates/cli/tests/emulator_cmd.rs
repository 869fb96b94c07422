//! `genesys-bi emulator --port 0` announces itself on stdout and serves the Genesys API.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const LINES: [&str; 5] = [
    "GENESYS_API_BASE",
    "GENESYS_LOGIN_BASE",
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_EMULATOR_ADMIN",
];

/// Kills the child even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(extra: &[&str]) -> (Running, Vec<(String, String)>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_genesys-bi"))
        .args([
            "emulator",
            "--port",
            "0",
            "--queues",
            "3",
            "--agents",
            "5",
            "--wrapup-codes",
            "2",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let human = lines.next().expect("a first line").expect("utf-8");
    let pairs = (0..LINES.len())
        .map(|_| {
            let line = lines.next().expect("another line").expect("utf-8");
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("`{line}` is not KEY=VALUE"));
            (key.to_string(), value.to_string())
        })
        .collect();
    (running, pairs, human)
}

#[tokio::test]
async fn prints_the_machine_readable_lines_and_serves() {
    let (_running, pairs, human) = start(&["--clock", "2024-05-10T12:00:00Z", "--clock-rate", "0"]);
    assert!(human.contains("emulator"), "{human}");
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, LINES);
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
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
    let (_running, pairs, _) = start(&["--client-id", "me", "--client-secret", "s3cret"]);
    assert_eq!(
        pairs[2],
        ("GENESYS_CLIENT_ID".to_string(), "me".to_string())
    );
    assert_eq!(
        pairs[3],
        ("GENESYS_CLIENT_SECRET".to_string(), "s3cret".to_string())
    );
}

#[test]
fn invalid_fault_rates_fail_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_genesys-bi"))
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
    let output = Command::new(env!("CARGO_BIN_EXE_genesys-bi"))
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
