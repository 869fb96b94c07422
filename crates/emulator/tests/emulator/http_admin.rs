//! The `/_emulator/` admin API: clock, counters.

use reqwest::StatusCode;
use serde_json::json;
use test_support::TestEmulator;

const AVAILABILITY: &str = "/api/v2/analytics/conversations/details/jobs/availability";

#[tokio::test]
async fn the_clock_can_be_read_set_and_advanced() {
    let emu =
        TestEmulator::spawn_with(|c| c.data_lag = std::time::Duration::from_secs(3_600)).await;
    assert_eq!(
        emu.get_admin("/clock").await,
        json!({"now": "2024-05-10T12:00:00.000Z", "rate": 0.0})
    );
    let token = emu.token().await;
    let availability: serde_json::Value = emu.get(&token, AVAILABILITY).await.json().await.unwrap();
    assert_eq!(
        availability["dataAvailabilityDate"],
        "2024-05-10T11:00:00.000Z"
    );

    let set = emu
        .put_admin(
            "/clock",
            &json!({"now": "2024-06-01T00:00:00Z", "advance": "PT90M"}),
        )
        .await;
    assert_eq!(set, json!({"now": "2024-06-01T01:30:00.000Z", "rate": 0.0}));
    let availability: serde_json::Value = emu.get(&token, AVAILABILITY).await.json().await.unwrap();
    assert_eq!(
        availability["dataAvailabilityDate"],
        "2024-06-01T00:30:00.000Z"
    );

    let running = emu.put_admin("/clock", &json!({"rate": 3600.0})).await;
    assert_eq!(running["rate"], 3600.0);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let later = emu.get_admin("/clock").await;
    assert!(
        later["now"].as_str().unwrap() > "2024-06-01T01:30:00.000Z",
        "{later}"
    );

    for bad in [
        json!({"now": "yesterday"}),
        json!({"rate": -1.0}),
        json!({"advance": "soon"}),
        json!({"speed": 2}),
    ] {
        let response = emu
            .http
            .put(emu.admin("/clock"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn counters_count_requests_per_route_and_status_and_reset() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    for _ in 0..3 {
        emu.get(&token, AVAILABILITY).await;
    }
    emu.get(&token, "/api/v2/analytics/conversations/details/jobs/abc")
        .await;
    emu.get("bad", AVAILABILITY).await;
    let counters = emu.get_admin("/counters").await;
    assert_eq!(
        counters["requests"][AVAILABILITY],
        json!({"200": 3, "401": 1})
    );
    assert_eq!(
        counters["requests"]["/api/v2/analytics/conversations/details/jobs/{id}"],
        json!({"404": 1})
    );
    assert_eq!(counters["requests"]["/oauth/token"], json!({"200": 1}));
    assert_eq!(counters["tokensIssued"], 1);
    assert_eq!(counters["bearerRejected"]["unknown"], 1);

    let reset = emu
        .http
        .post(emu.admin("/counters/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    let counters = emu.get_admin("/counters").await;
    assert_eq!(counters["requests"], json!({}));
    assert_eq!(counters["tokensIssued"], 0);
    // Admin calls are neither counted nor rate limited, and carry no Genesys headers.
    let admin = emu.http.get(emu.admin("/counters")).send().await.unwrap();
    assert!(admin.headers().get("inin-ratelimit-count").is_none());
}

#[tokio::test]
async fn a_stopped_emulator_refuses_connections() {
    let emu = TestEmulator::spawn_with(|_| {}).await;
    let token = emu.token().await;
    let url = emu.url(AVAILABILITY);
    emu.handle.stop().await.expect("clean stop");
    let refused = emu.http.get(&url).bearer_auth(&token).send().await;
    assert!(refused.is_err(), "{refused:?}");
}
