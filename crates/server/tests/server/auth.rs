//! Every protected path refuses a missing, wrong or revoked key, with a problem body and
//! `WWW-Authenticate`; health needs no key; Bearer and Basic both work.

use test_support::TestApp;
use test_support::app::assert_problem;

const PROTECTED: &[&str] = &[
    "/",
    "/metrics",
    "/openapi.json",
    "/v1/datasets",
    "/v1/datasets/queue_performance/rows",
    "/v1/datasets/nope/rows",
    "/v1/report?dataset=queue_performance",
    "/odata",
    "/odata/",
    "/odata/$metadata",
    "/odata/queue_performance",
    "/odata/queue_performance/$count",
    "/odata/queues",
];

test_support::backend_tests! {
#[tokio::test]
async fn health_needs_no_key() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}
}

/// OData clients get OData's error body (with the same `WWW-Authenticate`).
async fn assert_odata_unauthorized(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["odata-version"], "4.0");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Unauthorized", "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    body
}

test_support::backend_tests! {
#[tokio::test]
async fn every_protected_path_refuses_bad_keys() {
    let app = TestApp::spawn().await;
    let mut wrong = app.key.clone();
    wrong.replace_range(wrong.len() - 4.., "ffff");
    for path in PROTECTED {
        let attempts = [
            app.client.get(app.url(path)),
            app.client.get(app.url(path)).bearer_auth(&wrong),
            app.client.get(app.url(path)).bearer_auth("not-a-key"),
            app.client
                .get(app.url(path))
                .basic_auth("powerbi", Some(&wrong)),
            app.client
                .get(app.url(path))
                .header("Authorization", "Digest abc"),
            app.client
                .get(app.url(path))
                .header("Authorization", "Basic !!!"),
        ];
        for attempt in attempts {
            let response = attempt.send().await.unwrap();
            assert_eq!(
                response.headers()["www-authenticate"],
                "Basic realm=\"genesys-bi\"",
                "{path}"
            );
            let body = if path.starts_with("/odata") {
                assert_odata_unauthorized(response).await
            } else {
                assert_problem(response, 401).await
            };
            assert!(
                !body.to_string().contains(&app.key),
                "the key never echoes back"
            );
        }
    }
}
}

test_support::backend_tests! {
#[tokio::test]
async fn unknown_paths_are_404_problems() {
    let app = TestApp::spawn().await;
    let body = assert_problem(app.get("/no/such/path").await, 404).await;
    assert!(body["detail"].as_str().unwrap().contains("/no/such/path"));
}
}

test_support::backend_tests! {
#[tokio::test]
async fn bearer_and_basic_work_and_revoking_stops_a_key() {
    let app = TestApp::spawn().await;
    let bearer = app
        .client
        .get(app.url("/v1/datasets"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 200);
    let basic = app
        .client
        .get(app.url("/v1/datasets"))
        .basic_auth("anyone", Some(&app.key))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);

    use warehouse::Store;
    assert!(app.writer().revoke_key(app.key_id).unwrap());
    let after = app
        .client
        .get(app.url("/v1/datasets"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_problem(after, 401).await;
}
}
