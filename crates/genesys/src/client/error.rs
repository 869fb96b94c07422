//! What can go wrong talking to Genesys. No variant ever holds the client secret or a token.

use std::time::Duration;

use crate::jobs::JobState;
use crate::users_details::IntervalLimitError;

use super::config::ConfigError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A query Genesys would refuse, caught before any request.
    #[error(transparent)]
    IntervalLimit(#[from] IntervalLimitError),

    /// The login host refused the credentials: retrying cannot help.
    #[error("Genesys refused the login (HTTP {status}, {error}: {description}); check {hint}")]
    Auth {
        status: u16,
        error: String,
        description: String,
        hint: &'static str,
    },

    /// The API refused a token fresh from the login host (after one re-login) and has never
    /// accepted one of these credentials' tokens in a row: no further login can help.
    #[error(
        "Genesys refused a freshly issued access token (HTTP {status} {code}: {message}; \
         correlation id {}): the login succeeds but the API does not accept its tokens; check {hint}",
        correlation_id.as_deref().unwrap_or("none")
    )]
    TokenRefused {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
        hint: &'static str,
    },

    /// A 429 asked to wait longer than the configured ceiling: a daily or hourly limit is spent.
    #[error(
        "Genesys rate limit exhausted: asked to retry after {}s, above the ceiling \
         (likely a daily limit; correlation id {})",
        retry_after.as_secs(),
        correlation_id.as_deref().unwrap_or("none")
    )]
    DailyLimit {
        retry_after: Duration,
        correlation_id: Option<String>,
    },

    #[error(
        "Genesys answered HTTP {status} {code}: {message} (correlation id {})",
        correlation_id.as_deref().unwrap_or("none")
    )]
    Api {
        status: u16,
        code: String,
        message: String,
        correlation_id: Option<String>,
    },

    #[error("could not reach Genesys: {0}")]
    Transport(#[source] reqwest::Error),

    /// A whole body of the wrong shape; not retried, since asking again gets the same body.
    #[error(
        "could not decode {what} from Genesys ({endpoint}): {source} (correlation id {})",
        correlation_id.as_deref().unwrap_or("none")
    )]
    Decode {
        what: &'static str,
        endpoint: String,
        correlation_id: Option<String>,
        #[source]
        source: serde_json::Error,
    },

    #[error("gave up after {attempts} attempts in {}s: {last}", elapsed.as_secs())]
    RetriesExhausted {
        attempts: u32,
        elapsed: Duration,
        last: Box<Error>,
    },

    /// Genesys broke its own paging contract (e.g. a cursor that does not advance).
    #[error("paging through {what} failed: {reason}")]
    Paging { what: &'static str, reason: String },

    #[error("async job {job_id} failed: {message}")]
    JobFailed { job_id: String, message: String },

    #[error("async job {job_id} ended {state:?} before its results were read")]
    JobEnded { job_id: String, state: JobState },

    #[error("async job {job_id} was not fulfilled within {}s", waited.as_secs())]
    JobTimeout { job_id: String, waited: Duration },
}

impl Error {
    /// The HTTP status behind the error, if Genesys answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Auth { status, .. }
            | Error::Api { status, .. }
            | Error::TokenRefused { status, .. } => Some(*status),
            Error::DailyLimit { .. } => Some(429),
            Error::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
