//! Genesys-shaped error responses. Every failure the emulator answers with goes through here, so
//! clients always see an `ErrorBody` (or, on the login endpoint, an `AuthErrorResponse`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use genesys::auth::AuthErrorResponse;
use genesys::error_body::ErrorBody;

use crate::synth::QueryError;

/// Genesys' documented `request.bytes.max`.
pub const MAX_BODY_BYTES: usize = 512_000;

/// A platform API error: the `ErrorBody` and, for 429/503, a `Retry-After`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Boxed: errors travel in `Result`s everywhere and the body is large.
    pub body: Box<ErrorBody>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            body: Box::new(ErrorBody::new(status, code, message)),
            retry_after_secs: None,
        }
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    pub fn status(&self) -> u16 {
        self.body.status
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad.request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not.found", message)
    }

    pub fn too_large() -> Self {
        Self::new(
            413,
            "request.entity.too.large",
            format!("The request is over the size limit. Maximum bytes: {MAX_BODY_BYTES}"),
        )
    }

    pub fn unsupported_media_type(found: &str) -> Self {
        Self::new(
            415,
            "unsupported.media.type",
            format!("Unsupported Content-Type `{found}`; this endpoint consumes application/json"),
        )
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let message = format!(
            "Rate limit exceeded the maximum. Retry the request in [{retry_after_secs}] seconds"
        );
        Self::new(429, "too.many.requests.retry.after", message).with_retry_after(retry_after_secs)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal.server.error", message)
    }

    /// The body Genesys sends for a given status, for injected faults.
    pub fn for_status(status: u16, retry_after_secs: Option<u64>) -> Self {
        let error = match status {
            400 => Self::bad_request(
                "The request could not be understood by the server due to malformed syntax.",
            ),
            401 => Self::new(401, "bad.credentials", "Invalid login credentials."),
            403 => Self::new(
                403,
                "not.authorized",
                "You are not authorized to perform the requested action.",
            ),
            404 => Self::not_found("The requested resource was not found."),
            408 => Self::new(
                408,
                "client.timeout",
                "The client did not produce a request within the server timeout.",
            ),
            413 => Self::too_large(),
            415 => Self::new(415, "unsupported.media.type", "Unsupported Media Type."),
            429 => Self::too_many_requests(retry_after_secs.unwrap_or(1)),
            500 => Self::internal("The server encountered an internal error."),
            502 => Self::new(
                502,
                "bad.gateway",
                "Bad Gateway - The server received an invalid response from an upstream server.",
            ),
            503 => Self::new(
                503,
                "service.unavailable",
                "Service Unavailable - The server is currently unavailable (because it is overloaded or down for maintenance).",
            ),
            504 => Self::new(504, "request.timeout", "The request timed out."),
            other => Self::new(other, "error", format!("Injected error status {other}.")),
        };
        match retry_after_secs {
            Some(secs) => error.with_retry_after(secs),
            None => error,
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        Self::new(e.status, e.code, e.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(WireError::of(&self.body))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// An `ErrorBody` as Genesys writes it: `details` and `errors` are always there, empty or not
/// (every recorded error has them).
#[derive(serde::Serialize)]
pub(crate) struct WireError<'a> {
    #[serde(flatten)]
    body: &'a ErrorBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Vec<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<()>>,
}

impl<'a> WireError<'a> {
    pub(crate) fn of(body: &'a ErrorBody) -> Self {
        Self {
            details: body.details.is_empty().then(Vec::new),
            errors: body.errors.is_empty().then(Vec::new),
            body,
        }
    }
}

/// An OAuth error from `/oauth/token` (a different shape from `ErrorBody`).
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: StatusCode,
    pub body: AuthErrorResponse,
}

impl OAuthError {
    pub fn invalid_request(description: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: AuthErrorResponse::new("invalid_request", description),
        }
    }

    pub fn unsupported_grant_type(grant: &str) -> Self {
        let description = format!("grant type `{grant}` is not supported; use client_credentials");
        Self {
            status: StatusCode::BAD_REQUEST,
            body: AuthErrorResponse::new("unsupported_grant_type", &description),
        }
    }

    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: AuthErrorResponse::new("invalid_client", "client authentication failed"),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
