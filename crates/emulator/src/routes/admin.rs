//! The emulator's own control API under `/_emulator/` (no auth, no rate limit, never mixed with
//! Genesys paths): virtual clock, faults, counters, token revocation. JSON in and out.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use genesys::interval::format_instant;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::events::{CountersSnapshot, InternalEvent, TokensRevoked};
use crate::extract::GenesysJson;
use crate::faults::{FaultConfig, FaultRates, ScriptedFault};
use crate::state::AppState;

pub const PREFIX: &str = "/_emulator";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/clock", get(get_clock).put(put_clock))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/counters", get(get_counters).post(reset_counters))
        .route("/counters/reset", post(reset_counters))
        .route("/revoke-tokens", post(revoke_tokens))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockView {
    pub now: String,
    pub rate: f64,
}

/// Body of `PUT /_emulator/clock`: any subset, applied in the order `now`, `rate`, `advance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClockUpdate {
    /// An RFC 3339 instant to jump to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
    /// Virtual seconds per real second (0 freezes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// An ISO-8601 duration to move forward (or back, with a leading `-`), e.g. `PT1H`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
}

async fn get_clock(State(state): State<Arc<AppState>>) -> Json<ClockView> {
    Json(clock_view(&state))
}

fn clock_view(state: &AppState) -> ClockView {
    ClockView {
        now: format_instant(state.clock.now()),
        rate: state.clock.rate(),
    }
}

async fn put_clock(
    State(state): State<Arc<AppState>>,
    GenesysJson(update): GenesysJson<ClockUpdate>,
) -> Result<Json<ClockView>, ApiError> {
    let now = update
        .now
        .as_deref()
        .map(|raw| {
            raw.parse::<Timestamp>().map_err(|e| {
                ApiError::bad_request(format!("`now` is not an RFC 3339 instant: {e}"))
            })
        })
        .transpose()?;
    let rate = update.rate.filter(|r| !(r.is_finite() && *r >= 0.0));
    if let Some(bad) = rate {
        return Err(ApiError::bad_request(format!(
            "`rate` must be a finite number >= 0, not {bad}"
        )));
    }
    let advance = update
        .advance
        .as_deref()
        .map(|raw| {
            raw.parse::<SignedDuration>().map_err(|e| {
                ApiError::bad_request(format!("`advance` is not an ISO-8601 duration: {e}"))
            })
        })
        .transpose()?;
    match (now, update.rate) {
        (Some(now), Some(rate)) => state.clock.set_with_rate(now, rate),
        (Some(now), None) => state.clock.set(now),
        (None, Some(rate)) => state.clock.set_rate(rate),
        (None, None) => {}
    }
    if let Some(by) = advance {
        state.clock.advance(by);
    }
    Ok(Json(clock_view(&state)))
}

async fn get_faults(State(state): State<Arc<AppState>>) -> Json<FaultConfig> {
    Json(state.faults.config())
}

/// The new fault configuration; `seed` (optional) restarts the random sequence.
/// (serde's `flatten` would let unknown keys through, hence the fields spelled out.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultUpdate {
    #[serde(default)]
    pub rates: FaultRates,
    #[serde(default)]
    pub scripted: Vec<ScriptedFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

async fn put_faults(
    State(state): State<Arc<AppState>>,
    GenesysJson(update): GenesysJson<FaultUpdate>,
) -> Result<Json<FaultConfig>, ApiError> {
    let config = FaultConfig {
        rates: update.rates,
        scripted: update.scripted,
    };
    config.validate().map_err(ApiError::bad_request)?;
    state.faults.set_config(config, update.seed);
    Ok(Json(state.faults.config()))
}

async fn get_counters(State(state): State<Arc<AppState>>) -> Json<CountersSnapshot> {
    Json(state.counters.snapshot())
}

async fn reset_counters(State(state): State<Arc<AppState>>) -> Json<CountersSnapshot> {
    state.counters.reset();
    Json(state.counters.snapshot())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked: usize,
}

async fn revoke_tokens(State(state): State<Arc<AppState>>) -> Json<Revoked> {
    let revoked = state.tokens.revoke_all();
    TokensRevoked {
        count: revoked,
        cause: "admin request",
    }
    .emit(&state.counters);
    Json(Revoked { revoked })
}
