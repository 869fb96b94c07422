//! Record datasets' windows from the Genesys details jobs: users details for status intervals,
//! conversation details for conversations. A job's answer is read whole (a window is a day),
//! each record typed once, the copies Genesys returns merged, and only the records that start
//! in the window kept: the others belong to (and are pulled with) the windows they start in.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use genesys::Interval;
use genesys::client::{GenesysClient, JobKind};
use genesys::details::ConversationQuery;
use genesys::users_details::UserDetailsQuery;
use genesys::users_details::intervals::{check_timeline, merge, typed_records};
use jiff::Timestamp;
use warehouse::RecordKind;
use warehouse::RecordRow;
use warehouse::records::{conversation_rows, status_interval_row};

use crate::engine::{RecordWindow, SourceError};

/// Records asked for per results page (third-party clients use 1,000 for job results).
const JOB_PAGE_SIZE: u32 = 1_000;

/// Every status interval of every user that starts in `window`, day-boundary copies merged.
pub(crate) async fn status_intervals(
    client: &GenesysClient,
    window: Interval,
) -> Result<RecordWindow, SourceError> {
    let query = UserDetailsQuery {
        interval: window.to_string(),
        ..UserDetailsQuery::default()
    };
    let job_id = client
        .submit_users_details_job(&query)
        .await
        .map_err(crate::genesys_source::refused)?;
    let pulled = async {
        client.wait_for_job(JobKind::UsersDetails, &job_id).await?;
        let mut pages = client.users_details_job_pages(&job_id, Some(JOB_PAGE_SIZE));
        let (mut copies, mut available) = (Vec::new(), None);
        while let Some(page) = pages.try_next().await? {
            available = available.or(page.data_availability_date);
            for detail in &page.user_details {
                copies.extend(typed_records(detail)?);
            }
        }
        Ok::<_, SourceError>((copies, available))
    }
    .await;
    forget_job(client, JobKind::UsersDetails, &job_id).await;
    let (copies, available) = pulled?;
    let merged = merge(copies)?;
    check_timeline(&merged)?;
    let rows = (merged.iter())
        .filter(|interval| window.contains(interval.start))
        .map(status_interval_row)
        .collect();
    let available_through = match available {
        Some(text) => Some(instant("dataAvailabilityDate", &text)?),
        None => Some(client.users_details_availability().await?),
    };
    Ok(RecordWindow {
        rows,
        available_through,
    })
}

/// The rows of `kind` (a conversation, or its participants, sessions or segments) that start in
/// `window`, from every conversation whose life overlaps it (what a details job returns), each
/// conversation once: a job's pages may repeat one, and the copy read last is kept, or the
/// closed one if only one of them is.
pub(crate) async fn conversations(
    client: &GenesysClient,
    window: Interval,
    kind: RecordKind,
) -> Result<RecordWindow, SourceError> {
    let query = ConversationQuery {
        interval: window.to_string(),
        ..ConversationQuery::default()
    };
    let job_id = client
        .submit_details_job(&query)
        .await
        .map_err(crate::genesys_source::refused)?;
    let pulled = async {
        client.wait_for_job(JobKind::Details, &job_id).await?;
        let mut pages = client.details_job_pages(&job_id, Some(JOB_PAGE_SIZE));
        // Per conversation: whether the copy kept had ended, and its rows in the window.
        let mut rows: HashMap<String, (bool, Vec<RecordRow>)> = HashMap::new();
        let mut available = None;
        while let Some(page) = pages.try_next().await? {
            available = available.or(page.data_availability_date);
            for conversation in page.conversations.iter().flatten() {
                let ended = conversation.conversation_end.is_some();
                let id = &conversation.conversation_id;
                if rows
                    .get(id)
                    .is_some_and(|(kept_ended, _)| *kept_ended && !ended)
                {
                    continue;
                }
                let mut in_window = conversation_rows(kind, conversation)?;
                in_window.retain(|row| window.contains(row.start));
                rows.insert(id.clone(), (ended, in_window));
            }
        }
        Ok::<_, SourceError>((rows, available))
    }
    .await;
    forget_job(client, JobKind::Details, &job_id).await;
    let (rows, available) = pulled?;
    let available_through = match available {
        Some(text) => instant("dataAvailabilityDate", &text)?,
        None => {
            let answer = client.details_availability().await?;
            instant("dataAvailabilityDate", &answer.data_availability_date)?
        }
    };
    Ok(RecordWindow {
        rows: rows.into_values().flat_map(|(_, rows)| rows).collect(),
        available_through: Some(available_through),
    })
}

/// Results stay on the server until they expire; they are freed now, whatever happened.
async fn forget_job(client: &GenesysClient, kind: JobKind, job_id: &str) {
    if let Err(e) = client.delete_job(kind, job_id).await {
        tracing::debug!(job_id, error = %e, "Could not delete a finished details job.");
    }
}

fn instant(field: &str, text: &str) -> Result<Timestamp, SourceError> {
    text.parse()
        .map_err(|e| format!("the API's {field} `{text}` is not an ISO-8601 instant: {e}").into())
}
