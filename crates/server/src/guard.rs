//! What every request goes through before its route: an id (`x-request-id`, the client's if it
//! sent a sane one), a tracing span carrying it, a deadline for the answer's headers, and a
//! catch for panics so that one bad request answers 500 instead of ending the process.

use std::any::Any;
use std::hash::{BuildHasher, RandomState};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::Problem;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen id kept; longer ones are replaced (they end up in every log line).
const MAX_CLIENT_ID_LEN: usize = 128;

#[derive(Debug, Clone)]
pub struct Guard {
    /// Time until the answer's headers; a streamed body may take longer.
    pub request_timeout: Duration,
}

pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| is_sane(v))
        .cloned()
        .unwrap_or_else(new_id);
    request.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    // At error level so that it is enabled whenever errors are logged (the binary's default
    // filter is `warn`): every error logged for this request carries its id.
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let id_text = id.to_str().unwrap_or_default().to_string();
    let span = tracing::error_span!("request", id = %id_text, method = %method, path = %path);
    let answer = AssertUnwindSafe(tokio::time::timeout(
        guard.request_timeout,
        next.run(request),
    ))
    .catch_unwind()
    .instrument(span.clone())
    .await;
    let mut response = match answer {
        Ok(Ok(response)) => response,
        Ok(Err(_elapsed)) => {
            // The id is on the line itself too: a span can be filtered out where the line is not.
            span.in_scope(|| {
                tracing::warn!(id = %id_text, %method, %path, "No answer within the request time-out.")
            });
            Problem::timed_out(guard.request_timeout).into_response()
        }
        Err(panic) => {
            span.in_scope(|| {
                tracing::error!(
                    id = %id_text,
                    %method,
                    %path,
                    panic = panic_message(&*panic),
                    "A request handler panicked."
                );
            });
            Problem::panicked().into_response()
        }
    };
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

/// Visible ASCII without spaces or quotes, short: safe to echo and to log.
fn is_sane(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_CLIENT_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

/// 32 hex digits: a per-process random half and a counter, so ids never repeat within a
/// process and are unlikely to repeat across restarts.
fn new_id() -> HeaderValue {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    HeaderValue::from_str(&format!("{process:016x}{n:016x}")).expect("hex is a header value")
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}

impl Problem {
    /// No answer within `request_timeout`.
    pub fn timed_out(limit: Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Answer took too long",
            format!(
                "no answer within the server's request time-out of {} s; narrow the query \
                 (fewer days, a coarser granularity) or ask the operator to raise \
                 [server] request_timeout",
                limit.as_secs_f64()
            ),
        )
    }

    /// A handler panicked: a bug. The log has the details under the request id.
    pub fn panicked() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server hit a bug answering this request; the server log has it under this \
             answer's x-request-id",
        )
    }
}
