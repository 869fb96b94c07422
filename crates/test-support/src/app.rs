//! `TestApp`: the BI server on 127.0.0.1 port 0 over a store, with a live API key. The shared
//! store is filled once per test binary through the real sync engine, from the emulator's
//! synthetic contact centre (in process: the server never talks to Genesys), into the real
//! warehouse; a test that changes a store gets its own copy.
//!
//! Every store exists on both backends: a test written with [`crate::backend_tests!`] runs
//! its body once on SQLite and once on PostgreSQL, where the server reads a schema that the
//! SQLite store was copied into (`warehouse::store_copy`; the shared one once per test
//! binary), so both answer from the same rows.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::postgres::TestPostgres;

use emulator::synth::{ContactCentre, OrgShape};
use genesys::aggregates::AggregationQuery;
use jiff::Timestamp;
use server::{Server, ServerConfig};
use sync::config::Config;
use sync::engine::{Engine, FixedDirectories, InProcess, Mode};
use warehouse::SqliteStore;
use warehouse::testing::StoredTable;

pub const DATASET: &str = "queue_performance";
/// Backfilled range: includes the Europe/London spring-forward day (31 March 2024, 23 h).
pub const FROM: &str = "2024-03-29T00:00:00Z";
pub const TO: &str = "2024-04-02T00:00:00Z";
const NOW: &str = "2024-04-10T00:00:00Z";

const CONFIG: &str = r#"
[[datasets]]
name = "queue_performance"
metrics = ["nOffered", "tAnswered", "tAbandon", "tHandle", "tTalk", "tWait", "tAcw", "oServiceLevel"]
group_by = ["queueId", "mediaType"]
granularity = "PT15M"
time_zone = "Europe/London"
backfill_start = "2024-03-29"
"#;

pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

async fn fill(path: &Path) {
    let shape = OrgShape {
        queues: 6,
        agents: 30,
        wrapup_codes: 8,
        conversations_per_day: 1_500,
        late_wrapup_percent: 0,
    };
    let centre = ContactCentre::new(7, &shape);
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
    let spec = Config::parse(CONFIG, Path::new("t.toml"))
        .unwrap()
        .dataset_specs()
        .unwrap()
        .remove(0);
    let engine = Engine::new(source.clone(), store.clone());
    let report = engine
        .sync_dataset(
            &spec,
            at(NOW),
            Mode::Backfill {
                from: at(FROM),
                to: at(TO),
            },
        )
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    for directory in sync::config::DirectoryName::ALL {
        sync::engine::sync_directory(&directories, store.as_ref(), directory)
            .await
            .unwrap();
    }
    use warehouse::Store;
    let run = store.start_run("backfill").unwrap();
    store
        .finish_run(
            run,
            &warehouse::RunSummary {
                status: warehouse::RunStatus::Ok,
                windows: report.windows_written as u64,
                rows: report.rows_written as u64,
                requests: 0,
                error: None,
                rows_changed: None,
            },
        )
        .unwrap();
}

/// A store file made once in `slot` for the test binary, filled by `fill` (on a runtime of its
/// own, so a test on any runtime may ask for it first); tests then only read it.
pub fn filled_once<Fut>(
    slot: &'static OnceLock<(tempfile::TempDir, PathBuf)>,
    fill: impl FnOnce(PathBuf) -> Fut + Send + 'static,
) -> &'static Path
where
    Fut: Future<Output = ()>,
{
    let (_, path) = slot.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let fill_path = path.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(fill(fill_path))
        })
        .join()
        .unwrap();
        (dir, path)
    });
    path
}

/// One filled store per test binary (filling is the slow part); servers only read it.
pub fn shared_store() -> &'static Path {
    static STORE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    filled_once(&STORE, |path| async move { fill(&path).await })
}

/// A copy of the shared store at `dir/store.db`, for a test that changes it.
pub fn copy_of_shared_store(dir: &Path) -> PathBuf {
    let copy = dir.join("store.db");
    warehouse::testing::copy_store(shared_store(), &copy).unwrap();
    copy
}

/// Which store a test's servers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

tokio::task_local! {
    static BACKEND: Backend;
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

    /// The backend of the test running (SQLite outside [`Backend::run`]).
    pub fn current() -> Backend {
        BACKEND.try_with(|b| *b).unwrap_or(Backend::Sqlite)
    }

    /// Runs a test body with `self` as the backend its [`TestApp`]s serve from.
    pub async fn run<T>(self, body: impl Future<Output = T>) -> T {
        BACKEND.scope(self, body).await
    }
}

/// Writes each test once and runs it on both backends, as `<name>::sqlite` and
/// `<name>::postgres`: the same body, its [`TestApp`]s serving from that backend.
#[macro_export]
macro_rules! backend_tests {
    ($(
        #[tokio::test $( ( $($args:tt)* ) )?]
        $(#[$meta:meta])*
        async fn $name:ident() $body:block
    )*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test $( ( $($args)* ) )?]
            $(#[$meta])*
            async fn sqlite() {
                $crate::app::Backend::Sqlite.run(async move $body).await
            }

            #[tokio::test $( ( $($args)* ) )?]
            $(#[$meta])*
            async fn postgres() {
                $crate::app::Backend::Postgres.run(async move $body).await
            }
        }
    )*};
}

/// The shared store copied into a PostgreSQL schema, once per test binary.
fn shared_postgres() -> &'static TestPostgres {
    static SHARED: OnceLock<TestPostgres> = OnceLock::new();
    SHARED.get_or_init(|| postgres_copy_of(shared_store()))
}

/// A schema of its own holding a copy of the SQLite store at `path`.
fn postgres_copy_of(path: &Path) -> TestPostgres {
    let schema = TestPostgres::schema();
    warehouse::store_copy::sqlite_to_postgres(path, schema.config())
        .unwrap_or_else(|e| panic!("copying {} into PostgreSQL: {e}", path.display()));
    schema
}

pub struct TestApp {
    pub address: String,
    /// The SQLite store the server reads, or (on PostgreSQL) the one its schema was copied
    /// from: what tests read expected values from.
    pub store: PathBuf,
    /// The backend the server reads.
    pub backend: Backend,
    /// The store the server reads, as configured.
    pub config: warehouse::StoreConfig,
    /// The folder of a store this app owns (a copy), removed with it.
    owned: Option<tempfile::TempDir>,
    /// The app's own PostgreSQL schema, dropped with it.
    _schema: Option<TestPostgres>,
    pub key: String,
    pub key_id: i64,
    pub client: reqwest::Client,
}

impl TestApp {
    /// A server on the shared, filled store.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|server| server).await
    }

    /// A server on the shared, filled store, set up by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(Server) -> Server) -> TestApp {
        let path = shared_store().to_path_buf();
        match Backend::current() {
            Backend::Sqlite => Self::on_with(path, configure).await,
            Backend::Postgres => {
                let config = shared_postgres().store_config();
                Self::serve(path, config, Backend::Postgres, None, configure).await
            }
        }
    }

    /// A server on its own copy of the shared, filled store, which the test may change.
    pub async fn spawn_on_copy() -> TestApp {
        Self::spawn_on_copy_with(|server| server).await
    }

    /// A server on its own copy of the shared, filled store, set up by `configure`.
    pub async fn spawn_on_copy_with(configure: impl FnOnce(Server) -> Server) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = copy_of_shared_store(dir.path());
        let mut app = Self::on_with(store, configure).await;
        app.owned = Some(dir);
        app
    }

    /// A server on any store file (created if missing); on PostgreSQL, on a schema of its
    /// own that the file is copied into now.
    pub async fn on(store: PathBuf) -> TestApp {
        Self::on_with(store, |server| server).await
    }

    /// A server on any store file, set up by `configure` (on PostgreSQL, on a copy of it).
    pub async fn on_with(store: PathBuf, configure: impl FnOnce(Server) -> Server) -> TestApp {
        match Backend::current() {
            Backend::Sqlite => {
                let config = warehouse::StoreConfig::sqlite(&store);
                Self::serve(store, config, Backend::Sqlite, None, configure).await
            }
            Backend::Postgres => {
                drop(warehouse::SqliteStore::open(&store).unwrap());
                let schema = postgres_copy_of(&store);
                let config = schema.store_config();
                Self::serve(store, config, Backend::Postgres, Some(schema), configure).await
            }
        }
    }

    async fn serve(
        store: PathBuf,
        config: warehouse::StoreConfig,
        backend: Backend,
        schema: Option<TestPostgres>,
        configure: impl FnOnce(Server) -> Server,
    ) -> TestApp {
        crate::logs::init();
        let key = {
            use warehouse::Store;
            warehouse::open(&config)
                .unwrap()
                .create_key("tests")
                .unwrap()
        };
        let server = configure(
            Server::build(ServerConfig {
                store: config.clone(),
                listen: "127.0.0.1:0".parse().unwrap(),
            })
            .await
            .unwrap(),
        );
        let address = format!("http://127.0.0.1:{}", server.port());
        tokio::spawn(server.run_until_stopped());
        TestApp {
            address,
            store,
            backend,
            config,
            owned: None,
            _schema: schema,
            key: key.secret,
            key_id: key.info.id,
            client: reqwest::Client::new(),
        }
    }

    /// The writer side of the store the server reads (keys, runs): what another process
    /// changing it would hold.
    pub fn writer(&self) -> warehouse::AnyStore {
        warehouse::open(&self.config).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Every row of `table` as the store holds it now.
    pub fn table(&self, table: &str) -> StoredTable {
        StoredTable::read(&self.store, table).unwrap()
    }

    /// A table's columns as the store declares them: (name, declared type), in order.
    pub fn table_columns(&self, table: &str) -> Vec<(String, String)> {
        self.table(table)
            .columns()
            .iter()
            .map(|c| (c.name.clone(), c.declared.clone()))
            .collect()
    }
}

/// The EDM type the OData feed must declare for a dataset column of this declared type.
pub fn dataset_edm_type(column: &str, declared: &str) -> &'static str {
    match (column, declared) {
        ("interval_start" | "interval_end", _) => "Edm.DateTimeOffset",
        (_, "TEXT") => "Edm.String",
        (_, "INTEGER") => "Edm.Int64",
        (_, "REAL") => "Edm.Double",
        other => panic!("unexpected dataset column {other:?}"),
    }
}

/// Asserts an RFC 9457 problem with this status; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    for field in ["type", "title", "detail"] {
        assert!(body[field].is_string(), "problem lacks {field}: {body}");
    }
    body
}
