//! Injected faults over real HTTP: reproducible by seed, scripted counts exact, resets and
//! truncations seen by reqwest as transport / decode failures.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::TestEmulator;
use test_support::emulator::{expect_error, header_u64};

const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";

/// Status of each of `n` GETs (0 for a transport error).
async fn statuses(emu: &TestEmulator, token: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(
            match emu
                .http
                .get(emu.url(AVAILABILITY))
                .bearer_auth(token)
                .send()
                .await
            {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            },
        );
    }
    out
}

async fn emulator_with_5xx(seed: u64) -> (TestEmulator, String) {
    let emu = TestEmulator::spawn_with(|c| c.seed = seed).await;
    let token = emu.token().await;
    emu.put_admin(
        "/faults",
        &json!({"rates": {"status500": 0.1, "status502": 0.1, "status503": 0.1, "status504": 0.1}}),
    )
    .await;
    (emu, token)
}

#[tokio::test]
async fn a_fixed_seed_reproduces_the_fault_sequence() {
    let (a, token_a) = emulator_with_5xx(7).await;
    let (b, token_b) = emulator_with_5xx(7).await;
    let (c, token_c) = emulator_with_5xx(8).await;
    let (seq_a, seq_b, seq_c) = (
        statuses(&a, &token_a, 60).await,
        statuses(&b, &token_b, 60).await,
        statuses(&c, &token_c, 60).await,
    );
    assert_eq!(seq_a, seq_b);
    assert_ne!(
        seq_a, seq_c,
        "a different seed should give a different sequence"
    );
    let failed = seq_a.iter().filter(|s| **s != 200).count();
    assert!(
        (5..=45).contains(&failed),
        "{failed} of 60 failed at a 40% rate: {seq_a:?}"
    );
    assert!(
        seq_a.iter().all(|s| [200, 500, 502, 503, 504].contains(s)),
        "{seq_a:?}"
    );

    // Reseeding through the admin API restarts the same sequence.
    a.put_admin("/faults", &json!({"rates": {"status500": 0.1, "status502": 0.1, "status503": 0.1, "status504": 0.1}, "seed": 7}))
        .await;
    b.put_admin("/faults", &json!({"rates": {"status500": 0.1, "status502": 0.1, "status503": 0.1, "status504": 0.1}, "seed": 7}))
        .await;
    assert_eq!(
        statuses(&a, &token_a, 30).await,
        statuses(&b, &token_b, 30).await
    );
}

#[tokio::test]
async fn injected_5xx_carry_genesys_bodies() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    for (status, code) in [
        (500, "internal.server.error"),
        (503, "service.unavailable"),
        (504, "request.timeout"),
    ] {
        let script = json!({"scripted": [{"path": AVAILABILITY, "status": status, "count": 1}]});
        emu.put_admin("/faults", &script).await;
        expect_error(emu.get(&token, AVAILABILITY).await, status, code).await;
    }
    let counters = emu.get_admin("/counters").await;
    assert_eq!(counters["faultsInjected"]["scripted_status"], 3);
}

#[tokio::test]
async fn scripted_faults_hit_exactly_n_requests() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    let script = json!({"scripted": [
        {"path": AVAILABILITY, "status": 503, "count": 3},
        {"path": "/api/v2/users", "status": 429, "count": 1, "retrySecs": 1}
    ]});
    let refused = emu
        .http
        .put(emu.admin("/faults"))
        .json(&script)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );

    let script = json!({"scripted": [
        {"path": AVAILABILITY, "status": 503, "count": 3},
        {"path": "/api/v2/users", "status": 429, "count": 1, "retryAfterSecs": 7}
    ]});
    emu.put_admin("/faults", &script).await;
    assert_eq!(statuses(&emu, &token, 5).await, [503, 503, 503, 200, 200]);
    let limited = emu.get(&token, "/api/v2/users").await;
    assert_eq!(header_u64(&limited, "retry-after"), 7);
    let body = expect_error(limited, 429, "too.many.requests.retry.after").await;
    assert!(body.message.contains("[7]"));
    assert_eq!(
        emu.get(&token, "/api/v2/users").await.status(),
        StatusCode::OK
    );
    assert_eq!(emu.get_admin("/faults").await["scripted"], json!([]));
}

#[tokio::test]
async fn a_connection_reset_is_a_transport_error() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    emu.put_admin("/faults", &json!({"rates": {"connectionReset": 1.0}}))
        .await;
    let error = emu
        .http
        .get(emu.url(AVAILABILITY))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("connection dropped");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    assert!(error.status().is_none());
    emu.put_admin("/faults", &json!({})).await;
    assert_eq!(
        emu.get(&token, AVAILABILITY).await.status(),
        StatusCode::OK,
        "the server survives"
    );
    assert_eq!(
        emu.get_admin("/counters").await["requests"][AVAILABILITY]["dropped"],
        1
    );
}

#[tokio::test]
async fn scripted_resets_and_truncations_hit_exactly_n_requests() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    let script = json!({"scripted": [
        {"path": AVAILABILITY, "effect": "reset", "count": 2},
        {"path": "/api/v2/users", "effect": "truncate", "count": 1},
    ]});
    emu.put_admin("/faults", &script).await;
    assert_eq!(statuses(&emu, &token, 3).await, [0, 0, 200]);
    assert!(
        emu.get(&token, "/api/v2/users")
            .await
            .json::<Value>()
            .await
            .is_err()
    );
    assert!(
        emu.get(&token, "/api/v2/users")
            .await
            .json::<Value>()
            .await
            .is_ok()
    );
    let both = json!({"scripted": [{"path": "/x", "status": 503, "effect": "reset", "count": 1}]});
    let refused = emu
        .http
        .put(emu.admin("/faults"))
        .json(&both)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_truncated_body_fails_to_decode() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    emu.put_admin("/faults", &json!({"rates": {"truncatedBody": 1.0}}))
        .await;
    let response = emu.get(&token, AVAILABILITY).await;
    assert_eq!(response.status(), StatusCode::OK, "the head arrives intact");
    let declared = response.content_length().expect("a declared length");
    assert!(declared > 10);
    let outcome = response.json::<Value>().await;
    assert!(
        outcome.is_err(),
        "a truncated body must not decode: {outcome:?}"
    );
    let raw = emu.get(&token, AVAILABILITY).await.bytes().await;
    assert!(
        raw.is_err(),
        "fewer bytes than the declared Content-Length: {raw:?}"
    );
}

#[tokio::test]
async fn slow_replies_are_delayed() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    emu.put_admin(
        "/faults",
        &json!({"rates": {"slow": 1.0, "slowDelayMs": 300}}),
    )
    .await;
    let started = Instant::now();
    assert_eq!(emu.get(&token, AVAILABILITY).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn long_retry_after_429s_exceed_three_minutes() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    emu.put_admin(
        "/faults",
        &json!({"rates": {"longRetryAfter429": 1.0, "longRetryAfterSecs": 7200}}),
    )
    .await;
    let response = emu.get(&token, AVAILABILITY).await;
    assert_eq!(header_u64(&response, "retry-after"), 7200);
    expect_error(response, 429, "too.many.requests.retry.after").await;
}

#[tokio::test]
async fn token_revocation_faults_force_a_new_token() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    emu.put_admin("/faults", &json!({"rates": {"revokeTokens": 1.0}}))
        .await;
    expect_error(emu.get(&token, AVAILABILITY).await, 401, "bad.credentials").await;
    emu.put_admin("/faults", &json!({"rates": {"revokeTokensEverySecs": 1}}))
        .await;
    let fresh = emu.token().await;
    assert_eq!(emu.get(&fresh, AVAILABILITY).await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    expect_error(emu.get(&fresh, AVAILABILITY).await, 401, "bad.credentials").await;
}

#[tokio::test]
async fn invalid_fault_configs_are_refused() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    for bad in [
        json!({"rates": {"status500": 1.5}}),
        json!({"rates": {"status500": 0.6, "connectionReset": 0.6}}),
        json!({"scripted": [{"path": "/x", "status": 42, "count": 1}]}),
        json!({"rates": {"revokeTokensEverySecs": 0}}),
        json!({"ratez": {"status500": 0.1}}),
        json!({"rates": {"status501": 0.1}}),
    ] {
        let response = emu
            .http
            .put(emu.admin("/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
