//! A pass as the commands run it: each dataset under its lease, one run recorded with its
//! typed status and totals, and what it did told to an observer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use genesys::aggregates::AggregationQuery;
use genesys::directory::{Queue, User, WrapupCode};
use sync::config::{DatasetSpec, DirectoryName};
use sync::engine::{
    AggregateSource, DatasetReport, DirectorySource, Engine, FixedDirectories, Mode, SourceError,
};
use sync::runner::{Busy, CountsRequests, Pass, PassError, PassObserver, Turns, WhenHeld};
use warehouse::read::RunInfo;
use warehouse::{LeaseHolder, RunStatus, SqliteStore, Store};

use super::engine::{Emulated, at, spec};

/// The emulated centre, failing every window that starts from `failing_from` on.
struct Source {
    emulated: Arc<Emulated>,
    directories: FixedDirectories,
    failing_from: Option<jiff::Timestamp>,
}

impl Source {
    fn new(failing_from: Option<jiff::Timestamp>) -> Self {
        let emulated = Emulated::new(at("2024-05-03T00:00:00Z"));
        let org = emulated.centre.org();
        let directories = FixedDirectories {
            queues: org.queues.clone(),
            users: org.users.clone(),
            wrapup_codes: org.wrapup_codes.clone(),
            presences: emulated.centre.presence_definitions(),
        };
        Self {
            emulated,
            directories,
            failing_from,
        }
    }

    fn refuses(&self, query: &AggregationQuery) -> bool {
        let interval: genesys::Interval = query.interval.parse().unwrap();
        self.failing_from.is_some_and(|from| interval.start >= from)
    }
}

impl AggregateSource for Source {
    async fn fetch_rows(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        if self.refuses(&query) {
            *self.emulated.requests.lock().unwrap() += 1;
            return Err("503 from the test source".into());
        }
        self.emulated.fetch_rows(query, table).await
    }

    async fn fetch_rows_by_job(
        &self,
        query: AggregationQuery,
        table: &warehouse::TableSpec,
    ) -> Result<Vec<warehouse::AggregateRow>, SourceError> {
        self.fetch_rows(query, table).await
    }
}

impl DirectorySource for Source {
    async fn queues(&self) -> Result<Vec<Queue>, SourceError> {
        self.directories.queues().await
    }
    async fn users(&self) -> Result<Vec<User>, SourceError> {
        self.directories.users().await
    }
    async fn wrapup_codes(&self) -> Result<Vec<WrapupCode>, SourceError> {
        self.directories.wrapup_codes().await
    }
    async fn presences(
        &self,
    ) -> Result<Vec<genesys::directory::OrganizationPresence>, SourceError> {
        self.directories.presences().await
    }
}

impl CountsRequests for Source {
    fn requests_sent(&self) -> u64 {
        *self.emulated.requests.lock().unwrap() as u64
    }
}

/// What the pass told, in order, and the dataset reports it was given.
#[derive(Default)]
struct Told(Mutex<Vec<String>>, Mutex<Vec<DatasetReport>>);

impl PassObserver for Told {
    fn dataset_done(&self, report: &DatasetReport, _spec: &DatasetSpec) {
        let line = format!("{}: {} windows", report.dataset, report.windows_written);
        self.0.lock().unwrap().push(line);
        self.1.lock().unwrap().push(report.clone());
    }
    fn directory_done(&self, directory: DirectoryName, entries: usize) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{directory}: {entries}"));
    }
    fn waiting(&self, busy: &Busy) {
        self.0.lock().unwrap().push(format!("waiting: {busy}"));
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: Arc<SqliteStore>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runner.db");
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        Self {
            _dir: dir,
            path,
            store,
        }
    }

    fn pass(&self, source: Source, told: &Arc<Told>) -> Pass<Source, SqliteStore> {
        Pass::new(Engine::new(Arc::new(source), Arc::clone(&self.store)))
            .observed_by(Arc::clone(told) as Arc<dyn PassObserver>)
    }

    fn runs(&self) -> Vec<RunInfo> {
        let reader = warehouse::open_reader(&warehouse::StoreConfig::sqlite(&self.path)).unwrap();
        reader.session().unwrap().recent_runs(10).unwrap()
    }
}

fn two_days() -> Mode {
    Mode::Backfill {
        from: at("2024-05-01T00:00:00Z"),
        to: at("2024-05-03T00:00:00Z"),
    }
}

#[tokio::test]
async fn a_pass_records_one_run_with_its_totals_and_the_requests_it_sent() {
    let fixture = Fixture::new();
    let told = Arc::new(Told::default());
    let source = Source::new(None);
    let pass = fixture.pass(source, &told);
    pass.directories(&[DirectoryName::Queues, DirectoryName::WrapupCodes])
        .await
        .unwrap();
    let dataset = spec("2024-05-01");
    let end = pass
        .datasets(
            "backfill",
            &[dataset],
            at("2024-05-03T00:00:00Z"),
            two_days(),
        )
        .await
        .unwrap();
    assert_eq!(end, sync::runner::PassEnd::Finished);

    let runs = fixture.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    assert_eq!(
        (run.command.as_str(), run.status),
        ("backfill", RunStatus::Ok)
    );
    assert!(run.finished_at.is_some() && run.error.is_none(), "{run:?}");
    let reports = told.1.lock().unwrap().clone();
    let told = told.0.lock().unwrap().clone();
    assert_eq!((told.len(), reports.len()), (3, 1), "{told:?}");
    let windows = reports[0].windows_written as i64;
    assert_eq!(run.windows, windows);
    assert_eq!(run.rows, reports[0].rows_written as i64);
    assert!(windows >= 2 && run.rows > 0, "{run:?}");
    // The directories are not the run's requests here (the fixed source sends none).
    assert_eq!(run.requests, windows);
    assert_eq!(told[0], "queues: 25");
    assert!(told[1].starts_with("wrapup_codes: "), "{told:?}");
}

#[tokio::test]
async fn failed_windows_are_recorded_as_a_partial_run_and_fail_the_pass() {
    let fixture = Fixture::new();
    let told = Arc::new(Told::default());
    let pass = fixture.pass(Source::new(Some(at("2024-05-01T12:00:00Z"))), &told);
    let failed = pass
        .datasets(
            "sync",
            &[spec("2024-05-01")],
            at("2024-05-03T00:00:00Z"),
            two_days(),
        )
        .await
        .unwrap_err();
    let PassError::WindowsFailed { failed } = failed else {
        panic!("expected failed windows, got {failed}");
    };
    assert!(failed >= 1);
    let run = &fixture.runs()[0];
    assert_eq!(run.status, RunStatus::Partial);
    assert_eq!(run.error, Some(format!("{failed} window(s) failed")));
    // The windows before the failing ones were written and counted.
    assert!(run.windows >= 1 && run.rows > 0, "{run:?}");
}

#[tokio::test]
async fn a_dataset_another_process_holds_is_skipped_as_busy_and_no_run_is_recorded() {
    let fixture = Fixture::new();
    let dataset = spec("2024-05-01");
    let other = LeaseHolder {
        pid: 4242,
        host: "host-b".into(),
    };
    fixture
        .store
        .acquire_lease(&dataset.name, &other, Duration::from_secs(60))
        .unwrap();
    let told = Arc::new(Told::default());
    let pass = fixture.pass(Source::new(None), &told).taking_turns(Turns {
        when_held: WhenHeld::Skip,
        ..Turns::default()
    });
    let err = pass
        .datasets("run", &[dataset], at("2024-05-03T00:00:00Z"), two_days())
        .await
        .unwrap_err();
    let PassError::Busy(busy) = &err else {
        panic!("expected busy, got {err}");
    };
    assert_eq!(
        (busy.0.holder.pid, busy.0.holder.host.as_str()),
        (4242, "host-b")
    );
    assert!(
        err.to_string()
            .starts_with("queue_performance is being synced by pid 4242 on host-b since "),
        "{err}"
    );
    assert!(fixture.runs().is_empty());
    assert!(told.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_pass_with_a_lake_publishes_what_it_committed_under_each_lease_it_took() {
    let fixture = Fixture::new();
    let folder = tempfile::tempdir().unwrap();
    let reader = warehouse::open_reader(&warehouse::StoreConfig::sqlite(&fixture.path)).unwrap();
    let location = lake::LakeLocation::Local(folder.path().to_path_buf());
    let lake = Arc::new(lake::Lake::open(location, reader, None).unwrap());
    let manifest = || -> lake::Manifest {
        let path = folder
            .path()
            .join("queue_performance/_genesys_bi/manifest.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    for pass_number in 1..=2 {
        let told = Arc::new(Told::default());
        let pass = fixture
            .pass(Source::new(None), &told)
            .publishing_to(Some(Arc::clone(&lake)));
        pass.datasets(
            "sync",
            &[spec("2024-05-01")],
            at("2024-05-03T00:00:00Z"),
            two_days(),
        )
        .await
        .unwrap();
        let published = manifest();
        let stored = fixture.store.windows("queue_performance").unwrap();
        assert_eq!(published.windows.len(), stored.len());
        assert!(published.windows.iter().all(|w| w.rows > 0));
        // Each pass takes a new lease, with a greater token: the lake names the latest.
        assert_eq!(published.fencing_token, pass_number);
        assert_eq!(
            published.complete_through,
            fixture.store.watermark("queue_performance").unwrap()
        );
    }
}
