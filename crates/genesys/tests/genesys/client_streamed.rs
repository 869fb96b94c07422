//! The synchronous aggregates query read as it arrives (`aggregates_query_groups`): the same
//! groups as the whole answer, against the emulator; a body that breaks off or is malformed is
//! an error, against a local server that sends one.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::routing::post;
use futures_util::StreamExt;
use genesys::aggregates::{AGGREGATES_QUERY_PATH, AggregateDataContainer};
use genesys::auth::TOKEN_PATH;
use genesys::client::{ClientConfig, Error, GenesysClient, Region};
use serde_json::{Value, json};

use test_support::TestEmulator;
use test_support::client::{client_for, day_query};

async fn all_groups(client: &GenesysClient) -> Result<Vec<AggregateDataContainer>, Error> {
    let mut groups = client.aggregates_query_groups(&day_query()).await?;
    let mut all = Vec::new();
    while let Some(group) = groups.next_group().await? {
        all.push(group);
    }
    Ok(all)
}

#[tokio::test]
async fn a_streamed_answer_has_the_groups_of_the_whole_answer() {
    let emu = TestEmulator::spawn_with(|c| c.data_lag = Duration::ZERO)
        .await
        .handle;
    let client = client_for(&emu);
    let whole = client.aggregates_query(&day_query()).await.unwrap().results;
    assert!(
        whole.len() >= 2,
        "a day has several groups: {}",
        whole.len()
    );
    assert_eq!(all_groups(&client).await.unwrap(), whole);
}

/// Serves the aggregates query with `pieces`, one HTTP chunk each, then (when `cut` is set) a
/// pause, during which hyper sends what it has, and an error that cuts the connection.
async fn local_client(pieces: Vec<&'static str>, cut: bool) -> GenesysClient {
    let answer = move || {
        let pieces = pieces.clone();
        async move {
            let chunks = pieces
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from(p)));
            let cut = futures_util::stream::iter(cut.then_some(())).then(|()| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(std::io::Error::other("cut"))
            });
            Body::from_stream(futures_util::stream::iter(chunks).chain(cut))
        }
    };
    let token = || async {
        axum::Json(json!({"access_token": "t", "token_type": "bearer", "expires_in": 3600}))
    };
    let app = axum::Router::new()
        .route(AGGREGATES_QUERY_PATH, post(answer))
        .route(TOKEN_PATH, post(token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    GenesysClient::new(ClientConfig::new("id", "secret", Region::default()).with_base_url(base))
        .unwrap()
}

const GROUP: &str = r#"{"group":{"queueId":"q-1"},"data":[{"interval":"2024-05-09T00:00:00.000Z/2024-05-09T00:30:00.000Z","metrics":[{"metric":"nOffered","stats":{"count":3}}]}]}"#;

#[tokio::test]
async fn groups_arrive_across_chunks_and_a_cut_body_is_a_transport_error() {
    let whole = local_client(
        vec![r#"{"results":["#, &GROUP[..20], &GROUP[20..], "]}"],
        false,
    );
    let groups = all_groups(&whole.await).await.unwrap();
    let expected: Value = serde_json::from_str(GROUP).unwrap();
    assert_eq!(serde_json::to_value(&groups).unwrap(), json!([expected]));

    let cut = local_client(vec![r#"{"results":["#, GROUP, ","], true).await;
    let mut stream = cut.aggregates_query_groups(&day_query()).await.unwrap();
    assert!(
        stream.next_group().await.unwrap().is_some(),
        "the whole group"
    );
    let error = stream.next_group().await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
}

#[tokio::test]
async fn a_body_that_ends_early_or_has_the_wrong_shape_is_a_decode_error() {
    for pieces in [vec![r#"{"results":["#, GROUP], vec![r#"[{"group":{}}]"#]] {
        let client = local_client(pieces.clone(), false).await;
        let error = all_groups(&client).await.unwrap_err();
        assert!(
            matches!(error, Error::Decode { .. }),
            "{pieces:?}: {error:?}"
        );
    }
}
