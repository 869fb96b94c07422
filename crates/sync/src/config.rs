//! `genesys-bi.toml`: the Genesys connection, the store, and the datasets to keep in sync.
//! Every fault is reported with its dataset and field, all at once, before anything runs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use genesys::Granularity;
use genesys::aggregates::{AggregatesFamily, AggregationQuery};
use genesys::filter::{Clause, Filter, FilterType, Predicate};
use genesys::users_catalog;
use jiff::{SignedDuration, Span, Timestamp};
use serde::Deserialize;

pub use crate::faults::{ConfigError, ConfigFault};
use crate::iso_duration::parse_duration;
use crate::plan::{WindowSpan, check_window};

pub const ENV_CONFIG: &str = "GENESYS_BI_CONFIG";
pub const DEFAULT_CONFIG_FILE: &str = "genesys-bi.toml";

/// What `genesys-bi init` writes: every setting at its default, commented out, with its meaning.
pub const TEMPLATE: &str = include_str!("genesys-bi.example.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Genesys connection (client id, region or api_base, rate budget…); secrets may come
    /// from the environment instead.
    #[serde(default)]
    pub genesys: toml::Table,
    #[serde(default)]
    pub store: StoreConfig,
    /// How the BI server listens: address, HTTPS files, time-outs, connection cap.
    #[serde(default)]
    pub server: crate::server_settings::ServerSection,
    /// Dataset definitions; when absent, the defaults (`queue_performance`,
    /// `agent_performance`, `wrapup_performance`). A dataset may not take a directory table's
    /// name (`queues`, `users`, `wrapup_codes`).
    #[serde(default = "default_datasets")]
    pub datasets: Vec<DatasetConfig>,
    /// Directory tables kept alongside (`queues`, `users`, `wrapup_codes`).
    #[serde(default = "default_directories")]
    pub directories: Vec<DirectoryName>,
    /// How often `run` refreshes the directories (ISO-8601, e.g. PT6H); see
    /// [`Config::directories_every`].
    #[serde(default = "default_directories_every")]
    pub directories_every: String,
    /// Rows fetched but not yet written, at most, shared by every window a pass has in flight:
    /// what bounds the sync's memory whatever the size of the org (see
    /// [`crate::engine::RowBudget`]).
    #[serde(default = "default_rows_in_flight")]
    pub rows_in_flight: usize,
    /// Where committed windows are published as Parquet; none without `[lake]` (see
    /// [`crate::lake_config`]).
    #[serde(default)]
    pub lake: Option<crate::lake_config::LakeSection>,
    /// The file this was read from, absolute; `None` for the built-in defaults.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Path of the embedded SQLite file (the store unless `postgres` is set).
    #[serde(default = "default_sqlite_path")]
    pub sqlite: PathBuf,
    /// A PostgreSQL database instead (`postgres://user@host:5432/db`); the password comes
    /// from `GENESYS_BI_POSTGRES_PASSWORD` or `PGPASSWORD`, never from this file's text.
    #[serde(default)]
    pub postgres: Option<String>,
    /// The PostgreSQL schema the store's tables live in (created if missing and allowed).
    #[serde(default = "default_schema")]
    pub schema: String,
    /// TLS to PostgreSQL: `disable`, `prefer` (the default), `require` or `verify-full`; wins
    /// over an `sslmode` in the URL.
    #[serde(default)]
    pub sslmode: Option<String>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            sqlite: default_sqlite_path(),
            postgres: None,
            schema: default_schema(),
            sslmode: None,
        }
    }
}

/// Where the PostgreSQL password is looked for, in order.
pub const POSTGRES_PASSWORD_VARIABLES: [&str; 2] = ["GENESYS_BI_POSTGRES_PASSWORD", "PGPASSWORD"];

impl StoreConfig {
    /// The store these settings name, parsed once: PostgreSQL when `postgres` is set (its
    /// password from the first of [`POSTGRES_PASSWORD_VARIABLES`] that `env` has), else the
    /// SQLite file. A fault names its `store.` field.
    pub fn store(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<warehouse::StoreConfig, ConfigError> {
        let Some(url) = &self.postgres else {
            return Ok(warehouse::StoreConfig::sqlite(&self.sqlite));
        };
        let in_field = |e: warehouse::postgres::ConfigError| {
            ConfigError::Invalid(vec![fault(
                None,
                &format!("store.{}", e.field()),
                e.to_string(),
            )])
        };
        let ssl_mode = self
            .sslmode
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(in_field)?;
        let password = POSTGRES_PASSWORD_VARIABLES
            .iter()
            .find_map(|name| env(name).filter(|p| !p.is_empty()));
        let config =
            warehouse::PostgresConfig::parse(url, &self.schema, password.as_deref(), ssl_mode)
                .map_err(in_field)?;
        Ok(warehouse::StoreConfig::postgres(config))
    }
}

fn default_schema() -> String {
    warehouse::postgres::DEFAULT_SCHEMA.to_string()
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("genesys-bi.db")
}

fn default_rows_in_flight() -> usize {
    crate::engine::RowBudget::DEFAULT_ROWS
}

fn default_directories_every() -> String {
    "PT6H".into()
}

fn default_directories() -> Vec<DirectoryName> {
    DirectoryName::ALL.to_vec()
}

/// A directory table the store keeps beside the datasets, named as the config and the store
/// name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryName {
    Queues,
    Users,
    WrapupCodes,
    /// The presence definitions: names of the ids `agent_org_presence` holds.
    Presences,
}

impl DirectoryName {
    pub const ALL: [DirectoryName; 4] = [
        Self::Queues,
        Self::Users,
        Self::WrapupCodes,
        Self::Presences,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queues => "queues",
            Self::Users => "users",
            Self::WrapupCodes => "wrapup_codes",
            Self::Presences => "presences",
        }
    }

    /// The Genesys listing this directory is read from.
    pub fn listing(self) -> genesys::client::DirectoryKind {
        use genesys::client::DirectoryKind;
        match self {
            Self::Queues => DirectoryKind::Queues,
            Self::Users => DirectoryKind::Users,
            Self::WrapupCodes => DirectoryKind::WrapupCodes,
            Self::Presences => DirectoryKind::Presences,
        }
    }
}

impl fmt::Display for DirectoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a dataset's windows are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryMode {
    /// The synchronous query, until one window comes back larger than the job threshold or is
    /// refused as too large; from then on, async jobs for the rest of the run.
    #[default]
    Auto,
    Query,
    Job,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    /// Conversation aggregates: buckets of metrics by groups.
    Aggregates,
    /// Conversation details: one row per conversation (`warehouse::records`).
    Details,
    /// Users aggregates: buckets of presence and routing status time by user.
    Users,
    /// Users details: one row per presence or routing status interval of a user.
    UsersDetails,
    /// Conversation details, drilled down: one row per participant of a conversation.
    Participants,
    /// Conversation details, drilled down: one row per session of a participant.
    Sessions,
    /// Conversation details, drilled down: one row per segment of a session.
    Segments,
}

impl DatasetKind {
    /// Whether its rows are records (one per conversation or status interval), not buckets.
    pub fn holds_records(self) -> bool {
        !matches!(self, DatasetKind::Aggregates | DatasetKind::Users)
    }

    /// The aggregates API of its family (a record kind's: the one its details belong to).
    pub fn family(self) -> AggregatesFamily {
        match self {
            DatasetKind::Users | DatasetKind::UsersDetails => AggregatesFamily::Users,
            DatasetKind::Aggregates
            | DatasetKind::Details
            | DatasetKind::Participants
            | DatasetKind::Sessions
            | DatasetKind::Segments => AggregatesFamily::Conversations,
        }
    }

    /// The kind the store records for a dataset configured as this.
    pub fn stored(self) -> warehouse::DatasetKind {
        match self {
            DatasetKind::Aggregates => warehouse::DatasetKind::ConversationAggregates,
            DatasetKind::Details => warehouse::DatasetKind::ConversationDetails,
            DatasetKind::Users => warehouse::DatasetKind::UsersAggregates,
            DatasetKind::UsersDetails => warehouse::DatasetKind::UsersDetails,
            DatasetKind::Participants => warehouse::DatasetKind::ConversationParticipants,
            DatasetKind::Sessions => warehouse::DatasetKind::ConversationSessions,
            DatasetKind::Segments => warehouse::DatasetKind::ConversationSegments,
        }
    }
}

/// A filter value: one value, or several (ORed).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum FilterValues {
    One(String),
    Many(Vec<String>),
}

/// One named, configured pull, as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: DatasetKind,
    /// Aggregates only: record datasets have the columns of their kind.
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub group_by: Vec<String>,
    /// `dimension = "value"` or `dimension = ["a", "b"]`; dimensions are ANDed.
    #[serde(default)]
    pub filter: BTreeMap<String, FilterValues>,
    #[serde(default = "default_granularity")]
    pub granularity: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// How often the scheduler syncs it (ISO-8601 duration).
    #[serde(default = "default_every")]
    pub every: String,
    /// How far behind the watermark each run re-pulls, for late data.
    #[serde(default = "default_lookback")]
    pub lookback: String,
    /// Buckets are pulled only once they ended this long ago.
    #[serde(default = "default_settle")]
    pub settle: String,
    /// How long Genesys may still correct a bucket (it reprocesses data once it is 48 hours
    /// old): a restatement re-pulls what is stored of the last `restate` + `restate_every`, so
    /// each bucket is pulled once more after it is this old (`PT0S`: never).
    #[serde(default = "default_restate")]
    pub restate: String,
    /// How often `run` restates the dataset, counted from its last whole restatement as the
    /// store records it (a dataset never restated: from when `run` started).
    #[serde(default = "default_restate_every")]
    pub restate_every: String,
    /// Where history starts: an instant (`2024-01-01T00:00:00Z`), a date (`2024-01-01`, local
    /// midnight) or a duration back from now (`P30D`).
    #[serde(default = "default_backfill")]
    pub backfill_start: String,
    /// One request's window (P1D, P7D, P1M…); defaults to a local day for sub-day buckets.
    #[serde(default)]
    pub window: Option<String>,
    /// `auto` (default: the synchronous query, switching to async jobs when a window turns out
    /// too large), `query` or `job`.
    #[serde(default)]
    pub query_mode: QueryMode,
}

fn default_kind() -> DatasetKind {
    DatasetKind::Aggregates
}
fn default_granularity() -> String {
    "PT15M".into()
}
fn default_time_zone() -> String {
    "UTC".into()
}
fn default_every() -> String {
    "PT15M".into()
}
fn default_lookback() -> String {
    "PT6H".into()
}
fn default_settle() -> String {
    "PT5M".into()
}
fn default_restate() -> String {
    "P3D".into()
}
fn default_restate_every() -> String {
    "P1D".into()
}
fn default_backfill() -> String {
    "P30D".into()
}

const QUEUE_METRICS: &[&str] = &genesys::catalog::QUEUE_PERFORMANCE_METRICS;
const AGENT_METRICS: &[&str] = &[
    "nConnected",
    "tAnswered",
    "tAlert",
    "tTalk",
    "tHeld",
    "tAcw",
    "tHandle",
    "nTransferred",
];
const WRAPUP_METRICS: &[&str] = &["tHandle", "tAcw", "tTalk"];
const AGENT_STATUS_METRICS: &[&str] = &[
    users_catalog::SYSTEM_PRESENCE,
    users_catalog::AGENT_ROUTING_STATUS,
];

fn aggregate_dataset(name: &str, metrics: &[&str], group_by: &[&str]) -> DatasetConfig {
    DatasetConfig {
        name: name.into(),
        kind: DatasetKind::Aggregates,
        metrics: metrics.iter().map(|m| m.to_string()).collect(),
        group_by: group_by.iter().map(|d| d.to_string()).collect(),
        filter: BTreeMap::new(),
        granularity: default_granularity(),
        time_zone: default_time_zone(),
        every: default_every(),
        lookback: default_lookback(),
        settle: default_settle(),
        restate: default_restate(),
        restate_every: default_restate_every(),
        backfill_start: default_backfill(),
        window: None,
        query_mode: QueryMode::default(),
    }
}

pub fn default_datasets() -> Vec<DatasetConfig> {
    vec![
        aggregate_dataset(
            "queue_performance",
            QUEUE_METRICS,
            &["queueId", "mediaType"],
        ),
        aggregate_dataset("agent_performance", AGENT_METRICS, &["userId", "mediaType"]),
        aggregate_dataset(
            "wrapup_performance",
            WRAPUP_METRICS,
            &["queueId", "wrapUpCode"],
        ),
        DatasetConfig {
            kind: DatasetKind::Users,
            ..aggregate_dataset("agent_status", AGENT_STATUS_METRICS, &["userId"])
        },
        DatasetConfig {
            kind: DatasetKind::Users,
            ..aggregate_dataset(
                "agent_org_presence",
                &[users_catalog::ORGANIZATION_PRESENCE],
                &["userId"],
            )
        },
        record_dataset("agent_status_intervals", DatasetKind::UsersDetails),
        record_dataset("conversations", DatasetKind::Details),
        record_dataset("participants", DatasetKind::Participants),
        record_dataset("sessions", DatasetKind::Sessions),
        record_dataset("segments", DatasetKind::Segments),
    ]
}

/// A record dataset: its columns are its kind's, its windows local days.
fn record_dataset(name: &str, kind: DatasetKind) -> DatasetConfig {
    DatasetConfig {
        kind,
        ..aggregate_dataset(name, &[], &[])
    }
}

/// Where the backfill starts.
#[derive(Debug, Clone)]
pub enum BackfillStart {
    At(Timestamp),
    Ago(Span),
}

/// A dataset whose every field has been checked and parsed.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub name: String,
    pub kind: DatasetKind,
    pub metrics: Vec<String>,
    pub group_by: Vec<String>,
    pub filter: Option<Filter>,
    pub granularity: Granularity,
    /// The IANA name Genesys is sent, with the zone it resolves to.
    pub time_zone: warehouse::NamedTimeZone,
    pub every: SignedDuration,
    pub lookback: SignedDuration,
    pub settle: SignedDuration,
    /// How far back a restatement re-pulls; zero for none.
    pub restate: SignedDuration,
    pub restate_every: SignedDuration,
    pub backfill_start: BackfillStart,
    pub window: WindowSpan,
    pub query_mode: QueryMode,
}

impl DatasetSpec {
    /// The aggregates request for one window.
    pub fn query(&self, window: genesys::Interval) -> AggregationQuery {
        AggregationQuery {
            interval: window.to_string(),
            granularity: Some(self.granularity.to_string()),
            time_zone: Some(self.time_zone.name().to_string()),
            group_by: self.group_by.clone(),
            filter: self.filter.clone(),
            metrics: self.metrics.clone(),
            ..AggregationQuery::default()
        }
    }

    /// The store's view of this dataset; `definition` captures everything that changes what a
    /// row means, so changing it rebuilds the table.
    pub fn table_spec(&self) -> warehouse::TableSpec {
        if let Some(records) =
            warehouse::TableSpec::records(&self.name, self.kind.stored(), self.time_zone.clone())
        {
            return records;
        }
        // A users metric kept one row per qualifier gets the qualifier's dimension column.
        let qualifier_dimensions = self
            .metrics
            .iter()
            .filter_map(|m| users_catalog::qualifier_dimension(m))
            .map(str::to_string);
        warehouse::TableSpec {
            name: self.name.clone(),
            dimensions: self
                .group_by
                .iter()
                .cloned()
                .chain(qualifier_dimensions)
                .collect(),
            metrics: self.metrics.clone(),
            definition: warehouse::DatasetDefinition {
                kind: self.kind.stored(),
                granularity: self.granularity,
                time_zone: self.time_zone.clone(),
                filter: self.filter.clone(),
            },
        }
    }

    pub fn backfill_from(&self, now: Timestamp) -> Timestamp {
        match &self.backfill_start {
            BackfillStart::At(t) => *t,
            BackfillStart::Ago(span) => now
                .to_zoned_datetime(self.time_zone.zone().clone())
                .checked_sub(*span)
                .map(|z| z.timestamp())
                .unwrap_or(now),
        }
    }
}

/// Environment variables that override `[genesys]` settings (secrets belong here).
const GENESYS_ENV: &[(&str, &str)] = &[
    ("GENESYS_CLIENT_ID", "client_id"),
    ("GENESYS_CLIENT_SECRET", "client_secret"),
    ("GENESYS_REGION", "region"),
    ("GENESYS_API_BASE", "api_base"),
    ("GENESYS_LOGIN_BASE", "login_base"),
];

impl Config {
    /// The Genesys client settings: `[genesys]` from the file, overridden by `GENESYS_*`
    /// variables read through `env`.
    pub fn client_config(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<genesys::client::ClientConfig, ConfigError> {
        let mut table = self.genesys.clone();
        for (variable, key) in GENESYS_ENV {
            if let Some(value) = env(variable).filter(|v| !v.trim().is_empty()) {
                table.insert(
                    key.to_string(),
                    toml::Value::String(value.trim().to_string()),
                );
            }
        }
        let mut faults = Vec::new();
        for (variable, key) in &GENESYS_ENV[..2] {
            if !table.contains_key(*key) {
                let message = format!("is missing: set it in [genesys] or through {variable}");
                faults.push(fault(None, &format!("genesys.{key}"), message));
            }
        }
        if !faults.is_empty() {
            return Err(ConfigError::Invalid(faults));
        }
        let config: genesys::client::ClientConfig =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    ConfigError::Invalid(vec![fault(None, "genesys", e.message().to_string())])
                })?;
        config
            .validate()
            .map_err(|e| ConfigError::Invalid(vec![fault(None, "genesys", e.to_string())]))?;
        Ok(config)
    }

    /// The file named by `--config`, else `GENESYS_BI_CONFIG`, else `./genesys-bi.toml` if it
    /// exists, else the defaults. Relative paths in a file are taken from the file's folder;
    /// the defaults' from the working directory.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        load_file(explicit)
    }

    /// Reads `path`; its relative paths (store, TLS files) are made absolute from its folder, so
    /// the file means the same whatever the working directory.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        read_file(path)
    }

    /// Joins every relative path of the config onto `base` (itself made absolute); absolute
    /// paths stay as written. Nothing is canonicalized: the store may not exist yet.
    pub fn resolve_paths_from(&mut self, base: &Path) {
        resolve_paths(ConfigFile::paths_mut(self), base);
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        parse_file(text, path)
    }

    /// How often `run` refreshes the directories.
    pub fn directories_every(&self) -> Result<SignedDuration, String> {
        match parse_duration(&self.directories_every)? {
            d if d.is_zero() => Err(format!(
                "`{}` must be longer than zero",
                self.directories_every
            )),
            d => Ok(d),
        }
    }

    /// Checks every dataset and returns them parsed, or every fault found.
    pub fn dataset_specs(&self) -> Result<Vec<DatasetSpec>, ConfigError> {
        let mut faults = Vec::new();
        let mut specs = Vec::new();
        for (i, dataset) in self.datasets.iter().enumerate() {
            if self.datasets[..i].iter().any(|d| d.name == dataset.name) {
                faults.push(fault(
                    Some(&dataset.name),
                    "name",
                    "is used by another dataset".into(),
                ));
                continue;
            }
            let earlier = self.datasets[..i].iter().map(|d| d.name.as_str());
            if let Some(other) = warehouse::kpi::clashing_name(&dataset.name, earlier) {
                let message = format!(
                    "can't be kept beside dataset `{other}`: both would have a KPI feed named `{}`; rename one of them",
                    warehouse::kpi::daily_kpi_name(
                        dataset.name.strip_suffix("_daily").unwrap_or(&dataset.name)
                    )
                );
                faults.push(fault(Some(&dataset.name), "name", message));
            }
            match check_dataset(dataset) {
                Ok(spec) => specs.push(spec),
                Err(mut found) => faults.append(&mut found),
            }
        }
        if self.rows_in_flight == 0 {
            faults.push(fault(
                None,
                "rows_in_flight",
                "must be at least 1 (it bounds the rows held between fetch and write)".into(),
            ));
        }
        if let Err(message) = self.directories_every() {
            faults.push(fault(None, "directories_every", message));
        }
        if faults.is_empty() {
            Ok(specs)
        } else {
            Err(ConfigError::Invalid(faults))
        }
    }
}

/// What `serve` reads of the config file: the store and `[server]`. The Genesys connection
/// and the datasets are the sync's: they are not read, so a fault there never stops serving.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServingConfig {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub server: crate::server_settings::ServerSection,
    /// The file this was read from, absolute; `None` for the built-in defaults.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

impl ServingConfig {
    /// Found as [`Config::load`] finds the file, with relative paths resolved the same way.
    pub fn load(explicit: Option<&Path>) -> Result<ServingConfig, ConfigError> {
        load_file(explicit)
    }
}

/// A view of the config file: how it names files, and where it was read from.
trait ConfigFile: serde::de::DeserializeOwned {
    /// Every file or folder it names.
    fn paths_mut(&mut self) -> Vec<&mut PathBuf>;
    fn set_file(&mut self, file: PathBuf);
}

impl ConfigFile for Config {
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        store_and_server_paths(&mut self.store, &mut self.server)
    }

    fn set_file(&mut self, file: PathBuf) {
        self.file = Some(file);
    }
}

impl ConfigFile for ServingConfig {
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        store_and_server_paths(&mut self.store, &mut self.server)
    }

    fn set_file(&mut self, file: PathBuf) {
        self.file = Some(file);
    }
}

/// Every file or folder the config names (all in `[store]` and `[server]`); a new path
/// setting is one line here.
fn store_and_server_paths<'a>(
    store: &'a mut StoreConfig,
    server: &'a mut crate::server_settings::ServerSection,
) -> Vec<&'a mut PathBuf> {
    [
        Some(&mut store.sqlite),
        server.tls_cert.as_mut(),
        server.tls_key.as_mut(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn load_file<T: ConfigFile>(explicit: Option<&Path>) -> Result<T, ConfigError> {
    let from_env = std::env::var_os(ENV_CONFIG).map(PathBuf::from);
    match explicit.map(Path::to_path_buf).or(from_env) {
        Some(path) => read_file(&path),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
            read_file(Path::new(DEFAULT_CONFIG_FILE))
        }
        None => {
            let mut config: T = parse_file("", Path::new("(defaults)"))?;
            let here = std::env::current_dir().map_err(|source| ConfigError::Read {
                path: PathBuf::from("."),
                source,
            })?;
            resolve_paths(config.paths_mut(), &here);
            Ok(config)
        }
    }
}

fn read_file<T: ConfigFile>(path: &Path) -> Result<T, ConfigError> {
    let read_error = |source| ConfigError::Read {
        path: path.into(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    let mut config: T = parse_file(&text, path)?;
    // The file was just read, so it exists and canonicalizes.
    let file = std::fs::canonicalize(path).map_err(read_error)?;
    let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    resolve_paths(config.paths_mut(), &folder);
    config.set_file(file);
    Ok(config)
}

fn parse_file<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

fn resolve_paths(paths: Vec<&mut PathBuf>, base: &Path) {
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
    for path in paths {
        if path.is_relative() {
            *path = base.join(&*path);
        }
    }
}

fn fault(dataset: Option<&str>, field: &str, message: String) -> ConfigFault {
    ConfigFault {
        dataset: dataset.map(String::from),
        field: field.into(),
        message,
    }
}

fn parse_backfill(raw: &str, tz: &jiff::tz::TimeZone) -> Result<BackfillStart, String> {
    if raw.starts_with('P') {
        return raw
            .parse::<Span>()
            .map(BackfillStart::Ago)
            .map_err(|e| format!("`{raw}`: {e}"));
    }
    if let Ok(t) = raw.parse::<Timestamp>() {
        return Ok(BackfillStart::At(t));
    }
    let date: jiff::civil::Date = raw
        .parse()
        .map_err(|_| format!("`{raw}` is not an instant (2024-01-01T00:00:00Z), a date (2024-01-01) or a duration (P30D)"))?;
    date.to_zoned_datetime(tz.clone())
        .map(|z| BackfillStart::At(z.timestamp()))
        .map_err(|e| e.to_string())
}

fn build_filter(filter: &BTreeMap<String, FilterValues>) -> Option<Filter> {
    if filter.is_empty() {
        return None;
    }
    let mut result = Filter {
        kind: FilterType::And,
        clauses: Vec::new(),
        predicates: Vec::new(),
    };
    for (dimension, values) in filter {
        match values {
            FilterValues::One(v) => result
                .predicates
                .push(Predicate::dimension_matches(dimension, v)),
            FilterValues::Many(vs) => result.clauses.push(Clause {
                kind: FilterType::Or,
                predicates: vs
                    .iter()
                    .map(|v| Predicate::dimension_matches(dimension, v))
                    .collect(),
            }),
        }
    }
    Some(result)
}

/// The catalog's message starts with the wire field (`metrics: …`); report it under ours.
fn query_fault(name: &str, error: genesys::query::QueryValidationError) -> ConfigFault {
    let text = error.to_string();
    let (wire, message) = text.split_once(": ").unwrap_or(("metrics", &text));
    let field = match wire {
        "groupBy" => "group_by",
        "timeZone" => "time_zone",
        other => other,
    };
    fault(Some(name), field, message.to_string())
}

/// A users metric whose qualifiers are rows (`tOrganizationPresence`: one row per presence)
/// can't share a table with metrics whose qualifiers are columns.
fn rows_metric_alone(name: &str, metrics: &[String]) -> Option<ConfigFault> {
    let rows_metric = metrics
        .iter()
        .find(|m| users_catalog::qualifier_dimension(m).is_some())?;
    (metrics.len() > 1).then(|| {
        let message = format!(
            "{rows_metric} needs a dataset of its own: its presences are org-specific ids, stored one row per presence, not as columns beside {}",
            metrics
                .iter()
                .filter(|m| *m != rows_metric)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        fault(Some(name), "metrics", message)
    })
}

/// What a record dataset may not set: its columns are its kind's. (Its windows may be of any
/// length: one longer than a details job may cover is read by several.)
fn record_faults(d: &DatasetConfig) -> Vec<ConfigFault> {
    let name = d.name.as_str();
    let mut faults = Vec::new();
    let fixed = "is not set for a record dataset (kind `details`, `participants`, `sessions`, `segments` or `users_details`): its columns are its kind's";
    if !d.metrics.is_empty() {
        faults.push(fault(Some(name), "metrics", fixed.into()));
    }
    if !d.group_by.is_empty() {
        faults.push(fault(Some(name), "group_by", fixed.into()));
    }
    if !d.filter.is_empty() {
        faults.push(fault(Some(name), "filter", fixed.into()));
    }
    faults
}

fn check_dataset(d: &DatasetConfig) -> Result<DatasetSpec, Vec<ConfigFault>> {
    let mut faults = Vec::new();
    let name = d.name.as_str();
    if !warehouse::schema::is_valid_identifier(name) {
        faults.push(fault(
            Some(name),
            "name",
            "must be lowercase letters, digits and _, starting with a letter".into(),
        ));
    } else if warehouse::schema::is_reserved(name) {
        let message = format!(
            "`{name}` is the name of one of the store's own tables or views (names ending in _kpi or _daily_kpi are the KPI feeds of other datasets); choose another"
        );
        faults.push(fault(Some(name), "name", message));
    }
    let family = match d.kind {
        DatasetKind::Aggregates => Some(AggregatesFamily::Conversations),
        DatasetKind::Users => Some(AggregatesFamily::Users),
        _ => {
            faults.extend(record_faults(d));
            None
        }
    };
    if d.kind == DatasetKind::Users {
        faults.extend(rows_metric_alone(name, &d.metrics));
    }
    let filter = build_filter(&d.filter);
    let probe = AggregationQuery {
        interval: "2024-01-01T00:00:00Z/2024-01-02T00:00:00Z".into(),
        granularity: Some(d.granularity.clone()),
        time_zone: Some(d.time_zone.clone()),
        group_by: d.group_by.clone(),
        filter: filter.clone(),
        metrics: d.metrics.clone(),
        ..AggregationQuery::default()
    };
    if let Some(Err(e)) = family.map(|f| f.validate(&probe)) {
        faults.push(query_fault(name, e));
    }
    let mut duration = |field: &str, raw: &str| {
        parse_duration(raw)
            .map_err(|m| faults.push(fault(Some(name), field, m)))
            .ok()
    };
    let every = duration("every", &d.every);
    let lookback = duration("lookback", &d.lookback);
    let settle = duration("settle", &d.settle);
    let restate = duration("restate", &d.restate);
    let restate_every = duration("restate_every", &d.restate_every);
    if restate.is_some_and(|r| !r.is_zero()) && restate_every.is_some_and(|e| e.is_zero()) {
        faults.push(fault(
            Some(name),
            "restate_every",
            "must be longer than zero while `restate` is (restate = \"PT0S\" turns it off)".into(),
        ));
    }
    let granularity = d.granularity.parse::<Granularity>().ok();
    let tz = warehouse::NamedTimeZone::get(&d.time_zone).ok();
    let backfill = tz.as_ref().and_then(|tz| {
        parse_backfill(&d.backfill_start, tz.zone())
            .map_err(|m| faults.push(fault(Some(name), "backfill_start", m)))
            .ok()
    });
    let window = granularity.as_ref().and_then(|g| match &d.window {
        None => Some(WindowSpan::default_for(g)),
        Some(raw) => raw
            .parse::<WindowSpan>()
            .and_then(|w| check_window(w, g, raw).map(|()| w))
            .map_err(|e| faults.push(fault(Some(name), "window", e.to_string())))
            .ok(),
    });
    match (
        every,
        lookback,
        settle.zip(restate).zip(restate_every),
        granularity,
        tz,
        backfill,
        window,
    ) {
        (
            Some(every),
            Some(lookback),
            Some(((settle, restate), restate_every)),
            Some(granularity),
            Some(time_zone),
            Some(backfill_start),
            Some(window),
        ) if faults.is_empty() => Ok(DatasetSpec {
            name: d.name.clone(),
            kind: d.kind,
            metrics: d.metrics.clone(),
            group_by: d.group_by.clone(),
            filter,
            granularity,
            time_zone,
            every,
            lookback,
            settle,
            restate,
            restate_every,
            backfill_start,
            window,
            query_mode: d.query_mode,
        }),
        _ => Err(faults),
    }
}
