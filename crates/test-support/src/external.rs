//! Running the programs outside Rust that some tests drive (schemathesis from `.venv`, the
//! Node scripts in `tests/node` with their `node_modules`, Debian's chromium). All of them are
//! installed by `scripts/setup-test-env.sh`; a test that needs one fails, on purpose, with a
//! message saying so when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `path`, which `scripts/setup-test-env.sh` installs (`what` says how), or a failed test.
pub fn installed(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup-test-env.sh first ({what})",
        path.display()
    );
    path
}

/// `<repo>/.venv/bin/<program>`; `installs` names the requirement that brings it.
pub fn venv_program(program: &str, installs: &str) -> PathBuf {
    installed(
        repo_root().join(".venv/bin").join(program),
        &format!("it installs {installs}"),
    )
}

pub struct Run {
    pub outcome: String,
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// How it ended and everything it printed, for an assertion message.
    pub fn explain(&self, what: &str) -> String {
        format!(
            "{what} {}\n--- stdout\n{}\n--- stderr\n{}",
            self.outcome, self.stdout, self.stderr
        )
    }
}

/// Runs the command with its output in files (no pipe to fill up), polling so that the server
/// on this runtime keeps answering; kills it after `timeout`.
pub async fn run_with_timeout(mut command: Command, dir: &Path, timeout: Duration) -> Run {
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    let mut child: Child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
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

/// `node tests/node/<script> <args…>` (its packages installed by `npm ci`), which must exit 0
/// and print one JSON document; returns it.
pub async fn run_node_script(script: &str, args: &[&str], timeout: Duration) -> serde_json::Value {
    let dir = repo_root().join("tests/node");
    installed(dir.join("node_modules"), "it runs npm ci in tests/node");
    let output = tempfile::tempdir().unwrap();
    let mut command = Command::new("node");
    command
        .arg(dir.join(script))
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(&dir);
    let run = run_with_timeout(command, output.path(), timeout).await;
    assert!(
        run.succeeded(),
        "{}\n(a package not found? tests/node/package-lock.json changed: run scripts/setup-test-env.sh)",
        run.explain(script)
    );
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{script} did not print JSON ({e})\n{}", run.explain(script)))
}
