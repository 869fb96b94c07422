//! API keys on every endpoint except health: `Authorization: Bearer <key>`, or Basic with the
//! key as the password (the Power BI OData connector only speaks Basic).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::odata::ODataError;
use crate::problem::Problem;
use crate::state::AppState;

/// The key a request presents, if it presents one in a form we accept.
fn presented_key(request: &Request) -> Result<String, Problem> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(Problem::unauthorized(
            "send the API key as `Authorization: Bearer <key>` or as the Basic password",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not text"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Ok(rest.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| Problem::unauthorized("the Basic credentials are not valid base64"))?;
        let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
        // The key belongs in the password; a tool that only has a user field may put it there.
        let key = if password.is_empty() { user } else { password };
        return Ok(key.to_string());
    }
    Err(Problem::unauthorized(
        "only the Bearer and Basic schemes are accepted",
    ))
}

/// A refusal in the error format of the API asked: OData's under `/odata`, RFC 9457 elsewhere.
fn refusal(odata: bool, problem: Problem) -> Response {
    if odata {
        ODataError::from(problem).into_response()
    } else {
        problem.into_response()
    }
}

pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let odata = request.uri().path().starts_with("/odata");
    let key = match presented_key(&request) {
        Ok(key) => key,
        Err(problem) => return refusal(odata, problem),
    };
    let generation = state.reads.generation();
    if state.reads.key_verified(generation, &key) {
        return next.run(request).await;
    }
    let reads = state.reads.clone();
    let presented = key.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        let session = reads.session()?;
        session.verify_key(&presented).map_err(Problem::internal)
    })
    .await;
    match verdict {
        Ok(Ok(Some(_))) => {
            state.reads.remember_verified(generation, key);
            next.run(request).await
        }
        Ok(Ok(None)) => refusal(
            odata,
            Problem::unauthorized("the API key is unknown or revoked"),
        ),
        Ok(Err(problem)) => refusal(odata, problem),
        Err(e) => refusal(odata, Problem::internal(e)),
    }
}
