//! OAuth client-credentials token exchange on the login host.

use serde::{Deserialize, Serialize};

/// On the login host (`https://login.<domain>`), or the gateway base for the emulator.
pub const TOKEN_PATH: &str = "/oauth/token";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
}

/// Genesys repeats the text in `description` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthErrorResponse {
    pub error: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub error_description: String,
}

impl AuthErrorResponse {
    pub fn new(error: &str, description: &str) -> Self {
        Self {
            error: error.into(),
            description: description.into(),
            error_description: description.into(),
        }
    }
}
