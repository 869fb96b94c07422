//! A second, independent OData client: python-odata (from `<repo>/.venv`, installed by
//! `scripts/setup-test-env.sh` from `tests/odata/requirements.txt`; without it this test fails,
//! on purpose) runs `tests/odata/read_odata.py`. It reflects `$metadata` (keys, navigation
//! properties and their foreign keys), reads every entity set whole through its paging, and
//! expands the daily KPI sets' relationships; the daily queue figures it read must equal
//! `/v1/report` for the same day.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use test_support::TestApp;
use test_support::external::{repo_root, run_with_timeout, venv_program};

use crate::kpi_feeds::{assert_reported, day_after, report_groups};
use crate::kpi_store::kpi_store;

/// Small pages, so every set but the smallest is read over several.
const PAGE_SIZE: &str = "150";

#[tokio::test]
async fn python_odata_reads_every_set_and_its_daily_figures_equal_the_report() {
    let app = TestApp::on(kpi_store().to_path_buf()).await;
    let python = venv_program("python", "python-odata");
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(python);
    command
        .arg(repo_root().join("tests/odata/read_odata.py"))
        .arg(app.url("/odata/"))
        .arg(PAGE_SIZE)
        .env("GENESYS_BI_KEY", &app.key);
    let run = run_with_timeout(command, dir.path(), Duration::from_secs(600)).await;
    assert!(
        run.succeeded(),
        "{}\n(python-odata missing? run scripts/setup-test-env.sh)",
        run.explain("read_odata.py")
    );
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let sets = out["sets"].as_object().unwrap();

    // Every entity set, reflected and read whole.
    let service = app.get_json("/odata/").await;
    let listed: Vec<&str> = service["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let mut read: Vec<&str> = sets.keys().map(String::as_str).collect();
    let mut expected = listed.clone();
    read.sort_unstable();
    expected.sort_unstable();
    assert_eq!(read, expected);
    assert!(listed.contains(&"wrapup_performance_daily_kpi"));
    for (name, set) in sets {
        let count: usize = app
            .get(&format!("/odata/{name}/$count"))
            .await
            .text()
            .await
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(set["rows"].as_array().unwrap().len(), count, "{name}");
        assert_eq!(set["key"], json!(["id"]), "{name}");
    }

    // The relationships, as python-odata reflected them.
    let navigation = |set: &str| sets[set]["navigation"].clone();
    let to = |name: &str, target: &str, key: &str| json!({"name": name, "target": format!("GenesysBi.{target}"), "foreign_key": key});
    assert_eq!(
        navigation("queue_performance_daily_kpi"),
        json!([to("queue", "queues", "queue_id")])
    );
    assert_eq!(
        navigation("agent_performance_kpi"),
        json!([to("user", "users", "user_id")])
    );
    assert_eq!(
        navigation("wrapup_performance"),
        json!([
            to("queue", "queues", "queue_id"),
            to("wrapup_code", "wrapup_codes", "wrap_up_code")
        ])
    );

    // Expanded: each related entity is the one the row's id names, with its directory name.
    for (set, directory) in [
        ("queue_performance_daily_kpi", "queues"),
        ("agent_performance_daily_kpi", "users"),
    ] {
        let names: BTreeMap<String, String> = app
            .table(directory)
            .rows()
            .map(|r| (r.text("id").unwrap().into(), r.text("name").unwrap().into()))
            .collect();
        let expanded = sets[set]["expanded"].as_array().unwrap();
        assert!(!expanded.is_empty(), "{set}");
        for e in expanded {
            let id = e["foreign_key"].as_str().unwrap();
            assert_eq!(e["related_id"], json!(id), "{set}");
            assert_eq!(e["related_name"], json!(names[id]), "{set}");
        }
    }

    // The daily queue figures python-odata read equal the report, day by day.
    let rows = sets["queue_performance_daily_kpi"]["rows"]
        .as_array()
        .unwrap();
    let mut by_day: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for row in rows {
        let key = (
            row["date"].as_str().unwrap().to_string(),
            row["media_type"].as_str().unwrap().to_string(),
        );
        by_day.entry(key).or_default().push(row);
    }
    assert!(by_day.len() >= 2);
    for ((date, medium), rows) in by_day {
        let groups = report_groups(&app, &date, &day_after(&date), &medium).await;
        assert_eq!(rows.len(), groups.len(), "{date} {medium}");
        for row in rows {
            let queue = row["queue_id"].as_str().map(String::from);
            assert_reported(
                row,
                &groups[&queue],
                &format!("python-odata {date} {medium}"),
            );
        }
    }
}
