//! The store's own tables and their upgrades: `INTERNAL_SCHEMA` makes version 1, each of
//! `UPGRADES` takes a store one version further, in one transaction at open.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::datasets::{dataset_spec, write_definition};
use super::ddl::create_kpi_view;
use super::{days, leases};
use crate::schema::DatasetDefinition;
use crate::{Result, StoreError};

/// The version `INTERNAL_SCHEMA` creates; each of [`UPGRADES`] then takes it one further.
const BASE_VERSION: i64 = 1;

/// Schema upgrades in order: the first takes a version-1 store to version 2, and so on.
const UPGRADES: &[fn(&Transaction<'_>) -> Result<()>] =
    &[typed_definitions, lease_table, kpi_feeds, restatements];

const SCHEMA_VERSION: i64 = BASE_VERSION + UPGRADES.len() as i64;

const INTERNAL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    metrics TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS windows (
    dataset TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    rows INTEGER NOT NULL,
    settled INTEGER NOT NULL,
    run_id INTEGER,
    written_at TEXT NOT NULL,
    PRIMARY KEY (dataset, window_start)
);
CREATE TABLE IF NOT EXISTS watermarks (
    dataset TEXT PRIMARY KEY,
    complete_through TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    windows INTEGER NOT NULL DEFAULT 0,
    rows INTEGER NOT NULL DEFAULT 0,
    requests INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE TABLE IF NOT EXISTS queues (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division_id TEXT,
    division_name TEXT,
    service_level_percentage REAL,
    service_level_duration_ms INTEGER,
    member_count INTEGER
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    state TEXT,
    division_id TEXT,
    division_name TEXT,
    team_id TEXT,
    team_name TEXT
);
CREATE TABLE IF NOT EXISTS wrapup_codes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division_id TEXT
);
CREATE TABLE IF NOT EXISTS presences (
    id TEXT PRIMARY KEY,
    name TEXT,
    system_presence TEXT
);
";

pub(crate) fn migrate(connection: &mut Connection) -> Result<()> {
    connection.execute_batch(INTERNAL_SCHEMA)?;
    // Immediate: of two processes opening an old store at once, one upgrades, the other then
    // finds it done.
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: Option<i64> =
        tx.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
    let mut version = match found {
        None => {
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [BASE_VERSION],
            )?;
            BASE_VERSION
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::FutureSchema {
                found: v,
                supported: SCHEMA_VERSION,
            });
        }
        Some(v) => v,
    };
    while version < SCHEMA_VERSION {
        UPGRADES[(version - BASE_VERSION) as usize](&tx)?;
        version += 1;
        tx.execute("UPDATE schema_version SET version = ?1", [version])?;
    }
    tx.commit()?;
    Ok(())
}

/// Version 2: each dataset's kind, granularity, time zone and filter become typed columns,
/// parsed once here from the definition string that held them; `definition` stays as the
/// fingerprint. A definition that can't be parsed fails the open, naming dataset and column.
fn typed_definitions(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "ALTER TABLE datasets ADD COLUMN kind TEXT;
         ALTER TABLE datasets ADD COLUMN granularity TEXT;
         ALTER TABLE datasets ADD COLUMN time_zone TEXT;
         ALTER TABLE datasets ADD COLUMN filter TEXT;",
    )?;
    let legacy: Vec<(String, String)> = tx
        .prepare("SELECT name, definition FROM datasets")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, definition) in legacy {
        let typed = DatasetDefinition::from_legacy(&name, &definition)?;
        write_definition(tx, &name, &typed)?;
    }
    Ok(())
}

/// Version 5: restatements, the rows a restatement run changed and each dataset's last one.
fn restatements(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "ALTER TABLE runs ADD COLUMN rows_changed INTEGER;
         ALTER TABLE watermarks ADD COLUMN restated_at TEXT;
         ALTER TABLE watermarks ADD COLUMN rows_restated INTEGER;",
    )?;
    Ok(())
}

/// Version 3: the `leases` table, and the window log's `lease_token` and `writer`.
fn lease_table(tx: &Transaction<'_>) -> Result<()> {
    leases::migrate(tx)
}

/// Version 4: the KPI feeds. Each `<dataset>_kpi` view gains the row id and the directory
/// names beside the ids; each per-day table its `date` column and a `<dataset>_daily_kpi` view.
/// The stored rows are not changed.
fn kpi_feeds(tx: &Transaction<'_>) -> Result<()> {
    let names: Vec<String> = tx
        .prepare("SELECT name FROM datasets ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for name in names {
        let spec = dataset_spec(tx, &name)?;
        create_kpi_view(tx, &spec)?;
        if days::exists(tx, &name)? {
            days::add_dates(tx, &spec)?;
        }
    }
    Ok(())
}
