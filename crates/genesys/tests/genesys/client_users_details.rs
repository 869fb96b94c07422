//! Users details against the real emulator over HTTP: the query paged, a job paged by cursor,
//! both merged into the same status intervals; the datalake date; the interval limits and the
//! paging depth refused before any request; and `{"totalHits": 0}` read as an answer with no
//! records.

use std::time::Duration;

use futures_util::TryStreamExt;
use genesys::client::{Endpoint, Error, GenesysClient, JobKind};
use genesys::jobs::JobState;
use genesys::users_details::intervals::status_intervals;
use genesys::users_details::{IntervalLimitError, StatusInterval, StatusKind, UserDetailsQuery};
use test_support::TestEmulator;
use test_support::client::client_for;

/// Thursday and Friday morning up to the emulator's frozen "now" (2024-05-10T12:00Z): records
/// crossing midnight are stored on both days read, and those in force at "now" are open.
const TO_NOW: &str = "2024-05-09T00:00:00.000Z/2024-05-10T12:00:00.000Z";

fn query(interval: &str) -> UserDetailsQuery {
    UserDetailsQuery {
        interval: interval.into(),
        order: Some("asc".into()),
        ..UserDetailsQuery::default()
    }
}

fn user_filter(user_id: &str) -> genesys::filter::Filter {
    serde_json::from_value(serde_json::json!(
        {"type": "or", "predicates": [{"dimension": "userId", "value": user_id}]}
    ))
    .unwrap()
}

/// Requests the client sent to one endpoint, whatever their answer.
fn sent(client: &GenesysClient, endpoint: Endpoint) -> u64 {
    client
        .requests_by_endpoint()
        .iter()
        .filter(|c| c.endpoint == endpoint)
        .map(|c| c.requests)
        .sum()
}

#[tokio::test]
async fn the_query_and_a_job_of_several_cursor_pages_give_the_same_status_intervals() {
    // No datalake lag: the job then reads what the query reads.
    let emu = TestEmulator::spawn_with(|c| c.data_lag = Duration::ZERO)
        .await
        .handle;
    let client = client_for(&emu);

    let sync_pages: Vec<_> = client
        .users_details_query_pages(query(TO_NOW), 100)
        .try_collect()
        .await
        .unwrap();
    let sync_details: Vec<_> = sync_pages.iter().flat_map(|p| &p.user_details).collect();
    let sync_records: usize = sync_details.iter().map(|d| d.record_count()).sum();
    let from_query = status_intervals(sync_details.iter().copied()).unwrap();
    assert!(sync_pages.len() > 1, "{} query pages", sync_pages.len());
    assert!(
        sync_records > from_query.len(),
        "records crossing midnight come twice ({sync_records} records, {} intervals)",
        from_query.len()
    );

    let job_id = client
        .submit_users_details_job(&query(TO_NOW))
        .await
        .unwrap();
    client
        .wait_for_job(JobKind::UsersDetails, &job_id)
        .await
        .unwrap();
    let job_pages: Vec<_> = client
        .users_details_job_pages(&job_id, Some(40))
        .try_collect()
        .await
        .unwrap();
    assert!(job_pages.len() > 2, "{} job pages", job_pages.len());
    let last = job_pages.len() - 1;
    for (n, page) in job_pages.iter().enumerate() {
        assert_eq!(
            page.cursor.is_none(),
            n == last,
            "only the last page lacks a cursor"
        );
        assert_eq!(
            page.data_availability_date.as_deref(),
            Some("2024-05-10T12:00:00.000Z")
        );
    }
    let from_job = status_intervals(job_pages.iter().flat_map(|p| &p.user_details)).unwrap();
    assert_eq!(from_job, from_query);

    let open: Vec<&StatusInterval> = from_job.iter().filter(|i| i.end.is_none()).collect();
    let kinds_open = |kind| open.iter().filter(|i| i.kind() == kind).count();
    assert!(
        kinds_open(StatusKind::Presence) > 0 && kinds_open(StatusKind::Routing) > 0,
        "what is in force at now stays open"
    );

    client
        .delete_job(JobKind::UsersDetails, &job_id)
        .await
        .unwrap();
    let status = client
        .job_status(JobKind::UsersDetails, &job_id)
        .await
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
}

#[tokio::test]
async fn availability_is_the_datalake_date() {
    // The test emulator's datalake runs an hour behind its frozen "now".
    let emu = TestEmulator::spawn().await.handle;
    let client = client_for(&emu);
    let available = client.users_details_availability().await.unwrap();
    assert_eq!(available, "2024-05-10T11:00:00Z".parse().unwrap());
}

#[tokio::test]
async fn intervals_over_the_limits_are_refused_before_any_request() {
    let emu = TestEmulator::spawn().await.handle;
    let client = client_for(&emu);
    let eight_days = "2024-05-01T00:00:00.000Z/2024-05-09T00:00:00.000Z";
    let thirty_two_days = "2024-04-07T00:00:00.000Z/2024-05-09T00:00:00.000Z";
    let filtered = |interval: &str| UserDetailsQuery {
        user_filters: vec![user_filter("no-such-user")],
        ..query(interval)
    };

    let err = client
        .users_details_query(&query(eight_days))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::IntervalLimit(IntervalLimitError::TooLong { limit_days: 7, .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(eight_days), "{err}");
    let err = client
        .users_details_query_pages(query(eight_days), 100)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IntervalLimit(_)), "{err:?}");
    let err = client
        .submit_users_details_job(&query(eight_days))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IntervalLimit(_)), "{err:?}");
    let err = client
        .submit_users_details_job(&filtered(thirty_two_days))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::IntervalLimit(IntervalLimitError::TooLong { limit_days: 31, .. })
        ),
        "{err:?}"
    );
    // Paging past the 100 000 results Genesys pages through is refused the same way.
    let err = client
        .users_details_query_pages(query(TO_NOW), 100_001)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Paging { reason, .. } if reason.contains(TO_NOW)),
        "{err:?}"
    );
    assert_eq!(sent(&client, Endpoint::UsersDetailsQuery), 0);
    assert_eq!(sent(&client, Endpoint::UsersDetailsJobs), 0);

    // With a filter, eight days are within the limit: Genesys (here the emulator) takes them.
    client
        .users_details_query(&filtered(eight_days))
        .await
        .unwrap();
    let job = client
        .submit_users_details_job(&filtered(eight_days))
        .await
        .unwrap();
    client
        .wait_for_job(JobKind::UsersDetails, &job)
        .await
        .unwrap();
    assert_eq!(sent(&client, Endpoint::UsersDetailsQuery), 1);
}

#[tokio::test]
async fn total_hits_zero_without_user_details_is_an_answer_with_no_records() {
    let emu = TestEmulator::spawn().await.handle;
    let client = client_for(&emu);
    // After the frozen "now": nothing has happened yet.
    let later = "2024-05-10T13:00:00.000Z/2024-05-10T14:00:00.000Z";
    let answer = client.users_details_query(&query(later)).await.unwrap();
    assert_eq!((answer.user_details.len(), answer.total_hits), (0, Some(0)));
    let pages: Vec<_> = client
        .users_details_query_pages(query(later), 100)
        .try_collect()
        .await
        .unwrap();
    assert!(pages.is_empty(), "{pages:?}");
    assert_eq!(sent(&client, Endpoint::UsersDetailsQuery), 2);
}

/// `(bucket start, user, metric, qualifier)` → milliseconds.
type Recount = std::collections::BTreeMap<(jiff::Timestamp, String, String, String), i64>;

/// The users aggregates a bucket grid gets from status intervals: each interval clipped to
/// each bucket, its milliseconds added to the bucket's status (a presence to its system
/// presence and to its organisation presence).
fn recount(
    intervals: &[StatusInterval],
    buckets: &[(jiff::Timestamp, jiff::Timestamp)],
) -> Recount {
    use genesys::users_details::Status;
    let mut out = Recount::new();
    for interval in intervals {
        let end = interval.end.unwrap_or(jiff::Timestamp::MAX);
        let keys: Vec<(&str, &str)> = match &interval.status {
            Status::Presence {
                system_presence,
                organization_presence_id,
            } => vec![
                ("tSystemPresence", system_presence),
                ("tOrganizationPresence", organization_presence_id),
            ],
            Status::Routing { routing_status } => vec![("tAgentRoutingStatus", routing_status)],
        };
        for &(bucket_start, bucket_end) in buckets {
            let (from, to) = (interval.start.max(bucket_start), end.min(bucket_end));
            let ms = to.duration_since(from).as_millis() as i64;
            if ms <= 0 {
                continue;
            }
            for (metric, qualifier) in &keys {
                let key = (
                    bucket_start,
                    interval.user_id.clone(),
                    metric.to_string(),
                    qualifier.to_string(),
                );
                *out.entry(key).or_default() += ms;
            }
        }
    }
    out
}

/// Truth between the two users APIs, as a client reads them: the users aggregates of a day
/// are the users details' status intervals clipped to each bucket, in UTC quarter hours and in
/// hours of a zone half an hour off UTC.
#[tokio::test]
async fn users_aggregates_are_a_recount_of_the_users_details_intervals_clipped_to_each_bucket() {
    let emu = TestEmulator::spawn_with(|c| c.data_lag = Duration::ZERO)
        .await
        .handle;
    let client = client_for(&emu);
    let cases = [
        ("2024-05-09T00:00:00Z", "PT15M", 15, "UTC"),
        ("2024-05-08T18:30:00Z", "PT1H", 60, "Asia/Kolkata"),
    ];
    for (start, granularity, minutes, zone) in cases {
        let start: jiff::Timestamp = start.parse().unwrap();
        let end = start + jiff::SignedDuration::from_hours(24);
        let interval = format!("{start}/{end}");
        let step = jiff::SignedDuration::from_mins(minutes);
        let buckets: Vec<_> = (0..24 * 60 / minutes)
            .map(|k| (start + step * k as i32, start + step * (k as i32 + 1)))
            .collect();

        let pages: Vec<_> = client
            .users_details_query_pages(query(&interval), 100)
            .try_collect()
            .await
            .unwrap();
        let intervals = status_intervals(pages.iter().flat_map(|p| &p.user_details)).unwrap();
        let expected = recount(&intervals, &buckets);
        assert!(expected.len() > 1_000, "{} entries", expected.len());

        let aggregates = client
            .users_aggregates_query(&genesys::aggregates::AggregationQuery {
                interval: interval.clone(),
                granularity: Some(granularity.into()),
                time_zone: Some(zone.into()),
                group_by: vec!["userId".into()],
                metrics: [
                    "tSystemPresence",
                    "tOrganizationPresence",
                    "tAgentRoutingStatus",
                ]
                .map(String::from)
                .to_vec(),
                ..Default::default()
            })
            .await
            .unwrap();
        let mut answered = Recount::new();
        for group in &aggregates.results {
            let user = &group.group["userId"];
            for bucket in &group.data {
                let bucket_start: jiff::Timestamp =
                    bucket.interval.split('/').next().unwrap().parse().unwrap();
                for metric in &bucket.metrics {
                    let key = (
                        bucket_start,
                        user.clone(),
                        metric.metric.to_string(),
                        metric.qualifier.clone().unwrap(),
                    );
                    answered.insert(key, metric.stats.sum.unwrap() as i64);
                }
            }
        }
        let differing: Vec<_> = expected
            .iter()
            .filter(|(k, v)| answered.get(*k) != Some(v))
            .map(|(k, v)| (k, v, answered.get(k)))
            .take(3)
            .collect();
        assert!(differing.is_empty(), "{zone} {granularity}: {differing:?}");
        assert_eq!(answered.len(), expected.len(), "{zone} {granularity}");
    }
}
