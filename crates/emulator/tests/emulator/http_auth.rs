//! OAuth client credentials and bearer checks over real HTTP.

use std::time::Duration;

use genesys::auth::{AuthErrorResponse, TokenResponse};
use reqwest::StatusCode;
use serde_json::json;
use test_support::TestEmulator;
use test_support::emulator::{assert_genesys_headers, expect_error};

const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";

async fn oauth_error(response: reqwest::Response, status: u16, error: &str) {
    assert_genesys_headers(&response);
    assert_eq!(response.status().as_u16(), status);
    let body: AuthErrorResponse = response.json().await.expect("an AuthErrorResponse");
    assert_eq!(body.error, error);
    assert!(!body.error_description.is_empty());
    assert_eq!(body.description, body.error_description);
}

#[tokio::test]
async fn basic_credentials_get_a_bearer_token_that_opens_the_api() {
    let emu = TestEmulator::spawn().await;
    let response = emu.token_response().await;
    assert_genesys_headers(&response);
    let token: TokenResponse = response.json().await.unwrap();
    assert_eq!(token.token_type, "bearer");
    assert_eq!(token.expires_in, 86_399);
    assert!(token.access_token.len() >= 32);
    let api = emu.get(&token.access_token, AVAILABILITY).await;
    assert_eq!(api.status(), StatusCode::OK);
    assert_genesys_headers(&api);
}

#[tokio::test]
async fn form_credentials_are_accepted_too() {
    let emu = TestEmulator::spawn().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", emu.handle.client_id()),
        ("client_secret", emu.handle.client_secret()),
    ];
    let response = emu
        .http
        .post(emu.url("/oauth/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let token: TokenResponse = response.json().await.unwrap();
    assert_eq!(
        emu.get(&token.access_token, AVAILABILITY).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_credentials_and_grants_get_oauth_errors() {
    let emu = TestEmulator::spawn().await;
    let grant = [("grant_type", "client_credentials")];
    let url = emu.url("/oauth/token");
    let wrong_secret = emu
        .http
        .post(&url)
        .basic_auth(emu.handle.client_id(), Some("nope"))
        .form(&grant)
        .send()
        .await
        .unwrap();
    oauth_error(wrong_secret, 401, "invalid_client").await;
    let wrong_id = emu
        .http
        .post(&url)
        .basic_auth("someone", Some(emu.handle.client_secret()))
        .form(&grant)
        .send()
        .await
        .unwrap();
    oauth_error(wrong_id, 401, "invalid_client").await;
    let no_credentials = emu.http.post(&url).form(&grant).send().await.unwrap();
    oauth_error(no_credentials, 401, "invalid_client").await;
    let bad_form = [
        ("grant_type", "client_credentials"),
        ("client_id", emu.handle.client_id()),
        ("client_secret", "x"),
    ];
    oauth_error(
        emu.http.post(&url).form(&bad_form).send().await.unwrap(),
        401,
        "invalid_client",
    )
    .await;

    let basic = |req: reqwest::RequestBuilder| {
        req.basic_auth(emu.handle.client_id(), Some(emu.handle.client_secret()))
    };
    let password_grant = basic(emu.http.post(&url))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    oauth_error(password_grant, 400, "unsupported_grant_type").await;
    let no_grant = basic(emu.http.post(&url))
        .form(&[("scope", "x")])
        .send()
        .await
        .unwrap();
    oauth_error(no_grant, 400, "invalid_request").await;
    let json_body = basic(emu.http.post(&url))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    oauth_error(json_body, 400, "invalid_request").await;

    let huge = format!("grant_type=client_credentials&pad={}", "x".repeat(520_000));
    let oversized = basic(emu.http.post(&url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect_error(oversized, 413, "request.entity.too.large").await;

    let counters = emu.get_admin("/counters").await;
    assert_eq!(counters["tokenRequestsRejected"], 8);
    assert_eq!(counters["tokensIssued"], 0);
}

#[tokio::test]
async fn api_calls_without_a_valid_bearer_get_401_error_bodies() {
    let emu = TestEmulator::spawn().await;
    let missing = emu.http.get(emu.url(AVAILABILITY)).send().await.unwrap();
    expect_error(missing, 401, "authentication.required").await;
    expect_error(
        emu.get("not-a-token", AVAILABILITY).await,
        401,
        "bad.credentials",
    )
    .await;
    let basic = emu
        .http
        .get(emu.url(AVAILABILITY))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    expect_error(basic, 401, "authentication.required").await;
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let emu = TestEmulator::spawn_with(|c| c.token_lifetime = Duration::from_secs(1)).await;
    let response = emu.token_response().await;
    let token: TokenResponse = response.json().await.unwrap();
    assert_eq!(token.expires_in, 1);
    assert_eq!(
        emu.get(&token.access_token, AVAILABILITY).await.status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    expect_error(
        emu.get(&token.access_token, AVAILABILITY).await,
        401,
        "credentials.expired",
    )
    .await;
    let fresh = emu.token().await;
    assert_eq!(emu.get(&fresh, AVAILABILITY).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_new_ones_work() {
    let emu = TestEmulator::spawn().await;
    let (first, second) = (emu.token().await, emu.token().await);
    let revoked = emu
        .http
        .post(emu.admin("/revoke-tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        revoked.json::<serde_json::Value>().await.unwrap()["revoked"],
        2
    );
    expect_error(emu.get(&first, AVAILABILITY).await, 401, "bad.credentials").await;
    expect_error(emu.get(&second, AVAILABILITY).await, 401, "bad.credentials").await;
    let third = emu.token().await;
    assert_eq!(emu.get(&third, AVAILABILITY).await.status(), StatusCode::OK);
    let counters = emu.get_admin("/counters").await;
    assert_eq!(
        (
            counters["tokensIssued"].as_u64(),
            counters["tokensRevoked"].as_u64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(counters["bearerRejected"]["revoked"], 2);
}

/// A limited client's token, through Basic credentials.
async fn limited_token(emu: &TestEmulator, id: &str, secret: &str) -> String {
    let response = emu
        .http
        .post(emu.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<TokenResponse>().await.unwrap().access_token
}

#[tokio::test]
async fn a_limited_client_gets_genesys_403s_naming_what_it_lacks() {
    let emu = TestEmulator::spawn_with(|config| {
        config.limited_clients = vec!["queues-only:pw:routing:queue:view".parse().unwrap()];
    })
    .await;
    let token = limited_token(&emu, "queues-only", "pw").await;
    assert_eq!(
        emu.get(&token, "/api/v2/routing/queues?pageSize=1")
            .await
            .status(),
        StatusCode::OK
    );
    let query =
        json!({"interval": "2024-05-01T00:00:00Z/2024-05-02T00:00:00Z", "metrics": ["nOffered"]});
    let refused = emu
        .post_json(
            &token,
            "/api/v2/analytics/conversations/aggregates/query",
            &query,
        )
        .await;
    let body = expect_error(refused, 403, "missing.permissions").await;
    assert!(
        body.message
            .ends_with(": analytics:conversationAggregate:view"),
        "{}",
        body.message
    );
    assert!(body.context_id.is_some_and(|c| !c.is_empty()));
    let details = expect_error(
        emu.get(&token, AVAILABILITY).await,
        403,
        "missing.permissions",
    )
    .await;
    assert!(
        details
            .message
            .contains("analytics:conversationDetail:view")
    );
    let wrapup_codes = emu.get(&token, "/api/v2/routing/wrapupcodes").await;
    let refused = expect_error(wrapup_codes, 403, "missing.permissions").await;
    assert!(refused.message.ends_with(": routing:wrapupCode:view"));
    let users = emu.get(&token, "/api/v2/users").await;
    assert_eq!(
        users.status(),
        StatusCode::OK,
        "the user list needs no permission"
    );

    // The wrong secret for a limited client is a refused login; the default client keeps all.
    let wrong = emu
        .http
        .post(emu.url("/oauth/token"))
        .basic_auth("queues-only", Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    oauth_error(wrong, 401, "invalid_client").await;
    let full = emu.token().await;
    let answered = emu
        .post_json(
            &full,
            "/api/v2/analytics/conversations/aggregates/query",
            &query,
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
}
