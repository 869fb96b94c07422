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
