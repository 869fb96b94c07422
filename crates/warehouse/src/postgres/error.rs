//! What went wrong talking to PostgreSQL, told apart so a user can act on it: the host
//! unreachable, the password refused, a privilege missing, or a statement failing.

use tokio_postgres::error::SqlState;

use super::config::PostgresConfig;

#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error("PostgreSQL at {host}:{port} is unreachable: {reason}")]
    Unreachable {
        host: String,
        port: u16,
        reason: String,
    },
    /// The server is going away or not back yet (shut down, restarting, in recovery), or the
    /// connection to it broke: waiting and trying again may help, as for [`Self::Unreachable`].
    #[error("PostgreSQL at {host}:{port} is not available: {reason}")]
    Unavailable {
        host: String,
        port: u16,
        reason: String,
    },
    /// Never holds the password, only that it was refused (or missing).
    #[error(
        "PostgreSQL refused the password for user `{user}`{}",
        if *given { "" } else { " (none was given: set GENESYS_BI_POSTGRES_PASSWORD or PGPASSWORD)" }
    )]
    WrongPassword { user: String, given: bool },
    #[error("PostgreSQL has no database `{database}`")]
    UnknownDatabase { database: String },
    #[error("PostgreSQL role `{role}` lacks the {privilege} privilege{}: {detail}", on.as_ref().map(|o| format!(" on {o}")).unwrap_or_default())]
    Privilege {
        role: String,
        privilege: String,
        on: Option<String>,
        detail: String,
    },
    #[error("TLS to PostgreSQL: {0}")]
    Tls(String),
    #[error("PostgreSQL: {0}")]
    Statement(String),
    #[error("PostgreSQL's connection pool: {0}")]
    Pool(String),
    #[error("stored value `{value}` does not fit column {column}")]
    Value { column: String, value: String },
}

impl PostgresError {
    /// A driver error, told apart by what the user must fix.
    pub(crate) fn of(error: &tokio_postgres::Error, config: &PostgresConfig) -> Self {
        if let Some(db) = error.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return PostgresError::WrongPassword {
                    user: config.user().to_string(),
                    given: config.has_password(),
                };
            }
            if *code == SqlState::INVALID_CATALOG_NAME {
                return PostgresError::UnknownDatabase {
                    database: config.database().to_string(),
                };
            }
            if *code == SqlState::INSUFFICIENT_PRIVILEGE {
                return PostgresError::Privilege {
                    role: config.user().to_string(),
                    privilege: privilege_in(db.message()),
                    on: None,
                    detail: db.message().to_string(),
                };
            }
            if is_going_or_coming_back(code) {
                return unavailable(config, describe(db));
            }
            return PostgresError::Statement(describe(db));
        }
        let text = error_chain(error);
        if text.contains("password missing") {
            return PostgresError::WrongPassword {
                user: config.user().to_string(),
                given: false,
            };
        }
        if text.starts_with("error performing TLS") || text.contains("server does not support TLS")
        {
            return PostgresError::Tls(text);
        }
        if text.starts_with("error connecting to server") || text.contains("timeout") {
            let (host, port) = config.host_and_port();
            return PostgresError::Unreachable {
                host,
                port,
                reason: text,
            };
        }
        if error.is_closed() || is_broken_connection(error) {
            return unavailable(config, text);
        }
        PostgresError::Statement(text)
    }

    /// Whether waiting and trying again may help: the server can't be reached, is shutting
    /// down or starting up, or the connection to it broke. Every other error is a fault that
    /// waiting does not fix (a refused password, a privilege, a statement's own error).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PostgresError::Unreachable { .. } | PostgresError::Unavailable { .. }
        )
    }
}

fn unavailable(config: &PostgresConfig, reason: String) -> PostgresError {
    let (host, port) = config.host_and_port();
    PostgresError::Unavailable { host, port, reason }
}

/// What the server says as it goes away or before it is back: its sessions ended by a
/// shutdown or a crash of another backend (57P01, 57P02), connections refused while it starts
/// up, shuts down or recovers (57P03), or the connection exception class (08).
fn is_going_or_coming_back(code: &SqlState) -> bool {
    *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CRASH_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || code.code().starts_with("08")
}

/// The socket failed under an open connection (reset, broken pipe, end of stream): the
/// driver's I/O error (its own words, as it has no public kind), not a refused connect (told
/// apart before) nor a message it could not parse.
fn is_broken_connection(error: &tokio_postgres::Error) -> bool {
    error.to_string() == "error communicating with the server"
}

/// The driver's message with its cause (`error connecting to server: Connection refused`).
fn error_chain(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = std::error::Error::source(cause);
    }
    text
}

fn describe(db: &tokio_postgres::error::DbError) -> String {
    match db.detail() {
        Some(detail) => format!("{} ({detail})", db.message()),
        None => db.message().to_string(),
    }
}

/// `permission denied for schema x` → the privilege word PostgreSQL's message implies.
fn privilege_in(message: &str) -> String {
    if message.contains("for database") || message.contains("for schema") {
        "CREATE".into()
    } else if message.contains("for table") || message.contains("for relation") {
        "INSERT/UPDATE/DELETE".into()
    } else {
        "required".into()
    }
}
