//! Typed, paged endpoints against the real emulator: jobs, details, directories.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use genesys::aggregates::AggregatesFamily;
use genesys::client::{Error, JobKind};
use genesys::details::ConversationQuery;
use genesys::jobs::JobState;
use test_support::TestEmulator;
use test_support::client::{client_for, day_query, job_groups};

fn details_query(interval: &str) -> ConversationQuery {
    ConversationQuery {
        interval: interval.into(),
        order: Some("asc".into()),
        ..ConversationQuery::default()
    }
}

#[tokio::test]
async fn aggregates_job_pages_equal_the_sync_query() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let mut query = day_query();
    let mut sync = client.aggregates_query(&query).await.unwrap().results;
    sync.sort_by(|a, b| a.group.cmp(&b.group));
    assert!(sync.len() > 3, "the day has several groups: {}", sync.len());

    query.page_size = Some(3);
    let pages: Vec<_> = client
        .run_aggregates_job(&query)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), sync.len().div_ceil(3), "3 groups per page");
    assert!(
        pages.last().unwrap().cursor.is_none()
            && pages.iter().rev().skip(1).all(|p| p.cursor.is_some())
    );
    assert_eq!(job_groups(&client, &query).await, sync);
}

#[tokio::test]
async fn users_aggregates_job_pages_equal_the_sync_query_qualifiers_and_all() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let family = AggregatesFamily::Users;
    let mut query = day_query();
    query.group_by = vec!["userId".into()];
    query.filter = None;
    query.metrics = vec!["tSystemPresence".into(), "tAgentRoutingStatus".into()];
    family.validate(&query).unwrap();
    let mut sync = client.family_query(family, &query).await.unwrap().results;
    sync.sort_by(|a, b| a.group.cmp(&b.group));
    assert!(sync.len() > 10, "a group per agent: {}", sync.len());
    let qualified = sync[0].data[0]
        .metrics
        .iter()
        .all(|m| m.qualifier.is_some());
    assert!(qualified, "every users entry names its status");

    query.page_size = Some(7);
    let job_id = client.submit_family_job(family, &query).await.unwrap();
    client
        .wait_for_job(JobKind::UsersAggregates, &job_id)
        .await
        .unwrap();
    let pages: Vec<_> = client
        .family_job_pages(family, &job_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), sync.len().div_ceil(7), "7 agents per page");
    let mut paged: Vec<_> = pages.into_iter().flat_map(|p| p.results).collect();
    paged.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(paged, sync);
    client
        .delete_job(JobKind::UsersAggregates, &job_id)
        .await
        .unwrap();
}

#[tokio::test]
async fn details_job_and_sync_details_page_through_every_conversation_once() {
    let emu = TestEmulator::spawn_with(|c| c.data_lag = Duration::ZERO)
        .await
        .handle;
    let client = client_for(&emu);
    let interval = "2024-05-09T08:00:00.000Z/2024-05-09T10:00:00.000Z";

    let mut job_ids = Vec::new();
    let mut pages = client
        .run_details_job(&details_query(interval), Some(7))
        .await
        .unwrap();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        assert!(page.data_availability_date.is_some());
        job_ids.extend(
            page.conversations
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.conversation_id),
        );
        page_count += 1;
    }
    assert!(
        job_ids.len() > 7 && page_count >= 2,
        "{} conversations in {page_count} pages",
        job_ids.len()
    );
    let unique: BTreeSet<_> = job_ids.iter().collect();
    assert_eq!(unique.len(), job_ids.len(), "no conversation twice");

    let sync: Vec<_> = client
        .details_query_pages(details_query(interval), 25)
        .try_collect()
        .await
        .unwrap();
    let sync_ids: Vec<_> = sync
        .into_iter()
        .flat_map(|p| p.conversations.unwrap_or_default())
        .map(|c| c.conversation_id)
        .collect();
    let sync_unique: BTreeSet<_> = sync_ids.iter().collect();
    assert_eq!(sync_unique.len(), sync_ids.len());
    // Sync details hold conversations started on the touched day, jobs those active in the interval.
    assert!(
        unique.is_subset(&sync_unique),
        "job conversations all started on 2024-05-09"
    );
}

#[tokio::test]
async fn directories_stream_every_entity_exactly_once() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let queues: Vec<_> = client.queues(3).try_collect().await.unwrap();
    let users: Vec<_> = client.users(5).try_collect().await.unwrap();
    let codes: Vec<_> = client.wrapup_codes(2).try_collect().await.unwrap();
    let shape = &emulator::EmulatorConfig::for_tests().org_shape;
    assert_eq!(
        (queues.len(), users.len(), codes.len()),
        (shape.queues, shape.agents, shape.wrapup_codes)
    );
    let ids: BTreeSet<_> = queues
        .iter()
        .map(|q| &q.id)
        .chain(users.iter().map(|u| &u.id))
        .collect();
    assert_eq!(ids.len(), queues.len() + users.len());
}

#[tokio::test]
async fn cancelled_and_expired_jobs_are_errors() {
    let emu = TestEmulator::spawn_with(|c| c.job_expiry = Duration::from_millis(300))
        .await
        .handle;
    let client = client_for(&emu);

    let cancelled = client.submit_aggregates_job(&day_query()).await.unwrap();
    client
        .delete_job(JobKind::Aggregates, &cancelled)
        .await
        .unwrap();
    let err = client
        .wait_for_job(JobKind::Aggregates, &cancelled)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::JobEnded {
                state: JobState::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );

    let expired = client
        .submit_details_job(&details_query("2024-05-09T08:00:00Z/2024-05-09T09:00:00Z"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    match client.wait_for_job(JobKind::Details, &expired).await {
        Err(Error::JobEnded {
            state: JobState::Expired,
            ..
        }) => {}
        // An expired job may also be forgotten altogether.
        Err(Error::Api { status: 404, .. }) => {}
        other => panic!("expected an expired job, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_query_is_an_api_error_with_the_genesys_message() {
    let emu = TestEmulator::spawn_with(|_| {}).await.handle;
    let client = client_for(&emu);
    let mut query = day_query();
    query.metrics = vec!["nAnswered".into()];
    let err = client.aggregates_query(&query).await.unwrap_err();
    let Error::Api {
        status,
        ref code,
        ref message,
        ref correlation_id,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((status, code.as_str()), (400, "bad.request"));
    assert!(message.contains("nAnswered"), "{message}");
    assert!(correlation_id.is_some());
    assert_eq!(client.counters().retries, 0, "a 400 is not retried");
}
