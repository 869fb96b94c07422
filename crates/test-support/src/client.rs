//! The Genesys client pointed at a [`TestEmulator`](crate::TestEmulator), with quick back-off,
//! and the aggregate queries the client's tests send.

use emulator::EmulatorHandle;
use futures_util::TryStreamExt;
use genesys::aggregates::{AggregateDataContainer, AggregationQuery};
use genesys::client::{ClientConfig, GenesysClient, Region};

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
