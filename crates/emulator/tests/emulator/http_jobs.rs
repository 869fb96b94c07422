//! Async aggregate and details jobs over real HTTP: 202, QUEUED → PENDING → FULFILLED, cursor
//! paging that covers every group / conversation exactly once, DELETE, EXPIRED, early results.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use genesys::aggregates::{AggregateQueryResponse, AsyncAggregateQueryResponse};
use genesys::details::{AsyncConversationQueryResponse, DataAvailabilityResponse};
use genesys::jobs::{AsyncQueryResponse, AsyncQueryStatus, JobState};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::TestEmulator;
use test_support::emulator::expect_error;

const AGG_QUERY: &str = "/api/v2/analytics/conversations/aggregates/query";
const AGG_JOBS: &str = "/api/v2/analytics/conversations/aggregates/jobs";
const DETAILS_JOBS: &str = "/api/v2/analytics/conversations/details/jobs";
const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";

fn aggregate_query(page_size: Option<u32>) -> Value {
    let mut query = json!({
        "interval": "2024-05-06T00:00:00Z/2024-05-07T00:00:00Z",
        "granularity": "PT1H",
        "groupBy": ["queueId", "mediaType"],
        "metrics": ["nOffered", "tHandle", "tAnswered"],
    });
    if let Some(size) = page_size {
        query["pageSize"] = json!(size);
    }
    query
}

fn details_query() -> Value {
    json!({"interval": "2024-05-06T08:00:00Z/2024-05-06T14:00:00Z", "order": "asc", "orderBy": "conversationStart"})
}

async fn submit(emu: &TestEmulator, token: &str, path: &str, body: &Value) -> String {
    let response = emu.post_json(token, path, body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json::<AsyncQueryResponse>().await.unwrap().job_id
}

async fn status(
    emu: &TestEmulator,
    token: &str,
    jobs: &str,
    id: &str,
) -> (StatusCode, AsyncQueryStatus) {
    let response = emu.get(token, &format!("{jobs}/{id}")).await;
    let code = response.status();
    (code, response.json().await.expect("an AsyncQueryStatus"))
}

/// Polls until the job settles; returns the distinct states seen, in order.
async fn poll_until_settled(
    emu: &TestEmulator,
    token: &str,
    jobs: &str,
    id: &str,
) -> Vec<JobState> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen: Vec<JobState> = Vec::new();
    loop {
        let (code, status) = status(emu, token, jobs, id).await;
        let running = matches!(status.state, JobState::Queued | JobState::Pending);
        assert_eq!(
            code,
            if running {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            },
            "{status:?}"
        );
        assert!(status.submission_date.is_some() && status.expiration_date.is_some());
        if seen.last() != Some(&status.state) {
            seen.push(status.state);
        }
        if !running {
            return seen;
        }
        assert!(Instant::now() < deadline, "job never settled: {seen:?}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

async fn walk_aggregate_pages(emu: &TestEmulator, token: &str, id: &str) -> (Vec<Value>, usize) {
    let (mut groups, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let url = match &cursor {
            Some(c) => format!("{AGG_JOBS}/{id}/results?cursor={c}"),
            None => format!("{AGG_JOBS}/{id}/results"),
        };
        let response = emu.get(token, &url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: AsyncAggregateQueryResponse = response.json().await.unwrap();
        pages += 1;
        groups.extend(
            page.results
                .iter()
                .map(|g| serde_json::to_value(g).unwrap()),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return (groups, pages),
        }
    }
}

#[tokio::test]
async fn aggregate_job_walks_the_lifecycle_and_pages_every_group_once() {
    let emu = TestEmulator::spawn_with(|c| c.job_delay = Duration::from_millis(1_000)).await;
    let token = emu.token().await;
    let sync: AggregateQueryResponse = emu
        .post_json(&token, AGG_QUERY, &aggregate_query(None))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        sync.results.len() > 4,
        "the test needs several groups, got {}",
        sync.results.len()
    );

    let id = submit(&emu, &token, AGG_JOBS, &aggregate_query(Some(3))).await;
    let early = emu.get(&token, &format!("{AGG_JOBS}/{id}/results")).await;
    expect_error(early, 400, "bad.request").await;
    let states = poll_until_settled(&emu, &token, AGG_JOBS, &id).await;
    assert_eq!(
        states,
        [JobState::Queued, JobState::Pending, JobState::Fulfilled]
    );

    let (groups, pages) = walk_aggregate_pages(&emu, &token, &id).await;
    assert_eq!(pages, sync.results.len().div_ceil(3));
    let expected: Vec<Value> = sync
        .results
        .iter()
        .map(|g| serde_json::to_value(g).unwrap())
        .collect();
    assert_eq!(
        groups, expected,
        "job pages = the synchronous answer, each group once"
    );
    let distinct: HashSet<String> = groups.iter().map(|g| g["group"].to_string()).collect();
    assert_eq!(distinct.len(), groups.len());

    let foreign = emu
        .get(
            &token,
            &format!("{AGG_JOBS}/{id}/results?cursor=bm90LWEtam9i"),
        )
        .await;
    expect_error(foreign, 400, "bad.request").await;
}

#[tokio::test]
async fn aggregate_jobs_default_to_100_groups_per_page_and_refuse_bad_queries_at_once() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    let id = submit(&emu, &token, AGG_JOBS, &aggregate_query(None)).await;
    poll_until_settled(&emu, &token, AGG_JOBS, &id).await;
    let (groups, pages) = walk_aggregate_pages(&emu, &token, &id).await;
    assert_eq!(pages, groups.len().div_ceil(100).max(1));

    let bad =
        json!({"interval": "2024-05-06T00:00:00Z/2024-05-07T00:00:00Z", "metrics": ["nAnswered"]});
    expect_error(
        emu.post_json(&token, AGG_JOBS, &bad).await,
        400,
        "bad.request",
    )
    .await;
    let no_interval = json!({"interval": "yesterday", "metrics": ["nOffered"]});
    expect_error(
        emu.post_json(&token, AGG_JOBS, &no_interval).await,
        400,
        "bad.request",
    )
    .await;
    expect_error(
        emu.post_json(&token, AGG_QUERY, &bad).await,
        400,
        "bad.request",
    )
    .await;
}

#[tokio::test]
async fn deleted_jobs_are_cancelled_and_expired_jobs_gone() {
    let emu = TestEmulator::spawn_with(|c| c.job_expiry = Duration::from_millis(300)).await;
    let token = emu.token().await;
    for jobs in [AGG_JOBS, DETAILS_JOBS] {
        let body = if jobs == AGG_JOBS {
            aggregate_query(None)
        } else {
            details_query()
        };
        let cancelled = submit(&emu, &token, jobs, &body).await;
        let delete = emu
            .http
            .delete(emu.url(&format!("{jobs}/{cancelled}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(delete.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            status(&emu, &token, jobs, &cancelled).await.1.state,
            JobState::Cancelled
        );
        expect_error(
            emu.get(&token, &format!("{jobs}/{cancelled}/results"))
                .await,
            400,
            "bad.request",
        )
        .await;

        let expiring = submit(&emu, &token, jobs, &body).await;
        assert_eq!(
            poll_until_settled(&emu, &token, jobs, &expiring)
                .await
                .last(),
            Some(&JobState::Fulfilled)
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        let (code, expired) = status(&emu, &token, jobs, &expiring).await;
        assert_eq!((code, expired.state), (StatusCode::OK, JobState::Expired));
        expect_error(
            emu.get(&token, &format!("{jobs}/{expiring}/results")).await,
            404,
            "not.found",
        )
        .await;
    }
}

async fn walk_details_pages(
    emu: &TestEmulator,
    token: &str,
    id: &str,
    page_size: u32,
) -> (Vec<Value>, usize) {
    let (mut conversations, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut url = format!("{DETAILS_JOBS}/{id}/results?pageSize={page_size}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let response = emu.get(token, &url).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: AsyncConversationQueryResponse = response.json().await.unwrap();
        pages += 1;
        assert!(
            page.data_availability_date.is_some(),
            "dataAvailabilityDate on every page"
        );
        let chunk = page.conversations.unwrap_or_default();
        assert!(chunk.len() <= page_size as usize);
        conversations.extend(chunk.iter().map(|c| serde_json::to_value(c).unwrap()));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return (conversations, pages),
        }
    }
}

#[tokio::test]
async fn details_job_pages_every_conversation_once_and_stops_at_data_availability() {
    let emu = TestEmulator::spawn_with(|c| {
        c.job_delay = Duration::from_millis(1_000);
        c.clock_start = Some("2024-05-06T13:00:00Z".parse().unwrap());
        c.data_lag = Duration::from_secs(3_600);
    })
    .await;
    let token = emu.token().await;
    let availability: DataAvailabilityResponse =
        emu.get(&token, AVAILABILITY).await.json().await.unwrap();
    assert_eq!(
        availability.data_availability_date,
        "2024-05-06T12:00:00.000Z"
    );

    let id = submit(&emu, &token, DETAILS_JOBS, &details_query()).await;
    expect_error(
        emu.get(&token, &format!("{DETAILS_JOBS}/{id}/results"))
            .await,
        400,
        "bad.request",
    )
    .await;
    let states = poll_until_settled(&emu, &token, DETAILS_JOBS, &id).await;
    assert_eq!(
        states,
        [JobState::Queued, JobState::Pending, JobState::Fulfilled]
    );

    let (all, pages) = walk_details_pages(&emu, &token, &id, 10_000).await;
    assert!(
        all.len() > 10,
        "the test needs conversations, got {}",
        all.len()
    );
    assert_eq!(pages, 1);
    let (paged, pages) = walk_details_pages(&emu, &token, &id, 7).await;
    assert_eq!(pages, all.len().div_ceil(7));
    assert_eq!(
        paged, all,
        "small pages = one big page, each conversation once"
    );
    let ids: HashSet<&str> = all
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), all.len());
    for conversation in &all {
        let start = conversation["conversationStart"].as_str().unwrap();
        assert!(
            start < "2024-05-06T12:00:00.000Z",
            "{start} is after dataAvailabilityDate"
        );
    }
    let too_big = emu
        .get(&token, &format!("{DETAILS_JOBS}/{id}/results?pageSize=0"))
        .await;
    expect_error(too_big, 400, "bad.request").await;
}

#[tokio::test]
async fn details_job_limit_and_bad_queries() {
    let emu =
        TestEmulator::spawn_with(|c| c.clock_start = Some("2024-05-07T00:00:00Z".parse().unwrap()))
            .await;
    let token = emu.token().await;
    let mut limited = details_query();
    limited["limit"] = json!(5);
    let id = submit(&emu, &token, DETAILS_JOBS, &limited).await;
    poll_until_settled(&emu, &token, DETAILS_JOBS, &id).await;
    let (conversations, _) = walk_details_pages(&emu, &token, &id, 100).await;
    assert_eq!(conversations.len(), 5);

    let bad = json!({"interval": "2024-05-06T08:00:00Z"});
    expect_error(
        emu.post_json(&token, DETAILS_JOBS, &bad).await,
        400,
        "bad.request",
    )
    .await;
}
