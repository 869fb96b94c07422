//! The Genesys Cloud API client: OAuth client credentials, one shared rate budget per OAuth
//! client, retries with back-off, and typed, paged analytics endpoints (see [`api`]).
//!
//! - [`ClientConfig`]: credentials (`GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET`,
//!   `GENESYS_REGION`, optional `GENESYS_API_BASE` / `GENESYS_LOGIN_BASE`) or serde; the secret
//!   is a `SecretString`, redacted in every `Debug`.
//! - [`GenesysClient`]: cheap to clone; clones share the token (refreshed a minute, or a tenth of
//!   a short lifetime, before expiry; one refresh at a time), the [`RateBudget`] (governor,
//!   tightened by `inin-ratelimit-*`, paused as a whole by a 429's `Retry-After`) and the
//!   [`CountersSnapshot`] counters. Build one client per OAuth client and clone it: two clients
//!   built separately would each believe they own the whole budget.
//! - Every request goes through one loop: token → budget → send → [`classify`] → retry with
//!   full-jitter exponential back-off, bounded by `max_attempts` and `max_retry_secs`.
//! - A 401 earns one re-login and one retry. A 401 on the token that re-login fetched is a
//!   fresh revocation (another re-login) only if the API accepted this token or the one before
//!   it; two tokens in a row that it never accepted end the request with
//!   [`Error::TokenRefused`], naming the settings to check.
//!
//! ```no_run
//! # async fn demo() -> Result<(), genesys::client::Error> {
//! use futures_util::TryStreamExt;
//! use genesys::aggregates::AggregationQuery;
//! use genesys::client::{ClientConfig, GenesysClient};
//!
//! let client = GenesysClient::new(ClientConfig::from_env()?)?;
//! client.login().await?; // bad credentials fail here, naming the settings to check
//! let query = AggregationQuery {
//!     interval: "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z".into(),
//!     granularity: Some("PT15M".into()),
//!     group_by: vec!["queueId".into()],
//!     metrics: vec!["nOffered".into(), "tHandle".into()],
//!     ..AggregationQuery::default()
//! };
//! let mut pages = client.run_aggregates_job(&query).await?;
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} groups", page.results.len());
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod budget;
pub mod config;
pub mod error;
pub mod events;
pub mod region;
pub mod retry;
mod token;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use api::{DirectoryKind, JobKind};
pub use budget::{RateBudget, RateWindow};
pub use config::{ClientConfig, ConfigError, Endpoints};
pub use error::{Error, Result};
pub use events::{Answer, CountersSnapshot, Endpoint, EndpointCount};
pub use region::{Region, UnknownRegion};
pub use retry::{Failure, RetryAction, classify};

use events::{
    AnswerReceived, Counters, DailyLimitReached, InternalEvent, RateLimited, RequestSent,
    RetryScheduled, TokenRejected,
};
use retry::RetryPolicy;
use token::{Lease, Login, TokenCache};

pub const CORRELATION_HEADER: &str = "inin-correlation-id";

/// A cheap-to-clone handle; clones share the token, the rate budget and the counters.
#[derive(Clone, Debug)]
pub struct GenesysClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    endpoints: Endpoints,
    budget: RateBudget,
    tokens: TokenCache,
    counters: Counters,
    policy: RetryPolicy,
}

/// One request, rebuilt for every attempt.
struct Call<'a> {
    method: Method,
    url: String,
    path: &'a str,
    /// Serialized once; every attempt shares it without copying.
    body: Option<Bytes>,
}

fn correlation_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

impl GenesysClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        config.validate()?;
        let endpoints = config.endpoints()?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("genesys-bi/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(config.request_timeout_secs))
            .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
            .gzip(true)
            .build()
            .map_err(Error::Transport)?;
        let policy = RetryPolicy {
            max_attempts: config.max_attempts,
            max_total: Duration::from_secs(config.max_retry_secs),
            min_delay: Duration::from_millis(config.backoff_min_ms),
            max_delay: Duration::from_millis(config.backoff_max_ms.max(config.backoff_min_ms)),
        };
        let budget = RateBudget::new(config.requests_per_minute);
        let inner = Inner {
            http,
            config,
            endpoints,
            budget,
            tokens: TokenCache::default(),
            counters: Counters::default(),
            policy,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    pub fn budget(&self) -> &RateBudget {
        &self.inner.budget
    }

    pub fn counters(&self) -> CountersSnapshot {
        self.inner.counters.snapshot()
    }

    /// Requests answered (or not) by endpoint and status, token requests included.
    pub fn requests_by_endpoint(&self) -> Vec<EndpointCount> {
        self.inner.counters.by_endpoint()
    }

    /// Obtains a token now, so that bad credentials show up before any real work.
    pub async fn login(&self) -> Result<()> {
        self.token().await.map(drop)
    }

    async fn token(&self) -> Result<Lease> {
        let inner = &self.inner;
        let login = Login {
            http: &inner.http,
            login_base: &inner.endpoints.login_base,
            client_id: &inner.config.client_id,
            client_secret: &inner.config.client_secret,
            policy: inner.policy,
            retry_after_ceiling: inner.config.retry_after_ceiling(),
            counters: &inner.counters,
        };
        inner
            .tokens
            .get(|| async { login.request_token().await })
            .await
    }

    fn url(&self, path_or_uri: &str) -> String {
        if path_or_uri.starts_with("http://") || path_or_uri.starts_with("https://") {
            path_or_uri.to_string()
        } else {
            format!("{}{}", self.inner.endpoints.api_base, path_or_uri)
        }
    }

    /// `path` (or an absolute URI such as a `nextUri`) with `query` appended.
    fn query_url(&self, path: &str, query: &[(&str, String)]) -> Result<String> {
        let mut url = reqwest::Url::parse(&self.url(path)).map_err(|e| ConfigError::Invalid {
            setting: "api_base",
            reason: format!("cannot form a URL with `{path}`: {e}"),
        })?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url.into())
    }

    /// GET `path` (or an absolute URI such as a `nextUri`) with `query` appended.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &'static str,
    ) -> Result<T> {
        self.get_decoded(path, query, what, from_json).await
    }

    /// GET `path` with the body decoded by `decode` (a faster reader than serde's, say).
    pub(crate) async fn get_decoded<T>(
        &self,
        path: &str,
        query: &[(&str, String)],
        what: &'static str,
        decode: fn(&[u8]) -> serde_json::Result<T>,
    ) -> Result<T> {
        let url = self.query_url(path, query)?;
        let call = Call {
            method: Method::GET,
            url,
            path,
            body: None,
        };
        self.execute(call, |bytes| decode(bytes).map_err(|e| (what, e)))
            .await
    }

    pub(crate) async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        what: &'static str,
    ) -> Result<T> {
        self.post_decoded(path, body, what, from_json).await
    }

    pub(crate) async fn post_decoded<B: Serialize, T>(
        &self,
        path: &str,
        body: &B,
        what: &'static str,
        decode: impl Fn(&[u8]) -> std::result::Result<T, serde_json::Error>,
    ) -> Result<T> {
        let call = self.post_call(path, body)?;
        self.execute(call, |bytes| decode(bytes).map_err(|e| (what, e)))
            .await
    }

    /// A POST of `body` as JSON, serialized once for every attempt.
    fn post_call<'a, B: Serialize>(&self, path: &'a str, body: &B) -> Result<Call<'a>> {
        let body = serde_json::to_vec(body).map_err(|source| Error::Decode {
            what: "request body",
            endpoint: path.to_string(),
            correlation_id: None,
            source,
        })?;
        Ok(Call {
            method: Method::POST,
            url: self.url(path),
            path,
            body: Some(body.into()),
        })
    }

    /// POSTs `body` and hands back the 2xx answer with its body unread, for the caller to read
    /// as it arrives. Retried like any request up to the answer; a failure while reading the
    /// body is the caller's to handle, since part of it may have been used already.
    pub(crate) async fn post_streamed<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(reqwest::Response, Option<String>)> {
        let call = self.post_call(path, body)?;
        self.execute_with(call, |response, correlation_id| async move {
            Ok((response, correlation_id))
        })
        .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<()> {
        let call = Call {
            method: Method::DELETE,
            url: self.url(path),
            path,
            body: None,
        };
        self.execute(call, |_| Ok(())).await
    }

    /// The request loop: token, budget, send, classify, and retry within the policy's bounds.
    async fn execute<T>(
        &self,
        call: Call<'_>,
        decode: impl Fn(&[u8]) -> Result<T, (&'static str, serde_json::Error)>,
    ) -> Result<T> {
        let endpoint = format!("{} {}", call.method, call.path);
        let (decode, endpoint) = (&decode, endpoint.as_str());
        self.execute_with(call, move |response, correlation_id| async move {
            let bytes = response.bytes().await.map_err(Failure::Transport)?;
            decode(&bytes).map_err(|(what, source)| Failure::Decode {
                what,
                endpoint: endpoint.to_string(),
                correlation_id,
                source,
            })
        })
        .await
    }

    /// The request loop, with `receive` turning a 2xx answer (status and headers in, body not
    /// read yet) into the value; what it fails with is classified and retried like the rest.
    async fn execute_with<T, Fut>(
        &self,
        call: Call<'_>,
        receive: impl Fn(reqwest::Response, Option<String>) -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T, Failure>>,
    {
        let inner = &self.inner;
        let ceiling = inner.config.retry_after_ceiling();
        let mut retries = inner.policy.start();
        let mut relogged = false;
        loop {
            let token = self.token().await?;
            let attempt = retries.begin_attempt();
            let failure = match self.attempt(&call, &token, attempt).await {
                Ok((response, correlation_id)) => match receive(response, correlation_id).await {
                    Ok(value) => return Ok(value),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let correlation_id = failure.correlation_id();
            // `wait` bounds the retry; `sleep_here` is false where something else does the waiting.
            let (wait, sleep_here) = match classify(&failure, ceiling) {
                // One re-login per 401 response. The first 401 of a request always earns one.
                // A 401 on the token that re-login fetched earns another only if it can be a
                // fresh revocation (the storm's "revoked between the re-login and the retry"):
                // the API accepted this token or the one before it. Otherwise two fresh tokens
                // in a row were refused, which no further login mends.
                RetryAction::ReLogin
                    if relogged && !inner.tokens.worked_lately(token.generation) =>
                {
                    inner.tokens.invalidate(token.generation).await;
                    return Err(token_refused(failure));
                }
                RetryAction::ReLogin => {
                    TokenRejected {
                        path: call.path,
                        correlation_id,
                    }
                    .emit(&inner.counters);
                    inner.tokens.invalidate(token.generation).await;
                    relogged = true;
                    // Logging in again is the remedy, not waiting; it still counts as an attempt.
                    (Some(Duration::ZERO), false)
                }
                RetryAction::RetryAfter(wait) => {
                    RateLimited {
                        path: call.path,
                        retry_after: wait,
                        correlation_id,
                    }
                    .emit(&inner.counters);
                    // The budget holds every request back, this one included, until the pause ends.
                    inner.budget.pause(wait);
                    (Some(wait), false)
                }
                RetryAction::Retry => (None, true),
                RetryAction::DontRetry => {
                    if let Failure::Status {
                        status: StatusCode::TOO_MANY_REQUESTS,
                        retry_after: Some(wait),
                        ..
                    } = &failure
                    {
                        DailyLimitReached {
                            path: call.path,
                            retry_after: *wait,
                            correlation_id,
                        }
                        .emit(&inner.counters);
                    }
                    return Err(failure.into_error(ceiling));
                }
            };
            let Some(delay) = retries.next_delay(wait) else {
                let (attempts, elapsed) = (retries.attempts(), retries.elapsed());
                return Err(Error::RetriesExhausted {
                    attempts,
                    elapsed,
                    last: Box::new(failure.into_error(ceiling)),
                });
            };
            let reason = failure.reason();
            RetryScheduled {
                path: call.path,
                attempt,
                delay,
                reason: &reason,
                correlation_id: failure.correlation_id(),
            }
            .emit(&inner.counters);
            if sleep_here {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// One attempt under the budget; `Ok` holds a 2xx answer (its body not read yet) and its
    /// correlation id.
    async fn attempt(
        &self,
        call: &Call<'_>,
        token: &Lease,
        attempt: u32,
    ) -> Result<(reqwest::Response, Option<String>), Failure> {
        let inner = &self.inner;
        let permit = inner.budget.acquire(&inner.counters).await;
        let mut request = inner
            .http
            .request(call.method.clone(), &call.url)
            .bearer_auth(token.value.expose_secret())
            .header(ACCEPT, "application/json");
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        RequestSent {
            method: &call.method,
            path: call.path,
            attempt,
        }
        .emit(&inner.counters);
        let sent = request.send().await;
        AnswerReceived {
            method: &call.method,
            path: call.path,
            status: sent.as_ref().ok().map(reqwest::Response::status),
        }
        .emit(&inner.counters);
        let response = sent.map_err(Failure::Transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(window) = RateWindow::from_headers(&headers) {
            inner.budget.observe(window, &inner.counters);
        }
        drop(permit);
        let correlation_id = correlation_id(&headers);
        if status.is_success() {
            inner.tokens.accepted(token.generation);
        }
        if status.is_success() {
            return Ok((response, correlation_id));
        }
        let bytes = response.bytes().await.map_err(Failure::Transport)?;
        Err(Failure::Status {
            status,
            retry_after: retry::retry_after(&headers),
            body: retry::error_body(status, &bytes),
            correlation_id,
        })
    }
}

/// The error for a token the API refused right after a re-login.
fn token_refused(failure: Failure) -> Error {
    match failure {
        Failure::Status {
            status,
            body,
            correlation_id,
            ..
        } => Error::TokenRefused {
            status: status.as_u16(),
            code: body.code,
            message: body.message,
            correlation_id: correlation_id.or(body.context_id),
            hint: token::TOKEN_REFUSED_HINT,
        },
        other => other.into_error(Duration::ZERO),
    }
}

/// `serde_json::from_slice`, faster: the body's UTF-8 is checked once, not string by string.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        // For the error serde_json gives, with its position.
        Err(_) => serde_json::from_slice(bytes),
    }
}
