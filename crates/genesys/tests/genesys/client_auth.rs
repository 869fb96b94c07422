//! Login, token refresh and re-login against the real emulator over HTTP.

use std::time::{Duration, Instant};

use genesys::client::{Error, GenesysClient};
use secrecy::SecretString;
use test_support::TestEmulator;
use test_support::client::{client_for, config_for, hour_query};
use test_support::emulator::{AGGREGATES, Admin};

#[tokio::test]
async fn bad_secret_is_an_auth_error_naming_the_settings_without_retrying() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let mut config = config_for(&emu);
    config.client_secret = SecretString::from("wrong-secret-value");
    let client = GenesysClient::new(config).unwrap();
    let started = Instant::now();
    let err = client.aggregates_query(&hour_query(9)).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no retry loop: {:?}",
        started.elapsed()
    );
    let Error::Auth {
        status, ref hint, ..
    } = err
    else {
        panic!("expected Auth, got {err:?}")
    };
    assert_eq!(status, 401);
    assert!(
        hint.contains("GENESYS_CLIENT_SECRET") && hint.contains("GENESYS_REGION"),
        "{hint}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("wrong-secret-value"),
        "the secret leaked: {shown}"
    );
    assert_eq!(
        client.counters().requests_sent,
        1,
        "one token request, no retries"
    );
}

#[tokio::test]
async fn concurrent_first_requests_share_one_login() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.aggregates_query(&hour_query(i % 24)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("query succeeds");
    }
    assert_eq!(Admin::new(&emu).counters().await["tokensIssued"], 1);
    assert_eq!(client.counters().tokens_refreshed, 1);
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires_during_a_long_run() {
    let emu = TestEmulator::spawn_with(|c| c.token_lifetime = Duration::from_secs(2))
        .await
        .handle;
    let client = client_for(&emu);
    let started = Instant::now();
    let mut queries = 0;
    while started.elapsed() < Duration::from_millis(5_500) {
        client
            .aggregates_query(&hour_query(queries % 24))
            .await
            .expect("query succeeds");
        queries += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let admin = Admin::new(&emu).counters().await;
    let issued = admin["tokensIssued"].as_u64().unwrap();
    assert!(
        issued >= 3,
        "a 2 s token over 5.5 s needs at least 3 logins, got {issued}"
    );
    // Refreshing ahead of expiry means the API never saw an expired token.
    assert_eq!(admin["bearerRejected"], serde_json::json!({}), "{admin}");
    assert_eq!(client.counters().relogins, 0);
}

#[tokio::test]
async fn revoked_token_leads_to_one_relogin_and_a_retry() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let admin = Admin::new(&emu);
    let before = client.aggregates_query(&hour_query(10)).await.unwrap();
    assert_eq!(admin.revoke_tokens().await["revoked"], 1);
    let after = client
        .aggregates_query(&hour_query(10))
        .await
        .expect("re-login and retry");
    assert_eq!(before, after);
    let counters = client.counters();
    assert_eq!((counters.relogins, counters.tokens_refreshed), (1, 2));
    assert_eq!(admin.served(AGGREGATES, 401).await, 1);
}

#[tokio::test]
async fn a_revocation_between_the_relogin_and_the_retry_earns_its_own_relogin() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let admin = Admin::new(&emu);
    let before = client.aggregates_query(&hour_query(10)).await.unwrap();
    // The next two calls each find their token revoked: the one the client held, then the
    // one its re-login fetched. The second is a fresh revocation, not refused credentials.
    admin
        .set_faults(serde_json::json!({"scripted": [
            {"path": AGGREGATES, "effect": "revokeTokens", "count": 2}
        ]}))
        .await;
    let after = client
        .aggregates_query(&hour_query(10))
        .await
        .expect("a re-login for each revocation, then the data");
    assert_eq!(before, after);
    let counters = client.counters();
    assert_eq!((counters.relogins, counters.tokens_refreshed), (2, 3));
    assert_eq!(admin.served(AGGREGATES, 401).await, 2);
}

#[tokio::test]
async fn a_fresh_token_refused_again_is_an_error_naming_the_settings_not_a_loop() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let admin = Admin::new(&emu);
    // Every API call finds its token revoked: the login works, the API takes no token of it.
    admin
        .set_faults(serde_json::json!({"rates": {"revokeTokens": 1.0}}))
        .await;
    let started = Instant::now();
    let err = client.aggregates_query(&hour_query(9)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "no retry loop");
    let Error::TokenRefused {
        status, ref hint, ..
    } = err
    else {
        panic!("expected TokenRefused, got {err:?}")
    };
    assert_eq!(status, 401);
    for setting in ["GENESYS_REGION", "GENESYS_CLIENT_ID"] {
        assert!(hint.contains(setting), "{hint}");
        assert!(err.to_string().contains(setting), "{err}");
    }
    // One re-login, one retry: the token it fetched was refused too.
    let counters = client.counters();
    assert_eq!((counters.relogins, counters.tokens_refreshed), (1, 2));
    assert_eq!(admin.served(AGGREGATES, 401).await, 2);

    // Credentials that worked before get one more re-login (the refusal may be a fresh
    // revocation), then stop at the second token in a row the API never accepted.
    admin.clear_faults().await;
    let client = client_for(&emu);
    client.aggregates_query(&hour_query(9)).await.unwrap();
    admin
        .set_faults(serde_json::json!({"rates": {"revokeTokens": 1.0}}))
        .await;
    let err = client.aggregates_query(&hour_query(9)).await.unwrap_err();
    assert!(matches!(err, Error::TokenRefused { .. }), "{err:?}");
    let counters = client.counters();
    assert_eq!((counters.relogins, counters.tokens_refreshed), (2, 3));
}

#[tokio::test]
async fn logs_name_retries_and_correlation_ids_but_never_the_secret() {
    const SECRET: &str = "s3cr3t-never-logged";
    let logs = test_support::logs::CapturedLogs::start("genesys=trace,reqwest=trace");

    let emu = TestEmulator::spawn_with(|c| c.client_secret = SECRET.into())
        .await
        .handle;
    let client = client_for(&emu);
    let admin = Admin::new(&emu);
    client.login().await.unwrap();
    admin.revoke_tokens().await;
    admin
        .set_faults(
            serde_json::json!({"scripted": [{"path": AGGREGATES, "status": 503, "count": 1}]}),
        )
        .await;
    client
        .aggregates_query(&hour_query(9))
        .await
        .expect("succeeds after a re-login and a retry");

    let text = logs.text();
    assert!(
        text.contains("Retrying Genesys request.") && text.contains("correlation_id="),
        "{text}"
    );
    assert!(text.contains("logging in again"), "{text}");
    for leak in [SECRET, "Bearer ", "Basic ", "access_token"] {
        assert!(
            !text.contains(leak),
            "`{leak}` appeared in the logs:\n{text}"
        );
    }
}
