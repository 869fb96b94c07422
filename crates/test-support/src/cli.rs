//! For the binary's tests: the real `genesys-bi` binary (its path, which only the cli crate's
//! tests know, is passed in), an emulator process it talks to, and a scratch folder with a
//! config file and a store.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use warehouse::testing::{Stored, StoredTable};

/// A `genesys-bi` process that announces `KEY=VALUE` lines on stdout; killed on drop.
pub struct Announced {
    child: Child,
    /// Every line printed up to the last expected one.
    pub lines: Vec<String>,
    /// The `KEY=VALUE` lines among them.
    pub vars: BTreeMap<String, String>,
    /// Lines printed after the last expected one, as they come.
    later: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Announced {
    /// Starts `bin args…` in `dir` and reads stdout until a line starts with `last_key=`.
    pub fn start(bin: &str, args: &[&str], dir: Option<&Path>, last_key: &str) -> Self {
        let mut command = Command::new(bin);
        command.args(args);
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        Self::spawn(command, last_key)
    }

    /// Starts `command` and reads stdout until a line starts with `last_key=`.
    pub fn spawn(mut command: Command, last_key: &str) -> Self {
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = command.spawn().expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = BufReader::new(stdout).lines();
        let (mut lines, mut vars) = (Vec::new(), BTreeMap::new());
        for line in reader.by_ref() {
            let line = line.expect("utf-8");
            if let Some((key, value)) = line
                .split_once('=')
                .filter(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            {
                vars.insert(key.to_string(), value.to_string());
            }
            let done = line.starts_with(&format!("{last_key}="));
            lines.push(line);
            if done {
                break;
            }
        }
        assert!(
            vars.contains_key(last_key),
            "genesys-bi {args:?} ended before announcing {last_key}: {lines:#?}"
        );
        // Keep draining stdout so the process never blocks on a full pipe.
        let later: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
        let sink = std::sync::Arc::clone(&later);
        std::thread::spawn(move || {
            for line in reader.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            lines,
            vars,
            later,
        }
    }

    pub fn var(&self, key: &str) -> &str {
        self.vars
            .get(key)
            .unwrap_or_else(|| panic!("{key} was not announced"))
    }

    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// The lines printed after the announcement so far.
    pub fn later_lines(&self) -> Vec<String> {
        self.later.lock().unwrap().clone()
    }
}

impl Drop for Announced {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `genesys-bi emulator --port 0 …` with the lines it announced.
pub struct EmulatorProcess {
    bin: String,
    process: Announced,
}

impl EmulatorProcess {
    /// `bin emulator --port 0 extra…`, `bin` being the `genesys-bi` binary under test.
    pub fn start(bin: &str, extra: &[&str]) -> Self {
        let mut args = vec!["emulator", "--port", "0"];
        args.extend_from_slice(extra);
        Self {
            bin: bin.to_string(),
            process: Announced::start(bin, &args, None, "GENESYS_EMULATOR_ADMIN"),
        }
    }

    /// Every line announced, in order; the first is for people.
    pub fn lines(&self) -> &[String] {
        &self.process.lines
    }

    pub fn var(&self, key: &str) -> &str {
        self.process.var(key)
    }

    pub fn admin(&self) -> &str {
        self.var("GENESYS_EMULATOR_ADMIN")
    }

    /// The emulator's answer to `POST path` with `body` (an analytics query), asked as an
    /// OAuth client of its own would: a token first, then the request. A refusal panics.
    pub fn post_api(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let (base, login) = (self.var("GENESYS_API_BASE"), self.var("GENESYS_LOGIN_BASE"));
        let (id, secret) = (
            self.var("GENESYS_CLIENT_ID"),
            self.var("GENESYS_CLIENT_SECRET"),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let http = reqwest::Client::new();
            let token: serde_json::Value = http
                .post(format!("{login}/oauth/token"))
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .expect("a token")
                .json()
                .await
                .expect("a token");
            let answer = http
                .post(format!("{base}{path}"))
                .bearer_auth(token["access_token"].as_str().expect("an access token"))
                .json(body)
                .send()
                .await
                .expect("an answer");
            assert!(answer.status().is_success(), "{path}: {}", answer.status());
            answer.json().await.expect("a JSON answer")
        })
    }

    /// The emulator's request counters (`GET /_emulator/counters`).
    pub fn counters(&self) -> serde_json::Value {
        get_json(&format!("{}/counters", self.admin()))
    }
}

/// A scratch folder holding `genesys-bi.toml` and the store, with the emulator's credentials;
/// its commands run the binary that runs the emulator.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    bin: String,
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
        Self {
            dir,
            bin: emulator.bin.clone(),
            env,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path().join("store.db")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
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

    /// Every row of a table of the store as it holds them now.
    pub fn table(&self, table: &str) -> StoredTable {
        StoredTable::read(&self.store(), table).expect("the store holds the table")
    }

    /// Every row of a table, sorted: equal for two stores holding the same rows.
    pub fn dump(&self, table: &str) -> Vec<Vec<Stored>> {
        self.table(table).sorted_values()
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
