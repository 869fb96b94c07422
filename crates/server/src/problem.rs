//! RFC 9457 problem details: every error a client sees is `application/problem+json` with
//! `type`, `title`, `status` and `detail` (and `parameter` when one input was wrong).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";
pub const REALM: &str = "Basic realm=\"genesys-bi\"";

/// An error, as RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// What went wrong, as a path: `/problems/bad-parameter`, `/problems/unknown-dataset`…
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The HTTP status, repeated.
    pub status: u16,
    /// What to change, in words.
    pub detail: String,
    /// The query parameter at fault, when one input was wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub parameter: Option<String>,
}

impl Problem {
    pub(crate) fn new(
        status: StatusCode,
        slug: &str,
        title: &str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind: format!("/problems/{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            parameter: None,
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Missing or invalid API key",
            detail,
        )
    }

    /// A bad query parameter, named so the caller can fix it.
    pub fn bad_parameter(parameter: &str, detail: impl Into<String>) -> Self {
        let mut problem = Self::new(
            StatusCode::BAD_REQUEST,
            "bad-parameter",
            "Invalid request parameter",
            format!("`{parameter}`: {}", detail.into()),
        );
        problem.parameter = Some(parameter.into());
        problem
    }

    pub fn unknown_dataset(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown-dataset",
            "Unknown dataset",
            format!("there is no dataset `{name}`; GET /v1/datasets lists them"),
        )
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no endpoint at `{path}`; GET /openapi.json lists them"),
        )
    }

    /// The store failed: the detail is logged, the client is told only that it failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "Request failed on the store.");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the store could not answer; see the server log",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Store unavailable",
            detail,
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).expect("problems serialize");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
        }
        response
    }
}

impl From<warehouse::StoreError> for Problem {
    fn from(error: warehouse::StoreError) -> Self {
        match error {
            // Of a data request's parameters, only `filter` (one bound value each) makes a
            // statement grow; its own limit keeps it far from SQLite's, so this is a backstop.
            warehouse::StoreError::QueryTooComplex(too_complex) => {
                Problem::bad_parameter("filter", too_complex.to_string())
            }
            other => Problem::internal(other),
        }
    }
}

impl From<tokio::task::JoinError> for Problem {
    fn from(error: tokio::task::JoinError) -> Self {
        Problem::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the store says of an expression nested past its limit.
    fn too_deep() -> warehouse::StoreError {
        warehouse::testing::too_deep_statement_error()
    }

    #[test]
    fn a_statement_too_complex_is_a_bad_request_not_an_internal_error() {
        let problem = Problem::from(too_deep());
        assert_eq!(problem.status, 400);
        assert_eq!(problem.parameter.as_deref(), Some("filter"));
        let odata = crate::odata::ODataError::statement(too_deep());
        assert_eq!(odata.status, StatusCode::BAD_REQUEST);
        assert_eq!(odata.target.as_deref(), Some("$filter"));
        // Other store failures stay internal, their detail only in the log.
        let corrupt = warehouse::StoreError::CorruptInstant {
            value: "nowhere".into(),
        };
        let problem = Problem::from(corrupt);
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("nowhere"), "{}", problem.detail);
    }
}
