//! A store with the three default kinds of dataset (queues, agents, wrap-up codes), filled once
//! per test binary through the real sync engine from the emulator's synthetic contact centre,
//! with its directories: what the KPI feed tests read. Two local days in Europe/London, the
//! second the 23-hour day clocks go forward.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::AggregationQuery;
use sync::config::{Config, DirectoryName};
use sync::engine::{Engine, FixedDirectories, InProcess, Mode};
use test_support::app::at;
use warehouse::SqliteStore;

pub const FROM: &str = "2024-03-30T00:00:00Z";
pub const TO: &str = "2024-03-31T23:00:00Z";
/// The local days stored.
pub const DATES: [&str; 2] = ["2024-03-30", "2024-03-31"];
const NOW: &str = "2024-04-10T00:00:00Z";

const CONFIG: &str = r#"
[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "tAnswered", "tAbandon", "tHandle", "tTalk", "tWait", "tAcw", "oServiceLevel"]
group_by = ["queueId", "mediaType"]
granularity = "PT15M"
time_zone = "Europe/London"
backfill_start = "2024-03-30"

[[datasets]]
name = "agent_performance"
metrics = ["nConnected", "tAnswered", "tAlert", "tTalk", "tHeld", "tAcw", "tHandle", "nTransferred"]
group_by = ["userId", "mediaType"]
granularity = "PT30M"
time_zone = "Europe/London"
backfill_start = "2024-03-30"

[[datasets]]
name = "wrapup_performance"
metrics = ["tHandle", "tAcw", "tTalk"]
group_by = ["queueId", "wrapUpCode"]
granularity = "PT1H"
time_zone = "Europe/London"
backfill_start = "2024-03-30"
"#;

async fn fill(path: &Path) {
    let shape = OrgShape {
        queues: 5,
        agents: 20,
        wrapup_codes: 6,
        conversations_per_day: 800,
        late_wrapup_percent: 0,
    };
    let centre = ContactCentre::new(11, &shape);
    let directories = FixedDirectories {
        queues: centre.org().queues.clone(),
        users: centre.org().users.clone(),
        wrapup_codes: centre.org().wrapup_codes.clone(),
        presences: centre.presence_definitions(),
    };
    let source = Arc::new(InProcess(move |q: &AggregationQuery| {
        centre.aggregate(q, at(NOW)).map_err(|e| e.message)
    }));
    let store = Arc::new(SqliteStore::open(path).unwrap());
    let specs = Config::parse(CONFIG, Path::new("t.toml"))
        .unwrap()
        .dataset_specs()
        .unwrap();
    let engine = Engine::new(source.clone(), store.clone());
    for spec in &specs {
        let report = engine
            .sync_dataset(
                spec,
                at(NOW),
                Mode::Backfill {
                    from: at(FROM),
                    to: at(TO),
                },
            )
            .await
            .unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert!(report.rows_written > 0, "{} has no rows", spec.name);
    }
    for directory in DirectoryName::ALL {
        sync::engine::sync_directory(&directories, store.as_ref(), directory)
            .await
            .unwrap();
    }
}

/// The filled store (made on first use).
pub fn kpi_store() -> &'static Path {
    static STORE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    test_support::app::filled_once(&STORE, |path| async move { fill(&path).await })
}
