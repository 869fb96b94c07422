//! `genesys-bi demo` brings up the whole product: it syncs from its emulator, then serves.

use test_support::cli::Announced;

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_serves_synced_data_behind_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let demo = tokio::task::spawn_blocking({
        let path = dir.path().to_path_buf();
        move || {
            Announced::start(
                crate::BIN,
                &["demo", "--days", "1", "--listen", "127.0.0.1:0"],
                Some(&path),
                "GENESYS_BI_API_KEY",
            )
        }
    })
    .await
    .unwrap();
    let (url, key) = (
        demo.var("GENESYS_BI_URL").to_string(),
        demo.var("GENESYS_BI_API_KEY").to_string(),
    );
    assert!(
        demo.lines.iter().any(|l| l.contains("Power BI / Excel")),
        "{:#?}",
        demo.lines
    );
    assert!(dir.path().join("genesys-bi-demo/genesys-bi.db").exists());

    let http = reqwest::Client::new();
    let refused = http.get(format!("{url}/v1/datasets")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let datasets: serde_json::Value = http
        .get(format!("{url}/v1/datasets"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = datasets["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    for expected in [
        "queue_performance",
        "agent_performance",
        "wrapup_performance",
        "agent_status_intervals",
        "conversations",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    // Records have no figures, so no KPI feeds.
    assert!(!names.contains(&"conversations_kpi"), "{names:?}");
    let csv = http
        .get(format!("{url}/v1/datasets/queue_performance/rows?granularity=P1D&group_by=queueId&names=true&format=csv"))
        .basic_auth("powerbi", Some(&key))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let odata: serde_json::Value = http
        .get(format!("{url}/odata/queue_performance?$top=3&$count=true"))
        .basic_auth("excel", Some(&key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(odata["value"].as_array().unwrap().len(), 3, "{odata}");
    assert!(odata["@odata.count"].as_u64().unwrap() > 3, "{odata}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let offered = headers
        .iter()
        .position(|h| h == "n_offered")
        .expect("n_offered column");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty());
    let total: u64 = rows
        .iter()
        .map(|r| r[offered].parse::<u64>().unwrap_or(0))
        .sum();
    assert!(
        total > 1000,
        "a day of a 25-queue centre offers thousands of conversations, got {total}"
    );
    the_written_config_works_from_inside_its_folder(&dir.path().join("genesys-bi-demo"));
}

/// `cd genesys-bi-demo && genesys-bi datasets` (and `keys list`) read the demo's own store.
fn the_written_config_works_from_inside_its_folder(folder: &std::path::Path) {
    let run = |args: &[&str]| {
        let output = std::process::Command::new(crate::BIN)
            .args(args)
            .current_dir(folder)
            .env_remove("GENESYS_BI_CONFIG")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let datasets = run(&["datasets"]);
    let queue_line = datasets
        .lines()
        .find(|l| l.starts_with("queue_performance"))
        .unwrap_or_else(|| panic!("{datasets}"));
    assert!(
        !queue_line.contains("never"),
        "synced rows are seen: {datasets}"
    );
    assert!(run(&["keys", "list"]).contains("demo"));
}
