//! `genesys-bi.toml`: the Genesys connection, the store, and the datasets to keep in sync.
//! Every fault is reported with its dataset and field, all at once, before anything runs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use genesys::Granularity;
use genesys::aggregates::AggregationQuery;
use genesys::filter::{Clause, Filter, FilterType, Predicate};
use jiff::{SignedDuration, Span, Timestamp};
use serde::Deserialize;

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
    pub directories: Vec<String>,
    /// How often `run` refreshes the directories (ISO-8601, e.g. PT6H); see
    /// [`Config::directories_every`].
    #[serde(default = "default_directories_every")]
    pub directories_every: String,
    /// The file this was read from, absolute; `None` for the built-in defaults.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Path of the embedded SQLite file.
    #[serde(default = "default_sqlite_path")]
    pub sqlite: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            sqlite: default_sqlite_path(),
        }
    }
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("genesys-bi.db")
}

fn default_directories_every() -> String {
    "PT6H".into()
}

fn default_directories() -> Vec<String> {
    ["queues", "users", "wrapup_codes"]
        .map(String::from)
        .to_vec()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    Aggregates,
    Details,
    Users,
}

impl DatasetKind {
    /// The kind the store records for a dataset configured as this.
    pub fn stored(self) -> warehouse::DatasetKind {
        match self {
            DatasetKind::Aggregates => warehouse::DatasetKind::ConversationAggregates,
            DatasetKind::Details => warehouse::DatasetKind::ConversationDetails,
            DatasetKind::Users => warehouse::DatasetKind::UsersAggregates,
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
    pub query_mode: crate::engine::QueryMode,
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
        backfill_start: default_backfill(),
        window: None,
        query_mode: crate::engine::QueryMode::default(),
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
    ]
}

/// One fault in the configuration, located precisely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFault {
    pub dataset: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dataset {
            Some(d) => write!(f, "dataset `{d}`, field `{}`: {}", self.field, self.message),
            None => write!(f, "field `{}`: {}", self.field, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config has {} fault(s):\n{}", .0.len(), .0.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigFault>),
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
    pub backfill_start: BackfillStart,
    pub window: WindowSpan,
    pub query_mode: crate::engine::QueryMode,
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
        warehouse::TableSpec {
            name: self.name.clone(),
            dimensions: self.group_by.clone(),
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
        let from_env = std::env::var_os(ENV_CONFIG).map(PathBuf::from);
        let path = explicit.map(Path::to_path_buf).or(from_env);
        match path {
            Some(path) => Self::read(&path),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                Self::read(Path::new(DEFAULT_CONFIG_FILE))
            }
            None => {
                let mut config = Self::parse("", Path::new("(defaults)"))?;
                let here = std::env::current_dir().map_err(|source| ConfigError::Read {
                    path: PathBuf::from("."),
                    source,
                })?;
                config.resolve_paths_from(&here);
                Ok(config)
            }
        }
    }

    /// Reads `path`; its relative paths (store, TLS files) are made absolute from its folder, so
    /// the file means the same whatever the working directory.
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.into(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let mut config = Self::parse(&text, path)?;
        // The file was just read, so it exists and canonicalizes.
        let file = std::fs::canonicalize(path).map_err(read_error)?;
        let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
        config.resolve_paths_from(&folder);
        config.file = Some(file);
        Ok(config)
    }

    /// Joins every relative path of the config onto `base` (itself made absolute); absolute
    /// paths stay as written. Nothing is canonicalized: the store may not exist yet.
    pub fn resolve_paths_from(&mut self, base: &Path) {
        let base = std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf());
        for path in self.paths_mut() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }

    /// Every file or folder the config names; a new path setting is one line here.
    fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [
            Some(&mut self.store.sqlite),
            self.server.tls_cert.as_mut(),
            self.server.tls_key.as_mut(),
        ]
        .into_iter()
        .flatten()
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
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
            match check_dataset(dataset) {
                Ok(spec) => specs.push(spec),
                Err(mut found) => faults.append(&mut found),
            }
        }
        if let Err(message) = self.directories_every() {
            faults.push(fault(None, "directories_every", message));
        }
        for directory in &self.directories {
            if !default_directories().contains(directory) {
                let message = format!(
                    "unknown directory `{directory}` (expected queues, users or wrapup_codes)"
                );
                faults.push(fault(None, "directories", message));
            }
        }
        if faults.is_empty() {
            Ok(specs)
        } else {
            Err(ConfigError::Invalid(faults))
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

pub(crate) fn parse_duration(raw: &str) -> Result<SignedDuration, String> {
    let not_iso = || format!("`{raw}` is not a positive ISO-8601 duration such as PT15M or P1D");
    if !raw.starts_with('P') {
        return Err(not_iso());
    }
    let span: Span = raw
        .parse()
        .map_err(|e: jiff::Error| format!("`{raw}` is not an ISO-8601 duration: {e}"))?;
    if span.is_negative() {
        return Err(not_iso());
    }
    // Days are 24 hours here: these durations pace the scheduler, they do not cut buckets.
    span.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("`{raw}`: {e}"))
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
            "`{name}` is the name of one of the store's own tables or views; choose another"
        );
        faults.push(fault(Some(name), "name", message));
    }
    if d.kind != DatasetKind::Aggregates {
        faults.push(fault(
            Some(name),
            "kind",
            format!(
                "{:?} datasets are not supported yet; use aggregates",
                d.kind
            ),
        ));
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
    if let Err(e) = genesys::query::validate(&probe) {
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
    match (every, lookback, settle, granularity, tz, backfill, window) {
        (
            Some(every),
            Some(lookback),
            Some(settle),
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
            backfill_start,
            window,
            query_mode: d.query_mode,
        }),
        _ => Err(faults),
    }
}
