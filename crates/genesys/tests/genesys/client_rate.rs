//! The shared rate budget against the real emulator: Retry-After pauses everything for exactly
//! its length, a daily-limit 429 fails fast, and honest headers keep concurrent work free of 429s.

use std::time::{Duration, Instant};

use genesys::client::{Endpoint, Error};
use serde_json::json;
use test_support::TestEmulator;
use test_support::client::{client_for, hour_query};
use test_support::emulator::{AGGREGATES, Admin};

#[tokio::test]
async fn retry_after_pauses_the_whole_budget_for_exactly_that_long() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    client.login().await.unwrap();
    let admin = Admin::new(&emu);
    admin
        .set_faults(json!({"scripted": [{"path": AGGREGATES, "status": 429, "count": 1, "retryAfterSecs": 2}]}))
        .await;

    let started = Instant::now();
    let limited = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .aggregates_query(&hour_query(8))
                .await
                .map(|_| Instant::now())
        }
    });
    while client.counters().rate_limited == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Another request started during the pause waits for its end too.
    let other = client.details_availability().await.map(|_| Instant::now());
    let limited_done = limited.await.unwrap().expect("retried after the pause");
    let other_done = other.expect("second request succeeds");

    for (what, done) in [
        ("the limited request", limited_done),
        ("the other request", other_done),
    ] {
        let waited = done - started;
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_millis(2_600),
            "{what} finished after {waited:?}, expected Retry-After 2 s"
        );
    }
    assert_eq!(admin.served(AGGREGATES, 429).await, 1);
    assert_eq!(client.counters().rate_limited, 1);
    // The metrics see the same: the 429 and the retry's 200 under their endpoint, and both
    // requests' wait through the pause on the budget (at least the pause, less what began it).
    let answers: Vec<(String, u64)> = client
        .requests_by_endpoint()
        .iter()
        .filter(|c| c.endpoint == Endpoint::AggregatesQuery)
        .map(|c| (c.answer.to_string(), c.requests))
        .collect();
    assert_eq!(answers, [("200".to_string(), 1), ("429".to_string(), 1)]);
    let waited = client.counters().budget_wait;
    assert!(
        waited >= Duration::from_millis(3_000),
        "budget wait {waited:?}"
    );
}

#[tokio::test]
async fn retry_after_over_the_ceiling_is_a_daily_limit_error_at_once() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    client.login().await.unwrap();
    Admin::new(&emu)
        .set_faults(json!({"scripted": [{"path": AGGREGATES, "status": 429, "count": 1, "retryAfterSecs": 3600}]}))
        .await;
    let started = Instant::now();
    let err = client.aggregates_query(&hour_query(8)).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let Error::DailyLimit {
        retry_after,
        ref correlation_id,
    } = err
    else {
        panic!("expected DailyLimit, got {err:?}")
    };
    assert_eq!(retry_after, Duration::from_secs(3600));
    assert!(correlation_id.is_some());
    assert_eq!(client.counters().daily_limits, 1);
    assert!(
        client.budget().paused_until().is_none(),
        "a daily limit must not freeze the budget"
    );
}

/// The emulator allows 120 requests per token per fixed minute; the client is configured for
/// 300. Sixteen tasks make 136 requests together, more than one window holds, so the test takes
/// just over a minute: the client must learn the lower limit from the headers and wait for the
/// window to reset instead of running into 429s.
#[tokio::test]
async fn sixteen_concurrent_tasks_under_honest_headers_get_no_429() {
    let emu = TestEmulator::spawn_with(|c| c.rate_limit_per_minute = 120)
        .await
        .handle;
    let client = client_for(&emu);
    assert_eq!(client.config().requests_per_minute, 300);
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let client = client.clone();
            tokio::spawn(async move {
                for n in 0..8 {
                    client.aggregates_query(&hour_query(task + n)).await?;
                }
                client.details_availability().await?;
                Ok::<_, Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every query succeeds");
    }
    let admin = Admin::new(&emu).counters().await;
    assert_eq!(admin["rateLimited"], 0, "{admin}");
    assert_eq!(client.counters().rate_limited, 0);
    assert_eq!(
        client.budget().per_minute(),
        120,
        "tightened from inin-ratelimit-allowed"
    );
    assert_eq!(Admin::new(&emu).served(AGGREGATES, 200).await, 128);
}
