//! `POST /oauth/token`: client credentials in a Basic header or in the form body.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use genesys::auth::TokenResponse;

use crate::config::EmulatorConfig;
use crate::error::{ApiError, OAuthError};
use crate::events::{InternalEvent, TokenIssued, TokenRequestRejected};
use crate::extract::{declared_length, media_type, read_body_limited};
use crate::gateway::basic_credentials;
use crate::permissions::Grant;
use crate::state::AppState;

pub async fn token(State(state): State<Arc<AppState>>, request: Request) -> Response {
    match issue(&state, request).await {
        Ok(token) => {
            TokenIssued.emit(&state.counters);
            Json(token).into_response()
        }
        Err(Refusal::OAuth(error)) => {
            TokenRequestRejected {
                error: error.body.error.clone(),
            }
            .emit(&state.counters);
            error.into_response()
        }
        Err(Refusal::Platform(error)) => {
            TokenRequestRejected {
                error: error.body.code.clone(),
            }
            .emit(&state.counters);
            error.into_response()
        }
    }
}

/// OAuth errors have their own shape; an oversized body is refused by the platform (`ErrorBody`).
enum Refusal {
    OAuth(OAuthError),
    Platform(ApiError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

async fn issue(state: &AppState, request: Request) -> Result<TokenResponse, Refusal> {
    let basic = basic_credentials(&request);
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media_type(content_type) != "application/x-www-form-urlencoded" {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    let declared = declared_length(request.headers());
    let body = read_body_limited(request.into_body(), declared)
        .await
        .map_err(|e| match e.status() {
            413 => Refusal::Platform(e),
            _ => OAuthError::invalid_request(&e.body.message).into(),
        })?;
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    match form.get("grant_type").map(String::as_str) {
        None | Some("") => return Err(OAuthError::invalid_request("grant_type is required").into()),
        Some("client_credentials") => {}
        Some(other) => return Err(OAuthError::unsupported_grant_type(other).into()),
    }
    let (id, secret) = basic
        .or_else(|| {
            Some((
                form.get("client_id")?.clone(),
                form.get("client_secret")?.clone(),
            ))
        })
        .ok_or_else(OAuthError::invalid_client)?;
    let grant = grant_of(&state.config, &id, &secret).ok_or_else(OAuthError::invalid_client)?;
    Ok(TokenResponse {
        access_token: state.tokens.issue(grant),
        token_type: "bearer".to_string(),
        expires_in: state.tokens.lifetime().as_secs(),
    })
}

/// The permissions of the client these credentials name, if they are right: everything for
/// the default client, the listed ones for a limited client.
fn grant_of(config: &EmulatorConfig, id: &str, secret: &str) -> Option<Grant> {
    if constant_time_eq(id, &config.client_id) & constant_time_eq(secret, &config.client_secret) {
        return Some(Grant::Everything);
    }
    config
        .limited_clients
        .iter()
        .find(|c| constant_time_eq(id, &c.client_id) & constant_time_eq(secret, &c.client_secret))
        .map(|c| Grant::Only(Arc::from(c.permissions.clone())))
}

/// Compares secrets without an early exit, out of habit: timing should not reveal a prefix.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
