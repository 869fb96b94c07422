//! Where a PostgreSQL store lives: the URL (parsed once, here), the schema, the password (from
//! the environment, never printed) and the TLS mode.

use std::str::FromStr;
use std::time::Duration;

use crate::schema::is_valid_identifier;

/// The schema a store lives in unless configured otherwise.
pub const DEFAULT_SCHEMA: &str = "genesys_bi";

/// How long a connection attempt may take before the host counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `sslmode`, as libpq spells it; the ones rustls can honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    /// TLS if the server offers it, unverified (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not verified (as libpq's `require`).
    Require,
    /// TLS with the certificate verified against the system's roots and the host name.
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyFull,
        ]
        .into_iter()
        .find(|mode| mode.as_str() == s)
        .ok_or_else(|| ConfigError::SslMode(s.to_string()))
    }
}

/// A value of the `[store]` PostgreSQL settings that can't be used; [`ConfigError::field`]
/// names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the URL must start with postgres:// or postgresql://, not `{0}`")]
    Scheme(String),
    #[error("the URL can't be read: {0}")]
    Url(String),
    #[error("the URL names no host")]
    NoHost,
    #[error("the URL names no user (postgres://user@host:5432/database)")]
    NoUser,
    #[error("`{0}` is not one genesys-bi supports (disable, prefer, require, verify-full)")]
    SslMode(String),
    #[error("`{0}` must be lowercase letters, digits and _, starting with a letter (at most 48)")]
    Schema(String),
}

impl ConfigError {
    /// The `[store]` setting at fault: `postgres`, `sslmode` or `schema`.
    pub fn field(&self) -> &'static str {
        match self {
            ConfigError::SslMode(_) => "sslmode",
            ConfigError::Schema(_) => "schema",
            _ => "postgres",
        }
    }
}

/// A PostgreSQL store's connection settings, parsed.
#[derive(Clone)]
pub struct PostgresConfig {
    connection: tokio_postgres::Config,
    /// `postgres://user@host:port/database`: what messages show (never a password).
    shown: String,
    schema: String,
    ssl_mode: SslMode,
}

impl PostgresConfig {
    /// Parses `url` (`postgres://user@host:5432/db?sslmode=require`); `password` (from
    /// `GENESYS_BI_POSTGRES_PASSWORD` or `PGPASSWORD`, the caller's to read) wins over one in
    /// the URL; `sslmode`, when given, over the URL's.
    pub fn parse(
        url: &str,
        schema: &str,
        password: Option<&str>,
        ssl_mode: Option<SslMode>,
    ) -> Result<Self, ConfigError> {
        let rest = ["postgres://", "postgresql://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .ok_or_else(|| ConfigError::Scheme(scheme_of(url)))?;
        if !is_valid_identifier(schema) {
            return Err(ConfigError::Schema(schema.to_string()));
        }
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut url_ssl_mode = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslmode", value)) => url_ssl_mode = Some(value.parse()?),
                _ => kept.push(pair),
            }
        }
        let mut text = format!("postgres://{base}");
        if !kept.is_empty() {
            text = format!("{text}?{}", kept.join("&"));
        }
        let mut connection =
            tokio_postgres::Config::from_str(&text).map_err(|e| ConfigError::Url(e.to_string()))?;
        if connection.get_hosts().is_empty() {
            return Err(ConfigError::NoHost);
        }
        let user = connection
            .get_user()
            .ok_or(ConfigError::NoUser)?
            .to_string();
        if let Some(password) = password {
            connection.password(password);
        }
        let ssl_mode = ssl_mode.or(url_ssl_mode).unwrap_or_default();
        connection.ssl_mode(match ssl_mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        connection.connect_timeout(CONNECT_TIMEOUT);
        connection.application_name("genesys-bi");
        // Every connection works in the store's schema, so SQL names tables as SQLite does.
        connection.options(format!("-c search_path={schema}"));
        let (host, port) = host_and_port(&connection);
        let database = connection.get_dbname().unwrap_or(&user).to_string();
        Ok(Self {
            shown: format!("postgres://{user}@{host}:{port}/{database}"),
            connection,
            schema: schema.to_string(),
            ssl_mode,
        })
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    pub fn user(&self) -> &str {
        self.connection.get_user().unwrap_or_default()
    }

    pub fn database(&self) -> &str {
        self.connection.get_dbname().unwrap_or_else(|| self.user())
    }

    pub fn has_password(&self) -> bool {
        self.connection.get_password().is_some()
    }

    /// The first host and port tried, as messages name them.
    pub fn host_and_port(&self) -> (String, u16) {
        host_and_port(&self.connection)
    }

    pub(crate) fn connection(&self) -> &tokio_postgres::Config {
        &self.connection
    }

    /// The same store under another schema (tests give each their own).
    pub fn with_schema(&self, schema: &str) -> Result<Self, ConfigError> {
        if !is_valid_identifier(schema) {
            return Err(ConfigError::Schema(schema.to_string()));
        }
        let mut changed = self.clone();
        changed
            .connection
            .options(format!("-c search_path={schema}"));
        changed.schema = schema.to_string();
        Ok(changed)
    }
}

fn scheme_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://"),
        None => url.chars().take(20).collect(),
    }
}

fn host_and_port(connection: &tokio_postgres::Config) -> (String, u16) {
    let host = match connection.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(name)) => name.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    (
        host,
        connection.get_ports().first().copied().unwrap_or(5432),
    )
}

impl std::fmt::Display for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (schema {})", self.shown, self.schema)
    }
}

impl std::fmt::Debug for PostgresConfig {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.shown)
            .field("schema", &self.schema)
            .field("ssl_mode", &self.ssl_mode)
            .field("password", &self.has_password().then_some("<redacted>"))
            .finish()
    }
}

impl PartialEq for PostgresConfig {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown
            && self.schema == other.schema
            && self.ssl_mode == other.ssl_mode
            && self.connection.get_password() == other.connection.get_password()
    }
}

impl Eq for PostgresConfig {}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<PostgresConfig, ConfigError> {
        PostgresConfig::parse(url, DEFAULT_SCHEMA, None, None)
    }

    #[test]
    fn urls_parse_and_show_without_secrets() {
        let c = PostgresConfig::parse(
            "postgresql://bi:hunter2@db.example:6543/warehouse?sslmode=require",
            "genesys_bi",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            c.to_string(),
            "postgres://bi@db.example:6543/warehouse (schema genesys_bi)"
        );
        assert_eq!(c.ssl_mode(), SslMode::Require);
        assert!(c.has_password());
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = PostgresConfig::parse("postgres://bi@db", "x", Some("pw"), None).unwrap();
        assert_eq!(c.host_and_port(), ("db".into(), 5432));
        assert_eq!(c.database(), "bi");
        assert_eq!(c.ssl_mode(), SslMode::Prefer);
    }

    #[test]
    fn each_fault_names_its_setting() {
        let fault = |url: &str| {
            let e = parse(url).unwrap_err();
            (e.field(), e.to_string())
        };
        let (field, message) = fault("mysql://a@b/c");
        assert_eq!(field, "postgres");
        assert!(message.contains("`mysql://`"), "{message}");
        assert_eq!(fault("postgres://a@b/c?sslmode=verify-ca").0, "sslmode");
        assert!(fault("postgres://b/c").1.contains("no user"));
        let e = PostgresConfig::parse("postgres://a@b/c", "Bad-Name", None, None).unwrap_err();
        assert_eq!(e.field(), "schema");
    }
}
