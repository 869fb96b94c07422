//! The OAuth client-credentials token: fetched once, shared by every request, refreshed shortly
//! before it expires. Refreshes are single-flight: whoever finds the token stale fetches a new
//! one while holding the lock, and everyone else waiting on the lock gets that same token.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::auth::{AuthErrorResponse, TOKEN_PATH, TokenResponse};

use super::error::{Error, Result};
use super::events::{
    AnswerReceived, Counters, InternalEvent, RequestSent, RetryScheduled, TokenRefreshed,
};
use super::retry::{Failure, RetryAction, RetryPolicy, classify, error_body, retry_after};

/// A token as handed to one request; `generation` identifies it for [`TokenCache::invalidate`].
#[derive(Clone)]
pub struct Lease {
    pub value: SecretString,
    pub generation: u64,
}

struct Cached {
    lease: Lease,
    refresh_at: Instant,
}

#[derive(Default)]
pub struct TokenCache {
    slot: Mutex<Option<Cached>>,
    /// The newest generation the API has accepted (answered 2xx); 0 before any.
    accepted: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache { .. }")
    }
}

/// How long before expiry to refresh: a minute, or a tenth of a short lifetime.
pub fn refresh_margin(expires_in: Duration) -> Duration {
    (expires_in / 10).min(Duration::from_secs(60))
}

impl TokenCache {
    /// The current token, fetching a new one with `fetch` when there is none or it is due.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Lease>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(SecretString, Duration)>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(cached.lease.clone());
        }
        let generation = slot.as_ref().map_or(1, |c| c.lease.generation + 1);
        let fetched_at = Instant::now();
        let (value, expires_in) = fetch().await?;
        let lease = Lease { value, generation };
        let refresh_at = fetched_at + expires_in.saturating_sub(refresh_margin(expires_in));
        *slot = Some(Cached {
            lease: lease.clone(),
            refresh_at,
        });
        Ok(lease)
    }

    /// Records that the API accepted a token of this generation.
    pub fn accepted(&self, generation: u64) {
        self.accepted.fetch_max(generation, Ordering::Relaxed);
    }

    /// Whether a refusal of this generation can be a revocation: the API accepted it, or the
    /// token it replaced (or a newer one). Two tokens in a row that it never accepted, as
    /// refused credentials give, are not.
    pub fn worked_lately(&self, generation: u64) -> bool {
        let accepted = self.accepted.load(Ordering::Relaxed);
        accepted > 0 && accepted + 1 >= generation
    }

    /// Forgets the token the API rejected, unless another request already replaced it.
    pub async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if let Some(cached) = slot.as_mut().filter(|c| c.lease.generation == generation) {
            // Keep the generation counting up; an instant in the past forces a fetch.
            cached.refresh_at = Instant::now();
        }
    }
}

/// Where and how to log in.
pub struct Login<'a> {
    pub http: &'a reqwest::Client,
    pub login_base: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub policy: RetryPolicy,
    pub retry_after_ceiling: Duration,
    pub counters: &'a Counters,
}

/// Names the settings behind a token the API refuses although the login issued it.
pub const TOKEN_REFUSED_HINT: &str = "that GENESYS_REGION (or GENESYS_API_BASE and GENESYS_LOGIN_BASE) names the region the \
                                      OAuth client was created in, and that the OAuth client (GENESYS_CLIENT_ID) still has its \
                                      roles and may call from this network";

/// Names the settings behind a refused login; never their values.
pub const AUTH_HINT: &str = "the client id and secret (GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET) and that the region \
                             (GENESYS_REGION, or login_base) is the one the OAuth client was created in";

impl Login<'_> {
    /// One client-credentials exchange, retried on transient failures only.
    pub async fn request_token(&self) -> Result<(SecretString, Duration)> {
        let url = format!("{}{}", self.login_base, TOKEN_PATH);
        let mut retries = self.policy.start();
        loop {
            let attempt = retries.begin_attempt();
            RequestSent {
                method: &reqwest::Method::POST,
                path: TOKEN_PATH,
                attempt,
            }
            .emit(self.counters);
            let failure = match self.attempt(&url).await {
                Ok(Ok(token)) => {
                    let expires_in = Duration::from_secs(token.expires_in);
                    TokenRefreshed { expires_in }.emit(self.counters);
                    return Ok((SecretString::from(token.access_token), expires_in));
                }
                Ok(Err(refused)) => return Err(refused),
                Err(failure) => failure,
            };
            let fixed = match classify(&failure, self.retry_after_ceiling) {
                RetryAction::Retry => None,
                RetryAction::RetryAfter(wait) => Some(wait),
                RetryAction::ReLogin | RetryAction::DontRetry => {
                    return Err(failure.into_error(self.retry_after_ceiling));
                }
            };
            let Some(delay) = retries.next_delay(fixed) else {
                let last = Box::new(failure.into_error(self.retry_after_ceiling));
                return Err(Error::RetriesExhausted {
                    attempts: retries.attempts(),
                    elapsed: retries.elapsed(),
                    last,
                });
            };
            let reason = failure.reason();
            let correlation_id = failure.correlation_id();
            RetryScheduled {
                path: TOKEN_PATH,
                attempt,
                delay,
                reason: &reason,
                correlation_id,
            }
            .emit(self.counters);
            tokio::time::sleep(delay).await;
        }
    }

    /// `Ok(Err(_))` is a refusal of the credentials, which no retry can fix.
    async fn attempt(&self, url: &str) -> std::result::Result<Result<TokenResponse>, Failure> {
        let response = self
            .http
            .post(url)
            .basic_auth(self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        AnswerReceived {
            method: &reqwest::Method::POST,
            path: TOKEN_PATH,
            status: response.as_ref().ok().map(reqwest::Response::status),
        }
        .emit(self.counters);
        let response = response.map_err(Failure::Transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let correlation_id = super::correlation_id(&headers);
        let bytes = response.bytes().await.map_err(Failure::Transport)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map(Ok)
                .map_err(|source| Failure::Decode {
                    what: "token response",
                    endpoint: format!("POST {url}"),
                    correlation_id,
                    source,
                });
        }
        if matches!(status.as_u16(), 400 | 401 | 403) {
            let refusal =
                serde_json::from_slice::<AuthErrorResponse>(&bytes).unwrap_or_else(|_| {
                    AuthErrorResponse::new("unknown", &String::from_utf8_lossy(&bytes))
                });
            return Ok(Err(Error::Auth {
                status: status.as_u16(),
                error: refusal.error,
                description: refusal.error_description,
                hint: AUTH_HINT,
            }));
        }
        Err(Failure::Status {
            status,
            retry_after: retry_after(&headers),
            body: error_body(status, &bytes),
            correlation_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn margin_is_a_minute_or_a_tenth() {
        assert_eq!(
            refresh_margin(Duration::from_secs(86_399)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok((
                            SecretString::from(format!("t{n}")),
                            Duration::from_secs(3600),
                        ))
                    })
                    .await
                    .unwrap()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().value.expose_secret(), "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_invalidation_does_not_drop_a_newer_token() {
        let cache = TokenCache::default();
        let fetch = |name: &'static str| {
            move || async move { Ok((SecretString::from(name), Duration::from_secs(3600))) }
        };
        let first = cache.get(fetch("a")).await.unwrap();
        cache.invalidate(first.generation).await;
        let second = cache.get(fetch("b")).await.unwrap();
        assert_eq!(second.value.expose_secret(), "b");
        cache.invalidate(first.generation).await;
        assert_eq!(
            cache.get(fetch("c")).await.unwrap().value.expose_secret(),
            "b"
        );
    }

    #[test]
    fn a_refusal_is_a_revocation_only_right_after_an_accepted_token() {
        let cache = TokenCache::default();
        assert!(!cache.worked_lately(1) && !cache.worked_lately(2));
        cache.accepted(3);
        assert!(cache.worked_lately(3) && cache.worked_lately(4));
        assert!(!cache.worked_lately(5));
        cache.accepted(2);
        assert!(cache.worked_lately(4), "acceptance only moves forward");
    }

    #[tokio::test]
    async fn refreshes_before_expiry() {
        let cache = TokenCache::default();
        let short = |name: &'static str| {
            move || async move { Ok((SecretString::from(name), Duration::from_millis(500))) }
        };
        assert_eq!(
            cache.get(short("a")).await.unwrap().value.expose_secret(),
            "a"
        );
        assert_eq!(
            cache.get(short("b")).await.unwrap().value.expose_secret(),
            "a"
        );
        // Refresh is due at 450 ms (a tenth before the 500 ms lifetime).
        tokio::time::sleep(Duration::from_millis(460)).await;
        assert_eq!(
            cache.get(short("c")).await.unwrap().value.expose_secret(),
            "c"
        );
    }
}
