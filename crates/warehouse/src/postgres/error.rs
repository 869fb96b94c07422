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
        PostgresError::Statement(text)
    }

    /// Whether waiting and trying again may help (the server is down or restarting).
    pub fn is_transient(&self) -> bool {
        matches!(self, PostgresError::Unreachable { .. })
    }
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
