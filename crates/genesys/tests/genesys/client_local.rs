//! What the emulator cannot show, against a tiny local server: user aggregates (status metrics
//! with one `qualifier` per status), a job that FAILED with Genesys' `errorMessage`, and a whole
//! 200 body of the wrong shape.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Json;
use axum::routing::{get, post};
use genesys::aggregates::{AGGREGATES_QUERY_PATH, AggregationQuery, USERS_AGGREGATES_QUERY_PATH};
use genesys::auth::TOKEN_PATH;
use genesys::client::{ClientConfig, Error, GenesysClient, JobKind, Region};
use serde_json::{Value, json};

async fn token() -> Json<Value> {
    Json(json!({"access_token": "local-token", "token_type": "bearer", "expires_in": 3600}))
}

/// Echoes the metrics asked for, one qualifier each, so the test sees its own query come back.
async fn users_aggregates(Json(query): Json<Value>) -> Json<Value> {
    let metrics: Vec<Value> = query["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({"metric": m, "qualifier": "ON_QUEUE", "stats": {"sum": 1800000, "count": 1}}))
        .collect();
    Json(
        json!({"results": [{"group": {"userId": "u-1"}, "data": [{"interval": query["interval"], "metrics": metrics}]}]}),
    )
}

async fn failed_job() -> Json<Value> {
    Json(
        json!({"state": "FAILED", "errorMessage": "Query exceeded the maximum result size", "submissionDate": "2024-05-10T12:00:00.000Z"}),
    )
}

async fn local_client() -> GenesysClient {
    local_client_with(Arc::default()).await
}

/// Also serves the conversation aggregates query with a bare array (a complete body of the wrong
/// shape), counting the requests in `bad_shape_hits`.
async fn local_client_with(bad_shape_hits: Arc<AtomicU32>) -> GenesysClient {
    let bare_array = move || {
        bad_shape_hits.fetch_add(1, Ordering::SeqCst);
        async { Json(json!([{"group": {"queueId": "q-1"}}])) }
    };
    let app = axum::Router::new()
        .route(AGGREGATES_QUERY_PATH, post(bare_array))
        .route(TOKEN_PATH, post(token))
        .route(USERS_AGGREGATES_QUERY_PATH, post(users_aggregates))
        .route(
            "/api/v2/analytics/conversations/details/jobs/{id}",
            get(failed_job),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    GenesysClient::new(ClientConfig::new("id", "secret", Region::default()).with_base_url(base))
        .unwrap()
}

#[tokio::test]
async fn failed_job_surfaces_its_error_message() {
    let client = local_client().await;
    let err = client
        .wait_for_job(JobKind::Details, "job-1")
        .await
        .unwrap_err();
    let Error::JobFailed { job_id, message } = err else {
        panic!("expected JobFailed, got {err:?}")
    };
    assert_eq!(
        (job_id.as_str(), message.as_str()),
        ("job-1", "Query exceeded the maximum result size")
    );
}

#[tokio::test]
async fn users_aggregates_parse_with_qualifiers() {
    let client = local_client().await;
    let query = AggregationQuery {
        interval: "2024-05-09T00:00:00.000Z/2024-05-10T00:00:00.000Z".into(),
        group_by: vec!["userId".into()],
        metrics: vec!["tSystemPresence".into(), "tAgentRoutingStatus".into()],
        ..AggregationQuery::default()
    };
    let response = client.users_aggregates_query(&query).await.unwrap();
    let data = &response.results[0].data[0];
    assert_eq!(response.results[0].group["userId"], "u-1");
    assert_eq!(data.interval, query.interval);
    let names: Vec<_> = data
        .metrics
        .iter()
        .map(|m| (m.metric.as_str(), m.qualifier.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("tSystemPresence", Some("ON_QUEUE")),
            ("tAgentRoutingStatus", Some("ON_QUEUE"))
        ]
    );
    assert_eq!(data.metrics[0].stats.sum, Some(1_800_000.0));
}

#[tokio::test]
async fn a_whole_body_of_the_wrong_shape_is_one_request_and_a_clear_error() {
    let hits = Arc::new(AtomicU32::new(0));
    let client = local_client_with(Arc::clone(&hits)).await;
    let query = AggregationQuery {
        interval: "2024-05-09T00:00:00.000Z/2024-05-10T00:00:00.000Z".into(),
        metrics: vec!["nOffered".into()],
        ..AggregationQuery::default()
    };
    let err = client.aggregates_query(&query).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "retried: {err}");
    assert_eq!(client.counters().retries, 0);
    let Error::Decode { ref endpoint, .. } = err else {
        panic!("expected Decode, got {err:?}")
    };
    assert_eq!(endpoint, &format!("POST {AGGREGATES_QUERY_PATH}"));
    let message = err.to_string();
    assert!(
        message.contains(AGGREGATES_QUERY_PATH) && message.contains("expected"),
        "{message}"
    );
}
