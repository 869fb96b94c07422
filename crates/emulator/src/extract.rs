//! Request extractors whose every rejection is a Genesys `ErrorBody` (axum's own rejections are
//! plain text, and bad input must never look different from the real API).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, MAX_BODY_BYTES};

/// A JSON body: 415 unless `application/json`, 413 over 512,000 bytes, 400 naming what is wrong.
#[derive(Debug)]
pub struct GenesysJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for GenesysJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        require_json_content_type(req.headers())?;
        let declared = declared_length(req.headers());
        let bytes = read_body_limited(req.into_body(), declared).await?;
        parse_json(&bytes).map(GenesysJson)
    }
}

fn require_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let raw = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<non-ascii>"))
        .unwrap_or("");
    if media_type(raw) == "application/json" {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type(raw))
    }
}

pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Application/JSON; charset=utf-8` → `application/json`.
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("The request body is not a valid query: {e}")))
}

/// Reads a body up to the platform limit; a declared or actual size over it is 413.
pub async fn read_body_limited(body: Body, declared: Option<u64>) -> Result<Bytes, ApiError> {
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::too_large());
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let inner = e.into_inner();
            if inner.is::<http_body_util::LengthLimitError>() {
                ApiError::too_large()
            } else {
                ApiError::bad_request(format!("The request body could not be read: {inner}"))
            }
        })
}

/// Query-string parameters; a value of the wrong type is a Genesys 400.
#[derive(Debug)]
pub struct GenesysQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for GenesysQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| GenesysQuery(value))
            .map_err(|e| {
                ApiError::bad_request(format!("Invalid query parameters: {}", e.body_text()))
            })
    }
}
