//! Retry bounds against the real emulator: persistent 5xx stop after the configured attempts,
//! 501 and 4xx are never retried.

use genesys::client::{Error, GenesysClient};
use serde_json::json;
use test_support::TestEmulator;
use test_support::client::{config_for, hour_query};
use test_support::emulator::{AGGREGATES, Admin};

#[tokio::test]
async fn persistent_503_stops_after_max_attempts() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let mut config = config_for(&emu);
    config.max_attempts = 3;
    let client = GenesysClient::new(config).unwrap();
    client.login().await.unwrap();
    let admin = Admin::new(&emu);
    admin
        .set_faults(json!({"scripted": [{"path": AGGREGATES, "status": 503, "count": 50}]}))
        .await;

    let err = client.aggregates_query(&hour_query(9)).await.unwrap_err();
    let Error::RetriesExhausted {
        attempts, ref last, ..
    } = err
    else {
        panic!("expected RetriesExhausted, got {err:?}")
    };
    assert_eq!(attempts, 3);
    assert!(
        matches!(**last, Error::Api { status: 503, ref code, .. } if code == "service.unavailable"),
        "{last:?}"
    );
    assert_eq!(admin.served(AGGREGATES, 503).await, 3);
    assert_eq!(client.counters().retries, 2);
}

#[tokio::test]
async fn not_implemented_is_not_retried() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = GenesysClient::new(config_for(&emu)).unwrap();
    client.login().await.unwrap();
    let admin = Admin::new(&emu);
    admin
        .set_faults(json!({"scripted": [{"path": AGGREGATES, "status": 501, "count": 5}]}))
        .await;
    let err = client.aggregates_query(&hour_query(9)).await.unwrap_err();
    assert_eq!(err.status(), Some(501), "{err:?}");
    assert_eq!(admin.served(AGGREGATES, 501).await, 1);
    assert_eq!(client.counters().retries, 0);
}

#[tokio::test]
async fn transient_faults_are_retried_until_success() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = GenesysClient::new(config_for(&emu)).unwrap();
    client.login().await.unwrap();
    let admin = Admin::new(&emu);
    let clean = client.aggregates_query(&hour_query(9)).await.unwrap();
    admin
        .set_faults(json!({"scripted": [
            {"path": AGGREGATES, "status": 408, "count": 1},
            {"path": AGGREGATES, "status": 409, "count": 1},
            {"path": AGGREGATES, "status": 500, "count": 1},
            {"path": AGGREGATES, "status": 504, "count": 1}
        ]}))
        .await;
    assert_eq!(
        client.aggregates_query(&hour_query(9)).await.unwrap(),
        clean
    );
    assert_eq!(client.counters().retries, 4);
}

#[tokio::test]
async fn a_body_cut_short_is_retried_until_whole() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = GenesysClient::new(config_for(&emu)).unwrap();
    client.login().await.unwrap();
    let admin = Admin::new(&emu);
    let clean = client.aggregates_query(&hour_query(9)).await.unwrap();
    admin
        .set_faults(json!({"scripted": [{"path": AGGREGATES, "effect": "truncate", "count": 2}]}))
        .await;
    assert_eq!(
        client.aggregates_query(&hour_query(9)).await.unwrap(),
        clean
    );
    assert_eq!(client.counters().retries, 2);
}
