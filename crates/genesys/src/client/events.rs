//! Each internal event is one type that both logs (tracing) and counts (the client's
//! [`Counters`]), so a log line and its counter can never drift apart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;

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
        }
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
