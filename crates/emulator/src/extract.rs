//! Request extractors whose every rejection is a Genesys `ErrorBody` (axum's own rejections are
//! plain text, and bad input must never look different from the real API).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{HeaderMap, header, request::Parts};
use http_body_util::BodyExt;
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
pub async fn read_body_limited(mut body: Body, declared: Option<u64>) -> Result<Bytes, ApiError> {
    let mut collected = Vec::new();
    let mut too_large = declared.is_some_and(|n| n > MAX_BODY_BYTES as u64);
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(format!("The request body could not be read: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        too_large |= seen > MAX_BODY_BYTES;
        // Keep reading what the client still sends (up to a bound) so it sees our 413 rather
        // than a broken pipe.
        if too_large && seen > DRAIN_LIMIT_BYTES {
            break;
        }
        if !too_large {
            collected.extend_from_slice(&data);
        }
    }
    if too_large {
        Err(ApiError::too_large())
    } else {
        Ok(Bytes::from(collected))
    }
}

const DRAIN_LIMIT_BYTES: usize = 16 * 1024 * 1024;

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

/// A path parameter; undecodable percent-escapes are a Genesys 400, not axum's plain text.
#[derive(Debug)]
pub struct GenesysPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for GenesysPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| GenesysPath(value))
            .map_err(|e| ApiError::bad_request(format!("Invalid path: {}", e.body_text())))
    }
}
