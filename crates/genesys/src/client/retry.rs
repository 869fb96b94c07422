//! Retry classification (one explicit function, after Vector's RetryLogic) and the back-off
//! schedule: exponential with full jitter, bounded by attempts and by total time.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error_body::ErrorBody;

use super::error::Error;

/// Wait used when a 429 carries no `Retry-After` (the .NET SDK's default).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(3);

/// What to do after one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Try again after the back-off delay.
    Retry,
    /// Pause the whole rate budget for exactly this long, then try again.
    RetryAfter(Duration),
    /// Drop the token, log in again, try again (once per 401; see `GenesysClient::execute`).
    ReLogin,
    DontRetry,
}

/// One attempt that did not yield a decoded body.
#[derive(Debug)]
pub enum Failure {
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: ErrorBody,
        correlation_id: Option<String>,
    },
    Transport(reqwest::Error),
    /// A 2xx body that arrived whole (a body cut short is a `Transport` failure) but does not
    /// decode: the same request would get the same body again.
    Decode {
        what: &'static str,
        /// The request path, so the error names the endpoint.
        endpoint: String,
        correlation_id: Option<String>,
        source: serde_json::Error,
    },
}

/// The retry policy, in one place.
pub fn classify(failure: &Failure, retry_after_ceiling: Duration) -> RetryAction {
    match failure {
        Failure::Status {
            status,
            retry_after,
            ..
        } => match status.as_u16() {
            401 => RetryAction::ReLogin,
            429 => match retry_after.unwrap_or(DEFAULT_RETRY_AFTER) {
                wait if wait > retry_after_ceiling => RetryAction::DontRetry,
                wait => RetryAction::RetryAfter(wait),
            },
            408 | 409 => RetryAction::Retry,
            501 => RetryAction::DontRetry,
            500..=599 => RetryAction::Retry,
            _ => RetryAction::DontRetry,
        },
        // Connection refused/reset, timeouts and bodies cut short of their length: transient.
        Failure::Transport(e) if e.is_builder() || e.is_redirect() => RetryAction::DontRetry,
        Failure::Transport(_) => RetryAction::Retry,
        // The whole body arrived and has the wrong shape: asking again gets the same body.
        Failure::Decode { .. } => RetryAction::DontRetry,
    }
}

impl Failure {
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Failure::Status { correlation_id, .. } | Failure::Decode { correlation_id, .. } => {
                correlation_id.as_deref()
            }
            Failure::Transport(_) => None,
        }
    }

    /// A short reason for logs.
    pub fn reason(&self) -> String {
        match self {
            Failure::Status { status, body, .. } => {
                format!("HTTP {} {}", status.as_u16(), body.code)
            }
            Failure::Transport(e) => format!("transport: {e}"),
            Failure::Decode { source, .. } => format!("undecodable body: {source}"),
        }
    }

    pub fn into_error(self, retry_after_ceiling: Duration) -> Error {
        match self {
            Failure::Status {
                status,
                retry_after,
                correlation_id,
                ..
            } if status == StatusCode::TOO_MANY_REQUESTS
                && retry_after.is_some_and(|wait| wait > retry_after_ceiling) =>
            {
                Error::DailyLimit {
                    retry_after: retry_after.unwrap_or_default(),
                    correlation_id,
                }
            }
            Failure::Status {
                status,
                body,
                correlation_id,
                ..
            } => Error::Api {
                status: status.as_u16(),
                code: body.code,
                message: body.message,
                correlation_id: correlation_id.or(body.context_id),
            },
            Failure::Transport(e) => Error::Transport(e.without_url()),
            Failure::Decode {
                what,
                endpoint,
                correlation_id,
                source,
            } => Error::Decode {
                what,
                endpoint,
                correlation_id,
                source,
            },
        }
    }
}

/// `Retry-After` in whole seconds, as Genesys sends it.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    raw.parse::<u64>().ok().map(Duration::from_secs)
}

/// Parses an error body; a body that is not Genesys JSON still yields its text as the message.
pub fn error_body(status: StatusCode, bytes: &[u8]) -> ErrorBody {
    serde_json::from_slice::<ErrorBody>(bytes).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(bytes);
        let message: String = text.chars().take(300).collect();
        ErrorBody::new(
            status.as_u16(),
            status.canonical_reason().unwrap_or("error"),
            message,
        )
    })
}

/// Bounds and shape of the back-off.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_total: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

/// The progress of one request through its attempts.
#[derive(Debug)]
pub struct RetryState {
    policy: RetryPolicy,
    started: tokio::time::Instant,
    attempts: u32,
    schedule: backon::ExponentialBackoff,
    rng: fastrand::Rng,
}

impl RetryPolicy {
    pub fn start(&self) -> RetryState {
        // backon gives the exponential schedule; its own jitter only adds to the delay, so full
        // jitter (uniform in [0, delay]) is applied here.
        let schedule = ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_factor(2.0)
            .without_max_times()
            .build();
        RetryState {
            policy: *self,
            started: tokio::time::Instant::now(),
            attempts: 0,
            schedule,
            rng: fastrand::Rng::new(),
        }
    }
}

impl RetryState {
    /// Counts an attempt about to be made; its number, from 1.
    pub fn begin_attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The wait before the next attempt, or `None` when the bounds are reached. `fixed` is a
    /// wait imposed by the server (Retry-After), used as is.
    pub fn next_delay(&mut self, fixed: Option<Duration>) -> Option<Duration> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let delay = match fixed {
            Some(wait) => wait,
            None => self.schedule.next()?.mul_f64(self.rng.f64()),
        };
        (self.elapsed() + delay <= self.policy.max_total).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CEILING: Duration = Duration::from_secs(180);

    fn status(code: u16, retry_after: Option<u64>) -> Failure {
        Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: retry_after.map(Duration::from_secs),
            body: ErrorBody::default(),
            correlation_id: Some("c-1".into()),
        }
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(classify(&status(401, None), CEILING), RetryAction::ReLogin);
        assert_eq!(
            classify(&status(429, Some(7)), CEILING),
            RetryAction::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            classify(&status(429, None), CEILING),
            RetryAction::RetryAfter(DEFAULT_RETRY_AFTER)
        );
        assert_eq!(
            classify(&status(429, Some(180)), CEILING),
            RetryAction::RetryAfter(CEILING)
        );
        assert_eq!(
            classify(&status(429, Some(181)), CEILING),
            RetryAction::DontRetry
        );
        for code in [408, 409, 500, 502, 503, 504, 599] {
            assert_eq!(
                classify(&status(code, None), CEILING),
                RetryAction::Retry,
                "{code}"
            );
        }
        for code in [400, 403, 404, 413, 415, 501] {
            assert_eq!(
                classify(&status(code, None), CEILING),
                RetryAction::DontRetry,
                "{code}"
            );
        }
    }

    #[test]
    fn whole_bodies_of_the_wrong_shape_are_not_retried() {
        let source = serde_json::from_slice::<ErrorBody>(b"[]").unwrap_err();
        let failure = Failure::Decode {
            what: "page",
            endpoint: "/api/v2/x".into(),
            correlation_id: None,
            source,
        };
        assert_eq!(classify(&failure, CEILING), RetryAction::DontRetry);
    }

    #[tokio::test]
    async fn connection_errors_are_retried() {
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert_eq!(
            classify(&Failure::Transport(err), CEILING),
            RetryAction::Retry
        );
    }

    #[test]
    fn long_retry_after_becomes_daily_limit() {
        let err = status(429, Some(3600)).into_error(CEILING);
        assert!(
            matches!(err, Error::DailyLimit { retry_after, .. } if retry_after == Duration::from_secs(3600))
        );
        let err = status(503, None).into_error(CEILING);
        assert!(
            matches!(err, Error::Api { status: 503, correlation_id: Some(ref c), .. } if c == "c-1")
        );
    }

    #[test]
    fn parses_retry_after_and_error_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "12".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(12)));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
        let body = error_body(
            StatusCode::BAD_REQUEST,
            br#"{"message":"bad metric","code":"bad.request","status":400}"#,
        );
        assert_eq!(
            (body.code.as_str(), body.message.as_str()),
            ("bad.request", "bad metric")
        );
        let body = error_body(StatusCode::BAD_GATEWAY, b"<html>proxy</html>");
        assert_eq!(body.message, "<html>proxy</html>");
    }

    #[tokio::test]
    async fn delays_are_full_jitter_and_bounded() {
        let policy = RetryPolicy {
            max_attempts: 5,
            max_total: Duration::from_secs(3600),
            min_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(400),
        };
        let mut state = policy.start();
        let mut delays = Vec::new();
        loop {
            state.begin_attempt();
            match state.next_delay(None) {
                Some(d) => delays.push(d),
                None => break,
            }
        }
        assert_eq!(delays.len(), 4, "5 attempts give 4 waits");
        let caps = [100, 200, 400, 400];
        for (d, cap) in delays.iter().zip(caps) {
            assert!(*d <= Duration::from_millis(cap), "{d:?} > {cap}ms");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn delays_stay_within_every_bound(
            max_attempts in 1u32..20,
            min_ms in 1u64..1_000,
            extra_ms in 0u64..10_000,
            total_ms in 0u64..60_000,
        ) {
            let max_delay = Duration::from_millis(min_ms + extra_ms);
            let policy = RetryPolicy {
                max_attempts,
                max_total: Duration::from_millis(total_ms),
                min_delay: Duration::from_millis(min_ms),
                max_delay,
            };
            let mut state = policy.start();
            let mut waits = 0;
            loop {
                state.begin_attempt();
                let Some(delay) = state.next_delay(None) else { break };
                proptest::prop_assert!(delay <= max_delay);
                proptest::prop_assert!(state.elapsed() + delay <= policy.max_total);
                waits += 1;
            }
            proptest::prop_assert!(waits < max_attempts);
        }
    }

    #[tokio::test]
    async fn total_time_bounds_retries() {
        let policy = RetryPolicy {
            max_attempts: 100,
            max_total: Duration::from_secs(10),
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let mut state = policy.start();
        state.begin_attempt();
        assert_eq!(state.next_delay(Some(Duration::from_secs(11))), None);
        assert_eq!(
            state.next_delay(Some(Duration::from_secs(9))),
            Some(Duration::from_secs(9))
        );
    }
}
