//! Conformance with the official Genesys Python SDK: starts the real `genesys-bi emulator` on a
//! free port and runs `tests/sdk/conformance.py` (purecloudplatformclientv2) against it.
//! Needs `<repo>/.venv` from `scripts/setup-test-env.sh`; without it this test fails, on purpose.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);
const ANNOUNCED: [&str; 5] = [
    "GENESYS_API_BASE",
    "GENESYS_LOGIN_BASE",
    "GENESYS_CLIENT_ID",
    "GENESYS_CLIENT_SECRET",
    "GENESYS_EMULATOR_ADMIN",
];

#[test]
fn official_python_sdk_reads_the_emulator_faithfully() {
    let repo = repo_root();
    let python = venv_python(&repo);
    let emulator = Emulator::start();
    let script = repo.join("tests/sdk/conformance.py");
    let env = &emulator.announced;
    let run = run_with_timeout(
        Command::new(&python)
            .arg(&script)
            .args([
                &env["GENESYS_API_BASE"],
                &env["GENESYS_CLIENT_ID"],
                &env["GENESYS_CLIENT_SECRET"],
            ])
            .arg(&env["GENESYS_EMULATOR_ADMIN"])
            .args(["--login-base", &env["GENESYS_LOGIN_BASE"]])
            .current_dir(&repo),
        SCRIPT_TIMEOUT,
    );
    let summary = run.stdout.lines().rev().find_map(parse_summary);
    let explain = || {
        format!(
            "conformance.py {}\n--- stdout\n{}\n--- stderr\n{}\n--- emulator stderr (tail)\n{}",
            run.outcome,
            run.stdout,
            run.stderr,
            emulator.stderr_tail(4000)
        )
    };
    assert!(run.succeeded(), "{}", explain());
    match summary {
        Some((passed, 0)) if passed > 0 => {}
        other => panic!(
            "expected a summary `N passed, 0 failed` with N > 0, got {other:?}\n{}",
            explain()
        ),
    }
    // Shown with `--nocapture`: what was checked, with figures and timings.
    println!("{}", run.stdout);
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

fn venv_python(repo: &Path) -> PathBuf {
    let python = repo.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup-test-env.sh first (it installs the official Genesys SDK)",
        python.display()
    );
    python
}

/// `"12 passed, 0 failed"` → (12, 0).
fn parse_summary(line: &str) -> Option<(u32, u32)> {
    let (passed, failed) = line.trim().split_once(", ")?;
    let passed = passed.strip_suffix(" passed")?.parse().ok()?;
    let failed = failed.strip_suffix(" failed")?.parse().ok()?;
    Some((passed, failed))
}

/// The `genesys-bi emulator` child process; killed when dropped.
struct Emulator {
    child: Child,
    announced: HashMap<String, String>,
    stderr: Arc<Mutex<String>>,
}

impl Emulator {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_genesys-bi"))
            .args(["emulator", "--port", "0", "--seed", "7"])
            // A smaller day keeps the sync details paging (which walks the whole day) quick in a
            // debug build; a short job delay keeps polling short. The script freezes the clock.
            .args(["--conversations-per-day", "6000", "--job-delay-ms", "300"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("genesys-bi starts");
        let stderr = collect(child.stderr.take().expect("stderr is piped"));
        let lines = forward_lines(child.stdout.take().expect("stdout is piped"));
        let mut emulator = Self {
            child,
            announced: HashMap::new(),
            stderr,
        };
        emulator.read_announcement(&lines);
        emulator
    }

    fn read_announcement(&mut self, lines: &Receiver<String>) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !ANNOUNCED
            .iter()
            .all(|key| self.announced.contains_key(*key))
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some((key, value)) = line.trim().split_once('=') {
                        self.announced.insert(key.to_string(), value.to_string());
                    }
                }
                Err(e) => panic!(
                    "the emulator did not print {ANNOUNCED:?} ({e}); got {:?}\nstderr:\n{}",
                    self.announced,
                    self.stderr_tail(4000)
                ),
            }
        }
    }

    fn stderr_tail(&self, max: usize) -> String {
        let text = self
            .stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let cut = text.len().saturating_sub(max);
        let cut = (cut..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[cut..].to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // The child may already be gone; either way nothing is left running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each stdout line on a channel; keeps draining after the receiver is gone so the child
/// never blocks on a full pipe.
fn forward_lines(stdout: ChildStdout) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line);
        }
    });
    receiver
}

fn collect(mut stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    thread::spawn(move || {
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    });
    text
}

/// The whole stream as text, once it closes.
fn read_to_end(mut stream: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture early; what was read is still shown.
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
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

/// Runs a command to completion, or kills it after `timeout`.
fn run_with_timeout(command: &mut Command, timeout: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let stdout = read_to_end(child.stdout.take().expect("stdout is piped"));
    let stderr = read_to_end(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("waiting on the child works") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(50)),
        }
    };
    let read =
        |reader: thread::JoinHandle<String>| reader.join().expect("the pipe reader does not panic");
    let outcome = match status {
        Some(status) => format!("exited with {status}"),
        None => format!("timed out after {timeout:?} and was killed"),
    };
    Run {
        outcome,
        status,
        stdout: read(stdout),
        stderr: read(stderr),
    }
}

#[test]
fn summary_lines_parse() {
    assert_eq!(parse_summary("41 passed, 0 failed"), Some((41, 0)));
    assert_eq!(parse_summary("  3 passed, 2 failed\n"), Some((3, 2)));
    assert_eq!(parse_summary("ok    login"), None);
    assert_eq!(parse_summary("x passed, 0 failed"), None);
}
