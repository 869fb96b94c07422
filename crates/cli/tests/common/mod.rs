//! Shared by the binary's integration tests: the real `genesys-bi` binary, an emulator process
//! it talks to, and a scratch folder with a config file.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_genesys-bi");

/// `genesys-bi emulator --port 0 …`, killed on drop, with the lines it announced.
pub struct EmulatorProcess {
    child: Child,
    /// The first, human line.
    pub banner: String,
    /// `GENESYS_API_BASE`, `GENESYS_CLIENT_ID`, … as announced.
    pub vars: BTreeMap<String, String>,
}

impl EmulatorProcess {
    pub fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["emulator", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let banner = lines.next().expect("a first line").expect("utf-8");
        let mut vars = BTreeMap::new();
        for line in lines.by_ref().take(5) {
            let line = line.expect("utf-8");
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("`{line}` is not KEY=VALUE"));
            vars.insert(key.to_string(), value.to_string());
        }
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            banner,
            vars,
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("the emulator did not announce {key}"))
    }

    pub fn api_base(&self) -> &str {
        self.var("GENESYS_API_BASE")
    }

    pub fn admin(&self) -> &str {
        self.var("GENESYS_EMULATOR_ADMIN")
    }

    /// The emulator's request counters (`GET /_emulator/counters`).
    pub fn counters(&self) -> serde_json::Value {
        let url = format!("{}/counters", self.admin());
        get_json(&url)
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scratch folder holding `genesys-bi.toml` and the store, with the emulator's credentials.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new(emulator: &EmulatorProcess, config: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("genesys-bi.toml"), config).expect("config written");
        let env = [
            "GENESYS_API_BASE",
            "GENESYS_LOGIN_BASE",
            "GENESYS_CLIENT_ID",
            "GENESYS_CLIENT_SECRET",
        ]
        .iter()
        .map(|k| (k.to_string(), emulator.var(k).to_string()))
        .collect();
        Self { dir, env }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store.db")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.path())
            .env_remove("GENESYS_BI_CONFIG")
            .env_remove("GENESYS_REGION")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    /// Runs to completion; panics with its output unless it succeeds.
    pub fn run_ok(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().expect("the binary runs");
        assert!(
            output.status.success(),
            "genesys-bi {args:?} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Every row of a table, as text, in a stable order.
    pub fn dump(&self, table: &str) -> Vec<Vec<String>> {
        let connection = rusqlite::Connection::open(self.store()).expect("store opens");
        let mut statement = connection
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3, 4"))
            .expect("query");
        let columns = statement.column_count();
        statement
            .query_map([], |row| {
                (0..columns)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect("rows")
            .map(Result::unwrap)
            .collect()
    }
}

/// A blocking GET of a JSON admin endpoint, on a throwaway runtime.
pub fn get_json(url: &str) -> serde_json::Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        reqwest::get(url)
            .await
            .expect("admin reachable")
            .json()
            .await
            .expect("admin answers JSON")
    })
}
