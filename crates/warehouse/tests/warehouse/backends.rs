//! One store-level suite, two backends: [`on_both_backends!`] runs a test body against SQLite
//! (a file in a temporary folder) and PostgreSQL (a schema of its own on the test run's
//! throwaway server, see `test_support::postgres`). A body gets a [`TestStore`]: the store,
//! a way to open it again (another process), and a probe that reads its tables with SQL both
//! dialects share (the probe papers over what differs: text of instants, numeric sums).

use std::path::PathBuf;

use test_support::postgres::TestPostgres;
use warehouse::{AnyStore, StoreConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

pub struct TestStore {
    pub store: AnyStore,
    config: StoreConfig,
    probe: Probe,
}

enum Probe {
    Sqlite {
        path: PathBuf,
        _dir: tempfile::TempDir,
    },
    Postgres(Box<PostgresProbe>),
}

struct PostgresProbe {
    client: tokio_postgres::Client,
    runtime: tokio::runtime::Runtime,
    // Last: the schema is dropped once the store and the probe's client are gone.
    _schema: TestPostgres,
}

impl TestStore {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("store.db");
                let config = StoreConfig::sqlite(&path);
                Self {
                    store: warehouse::open(&config).unwrap(),
                    config,
                    probe: Probe::Sqlite { path, _dir: dir },
                }
            }
            Backend::Postgres => {
                let schema = TestPostgres::schema();
                let config = schema.store_config();
                let store = warehouse::open(&config).unwrap();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let client = runtime.block_on(async {
                    let (client, connection) =
                        tokio_postgres::connect(schema.url(), tokio_postgres::NoTls)
                            .await
                            .unwrap();
                    tokio::spawn(async move { connection.await.ok() });
                    let path = format!("SET search_path TO {}", schema.name());
                    client.batch_execute(&path).await.unwrap();
                    client
                });
                Self {
                    store,
                    config,
                    probe: Probe::Postgres(Box::new(PostgresProbe {
                        client,
                        runtime,
                        _schema: schema,
                    })),
                }
            }
        }
    }

    /// Where the store is, to open it again (in another thread, as another process would).
    pub fn config(&self) -> StoreConfig {
        self.config.clone()
    }

    /// One integer: what a query of one row and column gives (a PostgreSQL `sum` is cast back
    /// from `numeric`, as SQLite gives it).
    pub fn integer(&self, sql: &str) -> i64 {
        match &self.probe {
            Probe::Sqlite { path, .. } => rusqlite::Connection::open(path)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Probe::Postgres(probe) => probe.runtime.block_on(async {
                let client = &probe.client;
                let cast = format!("SELECT ({sql})::bigint");
                client.query_one(&cast, &[]).await.unwrap().get(0)
            }),
        }
    }

    /// The rows a query gives, each value as text (NULL as `None`; an instant as the store's
    /// text `2024-05-01T00:00:00.000Z`, whatever the backend keeps).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match &self.probe {
            Probe::Sqlite { path, .. } => {
                sqlite_texts(&rusqlite::Connection::open(path).unwrap(), sql)
            }
            Probe::Postgres(probe) => probe.runtime.block_on(async {
                let rows = probe.client.query(sql, &[]).await.unwrap();
                rows.iter().map(postgres_texts).collect()
            }),
        }
    }
}

/// The rows a query of an SQLite store gives, each value as text (as [`TestStore::rows`]).
pub fn sqlite_texts(c: &rusqlite::Connection, sql: &str) -> Vec<Vec<Option<String>>> {
    use rusqlite::types::ValueRef;
    let mut statement = c.prepare(sql).unwrap();
    let width = statement.column_count();
    statement
        .query_map([], |r| {
            (0..width)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(i) => Some(i.to_string()),
                        ValueRef::Real(f) => Some(f.to_string()),
                        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(_) => Some("<blob>".into()),
                    })
                })
                .collect()
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn postgres_texts(row: &tokio_postgres::Row) -> Vec<Option<String>> {
    use tokio_postgres::types::Type;
    (0..row.len())
        .map(|i| {
            let ty = row.columns()[i].type_().clone();
            if ty == Type::INT8 {
                row.get::<_, Option<i64>>(i).map(|v| v.to_string())
            } else if ty == Type::INT4 {
                row.get::<_, Option<i32>>(i).map(|v| v.to_string())
            } else if ty == Type::FLOAT8 {
                row.get::<_, Option<f64>>(i).map(|v| v.to_string())
            } else if ty == Type::BOOL {
                row.get::<_, Option<bool>>(i)
                    .map(|v| i32::from(v).to_string())
            } else if ty == Type::TIMESTAMPTZ {
                row.get::<_, Option<warehouse::postgres::instant::Instant>>(i)
                    .map(|v| genesys::interval::format_instant(v.0))
            } else {
                row.get::<_, Option<String>>(i)
            }
        })
        .collect()
}

/// Each `fn name(store) { body }` becomes a module `name` with a test per backend, the same
/// body run against a fresh store of each.
macro_rules! on_both_backends {
    ($($(#[$meta:meta])* fn $name:ident($store:ident) $body:block)*) => {
        $(
            $(#[$meta])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                fn body($store: &$crate::backends::TestStore) $body

                #[test]
                fn sqlite() {
                    body(&$crate::backends::TestStore::new($crate::backends::Backend::Sqlite));
                }

                #[test]
                fn postgres() {
                    body(&$crate::backends::TestStore::new($crate::backends::Backend::Postgres));
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;
