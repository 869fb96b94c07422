//! Each internal event is one type that both logs (tracing) and counts (the client's
//! [`Counters`]), so a log line and its counter can never drift apart.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::aggregates::{
    AGGREGATES_JOBS_PATH, AGGREGATES_QUERY_PATH, USERS_AGGREGATES_JOBS_PATH,
    USERS_AGGREGATES_QUERY_PATH,
};
use crate::auth::TOKEN_PATH;
use crate::details::{DETAILS_AVAILABILITY_PATH, DETAILS_JOBS_PATH, DETAILS_QUERY_PATH};
use crate::directory::{PRESENCE_DEFINITIONS_PATH, QUEUES_PATH, USERS_PATH, WRAPUP_CODES_PATH};
use crate::users_details::{
    USERS_DETAILS_AVAILABILITY_PATH, USERS_DETAILS_JOBS_PATH, USERS_DETAILS_QUERY_PATH,
};

/// The Genesys endpoint a request went to, as a bounded metrics label: job ids, cursors and
/// page numbers never become labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Endpoint {
    Token,
    AggregatesQuery,
    AggregatesJobs,
    UsersAggregatesQuery,
    UsersAggregatesJobs,
    DetailsQuery,
    DetailsJobs,
    DetailsAvailability,
    UsersDetailsQuery,
    UsersDetailsJobs,
    UsersDetailsAvailability,
    Queues,
    Users,
    WrapupCodes,
    PresenceDefinitions,
    Other,
}

impl Endpoint {
    const PATHS: [(&'static str, Endpoint); 15] = [
        (TOKEN_PATH, Endpoint::Token),
        (AGGREGATES_QUERY_PATH, Endpoint::AggregatesQuery),
        (AGGREGATES_JOBS_PATH, Endpoint::AggregatesJobs),
        (USERS_AGGREGATES_QUERY_PATH, Endpoint::UsersAggregatesQuery),
        (USERS_AGGREGATES_JOBS_PATH, Endpoint::UsersAggregatesJobs),
        (DETAILS_QUERY_PATH, Endpoint::DetailsQuery),
        (DETAILS_JOBS_PATH, Endpoint::DetailsJobs),
        (DETAILS_AVAILABILITY_PATH, Endpoint::DetailsAvailability),
        (USERS_DETAILS_QUERY_PATH, Endpoint::UsersDetailsQuery),
        (USERS_DETAILS_JOBS_PATH, Endpoint::UsersDetailsJobs),
        (
            USERS_DETAILS_AVAILABILITY_PATH,
            Endpoint::UsersDetailsAvailability,
        ),
        (QUEUES_PATH, Endpoint::Queues),
        (USERS_PATH, Endpoint::Users),
        (WRAPUP_CODES_PATH, Endpoint::WrapupCodes),
        (PRESENCE_DEFINITIONS_PATH, Endpoint::PresenceDefinitions),
    ];

    /// Classifies a request path, or an absolute URI such as a directory's `nextUri`.
    pub fn of(path_or_uri: &str) -> Endpoint {
        // A path starts with '/'; anything after it, even "://", is the path's own text.
        let path = match path_or_uri.split_once("://") {
            Some((_, rest)) if !path_or_uri.starts_with('/') => {
                rest.find('/').map_or("", |at| &rest[at..])
            }
            _ => path_or_uri,
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        // The longest match: availability lives under the details jobs path.
        Self::PATHS
            .iter()
            .filter(|(prefix, _)| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map_or(Endpoint::Other, |(_, endpoint)| *endpoint)
    }

    pub fn label(self) -> &'static str {
        match self {
            Endpoint::Token => "token",
            Endpoint::AggregatesQuery => "aggregates_query",
            Endpoint::AggregatesJobs => "aggregates_jobs",
            Endpoint::UsersAggregatesQuery => "users_aggregates_query",
            Endpoint::UsersAggregatesJobs => "users_aggregates_jobs",
            Endpoint::DetailsQuery => "details_query",
            Endpoint::DetailsJobs => "details_jobs",
            Endpoint::DetailsAvailability => "details_availability",
            Endpoint::UsersDetailsQuery => "users_details_query",
            Endpoint::UsersDetailsJobs => "users_details_jobs",
            Endpoint::UsersDetailsAvailability => "users_details_availability",
            Endpoint::Queues => "queues",
            Endpoint::Users => "users",
            Endpoint::WrapupCodes => "wrapupcodes",
            Endpoint::PresenceDefinitions => "presencedefinitions",
            Endpoint::Other => "other",
        }
    }
}

/// How a request ended: an HTTP status, or no response at all (connection refused or reset,
/// time-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Answer {
    Status(u16),
    NoResponse,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Status(code) => write!(f, "{code}"),
            Answer::NoResponse => f.write_str("no_response"),
        }
    }
}

/// Requests to one endpoint that ended one way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointCount {
    pub endpoint: Endpoint,
    pub answer: Answer,
    pub requests: u64,
}

/// Running totals a client exposes; cheap to read at any time.
#[derive(Debug, Default)]
pub struct Counters {
    requests_sent: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    daily_limits: AtomicU64,
    tokens_refreshed: AtomicU64,
    relogins: AtomicU64,
    budget_tightened: AtomicU64,
    budget_paused_by_headers: AtomicU64,
    budget_wait_micros: AtomicU64,
    answers: Mutex<BTreeMap<(Endpoint, Answer), u64>>,
}

/// A copy of the [`Counters`] at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountersSnapshot {
    /// HTTP requests put on the wire, token requests and retries included.
    pub requests_sent: u64,
    pub retries: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    pub daily_limits: u64,
    pub tokens_refreshed: u64,
    /// Tokens dropped because the API answered 401.
    pub relogins: u64,
    pub budget_tightened: u64,
    pub budget_paused_by_headers: u64,
    /// Time requests spent waiting for the rate budget (its pace, and pauses after 429s),
    /// summed over requests: four requests waiting one second together count four.
    pub budget_wait: Duration,
}

impl Counters {
    pub fn snapshot(&self) -> CountersSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            requests_sent: get(&self.requests_sent),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
            daily_limits: get(&self.daily_limits),
            tokens_refreshed: get(&self.tokens_refreshed),
            relogins: get(&self.relogins),
            budget_tightened: get(&self.budget_tightened),
            budget_paused_by_headers: get(&self.budget_paused_by_headers),
            budget_wait: Duration::from_micros(get(&self.budget_wait_micros)),
        }
    }

    /// Requests by endpoint and answer, in a stable order.
    pub fn by_endpoint(&self) -> Vec<EndpointCount> {
        self.answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(&(endpoint, answer), &requests)| EndpointCount {
                endpoint,
                answer,
                requests,
            })
            .collect()
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub trait InternalEvent {
    fn emit(self, counters: &Counters);
}

pub struct RequestSent<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub attempt: u32,
}

impl InternalEvent for RequestSent<'_> {
    fn emit(self, counters: &Counters) {
        tracing::debug!(http.method = %self.method, http.path = self.path, attempt = self.attempt, "Sent Genesys request.");
        bump(&counters.requests_sent);
    }
}

/// A request's answer arrived (or never will): counted by endpoint and status.
pub struct AnswerReceived<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// `None` when no response came (transport failure).
    pub status: Option<StatusCode>,
}

impl InternalEvent for AnswerReceived<'_> {
    fn emit(self, counters: &Counters) {
        let answer = self
            .status
            .map_or(Answer::NoResponse, |s| Answer::Status(s.as_u16()));
        tracing::debug!(http.method = %self.method, http.path = self.path, status = %answer, "Genesys answered.");
        let endpoint = Endpoint::of(self.path);
        *counters
            .answers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry((endpoint, answer))
            .or_default() += 1;
    }
}

pub struct RetryScheduled<'a> {
    pub path: &'a str,
    pub attempt: u32,
    pub delay: Duration,
    pub reason: &'a str,
    pub correlation_id: Option<&'a str>,
}

impl InternalEvent for RetryScheduled<'_> {
    fn emit(self, counters: &Counters) {
        tracing::warn!(
            http.path = self.path,
            attempt = self.attempt,
            delay_ms = self.delay.as_millis() as u64,
            correlation_id = self.correlation_id.unwrap_or("none"),
            reason = self.reason,
            "Retrying Genesys request."
        );
        bump(&counters.retries);
    }
}

pub struct RateLimited<'a> {
    pub path: &'a str,
    pub retry_after: Duration,
    pub correlation_id: Option<&'a str>,
}

impl InternalEvent for RateLimited<'_> {
    fn emit(self, counters: &Counters) {
        tracing::warn!(
            http.path = self.path,
            retry_after_ms = self.retry_after.as_millis() as u64,
            correlation_id = self.correlation_id.unwrap_or("none"),
            "Genesys answered 429; pausing the whole rate budget."
        );
        bump(&counters.rate_limited);
    }
}

pub struct DailyLimitReached<'a> {
    pub path: &'a str,
    pub retry_after: Duration,
    pub correlation_id: Option<&'a str>,
}

impl InternalEvent for DailyLimitReached<'_> {
    fn emit(self, counters: &Counters) {
        tracing::error!(
            http.path = self.path,
            retry_after_secs = self.retry_after.as_secs(),
            correlation_id = self.correlation_id.unwrap_or("none"),
            "Genesys asked to wait beyond the Retry-After ceiling; giving up."
        );
        bump(&counters.rate_limited);
        bump(&counters.daily_limits);
    }
}

pub struct TokenRefreshed {
    pub expires_in: Duration,
}

impl InternalEvent for TokenRefreshed {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            expires_in_secs = self.expires_in.as_secs(),
            "Obtained a Genesys access token."
        );
        bump(&counters.tokens_refreshed);
    }
}

pub struct TokenRejected<'a> {
    pub path: &'a str,
    pub correlation_id: Option<&'a str>,
}

impl InternalEvent for TokenRejected<'_> {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            http.path = self.path,
            correlation_id = self.correlation_id.unwrap_or("none"),
            "Genesys rejected the access token; logging in again."
        );
        bump(&counters.relogins);
    }
}

pub struct BudgetTightened {
    pub per_minute: u32,
}

impl InternalEvent for BudgetTightened {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            per_minute = self.per_minute,
            "Tightened the rate budget to what Genesys allows."
        );
        bump(&counters.budget_tightened);
    }
}

pub struct BudgetExhausted {
    pub pause: Duration,
}

impl InternalEvent for BudgetExhausted {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            pause_ms = self.pause.as_millis() as u64,
            "Genesys budget nearly spent; pausing until it resets."
        );
        bump(&counters.budget_paused_by_headers);
    }
}

/// A request waited for the shared rate budget before it could be sent.
pub struct BudgetWaited {
    pub waited: Duration,
}

impl InternalEvent for BudgetWaited {
    fn emit(self, counters: &Counters) {
        tracing::trace!(
            waited_ms = self.waited.as_millis() as u64,
            "Waited for the Genesys rate budget."
        );
        let micros = u64::try_from(self.waited.as_micros()).unwrap_or(u64::MAX);
        counters
            .budget_wait_micros
            .fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_classified_by_path_never_by_ids_or_queries() {
        let cases = [
            ("/oauth/token", Endpoint::Token),
            (AGGREGATES_QUERY_PATH, Endpoint::AggregatesQuery),
            (
                "/api/v2/analytics/conversations/aggregates/jobs/5f0c/results",
                Endpoint::AggregatesJobs,
            ),
            (
                "/api/v2/analytics/conversations/details/jobs/x",
                Endpoint::DetailsJobs,
            ),
            (
                "https://api.mypurecloud.com/api/v2/routing/queues?pageNumber=2&pageSize=100",
                Endpoint::Queues,
            ),
            (DETAILS_AVAILABILITY_PATH, Endpoint::DetailsAvailability),
            (
                USERS_DETAILS_AVAILABILITY_PATH,
                Endpoint::UsersDetailsAvailability,
            ),
            (
                "/api/v2/analytics/users/details/jobs/x/results",
                Endpoint::UsersDetailsJobs,
            ),
            (USERS_DETAILS_QUERY_PATH, Endpoint::UsersDetailsQuery),
            ("/api/v2/users?pageNumber=3", Endpoint::Users),
            (
                "/api/v2/analytics/users/aggregates/query",
                Endpoint::UsersAggregatesQuery,
            ),
            ("/api/v2/routing/wrapupcodes", Endpoint::WrapupCodes),
            ("/api/v2/usersX", Endpoint::Other),
            ("/api/v2/routing/queuesmembers", Endpoint::Other),
            ("", Endpoint::Other),
        ];
        for (path, expected) in cases {
            assert_eq!(Endpoint::of(path), expected, "{path}");
        }
    }

    proptest::proptest! {
        /// Whatever follows a known path (ids, cursors, queries, any text) keeps its endpoint,
        /// on any host: the label set stays the fixed one.
        #[test]
        fn anything_after_a_known_path_keeps_its_endpoint(
            known in 0..Endpoint::PATHS.len(),
            tail in "(/[^?#]*)?([?#].*)?",
            host in proptest::option::of("https?://[a-z.]{1,20}(:[0-9]{1,5})?"),
        ) {
            let (path, endpoint) = Endpoint::PATHS[known];
            let uri = format!("{}{path}{tail}", host.unwrap_or_default());
            proptest::prop_assert_eq!(Endpoint::of(&uri), endpoint, "{}", uri);
        }

        #[test]
        fn any_text_is_some_endpoint(text in ".*") {
            let _ = Endpoint::of(&text).label();
        }
    }

    #[test]
    fn answers_are_counted_by_endpoint_and_status() {
        let counters = Counters::default();
        for status in [
            Some(StatusCode::OK),
            Some(StatusCode::OK),
            Some(StatusCode::TOO_MANY_REQUESTS),
            None,
        ] {
            AnswerReceived {
                method: &Method::POST,
                path: AGGREGATES_QUERY_PATH,
                status,
            }
            .emit(&counters);
        }
        let counted: Vec<(String, u64)> = counters
            .by_endpoint()
            .iter()
            .map(|c| (format!("{} {}", c.endpoint.label(), c.answer), c.requests))
            .collect();
        assert_eq!(
            counted,
            [
                ("aggregates_query 200".to_string(), 2),
                ("aggregates_query 429".to_string(), 1),
                ("aggregates_query no_response".to_string(), 1),
            ]
        );
    }
}
