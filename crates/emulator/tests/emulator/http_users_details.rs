//! Users details over real HTTP: a job paged by cursor up to the data availability date (open
//! records at that date), and the permission every users details endpoint needs.

use genesys::jobs::{AsyncQueryResponse, AsyncQueryStatus, JobState};
use reqwest::StatusCode;
use serde_json::{Value, json};
use test_support::TestEmulator;
use test_support::emulator::expect_error;

const DETAILS_QUERY: &str = "/api/v2/analytics/users/details/query";
const DETAILS_JOBS: &str = "/api/v2/analytics/users/details/jobs";
const DETAILS_AVAILABILITY: &str = "/api/v2/analytics/users/details/jobs/availability";

/// The emulator of the tests runs its datalake an hour behind its frozen "now".
#[tokio::test]
async fn a_users_details_job_pages_records_up_to_the_data_availability_date() {
    let emu = TestEmulator::spawn_with(|config| {
        config.data_lag = std::time::Duration::from_secs(3600);
    })
    .await;
    let token = emu.token().await;
    let available: Value = emu
        .get(&token, DETAILS_AVAILABILITY)
        .await
        .json()
        .await
        .unwrap();
    let available = available["dataAvailabilityDate"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(available, "2024-05-10T11:00:00.000Z", "now minus the lag");
    let body = json!({"interval": "2024-05-10T06:00:00.000Z/2024-05-10T12:00:00.000Z"});
    let submitted = emu.post_json(&token, DETAILS_JOBS, &body).await;
    assert_eq!(submitted.status(), StatusCode::ACCEPTED);
    let id = submitted.json::<AsyncQueryResponse>().await.unwrap().job_id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while emu
        .get(&token, &format!("{DETAILS_JOBS}/{id}"))
        .await
        .json::<AsyncQueryStatus>()
        .await
        .unwrap()
        .state
        != JobState::Fulfilled
    {
        assert!(std::time::Instant::now() < deadline, "job never settled");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (mut records, mut pages, mut cursor) = (0, 0, None::<String>);
    let mut open = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("{DETAILS_JOBS}/{id}/results?pageSize=40&cursor={c}"),
            None => format!("{DETAILS_JOBS}/{id}/results?pageSize=40"),
        };
        let page: Value = emu.get(&token, &path).await.json().await.unwrap();
        pages += 1;
        assert_eq!(page["dataAvailabilityDate"], available.as_str());
        let mut in_page = 0;
        for detail in page["userDetails"].as_array().unwrap() {
            for kind in ["primaryPresence", "routingStatus"] {
                for r in detail[kind].as_array().into_iter().flatten() {
                    in_page += 1;
                    assert!(
                        r["startTime"].as_str().unwrap() < available.as_str(),
                        "{r} is past the datalake date"
                    );
                    match r["endTime"].as_str() {
                        Some(end) => assert!(end <= available.as_str()),
                        None => open += 1,
                    }
                }
            }
        }
        assert!(in_page <= 40);
        records += in_page;
        match page["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert!(
        pages > 1 && records > 40,
        "{pages} pages, {records} records"
    );
    assert!(
        open > 0,
        "the records in force at the datalake date are open"
    );
}

#[tokio::test]
async fn users_details_need_their_permission() {
    let emu = TestEmulator::spawn_with(|config| {
        config.limited_clients = vec!["agg:pw:analytics:userAggregate:view".parse().unwrap()];
    })
    .await;
    let token = emu
        .http
        .post(emu.url("/oauth/token"))
        .basic_auth("agg", Some("pw"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"interval": "2024-05-10T06:00:00.000Z/2024-05-10T07:00:00.000Z"});
    for refused in [
        emu.post_json(&token, DETAILS_QUERY, &body).await,
        emu.post_json(&token, DETAILS_JOBS, &body).await,
        emu.get(&token, DETAILS_AVAILABILITY).await,
    ] {
        let error = expect_error(refused, 403, "missing.permissions").await;
        assert!(
            error.message.ends_with(": analytics:userDetail:view"),
            "{}",
            error.message
        );
    }
    let aggregates = json!({"interval": "2024-05-08T00:00:00.000Z/2024-05-09T00:00:00.000Z", "metrics": ["tSystemPresence"]});
    assert_eq!(
        emu.post_json(
            &token,
            "/api/v2/analytics/users/aggregates/query",
            &aggregates
        )
        .await
        .status(),
        StatusCode::OK
    );
}
