//! Shared by the `client_*` tests: a real emulator on 127.0.0.1 port 0, a client pointed at it,
//! and the emulator's admin API.
#![allow(dead_code)] // each test binary uses a different subset

use emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use futures_util::TryStreamExt;
use genesys::aggregates::{AggregateDataContainer, AggregationQuery};
use genesys::client::{ClientConfig, GenesysClient, Region};
use serde_json::{Value, json};

pub const NOW: &str = "2024-05-10T12:00:00Z";
pub const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";

pub async fn emulator(tweak: impl FnOnce(&mut EmulatorConfig)) -> EmulatorHandle {
    let mut config = EmulatorConfig::for_tests();
    config.clock_start = Some(NOW.parse().unwrap());
    config.clock_rate = 0.0;
    tweak(&mut config);
    Emulator::build(config)
        .await
        .expect("emulator builds")
        .spawn()
}

/// A client for `emu` with quick back-off, so that retries do not slow the tests down.
pub fn config_for(emu: &EmulatorHandle) -> ClientConfig {
    let mut config = ClientConfig::new(emu.client_id(), emu.client_secret(), Region::default())
        .with_base_url(emu.base_url());
    config.backoff_min_ms = 20;
    config.backoff_max_ms = 200;
    config.max_retry_secs = 60;
    config.job_poll_min_ms = 20;
    config.job_poll_max_ms = 200;
    config.job_timeout_secs = 30;
    config
}

pub fn client_for(emu: &EmulatorHandle) -> GenesysClient {
    GenesysClient::new(config_for(emu)).expect("client builds")
}

/// One hour of 2024-05-09 (hours past 23 wrap around).
pub fn hour_query(hour: u32) -> AggregationQuery {
    let start: jiff::Timestamp = "2024-05-09T00:00:00Z".parse().unwrap();
    let start = start + jiff::SignedDuration::from_hours(i64::from(hour % 24));
    let interval = genesys::Interval::new(start, start + jiff::SignedDuration::from_hours(1));
    AggregationQuery {
        interval: interval.to_string(),
        granularity: Some("PT15M".into()),
        group_by: vec!["queueId".into(), "mediaType".into()],
        metrics: [
            "nOffered",
            "tAnswered",
            "tAbandon",
            "tHandle",
            "oServiceLevel",
        ]
        .map(String::from)
        .to_vec(),
        ..AggregationQuery::default()
    }
}

pub fn day_query() -> AggregationQuery {
    AggregationQuery {
        interval: "2024-05-09T00:00:00.000Z/2024-05-10T00:00:00.000Z".into(),
        ..hour_query(0)
    }
}

/// Every group of an aggregates job, page after page, sorted so runs can be compared.
pub async fn job_groups(
    client: &GenesysClient,
    query: &AggregationQuery,
) -> Vec<AggregateDataContainer> {
    let pages = client.run_aggregates_job(query).await.expect("job runs");
    let pages: Vec<_> = pages.try_collect().await.expect("job pages");
    let mut groups: Vec<_> = pages.into_iter().flat_map(|p| p.results).collect();
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    groups
}

pub struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    pub fn new(emu: &EmulatorHandle) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: emu.admin_url().to_string(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.expect("admin request sent");
        assert!(
            response.status().is_success(),
            "admin answered {}",
            response.status()
        );
        response.json().await.expect("admin JSON")
    }

    pub async fn counters(&self) -> Value {
        self.send(self.http.get(format!("{}/counters", self.base)))
            .await
    }

    pub async fn set_faults(&self, faults: Value) -> Value {
        self.send(self.http.put(format!("{}/faults", self.base)).json(&faults))
            .await
    }

    pub async fn clear_faults(&self) {
        self.set_faults(json!({"rates": {}, "scripted": []})).await;
    }

    pub async fn revoke_tokens(&self) -> Value {
        self.send(self.http.post(format!("{}/revoke-tokens", self.base)))
            .await
    }

    /// How many requests to `route` were answered with `status`.
    pub async fn served(&self, route: &str, status: u16) -> u64 {
        let counters = self.counters().await;
        counters["requests"][route][status.to_string()]
            .as_u64()
            .unwrap_or(0)
    }
}
