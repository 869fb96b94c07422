//! The middleware in front of every Genesys path, in the order the real gateway applies them:
//! correlation id, rate budget, injected faults, bearer check, then the endpoint; and on the way
//! out the `inin-*` headers on every response, errors included.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use genesys::auth::TOKEN_PATH;
use genesys::error_body::ErrorBody;

use crate::connection_abort::ConnectionAbort;
use crate::error::{ApiError, MAX_BODY_BYTES};
use crate::events::{
    BearerRejected, FaultInjected, InternalEvent, RateLimited, RequestServed, TokensRevoked,
};
use crate::faults::{Decision, Fault};
use crate::permissions;
use crate::ratelimit::RateStatus;
use crate::state::AppState;

pub const CORRELATION_HEADER: &str = "ININ-Correlation-Id";

pub async fn gateway(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(&request);
    let method = request.method().to_string();
    let correlation = crate::ids::random_uuid().to_string();
    let rate = state.limiter.hit(&rate_key(&request), started);

    let (response, truncated) = match admit(&state, &request, &route, rate, started) {
        Admission::Respond(error) => {
            drain_body(request).await;
            (error.into_response(), false)
        }
        Admission::Drop => {
            RequestServed {
                method: &method,
                route: &route,
                status: 0,
                duration_ms: elapsed_ms(started),
            }
            .emit(&state.counters);
            return drop_connection(request.extensions().get::<ConnectionAbort>().cloned()).await;
        }
        Admission::Proceed(decision) => {
            if let Some(delay) = decision.delay {
                FaultInjected {
                    kind: "slow_reply",
                    route: &route,
                    status: None,
                }
                .emit(&state.counters);
                tokio::time::sleep(delay).await;
            }
            let truncated = matches!(decision.fault, Some(Fault::Truncate));
            (next.run(request).await, truncated)
        }
    };
    let status = response.status().as_u16();
    let response = if status >= 400 {
        with_context_id(response, &correlation).await
    } else {
        response
    };
    let mut response = if truncated {
        truncate(response).await
    } else {
        response
    };
    decorate(&mut response, rate, &correlation);
    RequestServed {
        method: &method,
        route: &route,
        status,
        duration_ms: elapsed_ms(started),
    }
    .emit(&state.counters);
    response
}

/// Reads and discards a refused request's body. Answering before the body is read makes hyper
/// close the connection, and a client that reuses it (urllib3 right after a `Retry-After: 0`)
/// then sees a spurious disconnect; Genesys keeps such connections open.
async fn drain_body(request: Request) {
    // An over-long or broken body ends the drain; the connection then closes, as it may.
    let _ = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await;
}

enum Admission {
    Respond(ApiError),
    Drop,
    Proceed(Decision),
}

fn admit(
    state: &AppState,
    request: &Request,
    route: &str,
    rate: RateStatus,
    now: Instant,
) -> Admission {
    if rate.exceeded() {
        RateLimited {
            route,
            retry_after_secs: rate.reset_secs,
        }
        .emit(&state.counters);
        return Admission::Respond(ApiError::too_many_requests(rate.reset_secs));
    }
    let decision = state.faults.decide(request.uri().path(), now);
    if decision.revoke_tokens {
        let count = state.tokens.revoke_all();
        TokensRevoked {
            count,
            cause: "fault injection",
        }
        .emit(&state.counters);
    }
    match decision.fault {
        Some(
            fault @ Fault::Status {
                status,
                retry_after_secs,
                ..
            },
        ) => {
            FaultInjected {
                kind: fault.kind(),
                route,
                status: Some(status),
            }
            .emit(&state.counters);
            return Admission::Respond(ApiError::for_status(status, retry_after_secs));
        }
        Some(fault @ Fault::Reset) => {
            FaultInjected {
                kind: fault.kind(),
                route,
                status: None,
            }
            .emit(&state.counters);
            return Admission::Drop;
        }
        Some(fault @ Fault::Truncate) => FaultInjected {
            kind: fault.kind(),
            route,
            status: None,
        }
        .emit(&state.counters),
        None => {}
    }
    if request.uri().path() == TOKEN_PATH {
        return Admission::Proceed(decision);
    }
    let grant = match state.tokens.check(bearer_token(request)) {
        Ok(grant) => grant,
        Err(rejection) => {
            BearerRejected {
                route,
                reason: rejection.as_str(),
            }
            .emit(&state.counters);
            return Admission::Respond(ApiError::new(401, rejection.code(), rejection.message()));
        }
    };
    if let Some(Err(missing)) = permissions::required(route).map(|r| permissions::check(&grant, r))
    {
        return Admission::Respond(missing);
    }
    Admission::Proceed(decision)
}

fn route_of(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_string(),
        None => "unmatched".to_string(),
    }
}

/// The token for API calls, the OAuth client for the login endpoint, else one shared bucket.
fn rate_key(request: &Request) -> String {
    if let Some(token) = bearer_token(request) {
        return format!("token:{token}");
    }
    match basic_client_id(request) {
        Some(client) if request.uri().path() == TOKEN_PATH => format!("client:{client}"),
        _ => "anonymous".to_string(),
    }
}

pub fn bearer_token(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `(client_id, client_secret)` from an HTTP Basic header.
pub fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn basic_client_id(request: &Request) -> Option<String> {
    basic_credentials(request).map(|(id, _)| id)
}

fn decorate(response: &mut Response, rate: RateStatus, correlation: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(correlation) {
        headers.insert(CORRELATION_HEADER, value);
    }
    rate.write_headers(headers);
}

/// Genesys echoes the correlation id in an error body's `contextId`.
async fn with_context_id(response: Response, correlation: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let patched = serde_json::from_slice::<ErrorBody>(&bytes)
        .ok()
        .filter(|error| !error.code.is_empty())
        .and_then(|mut error| {
            error.context_id = Some(correlation.to_string());
            serde_json::to_vec(&crate::error::WireError::of(&error)).ok()
        });
    match patched {
        Some(json) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(json))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Closes the TCP connection with no response; the future never resolves (it is dropped with
/// the connection).
async fn drop_connection(abort: Option<ConnectionAbort>) -> Response {
    match abort {
        Some(abort) => {
            abort.trigger();
            std::future::pending().await
        }
        // Served outside our accept loop (no connection to drop): the nearest honest answer.
        None => ApiError::for_status(503, None).into_response(),
    }
}

/// Declares the full Content-Length but sends only the first half of the body, then closes.
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if bytes.len() < 2 {
        return Response::from_parts(parts, Body::from(bytes));
    }
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, Body::new(UnsizedBody::new(half)))
}

/// One chunk with no size hint, so hyper trusts the declared Content-Length; then a short pause
/// (hyper flushes what it has while the body is pending) and the end, which falls short of the
/// declared length, so hyper closes the connection mid-body.
struct UnsizedBody {
    chunk: Option<Bytes>,
    pause: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl UnsizedBody {
    fn new(chunk: Bytes) -> Self {
        Self {
            chunk: Some(chunk),
            pause: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(20))),
        }
    }
}

impl hyper::body::Body for UnsizedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if let Some(chunk) = self.chunk.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))));
        }
        self.pause.as_mut().poll(cx).map(|()| None)
    }
}
