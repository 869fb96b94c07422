//! A fault storm (5xx, 429 bursts, truncated bodies, dropped connections, revoked tokens) must
//! change nothing in the results: the same pull run fault-free and under faults is identical.

use futures_util::{StreamExt, TryStreamExt};
use genesys::aggregates::AggregateQueryResponse;
use genesys::client::GenesysClient;
use genesys::details::{Conversation, ConversationQuery};
use genesys::directory::{Queue, User};
use serde_json::json;
use test_support::TestEmulator;
use test_support::client::{config_for, day_query, hour_query, job_groups};
use test_support::emulator::Admin;

#[derive(Debug, PartialEq)]
struct Pull {
    hours: Vec<AggregateQueryResponse>,
    job: Vec<genesys::aggregates::AggregateDataContainer>,
    details_job: Vec<Conversation>,
    details_sync: Vec<Conversation>,
    queues: Vec<Queue>,
    users: Vec<User>,
}

async fn pull(client: &GenesysClient) -> Pull {
    // Eight hourly queries at a time, like concurrent sync windows; every hour twice, for volume.
    let hours = futures_util::stream::iter(0..48u32)
        .map(|hour| {
            let client = client.clone();
            async move { client.aggregates_query(&hour_query(hour)).await }
        })
        .buffered(8)
        .try_collect()
        .await
        .expect("hourly queries");
    let mut job_query = day_query();
    job_query.page_size = Some(4);
    let details = ConversationQuery {
        interval: "2024-05-09T06:00:00.000Z/2024-05-09T12:00:00.000Z".into(),
        order: Some("asc".into()),
        ..ConversationQuery::default()
    };
    let details_job = client
        .run_details_job(&details, Some(5))
        .await
        .expect("details job")
        .map_ok(|page| {
            futures_util::stream::iter(
                page.conversations
                    .unwrap_or_default()
                    .into_iter()
                    .map(Ok::<_, genesys::client::Error>),
            )
        })
        .try_flatten()
        .try_collect()
        .await
        .expect("details job pages");
    let details_sync = client
        .details_query_pages(details, 5)
        .map_ok(|page| {
            futures_util::stream::iter(
                page.conversations
                    .unwrap_or_default()
                    .into_iter()
                    .map(Ok::<_, genesys::client::Error>),
            )
        })
        .try_flatten()
        .try_collect()
        .await
        .expect("sync details pages");
    Pull {
        hours,
        job: job_groups(client, &job_query).await,
        details_job,
        details_sync,
        queues: client.queues(1).try_collect().await.expect("queues"),
        users: client.users(1).try_collect().await.expect("users"),
    }
}

/// The emulator's budget is lifted for this test, so the client's need not pace it.
fn fast_client(emu: &emulator::EmulatorHandle) -> GenesysClient {
    let mut config = config_for(emu);
    config.requests_per_minute = 60_000;
    GenesysClient::new(config).unwrap()
}

#[tokio::test]
async fn a_fault_storm_changes_nothing_in_the_results() {
    let emu = TestEmulator::spawn_with(|c| {
        c.rate_limit_per_minute = 100_000;
        c.data_lag = std::time::Duration::ZERO;
    })
    .await
    .handle;
    let admin = Admin::new(&emu);
    let calm = pull(&fast_client(&emu)).await;
    assert!(
        calm.hours.iter().filter(|h| !h.results.is_empty()).count() >= 12,
        "most hours have data"
    );
    assert!(!calm.details_job.is_empty() && !calm.details_sync.is_empty());

    admin
        .set_faults(json!({
            "rates": {
                "status500": 0.025, "status502": 0.025, "status503": 0.025, "status504": 0.025,
                "truncatedBody": 0.02,
                "connectionReset": 0.02,
                "revokeTokens": 0.02,
                // Scaled down from 30 s so that a few-second run sees it.
                "revokeTokensEverySecs": 1
            },
            "scripted": [
                {"path": "/api/v2/analytics/*", "status": 429, "count": 3, "retryAfterSecs": 1},
                {"path": "/api/v2/routing/*", "status": 429, "count": 2, "retryAfterSecs": 1}
            ]
        }))
        .await;
    let client = fast_client(&emu);
    let stormy = pull(&client).await;
    let faults = admin.counters().await["faultsInjected"].clone();
    admin.clear_faults().await;

    assert!(stormy == calm, "results differ under faults");
    let seen = client.counters();
    eprintln!("client counters under the storm: {seen:?}; emulator injected: {faults}");
    assert!(
        seen.retries >= 10,
        "the storm forced retries: {seen:?}; emulator injected {faults}"
    );
    assert!(
        seen.rate_limited >= 5,
        "every scripted 429 was met: {seen:?}"
    );
    assert!(
        seen.relogins >= 1,
        "revoked tokens forced a re-login: {seen:?}"
    );
    let injected = |kind: &str| faults.get(kind).and_then(|v| v.as_u64()).unwrap_or(0);
    assert!(injected("status") >= 5, "5xx were injected: {faults}");
    // 2 % each over a few hundred requests: both at zero would be a one-in-a-million run.
    assert!(
        injected("truncated_body") + injected("connection_reset") >= 1,
        "broken bodies were injected: {faults}"
    );
}
