//! `genesys-bi keys` and `genesys-bi serve` as a user and a service manager run them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::BIN;

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn genesys_bi(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GENESYS_BI_CONFIG")
        .output()
        .expect("the binary runs")
}

/// `genesys-bi serve --listen 127.0.0.1:0 extra…` run in `cwd`, and the URL it announces.
fn serve_in(cwd: &std::path::Path, extra: &[&std::ffi::OsStr]) -> (Served, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(cwd)
        .env_remove("GENESYS_BI_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let served = Served(child);
    let url = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("GENESYS_BI_URL=").map(String::from))
        .expect("the URL is announced");
    (served, url)
}

#[tokio::test]
async fn keys_and_serve_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("genesys-bi.toml"),
        "[store]\nsqlite = \"data/s.db\"\n",
    )
    .unwrap();

    let created = genesys_bi(dir.path(), &["keys", "create", "--name", "excel"]);
    assert!(created.status.success(), "{created:?}");
    let key = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(key.starts_with("gbi_"), "{key}");
    let listed = String::from_utf8(genesys_bi(dir.path(), &["keys", "list"]).stdout).unwrap();
    assert!(listed.contains("excel") && listed.contains(&key[..12]));
    assert!(!listed.contains(&key), "the key itself is never listed");
    let unknown = genesys_bi(dir.path(), &["keys", "revoke", "42"]);
    assert_eq!(unknown.status.code(), Some(2));

    let (_served, url) = serve_in(dir.path(), &[]);
    let client = reqwest::Client::new();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ok = client
        .get(format!("{url}/v1/datasets"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let revoked = genesys_bi(dir.path(), &["keys", "revoke", "1"]);
    assert!(revoked.status.success());
    let refused = client
        .get(format!("{url}/v1/datasets"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

/// `genesys-bi args…` run from `cwd`, with `config` named on the command line.
fn genesys_bi_with(
    cwd: &std::path::Path,
    config: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    // Right after the command: `keys` takes it before its own subcommand.
    let mut all = args.to_vec();
    all.splice(1..1, ["--config", config.to_str().unwrap()]);
    genesys_bi(cwd, &all)
}

#[tokio::test]
async fn relative_paths_in_a_config_file_are_taken_from_its_folder() {
    let (site, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = site.path().join("genesys-bi.toml");
    std::fs::write(&config, "[store]\nsqlite = \"data/s.db\"\n").unwrap();

    let created = genesys_bi_with(
        elsewhere.path(),
        &config,
        &["keys", "create", "--name", "bi"],
    );
    assert!(created.status.success(), "{created:?}");
    let key = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(
        site.path().join("data/s.db").exists(),
        "the store is beside the config"
    );
    assert!(
        !elsewhere.path().join("data").exists(),
        "nothing in the working directory"
    );
    let listed = genesys_bi_with(elsewhere.path(), &config, &["keys", "list"]);
    assert!(String::from_utf8(listed.stdout).unwrap().contains("bi"));
    let datasets = genesys_bi_with(elsewhere.path(), &config, &["datasets"]);
    assert!(datasets.status.success(), "{datasets:?}");

    let checked = genesys_bi_with(elsewhere.path(), &config, &["check-config"]);
    let stdout = String::from_utf8(checked.stdout).unwrap();
    let site_folder = std::fs::canonicalize(site.path()).unwrap();
    assert!(
        stdout.contains(&format!(
            "config: {}",
            site_folder.join("genesys-bi.toml").display()
        )) && stdout.contains(&format!(
            "store: sqlite {}",
            site_folder.join("data/s.db").display()
        )),
        "{stdout}"
    );

    let (_served, url) = serve_in(elsewhere.path(), &["--config".as_ref(), config.as_os_str()]);
    let answer = reqwest::Client::new()
        .get(format!("{url}/v1/datasets"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the key made from elsewhere works");
}

#[test]
fn without_a_file_the_defaults_resolve_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let checked = genesys_bi(dir.path(), &["check-config"]);
    let stdout = String::from_utf8(checked.stdout).unwrap();
    let here = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        stdout.contains("config: no file found; built-in defaults"),
        "{stdout}"
    );
    let store = format!("store: sqlite {}", here.join("genesys-bi.db").display());
    assert!(stdout.contains(&store), "{stdout}");
    // The defaults need credentials: the file part is still reported before that fault.
    assert_eq!(checked.status.code(), Some(2), "{stdout}");
    let created = genesys_bi(dir.path(), &["keys", "create", "--name", "x"]);
    assert!(created.status.success(), "{created:?}");
    assert!(here.join("genesys-bi.db").exists());
}

#[test]
fn init_writes_a_config_that_checks_and_never_overwrites_unasked() {
    let dir = tempfile::tempdir().unwrap();
    let written = genesys_bi(dir.path(), &["init", "--path", "site/genesys-bi.toml"]);
    assert!(written.status.success(), "{written:?}");
    let file = dir.path().join("site/genesys-bi.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# requests_per_minute = 300") && text.contains("# [[datasets]]"));

    let checked = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .current_dir(dir.path())
        .env_remove("GENESYS_BI_CONFIG")
        .env("GENESYS_CLIENT_ID", "id")
        .env("GENESYS_CLIENT_SECRET", "secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8(checked.stdout).unwrap();
    assert!(checked.status.success(), "{stdout}");
    let store = std::fs::canonicalize(dir.path().join("site"))
        .unwrap()
        .join("genesys-bi.db");
    assert!(
        stdout.contains(&format!("store: sqlite {}", store.display())),
        "{stdout}"
    );

    std::fs::write(&file, "# mine\n").unwrap();
    let again = genesys_bi(dir.path(), &["init", "--path", "site/genesys-bi.toml"]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");
    assert!(String::from_utf8(again.stderr).unwrap().contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    let forced = genesys_bi(
        dir.path(),
        &["init", "--path", "site/genesys-bi.toml", "--force"],
    );
    assert!(forced.status.success(), "{forced:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

/// A store filled by `genesys-bi demo --days 1` (its emulator, its sync), and the demo's key.
fn demo_store(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let demo_dir = dir.join("demo");
    let demo = test_support::cli::Announced::start(
        crate::BIN,
        &[
            "demo",
            "--days",
            "1",
            "--listen",
            "127.0.0.1:0",
            "--dir",
            demo_dir.to_str().unwrap(),
        ],
        Some(dir),
        "GENESYS_BI_API_KEY",
    );
    let key = demo.var("GENESYS_BI_API_KEY").to_string();
    drop(demo);
    (demo_dir.join("genesys-bi.db"), key)
}

/// `genesys-bi serve` on `store` with this `[server]` section; stderr kept in a file.
struct ServeProcess {
    child: std::process::Child,
    url: String,
    stderr: std::path::PathBuf,
}

impl ServeProcess {
    fn start(dir: &std::path::Path, store: &std::path::Path, server_section: &str) -> Self {
        let config = dir.join("serve.toml");
        std::fs::write(
            &config,
            format!("[store]\nsqlite = {store:?}\n\n[server]\n{server_section}\n"),
        )
        .unwrap();
        let stderr = dir.join("serve.stderr");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .env_remove("GENESYS_BI_CONFIG")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = lines
            .by_ref()
            .map(Result::unwrap)
            .find_map(|l| l.strip_prefix("GENESYS_BI_URL=").map(String::from))
            .expect("the URL is announced");
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, url, stderr }
    }

    fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// The exit status, if the process ends within `limit`.
    async fn exited_within(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const EXPORT: &str = "/v1/datasets/agent_performance/rows?format=csv";

/// SIGTERM mid-export: the export arrives whole, new connections are refused, exit code 0;
/// then, with a client that never reads, the deadline cuts it and the exit is still 0.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_answers_in_flight_then_cuts_stuck_clients_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (store, key) = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || demo_store(&dir)
    })
    .await
    .unwrap();

    let mut served = ServeProcess::start(dir.path(), &store, "shutdown_timeout = \"PT60S\"");
    let client = reqwest::Client::new();
    let whole = client
        .get(format!("{}{EXPORT}", served.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        whole.len() > 1_000_000,
        "a sizeable export: {} bytes",
        whole.len()
    );
    let mut export = client
        .get(format!("{}{EXPORT}", served.url))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let mut received = export.chunk().await.unwrap().unwrap().to_vec();
    served.terminate();
    while let Some(chunk) = export.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(received == whole, "the export in flight arrived whole");
    let status = served
        .exited_within(std::time::Duration::from_secs(60))
        .await
        .expect("serve exits once the answers in flight are done");
    assert!(status.success(), "{status:?}: {}", served.stderr());
    assert!(
        client
            .get(format!("{}/healthz", served.url))
            .send()
            .await
            .is_err(),
        "nothing listens after the stop"
    );

    let mut served = ServeProcess::start(dir.path(), &store, "shutdown_timeout = \"PT1S\"");
    let mut stuck = std::net::TcpStream::connect(served.url.trim_start_matches("http://")).unwrap();
    let request =
        format!("GET {EXPORT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n");
    // Pipelined answers far larger than the socket buffers, never read: the server is stuck
    // writing when the stop comes.
    std::io::Write::write_all(&mut stuck, request.repeat(20).as_bytes()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    served.terminate();
    let status = served
        .exited_within(std::time::Duration::from_secs(30))
        .await
        .expect("serve exits at the shutdown deadline despite the stuck client");
    assert!(status.success(), "{status:?}: {}", served.stderr());
    let log = served.stderr();
    assert!(
        log.contains("cut=1"),
        "the log counts the cut connection: {log}"
    );
    drop(stuck);
}

#[tokio::test]
async fn serve_names_a_missing_tls_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("genesys-bi.toml"),
        "[store]\nsqlite = \"s.db\"\n\n[server]\ntls_cert = \"nowhere/cert.pem\"\ntls_key = \"nowhere/key.pem\"\n",
    )
    .unwrap();
    let stderr = dir.path().join("serve.stderr");
    let child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("GENESYS_BI_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut served = ServeProcess {
        child,
        url: String::new(),
        stderr,
    };
    let status = served
        .exited_within(std::time::Duration::from_secs(30))
        .await
        .expect("serve refuses to start instead of serving without the certificate");
    assert_eq!(status.code(), Some(2), "a config fault: {status:?}");
    let stderr = served.stderr();
    assert!(stderr.contains("cert.pem"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn serve_speaks_https_with_the_files_given_on_the_command_line() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &Issuer::new(ca_params, ca_key))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), leaf.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
    std::fs::write(
        dir.path().join("genesys-bi.toml"),
        "[store]\nsqlite = \"s.db\"\n",
    )
    .unwrap();

    let files = ["--tls-cert", "cert.pem", "--tls-key", "key.pem"].map(std::ffi::OsStr::new);
    let (_served, url) = serve_in(dir.path(), &files);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let verifying = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let health = verifying
        .get(format!("{url}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
