//! Client settings: credentials, where the API lives, the rate budget and retry bounds. Read from a
//! config file (serde) or from `GENESYS_*` environment variables.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::region::Region;

pub const ENV_CLIENT_ID: &str = "GENESYS_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "GENESYS_CLIENT_SECRET";
pub const ENV_REGION: &str = "GENESYS_REGION";
pub const ENV_API_BASE: &str = "GENESYS_API_BASE";
pub const ENV_LOGIN_BASE: &str = "GENESYS_LOGIN_BASE";

/// Everything the client needs. `Debug` shows the secret as `[REDACTED]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's `https://api.<domain>` (gateways, the emulator).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Overrides the token host; defaults to the region's, or to `api_base` with `api.` → `login.`.
    #[serde(default)]
    pub login_base: Option<String>,
    /// The rate budget shared by every request of this OAuth client.
    #[serde(default = "defaults::requests_per_minute")]
    pub requests_per_minute: u32,
    /// A 429 asking to wait longer than this is a daily-limit error, not a wait.
    #[serde(default = "defaults::retry_after_ceiling_secs")]
    pub retry_after_ceiling_secs: u64,
    /// Attempts per request, the first included.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// No retry starts once a request has taken this long in total.
    #[serde(default = "defaults::max_retry_secs")]
    pub max_retry_secs: u64,
    #[serde(default = "defaults::backoff_min_ms")]
    pub backoff_min_ms: u64,
    #[serde(default = "defaults::backoff_max_ms")]
    pub backoff_max_ms: u64,
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    #[serde(default = "defaults::connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// Async jobs: first and longest pause between status polls, and how long to wait at most.
    #[serde(default = "defaults::job_poll_min_ms")]
    pub job_poll_min_ms: u64,
    #[serde(default = "defaults::job_poll_max_ms")]
    pub job_poll_max_ms: u64,
    #[serde(default = "defaults::job_timeout_secs")]
    pub job_timeout_secs: u64,
}

mod defaults {
    pub fn requests_per_minute() -> u32 {
        300
    }
    pub fn retry_after_ceiling_secs() -> u64 {
        180
    }
    pub fn max_attempts() -> u32 {
        8
    }
    pub fn max_retry_secs() -> u64 {
        600
    }
    pub fn backoff_min_ms() -> u64 {
        500
    }
    pub fn backoff_max_ms() -> u64 {
        30_000
    }
    pub fn request_timeout_secs() -> u64 {
        120
    }
    pub fn connect_timeout_secs() -> u64 {
        10
    }
    pub fn job_poll_min_ms() -> u64 {
        250
    }
    pub fn job_poll_max_ms() -> u64 {
        10_000
    }
    pub fn job_timeout_secs() -> u64 {
        3600
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("setting `{setting}` is missing: {hint}")]
    Missing {
        setting: &'static str,
        hint: &'static str,
    },
    #[error("setting `{setting}` is invalid: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
}

/// Where requests go, resolved from the region and the overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub api_base: String,
    pub login_base: String,
}

impl ClientConfig {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        region: Region,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            region,
            api_base: None,
            login_base: None,
            requests_per_minute: defaults::requests_per_minute(),
            retry_after_ceiling_secs: defaults::retry_after_ceiling_secs(),
            max_attempts: defaults::max_attempts(),
            max_retry_secs: defaults::max_retry_secs(),
            backoff_min_ms: defaults::backoff_min_ms(),
            backoff_max_ms: defaults::backoff_max_ms(),
            request_timeout_secs: defaults::request_timeout_secs(),
            connect_timeout_secs: defaults::connect_timeout_secs(),
            job_poll_min_ms: defaults::job_poll_min_ms(),
            job_poll_max_ms: defaults::job_poll_max_ms(),
            job_timeout_secs: defaults::job_timeout_secs(),
        }
    }

    /// Reads `GENESYS_CLIENT_ID`, `GENESYS_CLIENT_SECRET`, `GENESYS_REGION`, `GENESYS_API_BASE`
    /// and `GENESYS_LOGIN_BASE` from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Like [`ClientConfig::from_env`], with the variables read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let client_id = get(ENV_CLIENT_ID).ok_or(ConfigError::Missing {
            setting: ENV_CLIENT_ID,
            hint: "the OAuth client id of a client-credentials grant",
        })?;
        let secret = get(ENV_CLIENT_SECRET).ok_or(ConfigError::Missing {
            setting: ENV_CLIENT_SECRET,
            hint: "the secret of that OAuth client",
        })?;
        let region = match get(ENV_REGION) {
            Some(raw) => {
                raw.parse()
                    .map_err(|e: super::region::UnknownRegion| ConfigError::Invalid {
                        setting: ENV_REGION,
                        reason: e.to_string(),
                    })?
            }
            None => Region::default(),
        };
        let mut config = Self::new(client_id, secret, region);
        config.api_base = get(ENV_API_BASE);
        config.login_base = get(ENV_LOGIN_BASE);
        config.endpoints()?;
        Ok(config)
    }

    /// Points both hosts at one base URL, gateway style (the emulator serves both).
    pub fn with_base_url(mut self, base: impl Into<String>) -> Self {
        let base = base.into();
        self.login_base = Some(base.clone());
        self.api_base = Some(base);
        self
    }

    pub fn endpoints(&self) -> Result<Endpoints, ConfigError> {
        let api_base = match &self.api_base {
            Some(raw) => checked_base("api_base", raw)?,
            None => self.region.api_base(),
        };
        let login_base = match (&self.login_base, &self.api_base) {
            (Some(raw), _) => checked_base("login_base", raw)?,
            // The SDKs derive the token host from the API host the same way.
            (None, Some(_)) => api_base.replacen("//api.", "//login.", 1),
            (None, None) => self.region.login_base(),
        };
        Ok(Endpoints {
            api_base,
            login_base,
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.endpoints()?;
        let positive = [
            ("requests_per_minute", u64::from(self.requests_per_minute)),
            ("max_attempts", u64::from(self.max_attempts)),
            ("request_timeout_secs", self.request_timeout_secs),
            ("connect_timeout_secs", self.connect_timeout_secs),
        ];
        for (setting, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    reason: "must be greater than zero".into(),
                });
            }
        }
        Ok(())
    }

    pub fn retry_after_ceiling(&self) -> Duration {
        Duration::from_secs(self.retry_after_ceiling_secs)
    }
}

fn checked_base(setting: &'static str, raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed).map_err(|e| ConfigError::Invalid {
        setting,
        reason: format!("`{trimmed}` is not a URL: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::Invalid {
            setting,
            reason: format!("`{trimmed}` is not an http(s) URL"),
        });
    }
    Ok(trimmed.to_string())
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn env_gives_credentials_and_region() {
        let config = ClientConfig::from_lookup(lookup(&[
            (ENV_CLIENT_ID, "id-1"),
            (ENV_CLIENT_SECRET, "s3cr3t-value"),
            (ENV_REGION, "eu_west_1"),
        ]))
        .unwrap();
        assert_eq!(config.client_id, "id-1");
        let endpoints = config.endpoints().unwrap();
        assert_eq!(endpoints.api_base, "https://api.mypurecloud.ie");
        assert_eq!(endpoints.login_base, "https://login.mypurecloud.ie");
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let err = ClientConfig::from_lookup(lookup(&[(ENV_CLIENT_ID, "id-1")])).unwrap_err();
        assert!(err.to_string().contains(ENV_CLIENT_SECRET), "{err}");
    }

    #[test]
    fn bad_region_names_the_variable() {
        let err = ClientConfig::from_lookup(lookup(&[
            (ENV_CLIENT_ID, "id"),
            (ENV_CLIENT_SECRET, "s"),
            (ENV_REGION, "atlantis"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    setting: ENV_REGION,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let config = ClientConfig::new("id", "s3cr3t-value", Region::default());
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }

    #[test]
    fn overrides_derive_login_host_like_the_sdks() {
        let mut config = ClientConfig::new("id", "s", Region::default());
        config.api_base = Some("https://api.gateway.example/".into());
        assert_eq!(
            config.endpoints().unwrap().login_base,
            "https://login.gateway.example"
        );
        let emulator =
            ClientConfig::new("id", "s", Region::default()).with_base_url("http://127.0.0.1:9000");
        let endpoints = emulator.endpoints().unwrap();
        assert_eq!(endpoints.api_base, "http://127.0.0.1:9000");
        assert_eq!(endpoints.login_base, "http://127.0.0.1:9000");
    }

    #[test]
    fn bad_base_url_is_rejected() {
        let config = ClientConfig::new("id", "s", Region::default()).with_base_url("not a url");
        assert!(matches!(
            config.endpoints(),
            Err(ConfigError::Invalid {
                setting: "api_base",
                ..
            })
        ));
    }

    #[test]
    fn deserializes_from_json_with_defaults() {
        let config: ClientConfig = serde_json::from_str(
            r#"{"client_id":"id","client_secret":"s3cr3t-value","region":"mypurecloud.de"}"#,
        )
        .unwrap();
        assert_eq!(config.region.name(), "eu-central-1");
        assert_eq!(config.requests_per_minute, 300);
        assert_eq!(config.retry_after_ceiling(), Duration::from_secs(180));
    }
}
