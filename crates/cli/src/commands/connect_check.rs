//! `check-config --connect`: log in, then one minimal request per dataset (its own aggregates
//! query over one past hour, so the API also judges its metrics, grouping and filter) and per
//! directory (one entity), each reported on its own line. One attempt each, short time-outs: an
//! unreachable host is named within seconds, not after minutes of retries.

use std::error::Error as StdError;
use std::fmt;

use futures_util::StreamExt;
use genesys::Interval;
use genesys::client::{ClientConfig, DirectoryKind, Error, GenesysClient};
use genesys::details::{ConversationQuery, PagingSpec};
use genesys::users_details::UserDetailsQuery;
use jiff::Timestamp;
use sync::config::{Config, DatasetKind, DatasetSpec};

/// Time to open a connection to a Genesys host.
const CONNECT_TIMEOUT_SECS: u64 = 4;
/// Time for a whole answer; with the connect time-out, a check ends within about 10 s.
const REQUEST_TIMEOUT_SECS: u64 = 8;

/// How one check went.
enum Outcome {
    Ok,
    /// The permissions Genesys' 403 lists, if its message has the usual shape.
    MissingPermission {
        permissions: Option<String>,
        message: String,
    },
    LoginRefused {
        login_host: String,
        error: Error,
    },
    Unreachable {
        host: String,
        cause: String,
    },
    Failed(Error),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => write!(f, "ok"),
            Outcome::MissingPermission {
                permissions: Some(permissions),
                ..
            } => write!(
                f,
                "missing permission {permissions}; add it to the OAuth client's role"
            ),
            Outcome::MissingPermission {
                permissions: None,
                message,
            } => write!(f, "refused (HTTP 403): {message}"),
            Outcome::LoginRefused { login_host, error } => {
                write!(f, "login refused at {login_host}: {error}")
            }
            Outcome::Unreachable { host, cause } => write!(f, "unreachable: {host}: {cause}"),
            Outcome::Failed(error) => write!(f, "failed: {}", source_chain(error)),
        }
    }
}

/// The client settings for checking: one attempt, short time-outs.
fn probe_settings(mut settings: ClientConfig) -> ClientConfig {
    settings.max_attempts = 1;
    settings.connect_timeout_secs = settings.connect_timeout_secs.min(CONNECT_TIMEOUT_SECS);
    settings.request_timeout_secs = settings.request_timeout_secs.min(REQUEST_TIMEOUT_SECS);
    settings
}

pub async fn run(
    config: &Config,
    store: &warehouse::StoreConfig,
    settings: ClientConfig,
    specs: &[DatasetSpec],
) -> anyhow::Result<()> {
    println!("connection checks (one request each, no retries):");
    let store_failed = !check_store(store).await;
    let client = GenesysClient::new(probe_settings(settings))?;
    let (login_host, api_host) = {
        let endpoints = client.endpoints();
        (endpoints.login_base.clone(), endpoints.api_base.clone())
    };
    let directories: Vec<(&str, DirectoryKind)> = config
        .directories
        .iter()
        .map(|name| (name.as_str(), name.listing()))
        .collect();
    let targets: Vec<String> = specs
        .iter()
        .map(|spec| format!("dataset {}", spec.name))
        .chain(
            directories
                .iter()
                .map(|(name, _)| format!("directory {name}")),
        )
        .collect();
    if let Err(error) = client.login().await {
        println!("  login: {}", judge(error, &login_host, &login_host));
        for target in &targets {
            println!("  {target}: not checked (no login)");
        }
        anyhow::bail!("could not log in at {login_host}; nothing else was checked");
    }
    println!("  login at {login_host}: ok");
    let mut outcomes = Vec::with_capacity(targets.len());
    let mut report = |outcome: Outcome| {
        println!("  {}: {outcome}", targets[outcomes.len()]);
        outcomes.push(outcome);
    };
    for spec in specs {
        report(dataset_check(&client, spec, &api_host, &login_host).await);
    }
    for (_, kind) in &directories {
        report(directory_check(&client, *kind, &api_host, &login_host).await);
    }
    let failed = outcomes
        .iter()
        .filter(|outcome| !matches!(outcome, Outcome::Ok))
        .count()
        + usize::from(store_failed);
    if failed > 0 {
        let checks = outcomes.len() + usize::from(is_server(store));
        anyhow::bail!("{failed} of {checks} connection checks failed");
    }
    println!("connection is good: {} checks passed", outcomes.len());
    Ok(())
}

/// The dataset's own query over the last whole hour, without buckets (a record dataset's: one
/// record of its details query): the smallest answer the endpoint gives for it.
async fn dataset_check(
    client: &GenesysClient,
    spec: &DatasetSpec,
    api_host: &str,
    login_host: &str,
) -> Outcome {
    let hour = 3600;
    let end = Timestamp::now().as_second() / hour * hour;
    let (Ok(start), Ok(end)) = (
        Timestamp::from_second(end - hour),
        Timestamp::from_second(end),
    ) else {
        return Outcome::Ok;
    };
    let hour = Interval::new(start, end);
    let answered = match spec.kind {
        DatasetKind::UsersDetails => {
            let query = UserDetailsQuery {
                interval: hour.to_string(),
                paging: Some(ONE_RECORD),
                ..UserDetailsQuery::default()
            };
            client.users_details_query(&query).await.map(drop)
        }
        DatasetKind::Details
        | DatasetKind::Participants
        | DatasetKind::Sessions
        | DatasetKind::Segments => {
            let query = ConversationQuery {
                interval: hour.to_string(),
                paging: Some(ONE_RECORD),
                ..ConversationQuery::default()
            };
            client.details_query(&query).await.map(drop)
        }
        DatasetKind::Aggregates | DatasetKind::Users => {
            let mut query = spec.query(hour);
            query.granularity = None;
            client
                .family_query(spec.kind.family(), &query)
                .await
                .map(drop)
        }
    };
    match answered {
        Ok(()) => Outcome::Ok,
        Err(error) => judge(error, api_host, login_host),
    }
}

/// A details query's smallest page: a record datasets' check needs the answer, not the records.
const ONE_RECORD: PagingSpec = PagingSpec {
    page_size: 1,
    page_number: 1,
};

async fn directory_check(
    client: &GenesysClient,
    kind: DirectoryKind,
    api_host: &str,
    login_host: &str,
) -> Outcome {
    let mut pages = client.directory_pages::<serde_json::Value>(kind, 1);
    match pages.next().await {
        None | Some(Ok(_)) => Outcome::Ok,
        Some(Err(error)) => judge(error, api_host, login_host),
    }
}

/// What an error means for the operator; `host` is the one the failed request went to.
fn judge(error: Error, host: &str, login_host: &str) -> Outcome {
    match error {
        Error::RetriesExhausted { last, .. } => judge(*last, host, login_host),
        Error::Auth { .. } => Outcome::LoginRefused {
            login_host: login_host.to_string(),
            error,
        },
        Error::Api {
            status: 403,
            ref message,
            ..
        } => Outcome::MissingPermission {
            permissions: listed_permissions(message),
            message: message.clone(),
        },
        Error::Transport(ref source) => Outcome::Unreachable {
            host: host.to_string(),
            cause: source_chain(source),
        },
        other => Outcome::Failed(other),
    }
}

/// `…permission(s): a:b:view, c:d:view` → `a:b:view, c:d:view` (Genesys' 403 messages, both
/// `missing.permissions` and `missing.any.permissions`, end with the list).
fn listed_permissions(message: &str) -> Option<String> {
    let (_, listed) = message.rsplit_once(": ")?;
    let listed = listed.trim().trim_end_matches('.');
    listed
        .split(',')
        .all(|p| p.trim().split(':').count() >= 2)
        .then(|| listed.to_string())
}

/// An error and its sources on one line, each said once.
fn source_chain(error: &(dyn StdError + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

fn is_server(store: &warehouse::StoreConfig) -> bool {
    store.file().is_none()
}

/// A database server's store: connect, create the schema if missing (or say which privilege
/// that takes), bring its tables up to date, and say what went wrong if anything did (host and
/// port unreachable, password refused, database or privilege missing). An SQLite file is not
/// checked: opening it would create it. Whether it passed.
async fn check_store(store: &warehouse::StoreConfig) -> bool {
    if !is_server(store) {
        return true;
    }
    let opening = store.clone();
    let opened = tokio::task::spawn_blocking(move || warehouse::open(&opening).map(drop)).await;
    match opened {
        Ok(Ok(())) => {
            println!("  store {store}: ok (schema ready)");
            true
        }
        Ok(Err(error)) => {
            println!("  store {store}: {error}");
            false
        }
        Err(panic) => {
            println!("  store {store}: the check stopped: {panic}");
            false
        }
    }
}
