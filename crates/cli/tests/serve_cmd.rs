//! `genesys-bi keys` and `genesys-bi serve` as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_genesys-bi");

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

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("GENESYS_BI_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _served = Served(child);
    let url = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("GENESYS_BI_URL=").map(String::from))
        .expect("the URL is announced");
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

    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(elsewhere.path())
        .env_remove("GENESYS_BI_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _served = Served(child);
    let url = BufReader::new(stdout)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("GENESYS_BI_URL=").map(String::from))
        .expect("the URL is announced");
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
