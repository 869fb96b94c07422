//! A real emulator on 127.0.0.1 port 0 with its clock frozen at [`NOW`], a reqwest client for
//! it, its admin API, and the checks every Genesys answer must pass (headers, error bodies).

use std::time::Duration;

use emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use genesys::auth::TokenResponse;
use genesys::error_body::ErrorBody;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// The emulator's frozen clock in these tests.
pub const NOW: &str = "2024-05-10T12:00:00Z";
/// The conversation aggregates endpoint, as the admin counters name it.
pub const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";

/// A running emulator and an HTTP client for it; the emulator stops when this is dropped.
pub struct TestEmulator {
    pub handle: EmulatorHandle,
    pub http: reqwest::Client,
}

impl TestEmulator {
    /// The emulator of `EmulatorConfig::for_tests`, its clock frozen at [`NOW`].
    pub async fn spawn() -> TestEmulator {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestEmulator::spawn`], with the configuration changed by `tweak` first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut EmulatorConfig)) -> TestEmulator {
        crate::logs::init();
        let mut config = EmulatorConfig::for_tests();
        config.clock_start = Some(NOW.parse().unwrap());
        config.clock_rate = 0.0;
        tweak(&mut config);
        let handle = Emulator::build(config)
            .await
            .expect("emulator builds")
            .spawn();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        TestEmulator { handle, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.base_url(), path)
    }

    pub fn admin(&self, path: &str) -> String {
        format!("{}{}", self.handle.admin_url(), path)
    }

    pub async fn token_response(&self) -> Response {
        self.http
            .post(self.url("/oauth/token"))
            .basic_auth(self.handle.client_id(), Some(self.handle.client_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request sent")
    }

    pub async fn token(&self) -> String {
        let response = self.token_response().await;
        assert_eq!(response.status(), StatusCode::OK);
        response
            .json::<TokenResponse>()
            .await
            .expect("token body")
            .access_token
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn put_admin(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .put(self.admin(path))
            .json(body)
            .send()
            .await
            .expect("admin request sent");
        assert_eq!(response.status(), StatusCode::OK, "admin PUT {path}");
        response.json().await.expect("admin body")
    }

    pub async fn get_admin(&self, path: &str) -> Value {
        let response = self
            .http
            .get(self.admin(path))
            .send()
            .await
            .expect("admin request sent");
        assert_eq!(response.status(), StatusCode::OK, "admin GET {path}");
        response.json().await.expect("admin body")
    }
}

/// Asserts the Genesys headers are present, then the status and the `ErrorBody` code.
pub async fn expect_error(response: Response, status: u16, code: &str) -> ErrorBody {
    assert_genesys_headers(&response);
    assert_eq!(
        response.status().as_u16(),
        status,
        "status for expected `{code}`"
    );
    let body: ErrorBody = response.json().await.expect("an ErrorBody");
    assert_eq!(
        (body.status, body.code.as_str()),
        (status, code),
        "{body:?}"
    );
    assert!(!body.message.is_empty());
    body
}

pub fn assert_genesys_headers(response: &Response) {
    let headers = response.headers();
    let correlation = headers
        .get("inin-correlation-id")
        .expect("ININ-Correlation-Id")
        .to_str()
        .unwrap();
    uuid_shaped(correlation);
    for name in [
        "inin-ratelimit-count",
        "inin-ratelimit-allowed",
        "inin-ratelimit-reset",
    ] {
        let value = headers
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"));
        value
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{name} not a number"));
    }
}

fn uuid_shaped(value: &str) {
    let groups: Vec<usize> = value.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "`{value}` is not a uuid");
    assert!(value.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
}

pub fn header_u64(response: &Response, name: &str) -> u64 {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The emulator's admin API (`/_emulator/…`): counters, faults, token revocation.
pub struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(emu: &EmulatorHandle) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: emu.admin_url().to_string(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.expect("admin request sent");
        assert!(
            response.status().is_success(),
            "admin answered {}",
            response.status()
        );
        response.json().await.expect("admin JSON")
    }

    pub async fn counters(&self) -> Value {
        self.send(self.http.get(format!("{}/counters", self.base)))
            .await
    }

    pub async fn set_faults(&self, faults: Value) -> Value {
        self.send(self.http.put(format!("{}/faults", self.base)).json(&faults))
            .await
    }

    pub async fn clear_faults(&self) {
        self.set_faults(json!({"rates": {}, "scripted": []})).await;
    }

    pub async fn revoke_tokens(&self) -> Value {
        self.send(self.http.post(format!("{}/revoke-tokens", self.base)))
            .await
    }

    /// How many requests to `route` were answered with `status`.
    pub async fn served(&self, route: &str, status: u16) -> u64 {
        let counters = self.counters().await;
        counters["requests"][route][status.to_string()]
            .as_u64()
            .unwrap_or(0)
    }
}
