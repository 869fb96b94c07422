//! `genesys-bi connect` as a user runs it, on a filled store: the files it writes or prints are
//! byte for byte the ones the server serves for the same address, each read by a real parser
//! (serde_json for .pbids, roxmltree for .odc, PyYAML from `.venv` for Grafana's provisioning
//! file), and the steps name the URL and the credentials.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::TestApp;
use test_support::app::{DATASET, copy_of_shared_store};
use test_support::external::venv_program;

use crate::BIN;

const URL: &str = "http://bi.example.com:8080";

/// A folder with a copy of the filled store and a config naming it and `server`.
fn workspace(server: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_of_shared_store(dir.path());
    std::fs::write(
        dir.path().join("genesys-bi.toml"),
        format!("[store]\nsqlite = \"store.db\"\n\n[server]\n{server}"),
    )
    .unwrap();
    dir
}

fn connect(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("connect")
        .args(args)
        .current_dir(dir)
        .env_remove("GENESYS_BI_CONFIG")
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn succeeded(output: Output) -> (String, String) {
    assert!(output.status.success(), "{output:?}");
    (text(&output.stdout), text(&output.stderr))
}

/// What the server on the same store serves to a client that reached it as `bi.example.com:8080`.
async fn served(app: &TestApp, path: &str) -> String {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(&app.key)
        .header("Host", "bi.example.com:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn power_bi_and_excel_files_are_the_servers_own() {
    let dir = workspace("listen = \"127.0.0.1:8080\"\n");
    let app = TestApp::on(dir.path().join("store.db")).await;

    let out = dir.path().join("daily.pbids");
    let (steps, _) = succeeded(connect(
        dir.path(),
        &[
            "--tool",
            "powerbi",
            "--url",
            URL,
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        written,
        served(&app, &format!("/v1/connect/{DATASET}/powerbi")).await
    );
    let file: Value = serde_json::from_str(&written).unwrap();
    let url = format!("{URL}/odata/{DATASET}_daily_kpi");
    assert_eq!(file["connections"][0]["details"]["protocol"], "odata");
    assert_eq!(
        file["connections"][0]["details"]["address"]["url"],
        url.as_str()
    );
    assert!(
        steps.contains(&format!("Wrote {}", out.display())),
        "{steps}"
    );
    for needed in [
        url.as_str(),
        "Basic",
        "password: an API key",
        "Don't summarize",
    ] {
        assert!(steps.contains(needed), "{needed} in {steps}");
    }

    // Printed: the file alone on stdout, the steps on stderr.
    let (printed, steps) = succeeded(connect(
        dir.path(),
        &["--tool", "excel", "--url", URL, "--feed", "rows"],
    ));
    let from_server = served(&app, &format!("/v1/connect/{DATASET}/excel?feed=rows")).await;
    assert_eq!(printed, from_server);
    let odc = roxmltree::Document::parse(&printed).expect("well-formed");
    let formula_holder = odc
        .descendants()
        .find(|n| n.tag_name().name() == "PowerQueryMashupData")
        .and_then(|n| n.text())
        .unwrap();
    assert!(formula_holder.contains(&format!("OData.Feed(&quot;{URL}/odata/{DATASET}&quot;")));
    assert!(
        steps.contains(&format!("Save this as {DATASET}.odc")),
        "{steps}"
    );
    assert!(steps.contains("From OData Feed"), "{steps}");
}

#[test]
fn the_url_comes_from_the_server_section_with_https_when_it_has_tls() {
    let plain = workspace("listen = \"127.0.0.1:9443\"\n");
    let (printed, _) = succeeded(connect(plain.path(), &["--tool", "powerbi"]));
    let file: Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        file["connections"][0]["details"]["address"]["url"],
        format!("http://127.0.0.1:9443/odata/{DATASET}_daily_kpi")
    );
    let tls = workspace("listen = \"0.0.0.0:9443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n");
    let (steps, warning) = succeeded(connect(tls.path(), &["--tool", "tableau", "--feed", "kpi"]));
    assert!(
        steps.contains(&format!(
            "Server: https://localhost:9443/odata/{DATASET}_kpi"
        )),
        "{steps}"
    );
    assert!(
        warning.contains("--url"),
        "a wildcard address is pointed out: {warning}"
    );
}

#[test]
fn grafana_gets_an_infinity_data_source_that_yaml_reads() {
    let dir = workspace("");
    let out = dir.path().join("genesys-bi.yaml");
    let (steps, _) = succeeded(connect(
        dir.path(),
        &[
            "--tool",
            "grafana",
            "--url",
            "https://bi.example.com/",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let python = venv_program("python", "PyYAML (tests/fuzz/requirements.txt)");
    let read = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(read.status.success(), "{read:?}");
    let file: Value = serde_json::from_str(&text(&read.stdout)).unwrap();
    assert_eq!(file["apiVersion"], 1);
    let source = &file["datasources"][0];
    assert_eq!(source["type"], "yesoreyeram-infinity-datasource");
    assert_eq!(source["jsonData"]["auth_method"], "bearerToken");
    assert_eq!(
        source["jsonData"]["allowedHosts"],
        serde_json::json!(["https://bi.example.com"])
    );
    // Grafana expands the variable from its environment: the key is never in the file.
    assert_eq!(
        source["secureJsonData"]["bearerToken"],
        "${GENESYS_BI_API_KEY}"
    );
    assert!(
        steps.contains(&format!(
            "URL: https://bi.example.com/odata/{DATASET}_daily_kpi"
        )),
        "{steps}"
    );
    assert!(
        steps.contains("date ge ${__from:date:YYYY-MM-DD}"),
        "{steps}"
    );
}

#[test]
fn faults_are_usage_errors_naming_the_flag() {
    let dir = workspace("");
    for (args, needle) in [
        (&["--tool", "excel", "--dataset", "nope"][..], "--dataset"),
        (&["--tool", "tableau", "--out", "x.txt"][..], "--out"),
        (&["--tool", "excel", "--url", "bi.example.com"][..], "--url"),
        (&["--tool", "excel", "--feed", "hourly"][..], "daily_kpi"),
        (&["--tool", "word"][..], "powerbi"),
    ] {
        let output = connect(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let empty = tempfile::tempdir().unwrap();
    let output = connect(empty.path(), &["--tool", "powerbi"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        text(&output.stderr).contains("genesys-bi sync"),
        "{output:?}"
    );
    assert!(
        !empty.path().join("genesys-bi.db").exists(),
        "no store is created"
    );
}
