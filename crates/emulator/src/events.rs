//! Internal events: each one type that both logs and counts (Vector's `internal_events` pattern).
//! The counts feed `GET /_emulator/counters`. Labels stay low-cardinality: routes are templates
//! (`…/jobs/{id}`), never raw paths, and tokens never appear.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

pub trait InternalEvent {
    fn emit(self, counters: &Counters);
}

/// One response sent (status 0: the connection was dropped on purpose).
pub struct RequestServed<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration_ms: u64,
}

impl InternalEvent for RequestServed<'_> {
    fn emit(self, counters: &Counters) {
        tracing::debug!(
            http.method = self.method,
            http.route = self.route,
            http.status = self.status,
            duration_ms = self.duration_ms,
            "Served request."
        );
        counters.update(|c| {
            *c.requests
                .entry(self.route.to_string())
                .or_default()
                .entry(status_label(self.status))
                .or_default() += 1
        });
    }
}

fn status_label(status: u16) -> String {
    if status == 0 {
        "dropped".to_string()
    } else {
        status.to_string()
    }
}

pub struct FaultInjected<'a> {
    pub kind: &'static str,
    pub route: &'a str,
    pub status: Option<u16>,
}

impl InternalEvent for FaultInjected<'_> {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            fault.kind = self.kind,
            http.route = self.route,
            http.status = self.status,
            "Injected a fault."
        );
        counters.update(|c| *c.faults_injected.entry(self.kind.to_string()).or_default() += 1);
    }
}

pub struct RateLimited<'a> {
    pub route: &'a str,
    pub retry_after_secs: u64,
}

impl InternalEvent for RateLimited<'_> {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            http.route = self.route,
            retry_after_secs = self.retry_after_secs,
            "Answered 429: rate budget exhausted."
        );
        counters.update(|c| c.rate_limited += 1);
    }
}

pub struct TokenIssued;

impl InternalEvent for TokenIssued {
    fn emit(self, counters: &Counters) {
        tracing::debug!("Issued an access token.");
        counters.update(|c| c.tokens_issued += 1);
    }
}

pub struct TokenRequestRejected {
    pub error: String,
}

impl InternalEvent for TokenRequestRejected {
    fn emit(self, counters: &Counters) {
        tracing::info!(oauth.error = %self.error, "Refused a token request.");
        counters.update(|c| c.token_requests_rejected += 1);
    }
}

pub struct BearerRejected<'a> {
    pub route: &'a str,
    pub reason: &'static str,
}

impl InternalEvent for BearerRejected<'_> {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            http.route = self.route,
            auth.reason = self.reason,
            "Refused a bearer token."
        );
        counters.update(|c| {
            *c.bearer_rejected
                .entry(self.reason.to_string())
                .or_default() += 1
        });
    }
}

pub struct TokensRevoked {
    pub count: usize,
    pub cause: &'static str,
}

impl InternalEvent for TokensRevoked {
    fn emit(self, counters: &Counters) {
        tracing::info!(
            tokens.count = self.count,
            cause = self.cause,
            "Revoked live tokens."
        );
        counters.update(|c| c.tokens_revoked += self.count as u64);
    }
}

/// Counts since start or the last reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CountersSnapshot {
    /// route → status → count.
    pub requests: BTreeMap<String, BTreeMap<String, u64>>,
    pub rate_limited: u64,
    pub tokens_issued: u64,
    pub token_requests_rejected: u64,
    pub tokens_revoked: u64,
    pub bearer_rejected: BTreeMap<String, u64>,
    pub faults_injected: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<CountersSnapshot>,
}

impl Counters {
    fn update(&self, f: impl FnOnce(&mut CountersSnapshot)) {
        f(&mut self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()));
    }

    pub fn snapshot(&self) -> CountersSnapshot {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn reset(&self) {
        self.update(|c| *c = CountersSnapshot::default());
    }
}
