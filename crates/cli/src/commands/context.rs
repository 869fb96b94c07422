//! What the sync, query and status commands share: the config, the client, the store.

use std::sync::Arc;

use anyhow::Context;
use genesys::client::GenesysClient;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use sync::config::{Config, ConfigError, DatasetSpec};
use warehouse::{AnyStore, StoreConfig};

use crate::UsageError;
use crate::cli::ConfigArgs;

/// Config faults (unreadable, malformed or invalid) are the user's to fix: exit code 2.
fn usage(error: ConfigError) -> anyhow::Error {
    UsageError(error.to_string()).into()
}

pub fn load_config(args: &ConfigArgs) -> anyhow::Result<Config> {
    Config::load(args.config.as_deref()).map_err(usage)
}

pub fn dataset_specs(config: &Config, only: &[String]) -> anyhow::Result<Vec<DatasetSpec>> {
    let specs = config.dataset_specs().map_err(usage)?;
    if let Some(unknown) = only
        .iter()
        .find(|name| !specs.iter().any(|s| &s.name == *name))
    {
        let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        return Err(UsageError(format!(
            "unknown dataset `{unknown}` (configured: {})",
            known.join(", ")
        ))
        .into());
    }
    Ok(specs
        .into_iter()
        .filter(|s| only.is_empty() || only.contains(&s.name))
        .collect())
}

/// A client with its token already obtained, so bad credentials fail fast with a clear hint.
pub async fn connected_client(config: &Config) -> anyhow::Result<GenesysClient> {
    let settings = config
        .client_config(|key| std::env::var(key).ok())
        .map_err(usage)?;
    let client = GenesysClient::new(settings).context("setting up the Genesys client")?;
    client
        .login()
        .await
        .context("logging in to Genesys Cloud")?;
    Ok(client)
}

/// The store the configuration names: the one place the cli opens it (`warehouse` picks the
/// backend). A PostgreSQL store that refuses the password, lacks a database or a privilege is
/// the user's to fix (exit code 2, naming `store.postgres`); an unreachable one is not.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<AnyStore>> {
    let store = store_config(config)?;
    let folder = (store.file().and_then(|f| f.parent())).filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = folder {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the store folder {}", parent.display()))?;
    }
    match warehouse::open(&store) {
        Ok(opened) => Ok(Arc::new(opened)),
        Err(warehouse::StoreError::Postgres(e)) if !e.is_transient() => {
            Err(UsageError(format!("field `store.postgres`: {e}")).into())
        }
        Err(e) => Err(anyhow::Error::new(e).context(format!("opening the store {store}"))),
    }
}

/// Where the configuration's store lives (a PostgreSQL password from the environment).
pub fn store_config(config: &Config) -> anyhow::Result<StoreConfig> {
    config
        .store
        .store(|name| std::env::var(name).ok())
        .map_err(usage)
}

/// An instant (`2024-05-01T00:00:00Z`) or a date (`2024-05-01`, local midnight in `tz`).
pub fn parse_when(flag: &str, raw: &str, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    if let Ok(instant) = raw.parse::<Timestamp>() {
        return Ok(instant);
    }
    let date: jiff::civil::Date = raw.parse().map_err(|_| {
        UsageError(format!(
            "--{flag}: `{raw}` is not an instant (2024-05-01T00:00:00Z) or a date (2024-05-01)"
        ))
    })?;
    let zoned = date
        .to_zoned_datetime(tz.clone())
        .map_err(|e| UsageError(format!("--{flag}: {e}")))?;
    Ok(zoned.timestamp())
}
