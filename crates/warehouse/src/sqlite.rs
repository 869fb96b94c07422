//! The embedded SQLite store. WAL mode, so readers never block the one writer; every window is
//! one transaction. Identifiers come only from validated dataset names and catalog-derived
//! column names; values are always bound parameters.

use std::path::Path;
use std::sync::Mutex;

use genesys::Interval;
use genesys::interval::format_instant;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::days::{self, DayGrid};
use crate::leases::{self, Acquired, Lease, LeaseHolder, LeaseToken};
use crate::rows::{AggregateRow, Value};
use crate::schema::{DatasetDefinition, TableSpec, is_reserved, is_valid_identifier};
use crate::{
    DatasetChange, DatasetStatus, Directory, Result, RunStatus, RunSummary, Store, StoreError,
    WindowOutcome, WindowRecord, WindowWrite,
};

/// The version `INTERNAL_SCHEMA` creates; each of [`UPGRADES`] then takes it one further.
const BASE_VERSION: i64 = 1;

/// Schema upgrades in order: the first takes a version-1 store to version 2, and so on.
const UPGRADES: &[fn(&Transaction<'_>) -> Result<()>] = &[typed_definitions, lease_table];

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
";

/// The page size of a new store file. Bigger than SQLite's 4 KiB default: a window write
/// appends megabytes, and every page costs a WAL frame, two write calls and a checkpoint copy;
/// at 32 KiB that is an eighth of the calls. (16 KiB wrote ~9% fewer rows per second once each
/// window also rewrites its days' rollup; a small incremental commit's WAL grows by a few
/// pages either way.) An existing file keeps the size it was made with (changing it takes a
/// `VACUUM` outside WAL mode); every size reads and writes the same.
pub const PAGE_SIZE: i64 = 32_768;

/// Sets the page size a store file gets if this connection creates it (a no-op on an existing
/// file); must come before anything writes, WAL mode included.
pub(crate) fn set_page_size(connection: &Connection) -> rusqlite::Result<()> {
    connection.pragma_update(None, "page_size", PAGE_SIZE)
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
}

fn now_text() -> String {
    format_instant(Timestamp::now())
}

fn parse_instant(value: String) -> Result<Timestamp> {
    value
        .parse()
        .map_err(|_| StoreError::CorruptInstant { value })
}

pub(crate) fn quote(identifier: &str) -> String {
    format!("\"{identifier}\"")
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        let connection = Connection::open(path)?;
        Self::with_connection(connection)
    }

    pub fn open_in_memory() -> Result<Self> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(mut connection: Connection) -> Result<Self> {
        // Before anything touches the file: writers in other processes take turns, waiting up
        // to this long for one another instead of failing with "database is locked".
        connection.busy_timeout(BUSY_TIMEOUT)?;
        set_page_size(&connection)?;
        use_wal(&connection)?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        // 16 MiB of page cache keeps a window's index pages in memory while it is replaced.
        connection.pragma_update(None, "cache_size", -16_384)?;
        // Each dataset keeps one INSERT per chunk size prepared (see `CHUNK_SIZES`).
        connection.set_prepared_statement_cache_capacity(64);
        migrate(&mut connection)?;
        Ok(Self {
            writer: Mutex::new(connection),
        })
    }

    fn with_writer<T>(&self, work: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut connection = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut connection)
    }
}

/// How long a writer waits for another process's write before "database is locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Switches the file to WAL. A new file's switch needs it alone, and SQLite answers "locked" at
/// once then instead of waiting (the busy timeout does not cover it), as processes that start
/// together find: so it is tried again, for as long as the busy timeout.
fn use_wal(connection: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

fn migrate(connection: &mut Connection) -> Result<()> {
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

/// Version 3: the `leases` table, and the window log's `lease_token` and `writer`.
fn lease_table(tx: &Transaction<'_>) -> Result<()> {
    leases::migrate(tx)
}

/// Opens a write transaction that takes the write lock at once. A deferred one that reads
/// first cannot wait for another process's writer when it upgrades (SQLite answers BUSY at
/// once to avoid a deadlock); an immediate one waits its turn under the busy timeout.
fn write_transaction(c: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    c.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn write_definition(
    tx: &Transaction<'_>,
    name: &str,
    definition: &DatasetDefinition,
) -> Result<()> {
    tx.execute(
        "UPDATE datasets SET kind = ?2, granularity = ?3, time_zone = ?4, filter = ?5 WHERE name = ?1",
        params![
            name,
            definition.kind.as_str(),
            definition.granularity.to_string(),
            definition.time_zone.name(),
            definition.filter_json(),
        ],
    )?;
    Ok(())
}

/// The typed definition columns, in the order [`definition_from_row`] reads them from `at`.
pub(crate) const DEFINITION_COLUMNS: &str = "kind, granularity, time_zone, filter";

pub(crate) fn definition_from_row(
    dataset: &str,
    row: &rusqlite::Row<'_>,
    at: usize,
) -> Result<DatasetDefinition> {
    let text = |i: usize| row.get::<_, Option<String>>(at + i);
    let (kind, granularity, time_zone, filter) = (text(0)?, text(1)?, text(2)?, text(3)?);
    DatasetDefinition::from_columns(
        dataset,
        kind.as_deref(),
        granularity.as_deref(),
        time_zone.as_deref(),
        filter.as_deref(),
    )
}

struct StoredDataset {
    definition: String,
    dimensions: Vec<String>,
    metrics: Vec<String>,
}

fn stored_dataset(tx: &Transaction<'_>, name: &str) -> Result<Option<StoredDataset>> {
    let row = tx
        .query_row(
            "SELECT definition, dimensions, metrics FROM datasets WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(definition, dimensions, metrics)| StoredDataset {
        definition,
        dimensions: serde_json::from_str(&dimensions).unwrap_or_default(),
        metrics: serde_json::from_str(&metrics).unwrap_or_default(),
    }))
}

/// The table's columns, quoted, in table order: the interval bounds, dimensions, metric columns.
pub(crate) fn column_names(spec: &TableSpec) -> Vec<String> {
    let mut names = vec!["interval_start".to_string(), "interval_end".to_string()];
    names.extend(spec.dimension_columns().iter().map(|c| quote(c)));
    names.extend(spec.metric_columns().iter().map(|c| quote(&c.column)));
    names
}

/// `CREATE TABLE`'s column list for the dataset's table (and its per-day rollup).
pub(crate) fn column_definitions(spec: &TableSpec) -> String {
    let mut columns = vec![
        "interval_start TEXT NOT NULL".to_string(),
        "interval_end TEXT NOT NULL".to_string(),
    ];
    columns.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("{} TEXT", quote(c))),
    );
    columns.extend(
        spec.metric_columns()
            .iter()
            .map(|c| format!("{} {}", quote(&c.column), c.sql_type)),
    );
    columns.join(", ")
}

fn create_table(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let table = quote(&spec.name);
    tx.execute_batch(&format!(
        "CREATE TABLE {table} ({});",
        column_definitions(spec)
    ))?;
    let mut key = vec!["interval_start".to_string()];
    key.extend(
        spec.dimension_columns()
            .iter()
            .map(|c| format!("ifnull({}, '')", quote(c))),
    );
    let index = quote(&format!("{}_key", spec.name));
    tx.execute_batch(&format!(
        "CREATE UNIQUE INDEX {index} ON {table} ({});",
        key.join(", ")
    ))?;
    create_kpi_view(tx, spec)
}

fn drop_table(tx: &Transaction<'_>, name: &str) -> Result<()> {
    days::drop(tx, name)?;
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {}; DROP TABLE IF EXISTS {};",
        quote(&format!("{name}_kpi")),
        quote(name)
    ))?;
    Ok(())
}

/// The figures people read, derived from sums and counts (never an average of averages).
fn kpi_expressions(spec: &TableSpec) -> Vec<String> {
    let has = |m: &str| spec.metrics.iter().any(|x| x == m);
    let mut out = Vec::new();
    if has("nOffered") {
        out.push("n_offered AS offered".to_string());
    }
    if has("tAnswered") {
        out.push("t_answered_count AS answered".to_string());
    }
    if has("tAbandon") {
        out.push("t_abandon_count AS abandoned".to_string());
    }
    if has("nOffered") && has("tAnswered") {
        out.push("1.0 * t_answered_count / NULLIF(n_offered, 0) AS answer_rate".to_string());
    }
    if has("nOffered") && has("tAbandon") {
        out.push("1.0 * t_abandon_count / NULLIF(n_offered, 0) AS abandon_rate".to_string());
    }
    let averages = [
        ("tAnswered", "t_answered", "avg_speed_of_answer_s"),
        ("tHandle", "t_handle", "avg_handle_s"),
        ("tTalk", "t_talk", "avg_talk_s"),
        ("tHeld", "t_held", "avg_hold_s"),
        ("tAcw", "t_acw", "avg_acw_s"),
        ("tWait", "t_wait", "avg_wait_s"),
        ("tAbandon", "t_abandon", "avg_abandon_wait_s"),
    ];
    for (metric, column, alias) in averages {
        if has(metric) {
            out.push(format!(
                "{column}_sum_ms / 1000.0 / NULLIF({column}_count, 0) AS {alias}"
            ));
        }
    }
    if has("oServiceLevel") {
        out.push(
            "1.0 * o_service_level_numerator / NULLIF(o_service_level_denominator, 0) AS service_level".to_string(),
        );
    }
    out
}

fn create_kpi_view(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let mut select = vec!["interval_start".to_string(), "interval_end".to_string()];
    select.extend(spec.dimension_columns().iter().map(|c| quote(c)));
    select.extend(kpi_expressions(spec));
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {view}; CREATE VIEW {view} AS SELECT {} FROM {};",
        select.join(", "),
        quote(&spec.name),
        view = quote(&spec.kpi_view_name()),
    ))?;
    Ok(())
}

fn forget_history(tx: &Transaction<'_>, name: &str) -> Result<()> {
    tx.execute("DELETE FROM windows WHERE dataset = ?1", [name])?;
    tx.execute("DELETE FROM watermarks WHERE dataset = ?1", [name])?;
    Ok(())
}

fn record_dataset(tx: &Transaction<'_>, spec: &TableSpec) -> Result<()> {
    let now = now_text();
    tx.execute(
        "INSERT INTO datasets (name, definition, dimensions, metrics, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, dimensions = excluded.dimensions,
             metrics = excluded.metrics, updated_at = excluded.updated_at",
        params![
            spec.name,
            spec.definition.fingerprint(),
            serde_json::to_string(&spec.dimensions).expect("strings serialize"),
            serde_json::to_string(&spec.metrics).expect("strings serialize"),
            now
        ],
    )?;
    write_definition(tx, &spec.name, &spec.definition)
}

fn migrate_metrics(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    stored: &StoredDataset,
) -> Result<DatasetChange> {
    let added: Vec<String> = spec
        .metrics
        .iter()
        .filter(|m| !stored.metrics.contains(m))
        .cloned()
        .collect();
    let dropped: Vec<String> = stored
        .metrics
        .iter()
        .filter(|m| !spec.metrics.contains(m))
        .cloned()
        .collect();
    let old_spec = TableSpec {
        metrics: stored.metrics.clone(),
        ..spec.clone()
    };
    let table = quote(&spec.name);
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS {};",
        quote(&spec.kpi_view_name())
    ))?;
    let mut tables = vec![table];
    if days::exists(tx, &spec.name)? {
        tables.push(quote(&days::day_table(&spec.name)));
    }
    for table in &tables {
        for column in old_spec
            .metric_columns()
            .iter()
            .filter(|c| dropped.contains(&c.metric))
        {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} DROP COLUMN {};",
                quote(&column.column)
            ))?;
        }
        for column in spec
            .metric_columns()
            .iter()
            .filter(|c| added.contains(&c.metric))
        {
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {} {};",
                quote(&column.column),
                column.sql_type
            ))?;
        }
    }
    create_kpi_view(tx, spec)?;
    if !added.is_empty() {
        forget_history(tx, &spec.name)?;
    }
    Ok(DatasetChange::Migrated { added, dropped })
}

fn ensure_dataset_in(tx: &Transaction<'_>, spec: &TableSpec) -> Result<DatasetChange> {
    let change = match stored_dataset(tx, &spec.name)? {
        None => {
            drop_table(tx, &spec.name)?;
            create_table(tx, spec)?;
            DatasetChange::Created
        }
        Some(stored)
            if stored.definition == spec.definition.fingerprint()
                && stored.dimensions == spec.dimensions =>
        {
            if stored.metrics == spec.metrics {
                days::ensure(tx, spec)?;
                return Ok(DatasetChange::Unchanged);
            }
            migrate_metrics(tx, spec, &stored)?
        }
        Some(stored) => {
            let reason = if stored.dimensions != spec.dimensions {
                format!(
                    "groupBy changed from {:?} to {:?}",
                    stored.dimensions, spec.dimensions
                )
            } else {
                format!(
                    "definition changed from `{}` to `{}`",
                    stored.definition,
                    spec.definition.fingerprint()
                )
            };
            drop_table(tx, &spec.name)?;
            create_table(tx, spec)?;
            forget_history(tx, &spec.name)?;
            DatasetChange::Rebuilt { reason }
        }
    };
    days::ensure(tx, spec)?;
    record_dataset(tx, spec)?;
    Ok(change)
}

fn dataset_spec(tx: &Transaction<'_>, name: &str) -> Result<TableSpec> {
    let stored =
        stored_dataset(tx, name)?.ok_or_else(|| StoreError::UnknownDataset(name.to_string()))?;
    let definition = tx.query_row(
        &format!("SELECT {DEFINITION_COLUMNS} FROM datasets WHERE name = ?1"),
        [name],
        |r| Ok(definition_from_row(name, r, 0)),
    )??;
    Ok(TableSpec {
        name: name.to_string(),
        dimensions: stored.dimensions,
        metrics: stored.metrics,
        definition,
    })
}

/// Rows per INSERT statement, largest first. A bucket's rows are written with as few
/// executions as these sizes allow; each size stays prepared. Kept small enough that a
/// statement's bound text values fit SQLite's per-connection lookaside memory.
const CHUNK_SIZES: [usize; 4] = [32, 8, 2, 1];

/// Appends `?n` without going through `fmt` (a window's statements have thousands of them).
fn push_parameter(sql: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    sql.push('?');
    sql.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
}

/// A multi-row INSERT whose rows all share one bucket: its bounds are parameters 1 and 2, bound
/// once per bucket instead of once per row. `OR FAIL`: a failing row (a duplicate key) fails the
/// statement without SQLite keeping a statement journal to undo the statement's earlier rows;
/// the error rolls the whole window's transaction back anyway.
fn insert_sql(table: &str, names: &[String], rows: usize) -> String {
    let per_row = names.len() - 2;
    let mut sql = format!("INSERT OR FAIL INTO {table} ({}) VALUES ", names.join(", "));
    sql.reserve(rows * per_row * 6);
    let mut next = 3;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(?1, ?2" } else { ", (?1, ?2" });
        for _ in 0..per_row {
            sql.push_str(", ");
            push_parameter(&mut sql, next);
            next += 1;
        }
        sql.push(')');
    }
    sql
}

fn check_row(
    spec: &TableSpec,
    write: &WindowWrite<'_>,
    row: &AggregateRow,
    width: (usize, usize),
) -> Result<()> {
    if row.group.len() != width.0 || row.values.len() != width.1 {
        return Err(StoreError::RowShape {
            dataset: spec.name.clone(),
            interval: row.interval.to_string(),
            got: row.group.len() + row.values.len(),
            expected: width.0 + width.1,
        });
    }
    if !write.window.contains(row.interval.start) {
        return Err(StoreError::RowOutsideWindow {
            row: row.interval.to_string(),
            window: write.window.to_string(),
        });
    }
    Ok(())
}

/// Binds one row's group and values from parameter `first` on. Kept out of line: so rusqlite's
/// binding code is inlined here, in a small function, whatever the caller grows into (the write
/// path measured 7% more instructions when it was not).
#[inline(never)]
fn bind_row(
    insert: &mut rusqlite::CachedStatement<'_>,
    first: usize,
    row: &AggregateRow,
) -> Result<()> {
    let mut index = first;
    for group in &row.group {
        insert.raw_bind_parameter(index, group.as_deref())?;
        index += 1;
    }
    for value in &row.values {
        match value {
            None => insert.raw_bind_parameter(index, rusqlite::types::Null)?,
            Some(Value::Int(i)) => insert.raw_bind_parameter(index, *i)?,
            Some(Value::Real(r)) => insert.raw_bind_parameter(index, *r)?,
        }
        index += 1;
    }
    Ok(())
}

/// The order of the table's unique key index over a group: each dimension with a missing value
/// as the empty string (`ifnull(dimension, '')`).
fn group_order(a: &[Option<String>], b: &[Option<String>]) -> std::cmp::Ordering {
    fn text(value: &Option<String>) -> &str {
        value.as_deref().unwrap_or("")
    }
    a.iter().map(text).cmp(b.iter().map(text))
}

/// FNV-1a, for ranking a window's groups: short strings hashed once per row, where std's
/// SipHash costs 3% of a window write. Lengths and discriminants take one step, not eight.
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_isize(&mut self, value: isize) {
        self.write_u64(value as u64);
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0 ^ value).wrapping_mul(0x0100_0000_01b3);
    }
}

/// The rows in the order of the table's key index (bucket start as stored, to the millisecond,
/// then the group), so the index only grows at its end, where SQLite inserts without a descent
/// from the root.
fn in_key_order(rows: &[AggregateRow]) -> Vec<&AggregateRow> {
    let start = |row: &AggregateRow| row.interval.start.as_millisecond();
    let sorted = rows.windows(2).all(|pair| {
        start(&pair[0])
            .cmp(&start(&pair[1]))
            .then_with(|| group_order(&pair[0].group, &pair[1].group))
            .is_le()
    });
    if sorted {
        return rows.iter().collect();
    }
    // Rank the distinct groups once, then sort the rows on integers.
    let mut ids: std::collections::HashMap<&[Option<String>], u32, _> =
        std::collections::HashMap::with_hasher(std::hash::BuildHasherDefault::<Fnv>::default());
    // (start, group id, row index); rows of one group often follow each other.
    let mut keys: Vec<(i64, u32, u32)> = Vec::with_capacity(rows.len());
    let mut previous: Option<(&[Option<String>], u32)> = None;
    for (index, row) in rows.iter().enumerate() {
        let id = match previous {
            Some((group, id)) if group == &row.group[..] => id,
            _ => {
                let next = ids.len() as u32;
                *ids.entry(&row.group[..]).or_insert(next)
            }
        };
        previous = Some((&row.group[..], id));
        keys.push((start(row), id, index as u32));
    }
    let mut groups: Vec<(&[Option<String>], u32)> = ids.into_iter().collect();
    groups.sort_unstable_by(|a, b| group_order(a.0, b.0));
    let mut rank = vec![0u32; groups.len()];
    for (position, (_, id)) in groups.iter().enumerate() {
        rank[*id as usize] = position as u32;
    }
    // One integer per row: start (from the earliest), rank, index.
    let first = keys.iter().map(|k| k.0).min().unwrap_or(0);
    let mut order: Vec<u128> = keys
        .iter()
        .map(|&(start, id, index)| {
            (u128::from((start - first) as u64) << 64)
                | (u128::from(rank[id as usize]) << 32)
                | u128::from(index)
        })
        .collect();
    order.sort_unstable();
    order
        .into_iter()
        .map(|key| &rows[(key as u32) as usize])
        .collect()
}

/// Inserts rows given in key order into `table` (quoted), with the columns `names` (the two
/// interval bounds first), a bucket's rows in as few multi-row statements as [`CHUNK_SIZES`] allow.
pub(crate) fn insert_by_bucket(
    tx: &Transaction<'_>,
    table: &str,
    names: &[String],
    rows: &[&AggregateRow],
) -> Result<()> {
    let per_row = names.len() - 2;
    let mut statements = Vec::with_capacity(CHUNK_SIZES.len());
    for size in CHUNK_SIZES {
        let insert = tx.prepare_cached(&insert_sql(table, names, size))?;
        // Bindings outlive an execution: a statement's bounds are rebound only for a new bucket.
        statements.push((size, None::<Interval>, insert));
    }
    for bucket in rows.chunk_by(|a, b| a.interval == b.interval) {
        let interval = bucket[0].interval;
        let mut bounds: Option<(String, String)> = None;
        let mut rest = bucket;
        while !rest.is_empty() {
            let (size, bound, insert) = statements
                .iter_mut()
                .find(|(size, _, _)| *size <= rest.len())
                .expect("the smallest statement has one row");
            let (chunk, tail) = rest.split_at(*size);
            if *bound != Some(interval) {
                let (start, end) = bounds.get_or_insert_with(|| {
                    (format_instant(interval.start), format_instant(interval.end))
                });
                insert.raw_bind_parameter(1, start.as_str())?;
                insert.raw_bind_parameter(2, end.as_str())?;
                *bound = Some(interval);
            }
            for (r, row) in chunk.iter().enumerate() {
                bind_row(insert, 3 + r * per_row, row)?;
            }
            insert.raw_execute()?;
            rest = tail;
        }
    }
    Ok(())
}

fn replace_rows(tx: &Transaction<'_>, spec: &TableSpec, write: &WindowWrite<'_>) -> Result<usize> {
    let table = quote(&spec.name);
    let (start, end) = (
        format_instant(write.window.start),
        format_instant(write.window.end),
    );
    tx.execute(
        &format!("DELETE FROM {table} WHERE interval_start >= ?1 AND interval_start < ?2"),
        params![start, end],
    )?;
    let width = (spec.dimensions.len(), spec.metric_columns().len());
    let names = column_names(spec);
    for row in write.rows {
        check_row(spec, write, row, width)?;
    }
    let rows = in_key_order(write.rows);
    insert_by_bucket(tx, &table, &names, &rows)?;
    if let Some(grid) = DayGrid::of(spec) {
        days::refresh(tx, spec, &names, &grid, write.window, &rows)?;
    }
    Ok(write.rows.len())
}

/// Replaces the window's rows with `pages`, inserted one page at a time as they arrive, so no
/// more than a page is held in memory; the window's days are then summed by SQLite from the
/// rows written. Any error (a bad row, a page that did not arrive) leaves the transaction to
/// roll back: nothing of the window is written.
fn replace_rows_by_page(
    tx: &Transaction<'_>,
    spec: &TableSpec,
    write: &WindowWrite<'_>,
    pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
) -> Result<usize> {
    let table = quote(&spec.name);
    tx.execute(
        &format!("DELETE FROM {table} WHERE interval_start >= ?1 AND interval_start < ?2"),
        params![
            format_instant(write.window.start),
            format_instant(write.window.end)
        ],
    )?;
    let width = (spec.dimensions.len(), spec.metric_columns().len());
    let names = column_names(spec);
    let mut written = 0;
    for page in pages {
        let page = page?;
        for row in &page {
            check_row(spec, write, row, width)?;
        }
        insert_by_bucket(tx, &table, &names, &in_key_order(&page))?;
        written += page.len();
    }
    if let Some(grid) = DayGrid::of(spec) {
        days::refresh_from_table(tx, spec, &grid, write.window)?;
    }
    Ok(written)
}

fn log_window_rows(tx: &Transaction<'_>, write: &WindowWrite<'_>, rows: usize) -> Result<()> {
    tx.execute(
        "INSERT INTO windows (dataset, window_start, window_end, rows, settled, run_id, written_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (dataset, window_start) DO UPDATE SET window_end = excluded.window_end, rows = excluded.rows,
             settled = excluded.settled, run_id = excluded.run_id, written_at = excluded.written_at",
        params![
            write.dataset,
            format_instant(write.window.start),
            format_instant(write.window.end),
            rows as i64,
            write.settled,
            write.run_id,
            now_text()
        ],
    )?;
    Ok(())
}

/// Moves the watermark across every settled window that covers where it stands, so it only
/// ever crosses a gap-free run of settled windows (whatever order they were written in).
fn advance_watermark(tx: &Transaction<'_>, dataset: &str) -> Result<Option<Timestamp>> {
    let Some(mut mark) = tx
        .query_row(
            "SELECT complete_through FROM watermarks WHERE dataset = ?1",
            [dataset],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let original = mark.clone();
    let mut covering = tx.prepare_cached(
        "SELECT max(window_end) FROM windows
         WHERE dataset = ?1 AND settled = 1 AND window_start <= ?2 AND window_end > ?2",
    )?;
    while let Some(end) =
        covering.query_row(params![dataset, mark], |r| r.get::<_, Option<String>>(0))?
    {
        mark = end;
    }
    if mark != original {
        tx.execute(
            "UPDATE watermarks SET complete_through = ?2, updated_at = ?3 WHERE dataset = ?1",
            params![dataset, mark, now_text()],
        )?;
    }
    parse_instant(mark).map(Some)
}

fn directory_rows(tx: &Transaction<'_>, directory: Directory<'_>) -> Result<usize> {
    match directory {
        Directory::Queues(queues) => {
            tx.execute("DELETE FROM queues", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO queues (id, name, division_id, division_name, service_level_percentage,
                 service_level_duration_ms, member_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for q in queues {
                let sl = q
                    .media_settings
                    .as_ref()
                    .and_then(|m| m.call.as_ref())
                    .and_then(|c| c.service_level.as_ref());
                let division = q.division.as_ref();
                insert.execute(params![
                    q.id,
                    q.name,
                    division.map(|d| &d.id),
                    division.and_then(|d| d.name.as_ref()),
                    sl.map(|s| s.percentage),
                    sl.map(|s| s.duration_ms),
                    q.member_count
                ])?;
            }
            Ok(queues.len())
        }
        Directory::Users(users) => {
            tx.execute("DELETE FROM users", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO users (id, name, email, state, division_id, division_name, team_id, team_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for u in users {
                let (division, team) = (u.division.as_ref(), u.team.as_ref());
                insert.execute(params![
                    u.id,
                    u.name,
                    u.email,
                    u.state,
                    division.map(|d| &d.id),
                    division.and_then(|d| d.name.as_ref()),
                    team.map(|t| &t.id),
                    team.and_then(|t| t.name.as_ref())
                ])?;
            }
            Ok(users.len())
        }
        Directory::WrapupCodes(codes) => {
            tx.execute("DELETE FROM wrapup_codes", [])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO wrapup_codes (id, name, division_id) VALUES (?1, ?2, ?3)",
            )?;
            for c in codes {
                insert.execute(params![c.id, c.name, c.division.as_ref().map(|d| &d.id)])?;
            }
            Ok(codes.len())
        }
    }
}

impl SqliteStore {
    /// One window in one transaction; under a lease, the fencing check comes first, inside it.
    fn write_window_in(
        &self,
        write: &WindowWrite<'_>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        self.write_window_with(write, lease, |tx, spec| replace_rows(tx, spec, write))
    }

    /// One window in one transaction: the fencing check first, then `rows` writes the rows
    /// (returning how many), then the log, the writer and the watermark.
    fn write_window_with(
        &self,
        write: &WindowWrite<'_>,
        lease: Option<&LeaseToken>,
        rows: impl FnOnce(&Transaction<'_>, &TableSpec) -> Result<usize>,
    ) -> Result<WindowOutcome> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let writer = match lease {
                Some(lease) => Some(leases::check(&tx, lease, Timestamp::now())?),
                None => None,
            };
            let spec = dataset_spec(&tx, write.dataset)?;
            let rows_written = rows(&tx, &spec)?;
            log_window_rows(&tx, write, rows_written)?;
            record_writer(&tx, write, lease, writer)?;
            let complete_through = advance_watermark(&tx, write.dataset)?;
            tx.commit()?;
            Ok(WindowOutcome {
                rows_written,
                complete_through,
            })
        })
    }
}

/// The window log's note of who wrote the window under which lease (none without one).
fn record_writer(
    tx: &Transaction<'_>,
    write: &WindowWrite<'_>,
    lease: Option<&LeaseToken>,
    writer: Option<LeaseHolder>,
) -> Result<()> {
    tx.execute(
        "UPDATE windows SET lease_token = ?3, writer = ?4 WHERE dataset = ?1 AND window_start = ?2",
        params![
            write.dataset,
            format_instant(write.window.start),
            lease.map(|l| l.token),
            writer.map(|w| w.to_string())
        ],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn ensure_dataset(&self, spec: &TableSpec) -> Result<DatasetChange> {
        if !is_valid_identifier(&spec.name) || is_reserved(&spec.name) {
            return Err(StoreError::InvalidName(spec.name.clone()));
        }
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let change = ensure_dataset_in(&tx, spec)?;
            tx.commit()?;
            Ok(change)
        })
    }

    fn initialize_watermark(&self, dataset: &str, start: Timestamp) -> Result<Timestamp> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            tx.execute(
                "INSERT INTO watermarks (dataset, complete_through, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (dataset) DO NOTHING",
                params![dataset, format_instant(start), now_text()],
            )?;
            let mark = advance_watermark(&tx, dataset)?.expect("watermark row was just ensured");
            tx.commit()?;
            Ok(mark)
        })
    }

    fn watermark(&self, dataset: &str) -> Result<Option<Timestamp>> {
        self.with_writer(|c| {
            let value: Option<String> = c
                .query_row(
                    "SELECT complete_through FROM watermarks WHERE dataset = ?1",
                    [dataset],
                    |r| r.get(0),
                )
                .optional()?;
            value.map(parse_instant).transpose()
        })
    }

    fn write_window(&self, write: &WindowWrite<'_>) -> Result<WindowOutcome> {
        self.write_window_in(write, None)
    }

    fn write_window_leased(
        &self,
        write: &WindowWrite<'_>,
        lease: &LeaseToken,
    ) -> Result<WindowOutcome> {
        if lease.dataset != write.dataset {
            return Err(StoreError::LeaseLost {
                dataset: write.dataset.to_string(),
                token: lease.token,
                now_held_by: None,
            });
        }
        self.write_window_in(write, Some(lease))
    }

    fn acquire_lease(
        &self,
        dataset: &str,
        claimant: &LeaseHolder,
        ttl: std::time::Duration,
    ) -> Result<Acquired> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let acquired = leases::acquire(&tx, dataset, claimant, ttl, Timestamp::now())?;
            tx.commit()?;
            Ok(acquired)
        })
    }

    fn renew_lease(&self, lease: &LeaseToken, ttl: std::time::Duration) -> Result<()> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            leases::renew(&tx, lease, ttl, Timestamp::now())?;
            tx.commit()?;
            Ok(())
        })
    }

    fn release_lease(&self, lease: &LeaseToken) -> Result<()> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            leases::release(&tx, lease, Timestamp::now())?;
            tx.commit()?;
            Ok(())
        })
    }

    fn lease_holder(&self, dataset: &str) -> Result<Option<Lease>> {
        self.with_writer(|c| leases::holder(c, dataset, Timestamp::now()))
    }
    fn write_window_pages(
        &self,
        write: &WindowWrite<'_>,
        pages: &mut dyn Iterator<Item = Result<Vec<AggregateRow>>>,
        lease: Option<&LeaseToken>,
    ) -> Result<WindowOutcome> {
        // The first page (an async job's wait comes before it) is awaited before the writer is
        // taken, so other writes are not held up while a job runs.
        let first = pages.next();
        let mut none = std::iter::empty();
        let rest: &mut dyn Iterator<Item = _> = if first.is_some() { pages } else { &mut none };
        let mut pages = first.into_iter().chain(rest);
        self.write_window_with(write, lease, |tx, spec| {
            replace_rows_by_page(tx, spec, write, &mut pages)
        })
    }

    fn windows(&self, dataset: &str) -> Result<Vec<WindowRecord>> {
        self.with_writer(|c| {
            let mut statement = c.prepare(
                "SELECT window_start, window_end, rows, settled, written_at FROM windows
                 WHERE dataset = ?1 ORDER BY window_start",
            )?;
            let raw = statement
                .query_map([dataset], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            raw.into_iter()
                .map(|(start, end, rows, settled, written_at)| {
                    Ok(WindowRecord {
                        window: Interval::new(parse_instant(start)?, parse_instant(end)?),
                        rows: rows as u64,
                        settled,
                        written_at: parse_instant(written_at)?,
                    })
                })
                .collect()
        })
    }

    fn replace_directory(&self, directory: Directory<'_>) -> Result<usize> {
        self.with_writer(|c| {
            let tx = write_transaction(c)?;
            let n = directory_rows(&tx, directory)?;
            tx.commit()?;
            Ok(n)
        })
    }

    fn start_run(&self, command: &str) -> Result<i64> {
        self.with_writer(|c| {
            c.execute(
                "INSERT INTO runs (command, started_at, status) VALUES (?1, ?2, ?3)",
                params![command, now_text(), RunStatus::Running.as_str()],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    fn finish_run(&self, run_id: i64, summary: &RunSummary) -> Result<()> {
        self.with_writer(|c| {
            c.execute(
                "UPDATE runs SET finished_at = ?2, status = ?3, windows = ?4, rows = ?5, requests = ?6, error = ?7
                 WHERE id = ?1",
                params![
                    run_id,
                    now_text(),
                    summary.status.as_str(),
                    summary.windows as i64,
                    summary.rows as i64,
                    summary.requests as i64,
                    summary.error
                ],
            )?;
            Ok(())
        })
    }

    fn dataset_status(&self) -> Result<Vec<DatasetStatus>> {
        self.with_writer(|c| {
            let names: Vec<String> = c
                .prepare("SELECT name FROM datasets ORDER BY name")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            names.into_iter().map(|name| status_of(c, name)).collect()
        })
    }
}

pub(crate) fn status_of(c: &Connection, name: String) -> Result<DatasetStatus> {
    let rows: i64 = c.query_row(&format!("SELECT count(*) FROM {}", quote(&name)), [], |r| {
        r.get(0)
    })?;
    let progress = progress_of(c, &name)?;
    Ok(DatasetStatus {
        name,
        complete_through: progress.complete_through,
        rows: rows as u64,
        windows: progress.windows,
        last_written_at: progress.last_written_at,
    })
}

/// A dataset's watermark and window log, without counting its rows (a full index scan).
pub(crate) struct Progress {
    pub complete_through: Option<Timestamp>,
    pub windows: u64,
    pub last_written_at: Option<Timestamp>,
}

pub(crate) fn progress_of(c: &Connection, name: &str) -> Result<Progress> {
    let (windows, last): (i64, Option<String>) = c.query_row(
        "SELECT count(*), max(written_at) FROM windows WHERE dataset = ?1",
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mark: Option<String> = c
        .query_row(
            "SELECT complete_through FROM watermarks WHERE dataset = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Progress {
        complete_through: mark.map(parse_instant).transpose()?,
        windows: windows as u64,
        last_written_at: last.map(parse_instant).transpose()?,
    })
}
