//! Rate budget, body size, content type and malformed input: always a Genesys error body,
//! never a 500.

use reqwest::StatusCode;
use serde_json::json;
use test_support::TestEmulator;
use test_support::emulator::{assert_genesys_headers, expect_error, header_u64};

const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";
const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";
const DETAILS_JOBS: &str = "/api/v2/analytics/conversations/details/jobs";
const DETAILS_QUERY: &str = "/api/v2/analytics/conversations/details/query";
const AGGREGATE_JOBS: &str = "/api/v2/analytics/conversations/aggregates/jobs";

#[tokio::test]
async fn the_301st_request_in_a_minute_is_429_and_the_headers_count_honestly() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    for expected in 1..=300u64 {
        let response = emu.get(&token, AVAILABILITY).await;
        assert_eq!(response.status(), StatusCode::OK, "request {expected}");
        assert_eq!(header_u64(&response, "inin-ratelimit-count"), expected);
        assert_eq!(header_u64(&response, "inin-ratelimit-allowed"), 300);
        let reset = header_u64(&response, "inin-ratelimit-reset");
        assert!((1..=60).contains(&reset), "reset {reset}");
    }
    let limited = emu.get(&token, AVAILABILITY).await;
    let retry_after = header_u64(&limited, "retry-after");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(header_u64(&limited, "inin-ratelimit-count"), 301);
    let body = expect_error(limited, 429, "too.many.requests.retry.after").await;
    assert_eq!(
        body.message,
        format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds")
    );

    // The budget is per token: a new token starts a fresh window.
    let other = emu.token().await;
    let response = emu.get(&other, AVAILABILITY).await;
    assert_eq!(
        (
            response.status(),
            header_u64(&response, "inin-ratelimit-count")
        ),
        (StatusCode::OK, 1)
    );
    assert_eq!(emu.get_admin("/counters").await["rateLimited"], 1);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let padding = "x".repeat(520_000);
    let response = emu
        .post_json(
            &token,
            AGGREGATES,
            &json!({"interval": padding, "metrics": ["nOffered"]}),
        )
        .await;
    let body = expect_error(response, 413, "request.entity.too.large").await;
    assert!(body.message.contains("512000"), "{}", body.message);
}

#[tokio::test]
async fn non_json_posts_are_415() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = emu
            .http
            .post(emu.url(AGGREGATES))
            .bearer_auth(&token)
            .body(r#"{"interval":"x"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        expect_error(request.send().await.unwrap(), 415, "unsupported.media.type").await;
    }
}

#[tokio::test]
async fn malformed_json_is_a_genesys_400_naming_the_problem() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let cases = [
        (r#"{"interval": "#, "EOF"),
        (r#"{"metrics": ["nOffered"]}"#, "interval"),
        (r#"{"interval": 5, "metrics": []}"#, "invalid type"),
        (r#"[1, 2]"#, "invalid type"),
    ];
    for path in [AGGREGATES, DETAILS_JOBS] {
        for (raw, needle) in cases {
            let request = emu
                .http
                .post(emu.url(path))
                .bearer_auth(&token)
                .header("content-type", "application/json");
            let body =
                expect_error(request.body(raw).send().await.unwrap(), 400, "bad.request").await;
            assert!(
                body.message.contains(needle),
                "{path} {raw}: {}",
                body.message
            );
        }
    }
}

#[tokio::test]
async fn unknown_things_are_404_and_bad_parameters_400() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    for path in [
        "/api/v2/analytics/conversations/aggregates/jobs/00000000-0000-0000-0000-000000000000",
        "/api/v2/analytics/conversations/aggregates/jobs/nope/results",
        "/api/v2/analytics/conversations/details/jobs/nope",
        "/api/v2/analytics/conversations/details/jobs/nope/results?cursor=abc",
        "/api/v2/nothing/here",
        "/",
    ] {
        expect_error(emu.get(&token, path).await, 404, "not.found").await;
    }
    let delete = emu
        .http
        .delete(emu.url(&format!("{DETAILS_JOBS}/nope")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect_error(delete, 404, "not.found").await;
    expect_error(
        emu.get(&token, "/api/v2/users?pageSize=abc").await,
        400,
        "bad.request",
    )
    .await;
    expect_error(
        emu.get(&token, "/api/v2/users?pageSize=501").await,
        400,
        "bad.request",
    )
    .await;
    expect_error(
        emu.get(&token, "/api/v2/routing/queues?pageNumber=0").await,
        400,
        "bad.request",
    )
    .await;
    let wrong_method = emu
        .http
        .put(emu.url(AVAILABILITY))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    expect_error(wrong_method, 405, "method.not.allowed").await;
}

#[tokio::test]
async fn unauthenticated_unknown_paths_still_carry_the_headers() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .http
        .get(emu.url("/api/v2/whatever"))
        .send()
        .await
        .unwrap();
    assert_genesys_headers(&response);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oversized_streamed_bodies_without_a_length_are_413_too() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..60).map(|_| Ok(vec![b' '; 10_000])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let request = emu
        .http
        .post(emu.url(AGGREGATES))
        .bearer_auth(&token)
        .header("content-type", "application/json");
    expect_error(
        request.body(body).send().await.unwrap(),
        413,
        "request.entity.too.large",
    )
    .await;
}

#[tokio::test]
async fn concurrent_requests_get_distinct_honest_counts() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let requests = (0..40).map(|_| emu.get(&token, AVAILABILITY));
    let responses = futures_util::future::join_all(requests).await;
    let mut counts: Vec<u64> = responses
        .iter()
        .map(|r| header_u64(r, "inin-ratelimit-count"))
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<u64>>());
}

#[tokio::test]
async fn undecodable_path_parameters_are_a_genesys_400() {
    let emu = TestEmulator::spawn().await;
    let token = emu.token().await;
    let response = emu
        .get(
            &token,
            "/api/v2/analytics/conversations/details/jobs/%FF%FE",
        )
        .await;
    expect_error(response, 400, "bad.request").await;
}

/// Mangled versions of valid bodies (cut short, bytes replaced, fields retyped) are answered
/// with a 4xx or, when still valid, a success; never a 5xx.
#[tokio::test]
async fn mangled_bodies_never_cause_a_server_error() {
    let emu = TestEmulator::spawn_with(|c| c.rate_limit_per_minute = 10_000).await;
    let token = emu.token().await;
    let aggregate = r#"{"interval":"2024-05-06T08:00:00Z/2024-05-06T09:00:00Z","granularity":"PT30M","groupBy":["queueId"],"filter":{"type":"and","predicates":[{"dimension":"mediaType","value":"voice"}]},"metrics":["nOffered","tHandle"],"pageSize":5}"#;
    let details = r#"{"interval":"2024-05-06T08:00:00Z/2024-05-06T09:00:00Z","order":"asc","orderBy":"conversationStart","paging":{"pageSize":5,"pageNumber":1},"segmentFilters":[{"type":"or","predicates":[{"dimension":"queueId","operator":"exists"}]}]}"#;
    let targets = [
        (AGGREGATES, aggregate),
        (AGGREGATE_JOBS, aggregate),
        (DETAILS_QUERY, details),
        (DETAILS_JOBS, details),
    ];
    let mut rng = fastrand::Rng::with_seed(20_261_126);
    let alphabet = b"{}[]\":,0123456789-.PTZ/aeinrstvxyz \\";
    for round in 0..120 {
        let (path, valid) = targets[round % targets.len()];
        let mut body = valid.as_bytes().to_vec();
        match rng.u8(0..3) {
            0 => body.truncate(rng.usize(0..body.len())),
            1 => {
                for _ in 0..rng.usize(1..6) {
                    let at = rng.usize(0..body.len());
                    body[at] = alphabet[rng.usize(0..alphabet.len())];
                }
            }
            _ => {
                let text = String::from_utf8(body).unwrap();
                let swapped = [
                    "\"PT30M\"",
                    "\"voice\"",
                    "5",
                    "\"asc\"",
                    "\"and\"",
                    "[\"queueId\"]",
                ];
                let from = swapped[rng.usize(0..swapped.len())];
                let to = ["null", "-1", "{}", "\"\"", "[1]", "1e999", "\"P-1D\""][rng.usize(0..7)];
                body = text.replacen(from, to, 1).into_bytes();
            }
        }
        let request = emu
            .http
            .post(emu.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json");
        let response = request.body(body.clone()).send().await.unwrap();
        let status = response.status();
        assert!(
            status.as_u16() < 500,
            "{path} answered {status} to {}",
            String::from_utf8_lossy(&body)
        );
        if !status.is_success() {
            let error: genesys::error_body::ErrorBody =
                response.json().await.expect("an ErrorBody");
            assert_eq!(error.status, status.as_u16());
        }
    }
}
